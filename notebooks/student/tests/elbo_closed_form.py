from otter.test_files import test_case

OK_FORMAT = False

name = "elbo_closed_form"
points = 1

@test_case(points=None, hidden=False)
def test_elbo_closed_form(elbo_closed_form):
    import importlib
    import sys
    for module in [m for m in sys.modules if m == 'helpers.grading' or m.startswith('helpers.exercises')]:
        del sys.modules[module]
    importlib.import_module('helpers.exercises').assert_correct('elbo_closed_form', elbo_closed_form)

