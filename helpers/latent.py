"""Points of a latent space worth decoding (the prior's inverse-CDF grid, straight paths) and its active units.

Light (numpy and scipy only): notebook 05 and the explorer in :mod:`helpers.widgets` use it, and the
graded exercises of notebook 05 check a student's versions against it.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

__all__ = ["active_units", "linear_path", "prior_grid"]


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


def active_units(t_means: np.ndarray, threshold: float = 0.01) -> int:
    """Burda et al. (2016): the number of latent dimensions d with Cov_x(E_q[t_d | x]) > threshold.

    ``t_means``: q's means of many images, (n, D). A dimension the encoder does not use has a mean that
    hardly moves from image to image (its q stays at the prior), so its variance over the images is near 0.
    """
    t_means = np.asarray(t_means, dtype=float)
    if t_means.ndim != 2 or len(t_means) < 2:
        raise ValueError(f"t_means: expected shape (n, D) with n >= 2 images, got {t_means.shape}")
    return int(np.sum(np.var(t_means, axis=0) > threshold))
