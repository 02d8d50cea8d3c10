"""Reminders are rows claimed by a job: planned when a meeting is scheduled, sent once per
(meeting, schedule version, offset) and person, never for a time the meeting no longer has."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from meetings import services
from meetings.models import EmailPreference, Meeting, Reminder
from tests.meetings.conftest import emails, make_pair


def in_days(days: float, hour_offset: int = 0):
    start = timezone.now().replace(second=0, microsecond=0)
    return start + timedelta(days=days, hours=hour_offset)


def book(pair, starts_at, *, by=None) -> Meeting:
    return services.schedule(
        pair, by or pair.mentee, starts_at=starts_at, duration=60, place="Room 4"
    )


def make_due(meeting: Meeting | None = None) -> None:
    """Let time pass: the pending reminders (of one meeting, or all) are due now."""
    rows = Reminder.objects.filter(status=Reminder.Status.PENDING)
    if meeting is not None:
        rows = rows.filter(meeting=meeting)
    rows.update(due_at=timezone.now() - timedelta(minutes=1))


def test_scheduling_plans_a_reminder_a_day_and_an_hour_before(pair):
    meeting = book(pair, in_days(3))
    rows = meeting.reminders.order_by("-offset_minutes")
    assert [(r.offset_minutes, r.due_at, r.sequence, r.status) for r in rows] == [
        (24 * 60, meeting.starts_at - timedelta(hours=24), 0, "pending"),
        (60, meeting.starts_at - timedelta(hours=1), 0, "pending"),
    ]


def test_a_meeting_too_soon_for_the_day_before_reminder_gets_only_the_hour_one(pair):
    meeting = book(pair, in_days(0, hour_offset=5))
    assert list(meeting.reminders.values_list("offset_minutes", flat=True)) == [60]


def test_nothing_is_sent_before_it_is_due(pair):
    book(pair, in_days(3))
    assert services.send_due_reminders() == 0
    assert not emails("meetings/reminder").exists()


def test_a_due_reminder_goes_to_both_people_once_however_often_the_job_runs(pair):
    meeting = book(pair, in_days(3))
    make_due(meeting)

    assert services.send_due_reminders() == 2
    assert services.send_due_reminders() == 0
    assert services.send_due_reminders() == 0

    assert set(meeting.reminders.values_list("status", flat=True)) == {"sent"}
    assert sorted(e.subject for e in emails("meetings/reminder", pair.mentee)) == [
        "In an hour: meeting with Leo London",
        "Tomorrow: meeting with Leo London",
    ]
    assert sorted(e.subject for e in emails("meetings/reminder", pair.mentor)) == [
        "In an hour: meeting with Sia Sydney",
        "Tomorrow: meeting with Sia Sydney",
    ]


def test_a_reminder_gives_each_reader_their_own_time_the_place_and_the_agenda(pair):
    meeting = book(pair, in_days(3))
    meeting.agenda.create(author=pair.mentee, text="Rehearse the salary conversation")
    make_due(meeting)
    services.send_due_reminders()

    for person in (pair.mentee, pair.mentor):
        for email in emails("meetings/reminder", person):
            assert services.when_label(meeting, person) in email.body_text
            assert "Where: Room 4" in email.body_text
            assert "- Rehearse the salary conversation (Sia)" in email.body_text
            assert "/email/unsubscribe/" in email.body_text


def test_a_person_who_switched_reminders_off_gets_none_while_the_other_still_does(pair):
    services.set_preference(pair.mentor, EmailPreference.Kind.REMINDERS, False)
    meeting = book(pair, in_days(3))
    make_due(meeting)
    services.send_due_reminders()
    assert emails("meetings/reminder", pair.mentee).count() == 2
    assert not emails("meetings/reminder", pair.mentor).exists()
    assert set(meeting.reminders.values_list("status", flat=True)) == {"sent"}


def test_moving_a_meeting_cancels_its_old_reminders_and_only_the_new_time_is_sent(pair):
    meeting = book(pair, in_days(3))
    old_label = services.when_label(meeting, pair.mentor)
    make_due(meeting)  # due, but the job has not run yet when the meeting moves

    moved = services.reschedule(meeting, pair.mentor, starts_at=in_days(5), duration=60, place="")
    new_label = services.when_label(moved, pair.mentor)
    rows = Reminder.objects.filter(meeting=meeting)
    assert sorted(rows.values_list("sequence", "status")) == [
        (0, "cancelled"),
        (0, "cancelled"),
        (1, "pending"),
        (1, "pending"),
    ]
    assert services.send_due_reminders() == 0  # the old rows are due but cancelled

    make_due(meeting)
    assert services.send_due_reminders() == 2
    texts = [e.body_text for e in emails("meetings/reminder")]
    assert len(texts) == 4
    assert all(old_label not in text for text in texts)
    assert sum(new_label in text for text in texts) == 2  # the mentor's, in London time


def test_a_cancelled_meeting_sends_no_reminder(pair):
    meeting = book(pair, in_days(3))
    make_due(meeting)
    services.cancel(meeting, pair.mentor)
    assert services.send_due_reminders() == 0
    assert set(meeting.reminders.values_list("status", flat=True)) == {"cancelled"}
    assert not emails("meetings/reminder").exists()


def test_a_pending_row_of_an_older_schedule_version_is_cancelled_not_sent(pair):
    meeting = book(pair, in_days(3))
    # As if a row had slipped in for the version before a reschedule.
    Meeting.objects.filter(pk=meeting.pk).update(sequence=1)
    make_due(meeting)
    assert services.send_due_reminders() == 0
    assert set(meeting.reminders.values_list("status", flat=True)) == {"cancelled"}


@pytest.mark.django_db(transaction=True)
def test_a_send_that_dies_midway_leaves_the_reminder_pending_and_it_goes_out_once_later(
    monkeypatch,
):
    pair = make_pair()
    meeting = book(pair, in_days(3))
    make_due(meeting)
    real_send = services._send
    calls = []

    def dies_on_the_second_email(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise ConnectionError("the worker died")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(services, "_send", dies_on_the_second_email)
    with pytest.raises(ConnectionError):
        services.send_due_reminders()

    # The first email was written inside the claim's transaction: it rolled back with it.
    assert set(meeting.reminders.values_list("status", flat=True)) == {"pending"}
    assert not emails("meetings/reminder").exists()

    assert services.send_due_reminders() == 2
    assert services.send_due_reminders() == 0
    assert emails("meetings/reminder", pair.mentee).count() == 2
    assert emails("meetings/reminder", pair.mentor).count() == 2
    assert set(emails("meetings/reminder").values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_claim_different_rows_and_send_each_reminder_once(monkeypatch):
    pair = make_pair()
    meetings = [book(pair, in_days(3, hour_offset=i)) for i in range(6)]
    make_due()
    monkeypatch.setattr(services, "CLAIM_BATCH", 2)
    real_send = services._send
    together = threading.Barrier(2, timeout=10)
    first_call: set[int] = set()

    def send_after_both_hold_a_batch(*args, **kwargs):
        # Each run's first email waits until the other run also holds claimed rows: with a plain
        # FOR UPDATE the second would block on the first's rows and the barrier would break.
        if threading.get_ident() not in first_call:
            first_call.add(threading.get_ident())
            together.wait()
        return real_send(*args, **kwargs)

    monkeypatch.setattr(services, "_send", send_after_both_hold_a_batch)
    counts: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            counts.append(services.send_due_reminders())
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert sum(counts) == 12 and all(counts)  # both runs sent some of the 6 x 2 reminders
    for meeting in meetings:
        assert sorted(meeting.reminders.values_list("offset_minutes", "status")) == [
            (60, "sent"),
            (24 * 60, "sent"),
        ]
        for person in (pair.mentee, pair.mentor):
            label = services.when_label(meeting, person)
            found = [e.subject for e in emails("meetings/reminder", person) if label in e.body_text]
            assert sorted(subject.split(":")[0] for subject in found) == ["In an hour", "Tomorrow"]
    assert emails("meetings/reminder").count() == 24
