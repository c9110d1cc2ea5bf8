"""Where the course's files live and how chapter notebooks are read."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source"
RELEASE = ROOT / "release"
PACKAGE = ROOT / "tinyquant"
AUTOGRADER = ROOT / "autograder"

SOLUTION_DELIMITERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_TEST_DELIMITERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def chapters() -> list[str]:
    """Names of the chapters (``NN_slug``), in course order."""
    return sorted(p.parent.name for p in SOURCE.glob("[0-9][0-9]_*/[0-9][0-9]_*.ipynb")
                  if p.stem == p.parent.name)


def source_notebook(chapter: str) -> Path:
    return SOURCE / chapter / f"{chapter}.ipynb"


def release_notebook(chapter: str) -> Path:
    return RELEASE / chapter / f"{chapter}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell) -> bool:
    """An autograded test cell: graded, not a solution, so nbgrader runs it for points."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def directive(cell, name: str) -> str | None:
    """The argument of ``#| name [arg]`` on a code cell's first line ('' if none), else None."""
    if cell.cell_type != "code":
        return None
    first = cell.source.split("\n", 1)[0].strip()
    match = re.fullmatch(r"#\|\s*" + re.escape(name) + r"(?:\s+(\S+))?", first)
    return None if match is None else (match.group(1) or "")
