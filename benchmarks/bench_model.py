"""Forward time and bytes of chapter 08's models: FP32 against INT8 (``quantize_model``) and INT4 weight-only.

Rows, all measured in the same run, on the same seeded models and inputs:

- ``FP32``: the float ``Sequential`` of ``tinyquant.nn.Linear`` layers;
- ``INT8``: ``quantize_model`` (static int8 activations, int8 per-channel weights, exact integer
  accumulation through chapter 07's ``QuantizedLinear``);
- ``INT4 g16``: ``quantize_model_weight_only(num_bits=4, group_size=16)``, weights packed two per
  byte and dequantized at every forward pass, float32 arithmetic.

Two models: the digits MLP 64-512-512-10 on ``[batch, 64]`` inputs and the character LM of the
chapter (context 5, embedding 16, hidden 128, 103 symbols) on ``[batch, 256, 5]`` ids. Timing
needs no training, so the models keep their seeded initial weights. Time is the best of
``repeat`` runs, the models run in turn (interleaved) so a change of load hits all alike.
Bytes are ``model_memory_bytes``, exact.

What to expect (chapter 08, section 6): INT8 3.9x smaller than FP32 for the digits MLP, whose big
layer has 512 inputs, and 3.4x for the narrower language model (each frozen output channel keeps 8
bytes next to its int8 weights, and the LM's FP32 embedding table stays); INT4 about 4.4-5.3x; and
*no* speedup: NumPy has no int8 matrix product, and the INT4 layer dequantizes all its weights at
every call.

Usage, from the repository root::

    python benchmarks/bench_model.py            # batch sizes 1, 32, 128
    python benchmarks/bench_model.py 8 64       # batch sizes of your choice
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from measure import best_times

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


from tinyquant import format_bytes, format_table  # noqa: E402
from tinyquant.model_quant import model_memory_bytes, quantize_model, quantize_model_weight_only  # noqa: E402
from tinyquant.models import char_lm, mlp  # noqa: E402

DEFAULT_BATCHES = (1, 32, 128)


def models():
    """``{name: (variants, make_input)}`` for the two models of the chapter."""
    rng = np.random.default_rng(0)
    digits = mlp([64, 512, 512, 10], rng=0)
    digits_batches = [rng.random((64, 64), dtype=np.float32) for _ in range(4)]
    lm = char_lm(103, context=5, embedding_dim=16, hidden=128, rng=0)
    lm_batches = [rng.integers(0, 103, size=(1, 64, 5)) for _ in range(4)]
    return {
        "digits MLP [batch, 64]": (
            {"FP32": digits, "INT8": quantize_model(digits, digits_batches, progress=False),
             "INT4 g16": quantize_model_weight_only(digits, num_bits=4, group_size=16)},
            lambda batch: rng.random((batch, 64), dtype=np.float32)),
        "char LM [batch, 256, 5]": (
            {"FP32": lm, "INT8": quantize_model(lm, lm_batches, progress=False),
             "INT4 g16": quantize_model_weight_only(lm, num_bits=4, group_size=16)},
            lambda batch: rng.integers(0, 103, size=(batch, 256, 5))),
    }


def run(batches=DEFAULT_BATCHES, repeat=10):
    rows = []
    for model_name, (variants, make_input) in models().items():
        fp32_bytes = model_memory_bytes(variants["FP32"])
        for batch in batches:
            x = make_input(batch)
            times = best_times([lambda f=f: f(x) for f in variants.values()], repeat=repeat)
            for (name, model), seconds in zip(variants.items(), times):
                rows.append({"model": model_name, "batch": batch, "precision": name,
                             "bytes": format_bytes(model_memory_bytes(model)),
                             "reduction": f"{fp32_bytes / model_memory_bytes(model):.2f}x",
                             "time": f"{1e3 * seconds:.3f} ms", "speed vs FP32": f"{times[0] / seconds:.2f}x"})
    print(format_table(rows))
    return rows


if __name__ == "__main__":
    run([int(arg) for arg in sys.argv[1:]] or DEFAULT_BATCHES)
