from celery import shared_task

from meetings import services


@shared_task
def send_due_reminders() -> int:
    """Every minute: claim due reminder rows and send them (see services for why rows)."""
    return services.send_due_reminders()


@shared_task
def nudge_quiet_pairs() -> int:
    return services.nudge_quiet_pairs()


@shared_task
def weekly_digest() -> int:
    return services.weekly_digest()
