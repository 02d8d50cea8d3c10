"""The one way email leaves the app: write an Email row (the outbox) in the transaction of the
change, deliver it after commit (`profiles.outbox`)."""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.db import transaction
from django.template.loader import render_to_string, select_template
from django.utils import timezone

from profiles import outbox
from profiles.models import Email, User


def clean_header(value: str) -> str:
    """A header value on one line: every line break people can type (CR, LF, VT, FF, U+2028,
    U+2029, U+0085...) and other control characters become spaces, so a name never stops a
    message."""
    one_line = " ".join(value.splitlines())
    return "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in one_line).strip()


def queue_email(*, message: EmailMessage, kind: str = "") -> Email:
    """Store a rendered message and ask for its delivery once the surrounding transaction
    commits (at once when there is none), so a rolled-back change never sends mail and a
    committed one always does (the sweeper sends what the broker did not take)."""
    html = ""
    if isinstance(message, EmailMultiAlternatives):
        html = next((body for body, mime in message.alternatives if mime == "text/html"), "")
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >") or "localhost"
    email = Email.objects.create(
        to=[clean_header(address) for address in message.to],
        subject=clean_header(message.subject)[:255],
        body_text=message.body if message.content_subtype == "plain" else "",
        body_html=html or (message.body if message.content_subtype == "html" else ""),
        attachments=[_stored(attachment) for attachment in message.attachments],
        headers={k: clean_header(str(v)) for k, v in message.extra_headers.items()},
        message_id=make_msgid(domain=domain),
        kind=kind,
    )
    transaction.on_commit(lambda: outbox.enqueue(email.pk))
    return email


def _stored(attachment) -> dict[str, str]:
    """A text attachment (an .ics invitation, say) as JSON; binary ones are not supported."""
    filename, content, mimetype = attachment
    if isinstance(content, bytes):
        content = content.decode()
    return {"filename": filename, "content": content, "mimetype": mimetype or "text/plain"}


def build_message(email: Email) -> EmailMultiAlternatives:
    headers = {k: clean_header(v) for k, v in email.headers.items()}
    if email.message_id:
        headers["Message-ID"] = email.message_id
    message = EmailMultiAlternatives(
        subject=clean_header(email.subject),
        body=email.body_text,
        to=[clean_header(address) for address in email.to],
        headers=headers,
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    for attachment in email.attachments:
        message.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    return message


def recipient_zone(to: list[str]) -> ZoneInfo | None:
    """The first recipient's time zone, when they have a profile (None: UTC)."""
    from mentorship.middleware import zone_of

    user = User.objects.filter(email__iexact=to[0]).first() if to else None
    return zone_of(user)


def render_email(
    template: str,
    context: dict,
    *,
    to: list[str],
    attachments: list[tuple] = (),
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    """A message from templates/emails/<template>.txt (first line: the subject, then the body),
    with an HTML part from <template>.html when there is one. Dates and times in it are in the
    recipient's own time zone (their profile's), as on their pages."""
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    with timezone.override(recipient_zone(to)):
        text = render_to_string(f"emails/{template}.txt", context).strip()
        subject, _, body = text.partition("\n")
        # The HTML part: the template's own, or the text laid out in emails/base.html.
        html = select_template([f"emails/{template}.html", "emails/base.html"]).render(
            {**context, "subject": subject.strip(), "body": body.strip()}
        )
    message = EmailMultiAlternatives(
        subject=clean_header(subject), body=body.strip() + "\n", to=to, headers=headers or {}
    )
    message.attach_alternative(html, "text/html")
    for attachment in attachments:
        message.attach(*attachment)
    return message
