"""Stochastic variational inference on probabilistic PCA (course text eqs. 14-17).

Model (a *linear* VAE): t ~ N(0, I_D), x | t ~ N(W t + b, sigma^2 I_d), with D = ``latent_dim``.
Everything is available in closed form — the marginal p(x) = N(b, W W^T + sigma^2 I), the
posterior p(t|x), the ELBO of a Gaussian q, and the maximum-likelihood solution (Tipping &
Bishop, 1999) — so each stochastic estimate here can be checked against an exact answer.

Shapes: X (N, d), W (d, D), b (d,), variational means m and log-variances log_var (N, D) or (D,).
Gradients come from TensorFlow's automatic differentiation (float64 throughout); the densities and
the KL come from :mod:`helpers.distributions`, the same code the VAE of notebook 04 uses.
Per-point functions return one value per row of X; averages over rows are nats per data point.

The method is amortized, reparameterized variational inference (Kingma & Welling 2014; Rezende et al.
2014). Hoffman et al. (2013) coined "stochastic variational inference" for natural-gradient steps on
global parameters from mini-batches; here the gradients are ordinary Monte Carlo gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from helpers.backend import keras, tf
from helpers.distributions import (
    LOG_2PI,
    kl_standard_normal,
    log_normal_diag,
    log_normal_full,
    log_standard_normal,
    reparameterize,
)
from helpers.validation import check_array

__all__ = [
    "PPCA", "JointTrace", "LinearEncoder", "best_diagonal_q", "elbo_closed_form", "elbo_monte_carlo",
    "expected_log_likelihood", "fit_amortized", "fit_joint", "fit_local_q_stochastic", "gradient_exact",
    "gradient_reparameterization", "gradient_score_function", "log_likelihood_given_latent", "log_marginal",
    "log_q_score", "score_function_estimate",
    "maximum_likelihood", "ppca_posterior", "sample_ppca",
]


@dataclass(frozen=True)
class PPCA:
    """theta = (W (d, D), b (d,), sigma2)."""

    W: np.ndarray
    b: np.ndarray
    sigma2: float

    def __post_init__(self) -> None:
        W, b = np.asarray(self.W, dtype=float), np.asarray(self.b, dtype=float)
        if W.ndim != 2 or b.shape != (W.shape[0],):
            raise ValueError(f"PPCA: expected W (d, D) and b (d,), got {W.shape} and {b.shape}")
        if not self.sigma2 > 0:
            raise ValueError(f"PPCA: sigma2 must be > 0, got {self.sigma2}")
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "b", b)

    @property
    def latent_dim(self) -> int:
        return self.W.shape[1]


# ----------------------------------------------------------------------------- exact quantities


def _check_data(X: np.ndarray, model: PPCA) -> np.ndarray:
    return check_array(X, n_features=model.W.shape[0])


def sample_ppca(model: PPCA, n: int, rng: np.random.Generator) -> np.ndarray:
    """Eq. 2: ancestral sampling, t ~ N(0, I), then x = W t + b + noise. Returns X (n, d)."""
    d, latent_dim = model.W.shape
    t = rng.standard_normal((n, latent_dim))
    return t @ model.W.T + model.b + np.sqrt(model.sigma2) * rng.standard_normal((n, d))


def log_marginal(X: np.ndarray, model: PPCA) -> np.ndarray:
    """Eq. 3 in closed form: log p(x_n) = log N(x_n | b, W W^T + sigma^2 I) for each row of X (N, d): (N,)."""
    X = _check_data(X, model)
    C = model.W @ model.W.T + model.sigma2 * np.eye(X.shape[1])
    return log_normal_full(X, model.b[None], C[None])[:, 0]


def ppca_posterior(X: np.ndarray, model: PPCA) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 4: p(t | x) = N(M^-1 W^T (x - b), sigma^2 M^-1) with M = W^T W + sigma^2 I.

    Returns the means (N, D) and the covariance (D, D), which is the same for every x.
    """
    X = _check_data(X, model)
    M = model.W.T @ model.W + model.sigma2 * np.eye(model.latent_dim)
    means = np.linalg.solve(M, model.W.T @ (X - model.b).T).T
    return means, model.sigma2 * np.linalg.inv(M)


