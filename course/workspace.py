"""``python -m course workspace``: the learner's own copy of the course, and how Jupyter opens it.

Learners never work in ``release/``: it is generated, committed and compared by ``make test``.
``make lab`` calls this first. It copies each chapter of ``release/`` that ``workspace/``
(git-ignored) does not have yet, so a chapter released later arrives, and never overwrites a
notebook already there: that is the learner's work. It also writes a Jupyter configuration
folder for the learner's JupyterLab in which nbgrader's instructor tools (formgrader, course
list, create assignment) are switched off, as ``postBuild`` does on Binder; the instructor's
``make instructor`` runs JupyterLab without it.
"""
from __future__ import annotations

import json
import shutil

from .notebooks import RELEASE, ROOT, chapters

WORKSPACE = ROOT / "workspace"
# A Jupyter configuration folder of the learner's JupyterLab (JUPYTER_CONFIG_DIR), in the venv.
LEARNER_CONFIG = ROOT / ".venv" / "jupyter-learner"
INSTRUCTOR_LAB_EXTENSIONS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                             "@jupyter/nbgrader:course-list")
INSTRUCTOR_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list")


def copy_new_chapters() -> list[str]:
    """Copy the chapters of release/ that workspace/ lacks; returns their names."""
    copied = []
    for chapter in chapters():
        target = WORKSPACE / chapter
        if not target.exists():
            shutil.copytree(RELEASE / chapter, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
            copied.append(chapter)
    return copied


def write_learner_config() -> None:
    """The learner's Jupyter configuration: instructor extensions off, as on Binder."""
    (LEARNER_CONFIG / "labconfig").mkdir(parents=True, exist_ok=True)
    (LEARNER_CONFIG / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {name: True for name in INSTRUCTOR_LAB_EXTENSIONS}}, indent=1))
    (LEARNER_CONFIG / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {name: False for name in INSTRUCTOR_SERVER_EXTENSIONS}}}, indent=1))


def main(args) -> int:
    copied = copy_new_chapters()
    write_learner_config()
    where = WORKSPACE.relative_to(ROOT)
    print(f"copied {', '.join(copied)} into {where}/" if copied else f"{where}/ has every chapter")
    print(f"your notebooks are in {where}/ (release/ stays as released)")
    return 0
