"""helpers.vae and helpers.train: loss terms, layers, saving, numerical safety, shipped weights."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from helpers import data, distributions, train, vae, vae_evaluation

keras = vae.keras
SHIPPED = vae.shipped_weights("mnist")


def test_kl_matches_monte_carlo_and_is_zero_at_the_prior():
    m, lv = np.array([[0.7, -1.2]]), np.array([[-0.5, 0.8]])
    t = m + np.exp(0.5 * lv) * np.random.default_rng(0).standard_normal((400_000, 2))
    mc = np.mean(distributions.log_normal_diag(t, m[0], lv[0]) - distributions.log_standard_normal(t))
    assert float(np.asarray(distributions.kl_standard_normal(m, lv))[0]) == pytest.approx(mc, abs=0.01)
    assert float(np.asarray(distributions.kl_standard_normal(np.zeros((1, 2)), np.zeros((1, 2))))[0]) == 0.0


def test_bce_from_logits_is_stable_and_correct():
    x = np.random.default_rng(1).random((2, 28, 28, 1)).astype("float32")
    logits = np.random.default_rng(2).normal(0, 3, (2, 28, 28, 1)).astype("float32")
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    naive = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=(1, 2, 3))
    np.testing.assert_allclose(np.asarray(distributions.bernoulli_nll_from_logits(x, logits)), naive, rtol=1e-4)
    huge = np.full((1, 28, 28, 1), 200.0, "float32")        # log(sigmoid) would give -inf here
    assert np.isfinite(np.asarray(distributions.bernoulli_nll_from_logits(np.zeros_like(huge), huge))).all()


def test_bounded_log_variance_keeps_the_kl_finite():
    layer = vae.BoundedLogVariance()
    out = np.asarray(layer(np.array([[1e4, -1e4, 0.5]], dtype="float32")))
    assert out.max() <= vae.LOG_VARIANCE_LIMIT and out.min() >= -vae.LOG_VARIANCE_LIMIT
    assert out[0, 2] == pytest.approx(0.5, abs=2e-3)
    kl = np.asarray(distributions.kl_standard_normal(np.zeros((1, 2), "float32"), out[:, :2]))
    assert np.isfinite(kl).all()


def test_sampling_layer_draws_from_q():
    m = np.tile(np.array([[1.0, -2.0]], "float32"), (50_000, 1))
    lv = np.tile(np.log(np.array([[0.25, 4.0]], "float32")), (50_000, 1))
    t = np.asarray(vae.Sampling(seed=0)([m, lv]))
    np.testing.assert_allclose(t.mean(0), [1.0, -2.0], atol=0.03)
    np.testing.assert_allclose(t.std(0), [0.5, 2.0], rtol=0.02)


def test_saved_model_reloads_in_safe_mode_with_identical_outputs(tmp_path):
    model = vae.build_vae(2, seed=3)
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    path = tmp_path / "vae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, vae.VAE) and isinstance(loaded.sampler, vae.Sampling)
    for a, b in zip(model.encoder(x), loaded.encoder(x), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    t = np.random.default_rng(1).standard_normal((4, 2)).astype("float32")
    np.testing.assert_array_equal(np.asarray(model.decoder(t)), np.asarray(loaded.decoder(t)))
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in loaded.encoder.layers + loaded.decoder.layers)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_short_training_never_gives_a_non_finite_loss(seed):
    (x_train, _), (x_test, _) = data.load_mnist()
    x = vae.prepare_images(x_train[seed * 1280:(seed + 1) * 1280])
    keras.utils.set_random_seed(seed)
    model = vae.build_vae(2, seed=seed)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.01))   # ten times the usual rate
    history = model.fit(x, x, batch_size=128, epochs=2, verbose=0)
    for key in ("loss", "reconstruction", "kl"):
        assert np.all(np.isfinite(history.history[key])), key


def test_prepare_images_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="expected images of shape"):
        vae.prepare_images(np.zeros((3, 784), np.uint8))


def test_training_entry_point_writes_history_provenance_and_weights(tmp_path):
    out = tmp_path / "run"
    assert train.main(["--epochs", "1", "--subset", "256", "--out", str(out)]) == 0
    history = json.loads((out / "history.json").read_text())
    provenance = json.loads((out / "provenance.json").read_text())
    assert len(history) == 1 and {"loss", "val_loss", "reconstruction", "kl"} <= set(history[0])
    assert provenance["command"].startswith("python -m helpers.train") and provenance["recipe"]["seed"] == 0
    assert (out / "checkpoints" / "epoch-01.weights.h5").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # weights only: no optimizer state to skip
        vae.load_trained_vae(out / "vae.weights.h5")


def test_missing_weights_say_how_to_train(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m helpers.train"):
        vae.load_trained_vae(tmp_path / "nothing.weights.h5")


@pytest.fixture(scope="module")
def shipped():
    return vae.load_trained_vae(SHIPPED)


def test_shipped_weights_reach_the_course_loss_on_the_test_set(shipped):
    """Recomputed from scratch on all 10,000 test images (one sample of t each), not read from the history."""
    _, (x_test, _) = data.load_mnist()
    terms = vae_evaluation.negative_elbo(shipped, vae.prepare_images(x_test), seed=0)
    print(f"shipped model, test set: {terms}")
    assert terms["loss"] <= 150.0
    assert terms["loss"] == pytest.approx(terms["reconstruction"] + terms["kl"])


def test_shipped_provenance_is_complete():
    provenance = json.loads((SHIPPED.parent / "provenance.json").read_text())
    assert provenance["recipe"]["epochs"] == 25 and len(provenance["history"]) == 25
    assert provenance["recipe"]["train_images"] == 60000
    assert {"command", "wall_seconds", "machine", "packages", "started_utc"} <= set(provenance)


def test_numpy_decoder_matches_keras(shipped):
    decoder = vae_evaluation.NumpyDecoder.from_keras(shipped.decoder)
    t = np.random.default_rng(0).normal(0, 2, (32, 2)).astype("float32")
    np.testing.assert_allclose(decoder.logits(t), np.asarray(shipped.decoder(t))[..., 0], atol=1e-3)
    np.testing.assert_allclose(decoder(t), vae.decode(shipped.decoder, t), atol=1e-5)


def test_three_ways_to_log_p_x_agree(shipped):
    _, (x_test, _) = data.load_mnist()
    x = vae.prepare_images(x_test[:1])[0]
    log_w, m, lv = vae_evaluation.importance_log_weights(shipped, x, 5000, np.random.default_rng(0))
    t1, t2, cell = vae_evaluation.latent_grid(m, lv)
    log_px, log_post = vae_evaluation.quadrature_log_px(shipped.decoder, x, t1, t2, cell)
    kl = vae_evaluation.kl_q_to_posterior_on_grid(log_post, t1, t2, cell, m, lv)
    elbo = float(log_w.mean())
    assert kl > 0 and elbo < log_px
    assert abs(log_px - (elbo + kl)) < 0.2                          # eq. 5
    assert elbo < vae_evaluation.importance_weighted_bound(log_w, 100) < log_px + 0.2
    assert abs(vae_evaluation.importance_weighted_bound(log_w, 5000) - log_px) < 0.5
    assert np.exp(log_post).sum() * cell == pytest.approx(1.0, abs=1e-6)


def test_importance_weighted_bound_groups():
    log_w = np.log(np.array([1.0, 3.0, 2.0, 2.0]))
    assert vae_evaluation.importance_weighted_bound(log_w, 1) == pytest.approx(np.mean(log_w))
    assert vae_evaluation.importance_weighted_bound(log_w, 2) == pytest.approx(np.log(2.0))
    with pytest.raises(ValueError):
        vae_evaluation.importance_weighted_bound(log_w, 5)


@pytest.mark.skipif(not (data.DEBIAN_FASHION_DIR / data.FASHION_FILES["x_train"]).exists(),
                    reason="Fashion-MNIST is not installed (sudo apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_is_a_one_word_switch():
    model, history = train.train(epochs=1, dataset="fashion", subset=512, verbose=0)
    assert np.isfinite(history[-1]["val_loss"]) and history[-1]["val_loss"] < 550
    assert not vae.shipped_weights("fashion").exists()     # notebook 04 then analyses the live model
