"""Small server-rendered SVG charts: numbers in, shapes out (templates/cohorts/_charts.html)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 320, 120


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    count: int


def histogram(values: Sequence[float], *, bins: int = 10) -> list[Bar]:
    """Scores (0..1) counted into equal bins, as bars scaled to the tallest."""
    counts = [0] * bins
    for value in values:
        counts[min(int(value * bins), bins - 1)] += 1
    tallest = max(counts) or 1
    width = WIDTH / bins
    bars = []
    for i, count in enumerate(counts):
        height = (HEIGHT - 20) * count / tallest
        bars.append(
            Bar(
                x=round(i * width + 1, 1),
                y=round(HEIGHT - 20 - height, 1),
                width=round(width - 2, 1),
                height=round(height, 1),
                label=f"{i * 100 // bins}-{(i + 1) * 100 // bins}",
                count=count,
            )
        )
    return bars


def share_bar(part: int, whole: int) -> dict:
    share = part / whole if whole else 0
    return {"width": round(WIDTH * share, 1), "percent": round(100 * share), "total": WIDTH}
