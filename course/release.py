"""``python -m course release``: regenerate ``release/`` (nbgrader) and ``tinyquant/``."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .export import rendered_package, write
from .notebooks import ROOT, chapters


def nbgrader(*args: str) -> subprocess.CompletedProcess:
    """Run an nbgrader command from the repo root, where ``nbgrader_config.py`` lives.

    The interpreter's ``bin`` goes first on PATH: nbgrader runs ``alembic`` by name when
    it creates the gradebook. A ``nbgrader_config.py`` that raises makes the command fail
    (traitlets' default is to go on with nbgrader's defaults: no sandbox, a gradebook at the root).
    """
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
               TRAITLETS_APPLICATION_RAISE_CONFIG_FILE_ERROR="1")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)


def generate(chapter: str) -> None:
    done = nbgrader("generate_assignment", chapter, "--force")
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {chapter} failed:\n{done.stdout}{done.stderr}")


def main(args) -> int:
    for chapter in args.chapters or chapters():
        generate(chapter)
        print(f"released {chapter}")
    for path in write(rendered_package()):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0
