"""Tests of ``tinyquant.quantize_per_channel_asymmetric`` (chapter 04, exercise 4).

The contract: channel c of ``x`` along ``axis`` (``np.take(x, c, axis=axis)``) is quantized
exactly as chapter 03's ``quantize_asymmetric(channel, num_bits, signed)`` quantizes it alone,
and its integers go back to the place the channel came from. ``q`` has the shape of ``x`` and
the dtype ``quantize_asymmetric`` returns; the scales are float64 and the zero points int32,
one per channel. Every check below compares with that reference, built here channel by
channel, or with values worked out by hand.

Hypothesis runs under the "ci" profile of conftest.py (derandomized, no deadline).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinyquant as tq
from strategies import finite_arrays, num_bits


def reference(x, axis, bits=8, signed=False):
    """Chapter 03's quantize_asymmetric on each slice of x along axis: (q, scales, zero_points)."""
    x = np.asarray(x)
    results = [tq.quantize_asymmetric(np.take(x, c, axis=axis), bits, signed) for c in range(x.shape[axis])]
    return (np.stack([np.asarray(r[0]) for r in results], axis=axis),
            np.array([r[1] for r in results], dtype=np.float64),
            np.array([r[2] for r in results], dtype=np.int32))


def assert_same(got, expected):
    """Same three arrays: values, shapes and dtypes."""
    for g, e in zip(got, expected, strict=True):
        assert isinstance(g, np.ndarray)
        assert g.dtype == e.dtype and g.shape == e.shape, (g.dtype, g.shape, e.dtype, e.shape)
        np.testing.assert_array_equal(g, e)


# ------------------------------------------------------------------------ worked by hand


def test_docstring_example_rows():
    # Row 0 spans [0, 2.55], row 1 [-1.0, 1.55]: both 2.55 wide, scale 0.01; row 1's 0.0 is
    # code round(1.0 / 0.01) = 100.
    q, scales, zero_points = tq.quantize_per_channel_asymmetric([[0.0, 2.55], [-1.0, 1.55]])
    np.testing.assert_array_equal(q, np.array([[0, 255], [0, 255]], dtype=np.uint8))
    assert q.dtype == np.uint8
    np.testing.assert_allclose(scales, [0.01, 0.01], rtol=1e-12)
    assert scales.dtype == np.float64
    assert zero_points.tolist() == [0, 100] and zero_points.dtype == np.int32


def test_columns_stay_columns():
    # The same channels as columns: the result is the transpose, not the rows' layout.
    q, scales, zero_points = tq.quantize_per_channel_asymmetric([[0.0, -1.0], [2.55, 1.55]], axis=-1)
    assert q.tolist() == [[0, 0], [255, 255]]
    assert zero_points.tolist() == [0, 100]


def test_each_range_is_widened_to_include_zero():
    # 2 bits, codes 0..3. [1, 3] is quantized on [0, 3] (scale 1, z 0); [-2, -1] on [-2, 0]
    # (scale 2/3, z 3). Not widened, they would give [2, 3] and [0, 0].
    q, scales, zero_points = tq.quantize_per_channel_asymmetric([[1.0, 3.0], [-2.0, -1.0]], num_bits=2)
    assert q.tolist() == [[1, 3], [0, 1]]
    np.testing.assert_allclose(scales, [1.0, 2.0 / 3.0], rtol=1e-12)
    assert zero_points.tolist() == [0, 3]


def test_constant_and_all_zero_channels():
    x = np.array([[2.5, 2.5, 2.5], [0.0, 0.0, 0.0], [-4.0, -4.0, -4.0]])
    q, scales, zero_points = tq.quantize_per_channel_asymmetric(x)
    assert q.tolist() == [[255] * 3, [0] * 3, [0] * 3]
    assert scales.tolist() == [2.5 / 255, 1.0, 4.0 / 255]
    assert zero_points.tolist() == [0, 0, 255]
    q, scales, zero_points = tq.quantize_per_channel_asymmetric(np.zeros((2, 3)), axis=1, signed=True)
    assert q.dtype == np.int8 and (q == -128).all()  # signed: 0.0 is qmin, -128
    assert scales.tolist() == [1.0] * 3 and zero_points.tolist() == [-128] * 3


def test_one_dimensional_x_every_element_is_a_channel():
    q, scales, zero_points = tq.quantize_per_channel_asymmetric([3.0, -1.0, 0.0, 0.5], num_bits=4)
    assert q.tolist() == [15, 0, 0, 15] and zero_points.tolist() == [0, 15, 0, 0]
    assert scales[2] == 1.0


