"""Graded exercises: the catalogue of the course's exercises, and the checks the notebooks call.

Each exercise names the function the student writes, the equation it implements and the helper it
is checked against (the course's reference implementation). :func:`check` calls the student's
function positionally, in the reference's argument order (so the student may name the parameters
as they like), on several inputs — random ones, a batch of one, extreme values, another dtype — and
compares every output with the reference. It never raises: an unfinished stub, a crash, a wrong
number of parameters, a wrong shape, a wrong value or an input changed in place each come back as
a :class:`Feedback` that says what happened and what to do. A wrong value is located: the input on
which the answer is furthest off (relative to the tolerance), and on it the worst element's index,
the expected and the computed value, their difference and the tolerance. When the student's outputs
match a *known mistake* on every input (a missing log-sum-exp, a sign error in the KL, log s where
the equation has log s^2, ...), the feedback names that mistake too. :func:`assert_correct` is the
form the notebooks' otter-grader tests call. How a function is graded lives in :mod:`helpers.grading`.

Light: numpy and scipy only, except the exercises of notebook 03 and notebook 04's ``iw_bound``, whose
references (helpers.svi, helpers.vae_evaluation) load TensorFlow when their check first runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from helpers import distributions, gmm, latent, meanfield
from helpers.grading import Case, Exercise, Feedback, Mistake, grade, read_outputs

__all__ = ["EXERCISES", "Exercise", "Feedback", "assert_correct", "check", "student_or_course"]


def check(name: str, fn: Callable) -> Feedback:
    """Check the student's ``fn`` against exercise ``name``'s reference. Never raises; returns Feedback."""
    return grade(EXERCISES[name], fn)


def student_or_course(name: str, fn: Callable, course_fn: Callable | None = None,
                      problem: Callable[[Callable], str | None] | None = None) -> Callable:
    """The student's ``fn`` when it passes exercise ``name``'s check, else the course's, with one line saying which.

    ``course_fn`` defaults to the exercise's reference, which takes the same arguments as the student's function,
    so the cells after it run either way. ``problem(fn)``, when given, is a further test of how the cells below will
    call the function (e.g. :func:`helpers.vae.loss_problem`: can Keras train on it?): a phrase saying what is wrong,
    or None. Where the exercise has several outputs, the student's function is wrapped to return them as a tuple of
    arrays, however it returned them (a dict, the course's own type, a list), just as the check read them.
    """
    feedback = check(name, fn)
    what = f"`{getattr(fn, '__name__', EXERCISES[name].signature.split('(')[0])}`"
    course = EXERCISES[name].reference if course_fn is None else course_fn
    if not feedback.passed:
        state = "is not finished yet" if feedback.not_started else "does not pass its check yet"
        print(f"Your {what} {state}: the cells below use the course's instead.")
        return course
    why_not = problem(fn) if problem is not None else None
    if why_not:
        print(f"Your {what} passes its check, but it {why_not}. The cells below use the course's instead.")
        return course
    print(f"Your {what} passes its check: the cells below use it.")
    return _as_tuple_of_outputs(fn, EXERCISES[name].outputs) if len(EXERCISES[name].outputs) > 1 else fn


def _as_tuple_of_outputs(fn: Callable, outputs: tuple[str, ...]) -> Callable:
    """``fn`` returning its outputs as a tuple of float arrays, read as the check reads them."""
    @functools.wraps(fn)
    def outputs_as_tuple(*args):
        return tuple(read_outputs(fn(*args), outputs))
    return outputs_as_tuple


def assert_correct(name: str, fn: Callable) -> Feedback:
    """:func:`check`, raising AssertionError with the feedback when the answer is not right (for otter tests)."""
    feedback = check(name, fn)
    if not feedback.passed:
        raise AssertionError(feedback.message)
    return feedback


# ============================================================================= notebook 01: EM


def _mixture_cases() -> list[Case]:
    rng = np.random.default_rng(1)
    params = gmm.demo_mixture()
    X, _ = gmm.sample_mixture(params, 40, rng)
    args = dict(weights=params.weights, means=params.means, covariances=params.covariances)
    far = X[:3] + 60.0
    return [Case("40 points from the course's mixture", dict(X=X, **args)),
            Case("a batch of one point", dict(X=X[:1], **args)),
            Case("points far from every component (plain exp underflows to 0)", dict(X=far, **args)),
            Case("one component", dict(X=X, weights=np.ones(1), means=params.means[:1],
                                       covariances=params.covariances[:1])),
            Case("a narrow and a wide component over the same points", dict(
                X=X[:12], weights=np.array([0.5, 0.5]), means=np.array([[0.0, 0.0], [0.5, 0.5]]),
                covariances=np.array([0.05 * np.eye(2), 20.0 * np.eye(2)])))]


_e_step_reference = gmm.e_step_arrays


def _e_step_without_logsumexp(X, weights, means, covariances):
    joint = weights * np.exp(distributions.log_normal_full(X, means, covariances))
    return joint / joint.sum(axis=1, keepdims=True)


def _e_step_without_weights(X, weights, means, covariances):
    log_joint = distributions.log_normal_full(X, means, covariances)
    return np.exp(log_joint - distributions.logsumexp(log_joint, axis=1)[:, None])


def _e_step_unnormalised(X, weights, means, covariances):
    return np.exp(np.log(weights) + distributions.log_normal_full(X, means, covariances))


def _e_step_in_log_space(X, weights, means, covariances):
    log_joint = np.log(weights) + distributions.log_normal_full(X, means, covariances)
    return log_joint - distributions.logsumexp(log_joint, axis=1)[:, None]


def _e_step_normalised_over_points(X, weights, means, covariances):
    log_joint = np.log(weights) + distributions.log_normal_full(X, means, covariances)
    return np.exp(log_joint - distributions.logsumexp(log_joint, axis=0)[None, :])


def _e_step_without_log_det(X, weights, means, covariances):
    """log N(x | mu, Sigma) without its -1/2 log|Sigma_k|, which differs between the components."""
    log_det = np.linalg.slogdet(covariances)[1]
    log_joint = np.log(weights) + distributions.log_normal_full(X, means, covariances) + 0.5 * log_det
    return np.exp(log_joint - distributions.logsumexp(log_joint, axis=1)[:, None])


def _e_step_diagonal_covariance(X, weights, means, covariances):
    """Only the variances on the diagonal of each Sigma_k used, the correlations dropped."""
    return _e_step_reference(X, weights, means, covariances * np.eye(X.shape[1]))


def _responsibility_cases() -> list[Case]:
    rng = np.random.default_rng(2)
    X, _ = gmm.sample_mixture(gmm.demo_mixture(), 30, rng)
    soft = rng.dirichlet(np.ones(3), size=30)
    hard = np.eye(3)[rng.integers(0, 3, size=30)]
    hard[:3] = np.eye(3)          # every component owns at least one point
    return [Case("30 points, soft responsibilities", dict(X=X, resp=soft, reg_covar=1e-6)),
            Case("hard (one-hot) responsibilities", dict(X=X, resp=hard, reg_covar=1e-6)),
            Case("a large covariance floor, reg_covar=0.5", dict(X=X, resp=soft, reg_covar=0.5)),
            Case("a batch of one point, one component", dict(X=X[:1], resp=np.ones((1, 1)), reg_covar=1e-3))]


_m_step_reference = gmm.m_step_arrays


def _m_step_counts_not_weights(X, resp, reg_covar):
    weights, means, covariances = _m_step_reference(X, resp, reg_covar)
    return weights * len(X), means, covariances


def _m_step_divide_by_n(X, resp, reg_covar):
    nk = resp.sum(axis=0)
    means = resp.T @ X / len(X)
    covs = np.stack([(resp[:, k] * (X - means[k]).T) @ (X - means[k]) / len(X) for k in range(len(nk))])
    return nk / len(X), means, covs + reg_covar * np.eye(X.shape[1])


def _m_step_without_floor(X, resp, reg_covar):
    nk, means, covariances = distributions.weighted_gaussian_statistics(X, resp)
    return nk / len(X), means, covariances


def _m_step_uncentred(X, resp, reg_covar):
    weights, means, _ = _m_step_reference(X, resp, reg_covar)
    nk = resp.sum(axis=0)
    covs = np.stack([(resp[:, k] * X.T) @ X / nk[k] for k in range(len(nk))])
    return weights, means, covs + reg_covar * np.eye(X.shape[1])


def _m_step_diagonal_covariance(X, resp, reg_covar):
    weights, means, covariances = _m_step_reference(X, resp, reg_covar)
    return weights, means, covariances * np.eye(X.shape[1])


def _bound_cases() -> list[Case]:
    rng = np.random.default_rng(9)
    params = gmm.demo_mixture()
    X, _ = gmm.sample_mixture(params, 30, rng)
    theta = dict(weights=params.weights, means=params.means, covariances=params.covariances)
    hard = np.eye(3)[rng.integers(0, 3, size=30)]
    wide = dict(weights=np.array([0.3, 0.7]), means=np.array([[0.0, 0.0], [1.0, 1.0]]),
                covariances=np.array([0.1 * np.eye(2), 30.0 * np.eye(2)]))
    return [Case("30 points, a random q", dict(X=X, **theta, resp=rng.dirichlet(np.ones(3), size=30))),
            Case("q the posterior (L = log p)", dict(X=X, **theta, resp=gmm.e_step_arrays(X, **theta))),
            Case("a hard (one-hot) q, with q = 0 in most cells", dict(X=X, **theta, resp=hard)),
            Case("a narrow and a wide component", dict(X=X[:10], **wide, resp=rng.dirichlet(np.ones(2), size=10))),
            Case("a batch of one point", dict(X=X[:1], **theta, resp=np.array([[0.2, 0.5, 0.3]])))]


def _bound_terms(X, weights, means, covariances, resp):
    """log p(x_n, t_n = k) (n, K) and log q(t_n = k) (n, K), with log 0 kept finite (0 log 0 = 0)."""
    log_joint = np.log(weights) + distributions.log_normal_full(X, means, covariances)
    return log_joint, np.log(np.clip(resp, np.finfo(float).tiny, None))


def _bound_total(X, weights, means, covariances, resp):
    return len(X) * gmm.lower_bound_arrays(X, weights, means, covariances, resp)


def _bound_without_entropy(X, weights, means, covariances, resp):
    log_joint, _ = _bound_terms(X, weights, means, covariances, resp)
    return np.mean(np.sum(resp * log_joint, axis=1))


def _bound_entropy_sign(X, weights, means, covariances, resp):
    log_joint, log_q = _bound_terms(X, weights, means, covariances, resp)
    return np.mean(np.sum(resp * (log_joint + log_q), axis=1))


def _bound_zero_log_zero(X, weights, means, covariances, resp):
    """q log q evaluated as 0 * log(0) = 0 * (-inf) = NaN where q = 0."""
    log_joint = np.log(weights) + distributions.log_normal_full(X, means, covariances)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(np.sum(resp * (log_joint - np.log(resp)), axis=1))


def _bound_log_likelihood(X, weights, means, covariances, resp):
    log_joint, _ = _bound_terms(X, weights, means, covariances, resp)
    return np.mean(distributions.logsumexp(log_joint, axis=1))


def _bound_without_weights(X, weights, means, covariances, resp):
    return gmm.lower_bound_arrays(X, weights, means, covariances, resp) - np.mean(resp @ np.log(weights))


def _bound_diagonal_covariance(X, weights, means, covariances, resp):
    return gmm.lower_bound_arrays(X, weights, means, covariances * np.eye(X.shape[1]), resp)


def _bound_without_log_det(X, weights, means, covariances, resp):
    log_det = np.linalg.slogdet(covariances)[1]
    return gmm.lower_bound_arrays(X, weights, means, covariances, resp) + 0.5 * np.mean(resp @ log_det)


# ============================================================================= notebook 02: mean-field


def _normal_gamma_cases() -> list[Case]:
    rng = np.random.default_rng(3)
    x = rng.normal(1.5, 0.7, size=20)
    prior = meanfield.NormalGamma(mu0=0.0, lambda0=0.5, a=2.0, b=1.0)
    return [Case("20 points, q at an arbitrary start", dict(
                x=x, prior=prior, q=meanfield.NormalGammaFactors(mean=-1.0, precision=3.0, a=4.0, b=2.5))),
            Case("a sample of one point", dict(
                x=x[:1], prior=prior, q=meanfield.NormalGammaFactors(mean=0.5, precision=1.0, a=1.5, b=0.5))),
            Case("a strong prior far from the data", dict(
                x=x, prior=meanfield.NormalGamma(mu0=-5.0, lambda0=50.0, a=10.0, b=3.0),
                q=meanfield.NormalGammaFactors(mean=2.0, precision=0.2, a=3.0, b=7.0)))]


_q_tau_reference = meanfield.q_tau_shape_rate


def _q_tau_shape_without_prior_of_mu(x, prior, q):
    """a = a0 + N/2: the 1/2 from p(mu | tau), whose precision lambda0 tau also involves tau, forgotten."""
    a, b = _q_tau_reference(x, prior, q)
    return a - 0.5, b


def _q_tau_mu_at_its_mean(x, prior, q):
    """E_mu[(x_n - mu)^2] taken as (x_n - m)^2: the variance of q(mu) forgotten, in the data and the prior term."""
    a, b = _q_tau_reference(x, prior, q)
    return a, b - 0.5 * (len(x) + prior.lambda0) / q.precision


def _q_tau_without_prior_of_mu(x, prior, q):
    """The prior p(mu | tau) left out altogether: a = a0 + N/2, b without lambda0 E[(mu - mu0)^2] / 2."""
    var_mu = 1.0 / q.precision
    return prior.a + len(x) / 2, prior.b + 0.5 * (np.sum((x - q.mean) ** 2) + len(x) * var_mu)


def _q_tau_without_half(x, prior, q):
    a, b = _q_tau_reference(x, prior, q)
    return a, prior.b + 2 * (b - prior.b)


def _q_tau_scale_not_rate(x, prior, q):
    a, b = _q_tau_reference(x, prior, q)
    return a, 1.0 / b


def _q_tau_expected_tau_inside(x, prior, q):
    """The expected squares multiplied by E[tau]: that factor belongs to the Gamma's density, not to its rate."""
    a, b = _q_tau_reference(x, prior, q)
    return a, prior.b + q.expected_tau * (b - prior.b)


_elbo_reference = meanfield.elbo_normal_gamma


def _elbo_total(x, prior, q):
    return len(x) * meanfield.elbo_normal_gamma(x, prior, q)


def _elbo_log_of_expectation(x, prior, q):
    """E[log tau] replaced by log E[tau] (Jensen's inequality says they differ)."""
    shift = np.log(q.expected_tau) - q.expected_log_tau
    n = len(x)
    # E[log tau] enters the likelihood (n/2), the prior of mu (1/2) and the prior of tau (a - 1)
    return meanfield.elbo_normal_gamma(x, prior, q) + shift * (0.5 * n + 0.5 + prior.a - 1.0) / n


def _elbo_mu_at_its_mean(x, prior, q):
    """The variance of q(mu) forgotten in E[(x_n - mu)^2] and E[(mu - mu0)^2]."""
    n = len(x)
    return meanfield.elbo_normal_gamma(x, prior, q) + 0.5 * q.expected_tau * (n + prior.lambda0) / q.precision / n


def _elbo_without_entropy(x, prior, q):
    from scipy.stats import gamma
    entropy = 0.5 * (1 + distributions.LOG_2PI - np.log(q.precision)) + gamma.entropy(q.a, scale=1.0 / q.b)
    return meanfield.elbo_normal_gamma(x, prior, q) - entropy / len(x)


def _elbo_gamma_scale_is_rate(x, prior, q):
    """H[q(tau)] from scipy's gamma(a, scale=b), though b is a rate (scale = 1 / b)."""
    from scipy.stats import gamma
    wrong = gamma.entropy(q.a, scale=q.b) - gamma.entropy(q.a, scale=1.0 / q.b)
    return meanfield.elbo_normal_gamma(x, prior, q) + wrong / len(x)


def _elbo_without_log_lambda0(x, prior, q):
    """log p(mu | tau) without its 1/2 log lambda0: the prior's precision is lambda0 tau, not tau."""
    return meanfield.elbo_normal_gamma(x, prior, q) - 0.5 * np.log(prior.lambda0) / len(x)


def _elbo_normal_scale_is_variance(x, prior, q):
    """H[q(mu)] from scipy's norm(scale=1 / precision), a variance where scale is a standard deviation."""
    return meanfield.elbo_normal_gamma(x, prior, q) - 0.5 * np.log(q.precision) / len(x)


# ============================================================================= notebook 03: SVI


def _ppca_elbo_cases() -> list[Case]:
    rng = np.random.default_rng(4)
    d, D = 5, 2
    W, b = rng.normal(size=(d, D)), rng.normal(size=d)
    x, m, v = rng.normal(size=d), rng.normal(size=D), rng.normal(-1.0, 0.5, size=D)
    common = dict(W=W, b=b, sigma2=0.3)
    return [Case("8 samples", dict(x=x, m=m, v=v, **common, eps=rng.standard_normal((8, D)))),
            Case("a single sample", dict(x=x, m=m, v=v, **common, eps=rng.standard_normal((1, D)))),
            Case("a very narrow q (v = -12)", dict(x=x, m=m, v=np.full(D, -12.0), **common,
                                                   eps=rng.standard_normal((5, D)))),
            Case("q equal to the prior (KL = 0)", dict(x=x, m=np.zeros(D), v=np.zeros(D), **common,
                                                        eps=rng.standard_normal((5, D))))]


def _elbo_mc_reference(x, m, v, W, b, sigma2, eps):
    from helpers import svi
    return np.asarray(svi.elbo_monte_carlo(x, m, v, W, b, sigma2, eps))


def _gaussian_log_lik(x, t, W, b, sigma2):
    resid = x - t @ W.T - b
    return -0.5 * (len(x) * np.log(2 * np.pi * sigma2) + np.sum(resid**2, axis=-1) / sigma2)


def _elbo_mc_log_std(x, m, v, W, b, sigma2, eps):
    t = m + np.exp(v) * eps
    return _gaussian_log_lik(x, t, W, b, sigma2) - distributions.kl_standard_normal(m, v)


def _elbo_mc_kl_added(x, m, v, W, b, sigma2, eps):
    t = m + np.exp(0.5 * v) * eps
    return _gaussian_log_lik(x, t, W, b, sigma2) + distributions.kl_standard_normal(m, v)


def _elbo_mc_without_kl(x, m, v, W, b, sigma2, eps):
    return _gaussian_log_lik(x, m + np.exp(0.5 * v) * eps, W, b, sigma2)


def _elbo_mc_averaged(x, m, v, W, b, sigma2, eps):
    return np.mean(_elbo_mc_reference(x, m, v, W, b, sigma2, eps))


def _elbo_mc_summed(x, m, v, W, b, sigma2, eps):
    return np.sum(_elbo_mc_reference(x, m, v, W, b, sigma2, eps))


def _elbo_mc_kl_mean_over_dimensions(x, m, v, W, b, sigma2, eps):
    t = m + np.exp(0.5 * v) * eps
    return _gaussian_log_lik(x, t, W, b, sigma2) + 0.5 * np.mean(1 + v - m**2 - np.exp(v))


def _elbo_mc_sampled_kl(x, m, v, W, b, sigma2, eps):
    """log p(x|t_s) + log p(t_s) - log q(t_s): the KL estimated from the same samples, not eq. 17's closed form."""
    t = m + np.exp(0.5 * v) * eps
    return (_gaussian_log_lik(x, t, W, b, sigma2) + distributions.log_standard_normal(t)
            - distributions.log_normal_diag(t, m, v))


def _closed_form_cases() -> list[Case]:
    rng = np.random.default_rng(9)
    d = 5
    W2, W1 = rng.normal(size=(d, 2)), rng.normal(size=(d, 1))
    b, x = rng.normal(size=d), rng.normal(size=d)
    return [Case("a random point and q (d = 5, D = 2)", dict(
                x=x, m=rng.normal(size=2), v=rng.normal(-1.0, 0.5, size=2), W=W2, b=b, sigma2=0.3)),
            Case("a one-dimensional latent space (D = 1)", dict(
                x=x, m=rng.normal(size=1), v=np.array([-0.5]), W=W1, b=b, sigma2=2.0)),
            Case("a very narrow q (v = -12)", dict(x=x, m=rng.normal(size=2), v=np.full(2, -12.0), W=W2, b=b,
                                                   sigma2=0.3)),
            Case("q equal to the prior (KL = 0)", dict(x=x, m=np.zeros(2), v=np.zeros(2), W=W2, b=b, sigma2=0.3)),
            Case("a wide q (v = 2) and little noise (sigma2 = 0.05)", dict(
                x=x, m=rng.normal(size=2), v=np.full(2, 2.0), W=W2, b=b, sigma2=0.05)),
            Case("three latent dimensions of very different spreads (v = 1, -1, -3)", dict(
                x=x, m=rng.normal(size=3), v=np.array([1.0, -1.0, -3.0]), W=rng.normal(size=(d, 3)) * [3.0, 1.0, 0.2],
                b=b, sigma2=0.5))]


def _elbo_cf_reference(x, m, v, W, b, sigma2):
    from helpers import svi
    return np.asarray(svi.elbo_closed_form(x, m, v, W, b, sigma2))


def _elbo_cf_parts(x, m, v, W, b, sigma2, spread=None, constant=True, spread_scale=None, kl_sign=-1.0):
    """The closed-form ELBO assembled from its parts, with one part replaced to write out a mistake."""
    spread = np.sum(W**2 @ np.exp(v)) if spread is None else spread
    spread_scale = sigma2 if spread_scale is None else spread_scale
    log_lik = -0.5 * np.sum((x - W @ m - b) ** 2) / sigma2 - 0.5 * spread / spread_scale
    if constant:
        log_lik -= 0.5 * len(x) * np.log(2 * np.pi * sigma2)
    return log_lik + kl_sign * distributions.kl_standard_normal(m, v)


def _elbo_cf_point_q(x, m, v, W, b, sigma2):
    return _elbo_cf_parts(x, m, v, W, b, sigma2, spread=0.0)


def _elbo_cf_std_as_variance(x, m, v, W, b, sigma2):
    return _elbo_cf_parts(x, m, v, W, b, sigma2, spread=np.sum(W**2 @ np.exp(v / 2)))


def _elbo_cf_kl_added(x, m, v, W, b, sigma2):
    return _elbo_cf_parts(x, m, v, W, b, sigma2, kl_sign=1.0)


def _elbo_cf_without_constant(x, m, v, W, b, sigma2):
    return _elbo_cf_parts(x, m, v, W, b, sigma2, constant=False)


def _elbo_cf_spread_not_over_sigma2(x, m, v, W, b, sigma2):
    return _elbo_cf_parts(x, m, v, W, b, sigma2, spread_scale=1.0)


def _elbo_cf_correlated_spread(x, m, v, W, b, sigma2):
    """||W s||^2 in place of sum_j ||W_j||^2 s_j^2: the D coordinates' noise added as if it were one variable."""
    return _elbo_cf_parts(x, m, v, W, b, sigma2, spread=np.sum((W @ np.exp(v / 2)) ** 2))


def _elbo_cf_without_kl(x, m, v, W, b, sigma2):
    return _elbo_cf_parts(x, m, v, W, b, sigma2, kl_sign=0.0)


def _score_cases() -> list[Case]:
    rng = np.random.default_rng(5)
    D = 3
    m, v = rng.normal(size=D), rng.normal(-0.5, 0.5, size=D)
    t = m + np.exp(0.5 * v) * rng.standard_normal((16, D))
    return [Case("16 samples", dict(f=rng.normal(-20, 3, size=16), t=t, m=m, v=v)),
            Case("a single sample", dict(f=np.array([-7.0]), t=t[:1], m=m, v=v)),
            Case("f constant (the estimate averages the score, mean zero)", dict(f=np.full(16, 2.0), t=t, m=m, v=v)),
            Case("a wide q (v = 4)", dict(f=rng.normal(size=16), t=t, m=m, v=np.full(D, 4.0)))]


def _score_reference(f, t, m, v):
    from helpers import svi
    return svi.score_function_estimate(f, t, m, v)


def _score_parts(f, t, m, v, dm, dv):
    return np.concatenate([np.mean(f[:, None] * dm, axis=0), np.mean(f[:, None] * dv, axis=0)])


def _score_sign_flipped(f, t, m, v):
    return _score_parts(f, t, m, v, (m - t) * np.exp(-v), 0.5 * ((t - m) ** 2 * np.exp(-v) - 1))


def _score_not_divided_by_variance(f, t, m, v):
    return _score_parts(f, t, m, v, t - m, 0.5 * ((t - m) ** 2 - 1))


def _score_without_half(f, t, m, v):
    return _score_parts(f, t, m, v, (t - m) * np.exp(-v), (t - m) ** 2 * np.exp(-v) - 1)


def _score_without_f(f, t, m, v):
    return _score_parts(np.ones_like(f), t, m, v, (t - m) * np.exp(-v), 0.5 * ((t - m) ** 2 * np.exp(-v) - 1))


def _score_v_as_variance(f, t, m, v):
    return _score_parts(f, t, m, v, (t - m) / v, 0.5 * ((t - m) ** 2 / v - 1))


# ============================================================================= notebook 04: the VAE


def _vae_loss_cases() -> list[Case]:
    rng = np.random.default_rng(6)
    x = (rng.random((4, 28, 28)) < 0.3).astype(np.float32) * rng.random((4, 28, 28)).astype(np.float32)
    logits = rng.normal(0, 3, size=(4, 28, 28)).astype(np.float32)
    mean, log_var = rng.normal(size=(4, 2)).astype(np.float32), rng.normal(-1, 1, size=(4, 2)).astype(np.float32)
    extreme = np.where(x > 0.5, -200.0, 200.0).astype(np.float32)    # confident and wrong: sigmoid rounds to 0 or 1
    return [Case("a batch of 4 images (float32)", dict(x=x, logits=logits, t_mean=mean, t_log_var=log_var)),
            Case("a batch of one image", dict(x=x[:1], logits=logits[:1], t_mean=mean[:1], t_log_var=log_var[:1])),
            Case("extreme logits (±200)", dict(x=x, logits=extreme, t_mean=mean, t_log_var=log_var)),
            Case("q equal to the prior (KL = 0), float64", dict(
                x=x.astype(float), logits=logits.astype(float), t_mean=np.zeros((4, 2)), t_log_var=np.zeros((4, 2))))]


def _vae_loss_reference(x, logits, t_mean, t_log_var):
    return (distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float))
            + distributions.kl_standard_normal(np.asarray(t_mean, float), np.asarray(t_log_var, float)))