def best_diagonal_q(X: np.ndarray, model: PPCA) -> tuple[np.ndarray, np.ndarray]:
    """Eqs. 10 and 14: the best factorised Gaussian q for each x: the exact means and variances 1 / (precision)_jj.

    (Minimising KL(q || p) for a Gaussian p gives the precision's diagonal, not the covariance's.)
    Returns means (N, D) and log-variances (N, D), the same row for every x, ready for :func:`elbo_closed_form`.
    """
    means, cov = ppca_posterior(X, model)
    log_var = -np.log(np.diag(np.linalg.inv(cov)))
    return means, np.tile(log_var, (len(means), 1))


def maximum_likelihood(X: np.ndarray, latent_dim: int) -> PPCA:
    """Eq. 1 in closed form for PPCA (Tipping & Bishop): W = U_D (L_D - sigma^2 I)^(1/2), X (N, d).

    Unique up to a rotation of the latent space: W R for any orthogonal R (D, D) has the same likelihood.
    """
    X = np.asarray(X, dtype=float)
    if not 1 <= latent_dim < X.shape[1]:
        raise ValueError(f"latent_dim must be between 1 and d - 1 = {X.shape[1] - 1}, got {latent_dim}")
    b = X.mean(axis=0)
    eigvals, eigvecs = np.linalg.eigh(np.cov(X, rowvar=False, bias=True))
    eigvals, eigvecs = eigvals[::-1], eigvecs[:, ::-1]
    sigma2 = float(eigvals[latent_dim:].mean())
    return PPCA(W=eigvecs[:, :latent_dim] * np.sqrt(eigvals[:latent_dim] - sigma2), b=b, sigma2=sigma2)


# ----------------------------------------------------------------------------- the ELBO (eqs. 16, 17)


def expected_log_likelihood(x, m, log_var, W, b, sigma2):
    """Eq. 16, first term, in closed form: E_q[log p(x|t)] for q = N(m, diag exp(log_var)): x (..., d) -> (...).

    = -d/2 log(2 pi sigma^2) - (||x - W m - b||^2 + sum_j exp(log_var_j) ||W_j||^2) / (2 sigma^2).
    """
    sigma2 = tf.convert_to_tensor(sigma2, dtype=tf.float64)   # not tf.cast: it rounds a Python float to float32 first
    d = tf.cast(tf.shape(W)[0], tf.float64)
    resid = x - tf.linalg.matvec(W, m) - b
    spread = tf.linalg.matvec(tf.square(W), tf.exp(log_var))
    return -0.5 * d * (LOG_2PI + tf.math.log(sigma2)) - 0.5 * tf.reduce_sum(tf.square(resid) + spread, -1) / sigma2


def elbo_closed_form(x, m, log_var, W, b, sigma2):
    """Eqs. 16-17, exactly: L = E_q[log p(x|t)] - KL(q || p(t)) per data point: (...)."""
    return expected_log_likelihood(x, m, log_var, W, b, sigma2) - kl_standard_normal(m, log_var)


def log_likelihood_given_latent(x, t, W, b, sigma2):
    """Eq. 2: log p(x | t) = log N(x | W t + b, sigma^2 I), broadcasting t (S, ..., D) against x (..., d)."""
    sigma2 = tf.convert_to_tensor(sigma2, dtype=tf.float64)   # not tf.cast: it rounds a Python float to float32 first
    d = tf.cast(tf.shape(W)[0], tf.float64)
    resid = x - tf.linalg.matvec(W, t) - b
    return -0.5 * (d * (LOG_2PI + tf.math.log(sigma2)) + tf.reduce_sum(tf.square(resid), -1) / sigma2)


