"""A meeting booked from Sydney for a mentor in London shows each person their own local time,
in the page, the email and the .ics, on both sides of the 2027 daylight-saving changes.

London moves to summer time (BST, UTC+1) on Sunday 28 March 2027 at 01:00 UTC; Sydney leaves
summer time (AEDT, UTC+11, back to AEST, UTC+10) on Sunday 4 April 2027 at 03:00 local. So for
three Mondays at 19:00 in Sydney the gap between the two cities is 11, 10 and then 9 hours."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from meetings import services
from meetings.models import Meeting
from tests.meetings.conftest import LONDON, SYDNEY, emails, utc

BOOKINGS = [
    # Mon 22 Mar: Sydney AEDT (+11), London GMT (+0). 19:00 - 11 h = 08:00 UTC = 08:00 London.
    pytest.param("2027-03-22", utc(2027, 3, 22, 8, 0), "22 March", "08:00-09:00", id="both-winter"),
    # Mon 29 Mar: London went to BST (+1) the day before, Sydney still AEDT (+11).
    # 19:00 - 11 h = 08:00 UTC; + 1 h = 09:00 London.
    pytest.param("2027-03-29", utc(2027, 3, 29, 8, 0), "29 March", "09:00-10:00", id="london-bst"),
    # Mon 5 Apr: Sydney went back to AEST (+10) the day before, London BST (+1).
    # 19:00 - 10 h = 09:00 UTC; + 1 h = 10:00 London.
    pytest.param("2027-04-05", utc(2027, 4, 5, 9, 0), "5 April", "10:00-11:00", id="sydney-aest"),
]


def book(client, pair, day: str, start: str = "19:00"):
    return client.post(
        reverse("meetings:schedule", args=[pair.pk]),
        {"day": day, "start": start, "duration": "60", "place": "https://meet.example.org/sia"},
    )


@pytest.mark.parametrize(("day", "stored", "date_label", "london_hours"), BOOKINGS)
def test_a_meeting_booked_from_sydney_shows_each_person_their_own_time(
    client, pair, day, stored, date_label, london_hours
):
    client.force_login(pair.mentee)
    response = book(client, pair, day)
    assert response.status_code == 302

    meeting = Meeting.objects.get(mentorship=pair)
    assert meeting.starts_at == stored
    sydney_label = f"Monday {date_label} 2027, 19:00-20:00 ({SYDNEY})"
    london_label = f"Monday {date_label} 2027, {london_hours} ({LONDON})"

    page = client.get(reverse("meetings:pair", args=[pair.pk])).content.decode()
    assert sydney_label in page
    assert london_label not in page
    assert sydney_label in client.get(reverse("home")).content.decode()  # the dashboard
    client.force_login(pair.mentor)
    page = client.get(reverse("meetings:pair", args=[pair.pk])).content.decode()
    assert london_label in page
    assert sydney_label not in page
    assert london_label in client.get(reverse("home")).content.decode()

    # The mentor is told, in London time, with an invitation in London time.
    [email] = emails("meetings/scheduled", pair.mentor)
    assert email.subject == f"Sia Sydney scheduled a meeting: {london_label}"
    assert london_label in email.body_text
    [attachment] = email.attachments
    assert attachment["filename"] == "meeting.ics"
    start, end = london_hours.replace(":", "").split("-")
    ymd = day.replace("-", "")
    invitation = attachment["content"]
    assert f"DTSTART;TZID={LONDON}:{ymd}T{start}00" in invitation
    assert f"DTEND;TZID={LONDON}:{ymd}T{end}00" in invitation
    assert f"BEGIN:VTIMEZONE\r\nTZID:{LONDON}" in invitation
    # Sia, who booked it, gets the same one invitation, in Sydney time.
    [own] = emails("meetings/scheduled", pair.mentee)
    assert own.subject == f"Your meeting with Leo London: {sydney_label}"
    [attachment] = own.attachments
    assert f"DTSTART;TZID={SYDNEY}:{ymd}T190000" in attachment["content"]

    # Each one's own .ics download is in their own zone.
    ics_url = reverse("meetings:ics", args=[pair.pk, meeting.pk])
    assert f"DTSTART;TZID={LONDON}:{ymd}T{start}00" in client.get(ics_url).content.decode()
    client.force_login(pair.mentee)
    mine = client.get(ics_url).content.decode()
    assert f"DTSTART;TZID={SYDNEY}:{ymd}T190000" in mine
    assert f"DTEND;TZID={SYDNEY}:{ymd}T200000" in mine

    # The reminders, too, are in each reader's own time.
    meeting.reminders.update(due_at=timezone.now() - timedelta(minutes=1))
    services.send_due_reminders()
    for person, label in ((pair.mentee, sydney_label), (pair.mentor, london_label)):
        texts = [e.body_text for e in emails("meetings/reminder", person)]
        assert len(texts) == 2 and all(label in text for text in texts)


def test_a_meeting_moved_across_both_changes_tells_london_the_new_london_time(client, pair):
    client.force_login(pair.mentee)
    book(client, pair, "2027-03-22")
    meeting = Meeting.objects.get(mentorship=pair)
    response = client.post(
        reverse("meetings:reschedule", args=[pair.pk, meeting.pk]),
        {"day": "2027-04-05", "start": "19:00", "duration": "60"},
    )
    assert response.status_code == 302
    meeting.refresh_from_db()
    # 19:00 AEST (+10) on 5 April = 09:00 UTC = 10:00 BST (+1).
    assert (meeting.starts_at, meeting.sequence) == (utc(2027, 4, 5, 9, 0), 1)
    assert meeting.place == "https://meet.example.org/sia"  # kept when none is given
    [email] = emails("meetings/rescheduled", pair.mentor)
    assert email.subject == f"Meeting moved to Monday 5 April 2027, 10:00-11:00 ({LONDON})"
    invitation = email.attachments[0]["content"]
    assert f"DTSTART;TZID={LONDON}:20270405T100000" in invitation
    assert "SEQUENCE:1" in invitation  # calendars replace the event they already have
    assert f"UID:meeting-{meeting.pk}@mentorship" in invitation


def test_the_london_time_moves_while_the_sydney_time_stays_across_both_changes(client, pair):
    client.force_login(pair.mentee)
    for day in ("2027-03-22", "2027-03-29", "2027-04-05"):
        assert book(client, pair, day).status_code == 302

    client.force_login(pair.mentor)
    page = client.get(reverse("meetings:pair", args=[pair.pk])).content.decode()
    london = [
        "Monday 22 March 2027, 08:00-09:00",
        "Monday 29 March 2027, 09:00-10:00",
        "Monday 5 April 2027, 10:00-11:00",
    ]
    positions = [page.index(f"{label} ({LONDON})") for label in london]
    assert positions == sorted(positions)
    subjects = [e.subject for e in emails("meetings/scheduled", pair.mentor)]
    assert subjects == [f"Sia Sydney scheduled a meeting: {label} ({LONDON})" for label in london]


def test_a_meeting_booked_from_london_lands_at_the_right_sydney_time(client, pair):
    client.force_login(pair.mentor)
    # Mon 29 Mar 09:00 BST (+1) = 08:00 UTC = 19:00 AEDT (+11) in Sydney.
    assert book(client, pair, "2027-03-29", start="09:00").status_code == 302
    assert Meeting.objects.get(mentorship=pair).starts_at == utc(2027, 3, 29, 8, 0)
    [email] = emails("meetings/scheduled", pair.mentee)
    assert f"Monday 29 March 2027, 19:00-20:00 ({SYDNEY})" in email.body_text
    assert f"DTSTART;TZID={SYDNEY}:20270329T190000" in email.attachments[0]["content"]


def test_a_time_the_clocks_skip_is_refused_rather_than_moved(client, pair):
    """On Sunday 28 March 2027 London's clocks jump from 01:00 to 02:00: 01:30 never happens."""
    client.force_login(pair.mentor)
    response = book(client, pair, "2027-03-28", start="01:30")
    assert response.status_code == 400
    assert "does not exist" in response.content.decode()
    assert not Meeting.objects.exists()