def _bce_naive(x, logits):
    p = 1.0 / (1.0 + np.exp(-np.asarray(logits, float)))
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p))
    return bce.reshape(len(x), -1).sum(axis=1)


def _vae_loss_naive_bce(x, logits, t_mean, t_log_var):
    return _bce_naive(x, logits) + distributions.kl_standard_normal(np.asarray(t_mean, float),
                                                                     np.asarray(t_log_var, float))


def _vae_loss_pixel_mean(x, logits, t_mean, t_log_var):
    nll = distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float))
    return nll / np.prod(np.shape(x)[1:]) + distributions.kl_standard_normal(np.asarray(t_mean, float),
                                                                              np.asarray(t_log_var, float))


def _vae_loss_kl_sign(x, logits, t_mean, t_log_var):
    return (distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float))
            - distributions.kl_standard_normal(np.asarray(t_mean, float), np.asarray(t_log_var, float)))


def _vae_loss_log_std(x, logits, t_mean, t_log_var):
    m, log_s = np.asarray(t_mean, float), np.asarray(t_log_var, float)
    kl = -0.5 * np.sum(1 + 2 * log_s - m**2 - np.exp(2 * log_s), axis=-1)
    return distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float)) + kl


def _vae_loss_without_kl(x, logits, t_mean, t_log_var):
    return distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float))


