"""Every pairing transition, and the only way to make each one (zulip-style actions).

A mentorship starts through `start_mentorships`, whether a mentor accepted a request or a cohort
was published; it ends through `end_mentorship`, whoever ends it. Each function is keyword-only,
owns one transaction, checks the rules of `matching.eligibility` with the rows it depends on
locked, and sends its side effects (emails, the engine's cache) only once that commits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEntry
from conversations import actions as conversations
from matching import eligibility, notify
from matching.eligibility import Problem
from matching.loader import bump_version
from matching.models import MentorRequest, Mentorship
from matching.services import MatchingError
from mentorship import bulk
from profiles.models import Cadence, Goal, User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewPair:
    mentee_id: int
    mentor_id: int
    goal_ids: tuple[int, ...] = ()
    cadence: str = Cadence.BIWEEKLY
    request_id: int | None = None


@dataclass
class Started:
    """What `start_mentorships` did: the pairs it made, and those it refused with why."""

    mentorships: list[Mentorship] = field(default_factory=list)
    refused: dict[tuple[int, int], Problem] = field(default_factory=dict)


def start_mentorships(
    *,
    pairs: Sequence[NewPair],
    source: str,
    capacity_overrides: Mapping[int, int] | None = None,
    limit_per_mentee: int | None = None,
    counted: QuerySet[Mentorship] | None = None,
    introduce: bool = True,
) -> Started:
    """Make these pairs, set-based (a constant number of queries for any number of pairs).

    Capacity, eligibility and (with `limit_per_mentee` and `counted`) a cohort's policy are
    checked here, with the mentors' offer rows locked, so nothing that runs at the same time can
    push a mentor over capacity. Pairs that break a rule are not made and are returned with why.
    With `introduce`, each new pair gets the intro email once the transaction commits; callers
    that send their own (cohorts) pass False."""
    with transaction.atomic():
        refused = eligibility.check_pairs(
            [(p.mentee_id, p.mentor_id) for p in pairs],
            lock=True,
            capacity_overrides=capacity_overrides,
            limit_per_mentee=limit_per_mentee,
            counted=counted,
        )
        wanted = [p for p in pairs if (p.mentee_id, p.mentor_id) not in refused]
        now = timezone.now()
        # COPY on PostgreSQL (a cohort publishes 100,000 pairs): no model instance per row
        # written, and the keys drawn first, so nothing is read back.
        fields = ["mentor_id", "mentee_id", "request_id", "cadence", "source", "started_at"]
        rows = [(p.mentor_id, p.mentee_id, p.request_id, p.cadence, source, now) for p in wanted]
        keys = bulk.insert(Mentorship, fields, rows, ids=True)
        bulk.insert(
            Mentorship.goals.through,
            ["mentorship_id", "goal_id"],
            [(key, goal) for key, p in zip(keys, wanted, strict=True) for goal in p.goal_ids],
        )
        mentorships = [
            _saved(Mentorship(pk=key, **dict(zip(fields, row, strict=True))))
            for key, row in zip(keys, rows, strict=True)
        ]
        # Bulk writes send no signals: tell the engine its mentor features are stale.
        transaction.on_commit(bump_version)
        if introduce:
            ids = [m.pk for m in mentorships]
            transaction.on_commit(lambda: queue_introductions(ids))
    return Started(mentorships, refused)


def _saved(mentorship: Mentorship) -> Mentorship:
    """As bulk_create leaves what it saved: in the database, not to be added again."""
    mentorship._state.adding = False
    mentorship._state.db = DEFAULT_DB_ALIAS
    return mentorship


def queue_introductions(mentorship_ids: Sequence[int], *, task=None, chunk: int = 200) -> None:
    """Hand the intro emails to Celery in chunks of `chunk` pairs, through `task` (by default
    `introduce_many`; cohorts pass their own). A broker down at this moment loses nothing: the
    sweeper (cohorts.tasks.sweep) introduces any pair still without one."""
    if task is None:
        from matching.tasks import introduce_many as task

    for start in range(0, len(mentorship_ids), chunk):
        try:
            task.delay(list(mentorship_ids[start : start + chunk]))
        except Exception:  # the broker is down: the sweeper sends them
            logger.warning("intro emails of %s pairs left to the sweeper", len(mentorship_ids))
            return


def accept_request(*, request_id: int, mentor: User) -> Mentorship:
    """The mentor takes the mentee on: the request is accepted, the pair starts, the mentee's
    other open requests for the same goals are withdrawn. Refused with a MatchingError (and
    nothing changed) when a rule says no."""
    with transaction.atomic():
        request = (
            MentorRequest.objects.select_for_update(of=("self",))
            .select_related("mentee", "mentor")
            .filter(pk=request_id, mentor=mentor)
            .first()
        )
        if request is None:
            raise MentorRequest.DoesNotExist
        if not request.is_open:
            raise MatchingError(f"This request is already {request.get_status_display().lower()}.")
        now = timezone.now()
        request.status = MentorRequest.Status.ACCEPTED
        request.answered_at = request.closed_at = now
        request.save(update_fields=["status", "answered_at", "closed_at"])
        goals = list(request.goals.all())
        started = start_mentorships(
            pairs=[
                NewPair(
                    mentee_id=request.mentee_id,
                    mentor_id=mentor.pk,
                    goal_ids=tuple(g.pk for g in goals),
                    cadence=request.cadence,
                    request_id=request.pk,
                )
            ],
            source=Mentorship.Source.REQUEST,
        )
        if started.refused:
            (problem,) = started.refused.values()
            # Raising inside the transaction undoes the acceptance above.
            raise MatchingError(
                eligibility.message(problem, audience="mentor", mentee=request.mentee.name)
            )
        (mentorship,) = started.mentorships
        # The conversation before the answer carries on with the pair.
        conversations.carry_thread(request_id=request.pk, mentorship_id=mentorship.pk)
        Goal.objects.filter(pk__in=[g.pk for g in goals], status=Goal.Status.OPEN).update(
            status=Goal.Status.IN_PROGRESS
        )
        # The mentee's other open requests for the same goals are no longer needed.
        other_ids = list(
            MentorRequest.objects.open()
            .filter(mentee=request.mentee, goals__in=goals)
            .exclude(pk=request.pk)
            .values_list("pk", flat=True)
            .distinct()
        )
        for other in MentorRequest.objects.select_for_update().filter(pk__in=other_ids):
            other.status = MentorRequest.Status.WITHDRAWN
            other.closed_at = now
            other.save(update_fields=["status", "closed_at"])
            notify.withdrawn_after_match(other)
        notify.accepted(request)
    return mentorship


def end_mentorship(
    *, mentorship: Mentorship, by: User, reason: str = "", notify_people: bool = True
) -> Mentorship:
    """End an active pair, by one of the two or by an admin of its cohort (the caller checks who
    may). Goals the pair worked on and did not achieve open again; both people are told, with
    the reason, unless the caller tells them itself (closing with a thank-you does). An end by
    anyone outside the pair goes into the audit log."""
    if "\x00" in reason:
        raise MatchingError("The reason contains a NUL character: write it again as plain text.")
    with transaction.atomic():
        mentorship = (
            Mentorship.objects.select_for_update(of=("self",))
            .select_related("mentor", "mentee")
            .get(pk=mentorship.pk)
        )
        if mentorship.status != Mentorship.Status.ACTIVE:
            raise MatchingError("This mentorship has already ended.")
        mentorship.status = Mentorship.Status.CLOSED
        mentorship.ended_at = timezone.now()
        mentorship.ended_by = by
        mentorship.end_reason = reason.strip()
        mentorship.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])
        mentorship.goals.filter(status=Goal.Status.IN_PROGRESS).update(status=Goal.Status.OPEN)
        if by.pk not in (mentorship.mentee_id, mentorship.mentor_id):
            placement = getattr(mentorship, "placement", None)  # a cohort's pair has one
            audit.record(
                action=AuditEntry.Action.END_PAIR,
                by=by,
                cohort=placement.cohort if placement else None,
                target=f"{mentorship.mentee} with {mentorship.mentor}",
                detail={"mentorship": mentorship.pk, "reason": mentorship.end_reason},
            )
        if notify_people:
            for person in (mentorship.mentee, mentorship.mentor):
                notify.ended(mentorship, to=person, by=by)
        transaction.on_commit(bump_version)
    return mentorship
