"""``python -m course grade``: autograde every submission, then grades CSV and feedback.

Expects nbgrader's layout under the work folder (``autograder/`` by default):
``submitted/<student>/<chapter>/<chapter>.ipynb``. Each submission is graded by its own
nbgrader run, so a notebook that crashes, loops (cells stop at ``Execute.timeout``) or
tampers with its tests scores what it earned and never stops the others; tests and
locked cells are restored from the gradebook first (``nbgrader_config.py``).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .notebooks import AUTOGRADER, chapters
from .release import nbgrader


class Course:
    """nbgrader commands aimed at one work folder (submissions, gradebook, feedback)."""

    def __init__(self, workdir: Path, timeout: int | None = None):
        self.workdir = Path(workdir).resolve()
        self.db_url = f"sqlite:///{self.workdir / 'gradebook.db'}"
        self.options = [f"--CourseDirectory.submitted_directory={self.workdir / 'submitted'}",
                        f"--CourseDirectory.autograded_directory={self.workdir / 'autograded'}",
                        f"--CourseDirectory.feedback_directory={self.workdir / 'feedback'}",
                        f"--CourseDirectory.db_url={self.db_url}"]
        if timeout:
            self.options.append(f"--Execute.timeout={timeout}")

    def run(self, *args: str):
        return nbgrader(*args, *self.options)

    def submissions(self) -> list[tuple[str, str]]:
        known = set(chapters())
        return sorted((path.parent.name, path.name)
                      for path in (self.workdir / "submitted").glob("*/*")
                      if path.is_dir() and path.name in known)

    def prepare(self) -> None:
        """Record every chapter's cells in the gradebook (release made in a scratch folder)."""
        with tempfile.TemporaryDirectory() as scratch:
            for chapter in chapters():
                done = self.run("generate_assignment", chapter, "--force",
                                f"--CourseDirectory.release_directory={scratch}")
                if done.returncode != 0:
                    raise RuntimeError(f"generate_assignment {chapter} failed:\n{done.stderr}")

    def autograde(self, student: str, chapter: str) -> str | None:
        """Grade one submission; None if it went through, else nbgrader's complaint."""
        done = self.run("autograde", chapter, "--student", student, "--force")
        return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1]

    def feedback(self, chapter: str) -> None:
        self.run("generate_feedback", chapter, "--force")

    def export(self) -> Path:
        csv = self.workdir / "grades.csv"
        done = self.run("export", f"--to={csv}")
        if done.returncode != 0:
            raise RuntimeError(f"nbgrader export failed:\n{done.stderr}")
        return csv

    def score(self, student: str, chapter: str) -> dict | None:
        """Autograded (code) points and manual (written) points of one submission."""
        with Gradebook(self.db_url) as gradebook:
            try:
                return gradebook.find_submission(chapter, student).to_dict()
            except MissingEntry:
                return None


def grade(workdir: Path = AUTOGRADER, timeout: int | None = None) -> dict:
    """Grade everything in ``workdir/submitted``; returns {(student, chapter): score dict}."""
    course = Course(workdir, timeout)
    course.prepare()
    results, failures = {}, {}
    for student, chapter in course.submissions():
        failure = course.autograde(student, chapter)
        if failure:
            failures[student, chapter] = failure
        results[student, chapter] = course.score(student, chapter)
    for chapter in sorted({chapter for _, chapter in results}):
        course.feedback(chapter)
    csv = course.export()
    for (student, chapter), score in results.items():
        failure = failures.get((student, chapter))
        if score is None:
            print(f"{student:>12} {chapter:<18} not graded: {failure}")
            continue
        # nbgrader may leave a score behind for a submission it failed on: say so, never hide it.
        note = f" (nbgrader failed, check by hand: {failure})" if failure else ""
        print(f"{student:>12} {chapter:<18} autograded {score['code_score']:g}"
              f"/{score['max_code_score']:g}, manual {score['max_written_score']:g} "
              f"points to grade by hand{note}")
    print(f"grades: {csv}\nfeedback: {course.workdir / 'feedback'}")
    return results


def main(args) -> int:
    grade(AUTOGRADER, args.timeout)
    return 0
