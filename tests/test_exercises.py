"""The graded exercises: right answers pass, stubs are told to start, plausible wrong answers are named.

The answers here are written the way a student would write them, independently of the mistakes
catalogued in helpers.exercises, so a catalogue entry that no longer matches its mistake fails here.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import gammaln, logsumexp
from scipy.stats import gamma, norm

from helpers import exercises
from helpers.distributions import log_normal_full


def stub(*args, **kwargs):
    ...


def raises_not_implemented(*args, **kwargs):
    raise NotImplementedError


# ----------------------------------------------------------------------------- 01


def e_step_right(X, weights, means, covariances):
    log_joint = np.log(weights) + log_normal_full(X, means, covariances)
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


def e_step_plain_exp(X, weights, means, covariances):
    joint = weights * np.exp(log_normal_full(X, means, covariances))
    return joint / np.sum(joint, axis=1, keepdims=True)


def e_step_no_weights(X, weights, means, covariances):
    log_joint = log_normal_full(X, means, covariances)
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


def m_step_right(X, resp, reg_covar):
    nk = resp.sum(axis=0)
    means = resp.T @ X / nk[:, None]
    covs = np.stack([(resp[:, k, None] * (X - means[k])).T @ (X - means[k]) / nk[k] for k in range(len(nk))])
    return nk / len(X), means, covs + reg_covar * np.eye(X.shape[1])


def m_step_divided_by_n(X, resp, reg_covar):
    nk = resp.sum(axis=0)
    means = resp.T @ X / len(X)
    covs = np.stack([(resp[:, k, None] * (X - means[k])).T @ (X - means[k]) / len(X) for k in range(len(nk))])
    return nk / len(X), means, covs + reg_covar * np.eye(X.shape[1])


def m_step_no_floor(X, resp, reg_covar):
    return m_step_right(X, resp, 0.0)


# ----------------------------------------------------------------------------- 02


def q_mu_right(x, prior, q):
    n = len(x)
    return (prior.lambda0 * prior.mu0 + x.sum()) / (prior.lambda0 + n), (prior.lambda0 + n) * q.a / q.b


def q_mu_forgot_tau(x, prior, q):
    n = len(x)
    return (prior.lambda0 * prior.mu0 + x.sum()) / (prior.lambda0 + n), prior.lambda0 + n


def q_mu_no_prior(x, prior, q):
    return x.mean(), len(x) * q.a / q.b


def _elbo(x, prior, q, e_log_tau=None, var_mu=None, per_point=True, entropy=True):
    n = len(x)
    e_tau = q.a / q.b
    e_log_tau = q.expected_log_tau if e_log_tau is None else e_log_tau
    var_mu = 1 / q.precision if var_mu is None else var_mu
    value = (0.5 * n * (e_log_tau - np.log(2 * np.pi)) - 0.5 * e_tau * (np.sum((x - q.mean) ** 2) + n * var_mu)
             + 0.5 * (np.log(prior.lambda0) + e_log_tau - np.log(2 * np.pi))
             - 0.5 * prior.lambda0 * e_tau * ((q.mean - prior.mu0) ** 2 + var_mu)
             + prior.a * np.log(prior.b) - gammaln(prior.a)
             + (prior.a - 1) * e_log_tau - prior.b * e_tau)
    if entropy:
        value += 0.5 * (1 + np.log(2 * np.pi) - np.log(q.precision)) + gamma(q.a, scale=1 / q.b).entropy()
    return value / n if per_point else value


def elbo_right(x, prior, q):
    return _elbo(x, prior, q)


def elbo_total(x, prior, q):
    return _elbo(x, prior, q, per_point=False)


def elbo_log_of_mean(x, prior, q):
    return _elbo(x, prior, q, e_log_tau=np.log(q.a / q.b))


def elbo_mu_fixed(x, prior, q):
    return _elbo(x, prior, q, var_mu=0.0)


# ----------------------------------------------------------------------------- 03


def _log_lik(x, t, W, b, sigma2):
    r = x - t @ W.T - b
    return -0.5 * len(x) * np.log(2 * np.pi * sigma2) - 0.5 * np.sum(r * r, axis=1) / sigma2


def elbo_mc_right(x, m, v, W, b, sigma2, eps):
    t = m + np.exp(v / 2) * eps
    return _log_lik(x, t, W, b, sigma2) + 0.5 * np.sum(1 + v - m**2 - np.exp(v))


def elbo_mc_std_as_exp_v(x, m, v, W, b, sigma2, eps):
    t = m + np.exp(v) * eps
    return _log_lik(x, t, W, b, sigma2) + 0.5 * np.sum(1 + v - m**2 - np.exp(v))


def elbo_mc_plus_kl(x, m, v, W, b, sigma2, eps):
    t = m + np.exp(v / 2) * eps
    return _log_lik(x, t, W, b, sigma2) - 0.5 * np.sum(1 + v - m**2 - np.exp(v))


def score_right(f, t, m, v):
    dm = (t - m) / np.exp(v)
    dv = 0.5 * ((t - m) ** 2 / np.exp(v) - 1)
    return np.concatenate([(f[:, None] * dm).mean(0), (f[:, None] * dv).mean(0)])


def score_no_half(f, t, m, v):
    dm = (t - m) / np.exp(v)
    dv = (t - m) ** 2 / np.exp(v) - 1
    return np.concatenate([(f[:, None] * dm).mean(0), (f[:, None] * dv).mean(0)])


def score_wrong_sign(f, t, m, v):
    dm = (m - t) / np.exp(v)
    dv = 0.5 * ((t - m) ** 2 / np.exp(v) - 1)
    return np.concatenate([(f[:, None] * dm).mean(0), (f[:, None] * dv).mean(0)])


# ----------------------------------------------------------------------------- 04


def _kl(m, lv):
    return -0.5 * np.sum(1 + lv - m**2 - np.exp(lv), axis=1)


def vae_loss_right(x, logits, t_mean, t_log_var):
    bce = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
    return bce.reshape(len(x), -1).sum(axis=1) + _kl(t_mean, t_log_var)


def vae_loss_sigmoid_log(x, logits, t_mean, t_log_var):
    p = 1 / (1 + np.exp(-logits))
    bce = -x * np.log(p) - (1 - x) * np.log(1 - p)
    return bce.reshape(len(x), -1).sum(axis=1) + _kl(t_mean, t_log_var)


def vae_loss_pixel_mean(x, logits, t_mean, t_log_var):
    bce = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
    return bce.reshape(len(x), -1).mean(axis=1) + _kl(t_mean, t_log_var)


def vae_loss_kl_minus(x, logits, t_mean, t_log_var):
    bce = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
    return bce.reshape(len(x), -1).sum(axis=1) - _kl(t_mean, t_log_var)


def vae_loss_log_s(x, logits, t_mean, t_log_var):
    bce = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
    kl = -0.5 * np.sum(1 + 2 * t_log_var - t_mean**2 - np.exp(t_log_var) ** 2, axis=1)
    return bce.reshape(len(x), -1).sum(axis=1) + kl


def sampling_right(t_mean, t_log_var, eps):
    return t_mean + np.exp(0.5 * t_log_var) * eps


def sampling_variance(t_mean, t_log_var, eps):
    return t_mean + np.exp(t_log_var) * eps


def sampling_sqrt(t_mean, t_log_var, eps):
    return t_mean + np.sqrt(np.abs(t_log_var)) * eps


# ----------------------------------------------------------------------------- 05


def grid_right(n, coverage):
    return norm.ppf(np.linspace(0.5 - coverage / 2, 0.5 + coverage / 2, n))


def grid_linear(n, coverage):
    return np.linspace(norm.ppf(0.5 - coverage / 2), norm.ppf(0.5 + coverage / 2), n)


def grid_no_ppf(n, coverage):
    return np.linspace(0.5 - coverage / 2, 0.5 + coverage / 2, n)


def path_right(t_start, t_end, n):
    return np.array([t_start + a * (t_end - t_start) for a in np.linspace(0, 1, n)])


def path_no_end(t_start, t_end, n):
    return np.array([t_start + a * (t_end - t_start) for a in np.arange(n) / n])


def path_reversed(t_start, t_end, n):
    return np.array([t_end + a * (t_start - t_end) for a in np.linspace(0, 1, n)])


# ----------------------------------------------------------------------------- 06


def active_units_right(t_means, threshold):
    centred = t_means - t_means.mean(axis=0)
    return int(((centred**2).mean(axis=0) > threshold).sum())


def active_units_std(t_means, threshold):
    return int((t_means.std(axis=0) > threshold).sum())


def active_units_per_image(t_means, threshold):
    return int((t_means.var(axis=1) > threshold).sum())


def active_units_uncentred(t_means, threshold):
    return int(((t_means**2).mean(axis=0) > threshold).sum())


RIGHT = {"e_step": e_step_right, "m_step": m_step_right, "q_mu_update": q_mu_right, "elbo_normal_gamma": elbo_right,
         "elbo_monte_carlo": elbo_mc_right, "score_function": score_right, "vae_loss": vae_loss_right,
         "sampling": sampling_right, "prior_grid": grid_right, "linear_path": path_right,
         "active_units": active_units_right}

# (exercise, wrong answer, words the feedback must contain)
WRONG = [
    ("e_step", e_step_plain_exp, "logsumexp"),
    ("e_step", e_step_no_weights, "mixture weights are missing"),
    ("m_step", m_step_divided_by_n, "divide by N_k"),
    ("m_step", m_step_no_floor, "floor is missing"),
    ("q_mu_update", q_mu_forgot_tau, "misses E[tau]"),
    ("q_mu_update", q_mu_no_prior, "prior is missing"),
    ("elbo_normal_gamma", elbo_total, "divide by N"),
    ("elbo_normal_gamma", elbo_log_of_mean, "E[log tau]"),
    ("elbo_normal_gamma", elbo_mu_fixed, "1/precision"),
    ("elbo_monte_carlo", elbo_mc_std_as_exp_v, "exp(v / 2)"),
    ("elbo_monte_carlo", elbo_mc_plus_kl, "wrong sign"),
    ("score_function", score_no_half, "1/2"),
    ("score_function", score_wrong_sign, "sign"),
    ("vae_loss", vae_loss_sigmoid_log, "from the logits"),
    ("vae_loss", vae_loss_pixel_mean, "*sum*"),
    ("vae_loss", vae_loss_kl_minus, "wrong sign"),
    ("vae_loss", vae_loss_log_s, "log s^2"),
    ("sampling", sampling_variance, "standard deviation"),
    ("sampling", sampling_sqrt, "Hint: t = m + s * eps"),
    ("prior_grid", grid_linear, "equally spaced in t"),
    ("prior_grid", grid_no_ppf, "norm.ppf"),
    ("linear_path", path_no_end, "stops short"),
    ("linear_path", path_reversed, "from t_end to t_start"),
    ("active_units", active_units_std, "np.var, not np.std"),
    ("active_units", active_units_per_image, "variance of each *row*"),
    ("active_units", active_units_uncentred, "not centred"),
]


def test_every_exercise_has_a_right_answer_and_two_wrong_ones_here():
    assert set(RIGHT) == set(exercises.EXERCISES)
    for name in exercises.EXERCISES:
        assert sum(w[0] == name for w in WRONG) >= 2, name


@pytest.mark.parametrize("name", sorted(exercises.EXERCISES))
def test_a_students_right_answer_passes(name):
    feedback = exercises.check(name, RIGHT[name])
    assert feedback.passed, feedback.message
    assert "correct on all" in feedback.message


@pytest.mark.parametrize("name", sorted(exercises.EXERCISES))
@pytest.mark.parametrize("unfinished", [stub, raises_not_implemented])
def test_an_unfinished_stub_is_told_to_start_without_an_exception(name, unfinished):
    feedback = exercises.check(name, unfinished)
    assert not feedback.passed and feedback.not_started
    assert "not implemented yet" in feedback.message


@pytest.mark.parametrize(("name", "answer", "words"), WRONG, ids=[f"{n}-{a.__name__}" for n, a, _ in WRONG])
def test_a_plausible_wrong_answer_is_rejected_with_the_mistake_named(name, answer, words):
    feedback = exercises.check(name, answer)
    assert not feedback.passed
    assert words in feedback.message, feedback.message


def test_a_crash_in_the_students_code_is_reported_not_raised():
    def broken(X, weights, means, covariances):
        return X @ means                    # shapes do not match
    feedback = exercises.check("e_step", broken)
    assert not feedback.passed and "raised ValueError" in feedback.message and "X @ means" in feedback.message


def test_an_unknown_wrong_answer_gets_the_input_where_it_is_furthest_off_and_the_worst_element():
    feedback = exercises.check("sampling", lambda t_mean, t_log_var, eps: t_mean + 0.5 * eps)
    assert "On the input 'a very narrow q (log_var = -30)'" in feedback.message
    assert "at index (0, 0): expected 0.00123, got -0.488, |difference| 0.489 (tolerance 1.1e-08)" in feedback.message


def test_a_wrong_shape_is_named():
    feedback = exercises.check("e_step", lambda X, weights, means, covariances: np.full((len(weights), len(X)), 0.5))
    assert "expected shape (40, 3), got shape (3, 40)" in feedback.message


def test_assert_correct_raises_with_the_feedback_for_otter():
    with pytest.raises(AssertionError, match="not implemented yet"):
        exercises.assert_correct("vae_loss", stub)
    assert exercises.assert_correct("vae_loss", vae_loss_right).passed


CATALOGUE = [(name, m) for name, ex in exercises.EXERCISES.items() for m in ex.mistakes]


@pytest.mark.parametrize(("name", "mistake"), CATALOGUE, ids=[f"{n}-{m.answer.__name__}" for n, m in CATALOGUE])
def test_every_catalogued_mistake_is_wrong_and_gets_its_own_hint(name, mistake):
    feedback = exercises.check(name, mistake.answer)
    assert not feedback.passed and mistake.hint in feedback.message
