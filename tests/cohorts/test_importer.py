"""The cohort CSV importer: a good file creates everyone, a second import updates them, and any
wrong cell is reported by row and column while nothing at all is written."""

from __future__ import annotations

import csv
import io
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cohorts import importer
from cohorts.models import Cohort, Enrollment
from profiles.models import (
    AvailabilityWindow,
    Expertise,
    Goal,
    MentorOffer,
    Profile,
    Skill,
    User,
)
from tests.conftest import make_person

MENTOR = {
    "email": "marco@example.org",
    "name": "Marco Mentor",
    "role": "mentor",
    "timezone": "America/New_York",
    "languages": "en;es",
    "skills": "negotiation:5;job-search:4",
    "goal": "",
    "capacity": "3",
    "availability": "Mon 18:00-21:00;Wed 18:00-20:30",
    "organisation": "Acme",
    "department": "Sales",
    "years_experience": "15",
}
MENTEE = {
    "email": "mina@example.org",
    "name": "Mina Mentee",
    "role": "mentee",
    "timezone": "Asia/Tokyo",
    "languages": "ja;en",
    "skills": "negotiation;job-search",
    "goal": "Negotiate my first salary",
    "capacity": "",
    "availability": "Tue 19:00-22:00;Sat 09:00-12:30",
    "organisation": "Globex",
    "department": "",
    "years_experience": "2",
}
BOTH = {
    "email": "bo@example.org",
    "name": "Bo Both",
    "role": "both",
    "timezone": "Europe/Lisbon",
    "languages": "pt;en",
    "skills": "python:4;public-speaking",
    "goal": "Speak at a conference",
    "capacity": "",
    "availability": "Thu 12:00-13:00;Sun 22:00-24:00",
    "organisation": "",
    "department": "",
    "years_experience": "",
}
MODELS = (
    User,
    EmailAddress,
    Profile,
    MentorOffer,
    Expertise,
    Goal,
    Goal.skills.through,
    AvailabilityWindow,
    Enrollment,
    Cohort,
)


