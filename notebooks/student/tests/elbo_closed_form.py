from otter.test_files import test_case

OK_FORMAT = False

name = "elbo_closed_form"
points = 1

@test_case(points=None, hidden=False)
def test_elbo_closed_form(elbo_closed_form):
    from helpers import exercises
    exercises.assert_correct('elbo_closed_form', elbo_closed_form)

