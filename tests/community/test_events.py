"""Events: places up to the capacity, a waitlist that moves up in order when someone gives up a
place (each person told once), concurrent answers that never pass the capacity, reminders once
each, changes and cancellations told, and who may see or organise what."""

from __future__ import annotations

import threading
from datetime import timedelta

import icalendar
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from community import actions
from community.actions import CommunityError
from community.models import Event, EventReminder, Rsvp
from conversations.models import Notification
from meetings import services as meetings
from profiles.models import Email
from tests.community.conftest import joiner, plan
from tests.conftest import make_person


def going(event) -> list[str]:
    return list(
        event.rsvps.filter(status=Rsvp.Status.GOING)
        .order_by("created_at", "pk")
        .values_list("user__name", flat=True)
    )


def waiting(event) -> list[str]:
    return list(
        event.rsvps.filter(status=Rsvp.Status.WAITING)
        .order_by("created_at", "pk")
        .values_list("user__name", flat=True)
    )


def test_five_answers_for_three_places_then_two_cancel_and_the_next_two_move_up_in_order(
    cohort, admin
):
    event = plan(cohort, admin, capacity=3)
    people = [joiner(cohort, n) for n in range(1, 6)]

    for person in people:
        actions.rsvp(event=event, user=person)
    assert going(event) == ["Person 01", "Person 02", "Person 03"]
    assert waiting(event) == ["Person 04", "Person 05"]
    assert actions.place_in_line(event.rsvps.get(user=people[4])) == 2

    actions.cancel_rsvp(event=event, user=people[1])
    assert going(event) == ["Person 01", "Person 03", "Person 04"]
    assert waiting(event) == ["Person 05"]
    actions.cancel_rsvp(event=event, user=people[0])
    assert going(event) == ["Person 03", "Person 04", "Person 05"]
    assert waiting(event) == []

    for person in people[3:]:
        told = Notification.objects.filter(user=person, text__startswith="A place opened up")
        assert told.count() == 1
        assert Email.objects.filter(kind="community/moved_up", to=[person.email]).count() == 1
    assert not Email.objects.filter(kind="community/moved_up", to=[people[2].email]).exists()
    # Answering again, or cancelling twice, moves nobody twice.
    actions.rsvp(event=event, user=people[4])
    assert actions.cancel_rsvp(event=event, user=people[1]) is None
    assert Email.objects.filter(kind="community/moved_up").count() == 2


def test_answers_at_the_same_moment_never_pass_the_capacity(transactional_db, cohort, admin):
    event = plan(cohort, admin, capacity=3)
    people = [joiner(cohort, n) for n in range(1, 11)]
    barrier = threading.Barrier(len(people))
    errors: list[BaseException] = []

    def answer(person) -> None:
        try:
            barrier.wait()
            actions.rsvp(event=event, user=person)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(going(event)) == 3 and len(waiting(event)) == 7
    assert Email.objects.filter(kind="community/going").count() == 3


def test_each_person_going_gets_each_reminder_once_and_a_move_cancels_the_old_ones(cohort, admin):
    event = plan(cohort, admin, capacity=5)
    people = [joiner(cohort, n) for n in range(1, 6)]
    for person in people:
        actions.rsvp(event=event, user=person)
    EventReminder.objects.filter(event=event).update(due_at=timezone.now() - timedelta(minutes=1))

    assert actions.send_due_event_reminders() == 2
    assert actions.send_due_event_reminders() == 0
    for person in people:
        assert Email.objects.filter(kind="community/reminder", to=[person.email]).count() == 2

    actions.move_event(
        event=event,
        by=admin,
        starts_at=event.starts_at + timedelta(days=2),
        duration_minutes=90,
    )
    old = EventReminder.objects.filter(event=event, sequence=0)
    assert set(old.values_list("status", flat=True)) == {"sent"}
    EventReminder.objects.filter(event=event, sequence=1).update(
        due_at=timezone.now() - timedelta(minutes=1)
    )
    assert actions.send_due_event_reminders() == 2
    assert Email.objects.filter(kind="community/reminder").count() == 20
    assert Email.objects.filter(kind="community/moved").count() == 5


def test_two_reminder_runs_at_once_send_each_once(transactional_db, cohort, admin):
    event = plan(cohort, admin, capacity=5)
    people = [joiner(cohort, n) for n in range(1, 6)]
    for person in people:
        actions.rsvp(event=event, user=person)
    EventReminder.objects.filter(event=event).update(due_at=timezone.now() - timedelta(minutes=1))
    barrier = threading.Barrier(2)
    sent: list[int] = []

    def run() -> None:
        barrier.wait()
        try:
            sent.append(actions.send_due_event_reminders())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(sent) == 2
    for person in people:
        assert Email.objects.filter(kind="community/reminder", to=[person.email]).count() == 2


