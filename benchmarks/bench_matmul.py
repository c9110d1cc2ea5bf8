"""Time and memory of chapter 06's integer matrix products, side by side in one run.

For each size M x K x N, int8 activations (M, K) times int8 weights, with B given two ways:
a C-contiguous (K, N) matrix, and ``w_q.T`` for an (N, K) weight (how chapter 07's
``QuantizedLinear`` calls it: a transposed, column-major view).

- ``NumPy int32``: ``a32 @ b32`` on operands converted to int32 beforehand (the conversion is
  not timed, which favours it). NumPy has no BLAS for integers: this is its generic loop, whose
  speed depends on B's layout.
- ``int_matmul``: ``tinyquant.int_matmul`` (exact, guarded, chunked float32 BLAS), on the int8
  operands, conversions included.
- ``float32 BLAS``: ``af @ bf`` on operands converted to float32 beforehand.
- ``pure Python``: ``tinyquant.pure.quantized_matmul`` on lists, only for small products; its
  cost per multiply-add (MAC) is what to compare.

Every ``int_matmul`` result is checked against the int64 product. Time is the best of
``repeat`` runs (``time.perf_counter``); the ratios compare measurements of the same run. Peak
memory is what ``tracemalloc`` saw allocated during one further call of ``int_matmul``, as a
fraction of the float32 weights (4 K N bytes), the budget chapter 07 sets (at most 0.35x).

Usage, from the repository root::

    python benchmarks/bench_matmul.py                 # 64x1024x1024 and a few more sizes
    python benchmarks/bench_matmul.py 64x1024x1024    # sizes of your choice, MxKxN
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from measure import best_time, peak_bytes

DEFAULT_SIZES = ((64, 256, 256), (64, 1024, 1024), (1, 4096, 4096), (256, 1024, 1024), (64, 4096, 1024))
PURE_SIZES = ((8, 64, 64), (16, 128, 128))


def _ms(seconds):
    return f"{1e3 * seconds:.3g} ms"


def run(sizes=DEFAULT_SIZES, pure_sizes=PURE_SIZES, repeat=7, file=None):
    """Print the tables; return a list of dicts, one per size and layout of B."""
    import tinyquant
    import tinyquant.pure

    file = file or sys.stdout
    rng = np.random.default_rng(0)
    print("Level 1 (pure Python lists), small products only:", file=file)
    for m, k, n in pure_sizes:
        a = rng.integers(-128, 128, size=(m, k)).tolist()
        b = rng.integers(-127, 128, size=(k, n)).tolist()
        seconds = best_time(lambda: tinyquant.pure.quantized_matmul(a, b, 1.0, 1.0), repeat=2)
        print(f"  {m}x{k}x{n}: {_ms(seconds)}, {1e9 * seconds / (m * k * n):.0f} ns per MAC", file=file)
    print(file=file)
    columns = ("M x K x N", "B", "int32", "int_matmul", "float32", "int32/int_matmul", "int_matmul/float32",
               "ns/MAC int_matmul", "peak / 4KN")
    widths = (16, 6, 10, 10, 10, 16, 18, 17, 10)
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths)), file=file)
    rows = []
    for m, k, n in sizes:
        a = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
        w = rng.integers(-127, 128, size=(n, k), dtype=np.int8)  # (out_features, in_features)
        for layout, b in (("C", np.ascontiguousarray(w.T)), ("W.T", w.T)):
            expected = a.astype(np.int64) @ b.astype(np.int64)
            if not np.array_equal(tinyquant.int_matmul(a, b), expected):
                raise AssertionError(f"int_matmul is not exact at {m}x{k}x{n}, B {layout}")
            a32, b32 = a.astype(np.int32), b.astype(np.int32)  # astype keeps W.T's column-major layout
            af, bf = a.astype(np.float32), b.astype(np.float32)
            macs = m * k * n
            slow_repeat = 1 if macs > 10 ** 8 else 2
            t_int32 = best_time(lambda: a32 @ b32, slow_repeat)
            t_fast = best_time(lambda: tinyquant.int_matmul(a, b), repeat)
            t_float = best_time(lambda: af @ bf, repeat)
            peak = peak_bytes(lambda: tinyquant.int_matmul(a, b))
            row = dict(size=(m, k, n), layout=layout, int32=t_int32, int_matmul=t_fast, float32=t_float,
                       peak_fraction=peak / (4 * k * n))
            rows.append(row)
            cells = (f"{m}x{k}x{n}", layout, _ms(t_int32), _ms(t_fast), _ms(t_float), f"{t_int32 / t_fast:.0f}x",
                     f"{t_fast / t_float:.2f}x", f"{1e9 * t_fast / macs:.3g}", f"{peak / (4 * k * n):.2f}")
            print("  ".join(c.rjust(w) for c, w in zip(cells, widths)), file=file, flush=True)
    return rows


if __name__ == "__main__":
    # Run from a checkout: make the repository's tinyquant importable without installing it.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    chosen = [tuple(int(v) for v in arg.lower().split("x")) for arg in sys.argv[1:]]
    run(chosen or DEFAULT_SIZES)
