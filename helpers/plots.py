"""Figures for the course: one style, big enough to read on a projector.

Every function draws onto an ``Axes`` it is given (or returns a new figure),
labels its axes and uses the course's colours, so notebooks stay short.
"""

from __future__ import annotations

from typing import NamedTuple

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse

# Colour-blind-safe palette (Okabe-Ito), one colour per mixture component / line.
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")
# Ten classes (digits 0-9): Paul Tol's colour-blind-safe "muted" scheme plus its pale grey.
# Notebooks 04 and 05 both colour digits with it, through DIGIT_CMAP and vmin=-0.5, vmax=9.5.
DIGIT_COLORS = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933",
                "#DDCC77", "#CC6677", "#882255", "#AA4499", "#7F7F7F")
DIGIT_CMAP = mpl.colors.ListedColormap(DIGIT_COLORS, name="course_digits")

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
    # opaque white backgrounds: figures stay readable in dark themes and on the website's dark mode
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.transparent": False,
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
                       linewidth: float = 2.5, **kwargs) -> Ellipse:
    """An ellipse patch at the ``n_std`` contour of N(mean, cov) (2-D)."""
    width, height, angle = ellipse_geometry(cov, n_std)
    return Ellipse(tuple(mean), width, height, angle=angle, fill=False, edgecolor=color,
                   linewidth=linewidth, **kwargs)


def match_components(means: np.ndarray, reference_means: np.ndarray) -> np.ndarray:
    """For each fitted component, the index of the reference component it matches (K,), by the assignment
    with the smallest total distance between means; extra fitted components get the unused indices.

    Colouring component k with ``COLORS[order[k]]`` gives a cluster the same colour in every figure
    (notebooks 01 and 02 colour by the true component of ``gmm.demo_mixture``).
    """
    from scipy.optimize import linear_sum_assignment

    cost = np.linalg.norm(means[:, None, :] - reference_means[None, :, :], axis=-1)
    rows, cols = linear_sum_assignment(cost)
    order = np.empty(len(means), dtype=int)
    order[rows] = cols
    unused = iter(sorted(set(range(len(means))) - set(cols.tolist())))
    for k in sorted(set(range(len(means))) - set(rows.tolist())):
        order[k] = next(unused)
    return order


def responsibility_colors(resp: np.ndarray, palette=COLORS) -> np.ndarray:
    """Blend the component colours ``palette[k]`` by responsibility: (n, K) -> RGBA (n, 4)."""
    rgb = np.array([mpl.colors.to_rgb(c) for c in palette[: resp.shape[1]]])
    return np.column_stack([np.clip(resp @ rgb, 0, 1), np.full(len(resp), 0.8)])


def component_colors(n_components: int, order: np.ndarray | None = None) -> list[str]:
    """The colour of each mixture component, ``COLORS[order[k]]`` (K,); ``order`` defaults to 0, 1, ..., K - 1."""
    order = np.arange(n_components) if order is None else np.asarray(order)
    if order.shape != (n_components,):
        raise ValueError(f"order must give one colour index per component ({n_components},), got shape {order.shape}")
    return [COLORS[o % len(COLORS)] for o in order]


class GMMArtists(NamedTuple):
    """What :func:`plot_gmm` drew: the data's scatter, and per component its 2-sigma ellipse and mean marker."""

    scatter: PathCollection
    ellipses: list[Ellipse]
    centres: list[Line2D]


