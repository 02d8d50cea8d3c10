"""Matching a whole cohort: load, score in blocks, solve once for everyone, save proposals, and
later publish them as mentorships.

Runs in a Celery task (tasks.run_matching); progress is written to the MatchRun row as it goes,
so the page can show it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import Avg, Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEntry
from cohorts.models import (
    BUSY,
    Cohort,
    Enrollment,
    MatchRun,
    PairRule,
    Placement,
    Proposal,
    Unmatched,
    queued_lease,
)
from cohorts.services import latest_run
from matching import actions, assign, eligibility, engine, loader
from matching.engine import Policy
from matching.models import Mentorship
from profiles.models import Goal, User

logger = logging.getLogger(__name__)

BLOCK = 1000  # mentees scored at once: 1000 x 2000 mentors is 2 million pairs
TOP = 60  # candidate mentors kept per mentee for the solver (see tests/load/bench_cohort.py)


@dataclass
class Diagnosis:
    """Per mentee, what the cohort offers them: to say why someone was left unmatched."""

    shares_language: np.ndarray
    shares_time: np.ndarray
    any_allowed: np.ndarray


@dataclass
class Outcome:
    mentees: engine.Features
    mentors: engine.Features
    assignment: assign.Assignment
    locked: list[tuple[int, int]]  # (row, col)
    reasons: dict[int, str]  # unmatched row -> why
    timings: dict[str, float] = field(default_factory=dict)


def eligible_enrollments(cohort: Cohort):
    """Who a run matches: people who joined, or everyone imported when the cohort says so;
    never someone who declined."""
    enrollments = cohort.enrollments.filter(user__isnull=False).exclude(
        status=Enrollment.Status.DECLINED
    )
    if not cohort.match_invited:
        enrollments = enrollments.filter(status=Enrollment.Status.JOINED)
    return enrollments


def participants(cohort: Cohort) -> tuple[list[int], list[int], dict[int, int]]:
    rows = eligible_enrollments(cohort).values_list("user_id", "role", "capacity_override")
    mentees, mentors, overrides = [], [], {}
    for user_id, role, override in rows:
        if role in (Enrollment.Role.MENTEE, Enrollment.Role.BOTH):
            mentees.append(user_id)
        if role in (Enrollment.Role.MENTOR, Enrollment.Role.BOTH):
            mentors.append(user_id)
            if override is not None:
                overrides[user_id] = override
    return sorted(mentees), sorted(mentors), overrides


def placed(cohort: Cohort):
    """The cohort's published pairs that are still going: fixed, and counted by every rule."""
    return Mentorship.objects.active().filter(placement__cohort=cohort)


