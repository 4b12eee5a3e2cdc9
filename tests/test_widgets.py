import numpy as np

from helpers import gmm, widgets


def test_em_stepper_redraws_in_place():
    X = gmm.sample(gmm.GMMParams(np.array([0.5, 0.5]), np.array([[0.0, 0.0], [4.0, 4.0]]),
                                 np.array([np.eye(2), np.eye(2)])), 200, np.random.default_rng(0))[0]
    fit = gmm.fit(X, 2, n_init=1, seed=0)
    box = widgets.em_stepper(X, fit.history)
    first = bytes(box.image.value)
    assert first.startswith(b"\x89PNG")
    figure_id = id(box.figure)
    box.slider.value = box.slider.max
    assert bytes(box.image.value) != first and id(box.figure) == figure_id
    assert box.slider.max == len(fit.history.params)
