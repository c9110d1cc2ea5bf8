"""``python -m course progress``: per chapter, is the learner's code exported, do the tests pass?

Runs each of the learner's notebooks (``release/`` by default) in a fresh kernel and counts
the visible test cells that finish without an error. Hidden tests are not in these
notebooks; the instructor's grading runs them. The closing cell that exports and calls this
very command is tagged ``skip-execution``, which nbclient (and so nbgrader) skips.
"""
from __future__ import annotations

from pathlib import Path

from nbclient import NotebookClient

from .export import rendered_notebook
from .notebooks import ROOT, chapters, is_test_cell, read

RUN_TIMEOUT = 120  # seconds per cell


def export_state(notebook: Path) -> str:
    """'exported' if tinyquant/ holds this notebook's code, else 'not exported'."""
    files = rendered_notebook(notebook)
    current = all(path.exists() and path.read_text() == text for path, text in files.items())
    return "exported" if files and current else "not exported"


def has_code(cell) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in cell.source.split("\n"))


def visible_tests(notebook: Path) -> tuple[int, int]:
    """(passing, total) visible test cells after running the notebook top to bottom."""
    nb = read(notebook)
    NotebookClient(nb, timeout=RUN_TIMEOUT, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    tests = [cell for cell in nb.cells if is_test_cell(cell) and has_code(cell)]
    passing = [cell for cell in tests
               if not any(out.output_type == "error" for out in cell.get("outputs", []))]
    return len(passing), len(tests)


def main(args) -> int:
    folder = (ROOT / args.root).resolve()
    print(f"{'chapter':<20} {'tinyquant':<14} visible tests")
    for chapter in chapters():
        notebook = folder / chapter / f"{chapter}.ipynb"
        if not notebook.exists():
            print(f"{chapter:<20} {'-':<14} (no notebook in {args.root}/)")
            continue
        passing, total = visible_tests(notebook)
        mark = "✅" if passing == total else "  "
        print(f"{chapter:<20} {export_state(notebook):<14} {mark} {passing}/{total} passing")
    return 0
