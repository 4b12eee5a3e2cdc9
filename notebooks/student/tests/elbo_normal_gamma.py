from otter.test_files import test_case

OK_FORMAT = False

name = "elbo_normal_gamma"
points = 1

@test_case(points=None, hidden=False)
def test_elbo_normal_gamma(elbo):
    from helpers import exercises
    exercises.assert_correct('elbo_normal_gamma', elbo)

