"""Notebook 04's quadrature and importance weights: every image's points decoded together vs one image at a time.

    python benchmarks/bench_vae_evaluation.py [--images 20] [--rounds 3]

On the shipped model and the first ``images`` test digits, with gap_split's grids (``posterior_grids``, coarse 41,
3 points per q-standard-deviation): the quadrature log p(x) of every image (eqs. 3-4) and 500 importance weights per
image (eq. 6), each computed two ways, the rounds interleaved (one of each in turn):

* one by one: the code notebook 04 ran until 2026-12-06, one image after the other, the decoder called eagerly
  (``decoder(t, training=False)``) on at most 2,000 points at a time;
* batched: ``vae_evaluation.quadrature_log_pxs`` and ``importance_log_weights_per_image``, all images' points
  through the decoder together, 2,048 per ``predict_on_batch`` call.

Prints each round's seconds, the median ratio and its spread, the decoded points per second, the largest difference
between the two ways' log p(x) and log w (float32 round-off: the numbers must agree to 1e-3 nats), and the load.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from helpers import data, vae, vae_evaluation
from helpers.distributions import (
    bernoulli_nll_from_logits,
    log_normal_diag,
    log_standard_normal,
    logsumexp,
    reparameterize,
)


def eager_log_likelihood(decoder, x: np.ndarray, t: np.ndarray, batch_size: int = 2000) -> np.ndarray:
    """log p(x | t) of one image at points t (S, 2), the decoder called eagerly in batches of 2,000 (the old way)."""
    pixels = np.asarray(x, dtype=np.float64).reshape(1, -1)
    out = []
    for start in range(0, len(t), batch_size):
        logits = np.asarray(decoder(np.asarray(t[start:start + batch_size], dtype="float32"), training=False),
                            dtype=np.float64).reshape(-1, pixels.shape[1])
        out.append((pixels @ logits.T - bernoulli_nll_from_logits(np.zeros_like(logits), logits))[0])
    return np.concatenate(out)


def quadrature_one_by_one(decoder, images: np.ndarray, grids: list) -> np.ndarray:
    """log p(x) of each image on its grid, one image after the other (the old ``quadrature_log_px`` loop): (B,)."""
    log_px = []
    for x, (t1, t2, cell) in zip(images, grids, strict=True):
        t = np.column_stack([a.ravel() for a in np.meshgrid(t1, t2)])
        log_px.append(float(np.log(cell) + logsumexp(eager_log_likelihood(decoder, x, t) + log_standard_normal(t))))
    return np.array(log_px)


def importance_one_by_one(model, images: np.ndarray, n_samples: int, seed: int) -> np.ndarray:
    """500 log importance weights per image, one image after the other (the old ``importance_log_weights`` loop)."""
    rng, log_w = np.random.default_rng(seed), []
    for x in images:
        mean, log_var = (np.asarray(a, dtype=np.float64)[0] for a in model.encoder(x[None], training=False))
        t = reparameterize(mean, log_var, rng.standard_normal((n_samples, len(mean))))
        log_w.append(eager_log_likelihood(model.decoder, x, t) + log_standard_normal(t)
                     - log_normal_diag(t, mean, log_var))
    return np.stack(log_w)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    _, (x_test, _) = data.load_mnist()
    images = vae.prepare_images(x_test[: args.images])
    model = vae.load_trained_vae(vae.shipped_weights("mnist"))
    means, log_vars = (np.asarray(a, dtype=np.float64) for a in vae.encode(model.encoder, images))
    grids = vae_evaluation.posterior_grids(model.decoder, images, means, log_vars, coarse=41, points_per_sd=3.0)
    n_points = sum(len(t1) * len(t2) for t1, t2, _ in grids)
    ways = {
        "quadrature, one by one": lambda: quadrature_one_by_one(model.decoder, images, grids),
        "quadrature, batched": lambda: np.array([lp for lp, _ in vae_evaluation.quadrature_log_pxs(
            model.decoder, images, grids)]),
        "importance weights, one by one": lambda: importance_one_by_one(model, images, 500, seed=1),
        "importance weights, batched": lambda: vae_evaluation.importance_log_weights_per_image(
            model, images, 500, np.random.default_rng(1))[0],
    }
    # warm-up: predict_on_batch traces the decoder's graph on its first calls (2,048 points, then 452)
    vae_evaluation.importance_log_weights_per_image(model, images[:5], 500, np.random.default_rng(0))
    print(f"{args.images} images, {n_points:,} grid points, load average {os.getloadavg()}", flush=True)
    seconds, results = {name: [] for name in ways}, {}
    for round_ in range(args.rounds):
        for name, way in ways.items():          # interleaved: one of each, in turn
            start = time.perf_counter()
            results[name] = way()
            seconds[name].append(time.perf_counter() - start)
            print(f"round {round_ + 1}: {name:32s} {seconds[name][-1]:7.2f} s", flush=True)
    for what, points in (("quadrature", n_points), ("importance weights", 500 * args.images)):
        old, new = np.array(seconds[f"{what}, one by one"]), np.array(seconds[f"{what}, batched"])
        ratios = old / new
        difference = np.max(np.abs(results[f"{what}, one by one"] - results[f"{what}, batched"]))
        print(f"{what}: one by one median {np.median(old):.2f} s ({points / np.median(old):,.0f} points/s), batched "
              f"{np.median(new):.2f} s ({points / np.median(new):,.0f} points/s): {np.median(ratios):.2f}x faster "
              f"(rounds {ratios.min():.2f}x to {ratios.max():.2f}x, {args.rounds} rounds); largest difference "
              f"{difference:.2e} nats")
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
