"""Bad input gets a message next to the field and saves nothing."""

import pytest
from django.urls import reverse

from profiles.models import AvailabilityWindow, Goal, MentorOffer, Profile, Skill
from tests.conftest import make_person


@pytest.fixture
def signed_in(client, member):
    client.force_login(member)
    return client


def profile_data(**overrides):
    data = {
        "name": "Maya Member",
        "headline": "Backend engineer",
        "bio": "I build payment systems.",
        "timezone": "Europe/Lisbon",
        "languages": ["en", "pt"],
        "organisation": "Acme",
        "department": "Payments",
        "level": "mid",
        "years_experience": "6",
        "city": "",
        "is_mentee": "on",
        "visibility": "all",
    }
    data.update(overrides)
    return data


def field_errors(response, form="form"):
    return response.context[form].errors


def test_member_saves_their_profile(signed_in, member):
    response = signed_in.post(reverse("profiles:edit"), profile_data())

    assert response.status_code == 302
    profile = Profile.objects.get(user=member)
    assert profile.timezone == "Europe/Lisbon"
    assert profile.languages == ["en", "pt"]
    assert profile.is_mentee and not profile.is_mentor


def test_unknown_time_zone_is_refused_next_to_the_field(signed_in, member):
    response = signed_in.post(reverse("profiles:edit"), profile_data(timezone="Mars/Olympus"))

    assert response.status_code == 200
    assert "is not a time zone we know" in field_errors(response)["timezone"][0]
    assert not Profile.objects.filter(user=member, timezone="Mars/Olympus").exists()


def test_a_100_kb_bio_is_refused_and_nothing_is_saved(signed_in, member):
    response = signed_in.post(reverse("profiles:edit"), profile_data(bio="x" * 100_000))

    assert response.status_code == 200
    assert "at most 5000 characters" in field_errors(response)["bio"][0]
    assert Profile.objects.get(user=member).bio == ""


def test_a_person_must_choose_at_least_one_role(signed_in):
    data = profile_data()
    del data["is_mentee"]
    response = signed_in.post(reverse("profiles:edit"), data)

    assert "Choose at least one role" in field_errors(response)["is_mentee"][0]


def test_an_empty_goal_title_is_refused(signed_in, member):
    response = signed_in.post(
        reverse("profiles:goals"),
        {"title": "", "format": "ongoing", "cadence": "weekly", "status": "open"},
    )

    assert response.status_code == 200
    assert field_errors(response)["title"] == ["Give your goal a title."]
    assert not Goal.objects.exists()


def test_a_goal_with_a_skill_that_does_not_exist_is_refused(signed_in):
    response = signed_in.post(
        reverse("profiles:goals"),
        {
            "title": "Learn SQL",
            "skills": ["999999"],
            "format": "ongoing",
            "cadence": "weekly",
            "status": "open",
        },
    )

    assert response.status_code == 200
    assert "There is no skill with id 999999." in field_errors(response)["skills"][0]
    assert not Goal.objects.exists()


def test_a_goal_with_real_skills_is_saved(signed_in, member):
    sql = Skill.objects.get(slug="sql")
    response = signed_in.post(
        reverse("profiles:goals"),
        {
            "title": "Get fluent in SQL",
            "skills": [sql.pk],
            "format": "short_series",
            "cadence": "weekly",
            "status": "open",
        },
    )

    assert response.status_code == 302
    goal = member.goals.get()
    assert list(goal.skills.all()) == [sql]


