"""helpers.gmm: each step against a direct computation, EM's guarantees, and scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from helpers import gmm

TRUE = gmm.GMMParams(
    weights=np.array([0.5, 0.3, 0.2]),
    means=np.array([[0.0, 0.0], [3.0, 2.0], [-2.0, 3.0]]),
    covariances=np.array([[[1.0, 0.3], [0.3, 0.7]], [[0.8, -0.4], [-0.4, 1.0]], [[0.4, 0.0], [0.0, 1.2]]]),
)


@pytest.fixture(scope="module")
def X():
    return gmm.sample_mixture(TRUE, 500, np.random.default_rng(0))[0]


def test_e_step_is_bayes_rule(X):
    resp = gmm.e_step(X, TRUE)
    joint = np.column_stack([TRUE.weights[k] * multivariate_normal(TRUE.means[k], TRUE.covariances[k]).pdf(X)
                             for k in range(3)])
    np.testing.assert_allclose(resp, joint / joint.sum(1, keepdims=True), rtol=1e-10)
    np.testing.assert_allclose(resp.sum(1), 1.0)


def test_m_step_with_hard_assignments_gives_sample_statistics(X):
    labels = np.arange(len(X)) % 3
    params = gmm.m_step(X, np.eye(3)[labels], reg_covar=0.0)
    for k in range(3):
        Xk = X[labels == k]
        np.testing.assert_allclose(params.means[k], Xk.mean(0))
        np.testing.assert_allclose(params.covariances[k], np.cov(Xk, rowvar=False, bias=True), atol=1e-12)
    np.testing.assert_allclose(params.weights, np.bincount(labels) / len(X))


def test_m_step_maximises_the_bound(X):
    resp = gmm.e_step(X, gmm.random_init(X, 3, np.random.default_rng(1)))
    best = gmm.m_step(X, resp)
    rng = np.random.default_rng(2)
    for _ in range(20):  # every perturbation of the optimum lowers L(q, theta)
        nudged = gmm.GMMParams(best.weights, best.means + 0.05 * rng.standard_normal(best.means.shape),
                               best.covariances * (1 + 0.05 * rng.random()))
        assert gmm.lower_bound(X, nudged, resp) < gmm.lower_bound(X, best, resp)


def test_decomposition_log_p_equals_bound_plus_kl(X):
    rng = np.random.default_rng(3)
    params = gmm.random_init(X, 3, rng)
    q = rng.dirichlet(np.ones(3), size=len(X))
    total = gmm.lower_bound(X, params, q) + gmm.kl_to_posterior(X, params, q)
    assert total == pytest.approx(gmm.log_likelihood(X, params), abs=1e-12)
    assert gmm.kl_to_posterior(X, params, gmm.e_step(X, params)) == pytest.approx(0.0, abs=1e-12)


def test_em_is_monotone_and_tight_after_e_steps(X):
    fit = gmm.fit(X, 3, n_init=2, max_iter=300, seed=0)
    ll = np.array(fit.history.log_likelihood)
    assert np.all(np.diff(ll) >= -1e-12)
    np.testing.assert_allclose(fit.history.bound_after_e, ll, atol=1e-10)
    assert np.all(np.array(fit.history.bound_after_m) >= np.array(fit.history.bound_after_e) - 1e-12)
    assert fit.converged and len(fit.restart_log_likelihoods) == 2


def test_em_recovers_the_true_components(X):
    fit = gmm.fit(X, 3, n_init=3, seed=0)
    order = np.argsort(fit.params.means[:, 0])
    np.testing.assert_allclose(fit.params.means[order], TRUE.means[np.argsort(TRUE.means[:, 0])], atol=0.35)


def test_same_answer_as_scikit_learn_from_the_same_start(X):
    init = gmm.random_init(X, 3, np.random.default_rng(5))
    ours, _, _ = gmm.run_em(X, init, max_iter=40, tol=0.0, record=False)
    reference = gmm.to_sklearn_gaussian_mixture(init, max_iter=40, tol=0.0, reg_covar=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference.fit(X)
    assert gmm.log_likelihood(X, ours) == pytest.approx(reference.score(X), abs=1e-9)
    np.testing.assert_allclose(ours.means, reference.means_, atol=1e-8)
    np.testing.assert_allclose(ours.covariances, reference.covariances_, atol=1e-8)


def test_a_collapsing_component_does_not_crash():
    """A component started on an isolated point shrinks onto it; the covariance floor keeps it finite."""
    X = np.vstack([np.random.default_rng(0).standard_normal((100, 2)), [[50.0, 50.0]]])
    init = gmm.GMMParams(np.array([0.5, 0.5]), np.array([[0.0, 0.0], [50.0, 50.0]]),
                         np.array([np.eye(2), np.eye(2)]))
    params, history, _ = gmm.run_em(X, init, max_iter=50)
    assert np.all(np.isfinite(history.log_likelihood))
    assert np.all(np.linalg.eigvalsh(params.covariances[1]) >= 1e-6 * 0.99)


def test_bic_prefers_the_true_number_of_components(X):
    bics = [gmm.bic(X, gmm.fit(X, k, n_init=2, seed=0).params) for k in (1, 2, 3, 4, 5)]
    assert int(np.argmin(bics)) + 1 == 3


def test_reg_covar_zero_on_a_collapsing_component_says_what_to_do():
    X = np.vstack([np.random.default_rng(0).standard_normal((100, 2)), [[50.0, 50.0]]])
    init = gmm.GMMParams(np.array([0.5, 0.5]), np.array([[0.0, 0.0], [50.0, 50.0]]),
                         np.array([np.eye(2), np.eye(2)]))
    with pytest.raises(ValueError, match="not positive definite.*increase reg_covar"):
        gmm.run_em(X, init, max_iter=50, reg_covar=0.0)


GOOD = dict(weights=np.array([0.5, 0.5]), means=np.zeros((2, 2)), covariances=np.array([np.eye(2)] * 2))


@pytest.mark.parametrize(("change", "message"), [
    ({"weights": np.array([0.5, 0.6])}, "sum to 1.*divide them by their sum"),
    ({"weights": np.array([1.2, -0.2])}, "non-negative"),
    ({"covariances": np.array([np.eye(2), -np.eye(2)])}, r"covariances\[1\] is not positive definite"),
    ({"covariances": np.array([np.eye(2), [[1.0, 0.5], [0.0, 1.0]]])}, "symmetric"),
    ({"means": np.zeros((3, 2))}, r"expected weights \(K,\), means \(K, d\)"),
])
def test_bad_parameters_get_a_clear_error(change, message):
    with pytest.raises(ValueError, match=message):
        gmm.GMMParams(**{**GOOD, **change})


@pytest.mark.parametrize(("call", "message"), [
    (lambda X: gmm.fit(X, 2, n_init=0), "n_init must be >= 1"),
    (lambda X: gmm.fit(X, len(X) + 1), "n_components must be between 1 and the number of points"),
    (lambda X: gmm.fit(np.where(X > 2.5, np.nan, X), 2), "NaN"),
    (lambda X: gmm.e_step(X[:, 0], gmm.GMMParams(**GOOD)), "2-D array.*reshape"),
    (lambda X: gmm.e_step(np.hstack([X, X]), gmm.GMMParams(**GOOD)), "X has 4 features but the mixture's means have 2"),
    (lambda X: gmm.m_step(X, np.ones((3, 2))), "resp must be"),
])
def test_bad_data_gets_a_clear_error(X, call, message):
    with pytest.raises(ValueError, match=message):
        call(X)


def test_fit_keeps_the_best_restart_and_every_restart_score(X):
    fit = gmm.fit(X, 3, n_init=4, max_iter=5, seed=0)      # few iterations: the restarts end at different scores
    assert len(fit.restart_log_likelihoods) == 4
    assert gmm.log_likelihood(X, fit.params) == pytest.approx(max(fit.restart_log_likelihoods), abs=1e-12)
    assert fit.history.params[0] is fit.init                 # params[l - 1] is theta^{l-1}: params[0] = theta^0


def _student_e_step(X, weights, means, covariances):            # written apart from helpers.gmm
    joint = np.stack([w * multivariate_normal(m, c).pdf(X) for w, m, c in zip(weights, means, covariances,
                                                                                strict=True)], axis=1)
    return joint / joint.sum(axis=1, keepdims=True)


def test_em_with_other_steps_in_array_form_reproduces_the_courses_run(X):
    init = gmm.random_init(X, 3, np.random.default_rng(3))
    ours, history, _ = gmm.run_em(X, init, max_iter=15, tol=0.0)
    steps = gmm.EMSteps(e_step=_student_e_step)
    theirs, their_history, _ = gmm.run_em(X, init, max_iter=15, tol=0.0, steps=steps)
    assert np.allclose(theirs.means, ours.means, atol=1e-9)
    assert np.allclose(their_history.bound_after_m, history.bound_after_m, atol=1e-9)
    assert np.allclose(their_history.log_likelihood, history.log_likelihood, atol=1e-9)


def test_em_with_a_wrong_m_step_is_caught_by_the_bound_and_the_likelihood(X):
    """log p comes from the course, apart from the steps: an M-step that forgets the covariances' update shows."""
    def stale_m_step(X, resp, reg_covar):
        weights, means, _ = gmm.m_step_arrays(X, resp, reg_covar)
        return weights, means, np.repeat(np.eye(2)[None] * 25.0, len(weights), axis=0)
    init = gmm.random_init(X, 3, np.random.default_rng(3))
    _, history, _ = gmm.run_em(X, init, max_iter=5, tol=0.0, steps=gmm.EMSteps(m_step=stale_m_step))
    _, course, _ = gmm.run_em(X, init, max_iter=5, tol=0.0)
    assert history.log_likelihood[-1] < course.log_likelihood[-1] - 0.5
