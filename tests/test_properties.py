"""Property-based tests (Hypothesis) for chapter 02.

Settings come from the "ci" profile in conftest.py (derandomized, no deadline,
<= 200 examples). Strategies and the floating-point slack are in strategies.py.
"""
from __future__ import annotations

import math
import statistics
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinyquant as tq
import tinyquant.pure as tqp
from strategies import (F32_TINY, U32, check_metric_invariants, elements, finite_arrays, float_lists, int_dtype,
                        num_bits, pure_bits, qmax, roundtrip_slack, shapes_1d)

U64 = 2.0 ** -53  # float64 unit roundoff


def _relative_error_rtol(xs: list[float]) -> float | None:
    """Tolerance for relative_error = mse / var(x), or None where var is ill-conditioned.

    var is computed differently by each implementation (NumPy's two-pass, a Python loop,
    ``statistics``). Even the crudest formula, mean(x^2) - mean(x)^2, is accurate to
    about n*u*mean(x^2)/var relative; we allow 4x that plus 1e-9. Where var is 0 or that
    bound reaches 1% (a near-constant tensor) the value carries no digits worth checking.
    """
    n = len(xs)
    var = statistics.pvariance(xs)  # exact arithmetic (fractions), correctly rounded
    if var == 0:
        return None
    power = math.fsum(v * v for v in xs) / n
    tol = 1e-9 + 4 * n * U64 * power / var
    return tol if tol < 1e-2 else None


def _amax(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.abs(x).max())


# -------------------------------------------------------------------- round trip


@given(x=finite_arrays(), bits=num_bits)
def test_roundtrip_error_at_most_half_a_step(x, bits):
    q, scale = tq.quantize_symmetric(x, num_bits=bits)
    deq = tq.dequantize_symmetric(q, scale)
    assert np.isfinite(deq).all()
    err = np.abs(x.astype(np.float64) - deq.astype(np.float64))
    assert err.max() <= scale / 2 + roundtrip_slack(_amax(x))


@given(scale=st.floats(1e-6, 1e6), data=st.data())
def test_roundtrip_with_given_scale_inside_and_outside_range(scale, data):
    x = data.draw(finite_arrays(dtype=np.float64, max_abs=1e9))
    q = tq.quantize_int8(x, scale)
    assert q.dtype == np.int8 and q.shape == x.shape
    deq = tq.dequantize_int8(q, scale).astype(np.float64)
    limit = 127 * scale
    inside = np.abs(x) <= limit
    slack = roundtrip_slack(limit)
    assert (np.abs(x - deq)[inside] <= scale / 2 + slack).all()
    # outside the representable range values saturate at +-127, never wrap, never -128
    qi = q.astype(np.int64)
    assert (qi[x > limit * (1 + 4 * U64)] == 127).all()
    assert (qi[x < -limit * (1 + 4 * U64)] == -127).all()
    assert qi.min(initial=0) >= -127


@given(x=float_lists(), bits=pure_bits)
def test_level1_roundtrip_error_at_most_half_a_step(x, bits):
    amax = _amax(x)
    assume(amax == 0 or amax / qmax(bits) >= sys.float_info.min)  # normal float64 scale
    q, scale = tqp.quantize_symmetric(x, bits=bits)
    deq = tqp.dequantize_symmetric(q, scale)
    assert len(q) == len(deq) == len(x)
    assert all(type(v) is int and abs(v) <= qmax(bits) for v in q)
    # float64 throughout: x/scale and q*scale each one rounding; 8 u64 * amax is ample
    bound = scale / 2 + 8 * U64 * amax
    assert all(abs(a - b) <= bound for a, b in zip(x, deq))


@given(x=finite_arrays(), bits=num_bits)
def test_mse_bounded_by_quarter_step_squared(x, bits):
    q, scale = tq.quantize_symmetric(x, num_bits=bits)
    m = tq.quantization_error(x, q, tq.dequantize_symmetric(q, scale))
    step = scale / 2 + roundtrip_slack(_amax(x))
    assert 0.0 <= m["mse"] <= step * step
    assert 0.0 <= m["mae"] <= m["max_error"] <= step
    assert not any(math.isnan(m[k]) for k in ("mse", "mae", "max_error", "relative_error",
                                               "snr_db"))


