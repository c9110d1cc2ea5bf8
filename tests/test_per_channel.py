"""Tests of chapter 04: per-channel quantization (``tinyquant.per_channel``, ``tinyquant.pure.per_channel``).

What per-channel quantization guarantees, stated precisely (chapter 04, section 4), and what
the property tests below check:

* every channel with a non-zero maximum has ``scales[c] <= scale`` (the per-tensor scale),
  because max|x| over a channel is at most max|x| over the tensor. An all-zero channel gets
  1.0, which may exceed ``scale``, but its values come back exactly (0);
* so every element's error is at most ``scales[c] / 2 <= scale / 2``: a tighter *bound*;
* a channel that holds the tensor's max|x| is quantized exactly as per tensor, and a tensor
  whose channels all share one maximum is quantized identically per channel and per tensor.

Not guaranteed: a smaller error on every element, or a smaller MSE on every tensor. The
counterexample of the notebook is pinned below; that per-channel quantization wins on
continuous data with uneven channels is checked on a seeded tensor instead.

Hypothesis runs under the "ci" profile of conftest.py (derandomized, no deadline).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinyquant as tq
import tinyquant.pure as tqp
from strategies import F32_TINY, finite_arrays, int_dtype, num_bits, pure_bits, qmax, roundtrip_slack

METHODS = ["per-tensor symmetric", "per-tensor asymmetric", "per-channel symmetric", "per-channel asymmetric"]

shapes_nd = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=8)


@st.composite
def arrays_and_axes(draw, dtype=None):
    """A finite float32/float64 array of 1 to 3 dimensions and one of its axes, maybe negative."""
    x = draw(finite_arrays(dtype=dtype, shape=draw(shapes_nd)))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    return x, axis


@st.composite
def matrices(draw, max_abs=None):
    """A rectangular list of lists of Python floats (the input of tinyquant.pure)."""
    rows, columns = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    values = st.floats(allow_nan=False, allow_infinity=False,
                       min_value=None if max_abs is None else -max_abs,
                       max_value=None if max_abs is None else max_abs)
    return draw(st.lists(st.lists(values, min_size=columns, max_size=columns), min_size=rows, max_size=rows))


def channels(x, axis):
    """The channels of ``x`` along ``axis``, one per row: shape (x.shape[axis], -1)."""
    return np.moveaxis(np.asarray(x), axis, 0).reshape(np.shape(x)[axis], -1)


def uneven_weights(rows=64, columns=256, seed=0):
    """Gaussian rows whose standard deviations spread over two orders of magnitude (the notebook's)."""
    rng = np.random.default_rng(seed)
    std = 10.0 ** rng.uniform(-2.0, 0.0, size=rows)
    return (rng.standard_normal((rows, columns)) * std[:, None]).astype(np.float32)


# ----------------------------------------------------------------- contract and chapter 02


@given(data=arrays_and_axes(), bits=num_bits)
def test_dtype_shape_and_scale_contract(data, bits):
    x, axis = data
    q, scales = tq.quantize_per_channel(x, axis=axis, num_bits=bits)
    assert q.shape == x.shape and q.dtype == int_dtype(bits)
    assert scales.shape == (x.shape[axis],) and scales.dtype == np.float64
    assert np.all(np.isfinite(scales)) and np.all(scales >= F32_TINY)
    np.testing.assert_array_equal(scales, tq.per_channel_quant_params(x, axis=axis, num_bits=bits))
    rows = channels(q, axis).astype(np.int64)
    assert np.abs(rows).max() <= qmax(bits)
    amax = np.abs(channels(x, axis)).astype(np.float64).max(axis=1)
    reaches = (amax > 0) & (amax / qmax(bits) >= F32_TINY)  # scale not floored: the max maps to ±Q
    np.testing.assert_array_equal(np.abs(rows).max(axis=1)[reaches], qmax(bits))
    assert np.all(scales[amax == 0] == 1.0)
    deq = tq.dequantize_per_channel(q, scales, axis=axis)
    assert deq.shape == x.shape and deq.dtype == np.float32 and np.isfinite(deq).all()


@given(data=arrays_and_axes(), bits=num_bits)
def test_each_channel_is_chapter_02_symmetric_quantization(data, bits):
    """Channel c: scale and integers of quantize_symmetric on the slice alone, exactly."""
    x, axis = data
    q, scales = tq.quantize_per_channel(x, axis=axis, num_bits=bits)
    deq = tq.dequantize_per_channel(q, scales, axis=axis)
    for c in range(x.shape[axis]):
        q_c, scale_c = tq.quantize_symmetric(np.take(x, c, axis=axis), num_bits=bits)
        assert scales[c] == scale_c
        np.testing.assert_array_equal(np.take(q, c, axis=axis), q_c)
        np.testing.assert_array_equal(np.take(deq, c, axis=axis), tq.dequantize_symmetric(q_c, scale_c))


@given(data=arrays_and_axes(), bits=num_bits)
def test_roundtrip_error_at_most_half_of_each_channels_step(data, bits):
    x, axis = data
    q, scales = tq.quantize_per_channel(x, axis=axis, num_bits=bits)
    deq = tq.dequantize_per_channel(q, scales, axis=axis)
    error = np.abs(channels(x, axis).astype(np.float64) - channels(deq, axis).astype(np.float64))
    amax = np.abs(channels(x, axis)).astype(np.float64).max(axis=1)
    for c in range(len(scales)):
        assert error[c].max() <= scales[c] / 2 + roundtrip_slack(amax[c]), c


# --------------------------------------------------------------- per channel vs per tensor


@given(data=arrays_and_axes(), bits=num_bits)
def test_per_channel_error_bound_is_at_most_the_per_tensor_bound(data, bits):
    x, axis = data
    q, scales = tq.quantize_per_channel(x, axis=axis, num_bits=bits)
    scale = tq.symmetric_quant_params(x, num_bits=bits)
    amax = np.abs(channels(x, axis)).astype(np.float64).max(axis=1)
    assert np.all(scales[amax > 0] <= scale)
    deq = tq.dequantize_per_channel(q, scales, axis=axis)
    error = np.abs(channels(x, axis).astype(np.float64) - channels(deq, axis).astype(np.float64))
    assert np.all(error[amax == 0] == 0.0)  # all-zero channels: scale 1.0, and exact
    assert error.max() <= scale / 2 + roundtrip_slack(float(amax.max()))


@given(data=arrays_and_axes(), bits=num_bits)
def test_channels_holding_the_global_max_are_quantized_as_per_tensor(data, bits):
    x, axis = data
    q, scales = tq.quantize_per_channel(x, axis=axis, num_bits=bits)
    q_tensor, scale = tq.quantize_symmetric(x, num_bits=bits)
    amax = np.abs(channels(x, axis)).max(axis=1)
    for c in np.flatnonzero(amax == amax.max()):
        assert scales[c] == scale
        np.testing.assert_array_equal(channels(q, axis)[c], channels(q_tensor, axis)[c])


@given(data=arrays_and_axes(), bits=num_bits)
def test_equal_channel_maxima_make_per_channel_per_tensor(data, bits):
    x, axis = data
    moved = np.moveaxis(x, axis, 0).copy()  # C-contiguous, so the reshape below is a view
    peak = np.abs(moved).max() or moved.dtype.type(1)
    moved.reshape(moved.shape[0], -1)[:, 0] = peak  # every channel now has max|x| = peak
    x = np.moveaxis(moved, 0, axis)
    q, scales = tq.quantize_per_channel(x, axis=axis, num_bits=bits)
    q_tensor, scale = tq.quantize_symmetric(x, num_bits=bits)
    assert np.all(scales == scale)
    np.testing.assert_array_equal(q, q_tensor)


def test_per_channel_mse_is_not_always_smaller():
    """The notebook's counterexample: row 1 lies on the per-tensor grid, not on its own finer grid."""
    x = np.array([[127.0, -50.0, 3.0, 20.0, 0.0], [95.25, 1.0, 2.0, 4.0, 5.0]])
    q_t, scale = tq.quantize_symmetric(x)
    q_c, scales = tq.quantize_per_channel(x)
    assert scale == 1.0 and scales.tolist() == [1.0, 0.75]
    error_t = tq.dequantize_symmetric(q_t, scale) - x
    error_c = tq.dequantize_per_channel(q_c, scales) - x
    assert np.mean(error_c ** 2) > np.mean(error_t ** 2)
    assert abs(error_c[1, 1]) > abs(error_t[1, 1])  # not even elementwise
    assert np.abs(error_c).max() <= scales.max() / 2  # the bound still holds


def test_per_channel_wins_on_every_channel_of_uneven_weights():
    w = uneven_weights()
    q_t, scale = tq.quantize_symmetric(w)
    q_c, scales = tq.quantize_per_channel(w)
    deq_t = tq.dequantize_symmetric(q_t, scale)
    deq_c = tq.dequantize_per_channel(q_c, scales)
    mse_t = np.mean((deq_t.astype(np.float64) - w) ** 2, axis=1)
    mse_c = np.mean((deq_c.astype(np.float64) - w) ** 2, axis=1)
    assert np.all(mse_c <= mse_t)
    assert np.mean(mse_c) < np.mean(mse_t) / 5
    snr_c = [tq.quantization_error(w[c], q_c[c], deq_c[c])["snr_db"] for c in range(len(w))]
    snr_t = [tq.quantization_error(w[c], q_t[c], deq_t[c])["snr_db"] for c in range(len(w))]
    assert min(snr_c) > 40 and min(snr_t) < 10


# --------------------------------------------------------------------------------- axes


@given(data=arrays_and_axes(), bits=num_bits)
def test_axis_k_equals_moveaxis_then_axis_0(data, bits):
    x, axis = data
    q, scales = tq.quantize_per_channel(x, axis=axis, num_bits=bits)
    q0, scales0 = tq.quantize_per_channel(np.moveaxis(x, axis, 0), axis=0, num_bits=bits)
    np.testing.assert_array_equal(scales, scales0)
    np.testing.assert_array_equal(np.moveaxis(q, axis, 0), q0)
    np.testing.assert_array_equal(np.moveaxis(tq.dequantize_per_channel(q, scales, axis=axis), axis, 0),
                                  tq.dequantize_per_channel(q0, scales0, axis=0))


@given(data=arrays_and_axes(), bits=num_bits)
def test_negative_axis_equals_positive(data, bits):
    x, axis = data
    negative, positive = axis - x.ndim if axis >= 0 else axis, axis % x.ndim
    q_n, scales_n = tq.quantize_per_channel(x, axis=negative, num_bits=bits)
    q_p, scales_p = tq.quantize_per_channel(x, axis=positive, num_bits=bits)
    np.testing.assert_array_equal(scales_n, scales_p)
    np.testing.assert_array_equal(q_n, q_p)
    np.testing.assert_array_equal(tq.dequantize_per_channel(q_n, scales_n, axis=negative),
                                  tq.dequantize_per_channel(q_p, scales_p, axis=positive))


def test_conv_and_transposed_layouts():
    rng = np.random.default_rng(1)
    conv = rng.standard_normal((8, 3, 3, 3)) * np.geomspace(0.01, 1.0, 8)[:, None, None, None]
    q, scales = tq.quantize_per_channel(conv)
    np.testing.assert_allclose(scales, np.abs(conv).max(axis=(1, 2, 3)) / 127, rtol=1e-15)
    kernel = np.transpose(conv, (2, 3, 1, 0))  # TensorFlow's (kh, kw, in, out)
    q_k, scales_k = tq.quantize_per_channel(kernel, axis=-1)
    np.testing.assert_array_equal(scales_k, scales)
    np.testing.assert_array_equal(np.transpose(q_k, (3, 2, 0, 1)), q)


def test_float32_input_is_divided_in_float32_like_chapter_02():
    """4.7319579 sets the scale; -2.738574 / scale lies within float32 rounding of the tie -73.5."""
    row = np.array([4.731957912445068, -2.7385740280151367], dtype=np.float32)
    q, scales = tq.quantize_per_channel(np.stack([row, row * np.float32(0.5)]))
    assert q.tolist() == [[127, -74], [127, -74]]
    assert q[0].tolist() == tq.quantize_symmetric(row)[0].tolist()
    assert np.rint(np.float64(row[1]) / scales[0]) == -73  # what a float64 division would give


def test_one_dimensional_input_gives_every_element_its_own_channel():
    q, scales = tq.quantize_per_channel([1.0, -2.5, 0.0, 7e-3], num_bits=4)
    assert q.tolist() == [7, -7, 0, 7]
    np.testing.assert_allclose(scales, [1 / 7, 2.5 / 7, 1.0, 1e-3], rtol=1e-12)


# -------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_and_tiny_channels_never_give_nan(dtype):
    x = np.zeros((4, 5), dtype=dtype)
    x[1] = [1.0, -0.5, 0.25, 0.0, 0.0]
    x[2] = np.array([1e-40, -3e-41, 0, 0, 0], dtype=np.float32).astype(dtype)  # denormal float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            q, scales = tq.quantize_per_channel(x)
            deq = tq.dequantize_per_channel(q, scales)
    assert scales[0] == scales[3] == 1.0 and scales[2] == F32_TINY
    assert not q[[0, 2, 3]].any()
    assert np.isfinite(deq).all() and np.isfinite(1 / scales.astype(np.float32)).all()


@pytest.mark.parametrize("x", [[[1, -2], [0, 3]], np.array([[1, -2], [0, 3]], dtype=np.int8),
                               [[True, False], [False, True]], np.array([[1.0, -2.0], [0.0, 3.0]], np.float16)])
def test_other_input_dtypes_give_float64_scales(x):
    q, scales = tq.quantize_per_channel(x)
    assert scales.dtype == np.float64 and q.dtype == np.int8
    np.testing.assert_array_equal(scales, [tq.symmetric_quant_params(row) for row in np.asarray(x, dtype=np.float64)])


@pytest.mark.parametrize("bits", [2, 8, 9, 16])
def test_bit_widths_and_dtypes(bits):
    x = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    q, scales = tq.quantize_per_channel(x, num_bits=bits)
    assert q.dtype == int_dtype(bits)
    assert np.abs(q).max(axis=1).tolist() == [qmax(bits)] * 3


BAD_CALLS = [
    (lambda: tq.quantize_per_channel(np.ones((2, 3)), axis=2), ValueError, "axis"),
    (lambda: tq.quantize_per_channel(np.ones((2, 3)), axis=-3), ValueError, "axis"),
    (lambda: tq.quantize_per_channel(np.ones((2, 3)), axis=1.0), TypeError, "axis"),
    (lambda: tq.quantize_per_channel(np.ones((2, 3)), axis=True), TypeError, "axis"),
    (lambda: tq.quantize_per_channel(np.ones((2, 3)), axis=None), TypeError, "axis"),
    (lambda: tq.quantize_per_channel(3.0), ValueError, "x"),
    (lambda: tq.quantize_per_channel([]), ValueError, "x"),
    (lambda: tq.quantize_per_channel(np.ones((0, 3))), ValueError, "x"),
    (lambda: tq.quantize_per_channel([[1.0, np.nan]]), ValueError, "x"),
    (lambda: tq.quantize_per_channel([[1.0, -np.inf]]), ValueError, "x"),
    (lambda: tq.quantize_per_channel([["a"]]), TypeError, "x"),
    (lambda: tq.quantize_per_channel([[1.0, 2.0], [3.0]]), ValueError, "x"),
    (lambda: tq.quantize_per_channel(np.ones((2, 3)), num_bits=1), ValueError, "num_bits"),
    (lambda: tq.quantize_per_channel(np.ones((2, 3)), num_bits=17), ValueError, "num_bits"),
    (lambda: tq.quantize_per_channel(np.ones((2, 3)), num_bits=8.0), TypeError, "num_bits"),
    (lambda: tq.per_channel_quant_params(np.ones((2, 3)), axis=5), ValueError, "axis"),
    (lambda: tq.dequantize_per_channel(np.ones((2, 3), np.int8), [1.0, 1.0, 1.0]), ValueError, "scales"),
    (lambda: tq.dequantize_per_channel(np.ones((2, 3), np.int8), [1.0]), ValueError, "scales"),
    (lambda: tq.dequantize_per_channel(np.ones((2, 3), np.int8), 1.0), ValueError, "scales"),
    (lambda: tq.dequantize_per_channel(np.ones((2, 3), np.int8), [[1.0, 1.0]]), ValueError, "scales"),
    (lambda: tq.dequantize_per_channel(np.ones((2, 3), np.int8), [1.0, 0.0]), ValueError, "scales"),
    (lambda: tq.dequantize_per_channel(np.ones((2, 3), np.int8), [1.0, -1.0]), ValueError, "scales"),
    (lambda: tq.dequantize_per_channel(np.ones((2, 3), np.int8), [1.0, np.nan]), ValueError, "scales"),
    (lambda: tq.dequantize_per_channel(np.ones((2, 3), np.int8), [np.inf, 1.0]), ValueError, "scales"),
    (lambda: tq.dequantize_per_channel(np.ones((2, 3), np.int8), ["a", "b"]), TypeError, "scales"),
    (lambda: tq.dequantize_per_channel(np.ones((2, 3)), [1.0, 1.0]), TypeError, "q"),
    (lambda: tq.dequantize_per_channel(np.ones((2, 3), bool), [1.0, 1.0]), TypeError, "q"),
    (lambda: tq.dequantize_per_channel(np.int8(1), [1.0]), ValueError, "q"),
    (lambda: tq.dequantize_per_channel(np.ones((2, 3), np.int8), [1.0] * 3, axis=2), ValueError, "axis"),
    (lambda: tq.dequantize_per_channel(np.ones((2, 3), np.int8), [1.0] * 3, axis="1"), TypeError, "axis"),
    (lambda: tq.compare_quantization_methods(2.0), ValueError, "x"),
    (lambda: tq.compare_quantization_methods([[1.0, np.nan]]), ValueError, "x"),
    (lambda: tq.compare_quantization_methods([[1.0]], num_bits=1), ValueError, "num_bits"),
    (lambda: tq.quantize_per_channel_asymmetric(np.ones((2, 3)), axis=2), ValueError, "axis"),
    (lambda: tq.dequantize_per_channel_asymmetric(np.ones((2, 3), np.uint8), [1.0, 1.0], [0]), ValueError,
     "zero_points"),
    (lambda: tq.dequantize_per_channel_asymmetric(np.ones((2, 3), np.uint8), [1.0, 1.0], [0.0, 0.0]), TypeError,
     "zero_points"),
]


@pytest.mark.parametrize("call, error, argument", BAD_CALLS)
def test_bad_input_raises_naming_the_argument(call, error, argument):
    with pytest.raises(error) as raised:
        call()
    assert str(raised.value).startswith(argument), str(raised.value)


# ---------------------------------------------------------------- per-channel asymmetric


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("signed", [False, True])
def test_per_channel_asymmetric_is_chapter_03_per_channel(axis, signed):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 5, 4)) + np.arange(6.0)[:, None, None]
    q, scales, zero_points = tq.quantize_per_channel_asymmetric(x, axis=axis, signed=signed)
    assert q.shape == x.shape and scales.dtype == np.float64 and zero_points.dtype == np.int32
    assert scales.shape == zero_points.shape == (x.shape[axis],)
    deq = tq.dequantize_per_channel_asymmetric(q, scales, zero_points, axis=axis)
    assert deq.dtype == np.float32 and deq.shape == x.shape
    for c in range(x.shape[axis]):
        q_c, scale_c, zero_point_c = tq.quantize_asymmetric(np.take(x, c, axis=axis), signed=signed)
        np.testing.assert_array_equal(np.take(q, c, axis=axis), q_c)
        assert scales[c] == scale_c and zero_points[c] == zero_point_c
        error = np.abs(np.take(deq, c, axis=axis).astype(np.float64) - np.take(x, c, axis=axis))
        assert error.max() <= scale_c / 2 + roundtrip_slack(float(np.abs(x).max()))


