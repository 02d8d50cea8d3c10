"""Every main page of the mentee's, the mentor's and the cohort admin's journeys, at a desktop and
a phone width, has no serious or critical accessibility violation that axe-core finds. Each page
is also saved as a full-page screenshot under test-artifacts/screenshots/ (kept by CI), so a
reviewer can look at them: <role>-<page>-<width>.png."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from cohorts.models import Cohort, CohortCircle, Enrollment, MatchRun
from cohorts.tasks import run_matching
from community import actions as community
from conversations import actions as conversations
from matching.models import Circle, CircleMember, MentorRequest, Mentorship
from meetings.models import Meeting
from tests.browser.helpers import collect_errors, sign_in
from tests.conftest import PASSWORD, ensure_skills, make_person
from tests.matching.conftest import make_mentee, make_mentor, send

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIDTHS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}
BLOCKING = {"serious", "critical"}
AXE = Axe()

MENTEE = "mina.mentee@example.org"
MENTOR = "marco.mentor@example.org"
OTHER_MENTOR = "nora.mentor@example.org"
FREE_MENTOR = "olga.mentor@example.org"
OTHER_MENTEE = "theo.mentee@example.org"
ADMIN = "ada.admin@example.org"
SLUG = "january"


def seed() -> dict[str, int]:
    """Mina (mentee) is mentored by Marco, with a meeting behind them and one ahead, and has asked
    Nora for help too; Theo has asked Marco; Olga has room for a mentee. Ada runs a cohort of Mina,
    Theo, Marco and Nora, matched once."""
    ensure_skills()  # the live server's flush may have taken the taxonomy away
    mina = make_mentee(MENTEE, "Mina Mentee", goals=2)
    theo = make_mentee(OTHER_MENTEE, "Theo Thompson")
    marco = make_mentor(MENTOR, "Marco Mentor")
    nora = make_mentor(OTHER_MENTOR, "Nora Nakamura")
    make_mentor(FREE_MENTOR, "Olga Okafor")  # so that Find a mentor has someone to show
    pair = Mentorship.objects.create(mentor=marco, mentee=mina, cadence="weekly")
    pair.goals.set(mina.goals.all()[:1])
    now = timezone.now()
    for days in (-7, 7):
        Meeting.objects.create(
            mentorship=pair, starts_at=now + timedelta(days=days), created_by=mina
        )
    sent = send(mina, nora, goals=list(mina.goals.all()[1:]))
    received = send(theo, marco)
    # Conversations with something in them: the pair's, edited, and a request's, unread.
    said = conversations.post_message(
        thread=conversations.thread_for(mentorship=pair), author=marco, body="See you **soon**."
    )
    conversations.edit_message(message=said, by=marco, body="See you on *Tuesday*.")
    conversations.post_message(
        thread=conversations.thread_for(request=sent), author=mina, body="One question first?"
    )

    admin = make_person(ADMIN, name="Ada Admin")
    cohort = Cohort.objects.create(
        name="January mentoring month", slug=SLUG, description="A month of career mentoring."
    )
    cohort.admins.add(admin)
    Enrollment.objects.bulk_create(
        Enrollment(cohort=cohort, email=user.email, user=user, role=role, status="joined")
        for user, role in ((mina, "mentee"), (theo, "mentee"), (marco, "mentor"), (nora, "mentor"))
    )
    run = MatchRun.objects.create(cohort=cohort, created_by=admin)
    run_matching(run.pk)
    assert MentorRequest.objects.count() == 2
    # A circle Mina is in, with a session ahead; a workshop; a published story.
    circle = Circle.objects.create(
        topic="Negotiation practice", facilitator=marco, weekday=1, start_minute=18 * 60
    )
    CohortCircle.objects.create(cohort=cohort, circle=circle)
    CircleMember.objects.create(circle=circle, user=mina, status="active", joined_at=now)
    Meeting.objects.create(circle=circle, starts_at=now + timedelta(days=2), place="Video call")
    event = community.plan_event(
        organiser=admin,
        cohort=cohort,
        title="Feedback workshop",
        description="Bring **one** question.",
        starts_at=now + timedelta(days=5),
        duration_minutes=90,
        capacity=10,
        place="Room 4",
    )
    community.rsvp(event=event, user=mina)
    story = community.write_story(
        author=mina, title="A month that changed my plans", body="It worked.", cohort=cohort
    )
    community.submit_story(story=story, by=mina)
    community.review_story(story=story, by=admin, approve=True)
    return {
        "pair": pair.pk,
        "nora": nora.pk,
        "sent": sent.pk,
        "received": received.pk,
        "circle": circle.pk,
        "event": event.pk,
        "story": story.pk,
    }


def journeys(ids: dict[str, int]) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Each role's email and main pages, as (name, url)."""
    return {
        "mentee": (
            MENTEE,
            [
                ("dashboard", reverse("home")),
                ("find-a-mentor", reverse("matching:find")),
                ("mentor", reverse("matching:mentor", args=[ids["nora"]])),
                ("request-form", reverse("matching:new-request", args=[ids["nora"]])),
                ("requests-sent", reverse("matching:requests") + "?box=sent"),
                ("request", reverse("matching:request", args=[ids["sent"]])),
                ("pair", reverse("meetings:pair", args=[ids["pair"]])),
                ("profile", reverse("profiles:me")),
                ("edit-profile", reverse("profiles:edit")),
                ("goals", reverse("profiles:goals")),
                ("availability", reverse("profiles:availability")),
                ("notifications", reverse("conversations:notifications")),
                ("calendar", reverse("meetings:calendar")),
                ("circles", reverse("community:circles")),
                ("circle", reverse("community:circle", args=[ids["circle"]])),
                ("events", reverse("community:events")),
                ("event", reverse("community:event", args=[ids["event"]])),
                ("stories", reverse("community:stories")),
                ("story", reverse("community:story", args=[ids["story"]])),
                ("story-form", reverse("community:story-new")),
            ],
        ),
        "mentor": (
            MENTOR,
            [
                ("dashboard", reverse("home")),
                ("requests-received", reverse("matching:requests") + "?box=received"),
                ("request", reverse("matching:request", args=[ids["received"]])),
                ("offer", reverse("profiles:offer")),
                ("pair", reverse("meetings:pair", args=[ids["pair"]])),
                ("impact", reverse("meetings:impact")),
                ("notifications", reverse("conversations:notifications")),
            ],
        ),
        "admin": (
            ADMIN,
            [
                ("dashboard", reverse("home")),
                ("cohorts", reverse("cohorts:list")),
                ("cohort", reverse("cohorts:detail", args=[SLUG])),
                ("people", reverse("cohorts:people", args=[SLUG])),
                ("import", reverse("cohorts:import", args=[SLUG])),
                ("review", reverse("cohorts:review", args=[SLUG])),
                ("health", reverse("cohorts:health", args=[SLUG])),
                ("announcements", reverse("cohorts:announcements", args=[SLUG])),
                ("circles", reverse("cohorts:circles", args=[SLUG])),
                ("event-form", reverse("community:event-new")),
                ("stories-review", reverse("community:review-queue") + f"?cohort={SLUG}"),
                ("settings", reverse("cohorts:edit", args=[SLUG])),
            ],
        ),
    }


def blocking_violations(page: Page, name: str) -> list[str]:
    """axe-core's serious and critical findings on the page, one line per element."""
    results = AXE.run(page)
    assert results.response["testEngine"]["name"] == "axe-core"
    return [
        f"{name}: {violation['id']} ({violation['impact']}) at {node['target']}: "
        f"{violation['help']}"
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING
        for node in violation["nodes"]
    ]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("role", ["mentee", "mentor", "admin"])
def test_every_main_page_has_no_serious_accessibility_violation_and_is_photographed(
    new_context, live_server, role: str, width: int
) -> None:
    email, pages = journeys(seed())[role]
    page = new_context(viewport=WIDTHS[width]).new_page()
    errors = collect_errors(page)
    page.goto(reverse("account_login"))
    sign_in(page, email, PASSWORD)
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    found: list[str] = []
    for name, url in pages:
        response = page.goto(url)
        assert response is not None and response.ok, f"{role} {name}: {url} answered badly"
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        page.screenshot(path=SCREENSHOTS / f"{role}-{name}-{width}.png", full_page=True)
        found += blocking_violations(page, f"{role} {name} at {width}px ({url})")
    assert found == [], "\n".join(found)
    assert errors == []
