"""Graded exercises: the catalogue of the course's exercises, and the checks the notebooks call.

The catalogue :data:`EXERCISES` maps each exercise's name, which is the name of the function the student
writes (``responsibilities``, ``score_function_gradient``, ...), to its :class:`Exercise`: the equation
it implements, the helper it is checked against (the course's reference implementation), the inputs to
try and the *known mistakes*, each written out as a function with a short name an instructor reads in a
class report ("no log-determinant", "rate passed as a scale") and a hint for the student. Each notebook's
exercises live in a module of their own, named like the notebook (:mod:`helpers.exercises.em_gmm`, ...).

:func:`check` calls the student's function positionally, in the reference's argument order (so the student
may name the parameters as they like), on several inputs — random ones, a batch of one, extreme values,
another dtype — and compares every output with the reference. It never raises: an unfinished stub, a crash,
a wrong number of parameters, a wrong shape, a wrong value or an input changed in place each come back as a
:class:`Feedback` that says what happened and what to do. A wrong value is located (how:
:mod:`helpers.grading`); a passing check names every input it tried. When the student's outputs match a known mistake on
every input, the feedback quotes that mistake's hint verbatim and ``Feedback.mistake`` holds its name, so a
class report can count the slips (outputs returned in another order and an input changed in place are named
too); :func:`mistake_named_in` finds the name again from the feedback's text (e.g. otter-grader's
output). :func:`assert_correct` is the form the notebooks' otter-grader tests call. How
a function is graded lives in :mod:`helpers.grading`.

Light: numpy and scipy only, except the exercises of notebook 03 and notebook 04's ``iw_bound``, whose
references (helpers.svi, helpers.vae_evaluation) load TensorFlow when their check first runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from helpers.exercises import beyond_the_elbo, em_gmm, latent_space, mean_field, svi, vae_mnist
from helpers.grading import GENERAL_SLIPS, Exercise, Feedback, grade, read_outputs

__all__ = ["EXERCISES", "Exercise", "Feedback", "assert_correct", "check", "mistake_named_in", "student_or_course"]

EXERCISES: dict[str, Exercise] = {ex.name: ex for notebook in (em_gmm, mean_field, svi, vae_mnist, latent_space,
                                                                beyond_the_elbo) for ex in notebook.EXERCISES}


def check(name: str, fn: Callable) -> Feedback:
    """Check the student's ``fn`` against exercise ``name``'s reference. Never raises; returns Feedback."""
    return grade(EXERCISES[name], fn)


def student_or_course(name: str, fn: Callable, course_fn: Callable | None = None,
                      problem: Callable[[Callable], str | None] | None = None) -> Callable:
    """The student's ``fn`` when it passes exercise ``name``'s check, else the course's, with one line saying which.

    ``course_fn`` defaults to the exercise's reference, which takes the same arguments as the student's function,
    so the cells after it run either way. ``problem(fn)``, when given, is a further test of how the cells below will
    call the function (e.g. :func:`helpers.vae.loss_problem`: can Keras train on it?): a phrase saying what is wrong,
    or None; it defaults to the exercise's ``caveat``. Where the exercise has several outputs, the student's
    function is wrapped to return them as a tuple of arrays, however it returned them (a dict, the course's own
    type, a list), just as the check read them.
    """
    feedback = check(name, fn)
    what = f"`{getattr(fn, '__name__', name)}`"
    course = EXERCISES[name].reference if course_fn is None else course_fn
    if not feedback.passed:
        state = "is not finished yet" if feedback.not_started else "does not pass its check yet"
        print(f"Your {what} {state}: the cells below use the course's instead.")
        return course
    why_not = problem(fn) if problem is not None else feedback.caveat     # the check already asked the caveat
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


def mistake_named_in(name: str, text: str) -> str | None:
    """The name of the slip that a feedback on exercise ``name`` names in ``text``, or None.

    ``text`` is a feedback message, or any output that contains one (otter-grader's, say). The feedback on a
    catalogued mistake quotes its hint verbatim, and no hint of an exercise contains another, so at most one
    matches; a slip any exercise can have (outputs in another order, an input changed in place) is recognised by
    its phrase in :data:`helpers.grading.GENERAL_SLIPS`.
    """
    catalogued = (mistake.name for mistake in EXERCISES[name].mistakes if mistake.hint in text)
    general = (slip for slip, phrase in GENERAL_SLIPS.items() if phrase in text)
    return next(catalogued, None) or next(general, None)
