import numpy as np
import pytest
from scipy.stats import norm

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
