"""VAE training throughput: helpers.vae against a minimal plain-Keras VAE, same architecture and loss.

    python benchmarks/bench_vae_training.py [--steps 60] [--warmup 10] [--rounds 7]

The plain version is the keras.io example's pattern: a Model subclass whose train_step runs
tf.GradientTape over the two networks, sigmoid outputs, and Keras's binary cross-entropy. Both
train on the same MNIST batches of 128. After one warm-up each, the two are timed side by side in
``--rounds`` rounds, alternating which goes first, and each round gives one ratio
helpers/plain of images per second. Prints every round, the median ratio with its min-max spread
(target: median >= 1.0x) and the implied seconds per epoch of 60,000 images. Run it on an idle
machine: anything else running shows up as spread.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from helpers import data, vae
from helpers.backend import keras, tf

layers = keras.layers


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
        h = layers.Reshape(vae.DECODER_GRID)(layers.Dense(int(np.prod(vae.DECODER_GRID)), activation="relu")(t_in))
        h = layers.Conv2DTranspose(32, 3, padding="same", activation="relu", strides=2)(h)
        self.decoder = keras.Model(t_in, layers.Conv2D(1, 3, padding="same", activation="sigmoid")(h))

    def train_step(self, data):
        x, _ = data
        with tf.GradientTape() as tape:
            t_mean, log_var = self.encoder(x)
            t = t_mean + tf.exp(0.5 * log_var) * tf.random.normal(tf.shape(t_mean))
            x_hat = self.decoder(t)
            rec = tf.reduce_sum(keras.losses.binary_crossentropy(x, x_hat), axis=(1, 2))
            kl = -0.5 * tf.reduce_sum(1 + log_var - tf.square(t_mean) - tf.exp(log_var), axis=1)
            loss = tf.reduce_mean(rec + kl)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        return {"loss": loss}


def images_per_second(model: keras.Model, x: np.ndarray) -> float:
    """Train one epoch over ``x`` in batches of 128 and return the images per second."""
    start = time.perf_counter()
    model.fit(x, x, batch_size=128, epochs=1, verbose=0, shuffle=False)
    return len(x) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="training steps (batches of 128) per timing")
    parser.add_argument("--warmup", type=int, default=10, help="steps run once per model before timing")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds, one ratio each")
    args = parser.parse_args()
    (x_train, _), _ = data.load_mnist()
    x = vae.prepare_images(x_train[: args.steps * 128])

    keras.utils.set_random_seed(0)
    models = {"helpers.vae": vae.build_vae(2, seed=0), "plain Keras": PlainVAE(2)}
    models["plain Keras"].compile(optimizer=keras.optimizers.RMSprop())
    for model in models.values():              # builds and traces the train step once
        images_per_second(model, x[: args.warmup * 128])

    ips = {name: [] for name in models}
    ratios = []
    for r in range(args.rounds):
        order = list(models) if r % 2 == 0 else list(models)[::-1]
        for name in order:
            ips[name].append(images_per_second(models[name], x))
        ratios.append(ips["helpers.vae"][-1] / ips["plain Keras"][-1])
        print(f"  round {r + 1}: helpers {ips['helpers.vae'][-1]:6.0f} images/s, "
              f"plain {ips['plain Keras'][-1]:6.0f} images/s, ratio {ratios[-1]:.3f}", flush=True)

    print(f"VAE training, batch 128, {args.steps} steps per timing, {args.rounds} interleaved rounds, "
          f"backend {keras.backend.backend()}, {os.cpu_count()} CPU cores")
    for name, values in ips.items():
        med = float(np.median(values))
        print(f"  {name:12s} median {med:6.0f} images/s ({60000 / med:5.1f} s/epoch), "
              f"range {min(values):.0f}-{max(values):.0f}")
    print(f"  ratio helpers/plain: median {np.median(ratios):.3f}x, spread {min(ratios):.3f}-{max(ratios):.3f}x "
          f"(target median >= 1.00x)")


if __name__ == "__main__":
    main()
