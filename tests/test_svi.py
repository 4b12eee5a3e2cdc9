"""helpers.svi: closed forms against brute force, estimators against the exact gradient."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from helpers import svi

MODEL = svi.PPCA(W=np.array([[2.0, 1.5], [1.0, 0.5], [0.5, 1.0], [-1.0, -0.5], [0.3, 0.8]]),
                 b=np.array([1.0, -1.0, 0.5, 0.0, 2.0]), sigma2=1.0)
X = svi.sample_ppca(MODEL, 300, np.random.default_rng(0))
x0, m0, v0 = X[0], np.array([0.3, -0.2]), np.array([-1.0, -0.5])


def test_log_marginal_matches_scipy():
    C = MODEL.W @ MODEL.W.T + MODEL.sigma2 * np.eye(5)
    np.testing.assert_allclose(svi.log_marginal(X, MODEL), multivariate_normal(MODEL.b, C).logpdf(X), rtol=1e-12)


def test_posterior_is_bayes_rule_on_a_grid():
    """p(t|x) from the formula equals p(x|t)p(t)/p(x) evaluated on a grid (eq. 4)."""
    means, cov = svi.ppca_posterior(x0[None], MODEL)
    t = np.random.default_rng(1).standard_normal((50, 2))
    log_joint = (multivariate_normal(np.zeros(5), MODEL.sigma2 * np.eye(5)).logpdf(x0 - t @ MODEL.W.T - MODEL.b)
                 + multivariate_normal(np.zeros(2), np.eye(2)).logpdf(t))
    np.testing.assert_allclose(multivariate_normal(means[0], cov).logpdf(t),
                               log_joint - svi.log_marginal(x0[None], MODEL)[0], rtol=1e-10)


def test_closed_form_elbo_is_below_log_p_and_tight_for_the_exact_posterior():
    elbo = float(svi.elbo_closed_form(x0, m0, v0, MODEL.W, MODEL.b, MODEL.sigma2))
    assert elbo < svi.log_marginal(x0[None], MODEL)[0]
    # a model with orthogonal columns has a diagonal posterior: the best factorised q is exact
    W = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    ortho = svi.PPCA(W, np.zeros(5), 0.5)
    means, cov = svi.ppca_posterior(x0[None], ortho)
    tight = float(svi.elbo_closed_form(x0, means[0], np.log(np.diag(cov)), W, ortho.b, ortho.sigma2))
    assert tight == pytest.approx(svi.log_marginal(x0[None], ortho)[0], abs=1e-10)


def test_monte_carlo_elbo_agrees_within_its_standard_error():
    eps = np.random.default_rng(2).standard_normal((200_000, 2))
    draws = svi.elbo_monte_carlo(x0, m0, v0, MODEL.W, MODEL.b, MODEL.sigma2, eps).numpy()
    exact = float(svi.elbo_closed_form(x0, m0, v0, MODEL.W, MODEL.b, MODEL.sigma2))
    assert abs(draws.mean() - exact) < 4 * draws.std() / np.sqrt(len(draws))


def test_exact_gradient_matches_finite_differences():
    params, h = np.concatenate([m0, v0]), 1e-6

    def elbo(p):
        return float(svi.elbo_closed_form(x0, p[:2], p[2:], MODEL.W, MODEL.b, MODEL.sigma2))

    finite = [(elbo(params + h * e) - elbo(params - h * e)) / (2 * h) for e in np.eye(4)]
    np.testing.assert_allclose(svi.gradient_exact(x0, m0, v0, MODEL), finite, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("estimator", ["reparameterization", "score", "score+baseline"])
def test_gradient_estimators_are_unbiased(estimator):
    """Averaged over many draws, each estimator lands on the finite-difference gradient of the closed form."""
    rng = np.random.default_rng(3)
    exact = svi.gradient_exact(x0, m0, v0, MODEL)
    if estimator == "reparameterization":
        draws = np.array([svi.gradient_reparameterization(x0, m0, v0, MODEL, 500, rng) for _ in range(40)])
    else:
        draws = np.array([svi.gradient_score_function(x0, m0, v0, MODEL, 500, rng, baseline="baseline" in estimator)
                          for _ in range(40)])
    stderr = draws.std(axis=0, ddof=1) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - exact) < 5 * stderr + 1e-9)


def test_the_score_function_gradient_hands_f_and_the_samples_to_the_estimate_it_is_given():
    """A student's estimate (notebook 03) gets the same values as the course's, baseline subtracted."""
    seen = []

    def estimate(f, t, m, log_var):
        seen.append((f, t))
        return svi.score_function_estimate(f, t, m, log_var)

    for baseline in (False, True):
        mine = svi.gradient_score_function(x0, m0, v0, MODEL, 20, np.random.default_rng(6), baseline, estimate)
        course = svi.gradient_score_function(x0, m0, v0, MODEL, 20, np.random.default_rng(6), baseline)
        np.testing.assert_array_equal(mine, course)
    f, t = seen[-1]
    assert f.shape == (20,) and t.shape == (20, 2) and abs(f.mean()) < 1e-12      # leave-one-out centres f exactly


def test_reparameterization_has_lower_variance_than_score_function():
    rng = np.random.default_rng(4)
    rep = np.array([svi.gradient_reparameterization(x0, m0, v0, MODEL, 10, rng) for _ in range(100)])
    score = np.array([svi.gradient_score_function(x0, m0, v0, MODEL, 10, rng) for _ in range(100)])
    assert rep.var(axis=0).sum() < score.var(axis=0).sum() / 3


def test_maximum_likelihood_beats_the_true_model_and_random_models():
    ml = svi.maximum_likelihood(X, 2)
    best = svi.log_marginal(X, ml).mean()
    assert best >= svi.log_marginal(X, MODEL).mean()
    rng = np.random.default_rng(5)
    for _ in range(5):
        nudged = svi.PPCA(ml.W + 0.05 * rng.standard_normal(ml.W.shape), ml.b, ml.sigma2 * 1.05)
        assert svi.log_marginal(X, nudged).mean() < best


def test_local_q_converges_to_the_best_factorised_q():
    means, best_log_var = svi.best_diagonal_q(X[:50], MODEL)
    assert best_log_var.shape == means.shape == (50, 2)
    m, log_var, _ = svi.fit_local_q_stochastic(X[:50], MODEL, steps=1500, seed=0)
    assert np.abs(m - means).max() < 0.05
    assert np.abs(np.exp(log_var - best_log_var) - 1).max() < 0.1


def test_joint_learning_reaches_maximum_likelihood():
    model, _, trace = svi.fit_joint(X, latent_dim=2, steps=2000, batch_size=50, eval_every=500, seed=0)
    ml = svi.log_marginal(X, svi.maximum_likelihood(X, 2)).mean()
    assert ml - trace.log_likelihood[-1] < 0.02
    assert trace.elbo[-1] <= trace.log_likelihood[-1] + 1e-9


def test_best_diagonal_q_keeps_the_precision_diagonal_and_beats_other_diagonal_qs():
    means, log_var = svi.best_diagonal_q(X[:5], MODEL)
    _, cov = svi.ppca_posterior(X[:5], MODEL)
    np.testing.assert_allclose(np.exp(-log_var), np.tile(np.diag(np.linalg.inv(cov)), (5, 1)))
    best = svi.elbo_closed_form(X[:5], means, log_var, MODEL.W, MODEL.b, MODEL.sigma2).numpy()
    for shift in (-0.2, 0.2):
        other = svi.elbo_closed_form(X[:5], means, log_var + shift, MODEL.W, MODEL.b, MODEL.sigma2).numpy()
        assert np.all(other < best)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"X": np.ones(5)}, "2-D array"),
    ({"X": np.full((10, 3), np.nan)}, "NaN"),
    ({"latent_dim": 3}, "latent_dim"),
    ({"batch_size": 0}, "batch_size"),
    ({"eval_every": 0}, "eval_every"),
    ({"learning_rate": 0.0}, "learning_rate"),
])
def test_fit_joint_checks_its_inputs(kwargs, message):
    args = {"X": X[:20, :3], "latent_dim": 2, "steps": 1, "batch_size": 5} | kwargs
    with pytest.raises(ValueError, match=message):
        svi.fit_joint(**args)
