"""``python -m course check``: the generated views are in sync with ``source/``, nothing leaks.

- ``tinyquant/`` equals a fresh export of the source notebooks;
- ``release/`` equals a fresh ``nbgrader generate_assignment`` (made in a temporary folder);
- release notebooks hold no solution or hidden-test text;
- every test cell carries points, every grade id is unique, and cells that call the
  course CLI are never executed by tools (tag ``skip-execution``).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from .export import rendered_package
from .notebooks import (HIDDEN_TEST_DELIMITERS, PACKAGE, ROOT, SOLUTION_DELIMITERS, chapters,
                        is_test_cell, nbgrader_meta, read, release_notebook, source_notebook)
from .release import nbgrader


def package_problems() -> list[str]:
    expected = rendered_package()
    problems = [f"{p.relative_to(ROOT)} is out of date: run `make release`"
                for p, text in expected.items() if not p.exists() or p.read_text() != text]
    strays = set(PACKAGE.rglob("*.py")) - set(expected)
    problems += [f"{p.relative_to(ROOT)} is not generated from any notebook" for p in sorted(strays)]
    return problems


def region_lines(nb, delimiters: tuple[str, str], inside_wanted: bool = True) -> set[str]:
    """Stripped, non-trivial code lines between a pair of delimiters anywhere in a notebook
    (or, with ``inside_wanted=False``, outside every such pair)."""
    lines, inside = set(), False
    for cell in nb.cells:
        for line in cell.source.split("\n"):
            text = line.strip()
            if text in delimiters:
                inside = text == delimiters[0]
            elif inside == inside_wanted and len(text) > 20 and not text.startswith("#"):
                lines.add(text)
    return lines


def secret_lines(nb) -> set[str]:
    """What a release must not show: solution code and hidden tests, except lines that the
    notebook also shows outside them (``check = Checks("quantize_int8")`` opens a visible and
    a hidden test alike)."""
    secret = region_lines(nb, SOLUTION_DELIMITERS) | region_lines(nb, HIDDEN_TEST_DELIMITERS)
    public = region_lines(nb, SOLUTION_DELIMITERS, False) & region_lines(nb, HIDDEN_TEST_DELIMITERS, False)
    return secret - public


def files_under(folder: Path) -> set[Path]:
    return {path.relative_to(folder) for path in folder.rglob("*") if path.is_file()}


def release_problems(chapter: str, fresh: Path) -> list[str]:
    release = release_notebook(chapter)
    if not release.exists():
        return [f"{release.relative_to(ROOT)} is missing: run `make release`"]
    problems = []
    for stray in sorted(files_under(release.parent) - files_under(fresh / chapter)):
        problems.append(f"{release.parent.relative_to(ROOT) / stray} is not part of the release")
    if release.read_bytes() != (fresh / chapter / release.name).read_bytes():
        problems.append(f"{release.relative_to(ROOT)} is out of date: run `make release`")
    text = release.read_text()
    for marker in SOLUTION_DELIMITERS + HIDDEN_TEST_DELIMITERS:
        if marker in text:
            problems.append(f"{release.relative_to(ROOT)} contains {marker!r}")
    released = {line.strip() for cell in read(release).cells for line in cell.source.split("\n")}
    for line in sorted(secret_lines(read(source_notebook(chapter))) & released):
        problems.append(f"{release.relative_to(ROOT)} leaks solution or hidden-test text: {line!r}")
    return problems


def grading_problems(chapter: str) -> list[str]:
    problems, seen = [], set()
    for index, cell in enumerate(read(source_notebook(chapter)).cells):
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        if grade_id is not None and grade_id in seen:
            problems.append(f"{chapter}: grade id {grade_id!r} is used twice")
        seen.add(grade_id)
        if is_test_cell(cell) and not meta.get("points"):
            problems.append(f"{chapter}: test cell {index} ({grade_id}) has no points")
        # Run by nbconvert, nbgrader or `progress`, such a cell would export a submission
        # into the instructor's tinyquant/, or call `progress` from within `progress`.
        calls_cli = cell.cell_type == "code" and "-m course" in cell.source
        if calls_cli and "skip-execution" not in cell.metadata.get("tags", []):
            problems.append(f"{chapter}: cell {index} calls the course CLI, not tagged skip-execution")
    return problems


def problems() -> list[str]:
    found = package_problems()
    with tempfile.TemporaryDirectory() as tmp:
        for chapter in chapters():
            done = nbgrader("generate_assignment", chapter, "--force",
                            f"--CourseDirectory.release_directory={tmp}",
                            f"--CourseDirectory.db_url=sqlite:///{tmp}/gradebook.db")
            if done.returncode != 0:
                found.append(f"nbgrader generate_assignment {chapter} failed:\n{done.stderr}")
                continue
            found += release_problems(chapter, Path(tmp)) + grading_problems(chapter)
    return found


def main(args) -> int:
    found = problems()
    for problem in found:
        print(f"✗ {problem}")
    if not found:
        print(f"✓ release/ and tinyquant/ match source/ ({len(chapters())} chapters), no leaks, "
              "every test cell has points")
    return 1 if found else 0
