"""docker-compose.yml and the Dockerfile hang together, and every project entry point they name is
real. No Docker engine is needed: the files are parsed, the entry points resolved in-process.
test_processes.py starts the same commands for real."""

import inspect
import json
import shlex
from functools import cache
from pathlib import Path

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from django.conf import settings
from django.core.management import get_commands
from django.db import OperationalError
from gunicorn.util import import_app

import mentorship

BASE_DIR = Path(settings.BASE_DIR)
APP_SERVICES = ("migrate", "web", "worker", "beat")
WSGI_ENTRY_POINT = "mentorship.wsgi:application"


@cache
def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def service(name: str) -> dict:
    return compose()["services"][name]


def command(name: str) -> list[str]:
    cmd = service(name)["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in (BASE_DIR / "Dockerfile").read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        logical.append(current)
        current = ""
    assert not current, "the Dockerfile ends in a line continuation"
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip()) for line in logical]


def dockerfile(instruction: str) -> list[str]:
    return [args for name, args in dockerfile_instructions() if name == instruction]


def test_the_stack_has_every_service():
    expected = {"db", "redis", "migrate", "web", "worker", "beat", "proxy"}
    assert set(compose()["services"]) >= expected


@pytest.mark.parametrize("name", ["web", "worker", "beat", "db", "redis"])
def test_long_running_services_have_a_healthcheck(name):
    check = service(name)["healthcheck"]
    assert check["test"][0] in {"CMD", "CMD-SHELL"}, check
    assert not check.get("disable")


@pytest.mark.parametrize(
    ("name", "needs"),
    [
        ("migrate", {"db": "service_healthy"}),
        (
            "web",
            {
                "migrate": "service_completed_successfully",
                "db": "service_healthy",
                "redis": "service_healthy",
            },
        ),
        (
            "worker",
            {
                "migrate": "service_completed_successfully",
                "db": "service_healthy",
                "redis": "service_healthy",
            },
        ),
        ("beat", {"redis": "service_healthy"}),
        ("proxy", {"web": "service_healthy"}),
    ],
)
def test_services_wait_for_what_they_need(name, needs):
    depends_on = service(name)["depends_on"]
    assert {dep: spec["condition"] for dep, spec in depends_on.items()} == needs


def test_migrate_runs_once_and_is_not_restarted():
    assert command("migrate") == ["python", "manage.py", "migrate", "--no-input"]
    assert service("migrate")["restart"] == "no"


def test_app_services_share_one_image_and_the_production_environment():
    images = {service(name)["image"] for name in APP_SERVICES}
    assert len(images) == 1
    assert all(service(name)["build"] == "." for name in APP_SERVICES)
    for name in APP_SERVICES:
        assert service(name)["environment"] == compose()["x-env"], name
    env = compose()["x-env"]
    assert env["DATABASE_URL"] == "postgres://mentorship:mentorship@db:5432/mentorship"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["DEBUG"] == "false"
    assert env["BEHIND_PROXY"] == "true"
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?"), "no default secret key, ever"
    assert env["ALLOWED_HOSTS"] == "${ALLOWED_HOSTS:-localhost}"
    assert env["EMAIL_URL"] == "${EMAIL_URL:-consolemail://}"


def test_only_the_proxy_publishes_ports():
    published = {name for name, svc in compose()["services"].items() if svc.get("ports")}
    assert published == {"proxy"}


def test_the_database_matches_the_database_url():
    env = service("db")["environment"]
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]) == (
        "mentorship",
        "mentorship",
        "mentorship",
    )


def test_the_proxy_config_it_mounts_exists_and_forwards_to_web():
    proxy = service("proxy")
    mounts = [v for v in proxy["volumes"] if v.endswith(":/etc/caddy/Caddyfile:ro")]
    assert len(mounts) == 1
    caddyfile = BASE_DIR / mounts[0].split(":", 1)[0]
    assert caddyfile.is_file()
    assert "reverse_proxy web:8000" in caddyfile.read_text()
    web_bind = command("web")[command("web").index("--bind") + 1]
    assert web_bind == "0.0.0.0:8000"


