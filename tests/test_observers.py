"""Tests of chapter 05: calibration observers (``tinyquant.observers``).

What is checked, and why it can fail:

* ``MinMaxObserver`` gives exactly chapter 02's and 03's parameters of all the data, however the
  data is split into batches and in whatever order;
* ``MovingAverageObserver`` follows PyTorch's MovingAverageMinMaxObserver recurrence;
* the doubling histogram keeps every count exact at the resolution of one bin (the invariant
  ``#(|x| < j w) <= cumsum[j-1] <= #(|x| <= j w)``), whatever the batch order;
* ``PercentileObserver`` returns the upper edge of the bin of the nearest-rank percentile: at
  least p % of the values are within it, and it exceeds that value by at most one bin;
* ``MSEObserver`` finds a threshold within 1 % of a brute-force search of the *exact* MSE on the
  same data, on Gaussian, Laplace, uniform and Student-t data at 2, 3, 4 and 8 bits. How flat
  the MSE curve is near its minimum is measured alongside: ``test_mse_curve_flatness`` pins the
  width of the window of thresholds whose MSE is within 0.1 % of the minimum, so a reader can
  see how much stricter the 1 % threshold criterion is than the MSE itself;
* ``calibrate`` streams: the tracemalloc peak on a generator of batches does not grow with the
  number of batches and stays within a few batch sizes; its progress bar goes to stderr;
* bad input raises a TypeError or ValueError naming the argument.

Hypothesis runs under the "ci" profile of conftest.py (derandomized, no deadline).
"""
from __future__ import annotations

import io
import math
import tracemalloc
from contextlib import redirect_stderr

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyquant as tq
from strategies import finite_arrays

OBSERVERS = [tq.MinMaxObserver, lambda: tq.MovingAverageObserver(0.1), tq.PercentileObserver, tq.MSEObserver]


@st.composite
def batch_lists(draw, max_abs=1e6):
    """1 to 6 finite float32/float64 batches of any shape."""
    return draw(st.lists(finite_arrays(max_abs=max_abs), min_size=1, max_size=6))


def flat(batches):
    return np.concatenate([np.ravel(b).astype(np.float64) for b in batches])


def exact_mse(x, t, num_bits):
    qmax = 2 ** (num_bits - 1) - 1
    step = t / qmax
    return float(np.mean((x - np.clip(np.rint(x / step), -qmax, qmax) * step) ** 2))


def brute_force(x, num_bits):
    """The threshold with the smallest exact MSE on x: a 0.5 %-spaced grid, then 0.01 % around the best three."""
    amax = float(np.abs(x).max())
    coarse = amax * np.geomspace(1e-3, 1.0, 1400)
    errors = np.array([exact_mse(x, t, num_bits) for t in coarse])
    fine = np.unique(np.concatenate([t * np.linspace(0.99, 1.01, 201) for t in coarse[np.argsort(errors)[:3]]]))
    fine = fine[fine <= amax]
    fine_errors = np.array([exact_mse(x, t, num_bits) for t in fine])
    return fine, fine_errors


DATA = {
    "gaussian": lambda rng, n: rng.standard_normal(n),
    "laplace": lambda rng, n: rng.laplace(size=n),
    "uniform": lambda rng, n: rng.uniform(-1.0, 1.0, n),
    "student-t 5": lambda rng, n: rng.standard_t(5, n),
    "student-t 3": lambda rng, n: rng.standard_t(3, n),
}


# --------------------------------------------------------------------------- min-max, moving average

@given(batches=batch_lists(), num_bits=st.integers(2, 16))
def test_minmax_equals_the_parameters_of_all_the_data(batches, num_bits):
    observer = tq.MinMaxObserver().calibrate(batches, progress=False)
    everything = flat(batches)
    assert observer.min_val == everything.min() and observer.max_val == everything.max()
    assert observer.quant_params(num_bits) == (tq.symmetric_quant_params(everything, num_bits), 0)
    assert observer.quant_params(num_bits, symmetric=False) == tq.asymmetric_quant_params(everything, num_bits)
    reverse = tq.MinMaxObserver().calibrate(batches[::-1], progress=False)
    assert (reverse.min_val, reverse.max_val) == (observer.min_val, observer.max_val)


