"""A submission's cells put back in order: what the learner may change, and nothing else.

Answer cells keep the learner's text (in the released cell type and nbgrader metadata);
locked and test cells are taken from the release; a deleted one is put back after the
nearest earlier cell the submission still has; a second copy of a graded cell, or a graded
cell from another chapter, becomes an ordinary cell. Unlike nbgrader's own restoring (which
crashes on some of these, nbgrader #1083), it never loses a submission, and it says what it
fixed. The release holds no hidden tests, so neither does the restored notebook.
"""
from __future__ import annotations

import copy

import nbformat

from .notebooks import nbgrader_meta


def restore(submitted, released) -> tuple[nbformat.NotebookNode, list[str]]:
    """The submission with every released locked, test and answer cell in its released form.

    Answer cells keep the learner's text (in the released cell type and metadata); locked and
    test cells are taken from the release; missing ones are put back after the nearest
    earlier cell the submission still has. Returns the notebook and notes on what was fixed.
    """
    by_id = {nbgrader_meta(c)["grade_id"]: c for c in released.cells if nbgrader_meta(c).get("grade_id")}
    order = list(by_id)
    notes, cells, seen = [], [], set()
    for cell in submitted.cells:
        cell = copy.deepcopy(cell)
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id is not None and (grade_id not in by_id or grade_id in seen):
            why = "is a second copy of" if grade_id in seen else "has a grade id this chapter does not know:"
            notes.append(f"a cell that {why} {grade_id!r} was kept as an ordinary cell")
            grade_id = None
        if grade_id is None:
            cell.metadata.pop("nbgrader", None)
            cells.append(cell)
            continue
        seen.add(grade_id)
        original = copy.deepcopy(by_id[grade_id])
        if nbgrader_meta(original).get("solution"):
            if cell.cell_type != original.cell_type or nbgrader_meta(cell) != nbgrader_meta(original):
                notes.append(f"answer cell {grade_id!r}: its cell type and nbgrader flags were restored")
            original.source = cell.source
        elif cell.source != original.source or cell.cell_type != original.cell_type:
            notes.append(f"cell {grade_id!r} was edited: restored as released")
        cells.append(original)
    for position, grade_id in enumerate(order):
        if grade_id in seen:
            continue
        present = [nbgrader_meta(c).get("grade_id") for c in cells]
        before = next((present.index(g) for g in reversed(order[:position]) if g in present), -1)
        cells.insert(before + 1, copy.deepcopy(by_id[grade_id]))
        notes.append(f"cell {grade_id!r} was missing: put back as released")
    nb = copy.deepcopy(released)
    nb.cells = cells
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb, notes
