"""People for matching tests: mentees with goals and mentors with offers, on real tables."""

from __future__ import annotations

import pytest

from matching import services
from profiles.models import AvailabilityWindow, Expertise, Goal, MentorOffer, Profile, Skill
from tests.conftest import make_person

EVENINGS = [(day, 18 * 60, 21 * 60) for day in range(5)]


def add_week(user, windows) -> None:
    AvailabilityWindow.objects.bulk_create(
        AvailabilityWindow(user=user, weekday=d, start_minute=s, end_minute=e)
        for d, s, e in windows
    )


def make_mentee(email: str, name: str, *, tz: str = "UTC", goals: int = 1, windows=EVENINGS):
    user = make_person(email, name=name)
    Profile.objects.create(user=user, is_mentee=True, timezone=tz, languages=["en"])
    skills = list(Skill.objects.filter(slug__in=["negotiation", "job-search"]))
    for i in range(goals):
        goal = Goal.objects.create(owner=user, title=f"Goal {i + 1} of {name}")
        goal.skills.set(skills)
    add_week(user, windows)
    return user


def make_mentor(
    email: str, name: str, *, capacity: int = 3, tz: str = "UTC", windows=EVENINGS, **offer
):
    user = make_person(email, name=name)
    Profile.objects.create(
        user=user,
        is_mentor=True,
        timezone=tz,
        languages=["en"],
        years_experience=15,
        headline="Recruiter who coaches salary negotiation",
    )
    MentorOffer.objects.create(user=user, capacity=capacity, **offer)
    for slug, level in (("negotiation", 5), ("job-search", 4)):
        Expertise.objects.create(user=user, skill=Skill.objects.get(slug=slug), level=level)
    add_week(user, windows)
    return user


def send(mentee, mentor, goals=None, message="I would love your help preparing for this."):
    return services.create_request(
        mentee=mentee,
        mentor=mentor,
        goals=goals if goals is not None else list(mentee.goals.all()[:1]),
        message=message,
        cadence="biweekly",
    )


@pytest.fixture
def mentee(db):
    return make_mentee("mina@example.org", "Mina Mentee", tz="Asia/Tokyo", goals=2)


@pytest.fixture
def mentor(db):
    return make_mentor("marco@example.org", "Marco Mentor", tz="America/New_York")


@pytest.fixture(autouse=True)
def _keep_email_bodies(settings):
    """Sent emails keep their text, so tests can read what people were told."""
    settings.EMAIL_KEEP_SENT_BODIES = True
