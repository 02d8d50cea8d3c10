"""A cohort from import to its second publishing, in a real browser, as its admin sees it.

Seven people have joined already (three mentors, four mentees). The admin imports three more
from a CSV (the first file has one bad row and imports nothing), invites a mentor who has an
account, and resends one invitation. Two newcomers join through the link in their invitation,
choosing a password; one declines. Matching pairs the six mentees who joined; the admin removes
one pair and swaps the mentors of two others, and publishes after a confirmation. The invited
mentor joins, a re-run places only the mentee left out, and a second publishing introduces that
one new pair.

After every step the test reads what the page says (the roster's figures, the review's header,
the not-matched list, the confirmation, the badges) and checks it against the database: the
enrollments, runs, proposals, rules, mentorships and the outbox (`profiles.models.Email`)."""

import csv
import re
from collections import Counter
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import BrowserContext, Locator, Page, expect

from cohorts.models import Cohort, Enrollment, MatchRun, PairRule, Placement, Proposal, Unmatched
from matching.models import Introduction, Mentorship
from profiles.models import Email, Expertise, Goal, Skill, User
from tests.browser.helpers import TIMEOUT_MS, collect_errors, expect_message, field, sign_in
from tests.conftest import PASSWORD, ensure_skills, make_person
from tests.matching.conftest import make_mentee, make_mentor

pytestmark = pytest.mark.browser

COHORT = "January mentoring month"
SLUG = "january"
ADMIN_EMAIL = "ada.admin@example.org"
INVITATION = "cohorts/invitation"
INTRODUCTION = "matching/introduction"
ONLY_JOINED = "Only people who joined are matched."

# Mentors, with what they teach (level 1-5). Olivia teaches data, Nikos careers, and Priya a bit
# of both, so the best assignment is plain: data mentees go to Olivia, career ones to Nikos, and
# Priya takes the one of each who loses least by it (Erin and Theo, whose skills she has).
OLIVIA = ("olivia.okafor@example.org", "Olivia Okafor", {"python": 5, "sql": 5, "data-analysis": 5})
NIKOS = ("nikos.nakamura@example.org", "Nikos Nakamura", {"negotiation": 5, "job-search": 5})
PRIYA = (
    "priya.patel@example.org",
    "Priya Patel",
    {"python": 4, "data-analysis": 4, "negotiation": 4},
)
# Invited later (she has an account and a password already); she joins after the first publish.
ZARA = (
    "zara.zhou@example.org",
    "Zara Zhou",
    {"python": 4, "sql": 4, "data-analysis": 4, "negotiation": 4, "job-search": 4},
)
MENTEES = [
    ("mina.moreau@example.org", "Mina Moreau", ["python", "sql"], "Automate my SQL reports"),
    ("leo.larsen@example.org", "Leo Larsen", ["data-analysis", "sql"], "Read our sales data"),
    ("theo.thompson@example.org", "Theo Thompson", ["negotiation"], "Negotiate my first raise"),
    ("jade.jensen@example.org", "Jade Jensen", ["job-search", "negotiation"], "Land a PM role"),
]
# The CSV's people: all new, so each gets an account without a password and an invitation.
ERIN = ("erin.evans@example.org", "Erin Evans", "python;data-analysis", "Build a sales dashboard")
FINN = ("finn.fischer@example.org", "Finn Fischer", "job-search;negotiation", "Find a remote job")
DORA = ("dora.diaz@example.org", "Dora Diaz", "negotiation", "Ask for a promotion")
CSV_PEOPLE = [ERIN, FINN, DORA]
HEADER = [
    "email",
    "name",
    "role",
    "timezone",
    "languages",
    "skills",
    "goal",
    "capacity",
    "availability",
    "organisation",
    "department",
    "years_experience",
]
EVENINGS = ";".join(f"{day} 18:00-21:00" for day in ("Mon", "Tue", "Wed", "Thu", "Fri"))
BAD_ROW = 3  # spreadsheet numbering: the header is row 1, so this is Finn
BAD_TIMEZONE = "Etc/UTC+"

# The review's header; plain groups, as the browser reads the pattern too. In order: mentees
# matched, mentees, share, pairs, mean score, pairs published.
FIGURES = re.compile(
    r"^(\d+) of (\d+) mentees matched \((\d+)%\), (\d+) pairs?, mean score (\d+)/100"
    r"(?: · (\d+) published)?\.$"
)
FIGURE_NAMES = ("matched", "mentees", "share", "pairs", "mean", "published")


