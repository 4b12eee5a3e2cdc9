"""helpers.vae and helpers.train: loss terms, layers, saving, numerical safety, shipped weights."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest

from helpers import data, distributions, train, vae, vae_evaluation
from helpers.backend import keras

SHIPPED = vae.shipped_weights("mnist")


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


@pytest.mark.parametrize(("images", "message"), [
    (np.zeros((3, 784), np.uint8), r"expected shape \(n, 28, 28\).*reshape"),
    (np.zeros((28, 28), np.uint8), r"leading axis"),
    (np.zeros((3, 28, 28), np.float32), "expected dtype uint8.*already scaled"),
])
def test_prepare_images_rejects_wrong_shapes_and_dtypes(images, message):
    with pytest.raises(ValueError, match=message):
        vae.prepare_images(images)


def test_a_loss_fn_in_the_exercises_signature_gives_the_same_loss_as_the_default():
    """VAE(loss_fn=negative_elbo_per_image) calls it on x and logits (B, 28, 28): the same numbers as the default."""
    x = np.random.default_rng(0).random((5, 28, 28, 1)).astype("float32")
    default, given = vae.build_vae(2, seed=0), vae.build_vae(2, seed=0, loss_fn=vae.negative_elbo_per_image)
    given.set_weights(default.get_weights())
    out = default(x)
    assert float(given.compute_loss(x, x, out)) == float(default.compute_loss(x, x, out))
    halved = vae.build_vae(2, seed=0, loss_fn=lambda *args: 0.5 * vae.negative_elbo_per_image(*args))
    assert float(halved.compute_loss(x, x, out)) == pytest.approx(0.5 * float(default.compute_loss(x, x, out)))
    with pytest.raises(ValueError, match="leave beta at 1"):
        vae.build_vae(2, beta=4.0, loss_fn=vae.negative_elbo_per_image)
    with pytest.raises(ValueError, match="autoencoder's loss"):
        vae.build_model("autoencoder", loss_fn=vae.negative_elbo_per_image)


def _loss_in_keras_ops(x, logits, t_mean, log_var):
    ops = keras.ops
    bce = ops.maximum(logits, 0) - logits * x + ops.log1p(ops.exp(-ops.abs(logits)))
    return ops.sum(bce, axis=(1, 2)) - 0.5 * ops.sum(1 + log_var - t_mean**2 - ops.exp(log_var), axis=1)


def _loss_in_numpy(x, logits, t_mean, log_var):
    bce = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
    return bce.reshape(len(x), -1).sum(axis=1) - 0.5 * np.sum(1 + log_var - t_mean**2 - np.exp(log_var), axis=1)


def _loss_reshaped_by_len(x, logits, t_mean, log_var):
    ops = keras.ops        # len(x) of a symbolic tensor: autograph, in fit and here, makes it the batch size
    bce = ops.maximum(logits, 0) - logits * x + ops.log1p(ops.exp(-ops.abs(logits)))
    return ops.sum(ops.reshape(bce, (len(x), -1)), axis=1) + distributions.kl_standard_normal(t_mean, log_var)


def _loss_reshaped_by_static_shape(x, logits, t_mean, log_var):
    ops = keras.ops        # x.shape[0] is None when training traces the loss
    bce = ops.maximum(logits, 0) - logits * x + ops.log1p(ops.exp(-ops.abs(logits)))
    return ops.sum(ops.reshape(bce, (x.shape[0], 784)), axis=1) + distributions.kl_standard_normal(t_mean, log_var)


def _loss_with_numpy_methods(x, logits, t_mean, log_var):
    ops = keras.ops
    bce = ops.maximum(logits, 0) - logits * x + ops.log1p(ops.exp(-ops.abs(logits)))
    return bce.reshape(len(x), -1).sum(axis=1) + distributions.kl_standard_normal(t_mean, log_var)


def _loss_summed_over_an_axis_too_many(x, logits, t_mean, log_var):
    return keras.ops.sum(logits * x, axis=(1, 2, 3)) + distributions.kl_standard_normal(t_mean, log_var)


def _loss_averaged_over_the_batch(x, logits, t_mean, log_var):
    return keras.ops.mean(_loss_in_keras_ops(x, logits, t_mean, log_var))


def _loss_without_gradient(x, logits, t_mean, log_var):
    return keras.ops.stop_gradient(_loss_in_keras_ops(x, logits, t_mean, log_var))


@pytest.mark.parametrize(("loss_fn", "problem"), [
    (vae.negative_elbo_per_image, None),
    (_loss_in_keras_ops, None),
    (_loss_in_numpy, "uses numpy, which Keras cannot differentiate: write it with keras.ops"),
    (_loss_reshaped_by_len, None),
    (_loss_reshaped_by_static_shape, "uses the batch size as a number (x.shape[0], len(x)), but training calls it"),
    (_loss_with_numpy_methods, "uses numpy, which Keras cannot differentiate"),
    (_loss_summed_over_an_axis_too_many, "raises "),
    (_loss_averaged_over_the_batch, "returns shape () on Keras tensors, not one loss per image (B,)"),
    (_loss_without_gradient, "gives Keras no gradient with respect to logits, t_mean, log_var"),
])
def test_a_loss_keras_cannot_train_on_is_detected_before_training(loss_fn, problem):
    found = vae.loss_problem(loss_fn)
    assert found == problem if problem is None else found.startswith(problem), found


def test_importance_weighted_bounds_of_many_images_are_each_images_bound():
    log_w = np.random.default_rng(0).normal(-300.0, 3.0, size=(4, 50))       # 50 = 5 groups of 10 for k = 10
    for k in (1, 10, 50):
        one_by_one = [vae_evaluation.importance_weighted_bound_and_error(row, k) for row in log_w]
        np.testing.assert_allclose(vae_evaluation.importance_weighted_bounds(log_w, k), [b for b, _ in one_by_one])
        errors = vae_evaluation.bound_standard_error(vae_evaluation.importance_weighted_bounds, log_w, k)
        np.testing.assert_allclose(errors, [e for _, e in one_by_one])
    assert np.isnan(errors).all()                                             # k = S: one group, no spread
    groups = vae_evaluation.importance_weighted_groups(np.log([[1.0, 3.0, 2.0, 6.0, 7.0]]), 2)   # the 7 left out
    np.testing.assert_allclose(groups, np.log([[2.0, 4.0]]))                 # consecutive pairs, mean weights


@pytest.fixture(scope="module")
def small_mnist():
    """MNIST cut to its first 512 training and 512 test images, for the entry point's runs: validating or measuring
    on all 10,000 test images proves nothing more about writing files and choosing checkpoints than 512 do."""
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(data.DATASETS, "mnist", lambda: ((x_train[:512], y_train[:512]), (x_test[:512], y_test[:512])))
        yield


@pytest.fixture(scope="module")
def trained_run(small_mnist, tmp_path_factory):
    """The module's one training run through the entry point: 2 epochs, 384 training and 128 validation images."""
    run = tmp_path_factory.mktemp("train") / "run"
    assert train.main(["--epochs", "2", "--subset", "512", "--validation-images", "128", "--out", str(run)]) == 0
    return run


