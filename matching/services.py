"""What happens to requests and pairs. Views and tasks call these; every rule that protects a
limit runs inside a transaction with the rows it depends on locked."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from matching import notify
from matching.models import DECLINE_COOLDOWN, Block, MentorRequest, Mentorship
from profiles.models import Goal, MentorOffer, User


class MatchingError(Exception):
    """A rule said no; the message is for the person who asked."""


def max_pending() -> int:
    return getattr(settings, "MATCHING_MAX_PENDING_REQUESTS", 3)


def can_request(mentee: User, mentor: User) -> str | None:
    """Why the mentee cannot ask this mentor now, or None when they can."""
    if mentee.pk == mentor.pk:
        return "You cannot ask yourself to be your mentor."
    offer = MentorOffer.objects.filter(user=mentor).first()
    profile = getattr(mentor, "profile", None)
    if offer is None or profile is None or not profile.is_mentor:
        return f"{mentor.name} is not mentoring."
    if Block.objects.filter(mentor=mentor, mentee=mentee).exists():
        return f"{mentor.name} is not taking requests from you."
    if not offer.accepting_requests:
        return f"{mentor.name} is not taking requests right now."
    if Mentorship.objects.active().filter(mentor=mentor).count() >= offer.capacity:
        return f"{mentor.name} has no room for another mentee at the moment."
    if Mentorship.objects.active().filter(mentor=mentor, mentee=mentee).exists():
        return f"{mentor.name} is already your mentor."
    if MentorRequest.objects.open().filter(mentor=mentor, mentee=mentee).exists():
        return f"You already have a request waiting with {mentor.name}."
    since = timezone.now() - DECLINE_COOLDOWN
    declined = MentorRequest.objects.filter(
        mentor=mentor, mentee=mentee, status=MentorRequest.Status.DECLINED, answered_at__gte=since
    )
    if declined.exists():
        return f"{mentor.name} declined a request from you recently; try again in a few months."
    return None


@transaction.atomic
def create_request(
    *, mentee: User, mentor: User, goals: Iterable[Goal], message: str, cadence: str
) -> MentorRequest:
    # Lock the mentee's row: two requests sent at once cannot both slip under the limit.
    User.objects.select_for_update().get(pk=mentee.pk)
    reason = can_request(mentee, mentor)
    if reason:
        raise MatchingError(reason)
    goals = list(goals)
    if not goals:
        raise MatchingError("Choose at least one of your open goals.")
    if any(g.owner_id != mentee.pk or g.status != Goal.Status.OPEN for g in goals):
        raise MatchingError("Requests can only name your own open goals.")
    pending = MentorRequest.objects.open().filter(mentee=mentee).count()
    if pending >= max_pending():
        raise MatchingError(
            f"You have {pending} requests waiting for an answer, the most at once. "
            "Withdraw one or wait for an answer before sending another."
        )
    try:
        with transaction.atomic():
            request = MentorRequest.objects.create(
                mentee=mentee, mentor=mentor, message=message.strip(), cadence=cadence
            )
    except IntegrityError as exc:
        raise MatchingError(f"You already have a request waiting with {mentor.name}.") from exc
    request.goals.set(goals)
    notify.request_received(request)
    return request


def _locked_request(request_id: int, **filters) -> MentorRequest:
    request = (
        MentorRequest.objects.select_for_update(of=("self",))
        .select_related("mentee", "mentor")
        .filter(pk=request_id, **filters)
        .first()
    )
    if request is None:
        raise MentorRequest.DoesNotExist
    return request


@transaction.atomic
def accept(request_id: int, mentor: User) -> Mentorship:
    """The mentor takes the mentee on. The mentor's offer row is locked first, so that accepts
    racing each other are counted one after the other and capacity is never exceeded."""
    offer = MentorOffer.objects.select_for_update().filter(user=mentor).first()
    request = _locked_request(request_id, mentor=mentor)
    if not request.is_open:
        raise MatchingError(f"This request is already {request.get_status_display().lower()}.")
    if offer is None or not offer.accepting_requests:
        raise MatchingError(
            "You have paused requests. Switch “accepting requests” back on to accept."
        )
    active = Mentorship.objects.active().filter(mentor=mentor).count()
    if active >= offer.capacity:
        raise MatchingError(
            f"You already mentor {active} people, your capacity. Raise it in your offer or "
            "close a mentorship before accepting another."
        )
    if Mentorship.objects.active().filter(mentor=mentor, mentee=request.mentee).exists():
        raise MatchingError(f"You already mentor {request.mentee.name}.")
    now = timezone.now()
    request.status = MentorRequest.Status.ACCEPTED
    request.answered_at = request.closed_at = now
    request.save(update_fields=["status", "answered_at", "closed_at"])
    mentorship = Mentorship.objects.create(
        mentor=mentor,
        mentee=request.mentee,
        request=request,
        cadence=request.cadence,
        source=Mentorship.Source.REQUEST,
        started_at=now,
    )
    goals = list(request.goals.all())
    mentorship.goals.set(goals)
    Goal.objects.filter(pk__in=[g.pk for g in goals], status=Goal.Status.OPEN).update(
        status=Goal.Status.IN_PROGRESS
    )
    # The mentee's other open requests for the same goals are no longer needed.
    others = (
        MentorRequest.objects.open()
        .filter(mentee=request.mentee, goals__in=goals)
        .exclude(pk=request.pk)
        .distinct()
    )
    other_ids = list(others.values_list("pk", flat=True))
    for other in MentorRequest.objects.select_for_update().filter(pk__in=other_ids):
        other.status = MentorRequest.Status.WITHDRAWN
        other.closed_at = now
        other.save(update_fields=["status", "closed_at"])
        notify.withdrawn_after_match(other)
    notify.accepted(request)
    transaction.on_commit(lambda: _introduce_later(mentorship.pk))
    return mentorship


def _introduce_later(mentorship_id: int) -> None:
    from matching.tasks import introduce

    introduce.delay(mentorship_id)


@transaction.atomic
def decline(request_id: int, mentor: User, note: str = "") -> MentorRequest:
    request = _locked_request(request_id, mentor=mentor)
    if not request.is_open:
        raise MatchingError(f"This request is already {request.get_status_display().lower()}.")
    now = timezone.now()
    request.status = MentorRequest.Status.DECLINED
    request.note = note.strip()
    request.answered_at = request.closed_at = now
    request.save(update_fields=["status", "note", "answered_at", "closed_at"])
    notify.declined(request)
    return request


@transaction.atomic
def ask_for_information(request_id: int, mentor: User, question: str) -> MentorRequest:
    question = question.strip()
    if not question:
        raise MatchingError("Write the question you would like the mentee to answer.")
    request = _locked_request(request_id, mentor=mentor)
    if request.status != MentorRequest.Status.PENDING:
        raise MatchingError("You can ask a question only while the request waits for you.")
    request.status = MentorRequest.Status.INFO
    request.question = question
    request.answered_at = request.answered_at or timezone.now()
    request.save(update_fields=["status", "question", "answered_at"])
    notify.information_asked(request)
    return request


@transaction.atomic
def answer_question(request_id: int, mentee: User, answer: str) -> MentorRequest:
    answer = answer.strip()
    if not answer:
        raise MatchingError("Write your answer to the mentor's question.")
    request = _locked_request(request_id, mentee=mentee)
    if request.status != MentorRequest.Status.INFO:
        raise MatchingError("This request has no open question.")
    request.status = MentorRequest.Status.PENDING
    request.answer = answer
    request.save(update_fields=["status", "answer"])
    notify.question_answered(request)
    return request


@transaction.atomic
def withdraw(request_id: int, mentee: User) -> MentorRequest:
    request = _locked_request(request_id, mentee=mentee)
    if not request.is_open:
        raise MatchingError(f"This request is already {request.get_status_display().lower()}.")
    request.status = MentorRequest.Status.WITHDRAWN
    request.closed_at = timezone.now()
    request.save(update_fields=["status", "closed_at"])
    return request


@transaction.atomic
def report(request_id: int, mentor: User, reason: str = "") -> MentorRequest:
    """The mentor reports the request: staff hear of it, and its sender cannot reach the mentor
    again (not even by a new request)."""
    request = _locked_request(request_id, mentor=mentor)
    now = timezone.now()
    if request.is_open:
        request.status = MentorRequest.Status.REPORTED
        request.answered_at = request.closed_at = now
        request.save(update_fields=["status", "answered_at", "closed_at"])
    Block.objects.get_or_create(
        mentor=mentor, mentee=request.mentee, defaults={"request": request, "reason": reason}
    )
    notify.reported(request, reason)
    return request


def remind_and_expire(now=None) -> tuple[int, int]:
    """One pass of the beat task: remind mentors of requests unanswered for 5 days (once), expire
    those unanswered for 14 days and tell the mentee. Each row is claimed with a conditional
    update, so two passes at once never send twice."""
    from matching.models import EXPIRE_AFTER, REMIND_AFTER

    now = now or timezone.now()
    reminded = expired = 0
    due = MentorRequest.objects.filter(
        status=MentorRequest.Status.PENDING,
        reminded_at__isnull=True,
        created_at__lte=now - REMIND_AFTER,
        created_at__gt=now - EXPIRE_AFTER,
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            claimed = MentorRequest.objects.filter(
                pk=pk, status=MentorRequest.Status.PENDING, reminded_at__isnull=True
            ).update(reminded_at=now)
            if claimed:
                notify.reminder(MentorRequest.objects.select_related("mentee", "mentor").get(pk=pk))
                reminded += 1
    stale = MentorRequest.objects.filter(
        Q(status__in=MentorRequest.OPEN), created_at__lte=now - EXPIRE_AFTER
    ).values_list("pk", flat=True)
    for pk in list(stale):
        with transaction.atomic():
            claimed = MentorRequest.objects.filter(pk=pk, status__in=MentorRequest.OPEN).update(
                status=MentorRequest.Status.EXPIRED, closed_at=now
            )
            if claimed:
                notify.expired(MentorRequest.objects.select_related("mentee", "mentor").get(pk=pk))
                expired += 1
    return reminded, expired
