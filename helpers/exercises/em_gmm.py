"""Notebook 01's exercises, EM for a Gaussian mixture: the bound L(q, theta), the E-step, the M-step.

Each exercise in turn: its inputs, its reference, its catalogued mistakes written out, then the Exercise
that ties them to their names and hints.
"""

from __future__ import annotations

import numpy as np

from helpers import distributions, gmm
from helpers.grading import Case, Exercise, Mistake

# ----------------------------------------------------------------------------- Exercise 1.1: lower_bound


def _bound_cases() -> list[Case]:
    rng = np.random.default_rng(9)
    params = gmm.demo_mixture()
    X, _ = gmm.sample_mixture(params, 30, rng)
    theta = dict(weights=params.weights, means=params.means, covariances=params.covariances)
    hard = np.eye(3)[rng.integers(0, 3, size=30)]
    wide = dict(weights=np.array([0.3, 0.7]), means=np.array([[0.0, 0.0], [1.0, 1.0]]),
                covariances=np.array([0.1 * np.eye(2), 30.0 * np.eye(2)]))
    return [Case("30 points, a random q", dict(X=X, **theta, resp=rng.dirichlet(np.ones(3), size=30))),
            Case("q the posterior (L = log p)", dict(X=X, **theta, resp=gmm.e_step_arrays(X, **theta))),
            Case("a hard (one-hot) q, with q = 0 in most cells", dict(X=X, **theta, resp=hard)),
            Case("a narrow and a wide component", dict(X=X[:10], **wide, resp=rng.dirichlet(np.ones(2), size=10))),
            Case("a batch of one point", dict(X=X[:1], **theta, resp=np.array([[0.2, 0.5, 0.3]])), degenerate=True)]


def _bound_terms(X, weights, means, covariances, resp):
    """log p(x_n, t_n = k) (n, K) and log q(t_n = k) (n, K), with log 0 kept finite (0 log 0 = 0)."""
    log_joint = np.log(weights) + distributions.log_normal_full(X, means, covariances)
    return log_joint, np.log(np.clip(resp, np.finfo(float).tiny, None))


def _bound_total(X, weights, means, covariances, resp):
    return len(X) * gmm.lower_bound_arrays(X, weights, means, covariances, resp)


def _bound_without_entropy(X, weights, means, covariances, resp):
    log_joint, _ = _bound_terms(X, weights, means, covariances, resp)
    return np.mean(np.sum(resp * log_joint, axis=1))


def _bound_entropy_sign(X, weights, means, covariances, resp):
    log_joint, log_q = _bound_terms(X, weights, means, covariances, resp)
    return np.mean(np.sum(resp * (log_joint + log_q), axis=1))


def _bound_zero_log_zero(X, weights, means, covariances, resp):
    """q log q evaluated as 0 * log(0) = 0 * (-inf) = NaN where q = 0."""
    log_joint = np.log(weights) + distributions.log_normal_full(X, means, covariances)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(np.sum(resp * (log_joint - np.log(resp)), axis=1))


def _bound_log_likelihood(X, weights, means, covariances, resp):
    log_joint, _ = _bound_terms(X, weights, means, covariances, resp)
    return np.mean(distributions.logsumexp(log_joint, axis=1))


def _bound_without_weights(X, weights, means, covariances, resp):
    return gmm.lower_bound_arrays(X, weights, means, covariances, resp) - np.mean(resp @ np.log(weights))


def _bound_diagonal_covariance(X, weights, means, covariances, resp):
    return gmm.lower_bound_arrays(X, weights, means, covariances * np.eye(X.shape[1]), resp)


def _bound_without_log_det(X, weights, means, covariances, resp):
    log_det = np.linalg.slogdet(covariances)[1]
    return gmm.lower_bound_arrays(X, weights, means, covariances, resp) + 0.5 * np.mean(resp @ log_det)


