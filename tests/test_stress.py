"""Tier 3 (seed 000): stress-size tensors, Level 2 vs Level 3, buffer reuse.

Each test stays well under 5 s on a laptop; nothing here asserts a time (speed belongs
in ``benchmarks/``). What is asserted at 10**7 elements: finiteness, the round-trip
bound, the statistics of the rounding error, exact Level 2 == Level 3 agreement, and
that the memory-aware Level 3 really works in bounded extra memory.
"""
from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

import tinyquant as tq
import tinyquant.pure as tqp
from strategies import U32, roundtrip_slack

N = 10**7


@pytest.fixture(scope="module")
def big():
    """10**7 float32 standard-normal values, fixed seed."""
    return np.random.default_rng(0).standard_normal(N, dtype=np.float32)


@pytest.fixture(scope="module")
def big_level2(big):
    return tq.quantize_symmetric(big)


def test_big_tensor_stays_finite_and_bounded(big, big_level2):
    q, scale = big_level2
    assert q.shape == (N,) and q.dtype == np.int8
    assert math.isfinite(scale) and scale > 0
    amax = float(np.abs(big).max())
    assert scale == pytest.approx(amax / 127, rel=2 * U32)
    assert int(q.max()) == 127 or int(q.min()) == -127
    assert int(q.min()) >= -127
    deq = tq.dequantize_symmetric(q, scale)
    assert deq.dtype == np.float32 and deq.shape == (N,)
    assert np.isfinite(deq).all()
    err = np.abs(big - deq)  # float32 difference: exact (Sterbenz) or one rounding of it
    assert float(err.max()) <= scale / 2 + roundtrip_slack(amax)


def test_big_tensor_error_statistics(big, big_level2):
    """Rounding error of a smooth signal is ~uniform on [-scale/2, scale/2]: mse ~ scale^2/12.

    With 10**7 samples the sample mse is within well under 1% of that; 5% leaves room
    for the tails, while truncation (mse ~ scale^2/3) or a wrong scale would fail.
    """
    q, scale = big_level2
    m = tq.quantization_error(big, q, tq.dequantize_symmetric(q, scale))
    for key in ("mse", "mae", "max_error", "relative_error", "snr_db"):
        assert math.isfinite(m[key]), key
    assert m["mse"] == pytest.approx(scale**2 / 12, rel=0.05)
    assert m["mae"] == pytest.approx(scale / 4, rel=0.05)
    assert m["max_error"] <= scale / 2 + roundtrip_slack(float(np.abs(big).max()))
    var = float(np.var(big, dtype=np.float64))
    assert m["relative_error"] == pytest.approx(m["mse"] / var, rel=1e-6)
    power = float(np.mean(np.square(big, dtype=np.float64)))
    assert m["snr_db"] == pytest.approx(10 * math.log10(power / m["mse"]), rel=1e-6)


def test_big_tensor_deterministic(big, big_level2):
    q, scale = big_level2
    q2, scale2 = tq.quantize_symmetric(big.copy())
    assert scale2 == scale
    np.testing.assert_array_equal(q2, q)


def test_big_tensor_absmax_matches(big, big_level2):
    q, scale = tq.absmax_quantize(big)
    assert scale == big_level2[1]
    np.testing.assert_array_equal(q, big_level2[0])


@pytest.mark.parametrize("chunk_size", [65536, 1_000_003, 2 * N])
def test_big_level3_equals_level2(big, big_level2, chunk_size):
    q3, scale3 = tq.quantize_symmetric_chunked(big, chunk_size=chunk_size)
    assert scale3 == big_level2[1]
    assert q3.dtype == np.int8 and q3.shape == (N,)
    np.testing.assert_array_equal(q3, big_level2[0])


def test_big_level3_default_chunk_multidim(big):
    x = big.reshape(100, 100, 1000)
    q2, scale2 = tq.quantize_symmetric(x)
    q3, scale3 = tq.quantize_symmetric_chunked(x)
    assert q3.shape == (100, 100, 1000)
    assert scale3 == scale2
    np.testing.assert_array_equal(q3, q2)


def test_big_level3_non_contiguous_input(big):
    x = big.reshape(1000, 10000)[:, ::3].T  # a strided, transposed view
    q2, scale2 = tq.quantize_symmetric(x)
    q3, scale3 = tq.quantize_symmetric_chunked(x, chunk_size=77_777)
    assert q3.shape == x.shape
    assert scale3 == scale2
    np.testing.assert_array_equal(q3, q2)


@pytest.mark.parametrize("num_bits", [4, 8, 12, 16])
def test_big_other_bits_level3_equals_level2(big, num_bits):
    x = big[: N // 10]
    q2, s2 = tq.quantize_symmetric(x, num_bits=num_bits)
    q3, s3 = tq.quantize_symmetric_chunked(x, num_bits=num_bits, chunk_size=99_991)
    assert s3 == s2
    assert q3.dtype == q2.dtype == (np.int8 if num_bits <= 8 else np.int16)
    np.testing.assert_array_equal(q3, q2)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 4095, 10_000, 10_001, 10_002, 10**6])