@pytest.fixture
def server(live_server, settings) -> str:
    """The live server, with emails that keep their text once sent (to read the links in them)
    and links that point at it."""
    settings.EMAIL_KEEP_SENT_BODIES = True
    settings.SITE_URL = live_server.url
    ensure_skills()  # a live-server test flushes every table when it ends, the taxonomy too
    return live_server.url


def person(mentor: tuple[str, str, dict[str, int]], *, capacity: int = 2) -> User:
    email, name, teaches = mentor
    user = make_mentor(email, name, capacity=capacity)
    Expertise.objects.filter(user=user).delete()
    skills = {skill.slug: skill for skill in Skill.objects.filter(slug__in=teaches)}
    Expertise.objects.bulk_create(
        Expertise(user=user, skill=skills[slug], level=level) for slug, level in teaches.items()
    )
    return user


def seed() -> Cohort:
    """Ada's cohort, with three mentors (two mentees each) and four mentees who have joined, and
    Zara, who has an account but is not in the cohort yet."""
    admin = make_person(ADMIN_EMAIL, name="Ada Admin")
    cohort = Cohort.objects.create(
        name=COHORT, slug=SLUG, description="A month of data and career mentoring."
    )
    cohort.admins.add(admin)
    people = [(person(mentor), Enrollment.Role.MENTOR) for mentor in (OLIVIA, NIKOS, PRIYA)]
    for email, name, skills, goal in MENTEES:
        user = make_mentee(email, name, goals=0)
        Goal.objects.create(owner=user, title=goal).skills.set(
            Skill.objects.filter(slug__in=skills)
        )
        people.append((user, Enrollment.Role.MENTEE))
    Enrollment.objects.bulk_create(
        Enrollment(cohort=cohort, email=user.email, user=user, role=role, status="joined")
        for user, role in people
    )
    person(ZARA)
    return cohort


def people_csv(path: Path, *, bad: bool) -> Path:
    """The three new people; with bad, Finn's time zone (row BAD_ROW) is one that does not
    exist."""
    rows = [
        [email, name, "mentee", "UTC", "en", skills, goal, "", EVENINGS, "Contoso", "Sales", "2"]
        for email, name, skills, goal in CSV_PEOPLE
    ]
    if bad:
        rows[BAD_ROW - 2][HEADER.index("timezone")] = BAD_TIMEZONE
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


# --- What the admin reads -------------------------------------------------------------------


def cohort_tab(page: Page, name: str) -> None:
    page.get_by_role("navigation", name=COHORT).get_by_role("link", name=name, exact=True).click()


def expect_roster(page: Page, cohort: Cohort, *, invited: int, joined: int, declined: int) -> None:
    """The roster's figures, and the enrollments behind them."""
    expect(page.locator("#roster-figures")).to_have_text(
        f"{invited} invited, {joined} joined, {declined} declined. {ONLY_JOINED}"
    )
    statuses = Counter(cohort.enrollments.values_list("status", flat=True))
    assert statuses == +Counter(invited=invited, joined=joined, declined=declined)


def roster_badge(page: Page, email: str) -> Locator:
    return page.get_by_role("row").filter(has_text=email).locator(".badge")


def proposal_rows(page: Page) -> Locator:
    return page.locator("table.proposals tbody").get_by_role("row")


def proposal_row(page: Page, mentee: str) -> Locator:
    """A mentee's row in the proposals (one mentor per mentee in this cohort)."""
    return proposal_rows(page).filter(has=page.get_by_role("cell", name=mentee, exact=True))


def latest_run(cohort: Cohort) -> MatchRun:
    return cohort.runs.order_by("-created_at", "-pk").first()


def pairs_of(run: MatchRun) -> set[tuple[str, str]]:
    return set(run.proposals.values_list("mentee__name", "mentor__name"))


