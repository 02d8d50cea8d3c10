from celery import shared_task

from community import actions


@shared_task
def send_due_event_reminders() -> int:
    return actions.send_due_event_reminders()
