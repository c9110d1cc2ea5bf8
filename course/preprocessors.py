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
"""
from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import DeduplicateIds
from nbformat.v4 import new_output

from .notebooks import HIDDEN_TEST_DELIMITERS

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
