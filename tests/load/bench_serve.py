"""Web throughput: `make serve`'s processes (scripts/serve: gunicorn as deploy/gunicorn.conf.py
sets it up, a Celery worker and beat) on PostgreSQL and Redis, driven by signed-in people clicking
through the pages loaded most: Find a mentor, the dashboard, a mentor's page, the pair's page and
cohort review.

Full size (`make bench`): seed_demo --mentors 5000 --mentees 20000, the demo cohort matched,
50 people (mentees with a pair, mentors, the cohort's admin) clicking for 60 s with 0.5-1.5 s of
thought between clicks. The target: at least 40 requests/s, p95 under 500 ms, no errors (before
this was tuned: 10.4 requests/s, p95 6.9 s, with 2 synchronous gunicorn workers).

Tiny (`make test`): a small seed, six people for a few seconds; no figures asserted, only that
every page answers 200 under the real processes, so the benchmark cannot rot. PostgreSQL and
Redis are required: missing, the test fails, it never skips.

The people are signed in without the login form (Client.force_login writes their sessions to the
database the server reads): allauth's rate limits would refuse fifty sign-ins from one address.
The load generator is a thread per person on the same machine (tests/load/serving.py)."""

from __future__ import annotations

import json
import runpy

from tests.deploy.test_compose import BASE_DIR, command, dockerfile
from tests.faults.conftest import static_root  # noqa: F401 (collectstatic once, as the image)
from tests.load.conftest import FULL
from tests.load.serving import click, prepare, require_services, serving

if FULL:
    MENTORS, MENTEES, VISITORS, SECONDS, THINK = 5000, 20000, 50, 60.0, (0.5, 1.5)
else:
    MENTORS, MENTEES, VISITORS, SECONDS, THINK = 20, 60, 6, 2.0, (0.05, 0.15)
TARGET_PER_SECOND, TARGET_P95 = 40.0, 0.5


def test_the_pages_people_load_most_under_fifty_people(
    benchmark,
    transactional_db,
    static_root,  # noqa: F811 (the fixture imported above)
    tmp_path,
):
    require_services()
    visitors = prepare(mentors=MENTORS, mentees=MENTEES, visitors=VISITORS)
    kinds = {kind for visitor in visitors for kind, _ in visitor.pages}
    assert kinds == {"dashboard", "find", "mentor", "pair", "review"}, kinds

    with serving(tmp_path, static_root, settled=FULL) as port:
        if FULL:  # the first render of each template is not what people wait for later
            click(port, visitors[:1] + visitors[-1:], seconds=0.5, think=(0, 0))
        figures = benchmark.pedantic(
            click, args=(port, visitors), kwargs={"seconds": SECONDS, "think": THINK}, rounds=1
        )

    print(f"\nmake serve, {VISITORS} people, seed {MENTORS}/{MENTEES}: {figures.report()}")
    assert not figures.errors, figures.errors[:20]
    assert set(figures.latencies) == kinds, "every page was loaded"
    if FULL:
        benchmark.extra_info["requests_per_second"] = round(figures.per_second, 1)
        benchmark.extra_info["p95_ms"] = round(figures.percentile(figures.all, 0.95) * 1000)
        assert figures.per_second >= TARGET_PER_SECOND, figures.report()
        assert figures.percentile(figures.all, 0.95) < TARGET_P95, figures.report()


def test_make_serve_runs_what_the_compose_file_runs():
    """The same programs, arguments and gunicorn settings, whichever way production is run;
    only where each listens and keeps its schedule is the machine's."""
    serve = runpy.run_path(str(BASE_DIR / "scripts" / "serve"))
    ours = serve["commands"](bind="0.0.0.0:8000", schedule="/tmp/celerybeat-schedule")
    assert ours == {name: command(name) for name in ("web", "worker", "beat")}
    assert json.loads(dockerfile("CMD")[-1]) == ours["web"]
