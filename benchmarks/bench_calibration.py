"""Peak memory and time of calibrating on 1 GB of activations, streamed vs all in memory.

Each observer of chapter 05 calibrates on a generator of float32 batches of Student-t(5)
activations (seeded) totalling ``--gigabytes`` (default 1 GB = 2**30 bytes, 256 batches of
4 MiB). ``calibrate`` holds one batch at a time, so its peak memory should be a few batch-sized
temporaries plus the observer's fixed state (two floats, or 2048 int64 counters), whatever the
amount of data. Side by side, in the same run, the in-memory alternative: collect every batch in
a list, concatenate, and call ``percentile_amax`` (seed 003's ``np.percentile(np.abs(x), 99.9)``),
whose peak grows with the data.

Peak memory is what ``tracemalloc`` saw allocated during the run (NumPy reports its buffers to
it), above what was allocated before; the generator's own batches are included in both columns.
Time is one run (``time.perf_counter``), generation of the random batches included: the
"generation only" row gives that share.

Usage, from the repository root::

    python benchmarks/bench_calibration.py              # 1 GB
    python benchmarks/bench_calibration.py --gigabytes 0.1
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from measure import traced_call

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinyquant as tq  # noqa: E402

BATCH_SHAPE = (1024, 1024)  # 4 MiB of float32
BATCH_BYTES = BATCH_SHAPE[0] * BATCH_SHAPE[1] * 4


def batches(count, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        yield rng.standard_t(5, size=BATCH_SHAPE).astype(np.float32)


def _mib(n):
    return f"{n / 2**20:,.1f} MiB"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gigabytes", type=float, default=1.0, help="data to calibrate on (GiB)")
    args = parser.parse_args(argv)
    count = max(1, round(args.gigabytes * 2**30 / BATCH_BYTES))
    print(f"{count} batches of {BATCH_SHAPE} float32 ({_mib(BATCH_BYTES)} each), {_mib(count * BATCH_BYTES)} in all\n")

    def drain():
        for _ in batches(count):
            pass

    def in_memory():
        collected = list(batches(count))
        return tq.percentile_amax(np.concatenate([b.ravel() for b in collected]), 99.9)

    runs = [("generation only", drain)]
    for name, make in (("MinMaxObserver", tq.MinMaxObserver), ("MovingAverageObserver(0.01)", tq.MovingAverageObserver),
                       ("PercentileObserver(99.9)", tq.PercentileObserver), ("MSEObserver", tq.MSEObserver)):
        runs.append((f"{name}.calibrate", lambda make=make: make().calibrate(batches(count), progress=False).threshold(8)))
    runs.append(("list + percentile_amax(99.9)", in_memory))

    rows, peaks, thresholds = [], {}, {}
    for name, function in runs:
        seconds, peak, result = traced_call(function)
        peaks[name], thresholds[name] = peak, result
        rows.append({"run": name, "time": f"{seconds:.1f} s", "peak memory": _mib(peak),
                     "peak / batch": f"{peak / BATCH_BYTES:.1f}",
                     "threshold t (8 bits)": "-" if result is None else f"{result:.4f}"})
    print(tq.format_table(rows))
    streamed = peaks["PercentileObserver(99.9).calibrate"]
    exact, approx = thresholds["list + percentile_amax(99.9)"], thresholds["PercentileObserver(99.9).calibrate"]
    print(f"\nin-memory / streamed peak for the 99.9th percentile: {peaks['list + percentile_amax(99.9)'] / streamed:.0f}x; "
          f"streamed t {approx:.4f} vs exact {exact:.4f} ({100 * (approx / exact - 1):+.3f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
