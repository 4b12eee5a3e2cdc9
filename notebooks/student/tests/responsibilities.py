from otter.test_files import test_case

OK_FORMAT = False

name = "responsibilities"
points = 1

@test_case(points=None, hidden=False)
def test_responsibilities(responsibilities):
    from helpers import exercises
    exercises.assert_correct('responsibilities', responsibilities)

