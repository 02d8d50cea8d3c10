"""Browser tests: Playwright drives Debian's Chromium (never a downloaded one) against
pytest-django's live server."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings
from pytest_django.live_server_helper import LiveServer

from tests.conftest import IN_CI

# Playwright's sync API keeps an event loop running in this thread, so Django would refuse the
# ORM calls a test makes (SynchronousOnlyOperation) while a browser is open.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright's launch options, pointed at the system Chromium. Without it the browser
    tests are skipped on a workstation and fail in CI."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        message = (
            f"Browser tests need Debian's Chromium at {CHROMIUM} "
            "(apt-get install chromium); Playwright's own browsers are not used."
        )
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """pytest-django's live server, built while SECURE_SSL_REDIRECT is off.

    SecurityMiddleware reads SECURE_SSL_REDIRECT once, when the server thread builds its handler;
    the session-scoped server starts before tests/conftest.py turns the redirect off for each
    test, so without this every page would answer with a redirect to https://."""
    addr = (
        request.config.getvalue("liveserver")
        or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost"
    )
    with override_settings(SECURE_SSL_REDIRECT=False):
        server = LiveServer(addr)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    """Browser contexts resolve relative URLs against the live server: page.goto("/")."""
    return live_server.url


@pytest.fixture(autouse=True)
def _links_point_at_the_live_server(settings, live_server: LiveServer) -> None:
    """Emails link to SITE_URL (allauth's too): in the browser tests that is the live server, so a
    link read from an email opens in the app under test."""
    settings.SITE_URL = live_server.url
