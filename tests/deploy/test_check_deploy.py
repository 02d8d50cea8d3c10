"""Production settings pass Django's deployment checks, and every page carries a strict CSP."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.test import Client
from django.urls import reverse

BASE_DIR = Path(settings.BASE_DIR)


def production_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_"))}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="mentorship.example.org",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres:///test"),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.org:587",
        BEHIND_PROXY="true",
    )
    return env


def test_check_deploy_passes_at_warning_level_with_production_environment():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_without_an_email_url():
    env = production_environment()
    del env["EMAIL_URL"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "mentorship.E001" in result.stderr and "EMAIL_URL is not set" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = production_environment()
    env["SECRET_KEY"] = ""
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_makemigrations_check_needs_no_environment():
    """Checking for missing migrations reads only the code: it runs with nothing set."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_every_page_sends_a_csp_whose_scripts_need_a_nonce(client, db):
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    nonce = re.search(r"'nonce-([^']+)'", directives["script-src"]).group(1)
    scripts = re.findall(r"<script\b[^>]*>", response.text)
    assert scripts, "the page should load htmx"
    assert all(f'nonce="{nonce}"' in tag for tag in scripts), scripts
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


def test_htmx_is_served_locally_and_configured_to_never_eval(client, db):
    response = client.get("/")
    assert '"allowEval": false' in response.text
    assert re.search(r'<script[^>]+src="/static/django_htmx/htmx[^"]*\.js"', response.text)
    assert "https://" not in re.sub(r"https://testserver", "", response.text.split("</head>")[0])


def test_htmx_requests_carry_a_csrf_token_that_the_server_accepts(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    page = client.get("/", follow=True)
    token = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", page.text).group(1)

    without = client.post(reverse("account_logout"), headers={"HX-Request": "true"})
    with_token = client.post(
        reverse("account_logout"), headers={"HX-Request": "true", "X-CSRFToken": token}
    )

    assert without.status_code == 403
    assert with_token.status_code == 302
