"""course.figures: what a plotting exercise's figure holds, as the tests (and the grader's wall) see it."""
import json

import numpy as np
import pytest
from matplotlib.figure import Figure

from course.figures import figure_summary, is_figure
from course.wire import Decoder, Encoder


def two_panels():
    fig = Figure()
    left, right = fig.subplots(1, 2)
    left.hist(np.array([0.0, 0.1, 0.1, 0.9, 1.0]), bins=4, log=True)
    left.axvline(0.5, linestyle="--", label="half")
    left.axvline(-0.25)
    left.vlines([2.0, -3.0], 0, 1)
    left.set(title="values", xlabel="value", ylabel="count")
    left.legend()
    right.bar([0, 1], [3.0, 5.0], width=0.5, label="mse")
    right.set_xticks([0, 1], ["a", "b"])
    right.set_yscale("log")
    right.set_title("errors", loc="left")
    return fig


def test_a_figure_becomes_its_panels():
    summary = figure_summary(two_panels())
    left, right = summary["axes"]
    assert left["title"] == "values" and (left["xlabel"], left["ylabel"]) == ("value", "count")
    assert left["yscale"] == "log" and left["xscale"] == "linear"
    assert left["bars"].shape == (4, 4)
    assert left["bars"][:, 3].tolist() == [3.0, 0.0, 0.0, 2.0]  # the histogram's counts
    assert left["bars"][0, 0] == 0.0 and left["bars"][-1, 0] + left["bars"][-1, 1] == 1.0
    assert left["vlines"] == [-3.0, -0.25, 0.5, 2.0]  # axvline and vlines, sorted
    assert left["legend"] == ["half"]
    assert right["title"] == "errors" and right["yscale"] == "log"
    assert right["bars"][:, 3].tolist() == [3.0, 5.0] and right["xticklabels"] == ["a", "b"]


def test_stairs_count_as_bars():
    fig = Figure()
    fig.subplots().stairs([1.0, 4.0, 2.0], [0.0, 1.0, 2.0, 3.0], fill=True)
    bars = figure_summary(fig)["axes"][0]["bars"]
    assert bars[:, 0].tolist() == [0.0, 1.0, 2.0] and bars[:, 3].tolist() == [1.0, 4.0, 2.0]


def test_a_summary_passes_through_and_anything_else_is_refused():
    summary = figure_summary(two_panels())
    assert figure_summary(summary) is summary
    with pytest.raises(TypeError, match="return the figure"):
        figure_summary(None)
    with pytest.raises(TypeError, match="Figure"):
        figure_summary({"axes": []})  # a dict that is not a summary
    assert is_figure(two_panels()) and not is_figure(summary)


def test_a_summary_is_plain_data_that_crosses_the_wall():
    summary = figure_summary(two_panels())
    wire = json.loads(json.dumps(Encoder(lambda v: None, lambda c: None).encode(summary)))
    back = Decoder(lambda path: None, lambda node: None).decode(wire)
    assert figure_summary(back)["axes"][0]["vlines"] == summary["axes"][0]["vlines"]
    assert np.array_equal(back["axes"][1]["bars"], summary["axes"][1]["bars"])
