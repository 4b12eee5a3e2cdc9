"""VAE training throughput: helpers.vae against a minimal plain-Keras VAE, same architecture and loss.

    python benchmarks/bench_vae_training.py [--steps 60] [--warmup 10] [--rounds 3]

The plain version is the keras.io example's pattern: a Model subclass whose train_step runs
tf.GradientTape over the two networks, sigmoid outputs, and Keras's binary cross-entropy. Both
train on the same MNIST batches of 128, interleaved, best of each. Prints steady-state training
images per second, the ratio (target: helpers >= 1.0x of plain Keras) and the implied seconds
per epoch of 60,000 images.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from helpers import data, vae  # noqa: E402


class PlainVAE(keras.Model):
    """The minimal reference: the keras.io VAE pattern, TensorFlow-specific train_step."""

    def __init__(self, latent_dim: int = 2):
        super().__init__()
        x_in = keras.Input(shape=(28, 28, 1))
        h = layers.Conv2D(32, 3, padding="same", activation="relu")(x_in)
        h = layers.Conv2D(64, 3, padding="same", activation="relu", strides=2)(h)
        h = layers.Conv2D(64, 3, padding="same", activation="relu")(h)
        h = layers.Conv2D(64, 3, padding="same", activation="relu")(h)
        h = layers.Dense(32, activation="relu")(layers.Flatten()(h))
        self.encoder = keras.Model(x_in, [layers.Dense(latent_dim)(h), layers.Dense(latent_dim)(h)])
        t_in = keras.Input(shape=(latent_dim,))
        h = layers.Reshape((14, 14, 64))(layers.Dense(14 * 14 * 64, activation="relu")(t_in))
        h = layers.Conv2DTranspose(32, 3, padding="same", activation="relu", strides=2)(h)
        self.decoder = keras.Model(t_in, layers.Conv2D(1, 3, padding="same", activation="sigmoid")(h))

    def train_step(self, data):
        x, _ = data
        with tf.GradientTape() as tape:
            t_mean, t_log_var = self.encoder(x)
            t = t_mean + tf.exp(0.5 * t_log_var) * tf.random.normal(tf.shape(t_mean))
            x_hat = self.decoder(t)
            rec = tf.reduce_sum(keras.losses.binary_crossentropy(x, x_hat), axis=(1, 2))
            kl = -0.5 * tf.reduce_sum(1 + t_log_var - tf.square(t_mean) - tf.exp(t_log_var), axis=1)
            loss = tf.reduce_mean(rec + kl)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        return {"loss": loss}


def images_per_second(model: keras.Model, x: np.ndarray, steps: int, warmup: int) -> float:
    batch = 128
    model.fit(x[: warmup * batch], x[: warmup * batch], batch_size=batch, epochs=1, verbose=0, shuffle=False)
    chunk = x[: steps * batch]
    start = time.perf_counter()
    model.fit(chunk, chunk, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    return len(chunk) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    (x_train, _), _ = data.load_mnist()
    x = vae.prepare_images(x_train[: max(args.steps, args.warmup) * 128])

    keras.utils.set_random_seed(0)
    ours = vae.build_vae(2, seed=0)
    plain = PlainVAE(2)
    plain.compile(optimizer=keras.optimizers.RMSprop())
    ours_ips, plain_ips = [], []
    for _ in range(args.rounds):
        ours_ips.append(images_per_second(ours, x, args.steps, args.warmup))
        plain_ips.append(images_per_second(plain, x, args.steps, args.warmup))
    best_ours, best_plain = max(ours_ips), max(plain_ips)
    print(f"VAE training, batch 128, {args.steps} steps after {args.warmup} warm-up, best of {args.rounds}, "
          f"backend {keras.backend.backend()}")
    print(f"  helpers.vae   {best_ours:8.0f} images/s   {60000 / best_ours:5.1f} s/epoch")
    print(f"  plain Keras   {best_plain:8.0f} images/s   {60000 / best_plain:5.1f} s/epoch")
    print(f"  ratio helpers/plain = {best_ours / best_plain:.2f}x (target >= 1.00x)")


if __name__ == "__main__":
    main()
