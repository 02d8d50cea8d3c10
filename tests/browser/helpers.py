"""What browser tests share: finding fields by label, signing in, reading flash messages, and
collecting the errors a page reports."""

import re

from playwright.sync_api import ConsoleMessage, Error, Page, expect

TIMEOUT_MS = 10_000


def field(label: str) -> re.Pattern[str]:
    """A form field's whole label, as Django renders it (with its ":" suffix)."""
    return re.compile(rf"^{re.escape(label)}:?$")


def collect_errors(page: Page) -> list[str]:
    """JavaScript errors and console errors (CSP violations among them) the page reports."""
    errors: list[str] = []
    page.set_default_timeout(TIMEOUT_MS)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{page.url}: {message.text}")

    def on_page_error(error: Error) -> None:
        errors.append(f"{page.url}: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    return errors


def expect_message(page: Page, text: str) -> None:
    """The page shows this flash message (in the live region that announces them)."""
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def sign_in(page: Page, email: str, password: str) -> None:
    expect(page.get_by_role("heading", name="Sign In")).to_be_visible()
    page.get_by_label(field("Email")).fill(email)
    page.get_by_label(field("Password")).fill(password)
    page.get_by_role("button", name="Sign In").click()
