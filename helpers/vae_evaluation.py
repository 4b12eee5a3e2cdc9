"""Evaluating a trained VAE (notebooks 04 and 05): the bound, log p(x) three ways, a numpy decoder.

* :func:`negative_elbo` recomputes eqs. 16-17 on a data set, per image;
* :func:`importance_weighted_bounds` (many images; notebook 04's Exercise 4.2),
  :func:`importance_weighted_bound_and_error` (one image's L_k and its standard error) and :func:`quadrature_log_px`
  measure log p(x) (eq. 3) by importance sampling from q and by quadrature over the 2-D latent grid, and
  :func:`kl_q_to_posterior_on_grid` the gap of eq. 5;
* :func:`fit_local_q` optimises a q per image (eq. 14) on the same grid, separating the
  approximation gap (the q family) from the amortization gap (the encoder, eq. 15);
* :class:`NumpyDecoder` runs the trained decoder as plain numpy, fast enough for sliders.

After the decoder everything is numpy float64, and every density comes from
:mod:`helpers.distributions`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import expit

from helpers.backend import keras
from helpers.distributions import (
    bernoulli_nll_from_logits,
    log_mean_exp,
    log_normal_diag,
    log_standard_normal,
    logsumexp,
    reparameterize,
)
from helpers.vae import DECODER_GRID, VAE, encode, negative_elbo_terms

__all__ = [
    "NumpyDecoder", "bound_standard_error", "decoder_log_likelihood", "decoder_log_likelihood_pairs",
    "decoder_logits", "importance_log_weights", "importance_log_weights_per_image", "quadrature_log_pxs",
    "importance_weighted_bound_and_error", "importance_weighted_bounds", "importance_weighted_groups",
    "reconstruction_nll",
    "fit_local_q", "kl_q_to_posterior_on_grid", "latent_grid", "negative_elbo",
    "quadrature_log_px", "gap_split", "posterior_grid", "posterior_grids", "decoder_log_likelihoods",
    "kl_q_to_posterior_and_gradient", "negative_elbo_at_codes", "posterior_moments",
]


def negative_elbo(vae: VAE, x: np.ndarray, batch_size: int = 500, seed: int = 0) -> dict[str, float]:
    """Eqs. 16-17: mean reconstruction, KL and -ELBO per image of a data set, from scratch (one sample of t each).

    ``x``: float32 (n, 28, 28, 1) in [0, 1]. Returns floats averaged over the n images: the encoder's codes, then
    :func:`negative_elbo_at_codes`.
    """
    t_mean, log_var = encode(vae.encoder, x, batch_size)
    return negative_elbo_at_codes(vae, x, t_mean, log_var, batch_size, seed)


def negative_elbo_at_codes(vae: VAE, x: np.ndarray, t_mean: np.ndarray, log_var: np.ndarray, batch_size: int = 500,
                           seed: int = 0) -> dict[str, float]:
    """Eqs. 16-17 given q's parameters: mean reconstruction, KL and -ELBO per image, one sample t ~ q(t|x) each.

    ``x`` (n, 28, 28, 1); ``t_mean``, ``log_var`` (n, D), the encoder's output for ``x``. The noise is drawn from
    ``default_rng(seed)`` one batch after the other (the same numbers as one draw of shape (n, D)).
    """
    rng = np.random.default_rng(seed)
    rec_sum = kl_sum = 0.0
    for start in range(0, len(x), batch_size):
        xb, mb, vb = x[start:start + batch_size], t_mean[start:start + batch_size], log_var[start:start + batch_size]
        eps = rng.standard_normal(mb.shape).astype("float32")
        logits = np.asarray(vae.decoder(reparameterize(mb, vb, eps), training=False))
        reconstruction, kl = negative_elbo_terms(xb, logits, mb, vb)
        rec_sum, kl_sum = rec_sum + float(np.sum(reconstruction)), kl_sum + float(np.sum(kl))
    n = len(x)
    return {"reconstruction": rec_sum / n, "kl": kl_sum / n, "loss": (rec_sum + kl_sum) / n}


def reconstruction_nll(model, x: np.ndarray, t: np.ndarray | None = None, batch_size: int = 2000) -> float:
    """Eq. 16's reconstruction term at given codes: mean -log p(x_i | t_i) per image, nats.

    ``x``: float32 (n, 28, 28, 1) in [0, 1]; ``t``: codes (n, D), by default the encoder's means m(x). For the plain
    autoencoder (deterministic codes) this is its whole loss, the *distortion*; with one sample t ~ q(t|x) per image
    it is a VAE's distortion.
    """
    if t is None:
        t = encode(model.encoder, x, batch_size)[0]
    total = 0.0
    for i in range(0, len(x), batch_size):
        logits = np.asarray(model.decoder(np.asarray(t[i:i + batch_size], dtype="float32"), training=False))
        total += float(np.sum(bernoulli_nll_from_logits(x[i:i + batch_size], logits)))
    return total / len(x)


# ----------------------------------------------------------------------------- log p(x) three ways
#
# For one image x and latent points t (S, D), all in numpy float64 after the decoder:
#   log p(x|t)  decoder likelihood, log p(t) = log N(t|0, I), log q(t|x) = log N(t|m, diag s^2).


def decoder_logits(decoder: keras.Model, t: np.ndarray) -> np.ndarray:
    """Eq. 2's Bernoulli logits l(t) at latent points t (S, D) -> (S, 784) float64, in one call of the decoder.

    Keras's ``predict_on_batch`` runs the decoder as a traced graph: on this course's 2-core CPU about twice as fast
    per point as an eager call ``decoder(t)`` on the same batch (benchmarks/bench_vae_evaluation.py).
    """
    logits = decoder.predict_on_batch(np.asarray(t, dtype="float32"))
    return np.asarray(logits, dtype=np.float64).reshape(len(t), -1)


def decoder_log_likelihoods(decoder: keras.Model, images: np.ndarray, t: np.ndarray,
                            batch_size: int = 2048) -> np.ndarray:
    """Eq. 2 for many images at the same latent points: log p(x_b | t_s; theta), (B, 28, 28, 1) and (S, D) -> (B, S).

    The points are decoded once for all the images: log p(x|t) = sum_j [x_j l_j(t) - softplus(l_j(t))] is linear in
    the pixels x_j, so each image costs one matrix product with the logits l (S, 784), not a pass of the decoder.
    softplus(l) summed over the pixels is :func:`bernoulli_nll_from_logits` of an all-zero image.
    """
    pixels = np.asarray(images, dtype=np.float64).reshape(len(images), -1)          # (B, 784)
    out = []
    for start in range(0, len(t), batch_size):
        logits = decoder_logits(decoder, t[start:start + batch_size])              # (batch, 784)
        out.append(pixels @ logits.T - bernoulli_nll_from_logits(np.zeros_like(logits), logits))
    return np.concatenate(out, axis=1)


def decoder_log_likelihood(decoder: keras.Model, x: np.ndarray, t: np.ndarray,
                           batch_size: int = 2048) -> np.ndarray:
    """Eq. 2: log p(x | t; theta) of the decoder for one image x (28, 28, 1) at many latent points t (S, D) -> (S,)."""
    return decoder_log_likelihoods(decoder, x[None], t, batch_size)[0]


def decoder_log_likelihood_pairs(decoder: keras.Model, images: np.ndarray, owner: np.ndarray, t: np.ndarray,
                                 batch_size: int = 2048) -> np.ndarray:
    """Eq. 2 for S (image, point) pairs: log p(x_{owner_s} | t_s; theta), each point with its own image -> (S,).

    ``images`` (B, 28, 28, 1); ``owner`` (S,) the index in ``images`` of each point's image; ``t`` (S, D). Every
    image's points go through the decoder together, ``batch_size`` points per call whatever image they belong to,
    so many images with a few thousand points each cost as many decoder calls as one image with all of them.
    """
    pixels = np.asarray(images, dtype=np.float64).reshape(len(images), -1)          # (B, 784)
    out = []
    for start in range(0, len(t), batch_size):
        logits = decoder_logits(decoder, t[start:start + batch_size])              # (batch, 784)
        own_pixels = pixels[owner[start:start + batch_size]]                         # (batch, 784)
        out.append(np.einsum("sj,sj->s", own_pixels, logits)
                   - bernoulli_nll_from_logits(np.zeros_like(logits), logits))
    return np.concatenate(out)


def importance_log_weights_per_image(vae: VAE, images: np.ndarray, n_samples: int, rng: np.random.Generator
                                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`importance_log_weights` for B images (B, 28, 28, 1) at once: log w (B, S), q's means and log-variances
    (B, D) each.

    Eqs. 6 and 15: t_bs ~ q(t|x_b), log w_bs = log p(x_b|t_bs) + log p(t_bs) - log q(t_bs|x_b). The noise is one
    draw eps (B, S, D) from ``rng``: the very numbers B calls of :func:`importance_log_weights` draw one image after
    the other, so both give the same samples. All B * S points are decoded together
    (:func:`decoder_log_likelihood_pairs`).
    """
    t_means, log_vars = (np.asarray(a, dtype=np.float64) for a in encode(vae.encoder, images))   # (B, D) each
    t = reparameterize(t_means[:, None], log_vars[:, None],
                       rng.standard_normal((len(images), n_samples, t_means.shape[1])))            # (B, S, D)
    owner = np.repeat(np.arange(len(images)), n_samples)                                            # (B * S,)
    log_likelihood = decoder_log_likelihood_pairs(vae.decoder, images, owner, t.reshape(-1, t.shape[-1]))
    log_w = (log_likelihood.reshape(len(images), n_samples) + log_standard_normal(t)
             - log_normal_diag(t, t_means[:, None], log_vars[:, None]))
    return log_w, t_means, log_vars


