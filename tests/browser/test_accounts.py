"""The accounts flow in a real browser: sign up, verify the address, sign in and out, reset the
password. The links come from the in-app outbox, which a staff member reads in a second browser
context, as one would on a development server without a mail server."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.helpers import TIMEOUT_MS, collect_errors, expect_message, field, sign_in
from tests.conftest import PASSWORD, make_person

pytestmark = pytest.mark.browser

NAME = "Nora Newcomer"
EMAIL = "nora.newcomer@example.org"
FIRST_PASSWORD = "violet-harbour-lantern-58"
NEW_PASSWORD = "quiet-orchard-compass-91"
STAFF_EMAIL = "sam@example.org"
WELCOME_NORA = re.compile(r"^Welcome, Nora\b")


@pytest.fixture
def dev_server(live_server, settings) -> str:
    """The live server as a development server: the outbox is there (DEBUG) and keeps the bodies,
    with their one-time links, of the emails it has sent."""
    settings.DEBUG = True
    settings.EMAIL_KEEP_SENT_BODIES = True
    return live_server.url


@pytest.fixture
def staff_page(dev_server: str, new_context) -> Page:
    """A staff member, signed in in a browser context of their own, who can open the outbox."""
    make_person(STAFF_EMAIL, name="Sam Staff", staff=True)
    page = new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(reverse("account_login"))
    sign_in(page, STAFF_EMAIL, PASSWORD)
    expect_message(page, "Successfully signed in as Sam Staff.")
    return page


def link_from_outbox(staff_page: Page, server: str, subject: str, path: str) -> str:
    """Open the newest email to the newcomer with this subject; return its link under path."""
    staff_page.get_by_role("navigation", name="Main").get_by_role("link", name="Outbox").click()
    expect(staff_page.get_by_role("heading", name="Outbox")).to_be_visible()
    row = staff_page.get_by_role("row").filter(has_text=EMAIL).filter(has_text=subject).first
    row.get_by_role("link", name=subject).click()
    expect(staff_page.get_by_role("heading", name=subject)).to_be_visible()
    link = staff_page.get_by_role("link", name=path)
    expect(link).to_have_count(1)
    href = link.get_attribute("href") or ""
    assert href.startswith(server + path), href
    return href


def test_a_newcomer_signs_up_verifies_logs_in_out_and_resets_the_password(
    page: Page, dev_server: str, staff_page: Page
) -> None:
    errors = collect_errors(page)

    # Sign up from the landing page.
    page.goto("/")
    page.get_by_role("link", name="Create your account").click()
    expect(page.get_by_role("heading", name="Sign Up")).to_be_visible()
    page.get_by_label(field("Your name")).fill(NAME)
    page.get_by_label(field("Email")).fill(EMAIL)
    page.get_by_label(field("Password")).fill(FIRST_PASSWORD)
    page.get_by_label(field("Password (again)")).fill(FIRST_PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()

    # The staff member finds the verification link in the outbox; the newcomer follows it and
    # confirms (a GET alone confirms nothing).
    confirm_url = link_from_outbox(
        staff_page, dev_server, "Please Confirm Your Email Address", "/accounts/confirm-email/"
    )
    page.goto(confirm_url)
    expect(page.get_by_role("heading", name="Confirm Email Address")).to_be_visible()
    expect(page.get_by_text(EMAIL)).to_be_visible()
    page.get_by_role("button", name="Confirm").click()
    expect_message(page, f"You have confirmed {EMAIL}.")

    # Confirming does not sign in: the newcomer signs in and is welcomed by first name (on the
    # dashboard, or on the first onboarding step that a brand-new account is sent to).
    sign_in(page, EMAIL, FIRST_PASSWORD)
    expect_message(page, f"Successfully signed in as {NAME}.")
    expect(page.get_by_role("heading", name=WELCOME_NORA)).to_be_visible()

    # Sign out from the header (a POST form); should allauth ask to confirm, confirm.
    page.get_by_role("button", name="Sign out", exact=True).click()
    landing = page.get_by_role("link", name="Create your account")
    confirm_sign_out = page.get_by_role("button", name="Sign Out", exact=True)
    expect(landing.or_(confirm_sign_out)).to_be_visible()
    if confirm_sign_out.is_visible():
        confirm_sign_out.click()
    expect(landing).to_be_visible()
    expect_message(page, "You have signed out.")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    # Forgotten password: ask for a reset from the sign-in page.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in").click()
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Password Reset")).to_be_visible()
    page.get_by_label(field("Email")).fill(EMAIL)
    page.get_by_role("button", name="Reset My Password").click()
    expect(page.get_by_text("We have sent you an email.")).to_be_visible()

    reset_url = link_from_outbox(
        staff_page, dev_server, "Password Reset Email", "/accounts/password/reset/key/"
    )
    page.goto(reset_url)
    expect(page.get_by_role("heading", name="Change Password")).to_be_visible()
    page.get_by_label(field("New Password")).fill(NEW_PASSWORD)
    page.get_by_label(field("New Password (again)")).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change Password").click()
    expect(page.get_by_text("Your password is now changed.")).to_be_visible()

    # The old password no longer works; the new one does.
    page.goto(reverse("account_login"))
    sign_in(page, EMAIL, FIRST_PASSWORD)
    expect(page.get_by_text("The email address and/or password you specified")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign In")).to_be_visible()
    expect(page.get_by_label(field("Email"))).to_have_value(EMAIL)
    sign_in(page, EMAIL, NEW_PASSWORD)
    expect_message(page, f"Successfully signed in as {NAME}.")
    expect(page.get_by_role("heading", name=WELCOME_NORA)).to_be_visible()

    assert errors == []
