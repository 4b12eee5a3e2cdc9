"""Interactive widgets built from ipywidgets.

Each builder returns the widget with its controls as attributes, so tests and
notebook cells can drive it from code. Figures are drawn once; a move of a
control changes the existing artists and pushes fresh PNG bytes into an
``ipywidgets.Image``, so nothing is re-created per update and the widget works
the same in JupyterLab, Notebook 7 and Voila (no extra front-end extension).
"""

from __future__ import annotations

import base64
import io

import ipywidgets as widgets
import numpy as np
import traitlets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers import gmm, plots
from helpers.latent import linear_path


def figure_png(fig: Figure) -> bytes:
    """Render a matplotlib figure (Agg) to PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def display_with_fallback(box: widgets.Widget, png: bytes, alt: str) -> None:
    """Display a widget together with a static PNG of its current state and a one-line description.

    One output carries all three: a notebook with a live kernel renders the widget; a static viewer
    (the course website, GitHub, nbviewer), which cannot run it, shows the PNG; ``alt`` becomes the
    plain-text form (read by screen readers and shown where nothing else renders), never "VBox(...)".
    """
    from IPython.display import display

    bundle = dict(box._repr_mimebundle_())
    bundle["text/plain"] = alt
    bundle["image/png"] = base64.b64encode(bytes(png)).decode("ascii")
    display(bundle, raw=True)


def snapshot_png(*images: bytes, background: int = 255) -> bytes:
    """Place PNG or JPEG images side by side (top-aligned) on one white PNG: the static face of a widget."""
    from PIL import Image

    parts = [Image.open(io.BytesIO(bytes(b))).convert("RGB") for b in images]
    canvas = Image.new("RGB", (sum(p.width for p in parts) + 10 * (len(parts) - 1), max(p.height for p in parts)),
                       (background,) * 3)
    x = 0
    for part in parts:
        canvas.paste(part, (x, 0))
        x += part.width + 10
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()


def slider_over_figure(slider: widgets.widget.Widget, fig: Figure, show) -> widgets.VBox:
    """Wire ``slider`` to ``show(value)``, which updates artists of ``fig`` in place, and show the
    re-rendered figure below the slider. Returns a VBox with ``.slider``, ``.image`` and ``.figure``."""
    image = widgets.Image(format="png")

    def redraw(value) -> None:
        show(value)
        image.value = figure_png(fig)

    slider.observe(lambda change: redraw(change["new"]), names="value")
    redraw(slider.value)
    box = widgets.VBox([slider, image])
    box.slider, box.image, box.figure = slider, image, fig
    return box


def em_stepper(X: np.ndarray, history: gmm.EMHistory, order: np.ndarray | None = None) -> widgets.VBox:
    """A slider over EM iterations on a ``plots.plot_gmm`` figure, whose scatter colours and ellipses follow in place.

    ``history.params[l - 1]`` is theta^{l-1}; the figure shows the responsibilities of the
    E-step at that iteration and the component ellipses, component k in ``plots.COLORS[order[k]]``
    (see ``plots.match_components``). Attributes: ``.slider``, ``.image`` (the rendered figure), ``.figure``.
    """
    fig = Figure(figsize=(7, 6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    first = history.params[0]
    palette = plots.component_colors(first.n_components, order)
    artists = plots.plot_gmm(ax, X, first.means, first.covariances, resp=gmm.e_step(X, first), order=order)
    ax.set_aspect("equal", adjustable="box")      # and fixed limits, so the view stays put while EM runs
    pad = 0.1 * np.ptp(X, axis=0)
    ax.set_xlim(X[:, 0].min() - pad[0], X[:, 0].max() + pad[0])
    ax.set_ylim(X[:, 1].min() - pad[1], X[:, 1].max() + pad[1])
    ax.set_title("iteration 1: log p(x) = -0.0000 per point")     # a stand-in, so the layout leaves room for the title
    fig.tight_layout()

    slider = widgets.IntSlider(value=1, min=1, max=len(history.params), description="iteration",
                               continuous_update=True, layout=widgets.Layout(width="500px"))

    def show(iteration: int) -> None:
        params = history.params[iteration - 1]
        artists.scatter.set_facecolors(plots.responsibility_colors(gmm.e_step(X, params), palette))
        for ellipse, centre, mu, cov in zip(artists.ellipses, artists.centres, params.means, params.covariances,
                                            strict=True):
            ellipse.width, ellipse.height, ellipse.angle = plots.ellipse_geometry(cov)
            ellipse.set_center(tuple(mu))
            centre.set_data([mu[0]], [mu[1]])
        log_px = history.log_likelihood[iteration - 1]
        ax.set_title(f"iteration {iteration}: log p(x) = {log_px:.4f} per point")

    return slider_over_figure(slider, fig, show)


def cavi_stepper(x: np.ndarray, prior, states, mu_grid: np.ndarray, tau_grid: np.ndarray) -> widgets.VBox:
    """A slider over coordinate-ascent steps (``meanfield.cavi_normal_gamma``'s states).

    The exact posterior p(mu, tau | x) is drawn once as filled contours; each move of the
    slider replaces only q(mu) q(tau)'s contour lines. Attributes: ``.slider``, ``.image``.
    """
    from helpers import meanfield

    M, T = np.meshgrid(mu_grid, tau_grid)
    exact = meanfield.normal_gamma_posterior(x, prior)
    fig = Figure(figsize=(7.5, 6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.contourf(M, T, np.exp(meanfield.log_normal_gamma_density(M, T, exact)), levels=12, cmap="Blues")
    ax.set(xlabel=r"mean $\mu$", ylabel=r"precision $\tau$")
    fig.tight_layout()
    q_lines = []

    slider = widgets.IntSlider(value=0, min=0, max=len(states) - 1, description="update",
                               continuous_update=True, layout=widgets.Layout(width="500px"))

    def show(step: int) -> None:
        factor, q, elbo = states[step]
        for artist in q_lines:
            artist.remove()
        q_lines.clear()
        density = np.exp(meanfield.log_q_density(M, T, q))
        q_lines.append(ax.contour(M, T, density, levels=5, colors=plots.COLORS[4], linewidths=2))
        ax.set_title(f"step {step} ({factor} updated): ELBO = {elbo:.4f}")

    return slider_over_figure(slider, fig, show)


def progress_text(bar: widgets.IntProgress) -> str:
    """The plain-text form of a progress bar, e.g. "training: 3000 of 3000 steps"."""
    return f"{bar.description or 'progress'}: {bar.value} of {bar.max} steps"


def progress_bar(total: int, description: str = "", show: bool = False) -> tuple[widgets.IntProgress, callable]:
    """A progress bar for long loops in notebooks: returns the widget and ``update(step)``.

    With ``show=True`` the bar is displayed at once, with a plain-text form (see :func:`progress_text`) in place of
    "IntProgress(...)"; every ``update`` refreshes that text too, so a saved notebook read without a kernel (the
    course website, GitHub) shows how far the loop got, e.g. "training: 3000 of 3000 steps".
    """
    bar = widgets.IntProgress(value=0, min=0, max=total, description=description,
                              layout=widgets.Layout(width="500px"))
    handle = None

    def bundle() -> dict:
        return dict(bar._repr_mimebundle_()) | {"text/plain": progress_text(bar)}

    if show:
        from IPython.display import display

        handle = display(bundle(), raw=True, display_id=True)

    def update(step: int) -> None:
        bar.value = step
        if handle is not None:
            handle.update(bundle(), raw=True)

    return bar, update


# ----------------------------------------------------------------------------- the latent explorer


def png_bytes(image: np.ndarray, compress_level: int = 1) -> bytes:
    """uint8 (h, w) or (h, w, 3) array -> PNG bytes (fast, lightly compressed)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def jpeg_bytes(image: np.ndarray, quality: int = 90) -> bytes:
    """uint8 (h, w, 3) array -> JPEG bytes: about ten times faster to encode than PNG for a scatter plot."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def digit_png(probabilities: np.ndarray, scale: int = 8) -> bytes:
    """Pixel probabilities (28, 28) -> a white-on-black PNG, upscaled ``scale`` times with sharp pixels."""
    pixels = (255.0 * np.clip(probabilities, 0.0, 1.0)).astype(np.uint8)
    return png_bytes(np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1))


class LatentScatter:
    """The latent means of a data set, drawn once; markers and lines are painted onto a copy of the pixels.

    ``render(point, line)`` costs a copy and a JPEG encoding, never a matplotlib redraw.
    """

    def __init__(self, t: np.ndarray, labels: np.ndarray, limit: float, size_px: int = 460):
        dpi = 100
        fig = Figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi)
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_axes((0.14, 0.11, 0.83, 0.85))
        ax.scatter(t[:, 0], t[:, 1], c=labels, cmap=plots.DIGIT_CMAP, s=2, vmin=-0.5, vmax=9.5, linewidths=0)
        ax.set(xlim=(-limit, limit), ylim=(-limit, limit), xlabel="$t_1$", ylabel="$t_2$")
        for k in range(10):  # class labels at the median position of each class
            if np.any(labels == k):
                cx, cy = np.median(t[labels == k], axis=0)
                ax.text(cx, cy, str(k), fontsize=13, weight="bold", ha="center", va="center",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0})
        canvas.draw()
        self.background = np.asarray(canvas.buffer_rgba())[..., :3].copy()
        self._to_pixels = ax.transData.transform
        self.height = self.background.shape[0]

    def pixel(self, point) -> tuple[int, int]:
        x, y = self._to_pixels(np.asarray(point, dtype=float)[None])[0]
        return int(round(self.height - y)), int(round(x))

    def _paint(self, image: np.ndarray, row: int, col: int, radius: int, color) -> None:
        r0, r1 = max(row - radius, 0), min(row + radius + 1, image.shape[0])
        c0, c1 = max(col - radius, 0), min(col + radius + 1, image.shape[1])
        image[r0:r1, c0:c1] = color

    def render(self, point=None, line=None) -> bytes:
        image = self.background.copy()
        if line is not None:
            (r0, c0), (r1, c1) = self.pixel(line[0]), self.pixel(line[1])
            steps = max(abs(r1 - r0), abs(c1 - c0), 1)
            for s in np.linspace(0.0, 1.0, steps + 1):
                self._paint(image, round(r0 + s * (r1 - r0)), round(c0 + s * (c1 - c0)), 1, (40, 40, 40))
        if point is not None:
            row, col = self.pixel(point)
            self._paint(image, row, col, 6, (0, 0, 0))
            self._paint(image, row, col, 4, (255, 40, 40))
        return jpeg_bytes(image)


SLIDER_STEP = 0.01
ECHO_TOLERANCE = 1e-9


class EchoSafeFloatSlider(widgets.FloatSlider):
    """A FloatSlider that can be moved from code while a browser shows it.

    The browser snaps every value it receives to its step grid in floating point and, when the
    snapped number differs in the last bits (0.17 -> 0.16999999999999993), sends it back. When
    code moves the slider twice in a row, the copy of the *first* value arrives after the second
    and would undo it. This slider accepts such a copy of its current value silently and refuses
    a late copy of an earlier value that the kernel itself set; genuine moves pass unchanged.
    """

    @traitlets.validate("value")
    def _validate_value(self, proposal):
        value = super()._validate_value(proposal)
        sent = getattr(self, "_sent_by_kernel", [])       # the last values that code set
        accepted = getattr(self, "_accepted", value)      # the value before this proposal
        if "value" in self._property_lock:                # the proposal comes from the browser
            if abs(value - accepted) > ECHO_TOLERANCE and any(abs(value - old) < ECHO_TOLERANCE for old in sent):
                return accepted         # a stale echo: keep the newer value (ipywidgets sends it back)
        else:
            self._sent_by_kernel = [*sent[-7:], value]
        self._accepted = value
        return value


def moved(change) -> bool:
    """True unless a slider change is only a floating-point echo of the same position."""
    return abs(change["new"] - change["old"]) > ECHO_TOLERANCE


def latent_explorer(decode, t_data: np.ndarray, labels: np.ndarray, limit: float = 3.0) -> widgets.VBox:
    """Sliders over the 2-D latent space with the decoded image and a marker on the latent scatter.

    ``decode`` maps latent points (n, 2) to pixel probabilities (n, 28, 28) — pass a
    ``vae_evaluation.NumpyDecoder``, never something that calls ``Model.predict``. ``t_data`` (n, 2) are the
    latent means of a data set, ``labels`` (n,) their classes. Controls (all attributes of the
    returned box): ``t1``, ``t2`` sliders; ``picker`` jumps both to a data point's encoding;
    ``digit_a``, ``digit_b`` and ``alpha`` interpolate between two data points' encodings.
    Outputs: ``image`` (the decoded digit), ``scatter`` (with the marker), ``path`` (the decoded path).
    """
    scatter = LatentScatter(t_data, labels, limit)
    slider_style = {"continuous_update": True, "readout_format": ".2f", "layout": widgets.Layout(width="420px"),
                    "step": SLIDER_STEP}
    t1 = EchoSafeFloatSlider(value=0.0, min=-limit, max=limit, description="t1", **slider_style)
    t2 = EchoSafeFloatSlider(value=0.0, min=-limit, max=limit, description="t2", **slider_style)
    image = widgets.Image(format="png", layout=widgets.Layout(width="224px", height="224px"))
    scatter_image = widgets.Image(format="jpeg", layout=widgets.Layout(width="460px", height="460px"))
    n = len(t_data)
    picker = widgets.BoundedIntText(value=0, min=0, max=n - 1, description="data #",
                                    layout=widgets.Layout(width="180px"))
    jump = widgets.Button(description="jump to its code", layout=widgets.Layout(width="150px"))
    digit_a = widgets.BoundedIntText(value=0, min=0, max=n - 1, description="from #",
                                     layout=widgets.Layout(width="180px"))
    digit_b = widgets.BoundedIntText(value=1, min=0, max=n - 1, description="to #",
                                     layout=widgets.Layout(width="180px"))
    alpha = EchoSafeFloatSlider(value=0.0, min=0.0, max=1.0, description="alpha", **slider_style)
    path = widgets.Image(format="png", layout=widgets.Layout(width="660px"))
    state = {"line": None, "quiet": False}

    def show_point(point) -> None:
        image.value = digit_png(decode(np.asarray([point], dtype=np.float32))[0])
        scatter_image.value = scatter.render(point, state["line"])

    def on_slider(change=None) -> None:
        if not state["quiet"] and (change is None or moved(change)):
            state["line"] = None
            show_point((t1.value, t2.value))

    def move_sliders(point) -> None:
        """Set both sliders without redrawing twice (the caller draws once afterwards)."""
        state["quiet"] = True
        try:
            t1.value, t2.value = (round(float(np.clip(p, -limit, limit)), 2) for p in point)
        finally:
            state["quiet"] = False

    def on_jump(_button=None) -> None:
        move_sliders(t_data[picker.value])
        on_slider()

    def on_interpolate(change=None) -> None:
        if change is not None and not moved(change):
            return
        a, b = t_data[digit_a.value], t_data[digit_b.value]
        state["line"] = (a, b)
        point = (1 - alpha.value) * a + alpha.value * b
        move_sliders(point)
        show_point(point)

    def on_endpoints(_change=None) -> None:
        a, b = t_data[digit_a.value], t_data[digit_b.value]
        strip = decode(linear_path(a, b, 11).astype(np.float32))
        path.value = digit_png(np.concatenate(list(strip), axis=1), scale=2)
        on_interpolate()

    t1.observe(on_slider, names="value")
    t2.observe(on_slider, names="value")
    jump.on_click(on_jump)
    picker.observe(lambda _c: on_jump(), names="value")
    alpha.observe(on_interpolate, names="value")
    digit_a.observe(on_endpoints, names="value")
    digit_b.observe(on_endpoints, names="value")
    on_endpoints()
    move_sliders((0.0, 0.0))
    on_slider()

    left = widgets.VBox([widgets.HTML("<b>Move through the latent space</b>"), t1, t2, image,
                         widgets.HBox([picker, jump])])
    box = widgets.VBox([
        widgets.HBox([left, scatter_image]),
        widgets.HTML("<b>Interpolate between two encodings</b>"),
        widgets.HBox([digit_a, digit_b]), alpha, path,
    ])
    box.t1, box.t2, box.image, box.scatter = t1, t2, image, scatter_image
    box.picker, box.jump, box.digit_a, box.digit_b, box.alpha, box.path = picker, jump, digit_a, digit_b, alpha, path
    return box
