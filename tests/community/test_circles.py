"""Circles: a cohort's admin sets them up, forms them with the optimiser and publishes; members
join open circles (at once, or on the facilitator's approval); sessions are meetings with their
agenda, notes (shared or private) and check-ins; the cohort's admins read, never private notes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cohorts import circles as cohort_circles
from cohorts.models import CircleLeftOut, CircleProposal
from community import circles as actions
from conversations.models import Notification
from matching.models import Circle, CircleMember
from meetings import services as meetings
from meetings.models import AgendaItem, CheckIn, Meeting, Note
from profiles.models import Email, Expertise, Skill
from tests.cohorts.conftest import enrol
from tests.community.conftest import joiner
from tests.conftest import make_person
from tests.matching.conftest import make_mentor


def skill(name: str) -> Skill:
    return Skill.objects.get(name=name)


@pytest.fixture
def speaking(cohort):
    """A mentor circle on public speaking, Tuesdays 18:00 in Lisbon, room for two."""
    facilitator = make_mentor("fay@example.org", "Fay Facilitator", tz="Europe/Lisbon")
    enrol(cohort, facilitator, "mentor")
    topic = Skill.objects.order_by("name").first()
    Expertise.objects.create(user=facilitator, skill=topic, level=5)
    return cohort_circles.add_circle(
        cohort=cohort,
        facilitator=facilitator,
        topic="Public speaking",
        skills=[topic],
        kind=Circle.Kind.MENTOR,
        size=2,
        weekday=1,
        start_minute=18 * 60,
    )


def with_goal(person, skill_obj):
    person.goals.first().skills.set([skill_obj])
    return person


def test_forming_places_people_by_their_goals_keeps_to_the_size_and_explains_the_rest(
    cohort, speaking
):
    topic = speaking.skills.get()
    fits = [with_goal(joiner(cohort, n), topic) for n in range(1, 4)]
    other = Skill.objects.exclude(pk=topic.pk).exclude(related=topic).order_by("name").last()
    elsewhere = with_goal(joiner(cohort, 4), other)

    formed = cohort_circles.form_circles(cohort=cohort)

    assert len(formed.placed) == 2  # the circle's size
    assert {p.user_id for p in CircleProposal.objects.all()} <= {p.pk for p in fits}
    reasons = dict(CircleLeftOut.objects.values_list("user__name", "reason"))
    assert reasons[elsewhere.name] == "No circle works on the skills of your goals."
    left = [p for p in fits if p.name in reasons]
    assert len(left) == 1
    assert reasons[left[0].name] == "The circles that fit you are full: Public speaking."
    assert CircleProposal.objects.first().reasons[0].startswith("Works on 1 of your 1 goal")


def test_publishing_makes_members_tells_each_once_and_never_overfills(cohort, speaking):
    topic = speaking.skills.get()
    for n in range(1, 4):
        with_goal(joiner(cohort, n), topic)
    cohort_circles.form_circles(cohort=cohort)

    assert cohort_circles.publish_circles(cohort=cohort) == 2
    assert cohort_circles.publish_circles(cohort=cohort) == 0

    members = CircleMember.objects.filter(circle=speaking, status="active")
    assert members.count() == 2
    for seat in members:
        assert Email.objects.filter(kind="cohorts/circle_placed", to=[seat.user.email]).count() == 1
        assert Notification.objects.filter(user=seat.user, kind="cohort_published").count() == 1
    # Forming again places nobody twice: the members are seated, the circle is full.
    formed = cohort_circles.form_circles(cohort=cohort)
    assert formed.placed == []


def test_the_admin_sets_up_forms_and_publishes_on_the_cohort_page(client, cohort, admin, speaking):
    topic = speaking.skills.get()
    person = with_goal(joiner(cohort, 1), topic)
    client.force_login(admin)
    url = reverse("cohorts:circles", args=[cohort.slug])

    client.post(url, {"action": "form"})
    page = client.get(url).content.decode()
    assert person.name in page and "Proposed" in page and "Works on 1 of your 1 goal" in page
    client.post(url, {"action": "publish"})

    assert CircleMember.objects.filter(circle=speaking, user=person, status="active").exists()
    bad = client.post(url, {"action": "add", "topic": "", "size": 40})
    assert bad.status_code == 400 and "Name the circle" in bad.content.decode()


def test_an_open_circle_takes_members_at_once_and_an_approval_one_asks_its_facilitator(db):
    fay = make_mentor("fay@example.org", "Fay Facilitator")
    open_one = actions.start_circle(
        facilitator=fay,
        topic="Negotiation",
        skills=[],
        joining="open",
        size=2,
        weekday=2,
        start_minute=600,
    )
    asked = actions.start_circle(
        facilitator=fay,
        topic="Leadership",
        skills=[],
        joining="approval",
        size=2,
        weekday=3,
        start_minute=600,
    )
    ann, ben, cy = (make_person(f"{n}@example.org", name=n.title()) for n in ("ann", "ben", "cy"))

    assert actions.join_circle(circle=open_one, user=ann).status == "active"
    assert actions.join_circle(circle=open_one, user=ben).status == "active"
    with pytest.raises(actions.CircleError, match="full"):
        actions.join_circle(circle=open_one, user=cy)
    seat = actions.join_circle(circle=asked, user=cy)
    assert seat.status == "pending"
    with pytest.raises(actions.CircleError, match="facilitator decides"):
        actions.approve_member(circle=asked, by=ann, user_id=cy.pk, accept=True)
    actions.approve_member(circle=asked, by=fay, user_id=cy.pk, accept=True)
    assert actions.role_in(asked, cy) is actions.Role.MEMBER


@pytest.fixture
def running(cohort, speaking):
    """The circle with two members, a session held yesterday and one next week."""
    people = [joiner(cohort, n) for n in (1, 2)]
    for person in people:
        CircleMember.objects.create(circle=speaking, user=person, status="active")
    held = Meeting.objects.create(circle=speaking, starts_at=timezone.now() - timedelta(days=1))
    ahead = meetings.schedule_session(
        speaking,
        speaking.facilitator,
        starts_at=timezone.now() + timedelta(days=6),
        duration=60,
        place="Video call",
    )
    return speaking, people, held, ahead


def test_a_planned_session_reaches_everyone_in_the_circle_with_its_ics(running):
    circle, people, _, ahead = running

    for person in [circle.facilitator, *people]:
        (email,) = Email.objects.filter(kind="meetings/scheduled", to=[person.email])
        assert email.attachments[0]["filename"] == "meeting.ics"
        assert "Circle: Public speaking" in email.attachments[0]["content"]
    assert meetings.attendees(ahead) == [circle.facilitator, *sorted(people, key=lambda p: p.pk)]


def test_a_member_joins_a_session_adds_to_its_agenda_and_checks_in_after_one(client, running):
    circle, (member, _), held, ahead = running
    client.force_login(member)
    base = {"pk": circle.pk}

    client.post(
        reverse("community:session-answer", kwargs={**base, "meeting_pk": ahead.pk}),
        {"going": "yes"},
    )
    client.post(
        reverse("community:session-agenda", kwargs={**base, "meeting_pk": ahead.pk}),
        {"text": "Opening lines that land"},
    )
    client.post(
        reverse("community:session-check-in", kwargs={**base, "meeting_pk": held.pk}),
        {"rating": "5", "apply": "Pause before the key point"},
    )

    page = client.get(reverse("community:circle", args=[circle.pk])).content.decode()
    assert "You are coming" in page and "Opening lines that land" in page
    assert "You checked in: 5/5" in page
    assert AgendaItem.objects.get().author == member
    assert CheckIn.objects.get().meeting == held


def test_private_notes_stay_private_and_the_cohorts_admin_reads_without_changing(
    client, running, admin
):
    circle, (member, other), held, _ = running
    actions.add_note(
        circle=circle, meeting_id=held.pk, user=member, text="Shared thought", private=False
    )
    actions.add_note(circle=circle, meeting_id=held.pk, user=member, text="Only mine", private=True)
    url = reverse("community:circle", args=[circle.pk])

    for reader, sees_private in ((member, True), (other, False), (admin, False)):
        client.force_login(reader)
        page = client.get(url).content.decode()
        assert "Shared thought" in page
        assert ("Only mine" in page) is sees_private

    client.force_login(admin)
    client.post(
        reverse("community:session-note", kwargs={"pk": circle.pk, "meeting_pk": held.pk}),
        {"text": "Admin writing"},
    )
    assert not Note.objects.filter(text="Admin writing").exists()


def test_someone_outside_a_formed_circle_finds_nothing(client, running):
    circle, _, held, _ = running
    outsider = make_person("otto@example.org", name="Otto Outsider")
    client.force_login(outsider)

    assert client.get(reverse("community:circle", args=[circle.pk])).status_code == 404
    response = client.post(
        reverse("community:session-agenda", kwargs={"pk": circle.pk, "meeting_pk": held.pk}),
        {"text": "Let me in"},
    )
    assert response.status_code == 404
    assert not AgendaItem.objects.exists()


def test_the_mentors_record_counts_circle_members_sessions_and_events_hosted(
    client, running, cohort
):
    from community import actions as community
    from community.models import Event

    circle, _, _, _ = running
    fay = circle.facilitator
    cohort.admins.add(fay)
    Event.objects.create(
        cohort=cohort,
        organiser=fay,
        title="Past talk",
        starts_at=timezone.now() - timedelta(days=3),
        ends_at=timezone.now() - timedelta(days=3, hours=-1),
        zone="UTC",
        place="Hall",
        capacity=10,
    )
    community.plan_event(
        organiser=fay,
        cohort=cohort,
        title="Future talk",
        description="",
        starts_at=timezone.now() + timedelta(days=3),
        duration_minutes=60,
        capacity=5,
        place="Hall",
    )
    CircleMember.objects.filter(circle=circle).update(joined_at=timezone.now())

    record = meetings.impact(fay)

    assert (record["circle_members"], record["sessions"], record["events"]) == (2, 1, 1)
    assert record["hours"] == 1.0
    client.force_login(fay)
    page = client.get(reverse("meetings:impact")).content.decode()
    assert (
        "<dt>Circle members</dt><dd>2</dd>" in page and "<dt>Events hosted</dt><dd>1</dd>" in page
    )


def test_the_circle_talks_in_one_thread_that_only_its_people_write_in(client, running):
    from conversations import actions as conversations
    from conversations.actions import ConversationError

    circle, (member, other), _, _ = running
    thread = conversations.thread_for(circle=circle)
    conversations.post_message(thread=thread, author=member, body="Slides for Thursday?")

    for person in (circle.facilitator, other):
        line = Notification.objects.get(user=person, kind="message")
        assert line.url == reverse("community:circle", args=[circle.pk]) + "#conversation"
    CircleMember.objects.filter(user=other).update(status="left")
    with pytest.raises(ConversationError, match="facilitator and members"):
        conversations.post_message(thread=thread, author=other, body="Still here?")
    client.force_login(circle.facilitator)
    page = client.get(reverse("community:circle", args=[circle.pk])).content.decode()
    assert "The circle&#x27;s conversation" in page or "The circle's conversation" in page
    assert "Slides for Thursday?" in page and "Write to the circle" in page
    client.force_login(member)
    assert (
        "Seen by 1 of 2"
        in client.get(reverse("community:circle", args=[circle.pk])).content.decode()
    )


def test_a_mentor_starts_an_open_circle_with_the_form_and_errors_show_beside_the_fields(client, db):
    fay = make_mentor("fay@example.org", "Fay Facilitator", tz="Asia/Tokyo")
    client.force_login(fay)
    url = reverse("community:circle-new")

    bad = client.post(url, {"topic": "", "joining": "open", "size": 40, "weekday": 1})
    html = bad.content.decode()
    assert bad.status_code == 200 and "Name the circle" in html
    assert "Ensure this value is less than or equal to 12." in html
    assert not Circle.objects.exists()

    good = client.post(
        url,
        {
            "topic": "Career change",
            "joining": "open",
            "size": 5,
            "weekday": 3,
            "start": "19:30",
            "duration": 60,
        },
    )
    circle = Circle.objects.get()
    assert good.url == reverse("community:circle", args=[circle.pk])
    assert (circle.kind, circle.joining, circle.start_minute, circle.zone) == (
        "mentor",
        "open",
        19 * 60 + 30,
        "Asia/Tokyo",
    )
