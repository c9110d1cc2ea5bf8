"""The stored notebook outputs do not depend on which OpenBLAS kernel NumPy runs (issue 12).

nbval compares the outputs stored in ``source/`` with a fresh run. An output computed by a float
matrix product depends on the order in which BLAS adds, and that order depends on the CPU, on the
kernel OpenBLAS picks for it and on the number of threads: chapter 06 once stored the errors of one
float32 matmul, and ``make test`` failed on every machine with another kernel. This test runs nbval
once more, in a subprocess whose only difference is ``OPENBLAS_CORETYPE``, set to a kernel that
this CPU supports and that really sums differently from the default one (checked, not assumed).
The environment of the rest of the suite, and of CI, is left alone.

Only the notebooks whose code contains a matrix product are run (an ``@`` between operands,
``np.dot``/``matmul``/``einsum``/``linalg``, or tinyquant's products, layers and training, which
are built on ``@``): BLAS computes nothing else, so the other notebooks' outputs cannot depend
on its kernel. Today that is five of the eight chapters (not 02, 04 and 05, whose calibration
search alone takes a third of a full nbval run): about 40 s of CPU, two thirds of the full run.
A notebook that reaches BLAS through a tinyquant function not named in ``MATRIX_PRODUCT`` needs
that name added.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]

# Older kernels first: a CPU supports every kernel older than its own default; a kernel it does
# not support makes the probe fail (or OpenBLAS falls back to the default), and is skipped.
CANDIDATE_KERNELS = ("Haswell", "Sandybridge", "Nehalem", "Prescott")

MATRIX_PRODUCT = re.compile(
    r"[\w)\]][ \t]*@[ \t]*[\w(\[]"  # a @ b on one line (not a decorator)
    r"|\bnp\.(dot|matmul|einsum|inner|tensordot|linalg)\b|\.dot\("
    r"|\b(int_matmul|quantized_matmul|Linear|QuantizedLinear|quantize_model\w*|train_\w+|layer_errors)\b")

# A float32 product whose rounding differs between kernels: chapter 06's hard inputs.
PROBE = """
import json
import numpy as np
from threadpoolctl import threadpool_info
rng = np.random.default_rng(1)
a = rng.integers(100, 128, size=(4, 4097)).astype(np.float32)
b = rng.integers(100, 128, size=(4097, 4)).astype(np.float32)
blas = [info for info in threadpool_info() if info["user_api"] == "blas"]
print(json.dumps({"blas": [[info["internal_api"], info.get("architecture")] for info in blas],
                  "product": (a @ b).tolist()}))
"""


def probe(coretype=None):
    """NumPy's BLAS libraries and the probe product, in a fresh interpreter; None if it fails."""
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_CORETYPE"}
    if coretype is not None:
        env["OPENBLAS_CORETYPE"] = coretype
    run = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    return json.loads(run.stdout.splitlines()[-1]) if run.returncode == 0 and run.stdout.strip() else None


def other_kernel():
    """(name, default architecture, its architecture) of a supported kernel that sums differently."""
    default = probe()
    if default is None:
        pytest.skip("could not run NumPy with threadpoolctl in a subprocess")
    if [api for api, _ in default["blas"]] != ["openblas"]:
        pytest.skip(f"NumPy's BLAS is not OpenBLAS alone ({default['blas']}): OPENBLAS_CORETYPE means nothing")
    for name in CANDIDATE_KERNELS:
        other = probe(name)
        if other is not None and other["product"] != default["product"]:
            return name, default["blas"][0][1], other["blas"][0][1]
    pytest.skip(f"no kernel of {CANDIDATE_KERNELS} sums float32 differently from the default "
                f"({default['blas'][0][1]}) on this CPU")


def notebooks_with_matrix_products():
    found = []
    for path in sorted((ROOT / "source").glob("[0-9][0-9]_*/[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any(MATRIX_PRODUCT.search(cell.source) for cell in nb.cells if cell.cell_type == "code"):
            found.append(path)
    return found


def test_the_selection_keeps_the_chapters_that_multiply_matrices():
    names = {path.parent.name for path in notebooks_with_matrix_products()}
    assert {"06_integer_matmul", "07_quantized_linear", "08_real_model"} <= names, names
    assert not names & {"02_symmetric", "04_per_channel"}, names  # quantization alone: no BLAS


def test_stored_outputs_hold_under_another_openblas_kernel():
    name, default_arch, other_arch = other_kernel()
    notebooks = notebooks_with_matrix_products()
    env = {**os.environ, "OPENBLAS_CORETYPE": name}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
                          *[str(path.relative_to(ROOT)) for path in notebooks]],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-2000:]
    assert run.returncode == 0, (
        f"nbval of {[path.parent.name for path in notebooks]} fails with OPENBLAS_CORETYPE={name} "
        f"(kernel {other_arch}; the default here is {default_arch}): a stored output depends on how BLAS "
        f"sums. Compute it in an order the notebook fixes, or assert its property and mark the cell "
        f"# NBVAL_IGNORE_OUTPUT.\n{summary}\n{run.stdout[-6000:]}")
