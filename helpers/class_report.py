"""What a graded class did: grades.csv, the feedback to return, the class's common slips, and a one-screen summary.

Every exercise of a graded submission has one *outcome*: ``passed``; a named slip, found in the feedback the student
saw by :func:`helpers.exercises.mistake_named_in` (a catalogued mistake's ``name``, whose hint the feedback quotes word
for word, or a slip of any exercise such as "outputs in another order"); ``unnamed error`` (wrong, but no named slip);
or ``unfinished`` (the stub was left as it was).
``slips.csv`` counts the outcomes per exercise over the graded submissions of each notebook, ``slips.png`` draws them.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from helpers.exercises import EXERCISES, mistake_named_in
from helpers.grading import GENERAL_SLIPS

if TYPE_CHECKING:
    from helpers.grade_class import Result

__all__ = ["PASSED", "UNFINISHED", "UNNAMED", "outcome", "slip_counts", "summary", "write"]

PASSED, UNFINISHED, UNNAMED = "passed", "unfinished", "unnamed error"
NOT_STARTED = "not implemented yet"          # helpers.grading's words for a stub left as it was


def outcome(exercise: str, passed: bool, feedback: str) -> str:
    """``passed``, ``unfinished``, the name of the slip the feedback names (a catalogued mistake, whose hint it
    quotes, or a slip any exercise can have), or ``unnamed error``."""
    if passed:
        return PASSED
    if NOT_STARTED in feedback:
        return UNFINISHED
    return mistake_named_in(exercise, feedback) or UNNAMED


def outcomes_of(exercise: str) -> list[str]:
    """Every outcome an exercise can have, in the order of the report: passed, its catalogue, the slips of any
    exercise, unnamed, unfinished."""
    return [PASSED, *(m.name for m in EXERCISES[exercise].mistakes), *GENERAL_SLIPS, UNNAMED, UNFINISHED]


def slip_counts(results: list[Result]) -> dict[tuple[str, str], Counter]:
    """For each (notebook, exercise), how many graded submissions had each outcome."""
    counts: dict[tuple[str, str], Counter] = {}
    for result in results:
        if result.status != "graded":
            continue
        for exercise in result.points:
            passed = exercise not in result.feedback
            key = (result.notebook, exercise)
            counts.setdefault(key, Counter())[outcome(exercise, passed, result.feedback.get(exercise, ""))] += 1
    order = {name: i for i, name in enumerate(EXERCISES)}
    return dict(sorted(counts.items(), key=lambda item: (item[0][0], order[item[0][1]])))


# ----------------------------------------------------------------------------- the files


def _exercise_columns(results: list[Result]) -> list[str]:
    seen = [e for r in results for e in r.points]
    return list(dict.fromkeys(e for e in EXERCISES if e in seen))


def _number(x: float) -> str:
    return f"{x:g}"


def write_grades(results: list[Result], path: Path) -> None:
    """grades.csv: student, notebook, file, each exercise's points, total, status, reason; one row per submission."""
    exercises = _exercise_columns(results)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["student", "notebook", "file", *exercises, "total", "possible", "status", "reason"])
        for r in results:
            graded = r.status == "graded"
            out.writerow([r.submission.student, r.notebook, r.submission.shown,
                          *(_number(r.points[e]) if e in r.points else "" for e in exercises),
                          _number(sum(r.points.values())) if graded else "",
                          _number(sum(r.possible.values())) if graded else "", r.status, r.reason])


def _title(exercise: str) -> str:
    return EXERCISES[exercise].title


def feedback_markdown(result: Result) -> str:
    """The feedback to return to one student: each exercise that did not pass, with the text the check printed."""
    head = f"# {result.notebook or 'Submission'}: feedback for {result.submission.student}\n\n"
    head += f"File: `{result.submission.shown}`\n\n"
    if result.status != "graded":
        return head + f"Not graded: **{result.status}**, {result.reason}.\n"
    score = f"Score: {_number(sum(result.points.values()))} / {_number(sum(result.possible.values()))}.\n\n"
    if result.reason:
        score += f"Note: {result.reason}.\n\n"
    if not result.feedback:
        return head + score + "Every exercise passes its check. Well done.\n"
    parts = [f"## {_title(e)}: {_number(result.points[e])} / {_number(result.possible[e])}\n\n{text}\n"
             for e, text in result.feedback.items()]
    return head + score + "\n".join(parts)


def _file_name(result: Result, taken: set[str]) -> str:
    base = re.sub(r"[^\w.-]+", "_", f"{result.submission.student}_{result.notebook or 'ungraded'}")
    name, n = f"{base}.md", 1
    while name in taken:
        n += 1
        name = f"{base}-{n}.md"
    taken.add(name)
    return name