@given(x=finite_arrays(), bits=num_bits)
def test_error_metrics_are_consistent(x, bits):
    """relative_error = mse / var(original); snr_db = 10 log10(mean(x^2) / mse)."""
    q, scale = tq.quantize_symmetric(x, num_bits=bits)
    deq = tq.dequantize_symmetric(q, scale)
    m = tq.quantization_error(x, q, deq)
    xs = x.astype(np.float64).ravel()
    e = xs - deq.astype(np.float64).ravel()
    mse = float(np.mean(e * e))
    # float64 means of <= 512 terms: rounding ~1e-13 relative; 1e-9 is generous
    assert m["mse"] == pytest.approx(mse, rel=1e-9, abs=0)
    assert m["max_error"] == pytest.approx(float(np.abs(e).max()), rel=1e-12, abs=0)
    assert m["mae"] == pytest.approx(float(np.abs(e).mean()), rel=1e-9, abs=0)
    power = float(np.mean(xs * xs))
    if not np.any(e):
        assert m["relative_error"] == 0.0
        assert m["snr_db"] == math.inf
    elif 0 < mse < math.inf:  # else the naive reference itself under- or overflowed
        tol = _relative_error_rtol(xs.tolist())
        if tol is not None:
            var = statistics.pvariance(xs.tolist())
            assert m["relative_error"] == pytest.approx(mse / var, rel=tol)
        if power > 0:
            assert m["snr_db"] == pytest.approx(10 * math.log10(power / mse), rel=1e-9,
                                                abs=1e-9)
        else:
            assert m["snr_db"] == -math.inf


@given(x=finite_arrays(), bits=num_bits)
def test_error_metric_invariants_level2(x, bits):
    q, scale = tq.quantize_symmetric(x, num_bits=bits)
    check_metric_invariants(tq.quantization_error(x, q, tq.dequantize_symmetric(q, scale)),
                            x.size)


@given(x=float_lists(max_abs=1e300), bits=pure_bits)
def test_error_metric_invariants_level1(x, bits):
    """Level 1 takes any finite float64, so huge magnitudes are in its domain too."""
    q, scale = tqp.quantize_symmetric(x, bits=bits)
    check_metric_invariants(tqp.quantization_error(x, q, scale), len(x), max(map(abs, x)))


# ------------------------------------------------------------------- symmetry


@given(x=finite_arrays(), bits=num_bits)
def test_sign_symmetry(x, bits):
    q, scale = tq.quantize_symmetric(x, num_bits=bits)
    qn, scale_n = tq.quantize_symmetric(-x, num_bits=bits)
    assert scale_n == scale
    np.testing.assert_array_equal(qn.astype(np.int64), -q.astype(np.int64))


@given(x=finite_arrays(dtype=np.float64, max_abs=1e6), scale=st.floats(1e-4, 1e4))
def test_sign_symmetry_given_scale(x, scale):
    np.testing.assert_array_equal(tq.quantize_int8(-x, scale).astype(np.int64),
                                  -tq.quantize_int8(x, scale).astype(np.int64))


@given(x=float_lists(), bits=pure_bits)
def test_sign_symmetry_level1(x, bits):
    q, scale = tqp.quantize_symmetric(x, bits=bits)
    qn, scale_n = tqp.quantize_symmetric([-v for v in x], bits=bits)
    assert scale_n == scale
    assert qn == [-v for v in q]


# ---------------------------------------------------------- dtype / shape contract


