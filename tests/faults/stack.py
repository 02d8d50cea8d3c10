"""The production stack as real processes on this machine, for the fault tests: a private
`redis-server` the test can stop and start again, gunicorn serving the app, a Celery worker and
beat, all on the test database, and an SMTP sink (aiosmtpd, in this process) that records every
message it accepts and can hold the next one mid-transaction.

Every process runs in a session of its own, so a SIGKILL of its group kills what it forked too,
and every one is stopped within bounded time on the way out."""

from __future__ import annotations

import asyncio
import http.client
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings

from tests.conftest import IN_CI

BASE_DIR = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent
PATH = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"  # the image's PATH: the venv first
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
HTTP_TIMEOUT = 25.0  # under gunicorn's 30 s worker timeout: a hung request is an error here

# The outbox in fast motion: the beat sweep every second, a lease of 6 s (longer than any hold
# of the sink below, as the real 120 s is longer than the SMTP timeout of 30 s) and retries
# after 1 s. The rest is production's settings, pointed at this machine (Stack.env).
OUTBOX = {"OUTBOX_SWEEP_SECONDS": "1", "EMAIL_LEASE_SECONDS": "6", "EMAIL_RETRY_SECONDS": "1"}


def program(name: str) -> str:
    """A program the stack needs; missing, it fails the test in CI and skips it elsewhere."""
    found = shutil.which(name, path=PATH)
    if not found:
        message = f"{name} is not on PATH: the fault tests start it for real"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting until {what}")