def test_level3_odd_chunk_sizes(chunk_size):
    x = np.random.default_rng(1).standard_normal(10_001).astype(np.float32) * 3
    q2, s2 = tq.quantize_symmetric(x)
    q3, s3 = tq.quantize_symmetric_chunked(x, chunk_size=chunk_size)
    assert s3 == s2
    np.testing.assert_array_equal(q3, q2)


def test_level3_float64_within_one_step():
    """float64 input: Level 3 may differ from Level 2 by at most one step (on ties)."""
    x = np.random.default_rng(2).standard_normal(10**6) * 5
    x[0] = 127.0                          # amax = 127 -> scale exactly 1.0
    x[1:255] = np.arange(-126.5, 127.0)   # 254 exact ties, -126.5 ... 126.5
    q2, s2 = tq.quantize_symmetric(x)
    q3, s3 = tq.quantize_symmetric_chunked(x, chunk_size=12_345)
    assert s2 == 1.0
    assert s3 == pytest.approx(s2, rel=2 * U32)
    diff = np.abs(q3.astype(np.int64) - q2.astype(np.int64))
    assert diff.max() <= 1
    # a one-step difference needs x/scale within rounding of a half: rare (here: only
    # the 254 planted ties could differ)
    assert np.count_nonzero(diff) <= 254
    # and Level 2 itself rounds the ties half to even
    np.testing.assert_array_equal(q2[1:255], np.rint(x[1:255]).astype(np.int8))


def test_level3_output_buffer_reuse(big, big_level2):
    out = np.full(N, 99, dtype=np.int8)  # garbage that must be overwritten
    q, scale = tq.quantize_symmetric_chunked(big, out=out, chunk_size=1_000_003)
    assert q is out or (np.shares_memory(q, out) and q.shape == out.shape)
    assert scale == big_level2[1]
    np.testing.assert_array_equal(out, big_level2[0])
    # reuse the same buffer for a different tensor: every element is rewritten
    other = big[::-1] * np.float32(0.5)
    q_other, scale_other = tq.quantize_symmetric_chunked(other, out=out)
    assert np.shares_memory(q_other, out)
    q_ref, scale_ref = tq.quantize_symmetric(other)
    assert scale_other == scale_ref
    np.testing.assert_array_equal(out, q_ref)


def test_level3_output_buffer_small_and_multidim():
    x = np.random.default_rng(3).standard_normal((7, 11, 13)).astype(np.float32)
    out = np.full((7, 11, 13), -1, dtype=np.int8)
    q, scale = tq.quantize_symmetric_chunked(x, out=out, chunk_size=5)
    assert np.shares_memory(q, out)
    q2, scale2 = tq.quantize_symmetric(x)
    assert scale == scale2
    np.testing.assert_array_equal(out, q2)


def test_level3_bounded_extra_memory(big, big_level2):
    """Level 3 with a preallocated ``out`` makes no full-size float temporary.

    Level 2 makes several (``x / scale`` alone is 40 MB here, as is ``np.abs(x)``).
    A chunked loop needs a few chunk_size-element float buffers (< 2 MB at 65536). We
    allow half the input (20 MB): a full-size boolean mask (``np.isfinite(x).all()``
    in a validation step, n bytes = a quarter of the input) still passes, any full-size
    float32 temporary (>= 40 MB) fails. NumPy reports its data buffers to tracemalloc.
    """
    out = np.empty(N, dtype=np.int8)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        q, scale = tq.quantize_symmetric_chunked(big, out=out, chunk_size=65536)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert scale == big_level2[1]
    np.testing.assert_array_equal(out, big_level2[0])
    assert peak - base < big.nbytes / 2, f"peak extra memory {(peak - base) / 1e6:.1f} MB"


def test_level1_equals_level2_large():
    x = np.random.default_rng(4).standard_normal(10**5) * 7.5
    values = x.tolist()
    q1, s1 = tqp.quantize_symmetric(values)
    q2, s2 = tq.quantize_symmetric(x)
    assert s1 == pytest.approx(s2, rel=2 * U32)
    assert q1 == q2.tolist()
    deq1 = tqp.dequantize_symmetric(q1, s1)
    np.testing.assert_allclose(tq.dequantize_symmetric(q2, s2), deq1, rtol=2 * U32, atol=0)
    m1 = tqp.quantization_error(values, q1, s1)
    m2 = tq.quantization_error(x, q2, np.asarray(deq1))
    for key in ("mse", "mae", "max_error", "relative_error", "snr_db"):
        # the same float64 numbers, summed in a different order (n = 1e5): ~1e-12
        assert m2[key] == pytest.approx(m1[key], rel=1e-9), key
