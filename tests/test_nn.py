"""Tests of chapter 07: ``tinyquant.nn.Linear`` and ``tinyquant.nn.QuantizedLinear`` and their pieces.

What the quantized layer promises, and how each promise is checked here:

* its arithmetic is exactly ``s_x * s_w[j] * (sum_k q_x q_w - z_x * r[j] + b_q[j])`` with the
  sum in exact integers: checked against an int64 reference, and against the float product of
  the dequantized activations, weights and bias (the same number, up to float32 rounding);
* it holds int8 weights, float32 per-channel scales, int32 row sums and the float32 bias, and
  ``memory_bytes()`` is exactly the sum of the ``nbytes`` of the arrays it holds; at
  1024 x 1024 that is at least 3.9x less than the float32 layer;
* ``forward`` treats ``[..., in_features]`` as rows: the output of any leading shape equals the
  2-D output of the flattened rows;
* its output is within 1 % of the float layer on ReLU inputs (the measurement of the notebook,
  section 4), and every output channel is close, whatever its range (per-channel weights);
* a forward pass never allocates a float32 copy of the weights (a tracemalloc peak, which is
  deterministic for NumPy's allocations: no timing here; speed is in benchmarks/bench_linear.py).

Hypothesis runs under the "ci" profile of conftest.py (derandomized, no deadline).
"""
from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyquant as tq
from tinyquant.nn import (ACTIVATION_QMAX, ACTIVATION_QMIN, Linear, QuantizedLinear, integer_linear,
                          quantize_activations, quantize_bias)

INT32_MAX = 2 ** 31 - 1


def relative_error(y_hat, y):
    y = np.asarray(y, dtype=np.float64)
    return float(np.linalg.norm(np.asarray(y_hat, dtype=np.float64) - y) / np.linalg.norm(y))


def relu_inputs(shape, seed=0):
    return np.maximum(np.random.default_rng(seed).standard_normal(shape), 0).astype(np.float32)


@pytest.fixture(scope="module")
def big():
    """A 1024 x 1024 float layer and its quantized copy (float weights kept for comparisons)."""
    linear = Linear(1024, 1024, rng=0)
    return linear, QuantizedLinear.from_float(linear, keep_float=True)


# ------------------------------------------------------------------------------------- Linear

@given(k=st.integers(1, 300), n=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_linear_layout_init_and_reproducibility(k, n, seed):
    layer = Linear(k, n, rng=seed)
    bound = 1 / math.sqrt(k)
    assert layer.weight.shape == (n, k) and layer.bias.shape == (n,)
    assert layer.weight.dtype == layer.bias.dtype == np.float32
    assert np.abs(layer.weight).max() <= bound and np.abs(layer.bias).max() <= bound
    twin = Linear(k, n, rng=np.random.default_rng(seed))
    assert np.array_equal(twin.weight, layer.weight) and np.array_equal(twin.bias, layer.bias)
    assert layer.memory_bytes() == layer.weight.nbytes + layer.bias.nbytes


def test_linear_init_is_pytorch_uniform():
    layer = Linear(400, 2000, rng=1)
    bound = 1 / math.sqrt(400)
    for values in (layer.weight, layer.bias):
        # U(-a, a): mean 0, standard deviation a / sqrt(3), extremes near ±a
        assert abs(float(values.mean())) < 0.02 * bound
        assert abs(float(values.std()) / (bound / math.sqrt(3)) - 1) < 0.05
        assert np.abs(values).max() > 0.99 * bound
    assert not np.array_equal(Linear(400, 2000, rng=2).weight, layer.weight)


@given(lead=st.lists(st.integers(1, 4), min_size=0, max_size=3), seed=st.integers(0, 1000))
def test_linear_forward_any_leading_shape(lead, seed):
    layer = Linear(7, 5, rng=seed)
    x = np.random.default_rng(seed).standard_normal((*lead, 7)).astype(np.float32)
    y = layer(x)
    assert y.shape == (*lead, 5) and y.dtype == np.float32
    expected = x.astype(np.float64) @ layer.weight.T.astype(np.float64) + layer.bias
    assert np.allclose(y, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bad, error", [(np.ones((2, 6)), ValueError), (np.ones(8), ValueError),
                                        (np.float32(1.0), ValueError), ([[np.nan] * 7], ValueError),
                                        ([[np.inf] * 7], ValueError), ([["a"] * 7], TypeError)])