LOWER_BOUND = Exercise(
    "lower_bound", "Exercise 1.1, the bound L(q, theta) (eq. 6)",
    "lower_bound(X, weights, means, covariances, resp) -> float, nats per point",
    gmm.lower_bound_arrays, _bound_cases,
    "L = (1/N) sum_n sum_k r_nk (log p(x_n, t_n = k; theta) - log r_nk), with log p(x_n, t_n = k; theta) = "
    "log pi_k + log N(x_n | mu_k, Sigma_k) (distributions.log_normal_full) and r log r = 0 where r = 0.",
    [Mistake("total, not per point",
             "This is the total over the N points: the course reports nats per point, so take the mean over n "
             "(divide by N).", _bound_total),
     Mistake("no entropy term",
             "The entropy term is missing: eq. 6 is sum_k q(k) (log p(x, k) - log q(k)); the -q log q part is "
             "what keeps L below log p for every q.", _bound_without_entropy),
     Mistake("entropy with the wrong sign",
             "The entropy has the wrong sign: L = sum_k q(k) (log p(x, k) *minus* log q(k)).", _bound_entropy_sign),
     Mistake("0 log 0 as NaN",
             "Your bound is NaN where q = 0: 0 * log(0) is 0 * (-inf) = NaN in numpy, but the term q log q is 0 "
             "there (its limit). Use scipy.special.xlogy(resp, resp), or np.where(resp > 0, ...), for "
             "q log q.", _bound_zero_log_zero),
     Mistake("log p(x) instead of L",
             "You returned log p(x; theta), the log-sum-exp of the log-joint: it equals L only when q is the "
             "posterior. L weighs each log-joint by the q you are given.", _bound_log_likelihood),
     Mistake("no mixture weights",
             "The mixture weights are missing: the log-joint is log pi_k + log N(x_n | mu_k, Sigma_k) (eq. 2).",
             _bound_without_weights),
     Mistake("no log-determinant",
             "The log-determinant is missing: log N(x | mu_k, Sigma_k) has -1/2 log|Sigma_k|; "
             "distributions.log_normal_full includes it.", _bound_without_log_det),
     Mistake("diagonal covariances",
             "You used only the diagonal of each covariance: Sigma_k is a full matrix, so use "
             "distributions.log_normal_full(X, means, covariances) with the whole Sigma_k.",
             _bound_diagonal_covariance)],
    rtol=1e-9)


# ----------------------------------------------------------------------------- Exercise 1.2: responsibilities


def _mixture_cases() -> list[Case]:
    rng = np.random.default_rng(1)
    params = gmm.demo_mixture()
    X, _ = gmm.sample_mixture(params, 40, rng)
    args = dict(weights=params.weights, means=params.means, covariances=params.covariances)
    far = X[:3] + 60.0
    return [Case("40 points from the course's mixture", dict(X=X, **args)),
            Case("a batch of one point", dict(X=X[:1], **args), degenerate=True),
            Case("points far from every component (plain exp underflows to 0)", dict(X=far, **args)),
            Case("one component", dict(X=X, weights=np.ones(1), means=params.means[:1],
                                       covariances=params.covariances[:1])),
            Case("a narrow and a wide component over the same points", dict(
                X=X[:12], weights=np.array([0.5, 0.5]), means=np.array([[0.0, 0.0], [0.5, 0.5]]),
                covariances=np.array([0.05 * np.eye(2), 20.0 * np.eye(2)])))]


_e_step_reference = gmm.e_step_arrays


def _e_step_without_logsumexp(X, weights, means, covariances):
    joint = weights * np.exp(distributions.log_normal_full(X, means, covariances))
    return joint / joint.sum(axis=1, keepdims=True)


def _e_step_without_weights(X, weights, means, covariances):
    log_joint = distributions.log_normal_full(X, means, covariances)
    return np.exp(log_joint - distributions.logsumexp(log_joint, axis=1)[:, None])


