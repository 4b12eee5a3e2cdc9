"""EM speed: helpers.gmm against scikit-learn's GaussianMixture, same data, same start, same iterations.

    python benchmarks/bench_gmm.py [--n 200000] [--iterations 50] [--repeats 7]

Prints the median milliseconds per EM iteration of each, their ratio in every round with its median and
spread (target: helpers <= 1.0x of scikit-learn), and both final log-likelihoods (they must agree).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from helpers import gmm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    true = gmm.GMMParams(
        weights=np.array([0.5, 0.3, 0.2]),
        means=np.array([[0.0, 0.0], [4.0, 3.0], [-2.5, 4.5]]),
        covariances=np.array([[[1.2, 0.4], [0.4, 0.8]], [[1.0, -0.6], [-0.6, 1.2]], [[0.5, 0], [0, 1.5]]]),
    )
    X, _ = gmm.sample_mixture(true, args.n, np.random.default_rng(0))
    init = gmm.random_init(X, 3, np.random.default_rng(1))

    ours_times, sk_times = [], []
    for _ in range(args.repeats):  # interleaved rounds: ours, then scikit-learn's
        start = time.perf_counter()
        ours, _, _ = gmm.run_em(X, init, max_iter=args.iterations, tol=0.0, record=False)
        ours_times.append((time.perf_counter() - start) / args.iterations)
        reference = gmm.to_sklearn_gaussian_mixture(init, max_iter=args.iterations, tol=0.0, reg_covar=1e-6)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            reference.fit(X)
        sk_times.append((time.perf_counter() - start) / args.iterations)

    ratios = np.array(ours_times) / np.array(sk_times)        # one per round: the two ran back to back
    ours_ms, sk_ms = 1e3 * np.median(ours_times), 1e3 * np.median(sk_times)
    print(f"EM, {args.n} x 2 points, K=3, {args.iterations} iterations, {args.repeats} interleaved rounds")
    print(f"  helpers.gmm   {ours_ms:7.1f} ms/iteration (median)   final log-lik {gmm.log_likelihood(X, ours):.10f}")
    print(f"  scikit-learn  {sk_ms:7.1f} ms/iteration (median)   final log-lik {reference.score(X):.10f}")
    print(f"  ratio helpers/scikit-learn, per round: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"  median {np.median(ratios):.2f}x, spread {ratios.min():.2f}-{ratios.max():.2f}x (target <= 1.00x)")

if __name__ == "__main__":
    main()