def test_linear_bad_input_names_x(bad, error):
    with pytest.raises(error, match="x must"):
        Linear(7, 5, rng=0)(bad)


def test_linear_bad_sizes_and_rng():
    with pytest.raises(ValueError, match="in_features"):
        Linear(0, 3)
    with pytest.raises(TypeError, match="out_features"):
        Linear(3, 2.0)
    with pytest.raises(TypeError, match="rng"):
        Linear(3, 2, rng="seed")
    with pytest.raises(TypeError, match="rng"):
        Linear(3, 2, rng=True)


# ------------------------------------------------------------------------ quantize_activations

@given(data=st.data())
def test_dynamic_activations_are_chapter_03_int8(data):
    shape = data.draw(st.tuples(st.integers(1, 5), st.integers(1, 9)))
    x = data.draw(st.sampled_from([np.float32, np.float64]))
    values = np.random.default_rng(data.draw(st.integers(0, 10**6))).standard_normal(shape)
    values = (values * data.draw(st.sampled_from([1e-3, 1.0, 1e3])) + data.draw(st.sampled_from([0.0, 5.0]))).astype(x)
    q, scale, zero_point = quantize_activations(values)
    q_ref, scale_ref, zero_point_ref = tq.quantize_asymmetric(values, signed=True)
    assert q.dtype == np.int8 and q.shape == values.shape
    assert (scale, zero_point) == (scale_ref, zero_point_ref) and np.array_equal(q, q_ref)
    # the whole range is covered: every value within half a step of its dequantized value
    error = np.abs(scale * (q.astype(np.float64) - zero_point) - values)
    assert error.max() <= scale / 2 * (1 + 1e-5) + 1e-6 * np.abs(values).max()


def test_static_activations_clamp_and_round_before_the_zero_point():
    q, scale, zero_point = quantize_activations(np.array([-10.0, -1.0, 0.5, 1.5, 2.5, 99.0]), 1.0, 3)
    assert q.tolist() == [-7, 2, 3, 5, 5, 102] and (scale, zero_point) == (1.0, 3)
    q, _, _ = quantize_activations(np.array([-1e6, 1e6]), 0.1, -128)
    assert q.tolist() == [ACTIVATION_QMIN, ACTIVATION_QMAX]


def test_activation_parameters_are_checked():
    for kwargs, error in (({"scale": 1.0}, ValueError), ({"zero_point": 0}, ValueError),
                          ({"scale": -1.0, "zero_point": 0}, ValueError),
                          ({"scale": 1.0, "zero_point": 128}, ValueError),
                          ({"scale": 1.0, "zero_point": 1.5}, TypeError)):
        with pytest.raises(error):
            quantize_activations([1.0, 2.0], **kwargs)


# ------------------------------------------------------------------------------- quantize_bias

@given(seed=st.integers(0, 10**6), input_scale=st.floats(1e-4, 10.0))
def test_bias_codes_are_within_half_an_accumulator_step(seed, input_scale):
    rng = np.random.default_rng(seed)
    bias = rng.uniform(-1, 1, size=12)
    weight_scales = rng.uniform(1e-3, 1e-1, size=12)
    codes = quantize_bias(bias, input_scale, weight_scales)
    step = input_scale * weight_scales
    assert codes.dtype == np.int32 and codes.shape == (12,)
    assert np.array_equal(codes, np.rint(bias / step))
    assert np.all(np.abs(codes * step - bias) <= step / 2 * (1 + 1e-12))


def test_bias_overflow_raises_instead_of_wrapping():
    assert quantize_bias([2.0], 1.0, [1e-9]).tolist() == [2_000_000_000]
    with pytest.raises(ValueError, match="int32"):
        quantize_bias([3.0], 1.0, [1e-9])
    with pytest.raises(ValueError, match="weight_scales"):
        quantize_bias([1.0, 2.0], 1.0, [1.0])
    with pytest.raises(ValueError, match="bias"):
        quantize_bias([np.nan], 1.0, [1.0])


# ------------------------------------------------------------------------------ integer_linear

