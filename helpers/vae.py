"""The convolutional variational auto-encoder of the course text (eqs. 14-17), in Keras 3: the model.

* encoder  q(t|x; phi) = N(t | m(x), diag s^2(x))                      (eq. 15)
* sampler  t = m + s * eps,  eps ~ N(0, I)   (reparameterization trick)
* decoder  p(x|t; theta) = prod_pixels Bernoulli(sigmoid(logits(t)))
* loss     -ELBO = E_q[-log p(x|t)] + KL(q(t|x) || N(0, I))            (eqs. 16, 17)
           per image: :func:`negative_elbo_terms` (the two terms), :func:`negative_elbo_per_image` (their sum),
           or any ``loss_fn`` in its signature

The decoder returns *logits*; the reconstruction term is binary cross-entropy
computed from logits (never log(sigmoid)), summed over pixels. The encoder
outputs log s^2 through :class:`BoundedLogVariance`, so exp(log s^2) cannot
overflow early in training. Model code uses ``keras.ops`` only, so it runs on
any Keras backend; TensorFlow is the course's default. The two loss terms are
:func:`helpers.distributions.bernoulli_nll_from_logits` and
:func:`helpers.distributions.kl_standard_normal`; evaluating a trained model
(log p(x), the numpy decoder for widgets) lives in :mod:`helpers.vae_evaluation`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from helpers.backend import keras
from helpers.distributions import bernoulli_nll_from_logits, negative_elbo_terms, reparameterize

layers, ops = keras.layers, keras.ops

__all__ = [
    "DECODER_GRID", "IMAGE_SHAPE", "LOG_VARIANCE_LIMIT", "MODEL_KINDS", "VAE", "Autoencoder", "BoundedLogVariance",
    "Sampling", "build_autoencoder", "build_decoder", "build_encoder", "build_model", "build_vae", "decode", "encode",
    "load_model", "loss_problem", "read_provenance", "negative_elbo_per_image", "negative_elbo_terms",
    "prepare_images",
    "save_inference_weights", "shipped_weights",
]

IMAGE_SHAPE = (28, 28, 1)
DECODER_GRID = (14, 14, 64)     # the decoder's first Dense layer is reshaped to this feature map
LOG_VARIANCE_LIMIT = 8.0
MODEL_KINDS = ("vae", "autoencoder")


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
    """Eq. 15's sampler as a layer: t = m + s * eps with s = exp(log s^2 / 2), eps ~ N(0, I).

    Inputs ``[t_mean, log_var]``, each (batch, D); output (batch, D). The noise
    comes from a seeded generator, so a seeded run draws the same eps.
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        t_mean, log_var = inputs
        eps = keras.random.normal(ops.shape(t_mean), seed=self.seed_generator)
        return reparameterize(t_mean, log_var, eps)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


# ----------------------------------------------------------------------------- networks


def build_encoder(latent_dim: int = 2, variational: bool = True) -> keras.Model:
    """Eq. 15: the encoder q(t|x; phi), image (batch, 28, 28, 1) -> [m (batch, D), log s^2 (batch, D)].

    ``variational=False`` builds the plain autoencoder's encoder: the same network with the mean head
    only, image (batch, 28, 28, 1) -> code (batch, D).
    """
    x_in = keras.Input(shape=IMAGE_SHAPE, name="x")
    h = layers.Conv2D(32, 3, padding="same", activation="relu")(x_in)
    h = layers.Conv2D(64, 3, padding="same", activation="relu", strides=2)(h)
    h = layers.Conv2D(64, 3, padding="same", activation="relu")(h)
    h = layers.Conv2D(64, 3, padding="same", activation="relu")(h)
    h = layers.Flatten()(h)
    h = layers.Dense(32, activation="relu")(h)
    t_mean = layers.Dense(latent_dim, name="t_mean")(h)
    if not variational:
        return keras.Model(x_in, t_mean, name="encoder")
    log_var = BoundedLogVariance(name="log_var")(layers.Dense(latent_dim, name="t_log_var_raw")(h))
    return keras.Model(x_in, [t_mean, log_var], name="encoder")


