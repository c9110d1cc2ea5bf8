"""Tests of chapter 08: the models, their training, and quantizing and measuring a whole model.

What chapter 08 promises, and how each promise is checked here:

* the models are lists of layers, ``[batch, seq, features]`` flows through them, and bad input
  is refused with an error naming the argument;
* training is correct: the backpropagated gradient matches finite differences of the loss (a
  directional-derivative check), and training reaches high accuracy on the digits;
* ``accuracy`` and ``perplexity`` obey their laws: bounds, uniform logits give V, shift
  invariance, exp of the mean cross-entropy, a geometric mean over sequences;
* ``quantize_model`` returns a new model, leaves the float model untouched, swaps every Linear,
  and calibrates each layer on the float model's activations exactly as an observer would;
* group-wise INT4 keeps every weight within half its group's step, and 4-bit packing round-trips;
* the chapter's targets on the real data (INT8 accuracy drop <= 0.3 pp on the digits, perplexity
  increase <= 3 % on the character model, weight matrices >= 3.9x smaller), measured with the
  chapter's seeds. No timings: those are in benchmarks/bench_model.py.

Hypothesis runs under the "ci" profile of conftest.py (derandomized, no deadline).
"""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinyquant.datasets import (context_windows, encode_text, language_model_data, load_digits_split,
                                python_docs_text)
from tinyquant.model_quant import (FLOAT32_TINY, WeightOnlyLinear, accuracy, compare_model_quality, layer_errors,
                                   model_memory_bytes, pack_int4, perplexity, quality_table, quantize_groupwise,
                                   quantize_model, quantize_model_weight_only, unpack_int4)
from tinyquant.models import Embedding, ReLU, Sequential, char_lm, mlp
from tinyquant.nn import Linear, QuantizedLinear
from tinyquant.observers import MinMaxObserver, PercentileObserver
from tinyquant.training import cross_entropy, model_gradients, train_classifier, train_language_model


def relative_error(y_hat, y):
    y = np.asarray(y, dtype=np.float64)
    return float(np.linalg.norm(np.asarray(y_hat, dtype=np.float64) - y) / np.linalg.norm(y))


def float_inputs(model, batches):
    """The input of each Linear of `model` for each batch, by a plain forward pass."""
    seen = {}
    for x in batches:
        for index, layer in enumerate(model.layers):
            if isinstance(layer, Linear):
                seen.setdefault(index, []).append(x)
            x = layer(x)
    return seen


# ------------------------------------------------------------------------------------ models

def test_char_lm_maps_batch_seq_context_to_batch_seq_vocab():
    model = char_lm(13, context=4, embedding_dim=3, hidden=8, rng=0)
    ids = np.random.default_rng(0).integers(0, 13, size=(2, 7, 4))
    logits = model(ids)
    assert logits.shape == (2, 7, 13) and logits.dtype == np.float32
    # the embedding concatenates the context's vectors, in order
    table = model.layers[0].weight
    assert np.array_equal(model.layers[0](ids)[1, 3], np.concatenate([table[i] for i in ids[1, 3]]))
    # every later layer sees [batch, seq, features]: the same as the flattened rows
    assert np.allclose(model(ids.reshape(14, 4)).reshape(2, 7, 13), logits, rtol=1e-5, atol=1e-6)


def test_mlp_structure_and_reproducibility():
    model = mlp([5, 7, 3], rng=1)
    assert [type(layer) for layer in model.layers] == [Linear, ReLU, Linear]
    assert np.array_equal(mlp([5, 7, 3], rng=1).layers[2].weight, model.layers[2].weight)
    with pytest.raises(ValueError, match="sizes"):
        mlp([5])


@pytest.mark.parametrize("layers, error", [([], ValueError), ("abc", TypeError), ([object()], TypeError)])
def test_sequential_refuses_bad_layers(layers, error):
    with pytest.raises(error, match="layers"):
        Sequential(layers)


