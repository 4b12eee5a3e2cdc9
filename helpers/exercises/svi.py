"""Notebook 03's exercises, stochastic variational inference: the ELBO by Monte Carlo and in closed form, and
the score-function gradient. Their references (helpers.svi) load TensorFlow when a check first runs.

Each exercise in turn: its inputs, its reference, its catalogued mistakes written out, then the Exercise
that ties them to their names and hints.
"""

from __future__ import annotations

import numpy as np

from helpers import distributions
from helpers.grading import Case, Exercise, Mistake

# ----------------------------------------------------------------------------- Exercise 3.1: elbo_monte_carlo


def _ppca_elbo_cases() -> list[Case]:
    rng = np.random.default_rng(4)
    d, D = 5, 2
    W, b = rng.normal(size=(d, D)), rng.normal(size=d)
    x, m, log_var = rng.normal(size=d), rng.normal(size=D), rng.normal(-1.0, 0.5, size=D)
    common = dict(W=W, b=b, sigma2=0.3)
    return [Case("8 samples", dict(x=x, m=m, log_var=log_var, **common, eps=rng.standard_normal((8, D)))),
            Case("a single sample", dict(x=x, m=m, log_var=log_var, **common, eps=rng.standard_normal((1, D))),
                 degenerate=True),
            Case("a very narrow q (log_var = -12)", dict(x=x, m=m, log_var=np.full(D, -12.0), **common,
                                                   eps=rng.standard_normal((5, D)))),
            Case("q equal to the prior (KL = 0)", dict(x=x, m=np.zeros(D), log_var=np.zeros(D), **common,
                                                        eps=rng.standard_normal((5, D))))]


def _elbo_mc_reference(x, m, log_var, W, b, sigma2, eps):
    from helpers import svi
    return np.asarray(svi.elbo_monte_carlo(x, m, log_var, W, b, sigma2, eps))


def _gaussian_log_lik(x, t, W, b, sigma2):
    resid = x - t @ W.T - b
    return -0.5 * (len(x) * np.log(2 * np.pi * sigma2) + np.sum(resid**2, axis=-1) / sigma2)


def _elbo_mc_log_std(x, m, log_var, W, b, sigma2, eps):
    t = m + np.exp(log_var) * eps
    return _gaussian_log_lik(x, t, W, b, sigma2) - distributions.kl_standard_normal(m, log_var)


def _elbo_mc_kl_added(x, m, log_var, W, b, sigma2, eps):
    t = m + np.exp(0.5 * log_var) * eps
    return _gaussian_log_lik(x, t, W, b, sigma2) + distributions.kl_standard_normal(m, log_var)


def _elbo_mc_without_kl(x, m, log_var, W, b, sigma2, eps):
    return _gaussian_log_lik(x, m + np.exp(0.5 * log_var) * eps, W, b, sigma2)


def _elbo_mc_averaged(x, m, log_var, W, b, sigma2, eps):
    return np.mean(_elbo_mc_reference(x, m, log_var, W, b, sigma2, eps))


def _elbo_mc_summed(x, m, log_var, W, b, sigma2, eps):
    return np.sum(_elbo_mc_reference(x, m, log_var, W, b, sigma2, eps))


def _elbo_mc_kl_mean_over_dimensions(x, m, log_var, W, b, sigma2, eps):
    t = m + np.exp(0.5 * log_var) * eps
    return _gaussian_log_lik(x, t, W, b, sigma2) + 0.5 * np.mean(1 + log_var - m**2 - np.exp(log_var))


def _elbo_mc_sampled_kl(x, m, log_var, W, b, sigma2, eps):
    """log p(x|t_s) + log p(t_s) - log q(t_s): the KL estimated from the same samples, not eq. 17's closed form."""
    t = m + np.exp(0.5 * log_var) * eps
    return (_gaussian_log_lik(x, t, W, b, sigma2) + distributions.log_standard_normal(t)
            - distributions.log_normal_diag(t, m, log_var))


