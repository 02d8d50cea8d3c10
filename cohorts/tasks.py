"""Cohort work in Celery. Tasks are thin and take ids; each is safe to run twice."""

from celery import shared_task

from cohorts import matchrun, services


@shared_task(acks_late=True)
def run_matching(run_id: int) -> None:
    """Match a cohort. A second delivery of the same run finds it claimed and does nothing."""
    matchrun.execute(run_id)


@shared_task(acks_late=True)
def match_step(step_id: int) -> None:
    """One block of a spread run, or its solve. A step already done or held by a live worker is
    left alone, so a message delivered twice (or sent again by the sweeper) does nothing."""
    matchrun.run_step(step_id)


@shared_task(acks_late=True)
def publish(run_id: int) -> None:
    """Publish a run's pairs. A second delivery finds the publishing claimed and does nothing."""
    matchrun.publish_run(run_id)


@shared_task(acks_late=True)
def introduce_placements(mentorship_ids: list[int]) -> int:
    """The intro emails of published pairs; each pair is introduced once, whatever reruns."""
    return services.introduce_placements(mentorship_ids)


@shared_task(acks_late=True)
def send_invitations(cohort_id: int | None = None) -> int:
    return services.send_due_invitations(cohort_id=cohort_id)


@shared_task
def sweep() -> dict[str, int]:
    """Every 30 s: fail what lost its worker, and send what a lost task did not (invitations,
    introductions). Nothing a cohort does depends on one task message arriving."""
    return {
        "failed": matchrun.sweep_leases(),
        "steps": matchrun.sweep_steps(),
        "invitations": services.send_due_invitations(),
        "introductions": services.introduce_forgotten(),
    }
