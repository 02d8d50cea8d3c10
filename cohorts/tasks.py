from celery import shared_task

from cohorts import matchrun


@shared_task(acks_late=True)
def run_matching(run_id: int) -> None:
    """Match a cohort. A second delivery of the same run finds it claimed and does nothing."""
    matchrun.execute(run_id)