# ------------------------------------------------------------------------ compare methods


def test_compare_quantization_methods_reports_each_scheme():
    w = uneven_weights(16, 64, seed=3)
    for bits in (4, 8):
        results = tq.compare_quantization_methods(w, num_bits=bits)
        assert list(results) == METHODS
        q, scale = tq.quantize_symmetric(w, bits)
        assert results["per-tensor symmetric"] == tq.quantization_error(w, q, tq.dequantize_symmetric(q, scale))
        q, scale, zero_point = tq.quantize_asymmetric(w, bits)
        assert results["per-tensor asymmetric"] == tq.quantization_error(
            w, q, tq.dequantize_asymmetric(q, scale, zero_point))
        q, scales = tq.quantize_per_channel(w, 0, bits)
        assert results["per-channel symmetric"] == tq.quantization_error(w, q, tq.dequantize_per_channel(q, scales))
        q, scales, zero_points = tq.quantize_per_channel_asymmetric(w, 0, bits)
        assert results["per-channel asymmetric"] == tq.quantization_error(
            w, q, tq.dequantize_per_channel_asymmetric(q, scales, zero_points))
        assert results["per-channel symmetric"]["mse"] < results["per-tensor symmetric"]["mse"]
        assert results["per-channel asymmetric"]["mse"] < results["per-tensor asymmetric"]["mse"]


