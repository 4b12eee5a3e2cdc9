"""Stochastic variational inference on probabilistic PCA (course text eqs. 14-17).

Model (a *linear* VAE): t ~ N(0, I_q), x | t ~ N(W t + b, sigma^2 I_d).
Everything is available in closed form — the marginal p(x) = N(b, W W^T + sigma^2 I), the
posterior p(t|x), the ELBO of a Gaussian q, and the maximum-likelihood solution (Tipping &
Bishop, 1999) — so each stochastic estimate here can be checked against an exact answer.

Shapes: X (N, d), W (d, q), b (d,), variational means m and log-variances v (N, q) or (q,).
Gradients come from TensorFlow's automatic differentiation (float64 throughout).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from helpers.config import native_stderr_silenced

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
with native_stderr_silenced():
    import keras
    import tensorflow as tf

from helpers.vae import kl_standard_normal  # eq. 17, shared with the VAE of notebook 04

LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class PPCA:
    """theta = (W (d, q), b (d,), sigma2)."""

    W: np.ndarray
    b: np.ndarray
    sigma2: float


# ----------------------------------------------------------------------------- exact quantities


def sample(model: PPCA, n: int, rng: np.random.Generator) -> np.ndarray:
    """Ancestral sampling (eq. 2): t ~ N(0, I), x = W t + b + noise. Returns X (n, d)."""
    d, q = model.W.shape
    t = rng.standard_normal((n, q))
    return t @ model.W.T + model.b + np.sqrt(model.sigma2) * rng.standard_normal((n, d))


def log_marginal(X: np.ndarray, model: PPCA) -> np.ndarray:
    """log p(x_n) = log N(x_n | b, W W^T + sigma^2 I) for each row (eq. 3 in closed form): (N,)."""
    d = X.shape[1]
    C = model.W @ model.W.T + model.sigma2 * np.eye(d)
    chol = np.linalg.cholesky(C)
    z = np.linalg.solve(chol, (X - model.b).T)
    return -0.5 * (d * LOG_2PI + 2 * np.sum(np.log(np.diag(chol))) + np.sum(z**2, axis=0))


def exact_posterior(X: np.ndarray, model: PPCA) -> tuple[np.ndarray, np.ndarray]:
    """p(t | x) = N(M^-1 W^T (x - b), sigma^2 M^-1) with M = W^T W + sigma^2 I (eq. 4).

    Returns the means (N, q) and the covariance (q, q), which is the same for every x.
    """
    q = model.W.shape[1]
    M = model.W.T @ model.W + model.sigma2 * np.eye(q)
    means = np.linalg.solve(M, model.W.T @ (X - model.b).T).T
    return means, model.sigma2 * np.linalg.inv(M)


def best_diagonal_q(X: np.ndarray, model: PPCA) -> tuple[np.ndarray, np.ndarray]:
    """The best factorised Gaussian q for each x: the exact means and variances 1 / (posterior precision)_jj.

    (Minimising KL(q || p) for a Gaussian p gives the precision's diagonal, not the covariance's.)
    Returns means (N, q) and variances (q,).
    """
    means, cov = exact_posterior(X, model)
    return means, 1.0 / np.diag(np.linalg.inv(cov))


def maximum_likelihood(X: np.ndarray, q: int) -> PPCA:
    """The closed-form maximum-likelihood PPCA (Tipping & Bishop): W = U_q (L_q - sigma^2 I)^(1/2)."""
    b = X.mean(axis=0)
    eigvals, eigvecs = np.linalg.eigh(np.cov(X, rowvar=False, bias=True))
    eigvals, eigvecs = eigvals[::-1], eigvecs[:, ::-1]
    sigma2 = float(eigvals[q:].mean())
    return PPCA(W=eigvecs[:, :q] * np.sqrt(eigvals[:q] - sigma2), b=b, sigma2=sigma2)


# ----------------------------------------------------------------------------- the ELBO (eqs. 16, 17)


def expected_log_likelihood(x, m, v, W, b, sigma2):
    """E_q[log p(x|t)] in closed form for q = N(m, diag e^v): (..., d) -> (...).

    = -d/2 log(2 pi sigma^2) - (||x - W m - b||^2 + sum_j e^{v_j} ||W_j||^2) / (2 sigma^2).
    """
    sigma2 = tf.cast(sigma2, tf.float64)
    d = tf.cast(tf.shape(W)[0], tf.float64)
    resid = x - tf.linalg.matvec(W, m) - b
    spread = tf.linalg.matvec(tf.square(W), tf.exp(v))
    return -0.5 * d * (LOG_2PI + tf.math.log(sigma2)) - 0.5 * tf.reduce_sum(tf.square(resid) + spread, -1) / sigma2


def elbo_closed_form(x, m, v, W, b, sigma2):
    """L = E_q[log p(x|t)] - KL(q || p(t))   (eq. 16), exactly: (...)."""
    return expected_log_likelihood(x, m, v, W, b, sigma2) - kl_standard_normal(m, v)


def log_likelihood_given_latent(x, t, W, b, sigma2):
    """log p(x | t) = log N(x | W t + b, sigma^2 I), broadcasting t (S, ..., q) against x (..., d)."""
    sigma2 = tf.cast(sigma2, tf.float64)
    d = tf.cast(tf.shape(W)[0], tf.float64)
    resid = x - tf.linalg.matvec(W, t) - b
    return -0.5 * (d * (LOG_2PI + tf.math.log(sigma2)) + tf.reduce_sum(tf.square(resid), -1) / sigma2)


def reparameterized_samples(m, v, eps):
    """t = m + s * eps with s = exp(v / 2): the reparameterization trick. eps (S, ..., q)."""
    return m + tf.exp(0.5 * v) * eps


def elbo_monte_carlo(x, m, v, W, b, sigma2, eps):
    """Eq. 16 with the reconstruction term estimated from samples and the KL in closed form (eq. 17).

    Returns the per-sample estimates (S, ...); their mean is the estimate, their spread its error.
    """
    t = reparameterized_samples(m, v, eps)
    return log_likelihood_given_latent(x, t, W, b, sigma2) - kl_standard_normal(m, v)


def log_normal_diag(t, m, v):
    """log N(t | m, diag e^v), summed over the last axis."""
    return -0.5 * tf.reduce_sum(LOG_2PI + v + tf.square(t - m) / tf.exp(v), axis=-1)


# ----------------------------------------------------------------------------- gradient estimators


def gradient_exact(x, m, v, model: PPCA) -> np.ndarray:
    """d ELBO / d(m, v) from the closed form, by automatic differentiation: (2q,)."""
    m, v = tf.Variable(m, dtype=tf.float64), tf.Variable(v, dtype=tf.float64)
    with tf.GradientTape() as tape:
        elbo = elbo_closed_form(x, m, v, model.W, model.b, model.sigma2)
    return np.concatenate([g.numpy() for g in tape.gradient(elbo, [m, v])])


def gradient_reparameterization(x, m, v, model: PPCA, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Reparameterization estimate: differentiate mean_s f(m + s eps_s) through the samples: (2q,).

    f(t) = log p(x|t) + log p(t) - log q(t) is the integrand of eq. 6.
    """
    eps = tf.constant(rng.standard_normal((n_samples, len(m))))
    m, v = tf.Variable(m, dtype=tf.float64), tf.Variable(v, dtype=tf.float64)
    with tf.GradientTape() as tape:
        t = reparameterized_samples(m, v, eps)
        f = (log_likelihood_given_latent(x, t, model.W, model.b, model.sigma2)
             + log_normal_diag(t, 0.0 * t, 0.0 * t) - log_normal_diag(t, m, v))
        estimate = tf.reduce_mean(f)
    return np.concatenate([g.numpy() for g in tape.gradient(estimate, [m, v])])


