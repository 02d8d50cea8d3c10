"""A real Celery worker, consuming from the real Redis broker, delivers email exactly once."""

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.core.mail import EmailMessage
from django.db import transaction

from mentorship.celery import app as celery_app
from profiles.mail import queue_email
from profiles.models import Email
from profiles.tasks import send_email


@pytest.fixture
def real_worker(settings):
    """An embedded worker on its own queue, so nothing else on the broker reaches it."""
    assert settings.REDIS_URL, "this test needs Redis: set REDIS_URL"
    queue = f"test-{uuid.uuid4().hex}"
    celery_app.conf.task_always_eager = False
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        with start_worker(
            celery_app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=15
        ) as worker:
            yield worker
    finally:
        celery_app.conf.task_default_queue = previous_queue


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the worker")


@pytest.mark.celery_worker
def test_worker_delivers_a_queued_email_exactly_once_even_when_enqueued_twice(
    transactional_db, real_worker
):
    with transaction.atomic():
        email = queue_email(
            message=EmailMessage("Welcome to the January cohort", "Hello!", to=["ana@example.org"]),
            kind="test",
        )
    assert celery_app.conf.task_always_eager is False
    send_email.delay(email.pk)  # a duplicate delivery, as a retry or a second publish would make

    wait_until(lambda: Email.objects.get(pk=email.pk).status == Email.Status.SENT)
    time.sleep(0.5)  # give the duplicate time to run: it must find the row already claimed

    email.refresh_from_db()
    assert [m.subject for m in mail.outbox] == ["Welcome to the January cohort"]
    assert email.attempts == 1
    assert email.sent_at is not None
