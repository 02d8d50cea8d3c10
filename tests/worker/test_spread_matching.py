"""A run spread over two real Celery workers, one of them killed with SIGKILL while it scores a
block: the sweeper sends that block again, the other worker scores it, and the run completes
with exactly the pairs, scores and reasons of the same cohort matched in one process.

The workers are `celery worker` processes on a queue of the test's own and the test database
(as in test_cohort_faults.py), started with small blocks (MATCH_BLOCK_PAIRS), every run spread
(MATCH_SPREAD_ABOVE=0), a second's pause before each block (MATCH_STEP_DELAY: the window in
which the kill lands) and a 4-second lease renewed every second."""

from __future__ import annotations

import os
import signal
import time

import pytest

from cohorts import matchrun, tasks
from cohorts.models import Cohort, MatchRun, MatchStep
from tests.cohorts.test_spread_matching import spread_cohort
from tests.worker.processes import celery_worker, wait_until
from tests.worker.test_cohort_faults import queue  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

BLOCK_MENTEES = 6  # 40 mentees: seven blocks
SETTINGS = {
    "MATCH_BLOCK_PAIRS": str(12 * BLOCK_MENTEES),
    "MATCH_SPREAD_ABOVE": "0",
    "MATCH_STEP_DELAY": "1",
}


@pytest.fixture
def cohort(transactional_db) -> Cohort:
    return spread_cohort()


def proposals(run: MatchRun) -> list[tuple[int, int, float, tuple[str, ...]]]:
    return sorted(
        (p.mentee_id, p.mentor_id, p.score, tuple(p.reasons)) for p in run.proposals.all()
    )


def status(run: MatchRun) -> str:
    run.refresh_from_db()
    return run.status


def test_a_worker_killed_mid_block_costs_a_rerun_of_that_block_and_the_result_is_unchanged(
    queue,  # noqa: F811
    cohort,
    tmp_path,
    monkeypatch,
):
    undisturbed = matchrun.execute(MatchRun.objects.create(cohort=cohort).pk, spread=False)
    assert undisturbed.status == MatchRun.Status.DONE
    expected = proposals(undisturbed)
    left_out = sorted(undisturbed.unmatched.values_list("mentee_id", "reason"))
    assert len(expected) > 10 and left_out
    MatchRun.objects.filter(pk=undisturbed.pk).delete()  # one busy-or-latest run at a time

    monkeypatch.setattr(matchrun, "RESEND", matchrun.timedelta(seconds=3))
    with (
        celery_worker(queue, tmp_path / "a.log", env=SETTINGS, lease=4, heartbeat=1) as doomed,
        celery_worker(queue, tmp_path / "b.log", env=SETTINGS, lease=4, heartbeat=1) as other,
    ):
        run = MatchRun.objects.create(cohort=cohort)
        tasks.run_matching.delay(run.pk)
        held = MatchStep.objects.filter(
            run=run, status="running", worker__contains=f":{doomed.pid}:"
        )
        wait_until(held.exists, "the first worker holds a block", timeout=60)
        (step,) = held
        os.kill(doomed.pid, signal.SIGKILL)
        assert doomed.wait(10) == -signal.SIGKILL
        killed_at = time.monotonic()

        # Beat's sweep, every second here: the block goes back once its 4 s lease lapses.
        def swept_and_done() -> bool:
            matchrun.sweep_steps()
            return status(run) in (MatchRun.Status.DONE, MatchRun.Status.FAILED)

        wait_until(swept_and_done, "the run is done", timeout=120)
        assert other.poll() is None

    assert run.status == MatchRun.Status.DONE, run.error
    assert proposals(run) == expected
    assert sorted(run.unmatched.values_list("mentee_id", "reason")) == left_out
    step.refresh_from_db()
    assert step.status == "done" and step.attempts == 2
    assert f":{doomed.pid}:" not in step.worker and f":{other.pid}:" in step.worker
    blocks = run.steps.filter(kind=MatchStep.Kind.SCORE)
    assert blocks.count() == 7 and not blocks.exclude(status="done").exists()
    assert run.stats["steps"]["reruns"] >= 1
    assert time.monotonic() - killed_at < 60
