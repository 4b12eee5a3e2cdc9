import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

from helpers import latent


def test_prior_grid_is_equal_steps_in_probability_and_symmetric():
    grid = latent.prior_grid(15, 0.9)
    assert grid.shape == (15,) and np.allclose(grid, -grid[::-1]) and grid[7] == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(np.diff(norm.cdf(grid)), 0.9 / 14)
    assert norm.cdf(grid[0]) == pytest.approx(0.05)


@pytest.mark.parametrize(("n", "coverage"), [(1, 0.9), (5, 1.0), (5, 0.0)])
def test_prior_grid_rejects_what_has_no_grid(n, coverage):
    with pytest.raises(ValueError, match="n must|coverage must"):
        latent.prior_grid(n, coverage)


def test_linear_path_has_both_ends_and_equal_steps():
    a, b = np.array([-1.0, 2.0]), np.array([3.0, 0.0])
    path = latent.linear_path(a, b, 5)
    assert path.shape == (5, 2) and np.allclose(path[0], a) and np.allclose(path[-1], b)
    assert np.allclose(np.diff(path, axis=0), (b - a) / 4)


def _codes(n=6, dim=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, dim)), rng.normal(-1.5, 0.5, size=(n, dim))


def test_log_aggregate_posterior_is_the_log_of_scipys_equal_weight_mixture():
    means, log_vars = _codes()
    t = np.random.default_rng(1).normal(size=(7, 2))
    mixture = np.mean([multivariate_normal(m, np.diag(np.exp(v))).pdf(t) for m, v in zip(means, log_vars,
                                                                                         strict=True)], axis=0)
    assert np.allclose(latent.log_aggregate_posterior(t, means, log_vars), np.log(mixture), rtol=1e-12)


def test_the_aggregate_posterior_integrates_to_one():
    means, log_vars = _codes()
    step = 0.02
    axis = np.arange(-7.0, 7.0, step) + step / 2
    t1, t2 = np.meshgrid(axis, axis)
    grid = np.column_stack([t1.ravel(), t2.ravel()])
    total = np.exp(latent.in_blocks(latent.log_aggregate_posterior, grid, means, log_vars, block=5000)).sum() * step**2
    assert total == pytest.approx(1.0, abs=1e-6)


def test_far_from_every_code_the_log_density_stays_finite():
    means, log_vars = _codes()
    far = np.array([[40.0, -40.0]])
    value = latent.log_aggregate_posterior(far, means, log_vars)[0]
    nearest = max(multivariate_normal(m, np.diag(np.exp(v))).logpdf(far[0]) for m, v in zip(means, log_vars,
                                                                                           strict=True))
    assert np.isfinite(value) and value < -1000
    assert nearest - np.log(len(means)) <= value <= nearest       # the largest term dominates a log-sum-exp


def test_in_blocks_gives_the_values_of_one_call():
    means, log_vars = _codes(n=30, dim=3)
    t = np.random.default_rng(2).normal(size=(23, 3))
    whole = latent.log_aggregate_posterior(t, means, log_vars)
    assert np.array_equal(latent.in_blocks(latent.log_aggregate_posterior, t, means, log_vars, block=4), whole)


def test_log_aggregate_posterior_names_mismatched_shapes():
    means, log_vars = _codes()
    with pytest.raises(ValueError, match="expected t"):
        latent.log_aggregate_posterior(np.zeros((4, 3)), means, log_vars)
