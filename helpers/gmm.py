"""Expectation maximization for a Gaussian mixture model (course text eqs. 1-9).

Model: t ~ Categorical(pi), x | t=k ~ N(mu_k, Sigma_k), so
p(x; theta) = sum_k pi_k N(x | mu_k, Sigma_k)   (eq. 3, with a discrete latent t).

Shapes: X (n, d) data, resp (n, K) responsibilities q(t_n = k),
weights (K,), means (K, d), covariances (K, d, d).

Log-likelihoods and bounds are reported *per data point* (the mean over n),
as scikit-learn's ``GaussianMixture.score`` does. All sums over components go
through :func:`~helpers.distributions.logsumexp`, so no density is ever exponentiated on its own.

Bad input raises ValueError naming the argument, what is wrong and what to do, as
scikit-learn's mixture code does: parameters are checked when a :class:`GMMParams` is made,
data when an algorithm receives it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from helpers.distributions import log_normal_full, logsumexp, weighted_gaussian_statistics
from helpers.validation import check_array, check_resp

__all__ = [
    "COURSE_STEPS", "EMHistory", "EMSteps", "GMMFit", "GMMParams", "bic", "demo_blobs", "demo_mixture", "e_step",
    "e_step_arrays", "fit", "kl_to_posterior", "log_joint", "log_likelihood", "lower_bound", "lower_bound_arrays",
    "m_step", "m_step_arrays", "random_init", "run_em", "sample_mixture", "to_sklearn_gaussian_mixture",
]


@dataclass(frozen=True)
class GMMParams:
    """theta = (pi, mu, Sigma): weights (K,), means (K, d), covariances (K, d, d)."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    def __post_init__(self) -> None:
        w, mu, cov = (np.asarray(a, dtype=float) for a in (self.weights, self.means, self.covariances))
        if w.ndim != 1 or mu.ndim != 2 or cov.shape != (len(w), mu.shape[1], mu.shape[1]) or len(mu) != len(w):
            raise ValueError(f"GMMParams: expected weights (K,), means (K, d), covariances (K, d, d); got "
                             f"{w.shape}, {mu.shape}, {cov.shape}")
        if np.any(w < 0) or not np.isclose(w.sum(), 1.0, atol=1e-6):
            raise ValueError(f"GMMParams: weights must be non-negative and sum to 1, got {w} (sum {w.sum():.6g}); "
                             f"divide them by their sum")
        if not np.allclose(cov, np.swapaxes(cov, 1, 2)):
            raise ValueError("GMMParams: covariances must be symmetric; use (S + S^T) / 2")
        for k, c in enumerate(cov):
            if np.any(np.linalg.eigvalsh(c) <= 0):
                raise ValueError(f"GMMParams: covariances[{k}] is not positive definite (eigenvalues "
                                 f"{np.linalg.eigvalsh(c)}); increase reg_covar or check the data")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "means", mu)
        object.__setattr__(self, "covariances", cov)

    @property
    def n_components(self) -> int:
        return len(self.weights)

    def n_free_parameters(self) -> int:
        """Free parameters: (K-1) weights + K*d means + K*d(d+1)/2 covariance entries."""
        k, d = self.means.shape
        return (k - 1) + k * d + k * d * (d + 1) // 2


@dataclass
class EMHistory:
    """What EM records; entry i (i = 0, 1, ...) belongs to iteration l = i + 1, so ``[l - 1]`` is iteration l.

    ``log_likelihood[l - 1]``  log p(x; theta^{l-1}) per point, before the M-step;
    ``bound_after_e[l - 1]``   L(q^l, theta^{l-1}) right after the E-step (equals the line above: KL = 0);
    ``bound_after_m[l - 1]``   L(q^l, theta^l) after the M-step (>= the line above, eq. 9);
    ``params[l - 1]``          theta^{l-1}, the parameters the E-step of iteration l used; ``params[0]`` is the
                               initialisation theta^0.
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


# ----------------------------------------------------------------------------- checks


def _check_data(X: np.ndarray, n_components: int | None = None) -> np.ndarray:
    X = check_array(X)
    if n_components is not None and not 1 <= n_components <= len(X):
        raise ValueError(f"n_components must be between 1 and the number of points ({len(X)}), got {n_components}")
    return X


def _check_dims(X: np.ndarray, params: GMMParams) -> None:
    if X.shape[1] != params.means.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but the mixture's means have {params.means.shape[1]}")


# ----------------------------------------------------------------------------- densities


def log_joint(X: np.ndarray, params: GMMParams) -> np.ndarray:
    """Eq. 2: log p(x_n, t_n = k; theta) = log pi_k + log N(x_n | mu_k, Sigma_k). X (n, d) -> (n, K)."""
    X = _check_data(X)
    _check_dims(X, params)
    with np.errstate(divide="ignore"):      # a component of weight 0 has log-weight -inf, which is right
        log_weights = np.log(params.weights)
    return log_weights + log_normal_full(X, params.means, params.covariances)


def log_likelihood(X: np.ndarray, params: GMMParams) -> float:
    """Eq. 3: log p(x_n; theta) = log sum_k p(x_n, t_n = k; theta), mean over the n points of X (n, d)."""
    return float(np.mean(logsumexp(log_joint(X, params), axis=1)))


# ----------------------------------------------------------------------------- EM


def _log_posterior(X: np.ndarray, params: GMMParams) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 4 in log space: log p(t_n = k | x_n; theta) (n, K) and log p(x_n; theta) (n,), from one log-joint."""
    lj = log_joint(X, params)
    log_px = logsumexp(lj, axis=1)
    return lj - log_px[:, None], log_px


