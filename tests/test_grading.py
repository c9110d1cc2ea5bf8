"""The real nbgrader round trip on the committed sample submissions (autograder/samples).

Grades copies of the samples in a scratch folder with the instructor's own code path
(`python -m course grade`), then checks scores, the CSV and the feedback.
"""
import csv
import html
import re
import shutil
import sys

import nbformat
import pytest

from course.check import region_lines
from course.grade import grade
from course.notebooks import (AUTOGRADER, HIDDEN_TEST_DELIMITERS, chapters, read,
                              release_notebook, source_notebook)

sys.path.insert(0, str(AUTOGRADER))
import make_samples  # noqa: E402

SAMPLES = AUTOGRADER / "samples"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("autograder")
    shutil.copytree(SAMPLES, workdir / "submitted")
    results = grade(workdir, timeout=15)
    return workdir, results


def scores(results, student):
    return {chapter: results[s, chapter] for s, chapter in results if s == student}


def test_samples_are_up_to_date():
    for path, nb in make_samples.samples().items():
        assert path.exists(), f"{path} missing: run python autograder/make_samples.py"
        assert nbformat.read(path, as_version=4) == nb, f"{path} is stale: run make_samples.py"


def test_every_sample_is_graded(graded):
    _, results = graded
    expected = {(p.parent.parent.name, p.parent.name) for p in SAMPLES.glob("*/*/*.ipynb")}
    assert set(results) == expected
    assert all(score is not None for score in results.values())


def test_perfect_scores_every_autograded_point(graded):
    _, results = graded
    for chapter, score in scores(results, "perfect").items():
        assert score["max_code_score"] > 0, chapter
        assert score["code_score"] == score["max_code_score"], chapter


def test_blank_scores_nothing(graded):
    _, results = graded
    assert set(scores(results, "blank")) == set(chapters())
    for chapter, score in scores(results, "blank").items():
        assert score["code_score"] == 0, chapter


def test_typical_mistakes_score_in_between(graded):
    _, results = graded
    for chapter, score in scores(results, "mistakes").items():
        assert 0 < score["code_score"] < score["max_code_score"], chapter


def test_tampering_with_tests_gains_nothing(graded):
    _, results = graded
    cheater, honest = scores(results, "cheater"), scores(results, "mistakes")
    assert cheater and set(cheater) == set(honest)
    for chapter in cheater:
        assert cheater[chapter]["code_score"] == honest[chapter]["code_score"], chapter


def test_a_looping_exercise_costs_only_its_own_points(graded):
    _, results = graded
    for chapter, score in scores(results, "looper").items():
        assert 0 < score["code_score"] < score["max_code_score"], chapter


def test_grades_csv_has_a_row_per_submission(graded):
    workdir, results = graded
    with open(workdir / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    assert {(r["student_id"], r["assignment"]) for r in rows} == set(results)


def visible_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_feedback_never_shows_hidden_tests(graded):
    workdir, results = graded
    for student, chapter in results:
        page = workdir / "feedback" / student / chapter / f"{chapter}.html"
        assert page.exists(), page
        text = visible_text(page.read_text())
        assert "BEGIN HIDDEN TESTS" not in text
        hidden = region_lines(read(source_notebook(chapter)), HIDDEN_TEST_DELIMITERS)
        released = "\n".join(cell.source for cell in read(release_notebook(chapter)).cells)
        hidden = {line for line in hidden if line not in released}  # else visible: no secret
        assert hidden, f"{chapter} has no hidden tests"
        shown = [line for line in hidden if line in text]
        assert not shown, f"{student}/{chapter} feedback shows hidden tests: {shown[:3]}"
