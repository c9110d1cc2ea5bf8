"""`python -m course progress` and the export gate, on the sample submissions."""
import subprocess
import sys

from course import progress
from course.notebooks import AUTOGRADER, ROOT, chapters

SAMPLES = AUTOGRADER / "samples"
CHAPTER = chapters()[0]


def sample(student: str):
    return SAMPLES / student / CHAPTER / f"{CHAPTER}.ipynb"


def test_perfect_passes_every_visible_test_and_blank_none():
    run = progress.visible_tests(sample("perfect"))
    assert run.total > 0 and run.passing == run.total and run.failing == []
    run = progress.visible_tests(sample("blank"))
    assert run.total > 0 and run.passing == 0
    assert run.failing and all("NotImplementedError" in failure for failure in run.failing), run.failing
    assert run.failing[0].startswith("bytes_per_element: "), run.failing


def test_an_unchanged_notebook_is_not_run_again(monkeypatch):
    first = progress.visible_tests(sample("mistakes"))

    def no_second_run(notebook):
        raise AssertionError(f"{notebook} was run again although nothing changed")
    monkeypatch.setattr(progress, "run_notebook", no_second_run)
    assert progress.visible_tests(sample("mistakes")) == first


def test_export_refuses_unfinished_work_and_names_the_exercises():
    before = {path: path.read_bytes() for path in (ROOT / "tinyquant").rglob("*.py")}
    run = subprocess.run([sys.executable, "-m", "course", "export", str(sample("blank"))],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "not exported" in run.stdout and "bytes_per_element: NotImplementedError" in run.stdout
    assert "--force" in run.stdout
    assert {path: path.read_bytes() for path in (ROOT / "tinyquant").rglob("*.py")} == before
