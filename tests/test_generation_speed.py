"""Chapter 01's roofline bound on LLM generation speed, ``generation_speed_bound``.

One step for ``batch_size`` sequences reads every weight once and does 2 FLOPs per weight per
sequence; the step lasts the longer of the memory and the compute time. Expected values are
worked out here by hand (or with plain arithmetic), never with the function itself.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinyquant as tq

A100 = {"bandwidth": 2.0e12, "peak_flops": 300e12}  # the chapter's round figures
KEYS = {"memory_s", "compute_s", "bound", "tokens_per_s"}


def test_hand_checked_small_model():
    # 1000 FP16 weights = 2000 bytes at 1000 bytes/s: 2 s; 2 * 1000 FLOPs at 1e6 FLOP/s: 0.002 s.
    speed = tq.generation_speed_bound(1000, "fp16", 1000.0, 1e6)
    assert set(speed) == KEYS
    assert speed["memory_s"] == pytest.approx(2.0, rel=1e-12)
    assert speed["compute_s"] == pytest.approx(0.002, rel=1e-12)
    assert speed["bound"] == "memory"
    assert speed["tokens_per_s"] == pytest.approx(0.5, rel=1e-12)


def test_result_types_are_plain_python():
    speed = tq.generation_speed_bound(7e9, "fp16", **A100)
    for key in ("memory_s", "compute_s", "tokens_per_s"):
        assert isinstance(speed[key], float), key
    assert isinstance(speed["bound"], str)


@pytest.mark.parametrize(("dtype", "memory_ms", "tokens_per_s"), [
    ("fp16", 7.0, 1000 / 7.0), ("int8", 3.5, 1000 / 3.5), ("int4", 1.75, 1000 / 1.75)])
def test_7b_at_batch_1_is_memory_bound(dtype, memory_ms, tokens_per_s):
    speed = tq.generation_speed_bound(7e9, dtype, **A100)
    assert speed["memory_s"] == pytest.approx(memory_ms / 1e3, rel=1e-12)
    assert speed["compute_s"] == pytest.approx(2 * 7e9 / 300e12, rel=1e-12)
    assert speed["bound"] == "memory"
    assert speed["tokens_per_s"] == pytest.approx(tokens_per_s, rel=1e-12)


def test_memory_time_does_not_grow_with_the_batch():
    times = {tq.generation_speed_bound(7e9, "int8", batch_size=b, **A100)["memory_s"] for b in (1, 7, 64, 4096)}
    assert len(times) == 1


def test_batch_multiplies_compute_and_tokens_below_the_crossover():
    one = tq.generation_speed_bound(7e9, "fp16", batch_size=1, **A100)
    many = tq.generation_speed_bound(7e9, "fp16", batch_size=64, **A100)
    assert many["bound"] == "memory"
    assert many["compute_s"] == pytest.approx(64 * one["compute_s"], rel=1e-12)
    assert many["tokens_per_s"] == pytest.approx(64 * one["tokens_per_s"], rel=1e-12)


@pytest.mark.parametrize(("dtype", "crossover"), [("fp16", 150), ("int8", 75), ("int4", 37.5)])
def test_crossover_batch(dtype, crossover):
    # memory-bound up to peak_flops * bytes per weight / (2 * bandwidth), compute-bound beyond
    assert crossover == pytest.approx(300e12 * tq.bytes_per_element(dtype) / (2 * 2e12))
    below = tq.generation_speed_bound(7e9, dtype, batch_size=math.floor(crossover - 0.5), **A100)
    above = tq.generation_speed_bound(7e9, dtype, batch_size=math.floor(crossover + 1), **A100)
    assert (below["bound"], above["bound"]) == ("memory", "compute")


def test_a_tie_is_memory_bound():
    # 2000 bytes at 1000 bytes/s = 2 s; 2 * 1000 * 1000 FLOPs at 1e6 FLOP/s = 2 s
    speed = tq.generation_speed_bound(1000, "fp16", 1000, 1_000_000, batch_size=1000)
    assert speed["memory_s"] == speed["compute_s"] == 2.0
    assert speed["bound"] == "memory"
    assert speed["tokens_per_s"] == pytest.approx(500.0, rel=1e-12)


def test_compute_bound_rate_is_the_same_for_every_format():
    ceiling = 300e12 / (2 * 7e9)
    for dtype in ("fp16", "int8", "int4"):
        speed = tq.generation_speed_bound(7e9, dtype, batch_size=4096, **A100)
        assert speed["bound"] == "compute"
        assert speed["tokens_per_s"] == pytest.approx(ceiling, rel=1e-12)


def test_tokens_per_second_never_fall_as_the_batch_grows():
    rates = [tq.generation_speed_bound(70e9, "int8", 3.35e12, 989e12, batch_size=b)["tokens_per_s"]
             for b in (1, 2, 16, 100, 147, 148, 1000, 10_000)]
    assert all(a <= b * (1 + 1e-12) for a, b in zip(rates, rates[1:]))


def test_numpy_arguments():
    speed = tq.generation_speed_bound(np.int64(4096), np.uint8, np.float64(1e9), 2e12, batch_size=7)
    assert speed["memory_s"] == pytest.approx(4096 / 1e9, rel=1e-12)
    assert speed["compute_s"] == pytest.approx(2 * 4096 * 7 / 2e12, rel=1e-12)


@pytest.mark.parametrize(("argument", "value", "error"), [
    ("bandwidth", 0, ValueError), ("bandwidth", 0.0, ValueError), ("bandwidth", -1.0, ValueError),
    ("bandwidth", math.inf, ValueError), ("bandwidth", math.nan, ValueError),
    ("bandwidth", "2e12", TypeError), ("bandwidth", None, TypeError), ("bandwidth", True, TypeError),
    ("peak_flops", 0, ValueError), ("peak_flops", math.inf, ValueError), ("peak_flops", math.nan, ValueError),
    ("peak_flops", "300e12", TypeError), ("peak_flops", False, TypeError),
    ("batch_size", 0, ValueError), ("batch_size", -2, ValueError),
    ("batch_size", True, TypeError), ("batch_size", np.bool_(True), TypeError),
    ("batch_size", 2.0, TypeError), ("batch_size", "4", TypeError), ("batch_size", None, TypeError),
    ("num_params", 0, ValueError), ("num_params", 1.5, ValueError), ("num_params", True, TypeError),
])
def test_bad_input_names_the_argument(argument, value, error):
    arguments = {"num_params": 1000, "dtype": "fp16", "bandwidth": 1000.0, "peak_flops": 1e6, "batch_size": 4}
    with pytest.raises(error, match=argument):
        tq.generation_speed_bound(**{**arguments, argument: value})


def test_unknown_dtype():
    with pytest.raises(ValueError, match="dtype"):
        tq.generation_speed_bound(1000, "int3", 1000.0, 1e6)
