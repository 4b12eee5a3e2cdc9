"""helpers.distributions: each formula against an independent reference (scipy or Monte Carlo), in numpy
and through keras.ops; and the course's conventions: every equation 1-17 has a home, modules declare __all__."""

from __future__ import annotations

import ast
import importlib
import re

import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import multivariate_normal, norm

from helpers import distributions as D
from helpers.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
RNG = np.random.default_rng(0)


def test_log_normal_diag_matches_scipy():
    t, m, lv = RNG.normal(size=(7, 3)), RNG.normal(size=3), RNG.normal(size=3)
    expected = multivariate_normal(m, np.diag(np.exp(lv))).logpdf(t)
    np.testing.assert_allclose(D.log_normal_diag(t, m, lv), expected, rtol=1e-12)
    np.testing.assert_allclose(D.log_standard_normal(t), multivariate_normal(np.zeros(3)).logpdf(t), rtol=1e-12)
    np.testing.assert_allclose(D.log_normal(t, m, lv), norm.logpdf(t, m, np.exp(0.5 * lv)), rtol=1e-12)


def test_log_normal_full_matches_scipy_and_names_a_singular_component():
    X = RNG.normal(size=(20, 2))
    means = np.array([[0.0, 1.0], [2.0, -1.0]])
    covs = np.array([[[1.0, 0.3], [0.3, 0.5]], [[2.0, -0.4], [-0.4, 1.0]]])
    expected = np.column_stack([multivariate_normal(m, c).logpdf(X) for m, c in zip(means, covs, strict=True)])
    np.testing.assert_allclose(D.log_normal_full(X, means, covs), expected, rtol=1e-12)
    covs[1] = [[1.0, 1.0], [1.0, 1.0]]          # singular
    with pytest.raises(ValueError, match=r"covariances\[1\] is not positive definite.*increase reg_covar"):
        D.log_normal_full(X, means, covs)


def test_logsumexp_is_stable_and_exact_on_minus_infinity():
    a = np.array([[1000.0, 1000.0], [-np.inf, -np.inf], [0.0, np.log(3.0)], [-1000.0, -1001.0], [0.0, -np.inf]])
    np.testing.assert_allclose(D.logsumexp(a), [1000.0 + np.log(2.0), -np.inf, np.log(4.0),
                                                -1000.0 + np.log1p(np.exp(-1.0)), 0.0])
    assert D.log_mean_exp(np.log(np.array([1.0, 3.0]))) == pytest.approx(np.log(2.0))


@pytest.mark.parametrize("shape, axis", [((7,), -1), ((5, 3), 1), ((5, 3), 0), ((2, 4, 6), 1), ((2, 4, 6), -1)])
def test_logsumexp_agrees_with_scipy_on_any_axis(shape, axis):
    from scipy.special import logsumexp as scipy_logsumexp

    a = 300.0 * np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_allclose(D.logsumexp(a, axis=axis), scipy_logsumexp(a, axis=axis), rtol=1e-13)
    assert D.logsumexp(a, axis=axis).shape == scipy_logsumexp(a, axis=axis).shape


def test_logsumexp_of_inf_and_nan():
    assert D.logsumexp(np.array([[np.inf, 0.0]]))[0] == np.inf
    assert np.isnan(D.logsumexp(np.array([[np.nan, 0.0]]))[0])


def test_kl_standard_normal_against_monte_carlo_and_zero_at_the_prior():
    m, lv = np.array([0.7, -1.2]), np.array([-0.5, 0.8])
    t = D.reparameterize(m, lv, np.random.default_rng(1).standard_normal((400_000, 2)))
    mc = np.mean(D.log_normal_diag(t, m, lv) - D.log_standard_normal(t))
    assert D.kl_standard_normal(m, lv) == pytest.approx(mc, abs=0.01)
    assert D.kl_standard_normal(np.zeros(2), np.zeros(2)) == 0.0


def test_bernoulli_nll_from_logits_matches_the_naive_formula_and_survives_huge_logits():
    x = RNG.random((3, 28, 28, 1))
    logits = RNG.normal(0, 3, (3, 28, 28, 1))
    p = expit(logits)
    naive = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=(1, 2, 3))
    np.testing.assert_allclose(D.bernoulli_nll_from_logits(x, logits), naive, rtol=1e-10)
    huge = np.full((1, 4), 200.0)          # log(sigmoid(-200)) underflows to -inf in the naive formula
    assert D.bernoulli_nll_from_logits(np.zeros_like(huge), huge)[0] == pytest.approx(800.0)


def test_the_same_functions_run_through_keras_ops_with_gradients():
    tf = pytest.importorskip("tensorflow")
    m, lv = tf.Variable([[0.7, -1.2]], dtype=tf.float64), tf.Variable([[-0.5, 0.8]], dtype=tf.float64)
    with tf.GradientTape() as tape:
        kl = D.kl_standard_normal(m, lv)
    grad_m, grad_lv = tape.gradient(kl, [m, lv])
    np.testing.assert_allclose(np.asarray(kl), D.kl_standard_normal(m.numpy(), lv.numpy()))
    np.testing.assert_allclose(grad_m.numpy(), m.numpy())                          # dKL/dm = m
    np.testing.assert_allclose(grad_lv.numpy(), 0.5 * (np.exp(lv.numpy()) - 1))   # dKL/dlv = (s^2 - 1)/2


