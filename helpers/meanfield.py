"""Mean-field variational inference (course text eqs. 10-13), checked against exact answers.

Part 1: a univariate Gaussian with unknown mean mu and precision tau under a conjugate
Normal-Gamma prior, where the exact posterior is known (Bishop, PRML 10.1.3). Variational EM
(eq. 13) appears here too: the prior mean mu0 is a point-estimated parameter theta.
Part 1b: a correlated Gaussian target, where a factorised q visibly loses the correlation (PRML 10.1.2).
Part 2: a Bayesian Gaussian mixture fitted by mean-field coordinate ascent (Bishop, PRML 10.2); every
unknown has a distribution there, so it is CAVI (eq. 12) without an M-step, not variational EM.

Every update is eq. 11, log q_i(t_i) = E_{-q_i}[log p(x, t)] + const, worked out in
closed form for these conjugate models; the ELBO is eq. 6 with q factorised as in eq. 10.
Bounds and evidences are in nats *per data point* (the data set's total divided by N).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.special import digamma, gammaln, xlogy
from scipy.stats import gamma

from helpers.distributions import LOG_2PI, log_normal, logsumexp, weighted_gaussian_statistics
from helpers.validation import check_array, check_resp

__all__ = [
    "BayesianGMMPosterior", "BayesianGMMPrior", "CAVIHistory", "NormalGamma", "NormalGammaFactors",
    "cavi_bayesian_gmm", "cavi_gaussian", "cavi_normal_gamma", "elbo_bayesian_gmm", "elbo_normal_gamma",
    "expected_log_det_precision",
    "expected_log_weights", "log_evidence", "log_normal_gamma_density", "log_q_density", "marginal_variances",
    "normal_gamma_posterior", "q_tau_shape_rate", "q_variances", "to_sklearn_bayesian_mixture", "update_prior_mean",
    "update_q_assignments", "update_q_mu", "update_q_parameters", "update_q_tau", "variational_em_normal_gamma",
]

# ============================================================================ Part 1


def _check_sample(x: np.ndarray) -> np.ndarray:
    return check_array(x, "x", ndim=1)


def _check_positive(obj, *names: str) -> None:
    for name in names:
        if not getattr(obj, name) > 0:
            raise ValueError(f"{type(obj).__name__}: {name} must be > 0, got {getattr(obj, name)}")


@dataclass(frozen=True)
class NormalGamma:
    """p(mu, tau) = N(mu | mu0, (lambda0 tau)^-1) Gamma(tau | a, b)  (b is a rate). Also the exact posterior.

    mu and tau are uncorrelated under it but not independent: the spread of mu given tau is
    1 / sqrt(lambda0 tau), wide where tau is small and narrow where it is large (a funnel).
    """

    mu0: float
    lambda0: float
    a: float
    b: float

    def __post_init__(self) -> None:
        _check_positive(self, "lambda0", "a", "b")


@dataclass(frozen=True)
class NormalGammaFactors:
    """Eq. 10 with M = 2: q(mu) q(tau) = N(mu | mean, 1 / precision) Gamma(tau | a, b), independent factors."""

    mean: float
    precision: float
    a: float
    b: float

    @property
    def expected_tau(self) -> float:
        """E_q[tau] = a / b."""
        return self.a / self.b

    @property
    def expected_log_tau(self) -> float:
        """E_q[log tau] = psi(a) - log b."""
        return float(digamma(self.a) - np.log(self.b))

    def __post_init__(self) -> None:
        _check_positive(self, "precision", "a", "b")


def normal_gamma_posterior(x: np.ndarray, prior: NormalGamma) -> NormalGamma:
    """Eq. 4: the exact posterior p(mu, tau | x), again Normal-Gamma by conjugacy. ``x``: (N,)."""
    x = _check_sample(x)
    n, xbar = len(x), float(np.mean(x))
    lam = prior.lambda0 + n
    return NormalGamma(
        mu0=(prior.lambda0 * prior.mu0 + n * xbar) / lam,
        lambda0=lam,
        a=prior.a + n / 2,
        b=prior.b + 0.5 * np.sum((x - xbar) ** 2) + prior.lambda0 * n * (xbar - prior.mu0) ** 2 / (2 * lam),
    )


def log_evidence(x: np.ndarray, prior: NormalGamma) -> float:
    """Eq. 3: log p(x) = log of the integral of p(x | mu, tau) p(mu, tau), closed form, per data point. x: (N,)."""
    post = normal_gamma_posterior(x, prior)
    total = (gammaln(post.a) - gammaln(prior.a) + prior.a * np.log(prior.b) - post.a * np.log(post.b)
             + 0.5 * np.log(prior.lambda0 / post.lambda0) - len(x) / 2 * LOG_2PI)
    return float(total / len(x))


def log_normal_gamma_density(mu: np.ndarray, tau: np.ndarray, p: NormalGamma) -> np.ndarray:
    """Eq. 2's prior (and eq. 4's posterior): log N(mu | mu0, (lambda0 tau)^-1) + log Gamma(tau | a, b), elementwise."""
    return log_normal(mu, p.mu0, -np.log(p.lambda0 * tau)) + gamma.logpdf(tau, p.a, scale=1.0 / p.b)


def log_q_density(mu: np.ndarray, tau: np.ndarray, q: NormalGammaFactors) -> np.ndarray:
    """Eq. 10: log q(mu) + log q(tau), elementwise."""
    return log_normal(mu, q.mean, -np.log(q.precision)) + gamma.logpdf(tau, q.a, scale=1.0 / q.b)


def update_q_mu(x: np.ndarray, prior: NormalGamma, q: NormalGammaFactors) -> NormalGammaFactors:
    """Eq. 11 for the factor q(mu): log q(mu) = E_tau[log p(x, mu, tau)] + const. x: (N,).

    Result: N(mu | (lambda0 mu0 + N xbar) / (lambda0 + N), ((lambda0 + N) E[tau])^-1)   (PRML 10.26-27).
    """
    x = _check_sample(x)
    n = len(x)
    return replace(q, mean=(prior.lambda0 * prior.mu0 + n * np.mean(x)) / (prior.lambda0 + n),
                   precision=(prior.lambda0 + n) * q.expected_tau)


def q_tau_shape_rate(x: np.ndarray, prior: NormalGamma, q: NormalGammaFactors) -> tuple[float, float]:
    """Eq. 11 for the factor q(tau): log q(tau) = E_mu[log p(x, mu, tau)] + const, a Gamma's (shape, rate). x: (N,).

    Result: a = a0 + (N + 1)/2, b = b0 + 1/2 E_mu[sum_n (x_n - mu)^2 + lambda0 (mu - mu0)^2]  (PRML 10.29-30),
    with E_mu[(x_n - mu)^2] = (x_n - m)^2 + 1 / precision under q(mu) = N(m, 1 / precision).
    """
    x = _check_sample(x)
    var_mu = 1.0 / q.precision
    sq = np.sum((x - q.mean) ** 2) + len(x) * var_mu + prior.lambda0 * ((q.mean - prior.mu0) ** 2 + var_mu)
    return prior.a + (len(x) + 1) / 2, prior.b + 0.5 * sq


def update_q_tau(x: np.ndarray, prior: NormalGamma, q: NormalGammaFactors,
                 shape_rate: Callable = q_tau_shape_rate) -> NormalGammaFactors:
    """Eq. 11 for the factor q(tau), q(mu) held fixed: q with (a, b) from ``shape_rate(x, prior, q)``. x: (N,)."""
    a, b = shape_rate(x, prior, q)
    return replace(q, a=float(a), b=float(b))


def elbo_normal_gamma(x: np.ndarray, prior: NormalGamma, q: NormalGammaFactors) -> float:
    """Eq. 6: L(q) = E_q[log p(x, mu, tau)] - E_q[log q(mu) q(tau)], closed form, per data point. x: (N,)."""
    x = _check_sample(x)
    n = len(x)
    e_tau, e_log_tau, var_mu = q.expected_tau, q.expected_log_tau, 1.0 / q.precision
    e_lik = 0.5 * n * (e_log_tau - LOG_2PI) - 0.5 * e_tau * (np.sum((x - q.mean) ** 2) + n * var_mu)
    e_prior_mu = 0.5 * (np.log(prior.lambda0) + e_log_tau - LOG_2PI) \
        - 0.5 * prior.lambda0 * e_tau * ((q.mean - prior.mu0) ** 2 + var_mu)
    e_prior_tau = prior.a * np.log(prior.b) - gammaln(prior.a) + (prior.a - 1) * e_log_tau - prior.b * e_tau
    entropy_mu = 0.5 * (1 + LOG_2PI - np.log(q.precision))
    entropy_tau = gamma.entropy(q.a, scale=1.0 / q.b)
    return float((e_lik + e_prior_mu + e_prior_tau + entropy_mu + entropy_tau) / n)


def cavi_normal_gamma(x: np.ndarray, prior: NormalGamma, init: NormalGammaFactors, n_iter: int = 20,
                      q_tau_update: Callable = q_tau_shape_rate, elbo: Callable = elbo_normal_gamma
                      ) -> list[tuple[str, NormalGammaFactors, float]]:
    """Eqs. 11-12: coordinate ascent, alternating the q(mu) and q(tau) updates.

    Returns every state as (which factor was just updated, q, ELBO per point); the first entry is the start.
    ``q_tau_update(x, prior, q) -> (a, b)`` and ``elbo(x, prior, q) -> float`` may be a student's own
    (default: :func:`q_tau_shape_rate` and :func:`elbo_normal_gamma`).
    """
    q = init
    states = [("start", q, float(elbo(x, prior, q)))]
    for _ in range(n_iter):
        q = update_q_mu(x, prior, q)
        states.append(("q(mu)", q, float(elbo(x, prior, q))))
        q = update_q_tau(x, prior, q, q_tau_update)
        states.append(("q(tau)", q, float(elbo(x, prior, q))))
    return states


def update_prior_mean(prior: NormalGamma, q: NormalGammaFactors) -> NormalGamma:
    """Eq. 13: the M-step of variational EM for theta = mu0, the prior mean: mu0 = argmax L(q, mu0) = E_q[mu].

    Only E_q[log p(mu | mu0, lambda0 tau)] depends on mu0, and it is -lambda0 E[tau] (E[mu] - mu0)^2 / 2 + const.
    """
    return replace(prior, mu0=float(q.mean))


def variational_em_normal_gamma(x: np.ndarray, prior: NormalGamma, init: NormalGammaFactors, n_iter: int = 30,
                                cavi_steps: int = 1) -> list[tuple[str, NormalGamma, NormalGammaFactors, float]]:
    """Eqs. 11-13: variational EM. E-step: ``cavi_steps`` rounds of CAVI for q(mu) q(tau) given theta = mu0;
    M-step: the point estimate mu0 = E_q[mu]. Returns every state as (step, prior, q, ELBO per point)."""
    q = init
    states = [("start", prior, q, elbo_normal_gamma(x, prior, q))]
    for _ in range(n_iter):
        for _ in range(cavi_steps):
            q = update_q_tau(x, prior, update_q_mu(x, prior, q))
        states.append(("E-step", prior, q, elbo_normal_gamma(x, prior, q)))
        prior = update_prior_mean(prior, q)
        states.append(("M-step", prior, q, elbo_normal_gamma(x, prior, q)))
    return states


def marginal_variances(post: NormalGamma) -> tuple[float, float]:
    """Var(mu) and Var(tau) under the exact Normal-Gamma posterior (Student-t and Gamma marginals)."""
    return post.b / (post.lambda0 * (post.a - 1)), post.a / post.b**2


def q_variances(q: NormalGammaFactors) -> tuple[float, float]:
    """Var(mu) and Var(tau) under the factorised q."""
    return 1.0 / q.precision, q.a / q.b**2


# ============================================================================ Part 1b


def cavi_gaussian(mean: np.ndarray, cov: np.ndarray, init_mean: np.ndarray, n_iter: int = 10
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Eqs. 10-12 for a Gaussian target p(t) = N(mean, cov), factorised as prod_j q_j(t_j) (PRML 10.1.2).

    With Lambda = cov^-1, eq. 11 gives q_j = N(m_j, 1 / Lambda_jj) with
    m_j = mean_j - sum_{i != j} Lambda_ji (m_i - mean_i) / Lambda_jj: the variances are fixed from the
    first update on, only the means move. mean (D,), cov (D, D), init_mean (D,). Returns the means after
    every single-factor update, (n_iter * D + 1, D), the first row the start, and the variances (D,).
    """
    mean, cov, m = (np.asarray(a, dtype=float) for a in (mean, cov, init_mean))
    d = len(mean)
    if mean.ndim != 1 or cov.shape != (d, d) or m.shape != (d,):
        raise ValueError(f"expected mean (D,), cov (D, D) and init_mean (D,), got {mean.shape}, {cov.shape}, {m.shape}")
    if not np.allclose(cov, cov.T) or np.any(np.linalg.eigvalsh(cov) <= 0):
        raise ValueError("cov must be symmetric positive definite")
    precision = np.linalg.inv(cov)
    m = m.copy()
    path = [m.copy()]
    for _ in range(n_iter):
        for j in range(d):
            others = np.arange(d) != j
            m[j] = mean[j] - precision[j, others] @ (m[others] - mean[others]) / precision[j, j]
            path.append(m.copy())
    return np.array(path), 1.0 / np.diag(precision)