@given(batches=batch_lists(), momentum=st.floats(0.001, 1.0))
def test_moving_average_follows_pytorch_recurrence(batches, momentum):
    observer = tq.MovingAverageObserver(momentum)
    low = high = None
    for batch in batches:
        observer.observe(batch)
        b = np.asarray(batch, dtype=np.float64)
        if low is None:
            low, high = b.min(), b.max()
        else:  # torch.ao.quantization.MovingAverageMinMaxObserver.forward
            low = low + momentum * (b.min() - low)
            high = high + momentum * (b.max() - high)
        assert math.isclose(observer.min_val, low, rel_tol=1e-9, abs_tol=1e-9 * abs(high - low))
        assert math.isclose(observer.max_val, high, rel_tol=1e-9, abs_tol=1e-9 * abs(high - low))
    assert observer.min_val <= observer.max_val


def test_moving_average_with_momentum_one_keeps_the_last_batch():
    observer = tq.MovingAverageObserver(1.0).calibrate([[0.0, 9.0], [-1.0, 2.0]], progress=False)
    assert (observer.min_val, observer.max_val) == (-1.0, 2.0)


# --------------------------------------------------------------------------- histogram and percentile

@given(batches=batch_lists(max_abs=1e30), bins=st.sampled_from([2, 8, 64, 2048]))
def test_histogram_counts_are_exact_to_one_bin(batches, bins):
    observer = tq.HistogramObserver(bins=bins).calibrate(batches, progress=False)
    magnitudes = np.sort(np.abs(flat(batches)))
    assert observer.counts.sum() == magnitudes.size == observer.num_values
    assert observer.upper >= magnitudes[-1]
    assert observer.counts.shape == (bins,) and observer.counts.dtype == np.int64
    if observer.upper == 0.0:
        assert observer.counts[0] == magnitudes.size
        return
    width = observer.bin_width
    cumulative = np.cumsum(observer.counts)
    edges = np.arange(1, bins) * width
    slack = 1e-12 * observer.upper  # the bin index is computed as floor(|x| * bins / upper)
    assert np.all(np.searchsorted(magnitudes, edges - slack, side="left") <= cumulative[:-1])
    assert np.all(cumulative[:-1] <= np.searchsorted(magnitudes, edges + slack, side="right"))


def test_histogram_doubling_merges_exactly():
    one = tq.HistogramObserver(bins=8).calibrate([[0.1, 0.3, 0.35, 0.9, 1.0], [2.5, 0.2]], progress=False)
    assert one.upper == 4.0 and one.counts.tolist() == [4, 2, 0, 0, 0, 1, 0, 0]
    zeros_first = tq.HistogramObserver(bins=4).calibrate([[0.0, 0.0], [3.0]], progress=False)
    assert zeros_first.upper == 3.0 and zeros_first.counts.tolist() == [2, 0, 0, 1]


@given(batches=batch_lists(max_abs=1e30), percentile=st.floats(0.5, 100.0))
def test_percentile_threshold_is_the_nearest_rank_to_one_bin(batches, percentile):
    observer = tq.PercentileObserver(percentile, bins=256).calibrate(batches, progress=False)
    t = observer.threshold()
    magnitudes = np.sort(np.abs(flat(batches)))
    rank_value = magnitudes[max(math.ceil(percentile / 100 * magnitudes.size) - 1, 0)]
    slack = 1e-12 * observer.upper
    assert rank_value - slack <= t <= rank_value + observer.bin_width + slack
    assert t <= magnitudes[-1]


@pytest.mark.parametrize("name", ["gaussian", "student-t 3", "uniform"])
def test_percentile_observer_agrees_with_percentile_amax(name):
    rng = np.random.default_rng(7)
    batches = [DATA[name](rng, 10_007) for _ in range(6)]
    for percentile in (90, 99, 99.9, 99.99, 100):
        observer = tq.PercentileObserver(percentile).calibrate(iter(batches), progress=False)
        exact = tq.percentile_amax(flat(batches), percentile)
        # np.percentile interpolates between neighbours of the nearest-rank value: one gap of slack
        gap = np.diff(np.sort(np.abs(flat(batches))))
        assert abs(observer.threshold() - exact) <= observer.bin_width + gap.max()
    assert tq.PercentileObserver(100).calibrate(batches, progress=False).threshold() == np.abs(flat(batches)).max()


# --------------------------------------------------------------------------- MSE observer vs brute force