def elbo_monte_carlo(x, m, log_var, W, b, sigma2, eps):
    """Eqs. 16-17: the ELBO with the reconstruction term estimated from samples t = m + s eps, KL in closed form.

    eps (S, ..., D). Returns the per-sample estimates (S, ...); their mean is the estimate, their spread its error.
    """
    t = reparameterize(m, log_var, eps)
    return log_likelihood_given_latent(x, t, W, b, sigma2) - kl_standard_normal(m, log_var)


# ----------------------------------------------------------------------------- gradient estimators


def gradient_exact(x, m, log_var, model: PPCA) -> np.ndarray:
    """Eqs. 16-17: d ELBO / d(m, log_var) from the closed form, by automatic differentiation: (2D,)."""
    m, log_var = tf.Variable(m, dtype=tf.float64), tf.Variable(log_var, dtype=tf.float64)
    with tf.GradientTape() as tape:
        elbo = elbo_closed_form(x, m, log_var, model.W, model.b, model.sigma2)
    return np.concatenate([g.numpy() for g in tape.gradient(elbo, [m, log_var])])


def gradient_reparameterization(x, m, log_var, model: PPCA, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Eq. 15's reparameterization: a Monte Carlo gradient of eq. 6, differentiating mean_s f(m + s eps_s): (2D,).

    f(t) = log p(x|t) + log p(t) - log q(t) is the integrand of eq. 6.
    """
    eps = tf.constant(rng.standard_normal((n_samples, len(m))))
    m, log_var = tf.Variable(m, dtype=tf.float64), tf.Variable(log_var, dtype=tf.float64)
    with tf.GradientTape() as tape:
        t = reparameterize(m, log_var, eps)
        f = (log_likelihood_given_latent(x, t, model.W, model.b, model.sigma2)
             + log_standard_normal(t) - log_normal_diag(t, m, log_var))
        estimate = tf.reduce_mean(f)
    return np.concatenate([g.numpy() for g in tape.gradient(estimate, [m, log_var])])


def log_q_score(t, m, log_var) -> np.ndarray:
    """Eq. 14's q = N(m, diag exp(log_var)): the score d log q(t) / d(m, log_var) at samples t (S, D) -> (S, 2D).

    d/dm = (t - m) exp(-log_var);  d/d log_var = ((t - m)^2 exp(-log_var) - 1) / 2. Its mean under q is zero.
    """
    t, m, log_var = (np.asarray(a, dtype=float) for a in (t, m, log_var))
    z2 = np.square(t - m) * np.exp(-log_var)
    return np.concatenate([(t - m) * np.exp(-log_var), 0.5 * (z2 - 1.0)], axis=-1)


def score_function_estimate(f, t, m, log_var) -> np.ndarray:
    """Eq. 6's gradient by the score function: mean_s f_s d log q(t_s) / d(m, log_var), for f (S,), t (S, D) -> (2D,).

    From d/dphi E_q[f] = E_q[f d log q / dphi] + E_q[d f / dphi] with f = log p(x, t) - log q(t):
    f depends on phi only through -log q, so the last term is -E_q[d log q / dphi] = 0 (the score
    has mean zero) and is dropped. The samples t are held fixed, not differentiated through.
    """
    f = np.asarray(f, dtype=float)
    return np.mean(f[:, None] * log_q_score(t, m, log_var), axis=0)


def gradient_score_function(x, m, log_var, model: PPCA, n_samples: int, rng: np.random.Generator,
                            baseline: bool = False, estimate: Callable = score_function_estimate) -> np.ndarray:
    """Eq. 6's gradient by the score function (REINFORCE), from n_samples draws of q: (2D,).

    f(t) = log p(x|t) + log p(t) - log q(t) is the integrand of eq. 6; ``estimate(f, t, m, log_var)`` turns its
    values at the samples into the gradient (:func:`score_function_estimate`, or a student's version of it). With
    ``baseline``, f_s - c_s replaces f_s, c_s the mean of f over the *other* samples (leave-one-out, so the estimate
    stays unbiased; needs n_samples >= 2).
    """
    t = reparameterize(m, log_var, rng.standard_normal((n_samples, len(m))))
    f = np.asarray(log_likelihood_given_latent(x, t, model.W, model.b, model.sigma2)
                   + log_standard_normal(t) - log_normal_diag(t, m, log_var))
    if baseline:
        if n_samples < 2:
            raise ValueError("a leave-one-out baseline needs at least 2 samples")
        f = f - (f.sum() - f) / (n_samples - 1)
    return np.asarray(estimate(f, np.asarray(t), m, log_var), dtype=float)


# ----------------------------------------------------------------------------- optimisation


def fit_local_q_stochastic(X: np.ndarray, model: PPCA, steps: int, learning_rate: float = 0.05,
                n_samples: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Eq. 14: separate (m_i, v_i) for every data point, fitted by stochastic gradient ascent on the
    reparameterized Monte Carlo ELBO (Adam, learning rate halved every steps/6 so that the noisy
    iterates settle). X (N, d). Returns m (N, D), log_var (N, D) and the mean ELBO estimate per step."""
    X = _check_data(X, model)
    n, latent_dim = len(X), model.latent_dim
    m = keras.Variable(np.zeros((n, latent_dim)), dtype="float64", name="m")
    log_var = keras.Variable(np.zeros((n, latent_dim)), dtype="float64", name="log_var")
    x = tf.constant(X)
    schedule = keras.optimizers.schedules.ExponentialDecay(learning_rate, max(steps // 6, 1), 0.5)
    optimizer = keras.optimizers.Adam(schedule)
    rng = tf.random.Generator.from_seed(seed)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            eps = rng.normal((n_samples, n, latent_dim), dtype=tf.float64)
            loss = -tf.reduce_mean(elbo_monte_carlo(x, m, log_var, model.W, model.b, model.sigma2, eps))
        optimizer.apply_gradients(zip(tape.gradient(loss, [m, log_var]), [m, log_var], strict=True))
        return -loss

    trace = [float(step()) for _ in range(steps)]
    return m.numpy(), log_var.numpy(), trace


@dataclass
class LinearEncoder:
    """Eq. 15: amortized q(t|x) = N(m(x), diag exp(log_var)) with m(x) = x A + c and one shared log-variance vector.

    For PPCA the exact posterior mean is linear in x and its covariance does not depend on x, so
    this family holds the best diagonal q of every data point. ``rank`` < D limits A to rank
    ``rank`` (A = U V), a deliberately too-small encoder. Parameters: A (d, D) or U (d, r), V (r, D).
    """

    A: np.ndarray
    c: np.ndarray
    log_var: np.ndarray

    def __call__(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return X @ self.A + self.c, np.broadcast_to(self.log_var, (len(X), len(self.log_var)))

    def n_parameters(self, rank: int | None = None) -> int:
        """Size of phi: d*D entries of A (rank*(d + D) when A = U V has rank ``rank``) plus c and log_var."""
        d, latent_dim = self.A.shape
        return (d * latent_dim if rank is None else rank * (d + latent_dim)) + 2 * latent_dim


def _encoder_variables(d: int, latent_dim: int, rank: int | None, rng: np.random.Generator) -> list:
    shapes = [(d, latent_dim)] if rank is None else [(d, rank), (rank, latent_dim)]
    weights = [keras.Variable(0.1 * rng.standard_normal(s), dtype="float64") for s in shapes]
    zeros = np.zeros(latent_dim)
    return weights + [keras.Variable(zeros, dtype="float64"), keras.Variable(zeros, dtype="float64")]


def _encode(variables: list, x):
    *weights, c, log_var = variables
    A = weights[0] if len(weights) == 1 else tf.matmul(weights[0], weights[1])
    mean = tf.matmul(x, A) + c
    return mean, tf.broadcast_to(log_var, tf.shape(mean)), A


def fit_amortized(X: np.ndarray, model: PPCA, steps: int, rank: int | None = None, learning_rate: float = 0.02,
                  batch_size: int = 100, seed: int = 0) -> tuple[LinearEncoder, list[float]]:
    """Eq. 15: fit only the encoder phi (theta fixed) by stochastic gradient ascent on mini-batch ELBOs. X (N, d)."""
    X = _check_data(X, model)
    n, d = X.shape
    rng = np.random.default_rng(seed)
    variables = _encoder_variables(d, model.latent_dim, rank, rng)
    optimizer = keras.optimizers.Adam(learning_rate)
    noise = tf.random.Generator.from_seed(seed)

    @tf.function
    def step(xb):
        with tf.GradientTape() as tape:
            m, log_var, _ = _encode(variables, xb)
            eps = noise.normal(tf.shape(m), dtype=tf.float64)
            loss = -tf.reduce_mean(elbo_monte_carlo(xb, m, log_var, model.W, model.b, model.sigma2, eps))
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


def fit_joint(X: np.ndarray, latent_dim: int, steps: int, batch_size: int = 50, learning_rate: float = 0.01,
              eval_every: int = 50, seed: int = 0, progress=None) -> tuple[PPCA, LinearEncoder, JointTrace]:
    """Eqs. 13-16: learn theta = (W, b, log sigma^2) and phi (a linear encoder) together from mini-batches.

    The stochastic counterpart of variational EM: each step moves phi (the E-step's q) and the point
    estimate theta (eq. 13's M-step) up the same ELBO gradient instead of maximising in turn.

    The data-set ELBO sum_{i=1}^N L_i is estimated from a mini-batch of M points as
    (N / M) sum_{i in batch} L_i (one reparameterized sample each), an unbiased estimate whose
    gradient is followed by Adam. ``progress(step)`` is called every ``eval_every`` steps.
    """
    X = check_array(X)
    n, d = X.shape
    if not 1 <= latent_dim < d:
        raise ValueError(f"latent_dim must be between 1 and d - 1 = {d - 1}, got {latent_dim}")
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be between 1 and the number of points ({n}), got {batch_size}")
    if steps < 0 or eval_every < 1:
        raise ValueError(f"steps must be >= 0 and eval_every >= 1, got steps={steps}, eval_every={eval_every}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    rng = np.random.default_rng(seed)
    W = keras.Variable(0.1 * rng.standard_normal((d, latent_dim)), dtype="float64")
    b = keras.Variable(np.zeros(d), dtype="float64")
    log_sigma2 = keras.Variable(0.0, dtype="float64")
    enc = _encoder_variables(d, latent_dim, None, rng)
    variables = [W, b, log_sigma2, *enc]
    optimizer = keras.optimizers.Adam(learning_rate)
    noise = tf.random.Generator.from_seed(seed)
    scale = n / batch_size

    @tf.function
    def step(xb):
        with tf.GradientTape() as tape:
            m, log_var, _ = _encode(enc, xb)
            eps = noise.normal(tf.shape(m), dtype=tf.float64)
            dataset_elbo = scale * tf.reduce_sum(elbo_monte_carlo(xb, m, log_var, W, b, tf.exp(log_sigma2), eps))
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
            m, log_var = encoder(X)
            trace.steps.append(i)
            trace.elbo.append(float(np.mean(elbo_closed_form(X, m, log_var, model.W, model.b, model.sigma2))))
            trace.log_likelihood.append(float(np.mean(log_marginal(X, model))))
            if progress is not None:
                progress(i)
        if i < steps:
            step(tf.constant(X[rng.choice(n, size=batch_size, replace=False)]))
    model, encoder = current()
    return model, encoder, trace
