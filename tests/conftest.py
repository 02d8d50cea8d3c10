"""Shared fixtures. Tests run on real PostgreSQL and Redis; in CI (CI=true) a missing service is
a failure, never a skip."""

import importlib
import os
import uuid

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings as django_settings

from mentorship.celery import app as celery_app
from profiles.models import User

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PASSWORD = "a-long-test-password-42"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fail loudly, before any test runs, when the real services are not what CI promises."""
    if not IN_CI:
        return
    engine = django_settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.exit(f"CI must run on PostgreSQL, but DATABASE_URL gives {engine}.", returncode=3)
    if not django_settings.REDIS_URL:
        pytest.exit("CI must run with Redis, but REDIS_URL is unset.", returncode=3)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Data migrations seed the skills taxonomy, but a transactional test flushes every table and,
    with --reuse-db, the next session would start without it: put it back when it is missing."""

    with django_db_blocker.unblock():
        ensure_skills()


def ensure_skills() -> None:
    from django.apps import apps

    from profiles.models import Skill

    if not Skill.objects.exists():
        taxonomy = importlib.import_module("profiles.migrations.0003_skill_taxonomy")
        taxonomy.add_skills(apps, None)
    if not Skill.related.through.objects.exists():
        relations = importlib.import_module("profiles.migrations.0005_skill_relations")
        relations.relate(apps, None)


@pytest.fixture(autouse=True)
def _skills_after_flush(request):
    """A transactional test starts from tables another one flushed: put the taxonomy back."""
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
        ensure_skills()


@pytest.fixture(autouse=True)
def _isolated_services(settings):
    """Each test gets its own cache namespace on the real Redis (so rate limits of one test do not
    leak into the next), plain static storage (no collectstatic manifest), and eager Celery: the
    real task code runs inline. Tests that need a real worker turn eagerness off themselves."""
    caches = {**settings.CACHES}
    caches["default"] = {**caches["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    settings.CACHES = caches
    # Tests speak plain HTTP to the test server; tests/deploy checks the HTTPS settings.
    settings.SECURE_SSL_REDIRECT = False
    # A fast hasher: hundreds of users get passwords in tests; production keeps PBKDF2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def make_person(email: str, *, name: str, staff: bool = False) -> User:
    user = User.objects.create_user(email, PASSWORD, name=name, is_staff=staff)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@pytest.fixture
def member(db) -> User:
    """A signed-up person with a verified address and no special rights."""
    return make_person("maya@example.org", name="Maya Member")


@pytest.fixture
def outsider(db) -> User:
    """Another ordinary person, who must never see the member's things."""
    return make_person("otto@example.org", name="Otto Outsider")


@pytest.fixture
def staff(db) -> User:
    return make_person("sam@example.org", name="Sam Staff", staff=True)
