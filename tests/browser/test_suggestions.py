"""Suggestions for one goal in a real browser: a mentee with two open goals narrows Find a mentor
to one of them, and the mentor who holds that goal's skills leads the list although others have
far more free time; the same number follows the pair from the card to "Why this match", to the
request, and to the mentor's inbox, where the mentor accepts in place.
"""

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from matching import loader
from matching.models import MESSAGE_MIN, MentorRequest
from profiles.models import AvailabilityWindow, Expertise, Goal, MentorOffer, Profile, Skill, User
from tests.browser.helpers import TIMEOUT_MS, collect_errors, expect_message, field, sign_in
from tests.conftest import PASSWORD, ensure_skills, make_person

pytestmark = pytest.mark.browser

TZ = "Europe/Berlin"
HOURS = 60
MENTEE_EMAIL = "tomas.mentee@example.org"
MENTEE = "Tomas Mentee"
DATA_ENGINEER_EMAIL = "ines.pipes@example.org"
DATA_ENGINEER = "Ines Pipes"
PYTHONIST = "Paolo Python"
SRE = "Sven Reliability"
COACH = "Nora Negotiator"
DECOYS = {SRE, COACH}
HOLDERS = {DATA_ENGINEER, PYTHONIST}
GOAL_A = "Run the team's data pipelines by autumn"
GOAL_B = "Land a better-paid job next year"
MESSAGE = "I maintain our nightly loads and want to design them properly. Could you guide me?"
WORKDAYS = [(d, 9, 17) for d in range(5)]


def week(user: User, windows: list[tuple[int, int, int]]) -> None:
    """Weekly windows in Berlin time: (weekday, start hour, end hour)."""
    AvailabilityWindow.objects.bulk_create(
        AvailabilityWindow(user=user, weekday=d, start_minute=s * HOURS, end_minute=e * HOURS)
        for d, s, e in windows
    )


def goal(owner: User, title: str, skills: list[str], *, fmt: str, cadence: str) -> Goal:
    made = Goal.objects.create(
        owner=owner, title=title, description=title + ".", format=fmt, cadence=cadence
    )
    made.skills.set(Skill.objects.filter(slug__in=skills))
    return made


def make_mentor(
    email: str,
    name: str,
    *,
    headline: str,
    skills: dict[str, int],
    windows: list[tuple[int, int, int]],
) -> User:
    user = make_person(email, name=name)
    Profile.objects.create(
        user=user,
        is_mentor=True,
        timezone=TZ,
        languages=["en"],
        years_experience=12,
        headline=headline,
        onboarded_at=timezone.now(),
    )
    MentorOffer.objects.create(user=user, capacity=2, hours_per_month=4, accepting_requests=True)
    for slug, level in skills.items():
        Expertise.objects.create(user=user, skill=Skill.objects.get(slug=slug), level=level)
    week(user, windows)
    return user


@pytest.fixture
def people(live_server) -> tuple[User, Goal, User]:
    """The mentee with two open goals; the data engineer who holds two of goal A's skills but
    shares one hour a week; a Python mentor; two decoys who hold none of goal A's skills and
    share the whole working week."""
    ensure_skills()  # a live-server test flushes every table, the taxonomy included
    mentee = make_person(MENTEE_EMAIL, name=MENTEE)
    Profile.objects.create(
        user=mentee,
        is_mentee=True,
        timezone=TZ,
        languages=["en"],
        years_experience=3,
        headline="Analyst who keeps the nightly loads running",
        onboarded_at=timezone.now(),
    )
    week(mentee, WORKDAYS)
    goal_a = goal(
        mentee,
        GOAL_A,
        ["data-engineering", "databases", "python"],
        fmt="short_series",
        cadence="biweekly",
    )
    goal(mentee, GOAL_B, ["negotiation", "job-search"], fmt="ongoing", cadence="monthly")

    data_engineer = make_mentor(
        DATA_ENGINEER_EMAIL,
        DATA_ENGINEER,
        headline="Data engineer",
        skills={"data-engineering": 5, "databases": 4},
        windows=[(1, 16, 17)],
    )
    make_mentor(
        "paolo.python@example.org",
        PYTHONIST,
        headline="Backend developer",
        skills={"python": 3},
        windows=[(d, 12, 14) for d in range(4)],
    )
    make_mentor(
        "sven.sre@example.org",
        SRE,
        headline="Site reliability engineer",
        skills={"kubernetes": 5, "aws": 5},
        windows=WORKDAYS,
    )
    make_mentor(
        "nora.coach@example.org",
        COACH,
        headline="Career and negotiation coach",
        skills={"negotiation": 5, "job-search": 5},
        windows=WORKDAYS,
    )
    loader.bump_version()  # the mentor features are cached per process
    return mentee, goal_a, data_engineer


def cards(page: Page) -> Locator:
    return page.locator("#match-results .match-card")


def score_of(scope: Locator) -> int:
    """The number a page shows in `.match-score`: its data-score, also its visible text."""
    score = scope.locator(".match-score")
    expect(score).to_have_count(1)
    value = score.get_attribute("data-score") or ""
    assert re.fullmatch(r"\d{1,3}", value), value
    expect(score).to_contain_text(value)
    return int(value)


def mark_document(page: Page) -> None:
    """Tag the loaded document: the tag survives an in-place (htmx) swap, not a page load."""
    page.evaluate("document.documentElement.dataset.sameDocument = 'yes'")


