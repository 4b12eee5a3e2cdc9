"""Notebook 02's exercises, mean-field variational inference: the CAVI update of q(tau) and the ELBO.

Each exercise in turn: its inputs, its reference, its catalogued mistakes written out, then the Exercise
that ties them to their names and hints.
"""

from __future__ import annotations

import numpy as np

from helpers import distributions, meanfield
from helpers.grading import Case, Exercise, Mistake


def _normal_gamma_cases() -> list[Case]:
    rng = np.random.default_rng(3)
    x = rng.normal(1.5, 0.7, size=20)
    prior = meanfield.NormalGamma(mu0=0.0, lambda0=0.5, a=2.0, b=1.0)
    return [Case("20 points, q at an arbitrary start", dict(
                x=x, prior=prior, q=meanfield.NormalGammaFactors(mean=-1.0, precision=3.0, a=4.0, b=2.5))),
            Case("a sample of one point", dict(
                x=x[:1], prior=prior, q=meanfield.NormalGammaFactors(mean=0.5, precision=1.0, a=1.5, b=0.5)),
                 degenerate=True),
            Case("a strong prior far from the data", dict(
                x=x, prior=meanfield.NormalGamma(mu0=-5.0, lambda0=50.0, a=10.0, b=3.0),
                q=meanfield.NormalGammaFactors(mean=2.0, precision=0.2, a=3.0, b=7.0)))]


# ----------------------------------------------------------------------------- Exercise 2.1: q_tau_update


_q_tau_reference = meanfield.q_tau_shape_rate


def _q_tau_shape_without_prior_of_mu(x, prior, q):
    """a = a0 + N/2: the 1/2 from p(mu | tau), whose precision lambda0 tau also involves tau, forgotten."""
    a, b = _q_tau_reference(x, prior, q)
    return a - 0.5, b


def _q_tau_mu_at_its_mean(x, prior, q):
    """E_mu[(x_n - mu)^2] taken as (x_n - m)^2: the variance of q(mu) forgotten, in the data and the prior term."""
    a, b = _q_tau_reference(x, prior, q)
    return a, b - 0.5 * (len(x) + prior.lambda0) / q.precision


def _q_tau_without_prior_of_mu(x, prior, q):
    """The prior p(mu | tau) left out altogether: a = a0 + N/2, b without lambda0 E[(mu - mu0)^2] / 2."""
    var_mu = 1.0 / q.precision
    return prior.a + len(x) / 2, prior.b + 0.5 * (np.sum((x - q.mean) ** 2) + len(x) * var_mu)


def _q_tau_without_half(x, prior, q):
    a, b = _q_tau_reference(x, prior, q)
    return a, prior.b + 2 * (b - prior.b)


def _q_tau_scale_not_rate(x, prior, q):
    a, b = _q_tau_reference(x, prior, q)
    return a, 1.0 / b


def _q_tau_expected_tau_inside(x, prior, q):
    """The expected squares multiplied by E[tau]: that factor belongs to the Gamma's density, not to its rate."""
    a, b = _q_tau_reference(x, prior, q)
    return a, prior.b + q.expected_tau * (b - prior.b)


Q_TAU_UPDATE = Exercise(
    "q_tau_update", "Exercise 2.1, the CAVI update of q(tau) (eq. 11)",
    "q_tau_update(x, prior, q) -> (a, b), the shape and rate of the new q(tau)",
    _q_tau_reference, _normal_gamma_cases,
    "in E_mu[log p(x | mu, tau) + log p(mu | tau) + log p(tau)], collect the terms in log tau (their coefficient "
    "is a - 1) and the terms linear in tau (their coefficient is -b), each expectation taken over q(mu). The "
    "folded hints under the exercise walk through it; the last one gives the result to compare with.",
    [Mistake("shape misses the prior's 1/2",
             "Your shape misses the 1/2 from the prior of mu: look at the normalising constant of "
             "p(mu | tau), whose precision lambda0 tau holds tau too (Hint 1).", _q_tau_shape_without_prior_of_mu),
     Mistake("mu fixed at its mean",
             "In your rate, mu is treated as fixed at its mean m: under q(mu) it is spread around m, and both "
             "expected squares, E[(x_n - mu)^2] and E[(mu - mu0)^2], miss that spread (Hint 2).",
             _q_tau_mu_at_its_mean),
     Mistake("no prior of mu",
             "The prior of mu is missing from your update: p(mu | tau) depends on tau, so its terms belong in "
             "log q(tau), in the shape and in the rate (Hint 1).", _q_tau_without_prior_of_mu),
     Mistake("rate without the 1/2",
             "The factor 1/2 in the rate is missing: look at the coefficient of the squares in a Gaussian's "
             "log-density, -tau (x - mu)^2 / 2.", _q_tau_without_half),
     Mistake("scale, not rate",
             "You returned the scale 1/b: return the rate b, the coefficient of -tau in log q(tau).",
             _q_tau_scale_not_rate),
     Mistake("E[tau] in the rate",
             "E[tau] does not belong in the update of q(tau): the terms linear in tau give its rate as they are; "
             "E[tau] appears only in the update of q(mu).", _q_tau_expected_tau_inside)],
    rtol=1e-9, outputs=("a", "b"))


# ----------------------------------------------------------------------------- Exercise 2.2: elbo


_elbo_reference = meanfield.elbo_normal_gamma


def _elbo_total(x, prior, q):
    return len(x) * meanfield.elbo_normal_gamma(x, prior, q)


