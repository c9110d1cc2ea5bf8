"""Tests of chapter 06: the integer matrix multiply (``tinyquant.matmul``, ``tinyquant.pure.matmul``).

What is checked, and why it can fail:

* ``int_matmul`` equals the int64 product *exactly*, as int32, on generated shapes and values
  (extremes -128, 127, 255 oversampled) and on the inputs that break one unchunked float32
  matmul (large odd sums beyond 2**24). A chunk one bit too large, or no chunking, fails here;
* the overflow guard: refuses exactly when ``K * max|a| * max|b| > 2**31 - 1``, judged from the
  values (int64 arrays of small values pass), and never wraps;
* transient memory at chapter 07's layer size (64x1024 @ 1024x1024, B a transposed view): at
  most 0.35x the float32 weights, measured with tracemalloc (deterministic: no timing);
* ``exact_chunk_size`` is the largest K with ``K * a_max * b_max <= 2**bits``;
* ``quantized_matmul`` equals ``a_scale * b_scale * (a_q - a_zp) @ (b_q - b_zp)`` computed in
  int64, with scalar or per-column ``b_scale``, and agrees with Level 1;
* bad input raises ValueError/TypeError naming the argument.

Timings are in ``benchmarks/bench_matmul.py``, not here.
"""
from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyquant as tq
import tinyquant.pure as tqp

INT32_MAX = 2 ** 31 - 1

DTYPE_VALUES = {np.int8: (-128, 127), np.uint8: (0, 255), np.int16: (-32768, 32767)}


def reference(a, b):
    return np.asarray(a).astype(np.int64) @ np.asarray(b).astype(np.int64)


@st.composite
def int_matrix(draw, rows, columns, dtype):
    low, high = DTYPE_VALUES[dtype]
    extremes = st.sampled_from([low, high, low + 1, high - 1, 0, 1, -1 if low < 0 else 2])
    values = st.one_of(extremes, st.integers(low, high))
    data = draw(st.lists(values, min_size=rows * columns, max_size=rows * columns))
    return np.array(data, dtype=dtype).reshape(rows, columns)


@st.composite
def operand_pairs(draw, max_depth=64, dtypes=(np.int8, np.uint8)):
    m, k, n = draw(st.integers(1, 6)), draw(st.integers(1, max_depth)), draw(st.integers(1, 6))
    a = draw(int_matrix(m, k, draw(st.sampled_from(dtypes))))
    b = draw(int_matrix(k, n, np.int8))
    return a, b


# ------------------------------------------------------------------------ exact_chunk_size


@given(a_max=st.integers(1, 2 ** 20), b_max=st.integers(1, 2 ** 20), bits=st.integers(1, 64))
def test_exact_chunk_size_is_the_largest_exact_depth(a_max, b_max, bits):
    chunk = tq.exact_chunk_size(a_max, b_max, mantissa_bits=bits)
    assert type(chunk) is int
    assert chunk * a_max * b_max <= 2 ** bits < (chunk + 1) * a_max * b_max


def test_exact_chunk_size_known_values():
    assert tq.exact_chunk_size(128, 128) == 1024  # 2**24 / (128 * 128), the number
    assert tq.exact_chunk_size(127, 127) == 1040
    assert tq.exact_chunk_size(255, 128) == 514
    assert tq.exact_chunk_size(2 ** 12, 2 ** 12 + 1) == 0


@pytest.mark.parametrize("args, error", [((0, 1), ValueError), ((1, -1), ValueError),
                                         ((1.0, 1), TypeError), ((1, 1, 0), ValueError)])
def test_exact_chunk_size_bad_input(args, error):
    with pytest.raises(error):
        tq.exact_chunk_size(*args)


# ------------------------------------------------------------------------------ int_matmul


@given(pair=operand_pairs())
def test_int_matmul_equals_int64_on_generated_operands(pair):
    a, b = pair
    c = tq.int_matmul(a, b)
    assert c.dtype == np.int32 and c.shape == (a.shape[0], b.shape[1])
    np.testing.assert_array_equal(c, reference(a, b))


@given(pair=operand_pairs(max_depth=8, dtypes=(np.int16,)))
def test_int_matmul_16_bit_operands(pair):
    a, b = pair
    b = b.astype(np.int16) * 200  # products up to ~2**29: beyond 2**24, float64 chunks
    depth_bound = a.shape[1] * max(1, int(np.abs(a.astype(np.int64)).max())) * max(1, int(np.abs(b.astype(np.int64)).max()))
    if depth_bound > INT32_MAX:
        with pytest.raises(ValueError, match="overflow int32"):
            tq.int_matmul(a, b)
    else:
        np.testing.assert_array_equal(tq.int_matmul(a, b), reference(a, b))


@pytest.mark.parametrize("depth", [1024, 1041, 4097, 16385, 65537])
def test_int_matmul_exact_where_one_float32_matmul_is_not(depth):
    rng = np.random.default_rng(depth)
    a = rng.integers(100, 128, size=(4, depth), dtype=np.int8)
    b = rng.integers(100, 128, size=(depth, 4), dtype=np.int8)
    if depth > 4096:  # the inputs really are hard: one float32 matmul gets them wrong
        one_shot = (a.astype(np.float32) @ b.astype(np.float32)).astype(np.int64)
        assert (one_shot != reference(a, b)).any()
    np.testing.assert_array_equal(tq.int_matmul(a, b), reference(a, b))


