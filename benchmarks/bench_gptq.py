"""How much of round to nearest's perplexity increase GPTQ keeps on chapter 08's char LM, per BLAS kernel.

Chapter 10 quantizes chapter 08's language model with RTN and GPTQ. The model is trained on one
thread with fixed seeds, so it is the same on every run of one machine; but training sums float32
products, and OpenBLAS sums them in an order that depends on its kernel (picked for the CPU). Another
kernel trains a slightly different model, and a ratio such as "GPTQ keeps 0.42 of RTN's increase"
moves with it. This script runs chapter 10's recipe under each OpenBLAS kernel the CPU runs
(``OPENBLAS_CORETYPE``, one subprocess each) and prints, per kernel, the FP32 perplexity and, for
INT4/INT3 in groups of 32/128, RTN's and GPTQ's perplexity and the ratio
``(GPTQ - FP32) / (RTN - FP32)``, with chapter 10's 8 calibration batches and with 64.

Usage, from the repository root::

    python benchmarks/bench_gptq.py
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

KERNELS = ("default", "SkylakeX", "Haswell", "Sandybridge")
SETTINGS = [(4, 32), (4, 128), (3, 32), (3, 128)]


def measure(batches):
    """One kernel's numbers (run in the child process): {batches: {setting: (RTN, GPTQ)}}, FP32."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from tinyquant import (char_lm, context_windows, encode_text, language_model_data, perplexity,
                           python_docs_text, train_language_model)
    from tinyquant.lowbit import gptq_quantize_model, rtn_quantize_model

    ids, chars = encode_text(python_docs_text())
    train_ids, test_ids = ids[:int(0.9 * len(ids))], ids[int(0.9 * len(ids)):]
    model = char_lm(len(chars), context=5, embedding_dim=16, hidden=128, rng=0)
    with threadpool_limits(1):
        train_language_model(model, train_ids, 5, steps=800, batch_size=32, seq_len=32, lr=2e-3, rng=0)
    inputs, targets = language_model_data(test_ids, 5, seq_len=256, max_sequences=64)
    results = {"fp32": perplexity(model(inputs), targets)}
    for count in batches:
        positions = 5 + np.random.default_rng(1).integers(0, len(train_ids) - 5 - 64, size=(count, 1)) + np.arange(64)
        calibration = list(context_windows(train_ids, positions, 5)[:, None])
        results[count] = {f"{bits} {group}": (perplexity(rtn_quantize_model(model, bits, group)(inputs), targets),
                                              perplexity(gptq_quantize_model(model, calibration, bits, group)(inputs),
                                                         targets))
                          for bits, group in SETTINGS}
    return results


def run(kernel, batches):
    """The child's results under `kernel`, or None if OpenBLAS cannot run it on this CPU."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    if kernel != "default":
        env["OPENBLAS_CORETYPE"] = kernel
    child = subprocess.run([sys.executable, __file__, "--child", *map(str, batches)], env=env,
                           capture_output=True, text=True, timeout=600)
    return json.loads(child.stdout) if child.returncode == 0 else None


def main():
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(measure([int(count) for count in sys.argv[2:]])))
        return
    batches = (8, 64)
    print(f"{'kernel':12} {'FP32':>6} {'calibration':>11}  " + "  ".join(f"INT{b} g{g:<3} RTN / GPTQ / ratio"
                                                                     for b, g in SETTINGS))
    for kernel in KERNELS:
        results = run(kernel, batches)
        if results is None:
            print(f"{kernel:12} (not supported by this CPU)")
            continue
        base = results["fp32"]
        for count in batches:
            cells = []
            for bits, group in SETTINGS:
                rtn, gptq = results[str(count)][f"{bits} {group}"]
                cells.append(f"{rtn:6.3f} / {gptq:6.3f} / {(gptq - base) / (rtn - base):4.2f}  ")
            print(f"{kernel:12} {base:6.3f} {count:>5} x 64   " + "  ".join(cells))


if __name__ == "__main__":
    main()