def expect_review(
    page: Page, cohort: Cohort, *, matched: int, mentees: int, pairs: int, published: int = 0
) -> int:
    """The review's header says these counts, they are the latest run's proposals in the
    database, and the table lists exactly those pairs. Returns the mean score shown (0-100),
    which is checked against the proposals' scores."""
    header = page.locator("#review-figures")
    expect(header).to_have_text(FIGURES)
    shown = FIGURES.match(header.inner_text().strip())
    assert shown is not None
    figures = {
        name: int(value or 0) for name, value in zip(FIGURE_NAMES, shown.groups(), strict=True)
    }
    shown_mean = figures.pop("mean")
    assert figures == {
        "matched": matched,
        "mentees": mentees,
        "share": round(100 * matched / mentees),
        "pairs": pairs,
        "published": published,
    }
    run = latest_run(cohort)
    proposals = list(run.proposals.all())
    assert len(proposals) == pairs
    assert len({p.mentee_id for p in proposals}) == matched
    assert sum(p.is_published for p in proposals) == published
    mean = 100 * sum(p.score for p in proposals) / len(proposals)
    assert abs(shown_mean - mean) <= 0.5, (shown_mean, mean)

    expect(proposal_rows(page)).to_have_count(pairs)
    for mentee, mentor in pairs_of(run):
        expect(proposal_row(page, mentee).get_by_role("cell").nth(2)).to_contain_text(mentor)
    expect(proposal_rows(page).get_by_text("Published", exact=True)).to_have_count(published)
    return shown_mean


def expect_not_matched(page: Page, cohort: Cohort, removed: list[str]) -> None:
    """The "Not matched" section lists the mentees whose pair the admin removed, as the run's
    Unmatched rows do; with none, there is no such section."""
    section = page.locator("#not-matched")
    if not removed:
        expect(section).to_have_count(0)
        assert not latest_run(cohort).unmatched.exists()
        return
    expect(section.get_by_role("heading")).to_have_text(f"Not matched ({len(removed)})")
    expect(section.get_by_role("listitem")).to_have_text(
        [f"{name}: Removed by an admin." for name in removed]
    )
    unmatched = latest_run(cohort).unmatched.order_by("mentee__name")
    assert list(unmatched.values_list("mentee__name", "removed")) == [
        (name, True) for name in removed
    ]


# --- What people read in their email ---------------------------------------------------------


def outbox(kind: str) -> list[Email]:
    return list(Email.objects.filter(kind=kind).order_by("pk"))


def invitations_to() -> Counter[str]:
    return Counter(address for email in outbox(INVITATION) for address in email.to)


def invitation_link(email: str, server: str) -> str:
    """The link in the newest invitation to this address (as sent: its text was kept)."""
    sent = [message for message in outbox(INVITATION) if message.to == [email]]
    assert sent, f"no invitation to {email}"
    assert sent[-1].status == Email.Status.SENT
    body = sent[-1].body_text
    assert f"You are invited to join {COHORT}" in body
    links = re.findall(rf"{re.escape(server)}/cohorts/join/[^/\s]+/", body)
    assert len(links) == 1, body
    return links[0]


def expect_introductions(cohort: Cohort) -> None:
    """Every published pair got exactly one introduction: one email to each of its two people,
    saying the program matched them, and no other introduction went out."""
    mentorships = list(
        Mentorship.objects.filter(placement__cohort=cohort).select_related("mentee", "mentor")
    )
    assert Mentorship.objects.count() == len(mentorships)
    assert Introduction.objects.count() == len(mentorships)
    intros = outbox(INTRODUCTION)
    assert len(intros) == 2 * len(mentorships)
    assert all(email.status == Email.Status.SENT for email in intros)
    by_reader = Counter((tuple(email.to), email.subject) for email in intros)
    for pair in mentorships:
        for reader, other, role in (
            (pair.mentee, pair.mentor, "mentor"),
            (pair.mentor, pair.mentee, "mentee"),
        ):
            subject = f"Meet {other.name}, your {role} in {COHORT}"
            assert by_reader[((reader.email,), subject)] == 1, (reader.email, subject)
            (email,) = [e for e in intros if e.to == [reader.email] and e.subject == subject]
            assert f"{COHORT} has matched you with {other.name}" in email.body_text


# --- The invited people, each in a browser of their own ---------------------------------------


def open_invitation(context: BrowserContext, link: str) -> Page:
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(link)
    return page