@pytest.mark.parametrize("make_a, make_b", [
    (lambda k, r: np.full((3, k), -128, np.int8), lambda k, r: np.full((k, 2), -128, np.int8)),
    (lambda k, r: np.full((3, k), -128, np.int8), lambda k, r: r.choice(np.array([-128, 127], np.int8), (k, 2))),
    (lambda k, r: r.choice(np.array([-128, 127], np.int8), (3, k)), lambda k, r: r.choice(np.array([-128, 127], np.int8), (k, 2))),
    (lambda k, r: np.full((3, k), 255, np.uint8), lambda k, r: r.choice(np.array([127, 126, -128], np.int8), (k, 2))),
])
def test_int_matmul_worst_case_values(make_a, make_b):
    rng = np.random.default_rng(0)
    for depth in (1, 1023, 1024, 1025, 20001):
        a, b = make_a(depth, rng), make_b(depth, rng)
        np.testing.assert_array_equal(tq.int_matmul(a, b), reference(a, b))


def test_int_matmul_overflow_guard_at_the_int32_limit():
    def row(k, value, dtype):
        return np.full((1, k), value, dtype)

    def col(k, value, dtype):
        return np.full((k, 1), value, dtype)

    assert tq.int_matmul(row(131071, -128, np.int8), col(131071, -128, np.int8))[0, 0] == 131071 * 16384
    with pytest.raises(ValueError, match="overflow int32"):
        tq.int_matmul(row(131072, -128, np.int8), col(131072, -128, np.int8))  # exactly 2**31
    assert tq.int_matmul(row(65793, 255, np.uint8), col(65793, -128, np.int8))[0, 0] == -65793 * 32640
    with pytest.raises(ValueError, match="overflow int32"):
        tq.int_matmul(row(65794, 255, np.uint8), col(65794, -128, np.int8))
    assert tq.int_matmul(np.array([[1]]), np.array([[INT32_MAX]]))[0, 0] == INT32_MAX


def test_int_matmul_guard_uses_values_not_dtypes():
    a = np.full((2, 300_000), 3, dtype=np.int64)
    b = np.full((300_000, 1), -2, dtype=np.int64)
    np.testing.assert_array_equal(tq.int_matmul(a, b), [[-1_800_000], [-1_800_000]])


def test_int_matmul_transposed_and_strided_views():
    rng = np.random.default_rng(1)
    w = rng.integers(-127, 128, size=(300, 2100), dtype=np.int8)  # (out, in)
    x = rng.integers(-128, 128, size=(17, 2100), dtype=np.int8)
    np.testing.assert_array_equal(tq.int_matmul(x, w.T), reference(x, w.T))
    np.testing.assert_array_equal(tq.int_matmul(x[:, ::3], w[::2, ::3].T), reference(x[:, ::3], w[::2, ::3].T))


def test_int_matmul_all_zero_operand():
    c = tq.int_matmul(np.zeros((2, 3), np.int8), np.full((3, 4), -128, np.int8))
    assert c.dtype == np.int32 and c.shape == (2, 4) and not c.any()


def test_int_matmul_transient_memory_at_chapter_07_size():
    """At most 0.35x the float32 weights (4 K N bytes), B a transposed (out, in) int8 weight."""
    rng = np.random.default_rng(2)
    x = rng.integers(-128, 128, size=(64, 1024), dtype=np.int8)
    w = rng.integers(-127, 128, size=(1024, 1024), dtype=np.int8)
    tracemalloc.start()
    try:
        c = tq.int_matmul(x, w.T)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 0.35 * 4 * w.size, peak / (4 * w.size)
    np.testing.assert_array_equal(c, reference(x, w.T))


@pytest.mark.parametrize("a, b, error, name", [
    (np.ones((2, 3), np.int8), np.ones((2, 3), np.int8), ValueError, "a_q"),
    (np.ones(3, np.int8), np.ones((3, 1), np.int8), ValueError, "a_q"),
    (np.ones((2, 3), np.int8), np.ones((3, 1, 1), np.int8), ValueError, "b_q"),
    (np.ones((2, 0), np.int8), np.ones((0, 1), np.int8), ValueError, "a_q"),
    (np.ones((2, 2), np.float32), np.ones((2, 2), np.int8), TypeError, "a_q"),
    (np.ones((2, 2), np.int8), np.ones((2, 2), bool), TypeError, "b_q"),
])
def test_int_matmul_bad_input(a, b, error, name):
    with pytest.raises(error, match=name):
        tq.int_matmul(a, b)


# ------------------------------------------------------------------------ quantized_matmul


@given(pair=operand_pairs(), za=st.integers(0, 255), zb=st.integers(-128, 127),
       a_scale=st.floats(1e-4, 10.0), b_scale=st.floats(1e-4, 10.0), per_column=st.booleans())