def gradient_score_function(x, m, v, model: PPCA, n_samples: int, rng: np.random.Generator,
                            baseline: bool = False) -> np.ndarray:
    """Score-function (REINFORCE) estimate: mean_s (f(t_s) - c_s) d log q(t_s) / d(m, v): (2q,).

    The samples are not differentiated through. With ``baseline``, c_s is the mean of f over the
    *other* samples (leave-one-out, so the estimate stays unbiased; needs n_samples >= 2).
    """
    t = tf.constant(m + np.exp(0.5 * v) * rng.standard_normal((n_samples, len(m))))
    m, v = tf.Variable(m, dtype=tf.float64), tf.Variable(v, dtype=tf.float64)
    f = (log_likelihood_given_latent(x, t, model.W, model.b, model.sigma2)
         + log_normal_diag(t, 0.0 * t, 0.0 * t) - log_normal_diag(t, m, v)).numpy()
    if baseline:
        if n_samples < 2:
            raise ValueError("a leave-one-out baseline needs at least 2 samples")
        f = f - (f.sum() - f) / (n_samples - 1)
    with tf.GradientTape() as tape:
        surrogate = tf.reduce_mean(tf.constant(f) * log_normal_diag(t, m, v))
    return np.concatenate([g.numpy() for g in tape.gradient(surrogate, [m, v])])


