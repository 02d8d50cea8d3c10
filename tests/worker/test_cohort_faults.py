"""Faults with a real Celery worker: a worker killed with SIGKILL in the middle of a matching run,
and a run whose database connection is terminated (pg_terminate_backend). Either way the run is
failed within 2 minutes and a retry succeeds.

The workers are separate `celery worker` processes on a queue of the test's own and the test
database, as in tests/meetings/test_reminders_worker.py. Their `matchrun.compute_planned` is
patched so that the first run, once it is running, waits at a barrier on Redis: the fault then
strikes a run that is really in flight."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cohorts import matchrun, tasks
from cohorts.models import Cohort, Enrollment, MatchRun
from mentorship.celery import app as celery_app
from tests.conftest import make_person
from tests.matching.conftest import make_mentee, make_mentor
from tests.worker.processes import broker, celery_worker, wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

# A worker process started the way production starts one, on the test's queue and database.
# The first run it takes, once running, records this process's id and its database backend's on
# Redis and waits for "<key>:go" (at most 2 minutes) before computing.
# argv[3] and argv[4], unless 0, shorten LEASE and HEARTBEAT (seconds) in this process.
WORKER = """
import os, sys, time
from datetime import timedelta
import django
django.setup()
import redis
from celery.signals import worker_ready
from django.db import connection
from cohorts import matchrun
from mentorship.celery import app

queue, key = sys.argv[1], sys.argv[2]
if float(sys.argv[3]):
    matchrun.LEASE = timedelta(seconds=float(sys.argv[3]))
    matchrun.HEARTBEAT = float(sys.argv[4])
broker = redis.Redis.from_url(os.environ["REDIS_URL"])
real_compute, held = matchrun.compute_planned, []

def compute_held_once(the_plan, *, progress, **kwargs):
    if not held:
        held.append(True)
        progress(2, "Loading people")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        broker.set(key + ":holding", f"{os.getpid()} {backend}", ex=600)
        deadline = time.monotonic() + 120
        while not broker.get(key + ":go") and time.monotonic() < deadline:
            time.sleep(0.02)
    return real_compute(the_plan, progress=progress, **kwargs)

matchrun.compute_planned = compute_held_once
app.conf.task_default_queue = queue
worker_ready.connect(lambda **_: broker.set(key + ":ready", 1, ex=600), weak=False)
app.worker_main(["worker", "-Q", queue, "-P", "solo", "-n", key + "@%h", "--without-mingle",
                 "--without-gossip", "--without-heartbeat", "-l", "warning"])
"""


@pytest.fixture
def queue(settings) -> Iterator[str]:
    """A queue of this test's own on the real broker, with eager execution off here."""
    assert settings.REDIS_URL, "this test needs Redis: set REDIS_URL"
    assert connection.vendor == "postgresql", "this test terminates backends: set DATABASE_URL"
    name = f"test-{uuid.uuid4().hex}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = name
    yield name
    celery_app.conf.task_default_queue = previous
    take_back_unacked(name)  # a killed worker's message, when the test did not get that far
    broker().delete(name)


@contextmanager
def worker_process(
    queue: str, log: Path, *, lease: float = 0, heartbeat: float = 0
) -> Iterator[tuple[subprocess.Popen, str]]:
    """A worker running WORKER above (tests/worker/processes.py starts it), with its key on
    Redis."""
    key = f"faults-{uuid.uuid4().hex[:12]}"
    with celery_worker(
        queue, log, script=WORKER, key=key, lease=lease, heartbeat=heartbeat
    ) as process:
        try:
            yield process, key
        finally:
            broker().delete(f"{key}:holding", f"{key}:go")


def holding(key: str) -> tuple[int, int]:
    """Wait until the worker holds its run mid-flight; its process id and its backend's."""
    wait_until(lambda: broker().get(f"{key}:holding"), "the worker holds the run")
    pid, backend = broker().get(f"{key}:holding").split()
    return int(pid), int(backend)


def take_back_unacked(queue: str) -> list[dict]:
    """The messages of `queue` that a worker took and never acked, removed from kombu's unacked
    set on Redis (so nothing of this test is left on the shared broker)."""
    client = broker()
    taken = []
    for tag, raw in client.hgetall("unacked").items():
        message, _, routing_key = json.loads(raw)
        if routing_key == queue:
            client.zrem("unacked_index", tag)
            client.hdel("unacked", tag)
            taken.append(message)
    return taken


def redeliver(queue: str, message: dict) -> None:
    """What kombu does once the visibility timeout has passed: the message goes back to its
    queue, marked redelivered, next in line."""
    message["headers"]["redelivered"] = True
    message["properties"]["delivery_info"]["redelivered"] = True
    broker().rpush(queue, json.dumps(message))


@pytest.fixture
def admin(transactional_db):
    return make_person("ada@example.org", name="Ada Admin")


