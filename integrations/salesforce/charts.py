"""The sync health page's chart of the last 30 days of runs, as plain geometry for an inline
SVG drawn by the template (no JavaScript, no charting library, nothing from a CDN).

One bar per run at its start time on a 30-day time axis, stacked: records created, updated,
failed (left axis); the run's API calls as a line with a dot per run (right axis). Runs that
stopped early are marked under the axis. The template gives the SVG ``role="img"``, a
``<title>`` and a ``<desc>`` with the totals, a ``<title>`` per bar, a text legend, and a
data table fallback, so the figures are available without seeing the picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from thankview.dates import local_text

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 48, 16, 40  # margins: axes labels live here
DAYS = 30
SERIES = (("created", "Created"), ("updated", "Updated"), ("failed", "Failed"))


@dataclass
class Bar:
    x: float
    width: float
    segments: list  # [(series, y, height, value)]
    title: str
    stopped: bool


@dataclass
class Chart:
    start: datetime
    end: datetime
    runs: int = 0
    bars: list = field(default_factory=list)
    calls_points: str = ""
    calls_dots: list = field(default_factory=list)  # [(x, y, value)]
    y_ticks: list = field(default_factory=list)  # [(y, label)] records
    calls_ticks: list = field(default_factory=list)  # [(y, label)] API calls
    x_ticks: list = field(default_factory=list)  # [(x, label)]
    totals: dict = field(default_factory=dict)
    max_calls: int = 0
    days: list = field(default_factory=list)  # per-day rows for the data table
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return self.runs == 0

    @property
    def start_text(self) -> str:
        return local_text(self.start, "date")

    @property
    def end_text(self) -> str:
        return local_text(self.end, "date")


def _nice_max(value: int) -> int:
    """A round axis maximum ≥ value (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _ticks(maximum: int, y0: float, y1: float, n: int = 4) -> list:
    return [(round(y0 - (y0 - y1) * i / n, 1), f"{round(maximum * i / n):,}") for i in range(n + 1)]


def runs_chart(runs, *, now: datetime | None = None, days: int = DAYS) -> Chart:
    """Geometry for ``runs`` (SyncRun objects of the last ``days`` days, any order)."""
    end = now or timezone.now()
    start = end - timedelta(days=days)
    chart = Chart(start=start, end=end)
    runs = sorted((r for r in runs if r.started_at >= start), key=lambda r: r.started_at)
    chart.runs = len(runs)
    x0, x1, y0, y1 = chart.plot_left, chart.plot_right, chart.plot_bottom, chart.plot_top
    span = (end - start).total_seconds()

    def x_of(t):
        return x0 + (x1 - x0) * (t - start).total_seconds() / span

    for i in range(0, days + 1, 5):  # a date label every 5 days
        t = start + timedelta(days=i)
        chart.x_ticks.append((round(x_of(t), 1), t.strftime("%b %-d")))
    totals = {k: sum(getattr(r, k) for r in runs) for k, _ in SERIES}
    totals["api_calls"] = sum(r.api_calls for r in runs)
    chart.totals = totals
    if not runs:
        chart.y_ticks = _ticks(1, y0, y1)
        chart.calls_ticks = _ticks(1, y0, y1)
        return chart
    rec_max = _nice_max(max(r.created + r.updated + r.failed for r in runs))
    chart.max_calls = max(r.api_calls for r in runs)
    calls_max = _nice_max(chart.max_calls)
    chart.y_ticks = _ticks(rec_max, y0, y1)
    chart.calls_ticks = _ticks(calls_max, y0, y1)
    width = max(2.0, min(10.0, (x1 - x0) / max(len(runs), 1) * 0.6))
    points = []
    for r in runs:
        cx = x_of(r.started_at)
        y = y0
        segments = []
        for key, _label in SERIES:
            value = getattr(r, key)
            h = (y0 - y1) * value / rec_max
            if value:
                segments.append((key, round(y - h, 1), round(h, 1), value))
            y -= h
        stopped = r.outcome not in ("ok", "partial", "running")
        chart.bars.append(Bar(
            x=round(cx - width / 2, 1), width=round(width, 1), segments=segments, stopped=stopped,
            title=(
                f"{local_text(r.started_at)}: {r.created:,} created, {r.updated:,} updated, {r.failed:,} failed, "
                f"{r.api_calls:,} API calls — {r.get_outcome_display()}"
            ),
        ))
        cy = round(y0 - (y0 - y1) * r.api_calls / calls_max, 1)
        points.append(f"{round(cx, 1)},{cy}")
        chart.calls_dots.append((round(cx, 1), cy, r.api_calls))
    chart.calls_points = " ".join(points)
    by_day: dict = {}
    for r in runs:
        d = by_day.setdefault(r.started_at.date(), {"date": r.started_at.date(), "runs": 0, "created": 0, "updated": 0, "failed": 0, "api_calls": 0})
        d["runs"] += 1
        for key in ("created", "updated", "failed", "api_calls"):
            d[key] += getattr(r, key)
    chart.days = sorted(by_day.values(), key=lambda d: d["date"], reverse=True)
    return chart
