"""Matching a whole cohort: load, score in blocks, solve once for everyone, save proposals, and
later publish them as mentorships.

Runs in a Celery task (tasks.run_matching); progress is written to the MatchRun row as it goes,
so the page can show it.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import socket
import threading
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import Avg, Count, F, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEntry
from cohorts.models import (
    BUSY,
    Cohort,
    Enrollment,
    MatchInput,
    MatchRun,
    MatchStep,
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
from mentorship import bulk
from profiles.models import Goal, Profile, User

logger = logging.getLogger(__name__)

BLOCK_ROWS = 1000  # mentees per block at most
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


@dataclass
class Plan:
    """What a run matches, fixed when it starts. Mentee row i is mentee_ids[i] (sorted); mentor
    column j is mentors.user_ids[j]. Every block is scored against the same plan, in this
    process or on any worker (a distributed run stores it as its MatchInput)."""

    mentee_ids: np.ndarray  # int64 (m,)
    mentors: engine.Features
    policy: Policy
    wanted: np.ndarray  # int64 (m,): mentors still to find for each mentee
    capacity: np.ndarray  # int64 (n,): places left with each mentor
    locked: list[tuple[int, int]]  # (row, col), taken out of wanted and capacity
    held: list[int]  # mentee ids with a published pair still going
    excluded: set[tuple[int, int]]  # (mentee id, mentor id) never proposed, locked ones too
    favour_score: bool
    top: int | None
    timings: dict[str, float] = field(default_factory=dict)
    spread_at: float = 0.0  # when its steps were queued (epoch seconds), for a spread run

    @property
    def pairs(self) -> int:
        return len(self.mentee_ids) * len(self.mentors)

    def blocks(self) -> list[tuple[int, int]]:
        """(first, last) mentee rows of each block: about block_pairs() pairs apiece, and at
        most BLOCK_ROWS mentees (a block's arrays then stay a few tens of MB with fewer mentors,
        which scores faster than one huge block)."""
        rows = block_pairs() // max(len(self.mentors), 1)
        rows = max(1, min(len(self.mentee_ids), BLOCK_ROWS, rows))
        return [
            (first, min(first + rows, len(self.mentee_ids)))
            for first in range(0, len(self.mentee_ids), rows)
        ]


@dataclass
class BlockResult:
    """A scored block: each of its mentees' best `top` allowed mentors, and what the block's
    mentees were offered (for the reasons of whoever stays unmatched)."""

    first: int
    candidates: assign.Candidates  # rows are the cohort's mentee rows
    diagnosis: Diagnosis

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        np.savez(
            out,
            first=np.int64(self.first),
            rows=self.candidates.rows,
            cols=self.candidates.cols,
            scores=self.candidates.scores,
            shares_language=self.diagnosis.shares_language,
            shares_time=self.diagnosis.shares_time,
            any_allowed=self.diagnosis.any_allowed,
        )
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> BlockResult:
        with np.load(io.BytesIO(data)) as arrays:
            return cls(
                int(arrays["first"]),
                assign.Candidates(arrays["rows"], arrays["cols"], arrays["scores"]),
                Diagnosis(arrays["shares_language"], arrays["shares_time"], arrays["any_allowed"]),
            )


def block_pairs() -> int:
    """Pairs scored at once: 1000 mentees x 20,000 mentors by default (about 1.8 GB at peak)."""
    return settings.MATCH_BLOCK_PAIRS


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


def plan(cohort: Cohort, *, top: int | None = TOP) -> Plan:
    """The run's plan for the cohort as it is now, honouring published, locked and forbidden
    pairs. Loads the mentors' features; the mentees' are loaded per block."""
    started = time.perf_counter()
    mentee_ids, mentor_ids, overrides = participants(cohort)
    # The mentees' rows are those load_mentees gives: the people among them with a profile.
    mentee_ids = np.array(
        sorted(Profile.objects.filter(user_id__any=mentee_ids).values_list("user_id", flat=True)),
        dtype=np.int64,
    )
    mentors = loader.load_mentors(mentor_ids, capacity_overrides=overrides, idf=loader.site_idf())
    rules = list(cohort.rules.values_list("mentee_id", "mentor_id", "kind"))
    excluded = eligibility.excluded_pairs(mentee_ids.tolist()) | {
        (a, b) for a, b, kind in rules if kind == PairRule.Kind.FORBID
    }
    row_of = {int(u): i for i, u in enumerate(mentee_ids)}
    col_of = {int(u): j for j, u in enumerate(mentors.user_ids)}
    k = cohort.mentors_per_mentee
    wanted = np.full(len(mentee_ids), k, dtype=np.int64)
    # After a publish, a re-run places only who is not placed yet: a mentee's published pairs
    # count against the cohort's mentors per mentee (mentors' capacity already counts them).
    held = dict(
        placed(cohort)
        .filter(mentee_id__any=mentee_ids.tolist())
        .values("mentee_id")
        .annotate(n=Count("pk"))
        .values_list("mentee_id", "n")
    )
    for mentee_id, count in held.items():
        if mentee_id in row_of:
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
    excluded |= {(int(mentee_ids[r]), int(mentors.user_ids[c])) for r, c in locked}
    return Plan(
        mentee_ids=mentee_ids,
        mentors=mentors,
        policy=cohort.policy(),
        wanted=wanted,
        capacity=capacity,
        locked=locked,
        held=sorted(held),
        excluded=excluded,
        favour_score=cohort.favour_score,
        top=top,
        timings={"load": time.perf_counter() - started},
    )


def load_block(the_plan: Plan, first: int, last: int) -> engine.Features:
    """The features of the plan's mentee rows first..last-1, from the database."""
    ids = the_plan.mentee_ids[first:last].tolist()
    mentees = loader.load_mentees(ids, idf=the_plan.mentors.idf)
    if mentees.user_ids.tolist() != ids:  # a profile deleted since the plan was made
        raise RuntimeError("The cohort's mentees changed while it was matched: run it again.")
    return mentees


