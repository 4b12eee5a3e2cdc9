import numpy as np
import pytest

from helpers import gmm, widgets


def test_em_stepper_redraws_in_place():
    X = gmm.sample_mixture(gmm.GMMParams(np.array([0.5, 0.5]), np.array([[0.0, 0.0], [4.0, 4.0]]),
                                 np.array([np.eye(2), np.eye(2)])), 200, np.random.default_rng(0))[0]
    fit = gmm.fit(X, 2, n_init=1, seed=0)
    box = widgets.em_stepper(X, fit.history)
    first = bytes(box.image.value)
    assert first.startswith(b"\x89PNG")
    ax = box.figure.axes[0]
    artists = (list(ax.collections), list(ax.patches), list(ax.lines))
    box.slider.value = box.slider.max
    assert bytes(box.image.value) != first
    # in place: the very same scatter, ellipses and centre markers were updated, nothing was added or redrawn anew
    assert box.figure.axes == [ax]
    for before, after in zip(artists, (ax.collections, ax.patches, ax.lines), strict=True):
        assert len(before) == len(after) and all(a is b for a, b in zip(before, after, strict=True))
    last = fit.history.params[-1]
    np.testing.assert_allclose(sorted(p.center for p in ax.patches), sorted(map(tuple, last.means)))
    assert box.slider.max == len(fit.history.params)


def test_em_stepper_draws_with_plot_gmm_and_plot_gmm_returns_its_artists(monkeypatch):
    """The stepper's figure is plots.plot_gmm's (one drawing of a mixture in the course), then updated in place."""
    from matplotlib.colors import to_rgba

    from helpers import plots

    drawn, plot_gmm = [], plots.plot_gmm
    monkeypatch.setattr(plots, "plot_gmm", lambda *args, **kwargs: drawn.append(plot_gmm(*args, **kwargs)) or drawn[-1])
    X, history = _small_em()
    box = widgets.em_stepper(X, history, order=np.array([2, 0, 1]))
    assert len(drawn) == 1
    ax, artists = box.figure.axes[0], drawn[0]
    assert list(ax.collections) == [artists.scatter]
    assert list(ax.patches) == artists.ellipses and list(ax.lines) == artists.centres
    assert [e.get_edgecolor() for e in artists.ellipses] == [to_rgba(plots.COLORS[o]) for o in (2, 0, 1)]
    with pytest.raises(ValueError, match="one colour index per component"):
        plots.component_colors(3, order=[0, 1])


def _toy_decoder(t):
    """A cheap stand-in decoder: a blob whose position follows t."""
    rows, cols = np.mgrid[0:28, 0:28]
    return np.stack([np.exp(-((rows - 14 - 4 * a) ** 2 + (cols - 14 - 4 * b) ** 2) / 20) for a, b in t])


def test_latent_explorer_sliders_picker_and_interpolation():
    rng = np.random.default_rng(0)
    t = rng.standard_normal((200, 2)).astype("float32")
    labels = rng.integers(0, 10, 200)
    box = widgets.latent_explorer(_toy_decoder, t, labels, limit=3.0)
    digit, scatter = bytes(box.image.value), bytes(box.scatter.value)
    box.t1.value = 1.0
    assert bytes(box.image.value) != digit and bytes(box.scatter.value) != scatter
    box.picker.value = 17
    np.testing.assert_allclose([box.t1.value, box.t2.value], np.clip(t[17], -3, 3), atol=widgets.SLIDER_STEP)
    path = bytes(box.path.value)
    box.digit_a.value, box.digit_b.value = 5, 9
    assert bytes(box.path.value) != path
    box.alpha.value = 0.25
    np.testing.assert_allclose([box.t1.value, box.t2.value], np.clip(0.75 * t[5] + 0.25 * t[9], -3, 3),
                               atol=widgets.SLIDER_STEP)


def test_latent_scatter_maps_data_to_pixels():
    t = np.array([[0.0, 0.0], [2.0, 2.0]])
    scatter = widgets.LatentScatter(t, np.array([0, 1]), limit=3.0)
    (r0, c0), (r1, c1) = scatter.pixel((0, 0)), scatter.pixel((2, 2))
    assert c1 > c0 and r1 < r0          # right and up on screen
    assert scatter.render((0, 0))[:2] == b"\xff\xd8"   # a JPEG


def test_echo_safe_slider_refuses_a_late_copy_of_an_older_value():
    slider = widgets.EchoSafeFloatSlider(min=-3.0, max=3.0, step=0.01)
    slider.value = 1.1
    slider.value = 0.0                                 # code moves it twice in a row
    slider.set_state({"value": 1.0999999999999996})   # the browser's snapped copy of 1.1 arrives late
    assert slider.value == 0.0
    slider.set_state({"value": 0.5})                   # a genuine move by the user
    assert slider.value == 0.5


def test_cavi_stepper_redraws_only_the_q_contours():
    from helpers import meanfield

    x = np.random.default_rng(0).normal(1.0, 0.5, size=12)
    prior = meanfield.NormalGamma(0.0, 1.0, 1.0, 1.0)
    states = meanfield.cavi_normal_gamma(x, prior, meanfield.NormalGammaFactors(-1.0, 1.0, 1.0, 4.0), n_iter=3)
    box = widgets.cavi_stepper(x, prior, states, np.linspace(-1.5, 1.9, 60), np.linspace(0.05, 7.0, 60))
    first = bytes(box.image.value)
    ax = box.figure.axes[0]
    n_filled = len([c for c in ax.collections if c.get_array() is not None])
    box.slider.value = 3
    assert bytes(box.image.value) != first
    assert f"step 3 ({states[3][0]} updated)" in ax.get_title() and f"{states[3][2]:.4f}" in ax.get_title()
    assert len([c for c in ax.collections if c.get_array() is not None]) == n_filled   # no contour sets pile up


def test_display_with_fallback_carries_a_png_and_a_description(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append((obj, raw)))
    box = widgets.em_stepper(*_small_em())
    widgets.display_with_fallback(box, box.image.value, "EM stepper")
    bundle, raw = shown[0]
    assert raw and bundle["text/plain"] == "EM stepper" and "VBox" not in bundle["text/plain"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    import base64
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")


def test_progress_bar_shows_its_progress_as_text(monkeypatch):
    shown, updates = [], []

    class Handle:
        def update(self, obj, raw=False):
            updates.append(obj)

    def fake_display(obj, raw=False, display_id=False):
        shown.append(obj)
        return Handle()

    monkeypatch.setattr("IPython.display.display", fake_display)
    bar, update = widgets.progress_bar(300, "training", show=True)
    assert shown[0]["text/plain"] == "training: 0 of 300 steps" and "IntProgress" not in shown[0]["text/plain"]
    assert "application/vnd.jupyter.widget-view+json" in shown[0]
    update(300)
    assert bar.value == 300 and updates[-1]["text/plain"] == "training: 300 of 300 steps"


def _small_em():
    X = gmm.sample_mixture(gmm.demo_mixture(), 150, np.random.default_rng(0))[0]
    return X, gmm.fit(X, 3, n_init=1, seed=0).history
