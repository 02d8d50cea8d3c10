"""A pair's journey: nudges, the weekly digest and one-click unsubscribe; check-ins and "is this
a good fit?"; closing with a thank-you; and who may read or change the pair's space: the two
people (Sia the mentee, Leo the mentor), their cohort's admin (Ada, read-only) and an outsider
(Otto, nothing)."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from cohorts.models import Cohort, Placement
from matching.models import Mentorship
from meetings import services
from meetings.models import (
    ActionItem,
    AgendaItem,
    CheckIn,
    Closure,
    EmailPreference,
    Meeting,
    Milestone,
    Note,
    Reminder,
)
from profiles.models import Goal
from tests.conftest import make_person
from tests.meetings.conftest import emails, held_meeting, make_pair


def told(response) -> str:
    """The message the request left for the next page (earlier unread ones come first)."""
    return [str(message) for message in get_messages(response.wsgi_request)][-1]


def unsubscribe_path(email) -> str:
    [url] = re.findall(r"https?://\S+/email/unsubscribe/\S+/", email.body_text)
    return urlsplit(url).path


def in_days(days: int):
    return timezone.now().replace(second=0, microsecond=0) + timedelta(days=days)


@pytest.fixture
def quiet_pair(pair):
    """Sia and Leo started 22 days ago and have not met since."""
    Mentorship.objects.filter(pk=pair.pk).update(started_at=timezone.now() - timedelta(days=22))
    pair.refresh_from_db()
    return pair


# Nudges, the digest, unsubscribing.


def test_a_quiet_pair_is_nudged_once_per_21_day_period(quiet_pair):
    now = timezone.now()
    assert services.nudge_quiet_pairs(now) == 1
    assert services.nudge_quiet_pairs(now) == 0
    assert services.nudge_quiet_pairs(now + timedelta(days=5)) == 0  # the same period
    assert emails("meetings/nudge", quiet_pair.mentee).count() == 1
    assert emails("meetings/nudge", quiet_pair.mentor).count() == 1
    [nudge] = emails("meetings/nudge", quiet_pair.mentor)
    assert nudge.subject == "Time to meet Sia Sydney again?"

    # 22 + 21 days after the start the next period begins: one more nudge.
    assert services.nudge_quiet_pairs(now + timedelta(days=21)) == 1
    assert services.nudge_quiet_pairs(now + timedelta(days=21)) == 0
    assert emails("meetings/nudge").count() == 4


def test_a_pair_with_a_meeting_planned_or_closed_is_not_nudged(quiet_pair):
    meeting = services.schedule(
        quiet_pair, quiet_pair.mentee, starts_at=in_days(3), duration=60, place=""
    )
    assert services.nudge_quiet_pairs() == 0
    services.cancel(meeting, quiet_pair.mentee)
    services.close(quiet_pair, quiet_pair.mentor, outcome="completed", achieved=[])
    assert services.nudge_quiet_pairs() == 0
    assert not emails("meetings/nudge").exists()


def test_overdue_action_items_come_in_one_digest_a_week(pair):
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    ActionItem.objects.create(
        mentorship=pair, owner=pair.mentee, text="Draft the pitch", due_on=monday - timedelta(3)
    )
    ActionItem.objects.create(
        mentorship=pair, owner=pair.mentee, text="Already done", due_on=monday, done=True
    )
    assert services.weekly_digest(monday + timedelta(days=1)) == 1
    assert services.weekly_digest(monday + timedelta(days=1)) == 0
    assert services.weekly_digest(monday + timedelta(days=6)) == 0  # the same week
    [digest] = emails("meetings/digest")
    assert digest.to == [pair.mentee.email]
    assert "- Draft the pitch (due" in digest.body_text and "with Leo London" in digest.body_text
    assert "Already done" not in digest.body_text

    assert services.weekly_digest(monday + timedelta(days=7)) == 1  # the next week
    assert emails("meetings/digest").count() == 2


def test_the_unsubscribe_link_works_in_one_click_without_signing_in_and_can_be_undone(
    client, quiet_pair
):
    now = timezone.now()
    services.nudge_quiet_pairs(now)
    [nudge] = emails("meetings/nudge", quiet_pair.mentee)
    path = unsubscribe_path(nudge)

    response = client.get(path)  # no one is signed in; a link scanner's GET changes nothing
    assert response.status_code == 200
    assert "Unsubscribe?" in response.text
    assert services.wants(quiet_pair.mentee, EmailPreference.Kind.NUDGES)
    response = client.post(path, {"List-Unsubscribe": "One-Click"})  # RFC 8058's one click
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert not services.wants(quiet_pair.mentee, EmailPreference.Kind.NUDGES)
    assert services.wants(quiet_pair.mentee, EmailPreference.Kind.REMINDERS)
    assert services.wants(quiet_pair.mentor, EmailPreference.Kind.NUDGES)

    # The next period's nudge reaches only Leo.
    services.nudge_quiet_pairs(now + timedelta(days=21))
    assert emails("meetings/nudge", quiet_pair.mentee).count() == 1
    assert emails("meetings/nudge", quiet_pair.mentor).count() == 2

    response = client.post(path, {"undo": "1"})
    assert response.status_code == 200
    assert "You are subscribed again" in response.content.decode()
    assert services.wants(quiet_pair.mentee, EmailPreference.Kind.NUDGES)
    services.nudge_quiet_pairs(now + timedelta(days=42))
    assert emails("meetings/nudge", quiet_pair.mentee).count() == 2


def test_the_digest_unsubscribe_link_stops_the_digest(client, pair):
    today = timezone.localdate()
    ActionItem.objects.create(
        mentorship=pair, owner=pair.mentor, text="Send the article", due_on=today - timedelta(9)
    )
    services.weekly_digest(today)
    [digest] = emails("meetings/digest")
    assert client.post(unsubscribe_path(digest)).status_code == 200
    assert services.weekly_digest(today + timedelta(days=7)) == 1  # the week is counted ...
    assert emails("meetings/digest").count() == 1  # ... but nothing is sent


def test_the_preferences_page_switches_kinds_off_and_on(client, pair):
    client.force_login(pair.mentor)
    url = reverse("meetings:preferences")
    response = client.post(url, {"reminders": "on", "digest": "on"})
    assert response.status_code == 302
    assert [services.wants(pair.mentor, kind) for kind in ("reminders", "nudges", "digest")] == [
        True,
        False,
        True,
    ]
    page = client.get(url).content.decode()
    assert 'name="nudges">' in page and 'name="reminders" checked>' in page
    client.post(url, {"nudges": "on"})
    assert [services.wants(pair.mentor, kind) for kind in ("reminders", "nudges", "digest")] == [
        False,
        True,
        False,
    ]
    assert services.wants(pair.mentee, "reminders")  # only the signed-in person's own


def test_a_forged_or_truncated_unsubscribe_link_changes_nothing(client, quiet_pair):
    services.nudge_quiet_pairs()
    path = unsubscribe_path(emails("meetings/nudge", quiet_pair.mentee).get())
    for bad in (path[:-6] + "/", reverse("meetings:unsubscribe", args=["forged"])):
        response = client.get(bad)
        assert response.status_code == 404
        assert "This link does not work" in response.content.decode()
    assert not EmailPreference.objects.exists()


# Check-ins and "is this a good fit?".


def check_in(client, pair, meeting, **data):
    return client.post(reverse("meetings:check-in", args=[pair.pk, meeting.pk]), data)


def test_each_person_checks_in_once_per_meeting(client, pair):
    meeting = held_meeting(pair)
    client.force_login(pair.mentee)
    response = check_in(client, pair, meeting, rating="4", apply="Ask for the range first")
    assert response.status_code == 302
    assert told(response) == "Thanks for checking in."

    response = check_in(client, pair, meeting, rating="1", apply="Changed my mind")
    assert told(response) == "You have already checked in for this meeting."
    [mine] = CheckIn.objects.filter(meeting=meeting, author=pair.mentee)
    assert (mine.rating, mine.apply) == (4, "Ask for the range first")

    client.force_login(pair.mentor)
    assert (
        told(check_in(client, pair, meeting, rating="5", apply="More examples"))
        == "Thanks for checking in."
    )
    assert CheckIn.objects.filter(meeting=meeting).count() == 2
    page = client.get(reverse("meetings:pair", args=[pair.pk])).content.decode()
    assert "You checked in: 5/5" in page


@pytest.mark.parametrize("rating", ["0", "6", "-1", "four", ""])
def test_a_rating_outside_1_to_5_is_refused(client, pair, rating):
    meeting = held_meeting(pair)
    client.force_login(pair.mentee)
    response = check_in(client, pair, meeting, rating=rating, apply="Something")
    assert told(response) == "Give a rating from 1 to 5 and say what you will apply."
    assert not CheckIn.objects.exists()


def test_a_meeting_that_has_not_taken_place_cannot_be_checked_in(client, pair):
    meeting = services.schedule(pair, pair.mentor, starts_at=in_days(2), duration=60, place="")
    client.force_login(pair.mentee)
    response = check_in(client, pair, meeting, rating="5", apply="Everything", good_fit="no")
    assert told(response) == "You can check in once the meeting has taken place."
    assert not CheckIn.objects.exists()
    assert Mentorship.objects.get(pk=pair.pk).status == "active"


def test_a_mentee_who_says_it_is_not_a_good_fit_closes_the_pair_and_is_sent_to_find_another(
    client, pair
):
    meeting = held_meeting(pair)
    future = services.schedule(pair, pair.mentor, starts_at=in_days(5), duration=60, place="")
    client.force_login(pair.mentee)
    page = client.get(reverse("meetings:pair", args=[pair.pk])).content.decode()
    assert "Is this a good fit?" in page

    response = check_in(client, pair, meeting, rating="2", apply="Not much", good_fit="no")
    assert response.status_code == 302
    assert response["Location"] == reverse("matching:find")
    pair.refresh_from_db()
    assert pair.status == "closed"
    assert pair.closure.outcome == Closure.Outcome.NOT_A_FIT
    assert pair.closure.closed_by == pair.mentee
    assert Meeting.objects.get(pk=future.pk).status == "cancelled"
    [closed] = emails("meetings/closed", pair.mentor)
    assert closed.subject == "Sia Sydney closed your mentorship"
    assert set(pair.mentee.goals.values_list("status", flat=True)) == {Goal.Status.OPEN}


def test_a_not_a_fit_answer_after_the_pair_was_closed_does_not_fail(client, pair):
    meeting = held_meeting(pair)
    services.close(pair, pair.mentor, outcome="other", achieved=[])
    client.force_login(pair.mentee)
    response = check_in(client, pair, meeting, rating="3", apply="Some", good_fit="no")
    assert response.status_code == 302
    assert Closure.objects.get(mentorship=pair).closed_by == pair.mentor


def test_a_mentor_who_says_no_does_not_close_the_pair(client, pair):
    meeting = held_meeting(pair)
    client.force_login(pair.mentor)
    response = check_in(client, pair, meeting, rating="3", apply="Listen more", good_fit="no")
    assert response["Location"].startswith(reverse("meetings:pair", args=[pair.pk]))
    assert Mentorship.objects.get(pk=pair.pk).status == "active"
    assert CheckIn.objects.get().good_fit is False


# Closing.


def test_closing_with_a_thank_you_shows_it_on_the_mentors_profile_and_record_until_hidden(
    client, pair, outsider
):
    held_meeting(pair, minutes=90)
    achieved, other_goal = pair.goals.order_by("pk")
    client.force_login(pair.mentee)
    assert client.get(reverse("meetings:close", args=[pair.pk])).status_code == 200
    response = client.post(
        reverse("meetings:close", args=[pair.pk]),
        {
            "outcome": "completed",
            "achieved": [achieved.pk],
            "feedback": "Great programme",
            "thank_you": "Leo, you changed how I negotiate.",
        },
    )
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == "closed" and pair.ended_at is not None
    assert Goal.objects.get(pk=achieved.pk).status == Goal.Status.ACHIEVED
    assert Goal.objects.get(pk=other_goal.pk).status == Goal.Status.OPEN
    [closed] = emails("meetings/closed", pair.mentor)
    assert "Leo, you changed how I negotiate." in closed.body_text

    profile_url = reverse("profiles:person", args=[pair.mentor.pk])
    client.force_login(outsider)
    assert "Leo, you changed how I negotiate." in client.get(profile_url).content.decode()

    client.force_login(pair.mentor)
    record = client.get(reverse("meetings:impact")).content.decode()
    assert "Leo, you changed how I negotiate." in record
    impact = services.impact(pair.mentor)
    assert (impact["mentees"], impact["meetings"], impact["hours"]) == (1, 1, 1.5)
    assert (impact["goals_achieved"], impact["active"]) == (1, 0)

    response = client.post(reverse("meetings:thank-you", args=[pair.pk]), {"show": "0"})
    assert told(response) == "Hidden."
    assert "Leo, you changed how I negotiate." not in client.get(profile_url).content.decode()
    # The record is the mentor's own: it keeps the note.
    assert (
        "Leo, you changed how I negotiate."
        in client.get(reverse("meetings:impact")).content.decode()
    )

    client.post(reverse("meetings:thank-you", args=[pair.pk]), {"show": "1"})
    assert "Leo, you changed how I negotiate." in client.get(profile_url).content.decode()


def test_only_the_mentor_may_hide_the_thank_you(client, pair):
    services.close(pair, pair.mentee, outcome="completed", achieved=[], thank_you="Thanks!")
    client.force_login(pair.mentee)
    response = client.post(reverse("meetings:thank-you", args=[pair.pk]), {"show": "0"})
    assert response.status_code == 404
    assert Closure.objects.get().show_thank_you is True


def test_a_mentor_closing_writes_no_thank_you_and_a_closed_pair_cannot_be_closed_again(
    client, pair
):
    client.force_login(pair.mentor)
    form = client.get(reverse("meetings:close", args=[pair.pk])).content.decode()
    assert 'name="thank_you"' not in form
    client.post(
        reverse("meetings:close", args=[pair.pk]),
        {"outcome": "partial", "thank_you": "Sneaky note"},
    )
    assert Closure.objects.get().thank_you == ""
    response = client.post(reverse("meetings:close", args=[pair.pk]), {"outcome": "other"})
    assert told(response) == "This mentorship is already closed."
    assert Closure.objects.count() == 1


def test_closing_cancels_future_meetings_and_their_pending_reminders(client, pair):
    held = held_meeting(pair)
    planned = [
        services.schedule(pair, pair.mentee, starts_at=in_days(d), duration=60, place="")
        for d in (3, 10)
    ]
    assert Reminder.objects.filter(status="pending").count() == 4
    client.force_login(pair.mentee)
    client.post(reverse("meetings:close", args=[pair.pk]), {"outcome": "other"})

    assert Meeting.objects.get(pk=held.pk).status == "scheduled"  # what happened stays
    assert {Meeting.objects.get(pk=m.pk).status for m in planned} == {"cancelled"}
    assert set(Reminder.objects.values_list("status", flat=True)) == {"cancelled"}
    Reminder.objects.update(due_at=timezone.now() - timedelta(minutes=1))
    assert services.send_due_reminders() == 0
    assert not emails("meetings/reminder").exists()


def test_a_closed_pair_can_neither_book_nor_move_a_meeting(client, pair):
    held = held_meeting(pair)
    services.close(pair, pair.mentee, outcome="completed", achieved=[])
    client.force_login(pair.mentee)
    day = in_days(4).date().isoformat()
    closed = "This mentorship is closed: its page is a read-only record now."
    response = client.post(
        reverse("meetings:schedule", args=[pair.pk]),
        {"day": day, "start": "19:00", "duration": "60"},
    )
    assert response.status_code == 403 and closed in response.text
    response = client.post(
        reverse("meetings:reschedule", args=[pair.pk, held.pk]),
        {"day": day, "start": "19:00", "duration": "60"},
    )
    assert response.status_code == 403 and closed in response.text
    assert Meeting.objects.get().starts_at == held.starts_at
    assert not Reminder.objects.exists()
    assert not emails("meetings/rescheduled").exists()


# Who may read and change the pair's space.


@pytest.fixture
def admin(pair):
    """Ada runs the cohort the pair came from."""
    ada = make_person("ada@example.org", name="Ada Admin")
    cohort = Cohort.objects.create(name="Spring 2027", slug="spring-2027")
    cohort.admins.add(ada)
    Placement.objects.create(cohort=cohort, mentorship=pair)
    return ada


@pytest.fixture
def furnished(pair):
    """The pair's space with one of everything in it."""
    held = held_meeting(pair)
    Note.objects.create(meeting=held, author=pair.mentee, text="Shared: practise the pitch")
    Note.objects.create(
        meeting=held, author=pair.mentor, text="Private: she undersells herself", private=True
    )
    AgendaItem.objects.create(meeting=held, author=pair.mentee, text="Salary bands")
    upcoming = services.schedule(pair, pair.mentee, starts_at=in_days(6), duration=60, place="")
    goal = pair.goals.first()
    return {
        "held": held,
        "upcoming": upcoming,
        "goal": goal,
        "milestone": Milestone.objects.create(mentorship=pair, goal=goal, title="Mock interview"),
        "action": ActionItem.objects.create(mentorship=pair, owner=pair.mentee, text="Research"),
    }


