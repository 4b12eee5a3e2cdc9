"""Interactive widgets built from ipywidgets.

Each builder returns the widget with its controls as attributes, so tests and
notebook cells can drive it from code. Figures are drawn once; a move of a
control changes the existing artists and pushes fresh PNG bytes into an
``ipywidgets.Image``, so nothing is re-created per update and the widget works
the same in JupyterLab, Notebook 7 and Voila (no extra front-end extension).
"""

from __future__ import annotations

import io

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers import gmm, plots


def figure_png(fig: Figure) -> bytes:
    """Render a matplotlib figure (Agg) to PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def em_stepper(X: np.ndarray, history: gmm.EMHistory) -> widgets.VBox:
    """A slider over EM iterations; the scatter colours and ellipses follow in place.

    ``history.params[l]`` is theta^{l-1}; the figure shows the responsibilities of the
    E-step at that iteration and the component ellipses. Attributes: ``.slider``,
    ``.image`` (the rendered figure), ``.figure``.
    """
    fig = Figure(figsize=(7, 6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    first = history.params[0]
    scatter = ax.scatter(X[:, 0], X[:, 1], s=10, linewidths=0)
    ellipses, centres = [], []
    for k in range(first.n_components):
        color = plots.COLORS[k % len(plots.COLORS)]
        ellipses.append(ax.add_patch(plots.covariance_ellipse(first.means[k], first.covariances[k], color)))
        centres.append(ax.plot(*first.means[k], marker="X", markersize=14, color=color,
                               markeredgecolor="k")[0])
    ax.set(xlabel="$x_1$", ylabel="$x_2$")
    ax.set_aspect("equal", adjustable="box")
    pad = 0.1 * np.ptp(X, axis=0)
    ax.set_xlim(X[:, 0].min() - pad[0], X[:, 0].max() + pad[0])
    ax.set_ylim(X[:, 1].min() - pad[1], X[:, 1].max() + pad[1])
    fig.tight_layout()

    slider = widgets.IntSlider(value=1, min=1, max=len(history.params), description="iteration",
                               continuous_update=True, layout=widgets.Layout(width="500px"))
    image = widgets.Image(format="png")

    def show(iteration: int) -> None:
        params = history.params[iteration - 1]
        scatter.set_facecolors(plots.responsibility_colors(gmm.e_step(X, params)))
        for ellipse, centre, mu, cov in zip(ellipses, centres, params.means, params.covariances,
                                            strict=True):
            ellipse.width, ellipse.height, ellipse.angle = plots.ellipse_geometry(cov)
            ellipse.set_center(tuple(mu))
            centre.set_data([mu[0]], [mu[1]])
        log_px = history.log_likelihood[iteration - 1]
        ax.set_title(f"iteration {iteration}: log p(x) = {log_px:.4f} per point")
        image.value = figure_png(fig)

    slider.observe(lambda change: show(change["new"]), names="value")
    show(1)
    box = widgets.VBox([slider, image])
    box.slider, box.image, box.figure = slider, image, fig
    return box


def cavi_stepper(x: np.ndarray, prior, states, mu_grid: np.ndarray, tau_grid: np.ndarray) -> widgets.VBox:
    """A slider over coordinate-ascent steps (``meanfield.cavi_normal_gamma``'s states).

    The exact posterior p(mu, tau | x) is drawn once as filled contours; each move of the
    slider replaces only q(mu) q(tau)'s contour lines. Attributes: ``.slider``, ``.image``.
    """
    from helpers import meanfield

    M, T = np.meshgrid(mu_grid, tau_grid)
    exact = meanfield.exact_posterior(x, prior)
    fig = Figure(figsize=(7.5, 6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.contourf(M, T, np.exp(meanfield.log_normal_gamma_density(M, T, exact)), levels=12, cmap="Blues")
    ax.set(xlabel=r"mean $\mu$", ylabel=r"precision $\tau$")
    fig.tight_layout()
    q_lines = []

    slider = widgets.IntSlider(value=0, min=0, max=len(states) - 1, description="update",
                               continuous_update=True, layout=widgets.Layout(width="500px"))
    image = widgets.Image(format="png")

    def show(step: int) -> None:
        factor, q, elbo = states[step]
        for artist in q_lines:
            artist.remove()
        q_lines.clear()
        density = np.exp(meanfield.log_q_density(M, T, q))
        q_lines.append(ax.contour(M, T, density, levels=5, colors=plots.COLORS[4], linewidths=2))
        ax.set_title(f"step {step} ({factor} updated): ELBO = {elbo:.4f}")
        image.value = figure_png(fig)

    slider.observe(lambda change: show(change["new"]), names="value")
    show(0)
    box = widgets.VBox([slider, image])
    box.slider, box.image, box.figure = slider, image, fig
    return box


def progress_bar(total: int, description: str = "") -> tuple[widgets.IntProgress, callable]:
    """A progress bar for long loops in notebooks: returns the widget and ``update(step)``."""
    bar = widgets.IntProgress(value=0, min=0, max=total, description=description,
                              layout=widgets.Layout(width="500px"))

    def update(step: int) -> None:
        bar.value = step

    return bar, update