def compute(
    cohort: Cohort,
    *,
    progress: Callable[[int, str], None] = lambda percent, stage: None,
    top: int | None = TOP,
) -> Outcome:
    """The optimal assignment for the cohort as it is now, honouring locked and forbidden pairs."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    progress(2, "Loading people")
    mentee_ids, mentor_ids, overrides = participants(cohort)
    mentors = loader.load_mentors(mentor_ids, capacity_overrides=overrides, idf=loader.site_idf())
    mentees = loader.load_mentees(mentee_ids, idf=mentors.idf)
    policy = cohort.policy()
    rules = list(cohort.rules.values_list("mentee_id", "mentor_id", "kind"))
    excluded = eligibility.excluded_pairs(mentee_ids) | {
        (a, b) for a, b, kind in rules if kind == PairRule.Kind.FORBID
    }
    row_of = {int(u): i for i, u in enumerate(mentees.user_ids)}
    col_of = {int(u): j for j, u in enumerate(mentors.user_ids)}
    k = cohort.mentors_per_mentee
    wanted = np.full(len(mentees), k, dtype=np.int64)
    # After a publish, a re-run places only who is not placed yet: a mentee's published pairs
    # count against the cohort's mentors per mentee (mentors' capacity already counts them).
    held = dict(
        placed(cohort)
        .filter(mentee_id__in=mentee_ids)
        .values("mentee_id")
        .annotate(n=Count("pk"))
        .values_list("mentee_id", "n")
    )
    for mentee_id, count in held.items():
        wanted[row_of[mentee_id]] = max(k - count, 0)
    capacity = np.maximum(mentors.capacity - mentors.active, 0).astype(np.int64)
    locked = []
    for mentee_id, mentor_id, kind in rules:
        if kind != PairRule.Kind.LOCK or mentee_id not in row_of or mentor_id not in col_of:
            continue
        row, col = row_of[mentee_id], col_of[mentor_id]
        if wanted[row] > 0 and capacity[col] > 0 and (mentee_id, mentor_id) not in excluded:
            locked.append((row, col))
            wanted[row] -= 1
            capacity[col] -= 1
    locked_pairs = {(int(mentees.user_ids[r]), int(mentors.user_ids[c])) for r, c in locked}
    timings["load"] = time.perf_counter() - started

    started = time.perf_counter()
    parts = []
    diagnosis = Diagnosis(
        np.zeros(len(mentees), bool), np.zeros(len(mentees), bool), np.zeros(len(mentees), bool)
    )
    for first in range(0, len(mentees), BLOCK):
        block = mentees.take(np.arange(first, min(first + BLOCK, len(mentees))))
        scores = engine.score(block, mentors, policy, excluded | locked_pairs)
        parts.append(
            assign.candidates_from(scores.score, scores.allowed, row_offset=first, top=top)
        )
        # The language component is above 0 exactly for the pairs that share a language.
        shared = scores.components[engine.Component.LANGUAGE] > 0
        rows = slice(first, first + len(block))
        diagnosis.shares_language[rows] = shared.any(axis=1)
        shared &= scores.overlap_hours >= max(policy.min_overlap_hours, 0.5)
        diagnosis.shares_time[rows] = shared.any(axis=1)
        diagnosis.any_allowed[rows] = scores.allowed.any(axis=1)
        del scores, shared
        progress(5 + int(60 * (first + len(block)) / max(len(mentees), 1)), "Scoring pairs")
    candidates = assign.concat(parts)
    timings["score"] = time.perf_counter() - started

    progress(70, "Finding the best assignment for everyone")
    started = time.perf_counter()
    result = assign.solve(candidates, wanted, capacity, favour_score=cohort.favour_score)
    timings["solve"] = time.perf_counter() - started

    matched_rows = set(result.rows.tolist()) | {r for r, _ in locked}
    matched_rows |= {row_of[m] for m in held if m in row_of}
    reasons = {}
    for row in range(len(mentees)):
        if row not in matched_rows:
            reasons[row] = why_unmatched(row, mentees, diagnosis, policy, cohort)
    return Outcome(mentees, mentors, result, locked, reasons, timings)


def why_unmatched(row, mentees, diagnosis: Diagnosis, policy, cohort) -> str:
    if not diagnosis.shares_language[row]:
        spoken = [mentees.language_names[k] for k in np.flatnonzero(mentees.languages[row])]
        if not spoken:
            return "Their profile names no language."
        return f"No mentor in the cohort speaks {engine._list(spoken)}."
    if not diagnosis.shares_time[row]:
        hours = max(policy.min_overlap_hours, 0.5)
        return f"No mentor who shares a language is free at the same time ({hours:g} h a week)."
    if not diagnosis.any_allowed[row]:
        return (
            "No mentor fits: those who share a language and time are paused, excluded or "
            "already paired with them."
        )
    return "Every mentor who fits is full: add mentors or raise capacities, then re-run."


def _pair_reasons(outcome: Outcome, row: int, col: int, policy) -> tuple[float, list[str]]:
    scores, reasons = engine.explain_pair(
        outcome.mentees.take([row]), outcome.mentors.take([col]), policy
    )
    return float(scores.score[0, 0]), [r.sentence for r in engine.top_reasons(reasons)]


def _carried(cohort: Cohort, run: MatchRun) -> list[Proposal]:
    """The cohort's published pairs still going, as fixed proposals of this run (with the score
    and reasons they were published with), so that its figures cover the whole cohort."""
    mentorships = list(placed(cohort).values_list("pk", "mentee_id", "mentor_id"))
    shown = {}
    for mentorship_id, score, reasons in (
        Proposal.objects.filter(mentorship_id__in=[m for m, _, _ in mentorships])
        .order_by("pk")
        .values_list("mentorship_id", "score", "reasons")
    ):
        shown.setdefault(mentorship_id, (score, reasons))
    return [
        Proposal(
            run=run,
            mentee_id=mentee,
            mentor_id=mentor,
            mentorship_id=pk,
            score=shown.get(pk, (0.0, []))[0],
            reasons=shown.get(pk, (0.0, []))[1],
        )
        for pk, mentee, mentor in mentorships
    ]


def save(run: MatchRun, outcome: Outcome) -> dict:
    """Write the run's proposals (the published pairs carried as they are, then the new ones)
    and unmatched mentees, with reasons, and its figures. Nothing is written unless the run
    still holds its lease: a run the sweeper gave up on stays failed."""
    policy = run.cohort.policy()
    mentees, mentors = outcome.mentees, outcome.mentors
    started = time.perf_counter()
    proposals = []
    pairs = [(r, c, True) for r, c in outcome.locked] + [
        (int(r), int(c), False)
        for r, c in zip(outcome.assignment.rows, outcome.assignment.cols, strict=True)
    ]
    for row, col, locked in pairs:
        value, sentences = _pair_reasons(outcome, row, col, policy)
        proposals.append(
            Proposal(
                run=run,
                mentee_id=int(mentees.user_ids[row]),
                mentor_id=int(mentors.user_ids[col]),
                score=round(value, 4),
                reasons=sentences,
                locked=locked,
            )
        )
    with transaction.atomic():
        claimed = MatchRun.objects.select_for_update().filter(
            pk=run.pk, status=MatchRun.Status.RUNNING
        )
        if not claimed.exists():
            raise LeaseLost("The run was given up on while it worked; nothing was saved.")
        carried = _carried(run.cohort, run)
        Proposal.objects.bulk_create(carried + proposals, batch_size=2000)
        Unmatched.objects.bulk_create(
            [
                Unmatched(run=run, mentee_id=int(mentees.user_ids[row]), reason=reason)
                for row, reason in outcome.reasons.items()
            ],
            batch_size=2000,
        )
    outcome.timings["save"] = time.perf_counter() - started
    return {
        "mentors": len(mentors),
        "carried": len(carried),
        "seconds": {name: round(value, 3) for name, value in outcome.timings.items()},
    } | figures(run, mentees=len(mentees))


def figures(run: MatchRun, *, mentees: int | None = None) -> dict:
    """The review's header, counted from the proposals as they are now (after any lock, remove
    or swap): mentees matched, pairs, published pairs, mean score."""
    found = run.proposals.aggregate(
        pairs=Count("pk"),
        matched=Count("mentee", distinct=True),
        published=Count("pk", filter=Q(mentorship__isnull=False)),
        total=Sum("score"),
        mean=Avg("score"),
    )
    if mentees is None:
        mentees = run.stats.get("mentees", 0) if run.stats else 0
    mentees = max(mentees, found["matched"])
    return {
        "mentees": mentees,
        "matched": found["matched"],
        "matched_share": round(found["matched"] / mentees, 4) if mentees else 0,
        "pairs": found["pairs"],
        "published": found["published"],
        "to_publish": found["pairs"] - found["published"],
        "total_score": round(found["total"] or 0, 3),
        "mean_score": round(found["mean"] or 0, 4),
    }


# --- Leases: nothing stays "running" after its worker is gone --------------------------------

LEASE = timedelta(seconds=60)  # a worker renews it every HEARTBEAT while it works
HEARTBEAT = 15
LOST = (
    "The matching run stopped before it finished (its worker or database connection was "
    "lost). Nothing was changed: run matching again."
)
PUBLISH_LOST = (
    "Publishing stopped before it finished (its worker or database connection was lost). "
    "The pairs published so far stay; publish again to finish the rest."
)


class LeaseLost(Exception):
    """The sweeper failed this run while a worker still held it."""


@contextmanager
def heartbeat(run_id: int, field: str):
    """Renew the run's lease every HEARTBEAT seconds from a thread, while the block runs: a long
    step (scoring, the solve) cannot outlive the lease, and a dead worker stops renewing it."""
    stop = threading.Event()

    def renew() -> None:
        try:
            while not stop.wait(HEARTBEAT):
                try:
                    MatchRun.objects.filter(pk=run_id, **{f"{field}__in": BUSY}).update(
                        lease_until=timezone.now() + LEASE
                    )
                except DatabaseError:  # a lapsed lease is the sweeper's to handle
                    logger.warning("could not renew the lease of run %s", run_id)
                    connection.close()
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=renew, name=f"lease-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _record_failure(run_id: int, **fields) -> None:
    """Mark the run failed, on a fresh connection when the one in use has died."""
    for attempt in range(2):
        try:
            MatchRun.objects.filter(pk=run_id).update(**fields)
            return
        except DatabaseError:
            if attempt:
                raise
            connection.close()


def execute(run_id: int) -> MatchRun:
    """Run a queued MatchRun to the end (the Celery task calls this). A second delivery of the
    same run finds it claimed and does nothing."""
    claimed = MatchRun.objects.filter(pk=run_id, status=MatchRun.Status.QUEUED).update(
        status=MatchRun.Status.RUNNING,
        stage="Starting",
        progress=1,
        lease_until=timezone.now() + LEASE,
    )
    run = MatchRun.objects.select_related("cohort").get(pk=run_id)
    if not claimed:
        return run  # already run, running elsewhere, or given up on

    def progress(percent: int, stage: str) -> None:
        MatchRun.objects.filter(pk=run_id, status=MatchRun.Status.RUNNING).update(
            progress=percent, stage=stage, lease_until=timezone.now() + LEASE
        )

    try:
        with heartbeat(run_id, "status"):
            outcome = compute(run.cohort, progress=progress)
            progress(90, "Saving proposals")
            stats = save(run, outcome)
    except LeaseLost:
        return MatchRun.objects.get(pk=run_id)
    except Exception as exc:
        _record_failure(
            run_id,
            status=MatchRun.Status.FAILED,
            error=f"The matching run failed: {exc}"[:2000],
            finished_at=timezone.now(),
            lease_until=None,
        )
        raise
    MatchRun.objects.filter(pk=run_id, status=MatchRun.Status.RUNNING).update(
        status=MatchRun.Status.DONE,
        progress=100,
        stage="Done",
        stats=stats,
        finished_at=timezone.now(),
        lease_until=None,
    )
    run.refresh_from_db()
    return run


def sweep_leases(now=None) -> int:
    """Fail every run and publishing whose lease has lapsed; returns how many. Beat calls it
    every 30 s, so a lost run is failed within LEASE + 30 s."""
    now = now or timezone.now()
    lapsed = Q(lease_until__lt=now)
    failed = MatchRun.objects.filter(lapsed, status__in=BUSY).update(
        status=MatchRun.Status.FAILED, error=LOST, finished_at=now, lease_until=None
    )
    failed += MatchRun.objects.filter(lapsed, publishing__in=BUSY).update(
        publishing=MatchRun.Publishing.FAILED, publish_error=PUBLISH_LOST, lease_until=None
    )
    return failed


# --- Publishing -------------------------------------------------------------------------------

PUBLISH_CHUNK = 1000


class PublishError(Exception):
    """Publishing cannot start; the message is for the admin."""


def publishable(run: MatchRun) -> str | None:
    """Why this run cannot be published now, or None."""
    if run.status != MatchRun.Status.DONE:
        return "This run has not finished: wait for it, or run matching again."
    latest = latest_run(run.cohort)
    if latest is not None and latest.pk != run.pk:
        return "A newer matching run exists: review that one and publish it instead."
    if run.busy:
        return "This run is being published already; its progress is on the review page."
    if not run.proposals.filter(mentorship__isnull=True).exists():
        return "Every pair of this run is published already; nothing was sent twice."
    return None


def request_publish(run: MatchRun, *, by: User | None = None) -> None:
    """Queue the run's publishing (the caller then hands it to Celery). Refused with a
    PublishError when it cannot be published, or when the cohort is busy (a constraint). The
    audit log records who asked, with the pairs waiting to be published."""
    with transaction.atomic():
        run = MatchRun.objects.select_for_update().select_related("cohort").get(pk=run.pk)
        problem = publishable(run)
        if problem:
            raise PublishError(problem)
        try:
            with transaction.atomic():
                MatchRun.objects.filter(pk=run.pk).update(
                    publishing=MatchRun.Publishing.QUEUED,
                    publish_progress=0,
                    publish_error="",
                    lease_until=queued_lease(),
                )
        except IntegrityError as error:
            raise PublishError(
                "Matching or publishing is already going for this cohort; wait for it to finish."
            ) from error
        pairs = run.proposals.filter(mentorship__isnull=True).count()
        audit.record(
            action=AuditEntry.Action.PUBLISH,
            by=by,
            cohort=run.cohort,
            target=f"Run {run.pk}: {pairs} {'pair' if pairs == 1 else 'pairs'}",
            detail={"run": run.pk, "pairs": pairs},
        )


def cancel_publish(run_id: int, error: str) -> None:
    MatchRun.objects.filter(pk=run_id, publishing=MatchRun.Publishing.QUEUED).update(
        publishing=MatchRun.Publishing.FAILED, publish_error=error, lease_until=None
    )


def publish_run(run_id: int) -> MatchRun:
    """Make a run's unpublished proposals real, in chunks of PUBLISH_CHUNK pairs, each chunk one
    transaction through `matching.actions.start_mentorships`, which holds every mentor to their
    capacity and every mentee to the cohort's mentors per mentee. Proposals that break a rule by
    now (a mentor filled up through requests, say) are skipped and listed. A publishing cut short
    keeps the chunks it finished; publishing again does the rest. The intro emails go to Celery
    once each chunk commits."""
    claimed = MatchRun.objects.filter(pk=run_id, publishing=MatchRun.Publishing.QUEUED).update(
        publishing=MatchRun.Publishing.RUNNING, lease_until=timezone.now() + LEASE
    )
    run = MatchRun.objects.select_related("cohort").get(pk=run_id)
    if not claimed:
        return run
    cohort = run.cohort
    overrides = dict(
        cohort.enrollments.filter(capacity_override__isnull=False).values_list(
            "user_id", "capacity_override"
        )
    )
    pending = list(
        run.proposals.filter(mentorship__isnull=True)
        .order_by("-locked", "-score", "pk")
        .values_list("pk", "mentee_id", "mentor_id", "score")
    )
    skipped = list(run.publish_skipped)
    published = run.published
    try:
        with heartbeat(run_id, "publishing"):
            for first in range(0, len(pending), PUBLISH_CHUNK):
                chunk = pending[first : first + PUBLISH_CHUNK]
                made, refused = _publish_chunk(run, chunk, overrides)
                published += made
                skipped += refused
                MatchRun.objects.filter(pk=run_id).update(
                    publish_progress=round(100 * (first + len(chunk)) / len(pending)),
                    published=published,
                    publish_skipped=skipped,
                    lease_until=timezone.now() + LEASE,
                )
    except LeaseLost:
        return MatchRun.objects.get(pk=run_id)
    except Exception as exc:
        error = f"Publishing failed: {exc}. Pairs published so far stay; publish again to finish."
        _record_failure(
            run_id,
            publishing=MatchRun.Publishing.FAILED,
            publish_error=error[:2000],
            lease_until=None,
        )
        raise
    now = timezone.now()
    MatchRun.objects.filter(pk=run_id).update(
        publishing=MatchRun.Publishing.DONE,
        publish_progress=100,
        published_at=run.published_at or now,
        lease_until=None,
    )
    Cohort.objects.filter(pk=cohort.pk).update(status=Cohort.Status.ACTIVE)
    run.refresh_from_db()
    return run


def _publish_chunk(
    run: MatchRun, chunk: list[tuple[int, int, int, float]], overrides: dict[int, int]
) -> tuple[int, list[str]]:
    cohort = run.cohort
    with transaction.atomic():
        # The run row first: a sweeper that gave up on this publishing makes us stop here.
        if (
            not MatchRun.objects.select_for_update()
            .filter(pk=run.pk, publishing=MatchRun.Publishing.RUNNING)
            .exists()
        ):
            raise LeaseLost("Publishing was given up on while it worked.")
        mentee_ids = sorted({mentee for _, mentee, _, _ in chunk})
        goals: dict[int, list[int]] = defaultdict(list)
        for owner, goal in (
            Goal.objects.open().filter(owner_id__in=mentee_ids).values_list("owner_id", "pk")
        ):
            goals[owner].append(goal)
        started = actions.start_mentorships(
            pairs=[
                actions.NewPair(mentee_id=mentee, mentor_id=mentor, goal_ids=tuple(goals[mentee]))
                for _, mentee, mentor, _ in chunk
            ],
            source=Mentorship.Source.COHORT,
            capacity_overrides=overrides,
            limit_per_mentee=cohort.mentors_per_mentee,
            counted=placed(cohort),
            introduce=False,
        )
        made = {(m.mentee_id, m.mentor_id): m for m in started.mentorships}
        Placement.objects.bulk_create(
            [
                Placement(
                    cohort=cohort,
                    mentorship=made[(mentee, mentor)],
                    run=run,
                    score=score,
                )
                for _, mentee, mentor, score in chunk
                if (mentee, mentor) in made
            ],
            batch_size=2000,
        )
        # One UPDATE for the chunk (bulk_update would build a CASE of a thousand branches): each
        # proposal takes the active mentorship of its pair, found by the pair's unique index.
        pair = Mentorship.objects.active().filter(
            mentee=OuterRef("mentee"), mentor=OuterRef("mentor")
        )
        Proposal.objects.filter(
            pk__in=[pk for pk, mentee, mentor, _ in chunk if (mentee, mentor) in made]
        ).update(mentorship=Subquery(pair.values("pk")[:1]))
        ids = [m.pk for m in started.mentorships]
        transaction.on_commit(lambda: queue_cohort_introductions(ids))
        refused = []
        if started.refused:
            names = dict(
                User.objects.filter(
                    pk__in={p for pair in started.refused for p in pair}
                ).values_list("pk", "name")
            )
            for (mentee, mentor), problem in started.refused.items():
                text = eligibility.message(
                    problem, audience="admin", mentee=names[mentee], mentor=names[mentor]
                )
                refused.append(f"{names[mentee]} and {names[mentor]}: {text}")
    return len(made), refused


def queue_cohort_introductions(mentorship_ids: list[int]) -> None:
    from cohorts.tasks import introduce_placements  # the tasks module imports this one

    actions.queue_introductions(mentorship_ids, task=introduce_placements)


@dataclass
class Moved:
    """One mentor in a sample mentee's top suggestions, before and after a change of policy."""

    name: str
    before: int | None  # rank, 1 first; None when not in the top before
    after: int | None
    percent_before: int
    percent_after: int

    @property
    def change(self) -> str:
        if self.before is None:
            return "new"
        if self.after is None:
            return "out"
        if self.before == self.after:
            return "same"
        return (
            f"up {self.before - self.after}"
            if self.after < self.before
            else (f"down {self.after - self.before}")
        )


