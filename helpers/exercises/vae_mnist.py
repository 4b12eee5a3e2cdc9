"""Notebook 04's exercises, the VAE: its loss and the importance-weighted bound L_k (whose reference,
helpers.vae_evaluation, loads Keras when its check first runs).

Each exercise in turn: its inputs, its reference, its catalogued mistakes written out, then the Exercise
that ties them to their names and hints.
"""

from __future__ import annotations

import numpy as np

from helpers import distributions
from helpers.grading import Case, Exercise, Mistake

# ----------------------------------------------------------------------------- Exercise 4.1: vae_loss


def _vae_loss_cases() -> list[Case]:
    rng = np.random.default_rng(6)
    x = (rng.random((4, 28, 28)) < 0.3).astype(np.float32) * rng.random((4, 28, 28)).astype(np.float32)
    logits = rng.normal(0, 3, size=(4, 28, 28)).astype(np.float32)
    mean, log_var = rng.normal(size=(4, 2)).astype(np.float32), rng.normal(-1, 1, size=(4, 2)).astype(np.float32)
    extreme = np.where(x > 0.5, -200.0, 200.0).astype(np.float32)    # confident and wrong: sigmoid rounds to 0 or 1
    return [Case("a batch of 4 images (float32)", dict(x=x, logits=logits, t_mean=mean, log_var=log_var)),
            Case("a batch of one image", dict(x=x[:1], logits=logits[:1], t_mean=mean[:1], log_var=log_var[:1]),
                 degenerate=True),
            Case("extreme logits (±200)", dict(x=x, logits=extreme, t_mean=mean, log_var=log_var)),
            Case("q equal to the prior (KL = 0), float64", dict(
                x=x.astype(float), logits=logits.astype(float), t_mean=np.zeros((4, 2)), log_var=np.zeros((4, 2))))]


def _vae_loss_reference(x, logits, t_mean, log_var):
    reconstruction, kl = distributions.negative_elbo_terms(*(np.asarray(a, float) for a in (x, logits, t_mean,
                                                                                          log_var)))
    return reconstruction + kl


def _bce_naive(x, logits):
    p = 1.0 / (1.0 + np.exp(-np.asarray(logits, float)))
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p))
    return bce.reshape(len(x), -1).sum(axis=1)


def _vae_loss_naive_bce(x, logits, t_mean, log_var):
    return _bce_naive(x, logits) + distributions.kl_standard_normal(np.asarray(t_mean, float),
                                                                     np.asarray(log_var, float))


def _vae_loss_pixel_mean(x, logits, t_mean, log_var):
    nll = distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float))
    return nll / np.prod(np.shape(x)[1:]) + distributions.kl_standard_normal(np.asarray(t_mean, float),
                                                                              np.asarray(log_var, float))


def _vae_loss_kl_sign(x, logits, t_mean, log_var):
    return (distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float))
            - distributions.kl_standard_normal(np.asarray(t_mean, float), np.asarray(log_var, float)))


def _vae_loss_log_std(x, logits, t_mean, log_var):
    m, log_s = np.asarray(t_mean, float), np.asarray(log_var, float)
    kl = -0.5 * np.sum(1 + 2 * log_s - m**2 - np.exp(2 * log_s), axis=-1)
    return distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float)) + kl


def _vae_loss_without_kl(x, logits, t_mean, log_var):
    return distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float))


def _vae_loss_batch_mean(x, logits, t_mean, log_var):
    return np.mean(_vae_loss_reference(x, logits, t_mean, log_var))


def _vae_loss_batch_sum(x, logits, t_mean, log_var):
    return np.sum(_vae_loss_reference(x, logits, t_mean, log_var))


def _vae_loss_kl_mean_over_dimensions(x, logits, t_mean, log_var):
    m, log_var = np.asarray(t_mean, float), np.asarray(log_var, float)
    kl = -0.5 * np.mean(1 + log_var - m**2 - np.exp(log_var), axis=-1)
    return distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float)) + kl


def _vae_loss_log_var_as_variance(x, logits, t_mean, log_var):
    m, var = np.asarray(t_mean, float), np.asarray(log_var, float)
    kl = -0.5 * np.sum(1 + np.log(var) - m**2 - var, axis=-1)
    return distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float)) + kl


def _vae_loss_logits_as_probabilities(x, logits, t_mean, log_var):
    """Keras's binary_crossentropy without from_logits=True: the logits clipped to [1e-7, 1 - 1e-7], read as p."""
    p = np.clip(np.asarray(logits, float), 1e-7, 1 - 1e-7)
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p))
    return bce.reshape(len(x), -1).sum(axis=1) + distributions.kl_standard_normal(np.asarray(t_mean, float),
                                                                                   np.asarray(log_var, float))


