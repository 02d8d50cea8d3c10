"""A run spread over two real Celery workers, one of them killed with SIGKILL while it scores a
block: the sweeper sends that block again, the other worker scores it, and the run completes
with exactly the pairs, scores and reasons of the same cohort matched in one process.

The workers are `celery worker` processes on a queue of the test's own and the test database
(as in test_cohort_faults.py), started with small blocks (MATCH_BLOCK_PAIRS), every run spread
(MATCH_SPREAD_ABOVE=0), a second's pause before each block (MATCH_STEP_DELAY: the window in
which the kill lands) and a 4-second lease renewed every second."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import override_settings

from cohorts import matchrun, tasks
from cohorts.models import Cohort, Enrollment, MatchRun, MatchStep
from tests.load.bench_cohort import demo_enrollments
from tests.worker.test_cohort_faults import broker, queue, wait_until  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

WORKER = """
import os, sys
from datetime import timedelta
import django
django.setup()
import redis
from celery.signals import worker_ready
from cohorts import matchrun
from mentorship.celery import app

queue, key = sys.argv[1], sys.argv[2]
matchrun.LEASE = timedelta(seconds=4)
matchrun.HEARTBEAT = 1
app.conf.task_default_queue = queue
broker = redis.Redis.from_url(os.environ["REDIS_URL"])
worker_ready.connect(lambda **_: broker.set(key + ":ready", 1, ex=600), weak=False)
app.worker_main(["worker", "-Q", queue, "-P", "solo", "-n", key + "@%h", "--without-mingle",
                 "--without-gossip", "--without-heartbeat", "-l", "warning"])
"""
BLOCK_MENTEES = 6  # 40 mentees: seven blocks


@contextmanager
def worker(name: str, log: Path) -> Iterator[subprocess.Popen]:
    key = f"spread-{uuid.uuid4().hex[:12]}"
    url = urlsplit(os.environ["DATABASE_URL"])
    env = {
        **os.environ,
        "DATABASE_URL": urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"])),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CACHE_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "EMAIL_URL": "memorymail://",
        "MATCH_BLOCK_PAIRS": str(12 * BLOCK_MENTEES),
        "MATCH_SPREAD_ABOVE": "0",
        "MATCH_STEP_DELAY": "1",
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER, name, key],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: broker().get(f"{key}:ready") or process.poll() is not None,
            "the worker is ready",
            timeout=60,
        )
        assert process.poll() is None, log.read_text()
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        broker().delete(f"{key}:ready")


@pytest.fixture
def cohort(transactional_db) -> Cohort:
    with override_settings(DEBUG=True):  # seed_demo refuses to run otherwise
        call_command("seed_demo", mentors=12, mentees=40, seed=3, stdout=StringIO())
    cohort = Cohort.objects.create(name="Spread cohort", slug="spread")
    enrollments = demo_enrollments(cohort)
    for index, enrollment in enumerate(e for e in enrollments if e.role == "mentor"):
        enrollment.capacity_override = 1 + index % 3
    Enrollment.objects.bulk_create(enrollments)
    return cohort


def proposals(run: MatchRun) -> list[tuple[int, int, float, tuple[str, ...]]]:
    return sorted(
        (p.mentee_id, p.mentor_id, p.score, tuple(p.reasons)) for p in run.proposals.all()
    )


def status(run: MatchRun) -> str:
    run.refresh_from_db()
    return run.status


def test_a_worker_killed_mid_block_costs_a_rerun_of_that_block_and_the_result_is_unchanged(
    queue,  # noqa: F811
    cohort,
    tmp_path,
    monkeypatch,
):
    undisturbed = matchrun.execute(MatchRun.objects.create(cohort=cohort).pk, spread=False)
    assert undisturbed.status == MatchRun.Status.DONE
    expected = proposals(undisturbed)
    left_out = sorted(undisturbed.unmatched.values_list("mentee_id", "reason"))
    assert len(expected) > 10 and left_out
    MatchRun.objects.filter(pk=undisturbed.pk).delete()  # one busy-or-latest run at a time

    monkeypatch.setattr(matchrun, "RESEND", matchrun.timedelta(seconds=3))
    with worker(queue, tmp_path / "a.log") as doomed, worker(queue, tmp_path / "b.log") as other:
        run = MatchRun.objects.create(cohort=cohort)
        tasks.run_matching.delay(run.pk)
        held = MatchStep.objects.filter(
            run=run, status="running", worker__contains=f":{doomed.pid}:"
        )
        wait_until(held.exists, "the first worker holds a block", timeout=60)
        (step,) = held
        os.kill(doomed.pid, signal.SIGKILL)
        assert doomed.wait(10) == -signal.SIGKILL
        killed_at = time.monotonic()

        # Beat's sweep, every second here: the block goes back once its 4 s lease lapses.
        def swept_and_done() -> bool:
            matchrun.sweep_steps()
            return status(run) in (MatchRun.Status.DONE, MatchRun.Status.FAILED)

        wait_until(swept_and_done, "the run is done", timeout=120)
        assert other.poll() is None

    assert run.status == MatchRun.Status.DONE, run.error
    assert proposals(run) == expected
    assert sorted(run.unmatched.values_list("mentee_id", "reason")) == left_out
    step.refresh_from_db()
    assert step.status == "done" and step.attempts == 2
    assert f":{doomed.pid}:" not in step.worker and f":{other.pid}:" in step.worker
    blocks = run.steps.filter(kind=MatchStep.Kind.SCORE)
    assert blocks.count() == 7 and not blocks.exclude(status="done").exists()
    assert run.stats["steps"]["reruns"] >= 1
    assert time.monotonic() - killed_at < 60
