"""The mentorship journey in a real browser: a mentee in Tokyo and her mentor in New York, each in
a browser of their own, book their first meeting from a suggested slot, both put something on the
agenda, the mentee ticks off an action item, both check in after the meeting, and the mentee
closes the mentorship with a thank-you that then shows on the mentor's profile."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from matching.models import Mentorship
from meetings import services
from meetings.models import ActionItem, AgendaItem, CheckIn, Closure, Meeting
from profiles.models import Goal
from tests.browser.helpers import collect_errors, expect_message, field, sign_in
from tests.conftest import PASSWORD, ensure_skills
from tests.matching.conftest import make_mentee, make_mentor

pytestmark = pytest.mark.browser

MENTEE_EMAIL = "mina.mentee@example.org"
MENTOR_EMAIL = "marco.mentor@example.org"
MENTEE_TZ = "Asia/Tokyo"
MENTOR_TZ = "America/New_York"
HOUR = 60
# Tuesday to Thursday mornings in Tokyo and Monday to Wednesday evenings in New York: the same
# hours in UTC (Monday to Wednesday around midnight), in winter time and in summer time alike.
MENTEE_WEEK = [(day, 8 * HOUR, 10 * HOUR) for day in (1, 2, 3)]
MENTOR_WEEK = [(day, 18 * HOUR, 21 * HOUR) for day in (0, 1, 2)]
GOAL = "Negotiate my first senior offer"
MENTEE_AGENDA = "My offer letter: what to push on first"
MENTOR_AGENDA = "Your walk-away number, and why"
ACTION = "Write down my walk-away number"
MENTEE_APPLY = "Ask for the range before naming a number."
MENTOR_APPLY = "Send Mina the counter-offer template."
FEEDBACK = "Marco made time every week; the programme should keep pairs like this."
THANK_YOU = "Thank you, Marco: I asked for 15% more and got it."


@pytest.fixture
def pair(live_server) -> Mentorship:
    """An active mentorship on one of the mentee's goals, between two people who share free time
    each week (so the pair page suggests slots)."""
    ensure_skills()  # the live server's flush may have taken the taxonomy away
    mentee = make_mentee(MENTEE_EMAIL, "Mina Mentee", tz=MENTEE_TZ, goals=0, windows=MENTEE_WEEK)
    mentor = make_mentor(MENTOR_EMAIL, "Marco Mentor", tz=MENTOR_TZ, windows=MENTOR_WEEK)
    goal = Goal.objects.create(owner=mentee, title=GOAL)
    pair = Mentorship.objects.create(mentor=mentor, mentee=mentee, cadence="weekly")
    pair.goals.set([goal])
    return pair


def open_as(page: Page, url: str, email: str) -> None:
    """Open a page that needs a sign-in: the login form comes first, then the page itself."""
    page.goto(url)
    sign_in(page, email, PASSWORD)


def meeting_card(page: Page, meeting: Meeting) -> Locator:
    return page.locator(f"#meeting-{meeting.pk}")


def add_to_agenda(page: Page, meeting: Meeting, text: str) -> None:
    card = meeting_card(page, meeting)
    card.get_by_label("Add to the agenda").fill(text)
    card.get_by_role("button", name="Add", exact=True).click()
    expect(card.get_by_role("listitem").filter(has_text=text)).to_have_count(1)


def check_in(page: Page, meeting: Meeting, *, rating: int, apply: str, good_fit: str) -> None:
    card = meeting_card(page, meeting)
    card.get_by_role("group", name="How useful was this meeting?").get_by_label(
        str(rating), exact=True
    ).check()
    card.get_by_label("What I will apply").fill(apply)
    card.get_by_role("group", name="Is this a good fit?").get_by_label(good_fit).check()
    card.get_by_role("button", name="Check in").click()
    expect_message(page, "Thanks for checking in.")
    expect(meeting_card(page, meeting)).to_contain_text(f"You checked in: {rating}/5 · “{apply}”")
    expect(card.get_by_role("button", name="Check in")).to_have_count(0)


def action_items(page: Page) -> Locator:
    return page.get_by_role("region", name="Action items")


def test_a_pair_meets_checks_in_and_closes_with_a_thank_you_on_the_mentors_profile(
    page: Page, new_context, pair: Mentorship
) -> None:
    mentee, mentor = pair.mentee, pair.mentor
    pair_url = reverse("meetings:pair", args=[pair.pk])
    mentee_page = page
    mentee_errors = collect_errors(mentee_page)
    mentor_page = new_context().new_page()
    mentor_errors = collect_errors(mentor_page)

    # Both sign in on the way to their shared page.
    open_as(mentee_page, pair_url, MENTEE_EMAIL)
    expect(mentee_page.get_by_role("heading", name="Mentored by Marco Mentor")).to_be_visible()
    expect(mentee_page.locator("#pair-status")).to_have_text("Active")
    plan = mentee_page.get_by_role("region", name="The plan")
    expect(plan.get_by_role("heading", name=GOAL)).to_be_visible()
    open_as(mentor_page, pair_url, MENTOR_EMAIL)
    expect(mentor_page.get_by_role("heading", name="Mentoring Mina Mentee")).to_be_visible()
    expect(mentor_page.get_by_text("No meeting planned.")).to_be_visible()

    # Plan a meeting: the times both are free, in the mentee's own zone; she books the first.
    slots = services.suggested_starts(pair)
    assert slots, "the two weeks overlap, so there are suggested slots"
    first = services.when_label(Meeting(starts_at=slots[0].start, duration_minutes=60), mentee)
    assert first.endswith(f"({MENTEE_TZ})"), first
    schedule = mentee_page.locator("#schedule")
    expect(schedule.get_by_text("Times you are both free (your time):")).to_be_visible()
    books = schedule.get_by_role("button", name=re.compile(r"^Book "))
    expect(books).to_have_count(len(slots))
    expect(books.first).to_have_text(f"Book {first}")
    books.first.click()
    expect_message(mentee_page, "Meeting scheduled. We told the other person and will remind")
    meeting = Meeting.objects.get(mentorship=pair)
    assert (meeting.starts_at, meeting.duration_minutes, meeting.created_by_id) == (
        slots[0].start,
        60,
        mentee.pk,
    )
    expect(meeting_card(mentee_page, meeting).get_by_role("heading", level=3)).to_have_text(
        f"Next: {first}"
    )
    # Booked, it is no longer offered.
    expect(schedule.get_by_role("button", name=f"Book {first}")).to_have_count(0)

    # Both add to the agenda; the mentor sees the meeting in his own zone.
    add_to_agenda(mentee_page, meeting, MENTEE_AGENDA)
    mentor_page.reload()
    expect(meeting_card(mentor_page, meeting).get_by_role("heading", level=3)).to_have_text(
        f"Next: {services.when_label(meeting, mentor)}"
    )
    expect(meeting_card(mentor_page, meeting)).to_contain_text(f"({MENTOR_TZ})")
    expect(meeting_card(mentor_page, meeting)).to_contain_text(MENTEE_AGENDA)
    add_to_agenda(mentor_page, meeting, MENTOR_AGENDA)
    mentee_page.reload()
    expect(
        meeting_card(mentee_page, meeting).locator("ul").first.get_by_role("listitem")
    ).to_have_text([f"{MENTEE_AGENDA} · Mina", f"{MENTOR_AGENDA} · Marco"])
    assert list(
        AgendaItem.objects.filter(meeting=meeting).order_by("pk").values_list("author_id", "text")
    ) == [(mentee.pk, MENTEE_AGENDA), (mentor.pk, MENTOR_AGENDA)]

    # An action item for the mentee, which she then ticks off.
    actions = action_items(mentee_page)
    actions.get_by_label("New action item").fill(ACTION)
    actions.get_by_label("Who").select_option(label="Mina Mentee")
    actions.get_by_role("button", name="Add the action item").click()
    actions = action_items(mentee_page)
    expect(actions.get_by_role("listitem").filter(has_text=ACTION)).to_contain_text("· Mina")
    item = ActionItem.objects.get(mentorship=pair)
    assert (item.owner_id, item.text, item.done) == (mentee.pk, ACTION, False)
    actions.get_by_role("button", name=f"Mark “{ACTION}” done").click()
    actions = action_items(mentee_page)
    expect(actions.get_by_role("button", name=f"Reopen “{ACTION}”")).to_be_visible()
    expect(actions.locator("li.done s")).to_have_text(ACTION)
    expect(actions.get_by_text("No open action items.")).to_be_visible()
    item.refresh_from_db()
    assert item.done and item.done_at is not None
    expect(mentee_page.get_by_role("region", name="Timeline")).to_contain_text(f"Done: {ACTION}")

    # The meeting takes place: two hours ago, as far as the page knows.
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() - timedelta(hours=2))
    meeting.refresh_from_db()
    for who, reader in ((mentee_page, mentee), (mentor_page, mentor)):
        who.reload()
        expect(who.get_by_role("heading", name="Past meetings")).to_be_visible()
        expect(who.get_by_text("No meeting planned.")).to_be_visible()
        card = meeting_card(who, meeting)
        expect(card.get_by_role("heading", level=4)).to_have_text(
            services.when_label(meeting, reader)
        )
        expect(card).to_contain_text(f"Agenda: {MENTEE_AGENDA}; {MENTOR_AGENDA}")
        expect(card.get_by_role("group", name="Is this a good fit?")).to_be_visible()

    # Both check in; the mentee says the pair is a good fit.
    check_in(mentee_page, meeting, rating=5, apply=MENTEE_APPLY, good_fit="Yes")
    check_in(mentor_page, meeting, rating=4, apply=MENTOR_APPLY, good_fit="Yes")
    assert sorted(
        CheckIn.objects.filter(meeting=meeting).values_list("author_id", "rating", "good_fit")
    ) == sorted([(mentee.pk, 5, True), (mentor.pk, 4, True)])
    pair.refresh_from_db()
    assert pair.status == Mentorship.Status.ACTIVE

    # The mentee closes the mentorship: how it went, the goal reached, and a thank-you.
    mentee_page.reload()
    mentee_page.get_by_role("link", name="Close the mentorship").click()
    expect(mentee_page.get_by_role("heading", name="Close the mentorship")).to_be_visible()
    mentee_page.get_by_role("radio", name="We reached what we set out to do").check()
    mentee_page.get_by_role("checkbox", name=GOAL).check()
    mentee_page.get_by_label(field("Private feedback for the program")).fill(FEEDBACK)
    mentee_page.get_by_label(field("A thank-you note to your mentor")).fill(THANK_YOU)
    mentee_page.get_by_role("button", name="Close the mentorship").click()
    expect_message(mentee_page, "The mentorship is closed. Thank you both for the time you gave.")
    expect(mentee_page.locator("#pair-status")).to_have_text("Closed")
    closed = mentee_page.get_by_role("region", name=re.compile(r"^Closed "))
    expect(closed).to_contain_text("We reached what we set out to do")
    expect(closed).to_contain_text(THANK_YOU)
    expect(mentee_page.get_by_role("link", name="Close the mentorship")).to_have_count(0)
    closure = Closure.objects.get(mentorship=pair)
    assert (closure.outcome, closure.thank_you, closure.feedback, closure.show_thank_you) == (
        "completed",
        THANK_YOU,
        FEEDBACK,
        True,
    )
    assert Goal.objects.get(title=GOAL).status == Goal.Status.ACHIEVED

    # The thank-you shows on the mentor's profile, to the mentee and to the mentor himself.
    mentee_page.get_by_role("link", name="Marco Mentor's profile").click()
    expect(mentee_page).to_have_url(
        re.compile(re.escape(reverse("profiles:person", args=[mentor.pk])) + "$")
    )
    thanks = mentee_page.get_by_role("region", name="Thank-you notes")
    expect(thanks.locator("blockquote")).to_have_count(1)
    expect(thanks).to_contain_text(f"“{THANK_YOU}”")
    expect(thanks).to_contain_text("Mina Mentee")
    mentor_page.goto(reverse("profiles:person", args=[mentor.pk]))
    expect(mentor_page.get_by_role("region", name="Thank-you notes")).to_contain_text(THANK_YOU)

    assert mentee_errors == []
    assert mentor_errors == []