def build_decoder(latent_dim: int = 2) -> keras.Model:
    """Eq. 2: the decoder p(x|t; theta), latent (batch, D) -> Bernoulli logits (batch, 28, 28, 1)."""
    t_in = keras.Input(shape=(latent_dim,), name="t")
    h = layers.Dense(int(np.prod(DECODER_GRID)), activation="relu")(t_in)
    h = layers.Reshape(DECODER_GRID)(h)
    h = layers.Conv2DTranspose(32, 3, padding="same", activation="relu", strides=2)(h)
    logits = layers.Conv2D(1, 3, padding="same", name="logits")(h)
    return keras.Model(t_in, logits, name="decoder")


def negative_elbo_per_image(x, logits, t_mean, log_var):
    """Eqs. 16-17 for each image: -log p(x|t) summed over the pixels (one sample t) + KL(q(t|x) || N(0, I)).

    The sum of :func:`negative_elbo_terms`: ``x`` and ``logits`` (B, 28, 28), ``t_mean`` and ``log_var`` (B, D)
    -> (B,) nats per image, numpy or backend tensors: the course's answer to notebook 04's Exercise 4.1, and
    :class:`VAE`'s loss.
    """
    reconstruction, kl = negative_elbo_terms(x, logits, t_mean, log_var)
    return reconstruction + kl


@keras.saving.register_keras_serializable(package="em2vae")
class VAE(keras.Model):
    """Eqs. 15-17: encoder + sampler + decoder, trained on the negative ELBO.

    ``call(x)`` returns a dict with ``logits``, ``t_mean`` and ``log_var``.
    ``compute_loss`` returns the batch mean of reconstruction + beta * KL and tracks
    both terms as the metrics ``reconstruction`` and ``kl``. ``beta = 1`` is the ELBO of
    eq. 16; other values give the beta-VAE of Higgins et al. (2017), a weighted bound.

    ``loss_fn(x, logits, t_mean, log_var) -> (B,)``, in :func:`negative_elbo_per_image`'s signature
    (x and logits (B, 28, 28), the codes (B, D)), replaces reconstruction + beta * KL as the per-image
    loss (so it needs beta = 1); the two metrics are still the course's terms. It must be written with
    ``keras.ops`` (:func:`loss_problem` says whether Keras can train on it). It is a training-time choice:
    not saved with the model.
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, seed: int | None = None,
                 beta: float = 1.0, loss_fn: Callable | None = None, **kwargs):
        super().__init__(**kwargs)
        if loss_fn is not None and beta != 1.0:
            raise ValueError(f"beta={beta} with a loss_fn: the loss_fn is the whole per-image loss; leave beta at 1")
        self.encoder = encoder
        self.decoder = decoder
        self.seed = seed
        self.beta = float(beta)
        self.loss_fn = loss_fn
        self.sampler = Sampling(seed=seed, name="sampler")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")

    def call(self, x, training=False):
        t_mean, log_var = self.encoder(x, training=training)
        t = self.sampler([t_mean, log_var])
        return {"logits": self.decoder(t, training=training), "t_mean": t_mean, "log_var": log_var}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        logits, t_mean, log_var = y_pred["logits"], y_pred["t_mean"], y_pred["log_var"]
        reconstruction, kl = negative_elbo_terms(x, logits, t_mean, log_var)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        if self.loss_fn is None:
            per_image = reconstruction + self.beta * kl
        else:
            per_image = self.loss_fn(ops.squeeze(x, -1), ops.squeeze(logits, -1), t_mean, log_var)
        loss = ops.mean(per_image)
        for extra in self.losses:
            loss = loss + extra
        return loss


def _last_words(error: Exception) -> str:
    """The line of an error message that says what went wrong (TensorFlow puts it last, after 'in user code:')."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    line = lines[-1] if lines[0] == "in user code:" else lines[0]
    return line.removeprefix(f"{type(error).__name__}: ")


