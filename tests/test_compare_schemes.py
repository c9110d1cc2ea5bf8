"""Tests for chapter 03's ``compare_schemes``: symmetric against asymmetric quantization, per tensor.

The contract (its docstring): for each named tensor, in the dict's order, ``quantize_symmetric``
(signed) and ``quantize_asymmetric`` (unsigned), each dequantized by its own inverse (asymmetric
with its zero point) and measured by ``quantization_error``; one row of Python values per tensor
with the keys below; ``snr_gain_db`` = asymmetric SNR - symmetric SNR (0.0 for equal MSEs);
``better`` from the MSEs, with ties.

Settings come from the "ci" Hypothesis profile in conftest.py; strategies from strategies.py.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyquant as tq
from strategies import F32_MAX, finite_arrays, num_bits

KEYS = {"tensor": str, "min": float, "max": float, "scale_symmetric": float, "scale_asymmetric": float,
        "zero_point": int, "codes_symmetric": int, "codes_asymmetric": int, "mse_symmetric": float,
        "mse_asymmetric": float, "snr_gain_db": float, "better": str}
TOY = [-2.0, 0.0, 0.5, 1.0]


def relu_outputs(n=20_000, seed=0):
    return np.maximum(np.random.default_rng(seed).standard_normal(n), 0.0).astype(np.float32)


def test_toy_row_by_hand():
    # 2 bits. Symmetric: scale 2/1, q = [-1, 0, 0, 0], x_hat = [-2, 0, 0, 0], errors 0, 0, .5, 1.
    # Asymmetric: scale 3/3, zero point 2, q = [0, 2, 2, 3], x_hat = [-2, 0, 0, 1], one error of .5.
    (row,) = tq.compare_schemes({"toy": TOY}, num_bits=2)
    assert list(row) == list(KEYS)
    assert row["tensor"] == "toy" and (row["min"], row["max"]) == (-2.0, 1.0)
    assert (row["scale_symmetric"], row["scale_asymmetric"], row["zero_point"]) == (2.0, 1.0, 2)
    assert (row["codes_symmetric"], row["codes_asymmetric"]) == (2, 3)
    assert row["mse_symmetric"] == pytest.approx(0.3125, rel=1e-12)
    assert row["mse_asymmetric"] == pytest.approx(0.0625, rel=1e-12)
    assert row["snr_gain_db"] == pytest.approx(10 * math.log10(5), rel=1e-9)
    assert row["better"] == "asymmetric"


def test_rows_hold_python_values_only():
    rows = tq.compare_schemes({"f32": relu_outputs(100), "f64": np.linspace(-3, 1, 50), "ints": [[3, -1], [0, 7]]})
    for row in rows:
        assert {key: type(value) for key, value in row.items()} == KEYS


def test_rows_follow_the_dict_order_not_sorted():
    tensors = {"weights": [0.3, -0.5, 0.2], "ReLU": [0.0, 0.7, 0.0, 1.4], "GELU": [-0.17, 0.0, 2.0]}
    assert [row["tensor"] for row in tq.compare_schemes(tensors)] == ["weights", "ReLU", "GELU"]


@pytest.mark.parametrize("single", [np.array([[0.5, 1.5], [2.0, 1.5]]), [[0.5, 1.5], [2.0, 1.5]],
                                    (0.5, 1.5, 2.0, 1.5)])
def test_one_array_list_or_tuple_is_one_tensor_named_x(single):
    rows = tq.compare_schemes(single, num_bits=5)
    assert rows == tq.compare_schemes({"x": single}, num_bits=5)
    assert rows[0]["tensor"] == "x" and rows[0]["min"] == 0.5 and rows[0]["codes_symmetric"] == 3


def test_matches_the_chapters_functions():
    x = np.random.default_rng(3).standard_normal((40, 30)) - 1.0
    (row,) = tq.compare_schemes({"x": x}, num_bits=6)
    q_sym, scale_sym = tq.quantize_symmetric(x, 6)
    q_asym, scale_asym, zero_point = tq.quantize_asymmetric(x, 6, signed=False)
    sym = tq.quantization_error(x, q_sym, tq.dequantize_symmetric(q_sym, scale_sym))
    asym = tq.quantization_error(x, q_asym, tq.dequantize_asymmetric(q_asym, scale_asym, zero_point))
    assert row["zero_point"] == zero_point > 0  # the zero point matters for this tensor
    assert row["codes_symmetric"] == np.unique(q_sym).size and row["codes_asymmetric"] == np.unique(q_asym).size
    assert row["mse_symmetric"] == sym["mse"] and row["mse_asymmetric"] == asym["mse"]
    assert row["snr_gain_db"] == pytest.approx(asym["snr_db"] - sym["snr_db"], rel=1e-12)


def test_relu_outputs_gain_about_6_db():
    (row,) = tq.compare_schemes({"ReLU": relu_outputs()})
    assert row["better"] == "asymmetric" and row["zero_point"] == 0
    assert 5.8 < row["snr_gain_db"] < 6.3
    assert row["mse_symmetric"] / row["mse_asymmetric"] == pytest.approx((255 / 127) ** 2, rel=0.05)


def test_values_on_the_symmetric_grid_favour_symmetric():
    (row,) = tq.compare_schemes(np.linspace(-1, 1, 255))
    assert row["scale_asymmetric"] < row["scale_symmetric"]  # a finer step ...
    assert row["better"] == "symmetric" and row["snr_gain_db"] < -50  # ... and yet the larger error


def test_all_negative_tensor_uses_the_top_code_as_zero_point():
    (row,) = tq.compare_schemes({"negative": [-3.0, -1.0, -2.5]})
    assert row["zero_point"] == 255 and row["better"] == "asymmetric" and row["snr_gain_db"] > 0


@pytest.mark.parametrize("zeros", [np.zeros(3), np.zeros((2, 2), dtype=np.float32), [0.0]])
def test_all_zero_tensor_is_a_tie_with_zero_gain(zeros):
    (row,) = tq.compare_schemes({"zeros": zeros}, num_bits=4)
    assert row["better"] == "tie" and row["snr_gain_db"] == 0.0
    assert row["mse_symmetric"] == row["mse_asymmetric"] == 0.0
    assert row["codes_symmetric"] == row["codes_asymmetric"] == 1


def test_inputs_are_left_unchanged():
    tensors = {"a": np.array([0.5, -1.5, 2.0]), "b": [1.0, 2.0]}
    tq.compare_schemes(tensors)
    assert list(tensors) == ["a", "b"] and tensors["a"].tolist() == [0.5, -1.5, 2.0] and tensors["b"] == [1.0, 2.0]


@pytest.mark.parametrize("tensors, num_bits, error", [
    (None, 8, TypeError), ("abc", 8, TypeError), ({1.0, 2.0}, 8, TypeError), ({}, 8, ValueError),
    ({"a": [1.0], 2: [2.0]}, 8, TypeError), ({("a", "b"): [1.0]}, 8, TypeError),
    ({"a": []}, 8, ValueError), ({"a": [1.0, np.nan]}, 8, ValueError), ({"a": ["1.0"]}, 8, TypeError),
    ({"a": [1.0]}, 1, ValueError), ({"a": [1.0]}, 17, ValueError), ({"a": [1.0]}, 8.0, TypeError),
])
def test_bad_input_raises(tensors, num_bits, error):
    with pytest.raises(error):
        tq.compare_schemes(tensors, num_bits=num_bits)


def test_a_bad_tensors_type_names_tensors():
    with pytest.raises(TypeError, match="tensors"):
        tq.compare_schemes(None)


@given(x=finite_arrays(max_abs=F32_MAX / 4), bits=num_bits)
def test_the_row_is_consistent(x, bits):
    (row,) = tq.compare_schemes({"t": x}, num_bits=bits)
    assert {key: type(value) for key, value in row.items()} == KEYS
    assert row["min"] == float(np.min(x)) and row["max"] == float(np.max(x))
    assert 1 <= row["codes_symmetric"] <= min(x.size, 2 ** bits - 1)
    assert 1 <= row["codes_asymmetric"] <= min(x.size, 2 ** bits)
    assert 0 <= row["zero_point"] <= 2 ** bits - 1
    mse_s, mse_a, gain = row["mse_symmetric"], row["mse_asymmetric"], row["snr_gain_db"]
    assert row["better"] == ("asymmetric" if mse_a < mse_s else "symmetric" if mse_a > mse_s else "tie")
    assert not math.isnan(gain)
    if row["better"] == "tie":
        assert gain == 0.0
    elif row["better"] == "asymmetric":  # the sign of the gain, up to the rounding of two logarithms
        assert gain > -1e-9
    else:
        assert gain < 1e-9
    if mse_a > 0 and mse_s > 0 and math.isfinite(gain):
        assert gain == pytest.approx(10 * math.log10(mse_s / mse_a), rel=1e-9, abs=1e-9)


@given(values=st.lists(st.floats(-100, 100, allow_nan=False), min_size=1, max_size=30))
def test_one_list_equals_the_dict_with_x(values):
    assert tq.compare_schemes(values) == tq.compare_schemes({"x": values})
