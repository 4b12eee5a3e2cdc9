from otter.test_files import test_case

OK_FORMAT = False

name = "linear_path"
points = 1

@test_case(points=None, hidden=False)
def test_linear_path(linear_path):
    from helpers import exercises
    exercises.assert_correct('linear_path', linear_path)

