"""Notebook 06, beyond the course: what the KL term buys, measured on models that differ in one setting.

The models (all the course's networks and recipe, see ``data/<name>/provenance.json``):

* the plain **autoencoder** (no q, no KL) and 2-D **VAEs** weighted by beta = 0.5, 1, 2, 4, 8 (the beta = 0 control,
  q's noise without the KL term);
* beta = 1 VAEs with **latent_dim** 8 and 32.

The measurements, each in nats per test image unless said otherwise:

* :func:`evaluate` (Alemi et al., 2018): rate = E_x KL(q(t|x) || p(t)) (eq. 17),
  distortion = E_x E_q[-log p(x|t)] (eq. 16's first term); -ELBO = rate + distortion;
* :func:`marginal_likelihood_bounds`: the importance-weighted bound L_k (Burda et al., 2016) per image;
* the prior mismatch KL(q(t) || p(t)) of the aggregate posterior, bracketed: :func:`moment_matched_kl` from below,
  :func:`mixture_kl` (the mixture of N codes) from above in expectation;
* :func:`active_units`: how many latent dimensions the encoder's means actually use;
* :func:`confident_fraction` with a digit classifier: how many decoded images look like a digit;
* :func:`path_roughness`: how abruptly decoded images change along a straight latent path.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from helpers import data, distributions, latent, vae, vae_evaluation
from helpers.latent import active_units

__all__ = [
    "BETA_MODELS", "DIMENSION_MODELS", "MODELS", "TWO_D_MODELS", "active_units", "aggregate_moments",
    "class_anchors", "confident_fraction", "digit_classifier", "evaluate", "load", "log_code_mixture", "mixture_kl",
    "marginal_likelihood_bounds", "moment_matched_kl", "path_roughness", "prior_hole_fraction", "rate_and_distortion",
    "train_digit_classifier",
]

MODELS = {
    "ae-mnist-2d": "autoencoder",
    "vae-mnist-2d-beta0": "β = 0",
    "vae-mnist-2d-beta0.5": "β = 0.5",
    "vae-mnist-2d-beta1": "β = 1",
    "vae-mnist-2d-beta2": "β = 2",
    "vae-mnist-2d-beta4": "β = 4",
    "vae-mnist-2d-beta8": "β = 8",
    "vae-mnist-8d": "D = 8",
    "vae-mnist-32d": "D = 32",
}
# beta = 0 is the control: q's noise without the KL term (the autoencoder has neither, the VAEs both).
BETA_MODELS = ["vae-mnist-2d-beta0", "vae-mnist-2d-beta0.5", "vae-mnist-2d-beta1", "vae-mnist-2d-beta2",
               "vae-mnist-2d-beta4", "vae-mnist-2d-beta8"]
TWO_D_MODELS = ["ae-mnist-2d", *BETA_MODELS]        # the three-way comparison: no noise, noise only, noise and KL
DIMENSION_MODELS = ["vae-mnist-2d-beta1", "vae-mnist-8d", "vae-mnist-32d"]
CLASSIFIER = "digit-classifier-mnist"


def load(name: str) -> tuple[vae.VAE | vae.Autoencoder, dict]:
    """One of :data:`MODELS` from ``data/<name>/``: the model and its provenance (kind, beta, latent_dim)."""
    if name not in MODELS:
        raise ValueError(f"model {name!r}: expected one of {sorted(MODELS)}")
    folder = data.data_dir() / name
    return vae.load_model(folder), vae.read_provenance(folder)


def evaluate(model: vae.VAE | vae.Autoencoder, x: np.ndarray, seed: int = 0, batch_size: int = 2000) -> dict:
    """One pass over images (n, 28, 28, 1): rate, distortion, distortion at the mean code, and the codes.

    ``rate`` = mean KL(q(t|x) || p(t)) (eq. 17), ``distortion`` = mean -log p(x|t) at one sample t ~ q per image
    (seed ``seed``, the same draws as :func:`vae_evaluation.negative_elbo`), ``at_mean`` = mean -log p(x | m(x)),
    all nats per image; ``t_mean`` (n, D) and ``log_var`` (n, D; None for the autoencoder). The autoencoder's
    encoder is a point mass, whose KL to a continuous prior is infinite: its rate is ``inf``.
    """
    t_mean, log_var = vae.encode(model.encoder, x, batch_size)
    at_mean = vae_evaluation.reconstruction_nll(model, x, t_mean, batch_size)
    if log_var is None:
        return {"rate": float("inf"), "distortion": at_mean, "at_mean": at_mean, "t_mean": t_mean, "log_var": None}
    terms = vae_evaluation.negative_elbo_at_codes(model, x, t_mean, log_var, seed=seed)   # eqs. 16-17, one t ~ q each
    return {"rate": terms["kl"], "distortion": terms["reconstruction"], "at_mean": at_mean, "t_mean": t_mean,
            "log_var": log_var}


def rate_and_distortion(model: vae.VAE | vae.Autoencoder, x: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Rate (eq. 17's KL) and distortion (eq. 16's reconstruction), nats per image: :func:`evaluate`'s first two."""
    result = evaluate(model, x, seed)
    return {"rate": result["rate"], "distortion": result["distortion"]}


