"""Input checks shared by the algorithms, as scikit-learn's ``check_array``: one home for "finite, of this shape".

Each check returns the input as a float array and raises ValueError naming the argument, what is wrong
and what to do. Light: numpy only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_array", "check_resp"]

_SHAPE_HINT = {1: "1-D array of observations", 2: "2-D array (n points, d features)"}


def check_array(X, name: str = "X", ndim: int = 2, n_features: int | None = None) -> np.ndarray:
    """``X`` as a float array of ``ndim`` dimensions, non-empty and finite, with ``n_features`` columns if given."""
    X = np.asarray(X, dtype=float)
    if X.ndim != ndim or len(X) == 0:
        fix = "; reshape a single feature with X.reshape(-1, 1)" if ndim == 2 and X.ndim == 1 else ""
        raise ValueError(f"{name} must be a non-empty {_SHAPE_HINT.get(ndim, f'{ndim}-D array')}, "
                         f"got shape {X.shape}{fix}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} must have d = {n_features} features (columns), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains {np.sum(~np.isfinite(X))} NaN or infinite values; remove or impute them")
    return X


def check_resp(resp, n: int, normalised: bool = False) -> np.ndarray:
    """Responsibilities ``resp`` (n, K) as a float array: one row per point; with ``normalised``, each row a
    distribution q(t_n) (non-negative, summing to 1)."""
    resp = np.asarray(resp, dtype=float)
    if resp.ndim != 2 or len(resp) != n:
        raise ValueError(f"resp must be (n, K) with n = {n} rows like X, got shape {resp.shape}")
    if normalised and (np.any(resp < 0) or not np.allclose(resp.sum(axis=1), 1.0)):
        raise ValueError("resp must be non-negative with rows summing to 1 (a distribution q(t_n) per point); "
                         "divide each row by its sum")
    return resp