def test_compare_with_one_channel_per_channel_is_per_tensor():
    x = np.random.default_rng(4).standard_normal((1, 50))
    results = tq.compare_quantization_methods(x)
    assert results["per-channel symmetric"] == results["per-tensor symmetric"]
    assert results["per-channel asymmetric"] == results["per-tensor asymmetric"]


# -------------------------------------------------------------------------- memory cost


@pytest.mark.parametrize("shape, overhead", [((4096, 4096), 4 / 4096), ((64, 64, 3, 3), 4 / 576),
                                             ((64, 3, 3, 3), 4 / 27), ((16, 4), 1.0)])
def test_scale_overhead_is_four_bytes_over_the_weights_of_a_channel(shape, overhead):
    x = np.ones(shape, dtype=np.float32)
    q, scales = tq.quantize_per_channel(x)
    assert q.nbytes == x.size and scales.nbytes == 8 * shape[0]
    assert scales.astype(np.float32).nbytes / q.nbytes == pytest.approx(overhead, rel=1e-12)


# ------------------------------------------------------------------------------ Level 1


@given(matrix=matrices(), axis=st.sampled_from([0, 1, -1, -2]), bits=num_bits)
def test_level1_equals_level2_on_float64(matrix, axis, bits):
    q1, scales1 = tqp.quantize_per_channel(matrix, axis=axis, bits=bits)
    q2, scales2 = tq.quantize_per_channel(np.array(matrix, dtype=np.float64), axis=axis, num_bits=bits)
    assert scales1 == scales2.tolist()
    assert q1 == q2.tolist()
    assert all(type(v) is int for row in q1 for v in row) and all(type(s) is float for s in scales1)


