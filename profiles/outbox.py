"""Delivering the outbox (`profiles.models.Email`) so that nothing is lost and nothing is stuck.

A message is a row written in the same transaction as the change that causes it. After commit
a Celery task is asked to deliver it; if the broker is down at that moment, nothing is lost: the
beat task `profiles.tasks.sweep_outbox` sends every row that is due (queued and due, or
"sending" past its lease because a worker died mid-send). Each attempt claims the row with a
lease (`SELECT ... FOR UPDATE SKIP LOCKED`), so two workers never send it at once, and carries the
row's Message-ID, the same on every attempt, so a receiver can tell a repeat. A failure of any
kind queues the next attempt with backoff; after the last one the row is "failed" with the
error, for staff to see and resend from the admin.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from profiles.models import Email

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
SWEEP_BATCH = 200


def lease() -> timedelta:
    """How long a claimed row is left to its worker: more than an SMTP send can take."""
    return timedelta(seconds=getattr(settings, "EMAIL_LEASE_SECONDS", 120))


def backoff(attempts: int) -> timedelta:
    """Wait before attempt n+1: 1, 2, 4, 8 minutes... at most an hour."""
    base = getattr(settings, "EMAIL_RETRY_SECONDS", 60)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def due(now=None) -> Q:
    now = now or timezone.now()
    return Q(status=Email.Status.QUEUED, next_attempt_at__lte=now) | Q(
        status=Email.Status.SENDING, lease_until__lt=now
    )


def claim(email_id: int) -> Email | None:
    """Take a due row for one attempt, or None when it is not due or another worker holds it."""
    now = timezone.now()
    with transaction.atomic():
        email = (
            Email.objects.select_for_update(skip_locked=True).filter(due(now), pk=email_id).first()
        )
        if email is None:
            return None
        Email.objects.filter(pk=email.pk).update(
            status=Email.Status.SENDING, lease_until=now + lease(), attempts=F("attempts") + 1
        )
    email.refresh_from_db()
    return email


def deliver(email_id: int) -> bool:
    """One attempt at one message; True when it was sent now."""
    from profiles.mail import build_message

    email = claim(email_id)
    if email is None:
        return False
    try:
        build_message(email).send()
    except Exception as error:  # any failure: the row must never stay "sending"
        final = email.attempts >= MAX_ATTEMPTS
        status = Email.Status.FAILED if final else Email.Status.QUEUED
        Email.objects.filter(pk=email.pk, status=Email.Status.SENDING).update(
            status=status,
            error=f"Attempt {email.attempts}: {error!r}"[:2000],
            next_attempt_at=timezone.now() + backoff(email.attempts),
            lease_until=None,
        )
        logger.warning("email %s attempt %s failed: %r", email.pk, email.attempts, error)
        return False
    mark_sent(email)
    return True


def mark_sent(email: Email) -> None:
    fields = {"status": Email.Status.SENT, "sent_at": timezone.now(), "error": ""}
    fields["lease_until"] = None
    if not settings.EMAIL_KEEP_SENT_BODIES:
        # The bodies hold one-time links (verification, password reset): keep no copy.
        fields.update(body_text="", body_html="", attachments=[])
    Email.objects.filter(pk=email.pk).update(**fields)


def sweep(limit: int = SWEEP_BATCH) -> int:
    """Send what is due, oldest first; returns how many were sent. Runs in the beat task, so a
    broker that was down when a row was committed delays the row, it does not lose it."""
    ids = list(
        Email.objects.filter(due())
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(deliver(pk) for pk in ids)


def enqueue(email_id: int) -> None:
    """Ask a worker to deliver now; a broker that is down only leaves it to the sweeper."""
    from profiles.tasks import send_email

    try:
        send_email.delay(email_id)
    except Exception as error:  # broker away: the row is there, the sweeper will send it
        logger.warning("email %s left to the sweeper: %r", email_id, error)


def resend(emails) -> int:
    """Queue failed (or any) messages again with fresh attempts: the admin's Resend."""
    ids = list(emails.exclude(status=Email.Status.SENDING).values_list("pk", flat=True))
    Email.objects.filter(pk__in=ids).update(
        status=Email.Status.QUEUED, attempts=0, next_attempt_at=timezone.now(), lease_until=None
    )
    for pk in ids:
        transaction.on_commit(lambda pk=pk: enqueue(pk))
    return len(ids)
