"""helpers.vae_evaluation's search for the best diagonal q (eq. 14) and its quadrature, against slower references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from helpers import distributions, vae_evaluation


def grid_posterior(log_density, t1: np.ndarray, t2: np.ndarray) -> tuple[np.ndarray, float]:
    """A normalised log posterior on the grid (len(t2), len(t1)) from an unnormalised log density of t (..., 2)."""
    T1, T2 = np.meshgrid(t1, t2)
    cell = float((t1[1] - t1[0]) * (t2[1] - t2[0]))
    log_joint = log_density(np.stack([T1, T2], axis=-1))
    return log_joint - (np.log(cell) + distributions.logsumexp(log_joint.ravel())), cell


def nelder_mead_local_q(log_posterior, t1, t2, cell, start_mean, start_log_var):
    """The search the course used before: Nelder-Mead on the Gaussian-on-every-point KL, from the encoder's q."""
    def kl(params):
        return vae_evaluation.kl_q_to_posterior_on_grid(log_posterior, t1, t2, cell, params[:2], params[2:])
    result = minimize(kl, np.concatenate([start_mean, start_log_var]), method="Nelder-Mead",
                      options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000, "maxfev": 8000})
    return result.x[:2], result.x[2:], float(result.fun)


def correlated_gaussian(mean, covariance):
    precision = np.linalg.inv(covariance)
    return lambda t: -0.5 * np.einsum("...i,ij,...j->...", t - mean, precision, t - mean), precision


T1, T2 = np.linspace(-4, 5, 73), np.linspace(-5, 4, 69)
MEAN, COVARIANCE = np.array([0.7, -0.4]), np.array([[1.0, 0.8], [0.8, 1.5]])


def two_modes(t):
    return np.logaddexp(np.log(0.7) + correlated_gaussian(np.array([-1.5, 0.0]), 0.3 * np.eye(2))[0](t),
                        np.log(0.3) + correlated_gaussian(np.array([2.0, 1.0]), np.diag([0.2, 0.5]))[0](t))


def test_kl_and_its_gradient_are_the_grid_kl_and_its_derivative():
    log_post, cell = grid_posterior(two_modes, T1, T2)
    for params in (np.array([0.3, -0.2, -0.5, 0.4]), np.array([-1.4, 0.1, np.log(0.3), np.log(0.3)])):
        kl, gradient = vae_evaluation.kl_q_to_posterior_and_gradient(params, log_post, T1, T2, cell)
        assert kl == pytest.approx(vae_evaluation.kl_q_to_posterior_on_grid(log_post, T1, T2, cell,
                                                                            params[:2], params[2:]), rel=1e-10)
        steps = 1e-6 * np.eye(4)
        numeric = [(vae_evaluation.kl_q_to_posterior_and_gradient(params + h, log_post, T1, T2, cell)[0]
                    - vae_evaluation.kl_q_to_posterior_and_gradient(params - h, log_post, T1, T2, cell)[0]) / 2e-6
                   for h in steps]
        np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-7)


def test_best_q_of_a_correlated_gaussian_is_mean_field_theory():
    """For a Gaussian posterior the best diagonal q has its mean and variances 1 / (precision)_ii (Bishop 10.1.2)."""
    log_density, precision = correlated_gaussian(MEAN, COVARIANCE)
    t1, t2 = np.linspace(-7, 8, 201), np.linspace(-9, 8, 221)          # +-7 sd: no truncation at 1e-4
    log_post, cell = grid_posterior(log_density, t1, t2)
    mean, log_var, kl = vae_evaluation.fit_local_q(log_post, t1, t2, cell, np.array([1.5, 0.5]), np.zeros(2))
    np.testing.assert_allclose(mean, MEAN, atol=1e-4)
    np.testing.assert_allclose(np.exp(log_var), 1 / np.diag(precision), rtol=1e-3)
    # KL(q || p) = 1/2 log(det Sigma prod_i Lambda_ii) at that q
    assert kl == pytest.approx(0.5 * np.log(np.prod(np.diag(precision)) * np.linalg.det(COVARIANCE)), abs=1e-4)