def score_block(the_plan: Plan, mentees: engine.Features, first: int) -> BlockResult:
    """Score one block of mentees (rows first.. of the plan) against every mentor; keep each
    mentee's best `top` allowed mentors."""
    scores = engine.score(mentees, the_plan.mentors, the_plan.policy, the_plan.excluded)
    candidates = assign.candidates_from(
        scores.score, scores.allowed, row_offset=first, top=the_plan.top
    )
    # The language component is above 0 exactly for the pairs that share a language.
    shared = scores.components[engine.Component.LANGUAGE] > 0
    shares_language = shared.any(axis=1)
    shared &= scores.overlap_hours >= max(the_plan.policy.min_overlap_hours, 0.5)
    diagnosis = Diagnosis(shares_language, shared.any(axis=1), scores.allowed.any(axis=1))
    return BlockResult(first, candidates, diagnosis)


@dataclass
class Solved:
    """The solve over every block: the assignment, who is left out, and what each mentee was
    offered (to say why)."""

    assignment: assign.Assignment
    left_out: np.ndarray  # bool (m,): wanted a mentor and has none, locked or published
    diagnosis: Diagnosis
    seconds: float
    scored_at: float = 0.0  # when the solve started (epoch seconds)

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        np.savez(
            out,
            rows=self.assignment.rows,
            cols=self.assignment.cols,
            scores=self.assignment.scores,
            unmatched=self.assignment.unmatched,
            left_out=self.left_out,
            shares_language=self.diagnosis.shares_language,
            shares_time=self.diagnosis.shares_time,
            any_allowed=self.diagnosis.any_allowed,
            seconds=np.float64(self.seconds),
            scored_at=np.float64(self.scored_at),
        )
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Solved:
        with np.load(io.BytesIO(data)) as a:
            return cls(
                assign.Assignment(a["rows"], a["cols"], a["scores"], a["unmatched"]),
                a["left_out"],
                Diagnosis(a["shares_language"], a["shares_time"], a["any_allowed"]),
                float(a["seconds"]),
                float(a["scored_at"]),
            )

    def pairs(self, the_plan: Plan, first: int, last: int) -> list[tuple[int, int, bool]]:
        """(row, col, locked) of the pairs of mentee rows first..last-1, locked ones first."""
        rows, cols = self.assignment.rows, self.assignment.cols
        inside = (rows >= first) & (rows < last)
        return [(r, c, True) for r, c in the_plan.locked if first <= r < last] + [
            (int(r), int(c), False) for r, c in zip(rows[inside], cols[inside], strict=True)
        ]


