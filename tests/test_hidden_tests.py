"""The hidden tests fail plausible wrong answers and pass correct answers in other styles.

Each source notebook runs once in an in-process IPython shell. Then, for each variant, the
exercise's solution cell is re-run with one edit (``old`` → ``new`` in its code) and the
exercise's hidden-test cell is run against it; the original cell is restored afterwards.
Functions that call the edited one see the edit too, as they would in a submission.

Each chapter has ``hidden_variants/NN_slug.py`` with two tables: WRONG, plausible wrong
answers the hidden tests must fail, and RIGHT, correct answers in other styles they must
pass. Both map an exercise (its solution cell's grade id) to [(what the learner did, old,
new)]: the solution with ``old`` replaced by ``new``.
"""
import importlib.util
from contextlib import chdir
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from course.notebooks import HIDDEN_TEST_DELIMITERS, chapters, nbgrader_meta, read, source_notebook

VARIANTS = Path(__file__).parent / "hidden_variants"


def load_variants(chapter: str):
    """The WRONG and RIGHT tables of tests/hidden_variants/<chapter>.py."""
    spec = importlib.util.spec_from_file_location(f"variants_{chapter}", VARIANTS / f"{chapter}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG, module.RIGHT


class Shell(InteractiveShell):
    def enable_gui(self, gui=None):
        """`%matplotlib inline` asks for no GUI event loop; the plain shell lacks this hook."""


class NotebookSession:
    """A source notebook run once in-process, whose exercises can be swapped and re-tested."""

    def __init__(self, chapter: str):
        self.path = source_notebook(chapter)
        self.nb = read(self.path)
        self.shell = Shell()
        for cell in self.nb.cells:
            if cell.cell_type == "code" and "skip-execution" not in cell.metadata.get("tags", []):
                assert self.run(cell.source), f"{chapter}: a cell fails as written:\n{cell.source[:300]}"

    def run(self, code: str) -> bool:
        with chdir(self.path.parent):
            return self.shell.run_cell(code, silent=True).success

    def cell(self, grade_id: str) -> int:
        return next(i for i, c in enumerate(self.nb.cells) if nbgrader_meta(c).get("grade_id") == grade_id)

    def hidden_tests_pass(self, exercise: str, old: str, new: str) -> bool:
        index = self.cell(exercise)
        solution = self.nb.cells[index].source
        assert old in solution, f"{exercise}: {old!r} is not in its solution"
        hidden = next(c.source for c in self.nb.cells[index + 1:]
                      if HIDDEN_TEST_DELIMITERS[0] in c.source)
        try:
            # A variant that does not even define its function would "fail" for the wrong reason.
            assert self.run(solution.replace(old, new)), f"{exercise}: the variant does not run"
            return self.run(hidden)
        finally:
            assert self.run(solution)


@pytest.fixture(scope="module", params=chapters())
def chapter(request):
    return request.param


@pytest.fixture(scope="module")
def session(chapter):
    return NotebookSession(chapter)


def test_every_chapter_has_variants(chapter):
    wrong, right = load_variants(chapter)
    solutions = {nbgrader_meta(c)["grade_id"] for c in read(source_notebook(chapter)).cells
                 if nbgrader_meta(c).get("solution") and c.cell_type == "code"}
    assert solutions and set(wrong) == solutions, "every exercise needs its wrong answers"
    assert right, "and some correct answers in other styles"


def test_hidden_tests_pass_the_reference(chapter, session):
    for exercise in load_variants(chapter)[0]:
        assert session.hidden_tests_pass(exercise, "", ""), exercise


def test_hidden_tests_fail_every_plausible_wrong_answer(chapter, session):
    passed = [f"{exercise}: {what}" for exercise, rows in load_variants(chapter)[0].items()
              for what, old, new in rows if session.hidden_tests_pass(exercise, old, new)]
    assert not passed, f"hidden tests accept wrong answers: {passed}"


def test_hidden_tests_accept_correct_answers_in_other_styles(chapter, session):
    failed = [f"{exercise}: {what}" for exercise, rows in load_variants(chapter)[1].items()
              for what, old, new in rows if not session.hidden_tests_pass(exercise, old, new)]
    assert not failed, f"hidden tests reject correct answers: {failed}"
