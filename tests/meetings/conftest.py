"""People and pairs for meetings tests: a mentee in Sydney and a mentor in London, on real
tables, with every sent email's text kept so tests can read what people were told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from matching.models import Mentorship
from meetings.models import Meeting
from profiles.models import Email, User
from tests.conftest import make_person
from tests.matching.conftest import make_mentee, make_mentor

SYDNEY = "Australia/Sydney"
LONDON = "Europe/London"


@pytest.fixture(autouse=True)
def _keep_email_bodies(settings):
    settings.EMAIL_KEEP_SENT_BODIES = True


def make_pair(
    mentee_email: str = "sia@example.org",
    mentor_email: str = "leo@example.org",
    *,
    mentee_tz: str = SYDNEY,
    mentor_tz: str = LONDON,
) -> Mentorship:
    """Sia Sydney is mentored by Leo London, on Sia's goals."""
    mentee = make_mentee(mentee_email, "Sia Sydney", tz=mentee_tz, goals=2)
    mentor = make_mentor(mentor_email, "Leo London", tz=mentor_tz)
    pair = Mentorship.objects.create(mentor=mentor, mentee=mentee)
    pair.goals.set(mentee.goals.all())
    return pair


@pytest.fixture
def pair(db) -> Mentorship:
    return make_pair()


@pytest.fixture
def outsider(db) -> User:
    return make_person("otto@example.org", name="Otto Outsider")


def held_meeting(pair: Mentorship, *, days_ago: int = 2, minutes: int = 60) -> Meeting:
    """A meeting that already took place (the scheduling rules only allow future times)."""
    return Meeting.objects.create(
        mentorship=pair,
        starts_at=timezone.now() - timedelta(days=days_ago),
        duration_minutes=minutes,
        created_by=pair.mentee,
    )


def emails(kind: str, to: User | None = None):
    found = Email.objects.filter(kind=kind).order_by("pk")
    return found.filter(to=[to.email]) if to is not None else found


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