ELBO_MONTE_CARLO = Exercise(
    "elbo_monte_carlo", "Exercise 3.1, the reparameterized Monte Carlo ELBO (eqs. 16-17)",
    "elbo_monte_carlo(x, m, log_var, W, b, sigma2, eps) -> (S,) one estimate per sample",
    _elbo_mc_reference, _ppca_elbo_cases,
    "t_s = m + exp(log_var / 2) * eps_s; estimate_s = log N(x | W t_s + b, sigma2 I) - KL, with "
    "KL = -1/2 sum_j (1 + log_var_j - m_j^2 - exp(log_var_j)) (eq. 17).",
    [Mistake("log-variance read as log-std",
             "log_var is the log-*variance*: the standard deviation is exp(log_var / 2), not exp(log_var).",
             _elbo_mc_log_std),
     Mistake("KL added",
             "The KL has the wrong sign: the ELBO is E_q[log p(x|t)] *minus* KL(q || p(t)) (eq. 16).",
             _elbo_mc_kl_added),
     Mistake("no KL term",
             "The KL term is missing: subtract KL(q || N(0, I)) = -1/2 sum_j (1 + log_var_j - m_j^2 - exp(log_var_j)).",
             _elbo_mc_without_kl),
     Mistake("averaged over the samples",
             "You returned the average over the samples: return one estimate per sample, shape (S,), so that "
             "their spread gives the estimate's error.", _elbo_mc_averaged),
     Mistake("summed over the samples",
             "You summed over the samples: return one estimate per sample, shape (S,); their mean is the "
             "estimate.", _elbo_mc_summed),
     Mistake("KL averaged over the dimensions",
             "The KL is a *sum* over the D latent dimensions, not a mean: KL = -1/2 sum_j (1 + log_var_j - m_j^2 - "
             "exp(log_var_j)).", _elbo_mc_kl_mean_over_dimensions),
     Mistake("KL estimated from the samples",
             "You estimated the KL from the samples, log q(t_s) - log p(t_s): an unbiased but noisier estimate. "
             "Eq. 17 gives it exactly for a Gaussian q, KL = -1/2 sum_j (1 + log_var_j - m_j^2 - exp(log_var_j)): "
             "subtract "
             "that from each sample's log p(x | t_s).", _elbo_mc_sampled_kl)],
    rtol=1e-9)


# ----------------------------------------------------------------------------- Exercise 3.2: elbo_closed_form


def _closed_form_cases() -> list[Case]:
    rng = np.random.default_rng(9)
    d = 5
    W2, W1 = rng.normal(size=(d, 2)), rng.normal(size=(d, 1))
    b, x = rng.normal(size=d), rng.normal(size=d)
    return [Case("a random point and q (d = 5, D = 2)", dict(
                x=x, m=rng.normal(size=2), log_var=rng.normal(-1.0, 0.5, size=2), W=W2, b=b, sigma2=0.3)),
            Case("a one-dimensional latent space (D = 1)", dict(
                x=x, m=rng.normal(size=1), log_var=np.array([-0.5]), W=W1, b=b, sigma2=2.0)),
            Case("a very narrow q (log_var = -12)", dict(x=x, m=rng.normal(size=2), log_var=np.full(2, -12.0), W=W2,
                                                         b=b, sigma2=0.3)),
            Case("q equal to the prior (KL = 0)", dict(x=x, m=np.zeros(2), log_var=np.zeros(2), W=W2, b=b, sigma2=0.3)),
            Case("a wide q (log_var = 2) and little noise (sigma2 = 0.05)", dict(
                x=x, m=rng.normal(size=2), log_var=np.full(2, 2.0), W=W2, b=b, sigma2=0.05)),
            Case("three latent dimensions of very different spreads (log_var = 1, -1, -3)", dict(
                x=x, m=rng.normal(size=3), log_var=np.array([1.0, -1.0, -3.0]),
                W=rng.normal(size=(d, 3)) * [3.0, 1.0, 0.2],
                b=b, sigma2=0.5))]


def _elbo_cf_reference(x, m, log_var, W, b, sigma2):
    from helpers import svi
    return np.asarray(svi.elbo_closed_form(x, m, log_var, W, b, sigma2))


def _elbo_cf_parts(x, m, log_var, W, b, sigma2, spread=None, constant=True, spread_scale=None, kl_sign=-1.0):
    """The closed-form ELBO assembled from its parts, with one part replaced to write out a mistake."""
    spread = np.sum(W**2 @ np.exp(log_var)) if spread is None else spread
    spread_scale = sigma2 if spread_scale is None else spread_scale
    log_lik = -0.5 * np.sum((x - W @ m - b) ** 2) / sigma2 - 0.5 * spread / spread_scale
    if constant:
        log_lik -= 0.5 * len(x) * np.log(2 * np.pi * sigma2)
    return log_lik + kl_sign * distributions.kl_standard_normal(m, log_var)


