"""A conversation in a real browser: Mina, a mentee in Tokyo, asks Dana, the mentor in New York she
has asked to mentor her, a question on the request before Dana answers it. Dana finds it from her
unread badge and replies three times in a row; Mina's badge lights up while her page stays as it
was (htmx polls it), and opening the thread clears it and shows Dana it was seen. The burst reaches
Mina's inbox as one email, after the delay and never again; every time reads in its reader's zone.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import dateformat, timezone
from playwright.sync_api import Locator, Page, expect

from conversations.actions import send_message_emails, unread_count
from conversations.models import Message, Notification
from matching.models import MentorRequest
from matching.services import create_request
from profiles.models import Email, Goal, User
from tests.browser.helpers import TIMEOUT_MS, collect_errors, expect_message, sign_in
from tests.conftest import PASSWORD, ensure_skills
from tests.matching.conftest import make_mentee, make_mentor

pytestmark = pytest.mark.browser

MENTEE_EMAIL = "mina.mentee@example.org"
MENTOR_EMAIL = "dana.pipeline@example.org"
MENTEE_TZ = "Asia/Tokyo"
MENTOR_TZ = "America/New_York"
GOAL = "Move from analyst to data engineer by June"
QUESTION = "Before you decide: would a call every other week be enough for you?"
REPLIES = [
    "Hi Mina, thanks for asking first!",
    "Every other week works well for me, on Tuesday evenings my time.",
    "Bring one pipeline you run today to our first call.",
]
POLL_SECONDS = 1
BADGE_WAIT_MS = 5_000  # a few polls of the badge
MESSAGES_KIND = "conversations/messages"


@pytest.fixture
def pending(live_server, settings) -> MentorRequest:
    """Mina's request to Dana, not answered yet, with the notification it made for Dana. The
    badge polls every second (the live server runs in this process, so the settings apply to
    its pages) and the outbox keeps the bodies of the emails it sent."""
    settings.NOTIFICATIONS_POLL_SECONDS = POLL_SECONDS
    settings.MESSAGE_EMAIL_DELAY_SECONDS = 120
    settings.EMAIL_KEEP_SENT_BODIES = True
    ensure_skills()  # the live server's flush may have taken the taxonomy away
    mentee = make_mentee(MENTEE_EMAIL, "Mina Mentee", tz=MENTEE_TZ, goals=0)
    mentor = make_mentor(MENTOR_EMAIL, "Dana Pipeline", tz=MENTOR_TZ)
    goal = Goal.objects.create(owner=mentee, title=GOAL)
    return create_request(
        mentee=mentee,
        mentor=mentor,
        goals=[goal],
        message="I build SQL reports today and want to own the pipelines behind them.",
        cadence="biweekly",
    )


def badge(page: Page) -> Locator:
    """The unread count beside Notifications in the main navigation."""
    return page.get_by_role("navigation", name="Main").locator("#unread-badge")


def expect_badge(page: Page, user: User, *, timeout: float = TIMEOUT_MS) -> int:
    """The badge shows what the feed holds for this person now; returns that count."""
    count = unread_count(user)
    assert count > 0
    expect(badge(page)).to_be_visible(timeout=timeout)
    expect(badge(page)).to_have_text(f"{count} unread", timeout=timeout)
    return count


def expect_no_badge(page: Page) -> None:
    expect(badge(page)).to_have_text("")
    expect(badge(page)).to_be_hidden()


def conversation(page: Page) -> Locator:
    return page.locator("#conversation")


def messages(page: Page) -> Locator:
    return conversation(page).locator(".chat-message")


def write(page: Page, to: str, text: str) -> None:
    """Send a message in the conversation; htmx swaps the conversation with it in place."""
    before = messages(page).count()
    conversation(page).get_by_label(f"Write to {to}", exact=True).fill(text)
    conversation(page).get_by_role("button", name="Send", exact=True).click()
    expect(messages(page)).to_have_count(before + 1)
    expect(messages(page).last).to_contain_text(text)
    expect(conversation(page).get_by_label(f"Write to {to}", exact=True)).to_have_value("")


def shown_at(message: Message, zone: str) -> str:
    """A message's time as its reader's page shows it, in the reader's own time zone."""
    return dateformat.format(message.created_at.astimezone(ZoneInfo(zone)), "D j M, H:i T")


def mark_document(page: Page) -> None:
    """Tag the loaded document: the tag survives an in-place (htmx) swap, not a page load."""
    page.evaluate("window.__sameDocument = 'yes'")


def expect_same_document(page: Page) -> None:
    assert page.evaluate("window.__sameDocument") == "yes", "the page was loaded again"