def loss_problem(loss_fn: Callable, latent_dim: int = 2) -> str | None:
    """Why Keras could not train a :class:`VAE` on ``loss_fn``, in one plain phrase, or None when it can.

    ``loss_fn(x, logits, t_mean, log_var) -> (B,)`` is traced as ``fit`` runs it: on symbolic float32 tensors
    of unknown batch size B, x and logits (B, 28, 28), t_mean and log_var (B, latent_dim), inside a compiled
    gradient computation. It can be trained on when it returns one loss per image, shape (B,), and gradients reach
    logits, t_mean and log_var. A loss written with numpy fails here, as it would in ``fit``: numpy cannot read
    a symbolic tensor. TensorFlow backend (the course's); on another backend nothing is checked (None).
    """
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    images, codes = tf.TensorSpec((None, *IMAGE_SHAPE[:2]), "float32"), tf.TensorSpec((None, latent_dim), "float32")
    traced = {}

    @tf.function(input_signature=[images, images, codes, codes])
    def loss_and_gradients(x, logits, t_mean, log_var):
        with tf.GradientTape() as tape:
            tape.watch([logits, t_mean, log_var])
            loss = loss_fn(x, logits, t_mean, log_var)
        traced["shape"] = getattr(loss, "shape", None)
        traced["gradients"] = tape.gradient(loss, [logits, t_mean, log_var])
        return loss

    try:
        loss_and_gradients.get_concrete_function()
    except Exception as error:      # noqa: BLE001 - whatever the student's code raises is the answer
        if "numpy array" in str(error) or "numpy-related methods" in str(error):     # TensorFlow's own words
            return "uses numpy, which Keras cannot differentiate: write it with keras.ops"
        if "None" in str(error):
            return ("uses the batch size as a number (x.shape[0], len(x)), but training calls it with a batch size "
                    "unknown in advance: reshape with -1, e.g. ops.reshape(bce, (-1, 784)), or sum over axis=(1, 2)")
        return (f"raises {type(error).__name__} ({_last_words(error)}) on Keras tensors of unknown batch size, as "
                f"training calls it: write it with keras.ops only")
    if traced["shape"] is None or traced["shape"].rank != 1:
        return (f"returns shape {traced['shape']} on Keras tensors, not one loss per image (B,): sum over the pixels "
                f"and the latent dimensions, not over the batch")
    missing = [name for name, g in zip(("logits", "t_mean", "log_var"), traced["gradients"], strict=True)
               if g is None]
    if missing:
        return (f"gives Keras no gradient with respect to {', '.join(missing)}: each input must reach the loss "
                f"through keras.ops functions that can be differentiated (no numpy, no stop_gradient, no rounding)")
    return None


@keras.saving.register_keras_serializable(package="em2vae")
class Autoencoder(keras.Model):
    """The plain autoencoder on the same networks: code t = m(x), no sampler, no KL term.

    ``call(x)`` returns a dict with ``logits`` and ``t_mean``; the loss is the reconstruction
    term of eq. 16 alone (Bernoulli NLL from logits), tracked as the metric ``reconstruction``.
    Without q there is no ELBO: nothing ties the codes to the prior N(0, I).
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")

    def call(self, x, training=False):
        t = self.encoder(x, training=training)
        return {"logits": self.decoder(t, training=training), "t_mean": t}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        reconstruction = bernoulli_nll_from_logits(x, y_pred["logits"])
        self.reconstruction_tracker.update_state(reconstruction)
        return ops.mean(reconstruction)


def _compiled(model: keras.Model, compile: bool, optimizer_epsilon: float | None) -> keras.Model:
    model(np.zeros((1, *IMAGE_SHAPE), dtype="float32"))            # create the weights
    if compile:
        kwargs = {} if optimizer_epsilon is None else {"epsilon": optimizer_epsilon}
        model.compile(optimizer=keras.optimizers.RMSprop(**kwargs))
    return model


def build_vae(latent_dim: int = 2, seed: int | None = None, compile: bool = True, beta: float = 1.0,
              optimizer_epsilon: float | None = None, loss_fn: Callable | None = None) -> VAE:
    """The course's VAE, built (weights created) and, for training, compiled with RMSprop as in the text.

    ``optimizer_epsilon`` overrides RMSprop's epsilon (Keras 3 default 1e-7, added *inside* the square
    root; standalone Keras 2, which the course text used, added it outside). ``loss_fn``: a per-image
    loss replacing :func:`negative_elbo_per_image` (see :class:`VAE`).
    """
    vae = VAE(build_encoder(latent_dim), build_decoder(latent_dim), seed=seed, beta=beta, loss_fn=loss_fn,
              name="vae")
    return _compiled(vae, compile, optimizer_epsilon)


def build_autoencoder(latent_dim: int = 2, compile: bool = True, optimizer_epsilon: float | None = None
                      ) -> Autoencoder:
    """The plain autoencoder with the course's networks, built and (for training) compiled like the VAE."""
    model = Autoencoder(build_encoder(latent_dim, variational=False), build_decoder(latent_dim), name="autoencoder")
    return _compiled(model, compile, optimizer_epsilon)


