"""Two fixes to nbgrader 0.9, switched on in ``nbgrader_config.py``.

- ``HideHiddenTests`` (for ``generate_feedback``): nbgrader puts the hidden tests back into
  a submission before grading and, by default, shows them, with their failing assertions,
  in the feedback (nbgrader #917, #1363). It replaces each hidden-test region with a
  one-line note and the cell's outputs with the verdict alone.
- ``DropDuplicateGradeIds`` (for ``autograde``): a learner who copies a graded cell leaves two
  cells with one grade id. nbgrader's ``DeduplicateIds`` then empties the copy's metadata
  to ``{}``, on which ``OverwriteCells.add_missing_task_cells`` fails with
  ``KeyError: 'grade_id'`` and the whole submission is lost (nbgrader #1083, still so in
  0.9.6). Removing the metadata key instead keeps the copy as a plain cell.
- ``RestoreMissingCells`` (for ``autograde``): nbgrader puts a deleted graded cell back right
  after the cell that precedes it in the source, and fails with ``KeyError`` (the whole
  submission unscored) when that cell is itself deleted or only locked. This version puts
  it after the nearest earlier cell the submission still has.
"""
from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import DeduplicateIds, OverwriteCells
from nbformat.v4 import new_output

from .notebooks import HIDDEN_TEST_DELIMITERS, nbgrader_meta

BEGIN, END = (re.escape(d) for d in HIDDEN_TEST_DELIMITERS)
HIDDEN_REGION = re.compile(rf"[ \t]*{BEGIN}.*?{END}[ \t]*", re.DOTALL)
HIDDEN_NOTE = "# (hidden tests ran here; their code is not shown)"


def hide_hidden_tests(cell) -> bool:
    """Mask the hidden tests of one cell in place; True if it had any."""
    if cell.cell_type != "code" or not HIDDEN_REGION.search(cell.source):
        return False
    cell.source = HIDDEN_REGION.sub(HIDDEN_NOTE, cell.source)
    errors = [out for out in cell.get("outputs", []) if out.output_type == "error"]
    verdict = (f"A hidden test failed ({errors[0].ename})." if errors
               else "Hidden tests passed.")
    cell.outputs = [new_output("stream", name="stdout", text=verdict + "\n")]
    return True


class HideHiddenTests(Preprocessor):
    enabled = True  # nbconvert preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            hide_hidden_tests(cell)
        return nb, resources


class DropDuplicateGradeIds(DeduplicateIds):
    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


class RestoreMissingCells(OverwriteCells):
    def add_missing_grade_cells(self, nb, resources):
        source = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in source.source_cells]
        solutions = {cell.name for cell in source.solution_cells}
        for graded in sorted(source.grade_cells, key=lambda cell: order.index(cell.name)):
            present = {nbgrader_meta(cell).get("grade_id"): index for index, cell in enumerate(nb.cells)}
            if graded.name in present:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", graded.name)
            position = order.index(graded.name)
            before = next((present[name] for name in reversed(order[:position]) if name in present), -1)
            cell = self.missing_cell_transform(source.source_cells[position], graded.max_score,
                                               is_solution=graded.name in solutions)
            nb.cells.insert(before + 1, cell)
        return nb, resources