def solve_blocks(the_plan: Plan, results: list[BlockResult]) -> Solved:
    """Merge the blocks' candidates (in row order, whatever order the blocks finished in) and
    solve once for everyone: the same min-cost flow, whether the blocks were scored here or on
    many workers."""
    scored_at = time.time()
    results = sorted(results, key=lambda result: result.first)
    candidates = assign.concat([result.candidates for result in results])
    diagnosis = Diagnosis(
        *(
            np.concatenate([getattr(r.diagnosis, name) for r in results])
            if results
            else np.zeros(0, bool)
            for name in ("shares_language", "shares_time", "any_allowed")
        )
    )
    started = time.perf_counter()
    result = assign.solve(
        candidates, the_plan.wanted, the_plan.capacity, favour_score=the_plan.favour_score
    )
    seconds = time.perf_counter() - started
    left_out = np.ones(len(the_plan.mentee_ids), dtype=bool)
    left_out[result.rows] = False
    left_out[[r for r, _ in the_plan.locked]] = False
    left_out[np.searchsorted(the_plan.mentee_ids, the_plan.held)] = False  # held are mentees
    return Solved(result, left_out, diagnosis, seconds, scored_at)


def reasons_for(
    solved: Solved, the_plan: Plan, mentees: engine.Features, first: int
) -> dict[int, str]:
    """Why each mentee left out of rows first.. (mentees are those rows) is: row -> reason."""
    last = first + len(mentees)
    diagnosis = Diagnosis(
        solved.diagnosis.shares_language[first:last],
        solved.diagnosis.shares_time[first:last],
        solved.diagnosis.any_allowed[first:last],
    )
    return {
        first + row: why_unmatched(row, mentees, diagnosis, the_plan.policy)
        for row in np.flatnonzero(solved.left_out[first:last]).tolist()
    }


def finish(the_plan: Plan, results: list[BlockResult], mentees: engine.Features) -> Outcome:
    """The assignment over every block, with the reasons of whoever is left out."""
    solved = solve_blocks(the_plan, results)
    timings = dict(the_plan.timings) | {"solve": solved.seconds}
    reasons = reasons_for(solved, the_plan, mentees, 0)
    return Outcome(mentees, the_plan.mentors, solved.assignment, the_plan.locked, reasons, timings)


def compute(
    cohort: Cohort,
    *,
    progress: Callable[[int, str], None] = lambda percent, stage: None,
    top: int | None = TOP,
) -> Outcome:
    """The optimal assignment for the cohort as it is now, every block scored in this process
    (a distributed run does the same steps on workers: see `start_steps`)."""
    progress(2, "Loading people")
    return compute_planned(plan(cohort, top=top), progress=progress)


