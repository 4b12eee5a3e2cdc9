from otter.test_files import test_case

OK_FORMAT = False

name = "m_step_parameters"
points = 1

@test_case(points=None, hidden=False)
def test_m_step_parameters(m_step_parameters):
    import importlib
    import sys
    for module in [m for m in sys.modules if m == 'helpers.grading' or m.startswith('helpers.exercises')]:
        del sys.modules[module]
    importlib.import_module('helpers.exercises').assert_correct('m_step_parameters', m_step_parameters)

