"""The outbox: a message committed is a message sent, whatever fails in between. Failures here are
real: an SMTP server that refuses connections (a closed port), a row left "sending" as a killed
worker leaves it. tests/faults does the same with real processes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from profiles import outbox
from profiles.mail import queue_email, render_email
from profiles.models import Email

REFUSING_SMTP = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},  # nothing listens there
    }
}


def message(subject: str = "Your mentor said yes", to: str = "maya@example.org"):
    return EmailMultiAlternatives(subject, "Plain text body", to=[to])


@pytest.fixture
def queued(db, django_capture_on_commit_callbacks, settings):
    """A committed message whose first delivery failed (the SMTP server was away)."""
    real = settings.MAILERS
    settings.MAILERS = REFUSING_SMTP
    with django_capture_on_commit_callbacks(execute=True):
        email = queue_email(message=message(), kind="test")
    settings.MAILERS = real
    email.refresh_from_db()
    return email


def test_a_failed_send_is_queued_again_with_backoff_and_the_error(queued):
    assert queued.status == Email.Status.QUEUED
    assert queued.attempts == 1
    assert "Attempt 1" in queued.error and "Connection" in queued.error
    assert queued.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert outbox.sweep() == 0  # not due yet
    assert mail.outbox == []


def test_the_sweeper_sends_it_when_due_with_the_same_message_id(queued):
    Email.objects.filter(pk=queued.pk).update(next_attempt_at=timezone.now())
    assert outbox.sweep() == 1
    queued.refresh_from_db()
    assert queued.status == Email.Status.SENT and queued.attempts == 2
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == queued.message_id
    assert queued.message_id.startswith("<") and queued.message_id.endswith(">")


def test_after_the_last_attempt_the_email_is_failed_and_staff_can_resend_it(queued, settings):
    settings.MAILERS = REFUSING_SMTP
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        Email.objects.filter(pk=queued.pk).update(next_attempt_at=timezone.now())
        outbox.sweep()
    queued.refresh_from_db()
    assert queued.status == Email.Status.FAILED
    assert queued.attempts == outbox.MAX_ATTEMPTS
    assert outbox.sweep() == 0  # a failed message is left for staff
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    assert outbox.resend(Email.objects.filter(pk=queued.pk)) == 1
    assert outbox.sweep() == 1
    queued.refresh_from_db()
    assert queued.status == Email.Status.SENT


def test_a_message_left_sending_by_a_dead_worker_is_sent_once_its_lease_is_over(db):
    email = queue_email(message=message(), kind="test")  # no commit hook run: as if lost
    assert outbox.claim(email.pk) is not None  # a worker took it ... and died
    assert outbox.sweep() == 0  # its lease still holds: nobody else sends it
    Email.objects.filter(pk=email.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert outbox.sweep() == 1
    email.refresh_from_db()
    assert email.status == Email.Status.SENT and email.attempts == 2
    assert len(mail.outbox) == 1


def test_an_exception_of_any_kind_never_leaves_a_message_sending(db):
    email = queue_email(message=message(), kind="test")
    Email.objects.filter(pk=email.pk).update(attachments=[{"broken": True}])  # a KeyError
    assert outbox.deliver(email.pk) is False
    email.refresh_from_db()
    assert email.status == Email.Status.QUEUED
    assert "KeyError" in email.error


@pytest.mark.parametrize("breaker", ["\u2028", "\r", "\n", "\x0b", "\x0c", "\x85", "\u2029"])
def test_a_name_with_any_line_break_still_gets_its_email(db, breaker):
    name = f"Ana{breaker}Bcc: victim@example.org"
    rendered = render_email(
        "matching/request_received",
        {"request": None, "mentee": name, "mentor": name, "subject_name": name},
        to=["maya@example.org"],
    )
    rendered.subject = f"{name} asks you to mentor them"
    email = queue_email(message=rendered, kind="test")
    assert outbox.deliver(email.pk)
    (sent,) = mail.outbox
    assert sent.subject == "Ana Bcc: victim@example.org asks you to mentor them"
    assert "\n" not in sent.message()["Subject"]
    assert sent.recipients() == ["maya@example.org"]