def expect_same_document(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("data-same-document", "yes")


def test_a_mentee_sees_the_mentor_who_knows_one_goal_first_and_the_same_score_to_acceptance(
    page: Page, new_context, people: tuple[User, Goal, User]
) -> None:
    mentee, goal_a, data_engineer = people
    errors = collect_errors(page)

    # Find a mentor, for all open goals at first.
    page.goto(reverse("matching:find"))
    sign_in(page, MENTEE_EMAIL, PASSWORD)
    expect(page.get_by_role("heading", name="Find a mentor", level=1)).to_be_visible()
    expect(cards(page)).to_have_count(4)
    mark_document(page)

    # Goal A alone: htmx replaces the results (the old section is tagged, the new one is not).
    page.locator("#match-results").evaluate("section => section.dataset.stale = 'yes'")
    page.get_by_role("search").get_by_label(field("For my goal")).select_option(label=GOAL_A)
    expect(page.locator("#match-results:not([data-stale])")).to_have_count(1)
    expect(page).to_have_url(re.compile(rf"/mentors/\?(.*&)?goal={goal_a.pk}(&|$)"))
    expect_same_document(page)
    expect(cards(page)).to_have_count(4)

    names = [name.strip() for name in cards(page).locator("h2").all_inner_texts()]
    assert names[0] == DATA_ENGINEER, names
    assert set(names) == HOLDERS | DECOYS, names
    last_holder = max(names.index(name) for name in HOLDERS)
    first_decoy = min(names.index(name) for name in DECOYS)
    assert last_holder < first_decoy, names

    first = cards(page).first
    fit = first.locator("ul.reasons li:first-child")
    expect(fit.locator(".reason-label")).to_have_text("Goals and expertise")
    expect(fit).to_have_text(
        re.compile(
            r"^\s*Goals and expertise\s+Knows Data engineering \(5/5\) and Databases \(4/5\)"
        )
    )
    score = score_of(first)
    expect(first.locator(".match-score")).to_have_attribute(
        "aria-label", f"Match {score} out of 100"
    )

    # Why this match, for goal A: the same number.
    first.get_by_role("link", name="Why this match").click()
    expect(page).to_have_url(
        re.compile(rf"/mentors/{data_engineer.pk}/\?(.*&)?goal={goal_a.pk}(&|$)")
    )
    expect(page.get_by_role("heading", name=DATA_ENGINEER, level=1)).to_be_visible()
    why = page.locator("#why-heading")
    expect(why).to_have_text(f"Why this match: {score}/100")
    assert score_of(why) == score
    expect(page.get_by_text(f"For your goal “{GOAL_A}”")).to_be_visible()

    # The request, for goal A already checked: the same number on the request page.
    page.get_by_role("link", name="Ask Ines").click()
    expect(page.get_by_role("heading", name=f"Ask {DATA_ENGINEER} to mentor you")).to_be_visible()
    expect(page.get_by_role("checkbox", name=GOAL_A)).to_be_checked()
    expect(page.get_by_role("checkbox", name=GOAL_B)).not_to_be_checked()
    assert len(MESSAGE) >= MESSAGE_MIN
    page.get_by_label(field("Your message")).fill(MESSAGE)
    page.get_by_role("button", name="Send request").click()
    expect_message(page, f"Your request is on its way to {DATA_ENGINEER}. We will email you.")
    expect(page.locator("#request-status")).to_have_text("Waiting for an answer")
    assert score_of(page.locator("#request-card")) == score
    sent = MentorRequest.objects.get(mentee=mentee, mentor=data_engineer)
    assert [g.pk for g in sent.goals.all()] == [goal_a.pk]

    # The mentor's inbox: the same number, reasons addressed to the mentor; accept in place.
    mentor_page = new_context().new_page()
    mentor_page.set_default_timeout(TIMEOUT_MS)
    mentor_errors = collect_errors(mentor_page)
    mentor_page.goto(reverse("matching:requests") + "?box=received")
    sign_in(mentor_page, DATA_ENGINEER_EMAIL, PASSWORD)
    expect(mentor_page.get_by_role("heading", name="Requests", level=1)).to_be_visible()
    row = mentor_page.locator(f"#request-row-{sent.pk}")
    expect(row.get_by_role("heading", name=f"From {MENTEE}")).to_be_visible()
    assert score_of(row) == score
    expect(row.locator(".match-score")).to_have_attribute("aria-label", f"Fit {score} out of 100")
    mentor_fit = row.locator("ul.reasons li:first-child")
    expect(mentor_fit.locator(".reason-label")).to_have_text("Goals and expertise")
    expect(mentor_fit).to_have_text(
        re.compile(
            r"^\s*Goals and expertise\s+Wants Data engineering, Databases and Python; "
            r"you know Data engineering \(5/5\) and Databases \(4/5\): "
            r"2 of the 3 skills in their goals"
        )
    )
    expect(row.locator(".badge")).to_have_text("Waiting for an answer")
    mark_document(mentor_page)
    row.get_by_role("button", name="Accept Tomas").click()
    expect(row.get_by_role("status")).to_have_text("You accepted the request.")
    expect(row.locator(".badge")).to_have_text("Accepted")
    expect(row.get_by_role("button", name="Accept Tomas")).to_have_count(0)
    expect_same_document(mentor_page)
    sent.refresh_from_db()
    assert sent.status == MentorRequest.Status.ACCEPTED

    assert errors == []
    assert mentor_errors == []
