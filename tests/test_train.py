"""helpers.train beyond the course recipe: beta, the autoencoder, resuming, selection on a subset's split."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import data, distributions, train, vae, vae_evaluation


def _x(n=5, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28, 1)).astype("float32")


@pytest.mark.parametrize("beta", [1.0, 4.0, 0.0], ids=["the ELBO", "a beta-VAE", "the beta = 0 control"])
def test_the_loss_is_the_batch_mean_of_reconstruction_plus_beta_times_kl(beta):
    """compute_loss is eq. 16's reconstruction + beta x eq. 17's KL, from helpers.distributions, batch-averaged."""
    model = vae.build_vae(2, seed=0, beta=beta)
    x = _x()
    out = model(x)
    rec = distributions.bernoulli_nll_from_logits(x.astype(float), np.asarray(out["logits"], float))
    kl = distributions.kl_standard_normal(np.asarray(out["t_mean"], float), np.asarray(out["log_var"], float))
    assert float(model.compute_loss(x, x, out)) == pytest.approx(np.mean(rec + beta * kl), rel=1e-5)


def test_autoencoder_has_one_code_and_a_reconstruction_loss_only():
    model = vae.build_autoencoder(3)
    x = _x()
    out = model(x)
    assert set(out) == {"logits", "t_mean"} and out["t_mean"].shape == (5, 3)
    rec = distributions.bernoulli_nll_from_logits(x.astype(float), np.asarray(out["logits"], float))
    assert float(model.compute_loss(x, x, out)) == pytest.approx(np.mean(rec), rel=1e-5)
    assert vae_evaluation.reconstruction_nll(model, x) == pytest.approx(np.mean(rec), rel=1e-5)
    with pytest.raises(ValueError, match="no KL term"):
        vae.build_model("autoencoder", beta=4.0)


def test_weights_of_the_other_kind_are_named(tmp_path):
    ae_path, vae_path = tmp_path / "ae.weights.h5", tmp_path / "vae.weights.h5"
    vae.save_inference_weights(vae.build_autoencoder(2, compile=False), ae_path)
    vae.save_inference_weights(vae.build_vae(2, compile=False), vae_path)
    with pytest.raises(ValueError, match=r"ae.weights.h5: this file holds kind='autoencoder'.*not kind='vae'"):
        vae.load_model(ae_path, kind="vae")
    with pytest.raises(ValueError, match=r"holds kind='vae'.*not kind='autoencoder'"):
        vae.load_model(vae_path, kind="autoencoder")
    assert isinstance(vae.load_model(ae_path, kind="autoencoder"), vae.Autoencoder)
    assert isinstance(vae.load_model(ae_path), vae.Autoencoder)       # left open, the kind is what the file holds
    assert isinstance(vae.load_model(vae_path), vae.VAE)


def test_a_model_folder_whose_weights_contradict_its_provenance_is_refused(tmp_path):
    folder = tmp_path / "ae-mnist-2d"
    folder.mkdir()
    vae.save_inference_weights(vae.build_vae(8, compile=False), folder / "vae.weights.h5")
    recipe = {"kind": "autoencoder", "latent_dim": 2, "beta": 1.0}
    (folder / "provenance.json").write_text(json.dumps({"recipe": recipe}))
    with pytest.raises(ValueError, match=r"vae.weights.h5: these weights are for latent_dim=8.*provenance.json says"):
        vae.load_model(folder)
    recipe["latent_dim"] = 8
    (folder / "provenance.json").write_text(json.dumps({"recipe": recipe}))
    with pytest.raises(ValueError, match=r"holds kind='vae'.*provenance.json says kind='autoencoder'"):
        vae.load_model(folder)
    with pytest.raises(ValueError, match=r"provenance.json says beta=1.0, not beta=4.0"):
        vae.load_model(folder, beta=4.0)


def test_resume_continues_from_the_last_checkpoint_with_the_optimizer_state(tmp_path):
    out = tmp_path / "run"
    args = ["--subset", "300", "--validation-images", "44", "--out", str(out)]
    assert train.main(["--epochs", "1", *args]) == 0
    assert train.main(["--epochs", "2", "--resume", *args]) == 0
    history = json.loads((out / "provenance.json").read_text())["history"]
    assert [row["epoch"] for row in history] == [1, 2]
    resumed = vae.build_vae(2)
    resumed.optimizer.build(resumed.trainable_variables)
    resumed.load_weights(out / "checkpoints" / "epoch-02.weights.h5")
    assert int(resumed.optimizer.iterations) == 2 * 2          # 256 images, batch 128: two steps an epoch


def test_selection_scores_a_subset_run_on_its_own_validation_images(tmp_path, monkeypatch):
    run = tmp_path / "run"
    assert train.main(["--epochs", "1", "--subset", "400", "--validation-images", "100", "--out", str(run)]) == 0
    recipe = json.loads((run / "provenance.json").read_text())["recipe"]
    assert recipe["subset"] == 400 and recipe["train_images"] == 300
    seen = []
    real = vae_evaluation.negative_elbo
    monkeypatch.setattr(vae_evaluation, "negative_elbo", lambda model, x, **kw: seen.append(x) or real(model, x, **kw))
    train.select_checkpoint([run])
    (x_train, _), _ = data.load_mnist()
    np.testing.assert_array_equal(seen[0], vae.prepare_images(x_train[300:400]))


def test_a_loss_curve_depends_on_the_loss_function_only():
    """Same seed, same batches: the course's loss passed as loss_fn gives the default's curve; a wrong loss does not."""
    (x_train, _), _ = data.load_mnist()
    x = vae.prepare_images(x_train[:192])                          # three batches of 64
    default = train.loss_curve(x, batch_size=64)
    assert default["loss"].shape == (3,) and np.all(np.isfinite(default["loss"]))
    np.testing.assert_allclose(default["loss"], default["reconstruction"] + default["kl"], rtol=1e-6)
    given = train.loss_curve(x, vae.negative_elbo_per_image, batch_size=64)
    for key in default:
        np.testing.assert_allclose(given[key], default[key], rtol=1e-6)
    without_kl = train.loss_curve(x, lambda x, logits, m, v: distributions.bernoulli_nll_from_logits(x, logits),
                                  batch_size=64)
    assert without_kl["loss"][0] < default["loss"][0]             # the same initial weights: the KL term is positive
    assert np.all(without_kl["loss"] != default["loss"])
    np.testing.assert_allclose(without_kl["loss"], without_kl["reconstruction"], rtol=1e-6)   # the -ELBO's terms
    assert np.all(without_kl["kl"] > 0)                                                       # are still tracked


def test_a_run_still_training_can_be_selected_provisionally_and_says_so(tmp_path, capsys):
    """--select of a run in progress (its provenance has the recipe but no history yet) takes the history so far from
    history.json and keeps in_progress: true, so such a choice cannot pass for a finished one; --trained-by is kept."""
    run, chosen = tmp_path / "run", tmp_path / "chosen"
    assert train.main(["--epochs", "1", "--subset", "300", "--validation-images", "100", "--out", str(run)]) == 0
    provenance = json.loads((run / "provenance.json").read_text())
    running = {key: provenance[key] for key in ("command", "recipe", "started_utc")} | {"in_progress": True}
    (run / "provenance.json").write_text(json.dumps(running))
    assert train.main(["--select", str(run), "--trained-by", "a 2-core CPU, tensorflow", "--out", str(chosen)]) == 0
    assert "still training: this choice is provisional" in capsys.readouterr().out
    selected = json.loads((chosen / "provenance.json").read_text())
    assert selected["in_progress"] is True and selected["trained_by"] == "a 2-core CPU, tensorflow"
    assert [row["epoch"] for row in selected["history"]] == [1]
    with pytest.raises(SystemExit):
        train.main(["--trained-by", "somewhere", "--out", str(tmp_path / "x")])
