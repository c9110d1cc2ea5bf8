"""The instructor's grading path, end to end, on the committed samples and the attacks.

Copies ``autograder/samples`` (every chapter: perfect, blank, mistakes, cheater, looper) and
``autograder/attacks`` (chapter 02: submissions that try to fool or abuse the grader) into a
scratch course folder, adds the intake cases (a symlink, a stray file, a non-notebook, an
oversized notebook) and a victim folder outside any job, runs ``python -m course grade``'s
code path once, and checks the scores in nbgrader's gradebook, the CSV, the report and the
feedback.
"""
import csv
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course import sandbox
from course.check import region_lines
from course.grade import grade
from course.notebooks import (AUTOGRADER, HIDDEN_TEST_DELIMITERS, ROOT, chapters, nbgrader_meta, read,
                              release_notebook, source_notebook)

sys.path.insert(0, str(AUTOGRADER))
import make_samples  # noqa: E402

SAMPLES, ATTACKS = AUTOGRADER / "samples", AUTOGRADER / "attacks"
ATTACKED = make_samples.ATTACK_CHAPTER
INTAKE = ("symlink", "stray-file", "not-a-notebook", "oversized")


def package_digest() -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted((ROOT / "tinyquant").rglob("*.py")))).hexdigest()


def add_intake_cases(submitted: Path) -> None:
    perfect = submitted / "perfect" / ATTACKED / f"{ATTACKED}.ipynb"
    for name in INTAKE:
        (submitted / f"intake-{name}" / ATTACKED).mkdir(parents=True)
    target = submitted / "intake-symlink" / ATTACKED / f"{ATTACKED}.ipynb"
    target.symlink_to(perfect)  # another learner's notebook
    shutil.copy(perfect, submitted / "intake-stray-file" / ATTACKED)
    (submitted / "intake-stray-file" / ATTACKED / "hypothesis.py").write_text("given = None\n")
    (submitted / "intake-not-a-notebook" / ATTACKED / f"{ATTACKED}.ipynb").write_bytes(b"\x00\xffnot json")
    nb = nbformat.read(perfect, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("x" * 6_000_000))
    nbformat.write(nb, submitted / "intake-oversized" / ATTACKED / f"{ATTACKED}.ipynb")


@pytest.fixture(scope="module")
def victim():
    """Another learner's folder outside every job: the vandal must not reach it."""
    folder = Path(f"/tmp/tinyquant-victim-{os.getpid()}")
    (folder / "submitted").mkdir(parents=True, exist_ok=True)
    (folder / "submitted" / "other.ipynb").write_text("{}")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, victim):
    isolated, why = sandbox.status()
    if not isolated:
        pytest.fail(f"grading cannot be isolated here ({why}); `make test` installs what it needs")
    before = package_digest()
    workdir = tmp_path_factory.mktemp("autograder")
    shutil.copytree(SAMPLES, workdir / "submitted")
    for attack in ATTACKS.iterdir():
        shutil.copytree(attack, workdir / "submitted" / f"attack-{attack.name}")
    add_intake_cases(workdir / "submitted")
    results = grade(workdir, timeout=15, workers=2)
    return workdir, results, before


def scores(results, student):
    return {chapter: score["code_score"] for (s, chapter), score in results.items() if s == student}


def test_samples_are_up_to_date():
    for path, nb in make_samples.samples().items():
        assert path.exists(), f"{path} missing: run python autograder/make_samples.py"
        assert nbformat.read(path, as_version=4) == nb, f"{path} is stale: run make_samples.py"


def test_every_submission_gets_a_row(graded):
    workdir, results, _ = graded
    expected = {(p.parent.parent.name, p.parent.name) for p in SAMPLES.glob("*/*/*.ipynb")}
    expected |= {(f"attack-{name}", ATTACKED) for name in make_samples.ATTACKS}
    expected |= {(f"intake-{name}", ATTACKED) for name in INTAKE}
    assert set(results) == expected
    assert all(score is not None for score in results.values())
    with open(workdir / "grades.csv") as f:  # nbgrader lists every chapter of every student
        assert expected <= {(r["student_id"], r["assignment"]) for r in csv.DictReader(f)}
    with open(workdir / "grading-report.csv") as f:
        report = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}
    assert set(report) == expected and all(r["isolated"] == "True" for r in report.values())


def test_perfect_scores_every_autograded_point(graded):
    _, results, _ = graded
    for chapter in chapters():
        score = results["perfect", chapter]
        assert score["max_code_score"] > 0 and score["code_score"] == score["max_code_score"], chapter


def test_blank_scores_nothing(graded):
    _, results, _ = graded
    assert scores(results, "blank") == {chapter: 0 for chapter in chapters()}


def test_typical_mistakes_score_in_between(graded):
    _, results, _ = graded
    for chapter in chapters():
        score = results["mistakes", chapter]
        assert 0 < score["code_score"] < score["max_code_score"], chapter


