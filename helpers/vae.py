"""The convolutional variational auto-encoder of the course text (eqs. 14-17), in Keras 3.

* encoder  q(t|x; phi) = N(t | m(x), diag s^2(x))                      (eq. 15)
* sampler  t = m + s * eps,  eps ~ N(0, I)   (reparameterization trick)
* decoder  p(x|t; theta) = prod_pixels Bernoulli(sigmoid(logits(t)))
* loss     -ELBO = E_q[-log p(x|t)] + KL(q(t|x) || N(0, I))            (eqs. 16, 17)

The decoder returns *logits*; the reconstruction term is binary cross-entropy
computed from logits (never log(sigmoid)), summed over pixels. The encoder
outputs log s^2 through :class:`BoundedLogVariance`, so exp(log s^2) cannot
overflow early in training. Model code uses ``keras.ops`` only, so it runs on
any Keras backend; TensorFlow is the course's default.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from helpers.config import native_stderr_silenced
from helpers.gmm import logsumexp

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
with native_stderr_silenced():
    import keras
    from keras import layers, ops

IMAGE_SHAPE = (28, 28, 1)
LOG_VARIANCE_LIMIT = 8.0


# ----------------------------------------------------------------------------- the two loss terms


def kl_standard_normal(t_mean, t_log_var):
    """KL(N(m, diag s^2) || N(0, I)) per example, closed form (eq. 17).

    ``t_mean``, ``t_log_var``: (batch, D) -> (batch,).
    KL = -1/2 sum_j (1 + log s_j^2 - m_j^2 - s_j^2).
    """
    return -0.5 * ops.sum(1.0 + t_log_var - ops.square(t_mean) - ops.exp(t_log_var), axis=-1)


def bernoulli_nll_from_logits(x, logits):
    """-log p(x|t) of a pixel-wise Bernoulli decoder, summed over pixels (first term of eq. 16).

    ``x``: targets in [0, 1], ``logits``: decoder output, both (batch, 28, 28, 1) -> (batch,).
    Uses the stable form max(l, 0) - l*x + log(1 + exp(-|l|)) of binary cross-entropy.
    """
    per_pixel = ops.maximum(logits, 0.0) - logits * x + ops.log1p(ops.exp(-ops.abs(logits)))
    return ops.sum(ops.reshape(per_pixel, (ops.shape(per_pixel)[0], -1)), axis=-1)


# ----------------------------------------------------------------------------- layers


@keras.saving.register_keras_serializable(package="em2vae")
class BoundedLogVariance(layers.Layer):
    """Softly bounds log s^2 to (-limit, limit) with limit * tanh(v / limit).

    Near zero it is the identity; far out it saturates, so s^2 <= e^limit and the
    KL term of eq. 17 stays finite whatever the encoder's first steps produce.
    """

    def __init__(self, limit: float = LOG_VARIANCE_LIMIT, **kwargs):
        super().__init__(**kwargs)
        self.limit = float(limit)

    def call(self, v):
        return self.limit * ops.tanh(v / self.limit)

    def get_config(self):
        return {**super().get_config(), "limit": self.limit}


@keras.saving.register_keras_serializable(package="em2vae")
class Sampling(layers.Layer):
    """Reparameterization: t = m + s * eps with s = exp(log s^2 / 2), eps ~ N(0, I).

    Inputs ``[t_mean, t_log_var]``, each (batch, D); output (batch, D). The noise
    comes from a seeded generator, so a seeded run draws the same eps.
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        t_mean, t_log_var = inputs
        eps = keras.random.normal(ops.shape(t_mean), seed=self.seed_generator)
        return t_mean + ops.exp(0.5 * t_log_var) * eps

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


# ----------------------------------------------------------------------------- networks


def build_encoder(latent_dim: int = 2) -> keras.Model:
    """q(t|x; phi): image (batch, 28, 28, 1) -> [m (batch, D), log s^2 (batch, D)] (eq. 15)."""
    x_in = keras.Input(shape=IMAGE_SHAPE, name="x")
    h = layers.Conv2D(32, 3, padding="same", activation="relu")(x_in)
    h = layers.Conv2D(64, 3, padding="same", activation="relu", strides=2)(h)
    h = layers.Conv2D(64, 3, padding="same", activation="relu")(h)
    h = layers.Conv2D(64, 3, padding="same", activation="relu")(h)
    h = layers.Flatten()(h)
    h = layers.Dense(32, activation="relu")(h)
    t_mean = layers.Dense(latent_dim, name="t_mean")(h)
    t_log_var = BoundedLogVariance(name="t_log_var")(layers.Dense(latent_dim, name="t_log_var_raw")(h))
    return keras.Model(x_in, [t_mean, t_log_var], name="encoder")


