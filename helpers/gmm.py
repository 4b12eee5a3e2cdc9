"""Expectation maximization for a Gaussian mixture model (course text eqs. 1-9).

Model: t ~ Categorical(pi), x | t=k ~ N(mu_k, Sigma_k), so
p(x; theta) = sum_k pi_k N(x | mu_k, Sigma_k)   (eq. 3, with a discrete latent t).

Shapes: X (n, d) data, resp (n, K) responsibilities q(t_n = k),
weights (K,), means (K, d), covariances (K, d, d).

Log-likelihoods and bounds are reported *per data point* (the mean over n),
as scikit-learn's ``GaussianMixture.score`` does. All sums over components go
through :func:`logsumexp`, so no density is ever exponentiated on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class GMMParams:
    """theta = (pi, mu, Sigma): weights (K,), means (K, d), covariances (K, d, d)."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    @property
    def n_components(self) -> int:
        return len(self.weights)

    def n_free_parameters(self) -> int:
        """Free parameters: (K-1) weights + K*d means + K*d(d+1)/2 covariance entries."""
        k, d = self.means.shape
        return (k - 1) + k * d + k * d * (d + 1) // 2


@dataclass
class EMHistory:
    """What EM records at iteration l = 1, 2, ...

    ``log_likelihood[l]``  log p(x; theta^{l-1}) per point, before the M-step;
    ``bound_after_e[l]``   L(q^l, theta^{l-1}) right after the E-step (equals the line above: KL = 0);
    ``bound_after_m[l]``   L(q^l, theta^l) after the M-step (>= the line above, eq. 9);
    ``params[l]``          theta^{l-1}; ``params[0]`` is the initialisation.
    """

    log_likelihood: list[float] = field(default_factory=list)
    bound_after_e: list[float] = field(default_factory=list)
    bound_after_m: list[float] = field(default_factory=list)
    params: list[GMMParams] = field(default_factory=list)


@dataclass
class GMMFit:
    """The best of several restarts: its parameters, its history and every restart's final score."""

    params: GMMParams
    history: EMHistory
    init: GMMParams
    restart_log_likelihoods: list[float]
    converged: bool


# ----------------------------------------------------------------------------- densities


def logsumexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """log sum_k exp(a_k) along ``axis``, shifted by the maximum so nothing overflows."""
    a_max = np.max(a, axis=axis, keepdims=True)
    a_max = np.where(np.isfinite(a_max), a_max, 0.0)
    with np.errstate(divide="ignore"):  # a row of only -inf sums to 0, and log 0 = -inf is right
        out = np.log(np.sum(np.exp(a - a_max), axis=axis, keepdims=True)) + a_max
    return np.squeeze(out, axis=axis)