@given(matrix=matrices(), axis=st.sampled_from([0, 1]), bits=pure_bits)
def test_level1_channels_are_chapter_02_level1(matrix, axis, bits):
    q, scales = tqp.quantize_per_channel(matrix, axis=axis, bits=bits)
    columns = [list(column) for column in zip(*matrix)]
    q_columns = [list(column) for column in zip(*q)]
    for c, channel in enumerate(matrix if axis == 0 else columns):
        q_c, scale_c = tqp.quantize_symmetric(channel, bits=bits)
        assert scales[c] == scale_c
        assert (q[c] if axis == 0 else q_columns[c]) == q_c


@given(matrix=matrices(max_abs=1e300), axis=st.sampled_from([0, 1, -1, -2]), bits=pure_bits)
def test_level1_roundtrip_error_at_most_half_of_each_channels_step(matrix, axis, bits):
    q, scales = tqp.quantize_per_channel(matrix, axis=axis, bits=bits)
    deq = tqp.dequantize_per_channel(q, scales, axis=axis)
    for i, (row, row_hat) in enumerate(zip(matrix, deq)):
        for j, (value, value_hat) in enumerate(zip(row, row_hat)):
            scale = scales[i if axis % 2 == 0 else j]
            assert abs(value - value_hat) <= scale / 2 + 4 * 2.0 ** -53 * abs(value)