# The project entry points that the commands name.


def wsgi_entry_points() -> list[str]:
    gunicorn_commands = [command("web"), json.loads(dockerfile("CMD")[-1])]
    assert all(cmd[0] == "gunicorn" for cmd in gunicorn_commands)
    return [cmd[1] for cmd in gunicorn_commands]


def test_web_and_the_image_default_serve_the_same_wsgi_application():
    assert wsgi_entry_points() == [WSGI_ENTRY_POINT, WSGI_ENTRY_POINT]


def test_the_wsgi_entry_point_is_a_wsgi_callable():
    application = import_app(WSGI_ENTRY_POINT)  # what gunicorn itself does with the argument
    assert callable(application)
    assert len(inspect.signature(application).parameters) == 2  # (environ, start_response)


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_celery_dash_a_resolves_to_the_project_app(name):
    cmd = command(name)
    assert cmd[0] == "celery"
    app = find_app(cmd[cmd.index("-A") + 1])  # what `celery -A` itself does with the argument
    assert isinstance(app, Celery)
    assert app is mentorship.celery_app
    assert cmd[cmd.index("-A") + 2] == name


def test_the_worker_healthcheck_pings_this_workers_own_node():
    test = service("worker")["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert shlex.split(test[1])[:4] == ["celery", "-A", "mentorship", "inspect"]
    assert "-d celery@$$HOSTNAME" in test[1]  # $$: a literal $ for the container's shell


def test_the_beat_healthcheck_looks_at_the_schedule_file_beat_writes():
    cmd = command("beat")
    schedule = cmd[cmd.index("--schedule") + 1]
    assert f"glob.glob('{schedule}*')" in service("beat")["healthcheck"]["test"][-1]


def test_manage_py_commands_exist():
    commands = get_commands()
    manage_py = [command("migrate")]
    manage_py += [shlex.split(run) for run in dockerfile("RUN") if "manage.py" in run]
    names = [cmd[cmd.index("manage.py") + 1] for cmd in manage_py]
    assert names == ["migrate", "collectstatic"]
    assert all(name in commands for name in names)


def test_the_web_healthcheck_runs_the_health_probe():
    test = service("web")["healthcheck"]["test"]
    assert test == ["CMD", "python", "-m", "mentorship.health"]
    from mentorship import health

    assert health.DEFAULT_URL == "http://127.0.0.1:8000/healthz"


# The Dockerfile.


def test_dockerfile_builds_a_locked_non_root_image():
    assert dockerfile("FROM") == ["python:3.12-slim"]
    runs = dockerfile("RUN")
    assert any('pip install --no-cache-dir "uv==0.13.8"' in run for run in runs)
    assert any(run.endswith("uv sync --locked --no-dev") for run in runs)
    assert "UV_PROJECT_ENVIRONMENT=/app/.venv" in " ".join(dockerfile("ENV"))
    assert dockerfile("COPY")[0] == "pyproject.toml uv.lock ./"
    assert dockerfile("EXPOSE") == ["8000"]
    user = dockerfile("USER")
    assert user and user[-1] not in {"root", "0"}
    assert [name for name, _ in dockerfile_instructions()][-3:] == ["USER", "EXPOSE", "CMD"]


def test_dockerfile_collects_static_files_with_a_build_only_secret():
    (collect,) = [run for run in dockerfile("RUN") if "collectstatic" in run]
    words = shlex.split(collect)
    assert "DEBUG=false" in words
    assert any(word.startswith("SECRET_KEY=") and len(word) > 20 for word in words)
    # Build-time only: no ENV line carries a secret key into the running containers.
    assert not any("SECRET_KEY" in env for env in dockerfile("ENV"))


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = {
        line.strip()
        for line in (BASE_DIR / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".env", "db.sqlite3", ".git"} <= ignored


# What the web healthcheck hits.


def test_health_answers_503_when_the_database_is_unreachable(client, monkeypatch):
    class Unreachable:
        def ensure_connection(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("mentorship.health.connection", Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error"}


def test_health_answers_ok_when_the_database_is_reachable(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response.headers["Cache-Control"]
