"""Keyboard only: the languages chips (filter, tick, save) and the pair's page (tick an action
item done and open it again), with no mouse. The navigation menu's keyboard test is in
test_navigation.py."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from meetings.models import ActionItem
from profiles.models import Profile
from tests.browser.helpers import collect_errors, sign_in
from tests.conftest import PASSWORD, ensure_skills
from tests.meetings.conftest import make_pair

pytestmark = pytest.mark.browser


@pytest.fixture
def pair(live_server):
    ensure_skills()  # the live server's flush may have taken the taxonomy away
    pair = make_pair("sia@example.org", "leo@example.org")
    ActionItem.objects.create(mentorship=pair, owner=pair.mentee, text="Draft the CV")
    return pair


def signed_in(page: Page, email: str) -> list:
    errors = collect_errors(page)
    page.goto(reverse("account_login"))
    sign_in(page, email, PASSWORD)
    return errors


def test_languages_are_filtered_ticked_and_saved_with_the_keyboard(page: Page, pair) -> None:
    errors = signed_in(page, "sia@example.org")
    page.goto(reverse("profiles:edit"))
    page.get_by_label("Filter languages").focus()
    page.keyboard.type("japan")
    english = page.get_by_role("checkbox", name="English (en)", exact=True)
    japanese = page.get_by_role("checkbox", name="Japanese (ja)", exact=True)
    expect(english).to_be_checked()  # ticked ones stay in view while filtering
    page.keyboard.press("Tab")
    expect(english).to_be_focused()
    page.keyboard.press("Tab")
    expect(japanese).to_be_focused()
    page.keyboard.press("Space")
    expect(japanese).to_be_checked()
    page.get_by_role("button", name="Save", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    assert Profile.objects.get(user=pair.mentee).languages == ["en", "ja"]
    assert errors == []


def test_an_action_item_is_ticked_and_reopened_with_the_keyboard(page: Page, pair) -> None:
    errors = signed_in(page, "sia@example.org")
    page.goto(reverse("meetings:pair", args=[pair.pk]))
    page.get_by_role("button", name="Mark “Draft the CV” done").focus()
    page.keyboard.press("Enter")
    reopen = page.get_by_role("button", name="Reopen “Draft the CV”")
    expect(reopen).to_be_visible()
    assert ActionItem.objects.get().done
    reopen.focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Mark “Draft the CV” done")).to_be_visible()
    assert not ActionItem.objects.get().done
    assert errors == []
