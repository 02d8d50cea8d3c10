"""Real `celery worker` processes for tests and benchmarks: on a queue of the caller's own and
the test database, started the way production starts one (solo pool here), with settings
given through the environment, as `make serve` and the compose file give them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings
from django.db import connection


@cache
def broker() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def wait_until(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting until {what}")


# argv: queue, key (set on Redis as "<key>:ready" once ready), lease and heartbeat (unless 0).
WORKER = """
import os, sys
from datetime import timedelta
import django
django.setup()
import redis
from celery.signals import worker_ready
from cohorts import matchrun
from mentorship.celery import app

queue, key, lease, heartbeat = sys.argv[1:5]
if float(lease):
    matchrun.LEASE = timedelta(seconds=float(lease))
    matchrun.HEARTBEAT = float(heartbeat)
app.conf.task_default_queue = queue
broker = redis.Redis.from_url(os.environ["REDIS_URL"])
worker_ready.connect(lambda **_: broker.set(key + ":ready", 1, ex=600), weak=False)
app.worker_main(["worker", "-Q", queue, "-P", "solo", "-n", key + "@%h", "--without-mingle",
                 "--without-gossip", "--without-heartbeat", "-l", "warning"])
"""


@contextmanager
def celery_worker(
    queue: str,
    log: Path,
    *,
    script: str = WORKER,
    key: str | None = None,
    env: dict[str, str] | None = None,
    lease: float = 0,
    heartbeat: float = 0,
) -> Iterator[subprocess.Popen]:
    """A worker process running `script` (argv as WORKER's), yielded once it is ready; `lease`
    and `heartbeat` (seconds) shorten matchrun's. On the way out: a warm shutdown, then SIGKILL
    after 20 s."""
    key = key or f"worker-{uuid.uuid4().hex[:12]}"
    url = urlsplit(os.environ["DATABASE_URL"])
    environment = {
        **os.environ,
        "DATABASE_URL": urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"])),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CACHE_KEY_PREFIX": f"test-{uuid.uuid4().hex}",  # no cache shared with anyone else
        "EMAIL_URL": "memorymail://",
        **(env or {}),
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", script, queue, key, str(lease), str(heartbeat)],
            env=environment,
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


def peak_mb(process: subprocess.Popen) -> float | None:
    """The process's peak resident memory so far (VmHWM), in MB; None off Linux."""
    try:
        with open(f"/proc/{process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
