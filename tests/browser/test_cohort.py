"""A cohort from start to finish in a real browser: a staff admin creates it, imports its people
from a CSV (a file with one bad row imports nothing and says which row is wrong; the fixed file
imports everyone), runs matching, locks one pair, re-runs, publishes twice, and the outbox holds
exactly one introduction per pair (one email to each of its two people), however often it was
published."""

import csv
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect

from cohorts.models import Cohort, Enrollment, Placement
from matching.models import Introduction, Mentorship
from profiles.models import User
from tests.browser.helpers import collect_errors, expect_message, field, sign_in
from tests.conftest import PASSWORD, make_person

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "ada.admin@example.org"
ADMIN_NAME = "Ada Admin"
COHORT = "Spring Data Circle"
SLUG = "spring-data-circle"
WEEK = "Mon 18:00-21:00;Wed 18:00-21:00"
LONDON = "Europe/London"
BAD_ROW = 3  # spreadsheet numbering: the header is row 1, so this is the second person
BAD_TIMEZONE = "Mars/Olympus"

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
MENTORS = [
    ("olivia.okafor@example.org", "Olivia Okafor", "python:5;sql:4;data-analysis:4"),
    ("nikos.nakamura@example.org", "Nikos Nakamura", "negotiation:5;job-search:4"),
    ("priya.patel@example.org", "Priya Patel", "python:4;data-analysis:5;job-search:3"),
]
MENTEES = [
    ("mina.moreau@example.org", "Mina Moreau", "python;sql", "Automate my weekly SQL reports"),
    ("theo.thompson@example.org", "Theo Thompson", "negotiation", "Negotiate my first raise"),
    ("jade.jensen@example.org", "Jade Jensen", "job-search;negotiation", "Land a product role"),
    ("leo.larsen@example.org", "Leo Larsen", "data-analysis", "Read our sales data myself"),
]
PEOPLE = len(MENTORS) + len(MENTEES)


def people_csv(path: Path, *, bad_timezone: str | None = None) -> Path:
    """The cohort's people, mentors first; with bad_timezone, the row BAD_ROW has it."""
    rows = [
        [email, name, "mentor", LONDON, "en", skills, "", "2", WEEK, "Northwind", "Data", "12"]
        for email, name, skills in MENTORS
    ] + [
        [email, name, "mentee", LONDON, "en", skills, goal, "", WEEK, "Contoso", "Sales", "2"]
        for email, name, skills, goal in MENTEES
    ]
    if bad_timezone is not None:
        rows[BAD_ROW - 2][HEADER.index("timezone")] = bad_timezone
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture
def dev_server(live_server, settings) -> str:
    """The live server as a development server: the staff outbox is there (DEBUG)."""
    settings.DEBUG = True
    settings.EMAIL_KEEP_SENT_BODIES = True
    return live_server.url


def cohort_tab(page: Page, name: str) -> None:
    page.get_by_role("navigation", name=COHORT).get_by_role("link", name=name, exact=True).click()


def proposal_rows(page: Page) -> Locator:
    return page.get_by_role("table").locator("tbody").get_by_role("row")


def proposed_pairs(page: Page) -> set[tuple[str, str]]:
    """(mentee, mentor) names of every proposal the review table shows."""
    pairs = set()
    for row in proposal_rows(page).all():
        cells = [text.strip() for text in row.get_by_role("cell").all_inner_texts()]
        pairs.add((cells[1], cells[2].removesuffix("Locked").strip()))
    return pairs


def proposal_row(page: Page, mentee: str, mentor: str) -> Locator:
    checkbox = page.get_by_role("checkbox", name=f"Select {mentee} and {mentor}", exact=True)
    return proposal_rows(page).filter(has=checkbox)


