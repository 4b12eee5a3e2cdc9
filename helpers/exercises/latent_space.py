"""Notebook 05's exercise, the latent space: the aggregate posterior q(t), in log space.

Each exercise in turn: its inputs, its reference, its catalogued mistakes written out, then the Exercise
that ties them to their names and hints.
"""

from __future__ import annotations

import numpy as np

from helpers import distributions, latent
from helpers.grading import Case, Exercise, Mistake

# ----------------------------------------------------------------------------- Exercise 5.1: log_aggregate_posterior


def _aggregate_cases() -> list[Case]:
    rng = np.random.default_rng(10)
    means, log_vars = rng.normal(size=(40, 2)), rng.normal(-3.0, 0.5, size=(40, 2))
    near = means[:5] + 0.1 * rng.normal(size=(5, 2))
    return [Case("25 query points and 40 codes in 2-D", dict(
                t=np.vstack([near, rng.normal(0, 1.5, size=(20, 2))]), t_means=means, log_vars=log_vars)),
            Case("one query point and one code", dict(t=rng.normal(size=(1, 2)), t_means=means[:1],
                                                      log_vars=log_vars[:1]), degenerate=True),
            Case("query points far from every code (plain exp underflows to 0)", dict(
                t=np.array([[0.5, 0.5], [12.0, -9.0], [30.0, 30.0]]), t_means=means, log_vars=log_vars)),
            Case("6 codes in 3-D with very different widths", dict(
                t=rng.normal(size=(8, 3)), t_means=rng.normal(size=(6, 3)),
                log_vars=np.linspace(-6.0, 2.0, 18).reshape(6, 3)))]


def _aggregate_components(t, t_means, log_vars):
    """log N(t_g | m_n, diag exp(v_n)) for every query point and code: (G, N)."""
    return distributions.log_normal_diag(t[:, None, :], t_means[None], log_vars[None])


def _aggregate_without_logsumexp(t, t_means, log_vars):
    return np.log(np.mean(np.exp(_aggregate_components(t, t_means, log_vars)), axis=1))


def _aggregate_sum_not_mean(t, t_means, log_vars):
    return distributions.logsumexp(_aggregate_components(t, t_means, log_vars), axis=1)


def _aggregate_std_as_variance(t, t_means, log_vars):
    """exp(v / 2), the standard deviation, used as the variance."""
    return latent.log_aggregate_posterior(t, t_means, log_vars / 2)


def _aggregate_variance_as_std(t, t_means, log_vars):
    """exp(v), the variance, used as the standard deviation (so the variance becomes exp(2 v))."""
    return latent.log_aggregate_posterior(t, t_means, 2 * log_vars)


def _aggregate_log_var_as_variance(t, t_means, log_vars):
    return np.log(np.mean(np.exp(-0.5 * np.sum(np.log(2 * np.pi * log_vars[None])
                                               + (t[:, None, :] - t_means[None]) ** 2 / log_vars[None], axis=2)),
                          axis=1))


def _aggregate_mean_of_logs(t, t_means, log_vars):
    return np.mean(_aggregate_components(t, t_means, log_vars), axis=1)


def _aggregate_without_log_det(t, t_means, log_vars):
    """log N without its -1/2 sum_j v_nj, which differs from code to code."""
    log_det = np.sum(log_vars, axis=1)
    return distributions.log_mean_exp(_aggregate_components(t, t_means, log_vars) + 0.5 * log_det[None], axis=1)


def _aggregate_without_2pi(t, t_means, log_vars):
    return latent.log_aggregate_posterior(t, t_means, log_vars) + 0.5 * t.shape[1] * distributions.LOG_2PI


LOG_AGGREGATE_POSTERIOR = Exercise(
    "log_aggregate_posterior", "Exercise 5.1, the aggregate posterior q(t), in log space",
    "log_aggregate_posterior(t, t_means, log_vars) -> (G,)",
    latent.log_aggregate_posterior, _aggregate_cases,
    "a (G, N) table of log N(t_g | m_n, diag exp(v_n)) = -1/2 sum_j (log(2 pi) + v_nj + (t_gj - m_nj)^2 / "
    "exp(v_nj)), then logsumexp over the N codes (axis=1) minus log N.",
    [Mistake("no log-sum-exp",
             "Your answer is -inf for points far from every code: exp of a very negative log-density rounds "
             "to 0, and log 0 = -inf. Stay in log space: logsumexp over the codes, minus log N.",
             _aggregate_without_logsumexp),
     Mistake("sum, not mean, over the codes",
             "You summed over the N codes: q(t) is their *average*, (1/N) sum_n, so subtract log N after the "
             "log-sum-exp.", _aggregate_sum_not_mean),
     Mistake("standard deviation for the variance",
             "exp(v / 2) is q's standard deviation, not its variance: the variance is exp(v), so the density has "
             "(t - m)^2 / exp(v) and the normalising term -1/2 v.", _aggregate_std_as_variance),
     Mistake("variance for the standard deviation",
             "exp(v) is q's variance, not its standard deviation: (t - m)^2 is divided by exp(v) itself, "
             "not by exp(v)^2.", _aggregate_variance_as_std),
     Mistake("log-variance read as the variance",
             "log_vars are log-variances, not variances: q's variance is exp(v), and the log of the variance "
             "is v itself.", _aggregate_log_var_as_variance),
     Mistake("mean of the logs",
             "You averaged the log-densities: log q(t) is the log of an average, log (1/N) sum_n N(t | m_n, ...), "
             "and the mean of the logs is smaller (Jensen's inequality). Use logsumexp, minus log N.",
             _aggregate_mean_of_logs),
     Mistake("no log-determinant",
             "The log-determinant is missing: log N(t | m_n, diag exp(v_n)) has -1/2 sum_j v_nj, which differs "
             "from code to code, so it does not cancel in the sum over n.", _aggregate_without_log_det),
     Mistake("no 2 pi constant",
             "The constant is missing: each log N(t | m_n, diag exp(v_n)) has -D/2 log(2 pi), with D = "
             "t.shape[1].", _aggregate_without_2pi)],
    rtol=1e-9)


EXERCISES = [LOG_AGGREGATE_POSTERIOR]
