from otter.test_files import test_case

OK_FORMAT = False

name = "sampling"
points = 1

@test_case(points=None, hidden=False)
def test_sampling(sample_latent):
    from helpers import exercises
    exercises.assert_correct('sampling', sample_latent)