def log_gaussian_density(X: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """log N(x_n | mu_k, Sigma_k) for every point and component: (n, d) -> (n, K).

    Uses the Cholesky factor of each precision matrix, as scikit-learn does:
    with Sigma^{-1} = U U^T, the Mahalanobis term is ||(x - mu)^T U||^2.
    """
    n, d = X.shape
    out = np.empty((n, len(means)))
    for k, (mu, cov) in enumerate(zip(means, covariances, strict=True)):
        chol = np.linalg.cholesky(cov)
        prec_chol = np.linalg.inv(chol).T
        y = X @ prec_chol - mu @ prec_chol
        log_det_prec = np.sum(np.log(np.diag(prec_chol)))
        out[:, k] = -0.5 * (d * np.log(2 * np.pi) + np.einsum("ij,ij->i", y, y)) + log_det_prec
    return out


def log_joint(X: np.ndarray, params: GMMParams) -> np.ndarray:
    """log p(x_n, t_n = k; theta) = log pi_k + log N(x_n | mu_k, Sigma_k)   (eq. 2): (n, K)."""
    return np.log(params.weights) + log_gaussian_density(X, params.means, params.covariances)


def log_likelihood(X: np.ndarray, params: GMMParams) -> float:
    """Mean over points of log p(x_n; theta) = log sum_k p(x_n, t=k; theta)   (eq. 3)."""
    return float(np.mean(logsumexp(log_joint(X, params), axis=1)))


# ----------------------------------------------------------------------------- EM


def e_step(X: np.ndarray, params: GMMParams) -> np.ndarray:
    """q(t_n = k) = p(t_n = k | x_n; theta)   (eqs. 4 and 8): responsibilities (n, K), rows sum to 1."""
    lj = log_joint(X, params)
    return np.exp(lj - logsumexp(lj, axis=1)[:, None])


def m_step(X: np.ndarray, resp: np.ndarray, reg_covar: float = 1e-6) -> GMMParams:
    """theta = argmax_theta L(q, theta)   (eq. 9), in closed form.

    N_k = sum_n r_nk;  pi_k = N_k / n;  mu_k = sum_n r_nk x_n / N_k;
    Sigma_k = sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T / N_k + reg_covar * I.
    ``reg_covar`` is the covariance floor that keeps a collapsing component
    (one sitting on a single point) from making Sigma_k singular.
    """
    n, d = X.shape
    nk = resp.sum(axis=0) + 10 * np.finfo(resp.dtype).eps
    means = resp.T @ X / nk[:, None]
    covariances = np.empty((len(nk), d, d))
    for k in range(len(nk)):
        diff = X - means[k]
        covariances[k] = (resp[:, k] * diff.T) @ diff / nk[k] + reg_covar * np.eye(d)
    return GMMParams(weights=nk / n, means=means, covariances=covariances)


def lower_bound(X: np.ndarray, params: GMMParams, resp: np.ndarray) -> float:
    """L(q, theta) = sum_t q(t) log [p(x, t; theta) / q(t)], mean over points   (eq. 6)."""
    log_q = np.log(np.clip(resp, np.finfo(float).tiny, None))
    return float(np.mean(np.sum(resp * (log_joint(X, params) - log_q), axis=1)))


def kl_to_posterior(X: np.ndarray, params: GMMParams, resp: np.ndarray) -> float:
    """KL(q || p(t|x; theta)), mean over points   (eq. 7); zero right after an E-step."""
    lj = log_joint(X, params)
    log_post = lj - logsumexp(lj, axis=1)[:, None]
    log_q = np.log(np.clip(resp, np.finfo(float).tiny, None))
    return float(np.mean(np.sum(resp * (log_q - log_post), axis=1)))


def random_init(X: np.ndarray, n_components: int, rng: np.random.Generator) -> GMMParams:
    """Means at K distinct random data points, each covariance the data covariance, equal weights."""
    d = X.shape[1]
    means = X[rng.choice(len(X), size=n_components, replace=False)].copy()
    cov = np.cov(X, rowvar=False).reshape(d, d)
    return GMMParams(np.full(n_components, 1.0 / n_components), means,
                     np.repeat(cov[None], n_components, axis=0))


def run_em(X: np.ndarray, init: GMMParams, max_iter: int = 200, tol: float = 1e-6,
           reg_covar: float = 1e-6, record: bool = True) -> tuple[GMMParams, EMHistory, bool]:
    """Alternate E-step (eq. 8) and M-step (eq. 9) from ``init``.

    Stops when the per-point log-likelihood changes by less than ``tol`` (as
    scikit-learn does) or after ``max_iter`` iterations; ``tol=0`` runs all of them.
    Returns the final parameters, the history and whether it converged.
    With ``record=False`` only the log-likelihoods are kept (for speed).
    """
    params, history = init, EMHistory()
    for _ in range(max_iter):
        lj = log_joint(X, params)
        log_px = logsumexp(lj, axis=1)
        resp = np.exp(lj - log_px[:, None])
        history.log_likelihood.append(float(np.mean(log_px)))
        if record:
            history.params.append(params)
            history.bound_after_e.append(lower_bound(X, params, resp))
        params = m_step(X, resp, reg_covar)
        if record:
            history.bound_after_m.append(lower_bound(X, params, resp))
        ll = history.log_likelihood
        if len(ll) > 1 and abs(ll[-1] - ll[-2]) < tol:
            return params, history, True
    return params, history, False


def fit(X: np.ndarray, n_components: int, n_init: int = 5, max_iter: int = 200, tol: float = 1e-6,
        reg_covar: float = 1e-6, seed: int = 0) -> GMMFit:
    """EM from ``n_init`` random initialisations; keep the one with the highest final log-likelihood."""
    rng = np.random.default_rng(seed)
    best: GMMFit | None = None
    finals = []
    for _ in range(n_init):
        init = random_init(X, n_components, rng)
        params, history, converged = run_em(X, init, max_iter, tol, reg_covar)
        final = log_likelihood(X, params)
        finals.append(final)
        if best is None or final > best.restart_log_likelihoods[0]:
            best = GMMFit(params, history, init, [final], converged)
    best.restart_log_likelihoods = finals
    return best


# ----------------------------------------------------------------------------- model choice


def bic(X: np.ndarray, params: GMMParams) -> float:
    """Bayesian information criterion: -2 log p(X; theta) + (free parameters) log n. Lower is better."""
    n = len(X)
    return -2.0 * n * log_likelihood(X, params) + params.n_free_parameters() * np.log(n)


def sample(params: GMMParams, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw n points from the mixture by ancestral sampling (eq. 2): returns X (n, d), t (n,)."""
    t = rng.choice(params.n_components, size=n, p=params.weights)
    X = np.empty((n, params.means.shape[1]))
    for k in range(params.n_components):
        idx = t == k
        X[idx] = rng.multivariate_normal(params.means[k], params.covariances[k], size=idx.sum())
    return X, t


def to_sklearn(params: GMMParams, **kwargs):
    """A scikit-learn GaussianMixture started from exactly these parameters (for cross-checks)."""
    from sklearn.mixture import GaussianMixture

    precisions = np.linalg.inv(params.covariances)
    return GaussianMixture(n_components=params.n_components, covariance_type="full",
                           weights_init=params.weights, means_init=params.means,
                           precisions_init=precisions, **kwargs)


def demo_mixture() -> GMMParams:
    """The course's running example: three well-separated 2-D Gaussians (notebooks 01 and 02)."""
    return GMMParams(
        weights=np.array([0.45, 0.35, 0.20]),
        means=np.array([[0.0, 0.0], [4.0, 3.0], [-2.5, 4.5]]),
        covariances=np.array([[[1.2, 0.4], [0.4, 0.8]],
                              [[1.0, -0.6], [-0.6, 1.2]],
                              [[0.5, 0.0], [0.0, 1.5]]]),
    )