def _log_q(resp: np.ndarray) -> np.ndarray:
    """log q(t_n = k), with q = 0 mapped to the log of the smallest positive float (0 log 0 = 0 in the sums)."""
    return np.log(np.clip(resp, np.finfo(float).tiny, None))


def e_step(X: np.ndarray, params: GMMParams) -> np.ndarray:
    """Eqs. 4 and 8: q(t_n = k) = p(t_n = k | x_n; theta). X (n, d) -> responsibilities (n, K), rows sum to 1."""
    return np.exp(_log_posterior(X, params)[0])


def m_step(X: np.ndarray, resp: np.ndarray, reg_covar: float = 1e-6) -> GMMParams:
    """Eq. 9: theta = argmax_theta L(q, theta), in closed form. X (n, d), resp (n, K) -> GMMParams.

    N_k = sum_n r_nk;  pi_k = N_k / n;  mu_k = sum_n r_nk x_n / N_k;
    Sigma_k = sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T / N_k + reg_covar * I.
    ``reg_covar`` is the covariance floor that keeps a collapsing component
    (one sitting on a single point) from making Sigma_k singular.
    """
    X = _check_data(X)
    resp = check_resp(resp, len(X))
    if reg_covar < 0:
        raise ValueError(f"reg_covar must be >= 0, got {reg_covar}")
    nk, means, S = weighted_gaussian_statistics(X, resp)
    covariances = S + reg_covar * np.eye(X.shape[1])
    return GMMParams(weights=nk / len(X), means=means, covariances=covariances)


def lower_bound(X: np.ndarray, params: GMMParams, resp: np.ndarray) -> float:
    """Eq. 6: L(q, theta) = sum_t q(t) log [p(x, t; theta) / q(t)], mean over the points. resp (n, K)."""
    return float(np.mean(np.sum(resp * (log_joint(X, params) - _log_q(resp)), axis=1)))


def kl_to_posterior(X: np.ndarray, params: GMMParams, resp: np.ndarray) -> float:
    """Eqs. 5 and 7: KL(q || p(t|x; theta)) = log p(x; theta) - L(q, theta), mean over points; 0 after an E-step.

    Computed from q and the posterior directly (not as the difference), resp (n, K).
    """
    log_post, _ = _log_posterior(X, params)
    return float(np.mean(np.sum(resp * (_log_q(resp) - log_post), axis=1)))


def random_init(X: np.ndarray, n_components: int, rng: np.random.Generator) -> GMMParams:
    """Means at K distinct random data points, each covariance the data covariance, equal weights."""
    X = _check_data(X, n_components)
    d = X.shape[1]
    means = X[rng.choice(len(X), size=n_components, replace=False)].copy()
    cov = np.cov(X, rowvar=False).reshape(d, d)
    return GMMParams(np.full(n_components, 1.0 / n_components), means,
                     np.repeat(cov[None], n_components, axis=0))


