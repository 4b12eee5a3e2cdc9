from otter.test_files import test_case

OK_FORMAT = False

name = "lower_bound"
points = 1

@test_case(points=None, hidden=False)
def test_lower_bound(lower_bound):
    from helpers import exercises
    exercises.assert_correct('lower_bound', lower_bound)