def _elbo_cf_point_q(x, m, log_var, W, b, sigma2):
    return _elbo_cf_parts(x, m, log_var, W, b, sigma2, spread=0.0)


def _elbo_cf_std_as_variance(x, m, log_var, W, b, sigma2):
    return _elbo_cf_parts(x, m, log_var, W, b, sigma2, spread=np.sum(W**2 @ np.exp(log_var / 2)))


def _elbo_cf_kl_added(x, m, log_var, W, b, sigma2):
    return _elbo_cf_parts(x, m, log_var, W, b, sigma2, kl_sign=1.0)


def _elbo_cf_without_constant(x, m, log_var, W, b, sigma2):
    return _elbo_cf_parts(x, m, log_var, W, b, sigma2, constant=False)


def _elbo_cf_spread_not_over_sigma2(x, m, log_var, W, b, sigma2):
    return _elbo_cf_parts(x, m, log_var, W, b, sigma2, spread_scale=1.0)


def _elbo_cf_correlated_spread(x, m, log_var, W, b, sigma2):
    """||W s||^2 in place of sum_j ||W_j||^2 s_j^2: the D coordinates' noise added as if it were one variable."""
    return _elbo_cf_parts(x, m, log_var, W, b, sigma2, spread=np.sum((W @ np.exp(log_var / 2)) ** 2))


def _elbo_cf_without_kl(x, m, log_var, W, b, sigma2):
    return _elbo_cf_parts(x, m, log_var, W, b, sigma2, kl_sign=0.0)


ELBO_CLOSED_FORM = Exercise(
    "elbo_closed_form", "Exercise 3.2, the ELBO of a Gaussian q in closed form (eqs. 16-17)",
    "elbo_closed_form(x, m, log_var, W, b, sigma2) -> float, nats for this one data point",
    _elbo_cf_reference, _closed_form_cases,
    "E_q[log p(x|t)] = -d/2 log(2 pi sigma2) - E_q||x - W t - b||^2 / (2 sigma2). Write x - W t - b as "
    "(x - W m - b) - W (t - m): the cross term has mean zero under q, and E_q||W (t - m)||^2 adds up each "
    "latent dimension's variance exp(log_var_j) times how strongly W maps that dimension into x (the t_j are "
    "independent under q). Then subtract the KL of eq. 17.",
    [Mistake("q's variance missing",
             "The variance of q is missing: under q, t is spread around m, and E_q||x - W t - b||^2 = "
             "||x - W m - b||^2 + sum_j ||W[:, j]||^2 exp(log_var_j). Without that term q is treated as a point at m.",
             _elbo_cf_point_q),
     Mistake("standard deviation for the variance",
             "exp(log_var / 2) is the standard deviation of t_j; the expected squared error needs its *variance* "
             "exp(log_var_j): sum_j ||W[:, j]||^2 exp(log_var_j).", _elbo_cf_std_as_variance),
     Mistake("KL added",
             "The KL has the wrong sign: the ELBO is E_q[log p(x|t)] *minus* KL(q || p(t)) (eq. 16).",
             _elbo_cf_kl_added),
     Mistake("no normalising constant",
             "The Gaussian's normalising constant is missing: log N(x | W t + b, sigma2 I) has "
             "-d/2 log(2 pi sigma2), with d = len(x).", _elbo_cf_without_constant),
     Mistake("variance term not over sigma2",
             "The variance term is not divided by sigma2: both parts of E_q||x - W t - b||^2 are divided by "
             "2 sigma2, (||x - W m - b||^2 + sum_j ||W[:, j]||^2 exp(log_var_j)) / (2 sigma2).",
             _elbo_cf_spread_not_over_sigma2),
     Mistake("dimensions moved together",
             "You used ||W s||^2, as if the D coordinates of t moved together: they are independent under q, so "
             "their variances add, sum_j ||W[:, j]||^2 exp(log_var_j) (np.sum(W**2 @ np.exp(log_var))).",
             _elbo_cf_correlated_spread),
     Mistake("no KL term",
             "The KL term is missing: subtract KL(q || N(0, I)) = -1/2 sum_j (1 + log_var_j - m_j^2 - exp(log_var_j)).",
             _elbo_cf_without_kl)],
    rtol=1e-9)