def csv_of(*rows: dict, header=importer.COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return out.getvalue().encode()


def line_of(person: dict) -> str:
    """One person's CSV line, without the header."""
    return csv_of(person).decode().split("\n", 1)[1]


def good_file() -> bytes:
    return csv_of(MENTOR, MENTEE, BOTH)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def import_file(data: bytes | str, cohort: Cohort) -> importer.ImportResult:
    preview = importer.parse(data, cohort)
    assert preview.ok, [str(e) for e in preview.errors]
    return importer.apply(preview, cohort)


def messages(data: bytes | str, cohort: Cohort) -> list[str]:
    return [str(error) for error in importer.parse(data, cohort).errors]


def week(email: str) -> list[tuple[int, int, int]]:
    return list(
        AvailabilityWindow.objects.filter(user__email=email)
        .order_by("weekday", "start_minute")
        .values_list("weekday", "start_minute", "end_minute")
    )


@pytest.fixture
def cohort(db) -> Cohort:
    return Cohort.objects.create(name="Spring 2026", slug="spring-2026")


# --- A good file ------------------------------------------------------------------------------


def test_preview_counts_people_and_roles_without_writing_anything(cohort):
    make_person("bo@example.org", name="Bo Already")
    before = counts()

    preview = importer.parse(good_file(), cohort)

    assert preview.ok
    assert [row.email for row in preview.rows] == [
        "marco@example.org",
        "mina@example.org",
        "bo@example.org",
    ]
    assert [row.row for row in preview.rows] == [2, 3, 4]
    assert (preview.new_people, preview.updated_people) == (2, 1)
    assert (preview.mentors, preview.mentees) == (2, 2)
    assert counts() == before


def test_a_good_file_creates_people_profiles_offers_expertise_goals_and_enrollments(cohort):
    result = import_file(good_file(), cohort)

    assert result == importer.ImportResult(created=3, updated=0, enrolled=3)
    marco = User.objects.get(email="marco@example.org")
    assert marco.name == "Marco Mentor"
    assert not marco.has_usable_password()
    profile = marco.profile
    assert (profile.timezone, profile.languages) == ("America/New_York", ["en", "es"])
    assert (profile.organisation, profile.department, profile.years_experience) == (
        "Acme",
        "Sales",
        15,
    )
    assert (profile.is_mentor, profile.is_mentee) == (True, False)
    assert marco.offer.capacity == 3
    assert set(marco.expertise.values_list("skill__slug", "level")) == {
        ("negotiation", 5),
        ("job-search", 4),
    }
    assert not marco.goals.exists()

    mina = User.objects.get(email="mina@example.org")
    assert (mina.profile.is_mentee, mina.profile.is_mentor) == (True, False)
    assert not MentorOffer.objects.filter(user=mina).exists()
    goal = mina.goals.get()
    assert (goal.title, goal.status) == ("Negotiate my first salary", Goal.Status.OPEN)
    assert set(goal.skills.values_list("slug", flat=True)) == {"negotiation", "job-search"}

    bo = User.objects.get(email="bo@example.org")
    assert (bo.profile.is_mentee, bo.profile.is_mentor) == (True, True)
    assert bo.offer.capacity == importer.DEFAULT_CAPACITY
    assert list(bo.expertise.values_list("skill__slug", "level")) == [("python", 4)]
    bo_goal = bo.goals.get()
    assert set(bo_goal.skills.values_list("slug", flat=True)) == {"python", "public-speaking"}
    assert (bo.profile.years_experience, bo.profile.organisation) == (0, "")

    enrollments = {e.email: e for e in cohort.enrollments.all()}
    assert {email: (e.role, e.status, e.user_id) for email, e in enrollments.items()} == {
        "marco@example.org": ("mentor", "invited", marco.pk),
        "mina@example.org": ("mentee", "invited", mina.pk),
        "bo@example.org": ("both", "invited", bo.pk),
    }


def test_each_new_person_gets_an_unverified_primary_address(cohort):
    import_file(good_file(), cohort)

    addresses = EmailAddress.objects.order_by("email")
    assert [(a.email, a.user.email, a.verified, a.primary) for a in addresses] == [
        ("bo@example.org", "bo@example.org", False, True),
        ("marco@example.org", "marco@example.org", False, True),
        ("mina@example.org", "mina@example.org", False, True),
    ]


def test_new_people_have_no_usable_password_and_each_a_different_one(cohort):
    import_file(good_file(), cohort)

    people = User.objects.filter(email__in=["marco@example.org", "mina@example.org"])
    assert not any(person.has_usable_password() for person in people)
    # allauth's sign-in keys (the invitation link's) hash the stored password: never shared.
    assert len({person.password for person in people}) == 2


def test_a_tokyo_row_keeps_its_windows_in_local_time(cohort):
    import_file(good_file(), cohort)

    assert User.objects.get(email="mina@example.org").profile.timezone == "Asia/Tokyo"
    # Tuesday 19:00-22:00 and Saturday 09:00-12:30, Tokyo time: stored as written, not in UTC.
    assert week("mina@example.org") == [(1, 19 * 60, 22 * 60), (5, 9 * 60, 12 * 60 + 30)]
    assert week("bo@example.org") == [(3, 12 * 60, 13 * 60), (6, 22 * 60, 24 * 60)]


def test_spreadsheet_exports_with_a_bom_blank_rows_and_crlf_are_read(cohort):
    text = good_file().decode().replace("\n", "\r\n")
    lines = text.split("\r\n")
    lines.insert(2, ",,,,,,,,,,,")  # an empty spreadsheet row
    data = "\ufeff".encode() + "\r\n".join(lines).encode()

    preview = importer.parse(data, cohort)

    assert preview.ok, [str(e) for e in preview.errors]
    assert [row.row for row in preview.rows] == [2, 4, 5]


def test_header_names_may_come_in_any_order_and_case(cohort):
    header = tuple(reversed([c.upper() for c in importer.COLUMNS]))
    rows = [{c.upper(): v for c, v in MENTEE.items()}]

    result = import_file(csv_of(*rows, header=header), cohort)

    assert result.created == 1
    assert User.objects.get(email="mina@example.org").goals.count() == 1


# --- Importing again: people are updated, never duplicated --------------------------------------


def test_importing_the_same_file_twice_duplicates_nothing(cohort):
    import_file(good_file(), cohort)
    before = counts()

    preview = importer.parse(good_file(), cohort)
    result = importer.apply(preview, cohort)

    assert (preview.new_people, preview.updated_people) == (0, 3)
    assert result == importer.ImportResult(created=0, updated=3, enrolled=0)
    assert counts() == before


def snapshot(user: User) -> dict:
    """Everything of an account an import could touch."""
    user.refresh_from_db()
    profile = Profile.objects.filter(user=user).values().first()
    if profile:
        profile.pop("updated_at", None)
    return {
        "user": (user.name, user.email, user.password, user.is_active),
        "profile": profile,
        "offer": MentorOffer.objects.filter(user=user).values().first(),
        "expertise": sorted(Expertise.objects.filter(user=user).values_list("skill_id", "level")),
        "goals": sorted(Goal.objects.filter(owner=user).values_list("title", "status")),
        "week": week(user.email),
        "addresses": sorted(
            EmailAddress.objects.filter(user=user).values_list("email", "verified")
        ),
    }


def test_an_import_never_changes_an_account_that_is_not_new(
    cohort, django_capture_on_commit_callbacks
):
    maya = make_person("Mina@Example.org", name="Mina Old-Name")
    Profile.objects.create(user=maya, timezone="UTC", languages=["fr"], is_mentor=True)
    AvailabilityWindow.objects.create(user=maya, weekday=0, start_minute=60, end_minute=120)
    marco = make_person("marco@example.org", name="Marco Own-Name")
    Profile.objects.create(user=marco, timezone="Europe/Rome", languages=["it"], is_mentor=True)
    MentorOffer.objects.create(user=marco, capacity=1)
    before = {"maya": snapshot(maya), "marco": snapshot(marco)}

    with django_capture_on_commit_callbacks(execute=True):
        result = import_file(
            csv_of(
                {**MENTEE, "email": "MINA@example.ORG"},
                {
                    **MENTOR,
                    "skills": "python:2",
                    "capacity": "9",
                    "availability": "Fri 08:00-09:00",
                },
            ),
            cohort,
        )

    assert (result.created, result.updated, result.enrolled) == (0, 2, 2)
    assert {"maya": snapshot(maya), "marco": snapshot(marco)} == before
    # They are enrolled as invited, linked to their own accounts, and invited by email.
    enrollments = {e.user: e for e in cohort.enrollments.all()}
    assert set(enrollments) == {maya, marco}
    assert {e.status for e in enrollments.values()} == {"invited"}
    invitations = [m for m in mail.outbox if m.subject == "You are invited to Spring 2026"]
    addresses = sorted(to for m in invitations for to in m.to)
    assert addresses == ["marco@example.org", "mina@example.org"]
    assert all("Sign in with your account and join here:" in m.body for m in invitations)


def test_importing_again_changes_nobody_imported_before(cohort):
    import_file(good_file(), cohort)
    marco = User.objects.get(email="marco@example.org")
    before = snapshot(marco)
    changed = {**MENTOR, "skills": "python:2", "capacity": "0", "availability": "Fri 08:00-09:00"}

    result = import_file(csv_of(changed, {**MENTEE, "goal": "Find a new job"}), cohort)

    assert (result.created, result.updated, result.enrolled) == (0, 2, 0)
    assert snapshot(marco) == before
    mina = User.objects.get(email="mina@example.org")
    assert list(mina.goals.values_list("title", flat=True)) == ["Negotiate my first salary"]


def test_an_existing_enrollment_keeps_its_status_and_takes_the_rows_role(cohort):
    mina = make_person("mina@example.org", name="Mina")
    Enrollment.objects.create(cohort=cohort, email=mina.email, role="mentee", status="joined")

    result = import_file(csv_of({**MENTEE, "role": "both", "skills": "python:3"}), cohort)

    enrollment = cohort.enrollments.get()
    assert (enrollment.role, enrollment.status, enrollment.user) == ("both", "joined", mina)
    assert result.enrolled == 0


def test_importing_into_one_cohort_leaves_another_cohort_alone(cohort):
    other = Cohort.objects.create(name="Autumn", slug="autumn")
    import_file(good_file(), other)

    result = import_file(good_file(), cohort)

    assert (result.created, result.updated, result.enrolled) == (0, 3, 3)
    assert other.enrollments.count() == cohort.enrollments.count() == 3


def test_the_number_of_queries_does_not_grow_with_the_rows(cohort):
    def rows(count: int, prefix: str) -> bytes:
        return csv_of(
            *(
                {**(MENTOR if i % 2 else MENTEE), "email": f"{prefix}{i}@example.org"}
                for i in range(count)
            )
        )

    import_file(rows(20, "again"), cohort)  # people who will be updated
    queries = []
    for count in (4, 40):
        data = rows(count, "new") + rows(count, "again").split(b"\n", 1)[1]
        with CaptureQueriesContext(connection) as context:
            import_file(data, cohort)
        queries.append(len(context))

    assert queries[0] == queries[1]


# --- Wrong files: every problem is reported, and nothing is written -----------------------------


def row(base: dict, **cells) -> dict:
    return {**base, **cells}


BAD_CELLS = [
    pytest.param(
        row(MENTEE, timezone="Mars/Olympus"),
        'Row 3, timezone: "Mars/Olympus" is not a time zone we know. '
        "Use a name like Europe/Lisbon.",
        id="unknown-timezone",
    ),
    pytest.param(
        row(MENTEE, timezone="asia/tokyo"),
        'Row 3, timezone: "asia/tokyo" is not a time zone we know. Did you mean "Asia/Tokyo"?',
        id="timezone-in-the-wrong-case",
    ),
    pytest.param(
        row(MENTEE, timezone=""),
        "Row 3, timezone: is empty; new people need a time zone, e.g. Europe/Lisbon.",
        id="no-timezone-for-a-new-person",
    ),
    pytest.param(
        row(MENTOR, skills="negotiaton:5"),
        'Row 2, skills: "negotiaton" is not a skill we know; did you mean "negotiation"?',
        id="misspelt-skill",
    ),
    pytest.param(
        row(MENTEE, skills="salary negotiation"),
        'Row 3, skills: "salary negotiation" is not a skill we know; '
        'did you mean "salary-negotiation"?',
        id="skill-by-its-name",
    ),
    pytest.param(
        row(MENTEE, skills="underwater-basket-weaving"),
        'Row 3, skills: "underwater-basket-weaving" is not a skill we know.',
        id="unknown-skill",
    ),
    pytest.param(
        row(MENTOR, skills="negotiation:6"),
        'Row 2, skills: the level of "negotiation" is "6"; levels go from 1 to 5.',
        id="level-above-5",
    ),
    pytest.param(
        row(MENTOR, skills="negotiation:0"),
        'Row 2, skills: the level of "negotiation" is "0"; levels go from 1 to 5.',
        id="level-0",
    ),
    pytest.param(
        row(MENTOR, skills="negotiation:high"),
        'Row 2, skills: the level of "negotiation" is "high"; levels go from 1 to 5.',
        id="level-not-a-number",
    ),
    pytest.param(
        row(MENTOR, skills="negotiation"),
        'Row 2, skills: "negotiation" needs a level from 1 to 5, e.g. negotiation:4.',
        id="mentor-skill-without-level",
    ),
    pytest.param(
        row(MENTOR, skills=""),
        "Row 2, skills: a mentor needs at least one skill with a level, e.g. python:4.",
        id="mentor-without-skills",
    ),
    pytest.param(
        row(MENTEE, skills="negotiation:3"),
        'Row 3, skills: mentees list skills without levels: write "negotiation", not '
        '"negotiation:3" (or make the role both).',
        id="mentee-skill-with-level",
    ),
    pytest.param(
        row(MENTOR, skills="python:3;python:4"),
        'Row 2, skills: "python" is listed twice.',
        id="skill-twice",
    ),
    pytest.param(
        row(MENTEE, role="teacher"),
        'Row 3, role: "teacher" is not a role; write mentor, mentee or both.',
        id="bad-role",
    ),
    pytest.param(
        row(MENTEE, role=""),
        "Row 3, role: is empty; write mentor, mentee or both.",
        id="no-role",
    ),
    pytest.param(
        row(MENTEE, email="mina-at-example.org"),
        'Row 3, email: "mina-at-example.org" is not an email address.',
        id="bad-email",
    ),
    pytest.param(
        row(MENTEE, email=""),
        "Row 3, email: is empty; every row needs the person's email address.",
        id="no-email",
    ),
    pytest.param(
        row(MENTEE, name=""),
        "Row 3, name: is empty; new people need a name.",
        id="no-name-for-a-new-person",
    ),
    pytest.param(
        row(MENTOR, capacity="21"),
        "Row 2, capacity: 21 is out of range; write 0 to 20 mentees at once.",
        id="capacity-above-20",
    ),
    pytest.param(
        row(MENTOR, capacity="-1"),
        "Row 2, capacity: -1 is out of range; write 0 to 20 mentees at once.",
        id="negative-capacity",
    ),
    pytest.param(
        row(MENTOR, capacity="two"),
        'Row 2, capacity: "two" is not a whole number; write 0 to 20 mentees at once.',
        id="capacity-in-words",
    ),
    pytest.param(
        row(MENTEE, capacity="2"),
        "Row 3, capacity: only mentors have a capacity; leave it empty, or make the role both.",
        id="capacity-for-a-mentee",
    ),
    pytest.param(
        row(MENTEE, goal=""),
        'Row 3, goal: is empty; a mentee needs a goal, e.g. "Lead my first team".',
        id="mentee-without-goal",
    ),
    pytest.param(
        row(MENTOR, goal="Learn Rust"),
        "Row 2, goal: only mentees have a goal; leave it empty, or make the role both.",
        id="goal-for-a-mentor",
    ),
    pytest.param(
        row(MENTEE, goal="x" * 201),
        "Row 3, goal: is 201 characters long; at most 200 fit.",
        id="goal-too-long",
    ),
    pytest.param(
        row(MENTEE, availability="Mon 09:00"),
        'Row 3, availability: "Mon 09:00" is not a weekly window; write it like Mon 09:00-12:00.',
        id="window-without-end",
    ),
    pytest.param(
        row(MENTEE, availability="Mon 9-12"),
        'Row 3, availability: "9" in "Mon 9-12" is not a time; write HH:MM, from 00:00 to 24:00.',
        id="hours-without-minutes",
    ),
    pytest.param(
        row(MENTEE, availability="Mon 09:00-24:30"),
        'Row 3, availability: "24:30" in "Mon 09:00-24:30" is not a time; '
        "write HH:MM, from 00:00 to 24:00.",
        id="after-midnight",
    ),
    pytest.param(
        row(MENTEE, availability="Mnday 09:00-12:00"),
        'Row 3, availability: "Mnday" in "Mnday 09:00-12:00" is not a day; '
        "use Mon, Tue, Wed, Thu, Fri, Sat or Sun.",
        id="bad-day",
    ),
    pytest.param(
        row(MENTEE, availability="Mon 12:00-09:00"),
        'Row 3, availability: "Mon 12:00-09:00" does not end after it starts. A window stays '
        "within one day: write Mon 22:00-24:00;Tue 00:00-02:00 for one across midnight.",
        id="ends-before-it-starts",
    ),
    pytest.param(
        row(MENTEE, languages="xx"),
        'Row 3, languages: "xx" is not a language code we know; use two-letter codes like en;es.',
        id="unknown-language",
    ),
    pytest.param(
        row(MENTEE, languages="English"),
        'Row 3, languages: "english" is not a language code we know; did you mean "en"?',
        id="language-by-its-name",
    ),
    pytest.param(
        row(MENTEE, languages=""),
        "Row 3, languages: is empty; new people need at least one language, e.g. en;es.",
        id="no-language-for-a-new-person",
    ),
    pytest.param(
        row(MENTEE, years_experience="71"),
        "Row 3, years_experience: 71 is out of range; write 0 to 70 years.",
        id="years-above-70",
    ),
    pytest.param(
        row(MENTEE, years_experience="ten"),
        'Row 3, years_experience: "ten" is not a whole number; write 0 to 70 years.',
        id="years-in-words",
    ),
    pytest.param(
        row(MENTEE, organisation="o" * 121),
        "Row 3, organisation: is 121 characters long; at most 120 fit.",
        id="organisation-too-long",
    ),
]


@pytest.fixture
def existing(cohort) -> dict[str, int]:
    """A cohort that already has people, so that "nothing changes" means something."""
    import_file(csv_of(row(MENTEE, email="first@example.org")), cohort)
    return counts()


def assert_nothing_imported(preview: importer.Preview, cohort: Cohort, before: dict) -> None:
    with pytest.raises(ValueError, match="nothing was imported"):
        importer.apply(preview, cohort)
    assert counts() == before


@pytest.mark.parametrize(("bad", "expected"), BAD_CELLS)
def test_a_wrong_cell_is_reported_by_row_and_column_and_nothing_is_imported(
    cohort, existing, bad, expected
):
    rows = [bad, MENTEE] if bad["role"] == "mentor" else [MENTOR, bad]  # row 2 or row 3

    preview = importer.parse(csv_of(*rows, BOTH), cohort)

    assert [str(error) for error in preview.errors] == [expected]
    assert not preview.ok
    assert_nothing_imported(preview, cohort, existing)


def test_every_wrong_cell_of_every_row_is_reported(cohort):
    data = csv_of(
        row(MENTOR, email="nope", capacity="99"),
        row(MENTEE, skills="pyhton;javascrpt", availability="Mon 1-2;Funday 10:00-11:00"),
    )

    assert messages(data, cohort) == [
        'Row 2, email: "nope" is not an email address.',
        "Row 2, capacity: 99 is out of range; write 0 to 20 mentees at once.",
        'Row 3, skills: "pyhton" is not a skill we know; did you mean "python"?',
        'Row 3, skills: "javascrpt" is not a skill we know; did you mean "javascript"?',
        'Row 3, availability: "1" in "Mon 1-2" is not a time; write HH:MM, from 00:00 to 24:00.',
        'Row 3, availability: "Funday" in "Funday 10:00-11:00" is not a day; '
        "use Mon, Tue, Wed, Thu, Fri, Sat or Sun.",
    ]


def test_the_same_email_twice_is_reported_on_the_later_row(cohort, existing):
    data = csv_of(MENTOR, MENTEE, row(BOTH, email="MINA@example.org"))

    preview = importer.parse(data, cohort)

    assert [str(e) for e in preview.errors] == [
        'Row 4, email: "MINA@example.org" is also on row 3; each person can be on one row only.'
    ]
    assert_nothing_imported(preview, cohort, existing)


def test_row_numbers_follow_the_spreadsheet_blank_rows_and_multiline_cells_included(cohort):
    lost = {"timezone": "Nowhere/Land"}
    data = (
        csv_of(MENTOR).decode()  # rows 1 and 2
        + "\n"  # row 3
        + line_of(row(MENTEE, email="mo@example.org", goal="Two\nlines", **lost))  # row 4
        + "\n"  # row 5
        + line_of(row(MENTEE, **lost))  # row 6
    )

    assert messages(data, cohort) == [
        'Row 4, timezone: "Nowhere/Land" is not a time zone we know. '
        "Use a name like Europe/Lisbon.",
        'Row 6, timezone: "Nowhere/Land" is not a time zone we know. '
        "Use a name like Europe/Lisbon.",
    ]


def test_a_row_with_too_many_values_is_reported(cohort, existing):
    data = good_file() + b"zed@example.org,Zed,mentee,UTC,en,,A goal,,,Acme, Inc,,5\n"

    preview = importer.parse(data, cohort)

    assert [str(e) for e in preview.errors] == [
        "Row 5: this row has 13 values but the header has 12 columns; "
        "is there a comma inside a value that is not in quotes?"
    ]
    assert_nothing_imported(preview, cohort, existing)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param(
            [c for c in importer.COLUMNS if c != "goal"],
            ['Row 1, header: the column "goal" is missing.'],
            id="missing",
        ),
        pytest.param(
            [*importer.COLUMNS, "shoe_size"],
            ['Row 1, header: the column "shoe_size" is not one we know; remove it.'],
            id="extra",
        ),
        pytest.param(
            [c.replace("timezone", "timezon") for c in importer.COLUMNS],
            ['Row 1, header: the column "timezon" is not one we know; did you mean "timezone"?'],
            id="misspelt",
        ),
        pytest.param(
            [*importer.COLUMNS, "email"],
            ['Row 1, header: the column "email" appears twice.'],
            id="twice",
        ),
    ],
)
def test_a_wrong_header_is_reported_and_nothing_is_imported(cohort, existing, header, expected):
    preview = importer.parse(csv_of(MENTOR, header=header), cohort)

    assert [str(e) for e in preview.errors] == [
        *expected,
        "Row 1, header: the columns must be email, name, role, timezone, languages, skills, "
        "goal, capacity, availability, organisation, department, years_experience.",
    ]
    assert preview.rows == []
    assert_nothing_imported(preview, cohort, existing)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            b"",
            "The file is empty: it needs a header row and then one row per person.",
            id="empty",
        ),
        pytest.param(
            b" \r\n\r\n",
            "The file is empty: it needs a header row and then one row per person.",
            id="blank",
        ),
        pytest.param(
            csv_of(),
            "The file has a header row but nobody in it.",
            id="header-only",
        ),
        pytest.param(
            csv_of(row(MENTEE, name="Zoë")).decode().encode("latin-1"),
            "The file is not UTF-8 text (the first character it cannot read is on line 2). "
            'In your spreadsheet, save it as "CSV UTF-8" and upload it again.',
            id="latin-1",
        ),
        pytest.param(
            good_file().decode().encode("utf-16"),
            "The file is not UTF-8 text (the first character it cannot read is on line 1). "
            'In your spreadsheet, save it as "CSV UTF-8" and upload it again.',
            id="utf-16",
        ),
    ],
)
def test_an_unreadable_file_is_refused_with_a_clear_message(cohort, existing, data, expected):
    preview = importer.parse(data, cohort)

    assert [str(e) for e in preview.errors] == [expected]
    assert_nothing_imported(preview, cohort, existing)