def test_an_admin_imports_matches_locks_reruns_and_publishes_a_cohort_once(
    page: Page, dev_server: str, tmp_path: Path
) -> None:
    errors = collect_errors(page)
    make_person(ADMIN_EMAIL, name=ADMIN_NAME, staff=True)
    page.goto(reverse("account_login"))
    sign_in(page, ADMIN_EMAIL, PASSWORD)
    expect_message(page, f"Successfully signed in as {ADMIN_NAME}.")

    # Create the cohort; the matching policy keeps its defaults (one mentor per mentee).
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cohorts").click()
    page.get_by_role("link", name="New cohort").click()
    expect(page.get_by_role("heading", name="New cohort")).to_be_visible()
    page.get_by_label(field("Name")).fill(COHORT)
    page.get_by_label(field("Slug")).fill(SLUG)
    page.get_by_label(field("Description")).fill("Eight weeks of data and career mentoring.")
    page.get_by_role("button", name="Create the cohort").click()
    expect_message(page, f"{COHORT} is ready. Invite people or import a CSV.")
    expect(page.get_by_role("heading", name=COHORT, level=1)).to_be_visible()
    cohort = Cohort.objects.get(slug=SLUG)
    assert list(cohort.admins.values_list("email", flat=True)) == [ADMIN_EMAIL]

    # A file with one bad row: every problem is listed by row and column, and nothing is written.
    cohort_tab(page, "Import CSV")
    upload = page.get_by_label(field("CSV file"))
    upload.set_input_files(people_csv(tmp_path / "people-bad.csv", bad_timezone=BAD_TIMEZONE))
    page.get_by_role("button", name="Check the file").click()
    problems = page.get_by_role("alert").filter(
        has=page.get_by_role("heading", name="Nothing was imported: 1 problem to fix")
    )
    expect(problems).to_be_visible()
    expect(problems.get_by_role("listitem")).to_have_count(1)
    expect(problems.get_by_role("listitem")).to_contain_text(
        re.compile(rf'^Row {BAD_ROW}, timezone: "{re.escape(BAD_TIMEZONE)}" is not a time zone')
    )
    expect(page.get_by_role("button", name=re.compile(r"^Import \d+ rows?$"))).to_have_count(0)
    assert list(User.objects.values_list("email", flat=True)) == [ADMIN_EMAIL]
    assert not Enrollment.objects.exists()

    # The fixed file: a preview of everyone, then the import.
    upload = page.get_by_label(field("CSV file"))
    upload.set_input_files(people_csv(tmp_path / "people.csv"))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name=f"Ready to import {PEOPLE} rows")).to_be_visible()
    page.get_by_role("button", name=f"Import {PEOPLE} rows").click()
    expect_message(page, f"Imported {PEOPLE} people: {PEOPLE} new, 0 updated, {PEOPLE} enrolled.")
    expect(page.get_by_role("heading", name="Roster")).to_be_visible()
    expect(page.get_by_role("table").locator("tbody").get_by_role("row")).to_have_count(PEOPLE)
    assert cohort.enrollments.count() == PEOPLE

    # Matching runs (eagerly, within the request) and proposes a mentor for every mentee.
    cohort_tab(page, "Matching")
    expect(page.get_by_text("No matching run yet.")).to_be_visible()
    page.get_by_role("button", name="Run matching", exact=True).click()
    expect_message(page, "Matching has started.")
    expect(page.get_by_role("heading", name="Proposals")).to_be_visible()
    expect(proposal_rows(page)).to_have_count(len(MENTEES))
    first_pairs = proposed_pairs(page)
    assert {mentee for mentee, _ in first_pairs} == {name for _, name, _, _ in MENTEES}
    assert {mentor for _, mentor in first_pairs} <= {name for _, name, _ in MENTORS}

    # Lock one pair; a re-run keeps it, marked as locked.
    mentee, mentor = sorted(first_pairs)[0]
    row = proposal_row(page, mentee, mentor)
    row.get_by_role("button", name="Lock", exact=True).click()
    expect_message(page, f"Locked {mentee} and {mentor}: every re-run keeps this pair.")
    row = proposal_row(page, mentee, mentor)
    expect(row.get_by_text("Locked", exact=True)).to_be_visible()
    expect(row.get_by_role("button", name="Unlock", exact=True)).to_be_visible()

    page.get_by_role("button", name="Re-run matching").click()
    expect_message(page, "Matching has started.")
    expect(proposal_rows(page)).to_have_count(len(MENTEES))
    assert cohort.runs.count() == 2
    pairs = proposed_pairs(page)
    assert (mentee, mentor) in pairs
    row = proposal_row(page, mentee, mentor)
    expect(row.get_by_text("Locked", exact=True)).to_be_visible()
    expect(row.get_by_role("button", name="Unlock", exact=True)).to_be_visible()
    expect(proposal_rows(page).get_by_text("Locked", exact=True)).to_have_count(1)

    # Publish twice: the second press creates nothing and sends nothing.
    page.get_by_role("button", name="Publish the pairs").click()
    expect_message(page, f"Published {len(pairs)} pairs. Each pair gets its introduction by email.")
    page.get_by_role("button", name="Publish the pairs").click()
    expect_message(page, "Every pair was already published; no email was sent twice.")
    assert Placement.objects.filter(cohort=cohort).count() == len(pairs)
    published = set(
        Mentorship.objects.values_list("mentee__name", "mentor__name").filter(
            source=Mentorship.Source.COHORT
        )
    )
    assert published == pairs
    assert Introduction.objects.count() == len(pairs)

    # The outbox: one introduction to each person of each pair, and no other.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Outbox").click()
    expect(page.get_by_role("heading", name="Outbox")).to_be_visible()
    intros = page.get_by_role("link", name=re.compile(r"^Meet "))
    expect(intros).to_have_count(2 * len(pairs))
    emails = {name: email for email, name, *_ in MENTORS + MENTEES}
    for pair_mentee, pair_mentor in pairs:
        for reader, subject in (
            (pair_mentee, f"Meet {pair_mentor}, your mentor"),
            (pair_mentor, f"Meet {pair_mentee}, your mentee"),
        ):
            link = page.get_by_role("link", name=subject, exact=True)
            sent = page.get_by_role("row").filter(has_text=emails[reader]).filter(has=link)
            expect(sent).to_have_count(1)

    assert errors == []
