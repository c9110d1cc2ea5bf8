"""Time and peak memory of symmetric int8 quantization at three levels, side by side.

- Level 1, ``tinyquant.pure.quantize_symmetric``: Python lists, one number at a time.
- Level 2, ``tinyquant.quantize_symmetric``: NumPy on the whole tensor at once, with
  temporaries as large as the tensor.
- Level 3, ``tinyquant.quantize_symmetric_chunked``: NumPy one chunk at a time through
  one reusable buffer, writing into a preallocated output.

Every level quantizes the same float32 Gaussian tensor (seed 0) in the same run. Time
is the best of ``repeat`` runs (``time.perf_counter``). Peak memory is the most that
``tracemalloc`` saw allocated during one further run, above what was allocated before
it; NumPy reports its array buffers to tracemalloc, so this counts the temporaries and,
for Levels 1 and 2, the output they allocate (Level 3 writes into an ``out`` array
allocated before the measurement). Timing runs are separate from the traced run,
because tracing slows Python code down.

Usage, from the repository root::

    python benchmarks/bench_symmetric.py            # sizes 10**3 ... 10**7
    python benchmarks/bench_symmetric.py 1e4 1e6    # sizes of your choice

From Python (the chapter 02 notebook passes its own functions)::

    from bench_symmetric import run
    rows = run([10**3, 10**4], level1=..., level2=..., level3=...)
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from measure import best_time, peak_bytes

DEFAULT_SIZES = (10**3, 10**4, 10**5, 10**6, 10**7)
LEVEL1_MAX = 10**6  # beyond this, pure Python takes many seconds per run


def measure(function, repeat):
    """Best wall time in seconds and peak bytes allocated of ``function()``."""
    return best_time(function, repeat), peak_bytes(function)


def _seconds(t):
    if t is None:
        return "-"
    for unit, size in (("s", 1.0), ("ms", 1e-3)):
        if t >= size:
            return f"{t / size:.3g} {unit}"
    return f"{t / 1e-6:.3g} µs"


def _bytes(n):
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} GiB"


def _ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.3g}x"


def run(sizes=DEFAULT_SIZES, level1=None, level2=None, level3=None, level1_max=LEVEL1_MAX,
        repeat=3, file=None):
    """Benchmark the three levels on float32 tensors of the given sizes; print a table.

    Parameters
    ----------
    sizes : iterable of int
        Numbers of elements.
    level1, level2, level3 : callable, optional
        ``level1(list_of_floats) -> (q, scale)``, ``level2(array) -> (q, scale)``,
        ``level3(array, out=int8_array) -> (q, scale)``. Default: tinyquant's.
    level1_max : int
        Level 1 runs only up to this size.
    repeat : int
        Timed runs per measurement; the best one counts.
    file : text stream, optional
        Where the table goes (default ``sys.stdout``).

    Returns
    -------
    list of dict
        One row per size: ``n``, ``time_1``, ``time_2``, ``time_3`` (seconds) and
        ``peak_1``, ``peak_2``, ``peak_3`` (bytes); Level 1 entries are None above
        ``level1_max``.
    """
    if level1 is None or level2 is None or level3 is None:
        import tinyquant
        import tinyquant.pure
        level1 = level1 or tinyquant.pure.quantize_symmetric
        level2 = level2 or tinyquant.quantize_symmetric
        level3 = level3 or tinyquant.quantize_symmetric_chunked
    file = file or sys.stdout
    columns = ("n", "L1 time", "L2 time", "L3 time", "L1/L2 time",
               "L1 peak", "L2 peak", "L3 peak", "L2/L3 peak")
    widths = (10, 10, 10, 10, 10, 10, 10, 10, 10)
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths)), file=file)
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        n = int(n)
        x = rng.standard_normal(n, dtype=np.float32)
        time_1 = peak_1 = None
        if n <= level1_max:
            values = x.tolist()
            time_1, peak_1 = measure(lambda: level1(values), repeat)
        time_2, peak_2 = measure(lambda: level2(x), repeat)
        out = np.empty(x.shape, dtype=np.int8)
        time_3, peak_3 = measure(lambda: level3(x, out=out), repeat)
        row = dict(n=n, time_1=time_1, time_2=time_2, time_3=time_3,
                   peak_1=peak_1, peak_2=peak_2, peak_3=peak_3)
        rows.append(row)
        cells = (f"{n:.0e}", _seconds(time_1), _seconds(time_2), _seconds(time_3),
                 _ratio(time_1, time_2), _bytes(peak_1), _bytes(peak_2), _bytes(peak_3),
                 _ratio(peak_2, peak_3))
        print("  ".join(c.rjust(w) for c, w in zip(cells, widths)), file=file, flush=True)
    return rows


if __name__ == "__main__":
    # Run from a checkout: make the repository's tinyquant importable without installing it.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    run([int(float(arg)) for arg in sys.argv[1:]] or DEFAULT_SIZES)
