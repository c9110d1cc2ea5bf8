"""Run Python code in a subprocess in which some packages cannot be imported, as if not installed."""
from __future__ import annotations

import subprocess
import sys

_BLOCK = """
import importlib.abc, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {packages!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}")
sys.meta_path.insert(0, _Block())
"""


def run_without(packages: tuple[str, ...], code: str) -> subprocess.CompletedProcess:
    """``python -c code`` with `packages` blocked from import; its output captured as text."""
    return subprocess.run([sys.executable, "-c", _BLOCK.format(packages=tuple(packages)) + code],
                          capture_output=True, text=True, timeout=120)