def test_a_cancelled_event_tells_everyone_and_sends_no_reminder(cohort, admin):
    event = plan(cohort, admin, capacity=1)
    first, second = joiner(cohort, 1), joiner(cohort, 2)
    actions.rsvp(event=event, user=first)
    actions.rsvp(event=event, user=second)

    actions.cancel_event(event=event, by=admin)
    EventReminder.objects.filter(event=event).update(due_at=timezone.now() - timedelta(minutes=1))

    assert actions.send_due_event_reminders() == 0
    assert Email.objects.filter(kind="community/cancelled").count() == 2
    with pytest.raises(CommunityError, match="cancelled"):
        actions.rsvp(event=event, user=joiner(cohort, 3))


def test_the_event_reads_in_each_persons_zone_and_the_organisers(client, cohort, admin):
    event = plan(cohort, admin)
    tokyo = joiner(cohort, 1, tz="Asia/Tokyo")
    client.force_login(tokyo)

    page = client.get(reverse("community:event", args=[event.pk])).content.decode()

    assert actions.when_label(event, tokyo) in page and "(Asia/Tokyo)" in page
    assert "In the organiser's time zone" in page and f"({event.zone})" in page


def test_the_ics_and_the_calendar_feed_carry_the_event_for_those_going(client, cohort, admin):
    event = plan(cohort, admin)
    person = joiner(cohort, 1, tz="America/New_York")
    client.force_login(person)
    client.post(reverse("community:rsvp", args=[event.pk]))

    single = icalendar.Calendar.from_ical(
        client.get(reverse("community:ics", args=[event.pk])).content
    )
    feed = meetings.regenerate_feed(user=person)
    listed = icalendar.Calendar.from_ical(
        client.get(reverse("meetings:calendar-feed", args=[feed.token])).content
    )

    for calendar in (single, listed):
        (vevent,) = calendar.walk("VEVENT")
        assert str(vevent["UID"]) == f"event-{event.pk}@mentorship"
        assert vevent["DTSTART"].params["TZID"] == "America/New_York"
        assert vevent.decoded("DTSTART") == event.starts_at
    client.post(reverse("community:leave", args=[event.pk]))
    again = icalendar.Calendar.from_ical(
        client.get(reverse("meetings:calendar-feed", args=[feed.token])).content
    )
    assert again.walk("VEVENT") == []


def test_a_cohort_event_is_seen_only_by_its_people_and_admins(client, cohort, admin):
    event = plan(cohort, admin)
    member = joiner(cohort, 1)
    outsider = make_person("otto@example.org", name="Otto Outsider")
    url = reverse("community:event", args=[event.pk])

    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(reverse("community:rsvp", args=[event.pk])).status_code == 404
    assert "Giving and receiving" not in client.get(reverse("community:events")).content.decode()
    client.force_login(member)
    assert client.get(url).status_code == 200
    assert client.post(reverse("community:cancel", args=[event.pk])).status_code == 404
    assert Event.objects.get().status == Event.Status.SCHEDULED


def test_only_staff_and_a_cohorts_admins_plan_events(client, cohort, admin):
    member = joiner(cohort, 1)
    with pytest.raises(CommunityError):
        plan(cohort, member)
    client.force_login(member)
    assert client.get(reverse("community:event-new")).status_code == 404


def test_the_admin_plans_an_event_with_the_form_and_errors_show_beside_the_fields(
    client, cohort, admin
):
    client.force_login(admin)
    url = reverse("community:event-new")
    day = (timezone.now() + timedelta(days=10)).date().isoformat()

    bad = client.post(
        url,
        {
            "title": "",
            "cohort": cohort.pk,
            "day": day,
            "start": "18:00",
            "duration": 90,
            "capacity": 0,
        },
    )
    assert bad.status_code == 200
    html = bad.content.decode()
    assert "Give the event a title." in html and "Leave room for at least one person." in html
    assert "Give a place, or an online link above." in html
    assert not Event.objects.exists()

    good = client.post(
        url,
        {
            "title": "Mentoring circles: an intro",
            "cohort": cohort.pk,
            "day": day,
            "start": "18:00",
            "duration": 90,
            "capacity": 12,
            "link": "https://meet.example.org/intro",
            "description": "",
        },
    )
    event = Event.objects.get()
    assert good.status_code == 302 and good.url == reverse("community:event", args=[event.pk])
    assert event.starts_at.astimezone(meetings.zone_of(admin)).strftime("%H:%M") == "18:00"
    assert event.ends_at - event.starts_at == timedelta(minutes=90)


def test_the_dashboard_loads_the_next_events_this_person_may_go_to(client, cohort, admin):
    event = plan(cohort, admin)
    member = joiner(cohort, 1)
    client.force_login(member)

    dashboard = client.get(reverse("home")).content.decode()
    panel = client.get(reverse("community:upcoming"), headers={"HX-Request": "true"})

    assert f'hx-get="{reverse("community:upcoming")}"' in dashboard
    html = panel.content.decode()
    assert "<html" not in html and event.title in html and "0 of 3 going" in html
