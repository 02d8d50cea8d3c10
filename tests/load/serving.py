"""The parts of the web load benchmark (bench_serve.py): the people who click, `make serve`'s
processes on the test database, and the clicking itself.

The clicking is a small thread per person with one kept-alive HTTP connection each (standard
library only): it sleeps most of the time, so fifty of them cost the machine little next to the
server they measure."""

from __future__ import annotations

import http.client
import os
import random
import re
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.models import Q
from django.test import Client

from cohorts import matchrun
from cohorts.models import Cohort, MatchRun
from community.management.commands.seed_demo import DEMO_ADMIN_EMAIL
from matching.actions import NewPair, start_mentorships
from matching.models import Mentorship
from meetings.demo import COHORT_SLUG
from profiles.demo import DEMO_DOMAIN
from profiles.models import Goal, Profile, User
from tests.faults.stack import PATH, Process, database_url, free_port, spawn, wait_until

HTTP_TIMEOUT = 25.0  # under gunicorn's 30 s worker timeout
STARTUP_TIMEOUT = 90.0  # each web process builds its mentor features before it answers


def require_services() -> None:
    """PostgreSQL and Redis, or a failure that says so: this benchmark never skips."""
    import pytest

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.fail(f"the serving benchmark runs on PostgreSQL: DATABASE_URL gives {engine}")
    if not settings.REDIS_URL:
        pytest.fail("the serving benchmark needs Redis: set REDIS_URL")
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as error:
        pytest.fail(f"Redis at REDIS_URL does not answer: {error!r}")


# --- The people ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    """A signed-in person and the pages they click through, each as (kind, path)."""

    role: str
    session: str
    pages: tuple[tuple[str, str], ...]