def join_with_a_new_password(context: BrowserContext, link: str, email: str) -> None:
    """A newcomer follows the link, chooses a password and lands signed in."""
    page = open_invitation(context, link)
    expect(page.get_by_role("heading", name=f"Join {COHORT}")).to_be_visible()
    expect(page.get_by_text(f"An account was made for you with {email}.")).to_be_visible()
    password = f"{email.split('@')[0]}-harbour-lantern-58"
    page.get_by_label(field("New password")).fill(password)
    page.get_by_label(field("New password confirmation")).fill(password)
    page.get_by_role("button", name="Choose my password and join").click()
    expect_message(page, f"Welcome to {COHORT}!")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    user = User.objects.get(email=email)
    assert user.check_password(password)
    assert user.enrollments.get().status == Enrollment.Status.JOINED


def decline(context: BrowserContext, link: str) -> None:
    page = open_invitation(context, link)
    expect(page.get_by_role("heading", name=f"Join {COHORT}")).to_be_visible()
    page.get_by_role("button", name="No thanks, decline").click()
    expect(page.get_by_role("heading", name="You declined the invitation")).to_be_visible()


def join_with_an_account(context: BrowserContext, link: str, email: str) -> None:
    """Someone with an account follows the link, signs in, and presses the join button."""
    page = open_invitation(context, link)
    expect(page.get_by_text("No thanks, decline")).to_be_visible()  # no sign-in needed for that
    page.get_by_role("link", name="Sign in to join").click()
    sign_in(page, email, PASSWORD)
    expect(page.get_by_role("heading", name=f"Join {COHORT}")).to_be_visible()
    expect(page.get_by_text("You are invited as a mentor.")).to_be_visible()
    page.get_by_role("button", name=f"Join {COHORT}").click()
    expect_message(page, f"Welcome to {COHORT}!")


# --- The test ---------------------------------------------------------------------------------