# ----------------------------------------------------------------------------- optimisation


def fit_local_q(X: np.ndarray, model: PPCA, steps: int, learning_rate: float = 0.05,
                n_samples: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Eq. 14: separate (m_i, v_i) for every data point, fitted by stochastic gradient ascent on the
    reparameterized Monte Carlo ELBO (Adam, learning rate halved every steps/6 so that the noisy
    iterates settle). Returns m (N, q), v (N, q) and the mean ELBO estimate per step."""
    n, q = len(X), model.W.shape[1]
    m = keras.Variable(np.zeros((n, q)), dtype="float64", name="m")
    v = keras.Variable(np.zeros((n, q)), dtype="float64", name="v")
    x = tf.constant(X)
    schedule = keras.optimizers.schedules.ExponentialDecay(learning_rate, max(steps // 6, 1), 0.5)
    optimizer = keras.optimizers.Adam(schedule)
    rng = tf.random.Generator.from_seed(seed)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            eps = rng.normal((n_samples, n, q), dtype=tf.float64)
            loss = -tf.reduce_mean(elbo_monte_carlo(x, m, v, model.W, model.b, model.sigma2, eps))
        optimizer.apply_gradients(zip(tape.gradient(loss, [m, v]), [m, v], strict=True))
        return -loss

    trace = [float(step()) for _ in range(steps)]
    return m.numpy(), v.numpy(), trace


@dataclass
class LinearEncoder:
    """Amortized q(t|x) = N(m(x), diag e^v) with m(x) = x A + c and one log-variance vector v (eq. 15).

    For PPCA the exact posterior mean is linear in x and its covariance does not depend on x, so
    this family holds the best diagonal q of every data point. ``rank`` < q limits A to rank
    ``rank`` (A = U V), a deliberately too-small encoder. Parameters: A (d, q) or U (d, r), V (r, q).
    """

    A: np.ndarray
    c: np.ndarray
    v: np.ndarray

    def __call__(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return X @ self.A + self.c, np.broadcast_to(self.v, (len(X), len(self.v)))

    def n_parameters(self, rank: int | None = None) -> int:
        """Size of phi: d*q entries of A (rank*(d + q) when A = U V has rank ``rank``) plus c and v."""
        d, q = self.A.shape
        return (d * q if rank is None else rank * (d + q)) + 2 * q


def _encoder_variables(d: int, q: int, rank: int | None, rng: np.random.Generator) -> list:
    shapes = [(d, q)] if rank is None else [(d, rank), (rank, q)]
    weights = [keras.Variable(0.1 * rng.standard_normal(s), dtype="float64") for s in shapes]
    return weights + [keras.Variable(np.zeros(q), dtype="float64"), keras.Variable(np.zeros(q), dtype="float64")]


def _encode(variables: list, x):
    *weights, c, v = variables
    A = weights[0] if len(weights) == 1 else tf.matmul(weights[0], weights[1])
    return tf.matmul(x, A) + c, v + 0.0 * tf.matmul(x, A), A


def fit_amortized(X: np.ndarray, model: PPCA, steps: int, rank: int | None = None, learning_rate: float = 0.02,
                  batch_size: int = 100, seed: int = 0) -> tuple[LinearEncoder, list[float]]:
    """Fit only the encoder phi (theta fixed) by stochastic gradient ascent on mini-batch ELBOs."""
    n, d = X.shape
    q = model.W.shape[1]
    rng = np.random.default_rng(seed)
    variables = _encoder_variables(d, q, rank, rng)
    optimizer = keras.optimizers.Adam(learning_rate)
    noise = tf.random.Generator.from_seed(seed)

    @tf.function
    def step(xb):
        with tf.GradientTape() as tape:
            m, v, _ = _encode(variables, xb)
            eps = noise.normal(tf.shape(m), dtype=tf.float64)
            loss = -tf.reduce_mean(elbo_monte_carlo(xb, m, v, model.W, model.b, model.sigma2, eps))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return -loss

    trace = []
    for _ in range(steps):
        batch = X[rng.choice(n, size=batch_size, replace=False)]
        trace.append(float(step(tf.constant(batch))))
    _, _, A = _encode(variables, tf.constant(X[:1]))
    return LinearEncoder(A.numpy(), variables[-2].numpy(), variables[-1].numpy()), trace


@dataclass
class JointTrace:
    """Per evaluation point: step, the full-data ELBO (closed form) and the exact log-likelihood, per point."""

    steps: list[int]
    elbo: list[float]
    log_likelihood: list[float]


def fit_joint(X: np.ndarray, q: int, steps: int, batch_size: int = 50, learning_rate: float = 0.01,
              eval_every: int = 50, seed: int = 0, progress=None) -> tuple[PPCA, LinearEncoder, JointTrace]:
    """Learn theta = (W, b, log sigma^2) and phi (a linear encoder) together with mini-batches.

    The data-set ELBO sum_{i=1}^N L_i is estimated from a mini-batch of M points as
    (N / M) sum_{i in batch} L_i (one reparameterized sample each), an unbiased estimate whose
    gradient is followed by Adam. ``progress(step)`` is called every ``eval_every`` steps.
    """
    n, d = X.shape
    rng = np.random.default_rng(seed)
    W = keras.Variable(0.1 * rng.standard_normal((d, q)), dtype="float64")
    b = keras.Variable(np.zeros(d), dtype="float64")
    log_sigma2 = keras.Variable(0.0, dtype="float64")
    enc = _encoder_variables(d, q, None, rng)
    variables = [W, b, log_sigma2, *enc]
    optimizer = keras.optimizers.Adam(learning_rate)
    noise = tf.random.Generator.from_seed(seed)
    scale = n / batch_size

    @tf.function
    def step(xb):
        with tf.GradientTape() as tape:
            m, v, _ = _encode(enc, xb)
            eps = noise.normal(tf.shape(m), dtype=tf.float64)
            dataset_elbo = scale * tf.reduce_sum(elbo_monte_carlo(xb, m, v, W, b, tf.exp(log_sigma2), eps))
            loss = -dataset_elbo / n   # per point, so the learning rate does not depend on N
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))

    def current() -> tuple[PPCA, LinearEncoder]:
        _, _, A = _encode(enc, tf.constant(X[:1]))
        return (PPCA(W.numpy(), b.numpy(), float(np.exp(log_sigma2.numpy()))),
                LinearEncoder(A.numpy(), enc[-2].numpy(), enc[-1].numpy()))

    trace = JointTrace([], [], [])
    for i in range(steps + 1):
        if i % eval_every == 0 or i == steps:
            model, encoder = current()
            m, v = encoder(X)
            trace.steps.append(i)
            trace.elbo.append(float(np.mean(elbo_closed_form(X, m, v, model.W, model.b, model.sigma2))))
            trace.log_likelihood.append(float(np.mean(log_marginal(X, model))))
            if progress is not None:
                progress(i)
        if i < steps:
            step(tf.constant(X[rng.choice(n, size=batch_size, replace=False)]))
    model, encoder = current()
    return model, encoder, trace