def test_a_file_may_hold_the_largest_cohort():
    # 100,000 mentees and 20,000 mentors in one file (tests/load/bench_import.py imports it).
    assert importer.MAX_ROWS >= 120_000


def test_a_file_over_the_row_limit_is_refused(cohort, existing, monkeypatch):
    monkeypatch.setattr(importer, "MAX_ROWS", 2000)  # the same check as at 120,000, quicker
    data = csv_of() + line_of(MENTEE).encode() * 2001

    preview = importer.parse(data, cohort)

    assert [str(e) for e in preview.errors] == [
        "The file has 2,001 people; at most 2,000 can be imported at once. "
        "Split it into smaller files and import them one after the other."
    ]
    assert_nothing_imported(preview, cohort, existing)


def test_a_file_of_exactly_the_row_limit_is_checked_row_by_row(cohort, monkeypatch):
    monkeypatch.setattr(importer, "MAX_ROWS", 2000)
    data = csv_of() + line_of(MENTEE).encode() * 2000

    errors = importer.parse(data, cohort).errors

    assert len(errors) == 2000 - 1  # every row after the first repeats the email
    assert str(errors[0]).startswith("Row 3, email:")


def test_an_existing_person_needs_no_name_time_zone_or_languages(cohort):
    import_file(good_file(), cohort)

    preview = importer.parse(csv_of(row(MENTEE, name="", timezone="", languages="")), cohort)

    assert preview.ok
    assert preview.updated_people == 1


