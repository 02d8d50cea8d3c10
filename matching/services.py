"""What happens to requests and pairs. Views and tasks call these; every rule that protects a
limit runs inside a transaction with the rows it depends on locked."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from matching import eligibility, notify
from matching.models import Block, MentorRequest
from profiles.models import Goal, User


class MatchingError(Exception):
    """A rule said no; the message is for the person who asked."""


def max_pending() -> int:
    return getattr(settings, "MATCHING_MAX_PENDING_REQUESTS", 3)


def can_request(mentee: User, mentor: User) -> str | None:
    """Why the mentee cannot ask this mentor now, or None when they can (the rules of
    `matching.eligibility`, as they read to the mentee)."""
    problems = eligibility.check_pairs([(mentee.pk, mentor.pk)])
    if not problems:
        return None
    (problem,) = problems.values()
    return eligibility.message(problem, audience="mentee", mentor=mentor.name)


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
