from otter.test_files import test_case

OK_FORMAT = False

name = "prior_grid"
points = 1

@test_case(points=None, hidden=False)
def test_prior_grid(prior_grid):
    from helpers import exercises
    exercises.assert_correct('prior_grid', prior_grid)

