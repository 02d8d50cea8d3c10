"""Find a mentor, why this match, the request form and the inbox, through the test client."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from matching.models import MentorRequest
from profiles.models import Goal
from tests.matching.conftest import make_mentee, make_mentor, send


def queries(client, url: str, **headers) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return len(captured), response.text


@pytest.fixture
def signed_in_mentee(client, mentee):
    client.force_login(mentee)
    return client


def test_find_ranks_mentors_with_reasons_in_a_constant_number_of_queries(signed_in_mentee):
    for i in range(3):
        make_mentor(f"a{i}@example.org", f"Alpha {i}")
    url = reverse("matching:find")
    signed_in_mentee.get(url)  # builds the mentor features
    few, text = queries(signed_in_mentee, url)
    assert "3 mentors fit your goals" in text
    assert "Knows Negotiation (5/5) and Job search (4/5): both skills in your goals." in text

    for i in range(12):
        make_mentor(f"b{i}@example.org", f"Beta {i}")
    signed_in_mentee.get(url)
    many, text = queries(signed_in_mentee, url)
    assert "15 mentors fit your goals" in text
    assert "Page 1 of 2" in text
    assert many == few


def test_filters_and_search_update_the_results_in_place(signed_in_mentee):
    make_mentor("sp@example.org", "Sofia Spanish").profile.__class__.objects.filter(
        user__email="sp@example.org"
    ).update(languages=["es", "en"], headline="Mentora de carreras")
    make_mentor("en@example.org", "Edward English")
    url = reverse("matching:find")

    response = signed_in_mentee.get(
        url + "?language=es", headers={"HX-Request": "true", "HX-Target": "match-results"}
    )
    assert response.text.lstrip().startswith('<section id="match-results"')
    assert "Sofia Spanish" in response.text and "Edward English" not in response.text

    response = signed_in_mentee.get(url + "?q=carreras")
    assert "Sofia Spanish" in response.text and "Edward English" not in response.text
    assert "<form" in response.text  # a full page when not from htmx: the URL is bookmarkable

    response = signed_in_mentee.get(url + "?q=nothing+like+this")
    assert "No mentor fits all of these filters." in response.text


def test_find_asks_for_a_goal_first(client, member):
    client.force_login(member)
    response = client.get(reverse("matching:find"))
    assert "add a goal, so we can find the mentors who fit it" in response.text


def test_mentors_already_asked_do_not_show_again(signed_in_mentee, mentee, mentor):
    send(mentee, mentor)
    response = signed_in_mentee.get(reverse("matching:find"))
    assert "Marco Mentor" not in response.text


def test_why_this_match_shows_every_component(signed_in_mentee, mentor):
    response = signed_in_mentee.get(reverse("matching:mentor", args=[mentor.pk]))
    text = response.text
    for label in ("Goals and expertise", "Time together", "Language", "Format and cadence"):
        assert label in text
    assert text.count("<meter") == 6  # organisation is ignored by default
    assert "Ask Marco" in text


def test_the_request_form_says_what_is_wrong_and_saves_nothing(signed_in_mentee, mentor):
    url = reverse("matching:new-request", args=[mentor.pk])
    goal = Goal.objects.filter(owner__email="mina@example.org").first()
    response = signed_in_mentee.post(
        url, {"goals": [goal.pk], "message": "Hi!", "cadence": "weekly"}
    )
    assert "Write at least 20 characters" in response.text
    response = signed_in_mentee.post(url, {"message": "x" * 2001, "cadence": "weekly"})
    assert "Keep it under 2000 characters" in response.text
    assert "Choose at least one of your open goals." in response.text
    assert not MentorRequest.objects.exists()

    message = "I have an offer on the table and would love your help negotiating it."
    response = signed_in_mentee.post(
        url, {"goals": [goal.pk], "message": message, "cadence": "weekly"}
    )
    request = MentorRequest.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("matching:request", args=[request.pk])
    assert request.message == message and list(request.goals.all()) == [goal]


def test_the_mentor_accepts_in_place(client, mentee, mentor):
    request = send(mentee, mentor)
    client.force_login(mentor)
    inbox = client.get(reverse("matching:requests"))
    assert "From Mina Mentee" in inbox.text
    response = client.post(
        reverse("matching:request-action", args=[request.pk, "accept"]),
        headers={"HX-Request": "true"},
    )
    assert response.text.lstrip().startswith(
        '<article class="card request-card" id="request-card">'
    )
    assert "You accepted the request." in response.text
    assert "Go to your mentorship" in response.text


def test_request_lists_run_a_constant_number_of_queries(client, mentor):
    client.force_login(mentor)
    send(make_mentee("x0@example.org", "X 0"), mentor)
    client.get(reverse("matching:requests"))  # this process's mentor features, built once
    few, _ = queries(client, reverse("matching:requests"))
    for i in range(1, 8):
        send(make_mentee(f"x{i}@example.org", f"X {i}"), mentor)
    client.get(reverse("matching:requests"))
    many, text = queries(client, reverse("matching:requests"))
    assert text.count("From X ") == 8
    assert many == few


def test_a_hidden_mentor_is_in_no_list_and_no_search(signed_in_mentee):
    shown = make_mentor("shown@example.org", "Shown Mentor")
    hidden = make_mentor("hidden@example.org", "Hidden Mentor")
    hidden.profile.visibility = "hidden"
    hidden.profile.save()
    url = reverse("matching:find")

    listed = signed_in_mentee.get(url).text
    searched = signed_in_mentee.get(url, {"q": "Hidden"}).text
    fragment = signed_in_mentee.get(url, {"q": "Mentor"}, headers={"HX-Request": "true"}).text

    assert shown.name in listed and "1 mentor fits your goals" in listed
    for text in (listed, searched, fragment):
        assert hidden.name not in text
        assert reverse("matching:mentor", args=[hidden.pk]) not in text
    assert signed_in_mentee.get(reverse("matching:mentor", args=[hidden.pk])).status_code == 404
