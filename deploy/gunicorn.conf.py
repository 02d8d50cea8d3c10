"""gunicorn's settings wherever the app is served: `make serve` (scripts/serve), the compose file's
web service and the image's default command all pass `--config deploy/gunicorn.conf.py`.

The worker model, and why (README, "Serving"): a request here is CPU work in Python (templates,
the ORM) and NumPy (scoring a mentee against every mentor), with short waits on PostgreSQL and
Redis in between. So one process per core, each with a few threads: the threads cover those
waits, the processes the cores, and the threads of a process share its mentor features
(matching/loader.py keeps one copy per process, hundreds of MB at 5,000 mentors) and its
connections. Synchronous workers, one request per process, leave a core idle whenever a request
waits on the database, and multiply the memory by the number of processes.

The app is loaded, and the mentor features built, once in the master before it forks the
workers: they start at once, with the features already in memory (shared until written).

WEB_CONCURRENCY (processes) and WEB_THREADS (threads per process) override the choice."""

from __future__ import annotations

import gc
import logging
import os
import time

# Each process uses one core's worth of BLAS: with one BLAS thread per core in every process,
# a few concurrent scores would oversubscribe the cores many times over. Set here, before the
# app imports NumPy (mentorship/wsgi.py sets the same for servers without this file).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

wsgi_app = "mentorship.wsgi:application"
bind = [os.environ.get("WEB_BIND", "127.0.0.1:8000")]
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, CORES)))
threads = int(os.environ.get("WEB_THREADS", 4))
preload_app = True
# Browsers reuse their connection for the next click; the proxy in front does too.
keepalive = 5
timeout = 30
graceful_timeout = 20
accesslog = "-"
# No control socket: its default path is one per machine user, so a second server on the same
# machine (a test, a benchmark) would take it over. Nothing here uses gunicornc.
control_socket_disable = True


def _mentor_features(log: logging.Logger, who: str) -> None:
    """Build (or check) this process's mentor features, so that nobody's Find a mentor waits
    seconds for them; then close what this thread opened (requests run on the workers' threads,
    each with its own connection)."""
    from django.db import connections

    from matching import loader

    started = time.monotonic()
    try:
        features = loader.mentor_features()
    except Exception as error:  # a database or cache still starting: the first request builds
        log.warning("%s: mentor features not built: %r", who, error)
    else:
        took = time.monotonic() - started
        log.info("%s ready: %s mentors in %.1fs", who, len(features), took)
    finally:
        connections.close_all()


def when_ready(server) -> None:
    """In the master, before any worker is forked: what is built here every worker inherits."""
    _mentor_features(server.log, "Master")
    # Kept out of the collector's full passes, which would otherwise walk every mentor's words
    # in each worker while all its threads wait, and write to pages the workers share.
    gc.freeze()


def post_worker_init(worker) -> None:
    """A worker forked later (one replaced after a crash) may inherit features that have gone
    stale since: it checks them before its first request, and rebuilds them if so."""
    _mentor_features(worker.log, f"Worker {worker.pid}")
