"""Chapter 05's outlier tools: detect_outliers, outlier_impact and the two plots."""
import io
import itertools

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp
from matplotlib.figure import Figure

from tinyquant import (dequantize, detect_outliers, outlier_impact, plot_outlier_impact,
                       plot_weight_distributions, quantize_symmetric)


def outliers_by_loops(x, threshold, axis):
    """|x - mean| > threshold * std, one channel at a time, with the statistics written out."""
    x = np.asarray(x, dtype=np.float64)
    mask = np.zeros(x.shape, dtype=bool)
    channels = [None] if axis is None else range(x.shape[axis])
    for channel in channels:
        values = x if channel is None else np.take(x, channel, axis=axis)
        mean = values.sum() / values.size
        std = np.sqrt(((values - mean) ** 2).sum() / values.size)
        found = np.abs(values - mean) > threshold * std
        if channel is None:
            mask = found
        else:
            index = [slice(None)] * x.ndim
            index[axis] = channel
            mask[tuple(index)] = found
    return mask


def heavy_tailed(seed=0, shape=(64, 16)):
    """Student-t values: a few of them lie many standard deviations out."""
    return np.random.default_rng(seed).standard_t(2, size=shape)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("threshold", [1.0, 3.0, 6.0])
def test_detect_outliers_matches_the_definition(axis, threshold):
    x = heavy_tailed()
    expected = outliers_by_loops(x, threshold, axis)
    np.testing.assert_array_equal(detect_outliers(x, threshold, axis=axis), expected)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
                  elements=st.floats(-1e6, 1e6)),
       st.floats(0.5, 8.0))
def test_detect_outliers_per_tensor_property(x, threshold):
    mask = detect_outliers(x, threshold)
    assert mask.shape == x.shape and mask.dtype == bool
    deviation, limit = np.abs(x - x.mean()), threshold * x.std()
    # Away from the boundary, where rounding in mean and std cannot decide, the mask is the rule.
    clear = np.abs(deviation - limit) > 1e-9 * (1.0 + np.abs(x).max())
    np.testing.assert_array_equal(mask[clear], (deviation > limit)[clear])


def test_per_channel_statistics_differ_from_per_tensor():
    # One loud channel: per tensor its values are outliers; per channel, within their own channel, none are.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1000, 8))
    x[:, 3] *= 50.0
    assert detect_outliers(x, 6.0)[:, 3].sum() > 0
    assert detect_outliers(x, 6.0, axis=1)[:, 3].sum() == 0


def test_constant_tensor_has_no_outliers():
    assert not detect_outliers(np.full((4, 5), 3.25)).any()
    assert not detect_outliers(np.full((4, 5), 3.25), axis=0).any()


@pytest.mark.parametrize("bad, error, name", [
    (dict(x=[1.0, np.nan]), ValueError, "x"),
    (dict(x=[]), ValueError, "x"),
    (dict(x=["a", "b"]), TypeError, "x"),
    (dict(x=[1.0, 2.0], threshold=0.0), ValueError, "threshold"),
    (dict(x=[1.0, 2.0], threshold=-6.0), ValueError, "threshold"),
    (dict(x=[1.0, 2.0], threshold=float("nan")), ValueError, "threshold"),
    (dict(x=[1.0, 2.0], axis=1), ValueError, "axis"),
])
def test_detect_outliers_bad_input(bad, error, name):
    with pytest.raises(error, match=name):
        detect_outliers(**bad)