def test_check_input_names_the_argument():
    model = mlp([4, 3], rng=0)
    with pytest.raises(ValueError, match=r"data\[0\].*\[\.\.\., 4\]"):
        model.check_input(np.ones((2, 5)), name="data[0]")
    lm = char_lm(6, context=2, embedding_dim=2, hidden=4, rng=0)
    with pytest.raises(TypeError, match="batch must hold integer token ids"):
        lm.check_input(np.ones((2, 2)), name="batch")
    with pytest.raises(ValueError, match=r"ids must hold token ids in \[0, 5\]"):
        lm(np.array([[0, 6]]))


# ---------------------------------------------------------------------------------- training

def loss_of(model, x, targets):
    return cross_entropy(model(x), targets)[0]


@pytest.mark.parametrize("kind", ["mlp", "char_lm"])
def test_gradients_match_finite_differences(kind):
    rng = np.random.default_rng(3)
    if kind == "mlp":
        model = mlp([6, 9, 4], rng=0)
        x, targets = rng.standard_normal((16, 6)).astype(np.float32), rng.integers(0, 4, size=16)
    else:
        model = char_lm(7, context=3, embedding_dim=4, hidden=10, rng=0)
        x, targets = rng.integers(0, 7, size=(3, 5, 3)), rng.integers(0, 7, size=(3, 5))
    inputs, h = [], x
    for layer in model.layers:
        inputs.append(h)
        h = layer(h)
    _, grad = cross_entropy(h, targets)
    grads = model_gradients(model, inputs, grad)
    params = [(layer, name) for layer in model.layers for name in ("weight", "bias") if hasattr(layer, name)]
    assert {key for key in grads} == {(id(layer), name) for layer, name in params}
    for trial in range(4):  # directional derivatives along random directions
        directions = {(id(l), n): rng.standard_normal(getattr(l, n).shape) for l, n in params}
        norm = math.sqrt(sum(float(np.sum(d * d)) for d in directions.values()))
        directions = {key: d / norm for key, d in directions.items()}  # a unit step in parameter space
        analytic = sum(float(np.sum(grads[key] * d)) for key, d in directions.items())
        eps = 1e-3
        values = []
        for sign in (1, -1):
            shifted = copy.deepcopy(model)  # the same layers in the same order: shift each parameter
            for index, layer in enumerate(model.layers):
                for name in ("weight", "bias"):
                    if hasattr(layer, name):
                        step = sign * eps * directions[id(layer), name]
                        getattr(shifted.layers[index], name)[...] += step.astype(np.float32)
            values.append(loss_of(shifted, x, targets))
        numeric = (values[0] - values[1]) / (2 * eps)
        assert math.isclose(analytic, numeric, rel_tol=1e-2, abs_tol=1e-3), (kind, trial, analytic, numeric)


def test_cross_entropy_is_log_perplexity_and_its_gradient_sums_to_zero():
    rng = np.random.default_rng(4)
    logits = (5 * rng.standard_normal((3, 8, 11))).astype(np.float32)
    targets = rng.integers(0, 11, size=(3, 8))
    loss, grad = cross_entropy(logits, targets)
    assert math.isclose(math.exp(loss), perplexity(logits, targets), rel_tol=1e-5)
    assert grad.shape == logits.shape and np.allclose(grad.sum(axis=-1), 0, atol=1e-7)


def test_training_learns_the_digits():
    x_train, y_train, x_test, y_test = load_digits_split(test_size=360, seed=0)
    model = mlp([64, 32, 10], rng=0)
    before = accuracy(model(x_test), y_test)
    losses = train_classifier(model, x_train, y_train, epochs=5, batch_size=32, lr=3e-3, rng=0)
    assert losses[-1] < losses[0] / 3
    assert accuracy(model(x_test), y_test) > 0.9 > before


# ---------------------------------------------------------------------------------- datasets

