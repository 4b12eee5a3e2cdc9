"""Notebook 06's exercise, beyond the ELBO: counting the active units.

Each exercise in turn: its inputs, its reference, its catalogued mistakes written out, then the Exercise
that ties them to their names and hints.
"""

from __future__ import annotations

import numpy as np

from helpers import latent
from helpers.grading import Case, Exercise, Mistake

# ----------------------------------------------------------------------------- Exercise 6.1: active_units


def _active_units_cases() -> list[Case]:
    rng = np.random.default_rng(12)
    scales = np.array([2.0, 0.5, 0.2, 0.12, 0.08, 0.05, 0.02, 0.001])      # variances 4 ... 1e-6 around 0.01
    codes = rng.normal(size=(1000, 8)) * scales
    return [Case("1000 codes in 8 dimensions with spreads from 2 to 0.001", dict(t_means=codes, threshold=0.01)),
            Case("the same codes with threshold 0.1 (fewer units count)", dict(t_means=codes, threshold=0.1)),
            Case("the same codes with threshold 0.001 (more units count)", dict(t_means=codes, threshold=0.001)),
            Case("codes far from 0 that hardly move", dict(t_means=5.0 + 0.05 * rng.normal(size=(500, 4)),
                                                           threshold=0.01)),
            Case("two images and threshold 0.5", dict(t_means=np.array([[0.0, 3.0, 1.0], [2.0, 3.1, 1.0]]),
                                                   threshold=0.5)),
            Case("more dimensions than images", dict(t_means=rng.normal(size=(3, 6)) * [1, 1, 1, .01, .01, .01],
                                                     threshold=0.01))]


def _active_units_std(t_means, threshold):
    return int(np.sum(np.std(t_means, axis=0) > threshold))


def _active_units_over_dimensions(t_means, threshold):
    return int(np.sum(np.var(t_means, axis=1) > threshold))


def _active_units_mean_not_variance(t_means, threshold):
    return int(np.sum(np.abs(np.mean(t_means, axis=0)) > threshold))


def _active_units_threshold_ignored(t_means, threshold):
    """The notebook's threshold, 0.01, written into the function in place of its argument."""
    return latent.active_units(t_means, 0.01)


def _active_units_second_moment(t_means, threshold):
    return int(np.sum(np.mean(np.asarray(t_means) ** 2, axis=0) > threshold))


ACTIVE_UNITS = Exercise(
    "active_units", "Exercise 6.1, active units (Burda et al., 2016)",
    "active_units(t_means, threshold) -> int",
    latent.active_units, _active_units_cases,
    "t_means has one row per image and one column per latent dimension: take the variance of each column "
    "over the images (axis 0) and count the columns whose variance exceeds threshold.",
    [Mistake("standard deviation, not variance",
             "You compared the standard deviation with the threshold: the definition uses the variance "
             "Cov_x(E_q[t_d]), so np.var, not np.std.", _active_units_std),
     Mistake("variance over the dimensions",
             "You took the variance of each *row* (over the dimensions of one image): take it of each column, "
             "over the images, axis=0.", _active_units_over_dimensions),
     Mistake("mean, not variance",
             "You compared the mean code with the threshold: a unit is active when its code *varies* from "
             "image to image, so use the variance over the images.", _active_units_mean_not_variance),
     Mistake("uncentred second moment",
             "You used the mean of t_d^2, which is not centred: a dimension whose code sits at 5 for every image "
             "is unused, so subtract the mean first (np.var does).", _active_units_second_moment),
     Mistake("threshold ignored",
             "Your count ignores `threshold`: it is right where the threshold is 0.01 and wrong where another is "
             "passed. Compare the variances with the argument `threshold`, not a fixed number.",
             _active_units_threshold_ignored)])


EXERCISES = [ACTIVE_UNITS]
