"""An event of a cohort, its admin, and people who joined the cohort."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cohorts.models import Cohort
from community import actions
from community.models import Event
from profiles.models import User
from tests.cohorts.conftest import enrol
from tests.conftest import make_person
from tests.matching.conftest import make_mentee


@pytest.fixture(autouse=True)
def _keep_email_bodies(settings):
    settings.EMAIL_KEEP_SENT_BODIES = True


@pytest.fixture
def admin(db) -> User:
    return make_person("ada@example.org", name="Ada Admin")


@pytest.fixture
def cohort(admin) -> Cohort:
    cohort = Cohort.objects.create(name="Spring mentoring", slug="spring")
    cohort.admins.add(admin)
    return cohort


def joiner(cohort: Cohort, n: int, *, tz: str = "Europe/Lisbon") -> User:
    person = make_mentee(f"p{n}@example.org", f"Person {n:02d}", tz=tz)
    enrol(cohort, person, "mentee")
    return person


def plan(cohort: Cohort, admin: User, *, capacity: int = 3, days: int = 7) -> Event:
    start = (timezone.now() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return actions.plan_event(
        organiser=admin,
        cohort=cohort,
        title="Giving and receiving feedback",
        description="A **workshop** on feedback that helps.",
        starts_at=start,
        duration_minutes=90,
        capacity=capacity,
        place="Room 4, Lisbon office",
    )
