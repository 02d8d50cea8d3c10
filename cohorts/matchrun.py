"""Matching a whole cohort: load, score in blocks, solve once for everyone, save proposals, and
later publish them as mentorships.

Runs in a Celery task (tasks.run_matching); progress is written to the MatchRun row as it goes,
so the page can show it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from cohorts.models import Cohort, Enrollment, MatchRun, PairRule, Placement, Proposal, Unmatched
from matching import assign, engine, loader
from matching.models import Mentorship
from matching.tasks import introduce
from profiles.models import Goal

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


def participants(cohort: Cohort) -> tuple[list[int], list[int], dict[int, int]]:
    rows = cohort.enrollments.filter(user__isnull=False).values_list(
        "user_id", "role", "capacity_override"
    )
    mentees, mentors, overrides = [], [], {}
    for user_id, role, override in rows:
        if role in (Enrollment.Role.MENTEE, Enrollment.Role.BOTH):
            mentees.append(user_id)
        if role in (Enrollment.Role.MENTOR, Enrollment.Role.BOTH):
            mentors.append(user_id)
            if override is not None:
                overrides[user_id] = override
    return sorted(mentees), sorted(mentors), overrides


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
    mentors = loader.load_mentors(mentor_ids, capacity_overrides=overrides)
    mentees = loader.load_mentees(mentee_ids, idf=mentors.idf)
    policy = cohort.policy()
    rules = list(cohort.rules.values_list("mentee_id", "mentor_id", "kind"))
    excluded = loader.exclusions(mentee_ids) | {
        (a, b) for a, b, kind in rules if kind == PairRule.Kind.FORBID
    }
    row_of = {int(u): i for i, u in enumerate(mentees.user_ids)}
    col_of = {int(u): j for j, u in enumerate(mentors.user_ids)}
    k = cohort.mentors_per_mentee
    wanted = np.full(len(mentees), k, dtype=np.int64)
    capacity = np.maximum(mentors.capacity - mentors.active, 0).astype(np.int64)
    locked = []
    for mentee_id, mentor_id, kind in rules:
        if kind != PairRule.Kind.LOCK or mentee_id not in row_of or mentor_id not in col_of:
            continue
        row, col = row_of[mentee_id], col_of[mentor_id]
        if wanted[row] > 0 and capacity[col] > 0:
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
    _, reasons = engine.explain_pair(
        outcome.mentees.take([row]), outcome.mentors.take([col]), policy
    )
    return engine.weighted(reasons), [r.sentence for r in engine.top_reasons(reasons)]


def save(run: MatchRun, outcome: Outcome) -> dict:
    """Write the run's proposals and unmatched mentees, with reasons, and its figures."""
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
        Proposal.objects.bulk_create(proposals, batch_size=2000)
        Unmatched.objects.bulk_create(
            [
                Unmatched(run=run, mentee_id=int(mentees.user_ids[row]), reason=reason)
                for row, reason in outcome.reasons.items()
            ],
            batch_size=2000,
        )
    outcome.timings["save"] = time.perf_counter() - started
    scores = [p.score for p in proposals]
    return {
        "mentees": len(mentees),
        "mentors": len(mentors),
        "pairs": len(proposals),
        "matched": len(mentees) - len(outcome.reasons),
        "matched_share": round((len(mentees) - len(outcome.reasons)) / max(len(mentees), 1), 4),
        "total_score": round(sum(scores), 3),
        "mean_score": round(sum(scores) / len(scores), 4) if scores else 0,
        "seconds": {name: round(value, 3) for name, value in outcome.timings.items()},
    }


def execute(run_id: int) -> MatchRun:
    """Run a queued MatchRun to the end (the Celery task calls this)."""
    claimed = MatchRun.objects.filter(pk=run_id, status=MatchRun.Status.QUEUED).update(
        status=MatchRun.Status.RUNNING, stage="Starting", progress=1
    )
    run = MatchRun.objects.select_related("cohort").get(pk=run_id)
    if not claimed:
        return run  # already run, or running elsewhere

    def progress(percent: int, stage: str) -> None:
        MatchRun.objects.filter(pk=run_id).update(progress=percent, stage=stage)

    try:
        outcome = compute(run.cohort, progress=progress)
        progress(90, "Saving proposals")
        stats = save(run, outcome)
    except Exception as exc:
        MatchRun.objects.filter(pk=run_id).update(
            status=MatchRun.Status.FAILED, error=repr(exc)[:2000], finished_at=timezone.now()
        )
        raise
    MatchRun.objects.filter(pk=run_id).update(
        status=MatchRun.Status.DONE,
        progress=100,
        stage="Done",
        stats=stats,
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return run


def publish(run: MatchRun) -> int:
    """Make the run's proposals real: one active Mentorship per pair (source: cohort), its
    placement in the cohort, and the intro email once per pair. Safe to press twice: the run row
    is locked, pairs that exist are skipped, and Introduction rows make each email once."""
    created = 0
    with transaction.atomic():
        run = MatchRun.objects.select_for_update().select_related("cohort").get(pk=run.pk)
        proposals = list(run.proposals.all())
        goals_by_mentee: dict[int, list[int]] = {}
        for owner, goal in (
            Goal.objects.open()
            .filter(owner_id__in=[p.mentee_id for p in proposals])
            .values_list("owner_id", "pk")
        ):
            goals_by_mentee.setdefault(owner, []).append(goal)
        for proposal in proposals:
            if (
                Mentorship.objects.active()
                .filter(mentor_id=proposal.mentor_id, mentee_id=proposal.mentee_id)
                .exists()
            ):
                continue
            try:
                with transaction.atomic():
                    mentorship = Mentorship.objects.create(
                        mentor_id=proposal.mentor_id,
                        mentee_id=proposal.mentee_id,
                        source=Mentorship.Source.COHORT,
                    )
            except IntegrityError:
                continue
            mentorship.goals.set(goals_by_mentee.get(proposal.mentee_id, []))
            Placement.objects.create(cohort=run.cohort, mentorship=mentorship, run=run)
            transaction.on_commit(lambda pk=mentorship.pk: introduce.delay(pk))
            created += 1
        if run.published_at is None:
            run.published_at = timezone.now()
            run.save(update_fields=["published_at"])
        Cohort.objects.filter(pk=run.cohort_id).update(status=Cohort.Status.ACTIVE)
    return created
