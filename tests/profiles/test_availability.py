"""Overlap between people in different time zones, computed by hand and by the code."""

from datetime import date

import pytest

from profiles.availability import (
    Window,
    cells_from_windows,
    describe,
    overlap_minutes,
    weekly_mask_utc,
    windows_from_cells,
)

MON_TO_FRI = range(0, 5)
SUN_TO_THU = (6, 0, 1, 2, 3)

# Tokyo (UTC+9 all year): Monday to Friday, 09:00-11:00 local = 00:00-02:00 UTC the same day.
TOKYO = [Window(day, 9 * 60, 11 * 60) for day in MON_TO_FRI]
# New York: Sunday to Thursday evenings, 19:00-21:00 local.
#   In EST (UTC-5) that is 00:00-02:00 UTC on the next day: a full 2 h overlap with Tokyo.
#   In EDT (UTC-4) that is 23:00-01:00 UTC: only 00:00-01:00 overlaps, 1 h.
NEW_YORK = [Window(day, 19 * 60, 21 * 60) for day in SUN_TO_THU]

# US clocks sprang forward on Sunday 2026-03-08 at 02:00.
WEEK_BEFORE_DST = date(2026, 3, 2)
WEEK_AFTER_DST = date(2026, 3, 9)


def test_tokyo_and_new_york_share_ten_hours_a_week_in_winter():
    # NY Sun 1 Mar .. Thu 5 Mar evenings (EST) land on UTC Mon 2 .. Fri 6 Mar 00:00-02:00,
    # exactly Tokyo's mornings: 5 days x 2 h.
    minutes = overlap_minutes(
        TOKYO, "Asia/Tokyo", NEW_YORK, "America/New_York", week_start=WEEK_BEFORE_DST
    )
    assert minutes == 10 * 60


def test_the_overlap_halves_once_new_york_springs_forward():
    # NY Sun 8 Mar .. Thu 12 Mar evenings (EDT) are 23:00-01:00 UTC: 1 h each with Tokyo.
    minutes = overlap_minutes(
        TOKYO, "Asia/Tokyo", NEW_YORK, "America/New_York", week_start=WEEK_AFTER_DST
    )
    assert minutes == 5 * 60


def test_overlap_is_symmetric():
    args = dict(week_start=WEEK_AFTER_DST)
    assert overlap_minutes(
        TOKYO, "Asia/Tokyo", NEW_YORK, "America/New_York", **args
    ) == overlap_minutes(NEW_YORK, "America/New_York", TOKYO, "Asia/Tokyo", **args)


def test_london_and_lisbon_overlap_exactly_when_both_change_clocks_together():
    london = [Window(2, 12 * 60 + 30, 14 * 60)]  # Wednesday 12:30-14:00
    lisbon = [Window(2, 13 * 60, 15 * 60)]  # same offset as London all year
    for week in (date(2026, 3, 23), date(2026, 3, 30)):  # around 29 March 2026
        assert (
            overlap_minutes(london, "Europe/London", lisbon, "Europe/Lisbon", week_start=week) == 60
        )


def test_the_utc_mask_marks_the_hours_of_the_week():
    mask = weekly_mask_utc(TOKYO, "Asia/Tokyo", week_start=WEEK_BEFORE_DST)
    hours = [h for h in range(168) if mask >> h & 1]
    assert hours == [h for day in MON_TO_FRI for h in (day * 24, day * 24 + 1)]


def test_grid_cells_round_trip_through_windows():
    cells = {(0, 9), (0, 10), (0, 11), (0, 14), (6, 23)}
    windows = windows_from_cells(cells)
    assert windows == [Window(0, 540, 720), Window(0, 840, 900), Window(6, 1380, 1440)]
    assert cells_from_windows(windows) == cells
    assert describe(windows[0]) == "Monday 09:00-12:00"


@pytest.mark.parametrize("start,end", [(600, 600), (700, 600), (-1, 60), (0, 1441)])
def test_a_window_must_end_after_it_starts_within_the_day(start, end):
    with pytest.raises(ValueError):
        Window(0, start, end)
