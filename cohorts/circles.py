"""A cohort's circles: set up by its admins, filled by `matching.circles.form` (the pairs'
optimiser, with each circle's room as its capacity), reviewed, then published: each seat becomes a
membership and its person is told once, in the transaction that makes it."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cohorts.models import CircleLeftOut, CircleProposal, Cohort, CohortCircle, Enrollment
from conversations import actions as conversations
from conversations.models import Notification
from matching import circles as engine
from matching.models import Circle, CircleMember
from meetings.services import zone_of
from profiles.availability import Window, monday_of, weekly_slots_utc
from profiles.mail import queue_email, render_email
from profiles.models import Expertise, Goal, Skill, User

SLOT = 30  # minutes: sessions and free time are compared in half hours of the week, in UTC


class CircleError(Exception):
    """A rule said no; the message is for the admin who asked."""


def _week() -> date:
    return monday_of(timezone.now().date())


def session_slots(circle: Circle, week: date) -> frozenset[int]:
    end = circle.start_minute + circle.duration_minutes
    window = Window(circle.weekday, circle.start_minute, min(end, 1440))
    return frozenset(weekly_slots_utc([window], circle.zone, week_start=week, step=SLOT))


@transaction.atomic
def add_circle(
    *,
    cohort: Cohort,
    facilitator: User,
    topic: str,
    skills: list[Skill],
    kind: str,
    size: int,
    weekday: int,
    start_minute: int,
    duration_minutes: int = 60,
) -> Circle:
    """A circle of this cohort, led by one of its participants (a mentor, or any participant for
    a peer circle), meeting weekly at a time in the facilitator's zone."""
    joined = cohort.enrollments.filter(user=facilitator, status=Enrollment.Status.JOINED).first()
    if joined is None:
        raise CircleError("The facilitator must be someone who joined the cohort.")
    if kind == Circle.Kind.MENTOR and not joined.is_mentor:
        raise CircleError("A mentor leads a mentor circle: choose a mentor, or a peer circle.")
    circle = Circle.objects.create(
        topic=topic.strip(),
        facilitator=facilitator,
        kind=kind,
        joining=Circle.Joining.FORMED,
        size=size,
        weekday=weekday,
        start_minute=start_minute,
        duration_minutes=duration_minutes,
        zone=zone_of(facilitator).key,
    )
    circle.skills.set(skills)
    CohortCircle.objects.create(cohort=cohort, circle=circle)
    return circle


def _seekers(cohort: Cohort, circles: list[Circle], week: date) -> list[engine.Seeker]:
    seated = CircleMember.objects.filter(
        circle__cohort_link__cohort=cohort, status=CircleMember.Status.ACTIVE
    ).values_list("user_id", flat=True)
    people = (
        User.objects.filter(
            enrollments__cohort=cohort,
            enrollments__status=Enrollment.Status.JOINED,
            enrollments__role__in=[Enrollment.Role.MENTEE, Enrollment.Role.BOTH],
            is_active=True,
        )
        .exclude(pk__in=seated)
        .exclude(pk__in=[c.facilitator_id for c in circles])
        .select_related("profile")
        .prefetch_related("availability")
        .distinct()
        .order_by("pk")
    )
    skills: dict[int, set[int]] = {}
    for owner, skill in (
        Goal.objects.open().filter(owner__in=people).values_list("owner_id", "skills")
    ):
        if skill:
            skills.setdefault(owner, set()).add(skill)
    found = []
    for person in people:
        profile = getattr(person, "profile", None)
        windows = [
            Window(w.weekday, w.start_minute, w.end_minute) for w in person.availability.all()
        ]
        free = weekly_slots_utc(
            windows, profile.timezone if profile else "UTC", week_start=week, step=SLOT
        )
        found.append(
            engine.Seeker(
                id=person.pk,
                skills=frozenset(skills.get(person.pk, ())),
                languages=frozenset(profile.languages if profile else ()),
                free_hours=frozenset(free),
            )
        )
    return found