def test_training_entry_point_writes_history_provenance_and_weights(trained_run):
    history = json.loads((trained_run / "history.json").read_text())
    provenance = json.loads((trained_run / "provenance.json").read_text())
    assert len(history) == 2 and all({"loss", "val_loss", "reconstruction", "kl"} <= set(row) for row in history)
    assert provenance["command"].startswith("python -m helpers.train") and provenance["recipe"]["seed"] == 0
    assert provenance["recipe"]["train_images"] == 384 and provenance["history"] == history
    assert sorted(p.name for p in (trained_run / "checkpoints").iterdir()) == ["epoch-01.weights.h5",
                                                                             "epoch-02.weights.h5"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # weights only: no optimizer state to skip
        vae.load_model(trained_run / "vae.weights.h5")


def test_selection_uses_the_validation_split_and_refuses_runs_validated_on_test(small_mnist, trained_run, tmp_path):
    assert train.main(["--select", str(trained_run), "--out", str(tmp_path / "chosen")]) == 0
    selection = json.loads((tmp_path / "chosen" / "provenance.json").read_text())["selection"]
    assert [row["epoch"] for row in selection["table"]] == [1, 2]
    assert selection["chosen"]["epoch"] == min(selection["table"], key=lambda r: r["validation_loss"])["epoch"]
    test_loss = selection["test_loss"]           # train.objective: beta = 1, so loss is the -ELBO
    assert set(test_loss) == {"loss", "reconstruction", "kl", "neg_elbo"}
    assert test_loss["neg_elbo"] == pytest.approx(test_loss["loss"]) == pytest.approx(test_loss["reconstruction"]
                                                                                      + test_loss["kl"])
    vae.load_model(tmp_path / "chosen" / "vae.weights.h5")
    test_validated = tmp_path / "old"                      # the same run, as if trained without --validation-images
    shutil.copytree(trained_run, test_validated)
    provenance = json.loads((test_validated / "provenance.json").read_text())
    provenance["recipe"]["validation_images"] = 0
    (test_validated / "provenance.json").write_text(json.dumps(provenance))
    with pytest.raises(ValueError, match="validated on the test set"):
        train.select_checkpoint([trained_run, test_validated])


def test_missing_weights_say_how_to_train(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m helpers.train"):
        vae.load_model(tmp_path / "nothing.weights.h5")


def test_corrupt_weights_are_reported_as_corrupt(tmp_path):
    bad = tmp_path / "vae.weights.h5"
    bad.write_bytes(SHIPPED.read_bytes()[:5000])          # a truncated download
    with pytest.raises(ValueError, match="not a readable HDF5 weights file.*corrupt or truncated"):
        vae.load_model(bad)


def test_weights_of_another_latent_dim_name_the_right_one(tmp_path):
    path = tmp_path / "d3.weights.h5"
    vae.save_inference_weights(vae.build_vae(3, compile=False), path)
    with pytest.raises(ValueError, match="for latent_dim=3, not latent_dim=2; pass latent_dim=3"):
        vae.load_model(path, latent_dim=2)
    assert vae.load_model(path, latent_dim=3).encoder.output[0].shape[-1] == 3


def test_shipped_weights_honour_the_data_dir_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("EM2VAE_DATA_DIR", str(tmp_path))
    assert vae.shipped_weights("mnist") == tmp_path / "vae-mnist-2d" / "vae.weights.h5"


@pytest.fixture(scope="module")
def shipped():
    return vae.load_model(SHIPPED)


def test_shipped_weights_reach_the_course_loss_on_the_test_set(shipped):
    """Recomputed from scratch on all 10,000 test images (one sample of t each), not read from the history.

    The course text's run ends at 147.98 (validated on the test set itself, 60,000 training images). The shipped
    model trained on 55,000 and was chosen on the other 5,000 (2 seeds x 25 epochs), so the test set is an honest
    measurement here: 149.11. The bound 149.5 guards that result; the previous weights (149.89) fail it."""
    _, (x_test, _) = data.load_mnist()
    terms = vae_evaluation.negative_elbo(shipped, vae.prepare_images(x_test), seed=0)
    print(f"shipped model, test set: {terms}")
    assert terms["loss"] <= 149.5
    assert terms["loss"] == pytest.approx(terms["reconstruction"] + terms["kl"])
    provenance = json.loads((SHIPPED.parent / "provenance.json").read_text())
    assert terms["loss"] == pytest.approx(provenance["selection"]["test_loss"]["loss"], abs=1e-3)


def test_shipped_provenance_is_complete():
    provenance = json.loads((SHIPPED.parent / "provenance.json").read_text())
    assert provenance["recipe"]["epochs"] == 25 and len(provenance["history"]) == 25
    assert provenance["recipe"]["train_images"] + provenance["recipe"]["validation_images"] == 60000
    assert {"command", "wall_seconds", "machine", "packages", "started_utc", "selection"} <= set(provenance)
    selection = provenance["selection"]
    best = min(selection["table"], key=lambda row: row["validation_loss"])
    assert (best["seed"], best["epoch"]) == (selection["chosen"]["seed"], selection["chosen"]["epoch"])
    assert "test" not in json.dumps(selection["table"])      # the table that chose holds validation numbers only


def test_numpy_decoder_matches_keras(shipped):
    decoder = vae_evaluation.NumpyDecoder.from_keras(shipped.decoder)
    t = np.random.default_rng(0).normal(0, 2, (32, 2)).astype("float32")
    np.testing.assert_allclose(decoder.logits(t), np.asarray(shipped.decoder(t))[..., 0], atol=1e-3)
    np.testing.assert_allclose(decoder(t), vae.decode(shipped.decoder, t), atol=1e-5)


def test_numpy_decoder_follows_decoder_grid(monkeypatch):
    """vae.DECODER_GRID is the one place that sets the decoder's first feature map: change it, and the numpy
    decoder still matches the Keras one (here a 7 x 7 x 8 map, decoded to 14 x 14 pixels)."""
    monkeypatch.setattr(vae, "DECODER_GRID", (7, 7, 8))
    monkeypatch.setattr(vae_evaluation, "DECODER_GRID", (7, 7, 8))
    keras.utils.set_random_seed(0)
    decoder = vae.build_decoder(2)
    t = np.random.default_rng(0).normal(0, 1, (4, 2)).astype("float32")
    expected = np.asarray(decoder(t))[..., 0]
    assert expected.shape == (4, 14, 14)
    np.testing.assert_allclose(vae_evaluation.NumpyDecoder.from_keras(decoder).logits(t), expected, atol=1e-4)


def test_numpy_decoder_is_quiet_and_bounded_far_from_the_codes(shipped):
    """Notebook 05 decodes along a ray far outside the clusters: logits there are large, exp(-logit) would overflow."""
    decoder = vae_evaluation.NumpyDecoder.from_keras(shipped.decoder)
    t = np.array([[0.6, 0.8]], dtype="float32") * np.array([[1.0], [1e2], [1e4]], dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probabilities = decoder(t)
    assert np.all(np.isfinite(probabilities)) and probabilities.min() >= 0.0 and probabilities.max() <= 1.0


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
    l_100, se_100 = vae_evaluation.importance_weighted_bound_and_error(log_w, 100)
    assert elbo < l_100 < log_px + 0.2 and 0 < se_100 < 0.5
    l_5000, se_5000 = vae_evaluation.importance_weighted_bound_and_error(log_w, 5000)
    assert abs(l_5000 - log_px) < 0.5 and np.isnan(se_5000)            # one group: no standard error
    assert np.exp(log_post).sum() * cell == pytest.approx(1.0, abs=1e-6)


def test_importance_weighted_bound_groups_and_its_standard_error():
    log_w = np.log(np.array([1.0, 3.0, 2.0, 2.0, 5.0]))            # the fifth is left out for k = 2
    bound, error = vae_evaluation.importance_weighted_bound_and_error(log_w, 1)
    assert bound == pytest.approx(np.mean(log_w)) and error == pytest.approx(np.std(log_w, ddof=1) / np.sqrt(5))
    bound, error = vae_evaluation.importance_weighted_bound_and_error(log_w, 2)   # groups log 2 and log 2: no spread
    assert bound == pytest.approx(np.log(2.0)) and error == pytest.approx(0.0)
    groups = np.log([1.5, 3.5])
    bound, error = vae_evaluation.importance_weighted_bound_and_error(np.log([1.0, 2.0, 3.0, 4.0]), 2)
    assert bound == pytest.approx(groups.mean()) and error == pytest.approx(groups.std(ddof=1) / np.sqrt(2))
    assert np.isnan(vae_evaluation.importance_weighted_bound_and_error(log_w, 3)[1])   # one group of 3
    for bad_k, message in ((6, "need at least k=6 samples"), (0, "positive integer"), (2.0, "positive integer")):
        with pytest.raises(ValueError, match=message):
            vae_evaluation.importance_weighted_bound_and_error(log_w, bad_k)
    with pytest.raises(ValueError, match=r"one image's log weights \(S,\)"):
        vae_evaluation.importance_weighted_bound_and_error(log_w[None], 1)


@pytest.mark.skipif(not (data.DEBIAN_FASHION_DIR / data.FASHION_FILES["x_train"]).exists(),
                    reason="Fashion-MNIST is not installed (sudo apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_is_a_one_word_switch():
    """An untrained VAE scores about 784 ln 2 = 543 nats; two short epochs measured 398 here, so 450 can fail."""
    model, history = train.train(epochs=2, dataset="fashion", subset=2048, verbose=0)
    assert history[-1]["val_loss"] < 450
    assert not vae.shipped_weights("fashion").exists()     # notebook 04 then analyses the live model