@given(x=finite_arrays(), bits=num_bits)
def test_dtype_and_shape_contract(x, bits):
    q, scale = tq.quantize_symmetric(x, num_bits=bits)
    assert q.shape == x.shape
    assert q.dtype == int_dtype(bits)
    assert math.isfinite(scale) and scale > 0
    assert scale == tq.symmetric_quant_params(x, num_bits=bits)
    qi = np.asarray(q, dtype=np.int64)
    assert qi.min() >= -qmax(bits) and qi.max() <= qmax(bits)
    amax = _amax(x)
    if amax == 0:
        assert scale == 1.0
    elif amax / qmax(bits) >= F32_TINY:
        # the largest |x| maps to the end of the range: the whole range is used
        assert scale == pytest.approx(amax / qmax(bits), rel=2 * U32)
        assert np.abs(qi).max() == qmax(bits)
    else:
        # floored (equality itself is checked in test_edge.py on clear-cut cases; here
        # amax/qmax may sit within a float32 rounding of the floor)
        assert scale == pytest.approx(F32_TINY, rel=2 * U32)
    deq = tq.dequantize_symmetric(q, scale)
    assert deq.shape == x.shape and deq.dtype == np.float32


@given(x=finite_arrays(), bits=num_bits)
def test_absmax_quantize_equals_quantize_symmetric(x, bits):
    q1, s1 = tq.absmax_quantize(x, n_bits=bits)
    q2, s2 = tq.quantize_symmetric(x, num_bits=bits)
    assert s1 == s2
    assert q1.dtype == q2.dtype and q1.shape == q2.shape
    np.testing.assert_array_equal(q1, q2)
    np.testing.assert_array_equal(tq.dequantize(q1, s1), tq.dequantize_symmetric(q2, s2))


@given(x=finite_arrays())
def test_quantize_int8_with_own_scale_equals_quantize_symmetric(x):
    scale = tq.symmetric_quant_params(x)
    np.testing.assert_array_equal(tq.quantize_int8(x, scale), tq.quantize_symmetric(x)[0])
    np.testing.assert_array_equal(tq.dequantize_int8(tq.quantize_int8(x, scale), scale),
                                  tq.dequantize_symmetric(tq.quantize_symmetric(x)[0], scale))


@given(x=finite_arrays())
def test_requantizing_dequantized_values_is_idempotent(x):
    q, scale = tq.quantize_symmetric(x)
    deq = tq.dequantize_int8(q, scale)
    # deq = q*scale (1 +- 3u): deq/scale is within 127*3u << 0.5 of q
    np.testing.assert_array_equal(tq.quantize_int8(deq, scale), q)


@given(x=finite_arrays(dtype=np.float32), bits=num_bits,
       chunk_size=st.integers(1, 600))
def test_level3_equals_level2_float32(x, bits, chunk_size):
    q2, s2 = tq.quantize_symmetric(x, num_bits=bits)
    q3, s3 = tq.quantize_symmetric_chunked(x, num_bits=bits, chunk_size=chunk_size)
    assert s3 == s2
    assert q3.dtype == q2.dtype and q3.shape == q2.shape
    np.testing.assert_array_equal(q3, q2)


# ----------------------------------------------------------- Level 1 == Level 2


@given(x=float_lists(), bits=num_bits)
def test_level1_equals_level2(x, bits):
    amax = _amax(x)
    # below this, Level 2 floors the scale at float32 tiny by spec; Level 1 is free to
    # do otherwise (see test_edge.py for both levels near zero)
    assume(amax == 0 or amax / qmax(bits) >= F32_TINY)
    q1, s1 = tqp.quantize_symmetric(x, bits=bits)
    q2, s2 = tq.quantize_symmetric(np.asarray(x, dtype=np.float64), num_bits=bits)
    assert q1 == q2.tolist()
    assert s1 == pytest.approx(s2, rel=2 * U32)
    deq1 = tqp.dequantize_symmetric(q1, s1)
    deq2 = tq.dequantize_symmetric(q2, s2)
    # Level 2 rounds q*scale to float32 (after, possibly, rounding scale to float32):
    # two float32 roundings away from Level 1's float64 product
    np.testing.assert_allclose(deq2, deq1, rtol=3 * U32, atol=0)


