"""What a figure shows, as plain data: the form in which the tests check a plotting exercise.

A test never compares pixels. It reads what each panel holds: its titles and labels, its
scales, its bars (a histogram's bins are bars too), its vertical lines, its legend and its
tick labels. ``figure_summary`` turns a Matplotlib figure into that description, made of
Python strings, lists and NumPy arrays only, so that the same description can also cross the
grader's wall: in a graded notebook a plotting exercise runs in the learner's sandboxed
process, which sends back the summary of the figure it returned (``course.worker``), and the
grader's checks receive the summary instead of the figure. Given a summary, the function
returns it unchanged, so a test reads ``figure_summary(plot_something(...))`` in both places.
"""
from __future__ import annotations

import sys

import numpy as np

__all__ = ["figure_summary", "is_figure"]

KIND = "matplotlib figure summary"


def is_figure(value) -> bool:
    """True for a Matplotlib ``Figure`` (without importing Matplotlib if nothing has)."""
    module = sys.modules.get("matplotlib.figure")
    return module is not None and isinstance(value, module.Figure)


def figure_summary(figure) -> dict:
    """The panels of `figure`, as plain data.

    Parameters
    ----------
    figure : matplotlib.figure.Figure or dict
        A figure, or a summary this function made earlier (returned as it is).

    Returns
    -------
    dict
        ``{"kind": ..., "axes": [panel, ...]}``, the panels in the figure's order, each a dict:
        ``title`` (the left, centre and right titles joined by spaces), ``xlabel``, ``ylabel``,
        ``xscale``, ``yscale`` (``"linear"``, ``"log"``...), ``bars`` (a float array of rows
        ``[left, width, bottom, height]``, one per rectangle drawn by ``hist`` or ``bar`` and per
        step of ``stairs``),
        ``vlines`` (the x of every vertical line, sorted), ``legend`` (the legend's texts) and
        ``xticklabels`` (the non-empty tick label texts).

    Raises
    ------
    TypeError
        If `figure` is neither a Matplotlib figure nor a summary.
    """
    if isinstance(figure, dict) and figure.get("kind") == KIND:
        return figure
    if not is_figure(figure):
        raise TypeError(f"expected a matplotlib.figure.Figure, got {type(figure).__name__}"
                        + (" (return the figure, not None)" if figure is None else ""))
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Rectangle, StepPatch

    panels = []
    for ax in figure.axes:
        bars = []
        for patch in ax.patches:
            if isinstance(patch, Rectangle):
                bars.append([patch.get_x(), patch.get_width(), patch.get_y(), patch.get_height()])
            elif isinstance(patch, StepPatch):  # ax.stairs: a histogram drawn as its outline
                values, edges, baseline = patch.get_data()
                bottom = 0.0 if baseline is None or np.ndim(baseline) else float(baseline)
                bars += [[left, right - left, bottom, value]
                         for left, right, value in zip(edges[:-1], edges[1:], values)]
        vlines = [float(line.get_xdata()[0]) for line in ax.lines
                  if len(line.get_xdata()) and np.ptp(np.asarray(line.get_xdata(), float)) == 0]
        for collection in ax.collections:  # ax.vlines draws a LineCollection
            if isinstance(collection, LineCollection):
                vlines += [float(segment[0, 0]) for segment in collection.get_segments()
                           if len(segment) and np.ptp(segment[:, 0]) == 0]
        legend = ax.get_legend()
        panels.append({
            "title": " ".join(title for loc in ("left", "center", "right") if (title := ax.get_title(loc))),
            "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "xscale": ax.get_xscale(), "yscale": ax.get_yscale(),
            "bars": np.array(bars, dtype=np.float64).reshape(-1, 4),
            "vlines": sorted(vlines),
            "legend": [text.get_text() for text in legend.get_texts()] if legend else [],
            "xticklabels": [text.get_text() for text in ax.get_xticklabels() if text.get_text()],
        })
    return {"kind": KIND, "axes": panels}
