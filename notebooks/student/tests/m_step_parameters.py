from otter.test_files import test_case

OK_FORMAT = False

name = "m_step_parameters"
points = 1

@test_case(points=None, hidden=False)
def test_m_step_parameters(m_step_parameters):
    from helpers import exercises
    exercises.assert_correct('m_step_parameters', m_step_parameters)