def _offers(circles: list[Circle], week: date) -> list[engine.CircleOffer]:
    offers = []
    for circle in circles:
        topic = {s.pk for s in circle.skills.all()}
        related = set(
            Skill.related.through.objects.filter(from_skill__in=topic).values_list(
                "to_skill_id", flat=True
            )
        )
        levels = dict(
            Expertise.objects.filter(user=circle.facilitator).values_list("skill_id", "level")
        )
        profile = getattr(circle.facilitator, "profile", None)
        offers.append(
            engine.CircleOffer(
                id=circle.pk,
                label=circle.topic,
                topic=frozenset(topic),
                related=frozenset(related - topic),
                levels=levels,
                languages=frozenset(profile.languages if profile else ()),
                session_hours=session_slots(circle, week),
                room=circle.room(),
            )
        )
    return offers


def cohort_circles(cohort: Cohort) -> list[Circle]:
    return list(
        Circle.objects.filter(cohort_link__cohort=cohort, status=Circle.Status.ACTIVE)
        .select_related("facilitator__profile")
        .prefetch_related("skills")
        .order_by("topic", "pk")
    )


@transaction.atomic
def form_circles(*, cohort: Cohort) -> engine.Formed:
    """Propose a circle for each participant not in one yet (replacing the last proposals that
    were not published), and say why for whoever is left out."""
    Cohort.objects.select_for_update().get(pk=cohort.pk)
    circles = cohort_circles(cohort)
    if not circles:
        raise CircleError("Set up at least one circle first.")
    week = _week()
    formed = engine.form(_seekers(cohort, circles, week), _offers(circles, week))
    CircleProposal.objects.filter(cohort=cohort, published_at__isnull=True).delete()
    CircleLeftOut.objects.filter(cohort=cohort).delete()
    CircleProposal.objects.bulk_create(
        CircleProposal(
            cohort=cohort, circle_id=circle, user_id=user, score=f.score, reasons=list(f.reasons)
        )
        for user, circle, f in formed.placed
    )
    CircleLeftOut.objects.bulk_create(
        CircleLeftOut(cohort=cohort, user_id=user, reason=reason)
        for user, reason in formed.unmatched.items()
    )
    return formed


@transaction.atomic
def publish_circles(*, cohort: Cohort) -> int:
    """Each proposed seat becomes a membership, if its circle still has room (the circles' rows
    are locked while seats are counted); each person is told once. Returns how many joined."""
    circles = {
        c.pk: c
        for c in Circle.objects.select_for_update()
        .filter(cohort_link__cohort=cohort)
        .select_related("facilitator")
    }
    rooms = {pk: c.room() for pk, c in circles.items()}
    joined = 0
    now = timezone.now()
    pending = CircleProposal.objects.filter(
        cohort=cohort, published_at__isnull=True
    ).select_related("user")
    for proposal in pending.order_by("-score", "pk"):
        circle = circles.get(proposal.circle_id)
        if circle is None or rooms[circle.pk] <= 0:
            CircleLeftOut.objects.update_or_create(
                cohort=cohort, user=proposal.user, defaults={"reason": "Its circle filled up."}
            )
            proposal.delete()
            continue
        CircleMember.objects.update_or_create(
            circle=circle,
            user=proposal.user,
            defaults={"status": CircleMember.Status.ACTIVE, "joined_at": now},
        )
        rooms[circle.pk] -= 1
        proposal.published_at = now
        proposal.save(update_fields=["published_at"])
        _welcome(proposal.user, circle, cohort)
        joined += 1
    return joined


def _welcome(person: User, circle: Circle, cohort: Cohort) -> None:
    url = reverse("community:circle", args=[circle.pk])
    conversations.notify(
        user=person,
        kind=Notification.Kind.COHORT_PUBLISHED,
        text=f"{cohort.name}: you are in the “{circle.topic}” circle",
        url=url,
    )
    message = render_email(
        "cohorts/circle_placed",
        {"to": person, "circle": circle, "cohort": cohort, "url": settings.SITE_URL + url},
        to=[person.email],
    )
    queue_email(message=message, kind="cohorts/circle_placed")
