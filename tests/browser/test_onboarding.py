"""Onboarding in a real browser: a newcomer takes part as a mentee, says who they are, writes two
goals with the search-as-you-type skill picker, marks their week on the grid with the mouse and
with the keyboard, and after a reload finds everything where they left it."""

import importlib
import re

import pytest
from django.apps import apps
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect

from profiles.models import AvailabilityWindow, Goal, Profile, Skill, User
from tests.browser.helpers import collect_errors, expect_message, field, sign_in
from tests.conftest import PASSWORD, make_person

pytestmark = pytest.mark.browser

EMAIL = "mina.mentee@example.org"
BROWSER_TIMEZONE = "Europe/Lisbon"
TIMEZONE = "Asia/Tokyo"
HEADLINE = "Data analyst, moving into engineering"
BIO = "Five years of **SQL** reports; now I want to build."
ORGANISATION = "Harbour Logistics"
FIRST_GOAL = "Move from analyst to data engineer by June"
SECOND_GOAL = "Give my first conference talk this year"
WEEK = ["Monday 09:00-11:00", "Tuesday 09:00-11:00", "Friday 23:00-24:00"]
WEEK_CELLS = ["Monday 09:00", "Monday 10:00", "Tuesday 09:00", "Tuesday 10:00", "Friday 23:00"]
WEEK_WINDOWS = [(0, 9 * 60, 11 * 60), (1, 9 * 60, 11 * 60), (4, 23 * 60, 24 * 60)]


@pytest.fixture
def skill_taxonomy(live_server) -> None:
    """The skills the data migration seeds. A live-server test runs in a transaction-less test
    and flushes every table when it ends, the taxonomy included, so an earlier browser test may
    have taken it away."""
    if not Skill.objects.exists():
        importlib.import_module("profiles.migrations.0003_skill_taxonomy").add_skills(apps, None)


