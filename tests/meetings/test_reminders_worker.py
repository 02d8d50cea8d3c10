"""Reminders through real Celery workers consuming from the real Redis broker: the beat task
fired twice, two workers at once, a reschedule, and a worker that dies mid-send. Each
(meeting, offset) reaches each person exactly once, and nothing goes out for an old time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from meetings import services, tasks
from meetings.models import Meeting, Reminder
from mentorship.celery import app as celery_app
from profiles.models import Email
from tests.meetings.conftest import emails, make_pair

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue(settings):
    """A queue of this test's own on the real broker, with eager execution off."""
    assert settings.REDIS_URL, "this test needs Redis: set REDIS_URL"
    assert celery_app.conf.broker_url.startswith("redis://")
    assert connection.vendor == "postgresql", "claiming rows needs SKIP LOCKED: set DATABASE_URL"
    name = f"test-{uuid.uuid4().hex}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = name
    yield name
    celery_app.conf.task_default_queue = previous


@pytest.fixture
def finished():
    """Ids and states of the tasks the workers finished, to wait for a given run."""
    done: dict[str, str] = {}

    def record(task_id=None, state=None, **_):
        done[task_id] = state

    task_postrun.connect(record, weak=False)
    yield done
    task_postrun.disconnect(record)


def embedded_worker(stack: ExitStack, queue: str) -> None:
    """An embedded worker in a thread of this process. (Only one: kombu keeps a single event
    loop per process, so a second worker is a separate process; see below.)"""
    stack.enter_context(
        start_worker(
            celery_app,
            pool="solo",
            perform_ping_check=False,
            queues=[queue],
            shutdown_timeout=20,
        )
    )


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the workers")


def run_scheduler(finished: dict[str, str], times: int = 1) -> list[str]:
    """Fire the beat task `times` times at once; wait for every run and the emails it queued."""
    ids = [tasks.send_due_reminders.delay().id for _ in range(times)]
    wait_until(lambda: all(task_id in finished for task_id in ids))
    wait_until(lambda: not Email.objects.filter(status__in=["queued", "sending"]).exists())
    return [finished[task_id] for task_id in ids]


def book(pair, days: int, hours: int) -> Meeting:
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(days=days, hours=hours)
    return services.schedule(pair, pair.mentee, starts_at=start, duration=60, place="")


def make_due(*meetings: Meeting) -> None:
    Reminder.objects.filter(meeting__in=meetings).update(
        due_at=timezone.now() - timedelta(minutes=1)
    )


def sent_reminders() -> Counter:
    """(recipient, which reminder, text) of every reminder email, counted."""
    return Counter(
        (e.to[0], e.subject.split(":")[0], e.body_text) for e in emails("meetings/reminder")
    )


def assert_sent_once(pair, meetings: list[Meeting]) -> None:
    """For each meeting's current time: one "Tomorrow" and one "In an hour" email to each
    person, in their own zone, stored once and delivered once."""
    sent = sent_reminders()
    assert all(count == 1 for count in sent.values()), sent
    for meeting in meetings:
        meeting.refresh_from_db()
        rows = meeting.reminders.filter(sequence=meeting.sequence)
        assert sorted(rows.values_list("offset_minutes", "status")) == [
            (60, "sent"),
            (24 * 60, "sent"),
        ]
        for person in (pair.mentee, pair.mentor):
            label = services.when_label(meeting, person)
            subjects = sorted(s for to, s, text in sent if to == person.email and label in text)
            assert subjects == ["In an hour", "Tomorrow"], (person, label)
    delivered = Counter(
        (m.to[0], m.subject, m.body)
        for m in mail.outbox
        if m.subject.split(":")[0] in ("Tomorrow", "In an hour")
    )
    assert sum(delivered.values()) == sum(sent.values())
    assert all(count == 1 for count in delivered.values())


def test_scheduler_fired_twice_then_a_reschedule_sends_each_reminder_once(queue, finished):
    pair = make_pair()
    first, second = book(pair, 2, 0), book(pair, 2, 3)
    moved = book(pair, 3, 0)  # its reminders are not due yet when the meeting is moved
    old_labels = [services.when_label(moved, p) for p in (pair.mentee, pair.mentor)]
    make_due(first, second)

    with ExitStack() as stack:
        embedded_worker(stack, queue)
        assert celery_app.conf.task_always_eager is False
        # Beat fires twice for the same window; the runs queue behind each other.
        assert run_scheduler(finished, times=2) == ["SUCCESS", "SUCCESS"]
        assert_sent_once(pair, [first, second])
        assert len(sent_reminders()) == 8

        moved = services.reschedule(
            moved, pair.mentor, starts_at=moved.starts_at + timedelta(days=2), duration=60, place=""
        )
        make_due(moved)  # the new rows and the cancelled old ones are all "due" now
        assert run_scheduler(finished, times=2) == ["SUCCESS", "SUCCESS"]

    assert_sent_once(pair, [first, second, moved])
    assert len(sent_reminders()) == 12
    assert not any(label in text for label in old_labels for _, _, text in sent_reminders())
    assert sorted(moved.reminders.values_list("sequence", "status")) == [
        (0, "cancelled"),
        (0, "cancelled"),
        (1, "sent"),
        (1, "sent"),
    ]


