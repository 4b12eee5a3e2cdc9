from otter.test_files import test_case

OK_FORMAT = False

name = "q_tau_update"
points = 1

@test_case(points=None, hidden=False)
def test_q_tau_update(q_tau_update):
    from helpers import exercises
    exercises.assert_correct('q_tau_update', q_tau_update)

