"""Level 3 of chapter 02, ``quantize_symmetric_chunked``: the pass-1 cases its exercise names.

Each test isolates one way a two-pass, chunk-at-a-time quantizer goes wrong (max|x| from a
negative value, in the last chunk, in int8, a NaN between chunks, the float32 division) and
compares with Level 2, ``quantize_symmetric``, which Level 3 must match exactly.
"""
import tracemalloc

import numpy as np
import pytest

import tinyquant as tq


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 4, 6, 7, 100])
def test_max_abs_from_a_negative_value_in_a_middle_chunk(chunk_size):
    x = np.array([0.5, 1.0, -9.0, 2.0, 3.0, 0.25, 0.125])
    q, scale = tq.quantize_symmetric_chunked(x, chunk_size=chunk_size)
    assert scale == 9.0 / 127  # not 3/127 (max only) nor the last chunk's max|x|
    np.testing.assert_array_equal(q, tq.quantize_symmetric(x)[0])


@pytest.mark.parametrize("n, chunk_size", [(5, 2), (7, 3), (10, 4), (9, 8)])
def test_the_last_shorter_chunk_counts_and_is_written(n, chunk_size):
    x = np.arange(1.0, n + 1) * (-1.0) ** np.arange(n)  # max|x| = n, in the last chunk
    out = np.full(n, 99, dtype=np.int8)
    q, scale = tq.quantize_symmetric_chunked(x, out=out, chunk_size=chunk_size)
    assert q is out
    assert scale == n / 127
    np.testing.assert_array_equal(out, tq.quantize_symmetric(x)[0])


@pytest.mark.parametrize("chunk_size", [1, 2, 5])
def test_int8_minus_128_has_max_abs_128(chunk_size):
    x = np.array([5, -128, 3, 127, -1], dtype=np.int8)  # -(-128) is -128 in int8
    q, scale = tq.quantize_symmetric_chunked(x, chunk_size=chunk_size)
    assert scale == 128 / 127
    np.testing.assert_array_equal(q, tq.quantize_symmetric(x)[0])


@pytest.mark.parametrize("where, chunk_size, first, last", [(0, 3, 0, 2), (4, 3, 3, 5), (8, 3, 6, 8), (5, 4, 4, 7)])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_value_in_any_chunk_raises_naming_its_chunk(bad, where, chunk_size, first, last):
    x = np.arange(9.0)
    x[where] = bad
    with pytest.raises(ValueError, match=f"elements {first} to {last}"):
        tq.quantize_symmetric_chunked(x, chunk_size=chunk_size)


def test_float32_near_ties_divided_in_float32_as_level2():
    """Values within one float32 rounding of k + 1/2 steps: a float64 division rounds some of
    them the other way, so only Level 2's float32 division gives Level 2's integers."""
    ties = np.float32((np.arange(127) + 0.5) / 127)
    x = np.concatenate([[1.0], np.nextafter(ties, -1), ties, np.nextafter(ties, 2)]).astype(np.float32)
    q2, s2 = tq.quantize_symmetric(x)
    in_float64 = np.clip(np.rint(x.astype(np.float64) / s2), -127, 127).astype(np.int8)
    assert np.count_nonzero(in_float64 != q2) > 0  # the input does tell the two divisions apart
    for chunk_size in (1, 100, 10**6):
        q3, s3 = tq.quantize_symmetric_chunked(x, chunk_size=chunk_size)
        assert s3 == s2
        np.testing.assert_array_equal(q3, q2)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_x_unchanged_and_level2_equal(dtype):
    x = (np.random.default_rng(3).standard_normal((31, 9)) * 4).astype(dtype)
    before = x.copy()
    q, scale = tq.quantize_symmetric_chunked(x, chunk_size=10)
    np.testing.assert_array_equal(x, before)
    q2, scale2 = tq.quantize_symmetric(x)
    assert scale == scale2
    np.testing.assert_array_equal(q, q2)


def test_extra_memory_is_one_buffer():
    x = np.random.default_rng(5).standard_normal(10**6).astype(np.float32)
    out = np.empty(x.shape, dtype=np.int8)
    chunk_size = 1 << 14
    tracemalloc.start()
    try:
        tq.quantize_symmetric_chunked(x, out=out, chunk_size=chunk_size)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * chunk_size * x.itemsize + 64 * 1024, peak  # one float32 buffer (64 KiB) and change