def test_quantized_matmul_equals_the_int64_formula(pair, za, zb, a_scale, b_scale, per_column):
    a, b = pair
    a = a.astype(np.uint8) if a.dtype == np.uint8 else a.astype(np.int16)  # any zero point in range
    scales = np.linspace(b_scale, 2 * b_scale, b.shape[1]) if per_column else b_scale
    result = tq.quantized_matmul(a, a_scale, b, scales, a_zp=za, b_zp=zb)
    exact = (a.astype(np.int64) - za) @ (b.astype(np.int64) - zb)
    assert result.dtype == np.float32 and result.shape == exact.shape
    np.testing.assert_allclose(result, a_scale * np.asarray(scales) * exact, rtol=2e-7, atol=0)


@given(pair=operand_pairs(max_depth=12), za=st.integers(0, 255), zb=st.integers(-128, 127))
def test_quantized_matmul_agrees_with_level_1(pair, za, zb):
    a, b = pair
    a = a.astype(np.uint8) if a.dtype == np.uint8 else a.astype(np.int16)
    level1 = np.array(tqp.quantized_matmul(a.tolist(), b.tolist(), 0.5, 0.125, za, zb), dtype=np.float32)
    np.testing.assert_array_equal(tq.quantized_matmul(a, 0.5, b, 0.125, a_zp=za, b_zp=zb), level1)


def test_quantized_matmul_corrections_beyond_int32():
    result = tq.quantized_matmul(np.zeros((1, 40000), np.uint8), 1.0, np.full((40000, 2), -128, np.int8), 1.0,
                                 a_zp=255, b_zp=127)
    np.testing.assert_allclose(result, 65025 * 40000, rtol=1e-7)


def test_quantized_matmul_seed_001_usage():
    """Seed 001's example: ReLU activations (uint8), symmetric weights, output ~ activations @ weights.T."""
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((256, 256)).astype(np.float32)
    activations = np.abs(rng.standard_normal((32, 256))).astype(np.float32)
    a_q, a_scale, a_zp = tq.quantize_asymmetric(activations)
    w_q, w_scale = tq.quantize_symmetric(weights)
    output = tq.quantized_matmul(a_q, a_scale, w_q.T, w_scale, a_zp=a_zp)
    expected = tq.dequantize_asymmetric(a_q, a_scale, a_zp).astype(np.float64) @ tq.dequantize_symmetric(w_q, w_scale).T
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-4)  # exact arithmetic on the quantized values
    float_output = activations @ weights.T
    assert np.mean((output - float_output) ** 2) / np.var(float_output) < 1e-3


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(a_zp=256), ValueError, "a_zp"), (dict(a_zp=-1), ValueError, "a_zp"),
    (dict(b_zp=128), ValueError, "b_zp"), (dict(b_zp=1.5), TypeError, "b_zp"),
    (dict(b_scale=[1.0, 2.0]), ValueError, "b_scale"), (dict(b_scale=[1.0, 0.0, 1.0]), ValueError, "b_scale"),
    (dict(b_scale=0.0), ValueError, "b_scale"), (dict(a_scale=-1.0), ValueError, "a_scale"),
    (dict(a_scale="1"), TypeError, "a_scale"),
])
def test_quantized_matmul_bad_input(kwargs, error, name):
    args = dict(a_q=np.ones((2, 4), np.uint8), a_scale=1.0, b_q=np.ones((4, 3), np.int8), b_scale=1.0) | kwargs
    with pytest.raises(error, match=name):
        tq.quantized_matmul(**args)


# ------------------------------------------------------------------------------- Level 1


def test_level_1_seed_002_example():
    A = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    B = [[7.0, 8.0], [9.0, 10.0], [11.0, 12.0]]
    A_q, scale_a = tqp.quantize_symmetric([v for row in A for v in row])
    B_q, scale_b = tqp.quantize_symmetric([v for row in B for v in row])
    result = tqp.quantized_matmul([A_q[0:3], A_q[3:6]], [B_q[0:2], B_q[2:4], B_q[4:6]], scale_a, scale_b)
    expected = [[58.0, 64.0], [139.0, 154.0]]
    for row, row_expected in zip(result, expected):
        for value, value_expected in zip(row, row_expected):
            assert abs(value - value_expected) <= 0.01 * value_expected  # quantization error, about 0.3 %


def test_level_1_accumulator_is_an_exact_integer():
    assert tqp.quantized_matmul([[2 ** 40, 3, -2 ** 40]], [[2 ** 20], [1], [2 ** 20]], 1.0, 1.0) == [[3.0]]


@pytest.mark.parametrize("args, error", [
    (([[1, 2]], [[1, 2]], 1.0, 1.0), ValueError), (([[1.5]], [[1]], 1.0, 1.0), TypeError),
    (([[1]], [[1]], 0.0, 1.0), ValueError), (([[1]], [[1]], 1.0, math.nan), ValueError),
    (([], [[1]], 1.0, 1.0), ValueError), (([[1], [2, 3]], [[1]], 1.0, 1.0), ValueError),
])
def test_level_1_bad_input(args, error):
    with pytest.raises(error):
        tqp.quantized_matmul(*args)
