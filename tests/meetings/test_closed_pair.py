"""A closed pair's page is a read-only record: nothing on it changes any more, and it offers
nothing to change."""

from __future__ import annotations

import pytest
from django.urls import reverse

from matching import actions
from meetings.models import ActionItem, AgendaItem, Meeting, Note
from tests.meetings.conftest import held_meeting

CLOSED = "This mentorship is closed: its page is a read-only record now."


@pytest.fixture
def closed(pair):
    meeting = held_meeting(pair)
    item = ActionItem.objects.create(mentorship=pair, owner=pair.mentee, text="Draft the CV")
    actions.end_mentorship(mentorship=pair, by=pair.mentor, reason="We met our goals.")
    return pair, meeting, item


@pytest.mark.parametrize(
    ("name", "args", "data"),
    [
        ("meetings:add-note", lambda p, m, i: [p.pk, m.pk], {"text": "One more thought"}),
        ("meetings:add-agenda", lambda p, m, i: [p.pk, m.pk], {"text": "Salary bands"}),
        ("meetings:add-action", lambda p, m, i: [p.pk], {"text": "Call Ana"}),
        ("meetings:toggle-action", lambda p, m, i: [p.pk, i.pk], {}),
        ("meetings:schedule", lambda p, m, i: [p.pk], {"day": "2027-01-04", "start": "18:00"}),
    ],
    ids=["note", "agenda", "action", "toggle", "schedule"],
)
def test_nothing_changes_on_a_closed_pair(client, closed, name, args, data):
    pair, meeting, item = closed
    client.force_login(pair.mentee)
    before = (Note.objects.count(), AgendaItem.objects.count(), ActionItem.objects.count())
    response = client.post(reverse(name, args=args(pair, meeting, item)), data)
    assert response.status_code == 403
    assert CLOSED in response.text
    assert (Note.objects.count(), AgendaItem.objects.count(), ActionItem.objects.count()) == before
    item.refresh_from_db()
    assert not item.done and Meeting.objects.count() == 1


def test_a_closed_pairs_page_offers_nothing_to_change(client, closed):
    pair, *_ = closed
    client.force_login(pair.mentor)
    page = client.get(reverse("meetings:pair", args=[pair.pk])).text
    assert "Draft the CV" in page  # the record is all there
    for control in ("Save the note", "Add to the agenda", "Book", 'name="text"'):
        assert control not in page, control


def test_a_past_date_is_refused_beside_the_date_and_what_was_typed_stays(client, pair):
    client.force_login(pair.mentee)
    response = client.post(
        reverse("meetings:schedule", args=[pair.pk]),
        {"day": "2020-01-06", "start": "18:30", "duration": "45", "place": "Room 4"},
    )
    assert response.status_code == 400
    form = response.context["schedule_form"]
    assert form.errors["day"] == ["Choose a time in the future."]
    page = response.text
    assert 'value="2020-01-06"' in page and 'value="18:30"' in page and 'value="Room 4"' in page
    assert not Meeting.objects.exists()


def test_when_the_mentor_closes_the_mentee_reflects_too_once(client, pair):
    from meetings import services
    from meetings.models import Closure
    from tests.meetings.conftest import emails

    services.close(pair, pair.mentor, outcome="partial", achieved=[], feedback="Good start")
    (told,) = emails("meetings/closed", pair.mentee)
    url = reverse("meetings:reflect", args=[pair.pk])
    pair_url = reverse("meetings:pair", args=[pair.pk])
    assert url in told.body_text
    client.force_login(pair.mentee)
    assert "Share how it went for you" in client.get(pair_url).text
    response = client.post(
        url, {"outcome": "completed", "feedback": "I got the job", "thank_you": "Thank you, Leo!"}
    )
    assert response.status_code == 302
    closure = Closure.objects.get(mentorship=pair)
    assert (closure.outcome, closure.feedback) == ("partial", "Good start")  # the mentor's
    assert (closure.other_outcome, closure.other_feedback) == ("completed", "I got the job")
    assert closure.thank_you == "Thank you, Leo!"
    # Once: a second reflection changes nothing, and the page no longer offers it.
    client.post(url, {"outcome": "not_a_fit", "feedback": "Changed my mind"})
    closure.refresh_from_db()
    assert closure.other_outcome == "completed"
    assert "Share how it went for you" not in client.get(pair_url).text
    # The one who closed has nothing more to reflect on.
    client.force_login(pair.mentor)
    assert client.get(url).status_code == 302
    assert "Share how it went for you" not in client.get(pair_url).text


def test_a_refused_move_keeps_what_was_typed_beside_its_error(client, pair):
    from datetime import timedelta

    from django.utils import timezone

    from meetings import services

    meeting = services.schedule(
        pair, pair.mentee, starts_at=timezone.now() + timedelta(days=3), duration=60, place=""
    )
    client.force_login(pair.mentor)
    response = client.post(
        reverse("meetings:reschedule", args=[pair.pk, meeting.pk]),
        {"day": "2020-01-06", "start": "18:30", "duration": "60"},
    )
    assert response.status_code == 400
    page = response.text
    assert f'id="move-day-{meeting.pk}-error">Choose a time in the future.' in page
    assert 'value="2020-01-06"' in page and 'value="18:30"' in page
    assert "<details open><summary>Move or cancel" in page
    meeting.refresh_from_db()
    assert meeting.starts_at > timezone.now()