def _arrays(params: GMMParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return params.weights, params.means, params.covariances


def e_step_arrays(X: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """Eq. 8 with theta as three arrays: :func:`e_step`. X (n, d), weights (K,), means (K, d), covariances (K, d, d)."""
    return e_step(X, GMMParams(weights, means, covariances))


def m_step_arrays(X: np.ndarray, resp: np.ndarray,
                  reg_covar: float = 1e-6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eq. 9 returning three arrays: :func:`m_step`. -> weights (K,), means (K, d), covariances (K, d, d)."""
    return _arrays(m_step(X, resp, reg_covar))


def lower_bound_arrays(X: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray,
                       resp: np.ndarray) -> float:
    """Eq. 6 with theta as three arrays: :func:`lower_bound`, mean over the points."""
    return lower_bound(X, GMMParams(weights, means, covariances), resp)


@dataclass(frozen=True)
class EMSteps:
    """The three functions EM is made of, taking and returning plain arrays (the exercises' signatures), so that
    EM can run with a student's own functions:

    ``e_step(X, weights, means, covariances) -> resp (n, K)``                      (eq. 8)
    ``m_step(X, resp, reg_covar) -> (weights (K,), means (K, d), covariances (K, d, d))``   (eq. 9)
    ``lower_bound(X, weights, means, covariances, resp) -> float``                  (eq. 6, per point)
    """

    e_step: Callable = e_step_arrays
    m_step: Callable = m_step_arrays
    lower_bound: Callable = lower_bound_arrays


COURSE_STEPS = EMSteps()


def _e_step_and_log_likelihood(X: np.ndarray, params: GMMParams, steps: EMSteps) -> tuple[np.ndarray, float]:
    """The E-step's responsibilities (n, K) (eq. 8) and the course's log p(x; theta) per point (eq. 3).

    With the course's steps one log-joint gives both; other steps' E-step is called and log p computed apart.
    """
    if steps is COURSE_STEPS:
        log_resp, log_px = _log_posterior(X, params)
        return np.exp(log_resp), float(np.mean(log_px))
    return np.asarray(steps.e_step(X, *_arrays(params)), dtype=float), log_likelihood(X, params)


def run_em(X: np.ndarray, init: GMMParams, max_iter: int = 200, tol: float = 1e-6,
           reg_covar: float = 1e-6, record: bool = True,
           steps: EMSteps = COURSE_STEPS) -> tuple[GMMParams, EMHistory, bool]:
    """Eqs. 8-9: alternate the E-step and the M-step from ``init``. X (n, d).

    Stops when the per-point log-likelihood changes by less than ``tol`` (as
    scikit-learn does) or after ``max_iter`` iterations; ``tol=0`` runs all of them.
    Returns the final parameters, the history and whether it converged.
    With ``record=False`` only the log-likelihoods are kept (for speed).
    ``steps`` are the E-step, M-step and bound to use (the course's by default); log p(x; theta) is always
    the course's :func:`log_likelihood`, computed apart from them.
    """
    X = _check_data(X)
    _check_dims(X, init)
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    params, history = init, EMHistory()
    for _ in range(max_iter):
        resp, log_px = _e_step_and_log_likelihood(X, params, steps)
        history.log_likelihood.append(log_px)
        if record:
            history.params.append(params)
            history.bound_after_e.append(float(steps.lower_bound(X, *_arrays(params), resp)))
        params = GMMParams(*steps.m_step(X, resp, reg_covar))                                  # eq. 9
        if record:
            history.bound_after_m.append(float(steps.lower_bound(X, *_arrays(params), resp)))
        ll = history.log_likelihood
        if len(ll) > 1 and abs(ll[-1] - ll[-2]) < tol:
            return params, history, True
    return params, history, False


def fit(X: np.ndarray, n_components: int, n_init: int = 5, max_iter: int = 200, tol: float = 1e-6,
        reg_covar: float = 1e-6, seed: int = 0, steps: EMSteps = COURSE_STEPS) -> GMMFit:
    """Eq. 1: the maximum-likelihood theta, approached by EM from ``n_init`` random starts (the best is kept).

    X (n, d). EM finds a local maximum of eq. 1 from each start; restarts make the global one likelier.
    """
    X = _check_data(X, n_components)
    if n_init < 1:
        raise ValueError(f"n_init must be >= 1, got {n_init}; use n_init=1 for a single EM run")
    rng = np.random.default_rng(seed)
    finals: list[float] = []
    best: tuple[GMMParams, EMHistory, GMMParams, bool] | None = None
    for _ in range(n_init):
        init = random_init(X, n_components, rng)
        params, history, converged = run_em(X, init, max_iter, tol, reg_covar, steps=steps)
        final = log_likelihood(X, params)
        if best is None or final > max(finals):
            best = (params, history, init, converged)
        finals.append(final)
    params, history, init, converged = best
    return GMMFit(params, history, init, finals, converged)


# ----------------------------------------------------------------------------- model choice


def bic(X: np.ndarray, params: GMMParams) -> float:
    """Bayesian information criterion, a total (not per point): -2 n log p(X; theta) + (free parameters) log n.

    Lower is better. X (n, d).
    """
    n = len(X)
    return -2.0 * n * log_likelihood(X, params) + params.n_free_parameters() * np.log(n)


def sample_mixture(params: GMMParams, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 2: draw n points by ancestral sampling, t ~ Categorical(pi) then x ~ N(mu_t, Sigma_t): X (n, d), t (n,)."""
    t = rng.choice(params.n_components, size=n, p=params.weights)
    X = np.empty((n, params.means.shape[1]))
    for k in range(params.n_components):
        idx = t == k
        X[idx] = rng.multivariate_normal(params.means[k], params.covariances[k], size=idx.sum())
    return X, t


def to_sklearn_gaussian_mixture(params: GMMParams, **kwargs):
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


def demo_blobs() -> GMMParams:
    """Five well-separated round blobs (corners of a square and its centre): from one random start, EM
    often ends in a poorer local maximum that merges two blobs (notebook 01's "Try it")."""
    means = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0], [6.0, 6.0], [3.0, 3.0]])
    return GMMParams(np.full(5, 0.2), means, np.repeat(0.5 * np.eye(2)[None], 5, axis=0))
