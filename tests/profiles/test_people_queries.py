"""The people list and profile pages run a constant number of queries, however much there is."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from profiles.models import AvailabilityWindow, Expertise, Goal, MentorOffer, Profile, Skill
from tests.conftest import make_person


def add_people(count: int, start: int = 0) -> None:
    skills = list(Skill.objects.all()[:6])
    for i in range(start, start + count):
        person = make_person(f"p{i}@example.org", name=f"Person {i:03d}")
        Profile.objects.create(user=person, is_mentor=True, is_mentee=True, languages=["en"])
        MentorOffer.objects.create(user=person, formats=["ongoing"], cadences=["monthly"])
        for level, skill in enumerate(skills[:3], start=1):
            Expertise.objects.create(user=person, skill=skill, level=level)
        goal = Goal.objects.create(owner=person, title=f"Goal {i}")
        goal.skills.set(skills[3:6])
        AvailabilityWindow.objects.create(user=person, weekday=1, start_minute=600, end_minute=720)


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.fixture
def viewer(client, member):
    Profile.objects.create(user=member, is_mentee=True)
    client.force_login(member)
    return client


def test_people_list_runs_the_same_queries_for_3_and_for_24_people(viewer):
    add_people(3)
    few = queries_for(viewer, reverse("profiles:people"))
    add_people(21, start=3)
    many = queries_for(viewer, reverse("profiles:people"))

    assert few == many
    assert many <= 8


def test_profile_page_runs_the_same_queries_however_rich_the_profile(viewer):
    add_people(1)
    person = Profile.objects.get(user__email="p0@example.org").user
    plain = queries_for(viewer, reverse("profiles:person", args=[person.pk]))
    for i, skill in enumerate(Skill.objects.all()[6:16]):
        Expertise.objects.create(user=person, skill=skill, level=1 + i % 5)
        Goal.objects.create(owner=person, title=f"More {i}").skills.add(skill)
        AvailabilityWindow.objects.create(
            user=person, weekday=i % 7, start_minute=i, end_minute=900
        )
    rich = queries_for(viewer, reverse("profiles:person", args=[person.pk]))

    assert plain == rich
    assert rich <= 11  # with the navigation's unread count


def test_people_list_filters_by_role_and_search_with_htmx_fragment(viewer):
    add_people(2)
    mentor_only = make_person("mentor@example.org", name="Zoe Mentor")
    Profile.objects.create(user=mentor_only, is_mentor=True, headline="CFO at Northwind")

    response = viewer.get(
        reverse("profiles:people"), {"q": "northwind"}, headers={"HX-Request": "true"}
    )

    assert "<html" not in response.text
    assert "Zoe Mentor" in response.text
    assert "Person 000" not in response.text
    mentees = viewer.get(reverse("profiles:people"), {"role": "mentee"}).text
    assert "Zoe Mentor" not in mentees and "Person 001" in mentees