def compute_planned(
    the_plan: Plan, *, progress: Callable[[int, str], None] = lambda percent, stage: None
) -> Outcome:
    started = time.perf_counter()
    mentees = loader.load_mentees(the_plan.mentee_ids.tolist(), idf=the_plan.mentors.idf)
    the_plan.timings["load"] += time.perf_counter() - started

    started = time.perf_counter()

    def scored(span: tuple[int, int]) -> BlockResult:
        first, last = span
        return score_block(the_plan, mentees.take(np.arange(first, last)), first)

    # A block per core at once: NumPy lets go of the GIL while it computes, and each process
    # has one BLAS thread (mentorship/celery.py). Results come back in block order.
    results = []
    with ThreadPoolExecutor(max_workers=_cores()) as pool:
        for result in pool.map(scored, the_plan.blocks()):
            results.append(result)
            last = result.first + len(result.diagnosis.any_allowed)
            progress(5 + int(60 * last / max(len(mentees), 1)), "Scoring pairs")
    the_plan.timings["score"] = time.perf_counter() - started
    progress(70, "Finding the best assignment for everyone")
    return finish(the_plan, results, mentees)


def _cores() -> int:
    """The cores this process may run on (os.sched_getaffinity is Linux's only)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def why_unmatched(row, mentees, diagnosis: Diagnosis, policy) -> str:
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
    mentees, mentors = outcome.mentees, outcome.mentors
    started = time.perf_counter()
    pairs = [(r, c, True) for r, c in outcome.locked] + [
        (int(r), int(c), False)
        for r, c in zip(outcome.assignment.rows, outcome.assignment.cols, strict=True)
    ]
    proposals = _proposals(run, mentees, mentors, pairs, run.cohort.policy())
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


def _proposals(
    run: MatchRun,
    mentees: engine.Features,
    mentors: engine.Features,
    pairs: list[tuple[int, int, bool]],
    policy: Policy,
    *,
    first: int = 0,
) -> list[Proposal]:
    """Unsaved proposals of pairs (row, col, locked), each scored and explained; mentees holds
    rows first.. of the run."""
    explained = engine.explain_pairs(
        mentees, mentors, [row - first for row, _, _ in pairs], [col for _, col, _ in pairs], policy
    )
    return [
        Proposal(
            run=run,
            mentee_id=int(mentees.user_ids[row - first]),
            mentor_id=int(mentors.user_ids[col]),
            score=round(value, 4),
            reasons=[reason.sentence for reason in engine.top_reasons(reasons)],
            locked=locked,
        )
        for (row, col, locked), (value, reasons) in zip(pairs, explained, strict=True)
    ]


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

    def renew() -> None:
        MatchRun.objects.filter(pk=run_id, **{f"{field}__in": BUSY}).update(
            lease_until=timezone.now() + LEASE
        )

    with _renewing(renew, f"lease-{run_id}"):
        yield


@contextmanager
def _renewing(renew: Callable[[], None], name: str):
    """Call renew every HEARTBEAT seconds from a thread while the block runs."""
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.wait(HEARTBEAT):
                try:
                    renew()
                except DatabaseError:  # a lapsed lease is the sweeper's to handle
                    logger.warning("could not renew the lease %s", name)
                    connection.close()
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=loop, name=name, daemon=True)
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


def execute(run_id: int, *, spread: bool | None = None) -> MatchRun:
    """Run a queued MatchRun (the Celery task calls this). A second delivery of the same run
    finds it claimed and does nothing. A large cohort (see `spreads`) is handed to the workers
    in steps, and this returns while they score it; otherwise the whole run happens here.
    Commands that need the result now pass spread=False."""
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
            progress(2, "Loading people")
            the_plan = plan(run.cohort)
            if spread if spread is not None else spreads(the_plan):
                start_steps(run, the_plan)
                return MatchRun.objects.get(pk=run_id)
            outcome = compute_planned(the_plan, progress=progress)
            progress(90, "Saving proposals")
            stats = save(run, outcome)
    except LeaseLost:
        return MatchRun.objects.get(pk=run_id)
    except Exception as exc:
        _fail(run_id, exc)
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


def _fail(run_id: int, exc: Exception) -> None:
    _record_failure(
        run_id,
        status=MatchRun.Status.FAILED,
        error=f"The matching run failed: {exc}"[:2000],
        finished_at=timezone.now(),
        lease_until=None,
    )


# --- Spread over workers: one Celery task per block, then one for the solve -----------------

MAX_ATTEMPTS = 3  # a step that lost its worker this often fails the run
RESEND = timedelta(seconds=90)  # a step queued this long may have lost its message: send again


def spreads(the_plan: Plan) -> bool:
    """Whether a run is spread over the Celery workers: when there are real workers (not eager)
    and the cohort has more pairs than MATCH_SPREAD_ABOVE (default 50 million, a 10,000 x 5,000
    cohort: below that one process takes seconds)."""
    if settings.CELERY_TASK_ALWAYS_EAGER or len(the_plan.blocks()) < 2:
        return False
    return the_plan.pairs > settings.MATCH_SPREAD_ABOVE


def start_steps(run: MatchRun, the_plan: Plan) -> None:
    """Store the plan and queue a score step per block; the last block to finish queues the
    solve. The run's lease is then kept by its steps (and lapses if none makes progress for
    QUEUED_LEASE, as when no worker is left)."""
    the_plan.spread_at = time.time()
    data = zlib.compress(pickle.dumps(the_plan, protocol=pickle.HIGHEST_PROTOCOL), 1)
    blocks = the_plan.blocks()
    with transaction.atomic():
        if not MatchRun.objects.filter(pk=run.pk, status=MatchRun.Status.RUNNING).update(
            stage=f"Scoring pairs: 0 of {len(blocks)} blocks",
            progress=5,
            lease_until=queued_lease(),
        ):
            raise LeaseLost("The run was given up on before its steps were queued.")
        MatchInput.objects.create(run=run, data=data)
        _queue_steps(run.pk, MatchStep.Kind.SCORE, list(enumerate(blocks)))


def _queue_steps(run_id: int, kind: str, blocks: list[tuple[int, tuple[int, int]]]) -> list[int]:
    """A step of `kind` per (index, (first, last)) block, sent once the transaction commits."""
    now = timezone.now()
    steps = MatchStep.objects.bulk_create(
        [
            MatchStep(run_id=run_id, kind=kind, index=index, first=first, last=last, sent_at=now)
            for index, (first, last) in blocks
        ]
    )
    ids = [step.pk for step in steps]
    transaction.on_commit(lambda: send_steps(ids))
    return ids


def send_steps(step_ids: list[int]) -> None:
    """Hand steps to Celery. A broker that is away loses nothing: the sweeper sends every step
    that stays queued again after RESEND."""
    from cohorts.tasks import match_step  # the tasks module imports this one

    for step_id in step_ids:
        try:
            match_step.delay(step_id)
        except Exception as error:
            logger.warning("step %s not sent (the sweeper will): %r", step_id, error)
            return


_plans: dict[int, Plan] = {}  # run id -> plan: the last run this process worked on
_plans_lock = threading.Lock()


def stored_plan(run_id: int) -> Plan:
    """A distributed run's plan, read once per process and kept while it works on that run.
    The pickle is the plan this code stored (start_steps); nothing else writes MatchInput."""

    def read() -> Plan:
        data = MatchInput.objects.filter(run_id=run_id).values_list("data", flat=True).first()
        if data is None:
            raise LeaseLost(f"Run {run_id} has no stored plan any more.")
        return pickle.loads(zlib.decompress(data))  # noqa: S301 - our own, see above

    return _kept(_plans, run_id, read)


def _kept(store: dict, run_id: int, read: Callable[[], object]):
    """store[run_id], read once: each store keeps the one run this process works on."""
    with _plans_lock:
        if run_id in store:
            return store[run_id]
    value = read()
    with _plans_lock:
        store.clear()
        store[run_id] = value
    return value


def run_step(step_id: int) -> None:
    """Do one step of a distributed run, if it is still to do: claim it (queued, or running
    with a lapsed lease: its worker is gone), renew its lease and the run's while it works,
    then write its result once. A step whose claim was taken over meanwhile writes nothing."""
    token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    now = timezone.now()
    claimed = (
        MatchStep.objects.filter(pk=step_id, run__status=MatchRun.Status.RUNNING)
        .filter(
            Q(status=MatchStep.Status.QUEUED)
            | Q(status=MatchStep.Status.RUNNING, lease_until__lt=now),
            attempts__lt=MAX_ATTEMPTS,
        )
        .update(
            status=MatchStep.Status.RUNNING,
            attempts=F("attempts") + 1,
            lease_until=now + LEASE,
            worker=token,
        )
    )
    if not claimed:
        return
    step = MatchStep.objects.select_related("run").get(pk=step_id)
    run_id = step.run_id

    def renew() -> None:
        MatchStep.objects.filter(pk=step_id, worker=token).update(
            lease_until=timezone.now() + LEASE
        )
        MatchRun.objects.filter(pk=run_id, status=MatchRun.Status.RUNNING).update(
            lease_until=queued_lease()
        )

    started = time.perf_counter()
    try:
        with _renewing(renew, f"step-{step_id}"):
            renew()
            the_plan = stored_plan(run_id)
            do = {
                MatchStep.Kind.SCORE: _score_step,
                MatchStep.Kind.SOLVE: _solve_step,
                MatchStep.Kind.SAVE: _save_step,
            }[step.kind]
            do(step, the_plan, token, started)
    except LeaseLost:
        return
    except Exception as exc:
        # Back in the queue for the sweeper to send again, up to MAX_ATTEMPTS.
        MatchStep.objects.filter(pk=step_id, worker=token).update(
            status=MatchStep.Status.QUEUED,
            lease_until=None,
            sent_at=timezone.now(),
            worker=f"failed: {exc}"[:200],
        )
        raise


def _score_step(step: MatchStep, the_plan: Plan, token: str, started: float) -> None:
    if (delay := settings.MATCH_STEP_DELAY) > 0:
        time.sleep(delay)  # fault tests only: a window to kill the worker mid-block
    mentees = load_block(the_plan, step.first, step.last)
    result = score_block(the_plan, mentees, step.first).to_bytes()
    if not MatchStep.objects.filter(pk=step.pk, worker=token).update(
        status=MatchStep.Status.DONE,
        result=result,
        seconds=time.perf_counter() - started,
        lease_until=None,
    ):
        raise LeaseLost("Another worker took this block over.")
    if _all_done(step.run_id, MatchStep.Kind.SCORE, "Scoring pairs", start=5, span=60):
        # Whichever block finishes last (two at once: both) makes the solve step; it is made
        # once (a unique constraint) and sent by whoever made it.
        try:
            with transaction.atomic():
                solve = MatchStep.objects.create(
                    run_id=step.run_id, kind=MatchStep.Kind.SOLVE, index=0, sent_at=timezone.now()
                )
        except IntegrityError:
            return
        send_steps([solve.pk])


def _solve_step(step: MatchStep, the_plan: Plan, token: str, started: float) -> None:
    """Merge the blocks and solve; store the assignment and queue a save step per block."""
    run_id = step.run_id
    MatchRun.objects.filter(pk=run_id, status=MatchRun.Status.RUNNING).update(
        progress=70, stage="Finding the best assignment for everyone"
    )
    scored = MatchStep.objects.filter(run_id=run_id, kind=MatchStep.Kind.SCORE).order_by("index")
    results = [
        BlockResult.from_bytes(bytes(data)) for data in scored.values_list("result", flat=True)
    ]
    solved = solve_blocks(the_plan, results)
    blocks = list(scored.values_list("index", "first", "last"))
    with transaction.atomic():
        if not MatchStep.objects.filter(pk=step.pk, worker=token).update(
            status=MatchStep.Status.DONE,
            result=solved.to_bytes(),
            seconds=time.perf_counter() - started,
            lease_until=None,
        ):
            raise LeaseLost("Another worker took the solve over.")
        spans = [(index, (first, last)) for index, first, last in blocks]
        saves = _queue_steps(run_id, MatchStep.Kind.SAVE, spans)
        MatchRun.objects.filter(pk=run_id, status=MatchRun.Status.RUNNING).update(
            progress=75, stage=f"Saving proposals: 0 of {len(saves)} blocks"
        )


_solved: dict[int, Solved] = {}  # run id -> its solve, as `_plans`


def stored_solve(run_id: int) -> Solved:
    def read() -> Solved:
        data = (
            MatchStep.objects.filter(run_id=run_id, kind=MatchStep.Kind.SOLVE, status="done")
            .values_list("result", flat=True)
            .first()
        )
        if data is None:
            raise LeaseLost(f"Run {run_id} has no solve to save.")
        return Solved.from_bytes(bytes(data))

    return _kept(_solved, run_id, read)


def _save_step(step: MatchStep, the_plan: Plan, token: str, started: float) -> None:
    """Explain and write one block's proposals and unmatched mentees, with the step's end, in
    one transaction; the last block to be saved closes the run."""
    solved = stored_solve(step.run_id)
    mentees = load_block(the_plan, step.first, step.last)
    run = step.run
    proposals = _proposals(
        run,
        mentees,
        the_plan.mentors,
        solved.pairs(the_plan, step.first, step.last),
        the_plan.policy,
        first=step.first,
    )
    left_out = [
        Unmatched(run=run, mentee_id=int(the_plan.mentee_ids[row]), reason=reason)
        for row, reason in reasons_for(solved, the_plan, mentees, step.first).items()
    ]
    with transaction.atomic():
        if not MatchStep.objects.filter(pk=step.pk, worker=token).update(
            status=MatchStep.Status.DONE, seconds=time.perf_counter() - started, lease_until=None
        ):
            raise LeaseLost("Another worker took this block over.")
        Proposal.objects.bulk_create(proposals, batch_size=2000)
        Unmatched.objects.bulk_create(left_out, batch_size=2000)
    if _all_done(step.run_id, MatchStep.Kind.SAVE, "Saving proposals", start=75, span=20):
        _close(step.run_id, the_plan, solved)


def _all_done(run_id: int, kind: str, what: str, *, start: int, span: int) -> bool:
    """Show how many steps of `kind` are done on the run (progress from start to start + span,
    "what: 3 of 100 blocks"), renewing its lease; whether they all are."""
    counts = MatchStep.objects.filter(run_id=run_id, kind=kind).aggregate(
        total=Count("pk"), done=Count("pk", filter=Q(status=MatchStep.Status.DONE))
    )
    done, total = counts["done"], counts["total"]
    MatchRun.objects.filter(pk=run_id, status=MatchRun.Status.RUNNING).update(
        progress=start + int(span * done / total),
        stage=f"{what}: {done} of {total} blocks",
        lease_until=queued_lease(),
    )
    return done == total


def _close(run_id: int, the_plan: Plan, solved: Solved) -> None:
    """The run's end, once: the published pairs carried as proposals, its figures, done. Two
    last blocks at once both get here; the run's row lets one through."""
    with transaction.atomic():
        run = (
            MatchRun.objects.select_for_update()
            .select_related("cohort")
            .filter(pk=run_id, status=MatchRun.Status.RUNNING)
            .first()
        )
        if run is None:
            return
        steps = MatchStep.objects.filter(run_id=run_id)
        score_steps = steps.filter(kind=MatchStep.Kind.SCORE)
        carried = _carried(run.cohort, run)
        Proposal.objects.bulk_create(carried, batch_size=2000)
        # As the admin waits: planning, then scoring (from queuing the blocks to the solve),
        # the solve, then saving (from the solve to now); and the work the steps did.
        seconds = dict(the_plan.timings) | {
            "score": solved.scored_at - the_plan.spread_at,
            "solve": solved.seconds,
            "save": time.time() - solved.scored_at - solved.seconds,
            "score_work": sum(score_steps.values_list("seconds", flat=True), 0.0),
            "save_work": sum(
                steps.filter(kind=MatchStep.Kind.SAVE).values_list("seconds", flat=True), 0.0
            ),
        }
        stats = {
            "mentors": len(the_plan.mentors),
            "carried": len(carried),
            "seconds": {name: round(value, 3) for name, value in seconds.items()},
            "steps": {
                "blocks": score_steps.count(),
                # A claim is host:pid:token; the workers are the distinct processes.
                "workers": len(
                    {w.rsplit(":", 1)[0] for w in steps.values_list("worker", flat=True)}
                ),
                "reruns": sum(steps.values_list("attempts", flat=True)) - steps.count(),
            },
        } | figures(run, mentees=len(the_plan.mentee_ids))
        MatchRun.objects.filter(pk=run_id).update(
            status=MatchRun.Status.DONE,
            progress=100,
            stage="Done",
            stats=stats,
            finished_at=timezone.now(),
            lease_until=None,
        )
        # The inputs and results served their purpose; the steps stay, as a record.
        MatchInput.objects.filter(run_id=run_id).delete()
        steps.update(result=None)


