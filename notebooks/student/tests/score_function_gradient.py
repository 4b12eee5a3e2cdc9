from otter.test_files import test_case

OK_FORMAT = False

name = "score_function_gradient"
points = 1

@test_case(points=None, hidden=False)
def test_score_function_gradient(score_function_gradient):
    from helpers import exercises
    exercises.assert_correct('score_function_gradient', score_function_gradient)