def importance_log_weights(vae: VAE, x: np.ndarray, n_samples: int, rng: np.random.Generator
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eqs. 6 and 15: draw t_i ~ q(t|x), return log w_i = log p(x|t_i) + log p(t_i) - log q(t_i|x)  (S,).

    Also returns q's mean and log-variance (D,). The mean of log w is a Monte Carlo ELBO (eq. 16). One image of
    :func:`importance_log_weights_per_image`.
    """
    log_w, t_means, log_vars = importance_log_weights_per_image(vae, x[None], n_samples, rng)
    return log_w[0], t_means[0], log_vars[0]


def importance_weighted_groups(log_w: np.ndarray, k: int) -> np.ndarray:
    """Eq. 3 estimated from k samples, once per group: log (1/k sum_{i in group} w_i), (..., S) -> (..., S // k).

    The S log importance weights of each image (last axis) are cut into S // k disjoint groups of k *consecutive*
    samples, log_w[..., :k], log_w[..., k:2k], ...; the last S mod k are left out. Stable for any log w: a
    log-mean-exp (:func:`helpers.distributions.log_mean_exp`), never exp(log w) itself.
    """
    log_w = np.asarray(log_w, dtype=np.float64)
    n_groups = log_w.shape[-1] // k
    return log_mean_exp(log_w[..., : n_groups * k].reshape(*log_w.shape[:-1], n_groups, k), axis=-1)


def importance_weighted_bounds(log_w: np.ndarray, k: int) -> np.ndarray:
    """L_k = E[log (1/k sum_{i<=k} w_i)] (Burda et al., 2016) estimated for each image: (B, S) -> (B,) nats.

    ``log_w`` (B, S): each image's log importance weights log p(x, t_s) - log q(t_s | x), t_s ~ q(t|x)
    (:func:`importance_log_weights`). The estimate is the mean over the S // k groups of
    :func:`importance_weighted_groups`, an unbiased estimate of L_k. L_1 is the ELBO (the mean of log w); L_k
    rises with k towards log p(x). The course's answer to notebook 04's Exercise 4.2.
    """
    return importance_weighted_groups(log_w, k).mean(axis=-1)


def bound_standard_error(bound: Callable, log_w: np.ndarray, k: int) -> np.ndarray:
    """The standard error of ``bound(log_w, k)``, an L_k estimate per image, from the spread of its groups: (B,).

    ``bound`` is an estimator in :func:`importance_weighted_bounds`' signature, (B, S), k -> (B,). Given one
    group of k samples per row it returns that group's log (1/k sum w_i), so the S // k groups of each image
    are passed to it as rows; the standard error is their std(ddof=1) / sqrt(S // k), NaN for a single group.
    """
    log_w = np.asarray(log_w, dtype=np.float64)
    n_images, n_groups = log_w.shape[0], log_w.shape[1] // k
    if n_groups < 2:
        return np.full(n_images, np.nan)
    groups = np.asarray(bound(log_w[:, : n_groups * k].reshape(n_images * n_groups, k), k), dtype=np.float64)
    return groups.reshape(n_images, n_groups).std(axis=1, ddof=1) / np.sqrt(n_groups)


def importance_weighted_bound_and_error(log_w: np.ndarray, k: int) -> tuple[float, float]:
    """Eq. 3 bounded from below, for one image: L_k and its standard error.

    ``log_w`` (S,): log importance weights from :func:`importance_log_weights`, cut into S // k disjoint
    groups of k (the last S mod k are left out). Returns :func:`importance_weighted_bounds`, the mean over the
    groups of log (1/k sum w_i), an unbiased estimate of L_k, and :func:`bound_standard_error`,
    std(ddof=1) / sqrt(S // k): NaN for a single group, whose spread cannot be measured. L_1 is the ELBO, L_k
    rises with k and tends to log p(x) as k -> infinity (Burda et al., 2016).
    """
    log_w = np.asarray(log_w, dtype=np.float64)
    if log_w.ndim != 1:
        raise ValueError(f"log_w must be one image's log weights (S,), got shape {log_w.shape}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if len(log_w) < k:
        raise ValueError(f"need at least k={k} samples, got {len(log_w)}")
    bound = importance_weighted_bounds(log_w[None], k)[0]
    error = bound_standard_error(importance_weighted_bounds, log_w[None], k)[0]
    return float(bound), float(error)


def latent_grid(t_mean: np.ndarray, log_var: np.ndarray, half_width: float = 10.0, n: int = 121
                ) -> tuple[np.ndarray, np.ndarray, float]:
    """A square grid around q's mean, ``half_width`` q-standard-deviations each way (2-D only).

    Returns the axes t1 (n,), t2 (n,) and the area of one cell.
    """
    if len(t_mean) != 2:
        raise ValueError("quadrature over a latent grid is for a 2-D latent space")
    s = np.exp(0.5 * log_var)
    t1 = np.linspace(t_mean[0] - half_width * s[0], t_mean[0] + half_width * s[0], n)
    t2 = np.linspace(t_mean[1] - half_width * s[1], t_mean[1] + half_width * s[1], n)
    return t1, t2, float((t1[1] - t1[0]) * (t2[1] - t2[0]))


def _grid_points(t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """The points of the grid t1 x t2 as rows (len(t1) * len(t2), 2), t1 varying fastest (np.meshgrid's order)."""
    T1, T2 = np.meshgrid(t1, t2)
    return np.column_stack([T1.ravel(), T2.ravel()])


def posterior_grids(decoder: keras.Model, images: np.ndarray, t_means: np.ndarray, log_vars: np.ndarray,
                    extent: float = 5.0, coarse: int = 81, points_per_sd: float = 3.0, max_points: int = 301
                    ) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """:func:`posterior_grid` for many images (B, 28, 28, 1) with q's means and log-variances (B, 2): a list of B grids.

    The same grids as one call per image, faster: every image whose coarse look is the prior's square itself (q's
    +-10 sd box inside it, as for almost every image) shares one decoding of that square
    (:func:`decoder_log_likelihoods`); the others are decoded on their own.
    """
    t_means, log_vars = np.asarray(t_means, dtype=np.float64), np.asarray(log_vars, dtype=np.float64)
    if t_means.ndim != 2 or t_means.shape[1] != 2 or log_vars.shape != t_means.shape:
        raise ValueError(f"quadrature over a latent grid is for a 2-D latent space: t_means and log_vars must be "
                         f"(B, 2), got {t_means.shape} and {log_vars.shape}")
    sds = np.exp(0.5 * log_vars)
    lows, highs = np.minimum(-extent, t_means - 10 * sds), np.maximum(extent, t_means + 10 * sds)
    in_square = np.flatnonzero(np.all(lows == -extent, axis=1) & np.all(highs == extent, axis=1))
    square = np.linspace(-extent, extent, coarse)
    shared = dict(zip(in_square, decoder_log_likelihoods(decoder, images[in_square], _grid_points(square, square)),
                      strict=True)) if len(in_square) else {}
    grids = []
    for i, (image, t_mean, s, lo, hi) in enumerate(zip(images, t_means, sds, lows, highs, strict=True)):
        g1, g2 = np.linspace(lo[0], hi[0], coarse), np.linspace(lo[1], hi[1], coarse)
        t = _grid_points(g1, g2)
        log_joint = (shared[i] if i in shared else decoder_log_likelihood(decoder, image, t)) + log_standard_normal(t)
        near = t[log_joint > log_joint.max() - 30.0]
        step = np.array([g1[1] - g1[0], g2[1] - g2[0]])
        box_lo = np.minimum(near.min(axis=0) - step, t_mean - 6 * s)
        box_hi = np.maximum(near.max(axis=0) + step, t_mean + 6 * s)
        n = np.minimum(max_points, np.ceil((box_hi - box_lo) / (s.min() / points_per_sd)).astype(int) + 1)
        t1, t2 = np.linspace(box_lo[0], box_hi[0], n[0]), np.linspace(box_lo[1], box_hi[1], n[1])
        grids.append((t1, t2, float((t1[1] - t1[0]) * (t2[1] - t2[0]))))
    return grids


def posterior_grid(decoder: keras.Model, x: np.ndarray, t_mean: np.ndarray, log_var: np.ndarray,
                   extent: float = 5.0, coarse: int = 81, points_per_sd: float = 3.0, max_points: int = 301
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """A 2-D grid that covers the posterior p(t|x) wherever its mass is, not only where q puts it.

    A coarse ``coarse`` x ``coarse`` look over the prior's square [-extent, extent]^2 (joined with q's +-10 sd box)
    finds the cells whose log p(x, t) is within 30 nats of the largest *on that look* (a mode narrower than a
    coarse cell can fall between its points); the returned grid spans those cells plus a coarse step, joined with
    q's +-6 sd box, at ``points_per_sd`` points per q-standard-deviation (at most ``max_points`` per axis). Returns
    the axes t1 (n1,), t2 (n2,) and the area of one cell, as :func:`latent_grid`. Many images at once:
    :func:`posterior_grids`.
    """
    if len(t_mean) != 2:
        raise ValueError("quadrature over a latent grid is for a 2-D latent space")
    return posterior_grids(decoder, x[None], np.asarray(t_mean)[None], np.asarray(log_var)[None], extent, coarse,
                           points_per_sd, max_points)[0]


def quadrature_log_pxs(decoder: keras.Model, images: np.ndarray,
                       grids: list[tuple[np.ndarray, np.ndarray, float]], batch_size: int = 2048
                       ) -> list[tuple[float, np.ndarray]]:
    """Eqs. 3-4 by quadrature for B images (B, 28, 28, 1), each on its own grid (t1, t2, cell): a list of B results.

    For image b: log p(x_b) = log sum_grid p(x_b|t) p(t) * cell, a log-sum-exp over its grid's points, and its log
    posterior density log p(t|x_b) = log p(x_b, t) - log p(x_b) on the grid (len(t2), len(t1)) (eq. 4). The points
    of all the grids are decoded together (:func:`decoder_log_likelihood_pairs`), not one grid after the other.
    """
    points = [_grid_points(t1, t2) for t1, t2, _ in grids]                         # (n1 * n2, 2) per image
    counts = [len(p) for p in points]
    owner = np.repeat(np.arange(len(grids)), counts)                                # image of each point
    log_likelihood = decoder_log_likelihood_pairs(decoder, images, owner, np.concatenate(points), batch_size)
    results = []
    for (t1, t2, cell), t, log_lik in zip(grids, points, np.split(log_likelihood, np.cumsum(counts)[:-1]),
                                          strict=True):
        log_joint = log_lik + log_standard_normal(t)                               # log p(x_b, t) on the grid
        log_px = float(np.log(cell) + logsumexp(log_joint))
        results.append((log_px, (log_joint - log_px).reshape(len(t2), len(t1))))
    return results


def quadrature_log_px(decoder: keras.Model, x: np.ndarray, t1: np.ndarray, t2: np.ndarray, cell: float
                      ) -> tuple[float, np.ndarray]:
    """Eqs. 3-4 by quadrature: log p(x) = log sum_grid p(x|t) p(t) * cell, and the posterior on the grid.

    Returns log p(x) and the log posterior density log p(t|x) on the grid (len(t2), len(t1)) (eq. 4). One image of
    :func:`quadrature_log_pxs`.
    """
    return quadrature_log_pxs(decoder, x[None], [(t1, t2, cell)])[0]


def _q_mass_on_grid(t1: np.ndarray, t2: np.ndarray, t_mean: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """q's probability of each grid cell, q(t_i) * cell renormalised over the grid: (len(t2), len(t1))."""
    T1, T2 = np.meshgrid(t1, t2)
    log_q = log_normal_diag(np.column_stack([T1.ravel(), T2.ravel()]), t_mean, log_var)
    return np.exp(log_q - logsumexp(log_q)).reshape(T1.shape)


def kl_q_to_posterior_on_grid(log_posterior: np.ndarray, t1: np.ndarray, t2: np.ndarray, cell: float,
                              t_mean: np.ndarray, log_var: np.ndarray) -> float:
    """Eq. 7 by quadrature: KL(q(t|x) || p(t|x)) = sum_i q_i log(q_i / (p(t_i|x) cell)) over the grid cells.

    q_i is q's mass in cell i (renormalised on the grid), ``log_posterior`` the grid's log p(t|x)
    from :func:`quadrature_log_px` (len(t2), len(t1)). Non-negative by construction on the grid.
    """
    mass = _q_mass_on_grid(t1, t2, t_mean, log_var)
    log_mass = np.log(np.clip(mass, np.finfo(float).tiny, None))
    return float(np.sum(mass * (log_mass - log_posterior - np.log(cell))))


def _axis_log_mass(t: np.ndarray, mean: float, log_var: float) -> np.ndarray:
    """log of a 1-D Gaussian's mass on the points of one grid axis, renormalised over the axis: (n,) -> (n,)."""
    z = -0.5 * np.square(t - mean) * np.exp(-log_var)
    return z - logsumexp(z)


def kl_q_to_posterior_and_gradient(params: np.ndarray, log_posterior: np.ndarray, t1: np.ndarray, t2: np.ndarray,
                                   cell: float) -> tuple[float, np.ndarray]:
    """:func:`kl_q_to_posterior_on_grid` and its gradient with respect to q's ``params`` (m1, m2, log s1^2, log s2^2).

    A diagonal q's mass on the grid factorises, q_lj = b_l a_j with a (len(t1),) and b (len(t2),) its renormalised
    masses on each axis, so KL = sum a log a + sum b log b - b^T M a with M = log p(t|x) + log cell (len(t2), len(t1)):
    one matrix-vector product instead of a Gaussian on every grid point. The same number as
    :func:`kl_q_to_posterior_on_grid`; returns the KL (nats) and its gradient (4,).
    """
    means, log_vars = params[:2], params[2:]
    log_a, log_b = _axis_log_mass(t1, means[0], log_vars[0]), _axis_log_mass(t2, means[1], log_vars[1])
    a, b = np.exp(log_a), np.exp(log_b)
    weighted = log_posterior + np.log(cell)
    Ma, bM = weighted @ a, b @ weighted
    kl = float(a @ log_a + b @ log_b - b @ Ma)
    gradient = np.empty(4)
    for axis, (t, mass, d_mass) in enumerate(((t1, a, log_a - bM), (t2, b, log_b - Ma))):
        d_z = mass * (d_mass - mass @ d_mass)               # through the renormalisation (a softmax of z)
        offset, variance = t - means[axis], np.exp(log_vars[axis])
        gradient[axis] = d_z @ offset / variance             # z = -(t - m)^2 / (2 s^2)
        gradient[2 + axis] = d_z @ np.square(offset) / (2 * variance)
    return kl, gradient


def posterior_moments(log_posterior: np.ndarray, t1: np.ndarray, t2: np.ndarray, cell: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The posterior's marginal means (2,) and log-variances (2,) on the grid: the moment-matched diagonal Gaussian."""
    mass = np.exp(log_posterior) * cell
    mass = mass / mass.sum()
    marginals = (mass.sum(axis=0), mass.sum(axis=1))         # over t1 (len(t1),), over t2 (len(t2),)
    means = np.array([m @ t for m, t in zip(marginals, (t1, t2), strict=True)])
    variances = np.array([m @ np.square(t - mu) for m, t, mu in zip(marginals, (t1, t2), means, strict=True)])
    return means, np.log(variances)


def fit_local_q(log_posterior: np.ndarray, t1: np.ndarray, t2: np.ndarray, cell: float,
                start_mean: np.ndarray, start_log_var: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Eq. 14 for one image: the best diagonal Gaussian q found, min KL(q || p(t|x)) on the grid.

    Deterministic: L-BFGS with the exact gradient (:func:`kl_q_to_posterior_and_gradient`) from two starts, the
    encoder's q (``start_mean``, ``start_log_var``) and the posterior's own moments (:func:`posterior_moments`), and
    the better end is kept. A local search, so the KL returned is the best *found*: an upper bound on the best
    diagonal Gaussian's. log p(x) minus it is the best ELBO found; the *approximation gap* is this KL, and the
    encoder's KL minus it the *amortization gap* (then a lower bound on it). Returns mean (2,), log-variance (2,)
    and the KL. (Notebook 03's ``svi.fit_local_q_stochastic`` fits local q's of the linear model by stochastic
    gradients instead.)
    """
    from scipy.optimize import minimize

    def kl(params: np.ndarray) -> tuple[float, np.ndarray]:
        return kl_q_to_posterior_and_gradient(params, log_posterior, t1, t2, cell)

    best, best_kl = None, np.inf
    for start in (np.concatenate([start_mean, start_log_var]),
                  np.concatenate(posterior_moments(log_posterior, t1, t2, cell))):
        start = np.asarray(start, dtype=float)
        result = minimize(kl, start, jac=True, method="L-BFGS-B",
                          options={"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-9})
        for params, value in ((start, kl(start)[0]), (result.x, float(result.fun))):
            if value < best_kl:
                best, best_kl = params, value
    return best[:2], best[2:], float(best_kl)


# ----------------------------------------------------------------------------- a fast decoder for widgets


class NumpyDecoder:
    """Eq. 2's decoder as a plain numpy forward pass, for interactive use.

    One latent point takes well under a millisecond this way, against tens of milliseconds for
    ``Model.predict``. ``__call__`` maps t (n, 2) to pixel probabilities (n, 28, 28); a test
    checks it against the Keras decoder.
    """

    def __init__(self, dense_w, dense_b, deconv_k, deconv_b, conv_k, conv_b):
        self.dense_w, self.dense_b = dense_w, dense_b          # (D, prod(DECODER_GRID)), (prod(DECODER_GRID),)
        self.deconv_k, self.deconv_b = deconv_k, deconv_b      # (3, 3, 32, 64), (32,)
        self.conv_k, self.conv_b = conv_k, conv_b              # (3, 3, 32, 1), (1,)

    @classmethod
    def from_keras(cls, decoder: keras.Model) -> NumpyDecoder:
        dense, deconv, conv = (next(layer for layer in decoder.layers if isinstance(layer, kind))
                               for kind in (keras.layers.Dense, keras.layers.Conv2DTranspose, keras.layers.Conv2D))
        arrays = [np.asarray(w, dtype=np.float32) for layer in (dense, deconv, conv) for w in layer.get_weights()]
        return cls(*arrays)

    def logits(self, t: np.ndarray) -> np.ndarray:
        """Decoder logits (n, 28, 28) for latent points t (n, D)."""
        n = len(t)
        h = np.maximum(np.asarray(t, np.float32) @ self.dense_w + self.dense_b, 0.0).reshape(n, *DECODER_GRID)
        rows, cols = 2 * DECODER_GRID[0], 2 * DECODER_GRID[1]      # 28 x 28: stride 2 doubles the feature map
        # transposed convolution, stride 2, 'same': input pixel (i, j) feeds outputs (2i + a, 2j + b)
        contrib = np.einsum("nijc,aboc->nijabo", h, self.deconv_k, optimize=True)
        up = np.zeros((n, rows + 1, cols + 1, self.deconv_k.shape[2]), np.float32)
        for a in range(3):
            for b in range(3):
                up[:, a:a + rows:2, b:b + cols:2] += contrib[:, :, :, a, b]
        up = np.maximum(up[:, :rows, :cols] + self.deconv_b, 0.0)
        # 3x3 convolution, 'same' (zero padding 1) down to one channel
        padded = np.pad(up, ((0, 0), (1, 1), (1, 1), (0, 0)))
        out = np.full((n, rows, cols), self.conv_b[0], np.float32)
        for a in range(3):
            for b in range(3):
                out += padded[:, a:a + rows, b:b + cols] @ self.conv_k[a, b, :, 0]
        return out

    def __call__(self, t: np.ndarray) -> np.ndarray:
        """Pixel probabilities sigmoid(logits): (n, D) -> (n, 28, 28); expit cannot overflow far from the codes."""
        return expit(self.logits(t))


def gap_split(vae: VAE, x: np.ndarray, coarse: int = 41, points_per_sd: float = 3.0) -> dict[str, np.ndarray]:
    """Eqs. 5 and 14-15 for many images: log p(x) and the gap's two parts, each (len(x),), nats per image.

    For each image (28, 28, 1) of ``x``: the quadrature log p(x) on :func:`posterior_grids` (a coarser look and
    grid than its defaults, for speed); ``kl_encoder`` = KL(q || p(t|x)), the whole gap log p(x) - ELBO;
    ``approximation`` = the KL of the best diagonal Gaussian found (:func:`fit_local_q`), an upper bound on the
    approximation gap; ``amortization`` = kl_encoder - approximation, what a better encoder could still gain (a
    lower bound on it).
    """
    t_means, log_vars = (np.asarray(a, dtype=np.float64) for a in encode(vae.encoder, x))
    grids = posterior_grids(vae.decoder, x, t_means, log_vars, coarse=coarse, points_per_sd=points_per_sd)
    quadratures = quadrature_log_pxs(vae.decoder, x, grids)                  # every image's grid decoded at once
    rows = {key: [] for key in ("log_px", "kl_encoder", "approximation", "amortization")}
    for t_mean, log_var, (t1, t2, cell), (log_px, log_posterior) in zip(t_means, log_vars, grids, quadratures,
                                                                           strict=True):
        kl_encoder = kl_q_to_posterior_on_grid(log_posterior, t1, t2, cell, t_mean, log_var)
        kl_best = fit_local_q(log_posterior, t1, t2, cell, t_mean, log_var)[2]
        for key, value in zip(rows, (log_px, kl_encoder, kl_best, kl_encoder - kl_best), strict=True):
            rows[key].append(value)
    return {key: np.array(values) for key, values in rows.items()}