def build_model(kind: str = "vae", latent_dim: int = 2, beta: float = 1.0, seed: int | None = None,
                compile: bool = True, optimizer_epsilon: float | None = None, loss_fn: Callable | None = None
                ) -> VAE | Autoencoder:
    """One of :data:`MODEL_KINDS` with the course's networks: ``"vae"`` (weighted by ``beta``, or trained on
    ``loss_fn``) or ``"autoencoder"``."""
    if kind == "vae":
        return build_vae(latent_dim, seed, compile, beta, optimizer_epsilon, loss_fn)
    if kind == "autoencoder":
        if beta != 1.0:
            raise ValueError(f"beta={beta}: an autoencoder has no KL term to weight; leave beta at 1")
        if loss_fn is not None:
            raise ValueError("loss_fn is a VAE's per-image -ELBO; an autoencoder's loss is its reconstruction alone")
        return build_autoencoder(latent_dim, compile, optimizer_epsilon)
    raise ValueError(f"kind={kind!r}: expected one of {MODEL_KINDS}")


def save_inference_weights(model: VAE | Autoencoder, path) -> None:
    """Save the encoder's and decoder's weights only (``*.weights.h5``), without optimizer state."""
    weights_only = (VAE(model.encoder, model.decoder, name="vae") if isinstance(model, VAE)
                    else Autoencoder(model.encoder, model.decoder, name="autoencoder"))
    weights_only(np.zeros((1, *IMAGE_SHAPE), dtype="float32"))
    weights_only.save_weights(path)


# ----------------------------------------------------------------------------- data and weights


def prepare_images(x_uint8: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 28, 28, 1) in [0, 1], as in the course text (x / 255)."""
    x_uint8 = np.asarray(x_uint8)
    if x_uint8.ndim != 3 or x_uint8.shape[1:] != IMAGE_SHAPE[:2]:
        raise ValueError(f"images: expected shape (n, 28, 28), got {x_uint8.shape}; "
                         f"a single image needs a leading axis (x[None]), a flat batch x.reshape(-1, 28, 28)")
    if x_uint8.dtype != np.uint8:
        raise ValueError(f"images: expected dtype uint8 (0-255, as load_mnist returns), got {x_uint8.dtype}; "
                         f"images already scaled to [0, 1] only need x[..., None] and no prepare_images")
    return (x_uint8.astype("float32") / 255.0)[..., None]


def _weights_in_file(path: Path) -> tuple[int | None, str | None]:
    """(latent_dim, kind) a weights file was saved for, read from its arrays' shapes.

    latent_dim is the input size of the decoder's first Dense kernel (D, 14*14*64); the kind is
    ``"vae"`` when the encoder has two heads (D, from 32 features: mean and log-variance), else
    ``"autoencoder"``.
    """
    import h5py

    shapes: dict[str, tuple[int, ...]] = {}

    def record(name: str, obj) -> None:          # visititems stops at the first callback that returns a value
        if isinstance(obj, h5py.Dataset):
            shapes[name] = obj.shape

    with h5py.File(path, "r") as f:
        f.visititems(record)
    dims = [s[0] for name, s in shapes.items() if name.startswith("decoder/") and len(s) == 2
            and s[1] == int(np.prod(DECODER_GRID))]
    if not dims:
        return None, None
    heads = sum(1 for name, s in shapes.items() if name.startswith("encoder/") and s == (32, dims[0]))
    return dims[0], ("vae" if heads >= 2 else "autoencoder")


def load_model(path, *, latent_dim: int | None = None, kind: str | None = None, beta: float | None = None
               ) -> VAE | Autoencoder:
    """Rebuild a trained model (VAE or autoencoder) from code and load its weights; the error says what is wrong.

    ``path`` is a weights file (``*.weights.h5``) or a model folder (``vae.weights.h5`` + the
    ``provenance.json`` that ``python -m helpers.train`` writes, see :func:`read_provenance`). Left as None,
    ``latent_dim`` and ``kind`` (``"vae"`` or ``"autoencoder"``) are what the folder's recipe says, else what
    the file holds; ``beta`` is the recipe's, else 1.0. A value given that the file or recipe contradicts
    raises a ValueError naming the file and what it holds.
    """
    path = Path(path)
    if path.is_dir():
        recipe = read_provenance(path)["recipe"]
        recorded_kind, recorded_beta = recipe.get("kind", "vae"), recipe.get("beta", 1.0)   # older recipes: a β = 1 VAE
        for name, given, recorded in (("kind", kind, recorded_kind), ("latent_dim", latent_dim, recipe["latent_dim"]),
                                      ("beta", beta, recorded_beta)):
            if given is not None and given != recorded:
                raise ValueError(f"{path}: its provenance.json says {name}={recorded!r}, not {name}={given!r}")
        try:
            return load_model(path / "vae.weights.h5", latent_dim=recipe["latent_dim"], kind=recorded_kind,
                              beta=recorded_beta)
        except ValueError as exc:
            raise ValueError(f"{exc} (its provenance.json says kind={recorded_kind!r}, "
                             f"latent_dim={recipe['latent_dim']})") from exc
    import h5py

    retrain = "re-create them with 'python -m helpers.train' (see README: The trained VAE)"
    if not path.exists():
        raise FileNotFoundError(f"{path}: trained weights not found; {retrain}, or restore the shipped file "
                                f"with 'git checkout -- data/'")
    corrupt = (f"{path}: not a readable HDF5 weights file (corrupt or truncated, {path.stat().st_size} bytes); "
               f"restore it with 'git checkout -- {path}' or {retrain}")
    if not h5py.is_hdf5(path):
        raise ValueError(corrupt)
    try:
        saved_dim, saved_kind = _weights_in_file(path)
    except OSError as exc:          # a valid HDF5 signature but a truncated or damaged body
        raise ValueError(corrupt) from exc
    if saved_dim is not None and latent_dim is not None and saved_dim != latent_dim:
        raise ValueError(f"{path}: these weights are for latent_dim={saved_dim}, not latent_dim={latent_dim}; "
                         f"pass latent_dim={saved_dim}, or train a {latent_dim}-D model")
    if saved_kind is not None and kind is not None and saved_kind != kind:
        heads = "one encoder head" if saved_kind == "autoencoder" else "two encoder heads, mean and log-variance"
        raise ValueError(f"{path}: this file holds kind={saved_kind!r} ({heads}), not kind={kind!r}; "
                         f"load it with kind={saved_kind!r}")
    kind = kind or saved_kind or "vae"
    model = build_model(kind, latent_dim or saved_dim or 2, beta=1.0 if beta is None else beta, compile=False)
    try:
        model.load_weights(path)
    except Exception as exc:
        raise ValueError(f"{path}: does not hold this course's {kind} ({type(exc).__name__}: {exc}); "
                         f"{retrain}") from exc
    return model


def read_provenance(folder) -> dict:
    """A trained model folder's ``provenance.json``: the recipe (kind, latent_dim, beta, ...), who trained it, how."""
    import json

    provenance_path = Path(folder) / "provenance.json"
    if not provenance_path.exists():
        raise FileNotFoundError(f"{provenance_path}: missing; a model folder holds vae.weights.h5 and the "
                                f"provenance.json that 'python -m helpers.train' writes next to it")
    return json.loads(provenance_path.read_text())