@pytest.mark.parametrize("start_mean, start_log_var", [
    (np.array([-1.0, 0.2]), np.array([0.0, 0.0])),       # near the larger mode
    (np.array([1.5, 1.5]), np.array([-1.0, -0.5])),      # near the smaller one
    (np.array([0.0, -3.0]), np.array([1.0, 1.0])),       # wide and far off
])
def test_best_q_found_is_at_least_as_good_as_nelder_mead(start_mean, start_log_var):
    """The same optimum as the old search where it found the best one (within 1e-6 nats and 1e-3 in the parameters),
    never a worse KL where it did not."""
    log_post, cell = grid_posterior(two_modes, T1, T2)
    mean, log_var, kl = vae_evaluation.fit_local_q(log_post, T1, T2, cell, start_mean, start_log_var)
    nm_mean, nm_log_var, nm_kl = nelder_mead_local_q(log_post, T1, T2, cell, start_mean, start_log_var)
    assert kl <= nm_kl + 1e-6
    if abs(kl - nm_kl) < 1e-3:
        np.testing.assert_allclose(np.concatenate([mean, log_var]), np.concatenate([nm_mean, nm_log_var]), atol=1e-3)
    assert kl == pytest.approx(vae_evaluation.kl_q_to_posterior_on_grid(log_post, T1, T2, cell, mean, log_var))


# ----------------------------------------------------------------------------- on the shipped model's posteriors


@pytest.fixture(scope="module")
def shipped():
    from helpers import data, vae
    if not vae.shipped_weights("mnist").exists():
        pytest.skip("no shipped weights (data/vae-mnist-2d/vae.weights.h5)")
    _, (x_test, _) = data.load_mnist()
    return vae.load_model(vae.shipped_weights("mnist")), vae.prepare_images(x_test[:3])


def test_shared_decoding_gives_each_images_own_log_likelihood(shipped):
    """decoder_log_likelihoods decodes the points once for all images: the same numbers as each image's
    cross-entropy summed pixel by pixel (the path the quadrature took before)."""
    model, images = shipped
    t = np.random.default_rng(0).normal(0, 2, (50, 2))
    logits = np.asarray(model.decoder(t.astype("float32")), dtype=np.float64)
    one_by_one = [-distributions.bernoulli_nll_from_logits(np.broadcast_to(x, logits.shape).astype(np.float64), logits)
                  for x in images]
    np.testing.assert_allclose(vae_evaluation.decoder_log_likelihoods(model.decoder, images, t, batch_size=16),
                               one_by_one, rtol=1e-10)


def test_grids_of_many_images_are_each_images_grid(shipped):
    """One coarse look shared by the images inside the prior's square; an image whose q sticks out of it (here moved
    to t1 = 6) gets its own, wider look, and a grid that reaches that far."""
    model, images = shipped
    from helpers import vae
    means, log_vars = (np.asarray(a, dtype=np.float64) for a in vae.encode(model.encoder, images))
    means[2] = [6.0, 0.0]
    grids = vae_evaluation.posterior_grids(model.decoder, images, means, log_vars, coarse=21, points_per_sd=2)
    for grid, x, m, lv in zip(grids, images, means, log_vars, strict=True):
        alone = vae_evaluation.posterior_grid(model.decoder, x, m, lv, coarse=21, points_per_sd=2)
        for axis, axis_alone in zip(grid[:2], alone[:2], strict=True):
            np.testing.assert_allclose(axis, axis_alone, rtol=1e-12)
    assert grids[2][0].max() >= 6.0 + 6 * np.exp(0.5 * log_vars[2, 0]) - 1e-9
    with pytest.raises(ValueError, match="2-D latent space"):
        vae_evaluation.posterior_grids(model.decoder, images, means[:, :1], log_vars[:, :1])


def test_best_q_of_real_posteriors_matches_nelder_mead(shipped):
    """On the shipped model's posteriors of two test digits: the KL found is never worse than Nelder-Mead's from the
    same start (by more than 1e-6 nats), and where both reach the same optimum, the same q within 1e-3."""
    model, images = shipped
    from helpers import vae
    means, log_vars = (np.asarray(a, dtype=np.float64) for a in vae.encode(model.encoder, images[:2]))
    grids = vae_evaluation.posterior_grids(model.decoder, images[:2], means, log_vars, coarse=21, points_per_sd=2)
    for x, m, lv, (t1, t2, cell) in zip(images, means, log_vars, grids, strict=False):
        _, log_post = vae_evaluation.quadrature_log_px(model.decoder, x, t1, t2, cell)
        mean, log_var, kl = vae_evaluation.fit_local_q(log_post, t1, t2, cell, m, lv)
        nm_mean, nm_log_var, nm_kl = nelder_mead_local_q(log_post, t1, t2, cell, m, lv)
        assert kl <= nm_kl + 1e-6 and kl <= vae_evaluation.kl_q_to_posterior_on_grid(log_post, t1, t2, cell, m, lv)
        if abs(kl - nm_kl) < 1e-4:
            np.testing.assert_allclose(np.concatenate([mean, log_var]), np.concatenate([nm_mean, nm_log_var]),
                                       atol=1e-3)


