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


def show_images(ax: Axes, images: np.ndarray, n_cols: int, title: str = "") -> None:
    """Tile grey images (n, 28, 28) with values in [0, 1] or 0..255 into one picture, no ticks."""
    ax.imshow(image_grid(np.asarray(images), n_cols), cmap="gray_r", interpolation="nearest")
    ax.set(xticks=[], yticks=[], title=title)
    ax.grid(False)


def plot_learning_curves(ax: Axes, runs: dict[str, list[dict]], key: str = "val_loss",
                         ylabel: str = "validation loss (-ELBO, nats)") -> None:
    """One line per run: ``runs[name]`` is a list of per-epoch dicts with 'epoch' and ``key``."""
    markers = "osD^v"
    for i, (name, rows) in enumerate(runs.items()):
        epochs = [r["epoch"] for r in rows]
        ax.plot(epochs, [r[key] for r in rows], marker=markers[i % len(markers)], markersize=5,
                color=COLORS[i % len(COLORS)], label=name)
    ax.set(xlabel="epoch", ylabel=ylabel)
    ax.legend()


def plot_posterior_vs_q(ax: Axes, t1: np.ndarray, t2: np.ndarray, log_posterior: np.ndarray,
                        log_q: np.ndarray, title: str = "") -> None:
    """Filled contours of the true posterior p(t|x) with the contours of q(t|x) drawn over them."""
    post, q = np.exp(log_posterior), np.exp(log_q)
    ax.contourf(t1, t2, post, levels=12, cmap="Blues")
    ax.contour(t1, t2, q, levels=[q.max() * f for f in (0.05, 0.3, 0.7)], colors=COLORS[4], linewidths=2)
    ax.set(xlabel="$t_1$", ylabel="$t_2$", title=title)
    ax.set_aspect("equal")
    ax.grid(False)