def test_digits_split_is_disjoint_shuffled_and_reproducible():
    x_train, y_train, x_test, y_test = load_digits_split(test_size=360, seed=0)
    assert x_train.shape == (1437, 64) and x_test.shape == (360, 64) and x_train.dtype == np.float32
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0 and set(np.unique(y_test)) == set(range(10))
    again = load_digits_split(test_size=360, seed=0)
    assert np.array_equal(again[2], x_test) and not np.array_equal(load_digits_split(seed=1)[2], x_test)


def test_language_model_data_aligns_contexts_and_targets():
    ids, chars = encode_text("abcdefghij" * 30)
    assert chars == list("abcdefghij") and ids[:3].tolist() == [0, 1, 2]
    inputs, targets = language_model_data(ids, context=3, seq_len=16, max_sequences=5)
    assert inputs.shape == (5, 16, 3) and targets.shape == (5, 16)
    assert np.array_equal(inputs[..., -1], (targets - 1) % 10)  # the last context id precedes the target
    assert np.array_equal(context_windows(ids, np.array([5]), 3), [[2, 3, 4]])
    text = python_docs_text()
    assert len(text) > 400_000 and "Assignment" in text


# ------------------------------------------------------------------------------------ metrics

logit_arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
                          elements=st.floats(-50, 50))


@given(logits=logit_arrays, seed=st.integers(0, 2**32 - 1))
def test_metric_laws(logits, seed):
    targets = np.random.default_rng(seed).integers(0, logits.shape[-1], size=logits.shape[:-1])
    acc, ppl = accuracy(logits, targets), perplexity(logits, targets)
    assert 0.0 <= acc <= 1.0
    assert ppl >= 1.0 - 1e-12
    assert math.isclose(perplexity(logits + 300.0, targets), ppl, rel_tol=1e-9)
    assert math.isclose(perplexity(np.zeros_like(logits), targets), logits.shape[-1], rel_tol=1e-12)
    argmax_hits = np.mean(np.argmax(logits, axis=-1) == targets)
    assert math.isclose(acc, argmax_hits, abs_tol=1e-12)


def test_perplexity_is_a_geometric_mean_over_sequences():
    rng = np.random.default_rng(5)
    logits, targets = rng.standard_normal((6, 20, 9)), rng.integers(0, 9, size=(6, 20))
    per_sequence = [perplexity(logits[i], targets[i]) for i in range(6)]
    assert math.isclose(perplexity(logits, targets), math.exp(np.mean(np.log(per_sequence))), rel_tol=1e-12)


# ------------------------------------------------------------------------------ memory, quantize

def test_model_memory_bytes_counts_what_layers_hold():
    model = mlp([16, 8, 4], rng=0)
    assert model_memory_bytes(model) == 4 * (16 * 8 + 8 + 8 * 4 + 4)
    kept = Sequential([QuantizedLinear.from_float(l, keep_float=True) if isinstance(l, Linear) else l
                       for l in model.layers])
    assert model_memory_bytes(kept) == sum(l.memory_bytes() for l in kept.layers if isinstance(l, QuantizedLinear))
    assert model_memory_bytes(kept) > model_memory_bytes(model)  # FP32 weights kept: bigger than FP32
    with pytest.raises(TypeError, match="model"):
        model_memory_bytes([Linear(2, 2)])


@pytest.fixture(scope="module")
def small_mlp():
    rng = np.random.default_rng(6)
    model = mlp([12, 32, 16, 5], rng=2)
    batches = [(2 * rng.standard_normal((20, 12))).astype(np.float32) for _ in range(4)]
    return model, batches


