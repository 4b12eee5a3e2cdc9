"""Grading speed: submissions graded per minute by ``./course.sh grade`` (otter run per submission, in parallel).

    python benchmarks/bench_grade.py [--notebooks 01_em_gmm 04_vae_mnist] [--modes fast full] [--jobs 1 2]
                                     [--submissions 4] [--rounds 3]

Each configuration (notebook, mode, jobs) grades a class of ``--submissions`` copies of that notebook filled in
with the course's answers (everything re-run by otter, as for a real class); the configurations take turns, round
after round, and each prints its median submissions per minute and the spread over the rounds. Target: 300
notebook-01 submissions in 20 minutes on 2 cores, that is 15 per minute with fast mode and 2 jobs. Each class includes
the one-time start of its graders (importing otter), so small classes understate the rate of a real one. The defaults
run notebook 04 in full mode too: about 11 minutes per submission on a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from helpers import autograder, grade_class


def grade_a_class(notebook: str, n: int, jobs: int, fast: bool, zips: Path) -> float:
    """Seconds to grade ``n`` all-right submissions of ``notebook``; checks that every one got full marks."""
    with tempfile.TemporaryDirectory() as tmp:
        right = autograder.filled_in(notebook, autograder.course_answers(notebook))
        for i in range(n):
            nbformat.write(right, Path(tmp) / f"{notebook}_student{i:03d}.ipynb")
        submissions = grade_class.find_submissions([Path(tmp)])
        start = time.perf_counter()
        results = grade_class.grade_all(submissions, zips=zips, jobs=jobs, timeout=3600, fast=fast, progress=None)
        seconds = time.perf_counter() - start
    wrong = [r for r in results if r.status != "graded" or r.feedback]
    if wrong:
        raise RuntimeError(f"an all-right submission was not graded all right: {wrong[0]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", nargs="+", default=["01_em_gmm", "04_vae_mnist"])
    parser.add_argument("--modes", nargs="+", default=["fast", "full"], choices=["fast", "full"])
    parser.add_argument("--jobs", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--submissions", type=int, default=4, help="submissions per class (default 4)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="em2vae-bench-autograder-") as tmp:
        autograder.build(autograder.STUDENT_DIR, Path(tmp))
        rates = measure(args, Path(tmp))
    report(args, rates)


def measure(args: argparse.Namespace, zips: Path) -> dict[tuple, list[float]]:
    """Submissions per minute of each configuration (notebook, mode, jobs), round after round."""
    configs = [(nb, mode, jobs) for nb in args.notebooks for mode in args.modes for jobs in args.jobs]
    rates: dict[tuple, list[float]] = {c: [] for c in configs}
    for r in range(args.rounds):
        for notebook, mode, jobs in configs:
            seconds = grade_a_class(notebook, args.submissions, jobs, mode == "fast", zips)
            rates[(notebook, mode, jobs)].append(60 * args.submissions / seconds)
            print(f"round {r + 1}: {notebook} {mode} jobs={jobs}: {args.submissions} in {seconds:.1f} s "
                  f"= {rates[(notebook, mode, jobs)][-1]:.2f} per minute", flush=True)
    return rates


def report(args: argparse.Namespace, rates: dict[tuple, list[float]]) -> None:
    print(f"\nsubmissions graded per minute, {args.submissions} per class, median (min-max) of {args.rounds} rounds:")
    for (notebook, mode, jobs), values in rates.items():
        print(f"  {notebook:14s} {mode:4s} jobs={jobs}: {statistics.median(values):6.2f} "
              f"({min(values):.2f}-{max(values):.2f})")
    for (notebook, mode, jobs), values in rates.items():
        if notebook.startswith("01") and mode == "fast" and jobs == 2:
            minutes = 300 / statistics.median(values)
            print(f"300 notebook-01 submissions at this rate: {minutes:.0f} min (target <= 20 min: "
                  f"{'met' if minutes <= 20 else 'NOT met'})")


if __name__ == "__main__":
    main()
