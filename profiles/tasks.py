from celery import shared_task

from profiles import outbox


@shared_task(acks_late=True)
def send_email(email_id: int) -> None:
    """Deliver one stored message now. A second delivery of the same id (a duplicated task, the
    sweeper) finds the row claimed or sent and does nothing; failures are retried by the sweeper
    with backoff, not by Celery, so a lost task loses nothing."""
    outbox.deliver(email_id)


@shared_task
def sweep_outbox() -> int:
    """Beat: send every message that is due (see profiles.outbox)."""
    return outbox.sweep()
