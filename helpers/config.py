"""One switch for the whole course: fast mode.

Set the environment variable ``EM2VAE_FAST=1`` to shrink data sizes,
iterations and epochs so that every notebook runs in seconds (the test
command sets it). Notebooks read their sizes from :func:`sizes` and print
:func:`describe_mode`, so the printed numbers of a notebook's checked cells
never depend on the mode.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

FAST_ENV = "EM2VAE_FAST"


def fast_mode() -> bool:
    """True when ``EM2VAE_FAST`` is set to 1/true/yes (case-insensitive)."""
    return os.environ.get(FAST_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Sizes:
    """Workload sizes for one run of the notebooks."""

    # Notebook 01: EM
    gmm_restarts: int
    gmm_max_iter: int
    # Notebook 02: mean-field coordinate ascent for the Bayesian mixture
    bgmm_max_iter: int
    # Notebook 03: stochastic gradient steps (local q's and encoders), gradient repeats, joint learning
    svi_steps: int
    svi_gradient_repeats: int
    svi_joint_steps: int
    # Notebook 04: VAE
    vae_live_epochs: int
    vae_train_subset: int | None     # training images of notebook 04's live run (None: all 60,000)
    vae_loss_curve_images: int       # training images of the two one-epoch runs that compare the student's loss
    vae_gap_images: int              # test images whose gap notebook 04 splits into approximation + amortization
    # Notebook 05: the latent space
    latent_aggregate_images: int     # test images whose q(t|x) make the aggregate posterior q(t)
    # Notebook 06: comparing trained models (no training; every other figure uses the whole test set)
    beyond_bound_images: int         # test images for the importance-weighted bound, k = 1000 samples each


FULL = Sizes(
    gmm_restarts=5,
    gmm_max_iter=200,
    bgmm_max_iter=200,
    svi_steps=2000,
    svi_gradient_repeats=200,
    svi_joint_steps=3000,
    vae_live_epochs=3,
    vae_train_subset=20_000,
    vae_loss_curve_images=6400,
    vae_gap_images=200,
    latent_aggregate_images=10_000,
    beyond_bound_images=100,
)

FAST = Sizes(
    gmm_restarts=2,
    gmm_max_iter=60,
    bgmm_max_iter=60,
    svi_steps=1000,
    svi_gradient_repeats=100,
    svi_joint_steps=1500,
    vae_live_epochs=1,
    vae_train_subset=2048,
    vae_loss_curve_images=1024,
    vae_gap_images=12,
    latent_aggregate_images=1_000,
    beyond_bound_images=8,
)


def sizes() -> Sizes:
    """The sizes for the current mode (see :func:`fast_mode`)."""
    return FAST if fast_mode() else FULL


def describe_mode() -> str:
    """A one-line description of the mode, for the top of each notebook."""
    if fast_mode():
        return (f"FAST mode ({FAST_ENV}=1): small data and few iterations, so each cell runs in seconds and the "
                f"printed numbers differ from the text's; unset {FAST_ENV} for the full run.")
    return f"FULL mode: the course's full sizes (set {FAST_ENV}=1 for a quick check)."
