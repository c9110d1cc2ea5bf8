"""Tests of chapter 09's backends of the integer product (``tinyquant.kernels``).

What is checked, and why it can fail:

* ``int_matmul`` returns the same int32 matrix on ``"numpy"`` and ``"onnxruntime"``, equal to the
  int64 product, on generated shapes (depths well beyond 1024), int8 and uint8 operands, values
  with the extremes oversampled: a forgotten zero point, a wrong operand form or a saturating
  kernel fails here. The uint8-weights form used on CPUs whose uint8 x int8 kernel saturates is
  run too, whatever this CPU is;
* the int32 guard is the same on both backends: the largest products that fit are exact, one
  more row of depth is refused (ONNX Runtime would wrap around silently);
* ``backend=None`` picks ONNX Runtime for 8-bit operands when it is installed, NumPy otherwise;
  unknown and non-string backends, and non-8-bit operands on ONNX Runtime, raise;
* without ONNX Runtime (its import blocked in a subprocess): ``import tinyquant`` works, every
  module of chapters 01 to 08 imports, ``backend=None`` is NumPy, and ``"onnxruntime"`` says how
  to install it;
* ``to_uint8`` keeps ``q - zero_point`` for every int8 code and zero point;
* ``from tinyquant import *`` keeps chapter 06's ``int_matmul`` (the learner's own).

Timings are in ``benchmarks/bench_kernels.py``, not here.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyquant
import tinyquant.kernels as kernels
from blocked_imports import run_without
from course.export import public_names
from tinyquant.matmul import int_matmul as numpy_int_matmul

needs_onnxruntime = pytest.mark.skipif(kernels.onnx_modules() is None, reason="onnxruntime and onnx not installed")

RANGES = {np.int8: (-128, 127), np.uint8: (0, 255)}


def exact(a, b):
    return a.astype(np.int64) @ b.astype(np.int64)


@st.composite
def operand(draw, rows, columns, dtype):
    low, high = RANGES[dtype]
    extremes = draw(st.booleans())
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    values = rng.choice([low, high, low + 1, 0], size=(rows, columns)) if extremes else \
        rng.integers(low, high + 1, size=(rows, columns))
    return values.astype(dtype)


@st.composite
def products(draw):
    m, n = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    k = draw(st.sampled_from([1, 2, 7, 64, 1023, 1024, 1025, 4097, 33025]))
    a_dtype, b_dtype = draw(st.sampled_from(list(RANGES))), draw(st.sampled_from(list(RANGES)))
    return draw(operand(m, k, a_dtype)), draw(operand(k, n, b_dtype))


def backends_agree(a, b):
    """Both backends and both weight forms: the same int32, or the same refusal."""
    try:
        expected = numpy_int_matmul(a, b)
    except ValueError:
        with pytest.raises(ValueError, match="overflow"):
            kernels.int_matmul(a, b, backend="onnxruntime")
        return
    assert np.array_equal(expected, exact(a, b))
    got = kernels.int_matmul(a, b, backend="onnxruntime")
    assert got.dtype == np.int32 and np.array_equal(got, expected)
    return got


@needs_onnxruntime
@given(products())
def test_backends_return_the_same_integers(operands):
    backends_agree(*operands)


@needs_onnxruntime
@given(products())
def test_the_uint8_weights_form_is_exact_too(operands):
    """The weights as uint8 (+128, zero point 128), the form of CPUs whose uint8 x int8 kernel saturates."""
    original = kernels.weights_form
    kernels.weights_form = lambda: "uint8"
    try:
        backends_agree(*operands)
    finally:
        kernels.weights_form = original


@needs_onnxruntime
def test_this_cpu_form_is_exact_on_the_worst_case():
    a = np.full((3, 4096), 255, dtype=np.uint8)
    b = np.tile(np.array([[127, -128, 127]], dtype=np.int8), (4096, 1))
    assert np.array_equal(kernels.int_matmul(a, b, backend="onnxruntime"), exact(a, b))
    assert kernels.weights_form() in ("int8", "uint8")


@needs_onnxruntime
def test_a_saturating_probe_selects_uint8_weights(monkeypatch):
    """A kernel that clips pair sums to int16 (vpmaddubsw) must send the weights as uint8."""
    def saturating(a, a_zero_point, b, b_zero_point):
        pairs = (a.astype(np.int64)[:, 0::2, None] * b.astype(np.int64)[None, 0::2, :]
                 + a.astype(np.int64)[:, 1::2, None] * b.astype(np.int64)[None, 1::2, :])
        return np.clip(pairs, -32768, 32767).sum(axis=1).astype(np.int32)

    monkeypatch.setattr(kernels, "matmul_integer", saturating)
    kernels.weights_form.cache_clear()
    try:
        assert kernels.weights_form() == "uint8"
    finally:
        kernels.weights_form.cache_clear()
    assert kernels.weights_form() in ("int8", "uint8")


@needs_onnxruntime
@pytest.mark.parametrize("dtype, depth, value", [(np.int8, 131071, -128), (np.uint8, 33025, 255)])
def test_the_guard_is_chapter_06s(dtype, depth, value):
    a = np.full((2, depth), value, dtype=dtype)
    assert np.array_equal(kernels.int_matmul(a, a.T, backend="onnxruntime"), np.full((2, 2), depth * value * value))
    a = np.full((1, depth + 1), value, dtype=dtype)
    for backend in ("onnxruntime", "numpy", None):
        with pytest.raises(ValueError, match="overflow int32"):
            kernels.int_matmul(a, a.T, backend=backend)


@needs_onnxruntime
def test_transposed_views_and_vectors():
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, size=(300, 4096)).astype(np.int8)
    x = rng.integers(-128, 128, size=(1, 4096)).astype(np.int8)
    assert np.array_equal(kernels.int_matmul(x, w.T, backend="onnxruntime"), exact(x, w.T))
    assert np.array_equal(kernels.int_matmul(x[:, ::2], w[:, ::2].T), exact(x[:, ::2], w[:, ::2].T))


@needs_onnxruntime
def test_backend_none_picks_the_fastest_installed(monkeypatch):
    a, b = np.ones((1, 3), dtype=np.int8), np.ones((3, 1), dtype=np.int8)
    calls = []
    monkeypatch.setattr(kernels, "matmul_integer", lambda *args: calls.append(args) or np.array([[3]], np.int32))
    assert kernels.int_matmul(a, b).tolist() == [[3]] and len(calls) == 1
    assert kernels.int_matmul(a.astype(np.int16), b).tolist() == [[3]] and len(calls) == 1  # NumPy
    assert kernels.available_backends() == ("onnxruntime", "numpy")
    assert kernels.check_backend(None) == "onnxruntime"


@pytest.mark.parametrize("backend, error, words", [
    ("cuda", ValueError, "'onnxruntime', 'numpy'"), ("NumPy", ValueError, "installed here"),
    (1, TypeError, "backend"), (b"numpy", TypeError, "backend")])
def test_bad_backends(backend, error, words):
    with pytest.raises(error, match=words):
        kernels.int_matmul(np.ones((1, 1), np.int8), np.ones((1, 1), np.int8), backend=backend)


@needs_onnxruntime
@pytest.mark.parametrize("dtypes", [(np.int16, np.int8), (np.int8, np.int32), (np.uint16, np.uint8)])
def test_onnxruntime_refuses_operands_that_are_not_8_bit(dtypes):
    a, b = np.ones((1, 2), dtype=dtypes[0]), np.ones((2, 1), dtype=dtypes[1])
    with pytest.raises(ValueError, match="backend='numpy'"):
        kernels.int_matmul(a, b, backend="onnxruntime")
    assert kernels.int_matmul(a, b).tolist() == [[2]]


@needs_onnxruntime
@pytest.mark.parametrize("bad, error", [([[1.0]], TypeError), (np.ones((0, 1), np.int8), ValueError),
                                        (np.ones(3, np.int8), ValueError)])
def test_bad_operands(bad, error):
    with pytest.raises(error, match="a_q"):
        kernels.int_matmul(bad, np.ones((1, 1), np.int8), backend="onnxruntime")


def test_to_uint8_keeps_every_difference():
    codes = np.arange(-128, 128, dtype=np.int8)
    for zero_point in (-128, -1, 0, 77, 127):
        q_u8, zero_point_u8 = kernels.to_uint8(codes, zero_point)
        assert q_u8.dtype == np.uint8 and type(zero_point_u8) is int
        assert np.array_equal(q_u8.astype(np.int64) - zero_point_u8, codes.astype(np.int64) - zero_point)
    same = np.arange(256, dtype=np.uint8)
    assert kernels.to_uint8(same, 255)[0] is same
    for bad in (-129, 128):
        with pytest.raises(ValueError, match="zero_point"):
            kernels.to_uint8(codes, bad)
    with pytest.raises(TypeError, match="q must be an int8 or uint8"):
        kernels.to_uint8(np.ones(2, np.int16))


def test_star_import_keeps_chapter_06s_int_matmul():
    assert tinyquant.int_matmul is numpy_int_matmul
    names = {}
    exec("from tinyquant import *", names)
    assert names["int_matmul"] is numpy_int_matmul and "to_uint8" in names
    generated = public_names(Path(kernels.__file__).read_text())
    assert sorted(kernels.__all__) == sorted(set(generated) - {"int_matmul"}), "kernels.__all__ is out of date"


WITHOUT_ONNX = """
import importlib, pkgutil, sys
import numpy as np
import tinyquant, tinyquant.kernels as kernels
for module in pkgutil.walk_packages(tinyquant.__path__, "tinyquant."):
    importlib.import_module(module.name)
assert "onnxruntime" not in sys.modules and "onnx" not in sys.modules
assert kernels.available_backends() == ("numpy",)
a = np.array([[1, -128]], dtype=np.int8)
assert kernels.int_matmul(a, a.T).tolist() == [[16385]]
try:
    kernels.int_matmul(a, a.T, backend="onnxruntime")
except ModuleNotFoundError as error:
    print(error)
"""


def test_everything_works_without_onnxruntime():
    run = run_without(("onnxruntime", "onnx"), WITHOUT_ONNX)
    assert run.returncode == 0, run.stderr
    assert "pip install onnxruntime onnx" in run.stdout, run.stdout


def test_importing_tinyquant_does_not_import_onnxruntime():
    run = subprocess.run([sys.executable, "-c", "import sys, tinyquant, tinyquant.kernels; "
                          "print('onnxruntime' in sys.modules, 'onnx' in sys.modules)"],
                         capture_output=True, text=True, timeout=120)
    assert run.stdout.split() == ["False", "False"], run.stderr
