"""The one way email leaves the app: write an Email row, deliver it from Celery after commit."""

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction

from profiles.models import Email


def queue_email(*, message: EmailMessage, kind: str = "") -> Email:
    """Store a rendered message and enqueue its delivery once the surrounding transaction commits
    (at once when there is none), so a rolled-back change never sends mail."""
    from profiles.tasks import send_email

    html = ""
    if isinstance(message, EmailMultiAlternatives):
        html = next((body for body, mime in message.alternatives if mime == "text/html"), "")
    email = Email.objects.create(
        to=list(message.to),
        subject=message.subject,
        body_text=message.body if message.content_subtype == "plain" else "",
        body_html=html or (message.body if message.content_subtype == "html" else ""),
        kind=kind,
    )
    transaction.on_commit(lambda: send_email.delay(email.pk))
    return email


def build_message(email: Email) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(subject=email.subject, body=email.body_text, to=email.to)
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    return message