def test_an_admin_imports_invites_matches_edits_and_publishes_a_cohort_twice(
    page: Page, server: str, new_context, tmp_path: Path
) -> None:
    errors = collect_errors(page)
    cohort = seed()
    page.goto(reverse("cohorts:people", args=[SLUG]))
    sign_in(page, ADMIN_EMAIL, PASSWORD)
    expect(page.get_by_role("heading", name="Roster")).to_be_visible()
    expect_roster(page, cohort, invited=0, joined=7, declined=0)
    people_before = User.objects.count()

    # A file with one bad row: the problem is named by row and column, and nothing is written.
    cohort_tab(page, "Import CSV")
    upload = page.get_by_label(field("CSV file"))
    upload.set_input_files(people_csv(tmp_path / "people-bad.csv", bad=True))
    page.get_by_role("button", name="Check the file").click()
    problems = page.get_by_role("alert").filter(
        has=page.get_by_role("heading", name="Nothing was imported: 1 problem to fix")
    )
    expect(problems.get_by_role("listitem")).to_have_count(1)
    expect(problems.get_by_role("listitem")).to_contain_text(
        re.compile(rf'^Row {BAD_ROW}, timezone: "{re.escape(BAD_TIMEZONE)}" is not a time zone')
    )
    expect(page.get_by_role("button", name=re.compile(r"^Import \d+ rows?$"))).to_have_count(0)
    assert User.objects.count() == people_before
    assert cohort.enrollments.count() == 7
    assert outbox(INVITATION) == []

    # The fixed file: a preview, then the import; each newcomer is invited by email.
    upload = page.get_by_label(field("CSV file"))
    upload.set_input_files(people_csv(tmp_path / "people.csv", bad=False))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="Ready to import 3 rows")).to_be_visible()
    page.get_by_role("button", name="Import 3 rows").click()
    expect_message(
        page,
        "Imported 3 people: 3 new accounts, 0 existing (left as they are), 3 newly enrolled.",
    )
    expect(page.get_by_role("heading", name="Roster")).to_be_visible()
    expect_roster(page, cohort, invited=3, joined=7, declined=0)
    newcomers = [email for email, *_ in CSV_PEOPLE]
    for email in newcomers:
        expect(roster_badge(page, email)).to_have_text("Invited")
        assert not User.objects.get(email=email).has_usable_password()
    assert User.objects.count() == people_before + 3
    assert invitations_to() == Counter(newcomers)

    # Invite Zara, who has an account, as a mentor; and send Finn his invitation again.
    page.get_by_label(field("Email addresses")).fill(ZARA[0])
    page.get_by_label(field("Role")).select_option(label="Mentor")
    page.get_by_role("button", name="Send invitations").click()
    expect_message(page, "Invited 1 person.")
    expect_roster(page, cohort, invited=4, joined=7, declined=0)
    assert cohort.enrollments.get(email=ZARA[0]).user == User.objects.get(email=ZARA[0])
    page.get_by_role("button", name=f"Resend the invitation to {FINN[0]}").click()
    expect_message(page, f"A new invitation is on its way to {FINN[0]}.")
    expect_roster(page, cohort, invited=4, joined=7, declined=0)
    assert invitations_to() == Counter([*newcomers, ZARA[0], FINN[0]])

    # Erin and Finn (with his newest link) join and choose a password; Dora declines.
    for email in (ERIN[0], FINN[0]):
        join_with_a_new_password(new_context(), invitation_link(email, server), email)
    decline(new_context(), invitation_link(DORA[0], server))
    page.reload()
    expect_roster(page, cohort, invited=1, joined=9, declined=1)
    expect(roster_badge(page, ERIN[0])).to_have_text("Profile complete")
    expect(roster_badge(page, DORA[0])).to_have_text("Declined")
    expect(roster_badge(page, ZARA[0])).to_have_text("Invited")

    # Matching pairs the six mentees who joined with the three mentors who did: not Dora, who
    # declined, and not Zara, who has not joined yet.
    cohort_tab(page, "Matching")
    expect(page.get_by_text("No matching run yet.")).to_be_visible()
    page.get_by_role("button", name="Run matching", exact=True).click()
    expect_message(page, "Matching has started.")
    first_mean = expect_review(page, cohort, matched=6, mentees=6, pairs=6)
    run = latest_run(cohort)
    assert run.status == MatchRun.Status.DONE
    assert pairs_of(run) == {
        ("Mina Moreau", OLIVIA[1]),
        ("Leo Larsen", OLIVIA[1]),
        ("Erin Evans", PRIYA[1]),
        ("Theo Thompson", PRIYA[1]),
        ("Jade Jensen", NIKOS[1]),
        ("Finn Fischer", NIKOS[1]),
    }
    expect_not_matched(page, cohort, [])
    expect(page.get_by_role("button", name="Re-run matching")).to_be_visible()

    # Remove Theo's pair: he is listed as not matched, the figures drop to five pairs, and the
    # mean rises (his pair scored below it: Priya knows negotiation less well than Nikos).
    proposal_row(page, "Theo Thompson").get_by_role("button", name="Remove").click()
    expect_message(
        page, f"Removed Theo Thompson and {PRIYA[1]}; re-runs will not propose them again."
    )
    removed_mean = expect_review(page, cohort, matched=5, mentees=6, pairs=5)
    assert removed_mean > first_mean
    expect_not_matched(page, cohort, ["Theo Thompson"])
    theo = User.objects.get(email=MENTEES[2][0])
    assert list(cohort.rules.values_list("mentee", "mentor__name", "kind")) == [
        (theo.pk, PRIYA[1], PairRule.Kind.FORBID)
    ]

    # Swap the mentors of Leo and Erin: both new pairs are locked, and the mean score drops
    # (Priya teaches no SQL, which Leo wants).
    page.get_by_role("checkbox", name=f"Select Leo Larsen and {OLIVIA[1]}").check()
    page.get_by_role("checkbox", name=f"Select Erin Evans and {PRIYA[1]}").check()
    page.get_by_role("button", name="Swap the mentors of the two selected pairs").click()
    expect_message(page, "Swapped the two mentors; scores and reasons are updated")
    swapped_mean = expect_review(page, cohort, matched=5, mentees=6, pairs=5)
    assert swapped_mean < removed_mean
    for mentee, mentor in (("Leo Larsen", PRIYA[1]), ("Erin Evans", OLIVIA[1])):
        expect(proposal_row(page, mentee).get_by_text("Locked", exact=True)).to_be_visible()
        assert run.proposals.get(mentee__name=mentee, mentor__name=mentor).locked
    expect(proposal_rows(page).get_by_text("Locked", exact=True)).to_have_count(2)
    assert Counter(cohort.rules.values_list("kind", flat=True)) == Counter(lock=2, forbid=1)
    expect_not_matched(page, cohort, ["Theo Thompson"])
    assert outbox(INTRODUCTION) == []

    # Publish, after a confirmation that says what will happen.
    page.get_by_role("link", name="Publish 5 pairs…").click()
    expect(page.get_by_role("heading", name=f"Publish run {run.pk}?")).to_be_visible()
    expect(page.locator("#publish-summary")).to_have_text(
        "5 new pairs will start, and 10 introduction emails will go out (one to each person of "
        "each pair)."
    )
    assert not Mentorship.objects.exists()
    page.get_by_role("button", name="Publish 5 pairs and send the emails").click()
    expect_message(page, "Publishing has started. Each new pair gets its introduction by email.")
    expect(page.locator("#run-progress").get_by_role("heading", name="Published")).to_be_visible()
    expect(page.locator("#run-progress")).to_contain_text("5 pairs published on")
    assert expect_review(page, cohort, matched=5, mentees=6, pairs=5, published=5) == swapped_mean
    expect(page.get_by_role("link", name="End pair…")).to_have_count(5)
    expect(page.get_by_role("link", name=re.compile(r"^Publish \d+ pairs?…$"))).to_have_count(0)
    expect_not_matched(page, cohort, ["Theo Thompson"])
    run.refresh_from_db()
    assert (run.publishing, run.published) == (MatchRun.Publishing.DONE, 5)
    assert Placement.objects.filter(cohort=cohort, run=run).count() == 5
    assert set(Mentorship.objects.values_list("mentee__name", "mentor__name")) == pairs_of(run)
    assert set(Mentorship.objects.values_list("source", flat=True)) == {Mentorship.Source.COHORT}
    expect_introductions(cohort)
    rerun = page.get_by_role("button", name="Match the people not placed yet")
    expect(rerun).to_be_visible()

    # Zara joins with her account; the roster shows everyone has answered.
    join_with_an_account(new_context(), invitation_link(ZARA[0], server), ZARA[0])
    cohort_tab(page, "People")
    expect_roster(page, cohort, invited=0, joined=10, declined=1)
    expect(roster_badge(page, ZARA[0])).to_have_text("Profile complete")

    # The re-run keeps the five published pairs as they are and places only Theo: with Zara,
    # since he may not be paired with Priya again, who has the only other free place.
    cohort_tab(page, "Matching")
    rerun.click()
    expect_message(page, "Matching the people not placed yet.")
    assert cohort.runs.count() == 2
    rerun_mean = expect_review(page, cohort, matched=6, mentees=6, pairs=6, published=5)
    second = latest_run(cohort)
    assert second.pk != run.pk
    assert set(
        second.proposals.filter(mentorship__isnull=True).values_list("mentee__name", "mentor__name")
    ) == {("Theo Thompson", ZARA[1])}
    assert pairs_of(second) == pairs_of(run) | {("Theo Thompson", ZARA[1])}
    expect(proposal_row(page, "Theo Thompson").get_by_role("button", name="Remove")).to_be_visible()
    expect_not_matched(page, cohort, [])
    assert len(outbox(INTRODUCTION)) == 10

    # Publish again: one new pair, two emails; the five published before stay as they are.
    page.get_by_role("link", name="Publish 1 pair…").click()
    expect(page.locator("#publish-summary")).to_have_text(
        "1 new pair will start, and 2 introduction emails will go out (one to each person of "
        "each pair). The 5 pairs published before stay as they are."
    )
    page.get_by_role("button", name="Publish 1 pair and send the emails").click()
    expect_message(page, "Publishing has started. Each new pair gets its introduction by email.")
    expect(page.locator("#run-progress")).to_contain_text("1 pair published on")
    assert expect_review(page, cohort, matched=6, mentees=6, pairs=6, published=6) == rerun_mean
    expect(page.get_by_role("link", name="End pair…")).to_have_count(6)
    assert Placement.objects.filter(cohort=cohort).count() == 6
    assert Placement.objects.filter(cohort=cohort, run=second).count() == 1
    expect_introductions(cohort)

    # The confirmation page, opened again, publishes nothing twice.
    page.goto(reverse("cohorts:publish", args=[SLUG, second.pk]))
    expect(page.get_by_role("heading", name="This run cannot be published")).to_be_visible()
    expect(page.get_by_text("Every pair of this run is published already")).to_be_visible()
    assert len(outbox(INTRODUCTION)) == 12
    assert Proposal.objects.filter(run=second, mentorship__isnull=True).count() == 0
    assert not Unmatched.objects.filter(run=second).exists()
    assert errors == []