def _vae_loss_bce_mean_over_last_axis(x, logits, t_mean, log_var):
    """keras.losses.binary_crossentropy averages over the last axis (the 28 columns) before the sum over rows."""
    nll = distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float))
    return nll / np.shape(x)[-1] + distributions.kl_standard_normal(np.asarray(t_mean, float),
                                                                    np.asarray(log_var, float))


def _vae_loss_cannot_train(fn) -> str | None:
    """Why Keras could not train on a right ``vae_loss`` (numpy, say), or None: :func:`helpers.vae.loss_problem`."""
    from helpers import vae  # Keras loads here, when a right answer is checked, not when the catalogue is read

    return vae.loss_problem(fn)


VAE_LOSS = Exercise(
    "vae_loss", "Exercise 4.1, the VAE loss (eqs. 16-17)",
    "vae_loss(x, logits, t_mean, log_var) -> (batch,) nats per image",
    _vae_loss_reference, _vae_loss_cases,
    "per image: sum over pixels of max(l, 0) - l x + log(1 + exp(-|l|)), plus "
    "KL = -1/2 sum_j (1 + log s_j^2 - m_j^2 - s_j^2); with keras.ops: ops.maximum, ops.log1p, ops.exp, "
    "ops.abs, and ops.sum over axis=(1, 2) for the pixels and axis=1 for the latent dimensions.",
    [Mistake("unstable cross-entropy",
             "Your loss is inf or NaN for confident logits: log(sigmoid(l)) rounds to log 0. Compute the "
             "binary cross-entropy from the logits, max(l, 0) - l x + log1p(exp(-|l|)).", _vae_loss_naive_bce),
     Mistake("averaged over the pixels",
             "You averaged the reconstruction term over the pixels: eq. 16 has log p(x|t), a *sum* over the "
             "784 pixels' log-probabilities.", _vae_loss_pixel_mean),
     Mistake("KL subtracted",
             "The KL has the wrong sign: the loss is the negative ELBO, reconstruction *plus* KL.", _vae_loss_kl_sign),
     Mistake("log-variance read as log-std",
             "log_var is log s^2, not log s: in eq. 17 it enters as log s^2 and s^2 = exp(log_var).",
             _vae_loss_log_std),
     Mistake("no KL term",
             "The KL term is missing: add KL(q(t|x) || N(0, I)) (eq. 17).", _vae_loss_without_kl),
     Mistake("averaged over the batch",
             "You averaged over the batch: return one loss per image, shape (batch,); Keras takes the mean over "
             "the batch itself.", _vae_loss_batch_mean),
     Mistake("summed over the batch",
             "You summed over the batch: return one loss per image, shape (batch,).", _vae_loss_batch_sum),
     Mistake("KL averaged over the dimensions",
             "The KL is a *sum* over the latent dimensions, not a mean: "
             "-1/2 sum_j (1 + log s_j^2 - m_j^2 - s_j^2).", _vae_loss_kl_mean_over_dimensions),
     Mistake("log-variance read as the variance",
             "log_var is already log s^2, not the variance s^2: use it as it is for log s^2, and "
             "s^2 = exp(log_var).", _vae_loss_log_var_as_variance),
     Mistake("logits read as probabilities",
             "Your loss reads the logits as probabilities: the decoder returns logits l, so the cross-entropy "
             "needs sigmoid(l) (Keras: from_logits=True), computed stably from l: max(l, 0) - l x + "
             "log(1 + exp(-|l|)).", _vae_loss_logits_as_probabilities),
     Mistake("Keras's BCE averaged over the last axis",
             "Your reconstruction term is the pixels' sum divided by 28: keras.losses.binary_crossentropy averages "
             "over the last axis. Eq. 16's log p(x|t) is a *sum* over all 784 pixels: compute the per-pixel term "
             "yourself and ops.sum it over axis=(1, 2).", _vae_loss_bce_mean_over_last_axis)],
    rtol=1e-5, atol=1e-3, caveat=_vae_loss_cannot_train)


# ----------------------------------------------------------------------------- Exercise 4.2: iw_bound


def _iw_cases() -> list[Case]:
    rng = np.random.default_rng(9)

    def log_weights(n_images: int, n_samples: int, around: float) -> np.ndarray:
        """Each image its own level and spread: log w = level + spread * noise, (n_images, n_samples)."""
        level = around + rng.normal(0.0, 20.0, size=(n_images, 1))
        spread = rng.uniform(0.5, 4.0, size=(n_images, 1))
        return level + spread * rng.standard_normal((n_images, n_samples))

    return [Case("5 images of S = 60 samples with k = 6", dict(log_w=log_weights(5, 60, -120.0), k=6)),
            Case("a batch of one image (S = 20 and k = 4)", dict(log_w=log_weights(1, 20, -120.0), k=4),
                 degenerate=True),
            Case("log w around -1000 where exp(log w) rounds to 0 (S = 40 and k = 10)",
                 dict(log_w=log_weights(3, 40, -1000.0), k=10)),
            Case("k = 1 where L_1 is the ELBO (S = 12)", dict(log_w=log_weights(4, 12, -120.0), k=1)),
            Case("k = S = 12 (one group)", dict(log_w=log_weights(4, 12, -120.0), k=12))]