@dataclass
class SamplePreview:
    mentee: str
    mentors: list[Moved]


def preview_policy(
    cohort: Cohort, before: Policy, after: Policy, *, samples: int = 3, top: int = 5
) -> list[SamplePreview]:
    """How a change of policy moves the top suggestions of a few of the cohort's mentees (the
    first with skills in their goals), scored by the engine as a run would score them."""
    mentee_ids, mentor_ids, overrides = participants(cohort)
    if not mentee_ids or not mentor_ids:
        return []
    mentors = loader.load_mentors(mentor_ids, capacity_overrides=overrides, idf=loader.site_idf())
    mentees = loader.load_mentees(mentee_ids, idf=mentors.idf)
    rows = [r for r in range(len(mentees)) if mentees.skills[r].any()][:samples]
    if not rows or not len(mentors):
        return []
    sample = mentees.take(rows)
    excluded = eligibility.excluded_pairs(sample.user_ids.tolist())
    old = engine.score(sample, mentors, before, excluded)
    new = engine.score(sample, mentors, after, excluded)
    previews = []
    for row in range(len(sample)):
        ranked_before = engine.rank(old, row, limit=top, mentor_ids=mentors.user_ids).tolist()
        ranked_after = engine.rank(new, row, limit=top, mentor_ids=mentors.user_ids).tolist()
        moved = [
            Moved(
                name=mentors.names[col],
                before=ranked_before.index(col) + 1 if col in ranked_before else None,
                after=ranked_after.index(col) + 1 if col in ranked_after else None,
                percent_before=engine.round_score(float(old.score[row, col])),
                percent_after=engine.round_score(float(new.score[row, col])),
            )
            for col in dict.fromkeys(ranked_after + ranked_before)
        ]
        previews.append(SamplePreview(sample.names[row], moved))
    return previews