def test_quantize_model_copies_swaps_and_calibrates(small_mlp):
    model, batches = small_mlp
    before = copy.deepcopy(model)
    model_int8 = quantize_model(model, batches, progress=False)
    assert [type(l) for l in model.layers] == [type(l) for l in before.layers]
    assert all(np.array_equal(a.weight, b.weight) for a, b in zip(model.layers, before.layers) if isinstance(a, Linear))
    assert [type(l).__name__ for l in model_int8.layers] == ["QuantizedLinear", "ReLU"] * 2 + ["QuantizedLinear"]
    reference = float_inputs(before, batches)
    for index, layer in enumerate(model_int8.layers):
        if isinstance(layer, QuantizedLinear):
            scale, zero_point = MinMaxObserver().calibrate(reference[index], progress=False).quant_params(symmetric=False)
            assert layer.weight is None
            assert math.isclose(layer.input_scale, scale, rel_tol=1e-9) and layer.input_zero_point == zero_point - 128
    assert [row["layer"] for row in model_int8.calibration_stats] == [0, 2, 4]
    x = (2 * np.random.default_rng(7).standard_normal((64, 12))).astype(np.float32)
    assert relative_error(model_int8(x), model(x)) < 0.02


def test_quantize_model_uses_the_observer_given(small_mlp):
    model, batches = small_mlp
    clipped = quantize_model(model, batches, observer=lambda: PercentileObserver(95.0), progress=False)
    minmax = quantize_model(model, batches, progress=False)
    for a, b in zip(clipped.layers[::2], minmax.layers[::2]):
        assert a.input_scale < b.input_scale


@pytest.mark.parametrize("model, data, error, match", [
    (mlp([4, 3], rng=0), [], ValueError, "calibration_data must hold at least one batch"),
    (mlp([4, 3], rng=0), [np.ones((2, 5), dtype=np.float32)], ValueError, r"calibration_data\[0\]"),
    (mlp([4, 3], rng=0), 3.0, TypeError, "calibration_data"),
    ([Linear(4, 3)], [np.ones((2, 4))], TypeError, "model"),
    (Sequential([ReLU()]), [np.ones((2, 4))], ValueError, "no Linear"),
])
def test_quantize_model_bad_input(model, data, error, match):
    with pytest.raises(error, match=match):
        quantize_model(model, data, progress=False)


# ------------------------------------------------------------------------------------- INT4

@given(weight=hnp.arrays(np.float32, st.tuples(st.integers(1, 6), st.sampled_from([4, 8, 16])),
                         elements=st.floats(-1e3, 1e3, width=32)),
       group_size=st.sampled_from([1, 2, 4]), num_bits=st.integers(2, 8))
def test_groupwise_error_is_at_most_half_a_step_of_its_group(weight, group_size, num_bits):
    q, scales = quantize_groupwise(weight, num_bits=num_bits, group_size=group_size)
    qmax = 2 ** (num_bits - 1) - 1
    assert q.dtype == np.int8 and np.abs(q).max() <= qmax and scales.dtype == np.float32
    assert np.all(scales >= np.float32(FLOAT32_TINY))
    groups = weight.astype(np.float64).reshape(len(weight), -1, group_size)
    error = np.abs(q.reshape(groups.shape) * scales[..., None].astype(np.float64) - groups).max(axis=-1)
    assert np.all(error <= scales / 2 * (1 + 1e-6) + 1e-30)


@given(codes=hnp.arrays(np.int8, st.tuples(st.integers(1, 4), st.integers(1, 8).map(lambda n: 2 * n)),
                        elements=st.integers(-8, 7)))
