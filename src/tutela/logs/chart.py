"""A PNG chart of the statistics: requests per day and requests per status class.

matplotlib is imported only here, inside :func:`chart_png`, with the Agg
backend and without pyplot (no global state, no display). The output is the
same bytes for the same statistics: fixed size and resolution, matplotlib's
default style whatever the local configuration, and no metadata (no software
version, no creation time) in the file.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tutela.errors import ConfigurationError
from tutela.logs.statistics import Statistics

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["DPI", "SIZE_INCHES", "chart_png"]

SIZE_INCHES = (10.0, 7.5)
DPI = 100
_LABELLED_DAYS = 31
_MIN_DAY_SLOTS = 7
_CLASS_COLOURS = {
    "1xx": "#9e9e9e",
    "2xx": "#2e7d32",
    "3xx": "#1565c0",
    "4xx": "#ef6c00",
    "5xx": "#c62828",
}


def chart_png(statistics: Statistics) -> bytes:
    """Render the chart of ``statistics`` and return the PNG file's bytes."""
    try:
        from matplotlib import style
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ConfigurationError(
            "--chart: drawing the chart needs matplotlib, which is not installed; install it "
            "with pip install 'tutela[logs]', or leave out --chart."
        ) from exc

    with style.context("default"):
        figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        days_axes, status_axes = figure.subplots(2, 1, height_ratios=(3, 2))
        _days(days_axes, statistics.days)
        _classes(status_axes, statistics.status_classes())
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _days(axes: Axes, days: Mapping[str, int]) -> None:
    names = sorted(days)
    positions = list(range(len(names)))
    axes.bar(positions, [days[d] for d in names], color="#1565c0")
    axes.set_title("Requests per day (UTC)")
    axes.set_ylabel("requests")
    step = max(1, -(-len(names) // _LABELLED_DAYS))
    axes.set_xticks(positions[::step], names[::step], rotation=60, ha="right", fontsize=8)
    axes.set_xlim(-0.75, max(len(names), _MIN_DAY_SLOTS) - 0.25)
    if not names:
        _nothing(axes)


def _classes(axes: Axes, classes: Mapping[str, int]) -> None:
    names = [name for name in _CLASS_COLOURS if classes.get(name)]
    names += sorted(name for name in classes if name not in _CLASS_COLOURS)
    counts = [classes[name] for name in names]
    bars = axes.barh(names, counts, color=[_CLASS_COLOURS.get(n, "#6d4c41") for n in names])
    axes.bar_label(bars, labels=[f"{c:,}" for c in counts], padding=3, fontsize=8)
    axes.invert_yaxis()
    axes.set_title("Requests per status class")
    axes.set_xlabel("requests")
    if not names:
        _nothing(axes)


def _nothing(axes: Axes) -> None:
    axes.text(0.5, 0.5, "no requests", ha="center", va="center", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])