def post_urls(pair, things) -> list[str]:
    meeting = things["upcoming"].pk
    held = things["held"].pk
    return [
        reverse("meetings:schedule", args=[pair.pk]),
        reverse("meetings:add-action", args=[pair.pk]),
        reverse("meetings:toggle-action", args=[pair.pk, things["action"].pk]),
        reverse("meetings:add-milestone", args=[pair.pk, things["goal"].pk]),
        reverse("meetings:milestone-status", args=[pair.pk, things["milestone"].pk]),
        reverse("meetings:close", args=[pair.pk]),
        reverse("meetings:thank-you", args=[pair.pk]),
        reverse("meetings:reschedule", args=[pair.pk, meeting]),
        reverse("meetings:cancel", args=[pair.pk, meeting]),
        reverse("meetings:add-agenda", args=[pair.pk, meeting]),
        reverse("meetings:add-note", args=[pair.pk, held]),
        reverse("meetings:check-in", args=[pair.pk, held]),
    ]


POST_DATA = {
    "day": "2027-01-11",
    "start": "10:00",
    "duration": "60",
    "text": "Sneaky",
    "title": "Sneaky",
    "status": "done",
    "outcome": "other",
    "show": "0",
    "rating": "5",
    "apply": "Sneaky",
    "good_fit": "no",
}