def test_tampering_with_tests_gains_nothing(graded):
    _, results, _ = graded
    assert scores(results, "cheater") == scores(results, "mistakes")


def test_a_looping_exercise_costs_only_its_own_points(graded):
    _, results, _ = graded
    for chapter in chapters():
        score = results["looper", chapter]
        assert 0 < score["code_score"] < score["max_code_score"], chapter


@pytest.mark.parametrize("name", sorted(make_samples.ATTACKS))
def test_an_attack_scores_exactly_its_honest_score(graded, name):
    _, results, _ = graded
    honest = make_samples.ATTACKS[name][3]
    assert results[f"attack-{name}", ATTACKED]["code_score"] == results[honest, ATTACKED]["code_score"]


@pytest.mark.parametrize("name", INTAKE)
def test_a_refused_submission_is_graded_blank_with_a_note(graded, name):
    workdir, results, _ = graded
    assert results[f"intake-{name}", ATTACKED]["code_score"] == 0
    with open(workdir / "grading-report.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["student_id"] == f"intake-{name}")
    assert row["notes"].startswith("refused: "), row


def visible_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_feedback_never_shows_hidden_tests_or_scripts(graded):
    workdir, results, _ = graded
    for student, chapter in results:
        page = workdir / "feedback" / student / chapter / f"{chapter}.html"
        assert page.exists(), page
        text = visible_text(page.read_text())
        hidden = region_lines(read(source_notebook(chapter)), HIDDEN_TEST_DELIMITERS)
        released = "\n".join(cell.source for cell in read(release_notebook(chapter)).cells)
        hidden = {line for line in hidden if line not in released}  # else visible: no secret
        shown = [line for line in hidden if line in text]
        assert not shown, f"{student}/{chapter} feedback shows hidden tests: {shown[:3]}"
        outputs = str([c.get("outputs", []) for c in nbformat.read(
            workdir / "autograded" / student / chapter / f"{chapter}.ipynb", as_version=4).cells])
        assert "<script" not in outputs and "javascript" not in outputs, f"{student}/{chapter}"


def test_what_the_spy_saw(graded):
    workdir = graded[0]
    nb = nbformat.read(workdir / "autograded" / "attack-spy" / ATTACKED / f"{ATTACKED}.ipynb", as_version=4)
    seen = str([c.get("outputs", []) for c in nb.cells])
    assert "SPY" in seen and "package root: /opt/tinyquant-lib ['tinyquant']" in seen
    assert "gradebook.db', " not in seen and "source/02_symmetric" not in seen


def test_output_is_capped(graded):
    workdir = graded[0]
    path = workdir / "autograded" / "attack-lingerer" / ATTACKED / f"{ATTACKED}.ipynb"
    assert path.stat().st_size < 3_000_000 and "bytes of output dropped" in path.read_text()


def test_nothing_outlives_a_job_or_reaches_outside_it(graded, victim):
    _, _, before = graded
    assert (victim / "submitted" / "other.ipynb").exists()
    assert package_digest() == before, "a job changed the instructor's tinyquant/"
    if os.geteuid() == 0:
        left = subprocess.run(["pgrep", "-u", sandbox.USER], capture_output=True, text=True).stdout.split()
        assert not left, f"processes of {sandbox.USER} outlived their jobs: {left}"


def test_the_report_says_what_was_wrong(graded):
    workdir = graded[0]
    with open(workdir / "grading-report.csv") as f:
        notes = {r["student_id"]: r["notes"] for r in csv.DictReader(f) if r["assignment"] == ATTACKED}
    assert "does not know" in notes["attack-foreign-cell"]
    assert "ended the process" in notes["attack-os-exit"]
    assert "restored as released" in notes["cheater"] and "put back" in notes["cheater"]


def test_feedback_says_what_failed_and_why(graded):
    """A visible test shows its full check (expected, got, cause); a hidden one only the property
    it checks and the likely cause."""
    workdir = graded[0]
    nb = nbformat.read(workdir / "autograded" / "mistakes" / ATTACKED / f"{ATTACKED}.ipynb", as_version=4)
    shown = {nbgrader_meta(cell).get("grade_id"): str(cell.get("outputs", [])) for cell in nb.cells}
    visible = shown["test_symmetric_quant_params"]
    assert "expected: 0.007874015748031496" in visible and "got:      0.0078125" in visible, visible
    assert "likely cause: dividing by 2**(num_bits - 1) = 128" in visible, visible
    hidden = shown["hidden_symmetric_quant_params"]
    assert ("a hidden test failed: symmetric_quant_params: the scale is max|x| / (2**(b-1) - 1) at 2 bits "
            "(likely cause: dividing by 2**(b-1) instead of 2**(b-1) - 1)") in hidden, hidden
    assert "expected" not in hidden and "_amax" not in hidden, hidden