@pytest.fixture
def signed_in(admin) -> Client:
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def cohort(admin) -> Cohort:
    """Two mentees and two mentors with one place each: a retry that works pairs everyone."""
    cohort = Cohort.objects.create(name="January mentoring month", slug="january")
    cohort.admins.add(admin)
    people = [
        (make_mentee("mina@example.org", "Mina Mentee"), "mentee"),
        (make_mentee("noor@example.org", "Noor Mentee"), "mentee"),
        (make_mentor("marco@example.org", "Marco Mentor", capacity=1), "mentor"),
        (make_mentor("olga@example.org", "Olga Mentor", capacity=1), "mentor"),
    ]
    for user, role in people:
        Enrollment.objects.create(
            cohort=cohort, email=user.email, user=user, role=role, status="joined"
        )
    return cohort


def start_matching(client: Client, cohort: Cohort) -> MatchRun | None:
    """Press "Run matching" as the admin does; the new run, or None when none was created."""
    before = set(cohort.runs.values_list("pk", flat=True))
    response = client.post(reverse("cohorts:match", args=[cohort.slug]))
    assert response.status_code == 302
    created = cohort.runs.exclude(pk__in=before)
    return created.get() if created.exists() else None


def status(run: MatchRun) -> str:
    run.refresh_from_db()
    return run.status


def assert_retry_succeeds(client: Client, cohort: Cohort, failed: MatchRun) -> MatchRun:
    retry = start_matching(client, cohort)
    assert retry is not None and retry.pk != failed.pk
    wait_until(lambda: status(retry) == MatchRun.Status.DONE, "the retry is done")
    assert retry.progress == 100
    assert retry.lease_until is None
    assert retry.stats["matched"] == 2 and retry.stats["mentees"] == 2
    assert retry.proposals.count() == 2
    assert {p.mentee.name for p in retry.proposals.select_related("mentee")} == {
        "Mina Mentee",
        "Noor Mentee",
    }
    return retry


def test_a_run_whose_worker_is_killed_is_failed_within_two_minutes_and_a_retry_succeeds(
    queue, cohort, signed_in, tmp_path
):
    log = tmp_path / "worker.log"
    with worker_process(queue, log) as (worker, key):
        run = start_matching(signed_in, cohort)
        pid, _ = holding(key)
        assert pid == worker.pid
        assert status(run) == MatchRun.Status.RUNNING
        killed_at = timezone.now()
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(10) == -signal.SIGKILL

    # Nothing marks the run at once: the worker is gone, and its last lease says when it is
    # given up on, at most LEASE after it last worked (it renewed every HEARTBEAT until then).
    run.refresh_from_db()
    assert run.status == MatchRun.Status.RUNNING
    assert killed_at < run.lease_until <= killed_at + matchrun.LEASE
    assert matchrun.LEASE.total_seconds() >= 3 * matchrun.HEARTBEAT  # renewals to spare
    # Meanwhile the admin cannot start another run: one busy run per cohort.
    assert start_matching(signed_in, cohort) is None
    # The sweeper leaves a lease that has not lapsed alone.
    assert matchrun.sweep_leases(now=timezone.now()) == 0
    assert status(run) == MatchRun.Status.RUNNING

    # Beat runs the sweep every 30 s, so the first sweep after the lease lapsed comes at the
    # latest LEASE + 30 s after the kill: within 2 minutes.
    sweep = settings.CELERY_BEAT_SCHEDULE["cohorts-sweep"]
    assert sweep["task"] == tasks.sweep.name
    latest_sweep = killed_at + matchrun.LEASE + timedelta(seconds=sweep["schedule"])
    assert latest_sweep - killed_at <= timedelta(minutes=2)
    assert matchrun.sweep_leases(now=latest_sweep) == 1
    run.refresh_from_db()
    assert run.status == MatchRun.Status.FAILED
    assert run.error == matchrun.LOST
    assert run.lease_until is None and run.finished_at == latest_sweep
    assert not run.proposals.exists()

    # The task was acked late, so the broker still holds it: it will be delivered again.
    (lost,) = take_back_unacked(queue)
    assert lost["headers"]["task"] == tasks.run_matching.name

    # A new worker (embedded in this process, to start faster): the lost message comes back to
    # it first and finds the run failed, then the admin's retry is matched in full.
    with start_worker(
        celery_app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=20
    ):
        redeliver(queue, lost)
        retry = assert_retry_succeeds(signed_in, cohort, run)
    run.refresh_from_db()
    assert run.status == MatchRun.Status.FAILED and run.error == matchrun.LOST
    assert not run.proposals.exists()
    assert retry.proposals.count() == 2