def database_url(application_name: str) -> str:
    """The test database as a DATABASE_URL, its connections named so that a test can find them
    in pg_stat_activity (and terminate only those)."""
    db = settings.DATABASES["default"]
    assert "postgresql" in db["ENGINE"], "the fault tests run on PostgreSQL: set DATABASE_URL"
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = quote(db.get("HOST") or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    name = quote(db["NAME"], safe="")
    return f"postgres://{credentials}{host}{port}/{name}?application_name={application_name}"


# --- Processes ---------------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """kill -9, of the process and everything it forked (a prefork pool, say)."""
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        """SIGTERM, as a process manager stops it; SIGKILL when it takes too long."""
        if self.alive():
            self.popen.terminate()
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(STOP_TIMEOUT)
        self.kill()  # anything left in its group, and the leader when it did not stop

    def wait_for(self, condition: Callable[[], object], what: str) -> None:
        def done_or_dead() -> bool:
            return bool(condition()) or not self.alive()

        wait_until(done_or_dead, f"{self.name}: {what}", STARTUP_TIMEOUT)
        assert self.alive(), f"{self.name} exited with {self.popen.returncode}:\n{self.text()}"


def spawn(name: str, argv: list[str], env: dict[str, str], log: Path) -> Process:
    with log.open("ab") as out:
        popen = subprocess.Popen(
            [program(argv[0]), *argv[1:]],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Process(name, popen, log)


class RedisServer:
    """A redis-server of the test's own, without persistence: stopping it loses every queued
    task, as a crashed or replaced Redis would."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: Process | None = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.exceptions.ConnectionError:
            return False

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        self.process = spawn("redis", argv, {"PATH": PATH}, self.directory / "redis.log")
        self.process.wait_for(self.answers, "answers PING")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        assert not self.answers()


@dataclass(frozen=True)
class Received:
    message_id: str
    to: tuple[str, ...]
    subject: str


class Sink:
    """The SMTP server the app sends to. `hold_next()` makes the next transaction wait after
    MAIL FROM, at RCPT TO, until `release()`: the sender is then mid-send, nothing accepted yet."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.holding = threading.Event()
        self._release = threading.Event()
        self._hold_next = False
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per command
        self._controller.start()

    def stop(self) -> None:
        self.release()
        self._controller.stop()

    def reset(self) -> None:
        """Forget what was received and hold nothing: a new test begins."""
        self._hold_next = False
        self.release()
        with self._lock:
            self.received.clear()

    def hold_next(self) -> None:
        self._release.clear()
        self.holding.clear()
        self._hold_next = True

    def release(self) -> None:
        self._release.set()

    def message_ids(self) -> Counter:
        with self._lock:
            return Counter(message.message_id for message in self.received)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self._hold_next:
            self._hold_next = False
            self.holding.set()
            while not self._release.is_set():
                await asyncio.sleep(0.02)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        with self._lock:
            self.received.append(
                Received(message["Message-ID"], tuple(envelope.rcpt_tos), str(message["Subject"]))
            )
        return "250 Message accepted for delivery"


# --- HTTP --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    method: str
    path: str
    status: int  # 0: no answer at all (connection reset, time-out)
    location: str = ""
    body: bytes = b""


@dataclass
class Browser:
    """A signed-in person speaking HTTP to gunicorn: their session and CSRF cookies."""

    port: int
    session: str
    csrf: str
    answers: list[Answer] = field(default_factory=list)

    def request(self, method: str, path: str, data: dict | None = None) -> Answer:
        headers = {
            "Host": "127.0.0.1",
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={self.session}; "
            f"{settings.CSRF_COOKIE_NAME}={self.csrf}",
        }
        body = None
        if data is not None:
            body = urlencode({**data, "csrfmiddlewaretoken": self.csrf}, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            answer = Answer(
                method, path, response.status, response.getheader("Location", ""), response.read()
            )
        except (OSError, http.client.HTTPException) as error:
            answer = Answer(method, path, 0, body=repr(error).encode())
        finally:
            conn.close()
        self.answers.append(answer)
        return answer

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, data: dict) -> Answer:
        return self.request("POST", path, data)


# --- The stack ---------------------------------------------------------------------------------


ACCESS_STATUS = re.compile(r'"[A-Z]+ (\S+) HTTP/[\d.]+" (\d{3}) ')


class Stack:
    """Redis, the sink, gunicorn, a worker and beat, shared by the tests of a module: starting
    them takes longer than most faults (each process imports the app). `begin_test()` puts back
    whatever a test stopped and forgets what it saw."""

    def __init__(self, directory: Path, static_root: Path) -> None:
        self.directory = directory
        self.static_root = static_root
        self.redis = RedisServer(directory)
        self.sink = Sink()
        self.web_port = free_port()
        self.access_log = directory / "access.log"
        self.access_offset = 0
        self.web: Process | None = None
        self.worker: Process | None = None
        self.beat: Process | None = None
        self.workers_started = 0
        self.started: list[Process] = []  # every process of the app, to stop them all

    def env(self, role: str) -> dict[str, str]:
        """The settings of production, pointed at this machine's test services. Nothing of this
        process's environment that steers the settings is passed on."""
        steering = ("DJANGO_", "SECURE_", "CELERY_", "EMAIL_", "SESSION_", "CSRF_", "CACHE")
        base = {k: v for k, v in os.environ.items() if not k.startswith(steering)}
        return {
            **base,
            **OUTBOX,
            "PATH": PATH,
            "DEBUG": "false",
            "SECRET_KEY": settings.SECRET_KEY,  # the sessions the test creates are signed with it
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url(f"faults-{role}"),
            "CONN_MAX_AGE": "60",  # kept between requests, so a terminated one is met again
            "REDIS_URL": self.redis.url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_URL": f"smtp://127.0.0.1:{self.sink.port}",
            "EMAIL_KEEP_SENT_BODIES": "true",  # so a test can tie each email to its request
            "STATIC_ROOT": str(self.static_root),
            "SECURE_SSL_REDIRECT": "false",  # plain HTTP from the test, no proxy in front
            "LOG_LEVEL": "INFO",
        }

    def start_web(self) -> Process:
        argv = ["gunicorn", "mentorship.wsgi:application", "--bind", f"127.0.0.1:{self.web_port}"]
        argv += ["--workers", "2", "--access-logfile", str(self.access_log)]
        # Its control socket of its own: the default path is one per machine user.
        argv += ["--graceful-timeout", "5", "--control-socket", str(self.directory / "ctl")]
        self.web = self._spawn("gunicorn", argv, "web", self.directory / "web.log")
        return self.web

    def start_worker(self) -> Process:
        """`celery -A mentorship worker` as production runs it, with a pool of two."""
        self.workers_started += 1
        name = f"faults{self.workers_started}@%h"
        argv = ["celery", "-A", "mentorship", "worker", "--loglevel=INFO", "--concurrency", "2"]
        # No neighbours to meet on a private Redis: skip the second of waiting for them.
        argv += ["--hostname", name, "--without-mingle", "--without-gossip"]
        log = self.directory / f"worker{self.workers_started}.log"
        self.worker = self._spawn("worker", argv, "worker", log)
        return self.worker

    def start_beat(self) -> Process:
        schedule = self.directory / "celerybeat-schedule"
        argv = [
            "celery",
            "-A",
            "mentorship",
            "beat",
            "--loglevel=INFO",
            "--schedule",
            str(schedule),
        ]
        self.beat = self._spawn("beat", argv, "beat", self.directory / "beat.log")
        return self.beat

    def _spawn(self, name: str, argv: list[str], role: str, log: Path) -> Process:
        process = spawn(name, argv, self.env(role), log)
        self.started.append(process)
        return process

    def stop(self) -> None:
        """Every process of the app, the newest first (a dead one only has its group swept)."""
        for process in reversed(self.started):
            process.stop()

    def web_answers(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=2)
        try:
            conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def wait_for_worker(self) -> None:
        assert self.worker is not None
        self.worker.wait_for(lambda: " ready." in self.worker.text(), "ready")

    def restart_worker_if_it_stops(self) -> bool:
        """Wait until the worker is connected to Redis again or has exited; start a new one,
        as the process manager would, when it exited. True when it had to."""
        worker = self.worker
        assert worker is not None

        def reconnected_or_exited() -> bool:
            since_the_loss = worker.text().rpartition("Connection to broker lost")[2]
            return "Connected to redis" in since_the_loss or not worker.alive()

        wait_until(reconnected_or_exited, "the worker reconnects or exits", 60)
        if worker.alive():
            return False
        self.start_worker()
        self.wait_for_worker()
        return True

    def sweeps_done(self) -> int:
        """How many outbox sweeps the current worker finished."""
        assert self.worker is not None
        return len(
            re.findall(r"profiles\.tasks\.sweep_outbox\[[^\]]+\] succeeded", self.worker.text())
        )

    def wait_for_sweeps(self, count: int = 2) -> None:
        """Until the worker has run `count` more sweeps: beat and worker are through with
        whatever fault came before, and any row still due would have gone out."""
        target = self.sweeps_done() + count
        wait_until(lambda: self.sweeps_done() >= target, f"{count} more outbox sweeps ran", 60)

    def begin_test(self) -> None:
        """Redis running, a live worker, the sink empty and holding nothing; the access log read
        from here on."""
        self.sink.reset()
        if not self.redis.answers():
            self.redis.start()
        assert self.web is not None and self.web.alive(), self.logs()
        assert self.beat is not None and self.beat.alive(), self.logs()
        if self.worker is None or not self.worker.alive():
            self.start_worker()
            self.wait_for_worker()
        self.access_offset = self.access_log.stat().st_size if self.access_log.exists() else 0

    def statuses(self) -> list[tuple[str, int]]:
        """(path, status) of every request in gunicorn's access log since the test began."""
        if not self.access_log.exists():
            return []
        with self.access_log.open("rb") as log:
            log.seek(self.access_offset)
            text = log.read().decode(errors="replace")
        return [(path, int(status)) for path, status in ACCESS_STATUS.findall(text)]

    def browser(self, session: str, csrf: str) -> Browser:
        return Browser(self.web_port, session, csrf)

    def logs(self) -> str:
        """Every log of the stack, for an assertion's message."""
        parts = []
        for log in sorted(self.directory.glob("*.log")):
            parts.append(f"--- {log.name} ---\n{log.read_text(errors='replace')[-6000:]}")
        return "\n".join(parts)


@contextmanager
def running_stack(directory: Path, static_root: Path) -> Iterator[Stack]:
    """Everything started at once and waited for together; everything stopped on the way out,
    the sink released first so that no process waits on it."""
    stack = Stack(directory, static_root)
    with ExitStack() as cleanup:
        cleanup.callback(lambda: stack.redis.stop())
        stack.redis.start()
        cleanup.callback(stack.sink.stop)
        stack.sink.start()
        cleanup.callback(stack.stop)
        cleanup.callback(stack.sink.release)
        web, beat = stack.start_web(), stack.start_beat()
        stack.start_worker()
        web.wait_for(stack.web_answers, "answers /healthz")
        stack.wait_for_worker()
        beat.wait_for(lambda: "beat: Starting..." in beat.text(), "started")
        yield stack