def marginal_likelihood_bounds(model: vae.VAE, x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """L_k for each image (n, 28, 28, 1) -> (n,): log of the mean of k importance weights p(x, t)/q(t|x), t ~ q.

    L_1 is a one-sample ELBO and L_k rises to log p(x) as k grows (Burda et al., 2016; notebook 04).
    """
    log_w = vae_evaluation.importance_log_weights_per_image(model, x, k, np.random.default_rng(seed))[0]   # (n, k)
    return vae_evaluation.importance_weighted_bounds(log_w, k)


def prior_hole_fraction(t_codes: np.ndarray, radius: float, n_samples: int = 20_000, seed: int = 0) -> float:
    """The prior's mass with no code nearby: the share of t ~ N(0, I) farther than ``radius`` from every code.

    ``t_codes``: the codes of many images (n, D). Sampling the model means decoding t ~ p(t); where no image
    was ever encoded the decoder was never trained, so this share of the samples decodes from a *hole*.
    """
    from scipy.spatial import cKDTree

    t_codes = np.asarray(t_codes, dtype=float)
    samples = np.random.default_rng(seed).standard_normal((n_samples, t_codes.shape[1]))
    distance, _ = cKDTree(t_codes).query(samples)
    return float(np.mean(distance > radius))


# ----------------------------------------------------------------------------- where the codes are, against the prior


def aggregate_moments(t_mean: np.ndarray, log_var: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of the aggregate posterior q(t) = 1/N sum_n N(m_n, diag exp(v_n)).

    ``t_mean``, ``log_var``: the encoder's outputs for N images, (N, D) each; ``log_var`` None for point codes
    (the autoencoder). Law of total covariance: Cov q(t) = Cov_n(m_n) + mean_n diag exp(v_n).
    """
    t_mean = np.asarray(t_mean, dtype=float)
    covariance = np.cov(t_mean, rowvar=False, bias=True).reshape(t_mean.shape[1], t_mean.shape[1])
    if log_var is not None:
        covariance = covariance + np.diag(np.mean(np.exp(np.asarray(log_var, dtype=float)), axis=0))
    return t_mean.mean(axis=0), covariance


def moment_matched_kl(mean: np.ndarray, covariance: np.ndarray) -> float:
    """KL(N(mean, covariance) || N(0, I)) = 1/2 (tr C + |mu|^2 - D - log det C), nats: mean (D,), covariance (D, D).

    With the moments of q(t) (:func:`aggregate_moments`) it is a *lower bound* on KL(q(t) || p(t)) for any q(t):
    the prior is Gaussian, so E_q[log p] depends on q only through these moments, and
    KL(q || p) = KL(q || its moment-matched Gaussian) + this number. It sees a shifted or stretched cloud of codes,
    not its shape: a ring or a scatter of spikes with the prior's moments gets 0.
    """
    mean, covariance = np.asarray(mean, dtype=float), np.asarray(covariance, dtype=float)
    sign, log_det = np.linalg.slogdet(covariance)
    if sign <= 0:
        raise ValueError("covariance: not positive definite (codes that all lie on a line or a point?)")
    return float(0.5 * (np.trace(covariance) + mean @ mean - len(mean) - log_det))


def log_code_mixture(t: np.ndarray, t_mean: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """log q_N(t) = log 1/N sum_n N(t | m_n, diag exp(v_n)), :func:`helpers.latent.log_aggregate_posterior`'s density,
    by matrix products: t (G, D), t_mean and log_var (N, D) -> (G,).

    The squared distances sum_d (t_d - m_nd)^2 w_nd, with w = exp(-v), expand into t^2 w - 2 t m w + m^2 w, three
    (G, D) x (D, N) products: a (G, N) table without latent's (G, N, D) array, some 20 times faster at D = 32.
    """
    w = np.exp(-log_var)                                                               # (N, D): 1 / s^2
    squared = (t**2) @ w.T - 2.0 * t @ (t_mean * w).T + np.sum(t_mean**2 * w, axis=1)     # (G, N)
    log_components = -0.5 * (t.shape[1] * distributions.LOG_2PI + np.sum(log_var, axis=1) + squared)
    return distributions.log_mean_exp(log_components, axis=1)


def mixture_kl(t_mean: np.ndarray, log_var: np.ndarray, n_samples: int = 2000, seed: int = 0,
               block: int = 500) -> tuple[float, float]:
    """KL(q_N(t) || p(t)) of the mixture of N codes q_N(t) = 1/N sum_n N(m_n, diag exp(v_n)), by Monte Carlo.

    ``t_mean``, ``log_var``: (N, D). Draws ``n_samples`` points from q_N (a random image, then its q) and averages
    log q_N(t) - log p(t) (:func:`log_code_mixture`, ``block`` points at a time); returns (estimate, standard error).
    q_N is the N images' own mixture, not the aggregate posterior q(t) of the data: KL is convex and E[q_N] = q, so
    E[KL(q_N || p)] >= KL(q || p), and the excess grows as q(t | x) narrows and N shrinks. With narrow q's the
    mixture is N spikes and the estimate approaches rate - log N, whatever the codes' spread.
    """
    t_mean, log_var = np.asarray(t_mean, dtype=float), np.asarray(log_var, dtype=float)
    rng = np.random.default_rng(seed)
    pick = rng.integers(len(t_mean), size=n_samples)
    t = distributions.reparameterize(t_mean[pick], log_var[pick], rng.standard_normal((n_samples, t_mean.shape[1])))
    log_q = latent.in_blocks(log_code_mixture, t, t_mean, log_var, block=block)
    log_ratio = log_q - distributions.log_standard_normal(t)
    return float(log_ratio.mean()), float(log_ratio.std(ddof=1) / np.sqrt(n_samples))


# ----------------------------------------------------------------------------- does a decoded image look like a digit?


def _classifier_model():
    keras = vae.keras
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)],
                            name="digit_classifier")


def train_digit_classifier(out: Path, epochs: int = 5, seed: int = 0) -> dict:
    """Train the small classifier that judges decoded images (784-256-10, Adam) on all 60,000 training images.

    Writes ``classifier.weights.h5`` and ``provenance.json`` (with the test accuracy) to ``out``.
    """
    keras = vae.keras
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    model = _classifier_model()
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(vae.prepare_images(x_train), y_train, batch_size=128, epochs=epochs, verbose=2)
    probabilities = _softmax(np.asarray(model.predict(vae.prepare_images(x_test), verbose=0)))
    out.mkdir(parents=True, exist_ok=True)
    weights_only = _classifier_model()                      # without Adam's moments: a third of the size
    weights_only.set_weights(model.get_weights())
    weights_only.save_weights(out / "classifier.weights.h5")
    provenance = {
        "command": f"python -m helpers.beyond classifier --out {out} --epochs {epochs} --seed {seed}",
        "model": "Flatten -> Dense(256, relu) -> Dense(10) logits; Adam, batch 128, all 60,000 training images",
        "epochs": epochs, "seed": seed, "wall_seconds": round(time.perf_counter() - start, 1),
        "test_accuracy": round(float(np.mean(probabilities.argmax(1) == y_test)), 4),
        "test_confident_at_0.9": round(float(np.mean(probabilities.max(1) >= 0.9)), 4),
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=1))
    return provenance


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def digit_classifier():
    """The shipped classifier as a function: images (n, 28, 28) in [0, 1] -> class probabilities (n, 10)."""
    path = data.data_dir() / CLASSIFIER / "classifier.weights.h5"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; train it with 'python -m helpers.beyond classifier --out "
                                f"{path.parent}' or restore it with 'git checkout -- data/'")
    model = _classifier_model()
    model.load_weights(path)

    def probabilities(images: np.ndarray) -> np.ndarray:
        batch = np.asarray(images, dtype="float32").reshape(-1, 28, 28, 1)
        return _softmax(np.asarray(model(batch, training=False)))

    return probabilities


def confident_fraction(probabilities: np.ndarray, threshold: float = 0.9) -> float:
    """The share of images (rows of class probabilities (n, 10)) that the classifier labels with p >= threshold."""
    return float(np.mean(np.max(probabilities, axis=1) >= threshold))


def class_anchors(t_codes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """For each class k = 0..9, the code of the class's *central* digit: the one nearest the class's mean code. (10, D)

    A class's mean code need not lie among its codes (the autoencoder's classes are long arms), but this one does.
    """
    anchors = []
    for k in range(10):
        members = t_codes[labels == k]
        anchors.append(members[np.argmin(np.sum((members - members.mean(axis=0)) ** 2, axis=1))])
    return np.array(anchors)


def path_roughness(images: np.ndarray) -> dict[str, float]:
    """How abruptly decoded images change along a path: ``images`` (n, 28, 28), equal steps in latent space.

    ``largest_step_share`` is the largest step's share of the summed per-step changes ||x_{i+1} - x_i||
    (1/(n-1) when the change is spread evenly, 1 when it happens in one step); it does not change when the whole
    latent space is rescaled, so models whose codes lie on different scales can be compared.
    """
    steps = np.linalg.norm(np.diff(images.reshape(len(images), -1), axis=0), axis=1)
    return {"largest_step_share": float(steps.max() / steps.sum()), "total_change": float(steps.sum())}


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m helpers.beyond", description="Notebook 06's helpers.")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("classifier", help="train the digit classifier that judges decoded images")
    train.add_argument("--out", type=Path, default=Path("data") / CLASSIFIER)
    train.add_argument("--epochs", type=int, default=5)
    train.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(train_digit_classifier(args.out, args.epochs, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