def test_a_run_whose_database_connection_is_terminated_fails_and_the_same_worker_runs_the_retry(
    queue, cohort, signed_in, tmp_path
):
    log = tmp_path / "worker.log"
    with worker_process(queue, log) as (worker, key):
        run = start_matching(signed_in, cohort)
        _, backend = holding(key)
        assert status(run) == MatchRun.Status.RUNNING
        with connection.cursor() as cursor:
            # Every other connection to this test database is the worker's; never our own.
            cursor.execute(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            terminated = dict(cursor.fetchall())
        assert terminated.get(backend) is True
        started = time.monotonic()
        broker().set(f"{key}:go", 1, ex=600)  # the run goes on, on a dead connection

        # It records the failure on a fresh connection straight away; no sweep needed.
        wait_until(lambda: status(run) == MatchRun.Status.FAILED, "the run is failed", 30)
        assert time.monotonic() - started < 30
        assert run.error.startswith("The matching run failed: "), run.error
        assert "terminat" in run.error, run.error
        assert run.lease_until is None and run.finished_at is not None
        assert not run.proposals.exists()
        assert matchrun.sweep_leases(now=timezone.now() + matchrun.LEASE * 2) == 0

        # The worker survived its connection: it takes the retry and matches everyone.
        assert worker.poll() is None, log.read_text()
        assert_retry_succeeds(signed_in, cohort, run)
        assert worker.poll() is None, log.read_text()
    run.refresh_from_db()
    assert run.status == MatchRun.Status.FAILED


def test_a_live_worker_keeps_its_run_past_the_lease_and_a_killed_one_loses_it_to_the_sweeper(
    queue, cohort, signed_in, tmp_path
):
    # In real time, with the lease and heartbeat of the worker process scaled down (3 s and
    # 0.5 s instead of 60 s and 15 s) and the beat task run here every 0.2 s.
    lease, beat = 3.0, 0.2
    log = tmp_path / "worker.log"
    with worker_process(queue, log, lease=lease, heartbeat=0.5) as (worker, key):
        run = start_matching(signed_in, cohort)
        holding(key)
        first_lease = MatchRun.objects.get(pk=run.pk).lease_until
        # The run's step outlasts its lease: the heartbeat keeps it, sweep after sweep.
        until = time.monotonic() + lease + 1.5
        while time.monotonic() < until:
            assert tasks.sweep()["failed"] == 0
            assert status(run) == MatchRun.Status.RUNNING, run.error
            time.sleep(beat)
        assert run.lease_until > first_lease + timedelta(seconds=1)

        os.kill(worker.pid, signal.SIGKILL)
        killed = time.monotonic()
        assert worker.wait(10) == -signal.SIGKILL
        assert status(run) == MatchRun.Status.RUNNING
        swept: list[int] = []

        def swept_away() -> bool:
            swept.append(tasks.sweep()["failed"])
            time.sleep(beat)
            return status(run) == MatchRun.Status.FAILED

        wait_until(swept_away, "the sweeper fails the run", timeout=4 * lease)
        assert time.monotonic() - killed <= lease + 2  # its last renewal, plus a sweep
        assert sum(swept) == 1
        assert run.error == matchrun.LOST
        take_back_unacked(queue)


def test_the_sweeper_fails_lapsed_runs_and_publishings_and_leaves_live_ones_alone(admin):
    now = timezone.now()
    cohorts = [
        Cohort.objects.create(name=name, slug=name.lower())
        for name in ("Live", "Lapsed", "Publishing", "Queued", "Finished")
    ]
    live = MatchRun.objects.create(
        cohort=cohorts[0], status="running", lease_until=now + timedelta(seconds=30)
    )
    lapsed = MatchRun.objects.create(
        cohort=cohorts[1], status="running", lease_until=now - timedelta(seconds=1)
    )
    publishing = MatchRun.objects.create(
        cohort=cohorts[2],
        status="done",
        publishing="running",
        lease_until=now - timedelta(seconds=1),
    )
    queued = MatchRun.objects.create(cohort=cohorts[3])  # a worker has 5 minutes to take it
    finished = MatchRun.objects.create(
        cohort=cohorts[4], status="done", lease_until=now - timedelta(hours=1)
    )

    assert matchrun.sweep_leases(now=now) == 2

    for run in (live, lapsed, publishing, queued, finished):
        run.refresh_from_db()
    assert live.status == "running" and live.error == "" and live.lease_until is not None
    assert lapsed.status == "failed" and lapsed.error == matchrun.LOST
    assert lapsed.finished_at == now and lapsed.lease_until is None
    assert publishing.status == "done" and publishing.error == ""
    assert publishing.publishing == "failed"
    assert publishing.publish_error == matchrun.PUBLISH_LOST
    assert publishing.lease_until is None
    assert queued.status == "queued" and queued.lease_until > now
    assert finished.status == "done" and finished.error == ""
    assert matchrun.sweep_leases(now=now) == 0  # nothing is failed twice

    # A failed run frees its cohort for a retry; a live one still holds it.
    assert MatchRun.objects.create(cohort=cohorts[1]).status == "queued"
    with pytest.raises(IntegrityError), transaction.atomic():
        MatchRun.objects.create(cohort=cohorts[0])
