"""The graded exercises: right answers pass, stubs are told to start, plausible wrong answers are named.

The answers here are written the way a student would write them, independently of the mistakes
catalogued in helpers.exercises, so a catalogue entry that no longer matches its mistake fails here.
"""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest
from scipy.special import gammaln, logsumexp
from scipy.stats import gamma, multivariate_normal, norm

from helpers import exercises, gmm, meanfield
from helpers.distributions import log_normal_full
from helpers.paths import PROJECT_ROOT, STUDENT_DIR


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


def e_step_no_log_det(X, weights, means, covariances):
    columns = []
    for mu, cov in zip(means, covariances, strict=True):
        diff = X - mu
        columns.append(-0.5 * np.sum(diff @ np.linalg.inv(cov) * diff, axis=1) - X.shape[1] / 2 * np.log(2 * np.pi))
    log_joint = np.log(weights) + np.stack(columns, axis=1)
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


def e_step_diagonal(X, weights, means, covariances):
    columns = [np.atleast_1d(multivariate_normal(mu, np.diag(np.diag(cov))).logpdf(X))
               for mu, cov in zip(means, covariances, strict=True)]
    log_joint = np.log(weights) + np.stack(columns, axis=1)
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


def e_step_renamed(X, pi, mu, Sigma):
    log_joint = np.log(pi) + log_normal_full(X, mu, Sigma)
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


def e_step_list_of_rows(X, weights, means, covariances):
    rows = []
    for x in X:
        joint = [np.log(w) + multivariate_normal(mu, cov).logpdf(x)
                 for w, mu, cov in zip(weights, means, covariances, strict=True)]
        rows.append(list(np.exp(np.array(joint) - logsumexp(joint))))
    return rows


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


def m_step_diagonal(X, resp, reg_covar):
    nk = resp.sum(axis=0)
    means = resp.T @ X / nk[:, None]
    variances = np.stack([resp[:, k] @ (X - means[k]) ** 2 / nk[k] for k in range(len(nk))])
    return nk / len(X), means, np.stack([np.diag(v + reg_covar) for v in variances])


def m_step_counts(X, resp, reg_covar):
    _, means, covs = m_step_right(X, resp, reg_covar)
    return resp.sum(axis=0), means, covs


def m_step_in_place(X, resp, reg_covar):
    nk = resp.sum(axis=0)
    resp /= nk
    means = resp.T @ X
    covs = np.stack([(resp[:, k, None] * (X - means[k])).T @ (X - means[k]) for k in range(len(nk))])
    return nk / len(X), means, covs + reg_covar * np.eye(X.shape[1])


def m_step_as_a_list(X, resp, reg_covar):
    return list(m_step_right(X, resp, reg_covar))


def m_step_course_type(X, resp, reg_covar):
    return gmm.m_step(X, resp, reg_covar)


def bound_right(X, weights, means, covariances, resp):
    log_joint = np.log(weights) + log_normal_full(X, means, covariances)
    entropy = -np.sum(resp * np.log(np.where(resp > 0, resp, 1.0)), axis=1)
    return np.mean(np.sum(resp * log_joint, axis=1) + entropy)


def bound_with_a_loop(X, weights, means, covariances, resp):
    total = 0.0
    for n in range(len(X)):
        for k in range(len(weights)):
            if resp[n, k] > 0:
                log_joint = np.log(weights[k]) + multivariate_normal(means[k], covariances[k]).logpdf(X[n])
                total += resp[n, k] * (log_joint - np.log(resp[n, k]))
    return total / len(X)


def bound_nan_at_zero(X, weights, means, covariances, resp):
    log_joint = np.log(weights) + log_normal_full(X, means, covariances)
    return np.mean(np.sum(resp * (log_joint - np.log(resp)), axis=1))


def bound_sum_over_points(X, weights, means, covariances, resp):
    return len(X) * bound_right(X, weights, means, covariances, resp)


def bound_no_entropy(X, weights, means, covariances, resp):
    log_joint = np.log(weights) + log_normal_full(X, means, covariances)
    return np.mean(np.sum(resp * log_joint, axis=1))


def bound_log_likelihood(X, weights, means, covariances, resp):
    return np.mean(logsumexp(np.log(weights) + log_normal_full(X, means, covariances), axis=1))


def bound_in_place(X, weights, means, covariances, resp):
    resp[resp == 0] = 1e-300                     # "fixes" log 0 in the caller's array
    log_joint = np.log(weights) + log_normal_full(X, means, covariances)
    return np.mean(np.sum(resp * (log_joint - np.log(resp)), axis=1))


# ----------------------------------------------------------------------------- 02


def q_tau_right(x, prior, q):
    n = len(x)
    mean_square = np.sum((x - q.mean) ** 2) + n / q.precision
    prior_square = (q.mean - prior.mu0) ** 2 + 1 / q.precision
    return prior.a + n / 2 + 0.5, prior.b + mean_square / 2 + prior.lambda0 * prior_square / 2


