"""Test configuration shared by the tinyquant test modules.

Hypothesis runs under the "ci" profile: derandomized (the same examples on every run and
every machine, so a red build is reproducible and never flaky), no per-example deadline
(timings belong in ``benchmarks/``, not in tests), a modest number of examples, and the
reproduction blob printed on failure. ``HYPOTHESIS_PROFILE=dev`` gives a randomized,
longer search for local bug hunting.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import settings

# ``import strategies`` works whichever import mode pytest uses (and whether or not
# tests/ ever becomes a package).
_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          max_examples=100)
settings.register_profile("dev", deadline=None, print_blob=True, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