def _e_step_unnormalised(X, weights, means, covariances):
    return np.exp(np.log(weights) + distributions.log_normal_full(X, means, covariances))


def _e_step_in_log_space(X, weights, means, covariances):
    log_joint = np.log(weights) + distributions.log_normal_full(X, means, covariances)
    return log_joint - distributions.logsumexp(log_joint, axis=1)[:, None]


def _e_step_normalised_over_points(X, weights, means, covariances):
    log_joint = np.log(weights) + distributions.log_normal_full(X, means, covariances)
    return np.exp(log_joint - distributions.logsumexp(log_joint, axis=0)[None, :])


def _e_step_without_log_det(X, weights, means, covariances):
    """log N(x | mu, Sigma) without its -1/2 log|Sigma_k|, which differs between the components."""
    log_det = np.linalg.slogdet(covariances)[1]
    log_joint = np.log(weights) + distributions.log_normal_full(X, means, covariances) + 0.5 * log_det
    return np.exp(log_joint - distributions.logsumexp(log_joint, axis=1)[:, None])


def _e_step_diagonal_covariance(X, weights, means, covariances):
    """Only the variances on the diagonal of each Sigma_k used, the correlations dropped."""
    return _e_step_reference(X, weights, means, covariances * np.eye(X.shape[1]))


RESPONSIBILITIES = Exercise(
    "responsibilities", "Exercise 1.2, the E-step (eq. 8)",
    "responsibilities(X, weights, means, covariances) -> (n, K)",
    _e_step_reference, _mixture_cases,
    "log r_nk = log pi_k + log N(x_n | mu_k, Sigma_k) - logsumexp_j(...) over the K components (axis=1); "
    "then r_nk = exp(log r_nk).",
    [Mistake("no log-sum-exp",
             "Your answer is right for nearby points but NaN for far-away ones: exp of a very negative "
             "log-density rounds to 0 and you divide 0 by 0. Normalise in log space with "
             "distributions.logsumexp (eq. 8), then exponentiate.", _e_step_without_logsumexp),
     Mistake("no mixture weights",
             "The mixture weights are missing: the joint is log pi_k + log N(x_n | mu_k, Sigma_k) (eq. 2), "
             "not the Gaussian alone.", _e_step_without_weights),
     Mistake("not normalised",
             "These are joint probabilities p(x_n, t_n = k), not responsibilities: divide by their sum over k "
             "(subtract the log-sum-exp in log space) so that each row sums to 1.", _e_step_unnormalised),
     Mistake("log-responsibilities returned",
             "These are the log-responsibilities: exponentiate them (rows of r must sum to 1).", _e_step_in_log_space),
     Mistake("normalised over the points",
             "You normalised over the points (axis=0) instead of over the components (axis=1): "
             "q(t_n) is a distribution over k for each point n.", _e_step_normalised_over_points),
     Mistake("no log-determinant",
             "The log-determinant is missing: log N(x | mu_k, Sigma_k) has -1/2 log|Sigma_k|, which differs "
             "from component to component, so it does not cancel in the normalisation.", _e_step_without_log_det),
     Mistake("diagonal covariances",
             "You used only the diagonal of each covariance: Sigma_k is a full matrix, so use "
             "distributions.log_normal_full(X, means, covariances) with the whole Sigma_k.",
             _e_step_diagonal_covariance)])


# ----------------------------------------------------------------------------- Exercise 1.3: m_step_parameters


def _responsibility_cases() -> list[Case]:
    rng = np.random.default_rng(2)
    X, _ = gmm.sample_mixture(gmm.demo_mixture(), 30, rng)
    soft = rng.dirichlet(np.ones(3), size=30)
    hard = np.eye(3)[rng.integers(0, 3, size=30)]
    hard[:3] = np.eye(3)          # every component owns at least one point
    return [Case("30 points, soft responsibilities", dict(X=X, resp=soft, reg_covar=1e-6)),
            Case("hard (one-hot) responsibilities", dict(X=X, resp=hard, reg_covar=1e-6)),
            Case("a large covariance floor, reg_covar=0.5", dict(X=X, resp=soft, reg_covar=0.5)),
            Case("a batch of one point, one component", dict(X=X[:1], resp=np.ones((1, 1)), reg_covar=1e-3),
                 degenerate=True)]