@given(seed=st.integers(0, 10**6), m=st.integers(1, 6), k=st.integers(1, 1500), n=st.integers(1, 6),
       zero_point=st.integers(-128, 127))
def test_integer_linear_is_the_exact_integer_formula(seed, m, k, n, zero_point):
    rng = np.random.default_rng(seed)
    x_q = rng.integers(-128, 128, size=(m, k)).astype(np.int8)
    w_q = rng.integers(-127, 128, size=(n, k)).astype(np.int8)
    scales = rng.uniform(1e-3, 1.0, size=n).astype(np.float32)
    bias_q = rng.integers(-10**6, 10**6, size=n).astype(np.int32)
    y = integer_linear(x_q, 0.02, zero_point, w_q, scales, w_q.sum(axis=1, dtype=np.int32), bias_q)
    acc = (x_q.astype(np.int64) - zero_point) @ w_q.T.astype(np.int64) + bias_q
    expected = acc * (np.float32(0.02) * scales).astype(np.float64)
    assert y.dtype == np.float32 and y.shape == (m, n)
    # one float32 conversion and one float32 product: at most a few units in the last place
    assert np.allclose(y, expected, rtol=3e-7, atol=0)
    folded = bias_q - zero_point * w_q.sum(axis=1, dtype=np.int64)  # a frozen layer's int32 bias
    assert np.array_equal(integer_linear(x_q, 0.02, zero_point, w_q, scales, None, folded), y)


def test_integer_linear_equals_the_dequantized_float_product():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 70)).astype(np.float32)
    weight = rng.uniform(-0.3, 0.3, size=(11, 70)).astype(np.float32)
    bias = rng.uniform(-0.3, 0.3, size=11).astype(np.float32)
    x_q, x_scale, zero_point = quantize_activations(x)
    w_q, scales = tq.quantize_per_channel(weight)
    bias_q = quantize_bias(bias, x_scale, scales)
    y = integer_linear(x_q, x_scale, zero_point, w_q, scales, w_q.sum(axis=1), bias_q)
    x_hat = x_scale * (x_q.astype(np.float64) - zero_point)
    expected = x_hat @ (w_q * scales[:, None]).T + bias_q * x_scale * scales
    assert np.allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_integer_linear_guards_the_accumulator():
    x_q = np.full((1, 1000), 127, dtype=np.int8)
    w_q = np.full((1, 1000), 127, dtype=np.int8)
    ones = np.ones(1, dtype=np.int32)
    assert integer_linear(x_q, 1.0, 0, w_q, [1.0], 127_000 * ones, 0 * ones)[0, 0] == 127 * 127 * 1000
    with pytest.raises(ValueError, match="overflow"):
        integer_linear(x_q, 1.0, 0, w_q, [1.0], 127_000 * ones, np.array([INT32_MAX - 1000], dtype=np.int32))
    with pytest.raises(ValueError, match="weight_q"):
        integer_linear(x_q, 1.0, 0, w_q[:, :999], [1.0], ones, ones)
    with pytest.raises(TypeError, match="x_q"):
        integer_linear(x_q.astype(np.float32), 1.0, 0, w_q, [1.0], ones, ones)


# ----------------------------------------------------------------------------- QuantizedLinear

def test_quantize_weights_drops_fp32_and_memory_is_what_the_layer_holds(big):
    linear, _ = big
    layer = QuantizedLinear.from_float(linear)
    assert layer.weight is None
    arrays = {name: value for name, value in vars(layer).items() if isinstance(value, np.ndarray)}
    assert set(arrays) == {"weight_q", "weight_scales", "weight_row_sums", "bias"}
    assert layer.memory_bytes() == sum(a.nbytes for a in arrays.values()) == 1024 * 1024 + 3 * 4 * 1024
    assert layer.weight_bytes_fp32() == linear.memory_bytes() == 4 * (1024 * 1024 + 1024)
    assert layer.weight_bytes_fp32() / layer.memory_bytes() >= 3.9


def test_keep_float_keeps_and_counts_the_float_weights(big):
    linear, kept = big
    assert kept.weight is linear.weight
    assert kept.memory_bytes() == QuantizedLinear.from_float(linear).memory_bytes() + linear.weight.nbytes


