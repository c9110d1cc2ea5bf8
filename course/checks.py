"""The checks behind every test cell of the course: a failure says what was checked, on which
input, what was expected, what came back and, where a typical mistake explains it, the cause.

One ``Checks`` object per test cell, named after the exercise it tests::

    check = Checks("quantize_int8")
    check.equal(quantize_int8([0.5, 1.5, 2.5], 1.0), np.array([0, 2, 2], np.int8),
                "ties round half to even", call="quantize_int8([0.5, 1.5, 2.5], scale=1.0)",
                mistakes={"rounding half away from zero": [1, 2, 3]})
    check.passed()

``mistakes`` maps a likely cause to the value that mistake returns (computed by the test,
never typed in by hand where it can be computed): when the learner's value equals one of
them, the failure names that cause. A failing check raises ``CheckFailed``, an
``AssertionError`` whose message holds all of the above.

Hidden tests use the same checks. Their feedback shows only the exercise, the claim (written
as a property: "values above the range saturate at the top code") and the likely cause, never
the test's code, inputs or expected values (``course.job``).

The exercises whose checks failed are remembered: when a later test fails while an earlier
exercise has not passed its own tests, the message says to fix that one first, and so does
the error of any later cell (a demonstration, a plot) in a Jupyter kernel.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["CheckFailed", "Checks", "reset"]

NOT_GIVEN = object()  # `got` of check.that when the test did not say what came (None may have)

# name -> False once a check of its test cell failed, True once the cell called passed().
_status: dict[str, bool] = {}


class CheckFailed(AssertionError):
    """A check of a test cell failed: `exercise`, the `claim` it checked, the likely `cause`."""

    def __init__(self, exercise: str, claim: str, details: list[str], cause: str | None):
        self.exercise, self.claim, self.cause = exercise, claim, cause
        lines = [f"{exercise}: {claim}", *(f"  {line}" for line in details)]
        if cause:
            lines.append(f"  likely cause: {cause}")
        lines += [f"  {note}" for note in unfinished_before(exercise)]
        super().__init__("\n".join(lines))


def reset() -> None:
    """Forget every exercise's result (a new notebook run, e.g. the grader's next job)."""
    _status.clear()


def unfinished_before(exercise: str | None) -> list[str]:
    return [f"note: `{name}` has not passed its own tests above: fix it first, this may come from it"
            for name, passed in _status.items() if name != exercise and not passed]


def describe(value) -> str:
    """A short, exact picture of a value: its repr, and for arrays their dtype and shape."""
    if isinstance(value, np.ndarray):
        with np.printoptions(threshold=24, edgeitems=4, linewidth=90, precision=10):
            text = np.array2string(value, separator=", ")
        return f"{text} ({value.dtype}, shape {value.shape})"
    text = repr(value)
    if len(text) > 300:
        text = text[:300] + " ..."
    if isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, bool):
        return f"{text} ({type(value).__name__})"
    return text


def difference(got, expected) -> str | None:
    """How two arrays of the same shape differ: how many values, and by how much at most."""
    try:
        got_array, expected_array = np.asarray(got), np.asarray(expected)
        if got_array.shape != expected_array.shape or got_array.dtype.kind not in "biuf" \
                or expected_array.dtype.kind not in "biuf" or got_array.size < 2:
            return None
        delta = np.abs(got_array.astype(np.float64) - expected_array.astype(np.float64))
    except (TypeError, ValueError):
        return None
    differ = int(np.count_nonzero(~(delta == 0)))
    largest = float(np.nanmax(delta)) if differ else 0.0
    return f"{differ} of {got_array.size} values differ, the largest by {largest:.6g}"


def type_problem(got, expected) -> str | None:
    """Why `got` is not even the right kind of thing: not an array, wrong dtype, shape, type."""
    if isinstance(expected, np.ndarray):
        if not isinstance(got, np.ndarray):
            return f"expected a NumPy array, got {type(got).__name__}"
        if got.shape != expected.shape:
            return f"expected shape {expected.shape}, got shape {got.shape}"
        if got.dtype != expected.dtype:
            return f"expected dtype {expected.dtype}, got {got.dtype} (convert with .astype(np.{expected.dtype}))"
        return None
    if isinstance(expected, bool) or expected is None:
        return None if got is expected or type(got) is type(expected) else \
            f"expected a {type(expected).__name__}, got {type(got).__name__}"
    for kind in (int, float):
        if type(expected) is kind and (isinstance(got, bool) or not isinstance(got, kind)):
            return f"expected a Python {kind.__name__}, got {type(got).__name__}" + (
                f" (wrap it in {kind.__name__}(...))" if isinstance(got, (numbers.Number, np.generic)) else "")
    return None


def same(got, expected, rtol: float, atol: float) -> bool:
    """Equal values (within rtol/atol if either is non-zero), whatever the container."""
    try:
        got_array, expected_array = np.asarray(got), np.asarray(expected)
        if got_array.shape != expected_array.shape:
            return False
        if rtol == 0 and atol == 0:
            return bool(np.array_equal(got_array, expected_array))
        return bool(np.allclose(got_array.astype(np.float64), expected_array.astype(np.float64),
                                rtol=rtol, atol=atol, equal_nan=False))
    except (TypeError, ValueError):
        return got == expected


class Checks:
    """The checks of one test cell, for the exercise `exercise` (a function or class name)."""

    def __init__(self, exercise: str):
        if not isinstance(exercise, str) or not exercise:
            raise TypeError(f"exercise must be a non-empty str, got {exercise!r}")
        self.exercise = exercise
        _status.pop(exercise, None)  # a test cell run again starts afresh

    def fail(self, claim: str, details: list[str], cause: str | None = None):
        __tracebackhide__ = True  # IPython and pytest show the test line, not this one
        error = CheckFailed(self.exercise, claim, details, cause)
        _status[self.exercise] = False
        raise error

    def compare(self, got, expected, claim, call, mistakes, rtol, atol, cause=None):
        __tracebackhide__ = True  # IPython and pytest show the test line, not this one
        details = [f"call:     {call}"] if call else []
        problem = type_problem(got, expected)
        if problem is None and same(got, expected, rtol, atol):
            return
        details.append(f"expected: {describe(expected)}")
        details.append(f"got:      {describe(got)}")
        if problem is None and (diff := difference(got, expected)) is not None:
            details.append(diff + (f" (tolerance: rtol {rtol:g}, atol {atol:g})" if rtol or atol else ""))
        matched = next((cause for cause, wrong in (mistakes or {}).items() if same(got, wrong, rtol, atol)), None)
        self.fail(claim, details, matched or cause or problem)

    def equal(self, got, expected, claim: str, *, call: str | None = None, mistakes: dict | None = None,
              cause: str | None = None):
        """Check that `got` equals `expected` exactly: type (Python int/float, NumPy array with
        its dtype and shape) and every value. The likely cause is the first of `mistakes` whose
        value `got` equals, else `cause` (computed by the test from what came back), else what is
        wrong with its type."""
        __tracebackhide__ = True  # IPython and pytest show the test line, not this one
        self.compare(got, expected, claim, call, mistakes, 0.0, 0.0, cause)

    def close(self, got, expected, claim: str, *, call: str | None = None, rtol: float = 1e-7,
              atol: float = 0.0, mistakes: dict | None = None, cause: str | None = None):
        """Check that `got` equals `expected` within ``|got - expected| <= atol + rtol * |expected|``
        (type, dtype and shape exactly); the likely cause as for ``equal``."""
        __tracebackhide__ = True  # IPython and pytest show the test line, not this one
        self.compare(got, expected, claim, call, mistakes, rtol, atol, cause)

    def call(self, function, *args, errors: dict | None = None, claim: str | None = None, **kwargs):
        """``function(*args, **kwargs)``; if it raises one of the exception types in `errors`
        (type -> likely cause), the check fails with that cause instead of a bare traceback.
        The claim (shown in hidden-test feedback) names the function, never its arguments."""
        __tracebackhide__ = True  # IPython and pytest show the test line, not this one
        try:
            return function(*args, **kwargs)
        except tuple(errors or ()) as error:
            cause = next(text for kind, text in errors.items() if isinstance(error, kind))
            name = getattr(function, "__name__", "the function")
            self.fail(claim or f"{name} returns a result for valid input",
                      [f"call:     {describe_call(function, args, kwargs)}", "expected: a result",
                       f"got:      {type(error).__name__}: {str(error)[:200]}"], cause)

    def that(self, condition, claim: str, *, call: str | None = None, got=NOT_GIVEN, expected: str | None = None,
             cause: str | None = None):
        """Check a property (`condition` true); say what was expected (in words) and what came."""
        __tracebackhide__ = True  # IPython and pytest show the test line, not this one
        if condition:
            return
        details = [f"call:     {call}"] if call else []
        if expected is not None:
            details.append(f"expected: {expected}")
        if got is not NOT_GIVEN:
            details.append(f"got:      {describe(got)}")
        self.fail(claim, details, cause)

    def raises(self, exception: type[BaseException], function, *args, claim: str | None = None,
               cause: str | None = None, **kwargs):
        """Check that ``function(*args, **kwargs)`` raises `exception` (a subclass counts); when it
        does not, `cause` (or a generic one) says why that is likely."""
        __tracebackhide__ = True  # IPython and pytest show the test line, not this one
        call = describe_call(function, args, kwargs)
        claim = claim or f"bad input raises {exception.__name__}"
        try:
            function(*args, **kwargs)
        except exception:
            return
        except Exception as error:
            self.fail(claim, [f"call:     {call}", f"expected: {exception.__name__}",
                              f"got:      {type(error).__name__}: {str(error)[:200]}"],
                      cause or "validate the argument at the top of the function and raise the right"
                      " exception (TypeError for the wrong kind of thing, ValueError for a bad value)")
        self.fail(claim, [f"call:     {call}", f"expected: {exception.__name__}", "got:      no exception"],
                  cause or "the argument is not validated: check it at the top of the function")

    def passed(self):
        """Print the pass line and remember that this exercise passed."""
        _status[self.exercise] = True
        print(f"🎉 {self.exercise} passes its visible tests")


def describe_call(function, args, kwargs) -> str:
    arguments = [*map(describe_argument, args), *(f"{k}={describe_argument(v)}" for k, v in kwargs.items())]
    return f"{getattr(function, '__name__', 'function')}({', '.join(arguments)})"


def describe_argument(value) -> str:
    text = repr(value)
    if isinstance(value, np.ndarray):
        text = f"array(shape {value.shape}, {value.dtype})" if value.size > 8 else \
            f"np.array({value.tolist()!r}, dtype=np.{value.dtype})"
    return text if len(text) <= 60 else text[:57] + "..."


def _note_unfinished(shell, etype, value, tb, tb_offset=None):
    """IPython's handler for errors in any cell: point at an earlier exercise that is not done."""
    if not isinstance(value, CheckFailed):
        for note in unfinished_before(None):
            value.add_note(note)
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def _install():
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    # Only in a learner's kernel: the grader's own shell records errors its own way.
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        shell.set_custom_exc((Exception,), _note_unfinished)


_install()
