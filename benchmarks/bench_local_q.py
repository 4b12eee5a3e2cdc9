"""The search for the best diagonal q (eq. 14) on a 2-D grid: helpers' L-BFGS against the Nelder-Mead it replaced.

    python benchmarks/bench_local_q.py [--rounds 3] [--points 150]

A posterior with two modes (70% and 30% of the mass) on a ``points`` x ``points`` grid, as notebook 04's digit #6
has; three starts (near each mode and far off), the rounds interleaved. Nelder-Mead is the code notebook 04 used
until 2026-12-06 (a Gaussian evaluated on every grid point per KL, up to 8,000 evaluations); L-BFGS is
``vae_evaluation.fit_local_q`` (the factorised KL with its exact gradient, from the start and from the posterior's
moments). Prints each search's median time, the ratio, and the KL each reached (the lower the better).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import minimize

from helpers import distributions, vae_evaluation


def nelder_mead_local_q(log_posterior, t1, t2, cell, start_mean, start_log_var) -> float:
    """The search notebook 04 used before: Nelder-Mead on :func:`vae_evaluation.kl_q_to_posterior_on_grid`."""
    def kl(params):
        return vae_evaluation.kl_q_to_posterior_on_grid(log_posterior, t1, t2, cell, params[:2], params[2:])
    result = minimize(kl, np.concatenate([start_mean, start_log_var]), method="Nelder-Mead",
                      options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000, "maxfev": 8000})
    return float(result.fun)


def two_mode_posterior(points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """log p(t|x) on a (points, points) grid: 0.7 N((-1.5, 0), 0.3 I) + 0.3 N((2, 1), diag(0.2, 0.5))."""
    t1, t2 = np.linspace(-4, 5, points), np.linspace(-5, 4, points)
    T = np.stack(np.meshgrid(t1, t2), axis=-1)
    log_joint = np.logaddexp(np.log(0.7) + distributions.log_normal_diag(T, np.array([-1.5, 0.0]), np.log([0.3, 0.3])),
                             np.log(0.3) + distributions.log_normal_diag(T, np.array([2.0, 1.0]), np.log([0.2, 0.5])))
    cell = float((t1[1] - t1[0]) * (t2[1] - t2[0]))
    return log_joint - (np.log(cell) + distributions.logsumexp(log_joint.ravel())), t1, t2, cell


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--points", type=int, default=150)
    args = parser.parse_args()
    log_post, t1, t2, cell = two_mode_posterior(args.points)
    starts = [(np.array([-1.0, 0.2]), np.zeros(2)), (np.array([1.5, 1.5]), np.array([-1.0, -0.5])),
              (np.array([0.0, -3.0]), np.ones(2))]
    times = {"nelder-mead": [], "l-bfgs": []}
    for _ in range(args.rounds):
        for start_mean, start_log_var in starts:
            for name in times:                                          # interleaved: one of each, in turn
                begin = time.perf_counter()
                if name == "nelder-mead":
                    kl = nelder_mead_local_q(log_post, t1, t2, cell, start_mean, start_log_var)
                else:
                    kl = vae_evaluation.fit_local_q(log_post, t1, t2, cell, start_mean, start_log_var)[2]
                times[name].append(time.perf_counter() - begin)
                print(f"{name:12s} start {start_mean}: KL {kl:.6f} in {times[name][-1]:.3f} s", flush=True)
    nm, lbfgs = (np.median(times[name]) for name in times)
    print(f"median per search on a {args.points}x{args.points} grid: Nelder-Mead {nm:.3f} s, L-BFGS {lbfgs:.4f} s: "
          f"{nm / lbfgs:.0f}x (ratios per search {min(a / b for a, b in zip(*times.values(), strict=True)):.0f}x to "
          f"{max(a / b for a, b in zip(*times.values(), strict=True)):.0f}x)")


if __name__ == "__main__":
    main()