def open_notification(page: Page, text: str) -> None:
    """Follow a line of the feed from the Notifications link of the main navigation."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    page.get_by_role("link", name=text, exact=True).click()


def emails_to(email: str) -> list[Email]:
    return list(Email.objects.filter(kind=MESSAGES_KIND, to=[email]).order_by("pk"))


def test_a_question_on_a_request_a_burst_of_replies_one_badge_line_and_one_email(
    page: Page, new_context, pending: MentorRequest
) -> None:
    mentee, mentor = pending.mentee, pending.mentor
    request_url = reverse("matching:request", args=[pending.pk])
    mentee_page = page
    mentee_errors = collect_errors(mentee_page)

    # Mina opens her request, still waiting for an answer: nothing unread, no messages yet.
    mentee_page.goto(request_url)
    sign_in(mentee_page, MENTEE_EMAIL, PASSWORD)
    expect(mentee_page.get_by_role("heading", name="Your request to Dana Pipeline")).to_be_visible()
    expect(mentee_page.locator("#request-status")).to_have_text("Waiting for an answer")
    expect(conversation(mentee_page)).to_contain_text("No messages yet.")
    assert unread_count(mentee) == 0
    expect_no_badge(mentee_page)

    # She asks her question: it shows in the conversation in place, at her own (Tokyo) time.
    mark_document(mentee_page)
    write(mentee_page, "Dana", QUESTION)
    expect_same_document(mentee_page)
    question = Message.objects.get(thread__request=pending)
    assert (question.author, question.body) == (mentee, QUESTION)
    expect(messages(mentee_page).last.locator("time")).to_have_text(shown_at(question, MENTEE_TZ))
    assert shown_at(question, MENTEE_TZ).endswith(" JST")
    expect(messages(mentee_page).last).to_contain_text("You")

    # Dana signs in: her badge counts the request and the message line, as the feed does.
    mentor_page = new_context().new_page()
    mentor_errors = collect_errors(mentor_page)
    mentor_page.goto(reverse("account_login"))
    sign_in(mentor_page, MENTOR_EMAIL, PASSWORD)
    expect_message(mentor_page, "Successfully signed in as Dana Pipeline.")
    assert expect_badge(mentor_page, mentor) == 2  # "asks you to mentor them", "New message"

    # She follows the message's line to the request and reads the question, at New York time.
    open_notification(mentor_page, "New message from Mina Mentee")
    expect(
        mentor_page.get_by_role("heading", name="Mina Mentee asks you to mentor them")
    ).to_be_visible()
    assert mentor_page.url.endswith(f"{request_url}#conversation"), mentor_page.url
    expect(messages(mentor_page)).to_have_count(1)
    expect(messages(mentor_page).first).to_contain_text(QUESTION)
    expect(messages(mentor_page).first).to_contain_text("Mina Mentee")
    expect(messages(mentor_page).first.locator("time")).to_have_text(shown_at(question, MENTOR_TZ))
    assert expect_badge(mentor_page, mentor) == 1  # the request itself is still to answer

    # Dana replies three times in a row while Mina's page stays open, untouched.
    for reply in REPLIES:
        write(mentor_page, "Mina", reply)
    replies = list(Message.objects.filter(thread__request=pending, author=mentor))
    assert [m.body for m in replies] == REPLIES
    expect(messages(mentor_page).nth(1).locator("time")).to_have_text(
        shown_at(replies[0], MENTOR_TZ)
    )

    # Mina's badge appears without a reload: one line for the thread, counting the three.
    line = Notification.objects.get(user=mentee, read_at__isnull=True)
    assert (line.kind, line.count, line.text) == (
        Notification.Kind.MESSAGE,
        3,
        "3 new messages from Dana Pipeline",
    )
    assert expect_badge(mentee_page, mentee, timeout=BADGE_WAIT_MS) == 1
    expect_same_document(mentee_page)
    expect(messages(mentee_page)).to_have_count(1)  # the page itself was not reloaded

    # The emails wait two minutes after the first unread message; then one for the burst.
    assert send_message_emails(now=timezone.now()) == 0
    assert Email.objects.filter(kind=MESSAGES_KIND).count() == 0
    assert send_message_emails(now=timezone.now() + timedelta(minutes=3)) == 1
    (email,) = emails_to(MENTEE_EMAIL)
    assert email.subject == "3 new messages from Dana Pipeline"
    assert email.status == Email.Status.SENT
    for reply in replies:
        assert reply.body in email.body_text
        assert f"Dana Pipeline, {shown_at(reply, MENTEE_TZ)}:" in email.body_text
    assert QUESTION not in email.body_text  # her own message is not news to her
    assert f"{request_url}#conversation" in email.body_text
    assert emails_to(MENTOR_EMAIL) == []  # Dana read Mina's question in the app

    # Mina opens the thread from her feed: the three replies are there, the badge is gone.
    open_notification(mentee_page, "3 new messages from Dana Pipeline")
    assert mentee_page.url.endswith(f"{request_url}#conversation"), mentee_page.url
    expect(messages(mentee_page)).to_have_count(4)
    for row, reply in zip(messages(mentee_page).all()[1:], replies, strict=True):
        expect(row).to_contain_text(reply.body)
        expect(row).to_contain_text("Dana Pipeline")
        expect(row.locator("time")).to_have_text(shown_at(reply, MENTEE_TZ))
    assert unread_count(mentee) == 0
    expect_no_badge(mentee_page)
    # ...and the next poll of the badge keeps it empty.
    with mentee_page.expect_response(
        lambda response: response.url.endswith(reverse("conversations:unread")),
        timeout=BADGE_WAIT_MS,
    ):
        pass
    expect_no_badge(mentee_page)

    # Dana reloads: her last reply is marked as seen by Mina, and only that one.
    mentor_page.reload()
    seen = conversation(mentor_page).locator("[data-seen]")
    expect(seen).to_have_count(1)
    expect(seen).to_contain_text("Seen by Mina")
    expect(messages(mentor_page).last.locator("[data-seen]")).to_have_count(1)

    # Later passes of the batch send nothing more: what Mina read is never emailed.
    assert send_message_emails(now=timezone.now() + timedelta(minutes=20)) == 0
    assert send_message_emails(now=timezone.now() + timedelta(hours=2)) == 0
    assert [e.pk for e in emails_to(MENTEE_EMAIL)] == [email.pk]
    assert Email.objects.filter(kind=MESSAGES_KIND).count() == 1

    assert mentee_errors == []
    assert mentor_errors == []
