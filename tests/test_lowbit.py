"""Chapter 10's low-bit methods (``tinyquant.lowbit``): round to nearest, GPTQ, SmoothQuant, QAT.

* ``fake_quantize`` is chapter 08's ``quantize_groupwise`` times its scales wherever the groups
  divide the row, and quantizes a partial last group on its own;
* ``gptq_quantize_layer`` equals an independent formulation of the same greedy algorithm, the
  Optimal Brain Surgeon update with an explicitly downdated inverse Hessian (no Cholesky factor),
  is RTN when the inputs are uncorrelated, and lowers the output error on correlated inputs;
* SmoothQuant's scales leave the float layer unchanged and cut the W8A8 error of a layer with
  outlier channels; ``qat_finetune`` beats RTN at 2 bits on a small classifier;
* a plan of widths per layer quantizes each layer as it says (2 to 8 bits, float16, or left
  alone) and is counted so, ``layer_sensitivity`` changes one layer at a time, and ``LoRAAdam``
  trains adapters whose gradients are exact while the quantized weights and biases stay frozen.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyquant.datasets import load_digits_split
from tinyquant.lowbit import (LoRAAdam, fake_quantize, gptq_quantize_layer, gptq_quantize_model, group_bounds,
                              inverse_hessian_factor, layer_hessian, layer_sensitivity, layer_widths, qat_finetune,
                              rtn_quantize_model, smooth_linear, smooth_scales, w8a8_error, weight_bits)
from tinyquant.model_quant import FLOAT32_TINY, accuracy, quantize_groupwise
from tinyquant.models import mlp
from tinyquant.nn import Linear
from tinyquant.training import cross_entropy, train_classifier, train_step


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), bits=st.integers(2, 8), groups=st.integers(1, 4),
       group_size=st.sampled_from([4, 8, 16, 32]))
def test_fake_quantize_is_chapter_08_where_groups_divide_the_row(seed, bits, groups, group_size):
    rng = np.random.default_rng(seed)
    weight = (rng.standard_normal((5, groups * group_size)) * 10.0 ** rng.uniform(-3, 3)).astype(np.float32)
    weight[rng.random(weight.shape) < 0.1] = 0
    q, scales = quantize_groupwise(weight, num_bits=bits, group_size=group_size)
    expected = (q.reshape(5, groups, group_size) * scales[..., None]).reshape(weight.shape)
    assert np.array_equal(fake_quantize(weight, bits, group_size), expected)


def test_a_partial_last_group_has_its_own_scale():
    weight = np.random.default_rng(0).standard_normal((3, 80)).astype(np.float32)
    weight[:, 70] = 100.0  # only the last group sees it
    got = fake_quantize(weight, 4, 32)
    assert np.array_equal(got[:, :64], fake_quantize(weight[:, :64], 4, 32))
    assert np.array_equal(got[:, 64:], fake_quantize(weight[:, 64:], 4))
    assert group_bounds(80, 32) == [(0, 32), (32, 64), (64, 80)]


def test_weight_bits_counts_one_float32_scale_per_group():
    model = mlp([64, 32, 10], rng=0)
    assert weight_bits(model, 4, 32) == (64 * 32 * 4 + 32 * 2 * 32 + 32 * 10 * 4 + 10 * 1 * 32) / (64 * 32 + 32 * 10)


def test_a_plan_gives_each_layer_its_width_and_its_bits():
    model = mlp([64, 32, 10], rng=0)  # Linear layers at 0 and 2
    mixed = rtn_quantize_model(model, {0: 16, 2: 3}, 32)
    assert np.array_equal(mixed.layers[0].weight, model.layers[0].weight.astype(np.float16).astype(np.float32))
    assert not np.array_equal(mixed.layers[0].weight, model.layers[0].weight)  # float16 did round
    assert np.array_equal(mixed.layers[2].weight, fake_quantize(model.layers[2].weight, 3, 32))
    assert weight_bits(model, {0: 16, 2: 3}, 32) == (64 * 32 * 16 + 32 * 10 * 3 + 10 * 1 * 32) / (64 * 32 + 32 * 10)
    only_last = rtn_quantize_model(model, {2: 2})
    assert only_last.layers[0].weight is model.layers[0].weight  # left out: float32, untouched
    assert weight_bits(model, {2: 2}) == (64 * 32 * 32 + 32 * 10 * 2 + 10 * 32) / (64 * 32 + 32 * 10)
    assert layer_widths(model, {0: 32}) == {0: 32, 2: 32}
    assert rtn_quantize_model(model, {0: 4, 2: 4}, 8).layers[2].weight.tolist() == \
        rtn_quantize_model(model, 4, 8).layers[2].weight.tolist()


@pytest.mark.parametrize("plan, error, match", [({1: 4}, ValueError, "not indices of Linear"),
                                                ({0: 12}, ValueError, r"num_bits\[0\] must be 2 to 8, 16"),
                                                ({0: 1}, ValueError, r"num_bits\[0\]"),
                                                ({2: 4.0}, TypeError, r"num_bits\[2\]"),
                                                ({0: True}, TypeError, r"num_bits\[0\]"), (16, ValueError, "at most 8")])
def test_a_bad_plan_names_the_layer(plan, error, match):
    model = mlp([8, 4, 2], rng=0)
    with pytest.raises(error, match=match):
        rtn_quantize_model(model, plan)
    with pytest.raises(error, match=match):
        weight_bits(model, plan)


def test_layer_sensitivity_quantizes_one_layer_at_a_time():
    model = mlp([16, 8, 8, 4], rng=0)
    seen = []

    def evaluate(candidate):
        seen.append([index for index in (0, 2, 4) if candidate.layers[index].weight is not model.layers[index].weight])
        return float(np.abs(candidate.layers[seen[-1][0]].weight - model.layers[seen[-1][0]].weight).sum())

    scores = layer_sensitivity(model, evaluate, num_bits=2, group_size=4)
    assert seen == [[0], [2], [4]] and list(scores) == [0, 2, 4]
    for index, score in scores.items():
        weight = model.layers[index].weight
        assert score == pytest.approx(float(np.abs(fake_quantize(weight, 2, 4) - weight).sum()))
    with pytest.raises(TypeError, match="evaluate"):
        layer_sensitivity(model, "accuracy")
    with pytest.raises(TypeError, match="Sequential"):
        layer_sensitivity([model], evaluate)


def test_lora_starts_at_the_quantized_model_and_its_gradients_are_exact():
    rng = np.random.default_rng(0)
    model = rtn_quantize_model(mlp([6, 5, 3], rng=0), 2)
    x, y = rng.standard_normal((7, 6)).astype(np.float32), rng.integers(0, 3, 7)
    base = {index: model.layers[index].weight.copy() for index in (0, 2)}
    lora = LoRAAdam(model, rank=2, lr=1e-2, rng=1)
    assert all(np.array_equal(model.layers[index].weight, base[index]) for index in (0, 2))  # B = 0
    assert lora.num_parameters() == 2 * (6 + 5) + 2 * (5 + 3)
    down, up = lora.adapters[0]
    up.weight[...] = rng.standard_normal(up.weight.shape)  # B = 0 would give A no gradient
    lora.merge()

    def loss():
        return cross_entropy(model(x), y)[0]

    captured = {}
    lora.adam.step = captured.update  # what LoRAAdam hands to Adam
    train_step(model, x, y, lora)
    for matrix, at in ((down.weight, (1, 3)), (up.weight, (4, 1)), (lora.adapters[2][1].weight, (2, 0))):
        saved, h = float(matrix[at]), 1e-2
        matrix[at] = saved + h
        lora.merge()
        plus = loss()
        matrix[at] = saved - h
        lora.merge()
        minus = loss()
        matrix[at] = saved
        lora.merge()
        layer = next(layer for pair in lora.adapters.values() for layer in pair if layer.weight is matrix)
        assert captured[id(layer), "weight"][at] == pytest.approx((plus - minus) / (2 * h), rel=2e-2, abs=1e-4)
    assert not any(captured[key].any() for key in captured if key[1] == "bias")


def test_lora_trains_only_the_adapters():
    x_train, y_train, x_test, y_test = load_digits_split(test_size=360, seed=0)
    model = mlp([64, 64, 10], rng=0)
    train_classifier(model, x_train, y_train, epochs=5, batch_size=64, lr=3e-3, rng=0)
    student = rtn_quantize_model(model, 2)
    base = {index: student.layers[index].weight.copy() for index in (0, 2)}
    biases = {index: student.layers[index].bias.copy() for index in (0, 2)}
    lora = LoRAAdam(student, rank=4, lr=1e-3, rng=0)
    train_classifier(student, x_train, y_train, epochs=3, batch_size=64, rng=0, optimizer=lora)
    assert accuracy(student(x_test), y_test) > accuracy(rtn_quantize_model(model, 2)(x_test), y_test)
    for index, (down, up) in lora.adapters.items():
        assert np.array_equal(lora.base[index], base[index])
        assert np.array_equal(student.layers[index].bias, biases[index])
        assert not down.bias.any() and not up.bias.any()
        assert np.allclose(student.layers[index].weight, base[index] + up.weight @ down.weight)
    with pytest.raises(ValueError, match="rank"):
        LoRAAdam(student, rank=0)


def obs_reference(weight, hessian, num_bits, group_size=None, percdamp=0.01):
    """GPTQ's greedy order with the Optimal Brain Surgeon update on an explicit inverse Hessian.

    After quantizing column j: ``W[:, j+1:] -= (w_j - q_j) / Hinv_jj * Hinv[j, j+1:]``, then remove
    j from the inverse (``Hinv -= Hinv[:, j] Hinv[j, :] / Hinv_jj``). In exact arithmetic this is
    the Cholesky form ``gptq_quantize_layer`` uses.
    """
    H = np.array(hessian, dtype=np.float64)
    dead = np.diag(H) == 0
    H[dead, dead] = 1
    H += percdamp * np.mean(np.diag(H)) * np.eye(len(H))
    Hinv = np.linalg.inv(H)
    W = weight.astype(np.float64)
    W[:, dead] = 0
    qmax = 2 ** (num_bits - 1) - 1
    size = W.shape[1] if group_size is None else group_size
    Q = np.empty_like(W)
    for j in range(W.shape[1]):
        if j % size == 0:
            amax = np.abs(W[:, j:j + size]).max(axis=1)
            scales = np.where(amax == 0, 1.0, np.maximum(amax / qmax, FLOAT32_TINY))
        Q[:, j] = np.clip(np.rint(W[:, j] / scales), -qmax, qmax) * scales
        W[:, j + 1:] -= np.outer((W[:, j] - Q[:, j]) / Hinv[j, j], Hinv[j, j + 1:])
        Hinv -= np.outer(Hinv[:, j], Hinv[j, :]) / Hinv[j, j]
    return Q.astype(np.float32)


@pytest.mark.parametrize("num_bits, group_size", [(4, None), (3, 8), (2, 16), (4, 12)])
def test_gptq_equals_the_optimal_brain_surgeon_updates(num_bits, group_size):
    rng = np.random.default_rng(num_bits * 100 + (group_size or 0))
    x = rng.standard_normal((500, 32)) @ rng.standard_normal((32, 32)) * 0.3
    x[:, 3] = 0  # a dead input
    weight = rng.standard_normal((10, 32)).astype(np.float32)
    hessian = layer_hessian([x[:200], x[200:]])
    got = gptq_quantize_layer(weight, hessian, num_bits, group_size)
    expected = obs_reference(weight, hessian, num_bits, group_size)
    assert np.mean(np.isclose(got, expected, rtol=1e-6, atol=1e-8)) > 0.99  # a code may flip at a float tie
    assert np.all(got[:, 3] == 0)


def test_gptq_is_rtn_on_uncorrelated_inputs_and_better_on_correlated_ones():
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((16, 64)).astype(np.float32)
    assert np.allclose(gptq_quantize_layer(weight, np.eye(64), 3, 16), fake_quantize(weight, 3, 16), rtol=1e-6)
    x = rng.standard_normal((1000, 64)) @ rng.standard_normal((64, 64))
    error = {name: np.linalg.norm((weight - w_hat) @ x.T) for name, w_hat in
             (("rtn", fake_quantize(weight, 3, 16)), ("gptq", gptq_quantize_layer(weight, layer_hessian([x]), 3, 16)))}
    assert error["gptq"] < 0.8 * error["rtn"]


def test_the_inverse_factor_is_the_cholesky_factor_of_the_damped_inverse():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((50, 8))
    hessian = layer_hessian([x])
    U, dead = inverse_hessian_factor(hessian, percdamp=0.1)
    damped = hessian + 0.1 * np.mean(np.diag(hessian)) * np.eye(8)
    assert np.allclose(U.T @ U, np.linalg.inv(damped)) and np.allclose(U, np.triu(U)) and not dead.any()
    with pytest.raises(ValueError, match="positive definite"):
        inverse_hessian_factor(-np.eye(3))
    with pytest.raises(ValueError, match="square"):
        inverse_hessian_factor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="percdamp"):
        inverse_hessian_factor(np.eye(2), percdamp=-1)


def test_gptq_model_beats_rtn_on_digits_at_2_bits():
    x_train, y_train, x_test, y_test = load_digits_split(test_size=360, seed=0)
    model = mlp([64, 64, 10], rng=0)
    train_classifier(model, x_train, y_train, epochs=5, batch_size=64, lr=3e-3, rng=0)
    calibration = [x_train[start:start + 64] for start in range(0, 512, 64)]
    rtn = accuracy(rtn_quantize_model(model, 2)(x_test), y_test)
    gptq = accuracy(gptq_quantize_model(model, calibration, 2)(x_test), y_test)
    qat = accuracy(qat_finetune(model, x_train, y_train, num_bits=2, epochs=3, lr=1e-3)[0](x_test), y_test)
    assert gptq > rtn and qat > rtn
    assert model.layers[0].weight is not rtn_quantize_model(model, 2).layers[0].weight  # the float model untouched


def test_smoothing_keeps_the_float_layer_and_cuts_the_w8a8_error_of_outliers():
    layer = Linear(256, 64, rng=0)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 256)).astype(np.float32)
    x[:, [7, 100]] *= 60
    scales = smooth_scales(np.abs(x).max(axis=0), layer.weight, alpha=0.5)
    smoothed = smooth_linear(layer, scales)
    assert np.allclose(smoothed((x / scales).astype(np.float32)), layer(x), rtol=1e-4, atol=1e-4)
    assert w8a8_error(layer, x, scales) < 0.5 * w8a8_error(layer, x)
    with pytest.raises(ValueError, match="positive"):
        smooth_linear(layer, np.zeros(256))
    with pytest.raises(TypeError, match="Linear"):
        smooth_linear("layer", scales)


@pytest.mark.parametrize("bad, error", [({"num_bits": 1}, ValueError), ({"num_bits": 9}, ValueError),
                                        ({"group_size": 0}, ValueError), ({"group_size": 2.0}, TypeError)])
def test_bad_arguments_raise(bad, error):
    with pytest.raises(error):
        fake_quantize(np.ones((2, 4)), **{"num_bits": 4, **bad})
    with pytest.raises(error):
        gptq_quantize_layer(np.ones((2, 4)), np.eye(4), **{"num_bits": 4, **bad})
