"""nbgrader preprocessors of the course, switched on in ``nbgrader_config.py``.

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

import tempfile
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Integer, Unicode


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
