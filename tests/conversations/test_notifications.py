"""The feed: what puts a line in it, the badge in the navigation, reading one line or all, and the
page that lists them."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from conversations import actions
from conversations.models import Notification
from matching import actions as matching_actions
from matching import services as matching_services
from meetings import services as meetings
from meetings.models import Meeting, Reminder
from tests.meetings.conftest import make_pair

Kind = Notification.Kind


def kinds(user) -> list[str]:
    return list(
        Notification.objects.filter(user=user).order_by("pk").values_list("kind", flat=True)
    )


def test_a_request_and_its_answer_reach_each_persons_feed(request_, mentee, mentor):
    assert kinds(mentor) == [Kind.REQUEST_RECEIVED]
    line = Notification.objects.get(user=mentor)
    assert line.text == "Mina Mentee asks you to mentor them"
    assert line.url == reverse("matching:request", args=[request_.pk])

    matching_actions.accept_request(request_id=request_.pk, mentor=mentor)

    assert kinds(mentee) == [Kind.REQUEST_ANSWERED]
    assert Notification.objects.get(user=mentee).text == "Marco Mentor accepted your request"


def test_a_question_about_a_request_and_its_answer_are_in_the_feed(request_, mentee, mentor):
    matching_services.ask_for_information(request_.pk, mentor, "Which team are you in?")
    matching_services.answer_question(request_.pk, mentee, "Payments")

    assert kinds(mentee) == [Kind.REQUEST_ANSWERED]
    assert kinds(mentor) == [Kind.REQUEST_RECEIVED, Kind.REQUEST_RECEIVED]


def test_booking_moving_and_cancelling_a_meeting_tell_the_other_person_in_their_zone(db):
    pair = make_pair()
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)

    meeting = meetings.schedule(pair, pair.mentee, starts_at=start, duration=60, place="Video")
    meetings.reschedule(
        meeting, pair.mentee, starts_at=start + timedelta(hours=2), duration=60, place="Video"
    )
    meetings.cancel(meeting, pair.mentee)

    assert kinds(pair.mentor) == [Kind.MEETING_BOOKED, Kind.MEETING_MOVED, Kind.MEETING_CANCELLED]
    assert kinds(pair.mentee) == []  # the person who did it is not told of it
    moved = Notification.objects.get(user=pair.mentor, kind=Kind.MEETING_MOVED)
    meeting.refresh_from_db()
    assert moved.text == f"Sia Sydney moved a meeting: {meetings.when_label(meeting, pair.mentor)}"
    assert "(Europe/London)" in moved.text


def test_a_meeting_reminder_reaches_both_feeds_once(db):
    pair = make_pair()
    start = timezone.now() + timedelta(days=3)
    meeting = meetings.schedule(pair, pair.mentee, starts_at=start, duration=60, place="")
    Reminder.objects.filter(meeting=meeting).update(due_at=timezone.now() - timedelta(minutes=1))

    meetings.send_due_reminders()
    meetings.send_due_reminders()

    for person in (pair.mentee, pair.mentor):
        assert kinds(person).count(Kind.REMINDER) == 2  # the 24 h and the 1 h reminder rows
    assert Meeting.objects.count() == 1


def test_the_badge_counts_unread_lines_and_polls_for_them(client, request_, mentor):
    client.force_login(mentor)

    page = client.get(reverse("conversations:notifications")).content.decode()
    badge = client.get(reverse("conversations:unread"), headers={"HX-Request": "true"})

    assert 'id="unread-badge"' in page and 'hx-trigger="every 30s"' in page
    html = badge.content.decode()
    assert "<html" not in html and '>1<span class="visually-hidden"> unread</span>' in html
    # The folded menu's button on a phone carries the same count, updated out of band.
    assert 'id="menu-badge" hx-swap-oob="true">1<' in html


def test_opening_a_line_reads_it_and_lands_where_it_points(client, request_, mentor):
    line = Notification.objects.get(user=mentor)
    client.force_login(mentor)

    response = client.get(reverse("conversations:open", args=[line.pk]))

    assert response.status_code == 302 and response.url == line.url
    line.refresh_from_db()
    assert line.read_at is not None and actions.unread_count(mentor) == 0


def test_a_line_pointing_elsewhere_than_this_site_lands_on_the_feed(client, mentor):
    line = actions.notify(user=mentor, kind=Kind.ANNOUNCEMENT, text="x", url="https://evil.test/")
    client.force_login(mentor)

    response = client.get(reverse("conversations:open", args=[line.pk]))

    assert response.url == reverse("conversations:notifications")


def test_mark_one_read_with_htmx_answers_the_row_and_the_new_badge(client, request_, mentor):
    line = Notification.objects.get(user=mentor)
    client.force_login(mentor)

    response = client.post(
        reverse("conversations:mark-read", args=[line.pk]), headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert f'id="notification-{line.pk}"' in html and "Read" in html
    assert 'id="unread-badge"' in html and 'hx-swap-oob="true"' in html
    assert actions.unread_count(mentor) == 0


def test_mark_all_read_reads_only_ones_own_lines(client, request_, mentee, mentor):
    actions.notify(user=mentee, kind=Kind.ANNOUNCEMENT, text="For Mina")
    client.force_login(mentor)

    client.post(reverse("conversations:mark-all-read"))

    assert actions.unread_count(mentor) == 0 and actions.unread_count(mentee) == 1


def test_the_feed_is_paginated_newest_first_in_a_fixed_number_of_queries(
    client, mentor, django_assert_num_queries
):
    for n in range(60):
        actions.notify(user=mentor, kind=Kind.ANNOUNCEMENT, text=f"News {n:02d}")
    client.force_login(mentor)
    client.get(reverse("conversations:notifications"))  # warm the session

    # Session, user, time zone, the navigation's cohorts, the unread count, the page's count
    # and its rows.
    with django_assert_num_queries(7):
        page = client.get(reverse("conversations:notifications")).content.decode()

    assert "News 59" in page and "News 35" in page and "News 34" not in page
    assert "Page 1 of 3" in page
    assert (
        "News 34" in client.get(reverse("conversations:notifications") + "?page=2").content.decode()
    )


def test_an_empty_feed_says_so(client, outsider):
    client.force_login(outsider)

    page = client.get(reverse("conversations:notifications")).content.decode()

    assert "No notifications yet." in page and "You are all caught up." in page
