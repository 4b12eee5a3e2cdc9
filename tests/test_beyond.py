"""helpers.beyond (notebook 06): the shipped models, rate and distortion, holes, path roughness, bounds."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import beyond, data, exercises, latent, vae, vae_evaluation


@pytest.fixture(scope="module")
def test_images():
    (_, _), (x_test, y_test) = data.load_mnist()
    return vae.prepare_images(x_test[:500]), y_test[:500]


def test_every_model_folder_loads_as_its_provenance_says():
    for name in beyond.MODELS:
        model, provenance = beyond.load(name)
        recipe = provenance["recipe"]
        assert isinstance(model, vae.Autoencoder if recipe["kind"] == "autoencoder" else vae.VAE), name
        assert model.decoder.input.shape[-1] == recipe["latent_dim"], name
        if recipe["kind"] == "vae":
            assert model.beta == recipe["beta"], name
    with pytest.raises(ValueError, match="expected one of"):
        beyond.load("vae-mnist-3d")


def test_every_shipped_model_is_a_finished_run_chosen_on_its_validation_split():
    """A selection made while its run was still training (``--select`` of a run in progress, for a provisional
    look) says ``in_progress: true``: such a folder must not ship, nor one chosen from fewer epochs than its recipe."""
    for name in beyond.MODELS:
        provenance = vae.read_provenance(data.data_dir() / name)       # the record only: no weights loaded
        recipe, selection = provenance["recipe"], provenance["selection"]
        assert provenance["in_progress"] is False, f"{name}: chosen from a run still in progress"
        assert [row["epoch"] for row in provenance["history"]] == list(range(1, recipe["epochs"] + 1)), name
        assert sorted(row["epoch"] for row in selection["table"]) == list(range(1, recipe["epochs"] + 1)), name
        assert recipe["validation_images"] == 5000 and recipe["seed"] == 0 and recipe["epochs"] == 25, name
        backend = provenance["packages"]["keras_backend"]
        assert backend in provenance.get("trained_by", "").lower(), f"{name}: trained_by should say where and how"


def test_the_beta0_control_has_q_noise_and_no_kl_term(test_images):
    """beta = 0 is the VAE's loss without the KL term: the same encoder with its log-variance head, so a rate can be
    measured, and nothing pulls the codes in: its rate is far above the beta = 0.5 model's, its codes spread wider."""
    x, _ = test_images
    control, provenance = beyond.load("vae-mnist-2d-beta0")
    assert isinstance(control, vae.VAE) and control.beta == 0.0 and provenance["recipe"]["beta"] == 0.0
    zero, half = (beyond.evaluate(beyond.load(name)[0], x) for name in ("vae-mnist-2d-beta0", "vae-mnist-2d-beta0.5"))
    assert zero["rate"] > 2 * half["rate"]
    spread = [beyond.moment_matched_kl(*beyond.aggregate_moments(r["t_mean"], r["log_var"])) for r in (zero, half)]
    assert spread[0] > 5 * spread[1]


def test_moment_matched_kl_is_zero_for_the_prior_and_exact_for_a_gaussian():
    assert beyond.moment_matched_kl(np.zeros(3), np.eye(3)) == 0.0
    mean, covariance = np.array([1.0, -2.0]), np.array([[2.0, 0.5], [0.5, 1.0]])
    # KL(N(mu, C) || N(0, I)) = 1/2 (tr C + |mu|^2 - D - log det C), with det C = 1.75
    assert beyond.moment_matched_kl(mean, covariance) == pytest.approx(0.5 * (3.0 + 5.0 - 2 - np.log(1.75)))
    with pytest.raises(ValueError, match="positive definite"):
        beyond.moment_matched_kl(np.zeros(2), np.ones((2, 2)))


def test_aggregate_moments_add_q_spread_to_the_spread_of_the_means():
    rng = np.random.default_rng(0)
    t_mean = rng.standard_normal((4000, 2)) * [2.0, 0.5] + [1.0, 0.0]
    log_var = np.full((4000, 2), np.log(0.25))
    mean, covariance = beyond.aggregate_moments(t_mean, log_var)
    assert mean == pytest.approx([1.0, 0.0], abs=0.1)
    assert np.diag(covariance) == pytest.approx([4.25, 0.5], rel=0.08)
    assert np.diag(beyond.aggregate_moments(t_mean)[1]) == pytest.approx([4.0, 0.25], rel=0.08)   # point codes


def test_log_code_mixture_is_the_aggregate_posterior_of_notebook_05():
    """The same density as latent.log_aggregate_posterior (Exercise 5.1's reference), computed by matrix products,
    also for narrow q's far from the origin (where expanding the square could lose the difference)."""
    rng = np.random.default_rng(2)
    for scale, level in [(1.0, 0.0), (40.0, np.log(1e-4))]:
        t_mean = scale * rng.standard_normal((300, 5))
        log_var = level + 0.5 * rng.standard_normal((300, 5))
        t = np.concatenate([t_mean[:20] + 0.01 * rng.standard_normal((20, 5)), rng.standard_normal((20, 5))])
        assert beyond.log_code_mixture(t, t_mean, log_var) == pytest.approx(
            latent.log_aggregate_posterior(t, t_mean, log_var), rel=1e-9, abs=1e-6)