def _vae_loss_batch_mean(x, logits, t_mean, t_log_var):
    return np.mean(_vae_loss_reference(x, logits, t_mean, t_log_var))


def _vae_loss_batch_sum(x, logits, t_mean, t_log_var):
    return np.sum(_vae_loss_reference(x, logits, t_mean, t_log_var))


def _vae_loss_kl_mean_over_dimensions(x, logits, t_mean, t_log_var):
    m, log_var = np.asarray(t_mean, float), np.asarray(t_log_var, float)
    kl = -0.5 * np.mean(1 + log_var - m**2 - np.exp(log_var), axis=-1)
    return distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float)) + kl


def _vae_loss_log_var_as_variance(x, logits, t_mean, t_log_var):
    m, var = np.asarray(t_mean, float), np.asarray(t_log_var, float)
    kl = -0.5 * np.sum(1 + np.log(var) - m**2 - var, axis=-1)
    return distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float)) + kl


def _vae_loss_logits_as_probabilities(x, logits, t_mean, t_log_var):
    """Keras's binary_crossentropy without from_logits=True: the logits clipped to [1e-7, 1 - 1e-7], read as p."""
    p = np.clip(np.asarray(logits, float), 1e-7, 1 - 1e-7)
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p))
    return bce.reshape(len(x), -1).sum(axis=1) + distributions.kl_standard_normal(np.asarray(t_mean, float),
                                                                                   np.asarray(t_log_var, float))