def test_weights_are_per_output_channel():
    linear = Linear(200, 8, rng=3)
    linear.weight = (linear.weight * np.geomspace(1e-3, 1.0, 8)[:, None]).astype(np.float32)
    layer = QuantizedLinear.from_float(linear, keep_float=True)
    q, scales = tq.quantize_per_channel(linear.weight, axis=0)
    assert np.array_equal(layer.weight_q, q) and np.allclose(layer.weight_scales, scales, rtol=1e-7)
    assert layer.weight_scales.dtype == np.float32 and layer.weight_row_sums.dtype == np.int32
    assert np.array_equal(layer.weight_row_sums, q.astype(np.int64).sum(axis=1))
    error = np.abs(layer.dequantized_weight() - linear.weight).max(axis=1)
    assert np.all(error <= layer.weight_scales / 2 * (1 + 1e-5))
    x = relu_inputs((64, 200), seed=4)
    y, y_q = linear(x), layer(x)
    assert max(relative_error(y_q[:, j], y[:, j]) for j in range(8)) < 0.02


def test_constructor_then_quantize_equals_from_float():
    fresh = QuantizedLinear(96, 40, rng=5)
    reference = QuantizedLinear.from_float(Linear(96, 40, rng=5))
    with pytest.raises(RuntimeError, match="quantize_weights"):
        fresh(np.ones((2, 96)))
    assert fresh.quantize_weights() is fresh and fresh.weight is None
    for name in ("weight_q", "weight_scales", "weight_row_sums", "bias"):
        assert np.array_equal(getattr(fresh, name), getattr(reference, name)), name
    with pytest.raises(RuntimeError, match="already quantized"):
        fresh.quantize_weights()


@given(lead=st.lists(st.integers(1, 4), min_size=0, max_size=3), seed=st.integers(0, 1000))
def test_forward_treats_leading_dimensions_as_rows(lead, seed):
    layer = QuantizedLinear(24, 10, rng=seed).quantize_weights()
    x = np.random.default_rng(seed).standard_normal((*lead, 24)).astype(np.float32)
    y = layer(x)
    assert y.shape == (*lead, 10) and y.dtype == np.float32
    assert np.array_equal(y.reshape(-1, 10), layer(x.reshape(-1, 24)))


def test_forward_is_the_integer_arithmetic(big):
    _, layer = big
    x = np.random.default_rng(6).standard_normal((4, 16, 1024)).astype(np.float32)
    x_q, x_scale, zero_point = quantize_activations(x.reshape(64, 1024))
    bias_q = quantize_bias(layer.bias, x_scale, layer.weight_scales)
    expected = integer_linear(x_q, x_scale, zero_point, layer.weight_q, layer.weight_scales,
                              layer.weight_row_sums, bias_q)
    assert np.array_equal(layer(x).reshape(64, 1024), expected)


def test_output_within_one_percent_on_relu_inputs(big):
    linear, layer = big
    for shape in ((64, 1024), (1, 1024), (2, 32, 1024)):
        x = relu_inputs(shape, seed=len(shape))
        assert relative_error(layer(x), linear(x)) < 0.01, shape


def test_dynamic_bias_follows_each_call_and_static_bias_is_quantized_once():
    linear = Linear(64, 16, rng=8)
    linear.bias = np.linspace(-2.0, 3.0, 16).astype(np.float32)
    layer = QuantizedLinear.from_float(linear)
    rng = np.random.default_rng(9)
    small, large = 0.01 * rng.standard_normal((8, 64)), 100.0 * rng.standard_normal((8, 64))
    for x in (small, large, small):
        assert relative_error(layer(x), linear(x)) < 0.01
    assert layer.bias_q is None
    layer.set_activation_params(0.05, -3)
    assert np.array_equal(layer.bias_q, quantize_bias(linear.bias, 0.05, layer.weight_scales))
    x_q, _, _ = quantize_activations(large, 0.05, -3)  # clamped: the static range is exceeded
    expected = integer_linear(x_q, 0.05, -3, layer.weight_q, layer.weight_scales, layer.weight_row_sums, layer.bias_q)
    assert np.array_equal(layer(large), expected)
    layer.set_activation_params(None, None)
    assert layer.bias_q is None and relative_error(layer(large), linear(large)) < 0.01


