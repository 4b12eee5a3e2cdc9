"""helpers.validation: the one home of "finite, of this shape", and the algorithms that use it."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import gmm, meanfield, svi
from helpers.validation import check_array, check_resp

PRIOR = meanfield.BayesianGMMPrior(1e-3, np.zeros(2), 1.0, np.eye(2), 2.0)


def test_check_array_returns_floats_unchanged():
    X = check_array([[1, 2], [3, 4]])
    assert X.dtype == float and np.array_equal(X, [[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize("X, ndim, match", [
    (np.ones(3), 2, r"X must be a non-empty 2-D array .* shape \(3,\); reshape a single feature"),
    (np.ones((0, 2)), 2, "non-empty"),
    (np.ones((2, 2)), 1, "1-D array of observations"),
    (np.array([[1.0, np.nan], [np.inf, 0.0]]), 2, "2 NaN or infinite values"),
])
def test_check_array_says_what_is_wrong(X, ndim, match):
    with pytest.raises(ValueError, match=match):
        check_array(X, ndim=ndim)


def test_check_array_counts_features_and_names_the_argument():
    with pytest.raises(ValueError, match=r"^x must have d = 3 features"):
        check_array(np.ones((4, 2)), "x", n_features=3)


def test_check_resp():
    with pytest.raises(ValueError, match="n = 3 rows like X"):
        check_resp(np.ones((2, 2)), 3)
    with pytest.raises(ValueError, match="rows summing to 1"):
        check_resp(np.ones((3, 2)), 3, normalised=True)
    assert check_resp(np.full((3, 2), 0.5), 3, normalised=True).shape == (3, 2)


@pytest.mark.parametrize("call", [
    lambda X: gmm.run_em(X, gmm.demo_mixture()),
    lambda X: meanfield.cavi_bayesian_gmm(X, np.full((len(X), 2), 0.5), PRIOR),
    lambda X: svi.fit_joint(X, latent_dim=1, steps=1),
], ids=["gmm", "meanfield", "svi"])
def test_every_algorithm_rejects_nan_with_the_same_message(call):
    X = np.ones((5, 2))
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="X contains 1 NaN or infinite values; remove or impute them"):
        call(X)
