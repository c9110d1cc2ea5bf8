"""Time of the exact integer product on its backends (chapter 09), against NumPy's float32 product.

Rows, per shape (batch x in @ in x out), all measured in the same run, interleaved
(``measure.best_times``) so that a change of load hits every row alike:

- ``NumPy float32``: ``x @ W.T``, the float layer's product (the baseline, ratio 1.00);
- ``int_matmul numpy``: chapter 06's exact path, ``tinyquant.kernels.int_matmul(..., backend="numpy")``;
- ``int_matmul onnxruntime``: ``MatMulInteger`` with both operands as inputs: the weights are
  packed for the kernel on every call. They are given as a contiguous (in, out) array: a
  transposed view ``w_q.T`` would add a copy, and NumPy transposes int8 matrices slowly (about
  70 ms at 4096 x 4096 here, far more than the product);
- ``MatMulInteger, weights constant``: the weights an initializer of the model, packed once when
  the session is made: what a deployed layer does.

Every library runs on all cores (NumPy's BLAS and ONNX Runtime's thread pool alike). The int8
results are checked against NumPy's before anything is timed.

What to expect on the course's 2-core AVX-512 VNNI machine (three runs): at 64 x 1024 @ 1024 x 1024,
the constant-weight kernel at 0.13-0.18x float32, per-call packing at 0.37-0.48x, chapter 06's path
at 1.7-1.8x; at 1 x 4096 @ 4096 x 4096 the constant kernel at 0.58-0.63 ms, per-call packing at
3.1-3.7 ms, float32 at 2.7-6.1 ms (memory-bound: it moves most with the load of the machine); at
batch 512 the constant kernel at 0.08-0.14x. Ratios move with load.

Usage, from the repository root::

    python benchmarks/bench_kernels.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from measure import best_times  # noqa: E402

from tinyquant import format_table  # noqa: E402
from tinyquant.kernels import (inference_session, int_matmul, matmul_integer_model,  # noqa: E402
                               onnx_modules, to_uint8)

SHAPES = ((64, 1024, 1024), (1, 4096, 4096), (8, 1024, 1024), (512, 1024, 1024))


def run(shapes=SHAPES, repeat=40, seed=0):
    """Rows of the table: one dict per shape and way of computing the product."""
    rng = np.random.default_rng(seed)
    rows = []
    for m, k, n in shapes:
        x = rng.standard_normal((m, k)).astype(np.float32)
        weight = rng.standard_normal((n, k)).astype(np.float32)
        a_q = rng.integers(-128, 128, size=(m, k)).astype(np.int8)
        w_q = rng.integers(-127, 128, size=(n, k)).astype(np.int8)
        w_kn = np.ascontiguousarray(w_q.T)  # ONNX Runtime's layout; NumPy's path prefers the view w_q.T
        a_u8, a_zero_point = to_uint8(a_q)
        session = inference_session(matmul_integer_model(np.uint8, np.int8, b=w_q.T))
        feeds = {"a": a_u8, "a_zero_point": np.array(a_zero_point, np.uint8), "b_zero_point": np.array(0, np.int8)}
        ways = {"NumPy float32": lambda: x @ weight.T,
                "int_matmul numpy": lambda: int_matmul(a_q, w_q.T, backend="numpy"),
                "int_matmul onnxruntime": lambda: int_matmul(a_q, w_kn, backend="onnxruntime"),
                "MatMulInteger, weights constant": lambda: session.run(None, feeds)[0]}
        reference = ways["int_matmul numpy"]()
        for name in ("int_matmul onnxruntime", "MatMulInteger, weights constant"):
            assert np.array_equal(ways[name](), reference), f"{name} differs from NumPy's exact product"
        times = dict(zip(ways, best_times(list(ways.values()), repeat)))
        for name, seconds in times.items():
            rows.append({"shape": f"{m} x {k} @ {k} x {n}", "how": name, "ms": round(1000 * seconds, 3),
                         "vs float32": f"{seconds / times['NumPy float32']:.2f}x"})
    return rows


if __name__ == "__main__":
    if onnx_modules() is None:
        print("bench_kernels: onnxruntime and onnx are not installed; nothing to compare")
        sys.exit(0)
    print(format_table(run()))
