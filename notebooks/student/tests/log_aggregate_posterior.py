from otter.test_files import test_case

OK_FORMAT = False

name = "log_aggregate_posterior"
points = 1

@test_case(points=None, hidden=False)
def test_log_aggregate_posterior(log_aggregate_posterior):
    from helpers import exercises
    exercises.assert_correct('log_aggregate_posterior', log_aggregate_posterior)