def build_decoder(latent_dim: int = 2) -> keras.Model:
    """p(x|t; theta): latent (batch, D) -> Bernoulli logits (batch, 28, 28, 1)."""
    t_in = keras.Input(shape=(latent_dim,), name="t")
    h = layers.Dense(14 * 14 * 64, activation="relu")(t_in)
    h = layers.Reshape((14, 14, 64))(h)
    h = layers.Conv2DTranspose(32, 3, padding="same", activation="relu", strides=2)(h)
    logits = layers.Conv2D(1, 3, padding="same", name="logits")(h)
    return keras.Model(t_in, logits, name="decoder")


@keras.saving.register_keras_serializable(package="em2vae")
class VAE(keras.Model):
    """Encoder + sampler + decoder, trained on the negative ELBO (eq. 16).

    ``call(x)`` returns a dict with ``logits``, ``t_mean`` and ``t_log_var``.
    ``compute_loss`` returns the batch mean of reconstruction + KL and tracks
    both terms as the metrics ``reconstruction`` and ``kl``.
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.seed = seed
        self.sampler = Sampling(seed=seed, name="sampler")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")

    def call(self, x, training=False):
        t_mean, t_log_var = self.encoder(x, training=training)
        t = self.sampler([t_mean, t_log_var])
        return {"logits": self.decoder(t, training=training), "t_mean": t_mean, "t_log_var": t_log_var}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        reconstruction = bernoulli_nll_from_logits(x, y_pred["logits"])
        kl = kl_standard_normal(y_pred["t_mean"], y_pred["t_log_var"])
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        loss = ops.mean(reconstruction + kl)
        for extra in self.losses:
            loss = loss + extra
        return loss

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)


def build_vae(latent_dim: int = 2, seed: int | None = None, compile: bool = True) -> VAE:
    """The course's VAE, built (weights created) and, for training, compiled with RMSprop as in the text."""
    vae = VAE(build_encoder(latent_dim), build_decoder(latent_dim), seed=seed, name="vae")
    vae(np.zeros((1, *IMAGE_SHAPE), dtype="float32"))
    if compile:
        vae.compile(optimizer=keras.optimizers.RMSprop())
    return vae


def save_inference_weights(vae: VAE, path) -> None:
    """Save the encoder's and decoder's weights only (``*.weights.h5``), without optimizer state."""
    weights_only = VAE(vae.encoder, vae.decoder, name="vae")
    weights_only(np.zeros((1, *IMAGE_SHAPE), dtype="float32"))
    weights_only.save_weights(path)


# ----------------------------------------------------------------------------- data and weights


