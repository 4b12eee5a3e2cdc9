"""The course's shared numerics: Gaussian log-densities, log-sum-exp, the KL of eq. 17, the sampler.

Every other module (``gmm``, ``meanfield``, ``svi``, ``vae``, ``vae_evaluation``) takes these from
here and keeps only its own algorithm, so each formula is written once.

Framework-neutral: a function given numpy input (numpy arrays, Python numbers, lists of numbers)
computes in numpy and never imports Keras or TensorFlow; given backend tensors (TensorFlow tensors
and variables, Keras symbolic tensors) it computes with ``keras.ops``, so gradients flow through it.
Keras is imported only then.

Conventions used across the course:

* ``log_var`` is a log-variance log s^2, never a standard deviation;
* densities of a vector are summed over its last axis: (..., D) -> (...);
* log-likelihoods and bounds are in nats *per data point* unless a name ends in ``_total``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "LOG_2PI",
    "bernoulli_nll_from_logits",
    "kl_standard_normal",
    "log_mean_exp",
    "log_normal",
    "log_normal_diag",
    "log_normal_full",
    "log_standard_normal",
    "logsumexp",
    "negative_elbo_terms",
    "reparameterize",
    "weighted_gaussian_statistics",
]

LOG_2PI = float(np.log(2.0 * np.pi))


_NUMPY_INPUT = (np.ndarray, np.generic, float, int, list, tuple)


def _ops(*arrays):
    """The array namespace and the arguments to compute with: numpy, or ``keras.ops`` (imported only then).

    numpy when every argument is numpy input: a numpy array or scalar, a Python number, or a (nested) list or
    tuple of numbers, which is converted with ``np.asarray``. Anything else (a TensorFlow tensor or variable, a
    Keras symbolic tensor) sends all of them to ``keras.ops`` unchanged, so gradients flow. Returns (xp, *arrays).
    """
    if all(isinstance(a, _NUMPY_INPUT) for a in arrays):
        return (np, *(np.asarray(a, dtype=float) if isinstance(a, list | tuple) else a for a in arrays))
    from keras import ops

    return (ops, *arrays)


# ----------------------------------------------------------------------------- log-sum-exp


def logsumexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """Eq. 3 for a discrete latent variable: log sum_k exp(a_k) along ``axis``, without overflow.

    (n, K) -> (n,) for ``axis=-1``. A row of only -inf gives -inf (the log of a zero sum).
    The largest term m is taken out before exponentiating: log sum_k exp(a_k) = m + log sum_k exp(a_k - m),
    where every exp(a_k - m) <= 1. Written out here rather than calling scipy's, which handles complex
    numbers, weights and signs through general array-API code and took 40% of an EM iteration.
    """
    a = np.asarray(a, dtype=float)
    shift = np.max(a, axis=axis, keepdims=True)
    shift[~np.isfinite(shift)] = 0.0          # a row of only -inf (or one with +inf) needs no shift
    with np.errstate(divide="ignore"):       # log(0) = -inf for a row of only -inf
        out = np.log(np.sum(np.exp(a - shift), axis=axis, keepdims=True))
    out += shift
    return np.squeeze(out, axis=axis)


def log_mean_exp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """Eq. 3 estimated by Monte Carlo: log (1/k sum_i exp(a_i)) along ``axis`` (log-sum-exp minus log k)."""
    return logsumexp(a, axis=axis) - np.log(a.shape[axis])


# ----------------------------------------------------------------------------- Gaussian log-densities


def log_normal(x, mean, log_var):
    """Eq. 2 for a Gaussian factor: log N(x | mean, exp(log_var)) elementwise (broadcasting, no sum)."""
    xp, x, mean, log_var = _ops(x, mean, log_var)
    return -0.5 * (LOG_2PI + log_var + xp.square(x - mean) * xp.exp(-log_var))


def log_normal_diag(t, mean, log_var):
    """Eqs. 14-15: log N(t | m, diag exp(log_var)), the Gaussian q, summed over the last axis.

    ``t`` (..., D) broadcast against ``mean`` and ``log_var`` (..., D) -> (...).
    """
    xp, t, mean, log_var = _ops(t, mean, log_var)
    return xp.sum(log_normal(t, mean, log_var), axis=-1)


def log_standard_normal(t):
    """Eq. 2: the prior log p(t) = log N(t | 0, I), summed over the last axis: (..., D) -> (...)."""
    xp, t = _ops(t)
    return -0.5 * xp.sum(LOG_2PI + xp.square(t), axis=-1)


def log_normal_full(X: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """Eq. 2 for full-covariance Gaussians: log N(x_n | mu_k, Sigma_k) for every point and component.

    ``X`` (n, d), ``means`` (K, d), ``covariances`` (K, d, d) -> (n, K). Uses each covariance's
    Cholesky factor L: the Mahalanobis term is ||L^-1 (x - mu)||^2 and log|Sigma| = 2 sum log diag L.
    A covariance that is not positive definite raises ValueError naming the component.
    """
    n, d = X.shape
    out = np.empty((n, len(means)))
    for k, (mu, cov) in enumerate(zip(means, covariances, strict=True)):
        try:
            chol = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise ValueError(f"covariances[{k}] is not positive definite (a component has collapsed onto too "
                             f"few points or a singular direction); increase reg_covar or use fewer "
                             f"components") from None
        z = np.linalg.solve(chol, (X - mu).T)
        out[:, k] = -0.5 * (d * LOG_2PI + np.sum(z * z, axis=0)) - np.sum(np.log(np.diag(chol)))
    return out


# ----------------------------------------------------------------------------- the VAE's two terms


def kl_standard_normal(mean, log_var):
    """Eq. 17: KL(N(m, diag s^2) || N(0, I)) = -1/2 sum_j (1 + log s_j^2 - m_j^2 - s_j^2), in closed form.

    ``mean``, ``log_var`` (..., D) -> (...).
    """
    xp, mean, log_var = _ops(mean, log_var)
    return -0.5 * xp.sum(1.0 + log_var - xp.square(mean) - xp.exp(log_var), axis=-1)


def bernoulli_nll_from_logits(x, logits):
    """Eq. 16, first term: -log p(x | t) of a pixel-wise Bernoulli decoder, summed over pixels.

    ``x`` targets in [0, 1] and ``logits`` (batch, ...) -> (batch,). Binary cross-entropy from logits,
    max(l, 0) - l x + log(1 + exp(-|l|)), which never takes the log of a sigmoid that rounded to 0 or 1.
    """
    xp, x, logits = _ops(x, logits)
    per_pixel = xp.maximum(logits, 0.0) - logits * x + xp.log1p(xp.exp(-xp.abs(logits)))
    return xp.sum(xp.reshape(per_pixel, (xp.shape(per_pixel)[0], -1)), axis=-1)


def negative_elbo_terms(x, logits, t_mean, log_var):
    """Eqs. 16-17's two terms for each image: (reconstruction, KL), each (B,) nats per image.

    reconstruction = -log p(x|t), the Bernoulli decoder's cross-entropy summed over the pixels at one sample t
    (its ``logits``); KL = KL(q(t|x) || N(0, I)) in closed form (eq. 17). ``x`` targets in [0, 1] and ``logits``
    (B, 28, 28) (or (B, 28, 28, 1)), ``t_mean`` and ``log_var`` (B, D). numpy arrays or backend tensors alike
    (then with ``keras.ops``, so Keras can differentiate them). The one place the -ELBO is computed: the VAE's
    loss, its metrics, every evaluation of a trained model and notebook 04's exercise add these two terms.
    """
    return bernoulli_nll_from_logits(x, logits), kl_standard_normal(t_mean, log_var)


def reparameterize(mean, log_var, eps):
    """Eq. 15's sampler, the reparameterization trick: t = m + s * eps with s = exp(log_var / 2).

    ``eps`` ~ N(0, I) of shape (S, ..., D) or (..., D), broadcast against ``mean`` and ``log_var``.
    """
    xp, mean, log_var, eps = _ops(mean, log_var, eps)
    return mean + xp.exp(0.5 * log_var) * eps


# ----------------------------------------------------------------------------- weighted statistics


def weighted_gaussian_statistics(X: np.ndarray, resp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eq. 9's sufficient statistics: N_k = sum_n r_nk, xbar_k and S_k, the r-weighted means and covariances.

    ``X`` (n, d), ``resp`` (n, K) -> N (K,), xbar (K, d), S (K, d, d) (PRML 9.17-9.19, 10.51-10.53).
    N_k gets 10 machine epsilons added so that an empty component divides by a positive number.
    """
    nk = resp.sum(axis=0) + 10 * np.finfo(float).eps
    xbar = resp.T @ X / nk[:, None]
    S = np.empty((len(nk), X.shape[1], X.shape[1]))
    for k in range(len(nk)):
        diff = X - xbar[k]
        S[k] = (resp[:, k] * diff.T) @ diff / nk[k]
    return nk, xbar, S
