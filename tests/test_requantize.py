"""Tests of chapter 06's fixed-point requantization (``tinyquant.requantize``).

* ``quantize_multiplier(m)``: ``m0`` in [2**30, 2**31), ``m0 * 2**(shift - 31)`` within 2**-31
  (relative) of ``m``, and ``m0`` is the 31-bit rounding of the significand of ``m``;
* ``requantize``: equals, bit for bit, ``clamp(floor(acc * m0 / 2**(31 - shift) + 1/2) + zp)``
  computed with Python's exact integers (nearest, ties toward +inf), and is within one step of
  exact rounding of ``acc * m`` for the real multiplier;
* saturation, output dtype, bad input naming the argument;
* ``quantized_matmul_production`` equals requantizing the exact int64 accumulator.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyquant as tq

multipliers = st.floats(min_value=2.0 ** -33, max_value=2.0 ** 29, allow_nan=False, allow_infinity=False)
accumulators = st.lists(st.one_of(st.integers(-2 ** 31, 2 ** 31 - 1),
                                  st.sampled_from([-2 ** 31, 2 ** 31 - 1, 0, 1, -1])), min_size=1, max_size=50)


def exact_requantize(acc, m0, shift, zero_point, num_bits):
    right = 31 - shift
    low, high = -2 ** (num_bits - 1), 2 ** (num_bits - 1) - 1
    return [min(high, max(low, ((a * m0 + (1 << (right - 1))) >> right) + zero_point)) for a in acc]


@given(m=multipliers)
def test_quantize_multiplier_contract(m):
    m0, shift = tq.quantize_multiplier(m)
    assert type(m0) is int and type(shift) is int
    assert 2 ** 30 <= m0 < 2 ** 31 and -32 <= shift <= 30
    represented = Fraction(m0) * Fraction(2) ** (shift - 31)
    assert abs(represented - Fraction(m)) <= Fraction(m) * Fraction(1, 2 ** 31)


@pytest.mark.parametrize("m, expected", [(0.5, (2 ** 30, 0)), (1.0, (2 ** 30, 1)), (0.75, (3 * 2 ** 29, 0)),
                                         (1 - 2.0 ** -40, (2 ** 30, 1)), (2.0 ** -33, (2 ** 30, -32))])
def test_quantize_multiplier_known_values(m, expected):
    assert tq.quantize_multiplier(m) == expected


@pytest.mark.parametrize("m, error", [(0.0, ValueError), (-0.5, ValueError), (float("nan"), ValueError),
                                      (float("inf"), ValueError), (2.0 ** 30, ValueError), (2.0 ** -34, ValueError),
                                      ("0.5", TypeError), (True, TypeError)])
def test_quantize_multiplier_bad_input(m, error):
    with pytest.raises(error, match="m "):
        tq.quantize_multiplier(m)


@given(acc=accumulators, m=multipliers, zero_point=st.integers(-128, 127))
def test_requantize_is_exact_fixed_point_rounding(acc, m, zero_point):
    m0, shift = tq.quantize_multiplier(m)
    q = tq.requantize(np.array(acc, dtype=np.int64), m0, shift, zero_point=zero_point)
    assert q.dtype == np.int8 and q.shape == (len(acc),)
    assert q.tolist() == exact_requantize(acc, m0, shift, zero_point, 8)


@given(acc=accumulators, m=multipliers, zero_point=st.integers(-2 ** 15, 2 ** 15 - 1))
def test_requantize_within_one_step_of_exact_rounding(acc, m, zero_point):
    q = tq.requantize(np.array(acc, dtype=np.int32), *tq.quantize_multiplier(m), zero_point=zero_point, num_bits=16)
    assert q.dtype == np.int16
    for a, value in zip(acc, q.tolist()):
        ideal = Fraction(a) * Fraction(m) + zero_point  # the real multiplier, unrounded
        clamped = min(Fraction(2 ** 15 - 1), max(Fraction(-2 ** 15), ideal))
        assert abs(value - clamped) <= 1, (a, m, value, float(clamped))


def test_requantize_ties_go_up_and_saturate():
    m0, shift = tq.quantize_multiplier(0.5)
    assert tq.requantize(np.arange(-5, 6), m0, shift).tolist() == [-2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3]
    assert tq.requantize(np.array([1000, -1000, 255, -257]), m0, shift).tolist() == [127, -128, 127, -128]


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(acc=np.array([2 ** 31])), ValueError, "acc"), (dict(acc=np.array([1.0])), TypeError, "acc"),
    (dict(m0=2 ** 31), ValueError, "m0"), (dict(m0=2 ** 29), ValueError, "m0"),
    (dict(shift=31), ValueError, "shift"), (dict(shift=-33), ValueError, "shift"),
    (dict(zero_point=128), ValueError, "zero_point"), (dict(num_bits=17), ValueError, "num_bits"),
])
def test_requantize_bad_input(kwargs, error, name):
    args = dict(acc=np.array([1, 2]), m0=2 ** 30, shift=0) | kwargs
    with pytest.raises(error, match=name):
        tq.requantize(**args)


def test_quantized_matmul_production_equals_requantized_exact_accumulator():
    rng = np.random.default_rng(0)
    x_q = rng.integers(-128, 128, size=(16, 300), dtype=np.int8)
    w_q = rng.integers(-127, 128, size=(300, 24), dtype=np.int8)
    x_scale, w_scale, out_scale, x_zp, out_zp = 0.02, 0.003, 0.05, -7, 4
    acc = (x_q.astype(np.int64) - x_zp) @ w_q.astype(np.int64)
    m0, shift = tq.quantize_multiplier(x_scale * w_scale / out_scale)
    expected = exact_requantize(acc.ravel().tolist(), m0, shift, out_zp, 8)
    y = tq.quantized_matmul_production(x_q, w_q, x_scale, w_scale, out_scale, x_zp=x_zp, output_zp=out_zp)
    assert y.dtype == np.int8 and y.shape == (16, 24)
    assert y.ravel().tolist() == expected
