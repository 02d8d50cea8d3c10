"""A circle's session reminders through real Celery workers on the real Redis broker: a session
with five attendees (the facilitator and four members) reminds each of them exactly once of each
reminder when beat fires twice and when two workers run at once; a moved session sends nothing
for its old time. The machinery is the pairs' (meetings.services.send_due_reminders)."""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from matching.models import Circle, CircleMember
from meetings import services, tasks
from meetings.models import Meeting, Reminder
from mentorship.celery import app as celery_app
from profiles.models import Email, Profile
from tests.conftest import make_person
from tests.matching.conftest import make_mentor
from tests.meetings import test_reminders_worker as pairs
from tests.meetings.test_reminders_worker import (  # the workers and helpers of the pairs' test
    embedded_worker,
    meet_at_the_barrier,
    run_scheduler,
    second_worker_process,
    wait_until,
)

# The pairs' fixtures: a queue of the test's own, and the tasks the workers finished.
queue, finished = pairs.queue, pairs.finished

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

ZONES = ("Europe/Lisbon", "Asia/Tokyo", "America/New_York", "Australia/Sydney")


@pytest.fixture
def circle() -> Circle:
    """Fay facilitates, from Lisbon, four members across the world."""
    fay = make_mentor("fay@example.org", "Fay Facilitator", tz="Europe/Lisbon")
    made = Circle.objects.create(
        topic="Public speaking", facilitator=fay, weekday=1, start_minute=18 * 60, size=6
    )
    for n, zone in enumerate(ZONES, start=1):
        member = make_person(f"m{n}@example.org", name=f"Member {n}")
        Profile.objects.create(user=member, timezone=zone, languages=["en"])
        CircleMember.objects.create(circle=made, user=member, status="active")
    return made


def plan(circle: Circle, days: int, hours: int) -> Meeting:
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(days=days, hours=hours)
    return services.schedule_session(
        circle, circle.facilitator, starts_at=start, duration=60, place="Video"
    )


def make_due(*sessions: Meeting) -> None:
    Reminder.objects.filter(meeting__in=sessions).update(
        due_at=timezone.now() - timedelta(minutes=1)
    )


def reminders() -> Counter:
    return Counter(
        (e.to[0], e.subject.split(":")[0], e.body_text)
        for e in Email.objects.filter(kind="meetings/reminder")
    )


def assert_each_attendee_reminded_once(circle: Circle, sessions: list[Meeting]) -> None:
    sent = reminders()
    assert set(sent.values()) == {1}, sent
    people = services.attendees(sessions[0])
    assert len(people) == 5
    for session in sessions:
        session.refresh_from_db()
        for person in people:
            label = services.when_label(session, person)
            subjects = sorted(s for to, s, text in sent if to == person.email and label in text)
            assert subjects == ["In an hour", "Tomorrow"], (person, label)


def test_beat_fired_twice_then_a_move_reminds_each_of_five_once_and_never_of_the_old_time(
    circle,
    queue,
    finished,
):
    first = plan(circle, 2, 0)
    moved = plan(circle, 3, 0)
    old = [services.when_label(moved, p) for p in services.attendees(moved)]
    make_due(first)

    with ExitStack() as stack:
        embedded_worker(stack, queue)
        assert celery_app.conf.task_always_eager is False
        assert run_scheduler(finished, times=2) == ["SUCCESS", "SUCCESS"]
        assert_each_attendee_reminded_once(circle, [first])
        assert len(reminders()) == 2 * 5

        moved = services.reschedule_session(
            moved,
            circle.facilitator,
            starts_at=moved.starts_at + timedelta(days=2),
            duration=60,
            place="Video",
        )
        make_due(moved)  # the new rows and the cancelled old ones are all "due" now
        assert run_scheduler(finished, times=2) == ["SUCCESS", "SUCCESS"]

    assert_each_attendee_reminded_once(circle, [first, moved])
    assert len(reminders()) == 4 * 5
    assert not any(label in text for label in old for _, _, text in reminders())


def test_two_workers_at_once_remind_each_of_five_once(circle, queue, finished, monkeypatch):
    sessions = [plan(circle, 2, hours) for hours in range(4)]
    make_due(*sessions)
    monkeypatch.setattr(services, "CLAIM_BATCH", 3)
    broker = redis.Redis.from_url(settings.REDIS_URL)
    barrier = f"{queue}:barrier"
    real_send = services._send
    first_call: list[bool] = []

    def send_once_both_hold_a_batch(*args, **kwargs):
        if not first_call:
            first_call.append(True)
            meet_at_the_barrier(broker, barrier)
        return real_send(*args, **kwargs)

    try:
        with ExitStack() as stack:
            embedded_worker(stack, queue)
            stack.enter_context(second_worker_process(queue, barrier))
            wait_until(lambda: broker.get(f"{barrier}:ready"), timeout=60)
            wait_until(lambda: not Email.objects.filter(status__in=["queued", "sending"]).exists())
            monkeypatch.setattr(services, "_send", send_once_both_hold_a_batch)
            ids = [tasks.send_due_reminders.delay().id for _ in range(2)]
            wait_until(lambda: not Reminder.objects.filter(status="pending").exists(), timeout=60)
            wait_until(lambda: any(task_id in finished for task_id in ids), timeout=60)
            wait_until(lambda: not Email.objects.filter(status__in=["queued", "sending"]).exists())
            assert int(broker.get(barrier)) == 2  # both runs held claimed rows at once
    finally:
        broker.delete(barrier, f"{barrier}:ready")

    assert_each_attendee_reminded_once(circle, sessions)
    assert len(reminders()) == 4 * 2 * 5
    stored = Email.objects.filter(kind="meetings/reminder")
    assert set(stored.values_list("status", "attempts")) == {("sent", 1)}
