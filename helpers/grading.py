"""How a student's function is graded: the machinery behind :mod:`helpers.exercises`.

:func:`grade` calls the student's function positionally, in the reference's argument order (so the student may
name the parameters as they like), on each of an :class:`Exercise`'s inputs, and compares every output with the
reference. It never raises: an unfinished stub, a crash, a wrong number of parameters, a wrong shape, a wrong value
or an input changed in place each come back as a :class:`Feedback` that says what happened and what to do. A wrong
value is located: where the answer is one number (per output), on every input, right and wrong, with the expected
and the computed value, their difference and the tolerance (the inputs a slip spares point at its term); else on the
most telling wrong input (an ordinary one before a degenerate one such as a batch of one point, finite outputs before
NaN, then the one furthest off, relative to the tolerance), to its worst element. Outputs that are right but returned
in another order are said so. When the student's outputs match a catalogued :class:`Mistake` on every input, the
feedback quotes its hint and carries its name. Warnings raised in the student's code (numpy's "Degrees of freedom
<= 0", say) stay inside the check. Light: numpy only.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["GENERAL_SLIPS", "Case", "Exercise", "Feedback", "Mistake", "grade", "passed_message", "read_outputs"]


@dataclass(frozen=True)
class Case:
    """One input to try: a short description for the feedback, and the arguments by the reference's names.

    ``degenerate`` marks an edge case such as a batch of one point: it catches slips of its own (a squeeze, a
    division by n - 1), but a wrong answer is located on it only when the answer is right on every other input.
    """

    name: str
    kwargs: dict
    degenerate: bool = False


@dataclass(frozen=True)
class Mistake:
    """A plausible wrong answer, written out, and what to tell a student whose outputs match it.

    ``name`` is a short, stable label for the slip that an instructor reads in a class report ("no
    log-determinant", "rate passed as a scale"); ``hint`` is what the student reads, quoted verbatim in the
    feedback; ``answer`` is the wrong answer itself, called like the reference.
    """

    name: str
    hint: str
    answer: Callable


@dataclass(frozen=True)
class Exercise:
    """A function for the student to write, its reference, the inputs to try and the known mistakes.

    ``name`` is the name of the function the student writes: the catalogue's key, the otter question's name and
    the notebook's. ``outputs`` names the outputs when the reference returns several: the feedback names them, and a
    student who returns the course's own result type (``gmm.GMMParams``, ``meanfield.NormalGammaFactors``)
    has them read from its attributes. ``caveat(fn)``, for a right answer, says in a phrase why the cells after
    the check cannot use it (``helpers.vae.loss_problem``: Keras cannot train on a numpy loss), or None: the
    answer still passes, and its passing message says so.
    """

    name: str
    title: str
    signature: str
    reference: Callable
    cases: Callable[[], list[Case]]
    hint: str
    mistakes: list[Mistake] = field(default_factory=list)
    rtol: float = 1e-6
    atol: float = 1e-8
    outputs: tuple[str, ...] = ()
    caveat: Callable[[Callable], str | None] | None = None


@dataclass(frozen=True)
class Feedback:
    """The outcome of :func:`grade`: passed or not, and a message for the student.

    ``not_started`` is True for an untouched stub. ``mistake`` is the name of the catalogued :class:`Mistake`
    whose outputs the student's match on every input (its hint is then in ``message``), else None: what a
    class report counts. ``caveat`` is the exercise's caveat on a right answer (:class:`Exercise`), else None.
    """

    exercise: str
    passed: bool
    message: str
    not_started: bool = False
    mistake: str | None = None
    caveat: str | None = None

    def __str__(self) -> str:
        return self.message

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.message)


class _NotStarted(Exception):
    pass


class _NotArrays(Exception):
    """The function returned something that cannot be read as the exercise's output arrays."""


# ----------------------------------------------------------------------------- calling the function


def _parameters(ex: Exercise) -> list[str]:
    """The reference's parameter names: the order in which every function is called."""
    return list(inspect.signature(ex.reference).parameters)


def _arity_problem(fn: Callable, names: list[str]) -> str | None:
    """One plain sentence when ``fn`` cannot take the arguments ``names`` positionally, else None."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):          # a builtin or an object without a readable signature: just try it
        return None
    try:
        signature.bind(*names)
    except TypeError:
        return (f"your function's parameters are ({', '.join(signature.parameters)}), but the check calls it "
                f"with {len(names)} arguments, in this order: {', '.join(names)}. Give it one parameter for each, "
                f"in that order (the names may differ).")
    return None


def _student_names(fn: Callable, names: list[str]) -> list[str]:
    """The student's names for the reference's parameters ``names`` (the same where they cannot be read)."""
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return params[:len(names)] + names[len(params):]


def _to_array(item) -> np.ndarray:
    if hasattr(item, "numpy") and not isinstance(item, np.ndarray):        # a TensorFlow or Keras tensor
        item = item.numpy()
    try:
        return np.asarray(item, dtype=float)
    except (TypeError, ValueError):
        raise _NotArrays(f"a {type(item).__name__} that numpy cannot read as an array of numbers") from None


def read_outputs(out, outputs: tuple[str, ...] = ()) -> list[np.ndarray]:
    """A function's result as a list of float arrays, one per output of the exercise.

    With one output, a list or tuple (a loop's rows, say) is that one array. With several, a tuple or
    list gives one array per element, and an object with attributes named like ``outputs`` (the
    course's own result types) or a dict with those keys gives those. TensorFlow tensors, 0-d arrays
    and Python numbers are read as arrays.
    """
    if out is None or out is Ellipsis:
        raise _NotStarted
    if len(outputs) > 1 and all(hasattr(out, name) for name in outputs):
        items = [getattr(out, name) for name in outputs]
    elif len(outputs) > 1 and isinstance(out, dict) and all(name in out for name in outputs):
        items = [out[name] for name in outputs]
    elif len(outputs) > 1 and (isinstance(out, tuple | list) or isinstance(out, np.ndarray) and out.ndim > 0):
        items = list(out)
    else:
        items = [out]
    if any(item is None or item is Ellipsis for item in items):
        raise _NotStarted
    return [_to_array(item) for item in items]


def _unchanged(before, after) -> bool:
    """Whether an input is as it was (arrays compared element by element, NaN equal to NaN)."""
    if isinstance(before, np.ndarray):
        return np.shape(after) == before.shape and np.array_equal(before, after, equal_nan=before.dtype.kind == "f")
    try:
        return bool(before == after)
    except Exception:                   # noqa: BLE001 - an input that cannot be compared is taken as unchanged
        return True


@dataclass(frozen=True)
class _Outcome:
    """The student's outputs on one input, and the names of the inputs their function changed in place."""

    arrays: list[np.ndarray]
    changed: list[str]


def _run(fn: Callable, ex: Exercise, case: Case) -> _Outcome:
    """Call ``fn`` positionally on a copy of the case's arguments; note which of them it changed."""
    names = _parameters(ex)
    args = copy.deepcopy([case.kwargs[name] for name in names])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")         # e.g. numpy's "Degrees of freedom <= 0" on a batch of one point
        out = fn(*args)
    changed = [name for name, arg, mine in zip(names, [case.kwargs[n] for n in names], args, strict=True)
               if not _unchanged(arg, mine)]
    return _Outcome(read_outputs(out, ex.outputs), changed)


# ----------------------------------------------------------------------------- comparing outputs


def _excess(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """|got - want| / (atol + rtol |want|) elementwise: above 1 is outside the tolerance.

    0 where the two are equal (equal infinities, NaN where the answer is NaN too), inf where only one is
    NaN or infinite.
    """
    with np.errstate(all="ignore"):
        ratio = np.abs(got - want) / (atol + rtol * np.abs(want))
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    return np.where(same, 0.0, np.where(np.isnan(ratio), np.inf, ratio))


def _distance(got: list[np.ndarray], want: list[np.ndarray], rtol: float, atol: float) -> float:
    """How far off an answer is on one input, in tolerances: at most 1 is right, inf is a wrong count or shape."""
    if len(got) != len(want) or any(g.shape != w.shape for g, w in zip(got, want, strict=True)):
        return np.inf
    return max((float(_excess(g, w, rtol, atol).max()) for g, w in zip(got, want, strict=True) if w.size),
               default=0.0)


def _close(got: list[np.ndarray], want: list[np.ndarray], rtol: float, atol: float) -> bool:
    return _distance(got, want, rtol, atol) <= 1.0


def _two_numbers(want: float, got: float) -> tuple[str, str]:
    """Both numbers with just enough significant digits (4 at least) to print differently."""
    for digits in range(4, 18):
        shown = f"{want:.{digits}g}", f"{got:.{digits}g}"
        if shown[0] != shown[1]:
            break
    return shown


def _output_name(ex: Exercise, i: int, n: int) -> str:
    if n == 1:
        return ""
    return f"output `{ex.outputs[i]}`" if len(ex.outputs) == n else f"output {i + 1}"


def _locate(got: list[np.ndarray], want: list[np.ndarray], ex: Exercise) -> str:
    """Where ``got`` is furthest from ``want``: output, worst element's index, both values, gap and tolerance."""
    if len(got) != len(want):
        names = f" ({', '.join(ex.outputs)})" if len(ex.outputs) == len(want) else ""
        return f"expected {len(want)} outputs{names}, got {len(got)}"
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if g.shape != w.shape:
            what = _output_name(ex, i, len(want))
            same_count = ""
            if g.size == w.size:
                form = "a single number (float(...))" if w.ndim == 0 else f"shape {w.shape} (np.squeeze or .reshape)"
                same_count = f"; the number of values is right, so return them as {form}"
            return f"{what + ': ' if what else ''}expected shape {w.shape}, got shape {g.shape}{same_count}"
    worst = [float(_excess(g, w, ex.rtol, ex.atol).max()) if w.size else 0.0 for g, w in zip(got, want, strict=True)]
    i = int(np.argmax(worst))
    excess = _excess(got[i], want[i], ex.rtol, ex.atol)
    index = np.unravel_index(int(np.argmax(excess)), want[i].shape)
    expected, computed = float(want[i][index]), float(got[i][index])
    shown = _two_numbers(expected, computed)
    where = " ".join(filter(None, [_output_name(ex, i, len(want)),
                                   f"at index ({', '.join(str(int(k)) for k in index)})" if index else ""]))
    note = " (NaN or inf where the answer is finite)" if np.isfinite(expected) and not np.isfinite(computed) else ""
    return (f"{where + ': ' if where else ''}expected {shown[0]}, got {shown[1]}, "
            f"|difference| {abs(computed - expected):.3g} (tolerance {ex.atol + ex.rtol * abs(expected):.2g}){note}")


# ----------------------------------------------------------------------------- the check


def _crash_line(error: Exception, fn: Callable) -> str:
    """The line of the student's code where ``error`` was raised (else the last line outside this module)."""
    frames = traceback.extract_tb(error.__traceback__)
    code = getattr(fn, "__code__", None)
    theirs = [f for f in frames if code is not None and f.filename == code.co_filename]
    outside = [f for f in frames if f.filename != __file__]
    where = (theirs or outside or frames)[-1]
    return f"line {where.lineno}: `{where.line}`"


def _in_place_message(fn: Callable, ex: Exercise, changed: list[str]) -> str:
    """Which inputs the student's function changed, by the exercise's names and the student's, and what to do."""
    mine = dict(zip(_parameters(ex), _student_names(fn, _parameters(ex)), strict=True))
    named = ", ".join(f"`{name}`" + (f" (your `{mine[name]}`)" if mine[name] != name else "") for name in changed)
    first = mine[changed[0]]
    return (f"Your function changed its input{'s' if len(changed) > 1 else ''} {named} in place. "
            f"Compute into a new array instead: write `{first} = {first} / ...` or use a new name, because "
            f"`{first} /= ...`, `{first} += ...` and `{first}[...] = ...` write into the caller's array, which the "
            f"notebook uses again after the call.")


GENERAL_SLIPS = {"outputs in another order": "Your outputs are right, in another order",
                 "input changed in place": "in place. Compute into a new array instead"}
"""Slips that any exercise can have, by name, with a phrase that every feedback on them contains."""


def passed_message(ex: Exercise, cases: list[Case] | None = None, caveat: str | None = None) -> str:
    """What a passing check says: the exercise, every input it was tried on, and the caveat, if any."""
    cases = ex.cases() if cases is None else cases
    tried = "; ".join(f"'{case.name}'" for case in cases)
    if caveat:
        return (f"{ex.title}: your values are right on all {len(cases)} inputs ({tried}), but your function "
                f"{caveat}, so the cells below will use the course's.")
    return f"{ex.title}: correct on all {len(cases)} inputs ({tried}). Well done."


def grade(ex: Exercise, fn: Callable) -> Feedback:
    """Check the student's ``fn`` against exercise ``ex``'s reference. Never raises; returns Feedback."""
    name = ex.name
    cases = ex.cases()
    if not callable(fn):
        return Feedback(name, False, f"{ex.title}: not yet. The check was given a {type(fn).__name__}, not a function: "
                                     f"did a later cell reuse your function's name for a value? Run the cell that "
                                     f"defines `{ex.signature.split('(')[0]}` again, then this check.")
    problem = _arity_problem(fn, _parameters(ex))
    if problem:
        return Feedback(name, False, f"{ex.title}: not yet. The signature is `{ex.signature}`: {problem}")
    outcomes = []
    for case in cases:
        try:
            outcomes.append(_run(fn, ex, case))
        except (_NotStarted, NotImplementedError):
            return Feedback(name, False, f"{ex.title}: not implemented yet (your function gave back `...` or None). "
                                         f"Replace the `...` in `{ex.signature}` with your code, run that cell, "
                                         f"then run this check again; if you have, it is missing its `return`.",
                                         not_started=True)
        except _NotArrays as error:
            return Feedback(name, False, f"{ex.title}: not yet. On the input '{case.name}' your function returned "
                                         f"{error}; the signature is `{ex.signature}`.")
        except Exception as error:          # a crash in the student's code is feedback, not a crash of the notebook
            return Feedback(name, False, f"{ex.title}: your function raised {type(error).__name__}: {error} "
                                         f"({_crash_line(error, fn)}) on the input '{case.name}'. Hint: {ex.hint}")
    got = [outcome.arrays for outcome in outcomes]
    want = [_run(ex.reference, ex, case).arrays for case in cases]
    distances = [_distance(g, w, ex.rtol, ex.atol) for g, w in zip(got, want, strict=True)]
    changed = next((outcome.changed for outcome in outcomes if outcome.changed), [])
    if max(distances) <= 1.0 and not changed:
        caveat = ex.caveat(fn) if ex.caveat else None
        return Feedback(name, True, passed_message(ex, cases, caveat), caveat=caveat)
    parts = [f"{ex.title}: not yet."]
    if changed:
        parts.append(_in_place_message(fn, ex, changed))
        if max(distances) <= 1.0:
            parts.append("Your outputs are right.")
            return Feedback(name, False, " ".join(parts), mistake="input changed in place")
    order = _order_returned(got, want, ex)
    if order is not None:
        parts.append(f"{GENERAL_SLIPS['outputs in another order']}: you returned ({', '.join(order)}); return "
                     f"({', '.join(ex.outputs)}), in that order.")
        return Feedback(name, False, " ".join(parts), mistake="outputs in another order")
    mistake = _matching_mistake(ex, cases, got)
    if mistake is not None:
        parts.append(mistake.hint)
    parts.append(_where_wrong(cases, got, want, distances, ex))
    i = _most_telling(cases, got, distances)
    if mistake is None and _nearly(got[i], want[i]):
        parts.append("Your numbers agree with the course's to about five digits or more, so the formula is probably "
                     "right: something is computed in lower precision (float32?) or approximately (a small constant "
                     "added inside a log, say). Compute in float64, exactly.")
    elif mistake is None:
        parts.append(f"Hint: {ex.hint}")
    return Feedback(name, False, " ".join(parts), mistake=None if mistake is None else mistake.name)


def _most_telling(cases: list[Case], got: list[list[np.ndarray]], distances: list[float]) -> int:
    """The wrong input to show: an ordinary one before a degenerate one, finite outputs before NaN or inf, then
    the one furthest off."""
    wrong = [k for k, d in enumerate(distances) if d > 1.0]
    return max(wrong, key=lambda k: (not cases[k].degenerate, all(np.isfinite(g).all() for g in got[k]),
                                     distances[k]))


def _quoted(names: list[str]) -> str:
    """'a', 'b' and 'c'."""
    quoted = [f"'{name}'" for name in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _where_wrong(cases: list[Case], got: list[list[np.ndarray]], want: list[list[np.ndarray]],
                 distances: list[float], ex: Exercise) -> str:
    """Where the answer is wrong: for an answer of one number per output, every input, right and wrong (which
    inputs a slip spares points at its term); else the most telling wrong input, located to its worst element."""
    wrong = [k for k, d in enumerate(distances) if d > 1.0]
    one_number = all(len(g) == len(w) and all(gi.shape == wi.shape == () for gi, wi in zip(g, w, strict=True))
                     for g, w in zip(got, want, strict=True))
    if one_number:
        right = [k for k, d in enumerate(distances) if d <= 1.0]
        located = "; on ".join(f"'{cases[k].name}': {_each_wrong_output(got[k], want[k], ex)}" for k in wrong)
        spared = f" Right on {_quoted([cases[k].name for k in right])}." if right else " Right on none of them."
        return f"Wrong on {located}.{spared}"
    i = _most_telling(cases, got, distances)
    which = ("the only input your answer gets wrong" if len(wrong) == 1
             else f"one of the {len(wrong)} inputs your answer gets wrong" if i != int(np.argmax(distances))
             else f"furthest off of the {len(wrong)} inputs your answer gets wrong")
    return f"On the input '{cases[i].name}' ({which}): {_locate(got[i], want[i], ex)}."


def _each_wrong_output(got: list[np.ndarray], want: list[np.ndarray], ex: Exercise) -> str:
    """Every output outside the tolerance on one input: its name (if several), both values, gap and tolerance."""
    n = len(want)
    off = [i for i in range(n) if _distance([got[i]], [want[i]], ex.rtol, ex.atol) > 1.0]
    return " and ".join(" ".join(filter(None, [_output_name(ex, i, n) + ":" if n > 1 else "",
                                                _locate([got[i]], [want[i]], ex)])) for i in off)


def _order_returned(got: list[list[np.ndarray]], want: list[list[np.ndarray]], ex: Exercise) -> list[str] | None:
    """The outputs' names in the order the student returned them, when that order is all that is wrong, else None."""
    n = len(ex.outputs)
    if n < 2 or any(len(g) != n for g in got):
        return None
    for order in itertools.permutations(range(n)):          # order[j]: the position at which output j came back
        if order != tuple(range(n)) and all(_close([g[p] for p in order], w, ex.rtol, ex.atol)
                                            for g, w in zip(got, want, strict=True)):
            returned = [""] * n
            for j, p in enumerate(order):
                returned[p] = ex.outputs[j]
            return returned
    return None


def _nearly(got: list[np.ndarray], want: list[np.ndarray]) -> bool:
    """Whether every output has the right shape and is within 1e-5 relative (plus 1e-12) of the reference."""
    if len(got) != len(want) or any(g.shape != w.shape for g, w in zip(got, want, strict=True)):
        return False
    return all(_distance([g], [w], rtol=1e-5, atol=1e-12) <= 1.0 for g, w in zip(got, want, strict=True))


def _matching_mistake(ex: Exercise, cases: list[Case], got: list[list[np.ndarray]]) -> Mistake | None:
    """The catalogued mistake whose outputs the student's match on every input, if any."""
    for mistake in ex.mistakes:
        try:
            wrong = [_run(mistake.answer, ex, case).arrays for case in cases]
        except Exception:           # noqa: BLE001 - a catalogued mistake that cannot run here matches nothing
            continue
        if all(_close(g, w, ex.rtol, ex.atol) for g, w in zip(got, wrong, strict=True)):
            return mistake
    return None
