from otter.test_files import test_case

OK_FORMAT = False

name = "vae_loss"
points = 1

@test_case(points=None, hidden=False)
def test_vae_loss(vae_loss):
    from helpers import exercises
    exercises.assert_correct('vae_loss', vae_loss)

