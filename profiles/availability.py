"""Weekly availability across time zones.

People state recurring windows in their own time zone ("Tuesdays 18:00-20:00 in Tokyo"), and
that is what we store: the intent is local, so it must survive daylight-saving changes unchanged.
Comparing two people therefore happens for one concrete week: each window is placed on the real
calendar dates of that week in its owner's zone, converted to UTC with zoneinfo (which knows every
DST rule), and the resulting UTC intervals are intersected to the minute.

Daylight saving, in short:
- A New Yorker's 18:00 stays 18:00 local all year; in UTC it moves by an hour in March and
  November. Overlap with someone in Tokyo (no DST) can change across that date, and we compute it
  for the week asked, so the number is exact for that week.
- A window that starts in the spring-forward gap (02:30 on the night clocks jump) does not exist
  locally; Python's rule for such times (fold=0) places it on the pre-transition offset, i.e. an
  hour later on the wall clock. A window that falls in the repeated hour in autumn uses its first
  occurrence. Both only matter for windows at 01:00-03:00 local on one night a year.
- The UTC half-hour slots used by the matching engine (`weekly_slots_utc`) are derived the same way
  for a reference week, usually the coming one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, order=True)
class Window:
    """A weekly recurring window in local time: Monday is 0, minutes from local midnight."""

    weekday: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise ValueError("a window must end after it starts, within one day")


Interval = tuple[datetime, datetime]


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def utc_intervals(windows: Iterable[Window], tz: str, week_start: date) -> list[Interval]:
    """The windows as UTC intervals inside the UTC week [week_start 00:00, +7 days), where
    week_start is a Monday. Local windows from the day before and after are included, because a
    window on a local Sunday evening may fall in the UTC week's Monday."""
    zone = ZoneInfo(tz)
    week_from = datetime.combine(week_start, time(), tzinfo=UTC)
    week_to = week_from + timedelta(days=7)
    windows = list(windows)
    intervals: list[Interval] = []
    for offset in range(-1, 8):
        local_day = week_start + timedelta(days=offset)
        for window in windows:
            if window.weekday != local_day.weekday():
                continue
            midnight = datetime.combine(local_day, time())
            start = (midnight + timedelta(minutes=window.start)).replace(tzinfo=zone)
            end = (midnight + timedelta(minutes=window.end)).replace(tzinfo=zone)
            start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
            start_utc, end_utc = max(start_utc, week_from), min(end_utc, week_to)
            if start_utc < end_utc:
                intervals.append((start_utc, end_utc))
    return merge(intervals)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Intersection of two sorted, merged interval lists (a linear sweep)."""
    result: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            result.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return result


def overlap_minutes(
    a: Iterable[Window], a_tz: str, b: Iterable[Window], b_tz: str, *, week_start: date
) -> int:
    """Minutes both people are free in the UTC week starting on the Monday week_start."""
    shared = intersect(utc_intervals(a, a_tz, week_start), utc_intervals(b, b_tz, week_start))
    return sum(int((end - start).total_seconds()) // 60 for start, end in shared)


def weekly_slots_utc(
    windows: Iterable[Window], tz: str, *, week_start: date, step: int = 30
) -> list[int]:
    """Indices of the UTC slots of `step` minutes (0 = Monday 00:00 UTC) that lie wholly inside
    the person's windows in the week starting on the Monday week_start. The matching engine uses
    half-hour slots as a fast measure; `overlap_minutes` stays the exact one."""
    week_from = datetime.combine(week_start, time(), tzinfo=UTC)
    per_week = 7 * MINUTES_PER_DAY // step
    slots: list[int] = []
    for start, end in utc_intervals(windows, tz, week_start):
        first = -(-int((start - week_from).total_seconds()) // (step * 60))  # round up
        last = int((end - week_from).total_seconds()) // (step * 60)  # round down
        slots.extend(range(first, min(last, per_week)))
    return slots


def weekly_mask_utc(windows: Iterable[Window], tz: str, *, week_start: date) -> int:
    """The hourly slots as 168 bits: bit h set when the person is free the whole UTC hour h."""
    return sum(1 << hour for hour in weekly_slots_utc(windows, tz, week_start=week_start, step=60))


def windows_from_cells(cells: Iterable[tuple[int, int]], *, step: int = 60) -> list[Window]:
    """Turn grid cells (weekday, slot), each `step` minutes long, into merged windows."""
    by_day: dict[int, list[int]] = {}
    for weekday, slot in sorted(set(cells)):
        by_day.setdefault(weekday, []).append(slot)
    windows: list[Window] = []
    for weekday, slots in by_day.items():
        run_start = previous = slots[0]
        for slot in [*slots[1:], None]:
            if slot is not None and slot == previous + 1:
                previous = slot
                continue
            windows.append(Window(weekday, run_start * step, (previous + 1) * step))
            if slot is not None:
                run_start = previous = slot
    return windows


def cells_from_windows(windows: Iterable[Window], *, step: int = 60) -> set[tuple[int, int]]:
    """The grid cells a set of windows covers; a cell counts when the window covers it fully."""
    cells: set[tuple[int, int]] = set()
    for window in windows:
        first = -(-window.start // step)
        for slot in range(first, window.end // step):
            cells.add((window.weekday, slot))
    return cells


def describe(window: Window) -> str:
    def hhmm(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    return f"{WEEKDAYS[window.weekday]} {hhmm(window.start)}-{hhmm(window.end)}"