def test_calibrate_with_observers():
    linear = Linear(32, 8, rng=10)
    layer = QuantizedLinear.from_float(linear)
    batches = [relu_inputs((16, 32), seed=s) * (s + 1) for s in range(4)]
    assert layer.calibrate(batches) is layer
    scale, zero_point = tq.asymmetric_quant_params(np.concatenate(batches), signed=True)
    assert math.isclose(layer.input_scale, scale, rel_tol=1e-12) and layer.input_zero_point == zero_point
    layer.calibrate(batches, observer=tq.PercentileObserver(99.0))
    assert layer.input_scale < scale  # the largest 1 % of |x| is clipped
    with pytest.raises(ValueError, match="batches"):
        layer.calibrate([])
    with pytest.raises(ValueError, match="x must"):
        layer.calibrate([np.ones((2, 31))])


@given(seed=st.integers(0, 10**6), zero_point=st.integers(-128, 127), lead=st.lists(st.integers(1, 3), max_size=2))
def test_freeze_keeps_the_outputs_exactly_with_8_bytes_per_channel(seed, zero_point, lead):
    rng = np.random.default_rng(seed)
    linear = Linear(40, 12, rng=seed)
    linear.bias = rng.uniform(-3, 3, size=12).astype(np.float32)
    layer = QuantizedLinear.from_float(linear).set_activation_params(0.03, zero_point)
    x = rng.uniform(-5, 5, size=(*lead, 7, 40)).astype(np.float32)  # some values clamp
    before = layer(x)
    assert layer.freeze() is layer and layer.is_frozen
    assert np.array_equal(layer(x), before)
    assert layer.weight_row_sums is None and layer.bias is None and layer.bias_q.dtype == np.int32
    assert layer.memory_bytes() == 40 * 12 + 8 * 12
    assert "frozen" in repr(layer)


def test_freeze_needs_static_parameters_and_is_final():
    layer = QuantizedLinear.from_float(Linear(16, 4, rng=0))
    with pytest.raises(RuntimeError, match="static"):
        layer.freeze()  # dynamic: the zero point changes with every input
    with pytest.raises(RuntimeError, match="static"):
        QuantizedLinear(16, 4, rng=0).freeze()  # not even quantized
    layer.calibrate([relu_inputs((8, 16), seed=1)]).freeze()
    for change in (lambda: layer.freeze(), lambda: layer.set_activation_params(0.1, 0),
                   lambda: layer.set_activation_params(None, None), lambda: layer.calibrate([np.ones((2, 16))]),
                   lambda: layer.quantize_weights()):
        with pytest.raises(RuntimeError):
            change()


def test_tiny_dynamic_range_raises_instead_of_wrapping_the_bias():
    layer = QuantizedLinear.from_float(Linear(64, 4, rng=11))
    with pytest.raises(ValueError, match="int32"):
        layer(np.full((1, 64), 1e-12, dtype=np.float32))
    # all zeros: scale 1.0, and the int32 bias is within half an accumulator step of the bias
    assert np.all(np.abs(layer(np.zeros((1, 64)))[0] - layer.bias) <= layer.weight_scales / 2 * (1 + 1e-6))


def test_state_and_type_errors():
    layer = QuantizedLinear(8, 3, rng=0)
    with pytest.raises(RuntimeError):
        layer.set_activation_params(0.1, 0)
    with pytest.raises(RuntimeError):
        layer.dequantized_weight()
    with pytest.raises(TypeError, match="keep_float"):
        layer.quantize_weights(keep_float=1)
    layer.quantize_weights()
    with pytest.raises(TypeError, match="linear"):
        QuantizedLinear.from_float(layer)
    with pytest.raises(ValueError, match="zero_point"):
        layer.set_activation_params(0.1, 200)
    with pytest.raises(ValueError):
        layer.set_activation_params(0.1, None)
    for bad in (np.ones((2, 7)), np.ones(3), [[np.nan] * 8]):
        with pytest.raises(ValueError, match="x must"):
            layer(bad)


def test_forward_never_expands_the_weights_to_float(big):
    _, layer = big
    x = np.random.default_rng(12).standard_normal((8, 1024)).astype(np.float32)
    layer(x)  # warm up
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        layer(x)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * layer.weight_bytes_fp32(), peak