def _elbo_log_of_expectation(x, prior, q):
    """E[log tau] replaced by log E[tau] (Jensen's inequality says they differ)."""
    shift = np.log(q.expected_tau) - q.expected_log_tau
    n = len(x)
    # E[log tau] enters the likelihood (n/2), the prior of mu (1/2) and the prior of tau (a - 1)
    return meanfield.elbo_normal_gamma(x, prior, q) + shift * (0.5 * n + 0.5 + prior.a - 1.0) / n


def _elbo_mu_at_its_mean(x, prior, q):
    """The variance of q(mu) forgotten in E[(x_n - mu)^2] and E[(mu - mu0)^2]."""
    n = len(x)
    return meanfield.elbo_normal_gamma(x, prior, q) + 0.5 * q.expected_tau * (n + prior.lambda0) / q.precision / n


def _elbo_without_entropy(x, prior, q):
    from scipy.stats import gamma
    entropy = 0.5 * (1 + distributions.LOG_2PI - np.log(q.precision)) + gamma.entropy(q.a, scale=1.0 / q.b)
    return meanfield.elbo_normal_gamma(x, prior, q) - entropy / len(x)


def _elbo_without_entropy_of_q_tau(x, prior, q):
    from scipy.stats import gamma
    return meanfield.elbo_normal_gamma(x, prior, q) - gamma.entropy(q.a, scale=1.0 / q.b) / len(x)


def _elbo_without_entropy_of_q_mu(x, prior, q):
    entropy = 0.5 * (1 + distributions.LOG_2PI - np.log(q.precision))
    return meanfield.elbo_normal_gamma(x, prior, q) - entropy / len(x)


def _elbo_gamma_scale_is_rate(x, prior, q):
    """H[q(tau)] from scipy's gamma(a, scale=b), though b is a rate (scale = 1 / b)."""
    from scipy.stats import gamma
    wrong = gamma.entropy(q.a, scale=q.b) - gamma.entropy(q.a, scale=1.0 / q.b)
    return meanfield.elbo_normal_gamma(x, prior, q) + wrong / len(x)


def _elbo_without_log_lambda0(x, prior, q):
    """log p(mu | tau) without its 1/2 log lambda0: the prior's precision is lambda0 tau, not tau."""
    return meanfield.elbo_normal_gamma(x, prior, q) - 0.5 * np.log(prior.lambda0) / len(x)


def _elbo_normal_scale_is_variance(x, prior, q):
    """H[q(mu)] from scipy's norm(scale=1 / precision), a variance where scale is a standard deviation."""
    return meanfield.elbo_normal_gamma(x, prior, q) - 0.5 * np.log(q.precision) / len(x)


ELBO = Exercise(
    "elbo", "Exercise 2.2, the ELBO (eq. 6) of q(mu) q(tau)",
    "elbo(x, prior, q) -> float, nats per data point",
    _elbo_reference, _normal_gamma_cases,
    "L = E[log p(x|mu,tau)] + E[log p(mu|tau)] + E[log p(tau)] + H[q(mu)] + H[q(tau)], divided by N; "
    "under q, E[(x_n - mu)^2] = (x_n - m)^2 + 1/precision and E[log tau] = q.expected_log_tau.",
    [Mistake("total, not per point",
             "This is the total over the data set: the course reports nats per data point, so divide by N.",
             _elbo_total),
     Mistake("log E[tau] for E[log tau]",
             "You used log E[tau] where the ELBO needs E[log tau] = psi(a) - log b (q.expected_log_tau); "
             "they differ (Jensen's inequality).", _elbo_log_of_expectation),
     Mistake("mu fixed at its mean",
             "mu is treated as fixed at its mean: under q(mu), E[(x_n - mu)^2] = (x_n - m)^2 + 1/precision, "
             "and the same variance enters E[(mu - mu0)^2].", _elbo_mu_at_its_mean),
     Mistake("no entropies",
             "The entropies of q(mu) and q(tau) are missing: L = E_q[log p(x, mu, tau)] - E_q[log q] (eq. 6).",
             _elbo_without_entropy),
     Mistake("no entropy of q(tau)",
             "H[q(tau)], the entropy of q(tau), is missing: eq. 6's -E_q[log q] has one entropy per factor, "
             "H[q(mu)] + H[q(tau)].", _elbo_without_entropy_of_q_tau),
     Mistake("no entropy of q(mu)",
             "H[q(mu)], the entropy of q(mu), is missing: eq. 6's -E_q[log q] has one entropy per factor, "
             "H[q(mu)] + H[q(tau)].", _elbo_without_entropy_of_q_mu),
     Mistake("rate passed as a scale",
             "scipy's gamma takes a *scale*, but b is a rate: Gamma(tau | a, b) is gamma(a, scale=1 / b), so "
             "H[q(tau)] is gamma(q.a, scale=1 / q.b).entropy(), not gamma(q.a, scale=q.b).", _elbo_gamma_scale_is_rate),
     Mistake("variance passed as a scale",
             "scipy's norm takes the standard deviation as scale, not the variance: q(mu) is "
             "norm(q.mean, scale=1 / sqrt(q.precision)), so H[q(mu)] = 1/2 log(2 pi e / precision).",
             _elbo_normal_scale_is_variance),
     Mistake("no log lambda0",
             "E[log p(mu | tau)] misses 1/2 log lambda0: the prior of mu is N(mu0, 1/(lambda0 tau)), whose "
             "log-density has 1/2 log(lambda0 tau) = 1/2 (log lambda0 + log tau) in front.",
             _elbo_without_log_lambda0)],
    rtol=1e-9)


EXERCISES = [Q_TAU_UPDATE, ELBO]