def sweep_steps(now=None) -> int:
    """Send again what a distributed run is waiting on: steps whose worker is gone (running
    with a lapsed lease: back to the queue) and steps queued for RESEND whose message may be
    lost (a killed worker had prefetched it, or Redis restarted). A step is claimed once,
    whatever arrives twice. A step tried MAX_ATTEMPTS times fails its run. Returns how many
    steps were sent."""
    now = now or timezone.now()
    live = MatchStep.objects.filter(run__status=MatchRun.Status.RUNNING)
    stuck = live.filter(
        Q(status=MatchStep.Status.RUNNING, lease_until__lt=now)
        | Q(status=MatchStep.Status.QUEUED, sent_at__lt=now - RESEND)
    )
    for run_id, kind, index, worker in stuck.filter(attempts__gte=MAX_ATTEMPTS).values_list(
        "run_id", "kind", "index", "worker"
    ):
        why = worker if worker.startswith("failed: ") else "lost its worker"
        _fail(run_id, RuntimeError(f"{kind} step {index} was tried {MAX_ATTEMPTS} times ({why})"))
    ids = list(stuck.values_list("pk", flat=True))
    if ids:
        MatchStep.objects.filter(pk__in=ids, status=MatchStep.Status.RUNNING).update(
            status=MatchStep.Status.QUEUED, worker="", lease_until=None
        )
        MatchStep.objects.filter(pk__in=ids).update(sent_at=now)
        send_steps(ids)
    return len(ids)


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
            Goal.objects.open().filter(owner_id__any=mentee_ids).values_list("owner_id", "pk")
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
        made = {(m.mentee_id, m.mentor_id): m.pk for m in started.mentorships}
        bulk.insert(
            Placement,
            ["cohort_id", "mentorship_id", "run_id", "score"],
            [
                (cohort.pk, made[(mentee, mentor)], run.pk, score)
                for _, mentee, mentor, score in chunk
                if (mentee, mentor) in made
            ],
        )
        # One UPDATE for the chunk (bulk_update would build a CASE of a thousand branches): each
        # proposal takes the active mentorship of its pair, found by the pair's unique index.
        pair = Mentorship.objects.active().filter(
            mentee=OuterRef("mentee"), mentor=OuterRef("mentor")
        )
        Proposal.objects.filter(
            pk__any=[pk for pk, mentee, mentor, _ in chunk if (mentee, mentor) in made]
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