_m_step_reference = gmm.m_step_arrays


def _m_step_counts_not_weights(X, resp, reg_covar):
    weights, means, covariances = _m_step_reference(X, resp, reg_covar)
    return weights * len(X), means, covariances


def _m_step_divide_by_n(X, resp, reg_covar):
    nk = resp.sum(axis=0)
    means = resp.T @ X / len(X)
    covs = np.stack([(resp[:, k] * (X - means[k]).T) @ (X - means[k]) / len(X) for k in range(len(nk))])
    return nk / len(X), means, covs + reg_covar * np.eye(X.shape[1])


def _m_step_without_floor(X, resp, reg_covar):
    nk, means, covariances = distributions.weighted_gaussian_statistics(X, resp)
    return nk / len(X), means, covariances


def _m_step_uncentred(X, resp, reg_covar):
    weights, means, _ = _m_step_reference(X, resp, reg_covar)
    nk = resp.sum(axis=0)
    covs = np.stack([(resp[:, k] * X.T) @ X / nk[k] for k in range(len(nk))])
    return weights, means, covs + reg_covar * np.eye(X.shape[1])


def _m_step_centred_on_the_data_mean(X, resp, reg_covar):
    weights, means, _ = _m_step_reference(X, resp, reg_covar)
    nk, centred = resp.sum(axis=0), X - X.mean(axis=0)
    covs = np.stack([(resp[:, k] * centred.T) @ centred / nk[k] for k in range(len(nk))])
    return weights, means, covs + reg_covar * np.eye(X.shape[1])


def _m_step_diagonal_covariance(X, resp, reg_covar):
    weights, means, covariances = _m_step_reference(X, resp, reg_covar)
    return weights, means, covariances * np.eye(X.shape[1])


M_STEP_PARAMETERS = Exercise(
    "m_step_parameters", "Exercise 1.3, the M-step (eq. 9)",
    "m_step_parameters(X, resp, reg_covar) -> (weights (K,), means (K, d), covariances (K, d, d))",
    _m_step_reference, _responsibility_cases,
    "N_k = sum_n r_nk; pi_k = N_k / N; mu_k = sum_n r_nk x_n / N_k; "
    "Sigma_k = sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T / N_k + reg_covar * I.",
    [Mistake("counts, not weights",
             "Your weights are the counts N_k: divide by the number of points N so they sum to 1.",
             _m_step_counts_not_weights),
     Mistake("divided by N, not N_k",
             "You divided by N, the number of points; each component's mean and covariance are averages "
             "weighted by r_nk, so divide by N_k = sum_n r_nk.", _m_step_divide_by_n),
     Mistake("no covariance floor",
             "The covariance floor is missing: add reg_covar times the identity to every Sigma_k.",
             _m_step_without_floor),
     Mistake("uncentred covariances",
             "Your covariances are E[x x^T], not centred: use (x_n - mu_k)(x_n - mu_k)^T with the new mu_k.",
             _m_step_uncentred),
     Mistake("centred on the data's mean",
             "Your covariances are centred on the mean of all the data: centre each Sigma_k on its own new mean, "
             "(x_n - mu_k)(x_n - mu_k)^T.", _m_step_centred_on_the_data_mean),
     Mistake("diagonal covariances",
             "Your covariances are diagonal: Sigma_k is the full weighted outer product "
             "sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T / N_k, correlations included.", _m_step_diagonal_covariance)],
    outputs=("weights", "means", "covariances"))


EXERCISES = [LOWER_BOUND, RESPONSIBILITIES, M_STEP_PARAMETERS]