def offer_data(**overrides):
    data = {
        "offer-capacity": "3",
        "offer-hours_per_month": "6",
        "offer-formats": ["ongoing"],
        "offer-cadences": ["monthly"],
        "offer-accepting_requests": "on",
        "expertise-TOTAL_FORMS": "1",
        "expertise-INITIAL_FORMS": "0",
        "expertise-0-skill": str(Skill.objects.get(slug="python").pk),
        "expertise-0-level": "4",
        "expertise-0-years": "8",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("capacity", ["-1", "21"])
def test_capacity_outside_0_to_20_is_refused(signed_in, member, capacity):
    response = signed_in.post(reverse("profiles:offer"), offer_data(**{"offer-capacity": capacity}))

    assert response.status_code == 200
    assert field_errors(response)["capacity"]
    assert not MentorOffer.objects.exists()
    assert not member.expertise.exists()


def test_a_mentor_offer_with_expertise_is_saved(signed_in, member):
    response = signed_in.post(reverse("profiles:offer"), offer_data())

    assert response.status_code == 302
    assert member.offer.capacity == 3
    assert [(e.skill.slug, e.level) for e in member.expertise.all()] == [("python", 4)]


def test_expertise_with_a_skill_that_does_not_exist_is_refused(signed_in, member):
    response = signed_in.post(
        reverse("profiles:offer"), offer_data(**{"expertise-0-skill": "999999"})
    )

    assert response.status_code == 200
    assert "There is no such skill" in response.context["expertise"].forms[0].errors["skill"][0]
    assert not MentorOffer.objects.exists()


def test_a_window_that_ends_before_it_starts_is_refused(signed_in, member):
    response = signed_in.post(
        reverse("profiles:availability"),
        {"window-weekday": "2", "window-start": "18:00", "window-end": "17:30"},
    )

    assert response.status_code == 200
    assert response.context["window_form"].errors["end"] == ["The window must end after it starts."]
    assert not AvailabilityWindow.objects.exists()


def test_a_half_hour_window_is_added(signed_in, member):
    response = signed_in.post(
        reverse("profiles:availability"),
        {"window-weekday": "2", "window-start": "17:30", "window-end": "19:00"},
    )

    assert response.status_code == 302
    [window] = member.availability.all()
    assert (window.weekday, window.start_minute, window.end_minute) == (2, 1050, 1140)


def test_the_grid_saves_cells_as_windows_and_answers_htmx_with_the_summary(signed_in, member):
    response = signed_in.post(
        reverse("profiles:availability"),
        {"cell": ["0-9", "0-10", "4-18"]},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="availability-summary"' in response.text
    assert "Monday 09:00-11:00" in response.text
    assert [(w.weekday, w.start_minute, w.end_minute) for w in member.availability.all()] == [
        (0, 540, 660),
        (4, 1080, 1140),
    ]


def test_a_grid_cell_that_does_not_exist_is_refused(signed_in, member):
    response = signed_in.post(reverse("profiles:availability"), {"cell": ["7-25"]})

    assert response.status_code == 200
    assert "is not a cell of the week grid" in field_errors(response)["cell"][0]
    assert not member.availability.exists()


def test_nobody_edits_or_deletes_another_persons_goal(client, member, outsider):
    goal = Goal.objects.create(owner=outsider, title="Otto's goal")
    client.force_login(member)

    assert client.get(reverse("profiles:edit-goal", args=[goal.pk])).status_code == 404
    assert client.post(reverse("profiles:delete-goal", args=[goal.pk])).status_code == 404
    assert Goal.objects.filter(pk=goal.pk).exists()


def test_deleting_a_goal_asks_first_then_deletes(signed_in, member):
    goal = Goal.objects.create(owner=member, title="Speak at a conference")

    confirm = signed_in.get(reverse("profiles:delete-goal", args=[goal.pk]))
    assert "cannot be undone" in confirm.text
    assert Goal.objects.filter(pk=goal.pk).exists()

    signed_in.post(reverse("profiles:delete-goal", args=[goal.pk]))
    assert not Goal.objects.filter(pk=goal.pk).exists()


def test_skill_search_finds_by_name_and_synonym(signed_in):
    by_name = signed_in.get(
        reverse("profiles:skill-search"), {"q": "pyth"}, headers={"HX-Request": "true"}
    )
    by_synonym = signed_in.get(reverse("profiles:skill-search"), {"q": "k8s"})

    assert "Python" in by_name.text
    assert "Kubernetes" in by_synonym.text
    assert "<html" not in by_name.text


def test_signup_creates_a_profile_in_the_browsers_time_zone(client, db):
    client.post(
        "/accounts/signup/",
        {
            "name": "Kenji Sato",
            "email": "kenji@example.org",
            "password1": "correct-horse-battery",
            "password2": "correct-horse-battery",
            "timezone": "Asia/Tokyo",
        },
    )

    assert Profile.objects.get(user__email="kenji@example.org").timezone == "Asia/Tokyo"


def test_hidden_profiles_are_404_to_everyone_else(client, member, outsider):
    Profile.objects.create(user=outsider, visibility="hidden", is_mentor=True)
    Profile.objects.create(user=member, is_mentee=True)
    client.force_login(member)

    assert client.get(reverse("profiles:person", args=[outsider.pk])).status_code == 404
    assert "Otto" not in client.get(reverse("profiles:people")).text
    client.force_login(outsider)
    assert client.get(reverse("profiles:person", args=[outsider.pk])).status_code == 200


def test_bio_markdown_is_sanitised(client, member, outsider):
    Profile.objects.create(
        user=outsider,
        is_mentor=True,
        bio="**Bold** <script>alert(1)</script> [x](javascript:alert(1)) "
        "<img src=x onerror=alert(1)>",
    )
    client.force_login(member)

    page = client.get(reverse("profiles:person", args=[outsider.pk])).text

    assert "<strong>Bold</strong>" in page
    assert "<script>alert" not in page
    assert 'href="javascript' not in page
    assert "<img src=x" not in page


def test_new_people_are_sent_to_onboarding_from_the_dashboard(client, db):
    person = make_person("new@example.org", name="New Person")
    client.force_login(person)

    response = client.get("/")

    assert response.status_code == 302
    assert response.url == reverse("profiles:welcome")
