"""Matching in a real browser: a mentee in Tokyo finds a mentor by a filter and by a search, reads
why they fit, and asks them; the mentor, in New York, accepts in place; both intro emails land in
the outbox, each with the first-meeting times in its reader's own time zone and a link to pick one.
"""

import importlib
import re
from datetime import datetime, timedelta

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from matching import notify
from matching.models import MentorRequest, Mentorship
from profiles.models import (
    AvailabilityWindow,
    Expertise,
    Goal,
    MentorOffer,
    Profile,
    Skill,
    User,
)
from tests.browser.helpers import TIMEOUT_MS, collect_errors, expect_message, field, sign_in
from tests.conftest import PASSWORD, make_person

pytestmark = pytest.mark.browser

MENTEE_EMAIL = "mina.mentee@example.org"
MENTOR_EMAIL = "dana.pipeline@example.org"
STAFF_EMAIL = "sam@example.org"
MENTEE_TZ = "Asia/Tokyo"
MENTOR_TZ = "America/New_York"
GOAL = "Move from analyst to data engineer by June"
MESSAGE = "I build SQL reports today and want to own the pipelines behind them. Could you help?"
HOURS = 60
MENTEE_WEEK = [(1, 8, 10), (2, 8, 10), (3, 8, 10)]
MENTOR_WEEK = [(0, 18, 21), (1, 18, 21), (2, 18, 21)]


@pytest.fixture
def skill_taxonomy(live_server) -> None:
    """The skills the data migration seeds: a live-server test flushes every table when it ends,
    the taxonomy included, so an earlier browser test may have taken it away."""
    if not Skill.objects.exists():
        importlib.import_module("profiles.migrations.0003_skill_taxonomy").add_skills(apps, None)


@pytest.fixture
def dev_server(live_server, settings) -> str:
    """The live server as a development server: the outbox is there and keeps email bodies."""
    settings.DEBUG = True
    settings.EMAIL_KEEP_SENT_BODIES = True
    return live_server.url


def week(user: User, windows: list[tuple[int, int, int]]) -> None:
    """Weekly windows in the user's own time zone: (weekday, start hour, end hour)."""
    AvailabilityWindow.objects.bulk_create(
        AvailabilityWindow(user=user, weekday=d, start_minute=s * HOURS, end_minute=e * HOURS)
        for d, s, e in windows
    )


def make_mentee() -> User:
    user = make_person(MENTEE_EMAIL, name="Mina Mentee")
    Profile.objects.create(
        user=user,
        is_mentee=True,
        timezone=MENTEE_TZ,
        languages=["en"],
        years_experience=3,
        headline="Data analyst, moving into engineering",
        onboarded_at=timezone.now(),
    )
    goal = Goal.objects.create(
        owner=user,
        title=GOAL,
        description="Build and run reliable data pipelines instead of one-off SQL reports.",
        format="short_series",
        cadence="biweekly",
    )
    goal.skills.set(Skill.objects.filter(slug__in=["data-engineering", "sql", "python"]))
    # Tuesday to Thursday mornings in Tokyo: Monday to Wednesday 23:00-01:00 in UTC.
    week(user, MENTEE_WEEK)
    return user


def make_mentor(
    email: str,
    name: str,
    *,
    tz: str,
    headline: str,
    bio: str,
    skills: dict[str, int],
    windows: list[tuple[int, int, int]],
    years: int,
) -> User:
    user = make_person(email, name=name)
    Profile.objects.create(
        user=user,
        is_mentor=True,
        timezone=tz,
        languages=["en"],
        years_experience=years,
        headline=headline,
        bio=bio,
        onboarded_at=timezone.now(),
    )
    MentorOffer.objects.create(user=user, capacity=2, hours_per_month=4, accepting_requests=True)
    for slug, level in skills.items():
        Expertise.objects.create(user=user, skill=Skill.objects.get(slug=slug), level=level)
    week(user, windows)
    return user


@pytest.fixture
def people(skill_taxonomy) -> tuple[User, User]:
    """The mentee, the mentor who fits her goal best, and two who fit it less."""
    mentee = make_mentee()
    # Monday to Wednesday evenings in New York (18:00-21:00): two hours a day shared with the
    # mentee's mornings, in winter time and in summer time alike.
    mentor = make_mentor(
        MENTOR_EMAIL,
        "Dana Pipeline",
        tz=MENTOR_TZ,
        headline="Data engineer who builds pipelines at scale",
        bio="Ten years of batch and streaming pipelines with Airflow and Spark.",
        skills={"data-engineering": 5, "sql": 4, "python": 3},
        windows=MENTOR_WEEK,
        years=12,
    )
    make_mentor(
        "priya.analyst@example.org",
        "Priya Analyst",
        tz="Asia/Singapore",
        headline="Analytics manager",
        bio="I coach analysts on SQL and on dashboards people read.",
        skills={"data-analysis": 5, "sql": 4},
        windows=[(1, 7, 8)],
        years=9,
    )
    make_mentor(
        "carlos.frontend@example.org",
        "Carlos Frontend",
        tz="Europe/London",
        headline="Frontend lead",
        bio="React, design systems and accessible interfaces.",
        skills={"react": 5, "javascript": 4},
        windows=[(d, 9, 17) for d in range(5)],
        years=10,
    )
    return mentee, mentor


