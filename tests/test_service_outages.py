"""A Redis that is away, seen from a request: the cache points at a port where nothing listens
(a real connection refused, no mock). People get a plain "try again in a moment" (503), never a
500; an action that needs no cache still happens, with its email. tests/faults stops a real Redis
and PostgreSQL under real processes."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from matching.models import MentorRequest
from profiles.models import Email
from tests.conftest import PASSWORD
from tests.matching.conftest import make_mentee, make_mentor

AWAY = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens: connection refused
        "OPTIONS": {"socket_connect_timeout": 0.5},
    }
}


@pytest.fixture
def cache_away(settings):
    settings.CACHES = AWAY


def test_login_with_the_cache_away_fails_closed_with_a_503_page(client, member, cache_away):
    response = client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
    assert response.status_code == 503
    assert "Try again in a moment" in response.text
    assert response["Retry-After"]
    assert "_auth_user_id" not in client.session  # the rate limit could not be read: no sign-in


def test_a_password_reset_with_the_cache_away_answers_503(client, member, cache_away):
    response = client.post(reverse("account_reset_password"), {"email": member.email})
    assert response.status_code == 503
    assert not Email.objects.exists()


def test_a_request_sent_while_the_cache_is_away_is_saved_whole_with_its_email(
    client, db, cache_away, django_capture_on_commit_callbacks
):
    mentee = make_mentee("nia@example.org", "Nia Mentee")
    mentor = make_mentor("omar@example.org", "Omar Mentor")
    client.force_login(mentee)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("matching:new-request", args=[mentor.pk]),
            {
                "goals": [mentee.goals.first().pk],
                "message": "I would love your help with my negotiation.",
                "cadence": "biweekly",
            },
        )
    assert response.status_code == 302, response.status_code
    assert MentorRequest.objects.count() == 1
    email = Email.objects.get(to=[mentor.email])
    assert email.status == Email.Status.SENT
    assert [m.to for m in mail.outbox] == [[mentor.email]]


def test_signed_in_pages_are_never_kept_by_a_shared_cache(client, member):
    client.force_login(member)
    response = client.get(reverse("profiles:me"))
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
