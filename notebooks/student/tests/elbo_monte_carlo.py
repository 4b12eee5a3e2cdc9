from otter.test_files import test_case

OK_FORMAT = False

name = "elbo_monte_carlo"
points = 1

@test_case(points=None, hidden=False)
def test_elbo_monte_carlo(elbo_monte_carlo):
    from helpers import exercises
    exercises.assert_correct('elbo_monte_carlo', elbo_monte_carlo)

