from otter.test_files import test_case

OK_FORMAT = False

name = "e_step"
points = 1

@test_case(points=None, hidden=False)
def test_e_step(responsibilities):
    from helpers import exercises
    exercises.assert_correct('e_step', responsibilities)