# ============================================================================ Part 2


@dataclass(frozen=True)
class BayesianGMMPrior:
    """Dirichlet(alpha0) on the weights; N(mu_k | m0, (beta0 Lambda_k)^-1) W(Lambda_k | W0, nu0) per component."""

    alpha0: float
    m0: np.ndarray
    beta0: float
    W0: np.ndarray
    nu0: float

    def __post_init__(self) -> None:
        _check_positive(self, "alpha0", "beta0")
        m0, W0 = np.asarray(self.m0, dtype=float), np.asarray(self.W0, dtype=float)
        d = len(m0)
        if m0.ndim != 1 or W0.shape != (d, d):
            raise ValueError(f"BayesianGMMPrior: expected m0 (D,) and W0 (D, D), got {m0.shape} and {W0.shape}")
        if not np.allclose(W0, W0.T) or np.any(np.linalg.eigvalsh(W0) <= 0):
            raise ValueError("BayesianGMMPrior: W0 must be symmetric positive definite, e.g. the inverse of the "
                             "data covariance")
        if not self.nu0 > d - 1:
            raise ValueError(f"BayesianGMMPrior: nu0 must be > D - 1 = {d - 1} for a proper Wishart, got {self.nu0}")
        object.__setattr__(self, "m0", m0)
        object.__setattr__(self, "W0", W0)


