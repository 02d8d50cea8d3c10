"""The email of unread messages: one per thread for a burst, at most one per thread per 15 minutes,
never for what the person already read, and off when they switch it off."""

from __future__ import annotations

import threading
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from conversations import actions
from meetings import services as meetings
from meetings.models import EmailPreference
from tests.conversations.conftest import emails

KIND = "conversations/messages"


def later(minutes: float):
    return timezone.now() + timedelta(minutes=minutes)


def test_a_burst_of_three_messages_makes_exactly_one_email_after_the_delay(
    request_, mentee, mentor
):
    thread = actions.thread_for(request=request_)
    for text in ("First question", "Second question", "Third question"):
        actions.post_message(thread=thread, author=mentee, body=text)

    assert actions.send_message_emails(now=later(1)) == 0  # still inside the delay
    assert actions.send_message_emails(now=later(3)) == 1
    assert actions.send_message_emails(now=later(30)) == 0

    (email,) = emails(KIND, mentor)
    assert email.subject == "3 new messages from Mina Mentee"
    for text in ("First question", "Second question", "Third question"):
        assert text in email.body_text
    assert not emails(KIND, mentee).exists()


def test_messages_read_in_the_app_before_the_email_is_due_are_never_emailed(
    request_, mentee, mentor
):
    thread = actions.thread_for(request=request_)
    actions.post_message(thread=thread, author=mentee, body="Hello")

    actions.mark_thread_read(thread=thread, user=mentor)

    assert actions.send_message_emails(now=later(3)) == 0
    assert not emails(KIND, mentor).exists()


def test_a_second_burst_waits_until_fifteen_minutes_after_the_first_email(request_, mentee, mentor):
    thread = actions.thread_for(request=request_)
    actions.post_message(thread=thread, author=mentee, body="One")
    actions.send_message_emails(now=later(3))
    actions.post_message(thread=thread, author=mentee, body="Two")

    assert actions.send_message_emails(now=later(10)) == 0
    assert actions.send_message_emails(now=later(16)) == 1

    first, second = emails(KIND, mentor)
    assert "One" in first.body_text and "Two" not in first.body_text
    assert "Two" in second.body_text and "One" not in second.body_text


def test_the_email_is_in_the_readers_time_zone_and_can_be_switched_off(request_, mentee, mentor):
    thread = actions.thread_for(request=request_)
    message = actions.post_message(thread=thread, author=mentee, body="Hello")
    actions.send_message_emails(now=later(3))

    (email,) = emails(KIND, mentor)
    local = timezone.localtime(message.created_at, meetings.zone_of(mentor))
    assert f"{local:%H:%M}" in email.body_text and (
        "EST" in email.body_text or "EDT" in email.body_text
    )
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    meetings.set_preference(mentor, EmailPreference.Kind.MESSAGES, False)
    actions.post_message(thread=thread, author=mentee, body="Are you there?")
    assert actions.send_message_emails(now=later(20)) == 0
    assert emails(KIND, mentor).count() == 1


def test_two_runs_at_once_send_the_email_once(transactional_db, request_, mentee, mentor):
    thread = actions.thread_for(request=request_)
    actions.post_message(thread=thread, author=mentee, body="Hello")
    due = later(3)
    barrier = threading.Barrier(2)
    sent: list[int] = []

    def run() -> None:
        barrier.wait()
        try:
            sent.append(actions.send_message_emails(now=due))
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sorted(sent) == [0, 1]
    assert emails(KIND, mentor).count() == 1
