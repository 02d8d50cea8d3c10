from celery import shared_task

from conversations import actions


@shared_task
def send_message_emails() -> int:
    return actions.send_message_emails()


@shared_task(acks_late=True)
def deliver_announcement(announcement_id: int) -> int:
    return actions.deliver_announcement(announcement_id)


@shared_task
def sweep_announcements() -> int:
    return actions.sweep_announcements()
