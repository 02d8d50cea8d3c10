"""A mentee in Tokyo asks a mentor in New York; their request, and the pair it may become."""

from __future__ import annotations

import pytest

from matching.models import MentorRequest
from profiles.models import Email, User
from tests.conftest import make_person
from tests.matching.conftest import make_mentee, make_mentor, send


@pytest.fixture(autouse=True)
def _keep_email_bodies(settings):
    settings.EMAIL_KEEP_SENT_BODIES = True


@pytest.fixture
def mentee(db) -> User:
    return make_mentee("mina@example.org", "Mina Mentee", tz="Asia/Tokyo", goals=2)


@pytest.fixture
def mentor(db) -> User:
    return make_mentor("marco@example.org", "Marco Mentor", tz="America/New_York")


@pytest.fixture
def outsider(db) -> User:
    return make_person("otto@example.org", name="Otto Outsider")


@pytest.fixture
def request_(mentee, mentor) -> MentorRequest:
    """Mina's open request to Marco."""
    return send(mentee, mentor)


def emails(kind: str, to: User):
    return Email.objects.filter(kind=kind, to=[to.email]).order_by("pk")
