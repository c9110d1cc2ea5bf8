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

import pytest
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


@pytest.fixture(scope="session")
def digits():
    """Chapter 08's digits MLP, trained and quantized as there: ``(model, model_int8, x_test, y_test)``."""
    from tinyquant.datasets import load_digits_split
    from tinyquant.model_quant import quantize_model
    from tinyquant.models import mlp
    from tinyquant.training import train_classifier

    x_train, y_train, x_test, y_test = load_digits_split(test_size=360, seed=0)
    model = mlp([64, 512, 512, 10], rng=0)  # the chapter's model
    train_classifier(model, x_train, y_train, epochs=10, batch_size=64, lr=1e-3, rng=0)
    calibration = [x_train[start:start + 64] for start in range(0, 512, 64)]
    return model, quantize_model(model, calibration, progress=False), x_test, y_test
