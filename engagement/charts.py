"""Charts drawn on the server as SVG: no JavaScript, no charting library, readable by
screen readers (each chart has a <title> and a <desc> that says every number).

Only geometry lives here; the markup is in the templates (``engagement/_funnel.html``).
"""

from dataclasses import dataclass

# Funnel drawing, in SVG user units (the SVG scales to its container's width).
FUNNEL_WIDTH = 640
FUNNEL_LABEL_WIDTH = 90  # left column: the step's name
FUNNEL_VALUE_WIDTH = 150  # right of the longest bar: "12,345 · 100 %"
FUNNEL_ROW = 34
FUNNEL_BAR = 22


@dataclass(frozen=True)
class FunnelRow:
    label: str
    count: int
    percent: float
    y: int  # top of the row
    bar_y: int
    text_y: int  # text baseline
    bar_width: float
    text_x: float  # where the count/percentage starts


def funnel_rows(steps):
    """Rows of a horizontal bar funnel; bars are proportional to the first step (sent).

    A step with a count above zero keeps at least 2 units of bar so it stays visible.
    """
    top = max((s.count for s in steps[:1]), default=0) or max((s.count for s in steps), default=0)
    span = FUNNEL_WIDTH - FUNNEL_LABEL_WIDTH - FUNNEL_VALUE_WIDTH
    rows = []
    for index, step in enumerate(steps):
        width = span * step.count / top if top else 0
        if step.count and width < 2:
            width = 2
        rows.append(
            FunnelRow(
                label=step.label,
                count=step.count,
                percent=step.percent,
                y=index * FUNNEL_ROW,
                bar_y=index * FUNNEL_ROW + (FUNNEL_ROW - FUNNEL_BAR) // 2,
                text_y=index * FUNNEL_ROW + FUNNEL_ROW // 2 + 5,
                bar_width=round(width, 1),
                text_x=round(FUNNEL_LABEL_WIDTH + width + 8, 1),
            )
        )
    return rows


def funnel_chart(steps):
    """Everything ``engagement/_funnel.html`` needs to draw ``steps`` (FunnelStep list)."""
    rows = funnel_rows(steps)
    return {
        "steps": steps,
        "rows": rows,
        "width": FUNNEL_WIDTH,
        "height": len(rows) * FUNNEL_ROW,
        "bar_x": FUNNEL_LABEL_WIDTH,
        "bar_height": FUNNEL_BAR,
    }
