"""One grading job: a submitted notebook and its chapter in, scores and a graded notebook out.

``grade_notebook(submitted, chapter, workdir)`` is self-contained (it needs the course, not
the gradebook), so that jobs can run side by side, or on other machines.

1. **Restore** the submission's cells against the release notebook (``course.restore``).
   Hidden tests are not in the release, so they never reach the learner's process or the
   graded notebook.
2. **Run the learner's notebook** in the sandbox (``course.worker`` in ``course.sandbox``),
   with the package built for this chapter (``job_package``: reference code of the earlier
   chapters, released code of this one and the later ones), started at once so that it
   runs while the grader replays. A cell that kills or hangs the process is skipped on a
   second run, with a note.
3. **Replay the source notebook here** (``course.replay``): every test cell, visible and
   hidden, runs in the grader's process against stand-ins for the learner's exercises.
4. **The graded notebook**: the restored cells, with the learner's outputs (text and PNG
   only, capped) and, in each test cell, the grader's verdict. nbgrader records it.
"""
from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_output

from . import sandbox
from .checks import CheckFailed
from .export import exported_cells, rendered_package
from .notebooks import (HIDDEN_TEST_DELIMITERS, chapters, is_test_cell, nbgrader_meta, read, release_notebook,
                        source_notebook)
from .remote import Learner, RemoteFailure, start_worker
from .replay import Replay, Verdict, exercise_names
from .restore import restore

@dataclass
class Settings:
    cell_timeout: float = 60          # per cell of the learner's notebook, and per call
    test_timeout: float = 300         # per test cell replayed by the grader
    notebook_timeout: float = 900     # for the whole learner notebook
    cell_output_limit: int = 100_000  # bytes of output kept per cell
    total_output_limit: int = 2_000_000
    notebook_bytes: int = 5_000_000   # largest submission accepted
    restarts: int = 3                 # times a dead or hung learner process is started again
    # Address space of the grader's own job process, which replays the tests: what a learner's answer
    # makes it compute (an ONNX graph of chapter 09, say) fails with MemoryError or the runtime's
    # allocation error beyond this, instead of taking the machine's memory from every other job.
    grader_memory_bytes: int = 8 << 30
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    isolated: bool = True


# ---------------------------------------------------------------------------------- package
def chapter_modules(chapter: str) -> list[str]:
    """The modules of ``tinyquant`` that `chapter` exports (``tinyquant.observers``...)."""
    return [f"tinyquant.{module}" for module in exported_cells(read(release_notebook(chapter)))]


def job_package(chapter: str, cache: Path) -> Path:
    """``tinyquant`` as a learner working on `chapter` has it: earlier chapters solved (the
    reference), this one and later ones as released (stubs and provided code). Never the
    reference code of this chapter; the worker puts the learner's own definitions into this
    chapter's modules as the notebook runs (``chapter_modules``), as their export would."""
    names = chapters()
    notebooks = [source_notebook(other) if names.index(other) < names.index(chapter) else release_notebook(other)
                 for other in names]
    files = {path.relative_to(Path("tinyquant")).as_posix(): text
             for path, text in rendered_package(notebooks, Path("tinyquant")).items()}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    lib = cache / f"{chapter}-{digest}"
    if not lib.exists():
        staging = cache / f".{chapter}-{digest}-{time.monotonic_ns()}"
        for name, text in files.items():
            target = staging / "tinyquant" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        try:
            staging.rename(lib)
        except OSError:  # another job built it first
            pass
    return lib


# ---------------------------------------------------------------------------------- outputs
KEPT_MIME = ("text/plain", "image/png")


def clean_outputs(outputs, limit: int) -> list:
    """The learner's outputs as the feedback may show them: text and PNG only, capped."""
    kept, left = [], limit
    for output in outputs if isinstance(outputs, list) else []:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream" and output.get("name") in ("stdout", "stderr"):
            text = str(output.get("text", ""))[:left]
            kept.append(new_output("stream", name=output["name"], text=text))
        elif kind in ("display_data", "execute_result"):
            data = output.get("data") if isinstance(output.get("data"), dict) else {}
            data = {k: v for k, v in data.items() if k in KEPT_MIME and isinstance(v, str)}
            if "image/png" in data and not valid_png(data["image/png"]):
                del data["image/png"]
            data = {k: v for k, v in data.items() if len(v) <= left}
            if not data:
                continue
            text = sum(len(v) for v in data.values())
            if kind == "execute_result":
                kept.append(new_output(kind, data=data, execution_count=None))
            else:
                kept.append(new_output(kind, data=data))
            left -= text
            continue
        elif kind == "error":
            trace = [str(line)[:2000] for line in output.get("traceback", [])[-20:]]
            kept.append(new_output("error", ename=str(output.get("ename", "Error"))[:200],
                                   evalue=str(output.get("evalue", ""))[:2000], traceback=trace))
        else:
            continue
        left -= len(json.dumps(kept[-1]))
        if left <= 0:
            kept.append(new_output("stream", name="stderr", text="[more output dropped: over the limit]\n"))
            break
    return kept