def prepare_images(x_uint8: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 28, 28, 1) in [0, 1], as in the course text (x / 255)."""
    if x_uint8.ndim != 3 or x_uint8.shape[1:] != IMAGE_SHAPE[:2]:
        raise ValueError(f"expected images of shape (n, 28, 28), got {x_uint8.shape}")
    return (x_uint8.astype("float32") / 255.0)[..., None]


def load_trained_vae(weights_path, latent_dim: int = 2) -> VAE:
    """Rebuild the VAE from code and load shipped weights (``*.weights.h5``)."""
    path = Path(weights_path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: trained weights not found. Train them with "
                                f"'python -m helpers.train' (about 15 minutes on 2 CPU cores).")
    vae = build_vae(latent_dim, compile=False)
    try:
        vae.load_weights(path)
    except Exception as exc:
        raise ValueError(f"{path}: cannot load weights into a latent_dim={latent_dim} VAE "
                         f"({type(exc).__name__}: {exc}). Re-train with 'python -m helpers.train'.") from exc
    return vae


def negative_elbo(vae: VAE, x: np.ndarray, batch_size: int = 500, seed: int = 0) -> dict[str, float]:
    """Mean reconstruction, KL and -ELBO of a data set, computed from scratch (one sample of t each).

    ``x``: float32 (n, 28, 28, 1) in [0, 1]. Returns floats averaged over the n images.
    """
    rng = np.random.default_rng(seed)
    rec_sum = kl_sum = 0.0
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        t_mean, t_log_var = (np.asarray(a) for a in vae.encoder(xb, training=False))
        eps = rng.standard_normal(t_mean.shape).astype("float32")
        t = t_mean + np.exp(0.5 * t_log_var) * eps
        logits = vae.decoder(t, training=False)
        rec_sum += float(ops.sum(bernoulli_nll_from_logits(xb, logits)))
        kl_sum += float(ops.sum(kl_standard_normal(t_mean, t_log_var)))
    n = len(x)
    return {"reconstruction": rec_sum / n, "kl": kl_sum / n, "loss": (rec_sum + kl_sum) / n}


# ----------------------------------------------------------------------------- log p(x) three ways
#
# For one image x and latent points t (S, D), all in numpy float64 after the decoder:
#   log p(x|t)  decoder likelihood, log p(t) = log N(t|0, I), log q(t|x) = log N(t|m, diag s^2).


def log_standard_normal(t: np.ndarray) -> np.ndarray:
    """log N(t | 0, I) for each row of t (S, D) -> (S,)."""
    return -0.5 * np.sum(t**2 + np.log(2 * np.pi), axis=-1)


def log_diagonal_normal(t: np.ndarray, mean: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """log N(t | m, diag exp(log_var)) for each row of t (S, D) -> (S,)  (the q of eq. 15)."""
    return -0.5 * np.sum((t - mean) ** 2 / np.exp(log_var) + log_var + np.log(2 * np.pi), axis=-1)


def log_likelihood_given_latent(decoder: keras.Model, x: np.ndarray, t: np.ndarray,
                                batch_size: int = 2000) -> np.ndarray:
    """log p(x | t; theta) for one image x (28, 28, 1) at many latent points t (S, D) -> (S,)."""
    out = []
    for start in range(0, len(t), batch_size):
        logits = decoder(t[start:start + batch_size].astype("float32"), training=False)
        xs = np.broadcast_to(x, (len(logits), *x.shape))
        out.append(-np.asarray(bernoulli_nll_from_logits(xs, logits), dtype=np.float64))
    return np.concatenate(out)


def log_mean_exp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """log (1/k sum_i exp(a_i)) along ``axis``, stably (log-sum-exp minus log k)."""
    return logsumexp(a, axis=axis) - np.log(a.shape[axis])


def importance_log_weights(vae: VAE, x: np.ndarray, n_samples: int, rng: np.random.Generator
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw t_i ~ q(t|x) and return log w_i = log p(x|t_i) + log p(t_i) - log q(t_i|x)  (S,).

    Also returns q's mean and log-variance (D,). The mean of log w is a Monte Carlo ELBO (eq. 16).
    """
    t_mean, t_log_var = (np.asarray(a, dtype=np.float64)[0] for a in vae.encoder(x[None], training=False))
    t = t_mean + np.exp(0.5 * t_log_var) * rng.standard_normal((n_samples, len(t_mean)))
    log_w = (log_likelihood_given_latent(vae.decoder, x, t) + log_standard_normal(t)
             - log_diagonal_normal(t, t_mean, t_log_var))
    return log_w, t_mean, t_log_var


def importance_weighted_bound(log_w: np.ndarray, k: int) -> float:
    """L_k = E[log (1/k sum_{i<=k} w_i)], averaged over the len(log_w) // k disjoint groups of k.

    L_1 is the ELBO, L_k rises with k and tends to log p(x) as k -> infinity (Burda et al., 2016).
    """
    groups = len(log_w) // k
    if groups < 1:
        raise ValueError(f"need at least k={k} samples, got {len(log_w)}")
    return float(np.mean(log_mean_exp(log_w[: groups * k].reshape(groups, k), axis=1)))


def latent_grid(t_mean: np.ndarray, t_log_var: np.ndarray, half_width: float = 10.0, n: int = 121
                ) -> tuple[np.ndarray, np.ndarray, float]:
    """A square grid around q's mean, ``half_width`` q-standard-deviations each way (2-D only).

    Returns the axes t1 (n,), t2 (n,) and the area of one cell.
    """
    if len(t_mean) != 2:
        raise ValueError("quadrature over a latent grid is for a 2-D latent space")
    s = np.exp(0.5 * t_log_var)
    t1 = np.linspace(t_mean[0] - half_width * s[0], t_mean[0] + half_width * s[0], n)
    t2 = np.linspace(t_mean[1] - half_width * s[1], t_mean[1] + half_width * s[1], n)
    return t1, t2, float((t1[1] - t1[0]) * (t2[1] - t2[0]))


def quadrature_log_px(decoder: keras.Model, x: np.ndarray, t1: np.ndarray, t2: np.ndarray, cell: float
                      ) -> tuple[float, np.ndarray]:
    """log p(x) = log sum_grid p(x|t) p(t) * cell  (eq. 3 by numerical quadrature).

    Returns log p(x) and the log posterior density log p(t|x) on the grid (len(t2), len(t1)) (eq. 4).
    """
    T1, T2 = np.meshgrid(t1, t2)
    t = np.column_stack([T1.ravel(), T2.ravel()])
    log_joint = log_likelihood_given_latent(decoder, x, t) + log_standard_normal(t)
    log_px = float(np.log(cell) + logsumexp(log_joint))
    return log_px, (log_joint - log_px).reshape(T1.shape)


