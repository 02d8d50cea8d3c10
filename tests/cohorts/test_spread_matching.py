"""A run spread over workers in steps (a block of mentees per step, then the solve) gives the
pairs, scores and reasons of the same run in one process, and each step is done once however
often it is delivered. Here Celery is eager, so each step runs where it is sent: the same code a
worker runs (tests/worker/test_spread_matching.py kills real workers)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test.utils import override_settings
from django.utils import timezone

from cohorts import matchrun
from cohorts.models import Cohort, Enrollment, MatchInput, MatchRun, MatchStep
from tests.load.bench_cohort import demo_enrollments


def spread_cohort() -> Cohort:
    """Twelve demo mentors (capacities 1-3) and forty demo mentees, all joined."""
    with override_settings(DEBUG=True):  # seed_demo refuses to run otherwise
        call_command("seed_demo", mentors=12, mentees=40, seed=3, stdout=StringIO())
    cohort = Cohort.objects.create(name="Spread cohort", slug="spread")
    enrollments = demo_enrollments(cohort)
    for index, enrollment in enumerate(e for e in enrollments if e.role == "mentor"):
        enrollment.capacity_override = 1 + index % 3
    Enrollment.objects.bulk_create(enrollments)
    return cohort


@pytest.fixture
def cohort(db) -> Cohort:
    return spread_cohort()


def proposals(run: MatchRun) -> list[tuple[int, int, float, tuple[str, ...]]]:
    return sorted(
        (p.mentee_id, p.mentor_id, p.score, tuple(p.reasons)) for p in run.proposals.all()
    )


def unmatched(run: MatchRun) -> list[tuple[int, str]]:
    return sorted(run.unmatched.values_list("mentee_id", "reason"))


@pytest.fixture
def small_blocks(settings):
    settings.MATCH_BLOCK_PAIRS = 12 * 6  # six mentees a block: seven blocks
    settings.CELERY_TASK_ALWAYS_EAGER = True


def test_a_spread_run_saves_the_same_pairs_reasons_and_unmatched_as_one_process(
    cohort, small_blocks, django_capture_on_commit_callbacks
):
    alone = matchrun.execute(MatchRun.objects.create(cohort=cohort).pk, spread=False)
    assert alone.status == MatchRun.Status.DONE and not alone.steps.exists()

    run = MatchRun.objects.create(cohort=cohort)
    with django_capture_on_commit_callbacks(execute=True):
        matchrun.execute(run.pk, spread=True)
    run.refresh_from_db()

    assert run.status == MatchRun.Status.DONE, run.error
    assert (run.progress, run.stage, run.lease_until) == (100, "Done", None)
    assert proposals(run) == proposals(alone) != []
    assert unmatched(run) == unmatched(alone)
    assert {k: v for k, v in run.stats.items() if k not in ("seconds", "steps")} == {
        k: v for k, v in alone.stats.items() if k != "seconds"
    }
    blocks = run.steps.filter(kind=MatchStep.Kind.SCORE)
    assert blocks.count() == 7 == run.stats["steps"]["blocks"]
    # Each block is saved by a step of its own, after the one solve.
    assert run.steps.filter(kind=MatchStep.Kind.SOLVE).count() == 1
    assert list(run.steps.filter(kind=MatchStep.Kind.SAVE).values_list("first", "last")) == list(
        blocks.values_list("first", "last")
    )
    assert list(blocks.values_list("first", "last")) == [
        (first, min(first + 6, 40)) for first in range(0, 40, 6)
    ]
    assert set(run.steps.values_list("status", "attempts")) == {("done", 1)}
    assert run.stats["steps"]["reruns"] == 0
    # The inputs and block results are gone once the run is done; the steps stay as a record.
    assert not MatchInput.objects.filter(run=run).exists()
    assert not run.steps.filter(result__isnull=False).exists()


def test_a_step_delivered_again_after_it_is_done_changes_nothing(
    cohort, small_blocks, django_capture_on_commit_callbacks
):
    run = MatchRun.objects.create(cohort=cohort)
    with django_capture_on_commit_callbacks(execute=True):
        matchrun.execute(run.pk, spread=True)
    before = proposals(run)
    for step in run.steps.all():
        matchrun.run_step(step.pk)
    assert proposals(run) == before
    assert set(run.steps.values_list("attempts", flat=True)) == {1}


def test_the_sweeper_sends_a_block_again_when_its_worker_is_gone_and_the_run_completes(
    cohort, small_blocks, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the steps' messages are not run here...
    sent: list[int] = []
    original = matchrun.send_steps
    matchrun.send_steps = sent.extend  # ...but recorded
    try:
        run = MatchRun.objects.create(cohort=cohort)
        with django_capture_on_commit_callbacks(execute=True):
            matchrun.execute(run.pk, spread=True)
        steps = list(run.steps.order_by("index").values_list("pk", flat=True))
        assert sent == steps and len(steps) == 7

        # A worker claimed block 2 and died: its lease lapses.
        lost = MatchStep.objects.get(pk=steps[2])
        MatchStep.objects.filter(pk=lost.pk).update(
            status="running", attempts=1, worker="gone:1:x", lease_until=timezone.now()
        )
        for pk in steps:
            if pk != lost.pk:
                matchrun.run_step(pk)  # the other worker does the rest
        run.refresh_from_db()
        assert run.status == MatchRun.Status.RUNNING
        assert not run.steps.filter(kind=MatchStep.Kind.SOLVE).exists()

        sent.clear()
        assert matchrun.sweep_steps(timezone.now() + matchrun.LEASE) == 1
        assert sent == [lost.pk]
        lost.refresh_from_db()
        assert (lost.status, lost.worker) == ("queued", "")

        matchrun.run_step(lost.pk)  # the message the sweeper sent
        (solve,) = sent[1:]
        assert MatchStep.objects.get(pk=solve).kind == MatchStep.Kind.SOLVE
        with django_capture_on_commit_callbacks(execute=True):
            matchrun.run_step(solve)
        saves = sent[2:]
        assert len(saves) == 7
        for pk in saves:
            matchrun.run_step(pk)
    finally:
        matchrun.send_steps = original
    run.refresh_from_db()
    assert run.status == MatchRun.Status.DONE, run.error
    assert run.stats["steps"]["reruns"] == 1
    lost.refresh_from_db()
    assert (lost.status, lost.attempts) == ("done", 2)


def test_a_block_that_keeps_failing_fails_its_run_with_the_reason(cohort, small_blocks, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    original = matchrun.send_steps
    matchrun.send_steps = lambda ids: None
    try:
        run = MatchRun.objects.create(cohort=cohort)
        matchrun.execute(run.pk, spread=True)
        step = run.steps.get(index=0)
        MatchStep.objects.filter(pk=step.pk).update(
            status="queued", attempts=matchrun.MAX_ATTEMPTS, worker="failed: out of memory"
        )
        matchrun.run_step(step.pk)  # no claim past the last attempt
        assert MatchStep.objects.get(pk=step.pk).attempts == matchrun.MAX_ATTEMPTS
        matchrun.sweep_steps(timezone.now() + matchrun.RESEND * 2)
    finally:
        matchrun.send_steps = original
    run.refresh_from_db()
    assert run.status == MatchRun.Status.FAILED
    assert "score step 0 was tried 3 times (failed: out of memory)" in run.error
