"""Grading throughput: submissions per minute, one worker against all cores, in the same run.

Grades the committed samples (``autograder/samples``: perfect, blank, mistakes, cheater and
looper of the chapters given, every chapter by default) as ``python -m course grade`` does:
intake, then the sandboxed jobs (``course.grade.run_jobs``), once with one worker and once
with one worker per core. nbgrader's recording (a fixed cost per chapter, about 5 s of
imports per nbgrader command) is left out: it does not depend on the number of workers.
The scores of the two runs must agree; the table says so.

What to expect on 2 cores: about 1.5x more submissions per minute with 2 workers than with
one (each job keeps about 1.3 cores busy: the grader replays the source notebook while the
learner's process runs theirs, so two jobs do not double the rate). Looper samples dominate:
each waits for its looping cell's timeout (15 s here).

Usage, from the repository root (as root, or where bubblewrap works)::

    python benchmarks/bench_grading.py                      # every chapter
    python benchmarks/bench_grading.py 02_symmetric 04_per_channel
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course import sandbox  # noqa: E402
from course.grade import intake, run_jobs  # noqa: E402
from course.job import Settings  # noqa: E402
from course.notebooks import AUTOGRADER, chapters  # noqa: E402


def grade_samples(selected: list[str], workers: int) -> tuple[float, dict]:
    """Seconds and {(student, chapter): autograded points} of the jobs, with `workers` at once."""
    isolated, _ = sandbox.status()
    settings = Settings(cell_timeout=15, test_timeout=75, isolated=isolated)
    with tempfile.TemporaryDirectory() as tmp:
        submitted = Path(tmp) / "submitted"
        for sample in (AUTOGRADER / "samples").glob("*/*"):
            if sample.name in selected:
                shutil.copytree(sample, submitted / sample.parent.name / sample.name)
        staging = Path(tmp) / "staging"
        found = intake(submitted, staging, settings.notebook_bytes)
        start = time.perf_counter()
        summaries = run_jobs(found, staging, Path(tmp) / "results", settings, workers)
        seconds = time.perf_counter() - start
    points = {key: sum(earned for earned, _ in summary["scores"].values()) for key, summary in summaries.items()}
    return seconds, points


def main(argv: list[str]) -> None:
    selected = argv or chapters()
    isolated, how = sandbox.status()
    print(f"isolation: {how if isolated else 'NONE (' + how + ')'}")
    cores = os.cpu_count() or 1
    rows = []
    for workers in sorted({1, cores}):
        seconds, points = grade_samples(selected, workers)
        rows.append((workers, len(points), seconds, points))
    print(f"\n{'workers':>7} {'submissions':>11} {'seconds':>8} {'per minute':>10} {'vs 1 worker':>11}")
    for workers, count, seconds, _ in rows:
        print(f"{workers:>7} {count:>11} {seconds:>8.1f} {60 * count / seconds:>10.2f} "
              f"{rows[0][2] / seconds:>10.2f}x")
    same = all(points == rows[0][3] for *_, points in rows)
    print(f"\nscores identical across runs: {same}")


if __name__ == "__main__":
    main(sys.argv[1:])