def kl_q_to_posterior_on_grid(log_posterior: np.ndarray, t1: np.ndarray, t2: np.ndarray, cell: float,
                              t_mean: np.ndarray, t_log_var: np.ndarray) -> float:
    """KL(q(t|x) || p(t|x)) = integral of q log(q / p(t|x)), by quadrature on the same grid (eq. 7)."""
    T1, T2 = np.meshgrid(t1, t2)
    log_q = log_diagonal_normal(np.column_stack([T1.ravel(), T2.ravel()]), t_mean, t_log_var).reshape(T1.shape)
    q = np.exp(log_q)
    return float(np.sum(q * (log_q - log_posterior)) * cell)


# ----------------------------------------------------------------------------- using a trained model


def encode(encoder: keras.Model, x: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """q's mean and log-variance for many images: (n, 28, 28, 1) -> (n, D), (n, D)."""
    means, log_vars = [], []
    for start in range(0, len(x), batch_size):
        m, lv = encoder(x[start:start + batch_size], training=False)
        means.append(np.asarray(m))
        log_vars.append(np.asarray(lv))
    return np.concatenate(means), np.concatenate(log_vars)


def decode(decoder: keras.Model, t: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Pixel probabilities sigmoid(logits) for latent points: (n, D) -> (n, 28, 28)."""
    out = []
    for start in range(0, len(t), batch_size):
        logits = decoder(np.asarray(t[start:start + batch_size], dtype="float32"), training=False)
        out.append(np.asarray(ops.sigmoid(logits))[..., 0])
    return np.concatenate(out)


# ----------------------------------------------------------------------------- a fast decoder for widgets


class NumpyDecoder:
    """The trained decoder as a plain numpy forward pass, for interactive use.

    One latent point takes well under a millisecond this way, against tens of milliseconds for
    ``Model.predict``. ``__call__`` maps t (n, 2) to pixel probabilities (n, 28, 28); a test
    checks it against the Keras decoder.
    """

    def __init__(self, dense_w, dense_b, deconv_k, deconv_b, conv_k, conv_b):
        self.dense_w, self.dense_b = dense_w, dense_b          # (D, 12544), (12544,)
        self.deconv_k, self.deconv_b = deconv_k, deconv_b      # (3, 3, 32, 64), (32,)
        self.conv_k, self.conv_b = conv_k, conv_b              # (3, 3, 32, 1), (1,)

    @classmethod
    def from_keras(cls, decoder: keras.Model) -> NumpyDecoder:
        dense, deconv, conv = (next(layer for layer in decoder.layers if isinstance(layer, kind))
                               for kind in (layers.Dense, layers.Conv2DTranspose, layers.Conv2D))
        arrays = [np.asarray(w, dtype=np.float32) for layer in (dense, deconv, conv) for w in layer.get_weights()]
        return cls(*arrays)

    def logits(self, t: np.ndarray) -> np.ndarray:
        """Decoder logits (n, 28, 28) for latent points t (n, D)."""
        n = len(t)
        h = np.maximum(np.asarray(t, np.float32) @ self.dense_w + self.dense_b, 0.0).reshape(n, 14, 14, 64)
        # transposed convolution, stride 2, 'same': input pixel (i, j) feeds outputs (2i + a, 2j + b)
        contrib = np.einsum("nijc,aboc->nijabo", h, self.deconv_k, optimize=True)
        up = np.zeros((n, 29, 29, 32), np.float32)
        for a in range(3):
            for b in range(3):
                up[:, a:a + 28:2, b:b + 28:2] += contrib[:, :, :, a, b]
        up = np.maximum(up[:, :28, :28] + self.deconv_b, 0.0)
        # 3x3 convolution, 'same' (zero padding 1) down to one channel
        padded = np.pad(up, ((0, 0), (1, 1), (1, 1), (0, 0)))
        out = np.full((n, 28, 28), self.conv_b[0], np.float32)
        for a in range(3):
            for b in range(3):
                out += padded[:, a:a + 28, b:b + 28] @ self.conv_k[a, b, :, 0]
        return out

    def __call__(self, t: np.ndarray) -> np.ndarray:
        """Pixel probabilities sigmoid(logits): (n, D) -> (n, 28, 28)."""
        return 1.0 / (1.0 + np.exp(-self.logits(t)))


def shipped_weights(dataset: str = "mnist", latent_dim: int = 2):
    """Path of the trained weights shipped in data/ (``data/vae-<dataset>-<D>d/vae.weights.h5``)."""
    return Path(__file__).resolve().parents[1] / "data" / f"vae-{dataset}-{latent_dim}d" / "vae.weights.h5"
