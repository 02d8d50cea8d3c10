"""`manage.py seed_demo`: deterministic, realistic, valid, and safe to run twice."""

from collections import Counter
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from profiles.demo import DEMO_DOMAIN, Generator
from profiles.models import AvailabilityWindow, Expertise, Goal, MentorOffer, Profile, User


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def snapshot() -> list[tuple]:
    """Everything seed_demo writes that a person would see, in a stable order."""
    return [
        (
            p.user.email,
            p.user.name,
            p.headline,
            p.bio,
            p.timezone,
            tuple(p.languages),
            p.level,
            p.is_mentor,
            p.is_mentee,
            tuple(
                (g.title, g.cadence, tuple(s.slug for s in g.skills.all()))
                for g in p.user.goals.order_by("pk")
            ),
            tuple(p.user.availability.values_list("weekday", "start_minute", "end_minute")),
        )
        for p in Profile.objects.select_related("user").order_by("user__email")
    ]


def test_refuses_to_run_without_debug(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DEBUG"):
        seed(mentors=1, mentees=1)
    assert not User.objects.exists()


def test_creates_the_people_asked_for_and_the_demo_admin(db, settings):
    settings.DEBUG = True
    output = seed(mentors=6, mentees=15, seed=3)

    assert "Created 21 demo people" in output
    assert User.objects.filter(email="admin@example.com", is_staff=True).exists()
    demo = Profile.objects.filter(user__email__endswith=DEMO_DOMAIN)
    assert demo.filter(is_mentor=True).count() == 6
    assert demo.filter(is_mentee=True, is_mentor=False).count() == 15
    assert MentorOffer.objects.count() == 6
    # Every mentee has a goal to work on (open, or in progress with a demo pair), with skills.
    mentees = demo.filter(is_mentee=True, is_mentor=False)
    for profile in mentees:
        open_goals = profile.user.goals.filter(
            status__in=[Goal.Status.OPEN, Goal.Status.IN_PROGRESS]
        )
        assert open_goals.exists()
        assert all(goal.skills.exists() for goal in open_goals)
    assert Expertise.objects.values("user").distinct().count() == 6
    assert not demo.annotate(n=Count("user__availability")).filter(n=0).exists()
    # They can sign in: verified address, usable password.
    person = User.objects.get(email=demo.first().user.email)
    assert person.has_usable_password()
    assert person.emailaddress_set.get().verified


def test_what_it_writes_passes_the_models_validation(db, settings):
    settings.DEBUG = True
    seed(mentors=10, mentees=30, seed=11)
    for profile in Profile.objects.filter(user__email__endswith=DEMO_DOMAIN):
        profile.full_clean()
        ZoneInfo(profile.timezone)
    for model in (Goal, MentorOffer, Expertise, AvailabilityWindow):
        for row in model.objects.all():
            row.full_clean()


def test_the_same_seed_gives_the_same_people_and_a_second_run_adds_nothing(db, settings):
    settings.DEBUG = True
    seed(mentors=5, mentees=12, seed=42)
    first = snapshot()

    output = seed(mentors=5, mentees=12, seed=42)

    assert "Kept the 17 demo people already there." in output
    assert snapshot() == first
    assert User.objects.count() == 18  # and the admin, kept too


def test_generation_is_deterministic_and_seeds_differ():
    def people(seed: int) -> list[tuple]:
        generator = Generator(seed)
        return [
            (p.email, p.name, p.profile.timezone, p.profile.headline, p.week)
            for p in [generator.mentor(i) for i in range(20)]
            + [generator.mentee(i) for i in range(40)]
        ]

    assert people(1) == people(1)
    assert people(1) != people(2)


def test_the_demo_people_are_varied():
    generator = Generator(2026)
    people = [generator.mentor(i) for i in range(60)] + [generator.mentee(i) for i in range(150)]
    timezones = {p.profile.timezone for p in people}
    continents = {tz.split("/")[0] for tz in timezones}
    languages = {code for p in people for code in p.profile.languages}
    titles = {goal.title for p in people for goal, _ in p.goals}

    assert {"America", "Europe", "Asia", "Africa", "Australia"} <= continents
    assert len(timezones) >= 15
    assert len(languages) >= 10
    assert len(titles) >= 25
    assert len({p.email for p in people}) == len(people)


def test_every_demo_person_has_a_unique_full_name():
    generator = Generator(2026)
    people = [generator.mentor(i) for i in range(1, 301)]
    people += [generator.mentee(i) for i in range(1, 701)]

    repeated = {name: n for name, n in Counter(p.name for p in people).items() if n > 1}
    assert not repeated


def test_the_demo_has_a_circle_an_event_with_a_waitlist_and_a_published_story(db, settings):
    from community.models import Event, Story
    from matching.models import Circle

    settings.DEBUG = True
    output = seed(mentors=20, mentees=60, seed=3)

    assert "Created a circle of the cohort, a workshop and a published story." in output
    circle = Circle.objects.get()
    assert circle.members.filter(status="active").count() == 4
    assert circle.sessions.count() == 2
    event = Event.objects.get()
    assert event.rsvps.filter(status="going").count() == event.capacity == 3
    assert event.rsvps.filter(status="waiting").count() == 2
    assert Story.objects.published().count() == 1
    assert "Created a circle" not in seed(mentors=20, mentees=60, seed=3)  # once
