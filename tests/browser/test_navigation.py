"""The main navigation in a real browser: on a phone the links fold behind a "Menu" button that the
keyboard opens and closes, no page scrolls sideways; on a wide screen the links simply show; without
JavaScript they stay in view; and a dark system scheme gives a dark page."""

from collections.abc import Callable

import pytest
from django.urls import reverse
from playwright.sync_api import BrowserContext, Locator, Page, expect

from profiles.models import User
from tests.browser.helpers import collect_errors, sign_in
from tests.conftest import PASSWORD, ensure_skills
from tests.matching.conftest import make_mentee

pytestmark = pytest.mark.browser

MENTEE_EMAIL = "mina.mentee@example.org"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
MAX_TABS = 6


@pytest.fixture
def mentee(live_server) -> User:
    ensure_skills()  # the live server's flush may have taken the taxonomy away
    return make_mentee(MENTEE_EMAIL, "Mina Mentee")


def signed_in_page(new_context: Callable[..., BrowserContext], **options) -> tuple[Page, list]:
    """A fresh browser with these context options, signed in as the mentee on the dashboard."""
    page = new_context(**options).new_page()
    errors = collect_errors(page)
    page.goto(reverse("account_login"))
    sign_in(page, MENTEE_EMAIL, PASSWORD)
    expect(page.get_by_role("heading", name="Welcome, Mina")).to_be_visible()
    return page, errors


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def scroll_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def luminance(page: Page, selector: str, prop: str) -> float:
    """The relative luminance (WCAG) of an element's computed colour property."""
    return page.eval_on_selector(
        selector,
        """(el, prop) => {
          const [r, g, b] = getComputedStyle(el)[prop].match(/[\\d.]+/g).slice(0, 3).map(Number)
            .map(v => v / 255).map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
          return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        }""",
        prop,
    )


def test_on_a_phone_the_links_fold_behind_a_menu_button_the_keyboard_opens_and_closes(
    new_context, mentee: User
) -> None:
    page, errors = signed_in_page(new_context, viewport=PHONE)
    nav = main_nav(page)
    menu = nav.get_by_role("button", name="Menu")
    find_link = nav.get_by_role("link", name="Find a mentor")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(find_link).to_be_hidden()

    # Tab reaches the button (after the skip link and the brand).
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if menu.evaluate("button => button === document.activeElement"):
            break
    expect(menu).to_be_focused()

    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(find_link).to_be_visible()
    assert scroll_width(page) <= PHONE["width"]

    # Space toggles too, as on any button.
    page.keyboard.press("Space")
    expect(find_link).to_be_hidden()
    page.keyboard.press("Space")
    expect(find_link).to_be_visible()

    # Escape from inside the open menu closes it and puts focus back on the button.
    page.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="Dashboard")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(find_link).to_be_hidden()
    expect(menu).to_be_focused()

    # No page scrolls sideways on a phone.
    assert scroll_width(page) <= PHONE["width"]
    page.goto(reverse("matching:find"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(menu).to_be_visible()
    assert scroll_width(page) <= PHONE["width"]
    assert errors == []


def test_on_a_wide_screen_the_links_show_and_no_menu_button_does(new_context, mentee: User) -> None:
    page, errors = signed_in_page(new_context, viewport=DESKTOP)
    nav = main_nav(page)
    expect(nav.get_by_role("link", name="Find a mentor")).to_be_visible()
    expect(nav.get_by_role("link", name="Account")).to_be_visible()
    expect(nav.get_by_role("button", name="Menu")).to_be_hidden()
    assert errors == []


def test_without_javascript_a_phone_shows_the_links_and_no_dead_menu_button(
    new_context, mentee: User
) -> None:
    page = new_context(viewport=PHONE, java_script_enabled=False).new_page()
    page.goto(reverse("account_login"))
    sign_in(page, MENTEE_EMAIL, PASSWORD)
    nav = main_nav(page)
    expect(nav.get_by_role("link", name="Find a mentor")).to_be_visible()
    expect(nav.get_by_role("button", name="Menu")).to_be_hidden()


def test_a_dark_system_scheme_gives_a_dark_page_with_light_readable_text(
    new_context, mentee: User
) -> None:
    page, errors = signed_in_page(new_context, viewport=DESKTOP, color_scheme="dark")
    background = luminance(page, "body", "backgroundColor")
    text = luminance(page, "body", "color")
    assert background < 0.05
    assert (text + 0.05) / (background + 0.05) >= 4.5
    assert errors == []


def test_on_a_phone_find_a_mentors_filters_fold_away_and_open_on_request(
    new_context, mentee: User
) -> None:
    page, errors = signed_in_page(new_context, viewport=PHONE)
    page.goto(reverse("matching:find"))
    search = page.get_by_role("textbox", name="Search")
    expect(search).to_be_hidden()  # the results come first
    page.get_by_text("Filters", exact=True).click()
    expect(search).to_be_visible()
    wide, _ = signed_in_page(new_context, viewport=DESKTOP)
    wide.goto(reverse("matching:find"))
    expect(wide.get_by_role("textbox", name="Search")).to_be_visible()  # open, no summary
    expect(wide.get_by_text("Filters", exact=True)).to_be_hidden()
    assert errors == []
