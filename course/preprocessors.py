"""nbgrader preprocessors of the course, switched on in ``nbgrader_config.py``.

- ``NameTheStubs`` (for ``generate_assignment``, right after ``ClearSolutions``): each stub's
  ``raise NotImplementedError()`` says which exercise and function it stands for, so that
  *Run All* on a fresh chapter stops with "exercise 1: bytes_per_element is not written yet".

- ``SandboxedGrading`` (for ``autograde``) replaces nbgrader's ``Execute``: the submission is
  graded by ``course.job`` (its code in a sandbox, every check in the grader's process), and
  nbgrader records the result in its gradebook. ``python -m course grade`` computes the jobs
  in parallel beforehand and points ``results_directory`` at them; run by hand (or by the
  formgrader's autograde button), it grades the notebook on the spot.

Hidden tests never reach a graded notebook (the job restores cells from the release, where
they are not), so feedback cannot show them (nbgrader #917, #1363 are about its own path);
nbgrader's own cell restoring (and its crashes on copied or deleted cells, #1083) is not
used either.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Integer, Unicode


STUB = "raise NotImplementedError()"
EXERCISE_HEADING = re.compile(r"^#+ *Exercise (\d+)(?:: *(.+))?$", re.M)
DEFINITION = re.compile(r"^(\s*)(?:async def|def|class) (\w+)")


class NameTheStubs(Preprocessor):
    """Name the exercise (from the last "Exercise N" heading above) and the function in each stub."""

    enabled = True  # nbconvert skips a preprocessor that is not enabled

    def preprocess(self, nb, resources):
        exercise = None
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                exercise = (EXERCISE_HEADING.findall(cell.source) or [exercise])[-1]
            elif cell.metadata.get("nbgrader", {}).get("solution") and STUB in cell.source:
                number, name = exercise or (None, "")
                cell.source = self.named(cell.source, number, name.strip().replace("`", "") or "this code")
        return nb, resources

    @staticmethod
    def named(source: str, exercise: str | None, outside: str = "this code") -> str:
        """`source` with each stub naming `exercise` and its enclosing function (or `outside`)."""
        lines = source.split("\n")
        for index, line in enumerate(lines):
            if line.strip() != STUB:
                continue
            prefix = line[:len(line) - len(line.lstrip())]
            indent = len(prefix)
            enclosing = []  # the def (and class) around the stub, innermost first
            for above in reversed(lines[:index]):
                if (match := DEFINITION.match(above)) and len(match.group(1)) < indent:
                    enclosing.append(match.group(2))
                    indent = len(match.group(1))
            name = ".".join(reversed(enclosing)) or outside
            what = f"exercise {exercise}: {name}" if exercise else name
            lines[index] = f'{prefix}raise NotImplementedError("{what} is not written yet")'
        return "\n".join(lines)


class SandboxedGrading(Preprocessor):
    """Grade the submission with ``course.job``; the graded notebook replaces it."""

    enabled = True
    results_directory = Unicode("", help="graded notebooks computed beforehand, "
                                "as <results_directory>/<student>/<assignment>/graded.ipynb").tag(config=True)
    timeout = Integer(60, help="seconds per cell and per call of the learner's code").tag(config=True)

    def preprocess(self, nb, resources):
        from .job import Settings, grade_notebook  # the job module imports IPython: only when grading

        student, chapter = resources["nbgrader"]["student"], resources["nbgrader"]["assignment"]
        graded = Path(self.results_directory, student, chapter, "graded.ipynb")
        if self.results_directory and graded.is_file():
            return nbformat.read(graded, as_version=4), resources
        with tempfile.TemporaryDirectory() as scratch:
            submitted = Path(scratch) / "submitted.ipynb"
            nbformat.write(nb, submitted)
            result = grade_notebook(submitted, chapter, Path(scratch) / "job",
                                    Settings(cell_timeout=self.timeout, test_timeout=5 * self.timeout))
        return result.notebook, resources
