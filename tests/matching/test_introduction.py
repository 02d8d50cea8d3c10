"""The intro email: first-meeting slots from the pair's shared free time, in each reader's own
time zone, in the text and in the .ics invitations, across a daylight-saving change."""

from __future__ import annotations

from datetime import UTC, datetime

from matching import notify
from matching.models import Mentorship
from profiles.models import Email
from tests.matching.conftest import make_mentee, make_mentor

# New York moves to daylight time on Sunday 8 March 2026; Tokyo has none.
NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday


def pair(db):
    # Tokyo: Tuesdays 08:00-10:00. New York: Mondays 19:00-21:00.
    mentee = make_mentee(
        "kenji@example.org", "Kenji Tanaka", tz="Asia/Tokyo", windows=[(1, 480, 600)]
    )
    mentor = make_mentor(
        "ruth@example.org", "Ruth Ortiz", tz="America/New_York", windows=[(0, 1140, 1260)]
    )
    mentorship = Mentorship.objects.create(mentor=mentor, mentee=mentee)
    mentorship.goals.set(mentee.goals.all())
    return mentorship


def test_slots_follow_the_daylight_saving_change(db):
    mentorship = pair(db)
    slots = notify.suggested_slots(mentorship.mentor, mentorship.mentee, now=NOW)
    # Before the change New York's Monday 19:00 (EST, UTC-5) is Tokyo's Tuesday 09:00, so only
    # 09:00-10:00 is shared; after it (EDT, UTC-4) it is 08:00, and 08:00-10:00 is shared.
    assert [s.start for s in slots] == [
        datetime(2026, 3, 3, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 9, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 16, 23, 0, tzinfo=UTC),
    ]
    assert [notify.slot_label(*s.local("Asia/Tokyo")) for s in slots[:2]] == [
        "Tuesday 3 March, 09:00-10:00",
        "Tuesday 10 March, 08:00-09:00",
    ]
    assert [notify.slot_label(*s.local("America/New_York")) for s in slots[:2]] == [
        "Monday 2 March, 19:00-20:00",
        "Monday 9 March, 19:00-20:00",
    ]


def test_each_reader_gets_their_own_times_and_invitations(db, settings):
    settings.EMAIL_KEEP_SENT_BODIES = True
    mentorship = pair(db)
    notify.introduction(mentorship, now=NOW)

    to_mentee = Email.objects.get(kind="matching/introduction", to=["kenji@example.org"])
    to_mentor = Email.objects.get(kind="matching/introduction", to=["ruth@example.org"])
    assert to_mentee.subject == "Meet Ruth Ortiz, your mentor"
    assert to_mentor.subject == "Meet Kenji Tanaka, your mentee"
    assert "in your time zone (Asia/Tokyo)" in to_mentee.body_text
    assert "1. Tuesday 3 March, 09:00-10:00" in to_mentee.body_text
    assert "2. Tuesday 10 March, 08:00-09:00" in to_mentee.body_text
    assert "1. Monday 2 March, 19:00-20:00" in to_mentor.body_text
    assert "2. Monday 9 March, 19:00-20:00" in to_mentor.body_text
    assert "Goal 1 of Kenji Tanaka" in to_mentor.body_text
    assert to_mentee.body_html.count("March") == 3

    # One link to pick a time on the pair's page, not a calendar file per suggestion: the
    # first to pick books it, and both then get one .ics (tests/meetings).
    pick = f"{settings.SITE_URL}/pairs/{mentorship.pk}/#schedule"
    for email in (to_mentee, to_mentor):
        assert email.attachments == []
        assert "Pick one of these times here" in email.body_text and pick in email.body_text


def test_no_shared_time_says_so(db, settings):
    settings.EMAIL_KEEP_SENT_BODIES = True
    mentorship = pair(db)
    mentorship.mentee.availability.all().delete()
    notify.introduction(mentorship, now=NOW)
    email = Email.objects.get(to=["kenji@example.org"])
    assert "does not overlap yet" in email.body_text
    assert email.attachments == []