def valid_png(text: str) -> bool:
    try:
        return base64.b64decode(text, validate=True)[:8] == b"\x89PNG\r\n\x1a\n"
    except (binascii.Error, ValueError):
        return False


# ---------------------------------------------------------------------------------- the job
@dataclass
class JobResult:
    chapter: str
    notebook: nbformat.NotebookNode | None
    scores: dict[str, list[float]]
    notes: list[str]
    isolated: bool
    seconds: float

    def summary(self) -> dict:
        return {"chapter": self.chapter, "scores": self.scores, "notes": self.notes,
                "isolated": self.isolated, "seconds": round(self.seconds, 1)}


class LearnerRun:
    """The learner's process for one job, started again (skipping the fatal cell) if it dies."""

    def __init__(self, nb, workdir: Path, lib: Path, exercises: set[str], settings: Settings,
                 notes: list[str], namespace: dict, modules: list[str]):
        self.nb, self.workdir, self.lib, self.settings, self.notes = nb, workdir, lib, settings, notes
        self.exercises, self.namespace, self.modules = exercises, namespace, modules
        self.starting: threading.Thread | None = None
        self.outputs: dict[int, list] = {}
        self.skip: set[int] = set()
        self.starts = 0
        self.learner: Learner | None = None
        self.state: str | None = None
        self.current: int | None = None
        self.cells = [{"index": i, "source": c.source} for i, c in enumerate(nb.cells)
                      if c.cell_type == "code" and "skip-execution" not in c.metadata.get("tags", [])]

    def start_in_background(self) -> None:
        """Run the learner's notebook while the grader replays the source notebook's first cells."""
        self.launch()
        self.starting = threading.Thread(target=self.follow, daemon=True)
        self.starting.start()

    def get(self) -> Learner | None:
        """The learner's process, ready for calls; started (again) if it is not running."""
        if self.starting is not None:
            self.starting.join()
            self.starting = None
        else:
            self.state = "ready" if self.learner is not None and self.learner.alive() else None
        while self.state != "ready":
            if self.state is not None and not self.skip_failed_cell():
                return None
            if self.starts > self.settings.restarts:
                return None
            self.launch()
            self.follow()
        return self.learner

    def launch(self) -> None:
        if self.learner is not None:
            self.notes.append("your notebook's process stopped during a check and was started again")
        self.starts += 1
        spec = {"cells": self.cells, "skip": sorted(self.skip), "exercises": sorted(self.exercises),
                "modules": self.modules,
                "cell_timeout": self.settings.cell_timeout, "call_timeout": self.settings.cell_timeout,
                "cell_output_limit": self.settings.cell_output_limit}
        (self.workdir / "spec.json").write_text(json.dumps(spec))
        if self.learner is None:
            self.learner = Learner(start_worker(self.workdir, self.lib, "spec.json", self.settings.limits,
                                                self.settings.isolated),
                                   self.namespace, self.exercises, self.settings.cell_timeout)
        self.learner.launch()

    def follow(self) -> None:
        """Collect the notebook's outputs until the process is ready for calls (or is not)."""
        self.current, self.output_bytes = None, 0
        first_run = self.starts == 1

        def on_event(message):
            cell = message.get("cell")
            if message.get("event") == "start" and type(cell) is int:
                self.current = cell
            elif message.get("event") == "done" and type(cell) is int:
                self.current = None
                if first_run or cell not in self.outputs:
                    left = self.settings.total_output_limit - self.output_bytes
                    kept = clean_outputs(message.get("outputs"), min(self.settings.cell_output_limit, left))
                    self.output_bytes += len(json.dumps(kept))
                    self.outputs[cell] = kept

        self.state = self.learner.wait_ready(on_event, time.monotonic() + self.settings.notebook_timeout)

    def skip_failed_cell(self) -> bool:
        """After a failed run: skip the cell it failed in, if it failed in one; False if not."""
        if self.current is None or self.current in self.skip:
            self.notes.append(f"your notebook's process failed ({self.state}) outside any cell")
            return False
        self.skip.add(self.current)
        why = {"timeout": "did not finish in time", "died": "ended the process",
               "garbled": "sent more output than allowed"}[self.state]
        self.notes.append(f"cell {self.current} {why}: it was skipped and the notebook run again")
        self.outputs[self.current] = [new_output(
            "error", ename="CellSkipped", evalue=f"this cell {why}; grading skipped it", traceback=[])]
        return True

    def stop(self):
        if self.learner is not None:
            self.learner.stop()


