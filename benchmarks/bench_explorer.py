"""Kernel-side time of one slider update in notebook 05's latent explorer, against the naive path.

    python benchmarks/bench_explorer.py [--updates 200] [--naive-updates 20]

Explorer: helpers.widgets.latent_explorer with the numpy decoder; one update = decode one point,
encode the digit PNG, paint the marker on the pre-rendered scatter and encode it (what the
slider callback does). Naive: what ``interactive_output`` with a plotting function does — decode
with ``Model.predict``, draw a new matplotlib figure (digit + scatter with marker) and render it to
PNG as the inline backend would. Prints medians and the ratio (target: <= 5 ms, >= 10x faster).
"""

from __future__ import annotations

import argparse
import io
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from helpers import data, plots, vae, vae_evaluation, widgets  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--naive-updates", type=int, default=20)
    args = parser.parse_args()

    model = vae.load_model(vae.shipped_weights("mnist"))
    (_, _), (x_test, y_test) = data.load_mnist()
    t_test, _ = vae.encode(model.encoder, vae.prepare_images(x_test))
    rng = np.random.default_rng(0)

    explorer = widgets.latent_explorer(vae_evaluation.NumpyDecoder.from_keras(model.decoder), t_test, y_test)
    fast = []
    for value in rng.uniform(-3, 3, args.updates):
        start = time.perf_counter()
        explorer.t1.value = float(value)          # fires the slider callback, as a browser move does
        fast.append(time.perf_counter() - start)

    def naive_update(t1: float, t2: float) -> bytes:
        digit = model.decoder.predict(np.array([[t1, t2]], dtype="float32"), verbose=0)
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 5))
        ax1.imshow(1 / (1 + np.exp(-digit[0, ..., 0])), cmap="gray")
        ax2.scatter(t_test[:, 0], t_test[:, 1], c=y_test, cmap=plots.DIGIT_CMAP, s=2)
        ax2.plot(t1, t2, "ro", markersize=10)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        return buf.getvalue()

    naive_update(0.0, 0.0)  # warm-up: builds predict's function once
    naive = []
    for value in rng.uniform(-3, 3, args.naive_updates):
        start = time.perf_counter()
        naive_update(float(value), 0.0)
        naive.append(time.perf_counter() - start)

    fast_ms, naive_ms = 1e3 * np.median(fast), 1e3 * np.median(naive)
    print(f"latent explorer, one slider update (median of {args.updates}): {fast_ms:.2f} ms "
          f"(90th percentile {1e3 * np.percentile(fast, 90):.2f} ms; target <= 5 ms)")
    print(f"naive interactive_output + Model.predict (median of {args.naive_updates}): {naive_ms:.1f} ms")
    print(f"speed-up: {naive_ms / fast_ms:.0f}x (target >= 10x)")


if __name__ == "__main__":
    main()