# The second worker: a separate process started the way production starts one, with the same
# patch as the embedded worker: its first email waits at a barrier on Redis.
SECOND_WORKER = """
import os, sys, time
import django
django.setup()
import redis
from celery.signals import worker_ready
from meetings import services
from mentorship.celery import app

queue, barrier = sys.argv[1], sys.argv[2]
broker = redis.Redis.from_url(os.environ["REDIS_URL"])
real_send, first = services._send, []

def send_once_both_hold_a_batch(*args, **kwargs):
    if not first:
        first.append(True)
        meet_at_the_barrier(broker, barrier)
    return real_send(*args, **kwargs)

def meet_at_the_barrier(broker, key):
    broker.incr(key)
    deadline = time.monotonic() + 30
    while int(broker.get(key)) < 2:
        if time.monotonic() > deadline:
            raise RuntimeError("the other worker never held a batch at the same time")
        time.sleep(0.02)

services._send = send_once_both_hold_a_batch
services.CLAIM_BATCH = 3
app.conf.task_default_queue = queue  # the emails it queues stay on the test's queue
worker_ready.connect(lambda **_: broker.set(barrier + ":ready", 1), weak=False)
app.worker_main(["worker", "-Q", queue, "-P", "solo", "-n", "second-" + queue + "@%h",
                 "--without-mingle", "--without-gossip", "--without-heartbeat", "-l", "error"])
"""


def meet_at_the_barrier(broker: redis.Redis, key: str) -> None:
    broker.incr(key)
    deadline = time.monotonic() + 30
    while int(broker.get(key)) < 2:
        if time.monotonic() > deadline:
            raise RuntimeError("the other worker never held a batch at the same time")
        time.sleep(0.02)


@contextmanager
def second_worker_process(queue: str, barrier: str):
    """A real `celery worker` process on the same queue and the same test database."""
    url = urlsplit(os.environ["DATABASE_URL"])
    env = {
        **os.environ,
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_URL": urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"])),
        "EMAIL_URL": "memorymail://",
        "EMAIL_KEEP_SENT_BODIES": "true",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", SECOND_WORKER, queue, barrier], env=env, cwd=settings.BASE_DIR
    )
    try:
        yield process
    finally:
        process.terminate()  # a warm shutdown, as the process manager does
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_two_workers_at_once_send_each_reminder_once(queue, finished, monkeypatch):
    pair = make_pair()
    meetings = [book(pair, 2, hours) for hours in range(8)]
    make_due(*meetings)
    monkeypatch.setattr(services, "CLAIM_BATCH", 3)
    broker = redis.Redis.from_url(settings.REDIS_URL)
    barrier = f"{queue}:barrier"
    real_send = services._send
    first_call: list[bool] = []

    def send_once_both_hold_a_batch(*args, **kwargs):
        # Each worker's first email waits until the other worker also holds claimed rows: the
        # two runs really overlap, and with skip_locked neither blocks on the other's rows.
        if not first_call:
            first_call.append(True)
            meet_at_the_barrier(broker, barrier)
        return real_send(*args, **kwargs)

    try:
        with ExitStack() as stack:
            embedded_worker(stack, queue)
            stack.enter_context(second_worker_process(queue, barrier))
            wait_until(lambda: broker.get(f"{barrier}:ready"), timeout=60)
            # The "scheduled" emails go through the workers first.
            wait_until(lambda: not Email.objects.filter(status__in=["queued", "sending"]).exists())
            monkeypatch.setattr(services, "_send", send_once_both_hold_a_batch)
            # Beat fires twice; the embedded worker takes one run, the process the other.
            ids = [tasks.send_due_reminders.delay().id for _ in range(2)]
            wait_until(lambda: not Reminder.objects.filter(status="pending").exists())
            wait_until(lambda: any(task_id in finished for task_id in ids))
            wait_until(lambda: not Email.objects.filter(status__in=["queued", "sending"]).exists())
            assert int(broker.get(barrier)) == 2  # both runs held claimed rows at once
    finally:
        broker.delete(barrier, f"{barrier}:ready")

    # One run finished here, the other in the worker process.
    assert [finished.get(task_id) for task_id in ids].count("SUCCESS") == 1
    sent = sent_reminders()
    assert len(sent) == 8 * 2 * 2 and set(sent.values()) == {1}
    for meeting in meetings:
        assert sorted(meeting.reminders.values_list("offset_minutes", "status")) == [
            (60, "sent"),
            (24 * 60, "sent"),
        ]
        for person in (pair.mentee, pair.mentor):
            label = services.when_label(meeting, person)
            subjects = sorted(s for to, s, text in sent if to == person.email and label in text)
            assert subjects == ["In an hour", "Tomorrow"]
    # Each stored email was delivered once, by whichever worker took it.
    reminders = emails("meetings/reminder")
    assert set(reminders.values_list("status", "attempts")) == {("sent", 1)}


def test_a_worker_that_dies_mid_send_leaves_the_reminder_for_the_next_run(
    queue, finished, monkeypatch
):
    pair = make_pair()
    meeting = book(pair, 2, 0)
    make_due(meeting)
    real_send = services._send
    calls: list[str] = []

    def dies_after_the_first_email(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise ConnectionError("the worker died mid-send")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(services, "_send", dies_after_the_first_email)
    with ExitStack() as stack:
        embedded_worker(stack, queue)
        assert run_scheduler(finished) == ["FAILURE"]
        # The first email was queued inside the claim's transaction: it rolled back with it.
        assert set(meeting.reminders.values_list("status", flat=True)) == {"pending"}
        assert sent_reminders() == Counter()

        assert run_scheduler(finished, times=2) == ["SUCCESS", "SUCCESS"]

    assert_sent_once(pair, [meeting])
    assert len(sent_reminders()) == 4
