"""``python -m course grade``: grade every submission, then the gradebook, CSV and feedback.

Expects nbgrader's layout under the work folder (``autograder/`` by default):
``submitted/<student>/<chapter>/<chapter>.ipynb``.

1. **Intake**: a submission must be a real folder holding one regular notebook file (and
   nbgrader's ``timestamp.txt``), of at most ``Settings.notebook_bytes``. A symlink, another
   file beside it, a non-notebook or an oversized one is refused with a note, and graded as
   the blank release notebook, so that the learner still gets a row.
2. **Jobs** (``course.job``), in parallel, one process each: the learner's code in a
   sandbox, every check in the grader's process. Each job is self-contained: a notebook and a
   chapter in, a graded notebook and its scores out.
3. **nbgrader records them**: ``nbgrader autograde`` per chapter, whose ``SandboxedGrading``
   preprocessor takes the graded notebooks just computed; then feedback and ``grades.csv``.
   ``grading-report.csv`` adds, per submission, the notes of intake and grading.
"""
from __future__ import annotations

import csv
import multiprocessing
import os
import re
import resource
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from . import sandbox
from .job import Settings, grade_notebook
from .notebooks import AUTOGRADER, chapters, release_notebook
from .release import nbgrader

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class Course:
    """nbgrader commands aimed at one work folder (submissions, gradebook, feedback)."""

    def __init__(self, workdir: Path, submitted: Path | None = None):
        self.workdir = Path(workdir).resolve()
        self.db_url = f"sqlite:///{self.workdir / 'gradebook.db'}"
        self.options = [f"--CourseDirectory.submitted_directory={submitted or self.workdir / 'submitted'}",
                        f"--CourseDirectory.autograded_directory={self.workdir / 'autograded'}",
                        f"--CourseDirectory.feedback_directory={self.workdir / 'feedback'}",
                        f"--CourseDirectory.db_url={self.db_url}"]

    def run(self, *args: str):
        return nbgrader(*args, *self.options)

    def prepare(self) -> None:
        """Record every chapter's cells in the gradebook (release made in a scratch folder)."""
        with tempfile.TemporaryDirectory() as scratch:
            for chapter in chapters():
                done = self.run("generate_assignment", chapter, "--force",
                                f"--CourseDirectory.release_directory={scratch}")
                if done.returncode != 0:
                    raise RuntimeError(f"generate_assignment {chapter} failed:\n{done.stderr}")

    def record(self, chapter: str, results: Path) -> str | None:
        """nbgrader autograde of every staged submission of `chapter`, from the graded notebooks."""
        done = self.run("autograde", chapter, "--force", f"--SandboxedGrading.results_directory={results}")
        return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1]

    def feedback(self, chapter: str) -> None:
        self.run("generate_feedback", chapter, "--force")

    def export(self) -> Path:
        csv_path = self.workdir / "grades.csv"
        done = self.run("export", f"--to={csv_path}")
        if done.returncode != 0:
            raise RuntimeError(f"nbgrader export failed:\n{done.stderr}")
        return csv_path

    def score(self, student: str, chapter: str) -> dict | None:
        """Autograded (code) points and manual (written) points of one submission."""
        with Gradebook(self.db_url) as gradebook:
            try:
                return gradebook.find_submission(chapter, student).to_dict()
            except MissingEntry:
                return None


# ---------------------------------------------------------------------------------- intake
def intake_problem(folder: Path, chapter: str, limit: int) -> str | None:
    """Why the submission in `folder` cannot be graded as it is, or None."""
    if folder.is_symlink() or folder.parent.is_symlink():
        return "the submission folder is a symbolic link"
    notebook = folder / f"{chapter}.ipynb"
    others = sorted(p.name for p in folder.iterdir() if p.name not in (notebook.name, "timestamp.txt"))
    if others:
        return f"files other than the notebook were submitted: {', '.join(others[:5])}"
    if notebook.is_symlink() or (folder / "timestamp.txt").is_symlink():
        return f"{notebook.name} is a symbolic link"
    if not notebook.is_file():
        return f"no {notebook.name} in the submission"
    if notebook.stat().st_size > limit:
        return f"{notebook.name} is {notebook.stat().st_size:,} bytes, over the limit of {limit:,}"
    try:
        nbformat.validate(nbformat.reads(notebook.read_text(), as_version=4))
    except Exception as error:  # whatever a broken file raises: JSON, UTF-8, schema
        return f"{notebook.name} is not a valid notebook ({type(error).__name__})"
    return None


