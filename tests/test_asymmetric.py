"""Unit and property tests for chapter 03: asymmetric (affine) quantization.

The convention under test (DESIGN.md; PyTorch's per-tensor affine ``MinMaxObserver``):
``min' = min(min x, 0)``, ``max' = max(max x, 0)``, ``scale = (max' - min') / (2**b - 1)``
(1.0 for an all-zero tensor, floored at float32's smallest normal), ``zero_point = clamp(qmin +
round(-min' / scale), qmin, qmax)`` and ``q = clamp(round(x / scale) + zero_point, qmin, qmax)``,
ties to even. Unsigned: ``[0, 2**b - 1]``; signed: ``[-2**(b-1), 2**(b-1) - 1]``.

Settings come from the "ci" Hypothesis profile in conftest.py; strategies from strategies.py.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyquant as tq
import tinyquant.pure as tqp
from strategies import F32_MAX, F32_TINY, finite_arrays, num_bits, pure_bits, roundtrip_slack

SEED_002 = [0.0, 0.5, 1.0, 1.5, 2.0, 0.1]
SEED_002_Q = [0, 64, 128, 191, 255, 13]

# float32 tensors within half a step of +-3.4e38 have a grid end beyond float32, which
# dequantizes to inf (documented); the round-trip laws are stated below that.
roundtrip_arrays = finite_arrays(max_abs=F32_MAX / 4)
signs = st.booleans()


def reference_range(bits: int, signed: bool) -> tuple[int, int]:
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)


def reference_params(x, bits: int = 8, signed: bool = False) -> tuple[float, int]:
    """The convention, written out plainly in float64 (Python floats)."""
    values = np.asarray(x, dtype=np.float64)
    low, high = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    qmin, qmax = reference_range(bits, signed)
    if high == low:
        return 1.0, qmin
    scale = max((high - low) / (2 ** bits - 1), F32_TINY)
    return scale, min(max(qmin + round(-low / scale), qmin), qmax)


def expected_dtype(bits: int, signed: bool) -> np.dtype:
    return np.dtype(("int" if signed else "uint") + ("8" if bits <= 8 else "16"))


def grid_bound(x) -> float:
    """The largest magnitude of the widened range, in float64."""
    values = np.asarray(x, dtype=np.float64)
    return max(abs(min(float(values.min()), 0.0)), max(float(values.max()), 0.0))


# ------------------------------------------------------------------ the seed examples


def test_seed_002_example_numpy():
    q, scale, zero_point = tq.quantize_asymmetric(SEED_002)
    assert q.dtype == np.uint8 and q.tolist() == SEED_002_Q
    assert scale == 2 / 255 and type(zero_point) is int and zero_point == 0


def test_seed_002_example_pure():
    q, scale, zero_point = tqp.quantize_asymmetric(SEED_002)
    assert q == SEED_002_Q and all(type(v) is int for v in q)
    assert type(scale) is float and scale == 2 / 255 and type(zero_point) is int and zero_point == 0
    deq = tqp.dequantize_asymmetric(q, scale, zero_point)
    assert all(type(v) is float for v in deq)
    assert max(abs(a - b) for a, b in zip(deq, SEED_002)) <= scale / 2


def test_seed_002_example_in_float32_lands_below_the_tie():
    # 1.0 / (2/255) is 127.49999 in float32: Level 2 computes in the input's precision.
    q, _, _ = tq.quantize_asymmetric(np.array(SEED_002, dtype=np.float32))
    assert q.tolist() == [0, 64, 127, 191, 255, 13]


def test_negative_minimum_unsigned_and_signed():
    x = [-0.5, 0.0, 1.0, 2.0]
    q, scale, zero_point = tq.quantize_asymmetric(x)
    assert (q.tolist(), zero_point) == ([0, 51, 153, 255], 51) and scale == 2.5 / 255
    q, scale, zero_point = tq.quantize_asymmetric(x, signed=True)
    assert q.dtype == np.int8 and (q.tolist(), zero_point) == ([-128, -77, 25, 127], -77)
    deq = tq.dequantize_asymmetric(q, scale, zero_point)
    assert deq.dtype == np.float32 and deq[1] == 0.0
    np.testing.assert_allclose(deq, x, rtol=0, atol=scale / 2)


def test_seed_003_quantize_int8_is_the_signed_variant():
    tensor = np.random.default_rng(0).standard_normal((100, 100)).astype(np.float32)
    q, scale, zero_point = tq.quantize_asymmetric(tensor, signed=True)
    assert q.dtype == np.int8 and q.min() == -128 and q.max() <= 127
    assert (scale, zero_point) == reference_params(tensor, 8, signed=True)
    restored = tq.dequantize_asymmetric(q, scale, zero_point)
    assert np.abs(restored - tensor).max() <= scale / 2 + roundtrip_slack(grid_bound(tensor))


# ------------------------------------------------------------------ conventions


@pytest.mark.parametrize("bits", range(2, 17))
def test_quantized_range(bits):
    for signed in (False, True):
        low, high = tq.quantized_range(bits, signed)
        assert (low, high) == reference_range(bits, signed)
        assert type(low) is int and type(high) is int and high - low == 2 ** bits - 1


@pytest.mark.parametrize("bits", [2, 3, 4, 7, 8, 9, 12, 16])
@pytest.mark.parametrize("signed", [False, True])
def test_params_and_q_match_a_plain_reference(bits, signed):
    rng = np.random.default_rng(bits)
    for x in (rng.standard_normal((7, 11)) * 3 + 1, rng.uniform(0.5, 2.0, 20), -rng.uniform(0.5, 2.0, 20),
              rng.standard_normal(50).astype(np.float32)):
        scale, zero_point = tq.asymmetric_quant_params(x, bits, signed=signed)
        assert (scale, zero_point) == reference_params(x, bits, signed)
        assert type(zero_point) is int
        q, scale_q, zero_point_q = tq.quantize_asymmetric(x, bits, signed=signed)
        qmin, qmax = reference_range(bits, signed)
        assert (scale_q, zero_point_q) == (scale, zero_point)
        assert q.dtype == expected_dtype(bits, signed) and q.shape == x.shape
        # the quotient in the input's precision (float32 stays float32), rounded, then shifted
        assert np.array_equal(q, np.clip(np.rint(x / scale) + zero_point, qmin, qmax))


def test_range_is_widened_to_include_zero():
    assert tq.asymmetric_quant_params([1.0, 3.0]) == (3 / 255, 0)
    assert tq.asymmetric_quant_params([-3.0, -1.0]) == (3 / 255, 255)
    assert tq.asymmetric_quant_params([-3.0, -1.0], signed=True) == (3 / 255, 127)


def test_levels_are_2_to_the_b_minus_1_gaps():
    assert tq.asymmetric_quant_params([0.0, 15.0], num_bits=4) == (1.0, 0)
    assert tq.asymmetric_quant_params([0.0, 65535.0], num_bits=16) == (1.0, 0)
    assert tqp.quantize_asymmetric([0.0, 2.0 ** 32 - 1], bits=32) == ([0, 2 ** 32 - 1], 1.0, 0)


def test_zero_point_ties_go_to_even():
    assert tq.asymmetric_quant_params([-1.0, 1.0]) == (2 / 255, 128)  # 127.5 -> 128
    assert tq.asymmetric_quant_params([-126.5, 128.5]) == (1.0, 126)  # 126.5 -> 126, not 127
    assert tqp.quantize_asymmetric([-126.5, 128.5])[2] == 126


def test_rounds_before_adding_the_zero_point():
    # z = 3 (odd): round(0.5) + 3 = 3, whereas round(0.5 + 3) would be 4
    expected = ([0, 255, 3, 5, 1], 1.0, 3)
    q, scale, zero_point = tq.quantize_asymmetric([-3.0, 252.0, 0.5, 1.5, -2.5])
    assert (q.tolist(), scale, zero_point) == expected
    assert tqp.quantize_asymmetric([-3.0, 252.0, 0.5, 1.5, -2.5]) == expected


def test_clamp_catches_one_past_qmax():
    # -min'/s = 1.5 -> z = 2 and 253.5 -> 254: 254 + 2 = 256 must saturate at 255, not wrap to 0
    q, _, zero_point = tq.quantize_asymmetric([-1.5, 253.5])
    assert zero_point == 2 and q.tolist() == [0, 255]
    assert tqp.quantize_asymmetric([-1.5, 253.5]) == ([0, 255], 1.0, 2)
    q, _, zero_point = tq.quantize_asymmetric([-1.5, 253.5], signed=True)
    assert zero_point == -126 and q.tolist() == [-128, 127]


@pytest.mark.parametrize("bits", range(2, 17))
def test_dtypes(bits):
    for signed in (False, True):
        q, _, _ = tq.quantize_asymmetric(np.linspace(-1.0, 2.0, 7), bits, signed=signed)
        assert q.dtype == expected_dtype(bits, signed)
        assert (int(q.min()), int(q.max())) == reference_range(bits, signed)


def test_dequantize_is_float32_exact_at_zero_and_never_wraps():
    deq = tq.dequantize_asymmetric(np.array([0, 10, 200], dtype=np.uint8), 0.5, 200)
    assert deq.dtype == np.float32 and deq.tolist() == [-100.0, -95.0, 0.0]
    deq = tq.dequantize_asymmetric(np.array([-128, 127], dtype=np.int8), 1.0, -128)
    assert deq.tolist() == [0.0, 255.0]
    deq = tq.dequantize_asymmetric(np.array([65535, 0], dtype=np.uint16), 0.5, 32768)
    assert deq.tolist() == [16383.5, -16384.0]
    assert tq.dequantize_asymmetric(np.array(7, dtype=np.uint8), 2.0, 3).shape == ()
    assert tqp.dequantize_asymmetric([0, 10, 3], 0.5, 10) == [-5.0, 0.0, -3.5]


def test_relu_outputs_gain_about_6_db_over_symmetric():
    rng = np.random.default_rng(0)
    activations = np.maximum(0.0, rng.standard_normal((256, 64)) @ rng.standard_normal((64, 64)) / 8)
    activations = activations.astype(np.float32)
    q_s, s_s = tq.quantize_symmetric(activations)
    q_a, s_a, z_a = tq.quantize_asymmetric(activations)
    sym = tq.quantization_error(activations, q_s, tq.dequantize_symmetric(q_s, s_s))
    asym = tq.quantization_error(activations, q_a, tq.dequantize_asymmetric(q_a, s_a, z_a))
    assert z_a == 0 and q_s.min() >= 0  # the negative half of the symmetric codes is unused
    assert 3.5 < sym["mse"] / asym["mse"] < 4.5
    assert 5.5 < asym["snr_db"] - sym["snr_db"] < 6.5


# ------------------------------------------------------------------ edge cases (seed 002)


@pytest.mark.parametrize("signed", [False, True])
def test_edge_cases_give_finite_positive_scales_without_warnings(signed):
    qmin = -128 if signed else 0
    cases = [  # (x, expected scale, expected zero point - qmin)
        (np.zeros((3, 3)), 1.0, 0),
        (np.zeros(4, dtype=np.float32), 1.0, 0),
        (np.full(5, 2.5), 2.5 / 255, 0),
        (np.full(5, -2.5, dtype=np.float32), 2.5 / 255, 255),
        (np.array([7.0]), 7 / 255, 0),
        (np.array([-7.0]), 7 / 255, 255),
        (np.array([-1e30, 2e30]), 3e30 / 255, 85),
        (np.array([1e-45, 0.0], dtype=np.float32), F32_TINY, 0),
        (np.array([-1e-320, 1e-320]), F32_TINY, 0),
        (np.array([5e-324]), F32_TINY, 0),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x, scale, offset in cases:
            q, s, z = tq.quantize_asymmetric(x, signed=signed)
            assert math.isclose(s, scale, rel_tol=1e-12) and z == qmin + offset, (x, s, z)
            deq = tq.dequantize_asymmetric(q, s, z)
            assert np.isfinite(deq).all() and np.float32(s) > 0 and np.isfinite(1 / np.float32(s))
            assert np.abs(deq.astype(np.float64) - x).max() <= s / 2 + roundtrip_slack(grid_bound(x))
        # the float32 range itself: max - min overflows float32, not float64
        x = np.array([-F32_MAX, F32_MAX / 3], dtype=np.float32)
        s, z = tq.asymmetric_quant_params(x, signed=signed)
        assert math.isclose(s, (F32_MAX + F32_MAX / 3) / 255, rel_tol=1e-7) and np.isfinite(np.float32(s))
        assert z == qmin + 191


def test_pure_edge_cases():
    assert tqp.quantize_asymmetric([0.0, 0.0]) == ([0, 0], 1.0, 0)
    assert tqp.quantize_asymmetric([3.0]) == ([255], 3 / 255, 0)
    assert tqp.quantize_asymmetric([-3.0, -3.0]) == ([0, 0], 3 / 255, 255)
    for tiny in ([5e-324], [1e-320, -1e-320], [1e-45]):
        q, scale, zero_point = tqp.quantize_asymmetric(tiny)
        assert scale == F32_TINY and zero_point == 0
    q, scale, zero_point = tqp.quantize_asymmetric([1e30, -2e30, 0.0])
    assert zero_point == 170 and tqp.dequantize_asymmetric(q, scale, zero_point)[2] == 0.0
    q, scale, zero_point = tqp.quantize_asymmetric([-1e300, 3e300], bits=32)
    assert math.isfinite(scale) and zero_point == 2 ** 30 and q == [0, 2 ** 32 - 1]


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("call, error, name", [
    (lambda: tq.asymmetric_quant_params([1.0, np.nan]), ValueError, "x"),
    (lambda: tq.asymmetric_quant_params([np.inf]), ValueError, "x"),
    (lambda: tq.asymmetric_quant_params([]), ValueError, "x"),
    (lambda: tq.asymmetric_quant_params(["a"]), TypeError, "x"),
    (lambda: tq.asymmetric_quant_params([-1e308, 1e308]), ValueError, "x"),
    (lambda: tq.asymmetric_quant_params([1.0], num_bits=True), TypeError, "num_bits"),
    (lambda: tq.asymmetric_quant_params([1.0], num_bits=8.0), TypeError, "num_bits"),
    (lambda: tq.asymmetric_quant_params([1.0], num_bits=1), ValueError, "num_bits"),
    (lambda: tq.asymmetric_quant_params([1.0], num_bits=17), ValueError, "num_bits"),
    (lambda: tq.asymmetric_quant_params([1.0], signed=1), TypeError, "signed"),
    (lambda: tq.quantize_asymmetric([[]]), ValueError, "x"),
    (lambda: tq.quantize_asymmetric([1.0], signed="yes"), TypeError, "signed"),
    (lambda: tq.quantized_range(8, None), TypeError, "signed"),
    (lambda: tq.quantized_range(0, False), ValueError, "num_bits"),
    (lambda: tq.dequantize_asymmetric(np.array([1], dtype=np.uint8), 1.0, -1), ValueError, "zero_point"),
    (lambda: tq.dequantize_asymmetric(np.array([1], dtype=np.uint8), 1.0, 256), ValueError, "zero_point"),
    (lambda: tq.dequantize_asymmetric(np.array([1], dtype=np.int8), 1.0, 128), ValueError, "zero_point"),
    (lambda: tq.dequantize_asymmetric(np.array([1], dtype=np.uint8), 1.0, 3.0), TypeError, "zero_point"),
    (lambda: tq.dequantize_asymmetric(np.array([1], dtype=np.uint8), 1.0, True), TypeError, "zero_point"),
    (lambda: tq.dequantize_asymmetric(np.array([1], dtype=np.uint8), 0.0, 0), ValueError, "scale"),
    (lambda: tq.dequantize_asymmetric(np.array([1], dtype=np.uint8), -1.0, 0), ValueError, "scale"),
    (lambda: tq.dequantize_asymmetric(np.array([1], dtype=np.uint8), np.nan, 0), ValueError, "scale"),
    (lambda: tq.dequantize_asymmetric(np.array([1], dtype=np.uint8), "1", 0), TypeError, "scale"),
    (lambda: tq.dequantize_asymmetric(np.array([1.5]), 1.0, 0), TypeError, "q"),
    (lambda: tq.dequantize_asymmetric(np.array([], dtype=np.uint8), 1.0, 0), ValueError, "q"),
    (lambda: tqp.quantize_asymmetric([]), ValueError, "tensor"),
    (lambda: tqp.quantize_asymmetric([math.nan]), ValueError, "tensor"),
    (lambda: tqp.quantize_asymmetric([True]), TypeError, "tensor"),
    (lambda: tqp.quantize_asymmetric([-1e308, 1e308]), ValueError, "tensor"),
    (lambda: tqp.quantize_asymmetric([1.0], bits=33), ValueError, "bits"),
    (lambda: tqp.quantize_asymmetric([1.0], bits=False), TypeError, "bits"),
    (lambda: tqp.dequantize_asymmetric([1], 1.0, 2 ** 32), ValueError, "zero_point"),
    (lambda: tqp.dequantize_asymmetric([1], 1.0, 0.5), TypeError, "zero_point"),
    (lambda: tqp.dequantize_asymmetric([1], 0.0, 0), ValueError, "scale"),
    (lambda: tqp.dequantize_asymmetric([1.0], 1.0, 0), TypeError, "quantized"),
])
def test_bad_input_raises_naming_the_argument(call, error, name):
    with pytest.raises(error, match=rf"\b{name}\b"):
        call()


# ------------------------------------------------------------------ properties


@given(x=roundtrip_arrays, bits=num_bits, signed=signs)
def test_roundtrip_error_at_most_half_a_step(x, bits, signed):
    q, scale, zero_point = tq.quantize_asymmetric(x, bits, signed=signed)
    deq = tq.dequantize_asymmetric(q, scale, zero_point)
    assert deq.dtype == np.float32 and deq.shape == x.shape and np.isfinite(deq).all()
    error = np.abs(deq.astype(np.float64) - x.astype(np.float64))
    assert error.max() <= scale / 2 + roundtrip_slack(grid_bound(x))


@given(x=finite_arrays(), bits=num_bits, signed=signs)
def test_params_are_finite_and_q_stays_in_range(x, bits, signed):
    scale, zero_point = tq.asymmetric_quant_params(x, bits, signed=signed)
    qmin, qmax = reference_range(bits, signed)
    assert math.isfinite(scale) and scale >= F32_TINY and np.isfinite(np.float32(scale))
    assert type(zero_point) is int and qmin <= zero_point <= qmax
    assert (scale, zero_point) == reference_params(x, bits, signed)
    q, _, _ = tq.quantize_asymmetric(x, bits, signed=signed)
    assert q.dtype == expected_dtype(bits, signed)
    assert qmin <= int(q.min()) and int(q.max()) <= qmax


@given(x=finite_arrays(), bits=num_bits, signed=signs)
def test_zero_is_exactly_representable(x, bits, signed):
    x = np.append(x.ravel(), x.dtype.type(0))
    q, scale, zero_point = tq.quantize_asymmetric(x, bits, signed=signed)
    assert q[-1] == zero_point
    assert tq.dequantize_asymmetric(q[-1:], scale, zero_point)[0] == 0.0
    assert tq.dequantize_asymmetric(np.array([zero_point]), scale, zero_point)[0] == 0.0


@given(x=finite_arrays(), bits=num_bits)
def test_signed_is_unsigned_shifted_by_half_the_range(x, bits):
    q_u, scale_u, zero_point_u = tq.quantize_asymmetric(x, bits)
    q_s, scale_s, zero_point_s = tq.quantize_asymmetric(x, bits, signed=True)
    shift = 2 ** (bits - 1)
    assert scale_s == scale_u and zero_point_s == zero_point_u - shift
    assert np.array_equal(q_s.astype(np.int64), q_u.astype(np.int64) - shift)
    with warnings.catch_warnings():  # grid ends beyond float32 give inf in both variants alike
        warnings.simplefilter("ignore")
        assert np.array_equal(tq.dequantize_asymmetric(q_s, scale_s, zero_point_s),
                              tq.dequantize_asymmetric(q_u, scale_u, zero_point_u))


@given(x=finite_arrays(shape=(20,)), bits=num_bits, signed=signs)
def test_quantization_is_monotone(x, bits, signed):
    order = np.argsort(x, kind="stable")
    q, _, _ = tq.quantize_asymmetric(x, bits, signed=signed)
    assert (np.diff(q[order].astype(np.int64)) >= 0).all()


@given(values=st.lists(st.floats(min_value=-1e300, max_value=1e300, allow_nan=False), min_size=1, max_size=40),
       bits=num_bits)
def test_level1_equals_level2_on_float64(values, bits):
    q1, scale1, zero_point1 = tqp.quantize_asymmetric(values, bits=bits)
    q2, scale2, zero_point2 = tq.quantize_asymmetric(np.array(values, dtype=np.float64), bits)
    assert (scale1, zero_point1) == (scale2, zero_point2)
    assert q1 == q2.tolist()


@given(values=st.lists(st.floats(min_value=-1e300, max_value=1e300, allow_nan=False), min_size=1, max_size=40),
       bits=pure_bits)
def test_level1_roundtrip_and_range(values, bits):
    q, scale, zero_point = tqp.quantize_asymmetric(values, bits=bits)
    assert all(type(v) is int and 0 <= v <= 2 ** bits - 1 for v in q)
    assert type(zero_point) is int and 0 <= zero_point <= 2 ** bits - 1
    assert math.isfinite(scale) and scale >= F32_TINY
    deq = tqp.dequantize_asymmetric(q, scale, zero_point)
    bound = grid_bound(values)
    for original, restored in zip(values, deq):
        assert abs(restored - original) <= scale / 2 * (1 + 1e-9) + 4 * 2.0 ** -53 * bound
        if original == 0.0:
            assert restored == 0.0


# ------------------------------------------------------------------ PyTorch (optional)


@pytest.mark.parametrize("signed", [False, True])
def test_matches_pytorch_minmax_observer(signed):
    torch = pytest.importorskip("torch")
    x = (np.random.default_rng(5).standard_normal(4096) * 2 + 0.7).astype(np.float32)
    dtype = torch.qint8 if signed else torch.quint8
    observer = torch.ao.quantization.MinMaxObserver(dtype=dtype, qscheme=torch.per_tensor_affine)
    observer(torch.from_numpy(x))
    torch_scale, torch_zero_point = observer.calculate_qparams()
    scale, zero_point = tq.asymmetric_quant_params(x, signed=signed)
    assert math.isclose(scale, float(torch_scale), rel_tol=1e-6)  # PyTorch computes in float32
    assert abs(zero_point - int(torch_zero_point)) <= 1
    q, _, _ = tq.quantize_asymmetric(x, signed=signed)
    torch_q = torch.quantize_per_tensor(torch.from_numpy(x), scale, zero_point, dtype).int_repr().numpy()
    differ = np.abs(torch_q.astype(np.int64) - q.astype(np.int64))
    assert differ.max() <= 1 and np.mean(differ == 0) > 0.99