# ------------------------------------------------------------- against chapter 03, per channel


@pytest.mark.parametrize("shape, axis", [((7, 9), 0), ((7, 9), 1), ((7, 9), -1), ((7, 9), -2),
                                         ((4, 5, 6), 0), ((4, 5, 6), 1), ((4, 5, 6), 2), ((4, 5, 6), -1),
                                         ((4, 5, 6), -2), ((4, 5, 6), -3), ((6,), 0), ((6,), -1)])
@pytest.mark.parametrize("bits", [2, 4, 8, 12, 16])
@pytest.mark.parametrize("signed", [False, True])
def test_equals_quantize_asymmetric_per_channel(shape, axis, bits, signed):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape) * np.geomspace(0.01, 10.0, shape[-1]) + 0.5
    if len(shape) > 1:
        x[0] = np.abs(x[0])  # a positive slice along axis 0
        x[..., 1] = 0.0      # an all-zero slice along the last axis
    assert_same(tq.quantize_per_channel_asymmetric(x, axis=axis, num_bits=bits, signed=signed),
                reference(x, axis, bits, signed))


@pytest.mark.parametrize("bits, signed, dtype", [(8, False, np.uint8), (8, True, np.int8),
                                                 (12, False, np.uint16), (12, True, np.int16)])
def test_float32_input_dtypes(bits, signed, dtype):
    x = (np.random.default_rng(6).standard_normal((5, 8)) * [[0.1], [1.0], [3.0], [10.0], [0.01]]).astype(np.float32)
    q, scales, zero_points = tq.quantize_per_channel_asymmetric(x, axis=0, num_bits=bits, signed=signed)
    assert q.dtype == dtype and scales.dtype == np.float64 and zero_points.dtype == np.int32
    assert_same((q, scales, zero_points), reference(x, 0, bits, signed))


def test_the_last_axis_is_the_moved_axis_zero():
    x = np.random.default_rng(7).standard_normal((3, 4, 6)) + np.arange(6.0)
    q_last = tq.quantize_per_channel_asymmetric(x, axis=-1)
    q_first = tq.quantize_per_channel_asymmetric(np.moveaxis(x, -1, 0), axis=0)
    np.testing.assert_array_equal(q_last[0], np.moveaxis(q_first[0], 0, -1))
    np.testing.assert_array_equal(q_last[1], q_first[1])
    np.testing.assert_array_equal(q_last[2], q_first[2])


@given(data=st.data(), bits=num_bits, signed=st.booleans())
def test_property_per_channel_is_chapter_03_per_channel(data, bits, signed):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6))
    x = data.draw(finite_arrays(shape=shape))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    got = tq.quantize_per_channel_asymmetric(x, axis=axis, num_bits=bits, signed=signed)
    assert_same(got, reference(x, axis, bits, signed))
    deq = tq.dequantize_per_channel_asymmetric(*got, axis=axis)
    for c in range(x.shape[axis]):
        np.testing.assert_array_equal(np.take(deq, c, axis=axis), tq.dequantize_asymmetric(
            np.take(got[0], c, axis=axis), float(got[1][c]), int(got[2][c])))


# --------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, error, argument", [
    ({"axis": 2}, ValueError, "axis"),
    ({"axis": -3}, ValueError, "axis"),
    ({"axis": 1.0}, TypeError, "axis"),
    ({"axis": True}, TypeError, "axis"),
    ({"axis": "0"}, TypeError, "axis"),
    ({"num_bits": 1}, ValueError, "num_bits"),
    ({"num_bits": 17}, ValueError, "num_bits"),
    ({"num_bits": 8.0}, TypeError, "num_bits"),
    ({"signed": "yes"}, TypeError, "signed"),
    ({"signed": 1}, TypeError, "signed"),
])
def test_bad_arguments_raise_naming_them(kwargs, error, argument):
    with pytest.raises(error) as raised:
        tq.quantize_per_channel_asymmetric(np.ones((2, 3)), **kwargs)
    assert str(raised.value).startswith(argument), str(raised.value)


@pytest.mark.parametrize("x, error", [(3.0, ValueError), (np.ones((0, 3)), ValueError),
                                      ([[1.0, np.nan]], ValueError), ([[1.0, np.inf]], ValueError),
                                      ([["a", "b"]], TypeError)])
def test_bad_x_raises_naming_it(x, error):
    with pytest.raises(error) as raised:
        tq.quantize_per_channel_asymmetric(x)
    assert str(raised.value).startswith("x"), str(raised.value)