def intake(submitted: Path, staging: Path, limit: int) -> dict[tuple[str, str], list[str]]:
    """Copy every gradable submission into `staging` (the release notebook for a refused one)."""
    known, found = set(chapters()), {}
    for folder in sorted(submitted.glob("*/*")) if submitted.is_dir() else []:
        student, chapter = folder.parent.name, folder.name
        if chapter not in known or not folder.is_dir():
            continue
        notes = []
        if not SAFE_NAME.fullmatch(student):
            print(f"✗ skipped {student!r}/{chapter}: not a usable student id")
            continue
        problem = intake_problem(folder, chapter, limit)
        target = staging / student / chapter
        target.mkdir(parents=True)
        if problem:
            notes.append(f"refused: {problem}; graded as the blank release notebook")
            shutil.copyfile(release_notebook(chapter), target / f"{chapter}.ipynb")
        else:
            shutil.copyfile(folder / f"{chapter}.ipynb", target / f"{chapter}.ipynb", follow_symlinks=False)
            stamp = folder / "timestamp.txt"
            if stamp.is_file() and stamp.stat().st_size < 100:
                shutil.copyfile(stamp, target / "timestamp.txt", follow_symlinks=False)
        found[student, chapter] = notes
    return found


# ---------------------------------------------------------------------------------- jobs
def run_job(args) -> dict:
    """One job, in a worker process: the graded notebook in `out`; returns its summary."""
    staged, chapter, scratch, out, settings, cache = args
    limit_memory(settings.grader_memory_bytes)
    result = grade_notebook(Path(staged), chapter, Path(scratch), settings, Path(cache))
    Path(out).mkdir(parents=True, exist_ok=True)
    nbformat.write(result.notebook, Path(out) / "graded.ipynb")
    shutil.rmtree(scratch, ignore_errors=True)
    return result.summary()


def limit_memory(address_space: int) -> None:
    """Cap this process's address space (never above its hard limit): allocations beyond it fail."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = address_space if hard == resource.RLIM_INFINITY else min(address_space, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def run_jobs(submissions, staging: Path, results: Path, settings: Settings, workers: int) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="tinyquant-jobs-"))
    os.chmod(scratch, 0o755)  # the grading user must reach its own job folder inside
    cache = scratch / "packages"
    cache.mkdir()
    jobs = {key: (str(staging / key[0] / key[1] / f"{key[1]}.ipynb"), key[1], str(scratch / f"{key[0]}--{key[1]}"),
                  str(results / key[0] / key[1]), settings, str(cache)) for key in submissions}
    try:
        # Not fork: the grading process may hold threads (ONNX Runtime's pool, BLAS), and a child forked
        # while one of them holds a lock waits for it forever. Workers start from a clean forkserver.
        with ProcessPoolExecutor(max(1, workers), mp_context=multiprocessing.get_context("forkserver")) as pool:
            futures = {key: pool.submit(run_job, args) for key, args in jobs.items()}
            return {key: future.result() for key, future in futures.items()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def grade(workdir: Path = AUTOGRADER, timeout: int | None = None, workers: int | None = None) -> dict:
    """Grade everything in ``workdir/submitted``; returns {(student, chapter): score dict}."""
    workdir = Path(workdir).resolve()
    isolated, how = sandbox.status()
    if isolated:
        print(f"isolation: {how}")
    else:
        print("!" * 78 + f"\nWARNING: submissions are NOT isolated: {how}.\n"
              "A submission's code can read and change everything this user can.\n" + "!" * 78)
    settings = Settings(isolated=isolated)
    if timeout:
        settings.cell_timeout, settings.test_timeout = timeout, 5 * timeout
    with tempfile.TemporaryDirectory(prefix="tinyquant-grade-") as tmp:
        staging, results = Path(tmp) / "submitted", Path(tmp) / "results"
        notes = intake(workdir / "submitted", staging, settings.notebook_bytes)
        course = Course(workdir, submitted=staging)
        course.prepare()
        summaries = run_jobs(notes, staging, results, settings, workers or os.cpu_count() or 1)
        failures = {}
        for chapter in sorted({chapter for _, chapter in notes}):
            failure = course.record(chapter, results)
            if failure:
                failures[chapter] = failure
            course.feedback(chapter)
    csv_path = course.export()
    scores = {}
    with open(workdir / "grading-report.csv", "w", newline="") as f:
        report = csv.writer(f)
        report.writerow(["student_id", "assignment", "autograded", "max_autograded", "isolated", "seconds", "notes"])
        for (student, chapter), intake_notes in sorted(notes.items()):
            score = course.score(student, chapter)
            scores[student, chapter] = score
            summary = summaries[student, chapter]
            all_notes = intake_notes + summary["notes"] + ([f"nbgrader: {failures[chapter]}"]
                                                           if chapter in failures else [])
            got = f"{score['code_score']:g}/{score['max_code_score']:g}" if score else "not recorded"
            report.writerow([student, chapter, score and score["code_score"], score and score["max_code_score"],
                             summary["isolated"], summary["seconds"], "; ".join(all_notes)])
            print(f"{student:>12} {chapter:<20} autograded {got}"
                  + (f", manual {score['max_written_score']:g} points to grade by hand" if score else "")
                  + "".join(f"\n{'':>14}note: {note}" for note in all_notes))
    print(f"grades: {csv_path}\nreport: {workdir / 'grading-report.csv'}\nfeedback: {workdir / 'feedback'}")
    return scores


def main(args) -> int:
    grade(AUTOGRADER, args.timeout, args.workers)
    return 0