def plot_gmm(ax: Axes, X: np.ndarray, means: np.ndarray, covariances: np.ndarray,
             resp: np.ndarray | None = None, title: str = "", order: np.ndarray | None = None) -> GMMArtists:
    """Data coloured by responsibility, with each component's mean and 2-sigma ellipse.

    ``X`` (n, 2), ``means`` (K, 2), ``covariances`` (K, 2, 2), ``resp`` (n, K) or None (grey points).
    ``order`` (K,) gives component k the colour ``COLORS[order[k]]`` (see :func:`match_components`).
    Returns the artists, which ``widgets.em_stepper`` updates in place.
    """
    palette = component_colors(len(means), order)
    scatter = ax.scatter(X[:, 0], X[:, 1], s=10, linewidths=0,
                         c=responsibility_colors(resp, palette) if resp is not None else "0.5")
    ellipses, centres = [], []
    for mu, cov, color in zip(means, covariances, palette, strict=True):
        ellipses.append(ax.add_patch(covariance_ellipse(mu, cov, color)))
        centres.append(ax.plot(*mu, marker="X", markersize=14, color=color, markeredgecolor="k")[0])
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title=title)
    ax.set_aspect("equal", adjustable="datalim")
    return GMMArtists(scatter, ellipses, centres)


def em_staircase(log_likelihood, bound_after_e, bound_after_m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-step positions for Bishop's EM staircase (PRML fig. 9.14 as a sequence).

    Position l is right after the E-step of iteration l (theta = theta^{l-1}); l + 1/2 right after its
    M-step (theta = theta^l). Returns x (2L - 1,), log p(x; theta) and L(q, theta) at each position, so
    that the two values at one x belong to the same theta and q.
    """
    ll, be, bm = (np.asarray(a, dtype=float) for a in (log_likelihood, bound_after_e, bound_after_m))
    n = len(ll)
    x = np.empty(2 * n - 1)
    log_p, bound = np.empty_like(x), np.empty_like(x)
    x[0::2], log_p[0::2], bound[0::2] = np.arange(1, n + 1), ll, be
    x[1::2], log_p[1::2], bound[1::2] = np.arange(1, n) + 0.5, ll[1:], bm[:-1]   # log p(theta^l) is recorded at l+1
    return x, log_p, bound


def plot_em_staircase(ax: Axes, log_likelihood, bound_after_e, bound_after_m, iterations: int = 6) -> None:
    """log p(x; theta) and the bound L(q, theta) at every half-step of EM's first ``iterations`` iterations.

    The E-step (to an integer position) lifts the bound onto log p; the M-step (to a half position) lifts
    both, the bound less: the gap that opens is KL(q^l || p(t|x; theta^l)) >= 0.
    """
    x, log_p, bound = em_staircase(log_likelihood, bound_after_e, bound_after_m)
    keep = x <= iterations
    ax.step(x[keep], log_p[keep], where="post", color=COLORS[0], label=r"$\log p(\mathbf{x};\theta)$")
    ax.step(x[keep], bound[keep], where="post", color=COLORS[1], linestyle="--",
            label=r"$\mathcal{L}(q,\theta)$")
    e, m = keep & (x % 1 == 0), keep & (x % 1 != 0)
    ax.plot(x[e], bound[e], "o", color=COLORS[1], mfc="none", markersize=8, label="after an E-step (gap closed)")
    ax.plot(x[m], bound[m], "s", color=COLORS[2], markersize=6, label="after an M-step (gap reopens)")
    ax.set(xlabel="EM iteration $l$ (E-step at $l$, M-step at $l + 1/2$)", ylabel="nats per data point",
           title="The bound never rises above log p; the E-step closes the gap")
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
    ax.imshow(image_grid(np.asarray(images), n_cols), cmap="gray", interpolation="nearest")
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


def folded_model_summary(model):
    """Keras's layer table of ``model`` folded under one line (its name and parameter count), for a notebook.

    Returns an IPython HTML object: a ``<details>`` element whose summary line opens the plain-text table.
    """
    from html import escape

    from IPython.display import HTML

    captured = []
    model.summary(print_fn=lambda text, **_: captured.append(text))
    return HTML(f"<details><summary>{escape(model.name)}: {model.count_params():,} parameters (click for Keras's "
                f"layer table)</summary><pre>{escape(''.join(captured))}</pre></details>")