def test_mixture_kl_brackets_the_mismatch_and_shows_its_finite_sample_excess():
    """Codes whose q's are the prior itself: KL = 0 exactly. Spikes spread exactly like the prior: the moments see
    no mismatch, but the mixture of N spikes has KL near rate - log N, falling as N grows."""
    rng = np.random.default_rng(0)
    kl, error = beyond.mixture_kl(np.zeros((50, 2)), np.zeros((50, 2)), n_samples=500)
    assert abs(kl) < 1e-9 and error < 1e-9
    means, log_vars = rng.standard_normal((8000, 2)), np.full((8000, 2), np.log(1e-4))
    assert beyond.moment_matched_kl(*beyond.aggregate_moments(means, log_vars)) < 0.01
    rate = float(np.mean(kl_prior := 0.5 * np.sum(means**2 + np.exp(log_vars) - 1 - log_vars, axis=1)))
    assert kl_prior.shape == (8000,)
    small = beyond.mixture_kl(means[:500], log_vars[:500], n_samples=500)[0]
    large = beyond.mixture_kl(means, log_vars, n_samples=500)[0]
    assert small == pytest.approx(rate - np.log(500), abs=0.3)
    assert 0.01 < large < small - 1.5


def test_larger_beta_buys_less_rate_for_more_distortion(test_images):
    """Each beta model's rate falls and its distortion rises with beta (on 500 test images): a mix-up of the
    folders, or a loss that ignored beta, would break the order."""
    x, _ = test_images                                      # beta = 1 ... 8 (BETA_MODELS[0] is beta = 0)
    measured = [beyond.rate_and_distortion(beyond.load(name)[0], x) for name in beyond.BETA_MODELS[2:]]
    rates, distortions = [m["rate"] for m in measured], [m["distortion"] for m in measured]
    assert rates == sorted(rates, reverse=True) and distortions == sorted(distortions)
    ae = beyond.rate_and_distortion(beyond.load("ae-mnist-2d")[0], x)
    assert ae["rate"] == float("inf") and ae["distortion"] < min(distortions)


def test_prior_hole_fraction_sees_an_empty_prior_and_a_full_one():
    rng = np.random.default_rng(1)
    assert beyond.prior_hole_fraction(rng.standard_normal((50_000, 2)), radius=0.1, n_samples=2000) < 0.02
    assert beyond.prior_hole_fraction(rng.standard_normal((50_000, 2)) + 8.0, radius=0.1, n_samples=2000) > 0.99


def test_path_roughness_of_an_even_change_and_of_a_jump():
    ramp = np.linspace(0, 1, 11)[:, None, None] * np.ones((11, 28, 28))
    assert beyond.path_roughness(ramp)["largest_step_share"] == pytest.approx(0.1)
    jump = np.zeros((11, 28, 28))
    jump[6:] = 1.0
    assert beyond.path_roughness(jump)["largest_step_share"] == pytest.approx(1.0)


def test_the_importance_weighted_bound_lies_between_the_elbo_and_the_quadrature(test_images):
    """L_1000 must beat a one-sample ELBO on average and stay below log p(x) computed on a grid (2-D).

    One estimate of L_k is the log of a mean of k weights, which can land above log p(x); its expectation cannot.
    So the comparison with the grid uses the mean of 20 groups of 1000 samples and its standard error.
    """
    x, _ = test_images
    model, _ = beyond.load("vae-mnist-2d-beta1")
    lk = beyond.marginal_likelihood_bounds(model, x[:4], k=1000)
    assert lk.mean() > -vae_evaluation.negative_elbo(model, x[:4])["loss"]
    rng = np.random.default_rng(0)
    for image in x[:4]:
        log_w, t_mean, log_var = vae_evaluation.importance_log_weights(model, image, 20_000, rng)
        l_1000, error = vae_evaluation.importance_weighted_bound_and_error(log_w, 1000)    # 20 groups of 1000
        log_px, _ = vae_evaluation.quadrature_log_px(model.decoder, image,
                                                     *vae_evaluation.latent_grid(t_mean, log_var))
        assert l_1000 <= log_px + 3 * error


def test_wider_models_switch_dimensions_off(test_images):
    x, _ = test_images
    t_means, _ = vae.encode(beyond.load("vae-mnist-32d")[0].encoder, x)
    assert 2 <= latent.active_units(t_means) < 32


def test_the_shipped_classifier_reads_real_digits(test_images, tmp_path, monkeypatch):
    x, y = test_images
    probabilities = beyond.digit_classifier()(x)
    assert probabilities.shape == (500, 10) and np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.mean(probabilities.argmax(axis=1) == y) > 0.95
    monkeypatch.setenv("EM2VAE_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="python -m helpers.beyond classifier"):
        beyond.digit_classifier()


def test_the_notebook_uses_a_passing_student_function_and_falls_back_otherwise(capsys):
    def mine(t_means, threshold):
        return int(np.sum(np.var(t_means, axis=0) > threshold))

    def unfinished(t_means, threshold):
        ...

    assert exercises.student_or_course("active_units", mine, latent.active_units) is mine
    assert "Your `mine` passes its check: the cells below use it." in capsys.readouterr().out
    assert exercises.student_or_course("active_units", unfinished, latent.active_units) is latent.active_units
    assert "Your `unfinished` is not finished yet: the cells below use the course's instead." in capsys.readouterr().out
