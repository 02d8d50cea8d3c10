"""Demo journeys on top of the demo people (profiles/demo.py): a cohort the demo admin runs,
requests waiting, and pairs with meetings, agendas, notes and action items, so that every page
has something to show on a fresh `make run`. Written straight to the tables: no email goes out."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cohorts.models import Cohort, Enrollment
from conversations.models import (
    Announcement,
    Message,
    Notification,
    Participant,
    Receipt,
    Thread,
)
from matching.actions import NewPair, start_mentorships
from matching.models import MentorRequest, Mentorship
from matching.notify import suggested_slots
from meetings.models import ActionItem, AgendaItem, CheckIn, Meeting, Note
from profiles.demo import DEMO_DOMAIN
from profiles.models import Goal, User

COHORT_SLUG = "demo-january"


def _goal(user: User) -> Goal | None:
    return Goal.objects.open().filter(owner=user).order_by("pk").first()


@transaction.atomic
def seed_journeys(admin: User) -> bool:
    """Create the demo cohort and journeys once; False when they are already there."""
    if Cohort.objects.filter(slug=COHORT_SLUG).exists():
        return False
    demo = User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}").order_by("pk")
    mentees = list(demo.filter(profile__is_mentee=True, profile__is_mentor=False)[:40])
    mentors = list(demo.filter(profile__is_mentor=True, offer__accepting_requests=True)[:15])
    if len(mentees) < 6 or len(mentors) < 3:
        return False
    cohort = Cohort.objects.create(
        name="January mentoring month",
        slug=COHORT_SLUG,
        description="Four weeks, one mentor each: a goal, a plan, and a meeting every week.",
        status=Cohort.Status.ENROLLING,
    )
    cohort.admins.add(admin)
    now = timezone.now()
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                cohort=cohort, email=u.email, user=u, role=role, status="joined", joined_at=now
            )
            for users, role in ((mentees[5:], "mentee"), (mentors[2:], "mentor"))
            for u in users
        ]
    )

    _announce(cohort, admin, now)
    mentor, other_mentor = mentors[0], mentors[1]
    mentee, *others = mentees[:5]
    for asker in others[:2]:
        request = MentorRequest.objects.create(
            mentee=asker,
            mentor=mentor,
            message=(
                "I read your profile and your experience is exactly where I want to go. "
                "Could we work on my goal over a few meetings?"
            ),
            created_at=now - timedelta(days=2),
        )
        if goal := _goal(asker):
            request.goals.add(goal)
        Notification.objects.create(
            user=mentor,
            kind=Notification.Kind.REQUEST_RECEIVED,
            text=f"{asker.name} asks you to mentor them",
            url=reverse("matching:request", args=[request.pk]),
            created_at=request.created_at,
        )
    _talk(
        Thread.objects.create(request=request),
        [
            (request.mentee, "Before you decide: I can meet on Tuesday or Thursday evenings."),
            (request.mentee, "And I am happy to start with a single session to see if it fits."),
        ],
        now - timedelta(days=1),
    )
    for pair_mentor, pair_mentee in ((mentor, others[2]), (other_mentor, mentee)):
        goal = _goal(pair_mentee)
        started = start_mentorships(
            pairs=[
                NewPair(
                    mentee_id=pair_mentee.pk,
                    mentor_id=pair_mentor.pk,
                    goal_ids=(goal.pk,) if goal else (),
                )
            ],
            source=Mentorship.Source.REQUEST,
            introduce=False,
        )
        if not started.mentorships:
            continue
        (pair,) = started.mentorships
        # Demo history: the pair began three weeks ago.
        Mentorship.objects.filter(pk=pair.pk).update(started_at=now - timedelta(days=20))
        pair.started_at = now - timedelta(days=20)
        if goal:
            goal.status = Goal.Status.IN_PROGRESS
            goal.save(update_fields=["status"])
        past = Meeting.objects.create(
            mentorship=pair,
            starts_at=(now - timedelta(days=7)).replace(minute=0, second=0, microsecond=0),
            place="Video call",
        )
        _talk(
            Thread.objects.create(mentorship=pair),
            [
                (
                    pair_mentor,
                    "Good session today. Here is the article I mentioned: "
                    "[the piece on mentoring](https://en.wikipedia.org/wiki/Mentorship).",
                ),
                (pair_mentee, "Thank you! I will read it before **Thursday**."),
                (pair_mentor, "Great. Bring one question about it to our next meeting."),
            ],
            now - timedelta(days=6),
        )
        AgendaItem.objects.create(meeting=past, author=pair_mentee, text="Where I am stuck now")
        Note.objects.create(
            meeting=past,
            author=pair_mentor,
            text="Agreed on one small experiment before next time; review it together.",
        )
        CheckIn.objects.create(
            meeting=past, author=pair_mentee, rating=5, apply="Try the experiment", good_fit=True
        )
        slots = suggested_slots(pair_mentor, pair_mentee, now=now + timedelta(days=1))
        upcoming = Meeting.objects.create(
            mentorship=pair,
            starts_at=slots[0].start
            if slots
            else (now + timedelta(days=3)).replace(hour=17, minute=0, second=0, microsecond=0),
            place="Video call",
        )
        AgendaItem.objects.create(
            meeting=upcoming, author=pair_mentee, text="Review the experiment"
        )
        ActionItem.objects.create(
            mentorship=pair,
            meeting=past,
            owner=pair_mentee,
            text="Run the experiment and write down what happened",
            due_on=(now + timedelta(days=2)).date(),
        )
    return True


def _talk(thread: Thread, lines: list[tuple[User, str]], start) -> None:
    """A few messages in a thread, an hour apart; the last one is unread by its reader, with
    its line in their feed."""
    subject = thread.subject
    people = (subject.mentee, subject.mentor)
    messages = [
        Message.objects.create(
            thread=thread, author=author, body=text, created_at=start + timedelta(hours=i)
        )
        for i, (author, text) in enumerate(lines)
    ]
    last = messages[-1]
    reader = next(p for p in people if p.pk != last.author_id)
    for person in people:
        Participant.objects.create(
            thread=thread,
            user=person,
            read_up_to=last.pk if person.pk == last.author_id else messages[-2].pk,
            read_at=last.created_at,
        )
    Notification.objects.create(
        user=reader,
        kind=Notification.Kind.MESSAGE,
        thread=thread,
        text=f"New message from {last.author.name}",
        url=reverse("meetings:pair", args=[thread.mentorship_id]) + "#conversation"
        if thread.mentorship_id
        else reverse("matching:request", args=[thread.request_id]) + "#conversation",
        created_at=last.created_at,
    )


def _announce(cohort: Cohort, admin: User, now) -> None:
    """The cohort's welcome, as delivered: each participant's receipt and feed line."""
    announcement = Announcement.objects.create(
        cohort=cohort,
        author=admin,
        subject="Welcome to January mentoring month",
        body=(
            "Over the next four weeks you will work on **one goal** with one mentor.\n\n"
            "- Paint the target: say what success looks like.\n"
            "- Come prepared: put your questions on the agenda.\n"
            "- Say thank you: mentors give their time freely."
        ),
        created_at=now - timedelta(days=3),
        delivered_at=now - timedelta(days=3),
    )
    people = list(cohort.enrollments.values_list("user_id", flat=True))
    Receipt.objects.bulk_create(Receipt(announcement=announcement, user_id=pk) for pk in people)
    Notification.objects.bulk_create(
        Notification(
            user_id=pk,
            kind=Notification.Kind.ANNOUNCEMENT,
            text=f"{cohort.name}: {announcement.subject}",
            url=reverse("conversations:announcement", args=[announcement.pk]),
            created_at=announcement.created_at,
        )
        for pk in people
    )
    Announcement.objects.filter(pk=announcement.pk).update(recipients=len(people))