NUMPY_ONLY_SCRIPT = """
import sys
import numpy as np
from helpers import distributions as D, gmm, meanfield as mf

rng = np.random.default_rng(0)
X = gmm.sample_mixture(gmm.demo_mixture(), 200, rng)[0]
fit = gmm.fit(X, 3, n_init=2, max_iter=20)
gmm.bic(X, fit.params), gmm.lower_bound(X, fit.params, gmm.e_step(X, fit.params))
x = rng.normal(1.0, 0.5, 20)
prior, q = mf.NormalGamma(0.0, 2.0, 2.0, 1.5), mf.NormalGammaFactors(0.5, 3.0, 3.0, 2.0)
mf.cavi_normal_gamma(x, prior, q, n_iter=3), mf.variational_em_normal_gamma(x, prior, q, n_iter=3)
M, T = np.meshgrid(np.linspace(-1.0, 2.0, 5), np.linspace(0.1, 3.0, 5))
mf.log_q_density(M, T, q), mf.log_normal_gamma_density(M, T, prior), mf.log_q_density(0.5, 1.0, q)
mf.log_q_density([0.0, 1.0], [1.0, 2.0], q)                      # a Python list is numpy input too
mf.cavi_gaussian(np.zeros(2), np.array([[1.0, 0.5], [0.5, 1.0]]), np.ones(2), n_iter=2)
bayes_prior = mf.BayesianGMMPrior(1e-3, X.mean(0), 1.0, np.linalg.inv(np.cov(X.T)), 2.0)
mf.cavi_bayesian_gmm(X, rng.dirichlet(np.ones(4), size=len(X)), bayes_prior, max_iter=5)
D.kl_standard_normal([0.7, -1.2], [-0.5, 0.8]), D.log_normal_diag([[0.0, 1.0]], [0.0, 0.0], (0.0, 0.0))
D.log_standard_normal([[0.0, 1.0]]), D.reparameterize([0.0], [0.0], [1.0])
D.bernoulli_nll_from_logits([[0.0, 1.0]], [[2.0, -1.0]]), D.log_normal(0.5, 0, 0.0)
print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
"""


def test_numpy_input_never_imports_keras_or_tensorflow():
    """Notebooks 01-02 run gmm and meanfield on numpy input (arrays, numbers, lists): Keras must stay unloaded."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", NUMPY_ONLY_SCRIPT], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_lists_and_tuples_give_the_same_numbers_as_arrays():
    m, lv, eps = [0.7, -1.2], (-0.5, 0.8), [[0.3, -0.1]]
    np.testing.assert_allclose(D.kl_standard_normal(m, lv), D.kl_standard_normal(np.array(m), np.array(lv)))
    np.testing.assert_allclose(D.log_normal_diag(eps, m, lv),
                               D.log_normal_diag(np.array(eps), np.array(m), np.array(lv)))
    np.testing.assert_allclose(D.reparameterize(m, lv, eps), np.array(m) + np.exp(0.5 * np.array(lv)) * np.array(eps))
    np.testing.assert_allclose(D.bernoulli_nll_from_logits([[1.0, 0.0]], [[0.0, 0.0]]), [2 * np.log(2.0)])


def test_weighted_gaussian_statistics_with_hard_assignments_are_the_class_means_and_covariances():
    X = RNG.normal(size=(50, 2))
    labels = np.arange(50) % 2
    nk, xbar, S = D.weighted_gaussian_statistics(X, np.eye(2)[labels])
    for k in range(2):
        assert nk[k] == pytest.approx(25)
        np.testing.assert_allclose(xbar[k], X[labels == k].mean(0))
        np.testing.assert_allclose(S[k], np.cov(X[labels == k].T, bias=True))


# ----------------------------------------------------------------------------- conventions

NUMERIC_MODULES = ["distributions", "gmm", "latent", "meanfield", "svi", "vae", "vae_evaluation"]
EQ_TAG = re.compile(r"^Eqs?\.\s*([\d\s,\-and]+?)(?:'s|\s+(?:by|in|for|bounded|as|with|estimated)\b|[:(])")


def _tagged_equations(docstring: str) -> set[int]:
    match = EQ_TAG.match(docstring.strip())
    if not match:
        return set()
    found: set[int] = set()
    for part in re.split(r",|\band\b", match.group(1)):
        bounds = [int(n) for n in re.findall(r"\d+", part)]
        if len(bounds) == 2 and "-" in part:
            found.update(range(bounds[0], bounds[1] + 1))
        else:
            found.update(bounds)
    return found


def _public_functions(module: str):
    tree = ast.parse((ROOT / "helpers" / f"{module}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
            yield node.name, ast.get_docstring(node) or ""


def test_every_equation_of_the_course_text_has_a_tagged_helper():
    covered: dict[int, list[str]] = {}
    for module in NUMERIC_MODULES:
        for name, doc in _public_functions(module):
            for eq in _tagged_equations(doc):
                covered.setdefault(eq, []).append(f"{module}.{name}")
    missing = sorted(set(range(1, 18)) - set(covered))
    assert not missing, f"equations with no helper whose docstring starts 'Eq. N:': {missing}"


@pytest.mark.parametrize("module", NUMERIC_MODULES)
def test_module_declares_all_and_every_name_in_it_exists(module):
    mod = importlib.import_module(f"helpers.{module}")
    assert hasattr(mod, "__all__"), f"helpers.{module} has no __all__"
    assert all(hasattr(mod, name) for name in mod.__all__)