def write_feedback(results: list[Result], folder: Path) -> None:
    """feedback/STUDENT_NOTEBOOK.md for every submission (``-2``, ``-3`` ... for a second of the same)."""
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    for result in results:
        (folder / _file_name(result, taken)).write_text(feedback_markdown(result))


def write_slips(results: list[Result], path: Path) -> None:
    """slips.csv: notebook, exercise, outcome, submissions, percent (of the notebook's graded submissions)."""
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["notebook", "exercise", "outcome", "submissions", "percent"])
        for (notebook, exercise), counts in slip_counts(results).items():
            total = sum(counts.values())
            for name in outcomes_of(exercise):
                out.writerow([notebook, exercise, name, counts[name], f"{100 * counts[name] / total:.1f}"])


def plot_slips(results: list[Result], path: Path) -> None:
    """slips.png: per exercise, the share of graded submissions with each outcome that occurred (bars, labelled)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = slip_counts(results)
    rows = [(key, [(name, c[name]) for name in outcomes_of(key[1]) if c[name] or name == PASSED])
            for key, c in counts.items()]
    heights = [max(len(bars), 1) * 0.32 + 0.9 for _, bars in rows] or [1.0]
    fig, axes = plt.subplots(len(heights), 1, figsize=(9, sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    colours = {PASSED: "#2e7d32", UNNAMED: "#616161", UNFINISHED: "#bdbdbd"}
    for ax, ((notebook, exercise), bars) in zip(axes[:, 0], rows, strict=False):
        total = sum(counts[(notebook, exercise)].values())
        names, shares = [n for n, _ in bars], [100 * c / total for _, c in bars]
        ax.barh(range(len(bars)), shares, color=[colours.get(n, "#e65100") for n in names])
        for y, (share, (_, c)) in enumerate(zip(shares, bars, strict=True)):
            ax.text(share + 1, y, f"{share:.0f}% ({c})", va="center", fontsize=8)
        ax.set_yticks(range(len(bars)), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 115)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.set_title(f"{_title(exercise)}  [{notebook}, {total} graded]", fontsize=9, loc="left")
        ax.spines[["top", "right"]].set_visible(False)
    if not rows:
        axes[0, 0].text(0.5, 0.5, "no graded submissions", ha="center", va="center")
        axes[0, 0].set_axis_off()
    axes[-1, 0].set_xlabel("% of the notebook's graded submissions (green: passed; orange: a catalogued slip)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: list[Result], out: Path) -> None:
    """grades.csv, feedback/, slips.csv and slips.png into ``out`` (made if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    write_grades(results, out / "grades.csv")
    write_feedback(results, out / "feedback")
    write_slips(results, out / "slips.csv")
    plot_slips(results, out / "slips.png")


# ----------------------------------------------------------------------------- the summary


def summary(results: list[Result], seconds: float, jobs: int, out: Path) -> str:
    """One screen: submissions by status, each notebook's mean score per exercise, the three most common slips."""
    statuses = Counter(r.status for r in results)
    lines = [f"Graded {len(results)} submissions in {seconds:.0f} s, {jobs} at a time: "
             + ", ".join(f"{n} {s}" for s, n in statuses.most_common()) + "."]
    for notebook in sorted({r.notebook for r in results if r.status == "graded"}):
        graded = [r for r in results if r.status == "graded" and r.notebook == notebook]
        means = ", ".join(f"{e} {sum(r.points[e] for r in graded) / len(graded):.2f}" for e in graded[0].points)
        total = sum(sum(r.points.values()) for r in graded) / len(graded)
        lines.append(f"{notebook} ({len(graded)} graded): mean {total:.2f} / "
                     f"{_number(sum(graded[0].possible.values()))}; per exercise {means}")
    slips = [(c[name] / sum(c.values()), c[name], sum(c.values()), notebook, exercise, name)
             for (notebook, exercise), c in slip_counts(results).items()
             for name in c if name not in (PASSED, UNNAMED, UNFINISHED)]
    lines.append("Most common slips:" if slips else "No catalogued slip in this class.")
    for share, n, total, notebook, exercise, name in sorted(slips, key=lambda s: (-s[0], -s[1]))[:3]:
        lines.append(f"  {100 * share:.0f}% ({n} of {total}) of {notebook}'s graded submissions, {exercise}: {name}")
    lines.append(f"Written: {out}/grades.csv, {out}/feedback/ ({len(results)} files), {out}/slips.csv, "
                 f"{out}/slips.png")
    return "\n".join(lines)