def q_tau_forgot_half_from_prior(x, prior, q):
    a, b = q_tau_right(x, prior, q)
    return prior.a + len(x) / 2, b


def q_tau_mu_fixed(x, prior, q):
    n = len(x)
    squares = np.sum((x - q.mean) ** 2) + prior.lambda0 * (q.mean - prior.mu0) ** 2
    return prior.a + (n + 1) / 2, prior.b + squares / 2


def q_tau_no_prior(x, prior, q):
    n = len(x)
    return prior.a + n / 2, prior.b + (np.sum((x - q.mean) ** 2) + n / q.precision) / 2


def q_tau_scale(x, prior, q):
    a, b = q_tau_right(x, prior, q)
    return a, 1 / b


def q_tau_rate_first(x, prior, q):
    return q_tau_right(x, prior, q)[::-1]


def q_tau_course_type(x, prior, q):
    return meanfield.update_q_tau(x, prior, q)


def q_tau_one_array(x, prior, q):
    return np.array(q_tau_right(x, prior, q))


def _elbo(x, prior, q, e_log_tau=None, var_mu=None, per_point=True, entropy=True, gamma_scale=None, normal_scale=None):
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
        gamma_scale = 1 / q.b if gamma_scale is None else gamma_scale
        normal_scale = np.sqrt(1 / q.precision) if normal_scale is None else normal_scale
        value += norm(q.mean, normal_scale).entropy() + gamma(q.a, scale=gamma_scale).entropy()
    return value / n if per_point else value


def elbo_right(x, prior, q):
    return _elbo(x, prior, q)


def elbo_total(x, prior, q):
    return _elbo(x, prior, q, per_point=False)


def elbo_log_of_mean(x, prior, q):
    return _elbo(x, prior, q, e_log_tau=np.log(q.a / q.b))


def elbo_mu_fixed(x, prior, q):
    return _elbo(x, prior, q, var_mu=0.0)


def elbo_gamma_scale_b(x, prior, q):
    return _elbo(x, prior, q, gamma_scale=q.b)


def elbo_norm_scale_variance(x, prior, q):
    return _elbo(x, prior, q, normal_scale=1 / q.precision)


def elbo_0d_array(x, prior, q):
    return np.array(_elbo(x, prior, q))


# ----------------------------------------------------------------------------- 03


def _log_lik(x, t, W, b, sigma2):
    r = x - t @ W.T - b
    return -0.5 * len(x) * np.log(2 * np.pi * sigma2) - 0.5 * np.sum(r * r, axis=1) / sigma2


def elbo_mc_right(x, m, log_var, W, b, sigma2, eps):
    t = m + np.exp(log_var / 2) * eps
    return _log_lik(x, t, W, b, sigma2) + 0.5 * np.sum(1 + log_var - m**2 - np.exp(log_var))


def elbo_mc_std_as_exp_log_var(x, m, log_var, W, b, sigma2, eps):
    t = m + np.exp(log_var) * eps
    return _log_lik(x, t, W, b, sigma2) + 0.5 * np.sum(1 + log_var - m**2 - np.exp(log_var))


def elbo_mc_plus_kl(x, m, log_var, W, b, sigma2, eps):
    t = m + np.exp(log_var / 2) * eps
    return _log_lik(x, t, W, b, sigma2) - 0.5 * np.sum(1 + log_var - m**2 - np.exp(log_var))


def elbo_mc_mean_over_samples(x, m, log_var, W, b, sigma2, eps):
    return np.mean(elbo_mc_right(x, m, log_var, W, b, sigma2, eps))


def elbo_mc_kl_mean(x, m, log_var, W, b, sigma2, eps):
    t = m + np.exp(log_var / 2) * eps
    return _log_lik(x, t, W, b, sigma2) + 0.5 * np.mean(1 + log_var - m**2 - np.exp(log_var))


def elbo_mc_in_place(x, m, log_var, W, b, sigma2, eps):
    eps *= np.exp(log_var / 2)
    eps += m
    return _log_lik(x, eps, W, b, sigma2) + 0.5 * np.sum(1 + log_var - m**2 - np.exp(log_var))


def score_right(f, t, m, log_var):
    dm = (t - m) / np.exp(log_var)
    dv = 0.5 * ((t - m) ** 2 / np.exp(log_var) - 1)
    return np.concatenate([(f[:, None] * dm).mean(0), (f[:, None] * dv).mean(0)])


def score_no_half(f, t, m, log_var):
    dm = (t - m) / np.exp(log_var)
    dv = (t - m) ** 2 / np.exp(log_var) - 1
    return np.concatenate([(f[:, None] * dm).mean(0), (f[:, None] * dv).mean(0)])


def score_wrong_sign(f, t, m, log_var):
    dm = (m - t) / np.exp(log_var)
    dv = 0.5 * ((t - m) ** 2 / np.exp(log_var) - 1)
    return np.concatenate([(f[:, None] * dm).mean(0), (f[:, None] * dv).mean(0)])


