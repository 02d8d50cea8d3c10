"""The one way email leaves the app: write an Email row, deliver it from Celery after commit."""

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string, select_template

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
        attachments=[_stored(attachment) for attachment in message.attachments],
        kind=kind,
    )
    transaction.on_commit(lambda: send_email.delay(email.pk))
    return email


def _stored(attachment) -> dict[str, str]:
    """A text attachment (an .ics invitation, say) as JSON; binary ones are not supported."""
    filename, content, mimetype = attachment
    if isinstance(content, bytes):
        content = content.decode()
    return {"filename": filename, "content": content, "mimetype": mimetype or "text/plain"}


def build_message(email: Email) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(subject=email.subject, body=email.body_text, to=email.to)
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    for attachment in email.attachments:
        message.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    return message


def render_email(
    template: str, context: dict, *, to: list[str], attachments: list[tuple] = ()
) -> EmailMultiAlternatives:
    """A message from templates/emails/<template>.txt (first line: the subject, then the body),
    with an HTML part from <template>.html when there is one."""
    context = {"site_url": settings.SITE_URL, **context}
    text = render_to_string(f"emails/{template}.txt", context).strip()
    subject, _, body = text.partition("\n")
    # The HTML part: the template's own, or the text laid out in emails/base.html.
    html = select_template([f"emails/{template}.html", "emails/base.html"]).render(
        {**context, "subject": subject.strip(), "body": body.strip()}
    )
    message = EmailMultiAlternatives(subject=subject.strip(), body=body.strip() + "\n", to=to)
    message.attach_alternative(html, "text/html")
    for attachment in attachments:
        message.attach(*attachment)
    return message
