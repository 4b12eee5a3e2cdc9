from otter.test_files import test_case

OK_FORMAT = False

name = "active_units"
points = 1

@test_case(points=None, hidden=False)
def test_active_units(active_units):
    from helpers import exercises
    exercises.assert_correct('active_units', active_units)

