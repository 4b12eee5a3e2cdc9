"""Points of a 2-D latent space worth decoding: the prior's inverse-CDF grid and straight paths.

Light (numpy and scipy only): notebook 05 and the explorer in :mod:`helpers.widgets` use it, and the
graded exercises of notebook 05 check a student's versions against it.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

__all__ = ["linear_path", "prior_grid"]


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
