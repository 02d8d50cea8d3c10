"""The pair's page is a workspace: the next meeting and its agenda first (or booking one), then the
action items as checkboxes, the plan, and the notes and timeline; its queries do not grow with
what the pair has done. (A closed pair's page offering nothing to change: test_closed_pair.py.)"""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from meetings import services
from meetings.models import ActionItem, AgendaItem, CheckIn, Milestone, Note
from meetings.selectors import pair_workspace
from tests.meetings.conftest import held_meeting


class Forms(HTMLParser):
    """The page's forms as a browser would post them: action, hidden fields, and each submit
    button's accessible name (its aria-label, else its text) and text."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._button: dict | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs)
        if tag == "form":
            self.forms.append({"action": found.get("action"), "data": {}, "buttons": []})
        elif tag == "input" and found.get("type") == "hidden" and self.forms:
            self.forms[-1]["data"][found["name"]] = found.get("value", "")
        elif tag == "button" and self.forms:
            self._button = {"label": found.get("aria-label"), "text": ""}
            self.forms[-1]["buttons"].append(self._button)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            self._button["text"] = " ".join(self._button["text"].split())
            self._button["label"] = self._button["label"] or self._button["text"]
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button["text"] += data


def page_of(client, pair) -> str:
    response = client.get(reverse("meetings:pair", args=[pair.pk]))
    assert response.status_code == 200
    return response.text


def form_for(page: str, action: str) -> dict:
    parser = Forms()
    parser.feed(page)
    [form] = [form for form in parser.forms if form["action"] == action]
    return form


def toggle_url(pair, item) -> str:
    return reverse("meetings:toggle-action", args=[pair.pk, item.pk])


def told(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# The order of the page.


def test_the_page_reads_next_meeting_then_action_items_then_the_plan_then_notes_and_timeline(
    client, pair
):
    held = held_meeting(pair)
    Note.objects.create(meeting=held, author=pair.mentee, text="We practised the pitch")
    upcoming = services.schedule(
        pair, pair.mentee, starts_at=timezone.now() + timedelta(days=3), duration=60, place=""
    )
    AgendaItem.objects.create(meeting=upcoming, author=pair.mentee, text="Salary bands")
    ActionItem.objects.create(mentorship=pair, owner=pair.mentee, text="Draft the CV")
    Milestone.objects.create(mentorship=pair, goal=pair.goals.first(), title="Mock interview")
    client.force_login(pair.mentee)
    page = page_of(client, pair)

    marks = [
        f'id="meeting-{upcoming.pk}"',
        "Salary bands",
        'id="actions"',
        "Draft the CV",
        'id="plan"',
        "Mock interview",
        'id="notes"',
        "We practised the pitch",
        'id="timeline-heading"',
    ]
    positions = [page.index(mark) for mark in marks]
    assert positions == sorted(positions), marks
    # With a meeting planned, booking another folds away beneath it.
    assert page.index("Plan another meeting") > page.index("Salary bands")
    assert '<details class="meeting" open>' not in page


def test_with_nothing_planned_booking_a_meeting_comes_first_and_is_open(client, pair):
    ActionItem.objects.create(mentorship=pair, owner=pair.mentee, text="Draft the CV")
    client.force_login(pair.mentee)
    page = page_of(client, pair)
    assert page.index("No meeting planned.") < page.index('id="schedule"') < page.index("Draft")
    assert '<details class="meeting" open>' in page and "Plan a meeting" in page


def test_a_milestone_row_starts_with_its_title_and_then_its_status(client, pair):
    step = Milestone.objects.create(
        mentorship=pair, goal=pair.goals.first(), title="Mock interview"
    )
    client.force_login(pair.mentor)
    page = page_of(client, pair)
    row = page[page.index(f'id="milestone-row-{step.pk}"') :]
    assert row.index("Mock interview") < row.index('name="status"')
    form = form_for(page, reverse("meetings:milestone-status", args=[pair.pk, step.pk]))
    assert form["buttons"] == [{"label": "Save the status of “Mock interview”", "text": "Save"}]


# Action items as checkboxes.


def test_action_items_are_checkbox_buttons_labelled_with_their_text(client, pair):
    todo = ActionItem.objects.create(mentorship=pair, owner=pair.mentee, text="Draft the CV")
    done = ActionItem.objects.create(
        mentorship=pair, owner=pair.mentor, text="Send the article", done=True
    )
    client.force_login(pair.mentee)
    page = page_of(client, pair)

    box = form_for(page, toggle_url(pair, todo))
    assert box["data"]["done"] == "1"
    assert box["buttons"] == [{"label": "Mark “Draft the CV” done", "text": "☐ Draft the CV"}]
    ticked = form_for(page, toggle_url(pair, done))
    assert ticked["data"]["done"] == "0"
    assert ticked["buttons"] == [
        {"label": "Reopen “Send the article”", "text": "☑ Send the article"}
    ]
    # The item's text is the control: no "Done" button in front of it that reads as a status.
    assert ">Done</button>" not in page


def test_ticking_an_action_item_as_the_page_posts_it_marks_it_done_and_unticking_reopens_it(
    client, pair
):
    item = ActionItem.objects.create(mentorship=pair, owner=pair.mentee, text="Draft the CV")
    client.force_login(pair.mentee)
    box = form_for(page_of(client, pair), toggle_url(pair, item))

    response = client.post(box["action"], box["data"])
    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:pair", args=[pair.pk]) + "#actions"
    item.refresh_from_db()
    assert item.done and item.done_at is not None
    page = page_of(client, pair)
    assert "Done: Draft the CV" in page  # on the timeline

    # The same tick again, from a page left open in another tab, does not undo it.
    client.post(box["action"], box["data"])
    item.refresh_from_db()
    assert item.done

    untick = form_for(page, toggle_url(pair, item))
    client.post(untick["action"], untick["data"])
    item.refresh_from_db()
    assert not item.done and item.done_at is None


def test_a_toggle_that_does_not_say_done_or_not_changes_nothing(client, pair):
    item = ActionItem.objects.create(mentorship=pair, owner=pair.mentee, text="Draft the CV")
    client.force_login(pair.mentee)
    for data in ({}, {"done": "yes"}):
        response = client.post(toggle_url(pair, item), data)
        assert response.status_code == 302
        assert told(response)[-1] == "Say whether the action item is done."
    item.refresh_from_db()
    assert not item.done


def test_an_outsider_cannot_tick_a_pairs_action_item(client, pair, outsider):
    item = ActionItem.objects.create(mentorship=pair, owner=pair.mentee, text="Draft the CV")
    client.force_login(outsider)
    assert client.post(toggle_url(pair, item), {"done": "1"}).status_code == 404
    item.refresh_from_db()
    assert not item.done


# What the page reads, and how much.


def furnish(pair, numbers: range) -> None:
    """One more of everything for each number: a meeting held with agenda, notes and a check-in,
    one to come with an agenda item, an open and a done action item, and milestones."""
    for i in numbers:
        held = held_meeting(pair, days_ago=10 + i)
        AgendaItem.objects.create(meeting=held, author=pair.mentee, text=f"Held topic {i}")
        Note.objects.create(meeting=held, author=pair.mentee, text=f"Shared note {i}")
        Note.objects.create(meeting=held, author=pair.mentor, text=f"Own {i}", private=True)
        CheckIn.objects.create(meeting=held, author=pair.mentee, rating=4, apply=f"Apply {i}")
        ahead = services.schedule(
            pair,
            pair.mentor,
            starts_at=timezone.now() + timedelta(days=30 + i),
            duration=60,
            place="",
        )
        AgendaItem.objects.create(meeting=ahead, author=pair.mentor, text=f"Next topic {i}")
        ActionItem.objects.create(mentorship=pair, owner=pair.mentee, text=f"Open {i}")
        ActionItem.objects.create(
            mentorship=pair,
            owner=pair.mentor,
            text=f"Closed {i}",
            done=True,
            done_at=timezone.now(),
        )
        for goal in pair.goals.all():
            Milestone.objects.create(mentorship=pair, goal=goal, title=f"Step {i} of {goal.pk}")


def queries(client, pair) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        page = page_of(client, pair)
    return len(captured), page


@pytest.mark.parametrize("who", ["mentee", "mentor"])
def test_the_pair_pages_queries_do_not_grow_with_meetings_notes_and_actions(client, pair, who):
    client.force_login(getattr(pair, who))
    furnish(pair, range(1))
    page_of(client, pair)  # warm: the session, the content types
    few, _ = queries(client, pair)
    furnish(pair, range(1, 5))
    many, page = queries(client, pair)
    assert many == few
    assert page.count("Next topic") == 5 and page.count("Shared note") == 5
    assert page.count('aria-label="Mark “Open') == 5
    assert page.count('aria-label="Reopen “Closed') == 5


def test_the_workspace_shows_each_reader_their_own_private_notes_and_check_in_only(pair):
    furnish(pair, range(1))
    [shared, private] = Note.objects.order_by("pk")
    mentee = pair_workspace(pair=pair, viewer=pair.mentee, member=True)
    mentor = pair_workspace(pair=pair, viewer=pair.mentor, member=True)
    [held] = mentee.past
    assert held.notes == [shared] and held.my_checkin is not None and held.first_held
    assert mentor.past[0].notes == [shared, private] and mentor.past[0].my_checkin is None
    assert [g.progress for g in mentee.goals] == [0, 0]
    assert [r.item.text for r in mentee.open_actions] == ["Open 0"]
    assert mentee.next_meeting is not None and mentee.next_meeting.agenda[0].text == "Next topic 0"
