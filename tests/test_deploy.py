"""Tests of chapter 09's layer on a backend (``tinyquant.deploy``).

What is checked, and why it can fail:

* per tensor, ``deploy.QuantizedLinear`` gives the same float32 bits as chapter 07's layer on every
  backend, dynamic, static and frozen, for any leading dimensions: a different epilogue, a product
  that is not exact or a lost zero point fails here;
* per token, the outputs of the two backends are bit-identical, and equal the formula
  ``s_i s_w[j] (P - z_i r_j) + b_j`` computed from the int64 product;
* ``quantize_activations_per_token`` quantizes row ``i`` exactly as ``quantize_activations(x[i])``;
* per token is within 1 % of the float layer on Gaussian input (seed 003) and cuts the error of a
  batch with spiking tokens; ONNX Runtime running the float layer (``MatMul`` + ``Add``) is the
  reference of the float side (Level 4);
* the weights go to ONNX Runtime once per layer, and ``memory_bytes`` counts the runtime's copy;
* ``from tinyquant import *`` keeps chapter 07's ``QuantizedLinear``;
* bad input raises, and overflowing accumulators raise instead of wrapping.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyquant
import tinyquant.deploy as deploy
import tinyquant.nn as nn
from course.export import public_names
from tinyquant.kernels import available_backends, inference_session, onnx_modules

needs_onnxruntime = pytest.mark.skipif(onnx_modules() is None, reason="onnxruntime and onnx not installed")


def relative_error(y, reference):
    return float(np.linalg.norm(y - reference) / np.linalg.norm(reference))


@st.composite
def layers_and_inputs(draw):
    k, n = draw(st.integers(1, 300)), draw(st.integers(1, 40))
    leading = draw(st.lists(st.integers(1, 5), min_size=0, max_size=2))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    spread = draw(st.sampled_from([1e-3, 1.0, 30.0]))
    x = (rng.standard_normal((*leading, k)) * spread + draw(st.sampled_from([0.0, 2.0]))).astype(np.float32)
    return nn.Linear(k, n, rng=seed), x


@given(layers_and_inputs())
def test_per_tensor_is_chapter_07_bit_for_bit(case):
    linear, x = case
    try:
        expected = nn.QuantizedLinear.from_float(linear)(x)
    except ValueError:  # chapter 07 refuses (a bias beyond int32 at this input scale): so must the layer
        for backend in available_backends():
            with pytest.raises(ValueError, match="int32"):
                deploy.QuantizedLinear.from_float(linear, backend=backend)(x)
        return
    for backend in available_backends():
        assert np.array_equal(deploy.QuantizedLinear.from_float(linear, backend=backend)(x), expected)


@given(layers_and_inputs())
def test_per_token_backends_agree_with_the_formula(case):
    linear, x = case
    rows = x.reshape(-1, linear.in_features)
    x_q, scales, zero_points = deploy.quantize_activations_per_token(rows)
    layer = deploy.QuantizedLinear.from_float(linear, backend="numpy", activations="token")
    acc = x_q.astype(np.int64) @ layer.weight_q.T.astype(np.int64) - np.outer(zero_points, layer.weight_row_sums)
    expected = acc.astype(np.float32) * (scales[:, None].astype(np.float32) * layer.weight_scales) + linear.bias
    for backend in available_backends():
        y = deploy.QuantizedLinear.from_float(linear, backend=backend, activations="token")(x)
        assert y.dtype == np.float32 and np.array_equal(y.reshape(-1, linear.out_features), expected)


@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 6), st.integers(1, 200))
def test_per_token_is_per_tensor_of_each_row(seed, rows, columns):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, columns)) * rng.uniform(1e-3, 100, size=(rows, 1))).astype(np.float32)
    x[rng.random((rows, columns)) < 0.2] = 0.0
    q, scales, zero_points = deploy.quantize_activations_per_token(x)
    for i in range(rows):
        q_i, scale_i, zero_point_i = nn.quantize_activations(x[i])
        assert np.array_equal(q[i], q_i) and scales[i] == scale_i and zero_points[i] == zero_point_i


@pytest.mark.parametrize("backend", available_backends())
def test_static_and_frozen_layers_are_chapter_07s(backend):
    linear = nn.Linear(128, 48, rng=1)
    x = np.random.default_rng(2).standard_normal((9, 128)).astype(np.float32)
    expected = nn.QuantizedLinear.from_float(linear).calibrate([x]).freeze()(x)
    layer = deploy.QuantizedLinear.from_float(linear, backend=backend).calibrate([x])
    assert np.array_equal(layer.freeze()(x), expected)


def test_accuracy_per_tensor_and_per_token():
    linear = nn.Linear(1024, 1024, rng=0)
    x = np.random.default_rng(13).standard_normal((64, 1024)).astype(np.float32)
    reference = x.astype(np.float64) @ linear.weight.T.astype(np.float64) + linear.bias
    tensor = relative_error(deploy.QuantizedLinear.from_float(linear, activations="tensor")(x), reference)
    token = relative_error(deploy.QuantizedLinear.from_float(linear, activations="token")(x), reference)
    assert token < 0.01 and token < tensor < 0.012
    spiky = x.copy()
    spiky[::8, 5] = 60.0
    reference = spiky.astype(np.float64) @ linear.weight.T.astype(np.float64) + linear.bias
    tensor = relative_error(deploy.QuantizedLinear.from_float(linear, activations="tensor")(spiky), reference)
    token = relative_error(deploy.QuantizedLinear.from_float(linear, activations="token")(spiky), reference)
    assert token < 0.5 * tensor


@needs_onnxruntime
def test_level_4_the_float_side_against_onnxruntime():
    """ONNX Runtime's float32 MatMul + Add is the float layer; the int8 layer is within 1 % of it."""
    onnx, _ = onnx_modules()
    helper = onnx.helper
    linear = nn.Linear(512, 256, rng=3)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])], "linear",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["M", 512])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["M", 256])],
        [onnx.numpy_helper.from_array(np.ascontiguousarray(linear.weight.T), "w"),
         onnx.numpy_helper.from_array(linear.bias, "b")])
    session = inference_session(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    x = np.random.default_rng(4).standard_normal((32, 512)).astype(np.float32)
    y_ort = session.run(None, {"x": x})[0]
    assert np.allclose(y_ort, linear(x), rtol=1e-4, atol=1e-5)
    for activations in deploy.ACTIVATIONS:
        layer = deploy.QuantizedLinear.from_float(linear, backend="onnxruntime", activations=activations)
        assert relative_error(layer(x), y_ort) < 0.01


@needs_onnxruntime
def test_the_weights_go_to_the_runtime_once(monkeypatch):
    made = []
    original = deploy.WeightProduct.__init__

    def counting(self, weight_q, backend=None):
        made.append(backend)
        original(self, weight_q, backend)

    monkeypatch.setattr(deploy.WeightProduct, "__init__", counting)
    layer = deploy.QuantizedLinear.from_float(nn.Linear(64, 16, rng=0), backend="onnxruntime")
    x = np.ones((3, 64), dtype=np.float32)
    for _ in range(3):
        layer(x)
    layer.memory_bytes()
    assert made == ["onnxruntime"]
    assert layer.integer_product().session is not None


@needs_onnxruntime
def test_memory_bytes_counts_the_runtimes_copy():
    linear = nn.Linear(256, 128, rng=0)
    on_numpy = deploy.QuantizedLinear.from_float(linear, backend="numpy")
    on_runtime = deploy.QuantizedLinear.from_float(linear, backend="onnxruntime")
    assert on_numpy.memory_bytes() == nn.QuantizedLinear.from_float(linear).memory_bytes()
    assert on_runtime.memory_bytes() == on_numpy.memory_bytes() + 256 * 128


def test_overflowing_accumulators_raise():
    deep = deploy.QuantizedLinear.from_float(nn.Linear(70000, 1, rng=0), backend="numpy", activations="token")
    with pytest.raises(ValueError, match="overflow"):
        deep(np.ones((1, 70000), dtype=np.float32))


@pytest.mark.parametrize("call, error", [
    (lambda: deploy.QuantizedLinear(4, 2, activations="row"), ValueError),
    (lambda: deploy.QuantizedLinear(4, 2, backend="gpu"), ValueError),
    (lambda: deploy.QuantizedLinear(4, 2, backend=0), TypeError),
    (lambda: deploy.QuantizedLinear(4, 2)(np.ones((1, 4))), RuntimeError),
    (lambda: deploy.QuantizedLinear(4, 2).quantize_weights()(np.ones((1, 5))), ValueError),
    (lambda: deploy.QuantizedLinear(4, 2, activations="token").quantize_weights().set_activation_params(0.1, 0),
     ValueError),
    (lambda: deploy.quantize_activations_per_token(np.ones(3)), ValueError),
    (lambda: deploy.quantize_activations_per_token([[np.nan]]), ValueError),
])
def test_bad_input(call, error):
    with pytest.raises(error):
        call()


def test_star_import_keeps_chapter_07s_layer():
    assert tinyquant.QuantizedLinear is nn.QuantizedLinear
    names = {}
    exec("from tinyquant import *", names)
    assert names["QuantizedLinear"] is nn.QuantizedLinear and "quantize_activations_per_token" in names
    generated = public_names(Path(deploy.__file__).read_text())
    assert sorted(deploy.__all__) == sorted(set(generated) - {"QuantizedLinear"}), "deploy.__all__ is out of date"