@pytest.mark.parametrize("name", list(DATA))
@pytest.mark.parametrize("num_bits", [2, 3, 4, 8])
def test_mse_threshold_within_one_percent_of_brute_force(name, num_bits):
    rng = np.random.default_rng(11)
    x = DATA[name](rng, 100_000)
    observer = tq.MSEObserver().calibrate(np.array_split(x, 10), progress=False)
    t = observer.threshold(num_bits)
    grid, errors = brute_force(x, num_bits)
    best = grid[np.argmin(errors)]
    assert abs(t / best - 1) <= 0.01, (name, num_bits, t, best)
    assert exact_mse(x, t, num_bits) <= errors.min() * 1.001


@pytest.mark.parametrize("name, num_bits, low, high", [
    ("gaussian", 8, 0.005, 0.05), ("student-t 3", 8, 0.02, 0.2), ("uniform", 8, 0.0005, 0.02),
])
def test_mse_curve_flatness(name, num_bits, low, high):
    """How wide the set of near-optimal thresholds is: MSE within 0.1 % of the minimum.

    Measured (8 bits, 100,000 values, relative to the optimum): Student-t(3) 2.6 %, Gaussian
    0.6 %, uniform 0.2 %; at 2 to 4 bits most windows fill the whole ±1 % fine grid of
    ``brute_force`` (so 3 % is a lower bound there). Where the window is wider than the 1 % asked
    of the threshold, that criterion is stricter than the MSE can justify; the MSE observer still
    meets it everywhere (largest deviation measured: 0.25 %). The widths are pinned loosely so
    that a change of behaviour is noticed.
    """
    rng = np.random.default_rng(11)
    x = DATA[name](rng, 100_000)
    grid, errors = brute_force(x, num_bits)
    near = grid[errors <= errors.min() * 1.001]
    best = grid[np.argmin(errors)]
    width = (near.max() - near.min()) / best
    assert low <= width <= high, (name, width)


def test_mse_threshold_depends_on_bits_and_never_exceeds_the_maximum():
    rng = np.random.default_rng(3)
    observer = tq.MSEObserver().calibrate([rng.laplace(size=5000) for _ in range(4)], progress=False)
    thresholds = [observer.threshold(b) for b in (2, 3, 4, 6, 8, 12, 16)]
    assert thresholds == sorted(thresholds) and thresholds[0] < thresholds[-1]
    assert thresholds[-1] <= max(abs(observer.min_val), abs(observer.max_val))
    assert tq.MSEObserver().observe([0.0, 0.0]).threshold() == 0.0


@pytest.mark.parametrize("make", OBSERVERS)
def test_quant_params_follow_chapters_02_and_03(make):
    rng = np.random.default_rng(5)
    observer = make().calibrate([rng.standard_t(4, 2000) + 0.3 for _ in range(3)], progress=False)
    for num_bits in (2, 4, 8, 16):
        t = float(observer.threshold(num_bits))
        assert observer.quant_params(num_bits) == (tq.symmetric_quant_params([t], num_bits), 0)
        low, high = max(observer.min_val, -t), min(observer.max_val, t)
        assert observer.quant_params(num_bits, symmetric=False) == tq.asymmetric_quant_params([low, high], num_bits)
        scale, zero_point = observer.quant_params(num_bits, symmetric=False)
        assert scale > 0 and math.isfinite(scale) and 0 <= zero_point <= 2 ** num_bits - 1


# --------------------------------------------------------------------------- calibrate: streaming, progress

def _peak(function):
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("make", OBSERVERS)
def test_calibrate_memory_does_not_grow_with_the_number_of_batches(make):
    batch_bytes = 128 * 128 * 4

    def batches(n):
        rng = np.random.default_rng(0)
        return (rng.standard_normal((128, 128), dtype=np.float32) for _ in range(n))

    few = _peak(lambda: make().calibrate(batches(4), progress=False))
    many = _peak(lambda: make().calibrate(batches(80), progress=False))  # 5 MiB of data
    assert many <= few + 64 * 1024, (few, many)
    assert many <= 6 * batch_bytes + 64 * 1024, many  # a few batch-sized temporaries + the state


def test_calibrate_consumes_a_generator_lazily():
    seen = []

    def batches():
        for i in range(5):
            seen.append(i)
            yield np.full(3, float(i))

    observer = tq.MinMaxObserver()
    generator = batches()
    observer.calibrate(generator, progress=False)
    assert seen == list(range(5)) and observer.num_batches == 5 and observer.max_val == 4.0


