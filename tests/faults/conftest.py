"""The stack of real processes the fault tests run against (see stack.py): started once for the
module, put back in order before each test."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.stack import BASE_DIR, PATH, Stack, program, running_stack


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:
    """collectstatic, as the image's build runs it: gunicorn with DEBUG off serves hashed files
    and renders no page (not even the 503 page) without their manifest."""
    root = tmp_path_factory.mktemp("static")
    steering = ("DJANGO_", "SECURE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(steering)}
    env.update(PATH=PATH, DEBUG="false", SECRET_KEY="collectstatic", STATIC_ROOT=str(root))
    result = subprocess.run(
        [program("python"), "manage.py", "collectstatic", "--no-input"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.fixture(scope="module")
def running(django_db_setup, static_root, tmp_path_factory) -> Iterator[Stack]:
    """Redis, the SMTP sink, gunicorn, a worker and beat on the test database."""
    with running_stack(tmp_path_factory.mktemp("stack"), static_root) as stack:
        yield stack


@pytest.fixture
def stack(transactional_db, running: Stack) -> Iterator[Stack]:
    """The running stack, with Redis and a worker up and the sink empty, for one test."""
    running.begin_test()
    yield running
    running.sink.release()  # nothing waits on the sink while the tables are flushed
