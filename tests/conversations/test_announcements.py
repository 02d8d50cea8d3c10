"""Cohort announcements: an admin writes to everyone or to one role; each person it is for gets
it once in their feed and by email, however often delivery runs; the cohort page lists them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cohorts.models import Cohort
from conversations import actions
from conversations.models import Announcement, Notification, Receipt
from tests.cohorts.conftest import enrol
from tests.conftest import make_person
from tests.conversations.conftest import emails
from tests.matching.conftest import make_mentee, make_mentor

KIND = "conversations/announcement"


@pytest.fixture
def admin(db):
    return make_person("ada@example.org", name="Ada Admin")


@pytest.fixture
def cohort(admin):
    """Spring cohort: two mentees and a mentor who joined, one person who is both, one mentee
    still invited (not joined)."""
    cohort = Cohort.objects.create(name="Spring mentoring", slug="spring")
    cohort.admins.add(admin)
    enrol(cohort, make_mentee("mina@example.org", "Mina Mentee"), "mentee")
    enrol(cohort, make_mentee("nia@example.org", "Nia Newcomer"), "mentee")
    enrol(cohort, make_mentor("marco@example.org", "Marco Mentor"), "mentor")
    enrol(cohort, make_mentor("bo@example.org", "Bo Both"), "both")
    enrol(cohort, make_mentee("ivy@example.org", "Ivy Invited"), "mentee", status="invited")
    return cohort


def recipients(announcement) -> set[str]:
    return set(
        Receipt.objects.filter(announcement=announcement).values_list("user__name", flat=True)
    )


def test_an_announcement_to_mentees_reaches_each_mentee_who_joined_once(
    cohort, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        announcement = actions.post_announcement(
            cohort=cohort, by=admin, audience="mentees", subject="Kick-off", body="On **Monday**."
        )

    assert recipients(announcement) == {"Mina Mentee", "Nia Newcomer", "Bo Both"}
    for person in announcement.receipts.select_related("user"):
        (email,) = emails(KIND, person.user)
        assert email.subject == "Spring mentoring: Kick-off" and "On **Monday**." in email.body_text
        line = Notification.objects.get(user=person.user)
        assert line.kind == Notification.Kind.ANNOUNCEMENT
        assert line.url == reverse("conversations:announcement", args=[announcement.pk])
    announcement.refresh_from_db()
    assert announcement.delivered_at is not None and announcement.recipients == 3


def test_delivering_again_or_sweeping_never_sends_twice(
    cohort, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        announcement = actions.post_announcement(
            cohort=cohort, by=admin, audience="all", subject="Survey", body="Two minutes, please."
        )
    Announcement.objects.filter(pk=announcement.pk).update(
        delivered_at=None, created_at=timezone.now() - timedelta(minutes=5)
    )

    assert actions.sweep_announcements() == 0  # everyone already had it
    assert actions.deliver_announcement(announcement.pk) == 0
    assert Receipt.objects.count() == 4
    assert Notification.objects.filter(kind="announcement").count() == 4


def test_an_announcement_the_broker_dropped_is_delivered_by_the_sweeper(cohort, admin):
    # No on-commit callbacks run here: as if the broker was down when it was written.
    announcement = actions.post_announcement(
        cohort=cohort, by=admin, audience="mentors", subject="Office hours", body="Thursdays."
    )
    assert not Receipt.objects.exists()
    assert actions.sweep_announcements() == 0  # too fresh: its own task may still be on the way

    Announcement.objects.filter(pk=announcement.pk).update(
        created_at=timezone.now() - timedelta(minutes=3)
    )

    assert actions.sweep_announcements() == 2
    assert recipients(announcement) == {"Marco Mentor", "Bo Both"}


def test_the_admin_writes_an_announcement_on_the_cohort_and_sees_it_listed(
    client, cohort, admin, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    url = reverse("cohorts:announcements", args=[cohort.slug])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"audience": "all", "subject": "Welcome", "body": "Glad you are here."}
        )

    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Welcome" in page and "delivered to 4 people" in page
    detail = client.get(reverse("cohorts:detail", args=[cohort.slug])).content.decode()
    assert "Welcome" in detail and "To everyone in the cohort" in detail


def test_an_announcement_without_a_subject_says_so_beside_the_field(client, cohort, admin):
    client.force_login(admin)

    response = client.post(
        reverse("cohorts:announcements", args=[cohort.slug]),
        {"audience": "all", "subject": "", "body": "Text"},
    )

    assert response.status_code == 200
    assert "Write a subject: it is the email" in response.content.decode()
    assert not Announcement.objects.exists()


def test_a_recipient_reads_the_announcement_and_someone_else_gets_404(
    client, cohort, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        announcement = actions.post_announcement(
            cohort=cohort, by=admin, audience="mentors", subject="Office hours", body="*Thursdays*"
        )
    url = reverse("conversations:announcement", args=[announcement.pk])
    marco = announcement.receipts.get(user__name="Marco Mentor").user
    mina = cohort.enrollments.get(user__name="Mina Mentee").user

    client.force_login(marco)
    page = client.get(url)
    assert page.status_code == 200 and "<em>Thursdays</em>" in page.content.decode()

    client.force_login(mina)  # a mentee: not in its audience
    assert client.get(url).status_code == 404

    client.force_login(admin)  # the cohort's admin reads what they sent
    assert client.get(url).status_code == 200
