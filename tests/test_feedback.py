"""What a learner sees when an exercise is wrong.

Every plausible wrong answer of ``tests/hidden_variants/`` (the WRONG tables) is put in place
of the model answer, in an IPython shell that has run the chapter's source notebook, and the
exercise's visible tests (the test cells between its solution and the next one) are run
against it, as the learner would run them. No sandbox and no grader here: this is about the
messages, not the points (``test_hidden_tests.py`` and ``test_grading.py`` decide those).

In the chapters whose tests use ``course.checks``, a mistake that a visible test catches must
fail with a message naming what was checked, what was expected, what came back and a likely
cause. The mistakes that only the hidden tests catch are printed per chapter (``pytest -s``)
and must be named in those tests' feedback: a check whose claim the grader shows.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from course.checks import CheckFailed
from course.notebooks import HIDDEN_TEST_DELIMITERS, chapters, is_test_cell, nbgrader_meta, read, source_notebook
from course.replay import Replay, cells_the_tests_need

VARIANTS = Path(__file__).parent / "hidden_variants"


def wrong_answers(chapter: str) -> dict:
    spec = importlib.util.spec_from_file_location(f"variants_{chapter}", VARIANTS / f"{chapter}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG


class Walkthrough:
    """The source notebook run in a local shell; an exercise swapped for a wrong answer."""

    def __init__(self, chapter: str):
        self.source = read(source_notebook(chapter))
        self.replay = Replay(self.source, None, test_timeout=60)
        needed = cells_the_tests_need(self.source)
        for index, cell in enumerate(self.source.cells):
            if index in needed and HIDDEN_TEST_DELIMITERS[0] not in cell.source:
                error = self.replay.run(cell.source)
                assert error is None, f"{chapter} cell {index} fails with the model answers: {error!r}"

    def visible_tests(self, exercise: str) -> tuple[int, list[str]]:
        cells = self.source.cells
        index = next(i for i, c in enumerate(cells) if nbgrader_meta(c).get("grade_id") == exercise)
        tests = []
        for cell in cells[index + 1:]:
            if nbgrader_meta(cell).get("solution"):
                break
            if is_test_cell(cell) and HIDDEN_TEST_DELIMITERS[0] not in cell.source:
                tests.append(cell.source)
        return index, tests

    def first_failure(self, exercise: str, old: str, new: str) -> BaseException | None:
        """What the learner sees first when `exercise` has `old` replaced by `new`."""
        index, tests = self.visible_tests(exercise)
        solution = self.source.cells[index].source
        assert old in solution, f"{exercise}: {old!r} is not in its solution"
        try:
            assert self.replay.run(solution.replace(old, new)) is None, f"{exercise}: the variant does not run"
            for test in tests:
                if (error := self.replay.run(test)) is not None:
                    return error
            return None
        finally:
            assert self.replay.run(solution) is None
            for test in tests:
                self.replay.run(test)


@pytest.fixture(scope="module", params=chapters())
def walkthrough(request):
    return request.param, Walkthrough(request.param)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # wrong answers overflow, divide by zero...
def test_every_caught_mistake_is_explained(walkthrough):
    chapter, session = walkthrough
    vague, hidden_only = [], []
    for exercise, rows in wrong_answers(chapter).items():
        for what, old, new in rows:
            error = session.first_failure(exercise, old, new)
            if error is None:
                hidden_only.append(f"{exercise}: {what}")
            elif not (isinstance(error, CheckFailed) and error.cause and "expected:" in str(error)
                      and "got:" in str(error)):
                vague.append(f"{exercise}: {what}: {type(error).__name__}: {str(error)[:300]}")
    print(f"\n{chapter}: {len(hidden_only)} mistakes only hidden tests catch: {hidden_only}")
    if any("from course.checks import Checks" in cell.source for cell in session.source.cells):
        assert not vague, "visible tests that catch a mistake without saying expected, got and cause:\n" + \
            "\n".join(vague)