def test_level1_examples():
    assert tqp.quantize_per_channel([[1.0, -0.5, 0.3], [0.02, -0.01, 0.0]]) == (
        [[127, -64, 38], [127, -64, 0]], [1 / 127, 0.02 / 127])
    assert tqp.quantize_per_channel([[7.0, 1.0, 0.0], [-3.5, 0.5, 0.0]], axis=1, bits=4) == (
        [[7, 7, 0], [-4, 4, 0]], [1.0, 1 / 7, 1.0])
    assert tqp.quantize_per_channel([[3.0, 1.0], [1.0, 4.0]], axis=1) == ([[127, 32], [42, 127]], [3 / 127, 4 / 127])
    assert tqp.quantize_per_channel(((1e-320, -1e-320), (0.0, 0.0))) == ([[0, 0], [0, 0]], [2.0 ** -126, 1.0])
    assert tqp.dequantize_per_channel([[7, 7], [-4, 4]], [1.0, 0.5], axis=1) == [[7.0, 3.5], [-4.0, 2.0]]


PURE_BAD_CALLS = [
    (lambda: tqp.quantize_per_channel([[1.0, 2.0], [3.0]]), ValueError, "matrix"),
    (lambda: tqp.quantize_per_channel([]), ValueError, "matrix"),
    (lambda: tqp.quantize_per_channel([[]]), ValueError, "matrix[0]"),
    (lambda: tqp.quantize_per_channel([[1.0, "2"]]), TypeError, "matrix[0][1]"),
    (lambda: tqp.quantize_per_channel([[1.0], [None]]), TypeError, "matrix[1][0]"),
    (lambda: tqp.quantize_per_channel([[True]]), TypeError, "matrix[0][0]"),
    (lambda: tqp.quantize_per_channel([1.0, 2.0]), TypeError, "matrix[0]"),
    (lambda: tqp.quantize_per_channel(1.0), TypeError, "matrix"),
    (lambda: tqp.quantize_per_channel([[1.0, math.nan]]), ValueError, "matrix[0][1]"),
    (lambda: tqp.quantize_per_channel([[math.inf]]), ValueError, "matrix[0][0]"),
    (lambda: tqp.quantize_per_channel([[1.0]], axis=2), ValueError, "axis"),
    (lambda: tqp.quantize_per_channel([[1.0]], axis=-3), ValueError, "axis"),
    (lambda: tqp.quantize_per_channel([[1.0]], axis=0.0), TypeError, "axis"),
    (lambda: tqp.quantize_per_channel([[1.0]], bits=1), ValueError, "bits"),
    (lambda: tqp.quantize_per_channel([[1.0]], bits=33), ValueError, "bits"),
    (lambda: tqp.quantize_per_channel([[1.0]], bits="8"), TypeError, "bits"),
    (lambda: tqp.dequantize_per_channel([[1, 2]], [1.0, 1.0]), ValueError, "scales"),
    (lambda: tqp.dequantize_per_channel([[1, 2]], [1.0, 0.0], axis=1), ValueError, "scales[1]"),
    (lambda: tqp.dequantize_per_channel([[1.5, 2]], [1.0]), TypeError, "quantized[0][0]"),
    (lambda: tqp.dequantize_per_channel([[1], [2, 3]], [1.0, 1.0]), ValueError, "quantized"),
]


