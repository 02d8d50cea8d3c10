"""The commands of docker-compose.yml, started for real on this machine: the same argv and
environment, with the machine-specific values overridden (the test database, the local Redis, a
random secret key, 127.0.0.1 and a free port instead of 0.0.0.0:8000).

No skips: PostgreSQL and Redis are required, and a missing one is a failure."""

import glob
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from tests.deploy.test_compose import command, dockerfile, service

BASE_DIR = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 30.0


def database_url() -> str:
    """The test database (test_test), as a DATABASE_URL the settings parse back."""
    db = settings.DATABASES["default"]
    assert "postgresql" in db["ENGINE"], "the deploy tests run on PostgreSQL: set DATABASE_URL"
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = quote(db.get("HOST") or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(db['NAME'], safe='')}"


def resolve(value: str) -> str:
    """Compose's ${VAR:-default}, with VAR taken as unset; ${VAR:?error} must be overridden."""

    def substitute(match: re.Match) -> str:
        name, operator, argument = match.groups()
        assert operator == ":-", f"{name} has no default in docker-compose.yml: override it"
        return argument

    return re.sub(r"\$\{(\w+)(:[-?])?([^}]*)\}", substitute, value)


def environment(name: str, **overrides: str) -> dict[str, str]:
    """The service's environment from docker-compose.yml, overridden for this machine, on top of
    this process's environment minus anything that would steer the settings."""
    assert settings.REDIS_URL, "the deploy tests need Redis: set REDIS_URL"
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_", "CELERY_"))
    }
    machine = {
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # the image's PATH: venv first
        **overrides,
    }
    compose_env = {
        key: resolve(str(value))
        for key, value in service(name)["environment"].items()
        if key not in machine
    }
    return {**base, **compose_env, **machine}


def executable(argv: list[str], env: dict[str, str]) -> list[str]:
    """argv with its program looked up on env's PATH, as the container does (the venv first)."""
    program = shutil.which(argv[0], path=env["PATH"])
    assert program, f"{argv[0]} is not on PATH"
    return [program, *argv[1:]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], bool], process: subprocess.Popen, log: Path, what: str):
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            pytest.fail(f"{what}: exited with {process.returncode}\n{log.read_text()}")
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {STARTUP_TIMEOUT:.0f}s\n{log.read_text()}")


@contextmanager
def running(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Start argv in its own process group; on the way out stop it (SIGTERM, then SIGKILL) and
    anything it forked, within bounded time."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            executable(argv, env),
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=5)
            with suppress(ProcessLookupError):  # stray children, if any survived their parent
                os.killpg(process.pid, signal.SIGKILL)


def run(argv: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        executable(argv, env),
        cwd=BASE_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def healthcheck(name: str) -> list[str]:
    """A service's healthcheck as argv; CMD-SHELL runs under sh, and $$ is compose's literal $."""
    test = service(name)["healthcheck"]["test"]
    if test[0] == "CMD-SHELL":
        return ["sh", "-c", test[1].replace("$$", "$")]
    assert test[0] == "CMD"
    return list(test[1:])


def get(
    port: int, path: str, timeout: float = 10, **headers: str
) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1", **headers})
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    """The Dockerfile's collectstatic step, run as written, into a temporary STATIC_ROOT."""
    root = tmp_path_factory.mktemp("static")
    (step,) = [args for args in dockerfile("RUN") if "collectstatic" in args]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_"))},
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "STATIC_ROOT": str(root),
    }
    for name in ("DEBUG", "SECRET_KEY"):  # the build has neither: the RUN line sets them
        env.pop(name, None)
    result = run(["sh", "-c", step], env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (root / "staticfiles.json").is_file()
    return root


def test_migrate_runs_against_the_database(transactional_db):
    result = run(command("migrate"), environment("migrate"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_gunicorn_serves_the_app_and_its_healthcheck(transactional_db, static_root, tmp_path):
    port = free_port()
    argv = command("web")
    bind = argv.index("--bind") + 1
    assert argv[bind] == "0.0.0.0:8000"
    argv[bind] = f"127.0.0.1:{port}"
    env = environment("web", STATIC_ROOT=str(static_root))
    log = tmp_path / "gunicorn.log"

    def answering() -> bool:
        """gunicorn listens before its workers have imported the app: wait for an answer."""
        try:
            get(port, "/healthz", timeout=2)
        except OSError:
            return False
        return True

    with running(argv, env, log) as process:
        wait_for(answering, process, log, "gunicorn")

        # The compose healthcheck, as docker would run it (on this port instead of 8000).
        check = run([*healthcheck("web"), f"http://127.0.0.1:{port}/healthz"], env)
        assert check.returncode == 0, check.stdout + check.stderr

        # What the proxy sends: X-Forwarded-Proto, trusted because BEHIND_PROXY=true.
        response, body = get(port, "/healthz", **{"X-Forwarded-Proto": "https"})
        assert response.status == 200, body
        assert json.loads(body) == {"status": "ok"}
        assert response.headers["Content-Type"] == "application/json"

        # Plain HTTP that did not come through the proxy is sent to HTTPS.
        response, _ = get(port, "/healthz")
        assert response.status == 301
        assert response.headers["Location"] == "https://127.0.0.1/healthz"

        # A page renders with the hashed static files, and whitenoise serves them.
        response, body = get(port, "/", **{"X-Forwarded-Proto": "https"})
        assert response.status == 200, body[:500]
        stylesheet = re.search(rb'href="(/static/css/app\.[0-9a-f]{12}\.css)"', body)
        assert stylesheet, body[:2000]
        response, css = get(port, stylesheet.group(1).decode(), **{"X-Forwarded-Proto": "https"})
        assert response.status == 200
        assert css

        assert process.poll() is None, log.read_text()

    # The probe fails when nothing answers: it is not a no-op.
    nobody = run([*healthcheck("web"), f"http://127.0.0.1:{free_port()}/healthz"], env)
    assert nobody.returncode == 1


@pytest.mark.celery_worker
def test_celery_worker_starts_and_answers_its_healthcheck(transactional_db, tmp_path):
    node = f"deploy-test-{uuid.uuid4().hex[:12]}"
    # Its own node name and queue: nothing else on this Redis reaches it, nor it them.
    argv = [*command("worker"), "--hostname", f"celery@{node}", "--queues", node]
    env = environment("worker", HOSTNAME=node)
    log = tmp_path / "worker.log"

    with running(argv, env, log) as process:
        wait_for(lambda: f"celery@{node} ready." in log.read_text(), process, log, "worker")

        check = run(healthcheck("worker"), env, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr + log.read_text()
        assert f"celery@{node}: OK" in check.stdout
        assert process.poll() is None, log.read_text()


@pytest.mark.celery_worker
def test_celery_beat_starts_and_passes_its_healthcheck(db, tmp_path):
    argv = command("beat")
    schedule = argv.index("--schedule") + 1
    in_image = argv[schedule]
    argv[schedule] = str(tmp_path / "celerybeat-schedule")
    env = environment("beat")
    check = [part.replace(in_image, argv[schedule]) for part in healthcheck("beat")]
    log = tmp_path / "beat.log"

    before = run(check, env, timeout=30)
    assert before.returncode != 0, "the healthcheck passes before beat ever ran"

    with running(argv, env, log) as process:
        wait_for(lambda: "beat: Starting..." in log.read_text(), process, log, "beat")
        wait_for(lambda: bool(glob.glob(f"{argv[schedule]}*")), process, log, "beat's schedule")

        after = run(check, env, timeout=30)
        assert after.returncode == 0, after.stdout + after.stderr + log.read_text()
        assert process.poll() is None, log.read_text()