def _check_mixture_input(X: np.ndarray, resp: np.ndarray | None = None, prior: BayesianGMMPrior | None = None
                         ) -> tuple[np.ndarray, np.ndarray | None]:
    X = check_array(X)
    if prior is not None and X.shape[1] != len(prior.m0):
        raise ValueError(f"X has {X.shape[1]} features but the prior's m0 has {len(prior.m0)}")
    if resp is not None:
        resp = check_resp(resp, len(X), normalised=True)
    return X, resp


@dataclass(frozen=True)
class BayesianGMMPosterior:
    """q(pi) q(mu, Lambda): Dirichlet(alpha) and K Gaussian-Wisharts (m_k, beta_k, W_k, nu_k)."""

    alpha: np.ndarray   # (K,)
    beta: np.ndarray    # (K,)
    m: np.ndarray       # (K, D)
    W: np.ndarray       # (K, D, D)
    nu: np.ndarray      # (K,)

    @property
    def weights(self) -> np.ndarray:
        """E[pi_k] = alpha_k / sum_j alpha_j."""
        return self.alpha / self.alpha.sum()

    @property
    def covariances(self) -> np.ndarray:
        """(nu_k W_k)^-1, the inverse of E[Lambda_k] (scikit-learn's ``covariances_``)."""
        return np.linalg.inv(self.nu[:, None, None] * self.W)