def test_int4_packing_round_trips_in_half_the_bytes(codes):
    packed = pack_int4(codes)
    assert packed.dtype == np.uint8 and packed.shape == (codes.shape[0], codes.shape[1] // 2)
    assert np.array_equal(unpack_int4(packed), codes)


def test_weight_only_layer_computes_with_its_dequantized_weights():
    linear = Linear(32, 6, rng=0)
    layer = WeightOnlyLinear(linear, num_bits=4, group_size=8)
    q, scales = quantize_groupwise(linear.weight, num_bits=4, group_size=8)
    w_hat = (q.reshape(6, 4, 8) * scales[..., None]).reshape(6, 32)
    x = np.random.default_rng(8).standard_normal((3, 5, 32)).astype(np.float32)
    assert np.allclose(layer(x), x @ w_hat.T + linear.bias, rtol=1e-5, atol=1e-5)
    assert model_memory_bytes(Sequential([layer])) == 6 * 32 // 2 + 4 * 6 * 4 + 4 * 6


# ----------------------------------------------------------------------------- compare, errors

def test_compare_model_quality_rows(small_mlp):
    model, batches = small_mlp
    model_int8 = quantize_model(model, batches, progress=False)
    x = batches[0]
    targets = np.argmax(model(x), axis=-1)
    report = compare_model_quality(model, model_int8, (x, targets), others={"INT4": quantize_model_weight_only(model)})
    assert list(report) == ["FP32", "INT8", "INT4"]
    assert report["FP32"]["accuracy"] == 1.0 and report["FP32"]["size_reduction"] == 1.0
    for name, row in report.items():
        assert row["bytes"] > 0 and row["seconds"] > 0
    assert math.isclose(report["INT8"]["size_reduction"], model_memory_bytes(model) / model_memory_bytes(model_int8))
    assert [row["model"] for row in quality_table(report)] == ["FP32", "INT8", "INT4"]
    with pytest.raises(ValueError, match="data"):
        compare_model_quality(model, model_int8, (x[:, :5], targets))


def test_layer_errors_one_row_per_quantized_layer(small_mlp):
    model, batches = small_mlp
    rows = layer_errors(model, quantize_model(model, batches, progress=False), batches[0])
    assert len(rows) == 3 and all(0 < row["alone"] < 0.05 and 0 < row["accumulated"] < 0.05 for row in rows)
    assert layer_errors(model, model, batches[0]) == []


# ------------------------------------------------------------------------- the chapter's targets

def test_digits_int8_accuracy_drop_at_most_0_3_points(digits):
    model, model_int8, x_test, y_test = digits
    fp32, int8 = accuracy(model(x_test), y_test), accuracy(model_int8(x_test), y_test)
    assert fp32 > 0.95
    assert 100 * (fp32 - int8) <= 0.3


def test_int8_weight_matrices_are_at_least_3_9x_smaller(digits):
    _, model_int8, _, _ = digits
    quantized = [layer for layer in model_int8.layers if isinstance(layer, QuantizedLinear)]
    assert sum(4 * layer.weight_q.size for layer in quantized) / sum(layer.weight_q.nbytes for layer in quantized) >= 3.9


def test_digits_int8_model_is_at_least_3_9x_smaller(digits):
    model, model_int8, _, _ = digits
    assert all(layer.is_frozen for layer in model_int8.layers if isinstance(layer, QuantizedLinear))
    assert model_memory_bytes(model) / model_memory_bytes(model_int8) >= 3.9
    # and exactly what chapter 07's formula says: K int8 weights and 8 bytes per output channel
    assert model_memory_bytes(model_int8) == sum(k * n + 8 * n for k, n in ((64, 512), (512, 512), (512, 10)))


def test_char_lm_int8_perplexity_increase_at_most_3_percent():
    ids, chars = encode_text(python_docs_text())
    split = int(0.9 * len(ids))
    model = char_lm(len(chars), context=5, embedding_dim=16, hidden=64, rng=0)
    train_language_model(model, ids[:split], 5, steps=150, batch_size=32, seq_len=32, lr=3e-3, rng=0)
    positions = 5 + np.random.default_rng(1).integers(0, split - 100, size=(4, 1)) + np.arange(64)
    calibration = list(context_windows(ids, positions, 5)[:, None])
    model_int8 = quantize_model(model, calibration, progress=False)
    inputs, targets = language_model_data(ids[split:], 5, seq_len=256, max_sequences=16)
    fp32, int8 = perplexity(model(inputs), targets), perplexity(model_int8(inputs), targets)
    assert fp32 < 15 and 100 * (int8 / fp32 - 1) <= 3.0