def _vae_loss_bce_mean_over_last_axis(x, logits, t_mean, t_log_var):
    """keras.losses.binary_crossentropy averages over the last axis (the 28 columns) before the sum over rows."""
    nll = distributions.bernoulli_nll_from_logits(np.asarray(x, float), np.asarray(logits, float))
    return nll / np.shape(x)[-1] + distributions.kl_standard_normal(np.asarray(t_mean, float),
                                                                    np.asarray(t_log_var, float))


def _iw_cases() -> list[Case]:
    rng = np.random.default_rng(9)

    def log_weights(n_images: int, n_samples: int, around: float) -> np.ndarray:
        """Each image its own level and spread: log w = level + spread * noise, (n_images, n_samples)."""
        level = around + rng.normal(0.0, 20.0, size=(n_images, 1))
        spread = rng.uniform(0.5, 4.0, size=(n_images, 1))
        return level + spread * rng.standard_normal((n_images, n_samples))

    return [Case("5 images of S = 60 samples with k = 6", dict(log_w=log_weights(5, 60, -120.0), k=6)),
            Case("a batch of one image (S = 20 and k = 4)", dict(log_w=log_weights(1, 20, -120.0), k=4)),
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


# ============================================================================= notebook 05: the latent space


def _aggregate_cases() -> list[Case]:
    rng = np.random.default_rng(10)
    means, log_vars = rng.normal(size=(40, 2)), rng.normal(-3.0, 0.5, size=(40, 2))
    near = means[:5] + 0.1 * rng.normal(size=(5, 2))
    return [Case("25 query points and 40 codes in 2-D", dict(
                t=np.vstack([near, rng.normal(0, 1.5, size=(20, 2))]), t_means=means, t_log_vars=log_vars)),
            Case("one query point and one code", dict(t=rng.normal(size=(1, 2)), t_means=means[:1],
                                                      t_log_vars=log_vars[:1])),
            Case("query points far from every code (plain exp underflows to 0)", dict(
                t=np.array([[0.5, 0.5], [12.0, -9.0], [30.0, 30.0]]), t_means=means, t_log_vars=log_vars)),
            Case("6 codes in 3-D with very different widths", dict(
                t=rng.normal(size=(8, 3)), t_means=rng.normal(size=(6, 3)),
                t_log_vars=np.linspace(-6.0, 2.0, 18).reshape(6, 3)))]


def _aggregate_components(t, t_means, t_log_vars):
    """log N(t_g | m_n, diag exp(v_n)) for every query point and code: (G, N)."""
    return distributions.log_normal_diag(t[:, None, :], t_means[None], t_log_vars[None])


def _aggregate_without_logsumexp(t, t_means, t_log_vars):
    return np.log(np.mean(np.exp(_aggregate_components(t, t_means, t_log_vars)), axis=1))


def _aggregate_sum_not_mean(t, t_means, t_log_vars):
    return distributions.logsumexp(_aggregate_components(t, t_means, t_log_vars), axis=1)


def _aggregate_std_as_variance(t, t_means, t_log_vars):
    """exp(v / 2), the standard deviation, used as the variance."""
    return latent.log_aggregate_posterior(t, t_means, t_log_vars / 2)


def _aggregate_variance_as_std(t, t_means, t_log_vars):
    """exp(v), the variance, used as the standard deviation (so the variance becomes exp(2 v))."""
    return latent.log_aggregate_posterior(t, t_means, 2 * t_log_vars)


def _aggregate_log_var_as_variance(t, t_means, t_log_vars):
    return np.log(np.mean(np.exp(-0.5 * np.sum(np.log(2 * np.pi * t_log_vars[None])
                                               + (t[:, None, :] - t_means[None]) ** 2 / t_log_vars[None], axis=2)),
                          axis=1))


def _aggregate_mean_of_logs(t, t_means, t_log_vars):
    return np.mean(_aggregate_components(t, t_means, t_log_vars), axis=1)


def _aggregate_without_log_det(t, t_means, t_log_vars):
    """log N without its -1/2 sum_j v_nj, which differs from code to code."""
    log_det = np.sum(t_log_vars, axis=1)
    return distributions.log_mean_exp(_aggregate_components(t, t_means, t_log_vars) + 0.5 * log_det[None], axis=1)


def _aggregate_without_2pi(t, t_means, t_log_vars):
    return latent.log_aggregate_posterior(t, t_means, t_log_vars) + 0.5 * t.shape[1] * distributions.LOG_2PI


# ============================================================================= notebook 06: beyond the ELBO


def _active_units_cases() -> list[Case]:
    rng = np.random.default_rng(12)
    scales = np.array([2.0, 0.5, 0.2, 0.12, 0.08, 0.05, 0.02, 0.001])      # variances 4 ... 1e-6 around 0.01
    return [Case("1000 codes in 8 dimensions with spreads from 2 to 0.001",
                 dict(t_means=rng.normal(size=(1000, 8)) * scales, threshold=0.01)),
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


def _active_units_second_moment(t_means, threshold):
    return int(np.sum(np.mean(np.asarray(t_means) ** 2, axis=0) > threshold))


# ============================================================================= the catalogue


EXERCISES: dict[str, Exercise] = {ex.name: ex for ex in [
    Exercise(
        "lower_bound", "Exercise 1.1, the bound L(q, theta) (eq. 6)",
        "lower_bound(X, weights, means, covariances, resp) -> float, nats per point",
        gmm.lower_bound_arrays, _bound_cases,
        "L = (1/N) sum_n sum_k r_nk (log p(x_n, t_n = k; theta) - log r_nk), with log p(x_n, t_n = k; theta) = "
        "log pi_k + log N(x_n | mu_k, Sigma_k) (distributions.log_normal_full) and r log r = 0 where r = 0.",
        [Mistake("This is the total over the N points: the course reports nats per point, so take the mean over n "
                 "(divide by N).", _bound_total),
         Mistake("The entropy term is missing: eq. 6 is sum_k q(k) (log p(x, k) - log q(k)); the -q log q part is "
                 "what keeps L below log p for every q.", _bound_without_entropy),
         Mistake("The entropy has the wrong sign: L = sum_k q(k) (log p(x, k) *minus* log q(k)).",
                 _bound_entropy_sign),
         Mistake("Your bound is NaN where q = 0: 0 * log(0) is 0 * (-inf) = NaN in numpy, but the term q log q is 0 "
                 "there (its limit). Use scipy.special.xlogy(resp, resp), or np.where(resp > 0, ...), for "
                 "q log q.", _bound_zero_log_zero),
         Mistake("You returned log p(x; theta), the log-sum-exp of the log-joint: it equals L only when q is the "
                 "posterior. L weighs each log-joint by the q you are given.", _bound_log_likelihood),
         Mistake("The mixture weights are missing: the log-joint is log pi_k + log N(x_n | mu_k, Sigma_k) (eq. 2).",
                 _bound_without_weights),
         Mistake("The log-determinant is missing: log N(x | mu_k, Sigma_k) has -1/2 log|Sigma_k|; "
                 "distributions.log_normal_full includes it.", _bound_without_log_det),
         Mistake("You used only the diagonal of each covariance: Sigma_k is a full matrix, so use "
                 "distributions.log_normal_full(X, means, covariances) with the whole Sigma_k.",
                 _bound_diagonal_covariance)],
        rtol=1e-9),
    Exercise(
        "e_step", "Exercise 1.2, the E-step (eq. 8)",
        "responsibilities(X, weights, means, covariances) -> (n, K)",
        _e_step_reference, _mixture_cases,
        "log r_nk = log pi_k + log N(x_n | mu_k, Sigma_k) - logsumexp_j(...) over the K components (axis=1); "
        "then r_nk = exp(log r_nk).",
        [Mistake("Your answer is right for nearby points but NaN for far-away ones: exp of a very negative "
                 "log-density rounds to 0 and you divide 0 by 0. Normalise in log space with "
                 "distributions.logsumexp (eq. 8), then exponentiate.", _e_step_without_logsumexp),
         Mistake("The mixture weights are missing: the joint is log pi_k + log N(x_n | mu_k, Sigma_k) (eq. 2), "
                 "not the Gaussian alone.", _e_step_without_weights),
         Mistake("These are joint probabilities p(x_n, t_n = k), not responsibilities: divide by their sum over k "
                 "(subtract the log-sum-exp in log space) so that each row sums to 1.", _e_step_unnormalised),
         Mistake("These are the log-responsibilities: exponentiate them (rows of r must sum to 1).",
                 _e_step_in_log_space),
         Mistake("You normalised over the points (axis=0) instead of over the components (axis=1): "
                 "q(t_n) is a distribution over k for each point n.", _e_step_normalised_over_points),
         Mistake("The log-determinant is missing: log N(x | mu_k, Sigma_k) has -1/2 log|Sigma_k|, which differs "
                 "from component to component, so it does not cancel in the normalisation.",
                 _e_step_without_log_det),
         Mistake("You used only the diagonal of each covariance: Sigma_k is a full matrix, so use "
                 "distributions.log_normal_full(X, means, covariances) with the whole Sigma_k.",
                 _e_step_diagonal_covariance)]),
    Exercise(
        "m_step", "Exercise 1.3, the M-step (eq. 9)",
        "m_step_parameters(X, resp, reg_covar) -> (weights (K,), means (K, d), covariances (K, d, d))",
        _m_step_reference, _responsibility_cases,
        "N_k = sum_n r_nk; pi_k = N_k / N; mu_k = sum_n r_nk x_n / N_k; "
        "Sigma_k = sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T / N_k + reg_covar * I.",
        [Mistake("Your weights are the counts N_k: divide by the number of points N so they sum to 1.",
                 _m_step_counts_not_weights),
         Mistake("You divided by N, the number of points; each component's mean and covariance are averages "
                 "weighted by r_nk, so divide by N_k = sum_n r_nk.", _m_step_divide_by_n),
         Mistake("The covariance floor is missing: add reg_covar times the identity to every Sigma_k.",
                 _m_step_without_floor),
         Mistake("Your covariances are E[x x^T], not centred: use (x_n - mu_k)(x_n - mu_k)^T with the new mu_k.",
                 _m_step_uncentred),
         Mistake("Your covariances are diagonal: Sigma_k is the full weighted outer product "
                 "sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T / N_k, correlations included.", _m_step_diagonal_covariance)],
        outputs=("weights", "means", "covariances")),
    Exercise(
        "q_tau_update", "Exercise 2.1, the CAVI update of q(tau) (eq. 11)",
        "q_tau_update(x, prior, q) -> (a, b), the shape and rate of the new q(tau)",
        _q_tau_reference, _normal_gamma_cases,
        "log q(tau) = E_mu[log p(x | mu, tau) + log p(mu | tau) + log p(tau)] + const collects to "
        "(a0 + (N + 1)/2 - 1) log tau - tau (b0 + 1/2 E_mu[sum_n (x_n - mu)^2 + lambda0 (mu - mu0)^2]), a Gamma; "
        "under q(mu) = N(m, 1/precision), E_mu[(x_n - mu)^2] = (x_n - m)^2 + 1/precision.",
        [Mistake("The shape misses the 1/2 from the prior of mu: p(mu | tau) = N(mu0, 1/(lambda0 tau)) also has "
                 "tau^(1/2) in front, so a = a0 + N/2 + 1/2 = a0 + (N + 1)/2.", _q_tau_shape_without_prior_of_mu),
         Mistake("mu is treated as fixed at its mean: under q(mu), E[(x_n - mu)^2] = (x_n - m)^2 + 1/precision, and "
                 "E[(mu - mu0)^2] = (m - mu0)^2 + 1/precision, so b gains (N + lambda0) / (2 precision).",
                 _q_tau_mu_at_its_mean),
         Mistake("The prior of mu is missing: p(mu | tau) = N(mu | mu0, 1/(lambda0 tau)) depends on tau, so it adds "
                 "1/2 to the shape and lambda0 E[(mu - mu0)^2] / 2 to the rate.", _q_tau_without_prior_of_mu),
         Mistake("The factor 1/2 in the rate is missing: a Gaussian's log-density has -tau (x - mu)^2 / 2, so "
                 "b = b0 + 1/2 E[sum_n (x_n - mu)^2 + lambda0 (mu - mu0)^2].", _q_tau_without_half),
         Mistake("You returned the scale 1/b: return the rate b, the coefficient of -tau in log q(tau).",
                 _q_tau_scale_not_rate),
         Mistake("E[tau] does not belong in the update of q(tau): the terms linear in tau give its rate as they are; "
                 "E[tau] appears only in the update of q(mu).", _q_tau_expected_tau_inside)],
        rtol=1e-9, outputs=("a", "b")),
    Exercise(
        "elbo_normal_gamma", "Exercise 2.2, the ELBO (eq. 6) of q(mu) q(tau)",
        "elbo(x, prior, q) -> float, nats per data point",
        _elbo_reference, _normal_gamma_cases,
        "L = E[log p(x|mu,tau)] + E[log p(mu|tau)] + E[log p(tau)] + H[q(mu)] + H[q(tau)], divided by N; "
        "under q, E[(x_n - mu)^2] = (x_n - m)^2 + 1/precision and E[log tau] = q.expected_log_tau.",
        [Mistake("This is the total over the data set: the course reports nats per data point, so divide by N.",
                 _elbo_total),
         Mistake("You used log E[tau] where the ELBO needs E[log tau] = psi(a) - log b (q.expected_log_tau); "
                 "they differ (Jensen's inequality).", _elbo_log_of_expectation),
         Mistake("mu is treated as fixed at its mean: under q(mu), E[(x_n - mu)^2] = (x_n - m)^2 + 1/precision, "
                 "and the same variance enters E[(mu - mu0)^2].", _elbo_mu_at_its_mean),
         Mistake("The entropies of q(mu) and q(tau) are missing: L = E_q[log p(x, mu, tau)] - E_q[log q] (eq. 6).",
                 _elbo_without_entropy),
         Mistake("scipy's gamma takes a *scale*, but b is a rate: Gamma(tau | a, b) is gamma(a, scale=1 / b), so "
                 "H[q(tau)] is gamma(q.a, scale=1 / q.b).entropy(), not gamma(q.a, scale=q.b).",
                 _elbo_gamma_scale_is_rate),
         Mistake("scipy's norm takes the standard deviation as scale, not the variance: q(mu) is "
                 "norm(q.mean, scale=1 / sqrt(q.precision)), so H[q(mu)] = 1/2 log(2 pi e / precision).",
                 _elbo_normal_scale_is_variance),
         Mistake("E[log p(mu | tau)] misses 1/2 log lambda0: the prior of mu is N(mu0, 1/(lambda0 tau)), whose "
                 "log-density has 1/2 log(lambda0 tau) = 1/2 (log lambda0 + log tau) in front.",
                 _elbo_without_log_lambda0)],
        rtol=1e-9),
    Exercise(
        "elbo_monte_carlo", "Exercise 3.1, the reparameterized Monte Carlo ELBO (eqs. 16-17)",
        "elbo_monte_carlo(x, m, v, W, b, sigma2, eps) -> (S,) one estimate per sample",
        _elbo_mc_reference, _ppca_elbo_cases,
        "t_s = m + exp(v / 2) * eps_s; estimate_s = log N(x | W t_s + b, sigma2 I) - KL, with "
        "KL = -1/2 sum_j (1 + v_j - m_j^2 - exp(v_j)) (eq. 17).",
        [Mistake("v is the log-*variance*: the standard deviation is exp(v / 2), not exp(v).", _elbo_mc_log_std),
         Mistake("The KL has the wrong sign: the ELBO is E_q[log p(x|t)] *minus* KL(q || p(t)) (eq. 16).",
                 _elbo_mc_kl_added),
         Mistake("The KL term is missing: subtract KL(q || N(0, I)) = -1/2 sum_j (1 + v_j - m_j^2 - exp(v_j)).",
                 _elbo_mc_without_kl),
         Mistake("You returned the average over the samples: return one estimate per sample, shape (S,), so that "
                 "their spread gives the estimate's error.", _elbo_mc_averaged),
         Mistake("You summed over the samples: return one estimate per sample, shape (S,); their mean is the "
                 "estimate.", _elbo_mc_summed),
         Mistake("The KL is a *sum* over the D latent dimensions, not a mean: KL = -1/2 sum_j (1 + v_j - m_j^2 - "
                 "exp(v_j)).", _elbo_mc_kl_mean_over_dimensions),
         Mistake("You estimated the KL from the samples, log q(t_s) - log p(t_s): an unbiased but noisier estimate. "
                 "Eq. 17 gives it exactly for a Gaussian q, KL = -1/2 sum_j (1 + v_j - m_j^2 - exp(v_j)): subtract "
                 "that from each sample's log p(x | t_s).", _elbo_mc_sampled_kl)],
        rtol=1e-9),
    Exercise(
        "elbo_closed_form", "Exercise 3.2, the ELBO of a Gaussian q in closed form (eqs. 16-17)",
        "elbo_closed_form(x, m, v, W, b, sigma2) -> float, nats for this one data point",
        _elbo_cf_reference, _closed_form_cases,
        "E_q[log p(x|t)] = -d/2 log(2 pi sigma2) - E_q||x - W t - b||^2 / (2 sigma2). Write x - W t - b as "
        "(x - W m - b) - W (t - m): the cross term has mean zero under q, and E_q||W (t - m)||^2 adds up each "
        "latent dimension's variance exp(v_j) times how strongly W maps that dimension into x (the t_j are "
        "independent under q). Then subtract the KL of eq. 17.",
        [Mistake("The variance of q is missing: under q, t is spread around m, and E_q||x - W t - b||^2 = "
                 "||x - W m - b||^2 + sum_j ||W[:, j]||^2 exp(v_j). Without that term q is treated as a point at m.",
                 _elbo_cf_point_q),
         Mistake("exp(v / 2) is the standard deviation of t_j; the expected squared error needs its *variance* "
                 "exp(v_j): sum_j ||W[:, j]||^2 exp(v_j).", _elbo_cf_std_as_variance),
         Mistake("The KL has the wrong sign: the ELBO is E_q[log p(x|t)] *minus* KL(q || p(t)) (eq. 16).",
                 _elbo_cf_kl_added),
         Mistake("The Gaussian's normalising constant is missing: log N(x | W t + b, sigma2 I) has "
                 "-d/2 log(2 pi sigma2), with d = len(x).", _elbo_cf_without_constant),
         Mistake("The variance term is not divided by sigma2: both parts of E_q||x - W t - b||^2 are divided by "
                 "2 sigma2, (||x - W m - b||^2 + sum_j ||W[:, j]||^2 exp(v_j)) / (2 sigma2).",
                 _elbo_cf_spread_not_over_sigma2),
         Mistake("You used ||W s||^2, as if the D coordinates of t moved together: they are independent under q, so "
                 "their variances add, sum_j ||W[:, j]||^2 exp(v_j) (np.sum(W**2 @ np.exp(v))).",
                 _elbo_cf_correlated_spread),
         Mistake("The KL term is missing: subtract KL(q || N(0, I)) = -1/2 sum_j (1 + v_j - m_j^2 - exp(v_j)).",
                 _elbo_cf_without_kl)],
        rtol=1e-9),
    Exercise(
        "score_function", "Exercise 3.3, the score-function gradient",
        "score_function_gradient(f, t, m, v) -> (2D,) = [d/dm, d/dv]",
        _score_reference, _score_cases,
        "average f_s times the score of q = N(m, diag exp(v)) at t_s: d log q/dm = (t - m) exp(-v), "
        "d log q/dv = ((t - m)^2 exp(-v) - 1) / 2.",
        [Mistake("The sign of d log q / dm is flipped: log q has -(t - m)^2 / (2 e^v), whose derivative in m is "
                 "+(t - m) / e^v.", _score_sign_flipped),
         Mistake("The score is not divided by the variance: d log q / dm = (t - m) / exp(v), "
                 "d log q / dv = ((t - m)^2 / exp(v) - 1) / 2.", _score_not_divided_by_variance),
         Mistake("The factor 1/2 in d log q / dv is missing: log q has -v/2 - (t - m)^2 / (2 e^v).",
                 _score_without_half),
         Mistake("f is missing: the estimator averages f(t_s) times the score; the score alone has mean zero.",
                 _score_without_f),
         Mistake("v is the log-variance, not the variance: q's variance is exp(v), so d log q/dm = (t - m) / exp(v), "
                 "and the derivative is taken with respect to v: ((t - m)^2 / exp(v) - 1) / 2.", _score_v_as_variance)],
        rtol=1e-9),
    Exercise(
        "vae_loss", "Exercise 4.1, the VAE loss (eqs. 16-17)",
        "vae_loss(x, logits, t_mean, t_log_var) -> (batch,) nats per image",
        _vae_loss_reference, _vae_loss_cases,
        "per image: sum over pixels of max(l, 0) - l x + log(1 + exp(-|l|)), plus "
        "KL = -1/2 sum_j (1 + log s_j^2 - m_j^2 - s_j^2); with keras.ops: ops.maximum, ops.log1p, ops.exp, "
        "ops.abs, and ops.sum over axis=(1, 2) for the pixels and axis=1 for the latent dimensions.",
        [Mistake("Your loss is inf or NaN for confident logits: log(sigmoid(l)) rounds to log 0. Compute the "
                 "binary cross-entropy from the logits, max(l, 0) - l x + log1p(exp(-|l|)).", _vae_loss_naive_bce),
         Mistake("You averaged the reconstruction term over the pixels: eq. 16 has log p(x|t), a *sum* over the "
                 "784 pixels' log-probabilities.", _vae_loss_pixel_mean),
         Mistake("The KL has the wrong sign: the loss is the negative ELBO, reconstruction *plus* KL.",
                 _vae_loss_kl_sign),
         Mistake("t_log_var is log s^2, not log s: in eq. 17 it enters as log s^2 and s^2 = exp(t_log_var).",
                 _vae_loss_log_std),
         Mistake("The KL term is missing: add KL(q(t|x) || N(0, I)) (eq. 17).", _vae_loss_without_kl),
         Mistake("You averaged over the batch: return one loss per image, shape (batch,); Keras takes the mean over "
                 "the batch itself.", _vae_loss_batch_mean),
         Mistake("You summed over the batch: return one loss per image, shape (batch,).", _vae_loss_batch_sum),
         Mistake("The KL is a *sum* over the latent dimensions, not a mean: "
                 "-1/2 sum_j (1 + log s_j^2 - m_j^2 - s_j^2).", _vae_loss_kl_mean_over_dimensions),
         Mistake("t_log_var is already log s^2, not the variance s^2: use it as it is for log s^2, and "
                 "s^2 = exp(t_log_var).", _vae_loss_log_var_as_variance),
         Mistake("Your loss reads the logits as probabilities: the decoder returns logits l, so the cross-entropy "
                 "needs sigmoid(l) (Keras: from_logits=True), computed stably from l: max(l, 0) - l x + "
                 "log(1 + exp(-|l|)).",
                 _vae_loss_logits_as_probabilities),
         Mistake("Your reconstruction term is the pixels' sum divided by 28: keras.losses.binary_crossentropy averages "
                 "over the last axis. Eq. 16's log p(x|t) is a *sum* over all 784 pixels: compute the per-pixel term "
                 "yourself and ops.sum it over axis=(1, 2).", _vae_loss_bce_mean_over_last_axis)],
        rtol=1e-5, atol=1e-3),
    Exercise(
        "iw_bound", "Exercise 4.2, the importance-weighted bound L_k (Burda et al., 2016)",
        "iw_bound(log_w, k) -> (B,) nats per image",
        _iw_reference, _iw_cases,
        "cut each row of log_w (B, S) into S // k groups of k consecutive samples, log_w.reshape(B, S // k, k); "
        "in each group take the log of the mean weight stably, m + log(mean(exp(a - m))) with m the group's "
        "largest a; then average the S // k groups of each image (the last axis).",
        [Mistake("Your bound is -inf where the log-weights are very negative: exp(-1000) rounds to 0 in float64, and "
                 "log 0 = -inf. Take the log-mean-exp stably: subtract each group's largest log w, m, before "
                 "exponentiating, and add it back after: m + log(mean(exp(a - m))).", _iw_plain_exp),
         Mistake("That is the mean of log w, which is L_1, the ELBO, whatever k. L_k averages the *weights* "
                 "w_i = exp(log w_i) of each group of k before taking the log, log (1/k sum_i w_i); only then are "
                 "the groups averaged.", _iw_mean_of_log_w),
         Mistake("Your bound is too high by exactly log k: that is log sum_i w_i, a log-*sum*-exp. L_k needs the log "
                 "of the *mean* weight, log (1/k sum_i w_i) = logsumexp - log k.", _iw_log_sum_exp),
         Mistake("You averaged over the images (axis 0): every image has its own L_k, so average each image's groups "
                 "along its own row (the last axis) and return one value per image, shape (B,).",
                 _iw_mean_over_images),
         Mistake("Your groups hold S/k samples each, not k: reshape to (B, S // k, k), so that the last axis, over "
                 "which you take the log-mean-exp, holds the k samples of one group.", _iw_groups_of_s_over_k),
         Mistake("Your groups take every (S/k)-th sample (reshape(B, k, S // k), log-mean-exp over axis 1). The "
                 "samples are independent, so that estimates L_k too, but the check compares numbers with the "
                 "course's groups of k *consecutive* samples: log_w.reshape(B, S // k, k), log-mean-exp over the "
                 "last axis.", _iw_strided_groups),
         Mistake("That is the log-mean-exp of all S weights at once, L_S, whatever k: cut each row into S // k "
                 "groups of k consecutive samples first, take each group's log-mean-exp, then average the groups.",
                 _iw_all_samples_at_once),
         Mistake("You subtracted each group's largest log w, m, before exponentiating but did not add it back: "
                 "log mean exp(a - m) = log mean exp(a) - m, so add m to it.", _iw_shift_not_added_back)]),
    Exercise(
        "aggregate_posterior", "Exercise 5.1, the aggregate posterior q(t), in log space",
        "log_aggregate_posterior(t, t_means, t_log_vars) -> (G,)",
        latent.log_aggregate_posterior, _aggregate_cases,
        "a (G, N) table of log N(t_g | m_n, diag exp(v_n)) = -1/2 sum_j (log(2 pi) + v_nj + (t_gj - m_nj)^2 / "
        "exp(v_nj)), then logsumexp over the N codes (axis=1) minus log N.",
        [Mistake("Your answer is -inf for points far from every code: exp of a very negative log-density rounds "
                 "to 0, and log 0 = -inf. Stay in log space: logsumexp over the codes, minus log N.",
                 _aggregate_without_logsumexp),
         Mistake("You summed over the N codes: q(t) is their *average*, (1/N) sum_n, so subtract log N after the "
                 "log-sum-exp.", _aggregate_sum_not_mean),
         Mistake("exp(v / 2) is q's standard deviation, not its variance: the variance is exp(v), so the density has "
                 "(t - m)^2 / exp(v) and the normalising term -1/2 v.", _aggregate_std_as_variance),
         Mistake("exp(v) is q's variance, not its standard deviation: (t - m)^2 is divided by exp(v) itself, "
                 "not by exp(v)^2.", _aggregate_variance_as_std),
         Mistake("t_log_vars are log-variances, not variances: q's variance is exp(v), and the log of the variance "
                 "is v itself.", _aggregate_log_var_as_variance),
         Mistake("You averaged the log-densities: log q(t) is the log of an average, log (1/N) sum_n N(t | m_n, ...), "
                 "and the mean of the logs is smaller (Jensen's inequality). Use logsumexp, minus log N.",
                 _aggregate_mean_of_logs),
         Mistake("The log-determinant is missing: log N(t | m_n, diag exp(v_n)) has -1/2 sum_j v_nj, which differs "
                 "from code to code, so it does not cancel in the sum over n.", _aggregate_without_log_det),
         Mistake("The constant is missing: each log N(t | m_n, diag exp(v_n)) has -D/2 log(2 pi), with D = "
                 "t.shape[1].", _aggregate_without_2pi)],
        rtol=1e-9),
    Exercise(
        "active_units", "Exercise 6.1, active units (Burda et al., 2016)",
        "active_units(t_means, threshold) -> int",
        latent.active_units, _active_units_cases,
        "t_means has one row per image and one column per latent dimension: take the variance of each column "
        "over the images (axis 0) and count the columns whose variance exceeds threshold.",
        [Mistake("You compared the standard deviation with the threshold: the definition uses the variance "
                 "Cov_x(E_q[t_d]), so np.var, not np.std.", _active_units_std),
         Mistake("You took the variance of each *row* (over the dimensions of one image): take it of each column, "
                 "over the images, axis=0.", _active_units_over_dimensions),
         Mistake("You compared the mean code with the threshold: a unit is active when its code *varies* from "
                 "image to image, so use the variance over the images.", _active_units_mean_not_variance),
         Mistake("You used the mean of t_d^2, which is not centred: a dimension whose code sits at 5 for every image "
                 "is unused, so subtract the mean first (np.var does).", _active_units_second_moment)]),
]}