def snapshot(pair) -> tuple:
    return (
        Mentorship.objects.get(pk=pair.pk).status,
        list(Meeting.objects.order_by("pk").values_list("starts_at", "status")),
        AgendaItem.objects.count(),
        Note.objects.count(),
        list(ActionItem.objects.values_list("done", flat=True)),
        list(Milestone.objects.values_list("status", flat=True)),
        CheckIn.objects.count(),
        Closure.objects.count(),
    )


def test_a_cohort_admin_reads_the_pair_page_without_forms_or_private_notes(
    client, pair, admin, furnished
):
    client.force_login(admin)
    response = client.get(reverse("meetings:pair", args=[pair.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Leo London mentors Sia Sydney" in page
    assert "you are viewing as a cohort admin (read-only)" in page
    assert "Shared: practise the pitch" in page and "Salary bands" in page
    assert "Private: she undersells herself" not in page
    assert page.count("<form") == 1  # signing out, in the header
    assert 'action="/pairs/' not in page
    assert "meeting.ics" not in page

    assert (
        client.get(reverse("meetings:ics", args=[pair.pk, furnished["upcoming"].pk])).status_code
        == 404
    )
    assert client.get(reverse("meetings:close", args=[pair.pk])).status_code == 404


def test_a_cohort_admin_changes_nothing_every_post_is_404(client, pair, admin, furnished):
    before = snapshot(pair)
    client.force_login(admin)
    for url in post_urls(pair, furnished):
        assert client.post(url, POST_DATA).status_code == 404, url
    assert snapshot(pair) == before


def test_an_admin_of_another_cohort_and_an_outsider_get_404_everywhere(
    client, pair, furnished, outsider
):
    other_admin = make_person("olga@example.org", name="Olga Otheradmin")
    Cohort.objects.create(name="Autumn", slug="autumn").admins.add(other_admin)
    before = snapshot(pair)
    for person in (outsider, other_admin):
        client.force_login(person)
        assert client.get(reverse("meetings:pair", args=[pair.pk])).status_code == 404
        for url in post_urls(pair, furnished):
            assert client.post(url, POST_DATA).status_code == 404, (person, url)
    assert snapshot(pair) == before


def test_private_notes_are_seen_by_their_author_only(client, pair, furnished):
    client.force_login(pair.mentor)
    page = client.get(reverse("meetings:pair", args=[pair.pk])).content.decode()
    assert "Private: she undersells herself" in page and "private, only you see it" in page
    client.force_login(pair.mentee)
    page = client.get(reverse("meetings:pair", args=[pair.pk])).content.decode()
    assert "Shared: practise the pitch" in page
    assert "Private: she undersells herself" not in page
    assert list(services.visible_notes(furnished["held"], pair.mentee)) == list(
        Note.objects.filter(private=False)
    )


def test_members_add_notes_agenda_items_and_actions_for_their_own_pair_only(client, pair):
    held = held_meeting(pair)
    client.force_login(pair.mentee)
    client.post(
        reverse("meetings:add-note", args=[pair.pk, held.pk]), {"text": "Mine", "private": "on"}
    )
    client.post(reverse("meetings:add-agenda", args=[pair.pk, held.pk]), {"text": "Topic"})
    client.post(
        reverse("meetings:add-action", args=[pair.pk]),
        {"text": "Leo sends examples", "owner": str(pair.mentor.pk), "due_on": "2027-01-04"},
    )
    assert Note.objects.get().private is True
    assert AgendaItem.objects.get().text == "Topic"
    assert ActionItem.objects.get().owner == pair.mentor

    outsider = make_person("owen@example.org", name="Owen Outside")
    for owner in (str(outsider.pk), "not-a-number"):
        response = client.post(
            reverse("meetings:add-action", args=[pair.pk]), {"text": "X", "owner": owner}
        )
        assert response.status_code == 404
    assert ActionItem.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # as in production: autocommit, no request transaction
def test_an_action_item_with_an_impossible_due_date_is_refused(client):
    pair = make_pair()
    client.force_login(pair.mentee)
    url = reverse("meetings:add-action", args=[pair.pk])
    response = client.post(url, {"text": "Send the CV", "due_on": "2027-02-30"})
    assert told(response) == "The due date is not a date."
    assert not ActionItem.objects.exists()
    response = client.post(url, {"text": "", "due_on": "2027-02-03"})
    assert told(response) == "Write what is to be done."
    assert not ActionItem.objects.exists()
