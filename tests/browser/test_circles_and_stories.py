"""A cohort's circle, from its setting up to a story on the program's page, in a real browser.

Ada runs the January cohort: Olivia mentors (she knows negotiation well), and Mina, Leo and Theo
want to get better at negotiating. Ada sets up a circle on the cohort's Circles page (a topic, the
Negotiation skill picked in the multi-select, Olivia to lead it, room for two, Tuesdays at
18:00) and forms the circles: Mina and Leo, free on weekday evenings, are proposed with their
reasons, and Theo, free only in the mornings, is left out because the one circle that fits him is
full. Ada publishes after confirming; Mina and Leo become members and get an email each.

Olivia has a session planned for next week and one was held yesterday. Mina, in a browser of her
own, follows the line in her notifications to the circle, joins the next session, puts a question
on its agenda and checks in on the one held. Then she writes her story, naming the cohort, and
submits it; Ada finds it in the cohort's Stories tab and approves it; someone who is not signed in
reads it on the program's stories page.

After every step the test reads what the page says and checks it against the database: the
circle, the proposals and who was left out, the memberships, the notifications and the outbox
(`profiles.models.Email`), the session's answer, agenda and check-in, and the story."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import dateformat, timezone
from playwright.sync_api import Dialog, Locator, Page, expect

from cohorts.models import CircleLeftOut, CircleProposal, Cohort, CohortCircle
from community.models import SessionAnswer, Story
from conversations.models import Notification
from matching.models import Circle, CircleMember
from meetings.models import AgendaItem, CheckIn, Meeting
from meetings.services import schedule_session, when_label
from profiles.models import Email, Goal, Skill, User
from tests.browser.helpers import TIMEOUT_MS, collect_errors, expect_message, field, sign_in
from tests.cohorts.conftest import enrol
from tests.conftest import PASSWORD, ensure_skills, make_person
from tests.matching.conftest import make_mentee, make_mentor

pytestmark = pytest.mark.browser

COHORT = "January mentoring month"
SLUG = "january"
ADMIN = ("ada.admin@example.org", "Ada Admin")
FACILITATOR = ("olivia.okafor@example.org", "Olivia Okafor")  # negotiation 5, speaks "en"
MINA = ("mina.moreau@example.org", "Mina Moreau")
LEO = ("leo.larsen@example.org", "Leo Larsen")
THEO = ("theo.thompson@example.org", "Theo Thompson")
MORNINGS = [(day, 8 * 60, 10 * 60) for day in range(5)]  # Theo's only free time, in UTC
SKILL = "Negotiation"
TOPIC = "Salary negotiation practice"
PLACED = "cohorts/circle_placed"
PLACED_LINE = f"{COHORT}: you are in the “{TOPIC}” circle"
# Mina and Leo fit the circle fully: its one skill is their goal's, Olivia knows it at level 5,
# and Tuesdays 18:00-19:00 UTC falls in their weekday evenings.
REASONS = (
    "Works on 1 of your 1 goal skills; The facilitator knows your goal skills well; "
    "It meets when you said you are free"
)
LEFT_OUT = f"The circles that fit you are full: {TOPIC}."
AGENDA = "How do I answer “what are your salary expectations?”"
APPLY = "Name a range first, and anchor it on the market data"
STORY_TITLE = "From dreading the salary talk to leading it"
STORY_BODY = (
    "I joined the January cohort afraid of any talk about money. In Olivia's circle we "
    "practised one question a week, and last month I asked for a raise and got it."
)
REVIEW_NOTE = "Thank you, Mina: published as you wrote it."


@pytest.fixture
def server(live_server, settings) -> str:
    """The live server, with emails that keep their text once sent."""
    settings.EMAIL_KEEP_SENT_BODIES = True
    ensure_skills()  # a live-server test flushes every table when it ends, the taxonomy too
    return live_server.url


def mentee(person: tuple[str, str], skill: Skill, **kwargs) -> User:
    """A mentee (languages ["en"]) whose one open goal is to get better at this skill."""
    email, name = person
    user = make_mentee(email, name, goals=0, **kwargs)
    Goal.objects.create(owner=user, title=f"Get better at {skill.name.lower()}").skills.set([skill])
    return user


def seed() -> Cohort:
    admin = make_person(ADMIN[0], name=ADMIN[1])
    cohort = Cohort.objects.create(name=COHORT, slug=SLUG, description="A month of mentoring.")
    cohort.admins.add(admin)
    enrol(cohort, make_mentor(*FACILITATOR), "mentor")
    skill = Skill.objects.get(name=SKILL)
    for person in (MINA, LEO):
        enrol(cohort, mentee(person, skill), "mentee")
    enrol(cohort, mentee(THEO, skill, windows=MORNINGS), "mentee")
    return cohort


def user(person: tuple[str, str]) -> User:
    return User.objects.get(email=person[0])


# --- What Ada reads on the Circles page ------------------------------------------------------


def circle_card(page: Page, circle: Circle) -> Locator:
    return page.locator(f"#circle-{circle.pk}")


def seat_rows(page: Page, circle: Circle) -> Locator:
    return circle_card(page, circle).locator("tbody").get_by_role("row")


def expect_seats(page: Page, circle: Circle, state: str) -> None:
    """The circle's table lists Mina then Leo (equal fit, in the order they joined), each with
    the full fit, the reasons and this state; as the proposals in the database say."""
    rows = seat_rows(page, circle)
    expect(rows).to_have_count(2)
    for row, name in zip(rows.all(), (MINA[1], LEO[1]), strict=True):
        expect(row.get_by_role("cell")).to_have_text([name, "100/100", REASONS, state])
    proposals = CircleProposal.objects.filter(circle=circle).order_by("-score", "pk")
    assert [(p.user.name, p.score) for p in proposals] == [(MINA[1], 1.0), (LEO[1], 1.0)]
    assert all("; ".join(p.reasons) == REASONS for p in proposals)
    assert all((p.published_at is not None) == (state == "Member") for p in proposals)


def expect_left_out(page: Page, cohort: Cohort) -> None:
    section = page.get_by_role("region", name="Not placed, and why")
    expect(section.get_by_role("listitem")).to_have_text([f"{THEO[1]}: {LEFT_OUT}"])
    assert list(CircleLeftOut.objects.filter(cohort=cohort).values_list("user", "reason")) == [
        (user(THEO).pk, LEFT_OUT)
    ]


# --- The test ---------------------------------------------------------------------------------


def test_an_admin_forms_a_circle_a_member_takes_part_and_her_story_is_published(
    page: Page, server: str, new_context
) -> None:
    cohort = seed()
    admin_errors = collect_errors(page)

    # Ada signs in on the cohort's Circles page: no circle yet.
    page.goto(reverse("cohorts:circles", args=[SLUG]))
    sign_in(page, ADMIN[0], PASSWORD)
    expect(page.get_by_role("heading", name=COHORT, level=1)).to_be_visible()
    expect(page.get_by_text("No circles yet.")).to_be_visible()
    expect(page.get_by_role("button", name="Form the circles")).to_have_count(0)

    # She sets up the circle: Olivia leads it on Negotiation, two members, Tuesdays at 18:00.
    setup = page.get_by_role("region", name="Set up a circle")
    setup.get_by_label(field("Topic")).fill(TOPIC)
    setup.get_by_label(field("Skills")).select_option(label=SKILL)
    setup.get_by_label(field("Facilitator")).select_option(label=FACILITATOR[1])
    setup.get_by_label(field("Kind")).select_option(label="Led by a mentor")
    setup.get_by_label(field("Size")).fill("2")
    setup.get_by_label(field("Meets every")).select_option(label="Tuesday")
    setup.get_by_label(field("At (the facilitator's time zone)")).fill("18:00")
    setup.get_by_label(field("For")).select_option(label="1 hour")
    setup.get_by_role("button", name="Set up the circle").click()
    expect_message(page, "The circle is set up.")
    circle = Circle.objects.get()
    assert (circle.topic, circle.facilitator, circle.kind, circle.joining) == (
        TOPIC,
        user(FACILITATOR),
        Circle.Kind.MENTOR,
        Circle.Joining.FORMED,
    )
    assert (circle.size, circle.weekday, circle.start_minute, circle.duration_minutes) == (
        2,
        1,
        18 * 60,
        60,
    )
    assert circle.zone == "UTC"
    assert [s.name for s in circle.skills.all()] == [SKILL]
    assert CohortCircle.objects.get(circle=circle).cohort == cohort
    card = circle_card(page, circle)
    expect(card.get_by_role("heading", level=2)).to_have_text(TOPIC)
    expect(card.locator(".badge")).to_have_text("0 of 2 members")
    expect(card).to_contain_text(f"Led by a mentor, facilitated by {FACILITATOR[1]} · {SKILL}")
    expect(card).to_contain_text("Nobody proposed yet.")

    # She forms the circles: Mina and Leo are proposed with their reasons; Theo is left out.
    page.get_by_role("button", name="Form the circles").click()
    expect_message(page, "2 placed, 1 left out: review, then publish.")
    expect_seats(page, circle, "Proposed")
    expect_left_out(page, cohort)
    assert not CircleMember.objects.exists()
    assert not Email.objects.filter(kind=PLACED).exists()

    # She publishes, after confirming: the two become members, and each is told once.
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Publish 2 seats").click()
    expect_message(page, "Published: 2 people joined their circle.")
    assert asked == ["Publish 2 seats? Each person is told, and joins their circle."]
    expect_seats(page, circle, "Member")
    expect(card.locator(".badge")).to_have_text("2 of 2 members")
    expect(page.get_by_role("button", name=re.compile(r"^Publish"))).to_have_count(0)
    expect_left_out(page, cohort)
    members = CircleMember.objects.filter(circle=circle, status=CircleMember.Status.ACTIVE)
    assert sorted(members.values_list("user__name", flat=True)) == sorted([MINA[1], LEO[1]])
    assert CircleMember.objects.count() == 2
    placed = list(Email.objects.filter(kind=PLACED))
    assert sorted(e.to[0] for e in placed) == sorted([MINA[0], LEO[0]])
    assert all(len(e.to) == 1 and e.subject == PLACED_LINE for e in placed)
    for email in placed:
        assert f"{server}{reverse('community:circle', args=[circle.pk])}" in email.body_text
    assert sorted(
        Notification.objects.filter(text=PLACED_LINE).values_list("user__name", flat=True)
    ) == sorted([MINA[1], LEO[1]])

    # Olivia has planned next week's session; yesterday's was held.
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    ahead = schedule_session(
        circle,
        user(FACILITATOR),
        starts_at=hour + timedelta(days=7),
        duration=60,
        place="Video call",
    )
    held = Meeting.objects.create(circle=circle, starts_at=hour - timedelta(days=1))

    # Mina, in a browser of her own, follows the line in her feed to the circle.
    mina = user(MINA)
    member = new_context().new_page()
    member.set_default_timeout(TIMEOUT_MS)
    member_errors = collect_errors(member)
    member.goto(reverse("conversations:notifications"))
    sign_in(member, MINA[0], PASSWORD)
    expect(member.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    member.get_by_role("link", name=PLACED_LINE, exact=True).click()
    expect(member.get_by_role("heading", name=TOPIC, level=1)).to_be_visible()
    assert member.url.endswith(reverse("community:circle", args=[circle.pk])), member.url
    expect(member.get_by_role("region", name="Members (2)").get_by_role("listitem")).to_have_text(
        [f"{MINA[1]} (you)", LEO[1]]
    )

    # She joins the next session.
    session = member.locator(f"#session-{ahead.pk}")
    expect(session.get_by_role("heading", level=3)).to_have_text(when_label(ahead, mina))
    expect(session).to_contain_text("Video call · 0 coming")
    session.get_by_role("button", name="Join this session").click()
    expect_message(member, "See you there.")
    expect(session.get_by_text("You are coming", exact=True)).to_be_visible()
    expect(session).to_contain_text("Video call · 1 coming")
    expect(session.get_by_role("button", name="Join this session")).to_have_count(0)
    answer = SessionAnswer.objects.get()
    assert (answer.meeting, answer.user, answer.going) == (ahead, mina, True)

    # She puts her question on its agenda.
    expect(session.get_by_role("listitem")).to_have_text(["Nothing yet."])
    session.get_by_label("Add to the agenda", exact=True).fill(AGENDA)
    session.get_by_role("button", name="Add", exact=True).click()
    expect_message(member, "Added to the agenda.")
    expect(session.get_by_role("listitem")).to_have_text([f"{AGENDA} (Mina)"])
    item = AgendaItem.objects.get()
    assert (item.meeting, item.author, item.text) == (ahead, mina, AGENDA)

    # She checks in on yesterday's session.
    done = member.locator(f"#session-{held.pk}")
    expect(member.get_by_role("region", name="Sessions held").locator("article")).to_have_count(1)
    expect(done.get_by_role("heading", level=3)).to_have_text(when_label(held, mina))
    expect(done).to_contain_text("0 check-ins")
    done.get_by_role("group", name="How useful was this session?").get_by_label(
        "5", exact=True
    ).check()
    done.get_by_label("What I will apply", exact=True).fill(APPLY)
    done.get_by_role("button", name="Check in").click()
    expect_message(member, "Thank you for checking in.")
    expect(done.get_by_text(f"You checked in: 5/5 · “{APPLY}”", exact=True)).to_be_visible()
    expect(done).to_contain_text("1 check-in")
    expect(done.get_by_role("button", name="Check in")).to_have_count(0)
    check_in = CheckIn.objects.get()
    assert (check_in.meeting, check_in.author, check_in.rating, check_in.apply) == (
        held,
        mina,
        5,
        APPLY,
    )

    # She shares her story from the program's stories page, naming the cohort, and submits it.
    member.goto(reverse("community:stories"))
    expect(member.get_by_text("No stories yet.")).to_be_visible()
    member.get_by_role("link", name="Share your story").click()
    expect(member.get_by_role("heading", name="Share your mentoring story")).to_be_visible()
    member.get_by_label(field("Title")).fill(STORY_TITLE)
    member.get_by_label(field("Your story")).fill(STORY_BODY)
    member.get_by_label(field("Where it happened")).select_option(label=COHORT)
    member.get_by_role("button", name="Submit for review").click()
    expect_message(member, "Your story is sent for review.")
    expect(member.get_by_role("heading", name=STORY_TITLE, level=1)).to_be_visible()
    expect(member.locator("#story-status")).to_have_text("Waiting for review")
    expect(member.get_by_text("Waiting for the program's review.")).to_be_visible()
    story = Story.objects.get()
    assert (story.author, story.cohort, story.status) == (mina, cohort, Story.Status.SUBMITTED)
    assert (story.title, story.body, story.quote) == (STORY_TITLE, STORY_BODY, None)
    assert story.submitted_at is not None and story.published_at is None

    # Ada finds it in the cohort's Stories tab, opens it and approves it with a note.
    page.get_by_role("navigation", name=COHORT).get_by_role("link", name="Stories").click()
    waiting = page.get_by_role("region", name="Waiting for review")
    expect(waiting.get_by_role("listitem")).to_have_count(1)
    expect(waiting.get_by_role("listitem")).to_contain_text(f"by {MINA[1]}")
    expect(page.get_by_role("region", name="Published", exact=True)).to_contain_text(
        "No published stories yet."
    )
    waiting.get_by_role("link", name=STORY_TITLE).click()
    expect(page.get_by_role("heading", name=STORY_TITLE, level=1)).to_be_visible()
    expect(page.locator("#story-status")).to_have_text("Waiting for review")
    expect(page.get_by_text(f"By {MINA[1]} · {COHORT}", exact=True)).to_be_visible()
    review = page.get_by_role("region", name="Review", exact=True)
    review.get_by_label(field("A note to the author")).fill(REVIEW_NOTE)
    review.get_by_role("button", name="Approve and publish").click()
    expect_message(page, "Published.")
    expect(page.get_by_role("region", name="Review", exact=True)).to_have_count(0)
    expect(page.locator("#story-status")).to_have_count(0)
    story.refresh_from_db()
    assert (story.status, story.reviewed_by, story.review_note) == (
        Story.Status.APPROVED,
        user(ADMIN),
        REVIEW_NOTE,
    )
    assert story.published_at is not None
    assert Notification.objects.filter(
        user=mina, text=f"Your story “{STORY_TITLE}” is published"
    ).exists()

    # Someone who is not signed in reads it on the program's stories page.
    reader = new_context().new_page()
    reader.set_default_timeout(TIMEOUT_MS)
    reader_errors = collect_errors(reader)
    reader.goto(reverse("community:stories"))
    expect(reader.get_by_role("heading", name="Mentoring stories", level=1)).to_be_visible()
    expect(reader.get_by_role("button", name="Sign out")).to_have_count(0)
    cards = reader.locator(".story-card")
    expect(cards).to_have_count(1)
    published_on = dateformat.format(timezone.localtime(story.published_at), "j F Y")
    expect(cards.get_by_role("heading", level=2)).to_have_text(STORY_TITLE)
    expect(cards).to_contain_text(f"By {MINA[1]} · {COHORT} · {published_on}")
    expect(cards.locator(".prose")).to_have_text(STORY_BODY)
    cards.get_by_role("link", name=STORY_TITLE).click()
    expect(reader.get_by_role("heading", name=STORY_TITLE, level=1)).to_be_visible()
    expect(reader.locator(".prose")).to_have_text(STORY_BODY)
    assert list(Story.objects.published()) == [story]

    assert admin_errors == []
    assert member_errors == []
    assert reader_errors == []
