from otter.test_files import test_case

OK_FORMAT = False

name = "iw_bound"
points = 1

@test_case(points=None, hidden=False)
def test_iw_bound(iw_bound):
    from helpers import exercises
    exercises.assert_correct('iw_bound', iw_bound)

