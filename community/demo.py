"""Demo circles, events and stories on top of the demo cohort (meetings/demo.py), so the
community pages have something to show on a fresh `make run`. Written straight to the tables: no
email goes out."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from cohorts.models import Cohort, CohortCircle
from community.models import Event, Rsvp, Story
from matching.models import Circle, CircleMember
from meetings.demo import COHORT_SLUG
from meetings.models import AgendaItem, Meeting
from profiles.models import User

EVENT_TITLE = "Getting the most from your mentor: a workshop"


@transaction.atomic
def seed_community(admin: User) -> bool:
    """A circle of the demo cohort with sessions, a program event and a published story, once;
    False when they are there already (or there is no demo cohort)."""
    cohort = Cohort.objects.filter(slug=COHORT_SLUG).first()
    if cohort is None or Event.objects.filter(title=EVENT_TITLE).exists():
        return False
    joined = cohort.enrollments.filter(status="joined").select_related("user")
    mentors = [e.user for e in joined if e.is_mentor][:1]
    mentees = [e.user for e in joined if e.is_mentee][:8]
    if not mentors or len(mentees) < 4:
        return False
    now = timezone.now()
    facilitator = mentors[0]
    circle = Circle.objects.create(
        topic="Finding your voice in meetings",
        facilitator=facilitator,
        joining=Circle.Joining.FORMED,
        size=5,
        weekday=2,
        start_minute=18 * 60,
        zone=facilitator.profile.timezone,
    )
    CohortCircle.objects.create(cohort=cohort, circle=circle)
    CircleMember.objects.bulk_create(
        CircleMember(circle=circle, user=person, status="active", joined_at=now - timedelta(days=9))
        for person in mentees[:4]
    )
    held = Meeting.objects.create(
        circle=circle,
        starts_at=(now - timedelta(days=6)).replace(minute=0, second=0, microsecond=0),
        place="Video call",
        created_by=facilitator,
    )
    ahead = Meeting.objects.create(
        circle=circle,
        starts_at=(now + timedelta(days=1)).replace(minute=0, second=0, microsecond=0),
        place="Video call",
        created_by=facilitator,
    )
    AgendaItem.objects.create(meeting=held, author=mentees[0], text="How to speak up early")
    AgendaItem.objects.create(
        meeting=ahead, author=mentees[1], text="Practice: a two-minute update"
    )
    event = Event.objects.create(
        organiser=admin,
        title=EVENT_TITLE,
        description="Come prepared, do the homework, say thank you: **an hour** on how mentees "
        "make mentoring work, with time for questions.",
        starts_at=(now + timedelta(days=8)).replace(hour=17, minute=0, second=0, microsecond=0),
        ends_at=(now + timedelta(days=8)).replace(hour=18, minute=0, second=0, microsecond=0),
        zone="UTC",
        link="https://meet.example.org/mentoring-workshop",
        capacity=3,
    )
    for n, person in enumerate(mentees[:5]):
        Rsvp.objects.create(
            event=event,
            user=person,
            status="going" if n < 3 else "waiting",
            created_at=now - timedelta(hours=10 - n),
        )
    Story.objects.create(
        author=mentees[0],
        cohort=cohort,
        title="I stopped waiting to be noticed",
        body=(
            "I joined the program to **paint the target**: a team lead role within a year.\n\n"
            "My mentor asked me to bring one small experiment to every meeting. Six weeks in, I "
            "had run five, and my manager noticed the sixth.\n\n"
            "What I would tell you: come prepared, and say thank you."
        ),
        status=Story.Status.APPROVED,
        submitted_at=now - timedelta(days=3),
        published_at=now - timedelta(days=2),
        reviewed_by=admin,
    )
    return True
