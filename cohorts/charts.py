"""Small server-rendered SVG charts: numbers in, labelled horizontal bars out.

Each chart carries its rows twice over: as shapes with the category and the value written beside
every bar, and as plain rows for the table that screen readers read (the `bar-chart` partial in
templates/cohorts/health.html draws both)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 320
ROW = 24  # one bar and the gap below it
BAR = 16
FONT = 12
CHAR = 7  # rough width of one character at FONT, to leave room for labels and values
GAP = 6


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    text: str  # the value as printed at the end of the bar and in the table
    y: float
    length: float
    value_x: float  # where the printed value starts, just past the end of the bar
    text_y: float  # baseline of the label and the value, centred on the bar


@dataclass(frozen=True)
class BarChart:
    """A titled set of labelled bars. `key` makes the DOM ids; `category` and `measure` head
    the table's columns. An empty chart (every value zero) is shown as `empty` text instead."""

    key: str
    title: str
    category: str
    measure: str
    empty: str
    bars: list[Bar]
    label_x: float  # labels end here (they are right-aligned)
    bar_x: float  # bars start here, on the axis
    width: int
    height: int
    bar_height: int = BAR

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)

    @property
    def is_empty(self) -> bool:
        return self.total == 0


def bar_chart(
    rows: Sequence[tuple[str, int]],
    *,
    key: str,
    title: str,
    category: str,
    measure: str,
    empty: str,
    scale: int | None = None,
    texts: Sequence[str] | None = None,
) -> BarChart:
    """Bars scaled to `scale` (the longest value when not given), labels on the left and the
    value (or its `texts`) printed after each bar."""
    printed = list(texts) if texts is not None else [str(value) for _, value in rows]
    label_width = GAP + CHAR * max((len(label) for label, _ in rows), default=0)
    value_width = GAP + CHAR * max((len(text) for text in printed), default=0)
    room = WIDTH - label_width - GAP - value_width
    longest = scale or max((value for _, value in rows), default=0) or 1
    bars = []
    for i, ((label, value), text) in enumerate(zip(rows, printed, strict=True)):
        length = round(room * min(value, longest) / longest, 1)
        y = i * ROW
        bars.append(
            Bar(
                label=label,
                value=value,
                text=text,
                y=y,
                length=length,
                value_x=round(label_width + GAP + length + GAP / 2, 1),
                text_y=y + BAR / 2 + FONT * 0.35,
            )
        )
    return BarChart(
        key=key,
        title=title,
        category=category,
        measure=measure,
        empty=empty,
        bars=bars,
        label_x=label_width,
        bar_x=label_width + GAP,
        width=WIDTH,
        height=max(len(rows) * ROW - (ROW - BAR), 0),
    )


def histogram(values: Sequence[float], *, bins: int = 10) -> BarChart:
    """Pair scores (0..1) counted into equal bins, labelled out of 100 like the review page."""
    counts = [0] * bins
    for value in values:
        counts[min(max(int(value * bins), 0), bins - 1)] += 1
    rows = [
        (f"{i * 100 // bins} to {(i + 1) * 100 // bins}", count) for i, count in enumerate(counts)
    ]
    return bar_chart(
        rows,
        key="scores",
        title="Published pairs by match score (out of 100)",
        category="Score",
        measure="Pairs",
        empty="No published pair has a score yet. Publish pairs to see how good the matches are.",
    )


def share_bar(part: int, whole: int) -> BarChart:
    """Mentees with a mentor against those still without one, each as a share of all mentees."""
    part = min(part, whole)
    rest = whole - part
    rows = [("Matched", part), ("Not matched", rest)]
    return bar_chart(
        rows,
        key="matched",
        title=f"Mentees matched: {part} of {whole}",
        category="Mentees",
        measure="Number (share)",
        empty="No mentees in this cohort yet.",
        scale=whole,
        texts=[f"{value} ({round(100 * value / whole) if whole else 0}%)" for _, value in rows],
    )