def shipped_weights(dataset: str = "mnist", latent_dim: int = 2) -> Path:
    """Path of the trained weights shipped in data/ (``<data>/vae-<dataset>-<D>d/vae.weights.h5``).

    ``<data>`` is the project's ``data/`` folder, or ``$EM2VAE_DATA_DIR`` when set (as for the datasets).
    """
    from helpers.data import data_dir

    return data_dir() / f"vae-{dataset}-{latent_dim}d" / "vae.weights.h5"


# ----------------------------------------------------------------------------- using a trained model


def encode(encoder: keras.Model, x: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray | None]:
    """Eq. 15: q's mean and log-variance for many images: (n, 28, 28, 1) -> (n, D), (n, D).

    For the plain autoencoder's encoder (one output): its codes m(x) (n, D) and None.
    """
    means, log_vars = [], []
    for start in range(0, len(x), batch_size):
        out = encoder(x[start:start + batch_size], training=False)
        if isinstance(out, (list, tuple)):
            means.append(np.asarray(out[0]))
            log_vars.append(np.asarray(out[1]))
        else:
            means.append(np.asarray(out))
    return np.concatenate(means), (np.concatenate(log_vars) if log_vars else None)


def decode(decoder: keras.Model, t: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Eq. 2: pixel probabilities sigmoid(logits) of p(x|t) for latent points: (n, D) -> (n, 28, 28)."""
    out = []
    for start in range(0, len(t), batch_size):
        logits = decoder(np.asarray(t[start:start + batch_size], dtype="float32"), training=False)
        out.append(np.asarray(ops.sigmoid(logits))[..., 0])
    return np.concatenate(out)