def eager_log_joint(model, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """log p(x, t) = log p(x|t) + log p(t) of one image at points t (S, 2): an eager decoder call and the image's
    cross-entropy summed pixel by pixel (the one-image-at-a-time path the notebook took before batching)."""
    logits = np.asarray(model.decoder(t.astype("float32"), training=False), dtype=np.float64)
    image = np.broadcast_to(x, logits.shape).astype(np.float64)
    return -distributions.bernoulli_nll_from_logits(image, logits) + distributions.log_standard_normal(t)


def test_each_point_is_scored_against_its_own_image(shipped):
    """decoder_log_likelihood_pairs: point s with image owner[s], across decoder calls (batch_size 7 cuts the 30
    points into five calls whose points belong to different images)."""
    model, images = shipped
    t = np.random.default_rng(1).normal(0, 2, (30, 2))
    owner = np.random.default_rng(2).integers(0, len(images), 30)
    all_pairs = vae_evaluation.decoder_log_likelihoods(model.decoder, images, t)           # (3, 30)
    np.testing.assert_allclose(vae_evaluation.decoder_log_likelihood_pairs(model.decoder, images, owner, t,
                                                                           batch_size=7),
                               all_pairs[owner, np.arange(30)], atol=1e-4)   # float32 logits: batch-size round-off


def test_batched_quadrature_is_each_images_own(shipped):
    """quadrature_log_pxs on three images with grids of different sizes (decoded together, calls of 100 points that
    straddle two grids): each image's log p(x) and log posterior as a log-sum-exp over its own grid alone, from an
    eager decoder, to float32 round-off (1e-4 nats); and the posterior integrates to one on its grid."""
    model, images = shipped
    grids = [vae_evaluation.latent_grid(np.array([0.1, -0.3]), np.array([-2.0, -1.5]), half_width=4.0, n=21),
             vae_evaluation.latent_grid(np.array([-1.0, 0.5]), np.array([-3.0, -2.0]), half_width=4.0, n=17),
             vae_evaluation.latent_grid(np.array([0.8, 0.8]), np.array([-1.0, -2.5]), half_width=4.0, n=11)]
    grids[1] = (grids[1][0][:12], grids[1][1], grids[1][2])                             # a non-square grid too
    results = vae_evaluation.quadrature_log_pxs(model.decoder, images, grids, batch_size=100)
    for x, (t1, t2, cell), (log_px, log_post) in zip(images, grids, results, strict=True):
        t = np.column_stack([a.ravel() for a in np.meshgrid(t1, t2)])
        log_joint = eager_log_joint(model, x, t)
        expected = np.log(cell) + distributions.logsumexp(log_joint)
        assert log_px == pytest.approx(expected, abs=1e-4)
        assert log_post.shape == (len(t2), len(t1))
        np.testing.assert_allclose(log_post.ravel(), log_joint - expected, atol=1e-4)
        assert np.sum(np.exp(log_post)) * cell == pytest.approx(1.0, rel=1e-12)
        assert vae_evaluation.quadrature_log_px(model.decoder, x, t1, t2, cell)[0] == pytest.approx(log_px, abs=1e-9)


def test_importance_weights_of_many_images_draw_what_one_by_one_draws(shipped):
    """importance_log_weights_per_image draws eps (B, S, 2) in one go: the same samples as one image after the other
    from the same generator, so the same log w (float32 round-off) as an eager one-image reference."""
    model, images = shipped
    log_w, means, log_vars = vae_evaluation.importance_log_weights_per_image(model, images, 40,
                                                                             np.random.default_rng(5))
    assert log_w.shape == (3, 40) and means.shape == log_vars.shape == (3, 2)
    rng = np.random.default_rng(5)
    for x, row in zip(images, log_w, strict=True):
        mean, log_var = (np.asarray(a, dtype=np.float64)[0] for a in model.encoder(x[None], training=False))
        t = mean + np.exp(0.5 * log_var) * rng.standard_normal((40, 2))
        expected = eager_log_joint(model, x, t) - distributions.log_normal_diag(t, mean, log_var)
        np.testing.assert_allclose(row, expected, atol=1e-3)