# ----------------------------------------------------------------------------- Exercise 3.3: score_function_gradient


def _score_cases() -> list[Case]:
    rng = np.random.default_rng(5)
    D = 3
    m, log_var = rng.normal(size=D), rng.normal(-0.5, 0.5, size=D)
    t = m + np.exp(0.5 * log_var) * rng.standard_normal((16, D))
    return [Case("16 samples", dict(f=rng.normal(-20, 3, size=16), t=t, m=m, log_var=log_var)),
            Case("a single sample", dict(f=np.array([-7.0]), t=t[:1], m=m, log_var=log_var), degenerate=True),
            Case("f constant (the estimate averages the score, mean zero)",
                 dict(f=np.full(16, 2.0), t=t, m=m, log_var=log_var)),
            Case("a wide q (log_var = 4)", dict(f=rng.normal(size=16), t=t, m=m, log_var=np.full(D, 4.0)))]


def _score_reference(f, t, m, log_var):
    from helpers import svi
    return svi.score_function_estimate(f, t, m, log_var)


def _score_parts(f, t, m, log_var, dm, dv):
    return np.concatenate([np.mean(f[:, None] * dm, axis=0), np.mean(f[:, None] * dv, axis=0)])


def _score_sign_flipped(f, t, m, log_var):
    return _score_parts(f, t, m, log_var, (m - t) * np.exp(-log_var), 0.5 * ((t - m) ** 2 * np.exp(-log_var) - 1))


def _score_not_divided_by_variance(f, t, m, log_var):
    return _score_parts(f, t, m, log_var, t - m, 0.5 * ((t - m) ** 2 - 1))


def _score_without_half(f, t, m, log_var):
    return _score_parts(f, t, m, log_var, (t - m) * np.exp(-log_var), (t - m) ** 2 * np.exp(-log_var) - 1)


def _score_without_f(f, t, m, log_var):
    return _score_parts(np.ones_like(f), t, m, log_var, (t - m) * np.exp(-log_var),
                        0.5 * ((t - m) ** 2 * np.exp(-log_var) - 1))


def _score_log_var_as_variance(f, t, m, log_var):
    return _score_parts(f, t, m, log_var, (t - m) / log_var, 0.5 * ((t - m) ** 2 / log_var - 1))


SCORE_FUNCTION_GRADIENT = Exercise(
    "score_function_gradient", "Exercise 3.3, the score-function gradient",
    "score_function_gradient(f, t, m, log_var) -> (2D,) = [d/dm, d/dlog_var]",
    _score_reference, _score_cases,
    "average f_s times the score of q = N(m, diag exp(log_var)) at t_s: d log q/dm = (t - m) exp(-log_var), "
    "d log q / d log_var = ((t - m)^2 exp(-log_var) - 1) / 2.",
    [Mistake("sign of d/dm flipped",
             "The sign of d log q / dm is flipped: log q has -(t - m)^2 / (2 exp(log_var)), whose derivative in m is "
             "+(t - m) / exp(log_var).", _score_sign_flipped),
     Mistake("not divided by the variance",
             "The score is not divided by the variance: d log q / dm = (t - m) / exp(log_var), "
             "d log q / d log_var = ((t - m)^2 / exp(log_var) - 1) / 2.", _score_not_divided_by_variance),
     Mistake("no 1/2 in d/dlog_var",
             "The factor 1/2 in d log q / d log_var is missing: log q has -log_var/2 - (t - m)^2 / (2 exp(log_var)).",
             _score_without_half),
     Mistake("f missing",
             "f is missing: the estimator averages f(t_s) times the score; the score alone has mean zero.",
             _score_without_f),
     Mistake("log_var read as the variance",
             "log_var is the log-variance, not the variance: q's variance is exp(log_var), so "
             "d log q/dm = (t - m) / exp(log_var), and the derivative is taken with respect to log_var: "
             "((t - m)^2 / exp(log_var) - 1) / 2.", _score_log_var_as_variance)],
    rtol=1e-9)


EXERCISES = [ELBO_MONTE_CARLO, ELBO_CLOSED_FORM, SCORE_FUNCTION_GRADIENT]