def verdict_outputs(verdict: Verdict, hidden: bool) -> list:
    """What a test cell shows in the graded notebook: the grader's own run of it; of hidden
    tests, only whether they passed and which of the learner's functions stopped them."""
    passed, printed, error, failure = verdict.passed, verdict.printed, verdict.error, verdict.failure
    if hidden:
        if passed:
            return [new_output("stream", name="stdout", text="✅ Hidden tests passed.\n")]
        # Name the learner's function only when its exception is what stopped the test (not
        # one it raised as expected before an assertion failed).
        stopped_by_it = failure and (type(error).__name__ == failure[1] or isinstance(error, RemoteFailure))
        if stopped_by_it:
            cause = f": your {failure[0]} raised {failure[1]}"
        elif isinstance(error, CheckFailed):  # its claim is written to be shown; its values are not
            cause = f": {error.exercise}: {error.claim}" + (f" (likely cause: {error.cause})" if error.cause else "")
        else:
            cause = ""
        # nbconvert shows an error by its traceback lines: the verdict is the only line.
        verdict = f"a hidden test failed{cause}"
        return [new_output("error", ename=type(error).__name__, evalue=verdict,
                           traceback=[f"{type(error).__name__}: {verdict}"])]
    outputs = [new_output("stream", name="stdout", text=printed[:20_000])] if printed else []
    if not passed:
        outputs.append(new_output("error", ename=type(error).__name__, evalue=str(error)[:2000],
                                  traceback=[f"{type(error).__name__}: {str(error)[:2000]}"]))
    return outputs


def grade_notebook(submitted: Path, chapter: str, workdir: Path, settings: Settings | None = None,
                   cache: Path | None = None) -> JobResult:
    """Grade one submitted notebook of `chapter`; `workdir` is the job's own scratch folder."""
    settings = settings or Settings()
    started = time.monotonic()
    source, released = read(source_notebook(chapter)), read(release_notebook(chapter))
    notes: list[str] = []
    try:
        submitted_nb = nbformat.reads(Path(submitted).read_text(), as_version=4)
    except Exception as error:  # whatever a broken file raises
        notes.append(f"the submission is not a readable notebook ({type(error).__name__}): graded as blank")
        submitted_nb = copy.deepcopy(released)
    nb, restore_notes = restore(submitted_nb, released)
    notes += restore_notes
    workdir.mkdir(parents=True, exist_ok=True)
    lib = job_package(chapter, cache or workdir)
    replay = Replay(source, None, settings.test_timeout)
    run = LearnerRun(nb, workdir, lib, exercise_names(source), settings, notes, replay.shell.user_ns,
                     chapter_modules(chapter))
    replay.learner_factory = run.get
    run.start_in_background()
    try:
        verdicts = replay.verdicts()
    finally:
        run.stop()
    hidden = {nbgrader_meta(cell)["grade_id"] for cell in source.cells
              if is_test_cell(cell) and HIDDEN_TEST_DELIMITERS[0] in cell.source}
    scores = {}
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code":
            continue
        if is_test_cell(cell):
            verdict = verdicts.get(meta["grade_id"], Verdict(False, "", RuntimeError("not run")))
            cell.outputs = verdict_outputs(verdict, meta["grade_id"] in hidden)
            scores[meta["grade_id"]] = [float(meta["points"]) if verdict.passed else 0.0, float(meta["points"])]
        else:
            cell.outputs = run.outputs.get(index, [])
    return JobResult(chapter, nb, scores, notes, settings.isolated, time.monotonic() - started)


def main(argv=None) -> int:
    """``python -m course.job SUBMISSION CHAPTER WORKDIR``: one job, for trying it by hand."""
    argv = argv or sys.argv[1:]
    result = grade_notebook(Path(argv[0]), argv[1], Path(argv[2]))
    nbformat.write(result.notebook, Path(argv[2]) / "graded.ipynb")
    print(json.dumps(result.summary(), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
