"""helpers.meanfield: every update and bound against brute-force numerical integration on tiny problems."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import gamma, norm

from helpers import gmm
from helpers import meanfield as mf

X_SMALL = np.array([0.9, 1.4, 0.2, 1.1, 0.7])
PRIOR = mf.NormalGamma(mu0=0.0, lambda0=2.0, a=2.0, b=1.5)
Q = mf.NormalGammaFactors(mean=0.5, precision=3.0, a=3.0, b=2.0)
N = len(X_SMALL)   # bounds and evidences are per data point: totals / N

MU = np.linspace(-4, 5, 1801)
TAU = np.linspace(1e-5, 15, 3001)


def log_joint(mu, tau):
    """log p(x, mu, tau) by brute force, broadcasting over grids."""
    lik = np.sum(norm.logpdf(X_SMALL[:, None, None], mu, 1 / np.sqrt(tau)), axis=0)
    return lik + mf.log_normal_gamma_density(mu, tau, PRIOR)


def test_log_evidence_matches_numerical_integration():
    M, T = np.meshgrid(MU, TAU)
    numeric = np.log(np.sum(np.exp(log_joint(M, T))) * (MU[1] - MU[0]) * (TAU[1] - TAU[0]))
    assert mf.log_evidence(X_SMALL, PRIOR) * N == pytest.approx(numeric, abs=1e-6)


def test_update_q_tau_is_eq_11_by_quadrature():
    """log q*(tau) = E_{q(mu)}[log p(x, mu, tau)] + const, integrated over mu numerically."""
    mu = np.linspace(Q.mean - 8 / np.sqrt(Q.precision), Q.mean + 8 / np.sqrt(Q.precision), 2001)
    weights = norm.pdf(mu, Q.mean, 1 / np.sqrt(Q.precision)) * (mu[1] - mu[0])
    M, T = np.meshgrid(mu, TAU)
    unnormalised = np.sum(log_joint(M, T) * weights, axis=1)          # E_mu[...] for each tau
    density = np.exp(unnormalised - unnormalised.max())
    density /= density.sum() * (TAU[1] - TAU[0])
    q = mf.update_q_tau(X_SMALL, PRIOR, Q)
    np.testing.assert_allclose(density, gamma.pdf(TAU, q.a, scale=1 / q.b), atol=2e-4)


def test_update_q_mu_is_eq_11_by_quadrature():
    """log q*(mu) = E_{q(tau)}[log p(x, mu, tau)] + const, integrated over tau numerically."""
    weights = gamma.pdf(TAU, Q.a, scale=1 / Q.b) * (TAU[1] - TAU[0])
    M, T = np.meshgrid(MU, TAU)
    unnormalised = np.sum(log_joint(M, T) * weights[:, None], axis=0)  # E_tau[...] for each mu
    density = np.exp(unnormalised - unnormalised.max())
    density /= density.sum() * (MU[1] - MU[0])
    q = mf.update_q_mu(X_SMALL, PRIOR, Q)
    np.testing.assert_allclose(density, norm.pdf(MU, q.mean, 1 / np.sqrt(q.precision)), atol=2e-4)


def test_elbo_matches_numerical_integration():
    M, T = np.meshgrid(MU, TAU)
    log_q = mf.log_q_density(M, T, Q)
    numeric = np.sum(np.exp(log_q) * (log_joint(M, T) - log_q)) * (MU[1] - MU[0]) * (TAU[1] - TAU[0])
    assert mf.elbo_normal_gamma(X_SMALL, PRIOR, Q) * N == pytest.approx(numeric, abs=1e-4)


def test_cavi_is_monotone_and_stays_below_the_evidence():
    states = mf.cavi_normal_gamma(X_SMALL, PRIOR, Q, n_iter=30)
    elbos = np.array([s[2] for s in states])
    assert np.all(np.diff(elbos) >= -1e-12)
    assert elbos[-1] < mf.log_evidence(X_SMALL, PRIOR)
    exact = mf.normal_gamma_posterior(X_SMALL, PRIOR)
    q = states[-1][1]
    assert q.mean == pytest.approx(exact.mu0)
    assert all(vq < ve for vq, ve in zip(mf.q_variances(q), mf.marginal_variances(exact), strict=True))


def test_bayesian_gmm_elbo_by_quadrature_for_one_component_in_1d():
    """K=1, D=1: the ELBO is a 2-D integral over (mu, lambda) that a grid can do."""
    X = np.array([[0.3], [1.2], [-0.4], [0.8]])
    prior = mf.BayesianGMMPrior(alpha0=1.0, m0=np.array([0.0]), beta0=0.5, W0=np.array([[2.0]]), nu0=3.0)
    resp = np.ones((4, 1))
    post = mf.update_q_parameters(X, resp, prior)
    mu = np.linspace(-3, 4, 1201)
    lam = np.linspace(1e-6, 40, 6001)   # q(lambda) has a long right tail: cut it late
    M, L = np.meshgrid(mu, lam)

    def log_normal_wishart(m, beta, W, nu):   # 1-D Wishart(W, nu) is Gamma(nu/2, rate 1/(2W))
        return norm.logpdf(M, m, 1 / np.sqrt(beta * L)) + gamma.logpdf(L, nu / 2, scale=2 * W)

    log_q = log_normal_wishart(post.m[0, 0], post.beta[0], post.W[0, 0, 0], post.nu[0])
    log_p = (np.sum(norm.logpdf(X[:, 0, None, None], M, 1 / np.sqrt(L)), axis=0)
             + log_normal_wishart(prior.m0[0], prior.beta0, prior.W0[0, 0], prior.nu0))
    numeric = np.sum(np.exp(log_q) * (log_p - log_q)) * (mu[1] - mu[0]) * (lam[1] - lam[0])
    assert mf.elbo_bayesian_gmm(X, resp, post, prior) * len(X) == pytest.approx(numeric, abs=1e-4)


def test_expected_log_det_precision_by_monte_carlo():
    from scipy.stats import wishart

    post = mf.BayesianGMMPosterior(alpha=np.ones(1), beta=np.ones(1), m=np.zeros((1, 2)),
                                   W=np.array([[[0.7, 0.2], [0.2, 0.5]]]), nu=np.array([5.0]))
    samples = wishart(df=5.0, scale=post.W[0]).rvs(200_000, random_state=0)
    mc = np.mean(np.linalg.slogdet(samples)[1])
    assert mf.expected_log_det_precision(post)[0] == pytest.approx(mc, abs=0.01)


@pytest.fixture(scope="module")
def mixture_data():
    return gmm.sample_mixture(gmm.demo_mixture(), 300, np.random.default_rng(0))[0]


def test_cavi_bayesian_gmm_is_monotone_and_prunes(mixture_data):
    X = mixture_data
    prior = mf.BayesianGMMPrior(1e-3, X.mean(0), 1.0, np.linalg.inv(np.cov(X.T)), 2.0)
    r0 = np.random.default_rng(1).dirichlet(np.ones(5), size=len(X))
    _, post, history = mf.cavi_bayesian_gmm(X, r0, prior, max_iter=300, tol=0.0)
    elbo = np.array(history.elbo)
    assert np.all(np.diff(elbo) >= -1e-9 * np.abs(elbo[1:]))
    assert np.sum(post.weights > 0.01) == 3


def test_cavi_bayesian_gmm_matches_scikit_learn(mixture_data):
    X = mixture_data
    prior = mf.BayesianGMMPrior(0.1, X.mean(0), 0.5, np.linalg.inv(np.cov(X.T)), 3.0)
    r0 = np.random.default_rng(2).dirichlet(np.ones(4), size=len(X))
    _, post, _ = mf.cavi_bayesian_gmm(X, r0, prior, max_iter=60, tol=0.0)
    reference = mf.to_sklearn_bayesian_mixture(prior, 4, r0, max_iter=60, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference.fit(X)
    np.testing.assert_allclose(reference.weights_, post.weights, atol=1e-10)
    np.testing.assert_allclose(reference.means_, post.m, atol=1e-9)
    np.testing.assert_allclose(reference.covariances_, post.covariances, atol=1e-9)


def test_variational_em_with_a_point_estimate_reaches_the_type_ii_maximum_likelihood_mu0():
    """Eq. 13: the M-step's point estimate of mu0 must converge to the mu0 that maximises the exact
    evidence log p(x; mu0), found here by a numerical optimiser that knows nothing of q."""
    from scipy.optimize import minimize_scalar

    x = np.random.default_rng(3).normal(2.0, 0.7, size=15)
    prior = mf.NormalGamma(mu0=-1.0, lambda0=0.5, a=2.0, b=1.0)
    states = mf.variational_em_normal_gamma(x, prior, Q, n_iter=200)
    elbo = np.array([s[-1] for s in states])
    assert np.all(np.diff(elbo) >= -1e-12)                       # E- and M-steps both climb the bound
    best = minimize_scalar(lambda m: -mf.log_evidence(x, mf.NormalGamma(m, 0.5, 2.0, 1.0)),
                           bounds=(-5, 5), method="bounded", options={"xatol": 1e-10})
    assert states[-1][1].mu0 == pytest.approx(best.x, abs=1e-4)
    final_prior, final_q = states[-1][1], states[-1][2]
    assert elbo[-1] < mf.log_evidence(x, final_prior)                # still a bound under the learned mu0
    assert final_q.mean == pytest.approx(final_prior.mu0, abs=1e-6)


GMM_PRIOR = mf.BayesianGMMPrior(1e-3, np.zeros(2), 1.0, np.eye(2), 2.0)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: mf.NormalGamma(0.0, -1.0, 2.0, 1.0), "lambda0 must be > 0"),
    (lambda: mf.NormalGammaFactors(0.0, 1.0, 0.0, 1.0), "a must be > 0"),
    (lambda: mf.update_q_mu(np.array([1.0, np.nan]), PRIOR, Q), "NaN"),
    (lambda: mf.elbo_normal_gamma(np.ones((3, 2)), PRIOR, Q), "1-D array"),
    (lambda: mf.BayesianGMMPrior(0.0, np.zeros(2), 1.0, np.eye(2), 2.0), "alpha0 must be > 0"),
    (lambda: mf.BayesianGMMPrior(1.0, np.zeros(2), 1.0, np.eye(3), 2.0), "m0 .* and W0"),
    (lambda: mf.BayesianGMMPrior(1.0, np.zeros(2), 1.0, -np.eye(2), 2.0), "positive definite"),
    (lambda: mf.BayesianGMMPrior(1.0, np.zeros(2), 1.0, np.eye(2), 0.5), "nu0 must be > D - 1"),
    (lambda: mf.cavi_bayesian_gmm(np.ones(5), np.full((5, 2), 0.5), GMM_PRIOR), "X must be a non-empty 2-D"),
    (lambda: mf.cavi_bayesian_gmm(np.ones((5, 3)), np.full((5, 2), 0.5), GMM_PRIOR), "features"),
    (lambda: mf.cavi_bayesian_gmm(np.ones((5, 2)), np.full((4, 2), 0.5), GMM_PRIOR), "resp must be"),
    (lambda: mf.cavi_bayesian_gmm(np.ones((5, 2)), np.full((5, 2), 0.7), GMM_PRIOR), "rows summing to 1"),
    (lambda: mf.update_q_assignments(np.array([[np.inf, 0.0]]), None), "NaN or infinite"),
])
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_cavi_gaussian_finds_the_mean_and_the_precision_diagonal():
    mean, cov = np.array([1.0, -0.5]), np.array([[1.0, 0.9], [0.9, 1.0]])
    path, variances = mf.cavi_gaussian(mean, cov, init_mean=np.array([-2.0, 2.0]), n_iter=200)
    assert path.shape == (401, 2)
    np.testing.assert_allclose(path[-1], mean, atol=1e-8)
    np.testing.assert_allclose(variances, [0.19, 0.19])           # 1 / Lambda_jj = 1 - rho^2, not 1
    kl_mean_part = [0.5 * (m - mean) @ np.linalg.inv(cov) @ (m - mean) for m in path]   # the part of KL(q || p)
    assert np.all(np.diff(kl_mean_part) <= 1e-12)                  # that moves: every update lowers it


def test_cavi_runs_with_a_students_q_tau_update_and_elbo_in_their_own_form():
    def q_tau(x, prior, q):                               # returns a numpy array, not the course's type
        n = len(x)
        sq = np.sum((x - q.mean) ** 2) + n / q.precision + prior.lambda0 * ((q.mean - prior.mu0) ** 2 + 1 / q.precision)
        return np.array([prior.a + (n + 1) / 2, prior.b + sq / 2])

    course = mf.cavi_normal_gamma(X_SMALL, PRIOR, Q, n_iter=5)
    theirs = mf.cavi_normal_gamma(X_SMALL, PRIOR, Q, n_iter=5, q_tau_update=q_tau,
                                  elbo=lambda x, prior, q: np.array(mf.elbo_normal_gamma(x, prior, q)))
    assert np.allclose([(s[1].a, s[1].b) for s in theirs], [(s[1].a, s[1].b) for s in course], rtol=1e-12)
    assert [s[2] for s in theirs] == pytest.approx([s[2] for s in course], abs=1e-12)
    wrong = mf.cavi_normal_gamma(X_SMALL, PRIOR, Q, n_iter=5, q_tau_update=lambda x, prior, q: (q.a, q.b + 1.0))
    assert wrong[-1][2] < course[-1][2] - 1e-3               # a wrong update ends lower: the comparison can fail