def score_log_var_as_variance(f, t, m, log_var):
    dm = (t - m) / log_var
    dv = 0.5 * ((t - m) ** 2 / log_var - 1)
    return np.concatenate([(f[:, None] * dm).mean(0), (f[:, None] * dv).mean(0)])


def elbo_cf_right(x, m, log_var, W, b, sigma2):
    resid = x - W @ m - b
    expected_sq_error = resid @ resid + np.sum(W**2 * np.exp(log_var))     # the columns of W scaled by the variances
    log_lik = -len(x) / 2 * np.log(2 * np.pi * sigma2) - expected_sq_error / (2 * sigma2)
    return log_lik + 0.5 * np.sum(1 + log_var - m**2 - np.exp(log_var))


def elbo_cf_point_q(x, m, log_var, W, b, sigma2):
    resid = x - W @ m - b
    return -len(x) / 2 * np.log(2 * np.pi * sigma2) - resid @ resid / (2 * sigma2) + 0.5 * np.sum(
        1 + log_var - m**2 - np.exp(log_var))


def elbo_cf_std(x, m, log_var, W, b, sigma2):
    resid = x - W @ m - b
    expected_sq_error = resid @ resid + np.sum(W**2 * np.exp(log_var / 2))
    return -len(x) / 2 * np.log(2 * np.pi * sigma2) - expected_sq_error / (2 * sigma2) + 0.5 * np.sum(
        1 + log_var - m**2 - np.exp(log_var))


def elbo_cf_plus_kl(x, m, log_var, W, b, sigma2):
    resid = x - W @ m - b
    expected_sq_error = resid @ resid + np.sum(W**2 * np.exp(log_var))
    return -len(x) / 2 * np.log(2 * np.pi * sigma2) - expected_sq_error / (2 * sigma2) - 0.5 * np.sum(
        1 + log_var - m**2 - np.exp(log_var))


def elbo_cf_no_constant(x, m, log_var, W, b, sigma2):
    resid = x - W @ m - b
    expected_sq_error = resid @ resid + np.sum(W**2 * np.exp(log_var))
    return -expected_sq_error / (2 * sigma2) + 0.5 * np.sum(1 + log_var - m**2 - np.exp(log_var))


def elbo_cf_in_place(x, m, log_var, W, b, sigma2):
    x -= W @ m + b                                                        # writes into the caller's x
    expected_sq_error = x @ x + np.sum(W**2 * np.exp(log_var))
    return -len(x) / 2 * np.log(2 * np.pi * sigma2) - expected_sq_error / (2 * sigma2) + 0.5 * np.sum(
        1 + log_var - m**2 - np.exp(log_var))


def elbo_cf_loops(x, m, log_var, W, b, sigma2):
    import math
    value = 0.0
    for i in range(len(x)):
        mean_i = b[i] + sum(W[i, j] * m[j] for j in range(len(m)))
        variance_i = sum(W[i, j] ** 2 * math.exp(log_var[j]) for j in range(len(m)))
        value += -0.5 * math.log(2 * math.pi * sigma2) - ((x[i] - mean_i) ** 2 + variance_i) / (2 * sigma2)
    for j in range(len(m)):
        value -= 0.5 * (m[j] ** 2 + math.exp(log_var[j]) - 1 - log_var[j])
    return value


# ----------------------------------------------------------------------------- 04


def _kl(m, lv):
    return -0.5 * np.sum(1 + lv - m**2 - np.exp(lv), axis=1)


def vae_loss_right(x, logits, t_mean, log_var):
    from keras import ops  # as the prompt asks, so that Keras can differentiate it
    bce = ops.maximum(logits, 0) - logits * x + ops.log1p(ops.exp(-ops.abs(logits)))
    kl = -0.5 * ops.sum(1 + log_var - t_mean**2 - ops.exp(log_var), axis=1)
    return ops.sum(bce, axis=(1, 2)) + kl


def vae_loss_numpy(x, logits, t_mean, log_var):
    bce = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
    return bce.reshape(len(x), -1).sum(axis=1) + _kl(t_mean, log_var)


def vae_loss_sigmoid_log(x, logits, t_mean, log_var):
    p = 1 / (1 + np.exp(-logits))
    bce = -x * np.log(p) - (1 - x) * np.log(1 - p)
    return bce.reshape(len(x), -1).sum(axis=1) + _kl(t_mean, log_var)


def vae_loss_pixel_mean(x, logits, t_mean, log_var):
    bce = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
    return bce.reshape(len(x), -1).mean(axis=1) + _kl(t_mean, log_var)


def vae_loss_kl_minus(x, logits, t_mean, log_var):
    bce = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
    return bce.reshape(len(x), -1).sum(axis=1) - _kl(t_mean, log_var)


def vae_loss_log_s(x, logits, t_mean, log_var):
    bce = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
    kl = -0.5 * np.sum(1 + 2 * log_var - t_mean**2 - np.exp(log_var) ** 2, axis=1)
    return bce.reshape(len(x), -1).sum(axis=1) + kl