def outlier_story(seed=0):
    """Seed 004's picture: normal activations, and a few channels with values near 47."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((512, 256))
    x[rng.integers(0, 512, 40), 7] = 47.3
    x[rng.integers(0, 512, 40), 100] = -39.0
    return x


def test_outlier_impact_with_outliers_is_chapter_02s_error():
    x = outlier_story()
    impact = outlier_impact(x, axis=-1)
    q, scale = quantize_symmetric(x)
    squared = (dequantize(q, scale).astype(np.float64) - x) ** 2
    normal = ~detect_outliers(x)
    assert impact["num_outliers"] == int((~normal).sum()) > 0
    assert impact["with outliers"]["range"] == pytest.approx(np.abs(x).max())
    assert impact["with outliers"]["mse_normal"] == pytest.approx(squared[normal].mean(), rel=1e-12)
    assert impact["with outliers"]["mse"] == pytest.approx(squared.mean(), rel=1e-12)


def test_outlier_impact_orders_the_schemes_on_the_story():
    impact = outlier_impact(outlier_story(), percentile=99.5, axis=-1)
    kept, clipped, per_channel = (impact[s] for s in ("with outliers", "clipped", "per-channel"))
    # Clipping and per-channel both give the normal values a much finer step...
    assert clipped["mse_normal"] < kept["mse_normal"] / 10
    assert per_channel["mse_normal"] < kept["mse_normal"] / 10
    # ...but clipping destroys the outliers, which per-channel keeps.
    assert clipped["mse_outliers"] > 100 * per_channel["mse_outliers"]
    assert clipped["max_abs"] < 10 < per_channel["max_abs"]


def png_bytes(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def weights_of_seed_004(seed=0):
    """Weights in ±0.5 with std about 0.1, as seed 004 describes them."""
    w = np.clip(np.random.default_rng(seed).normal(0.0, 0.1, (256, 256)), -0.5, 0.5).astype(np.float32)
    q, scale = quantize_symmetric(w)
    return w, q, scale


def test_plot_weight_distributions_is_a_deterministic_three_panel_figure():
    w, q, scale = weights_of_seed_004()
    first, second = plot_weight_distributions(w, q, scale), plot_weight_distributions(w, q, scale)
    assert isinstance(first, Figure) and len(first.axes) == 3
    assert png_bytes(first) == png_bytes(second)
    titles = [ax.get_title() for ax in first.axes]
    assert f"std {w.std():.4f}" in titles[0]
    error = w.astype(np.float64) - (q.astype(np.float64) * scale).astype(np.float32)
    assert f"std {error.std():.4f}" in titles[2]
    # Seed 004's numbers: range ±0.5, std ≈ 0.1; the error is uniform within ±scale/2.
    assert abs(w.std() - 0.1) < 0.005 and np.abs(w).max() <= 0.5
    assert np.abs(error).max() <= scale / 2 * (1 + 1e-6)
    assert error.std() == pytest.approx(scale / np.sqrt(12), rel=0.05)


def test_plot_outlier_impact_is_deterministic():
    x = outlier_story()
    first, second = plot_outlier_impact(x), plot_outlier_impact(x)
    assert isinstance(first, Figure) and len(first.axes) == 2
    assert png_bytes(first) == png_bytes(second)


@pytest.mark.parametrize("args, error", [
    (lambda w, q, s: (w, q[:10], s), ValueError),
    (lambda w, q, s: (w, q.astype(np.float32), s), TypeError),
    (lambda w, q, s: (w, q, 0.0), ValueError),
    (lambda w, q, s: (np.full_like(w, np.nan), q, s), ValueError),
])
def test_plot_weight_distributions_bad_input(args, error):
    with pytest.raises(error):
        plot_weight_distributions(*args(*weights_of_seed_004()))


def test_heavy_tails_have_more_outliers_than_a_gaussian():
    rng = np.random.default_rng(3)
    counts = {name: detect_outliers(values).sum() for name, values in
              (("gaussian", rng.standard_normal(100_000)), ("student-t", rng.standard_t(3, 100_000)))}
    assert counts["gaussian"] == 0 < counts["student-t"]


def test_loops_helper_agrees_with_itself_on_every_axis():
    # The reference above must itself distinguish axes, or the comparison would prove nothing.
    x = heavy_tailed(seed=5, shape=(6, 40))
    masks = [outliers_by_loops(x, 1.5, axis) for axis in (None, 0, 1)]
    assert all(not np.array_equal(a, b) for a, b in itertools.combinations(masks, 2))
