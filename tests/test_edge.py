"""Tier 2 (seed 000): boundary conditions of chapter 02.

The seed's high-risk failure mode - a zero scale for a near-zero tensor, then NaN - is
covered for all-zero, 1e-30, float32 subnormal (1e-40) and float64 subnormal (1e-320)
tensors, at every level. Then single elements, huge ranges, negative-only tensors, ties,
clamping with a given scale, and every kind of bad input (type of the exception, and the
argument named in its message).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinyquant as tq
import tinyquant.pure as tqp
from strategies import F32_MAX, F32_TINY, U32, check_metric_invariants, roundtrip_slack


def _no_nan_metrics(m):
    return all(not math.isnan(m[k]) for k in ("mse", "mae", "max_error", "relative_error",
                                               "snr_db"))


# ------------------------------------------------------------------------ all-zero


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_zero_level2(dtype):
    x = np.zeros((4, 5), dtype=dtype)
    assert tq.symmetric_quant_params(x) == 1.0
    q, scale = tq.quantize_symmetric(x)
    assert scale == 1.0
    assert q.dtype == np.int8 and q.shape == (4, 5)
    assert not q.any()
    deq = tq.dequantize_symmetric(q, scale)
    assert deq.dtype == np.float32
    np.testing.assert_array_equal(deq, np.zeros((4, 5), np.float32))
    q2, scale2 = tq.absmax_quantize(x)
    assert scale2 == 1.0 and not q2.any()
    q3, scale3 = tq.quantize_symmetric_chunked(x, chunk_size=3)
    assert scale3 == 1.0 and not q3.any()


@pytest.mark.parametrize("num_bits", [2, 8, 9, 16])
def test_all_zero_any_bits(num_bits):
    q, scale = tq.quantize_symmetric(np.zeros(7), num_bits=num_bits)
    assert scale == 1.0
    assert not q.any()


def test_all_zero_level1():
    q, scale = tqp.quantize_symmetric([0.0, 0.0, -0.0])
    assert scale == 1.0
    assert q == [0, 0, 0]
    assert tqp.dequantize_symmetric(q, scale) == [0.0, 0.0, 0.0]


def test_all_zero_error_metrics():
    """mse == 0 -> snr_db = +inf and relative_error = 0.0, never NaN (0/0)."""
    x = np.zeros(6)
    q, scale = tq.quantize_symmetric(x)
    m = tq.quantization_error(x, q, tq.dequantize_symmetric(q, scale))
    assert m["mse"] == 0.0 and m["mae"] == 0.0 and m["max_error"] == 0.0
    assert m["snr_db"] == math.inf
    assert m["relative_error"] == 0.0
    mp = tqp.quantization_error([0.0] * 6, [0] * 6, 1.0)
    assert mp["mse"] == 0.0
    assert mp["snr_db"] == math.inf
    assert mp["relative_error"] == 0.0


def test_exact_roundtrip_error_metrics():
    """mse == 0 on a non-zero signal: snr_db = +inf, relative_error 0.0."""
    x = np.array([127.0, -1.0, 3.0])
    q, scale = tq.quantize_symmetric(x)  # scale 1.0, exact
    m = tq.quantization_error(x, q, tq.dequantize_symmetric(q, scale))
    assert m["mse"] == 0.0
    assert m["snr_db"] == math.inf
    assert m["relative_error"] == 0.0
    mp = tqp.quantization_error([127.0, -1.0, 3.0], [127, -1, 3], 1.0)
    assert mp["snr_db"] == math.inf and mp["relative_error"] == 0.0


def test_zero_signal_with_noise_gives_minus_inf_snr():
    m = tq.quantization_error(np.zeros(4), np.array([0, 1, 0, 0], np.int8),
                              np.array([0.0, 0.5, 0.0, 0.0], np.float32))
    assert m["mse"] == pytest.approx(0.0625)
    assert m["snr_db"] == -math.inf
    assert not math.isnan(m["relative_error"])
    mp = tqp.quantization_error([0.0] * 4, [0, 1, 0, 0], 0.5)
    assert mp["mse"] == pytest.approx(0.0625)
    assert mp["snr_db"] == -math.inf
    assert _no_nan_metrics(mp)


def test_constant_signal_with_noise_never_nan():
    """var(original) == 0 but mse > 0: relative_error may be inf, never NaN."""
    m = tq.quantization_error(np.full(4, 0.3), np.full(4, 38, np.int8),
                              np.full(4, 0.25, np.float32))
    assert m["mse"] == pytest.approx(0.05 ** 2)
    assert _no_nan_metrics(m)
    mp = tqp.quantization_error([0.3] * 4, [1] * 4, 0.25)
    assert mp["mse"] == pytest.approx(0.05 ** 2)
    assert _no_nan_metrics(mp)


# ------------------------------------------------------- near-zero: the high-risk failure


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_near_zero_1e30_keeps_full_resolution(dtype):
    """amax ~ 1e-30: amax/127 is a normal float32, so the whole int8 range is used."""
    x = (np.random.default_rng(0).standard_normal(64) * 1e-30).astype(dtype)
    amax = float(np.abs(x).max())
    scale = tq.symmetric_quant_params(x)
    assert math.isfinite(scale) and scale > 0
    assert scale == pytest.approx(amax / 127, rel=2 * U32)
    q, scale2 = tq.quantize_symmetric(x)
    assert scale2 == scale
    assert int(np.abs(q.astype(np.int64)).max()) == 127
    deq = tq.dequantize_symmetric(q, scale)
    assert np.all(np.isfinite(deq))
    err = np.abs(x.astype(np.float64) - deq.astype(np.float64))
    assert err.max() <= scale / 2 + roundtrip_slack(amax)


@pytest.mark.parametrize(("value", "dtype"), [
    (1e-40, np.float32),   # float32 subnormal
    (1e-45, np.float32),   # the smallest float32 subnormal
    (1e-320, np.float64),  # float64 subnormal
    (1e-40, np.float64),
    (5e-324, np.float64),  # the smallest float64 subnormal
])
def test_subnormal_tensor_scale_is_floored(value, dtype):
    """amax/127 underflows the normal range: scale is floored at float32 tiny."""
    x = np.array([value, -value / 2, 0.0, value], dtype=dtype)
    assert x[0] != 0  # the value really is representable (not flushed to zero)
    scale = tq.symmetric_quant_params(x)
    assert scale == F32_TINY
    q, scale2 = tq.quantize_symmetric(x)
    assert scale2 == F32_TINY
    assert q.dtype == np.int8
    # |x| / tiny <= 1e-40 / 1.18e-38 < 0.01 -> every code is 0, nothing NaN-poisoned
    np.testing.assert_array_equal(q, np.zeros(4, np.int8))
    deq = tq.dequantize_symmetric(q, scale2)
    assert np.all(np.isfinite(deq))
    m = tq.quantization_error(x, q, deq)
    assert _no_nan_metrics(m)
    assert m["mse"] >= 0 and m["max_error"] == pytest.approx(float(np.float64(x[0])), rel=U32)


def test_subnormal_float32_between_floor_and_full_range():
    """amax = 1e-37: amax/127 < tiny, so scale = tiny and q = round(x / tiny) (< 127)."""
    x = np.array([1e-37, -1e-37, 5e-38], dtype=np.float32)
    q, scale = tq.quantize_symmetric(x)
    assert scale == F32_TINY
    expected = np.rint(x.astype(np.float64) / F32_TINY)  # [8.51 -> 9, -9, 4.25 -> 4]
    np.testing.assert_array_equal(q, expected.astype(np.int8))
    assert np.all(np.isfinite(tq.dequantize_symmetric(q, scale)))


def test_near_zero_level1():
    for value in (1e-30, 1e-40, 1e-320, 5e-324):
        q, scale = tqp.quantize_symmetric([value, -value, 0.0])
        assert math.isfinite(scale) and scale > 0, (value, scale)
        assert all(isinstance(v, int) for v in q)
        deq = tqp.dequantize_symmetric(q, scale)
        assert all(math.isfinite(v) for v in deq)
        assert all(abs(a - b) <= scale / 2 * (1 + 1e-12) for a, b in zip([value, -value], deq))
        m = tqp.quantization_error([value, -value, 0.0], q, scale)
        assert _no_nan_metrics(m)


@pytest.mark.parametrize(("value", "dtype"), [(1e-30, np.float32), (1e-40, np.float32),
                                              (1e-320, np.float64)])
def test_near_zero_deterministic_regression(value, dtype):
    """Seed-based regression for the failure mode: same inputs, same bits, no NaN."""
    x = (np.random.default_rng(0).standard_normal((16, 16)) * value).astype(dtype)
    results = [tq.quantize_symmetric(x.copy()) for _ in range(2)]
    (q1, s1), (q2, s2) = results
    assert s1 == s2 and math.isfinite(s1) and s1 > 0
    np.testing.assert_array_equal(q1, q2)
    assert np.all(np.isfinite(tq.dequantize_symmetric(q1, s1)))
    if value == 1e-30:
        assert int(np.abs(q1.astype(np.int64)).max()) == 127
    else:
        assert s1 == F32_TINY


# --------------------------------------------------------------------- single element


@pytest.mark.parametrize(("value", "code"), [(3.0, 127), (-3.0, -127), (1e-3, 127),
                                             (0.0, 0)])
def test_single_element(value, code):
    q, scale = tq.quantize_symmetric(np.array([value]))
    assert q.shape == (1,) and q.dtype == np.int8
    assert int(q[0]) == code
    deq = tq.dequantize_symmetric(q, scale)
    assert float(deq[0]) == pytest.approx(value, rel=2 * U32, abs=0)
    ql, sl = tqp.quantize_symmetric([value])
    assert ql == [code]
    assert tqp.dequantize_symmetric(ql, sl)[0] == pytest.approx(value, rel=1e-12, abs=0)


def test_zero_dimensional_input():
    q, scale = tq.quantize_symmetric(np.float32(-2.0))
    assert q.shape == ()
    assert q.dtype == np.int8
    assert int(q) == -127
    assert scale == pytest.approx(2.0 / 127, rel=2 * U32)
    deq = tq.dequantize_symmetric(q, scale)
    assert deq.shape == () and deq.dtype == np.float32


# ------------------------------------------------------------------ very large ranges


@pytest.mark.parametrize("value", [1e30, F32_MAX])
def test_very_large_range_float32(value):
    x = np.array([value, -value, value / 2, 1.0, 0.0], dtype=np.float32)
    q, scale = tq.quantize_symmetric(x)
    assert math.isfinite(scale) and scale > 0
    assert scale == pytest.approx(float(x[0]) / 127, rel=2 * U32)
    assert q.tolist()[:2] == [127, -127]
    assert q.tolist()[3:] == [0, 0]  # 1.0 is far below one step
    deq = tq.dequantize_symmetric(q, scale)
    assert deq.dtype == np.float32
    assert np.all(np.isfinite(deq)), deq  # 127 * scale must not overflow to inf
    # the extremes come back within float32 rounding (q = +-127 exactly)
    assert float(deq[0]) == pytest.approx(float(x[0]), rel=4 * U32)
    err = np.abs(x.astype(np.float64) - deq.astype(np.float64))
    assert err.max() <= scale / 2 + roundtrip_slack(float(x[0]))


@pytest.mark.parametrize("value", [1e30, F32_MAX])
def test_very_large_range_error_metrics_finite(value):
    """x^2 overflows float32 here: the metrics must still be right (float64), not NaN."""
    x = np.array([value, -value, value / 3, 0.0], dtype=np.float32)
    q, scale = tq.quantize_symmetric(x)
    m = tq.quantization_error(x, q, tq.dequantize_symmetric(q, scale))
    for key in ("mse", "mae", "max_error", "relative_error", "snr_db"):
        assert math.isfinite(m[key]), (key, m[key])
    assert m["max_error"] <= scale / 2 + roundtrip_slack(float(x[0]))
    assert m["snr_db"] > 30  # only value/3 is off, by < half a step of value/127


@pytest.mark.parametrize("big", [1e200, 1e300, 1e308])
def test_very_large_range_level1(big):
    """Level 1 is float64: huge (finite) values must quantize, come back finite, and be
    measured without a crash, NaN, or an overflow/underflow that breaks the metrics."""
    x = [big, -big, 1.0]
    q, scale = tqp.quantize_symmetric(x)
    assert q == [127, -127, 0]
    assert scale == pytest.approx(big / 127, rel=1e-12)
    deq = tqp.dequantize_symmetric(q, scale)
    assert all(math.isfinite(v) for v in deq), deq
    assert deq[0] == pytest.approx(big, rel=1e-12)
    m = tqp.quantization_error(x, q, scale)
    check_metric_invariants(m, len(x))
    assert m["max_error"] >= 1.0  # the 1.0 became 0


@pytest.mark.parametrize("big", [1e200, 1e300])
def test_very_large_range_level1_exact_metrics(big):
    """Here 127 * (big/127) == big exactly, so the errors are exactly [0, 0, 1]."""
    x = [big, -big, 1.0]
    q, scale = tqp.quantize_symmetric(x)
    assert tqp.dequantize_symmetric(q, scale)[:2] == [big, -big]  # precondition
    m = tqp.quantization_error(x, q, scale)
    assert m["mse"] == pytest.approx(1 / 3, rel=1e-12)
    assert m["mae"] == pytest.approx(1 / 3, rel=1e-12)
    assert m["max_error"] == 1.0
    # 10 log10((2 big^2 / 3) / (1/3)) = 10 log10(2 big^2): ~4003 / ~6003 dB (inf tolerated)
    assert m["snr_db"] > 3000
    assert m["relative_error"] == pytest.approx(0.0, abs=1e-300)  # 0.5/big^2 underflows


# -------------------------------------------------------------------- negative-only


def test_negative_only():
    x = np.array([-127.0, -63.5, -2.5, -1.0, -0.4])
    q, scale = tq.quantize_symmetric(x)
    assert scale == 1.0
    assert q.tolist() == [-127, -64, -2, -1, 0]
    q1, scale1 = tqp.quantize_symmetric(x.tolist())
    assert q1 == [-127, -64, -2, -1, 0] and scale1 == 1.0
    # symmetric: the scale comes from |min|, the positive codes are simply unused
    q2, scale2 = tq.quantize_symmetric(-x)
    assert scale2 == scale
    np.testing.assert_array_equal(q2, -q)


# ------------------------------------------------------------ round half to even


def test_ties_round_half_to_even_given_scale():
    x = np.array([2.5, 3.5, -2.5, -3.5, 0.5, -0.5, 1.5, -1.5])
    expected = [2, 4, -2, -4, 0, 0, 2, -2]
    assert tq.quantize_int8(x, 1.0).tolist() == expected
    # scale 0.5: x/scale = 2.5, 3.5, -2.5 exactly (powers of two)
    assert tq.quantize_int8(np.array([1.25, 1.75, -1.25]), 0.5).tolist() == [2, 4, -2]
    assert tq.quantize_int8(np.array([1.25, 1.75, -1.25], np.float32), 0.5).tolist() == [2, 4, -2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ties_round_half_to_even_symmetric(dtype):
    x = np.array([127.0, 2.5, 3.5, -2.5, 0.5, -126.5], dtype=dtype)  # scale == 1.0
    q, scale = tq.quantize_symmetric(x)
    assert scale == 1.0
    assert q.tolist() == [127, 2, 4, -2, 0, -126]
    qa, _ = tq.absmax_quantize(x)
    assert qa.tolist() == [127, 2, 4, -2, 0, -126]
    qc, _ = tq.quantize_symmetric_chunked(x, chunk_size=4)
    assert qc.tolist() == [127, 2, 4, -2, 0, -126]


def test_ties_round_half_to_even_level1():
    q, scale = tqp.quantize_symmetric([127.0, 2.5, 3.5, -2.5, 0.5, -126.5])
    assert scale == 1.0
    assert q == [127, 2, 4, -2, 0, -126]


def test_ties_in_the_float64_quotient_level2_equals_level1():
    """x / scale is exactly k + 0.5 in float64, but x * (1/scale) is not.

    The convention is round_half_even(x / scale): dividing (not multiplying by a
    reciprocal) is what makes Level 2 agree with Level 1 (Python's ``round(v / scale)``)
    on every float64 input. amax = 1.0 gives scale = 1/127.
    """
    ties = [-0.9724409448818897, -0.9094488188976377, -0.8464566929133858,
            -0.7834645669291338, -0.7204724409448818]   # x/scale = -123.5, -115.5, ...
    x = [1.0] + ties
    scale = 1.0 / 127
    assert [v / scale for v in ties] == [-123.5, -115.5, -107.5, -99.5, -91.5]
    expected = [127, -124, -116, -108, -100, -92]      # half to even
    q2, scale2 = tq.quantize_symmetric(np.array(x))
    assert scale2 == scale
    assert q2.tolist() == expected
    q1, scale1 = tqp.quantize_symmetric(x)
    assert scale1 == scale
    assert q1 == expected


@pytest.mark.parametrize(("x", "scale", "tie", "code"), [
    (45.11018269848032, 0.7217629231756851, 62.5, 62),
    (26.32619668742177, 0.5785977293938851, 45.5, 46),
    (91.28031692996895, 0.8570921777461873, 106.5, 106),
    (-13.645551218015166, 0.9410724977941494, -14.5, -14),
    (-9.173180566164913, 0.9655979543331488, -9.5, -10),
])
def test_ties_in_the_float64_quotient_given_scale(x, scale, tie, code):
    assert x / scale == tie  # exact in float64; x * (1/scale) rounds the other way
    assert tq.quantize_int8(np.array([x]), scale).tolist() == [code]


def test_level3_equals_level2_on_float32_near_ties():
    """float32 values a hair from a tie: Level 3 must give Level 2's codes exactly.

    np.float32(1.5/127) / (1/127) is 1.49999999441 in float64 (-> 1) but rounds to
    exactly 1.5 in float32 arithmetic (-> 2, half to even). The spec fixes Level 3 ==
    Level 2 on float32 input (whichever precision Level 2 divides in), and Level 1 ==
    Level 2 on the same values as float64.
    """
    x = np.array([1.0, 1.5 / 127, 3.5 / 127, -17.5 / 127, 21.5 / 127], dtype=np.float32)
    x64 = x.astype(np.float64)
    expected64 = [round(v / (1 / 127)) for v in x64.tolist()]
    assert expected64 == [127, 1, 3, -17, 21]  # the float64 quotients are not ties
    assert tq.quantize_symmetric(x64)[0].tolist() == expected64
    assert tqp.quantize_symmetric(x64.tolist())[0] == expected64
    q2, s2 = tq.quantize_symmetric(x)
    for chunk_size in (1, 2, 5, 65536):
        q3, s3 = tq.quantize_symmetric_chunked(x, chunk_size=chunk_size)
        assert s3 == s2
        assert q3.tolist() == q2.tolist(), chunk_size


# -------------------------------------------------------------- clamping, given scale


def test_clamping_with_small_given_scale():
    x = np.array([-10.0, -1.0, -0.5, 0.0, 1.0, 10.0, 1e6, -1e6])
    q = tq.quantize_int8(x, 0.01)
    assert q.dtype == np.int8
    # symmetric range: clipped to -127, never -128
    assert q.tolist() == [-127, -100, -50, 0, 100, 127, 127, -127]
    deq = tq.dequantize_int8(q, 0.01)
    np.testing.assert_allclose(deq, np.array(q.tolist()) * 0.01, rtol=U32)


def test_clamping_float32_input_given_scale():
    x = np.array([-3e38, 3e38, 1.0, -1.0], dtype=np.float32)
    q = tq.quantize_int8(x, 1e-3)
    assert q.tolist() == [-127, 127, 127, -127]


# -------------------------------------------------------------------------- bad input

BAD_VALUES = [
    pytest.param(np.array([1.0, np.nan]), ValueError, id="nan"),
    pytest.param(np.array([1.0, np.inf]), ValueError, id="inf"),
    pytest.param(np.array([-np.inf, 0.0], np.float32), ValueError, id="-inf-f32"),
    pytest.param(np.array([]), ValueError, id="empty"),
    pytest.param(np.zeros((3, 0)), ValueError, id="empty-2d"),
    pytest.param([], ValueError, id="empty-list"),
    pytest.param(np.array(["a", "b"]), TypeError, id="strings"),
    pytest.param(["1.0", "2.0"], TypeError, id="string-list"),
]
X_PATTERN = r"\bx\b"

X_FUNCTIONS = {
    "symmetric_quant_params": lambda x: tq.symmetric_quant_params(x),
    "quantize_symmetric": lambda x: tq.quantize_symmetric(x),
    "absmax_quantize": lambda x: tq.absmax_quantize(x),
    "quantize_symmetric_chunked": lambda x: tq.quantize_symmetric_chunked(x),
    "quantize_int8": lambda x: tq.quantize_int8(x, 0.1),
}


@pytest.mark.parametrize("fn", X_FUNCTIONS.values(), ids=X_FUNCTIONS.keys())
@pytest.mark.parametrize(("x", "exc"), BAD_VALUES)
def test_bad_x_level2(fn, x, exc):
    with pytest.raises(exc, match=X_PATTERN):
        fn(x)


@pytest.mark.parametrize(("x", "exc"), [
    pytest.param([1.0, math.nan], ValueError, id="nan"),
    pytest.param([1.0, math.inf], ValueError, id="inf"),
    pytest.param([-math.inf], ValueError, id="-inf"),
    pytest.param([], ValueError, id="empty"),
    pytest.param(["a", "b"], TypeError, id="strings"),
    pytest.param([1.0, "2.0"], TypeError, id="mixed"),
    pytest.param([1.0, None], TypeError, id="none"),
])
def test_bad_tensor_level1(x, exc):
    with pytest.raises(exc, match="tensor"):
        tqp.quantize_symmetric(x)


BAD_BITS = [
    pytest.param(1, ValueError, id="1"),
    pytest.param(0, ValueError, id="0"),
    pytest.param(-8, ValueError, id="-8"),
    pytest.param(8.0, TypeError, id="float"),
    pytest.param("8", TypeError, id="str"),
    pytest.param(None, TypeError, id="None"),
    pytest.param(True, TypeError, id="True"),
    pytest.param(False, TypeError, id="False"),
]
X_OK = np.array([0.5, -1.0, 0.25])

BITS_FUNCTIONS = {
    "symmetric_quant_params": (lambda b: tq.symmetric_quant_params(X_OK, num_bits=b), "num_bits"),
    "quantize_symmetric": (lambda b: tq.quantize_symmetric(X_OK, num_bits=b), "num_bits"),
    "quantize_symmetric_chunked": (lambda b: tq.quantize_symmetric_chunked(X_OK, num_bits=b),
                                   "num_bits"),
    "absmax_quantize": (lambda b: tq.absmax_quantize(X_OK, n_bits=b), "n_bits"),
}


@pytest.mark.parametrize("name", BITS_FUNCTIONS)
@pytest.mark.parametrize(("bits", "exc"), BAD_BITS + [pytest.param(17, ValueError, id="17"),
                                                      pytest.param(32, ValueError, id="32")])
def test_bad_num_bits_level2(name, bits, exc):
    fn, arg = BITS_FUNCTIONS[name]
    with pytest.raises(exc, match=arg):
        fn(bits)


@pytest.mark.parametrize(("bits", "exc"), BAD_BITS + [pytest.param(33, ValueError, id="33"),
                                                      pytest.param(64, ValueError, id="64")])
def test_bad_bits_level1(bits, exc):
    with pytest.raises(exc, match="bits"):
        tqp.quantize_symmetric([0.5, -1.0], bits=bits)


@pytest.mark.parametrize("bits", [2, 16, 17, 31, 32])
def test_level1_accepts_bits_up_to_32(bits):
    q, scale = tqp.quantize_symmetric([1.0, -0.5], bits=bits)
    assert q[0] == 2 ** (bits - 1) - 1
    assert scale == pytest.approx(1.0 / (2 ** (bits - 1) - 1), rel=1e-12)


BAD_SCALES = [
    pytest.param(0.0, id="zero"),
    pytest.param(-0.0, id="negzero"),
    pytest.param(-0.5, id="negative"),
    pytest.param(math.nan, id="nan"),
    pytest.param(math.inf, id="inf"),
    pytest.param(-math.inf, id="-inf"),
]
Q_OK = np.array([1, -2, 3], dtype=np.int8)

SCALE_FUNCTIONS = {
    "quantize_int8": lambda s: tq.quantize_int8(X_OK, s),
    "dequantize_int8": lambda s: tq.dequantize_int8(Q_OK, s),
    "dequantize_symmetric": lambda s: tq.dequantize_symmetric(Q_OK, s),
    "dequantize": lambda s: tq.dequantize(Q_OK, s),
    "pure.dequantize_symmetric": lambda s: tqp.dequantize_symmetric([1, -2, 3], s),
    "pure.quantization_error": lambda s: tqp.quantization_error([0.5, -1.0, 0.25], [1, -2, 3], s),
}


@pytest.mark.parametrize("fn", SCALE_FUNCTIONS.values(), ids=SCALE_FUNCTIONS.keys())
@pytest.mark.parametrize("scale", BAD_SCALES)
def test_bad_scale(fn, scale):
    with pytest.raises(ValueError, match="scale"):
        fn(scale)


DEQUANT_FUNCTIONS = {
    "dequantize_int8": lambda q: tq.dequantize_int8(q, 0.5),
    "dequantize_symmetric": lambda q: tq.dequantize_symmetric(q, 0.5),
    "dequantize": lambda q: tq.dequantize(q, 0.5),
}


@pytest.mark.parametrize("fn", DEQUANT_FUNCTIONS.values(), ids=DEQUANT_FUNCTIONS.keys())
@pytest.mark.parametrize(("q", "exc"), [
    pytest.param(np.array([], dtype=np.int8), ValueError, id="empty"),
    pytest.param(np.array(["1", "2"]), TypeError, id="strings"),
])
def test_bad_q_level2(fn, q, exc):
    with pytest.raises(exc, match=r"\bq\b"):
        fn(q)


@pytest.mark.parametrize(("q", "exc"), [pytest.param([], ValueError, id="empty"),
                                        pytest.param(["1", "2"], TypeError, id="strings")])
def test_bad_quantized_level1(q, exc):
    with pytest.raises(exc, match="quantized"):
        tqp.dequantize_symmetric(q, 0.5)


GOOD = np.array([0.5, -1.0, 0.25])
GOOD_Q = np.array([64, -127, 32], dtype=np.int8)
GOOD_DEQ = GOOD_Q.astype(np.float32) / 127


@pytest.mark.parametrize(("args", "exc", "pattern"), [
    pytest.param((np.array([0.5, np.nan, 0.25]), GOOD_Q, GOOD_DEQ), ValueError, "original",
                 id="nan-original"),
    pytest.param((GOOD, GOOD_Q, np.array([0.5, np.inf, 0.25])), ValueError, "dequantized",
                 id="inf-dequantized"),
    pytest.param((np.array([]), np.array([], np.int8), np.array([], np.float32)), ValueError,
                 "original", id="empty"),
    pytest.param((GOOD, GOOD_Q, GOOD_DEQ[:2]), ValueError, "shape|dequantized",
                 id="shape-mismatch"),
    pytest.param((GOOD, GOOD_Q, GOOD_DEQ.reshape(3, 1)), ValueError, "shape|dequantized",
                 id="broadcastable-shape-mismatch"),
    pytest.param((np.array(["a", "b", "c"]), GOOD_Q, GOOD_DEQ), TypeError, "original",
                 id="strings"),
])
def test_bad_quantization_error_level2(args, exc, pattern):
    with pytest.raises(exc, match=pattern):
        tq.quantization_error(*args)


@pytest.mark.parametrize(("args", "exc", "pattern"), [
    pytest.param(([0.5, math.nan], [1, 2], 0.5), ValueError, "original", id="nan"),
    pytest.param(([], [], 0.5), ValueError, "original", id="empty"),
    pytest.param(([0.5, 1.0], [1], 0.5), ValueError, "quantized|length|len", id="length"),
])
def test_bad_quantization_error_level1(args, exc, pattern):
    with pytest.raises(exc, match=pattern):
        tqp.quantization_error(*args)


@pytest.mark.parametrize("chunk_size", [0, -1])
def test_bad_chunk_size(chunk_size):
    with pytest.raises(ValueError, match="chunk_size"):
        tq.quantize_symmetric_chunked(X_OK, chunk_size=chunk_size)


@pytest.mark.parametrize("out", [
    pytest.param(np.empty(4, np.int8), id="wrong-shape"),
    pytest.param(np.empty(3, np.float32), id="wrong-dtype"),
])
def test_bad_out_buffer(out):
    with pytest.raises((ValueError, TypeError), match="out"):
        tq.quantize_symmetric_chunked(X_OK, out=out)
