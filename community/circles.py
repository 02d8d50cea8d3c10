"""A circle's life outside a cohort's forming: started by a mentor (or a peer), joined (at once
in an open circle, on the facilitator's approval otherwise), left; and what members do in it:
answer a session, put items on its agenda, write notes (shared, or private to the author), check
in after it, and own action items. Sessions themselves are meetings (meetings.services), with
their reminders and .ics.

Who may do what is one function, `role_in`: the facilitator and active members take part; the
admins of the circle's cohort read it (never private notes) and change nothing."""

from __future__ import annotations

from datetime import date
from enum import Enum

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cohorts.models import Cohort
from community.models import SessionAnswer
from conversations import actions as conversations
from conversations.models import Notification
from matching.models import Circle, CircleMember
from meetings.models import ActionItem, AgendaItem, CheckIn, Meeting, Note
from meetings.services import zone_of
from profiles.models import Skill, User


class CircleError(Exception):
    """A rule said no; the message is for the person who asked."""


class Role(Enum):
    FACILITATOR = "facilitator"
    MEMBER = "member"
    READER = "reader"  # an admin of the circle's cohort: reads, never private notes
    OUTSIDER = "outsider"


def role_in(circle: Circle, user: User) -> Role:
    if not user.is_authenticated:
        return Role.OUTSIDER
    if circle.facilitator_id == user.pk:
        return Role.FACILITATOR
    if user.pk in circle.people_ids():
        return Role.MEMBER
    if Cohort.objects.filter(circles__circle=circle, admins=user).exists():
        return Role.READER
    return Role.OUTSIDER


def takes_part(circle: Circle, user: User) -> bool:
    return role_in(circle, user) in (Role.FACILITATOR, Role.MEMBER)


def joinable(user: User):
    """Circles a person may ask to join: open or approval ones, active, not their own."""
    return (
        Circle.objects.filter(
            status=Circle.Status.ACTIVE,
            joining__in=[Circle.Joining.OPEN, Circle.Joining.APPROVAL],
        )
        .exclude(facilitator=user)
        .exclude(members__user=user, members__status=CircleMember.Status.ACTIVE)
    )


@transaction.atomic
def start_circle(
    *,
    facilitator: User,
    topic: str,
    skills: list[Skill],
    joining: str,
    size: int,
    weekday: int,
    start_minute: int,
    duration_minutes: int = 60,
) -> Circle:
    """A circle anyone may ask to join: led by a mentor, or a peer circle when its facilitator
    does not mentor."""
    if not topic.strip():
        raise CircleError("Name the circle's topic.")
    profile = getattr(facilitator, "profile", None)
    circle = Circle.objects.create(
        topic=topic.strip(),
        facilitator=facilitator,
        kind=Circle.Kind.MENTOR if profile and profile.is_mentor else Circle.Kind.PEER,
        joining=joining,
        size=size,
        weekday=weekday,
        start_minute=start_minute,
        duration_minutes=duration_minutes,
        zone=zone_of(facilitator).key,
    )
    circle.skills.set(skills)
    return circle


@transaction.atomic
def join_circle(*, circle: Circle, user: User) -> CircleMember:
    """In at once in an open circle with room; a request for the facilitator otherwise."""
    circle = Circle.objects.select_for_update().get(pk=circle.pk)
    if not joinable(user).filter(pk=circle.pk).exists():
        raise CircleError("This circle does not take members who ask: its cohort forms it.")
    seat = circle.members.filter(user=user).first()
    if seat is not None and seat.status == CircleMember.Status.PENDING:
        return seat
    now = timezone.now()
    if circle.joining == Circle.Joining.OPEN and circle.room() <= 0:
        raise CircleError("This circle is full.")
    status = (
        CircleMember.Status.ACTIVE
        if circle.joining == Circle.Joining.OPEN
        else CircleMember.Status.PENDING
    )
    seat, _ = CircleMember.objects.update_or_create(
        circle=circle,
        user=user,
        defaults={
            "status": status,
            "created_at": now,
            "joined_at": now if status == CircleMember.Status.ACTIVE else None,
        },
    )
    conversations.notify(
        user=circle.facilitator,
        kind=Notification.Kind.REQUEST_RECEIVED,
        text=f"{user.name} joined “{circle.topic}”"
        if status == CircleMember.Status.ACTIVE
        else f"{user.name} asks to join “{circle.topic}”",
        url=reverse("community:circle", args=[circle.pk]),
    )
    return seat


