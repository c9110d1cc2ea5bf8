"""Level 4 (seed 000): the course's conventions checked against a reference runtime, ONNX Runtime.

What is checked, and why it can fail:

* symmetric int8 (chapter 02) equals ``QuantizeLinear`` with the course's scale and zero point 0,
  ties included (both round half to even); the one difference on purpose is pinned: below the
  range the course clamps to -127, ONNX saturates to -128;
* asymmetric uint8 (chapter 03) against ``DynamicQuantizeLinear``, which computes its scale and
  zero point in float32 where the course uses float64: the scales agree to a float32 step, the
  codes to one step, and both differences chapter 09 shows are pinned (a zero point on a tie, a
  code on a tie); with a scale and zero point given, ``QuantizeLinear`` equals the course exactly;
* the integer product with zero points (chapter 06's ``quantized_matmul``) equals ``MatMulInteger``,
  whose zero points are subtracted inside the kernel.

A change of either convention, the course's or ONNX Runtime's, fails here.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyquant as tq
from tinyquant.kernels import onnx_modules, run_onnx_node

pytestmark = pytest.mark.skipif(onnx_modules() is None, reason="onnxruntime and onnx not installed")


def quantize_linear(x, scale, zero_point):
    return run_onnx_node("QuantizeLinear", {"x": np.asarray(x, np.float32), "scale": np.array(scale, np.float32),
                                            "zero_point": zero_point}, [("y", zero_point.dtype)])[0]


def dynamic_quantize_linear(x):
    y, scale, zero_point = run_onnx_node("DynamicQuantizeLinear", {"x": np.asarray(x, np.float32)},
                                         [("y", np.uint8), ("scale", np.float32), ("zero_point", np.uint8)])
    return y, float(scale), int(zero_point)


float32_tensors = st.builds(
    lambda seed, size, spread, shift: (np.random.default_rng(seed).standard_normal(size) * spread + shift)
    .astype(np.float32),
    st.integers(0, 2 ** 32 - 1), st.integers(1, 3000), st.sampled_from([1e-3, 1.0, 50.0]),
    st.sampled_from([0.0, 0.5, 3.0, -2.0]))


@given(float32_tensors)
def test_symmetric_int8_is_quantize_linear(x):
    q, scale = tq.quantize_symmetric(x)
    assert np.float32(scale) == scale  # the course's scale of float32 data is a float32 value
    assert np.array_equal(quantize_linear(x, scale, np.array(0, np.int8)), q)


def test_ties_round_half_to_even_in_both():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, -126.5], dtype=np.float32)
    expected = [0, 2, 2, 0, -2, -2, 126, -126]
    assert tq.quantize_int8(x, 1.0).tolist() == expected
    assert quantize_linear(x, 1.0, np.array(0, np.int8)).tolist() == expected


def test_pinned_the_course_clamps_symmetric_codes_at_minus_127():
    x = np.array([-300.0, -127.6, 127.6, 300.0], dtype=np.float32)
    assert tq.quantize_int8(x, 1.0).tolist() == [-127, -127, 127, 127]
    assert quantize_linear(x, 1.0, np.array(0, np.int8)).tolist() == [-128, -128, 127, 127]


@given(float32_tensors)
def test_asymmetric_uint8_against_dynamic_quantize_linear(x):
    q, scale, zero_point = tq.quantize_asymmetric(x)
    q_ort, scale_ort, zero_point_ort = dynamic_quantize_linear(x)
    # float64 (course) and float32 (ONNX) roundings of the same (max - min) / 255
    assert abs(scale - scale_ort) <= np.spacing(np.float32(scale_ort))
    assert abs(zero_point - zero_point_ort) <= 1
    assert np.abs(q.astype(np.int16) - q_ort).max() <= 1
    if zero_point == zero_point_ort:  # off a tie of the zero point, codes differ only on ties of x / scale
        assert np.sum(q != q_ort) <= max(2, x.size // 1000)


def test_pinned_a_zero_point_on_a_tie():
    """[-1, 1] in 255 steps: -min / scale is 127.5 in float64 (course: 128), just below in float32 (ONNX: 127)."""
    x = np.linspace(-1, 1, 255, dtype=np.float32)
    q, scale, zero_point = tq.quantize_asymmetric(x)
    q_ort, scale_ort, zero_point_ort = dynamic_quantize_linear(x)
    assert (zero_point, zero_point_ort) == (128, 127)
    assert np.array_equal(q.astype(np.int16) - q_ort, np.ones(255))
    assert np.allclose(tq.dequantize_asymmetric(q, scale, zero_point), (q_ort.astype(np.float64) - 127) * scale_ort,
                       atol=1e-6)


def test_pinned_a_code_on_a_tie():
    """Chapter 09's Gaussian tensor: one value is a hair above a tie in float64 and on it in float32."""
    x = np.random.default_rng(12).standard_normal(10_000).astype(np.float32)
    q, scale, zero_point = tq.quantize_asymmetric(x)
    q_ort, scale_ort, zero_point_ort = dynamic_quantize_linear(x)
    differ = np.flatnonzero(q != q_ort)
    assert zero_point == zero_point_ort and differ.size == 1
    i = differ[0]
    assert np.float32(x[i]) / np.float32(scale_ort) == np.float32(38.5) and x[i] / scale > 38.5
    assert (q[i], q_ort[i]) == (zero_point + 39, zero_point + 38)


@given(float32_tensors, st.integers(0, 255))
def test_asymmetric_with_given_parameters_is_quantize_linear(x, zero_point):
    scale = float(np.float32(np.abs(x).max() / 100 + 1e-3))
    q = np.clip(np.rint(x / np.float32(scale)) + zero_point, 0, 255).astype(np.uint8)
    assert np.array_equal(quantize_linear(x, scale, np.array(zero_point, np.uint8)), q)
    assert np.allclose(tq.dequantize_asymmetric(q, scale, zero_point),
                       run_onnx_node("DequantizeLinear", {"x": q, "scale": np.array(scale, np.float32),
                                                          "zero_point": np.array(zero_point, np.uint8)},
                                     [("y", np.float32)])[0], rtol=1e-6, atol=0)


@pytest.mark.parametrize("a_zp, b_zp", [(0, 0), (128, 0), (3, 250), (255, 17)])
def test_quantized_matmul_is_matmul_integer(a_zp, b_zp):
    rng = np.random.default_rng(a_zp + b_zp)
    a = rng.integers(0, 256, size=(7, 200)).astype(np.uint8)
    b = rng.integers(0, 256, size=(200, 5)).astype(np.uint8)
    y = run_onnx_node("MatMulInteger", {"a": a, "b": b, "a_zero_point": np.array(a_zp, np.uint8),
                                   "b_zero_point": np.array(b_zp, np.uint8)}, [("y", np.int32)])[0]
    expected = (a.astype(np.int64) - a_zp) @ (b.astype(np.int64) - b_zp)
    assert np.array_equal(y, expected)
    # |values| < 2**24: the course's float32 result holds every integer exactly
    assert np.array_equal(tq.quantized_matmul(a, 1.0, b, 1.0, a_zp=a_zp, b_zp=b_zp), expected.astype(np.float32))