@dataclass
class CAVIHistory:
    """The ELBO per point and q(pi, mu, Lambda) after each full cycle of :func:`cavi_bayesian_gmm`; [0] is the start."""

    elbo: list[float] = field(default_factory=list)
    posteriors: list[BayesianGMMPosterior] = field(default_factory=list)


def update_q_parameters(X: np.ndarray, resp: np.ndarray, prior: BayesianGMMPrior) -> BayesianGMMPosterior:
    """Eq. 11 for q(pi) and each q(mu_k, Lambda_k) given q(Z) (PRML 10.58-10.63). X (n, D), resp (n, K).

    scikit-learn calls this the variational M-step, but it updates a distribution, not a point estimate.
    """
    X, resp = _check_mixture_input(X, resp, prior)
    nk, xbar, S = weighted_gaussian_statistics(X, resp)
    beta = prior.beta0 + nk
    m = (prior.beta0 * prior.m0 + nk[:, None] * xbar) / beta[:, None]
    W0_inv = np.linalg.inv(prior.W0)
    W = np.empty_like(S)
    for k in range(len(nk)):
        d = xbar[k] - prior.m0
        W[k] = np.linalg.inv(W0_inv + nk[k] * S[k] + prior.beta0 * nk[k] / beta[k] * np.outer(d, d))
    return BayesianGMMPosterior(alpha=prior.alpha0 + nk, beta=beta, m=m, W=W, nu=prior.nu0 + nk)