def test_a_person_with_an_account_but_no_profile_needs_a_time_zone(cohort):
    make_person("mina@example.org", name="Mina")

    assert messages(csv_of(row(MENTEE, name="", timezone="")), cohort) == [
        "Row 2, timezone: is empty; new people need a time zone, e.g. Europe/Lisbon."
    ]


def test_apply_refuses_a_preview_with_errors(cohort):
    preview = importer.parse(csv_of(row(MENTEE, role="teacher")), cohort)

    with pytest.raises(ValueError, match="The preview has errors"):
        importer.apply(preview, cohort)


def test_a_skill_deleted_between_preview_and_import_stops_the_import(cohort):
    preview = importer.parse(good_file(), cohort)
    before = counts()
    Skill.objects.filter(slug="public-speaking").delete()

    with pytest.raises(ValueError, match="public-speaking"):
        importer.apply(preview, cohort)
    assert counts() == before


# --- manage.py import_cohort ------------------------------------------------------------------


def run_command(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_cohort", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_creates_a_new_cohort_with_the_default_policy_and_imports(db, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(good_file())

    out, _ = run_command("autumn-2026", str(path))

    cohort = Cohort.objects.get(slug="autumn-2026")
    assert cohort.name == "Autumn 2026"
    assert (cohort.mentors_per_mentee, cohort.mode, cohort.organisation_policy) == (
        1,
        "regular",
        "ignore",
    )
    assert cohort.min_overlap_hours == 1
    assert out == (
        "Created the cohort Autumn 2026 (autumn-2026).\n"
        "Imported 3 people into Autumn 2026: 3 new, 0 updated; 3 newly enrolled "
        "(2 mentors, 2 mentees).\n"
    )
    assert cohort.enrollments.count() == 3


def test_command_imports_into_an_existing_cohort_again(cohort, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(good_file())
    run_command(cohort.slug, str(path))

    out, _ = run_command(cohort.slug, str(path))

    assert out == (
        "Imported 3 people into Spring 2026: 0 new, 3 updated; 0 newly enrolled "
        "(2 mentors, 2 mentees).\n"
    )
    assert Cohort.objects.count() == 1
    assert User.objects.count() == 3


def test_command_lists_every_problem_exits_non_zero_and_creates_nothing(db, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_of(row(MENTOR, capacity="25"), row(MENTEE, timezone="Mars/Olympus")))
    before = counts()

    with pytest.raises(CommandError, match=r"2 problems in .*people.csv; nothing was imported"):
        run_command("autumn-2026", str(path))

    assert counts() == before
    assert not Cohort.objects.filter(slug="autumn-2026").exists()


def test_command_prints_the_problems_on_stderr(cohort, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_of(row(MENTEE, timezone="Mars/Olympus")))
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("import_cohort", cohort.slug, str(path), stdout=StringIO(), stderr=err)

    assert err.getvalue() == (
        'Row 2, timezone: "Mars/Olympus" is not a time zone we know. '
        "Use a name like Europe/Lisbon.\n"
    )


def test_command_refuses_a_missing_file_and_a_bad_slug(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run_command("autumn", str(tmp_path / "nowhere.csv"))
    path = tmp_path / "people.csv"
    path.write_bytes(good_file())
    with pytest.raises(CommandError, match="Cannot create a cohort 'not a slug'"):
        run_command("not a slug", str(path))
    assert not Cohort.objects.exists()