def stepper(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Getting started")


def cell(page: Page, name: str) -> Locator:
    """One hour of the week grid, e.g. "Monday 09:00"."""
    return page.get_by_role("checkbox", name=name, exact=True)


def summary(page: Page) -> Locator:
    return page.locator("#availability-summary")


def goal_card(page: Page, title: str) -> Locator:
    return page.locator(".goal-list > li").filter(has=page.get_by_role("heading", name=title))


def pick_skill(page: Page, typed: str, skill: str, category: str) -> None:
    """Type into the skill search, letter by letter, and add one of the results."""
    search = page.get_by_label("Search skills")
    search.clear()
    search.press_sequentially(typed, delay=30)
    page.get_by_role("button", name=f"+ {skill} {category}", exact=True).click()
    expect(page.locator("#chosen-skills").get_by_role("checkbox", name=skill)).to_be_checked()
    # The picked skill leaves the results, and the search box has the focus back.
    expect(page.get_by_role("button", name=f"+ {skill} {category}", exact=True)).to_have_count(0)
    expect(search).to_be_focused()


def add_goal(
    page: Page,
    *,
    title: str,
    description: str,
    skills: list[tuple[str, str, str]],
    length: str,
    cadence: str,
) -> None:
    form = page.locator("form").filter(has=page.get_by_role("heading", name="Add a goal"))
    form.get_by_label(field("What do you want to achieve?")).fill(title)
    form.get_by_label(field("Description")).fill(description)
    for typed, skill, category in skills:
        pick_skill(page, typed, skill, category)
    form.get_by_role("group", name="How long a mentoring").get_by_label(length).check()
    form.get_by_role("group", name="How often would you meet?").get_by_label(cadence).check()
    form.get_by_role("button", name="Add goal").click()
    expect_message(page, f"Goal added: {title}")


def expect_goal(page: Page, title: str, *, skills: list[str], details: str) -> None:
    card = goal_card(page, title)
    expect(card).to_have_count(1)
    expect(card.locator(".chip")).to_have_text(skills)
    expect(card).to_contain_text(details)


def drag_across(page: Page, first: str, last: str) -> None:
    """Press the mouse on one cell, move across the row to another, and let go."""
    cell(page, first).scroll_into_view_if_needed()
    start, end = cell(page, first).bounding_box(), cell(page, last).bounding_box()
    assert start and end
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    page.mouse.up()


def windows_of(user: User) -> list[tuple[int, int, int]]:
    """The person's stored windows as (weekday, start minute, end minute)."""
    return list(
        AvailabilityWindow.objects.filter(user=user).values_list(
            "weekday", "start_minute", "end_minute"
        )
    )


def expect_week(page: Page, on: list[str]) -> None:
    """Exactly these cells of the grid are checked."""
    for name in on:
        expect(cell(page, name)).to_be_checked()
    expect(page.locator("input.cell:checked")).to_have_count(len(on))


@pytest.mark.browser_context_args(timezone_id=BROWSER_TIMEZONE)
def test_a_newcomer_onboards_as_a_mentee_and_finds_it_all_kept_after_a_reload(
    page: Page, skill_taxonomy: None
) -> None:
    mina = make_person(EMAIL, name="Mina Mentee")
    errors = collect_errors(page)

    # A brand-new account is sent to the first onboarding step.
    page.goto(reverse("account_login"))
    sign_in(page, EMAIL, PASSWORD)
    expect(page.get_by_role("heading", name=re.compile(r"^Welcome, Mina\."))).to_be_visible()
    expect(page).to_have_url(re.compile(re.escape(reverse("profiles:welcome"))))

    # Roles: a mentee only. Nothing chosen is not accepted.
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Choose at least one")).to_be_visible()
    page.get_by_label(field("I want a mentor")).check()
    expect(page.get_by_label(field("I can mentor others"))).not_to_be_checked()
    page.get_by_role("button", name="Continue").click()

    # About you: the time zone is guessed from the browser, and Mina, about to move, picks
    # another; the rest is typed.
    expect(page.get_by_role("heading", name="About you")).to_be_visible()
    expect(stepper(page)).to_contain_text("Step 2 of 4")
    expect(page.get_by_label(field("Time zone"))).to_have_value(BROWSER_TIMEZONE)
    page.get_by_label(field("Time zone")).select_option(TIMEZONE)
    expect(page.get_by_label(field("Display name"))).to_have_value("Mina Mentee")
    page.get_by_label(field("Headline")).fill(HEADLINE)
    page.get_by_label(field("Bio")).fill(BIO)
    page.get_by_label("Filter languages").fill("japan")  # narrows the long list as one types
    expect(page.get_by_role("checkbox", name="Korean (ko)", exact=True)).to_be_hidden()
    page.get_by_role("checkbox", name="Japanese (ja)", exact=True).check()
    page.get_by_label("Filter languages").fill("")
    page.get_by_role("checkbox", name="English (en)", exact=True).check()
    page.get_by_label(field("Organisation")).fill(ORGANISATION)
    page.get_by_role("button", name="Save and continue").click()
    expect_message(page, "Your profile is saved.")

    # Goals: two, each with skills picked by searching as one types.
    expect(page.get_by_role("heading", name="Your goals")).to_be_visible()
    expect(stepper(page)).to_contain_text("Step 3 of 4")
    expect(page.get_by_role("button", name="Continue")).to_be_disabled()
    add_goal(
        page,
        title=FIRST_GOAL,
        description="I write SQL every day and want to own pipelines.",
        skills=[("pyth", "Python", "Engineering"), ("sql", "SQL", "Engineering")],
        length="Ongoing, for months",
        cadence="Weekly",
    )
    add_goal(
        page,
        title=SECOND_GOAL,
        description="I have stage fright; I want a plan and practice.",
        skills=[("stage fright", "Public speaking", "Communication")],
        length="A short series (2-4 meetings)",
        cadence="Monthly",
    )
    expect_goal(page, FIRST_GOAL, skills=["Python", "SQL"], details="Ongoing, for months · Weekly")
    expect_goal(
        page,
        SECOND_GOAL,
        skills=["Public speaking"],
        details="A short series (2-4 meetings) · Monthly",
    )
    page.get_by_role("button", name="Continue").click()

    # Availability: every change is saved in place, without leaving the page.
    expect(page.get_by_role("heading", name="When are you free each week?")).to_be_visible()
    expect(stepper(page)).to_contain_text("Step 4 of 4")
    expect(page.get_by_text(f"Times are in your time zone, {TIMEZONE}")).to_be_visible()
    expect(summary(page)).to_contain_text("No times yet.")
    grid_url = page.url
    page.evaluate("window.stillTheSamePage = true")

    # The mouse paints Monday 09:00 and 10:00 in one drag; htmx saves it.
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.request.headers.get("hx-request") == "true"
    ) as saved:
        drag_across(page, "Monday 09:00", "Monday 10:00")
    assert saved.value.ok
    expect(summary(page).get_by_role("listitem")).to_have_text(["Monday 09:00-11:00"])
    expect_week(page, ["Monday 09:00", "Monday 10:00"])

    # The keyboard: the pressed cell holds the grid's one tab stop; arrows move it, Space and
    # Enter toggle.
    monday_nine = cell(page, "Monday 09:00")
    expect(monday_nine).to_be_focused()
    expect(page.locator("input.cell[tabindex='0']")).to_have_count(1)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save and finish")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(monday_nine).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(cell(page, "Tuesday 09:00")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    for key in ("ArrowDown", "ArrowDown", "ArrowDown", "End"):
        page.keyboard.press(key)
    expect(cell(page, "Friday 23:00")).to_be_focused()
    page.keyboard.press("Space")
    # A cell toggled on and off again leaves nothing behind.
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Space")
    expect(cell(page, "Friday 22:00")).to_be_checked()
    expect(summary(page)).to_contain_text("Friday 22:00-24:00")
    page.keyboard.press("Space")
    expect(cell(page, "Friday 22:00")).not_to_be_checked()
    expect(page.locator("input.cell[tabindex='0']")).to_have_count(1)
    expect(cell(page, "Friday 22:00")).to_have_attribute("tabindex", "0")

    # The last save is answered (none is still in flight), in place: same page, same window.
    expect(summary(page).get_by_role("listitem")).to_have_text(WEEK)
    expect(page.locator("#availability-form.htmx-request")).to_have_count(0)
    expect(summary(page)).to_contain_text("Saved at")
    expect_week(page, WEEK_CELLS)
    assert page.url == grid_url
    assert page.evaluate("window.stillTheSamePage") is True
    assert windows_of(mina) == WEEK_WINDOWS

    page.get_by_role("button", name="Save and finish").click()
    expect_message(page, "Your profile is ready. Welcome aboard!")
    expect(page.get_by_role("heading", name="Welcome, Mina")).to_be_visible()
    expect(page.get_by_role("heading", name="Profile 100% complete")).to_be_visible()

    # What the browser did is in the database.
    profile = Profile.objects.get(user=mina)
    assert profile.onboarded_at is not None
    assert (profile.is_mentee, profile.is_mentor) == (True, False)
    assert (profile.headline, profile.bio, profile.organisation) == (HEADLINE, BIO, ORGANISATION)
    assert profile.timezone == TIMEZONE
    assert profile.languages == ["en", "ja"]
    goals = Goal.objects.filter(owner=mina).prefetch_related("skills")
    assert [
        (g.title, sorted(s.name for s in g.skills.all()), g.format, g.cadence, g.status)
        for g in goals
    ] == [
        (FIRST_GOAL, ["Python", "SQL"], "ongoing", "weekly", "open"),
        (SECOND_GOAL, ["Public speaking"], "short_series", "monthly", "open"),
    ]
    assert windows_of(mina) == WEEK_WINDOWS

    # After a reload, and on each page again, everything is kept.
    page.reload()
    expect(page.get_by_role("heading", name="Profile 100% complete")).to_be_visible()
    expect(page.get_by_role("status")).to_have_count(0)

    page.get_by_role("link", name="edit it").click()
    expect(page.get_by_role("heading", name="About you")).to_be_visible()
    expect(stepper(page)).to_have_count(0)
    expect(page.get_by_label(field("Headline"))).to_have_value(HEADLINE)
    expect(page.get_by_label(field("Bio"))).to_have_value(BIO)
    expect(page.get_by_label(field("Organisation"))).to_have_value(ORGANISATION)
    expect(page.get_by_label(field("Time zone"))).to_have_value(TIMEZONE)
    for language in ("English (en)", "Japanese (ja)"):
        expect(page.get_by_role("checkbox", name=language, exact=True)).to_be_checked()
    expect(page.get_by_label(field("I want a mentor"))).to_be_checked()
    expect(page.get_by_label(field("I can mentor others"))).not_to_be_checked()

    page.goto(reverse("profiles:goals"))
    expect(page.locator(".goal-list > li")).to_have_count(2)
    expect_goal(page, FIRST_GOAL, skills=["Python", "SQL"], details="Ongoing, for months · Weekly")
    expect_goal(
        page,
        SECOND_GOAL,
        skills=["Public speaking"],
        details="A short series (2-4 meetings) · Monthly",
    )

    page.goto(reverse("profiles:availability"))
    page.reload()
    expect(page.get_by_role("heading", name="When are you free each week?")).to_be_visible()
    expect(page.get_by_text(f"Times are in your time zone, {TIMEZONE}")).to_be_visible()
    expect(summary(page).get_by_role("listitem")).to_have_text(WEEK)
    expect_week(page, WEEK_CELLS)

    assert errors == []
