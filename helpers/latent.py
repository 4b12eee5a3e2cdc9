"""A latent space: points worth decoding (the prior's inverse-CDF grid, straight paths), the aggregate posterior
of the encoder's codes, and the active units.

Light (numpy and scipy only): notebooks 05 and 06 and the explorer in :mod:`helpers.widgets` use it, and the
graded exercises of notebooks 05 and 06 check a student's versions against it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import norm

from helpers.distributions import log_mean_exp, log_normal_diag

__all__ = ["active_units", "in_blocks", "linear_path", "log_aggregate_posterior", "prior_grid"]


def prior_grid(n: int, coverage: float = 0.9) -> np.ndarray:
    """Eq. 2's prior p(t) = N(0, I), one axis of it gridded by its inverse CDF: (n,) points.

    The points sit at equal steps in *probability* over the central ``coverage`` of the prior:
    norm.ppf(linspace((1 - coverage)/2, (1 + coverage)/2, n)). Decoding the grid's outer product
    gives the manifold figure; each tile stands for an equal share of the prior's mass.
    """
    if n < 2:
        raise ValueError(f"n must be at least 2 grid points, got {n}")
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be strictly between 0 and 1 (the tails are infinite), got {coverage}")
    tail = (1.0 - coverage) / 2.0
    return norm.ppf(np.linspace(tail, 1.0 - tail, n))


def linear_path(t_start: np.ndarray, t_end: np.ndarray, n: int) -> np.ndarray:
    """The straight line from t_start to t_end (both (D,)) in n equal steps, both ends included: (n, D)."""
    if n < 2:
        raise ValueError(f"n must be at least 2 points (the two ends), got {n}")
    alpha = np.linspace(0.0, 1.0, n)[:, None]
    return (1.0 - alpha) * np.asarray(t_start, dtype=float) + alpha * np.asarray(t_end, dtype=float)


def log_aggregate_posterior(t: np.ndarray, t_means: np.ndarray, log_vars: np.ndarray) -> np.ndarray:
    """Eq. 15 averaged over N images: the aggregate posterior q(t) = 1/N sum_n N(t | m_n, diag exp(v_n)), as a log.

    log q(t_g) = logsumexp_n log N(t_g | m_n, diag exp(v_n)) - log N for each query point t_g: ``t`` (G, D), the
    encoder's means ``t_means`` and log-variances ``log_vars`` (N, D) of N images -> (G,). It is the density of
    the codes t ~ q(t | x) that the decoder is trained on when x runs over the images (Hoffman & Johnson, 2016).
    Summed in log space, so a point far from every code gets its (very negative) log-density, not log 0 = -inf.
    Forms a (G, N) table at once: for a large G * N use :func:`in_blocks`.
    """
    t, t_means, log_vars = (np.asarray(a, dtype=float) for a in (t, t_means, log_vars))
    if t.ndim != 2 or t_means.ndim != 2 or t_means.shape != log_vars.shape or t.shape[1] != t_means.shape[1]:
        raise ValueError(f"expected t (G, D) and t_means, log_vars (N, D) with the same D, got {t.shape}, "
                         f"{t_means.shape} and {log_vars.shape}")
    log_components = log_normal_diag(t[:, None, :], t_means[None], log_vars[None])      # (G, N)
    return log_mean_exp(log_components, axis=1)


def in_blocks(fn: Callable, t: np.ndarray, *args, block: int = 100) -> np.ndarray:
    """``fn(t, *args)`` for query points ``t`` (G, D), computed ``block`` rows at a time and joined: (G, ...).

    The same values as one call, for a function of each row of ``t`` alone (such as :func:`log_aggregate_posterior`),
    with its (block, N) tables in place of one (G, N) table.
    """
    t = np.asarray(t)
    return np.concatenate([np.asarray(fn(t[i:i + block], *args), dtype=float) for i in range(0, len(t), block)])


def active_units(t_means: np.ndarray, threshold: float = 0.01) -> int:
    """Burda et al. (2016): the number of latent dimensions d with Cov_x(E_q[t_d | x]) > threshold.

    ``t_means``: q's means of many images, (n, D). A dimension the encoder does not use has a mean that
    hardly moves from image to image (its q stays at the prior), so its variance over the images is near 0.
    """
    t_means = np.asarray(t_means, dtype=float)
    if t_means.ndim != 2 or len(t_means) < 2:
        raise ValueError(f"t_means: expected shape (n, D) with n >= 2 images, got {t_means.shape}")
    return int(np.sum(np.var(t_means, axis=0) > threshold))
