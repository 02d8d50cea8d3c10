from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import transaction

from profiles.mail import queue_email
from profiles.models import Email
from profiles.tasks import send_email


def message(to: str = "maya@example.org") -> EmailMultiAlternatives:
    msg = EmailMultiAlternatives("Your mentor said yes", "Plain text body", to=[to])
    msg.attach_alternative("<p>HTML body</p>", "text/html")
    return msg


def test_a_queued_email_is_sent_once_the_transaction_commits(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        email = queue_email(message=message(), kind="test")
        assert mail.outbox == []

    email.refresh_from_db()
    assert email.status == Email.Status.SENT
    assert [m.subject for m in mail.outbox] == ["Your mentor said yes"]
    assert mail.outbox[0].alternatives[0].content == "<p>HTML body</p>"


def test_a_rolled_back_change_sends_no_email(transactional_db):
    class Boom(Exception):
        pass

    try:
        with transaction.atomic():
            queue_email(message=message(), kind="test")
            raise Boom
    except Boom:
        pass

    assert Email.objects.count() == 0
    assert mail.outbox == []


def test_running_the_task_twice_sends_the_email_once(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        email = queue_email(message=message(), kind="test")

    send_email(email.pk)
    send_email.apply(args=[email.pk])

    email.refresh_from_db()
    assert len(mail.outbox) == 1
    assert email.attempts == 1


def test_sent_bodies_are_wiped_in_production(db, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_KEEP_SENT_BODIES = False
    with django_capture_on_commit_callbacks(execute=True):
        email = queue_email(message=message(), kind="account/email/password_reset_key")

    email.refresh_from_db()
    assert email.status == Email.Status.SENT
    assert email.body_text == email.body_html == ""
    assert mail.outbox[0].body == "Plain text body"


def test_signup_sends_the_verification_email_through_the_outbox(
    client, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {
                "name": "Nia Newcomer",
                "email": "Nia@Example.org",
                "password1": "correct-horse-battery",
                "password2": "correct-horse-battery",
            },
        )

    assert response.status_code == 302
    email = Email.objects.get()
    assert email.to == ["nia@example.org"]
    assert email.kind == "account/email/email_confirmation_signup"
    assert email.status == Email.Status.SENT
    [sent] = mail.outbox
    assert "/accounts/confirm-email/" in sent.body
