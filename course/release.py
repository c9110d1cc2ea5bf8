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
    it creates the gradebook.
    """
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)


CONFIG_FAILED = "Exception while loading config file"


def generate(chapter: str) -> None:
    done = nbgrader("generate_assignment", chapter, "--force")
    # nbgrader goes on with its defaults when nbgrader_config.py raises: refuse that release.
    if done.returncode != 0 or CONFIG_FAILED in done.stderr:
        raise RuntimeError(f"nbgrader generate_assignment {chapter} failed:\n{done.stdout}{done.stderr}")


def main(args) -> int:
    for chapter in args.chapters or chapters():
        generate(chapter)
        print(f"released {chapter}")
    for path in write(rendered_package()):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0