def test_calibrate_progress_bar_goes_to_stderr_and_can_be_turned_off():
    err = io.StringIO()
    with redirect_stderr(err):
        tq.PercentileObserver().calibrate([np.ones(4)] * 3)
    assert "3/3" in err.getvalue() and "PercentileObserver" in err.getvalue()
    err = io.StringIO()
    with redirect_stderr(err):
        tq.PercentileObserver().calibrate([np.ones(4)] * 3, progress=False)
    assert err.getvalue() == ""


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("make", OBSERVERS)
def test_bad_batches_raise_and_leave_the_observer_unchanged(make):
    observer = make().observe([1.0, -2.0])
    state = (observer.min_val, observer.max_val, observer.num_batches)
    for bad, error in (([], ValueError), ([1.0, np.nan], ValueError), ([[1.0, np.inf]], ValueError),
                       (["a"], TypeError), ([1 + 2j], TypeError)):
        with pytest.raises(error, match="x must"):
            observer.observe(bad)
    assert (observer.min_val, observer.max_val, observer.num_batches) == state
    with pytest.raises(ValueError, match="batches"):
        observer.calibrate([], progress=False)
    with pytest.raises(ValueError, match="batches"):
        observer.calibrate(iter(()), progress=False)
    for bad in (3.0, None, "abc"):
        with pytest.raises(TypeError, match="batches"):
            observer.calibrate(bad, progress=False)
    with pytest.raises(TypeError, match="progress"):
        observer.calibrate([[1.0]], progress="yes")
    with pytest.raises(ValueError, match="num_bits"):
        observer.quant_params(num_bits=1)
    with pytest.raises(TypeError, match="symmetric"):
        observer.quant_params(symmetric="no")


@pytest.mark.parametrize("make", OBSERVERS)
def test_quant_params_before_observing_raises(make):
    with pytest.raises(ValueError, match="observed nothing"):
        make().quant_params()


@pytest.mark.parametrize("bad", [0, 0.0, -0.5, 1.5, math.nan, math.inf])
def test_bad_momentum_and_percentile_raise_value_error(bad):
    with pytest.raises(ValueError, match="momentum"):
        tq.MovingAverageObserver(bad)
    if bad != 1.5:
        with pytest.raises(ValueError, match="percentile"):
            tq.PercentileObserver(bad)
        with pytest.raises(ValueError, match="percentile"):
            tq.percentile_amax([1.0], bad)


@pytest.mark.parametrize("bad", ["0.1", None, True, [0.5]])
def test_non_numeric_momentum_and_percentile_raise_type_error(bad):
    with pytest.raises(TypeError, match="momentum"):
        tq.MovingAverageObserver(bad)
    with pytest.raises(TypeError, match="percentile"):
        tq.PercentileObserver(bad)


def test_bad_bins_raise():
    with pytest.raises(ValueError, match="bins"):
        tq.PercentileObserver(bins=7)
    with pytest.raises(ValueError, match="bins"):
        tq.MSEObserver(bins=0)
    with pytest.raises(TypeError, match="bins"):
        tq.HistogramObserver(bins=8.0)


def test_quantize_dequantize_clamps_and_rounds_half_to_even():
    q, x_hat = tq.quantize_dequantize([0.5, 1.5, -2.5, 10.0, -10.0], 1.0, num_bits=3)
    assert q.tolist() == [0, 2, -2, 3, -3] and q.dtype == np.int8
    assert x_hat.dtype == np.float32 and x_hat.tolist() == [0.0, 2.0, -2.0, 3.0, -3.0]
    with pytest.raises(ValueError, match="scale"):
        tq.quantize_dequantize([1.0], 0.0)


@settings(max_examples=50)
@given(x=finite_arrays(max_abs=1e6), percentile=st.floats(1.0, 100.0))
def test_percentile_amax_is_a_percentile_of_magnitudes(x, percentile):
    t = tq.percentile_amax(x, percentile)
    magnitudes = np.abs(np.asarray(x, dtype=np.float64))
    assert magnitudes.min() <= t <= magnitudes.max() * (1 + 1e-12)
    assert math.isclose(t, float(np.percentile(np.abs(np.asarray(x)), percentile)), rel_tol=1e-9, abs_tol=1e-300)