def _iw_reference(log_w, k):
    from helpers import vae_evaluation  # loads Keras, as the notebook already has

    return vae_evaluation.importance_weighted_bounds(log_w, k)


def _iw_groups(log_w, k):
    """(B, S) -> (B, S // k, k): groups of k consecutive samples."""
    return np.asarray(log_w, dtype=float).reshape(len(log_w), -1, k)


def _iw_plain_exp(log_w, k):
    return np.log(np.mean(np.exp(_iw_groups(log_w, k)), axis=-1)).mean(axis=-1)


def _iw_mean_of_log_w(log_w, k):
    return np.mean(np.asarray(log_w, dtype=float), axis=-1)


def _iw_log_sum_exp(log_w, k):
    return distributions.logsumexp(_iw_groups(log_w, k), axis=-1).mean(axis=-1)


def _iw_mean_over_images(log_w, k):
    return distributions.log_mean_exp(_iw_groups(log_w, k), axis=-1).mean(axis=0)


def _iw_groups_of_s_over_k(log_w, k):
    return distributions.log_mean_exp(np.asarray(log_w, dtype=float).reshape(len(log_w), k, -1), axis=-1).mean(-1)


def _iw_strided_groups(log_w, k):
    return distributions.log_mean_exp(np.asarray(log_w, dtype=float).reshape(len(log_w), k, -1), axis=1).mean(-1)


def _iw_all_samples_at_once(log_w, k):
    return distributions.log_mean_exp(np.asarray(log_w, dtype=float), axis=-1)


def _iw_shift_not_added_back(log_w, k):
    groups = _iw_groups(log_w, k)
    return np.log(np.mean(np.exp(groups - groups.max(axis=-1, keepdims=True)), axis=-1)).mean(axis=-1)


IW_BOUND = Exercise(
    "iw_bound", "Exercise 4.2, the importance-weighted bound L_k (Burda et al., 2016)",
    "iw_bound(log_w, k) -> (B,) nats per image",
    _iw_reference, _iw_cases,
    "cut each row of log_w (B, S) into S // k groups of k consecutive samples, log_w.reshape(B, S // k, k); "
    "in each group take the log of the mean weight stably, m + log(mean(exp(a - m))) with m the group's "
    "largest a; then average the S // k groups of each image (the last axis).",
    [Mistake("no stable log-mean-exp",
             "Your bound is -inf where the log-weights are very negative: exp(-1000) rounds to 0 in float64, and "
             "log 0 = -inf. Take the log-mean-exp stably: subtract each group's largest log w, m, before "
             "exponentiating, and add it back after: m + log(mean(exp(a - m))).", _iw_plain_exp),
     Mistake("mean of log w (L_1)",
             "That is the mean of log w, which is L_1, the ELBO, whatever k. L_k averages the *weights* "
             "w_i = exp(log w_i) of each group of k before taking the log, log (1/k sum_i w_i); only then are "
             "the groups averaged.", _iw_mean_of_log_w),
     Mistake("log-sum-exp, not log-mean-exp",
             "Your bound is too high by exactly log k: that is log sum_i w_i, a log-*sum*-exp. L_k needs the log "
             "of the *mean* weight, log (1/k sum_i w_i) = logsumexp - log k.", _iw_log_sum_exp),
     Mistake("averaged over the images",
             "You averaged over the images (axis 0): every image has its own L_k, so average each image's groups "
             "along its own row (the last axis) and return one value per image, shape (B,).", _iw_mean_over_images),
     Mistake("groups of S/k",
             "Your groups hold S/k samples each, not k: reshape to (B, S // k, k), so that the last axis, over "
             "which you take the log-mean-exp, holds the k samples of one group.", _iw_groups_of_s_over_k),
     Mistake("strided groups",
             "Your groups take every (S/k)-th sample (reshape(B, k, S // k), log-mean-exp over axis 1). The "
             "samples are independent, so that estimates L_k too, but the check compares numbers with the "
             "course's groups of k *consecutive* samples: log_w.reshape(B, S // k, k), log-mean-exp over the "
             "last axis.", _iw_strided_groups),
     Mistake("all S samples in one group",
             "That is the log-mean-exp of all S weights at once, L_S, whatever k: cut each row into S // k "
             "groups of k consecutive samples first, take each group's log-mean-exp, then average the groups.",
             _iw_all_samples_at_once),
     Mistake("shift not added back",
             "You subtracted each group's largest log w, m, before exponentiating but did not add it back: "
             "log mean exp(a - m) = log mean exp(a) - m, so add m to it.", _iw_shift_not_added_back)])


EXERCISES = [VAE_LOSS, IW_BOUND]
