import logging
import smtplib

from celery import shared_task

from profiles.mail import build_message
from profiles.models import Email

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@shared_task(bind=True, max_retries=MAX_ATTEMPTS - 1, acks_late=True)
def send_email(self, email_id: int) -> None:
    """Deliver one stored message. A second delivery of the same id (a retried or duplicated
    task) finds the row already claimed and does nothing."""
    email = Email.objects.filter(pk=email_id).first()
    if email is None or not email.claim():
        return
    try:
        build_message(email).send()
    except (smtplib.SMTPException, OSError) as exc:
        final = self.request.retries >= self.max_retries
        email.mark_failed(repr(exc), final=final)
        logger.warning("email %s failed (attempt %s): %r", email_id, email.attempts + 1, exc)
        if not final:
            raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc
        return
    email.mark_sent()
