from otter.test_files import test_case

OK_FORMAT = False

name = "elbo"
points = 1

@test_case(points=None, hidden=False)
def test_elbo(elbo):
    from helpers import exercises
    exercises.assert_correct('elbo', elbo)