@transaction.atomic
def approve_member(*, circle: Circle, by: User, user_id: int, accept: bool) -> CircleMember:
    circle = Circle.objects.select_for_update().get(pk=circle.pk)
    if circle.facilitator_id != by.pk:
        raise CircleError("The facilitator decides who joins.")
    seat = circle.members.select_related("user").get(
        user_id=user_id, status=CircleMember.Status.PENDING
    )
    if accept and circle.room() <= 0:
        raise CircleError("The circle is full: raise its size or let someone go first.")
    seat.status = CircleMember.Status.ACTIVE if accept else CircleMember.Status.LEFT
    seat.joined_at = timezone.now() if accept else None
    seat.save(update_fields=["status", "joined_at"])
    conversations.notify(
        user=seat.user,
        kind=Notification.Kind.REQUEST_ANSWERED,
        text=f"You are in “{circle.topic}”" if accept else f"“{circle.topic}” is full for now",
        url=reverse("community:circle", args=[circle.pk]),
    )
    return seat


@transaction.atomic
def leave_circle(*, circle: Circle, user: User) -> None:
    circle.members.filter(user=user).exclude(status=CircleMember.Status.LEFT).update(
        status=CircleMember.Status.LEFT
    )


def _session(circle: Circle, meeting_id: int) -> Meeting:
    return Meeting.objects.get(pk=meeting_id, circle=circle)


def _taking_part(circle: Circle, user: User) -> None:
    if not takes_part(circle, user):
        raise CircleError("Only the circle's members and facilitator take part in it.")
    if circle.status != Circle.Status.ACTIVE:
        raise CircleError("This circle is closed: its page is a record now.")


@transaction.atomic
def answer_session(*, circle: Circle, meeting_id: int, user: User, going: bool) -> SessionAnswer:
    _taking_part(circle, user)
    meeting = _session(circle, meeting_id)
    if meeting.status != Meeting.Status.SCHEDULED or meeting.is_past:
        raise CircleError("This session is not ahead any more.")
    answer, _ = SessionAnswer.objects.update_or_create(
        meeting=meeting, user=user, defaults={"going": going, "answered_at": timezone.now()}
    )
    return answer


@transaction.atomic
def add_agenda_item(*, circle: Circle, meeting_id: int, user: User, text: str) -> AgendaItem:
    _taking_part(circle, user)
    text = text.strip()
    if not text:
        raise CircleError("Write what you would like to talk about.")
    return AgendaItem.objects.create(
        meeting=_session(circle, meeting_id), author=user, text=text[:300]
    )


@transaction.atomic
def add_note(*, circle: Circle, meeting_id: int, user: User, text: str, private: bool) -> Note:
    _taking_part(circle, user)
    if not text.strip():
        raise CircleError("Write the note first.")
    return Note.objects.create(
        meeting=_session(circle, meeting_id), author=user, text=text.strip(), private=private
    )


@transaction.atomic
def check_in(*, circle: Circle, meeting_id: int, user: User, rating: int, apply: str) -> CheckIn:
    """Each person's check-in after a session: once each."""
    _taking_part(circle, user)
    meeting = _session(circle, meeting_id)
    if meeting.starts_at > timezone.now():
        raise CircleError("Check in once the session has started.")
    if not 1 <= rating <= 5 or not apply.strip():
        raise CircleError("Rate the session from 1 to 5 and say what you will apply.")
    if CheckIn.objects.filter(meeting=meeting, author=user).exists():
        raise CircleError("You already checked in for this session.")
    return CheckIn.objects.create(meeting=meeting, author=user, rating=rating, apply=apply.strip())


@transaction.atomic
def add_action(
    *, circle: Circle, user: User, owner_id: int, text: str, due_on: date | None
) -> ActionItem:
    _taking_part(circle, user)
    if owner_id not in circle.people_ids():
        raise CircleError("An action item's owner is someone in the circle.")
    if not text.strip():
        raise CircleError("Say what is to be done.")
    return ActionItem.objects.create(
        circle=circle, owner_id=owner_id, text=text.strip()[:300], due_on=due_on
    )


@transaction.atomic
def toggle_action(*, circle: Circle, user: User, action_id: int) -> ActionItem:
    _taking_part(circle, user)
    item = ActionItem.objects.select_for_update().get(pk=action_id, circle=circle)
    item.done = not item.done
    item.done_at = timezone.now() if item.done else None
    item.save(update_fields=["done", "done_at"])
    return item


def visible_notes(meeting: Meeting, viewer: User):
    """Shared notes and the viewer's own private ones, never anyone else's (admins included)."""
    return [n for n in meeting.notes.all() if not n.private or n.author_id == viewer.pk]
