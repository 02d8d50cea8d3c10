"""Every time a person reads is in their own zone, and says so: Bea in Berlin and Tom in Toronto
read the same request and the same pages at their own local times (the meetings' own test is
tests/meetings/test_timezones.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from matching.models import MentorRequest
from profiles.models import Profile
from tests.matching.conftest import make_mentee, make_mentor, send

# 1 December 2026, 12:34 UTC: 13:34 in Berlin (CET, +1), 07:34 in Toronto (EST, -5).
SENT_AT = datetime(2026, 12, 1, 12, 34, tzinfo=UTC)


@pytest.fixture
def request_between_zones(db):
    bea = make_mentee("bea@example.org", "Bea Berlin", tz="Europe/Berlin")
    tom = make_mentor("tom@example.org", "Tom Toronto", tz="America/Toronto")
    item = send(bea, tom)
    MentorRequest.objects.filter(pk=item.pk).update(created_at=SENT_AT)
    return bea, tom, item


def test_the_same_request_reads_at_each_persons_own_time(client, request_between_zones):
    bea, tom, item = request_between_zones
    url = reverse("matching:request", args=[item.pk])
    client.force_login(bea)
    assert "Sent 1 Dec 2026, 13:34 CET" in client.get(url).text
    client.force_login(tom)
    assert "Sent 1 Dec 2026, 07:34 EST" in client.get(url).text


def test_another_persons_clock_is_theirs_and_mine_is_mine(client, request_between_zones):
    bea, tom, _ = request_between_zones
    client.force_login(bea)
    page = client.get(reverse("profiles:person", args=[tom.pk])).text
    now_in_toronto = timezone.now().astimezone(timezone.get_fixed_timezone(-5 * 60))
    assert f"America/Toronto · {now_in_toronto:%H:%M} there now" in page


def test_a_page_leaves_no_zone_active_for_the_next_request(client, request_between_zones):
    bea, _, _ = request_between_zones
    client.force_login(bea)
    client.get(reverse("matching:requests"))
    assert timezone.get_current_timezone_name() == "UTC"


def test_emails_are_written_in_the_recipients_time_zone(db, settings):
    from profiles.mail import render_email

    settings.EMAIL_KEEP_SENT_BODIES = True
    tom = make_mentor("tom@example.org", "Tom Toronto", tz="America/Toronto")
    bea = make_mentee("bea@example.org", "Bea Berlin", tz="Europe/Berlin")
    Profile.objects.filter(user=tom).update(timezone="America/Toronto")
    item = send(bea, tom)
    MentorRequest.objects.filter(pk=item.pk).update(created_at=SENT_AT)
    item.refresh_from_db()
    from django.template import engines

    template = engines["django"].from_string("{{ when|date:'H:i T' }}")
    for person, expected in ((tom, "07:34 EST"), (bea, "13:34 CET")):
        from profiles.mail import recipient_zone

        with timezone.override(recipient_zone([person.email])):
            assert template.render({"when": item.created_at}) == expected
    # And through the real renderer: the request-received email names no UTC time.
    message = render_email("matching/request_received", {"request": item}, to=[tom.email])
    assert "UTC" not in message.body
    assert mail.outbox == []


def test_the_same_meeting_reads_at_each_persons_own_time_in_pages_and_emails(client, db, settings):
    from django.db import transaction

    from meetings import services
    from tests.meetings.conftest import emails, make_pair

    settings.EMAIL_KEEP_SENT_BODIES = True
    # Bea (mentee) in Berlin books Tom (mentor) in Toronto for 10 December, 17:00 UTC.
    pair = make_pair(
        "bea@example.org", "tom@example.org", mentee_tz="Europe/Berlin", mentor_tz="America/Toronto"
    )
    with transaction.atomic():
        services.schedule(
            pair,
            pair.mentee,
            starts_at=datetime(2026, 12, 10, 17, tzinfo=UTC),
            duration=60,
            place="",
        )
    berlin, toronto = "18:00-19:00 (Europe/Berlin)", "12:00-13:00 (America/Toronto)"
    page = reverse("meetings:pair", args=[pair.pk])
    for person, mine, theirs in ((pair.mentee, berlin, toronto), (pair.mentor, toronto, berlin)):
        client.force_login(person)
        text = client.get(page).text
        assert mine in text and theirs not in text
        (email,) = emails("meetings/scheduled", person)
        assert mine in email.subject and mine in email.body_text and theirs not in email.body_text