def expected_log_weights(post: BayesianGMMPosterior) -> np.ndarray:
    """E_q[log pi_k] = psi(alpha_k) - psi(sum alpha)   (PRML 10.66): (K,)."""
    return digamma(post.alpha) - digamma(post.alpha.sum())


def expected_log_det_precision(post: BayesianGMMPosterior) -> np.ndarray:
    """E_q[log |Lambda_k|] = sum_i psi((nu_k + 1 - i) / 2) + D log 2 + log |W_k|   (PRML 10.65): (K,)."""
    d = post.m.shape[1]
    i = np.arange(1, d + 1)
    return (digamma((post.nu[:, None] + 1 - i) / 2).sum(axis=1) + d * np.log(2)
            + np.linalg.slogdet(post.W)[1])


def update_q_assignments(X: np.ndarray, post: BayesianGMMPosterior) -> np.ndarray:
    """Eq. 11 for q(Z): responsibilities (n, K) from X (n, D)   (PRML 10.46-10.49, 10.64-10.66)."""
    X, _ = _check_mixture_input(X)
    if X.shape[1] != post.m.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but the posterior's means have {post.m.shape[1]}")
    d = X.shape[1]
    log_rho = np.empty((len(X), len(post.alpha)))
    e_log_pi, e_log_det = expected_log_weights(post), expected_log_det_precision(post)
    for k in range(len(post.alpha)):
        diff = X - post.m[k]
        maha = d / post.beta[k] + post.nu[k] * np.einsum("ij,jk,ik->i", diff, post.W[k], diff)
        log_rho[:, k] = e_log_pi[k] + 0.5 * e_log_det[k] - 0.5 * d * LOG_2PI - 0.5 * maha
    return np.exp(log_rho - logsumexp(log_rho, axis=1)[:, None])


def _log_wishart_normaliser(W: np.ndarray, nu: float) -> float:
    """log B(W, nu) of the Wishart density (PRML B.79)."""
    d = W.shape[0]
    i = np.arange(1, d + 1)
    return float(-0.5 * nu * np.linalg.slogdet(W)[1]
                 - (0.5 * nu * d * np.log(2) + d * (d - 1) / 4 * np.log(np.pi) + gammaln((nu + 1 - i) / 2).sum()))


def _log_dirichlet_normaliser(alpha: np.ndarray) -> float:
    """log C(alpha) = log Gamma(sum alpha) - sum log Gamma(alpha_k)   (PRML B.23)."""
    return float(gammaln(alpha.sum()) - gammaln(alpha).sum())