@pytest.mark.parametrize("call, error, argument", PURE_BAD_CALLS)
def test_level1_bad_input_raises_naming_the_argument(call, error, argument):
    with pytest.raises(error) as raised:
        call()
    assert str(raised.value).startswith(argument), str(raised.value)


CHILD = r"""
import json, sys
sys.modules['numpy'] = None
import tinyquant.pure as tqp
q, scales = tqp.quantize_per_channel([[1.0, -0.5, 0.3], [0.02, -0.01, 0.0]])
q1, scales1 = tqp.quantize_per_channel([[7.0, 1.0], [-3.5, 0.5]], axis=1, bits=4)
print(json.dumps({"q": q, "scales": scales, "q1": q1, "scales1": scales1,
                  "deq": tqp.dequantize_per_channel(q1, scales1, axis=1),
                  "numpy": sorted(m for m in sys.modules if m.split('.')[0] == 'numpy' and sys.modules[m] is not None)}))
"""


def test_level1_runs_without_numpy():
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=root, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["numpy"] == []
    assert result["q"] == [[127, -64, 38], [127, -64, 0]]
    assert result["scales"] == pytest.approx([1 / 127, 0.02 / 127], rel=1e-15)
    assert result["q1"] == [[7, 7], [-4, 4]] and result["scales1"] == pytest.approx([1.0, 1 / 7])
    assert result["deq"] == [[7.0, 7 * (1 / 7)], [-4.0, 4 * (1 / 7)]]