@pytest.fixture
def staff_page(dev_server: str, new_context) -> Page:
    """A staff member, signed in in a browser context of their own, who reads the outbox."""
    make_person(STAFF_EMAIL, name="Sam Staff", staff=True)
    page = new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(reverse("account_login"))
    sign_in(page, STAFF_EMAIL, PASSWORD)
    expect_message(page, "Successfully signed in as Sam Staff.")
    return page


def results(page: Page) -> Locator:
    return page.locator("#match-results")


def cards(page: Page) -> Locator:
    return results(page).locator(".match-card")


def card(page: Page, name: str) -> Locator:
    return cards(page).filter(has=page.get_by_role("heading", name=name))


def mark_document(page: Page) -> None:
    """Tag the loaded document: the tag survives an in-place (htmx) swap, not a page load."""
    page.evaluate("document.documentElement.dataset.sameDocument = 'yes'")


def expect_same_document(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("data-same-document", "yes")


def expect_only(page: Page, name: str) -> None:
    expect(cards(page)).to_have_count(1)
    expect(card(page, name)).to_be_visible()
    expect(results(page)).to_contain_text("1 mentor fits your goals, best first.")


def inside(windows: list[tuple[int, int, int]], start: datetime, end: datetime) -> bool:
    """Whether a local start and end fall in one of these weekly windows (weekday, hours)."""
    begin = start.hour * HOURS + start.minute
    finish = begin + int((end - start).total_seconds()) // 60
    return any(
        start.weekday() == d and s * HOURS <= begin and finish <= e * HOURS for d, s, e in windows
    )


def read_intro(staff_page: Page, to: str, subject: str) -> tuple[Locator, Locator]:
    """Open the intro email to this person; return its body and its attachments section."""
    staff_page.get_by_role("navigation", name="Main").get_by_role("link", name="Outbox").click()
    expect(staff_page.get_by_role("heading", name="Outbox")).to_be_visible()
    row = staff_page.get_by_role("row").filter(has_text=to).filter(has_text=subject)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Sent")
    row.get_by_role("link", name=subject).click()
    expect(staff_page.get_by_role("heading", name=subject, level=1)).to_be_visible()
    attachments = staff_page.get_by_role("region", name="Attachments")
    return staff_page.locator(".email-body"), attachments


def test_a_mentee_finds_asks_and_is_accepted_and_both_get_the_introduction(
    page: Page, new_context, dev_server: str, staff_page: Page, people: tuple[User, User]
) -> None:
    mentee, mentor = people
    errors = collect_errors(page)

    # The mentee signs in and goes to Find a mentor: all three mentors, the best fit first.
    page.goto(reverse("matching:find"))
    sign_in(page, MENTEE_EMAIL, PASSWORD)
    expect(page.get_by_role("heading", name="Find a mentor", level=1)).to_be_visible()
    expect(cards(page)).to_have_count(3)
    expect(results(page)).to_contain_text("3 mentors fit your goals, best first.")
    expect(cards(page).first.get_by_role("heading")).to_have_text("Dana Pipeline")
    mark_document(page)

    # A filter narrows the results in place, and the address follows (a bookmarkable view).
    filters = page.get_by_role("search")
    filters.get_by_label(field("Skill")).select_option(label="Data engineering")
    expect(page).to_have_url(re.compile(r"/mentors/\?(.*&)?skill=data-engineering(&|$)"))
    expect_only(page, "Dana Pipeline")
    expect_same_document(page)

    # Back to any skill, then a search for a word of her profile: again only she fits.
    filters.get_by_label(field("Skill")).select_option(label="Any skill")
    expect(cards(page)).to_have_count(3)
    filters.get_by_label(field("Search")).fill("dashboards")
    expect(page).to_have_url(re.compile(r"[?&]q=dashboards(&|$)"))
    expect_only(page, "Priya Analyst")
    filters.get_by_label(field("Search")).fill("Airflow")
    expect(page).to_have_url(re.compile(r"[?&]q=Airflow(&|$)"))
    expect_only(page, "Dana Pipeline")
    expect_same_document(page)

    # The card: a score out of 100 and the three reasons that did the most for it.
    dana = card(page, "Dana Pipeline")
    score = dana.locator(".match-score")
    expect(score).to_have_attribute("aria-label", re.compile(r"^Match \d{1,3} out of 100$"))
    percent = int(score.locator("strong").inner_text())
    assert 50 <= percent <= 100, percent
    reasons = dana.locator(".reasons > li")
    expect(reasons).to_have_count(3)
    expect(reasons.first).to_contain_text(
        "Goals and expertise Knows Data engineering (5/5), SQL (4/5) and Python (3/5): "
        "all 3 skills in your goals."
    )
    expect(dana).to_contain_text("Free at the same time 6 hours a week")
    expect(dana.get_by_role("link", name="Ask to be mentored")).to_have_attribute(
        "href", reverse("matching:new-request", args=[mentor.pk]) + "?mode=regular"
    )

    # Why this match: every component, each with a meter and a sentence, and the same score.
    dana.get_by_role("link", name="Why this match").click()
    expect(page).to_have_url(re.compile(rf"/mentors/{mentor.pk}/\?mode=regular$"))
    expect(page.get_by_role("heading", name=f"Why this match: {percent}/100")).to_be_visible()
    components = page.locator(".components > li")
    expect(components).to_have_count(6)
    for label, sentence in (
        ("Goals and expertise", "all 3 skills in your goals"),
        ("Time together", "Free at the same time 6 hours a week"),
        ("Language", "You both speak English."),
        ("Format and cadence", "Offers the format and rhythm you asked for."),
        ("Experience", "Has 9 years more experience."),
        ("Room for you", "Has room for 2 more mentees (of 2), 4 h a month."),
    ):
        meter = page.get_by_role("meter", name=label, exact=True)
        expect(meter).to_have_count(1)
        value = float(meter.get_attribute("value") or "nan")
        assert 0 <= value <= 1, (label, value)
        expect(components.filter(has=meter)).to_contain_text(sentence)

    # The request: a goal, a message, a rhythm.
    page.get_by_role("link", name="Ask Dana").click()
    expect(page.get_by_role("heading", name="Ask Dana Pipeline to mentor you")).to_be_visible()
    page.get_by_role("checkbox", name=GOAL).check()
    page.get_by_label(field("Your message")).fill(MESSAGE)
    page.get_by_label(field("How often would you like to meet?")).select_option(label="Weekly")
    page.get_by_role("button", name="Send request").click()
    expect_message(page, "Your request is on its way to Dana Pipeline. We will email you.")
    expect(page.locator("#request-status")).to_have_text("Waiting for an answer")
    sent = MentorRequest.objects.get(mentee=mentee, mentor=mentor)
    assert (sent.status, sent.cadence, sent.message) == ("pending", "weekly", MESSAGE)
    assert [g.title for g in sent.goals.all()] == [GOAL]

    # The mentor finds it in their inbox and accepts it in place.
    mentor_page = new_context().new_page()
    mentor_errors = collect_errors(mentor_page)
    mentor_page.goto(reverse("account_login"))
    sign_in(mentor_page, MENTOR_EMAIL, PASSWORD)
    expect_message(mentor_page, "Successfully signed in as Dana Pipeline.")
    mentor_page.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    mentor_page.get_by_role("link", name="From Mina Mentee").click()
    expect(
        mentor_page.get_by_role("heading", name="Mina Mentee asks you to mentor them")
    ).to_be_visible()
    request_url = mentor_page.url
    assert request_url.endswith(reverse("matching:request", args=[sent.pk])), request_url
    mark_document(mentor_page)
    mentor_page.get_by_role("button", name="Accept").click()
    card_status = mentor_page.locator("#request-card").get_by_role("status")
    expect(card_status).to_have_text("You accepted the request.")
    expect(mentor_page.locator("#request-status")).to_have_text("Accepted")
    expect(mentor_page.get_by_role("button", name="Accept")).to_have_count(0)
    expect(mentor_page.get_by_role("link", name="Go to your mentorship")).to_be_visible()
    expect_same_document(mentor_page)
    assert mentor_page.url == request_url

    # The introduction, once for each of them, with the slots of the pair's shared time.
    pair = Mentorship.objects.select_related("introduction").get(mentee=mentee, mentor=mentor)
    slots = notify.suggested_slots(mentor, mentee, now=pair.introduction.sent_at)
    assert len(slots) == notify.SLOTS_OFFERED
    # Each slot is an hour, at least a day ahead, inside both people's own local windows.
    for slot in slots:
        assert slot.start >= pair.introduction.sent_at + timedelta(days=1), slot
        assert inside(MENTEE_WEEK, *slot.local(MENTEE_TZ)), slot.local(MENTEE_TZ)
        assert inside(MENTOR_WEEK, *slot.local(MENTOR_TZ)), slot.local(MENTOR_TZ)

    for to, subject, tz in (
        (MENTEE_EMAIL, "Meet Dana Pipeline, your mentor", MENTEE_TZ),
        (MENTOR_EMAIL, "Meet Mina Mentee, your mentee", MENTOR_TZ),
    ):
        body, attachments = read_intro(staff_page, to, subject)
        expect(body).to_contain_text(f"Times you are both free, in your time zone ({tz}):")
        expect(body).to_contain_text(GOAL)
        for number, slot in enumerate(slots, start=1):
            start, end = slot.local(tz)
            expect(body).to_contain_text(f"{number}. {notify.slot_label(start, end)}")
        # One link to pick a time on the pair's page, not a calendar file per suggestion.
        expect(body).to_contain_text("Pick one of these times here")
        expect(body).to_contain_text(f"/pairs/{pair.pk}/#schedule")
        expect(attachments.locator("details")).to_have_count(0)

    assert errors == []
    assert mentor_errors == []