def elbo_bayesian_gmm(X: np.ndarray, resp: np.ndarray, post: BayesianGMMPosterior,
                      prior: BayesianGMMPrior) -> float:
    """Eq. 6 with the factorisation of eq. 10: the variational lower bound of PRML 10.70-10.77, per data point."""
    X, resp = _check_mixture_input(X, resp, prior)
    n, d = X.shape
    k_count = len(post.alpha)
    nk, xbar, S = weighted_gaussian_statistics(X, resp)
    e_log_pi, e_log_det = expected_log_weights(post), expected_log_det_precision(post)
    W0_inv = np.linalg.inv(prior.W0)

    e_log_lik = 0.0
    e_log_p_mu_lambda = 0.0
    e_log_q_mu_lambda = 0.0
    for k in range(k_count):
        diff = xbar[k] - post.m[k]
        e_log_lik += 0.5 * nk[k] * (e_log_det[k] - d / post.beta[k] - post.nu[k] * np.trace(S[k] @ post.W[k])
                                    - post.nu[k] * diff @ post.W[k] @ diff - d * LOG_2PI)
        dm = post.m[k] - prior.m0
        e_log_p_mu_lambda += 0.5 * (d * np.log(prior.beta0 / (2 * np.pi)) + e_log_det[k]
                                    - d * prior.beta0 / post.beta[k]
                                    - prior.beta0 * post.nu[k] * dm @ post.W[k] @ dm)
        e_log_p_mu_lambda += 0.5 * (prior.nu0 - d - 1) * e_log_det[k] \
            - 0.5 * post.nu[k] * np.trace(W0_inv @ post.W[k])
        entropy_wishart = (-_log_wishart_normaliser(post.W[k], post.nu[k])
                           - 0.5 * (post.nu[k] - d - 1) * e_log_det[k] + 0.5 * post.nu[k] * d)
        e_log_q_mu_lambda += 0.5 * e_log_det[k] + 0.5 * d * np.log(post.beta[k] / (2 * np.pi)) \
            - 0.5 * d - entropy_wishart
    e_log_p_mu_lambda += k_count * _log_wishart_normaliser(prior.W0, prior.nu0)

    e_log_p_z = float(np.sum(resp * e_log_pi))
    e_log_p_pi = _log_dirichlet_normaliser(np.full(k_count, prior.alpha0)) + (prior.alpha0 - 1) * e_log_pi.sum()
    e_log_q_z = float(np.sum(xlogy(resp, resp)))                          # sum q log q, with 0 log 0 = 0
    e_log_q_pi = float(np.sum((post.alpha - 1) * e_log_pi)) + _log_dirichlet_normaliser(post.alpha)
    return float(e_log_lik + e_log_p_z + e_log_p_pi + e_log_p_mu_lambda - e_log_q_z - e_log_q_pi
                 - e_log_q_mu_lambda) / n


def cavi_bayesian_gmm(X: np.ndarray, init_resp: np.ndarray, prior: BayesianGMMPrior, max_iter: int = 200,
                      tol: float = 1e-8) -> tuple[np.ndarray, BayesianGMMPosterior, CAVIHistory]:
    """Eq. 12: mean-field coordinate ascent (CAVI) for the Bayesian mixture, from initial responsibilities (n, K).

    Alternates the q(pi, mu, Lambda) update and the q(Z) update, recording the ELBO per point after each
    full cycle; stops when it changes by < tol (``tol=0`` runs all ``max_iter`` cycles). Every unknown has a
    distribution here: no point estimate of theta is made, so there is no M-step (eq. 13), unlike
    :func:`variational_em_normal_gamma`. Returns the final responsibilities, q(pi, mu, Lambda) and the history.
    """
    X, resp = _check_mixture_input(X, init_resp, prior)
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    post = update_q_parameters(X, resp, prior)
    history = CAVIHistory([elbo_bayesian_gmm(X, resp, post, prior)], [post])
    for _ in range(max_iter):
        resp = update_q_assignments(X, post)
        post = update_q_parameters(X, resp, prior)
        history.elbo.append(elbo_bayesian_gmm(X, resp, post, prior))
        history.posteriors.append(post)
        if abs(history.elbo[-1] - history.elbo[-2]) < tol:
            break
    return resp, post, history


def to_sklearn_bayesian_mixture(prior: BayesianGMMPrior, n_components: int, init_resp: np.ndarray, **kwargs):
    """scikit-learn's BayesianGaussianMixture with these priors, started from ``init_resp``.

    scikit-learn has no public way to pass initial responsibilities, so this subclass overrides
    its (private) initialisation hook to use them; everything after that is scikit-learn's own code.
    """
    from sklearn.mixture import BayesianGaussianMixture

    class FromResponsibilities(BayesianGaussianMixture):
        def _initialize_parameters(self, X, random_state, xp=None):
            self._initialize(X, init_resp)

    return FromResponsibilities(
        n_components=n_components, covariance_type="full",
        weight_concentration_prior_type="dirichlet_distribution",
        weight_concentration_prior=prior.alpha0, mean_prior=prior.m0, mean_precision_prior=prior.beta0,
        covariance_prior=np.linalg.inv(prior.W0), degrees_of_freedom_prior=prior.nu0, reg_covar=0.0,
        n_init=1, **kwargs)
