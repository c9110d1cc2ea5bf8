"""``python -m course progress``: per chapter, is the learner's code exported, do the tests pass?

Runs each of the learner's notebooks (``release/`` by default) in a fresh kernel and counts
the visible test cells that finish without an error. Hidden tests are not in these
notebooks; the instructor's grading runs them. The closing cell that exports and calls this
very command is tagged ``skip-execution``, which nbclient (and so nbgrader) skips.

A run is remembered (``.cache/progress.json`` at the repository root) under a digest of the
notebook and of the ``tinyquant`` modules that earlier chapters export, which is what it
imports: an unchanged chapter is not run again, so ``progress`` answers in seconds, and
``export`` (which runs the notebook to refuse unfinished work) shares the same runs.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbclient import NotebookClient

from .export import exported_cells, module_path, rendered_notebook
from .notebooks import RELEASE, ROOT, chapters, is_test_cell, nbgrader_meta, read, source_notebook
from .replay import defined_names
from .workspace import WORKSPACE

RUN_TIMEOUT = 120  # seconds per cell
CACHE = ROOT / ".cache" / "progress.json"


@dataclass
class Run:
    """A notebook's visible tests after a run: how many pass, and what the failing ones say."""
    passing: int
    total: int
    failing: list[str] = field(default_factory=list)  # "exercise: first line of the error"


def export_state(notebook: Path) -> str:
    """'exported' if tinyquant/ holds this notebook's code, else 'not exported'."""
    files = rendered_notebook(notebook)
    current = all(path.exists() and path.read_text() == text for path, text in files.items())
    return "exported" if files and current else "not exported"


def has_code(cell) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in cell.source.split("\n"))


def first_error_line(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            message = str(output.get("evalue", "")).split("\n")[0]
            return f"{output.ename}: {message}" if message else output.ename
    return None


def run_notebook(notebook: Path) -> Run:
    """Run `notebook` top to bottom in a fresh kernel; each failing visible test is reported
    under the exercise above it (the first public name of the nearest answer cell)."""
    nb = read(notebook)
    NotebookClient(nb, timeout=RUN_TIMEOUT, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    exercise, passing, total, failing = "the notebook's setup", 0, 0, []
    for cell in nb.cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("solution"):
            names = [name for name in defined_names(cell.source) if not name.startswith("_")]
            exercise = names[0] if names else exercise
        if not (is_test_cell(cell) and has_code(cell)):
            continue
        total += 1
        error = first_error_line(cell)
        if error is None:
            passing += 1
        elif not any(line.startswith(f"{exercise}:") for line in failing):
            failing.append(f"{exercise}: {error}")
    return Run(passing, total, failing)


def inputs_digest(notebook: Path, chapter: str | None) -> str:
    """The notebook's bytes and the tinyquant modules of the chapters before `chapter`."""
    digest = hashlib.sha256(Path(notebook).read_bytes())
    earlier = chapters()[:chapters().index(chapter)] if chapter in chapters() else chapters()
    for previous in earlier:
        for module in exported_cells(read(source_notebook(previous))):
            path = module_path(module)
            digest.update(path.read_bytes() if path.exists() else b"missing")
    return digest.hexdigest()


def visible_tests(notebook: Path) -> Run:
    """``run_notebook``, or the remembered result of a run on the same inputs."""
    notebook = Path(notebook).resolve()
    chapter = notebook.stem
    key = inputs_digest(notebook, chapter)
    try:
        cache = json.loads(CACHE.read_text())
    except (OSError, ValueError):
        cache = {}
    remembered = cache.get(str(notebook))
    if remembered and remembered.get("key") == key:
        return Run(remembered["passing"], remembered["total"], remembered["failing"])
    run = run_notebook(notebook)
    cache[str(notebook)] = {"key": key, **asdict(run)}
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_text(json.dumps(cache, indent=1))
    return run


def main(args) -> int:
    folder = (ROOT / args.root).resolve() if args.root else WORKSPACE if WORKSPACE.is_dir() else RELEASE
    root = folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder
    print(f"{'chapter':<20} {'tinyquant':<14} visible tests")
    for chapter in chapters():
        notebook = folder / chapter / f"{chapter}.ipynb"
        if not notebook.exists():
            print(f"{chapter:<20} {'-':<14} (no notebook in {root}/)")
            continue
        run = visible_tests(notebook)
        mark = "✅" if run.passing == run.total else "  "
        print(f"{chapter:<20} {export_state(notebook):<14} {mark} {run.passing}/{run.total} passing")
        for failure in run.failing[:1]:
            print(f"{'':<36} first to fix: {failure}")
    return 0
