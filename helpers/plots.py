"""Figures for the course: one style, big enough to read on a projector.

Every function draws onto an ``Axes`` it is given (or returns a new figure),
labels its axes and uses the course's colours, so notebooks stay short.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Ellipse

# Colour-blind-safe palette (Okabe-Ito), one colour per mixture component / class.
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")
DIGIT_CMAP = "tab10"

COURSE_STYLE = {
    "figure.figsize": (8.0, 6.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 14,
    "axes.titlesize": 16,
    "axes.labelsize": 14,
    "legend.fontsize": 12,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 2.0,
    "image.cmap": "gray",
}


def use_course_style() -> None:
    """Apply the course's matplotlib settings (large fonts, grid, consistent sizes)."""
    mpl.rcParams.update(COURSE_STYLE)


def ellipse_geometry(cov: np.ndarray, n_std: float = 2.0) -> tuple[float, float, float]:
    """Width, height and angle (degrees) of the n_std contour of a 2-D Gaussian with covariance ``cov``."""
    eigvals, eigvecs = np.linalg.eigh(cov)
    angle = np.degrees(np.arctan2(eigvecs[1, -1], eigvecs[0, -1]))
    width, height = 2 * n_std * np.sqrt(eigvals[::-1])
    return float(width), float(height), float(angle)


def covariance_ellipse(mean: np.ndarray, cov: np.ndarray, color: str, n_std: float = 2.0,
                       **kwargs) -> Ellipse:
    """An ellipse patch at the ``n_std`` contour of N(mean, cov) (2-D)."""
    width, height, angle = ellipse_geometry(cov, n_std)
    return Ellipse(tuple(mean), width, height, angle=angle, fill=False, edgecolor=color,
                   linewidth=2.5, **kwargs)


def responsibility_colors(resp: np.ndarray) -> np.ndarray:
    """Blend the component colours by responsibility: (n, K) -> RGBA (n, 4)."""
    rgb = np.array([mpl.colors.to_rgb(c) for c in COLORS[: resp.shape[1]]])
    return np.column_stack([np.clip(resp @ rgb, 0, 1), np.full(len(resp), 0.8)])


def plot_gmm(ax: Axes, X: np.ndarray, means: np.ndarray, covariances: np.ndarray,
             resp: np.ndarray | None = None, title: str = "") -> None:
    """Data coloured by responsibility, with each component's mean and 2-sigma ellipse."""
    colors = responsibility_colors(resp) if resp is not None else "0.5"
    ax.scatter(X[:, 0], X[:, 1], s=10, c=colors, linewidths=0)
    for k, (mu, cov) in enumerate(zip(means, covariances, strict=True)):
        color = COLORS[k % len(COLORS)]
        ax.add_patch(covariance_ellipse(mu, cov, color))
        ax.plot(*mu, marker="X", markersize=14, color=color, markeredgecolor="k")
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title=title)
    ax.set_aspect("equal", adjustable="datalim")


def plot_em_trace(ax: Axes, log_likelihood, bound_after_e, bound_after_m) -> None:
    """log p(x; theta) per iteration with the lower bound after each E- and M-step (eqs. 5-9)."""
    it = np.arange(1, len(log_likelihood) + 1)
    ax.plot(it, log_likelihood, color=COLORS[0], label=r"$\log p(x;\theta^{l-1})$")
    ax.plot(it, bound_after_e, "o", color=COLORS[1], markersize=7, mfc="none",
            label=r"$\mathcal{L}(q^l,\theta^{l-1})$ after E-step")
    ax.plot(it, bound_after_m, ".", color=COLORS[2], markersize=8,
            label=r"$\mathcal{L}(q^l,\theta^{l})$ after M-step")
    ax.set(xlabel="EM iteration $l$", ylabel="per-point value (nats)",
           title="EM: the bound touches the log-likelihood after every E-step")
    ax.legend(loc="lower right")


def image_grid(images: np.ndarray, n_cols: int) -> np.ndarray:
    """Tile images (n, h, w) into one (rows*h, n_cols*w) array, row-major; blank cells are 0."""
    n, h, w = images.shape
    rows = -(-n // n_cols)
    grid = np.zeros((rows * h, n_cols * w), dtype=images.dtype)
    for i, img in enumerate(images):
        r, c = divmod(i, n_cols)
        grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = img
    return grid