@given(x=float_lists(max_abs=1e100), bits=num_bits)
def test_level1_error_metrics_equal_level2(x, bits):
    amax = _amax(x)
    assume(amax == 0 or amax / qmax(bits) >= F32_TINY)
    q, scale = tqp.quantize_symmetric(x, bits=bits)
    m1 = tqp.quantization_error(x, q, scale)
    # Level 2 given Level 1's float64 dequantized values: the same numbers, summed in
    # another order (n <= 64 terms, ~1e-14 relative)
    m2 = tq.quantization_error(np.asarray(x), np.asarray(q),
                               np.asarray(tqp.dequantize_symmetric(q, scale)))
    for key in ("mse", "mae", "max_error", "relative_error", "snr_db"):
        assert type(m1[key]) is float and type(m2[key]) is float, key
        assert not math.isnan(m1[key]) and not math.isnan(m2[key]), key
    for key in ("mse", "mae", "max_error", "snr_db"):
        assert m2[key] == pytest.approx(m1[key], rel=1e-9, abs=1e-300), key
    tol = _relative_error_rtol(x)
    if tol is not None:
        assert m2["relative_error"] == pytest.approx(m1["relative_error"], rel=2 * tol)


# ----------------------------------------------------------------- monotonicity


@given(x=finite_arrays(shape=shapes_1d), bits=num_bits)
def test_quantize_is_monotonic(x, bits):
    xs = np.sort(x)
    q, _ = tq.quantize_symmetric(xs, num_bits=bits)
    assert (np.diff(q.astype(np.int64)) >= 0).all()


@given(data=st.data(), scale=st.floats(1e-4, 1e4))
def test_quantize_int8_is_monotonic_given_scale(data, scale):
    xs = np.sort(data.draw(finite_arrays(dtype=np.float64, shape=shapes_1d, max_abs=1e7)))
    q = tq.quantize_int8(xs, scale)
    assert (np.diff(q.astype(np.int64)) >= 0).all()


@given(x=float_lists(min_size=2), bits=pure_bits)
def test_level1_quantize_is_monotonic(x, bits):
    q, _ = tqp.quantize_symmetric(sorted(x), bits=bits)
    assert all(a <= b for a, b in zip(q, q[1:]))


# ----------------------------------------------------------------- SNR vs bits


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1000, 4096))
def test_snr_grows_with_bits(seed, n):
    """Gaussian data: every extra bit more than halves the step, so SNR rises (~6 dB/bit).

    Not true for every tensor (the int-b and int-(b+1) grids are not nested, so a few
    hand-picked values can lose), hence a smooth random signal of >= 1000 samples.
    """
    x = np.random.default_rng(seed).standard_normal(n)
    snrs = []
    for bits in range(2, 17):
        q, scale = tq.quantize_symmetric(x, num_bits=bits)
        snrs.append(tq.quantization_error(x, q, tq.dequantize_symmetric(q, scale))["snr_db"])
    assert all(b > a for a, b in zip(snrs, snrs[1:])), snrs
    # 6.02 dB per bit, averaged over the bits where the uniform-error model holds
    slope = (snrs[14] - snrs[6]) / (16 - 8)
    assert 5.0 < slope < 7.0, slope


@settings(max_examples=25)  # pure Python on 1000 values x 5 widths: keep it quick
@given(seed=st.integers(0, 2**32 - 1))
def test_snr_grows_with_bits_level1(seed):
    x = np.random.default_rng(seed).standard_normal(1000).tolist()
    snrs = [tqp.quantization_error(x, *tqp.quantize_symmetric(x, bits=b))["snr_db"]
            for b in (2, 4, 8, 16, 24)]
    assert all(b > a for a, b in zip(snrs, snrs[1:])), snrs


def test_elements_strategy_respects_float32_range():
    """Guard for the strategies themselves: float64 elements stay in float32 range."""
    @given(v=elements(np.float64))
    def check(v):
        assert abs(v) <= float(np.finfo(np.float32).max)
    check()
