"""The hidden tests fail plausible wrong answers and pass correct answers in other styles,
through the grader's own path: the learner's code in the sandbox, the checks in the grader.

Each chapter's model answers (the ``perfect`` sample) run once in a sandboxed learner
process, and the grader replays the source notebook against them (``course.job``). Then, for
each variant, the exercise's solution cell is run again in the learner's process with one
edit (``old`` -> ``new`` in its code) and the grader runs the exercise's hidden-test cell
against it; the original cell is restored afterwards. Functions that call the edited one see
the edit too, as they would in a submission.

Each chapter has ``hidden_variants/NN_slug.py`` with two tables: WRONG, plausible wrong
answers the hidden tests must fail, and RIGHT, correct answers in other styles they must
pass. Both map an exercise (its solution cell's grade id) to [(what the learner did, old,
new)]: the solution with ``old`` replaced by ``new``.
"""
import importlib.util
import sys
import tempfile
from pathlib import Path

import pytest

from course.job import LearnerRun, Settings, chapter_modules, job_package
from course.replay import Replay, exercise_names
from course.restore import restore
from course.notebooks import (AUTOGRADER, HIDDEN_TEST_DELIMITERS, chapters, nbgrader_meta, read,
                              release_notebook, source_notebook)

sys.path.insert(0, str(AUTOGRADER))
import make_samples  # noqa: E402

VARIANTS = Path(__file__).parent / "hidden_variants"


def load_variants(chapter: str):
    """The WRONG and RIGHT tables of tests/hidden_variants/<chapter>.py."""
    spec = importlib.util.spec_from_file_location(f"variants_{chapter}", VARIANTS / f"{chapter}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG, module.RIGHT


class RemoteSession:
    """A chapter's model answers in a sandboxed process, and the grader's replay against them."""

    def __init__(self, chapter: str, scratch: Path):
        self.source = read(source_notebook(chapter))
        nb, _ = restore(make_samples.perfect(chapter), read(release_notebook(chapter)))
        settings, notes = Settings(cell_timeout=60), []
        scratch.mkdir()
        self.replay = Replay(self.source, None, settings.test_timeout)
        self.run = LearnerRun(nb, scratch, job_package(chapter, scratch), exercise_names(self.source),
                              settings, notes, self.replay.shell.user_ns, chapter_modules(chapter))
        self.replay.learner_factory = self.run.get
        failed = {grade_id: repr(verdict.error) for grade_id, verdict in self.replay.verdicts().items()
                  if not verdict.passed}
        assert not failed and not notes, f"{chapter}: the model answers fail {failed} {notes}"

    def cell(self, grade_id: str) -> int:
        return next(i for i, c in enumerate(self.source.cells) if nbgrader_meta(c).get("grade_id") == grade_id)

    def hidden_tests_pass(self, exercise: str, old: str, new: str) -> bool:
        index = self.cell(exercise)
        solution = self.source.cells[index].source
        assert old in solution, f"{exercise}: {old!r} is not in its solution"
        hidden = next(c.source for c in self.source.cells[index + 1:] if HIDDEN_TEST_DELIMITERS[0] in c.source)
        learner = self.run.get()
        try:
            # A variant that does not even define its function would "fail" for the wrong reason.
            assert learner.run_cell(solution.replace(old, new)), f"{exercise}: the variant does not run"
            self.replay.stand_ins_of = None  # an exercise that is a value is fetched again
            return self.replay.test(hidden).passed
        finally:
            assert self.run.get().run_cell(solution)
            self.replay.stand_ins_of = None

    def close(self):
        self.run.stop()


@pytest.fixture(scope="module", params=chapters())
def chapter(request):
    return request.param


@pytest.fixture(scope="module")
def session(chapter):
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch).chmod(0o755)
        session = RemoteSession(chapter, Path(scratch) / "job")
        yield session
        session.close()


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