def vae_loss_batch_mean(x, logits, t_mean, log_var):
    return np.mean(vae_loss_numpy(x, logits, t_mean, log_var))


def vae_loss_log_var_as_variance(x, logits, t_mean, log_var):
    bce = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
    kl = -0.5 * np.sum(1 + np.log(log_var) - t_mean**2 - log_var, axis=1)
    return bce.reshape(len(x), -1).sum(axis=1) + kl


def iw_bound_right(log_w, k):
    B, S = log_w.shape
    groups = log_w.reshape(B, S // k, k)
    m = groups.max(axis=2, keepdims=True)
    log_mean_w = m[:, :, 0] + np.log(np.mean(np.exp(groups - m), axis=2))      # (B, S // k)
    return log_mean_w.mean(axis=1)


def iw_bound_plain(log_w, k):
    groups = log_w.reshape(len(log_w), -1, k)
    return np.log(np.mean(np.exp(groups), axis=2)).mean(axis=1)


def iw_bound_elbo(log_w, k):
    return log_w.mean(axis=1)


def iw_bound_scipy_log_sum(log_w, k):
    return logsumexp(log_w.reshape(len(log_w), -1, k), axis=2).mean(axis=1)


def iw_bound_over_images(log_w, k):
    groups = logsumexp(log_w.reshape(len(log_w), -1, k), axis=2) - np.log(k)
    return groups.mean(axis=0)


def iw_bound_strided(log_w, k):
    groups = [logsumexp(log_w[:, j::log_w.shape[1] // k], axis=1) - np.log(k) for j in range(log_w.shape[1] // k)]
    return np.mean(groups, axis=0)


def iw_bound_in_place(log_w, k):
    m = log_w.max(axis=1, keepdims=True)
    log_w -= m
    groups = np.log(np.mean(np.exp(log_w.reshape(len(log_w), -1, k)), axis=2))
    return groups.mean(axis=1) + m[:, 0]


def iw_bound_as_a_list(log_w, k):
    bounds = []
    for row in log_w:
        groups = [logsumexp(row[i:i + k]) - np.log(k) for i in range(0, len(row), k)]
        bounds.append(sum(groups) / len(groups))
    return bounds


# ----------------------------------------------------------------------------- 05


def _log_components(t, t_means, log_vars, variances=None):
    variances = np.exp(log_vars) if variances is None else variances
    diff = t[:, None, :] - t_means[None, :, :]                                  # (G, N, D)
    return -0.5 * np.sum(np.log(2 * np.pi * variances[None]) + diff**2 / variances[None], axis=2)   # (G, N)


def aggregate_right(t, t_means, log_vars):
    return logsumexp(_log_components(t, t_means, log_vars), axis=1) - np.log(len(t_means))


def aggregate_plain_exp(t, t_means, log_vars):
    return np.log(np.mean(np.exp(_log_components(t, t_means, log_vars)), axis=1))


def aggregate_summed(t, t_means, log_vars):
    return logsumexp(_log_components(t, t_means, log_vars), axis=1)


def aggregate_std_as_variance(t, t_means, log_vars):
    return logsumexp(_log_components(t, t_means, log_vars, np.exp(log_vars / 2)), axis=1) - np.log(len(t_means))


def aggregate_variance_squared(t, t_means, log_vars):
    return logsumexp(_log_components(t, t_means, log_vars, np.exp(log_vars) ** 2), axis=1) - np.log(
        len(t_means))


def aggregate_mean_of_logs(t, t_means, log_vars):
    return np.mean(_log_components(t, t_means, log_vars), axis=1)


def aggregate_no_log_det(t, t_means, log_vars):
    diff = t[:, None, :] - t_means[None, :, :]
    log_components = -0.5 * np.sum(np.log(2 * np.pi) + diff**2 / np.exp(log_vars[None]), axis=2)
    return logsumexp(log_components, axis=1) - np.log(len(t_means))


def aggregate_in_place(t, t_means, log_vars):
    variances = log_vars                          # not a copy: the next line writes into the caller's array
    variances[:] = np.exp(log_vars)
    return logsumexp(_log_components(t, t_means, None, variances), axis=1) - np.log(len(t_means))


def aggregate_as_a_list(t, t_means, log_vars):
    values = []
    for point in t:
        logs = [multivariate_normal(m, np.diag(np.exp(v))).logpdf(point) for m, v in zip(t_means, log_vars,
                                                                                         strict=True)]
        values.append(float(logsumexp(logs) - np.log(len(logs))))
    return values


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


def active_units_threshold_ignored(t_means, threshold):
    return int((t_means.var(axis=0) > 0.01).sum())          # the notebook's threshold, whatever is passed


RIGHT = {"lower_bound": bound_right, "responsibilities": e_step_right, "m_step_parameters": m_step_right,
         "q_tau_update": q_tau_right, "elbo": elbo_right, "elbo_monte_carlo": elbo_mc_right,
         "elbo_closed_form": elbo_cf_right, "score_function_gradient": score_right, "vae_loss": vae_loss_right,
         "iw_bound": iw_bound_right, "log_aggregate_posterior": aggregate_right, "active_units": active_units_right}

# (exercise, wrong answer, words the feedback must contain)
WRONG = [
    ("responsibilities", e_step_plain_exp, "logsumexp"),
    ("responsibilities", e_step_no_weights, "mixture weights are missing"),
    ("responsibilities", e_step_no_log_det, "log-determinant is missing"),
    ("responsibilities", e_step_diagonal, "only the diagonal"),
    ("m_step_parameters", m_step_divided_by_n, "divide by N_k"),
    ("m_step_parameters", m_step_no_floor, "floor is missing"),
    ("m_step_parameters", m_step_diagonal, "covariances are diagonal"),
    ("m_step_parameters", m_step_counts, "weights are the counts"),
    ("lower_bound", bound_nan_at_zero, "0 * log(0)"),
    ("lower_bound", bound_sum_over_points, "total over the N points"),
    ("lower_bound", bound_no_entropy, "entropy term is missing"),
    ("lower_bound", bound_log_likelihood, "equals L only when q is the posterior"),
    ("q_tau_update", q_tau_forgot_half_from_prior, "misses the 1/2 from the prior of mu"),
    ("q_tau_update", q_tau_mu_fixed, "treated as fixed at its mean"),
    ("q_tau_update", q_tau_no_prior, "prior of mu is missing"),
    ("q_tau_update", q_tau_scale, "return the rate b"),
    ("elbo", elbo_total, "divide by N"),
    ("elbo", elbo_log_of_mean, "E[log tau]"),
    ("elbo", elbo_mu_fixed, "1/precision"),
    ("elbo", elbo_gamma_scale_b, "b is a rate"),
    ("elbo", elbo_norm_scale_variance, "standard deviation as scale"),
    ("elbo_monte_carlo", elbo_mc_std_as_exp_log_var, "exp(log_var / 2)"),
    ("elbo_monte_carlo", elbo_mc_plus_kl, "wrong sign"),
    ("elbo_monte_carlo", elbo_mc_mean_over_samples, "average over the samples"),
    ("elbo_monte_carlo", elbo_mc_kl_mean, "*sum* over the D latent dimensions"),
    ("score_function_gradient", score_no_half, "1/2"),
    ("score_function_gradient", score_wrong_sign, "sign"),
    ("score_function_gradient", score_log_var_as_variance, "log-variance, not the variance"),
    ("elbo_closed_form", elbo_cf_point_q, "variance of q is missing"),
    ("elbo_closed_form", elbo_cf_std, "standard deviation of t_j"),
    ("elbo_closed_form", elbo_cf_plus_kl, "wrong sign"),
    ("elbo_closed_form", elbo_cf_no_constant, "normalising constant is missing"),
    ("vae_loss", vae_loss_sigmoid_log, "from the logits"),
    ("vae_loss", vae_loss_pixel_mean, "*sum*"),
    ("vae_loss", vae_loss_kl_minus, "wrong sign"),
    ("vae_loss", vae_loss_log_s, "log s^2"),
    ("vae_loss", vae_loss_batch_mean, "averaged over the batch"),
    ("vae_loss", vae_loss_log_var_as_variance, "not the variance s^2"),
    ("iw_bound", iw_bound_plain, "exp(-1000) rounds to 0"),
    ("iw_bound", iw_bound_elbo, "L_1, the ELBO, whatever k"),
    ("iw_bound", iw_bound_scipy_log_sum, "too high by exactly log k"),
    ("iw_bound", iw_bound_over_images, "averaged over the images"),
    ("iw_bound", iw_bound_strided, "*consecutive* samples"),
    ("log_aggregate_posterior", aggregate_plain_exp, "Stay in log space"),
    ("log_aggregate_posterior", aggregate_summed, "*average*"),
    ("log_aggregate_posterior", aggregate_std_as_variance, "standard deviation, not its variance"),
    ("log_aggregate_posterior", aggregate_variance_squared, "not by exp(v)^2"),
    ("log_aggregate_posterior", aggregate_mean_of_logs, "Jensen"),
    ("log_aggregate_posterior", aggregate_no_log_det, "log-determinant is missing"),
    ("active_units", active_units_std, "np.var, not np.std"),
    ("active_units", active_units_per_image, "variance of each *row*"),
    ("active_units", active_units_uncentred, "not centred"),
    ("active_units", active_units_threshold_ignored, "ignores `threshold`"),
    ("q_tau_update", q_tau_rate_first, "you returned (b, a); return (a, b)"),
]


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


def test_a_crash_in_the_students_code_is_reported_not_raised():
    def broken(X, weights, means, covariances):
        return X @ means                    # shapes do not match
    feedback = exercises.check("responsibilities", broken)
    assert not feedback.passed and "raised ValueError" in feedback.message and "X @ means" in feedback.message


def test_an_unknown_wrong_answer_gets_the_input_where_it_is_furthest_off_and_the_worst_element():
    feedback = exercises.check("iw_bound", lambda log_w, k: log_w.max(axis=1))
    assert "On the input 'k = 1 where L_1 is the ELBO (S = 12)'" in feedback.message
    assert "at index (2): expected -136.9, got -129, |difference| 7.91 (tolerance 0.00014)" in feedback.message


def test_a_wrong_shape_is_named():
    feedback = exercises.check("responsibilities",
                               lambda X, weights, means, covariances: np.full((len(weights), len(X)), 0.5))
    assert "expected shape (40, 3), got shape (3, 40)" in feedback.message


def test_assert_correct_raises_with_the_feedback_for_otter():
    with pytest.raises(AssertionError, match="not implemented yet"):
        exercises.assert_correct("vae_loss", stub)
    assert exercises.assert_correct("vae_loss", vae_loss_right).passed


CATALOGUE = [(name, m) for name, ex in exercises.EXERCISES.items() for m in ex.mistakes]


@pytest.mark.parametrize(("name", "mistake"), CATALOGUE, ids=[f"{n}-{m.answer.__name__}" for n, m in CATALOGUE])
def test_every_catalogued_mistake_is_wrong_and_gets_its_own_hint_and_name(name, mistake):
    feedback = exercises.check(name, mistake.answer)
    assert not feedback.passed and mistake.hint in feedback.message
    assert feedback.mistake == mistake.name == exercises.mistake_named_in(name, feedback.message)


@pytest.mark.parametrize("name", sorted(exercises.EXERCISES))
def test_each_mistake_has_a_short_name_of_its_own_and_no_hint_quotes_another(name):
    mistakes = exercises.EXERCISES[name].mistakes
    assert len({m.name for m in mistakes}) == len(mistakes) and all(0 < len(m.name) <= 40 for m in mistakes)
    assert not [(a.name, b.name) for a in mistakes for b in mistakes if a is not b and a.hint in b.hint]


def test_no_slip_is_named_for_an_unknown_mistake_or_a_right_answer():
    unknown = exercises.check("iw_bound", lambda log_w, k: log_w.max(axis=1))
    assert unknown.mistake is None and exercises.mistake_named_in("iw_bound", unknown.message) is None
    assert exercises.check("iw_bound", iw_bound_right).mistake is None


def test_the_readmes_exercise_table_is_the_catalogue():
    readme = (PROJECT_ROOT / "README.md").read_text()
    table = readme.split("### Exercises: which notebooks to open", 1)[1].split("\n\n", 2)[2].split("\n\n", 1)[0]
    listed = re.findall(r"(\d\.\d) `(\w+)`", table)
    catalogue = [(re.match(r"Exercise (\d\.\d), ", ex.title)[1], name) for name, ex in exercises.EXERCISES.items()]
    assert listed == catalogue


# ----------------------------------------------------------------------------- feedback that locates the bug

VALUE = re.compile(r"expected (\S+), got (\S+), \|difference\| (\S+) \(tolerance (\S+)\)")
SHAPE = re.compile(r"expected shape (\(.*?\)), got shape (\(.*?\))")


@pytest.mark.parametrize(("name", "answer", "words"), WRONG, ids=[f"{n}-{a.__name__}" for n, a, _ in WRONG])
def test_a_plausible_wrong_answer_is_rejected_named_and_shown_where_its_numbers_differ(name, answer, words):
    feedback = exercises.check(name, answer)
    message = feedback.message
    assert not feedback.passed and words in message, message
    if feedback.mistake == "outputs in another order":
        return
    assert "On the input '" in message or "Wrong on '" in message, message
    value, shape = VALUE.search(message), SHAPE.search(message)
    assert value or shape, message
    if value:
        expected, got, difference, tolerance = value.groups()
        assert expected != got, message
        assert not float(difference) <= float(tolerance), message        # NaN counts as off
    else:
        assert shape.group(1) != shape.group(2), message


def test_an_answer_of_one_number_is_shown_on_every_input_right_and_wrong():
    message = exercises.check("lower_bound", bound_no_entropy).message
    assert "Wrong on '30 points, a random q': expected " in message
    assert "Right on 'a hard (one-hot) q, with q = 0 in most cells'." in message     # no entropy there to miss


def test_outputs_in_another_order_are_named_as_such_and_counted_as_a_slip():
    feedback = exercises.check("q_tau_update", q_tau_rate_first)
    assert feedback.mistake == "outputs in another order"
    assert exercises.mistake_named_in("q_tau_update", feedback.message) == "outputs in another order"


def test_a_slip_in_a_derivation_is_named_without_handing_over_the_result():
    for mistake in exercises.EXERCISES["q_tau_update"].mistakes:
        message = exercises.check("q_tau_update", mistake.answer).message
        assert mistake.hint in message and not re.search(r"\b[ab] = |b gains", message), message


def test_numpys_warnings_from_the_students_code_stay_inside_the_check_and_the_one_point_input_is_not_shown():
    def m_step_with_np_cov(X, resp, reg_covar):             # np.cov's unbiased weighted covariance: not eq. 9
        nk = resp.sum(axis=0)
        covs = np.stack([np.cov(X.T, aweights=resp[:, k]) for k in range(len(nk))])
        return nk / len(X), resp.T @ X / nk[:, None], covs + reg_covar * np.eye(X.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        message = exercises.check("m_step_parameters", m_step_with_np_cov).message
    assert "On the input '" in message and "a batch of one point" not in message.split("On the input")[1], message


def test_a_missing_log_determinant_is_named_and_located():
    message = exercises.check("responsibilities", e_step_no_log_det).message
    assert "log-determinant is missing" in message
    assert ("On the input 'a narrow and a wide component over the same points' (furthest off of the 3 inputs your "
            "answer gets wrong): at index (7, 1): expected 0.002817, got 0.5306") in message


def test_an_m_step_slip_is_shown_on_the_input_where_it_is_obvious_not_the_first_failing_one():
    message = exercises.check("m_step_parameters", m_step_no_floor).message
    assert ("On the input 'a large covariance floor, reg_covar=0.5' (furthest off of the 3 inputs your answer gets "
            "wrong): output `covariances` at index (2, 1, 1): expected 3.303, got 2.803, |difference| 0.5") in message


def test_close_numbers_are_printed_with_enough_digits_to_differ():
    def almost(log_w, k):
        return iw_bound_right(log_w, k) * (1 + 1e-5)
    expected, got, _, _ = VALUE.search(exercises.check("iw_bound", almost).message).groups()
    assert expected != got and float(expected) != float(got)


def test_a_nan_is_called_a_nan():
    message = exercises.check("responsibilities", e_step_plain_exp).message
    assert "got nan" in message and "NaN or inf where the answer is finite" in message


# ----------------------------------------------------------------------------- inputs changed in place

IN_PLACE = [("m_step_parameters", m_step_in_place, "resp"), ("lower_bound", bound_in_place, "resp"),
            ("elbo_monte_carlo", elbo_mc_in_place, "eps"), ("elbo_closed_form", elbo_cf_in_place, "x"),
            ("iw_bound", iw_bound_in_place, "log_w"), ("log_aggregate_posterior", aggregate_in_place, "log_vars")]


@pytest.mark.parametrize(("name", "answer", "argument"), IN_PLACE, ids=[a.__name__ for _, a, _ in IN_PLACE])
def test_right_numbers_computed_in_the_callers_array_are_rejected(name, answer, argument):
    feedback = exercises.check(name, answer)
    assert not feedback.passed
    assert f"changed its input `{argument}` in place" in feedback.message, feedback.message
    assert "Your outputs are right." in feedback.message


def test_an_input_changed_in_place_is_named_by_the_students_name_too():
    def bound(lw, n):
        lw -= lw.max(axis=1, keepdims=True)
        return iw_bound_right(lw, n)
    assert "`log_w` (your `lw`) in place" in exercises.check("iw_bound", bound).message


def test_a_wrong_answer_that_also_changes_its_input_gets_both():
    def bound(log_w, k):
        log_w *= 1.0 / k
        return k * log_w.mean(axis=1)
    message = exercises.check("iw_bound", bound).message
    assert "changed its input `log_w`" in message and "L_1, the ELBO" in message and "On the input" in message


# ----------------------------------------------------------------------------- right answers in other forms

OTHER_FORMS = [("responsibilities", e_step_renamed), ("responsibilities", e_step_list_of_rows),
               ("m_step_parameters", m_step_as_a_list), ("m_step_parameters", m_step_course_type),
               ("q_tau_update", q_tau_course_type), ("q_tau_update", q_tau_one_array),
               ("lower_bound", bound_with_a_loop), ("elbo", elbo_0d_array),
               ("elbo_closed_form", elbo_cf_loops), ("vae_loss", vae_loss_numpy), ("iw_bound", iw_bound_as_a_list),
               ("log_aggregate_posterior", aggregate_as_a_list)]


@pytest.mark.parametrize(("name", "answer"), OTHER_FORMS, ids=[a.__name__ for _, a in OTHER_FORMS])
def test_a_right_answer_in_another_form_passes(name, answer):
    feedback = exercises.check(name, answer)
    assert feedback.passed, feedback.message


def test_the_courses_tensorflow_result_passes():
    from helpers import svi
    feedback = exercises.check("elbo_monte_carlo", lambda x, m, v, W, b, sigma2, eps: svi.elbo_monte_carlo(
        x, m, v, W, b, sigma2, eps))
    assert feedback.passed, feedback.message


def test_a_wrong_number_of_parameters_is_one_plain_sentence():
    message = exercises.check("responsibilities", lambda X, pi, mu: None).message
    assert "your function's parameters are (X, pi, mu), but the check calls it with 4 arguments, in this order: " \
           "X, weights, means, covariances." in message
    assert "exercises.py" not in message


def test_an_output_that_is_not_numbers_is_said_so_not_reported_as_a_crash():
    message = exercises.check("iw_bound", lambda log_w, k: "log mean exp").message
    assert "returned a str that numpy cannot read as an array of numbers" in message and "raised" not in message


def test_too_few_outputs_are_counted_by_name():
    message = exercises.check("m_step_parameters",
                              lambda X, resp, reg_covar: m_step_right(X, resp, reg_covar)[:2]).message
    assert "expected 3 outputs (weights, means, covariances), got 2" in message


def test_a_crash_inside_numpy_quotes_the_students_line():
    def broken(X, weights, means, covariances):
        precisions = np.linalg.inv(X)               # X is not square
        return precisions
    message = exercises.check("responsibilities", broken).message
    assert "raised LinAlgError" in message and "np.linalg.inv(X)" in message and "'40 points" in message


# ----------------------------------------------------------------------------- the otter path, the cases

STUDENT_TESTS = STUDENT_DIR / "tests"


def _otter_results(name: str, answer) -> list:
    from otter.test_files import ExceptionTestFile
    test_file = ExceptionTestFile.from_file(str(STUDENT_TESTS / f"{name}.py"))
    test_file.run({name: answer})     # the exercise's name is the function's
    return test_file.test_case_results


def _otter_message(name: str, answer) -> tuple[bool, str]:
    pytest.importorskip("otter")
    results = _otter_results(name, answer)
    return all(result.passed for result in results), "\n".join(result.message or "" for result in results)


@pytest.mark.parametrize("name", sorted(exercises.EXERCISES))
def test_otter_passes_a_right_answer_and_tells_a_stub_to_start(name):
    passed, _ = _otter_message(name, RIGHT[name])
    assert passed
    passed, message = _otter_message(name, stub)
    assert not passed and "not implemented yet" in message, message


def test_otter_shows_the_checks_feedback_and_the_slip_is_found_in_it():
    passed, message = _otter_message("responsibilities", e_step_no_log_det)
    assert not passed and exercises.check("responsibilities", e_step_no_log_det).message in message, message
    assert exercises.mistake_named_in("responsibilities", message) == "no log-determinant"


@pytest.mark.parametrize("name", sorted(exercises.EXERCISES))
def test_every_cases_arguments_are_the_references_in_its_order(name):
    ex = exercises.EXERCISES[name]
    parameters = list(inspect.signature(ex.reference).parameters)
    assert all(list(case.kwargs) == parameters for case in ex.cases())


# ----------------------------------------------------------------------------- the notebook uses the student's function


def test_a_passing_function_with_several_outputs_is_used_in_the_form_the_check_read(capsys):
    def m_step_as_a_dict(X, resp, reg_covar):
        return dict(zip(("weights", "means", "covariances"), m_step_right(X, resp, reg_covar), strict=True))

    used = exercises.student_or_course("m_step_parameters", m_step_as_a_dict)
    X, resp = np.random.default_rng(0).normal(size=(20, 2)), np.random.default_rng(1).dirichlet(np.ones(3), size=20)
    weights, means, covariances = used(X, resp, 1e-6)            # a tuple of arrays, as gmm.run_em unpacks it
    assert np.allclose(covariances, gmm.m_step(X, resp).covariances)
    assert used.__name__ == "m_step_as_a_dict" and "passes its check" in capsys.readouterr().out


def test_a_function_name_reused_for_a_value_is_said_so():
    message = exercises.check("elbo", -0.94).message
    assert "given a float, not a function" in message and "raised" not in message


def test_right_numbers_in_lower_precision_are_told_so_not_given_the_formula():
    def bound_in_float32(X, weights, means, covariances, resp):
        return np.float32(bound_right(X, weights, means, covariances, resp))
    message = exercises.check("lower_bound", bound_in_float32).message
    assert "agree with the course's to about five digits" in message and "Hint:" not in message


def test_the_right_values_in_the_wrong_shape_are_told_how_to_return_them():
    message = exercises.check("lower_bound", lambda X, weights, means, covariances, resp: [bound_right(
        X, weights, means, covariances, resp)]).message
    assert "expected shape (), got shape (1,); the number of values is right, so return them as a single" in message


def test_a_right_numpy_loss_passes_and_its_check_says_the_training_cannot_use_it(capsys):
    """The check itself says what the next cell will do (a numpy loss is right, but Keras cannot train on it)."""
    feedback = exercises.check("vae_loss", vae_loss_numpy)
    assert feedback.passed and "Well done" not in feedback.message
    assert "your values are right on all 4 inputs" in feedback.message and "uses numpy" in feedback.message
    assert exercises.student_or_course("vae_loss", vae_loss_numpy) is exercises.EXERCISES["vae_loss"].reference
    assert "passes its check, but it uses numpy" in capsys.readouterr().out


def test_a_function_that_passes_but_cannot_be_used_is_said_so_once(capsys):
    used = exercises.student_or_course("iw_bound", iw_bound_right, problem=lambda fn: "is too slow for 10,000 images")
    assert used is exercises.EXERCISES["iw_bound"].reference
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1 and "passes its check, but it is too slow for 10,000 images" in printed
    assert "The cells below use the course's instead." in printed
