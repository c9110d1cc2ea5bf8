"""Time and peak memory of one function call: what every benchmark here measures with.

Time is wall time (``time.perf_counter``), the best of several runs: the least disturbed one
on a machine whose load changes. Peak memory is the most that ``tracemalloc`` saw allocated
during one call, above what was allocated before it; NumPy reports its array buffers to
tracemalloc (BLAS's internal workspace is not seen). Tracing slows Python code down, so
timed runs are never traced.
"""
from __future__ import annotations

import math
import time
import tracemalloc


def best_times(functions, repeat=5):
    """Best wall time in seconds of each function (called without arguments), run in turn.

    Interleaving gives every function the same chances when the load of the machine changes
    during the measurement, so that ratios of the results compare like with like.
    """
    best = [math.inf] * len(functions)
    for _ in range(repeat):
        for index, function in enumerate(functions):
            start = time.perf_counter()
            function()
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def best_time(function, repeat=5):
    """Best wall time in seconds of ``function()`` over `repeat` runs."""
    return best_times([function], repeat)[0]


def traced_call(function):
    """(seconds, peak bytes above the start, result) of one traced call of ``function()``."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        result = function()
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return seconds, peak, result


def peak_bytes(function):
    """Peak bytes allocated during one call of ``function()``, above what was allocated before."""
    return traced_call(function)[1]