def _signed_in(user: User) -> str:
    """A session in the database the server reads, made without the login form (whose rate
    limits would refuse fifty sign-ins from one address)."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def prepare(*, mentors: int, mentees: int, visitors: int) -> list[Visitor]:
    """seed_demo at this size, the demo cohort matched (so its review page has proposals), a
    pair for most of the mentees who will click, and `visitors` people signed in: about seven in
    ten mentees, two in ten mentors, the rest the demo cohort's admin."""
    call_command("seed_demo", mentors=mentors, mentees=mentees, force=True, stdout=StringIO())
    cohort = Cohort.objects.get(slug=COHORT_SLUG)
    run = matchrun.execute(MatchRun.objects.create(cohort=cohort).pk)
    assert run.status == MatchRun.Status.DONE, run.error

    admins = max(1, visitors // 10)
    mentor_count = max(1, visitors // 5)
    mentee_count = visitors - admins - mentor_count
    demo = User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}").order_by("pk")
    # Past the people seed_demo put in the cohort and in its own pairs.
    open_goals = Q(goals__status=Goal.Status.OPEN)
    chosen_mentees = list(
        demo.filter(open_goals, profile__is_mentee=True, profile__is_mentor=False).distinct()[
            40 : 40 + mentee_count
        ]
    )
    chosen_mentors = list(
        demo.filter(profile__is_mentor=True, offer__accepting_requests=True).order_by(
            "-offer__capacity", "pk"
        )[:mentor_count]
    )
    goal_of = {
        goal.owner_id: goal.pk
        for goal in Goal.objects.open().filter(owner__in=chosen_mentees).order_by("-pk")
    }
    started = start_mentorships(
        pairs=[
            NewPair(
                mentee_id=mentee.pk,
                mentor_id=chosen_mentors[i % len(chosen_mentors)].pk,
                goal_ids=(goal_of[mentee.pk],),
            )
            for i, mentee in enumerate(chosen_mentees)
        ],
        source=Mentorship.Source.REQUEST,
        introduce=False,
    )
    pair_of: dict[int, int] = {}
    for pair in started.mentorships:
        pair_of.setdefault(pair.mentee_id, pair.pk)
        pair_of.setdefault(pair.mentor_id, pair.pk)
    mentor_pages = list(
        demo.filter(profile__is_mentor=True).values_list("pk", flat=True)[: min(mentors, 50)]
    )

    people: list[Visitor] = []
    for i, mentee in enumerate(chosen_mentees):
        pages = [
            ("dashboard", "/"),
            ("find", "/mentors/" if i % 2 else "/mentors/?page=2"),
            ("mentor", f"/mentors/{mentor_pages[i % len(mentor_pages)]}/"),
        ]
        if mentee.pk in pair_of:
            pages.append(("pair", f"/pairs/{pair_of[mentee.pk]}/"))
        people.append(Visitor("mentee", _signed_in(mentee), tuple(pages)))
    for mentor in chosen_mentors:
        pages = [("dashboard", "/")]
        if mentor.pk in pair_of:
            pages.append(("pair", f"/pairs/{pair_of[mentor.pk]}/"))
        people.append(Visitor("mentor", _signed_in(mentor), tuple(pages)))
    admin = User.objects.get(email=DEMO_ADMIN_EMAIL)
    # Someone who has used the site has a profile: the dashboard makes one on a first visit, and
    # saving any profile has every web process rebuild its mentor features (matching/signals.py).
    Profile.objects.get_or_create(user=admin)
    review = ("review", f"/cohorts/{COHORT_SLUG}/review/")
    for _ in range(admins):
        people.append(Visitor("admin", _signed_in(admin), (("dashboard", "/"), review)))
    # The tables as autovacuum leaves them a minute after a bulk load (statistics for the
    # planner, pages marked visible): else the first seconds of the run pay for both.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return people


# --- The server --------------------------------------------------------------------------------


def serve_env(static_root: Path) -> dict[str, str]:
    """Production's settings, pointed at the test database and REDIS_URL, over plain HTTP. Nothing
    of this process's environment that steers the settings is passed on."""
    steering = ("DJANGO_", "SECURE_", "CELERY_", "EMAIL_", "SESSION_", "CSRF_", "CACHE", "WEB_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(steering)}
    return {
        **base,
        "PATH": PATH,
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,  # the sessions made here are signed with it
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url("bench-serve"),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_URL": "consolemail://",
        "STATIC_ROOT": str(static_root),
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP from here, no proxy in front
    }


@contextmanager
def serving(directory: Path, static_root: Path, *, settled: bool = True) -> Iterator[int]:
    """`make serve`'s processes (scripts/serve: gunicorn, a Celery worker and beat) on a free
    port, once every web process has built its mentor features (its log line, see
    deploy/gunicorn.conf.py) and, when `settled`, the Celery worker is ready too, so that no
    start-up work is measured. Stopped, with all they forked, on the way out."""
    port = free_port()
    argv = ["python", "scripts/serve", "--no-setup", "--bind", f"127.0.0.1:{port}"]
    argv += ["--schedule", str(directory / "celerybeat-schedule")]
    process: Process = spawn("serve", argv, serve_env(static_root), directory / "serve.log")
    try:
        wait_until(
            lambda: _started(process.text(), settled=settled) or not process.alive(),
            "make serve's processes are up",
            STARTUP_TIMEOUT,
        )
        assert process.alive() and _answers(port), process.text()[-6000:]
        yield port
    finally:
        process.stop()


def _started(log: str, *, settled: bool) -> bool:
    web = re.search(r"gunicorn, (\d+) processes", log)
    built = re.findall(r"Worker \d+( ready:|: mentor features not built)", log)
    worker = not settled or re.search(r"@\S+ ready\.", log)
    return bool(web and len(built) >= int(web.group(1)) and worker)


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


# --- The clicking ------------------------------------------------------------------------------


@dataclass
class Figures:
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)

    @property
    def all(self) -> list[float]:
        return [t for times in self.latencies.values() for t in times]

    @property
    def requests(self) -> int:
        return len(self.all) + len(self.errors)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @staticmethod
    def percentile(times: list[float], share: float) -> float:
        if not times:
            return 0.0
        if len(times) == 1:
            return times[0]
        return statistics.quantiles(times, n=100, method="inclusive")[round(share * 100) - 1]

    def report(self) -> str:
        lines = [
            f"{self.requests} requests in {self.seconds:.0f}s: {self.per_second:.1f} requests/s, "
            f"p50 {self.percentile(self.all, 0.5) * 1000:.0f} ms, "
            f"p95 {self.percentile(self.all, 0.95) * 1000:.0f} ms, {len(self.errors)} errors"
        ]
        for kind, times in sorted(self.latencies.items()):
            lines.append(
                f"  {kind:<10} {len(times):>5}  p50 {self.percentile(times, 0.5) * 1000:>5.0f} ms"
                f"  p95 {self.percentile(times, 0.95) * 1000:>5.0f} ms"
            )
        return "\n".join(lines)


def click(
    port: int, visitors: list[Visitor], *, seconds: float, think: tuple[float, float]
) -> Figures:
    """Every visitor clicks through their pages for `seconds`, thinking `think` seconds (drawn
    uniformly) between clicks; a click counts when it was sent within the time. Anything but a
    200 is an error."""
    figures = Figures(seconds)
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + seconds

    def visit(visitor: Visitor, rng: random.Random) -> None:
        cookie = f"{settings.SESSION_COOKIE_NAME}={visitor.session}"
        headers = {"Host": "127.0.0.1", "Cookie": cookie}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
        time.sleep(rng.uniform(0, think[1]))  # people arrive over a moment, not all at once
        try:
            while time.monotonic() < deadline:
                kind, path = rng.choice(visitor.pages)
                sent = time.perf_counter()
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException) as error:
                    conn.close()  # reconnects on the next request
                    status, kind = 0, f"{kind}: {error!r}"
                elapsed = time.perf_counter() - sent
                with lock:
                    if status == 200:
                        figures.latencies[kind].append(elapsed)
                    else:
                        figures.errors.append(f"{status} {path} ({visitor.role}) {kind}")
                time.sleep(rng.uniform(*think))
        finally:
            conn.close()

    threads = [
        threading.Thread(target=visit, args=(visitor, random.Random(i)), daemon=True)
        for i, visitor in enumerate(visitors)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + HTTP_TIMEOUT + think[1] + 5)
    return figures
