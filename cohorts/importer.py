"""Import a cohort's people from a CSV file: check every row first, then write them all at once.

`parse` reads and checks the whole file and writes nothing; the admin sees a preview and, for
every wrong cell, the row (spreadsheet numbering: the header is row 1), the column and what is
wrong in plain words. `apply` writes a clean preview in one transaction, set-based: a constant
number of statements whatever the number of rows, a COPY per table on PostgreSQL
(`mentorship.bulk`), so that a cohort of 100,000 mentees and 20,000 mentors imports in about a
minute (tests/load/bench_import.py).

The file is UTF-8 with a header row and one person a row; the columns are COLUMNS, in any order.
People who already have an account (matched by email, whatever its case) are enrolled and
invited, and nothing of their account changes: their own profile is what matching reads. A
value that would otherwise be dropped without a word (a goal on a mentor's row, a capacity or
skill levels on a mentee's row) is an error rather than ignored.

Limits: MAX_BYTES per uploaded file (refused from the request's size, before it is read) and
MAX_ROWS people per file, uploaded or given to manage.py import_cohort.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from zoneinfo import available_timezones

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEntry
from cohorts.models import Cohort, Enrollment
from cohorts.services import queue_invitations
from matching.loader import bump_version
from mentorship import bulk
from profiles.availability import MINUTES_PER_DAY, WEEKDAYS, Window
from profiles.forms import MAX_EXPERTISE
from profiles.languages import LANGUAGES
from profiles.models import (
    AvailabilityWindow,
    Expertise,
    Goal,
    MentorOffer,
    Profile,
    Skill,
    User,
)

COLUMNS = (
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
)
MAX_ROWS = 120_000  # a cohort of 100,000 mentees and 20,000 mentors, in one file
# An upload's limit (the proxy's is 6 MB): about 20,000 full rows, which parse and apply within a
# web request. A larger file (120,000 rows take about 27 MB) goes through manage.py import_cohort.
MAX_BYTES = 5 * 1024 * 1024
MAX_REQUEST = MAX_BYTES + 64 * 1024  # the form around the file
EXAMPLE_ROWS = (
    (
        "ana.costa@example.org",
        "Ana Costa",
        "mentor",
        "Europe/Lisbon",
        "pt;en",
        "python:5;data-engineering:4",
        "",
        "2",
        "Tue 18:00-20:00;Thu 18:00-20:00",
        "Acme",
        "Data",
        "12",
    ),
    (
        "tomas.reyes@example.org",
        "Tomás Reyes",
        "mentee",
        "America/Bogota",
        "es;en",
        "python;databases",
        "Move from analytics into data engineering",
        "",
        "Tue 12:00-14:00;Sat 09:00-12:00",
        "Acme",
        "Finance",
        "3",
    ),
)


def too_large_message() -> str:
    return (
        f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB, the most an upload takes "
        "(about 20,000 people). Split it into smaller files and import them one after the "
        "other, or import it whole with manage.py import_cohort."
    )


def template_csv() -> str:
    """The columns and example rows, to start a file from."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(EXAMPLE_ROWS)
    return out.getvalue()


DEFAULT_CAPACITY = 2
MAX_CAPACITY = 20
MAX_YEARS = 70
BATCH = 2000  # addresses per `IN (...)` list, on databases other than PostgreSQL

ROLES = tuple(Enrollment.Role.values)
DAYS = {day.lower(): i for i, day in enumerate(WEEKDAYS)} | {
    day[:3].lower(): i for i, day in enumerate(WEEKDAYS)
}
WINDOW = re.compile(r"^(?P<day>\S+)\s+(?P<start>\S+?)\s*[-\u2013]\s*(?P<end>\S+)$")
TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
LEVEL = re.compile(r"\d{1,9}")
WHOLE_NUMBER = re.compile(r"[+-]?\d+")
# Django's check of the part before the @, compiled once (its own is compiled lazily, and each
# use of a lazy object costs as much as the match).
EMAIL_USER = re.compile(validate_email.user_regex.pattern, validate_email.user_regex.flags)
LANGUAGE_NAMES = {name.lower(): code for code, name in LANGUAGES.items()}
MAX_LENGTHS = {
    "email": 254,
    "name": User._meta.get_field("name").max_length,
    "goal": Goal._meta.get_field("title").max_length,
    "organisation": Profile._meta.get_field("organisation").max_length,
    "department": Profile._meta.get_field("department").max_length,
}


@dataclass(frozen=True)
class RowError:
    """One thing wrong with the file. Row 0 is the file as a whole; row 1 is the header."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if not self.row:
            return self.message
        if not self.column:
            return f"Row {self.row}: {self.message}"
        return f"Row {self.row}, {self.column}: {self.message}"


@dataclass
class ParsedRow:
    """One person, checked. Optional fields are None (or empty) where the cell was blank."""

    row: int
    email: str
    name: str
    role: str
    timezone: str
    languages: list[str]
    skills: list[tuple[str, int | None]]  # (slug, level); a level only where one was written
    goal: str
    capacity: int | None
    windows: list[Window] | None  # None: the cell was blank, keep the person's week
    organisation: str
    department: str
    years_experience: int | None
    is_new: bool  # no account with this address yet

    @property
    def is_mentor(self) -> bool:
        return self.role in (Enrollment.Role.MENTOR, Enrollment.Role.BOTH)

    @property
    def is_mentee(self) -> bool:
        return self.role in (Enrollment.Role.MENTEE, Enrollment.Role.BOTH)

    @property
    def expertise(self) -> list[tuple[str, int]]:
        """The skills this person can teach, with their level (mentors only)."""
        if not self.is_mentor:
            return []
        return [(slug, level) for slug, level in self.skills if level is not None]

    @property
    def goal_skills(self) -> list[str]:
        """The skills the goal is about (mentees only): every skill on the row."""
        return [slug for slug, _ in self.skills] if self.is_mentee else []


@dataclass
class Preview:
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    new_people: int = 0
    updated_people: int = 0
    mentors: int = 0
    mentees: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class ImportResult:
    created: int  # people who had no account
    updated: int  # people who had one: enrolled and invited, their account left as it is
    enrolled: int  # people newly enrolled in the cohort (the others were in it already)


class Wrong(Exception):
    """A value is wrong; each argument is one thing wrong with it, in plain words."""


# --- Reading and checking ---------------------------------------------------------------------


def parse(data: bytes | str, cohort: Cohort) -> Preview:
    """Read and check the whole file against the database as it is now; write nothing.

    The cohort may be unsaved (manage.py import_cohort checks a file before creating it)."""
    try:
        records = _records(data)
        header = next(records, None)
        if header is None or not any(cell.strip() for cell in header):
            raise Wrong("The file is empty: it needs a header row and then one row per person.")
        columns, errors = _read_header(header)
        if errors:
            return Preview(errors=errors)
        body = [
            (number, cells)
            for number, cells in enumerate(records, start=2)
            if any(cell.strip() for cell in cells)  # blank lines and rows of empty cells
        ]
    except Wrong as error:
        return Preview(errors=[RowError(0, "", str(error))])
    except csv.Error as error:
        return Preview(errors=[RowError(0, "", f"The file cannot be read as CSV ({error}).")])
    if not body:
        return Preview(errors=[RowError(0, "", "The file has a header row but nobody in it.")])
    if len(body) > MAX_ROWS:
        message = (
            f"The file has {len(body):,} people; at most {MAX_ROWS:,} can be imported at once. "
            "Split it into smaller files and import them one after the other."
        )
        return Preview(errors=[RowError(0, "", message)])

    checker = _Checker(emails=[_email_key(cells, columns) for _, cells in body])
    preview = Preview()
    for number, cells in body:
        row, row_errors = checker.check(number, cells, columns)
        preview.errors.extend(row_errors)
        if row is not None:
            preview.rows.append(row)
    preview.new_people = sum(row.is_new for row in preview.rows)
    preview.updated_people = len(preview.rows) - preview.new_people
    preview.mentors = sum(row.is_mentor for row in preview.rows)
    preview.mentees = sum(row.is_mentee for row in preview.rows)
    return preview


def _records(data: bytes | str) -> Iterator[list[str]]:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")  # spreadsheets write a BOM in "CSV UTF-8"
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise Wrong(
                f"The file is not UTF-8 text (the first character it cannot read is on line "
                f'{line}). In your spreadsheet, save it as "CSV UTF-8" and upload it again.'
            ) from None
    data = data.removeprefix("\ufeff")
    if "\x00" in data:
        # PostgreSQL stores no NUL; UTF-16 without its byte-order mark decodes as "UTF-8" with a
        # NUL after every letter, so say how to save the file rather than which cell has one.
        line = data[: data.index("\x00")].count("\n") + 1
        raise Wrong(
            f"The file contains a NUL character (on line {line}), so it is not plain text. In "
            'your spreadsheet, save it as "CSV UTF-8" and upload it again.'
        )
    if not data.strip():
        raise Wrong("The file is empty: it needs a header row and then one row per person.")
    return csv.reader(io.StringIO(data, newline=""))


def _read_header(header: list[str]) -> tuple[dict[str, int], list[RowError]]:
    names = [cell.strip().lower() for cell in header]
    while names and not names[-1]:
        names.pop()  # trailing empty columns, as some spreadsheets export them
    columns: dict[str, int] = {}
    errors: list[RowError] = []
    unknown: list[str] = []
    for index, name in enumerate(names):
        if not name:
            errors.append(RowError(1, "header", f"column {index + 1} has no name."))
        elif name in columns:
            errors.append(RowError(1, "header", f'the column "{name}" appears twice.'))
        elif name in COLUMNS:
            columns[name] = index
        else:
            unknown.append(header[index].strip())
    missing = [name for name in COLUMNS if name not in columns]
    for name in unknown:
        close = difflib.get_close_matches(name.lower(), missing, n=1, cutoff=0.6)
        if close:
            message = f'the column "{name}" is not one we know; did you mean "{close[0]}"?'
            missing.remove(close[0])
        else:
            message = f'the column "{name}" is not one we know; remove it.'
        errors.append(RowError(1, "header", message))
    for name in missing:
        errors.append(RowError(1, "header", f'the column "{name}" is missing.'))
    if errors:
        errors.append(RowError(1, "header", "the columns must be " + ", ".join(COLUMNS) + "."))
    return columns, errors


def _email_key(cells: list[str], columns: dict[str, int]) -> str:
    index = columns["email"]
    return cells[index].strip().lower() if index < len(cells) else ""


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())  # reads the zone files: once per process


@lru_cache(maxsize=1024)  # a wrong column repeats the same wrong value on every row
def _closest_zone(value: str) -> str | None:
    zones = _time_zones()
    close = {zone.lower(): zone for zone in zones}.get(value.lower())
    return close or next(iter(difflib.get_close_matches(value, zones, 1, 0.8)), None)


class _Checker:
    """Checks rows against the skills taxonomy and the people already there (one query each)."""

    def __init__(self, *, emails: list[str]) -> None:
        self.skills: set[str] = set()
        self.skill_aliases: dict[str, str] = {}
        for slug, name, synonyms in Skill.objects.values_list("slug", "name", "synonyms"):
            self.skills.add(slug)
            for alias in [name, *(synonyms or [])]:
                self.skill_aliases.setdefault(str(alias).lower(), slug)
        # email -> whether the person has a profile
        self.people = {email: has for email, (_, has) in _accounts(emails).items()}
        self.seen: dict[str, int] = {}
        self.suggestions: dict[str, str | None] = {}
        # Cells that were right before, with what they read as: a large file repeats them.
        self.known_languages: dict[tuple[str, bool], tuple[str, ...]] = {}
        self.known_skills: dict[tuple[str, str | None], tuple[tuple[str, int | None], ...]] = {}

    def check(
        self, number: int, cells: list[str], columns: dict[str, int]
    ) -> tuple[ParsedRow | None, list[RowError]]:
        width = max(columns.values()) + 1
        if len(cells) < width or any(cell.strip() for cell in cells[width:]):
            message = (
                f"this row has {len(cells)} values but the header has {width} columns; "
                "is there a comma inside a value that is not in quotes?"
            )
            return None, [RowError(number, "", message)]
        cell = {name: cells[index].strip() for name, index in columns.items()}
        errors: list[RowError] = []

        def read(column: str, reader, *args):
            try:
                return reader(cell[column], *args)
            except Wrong as error:
                errors.extend(RowError(number, column, message) for message in error.args)
                return None

        email = read("email", self.email, number)
        is_new = email is None or email not in self.people
        needs_profile = is_new or not self.people[email]
        name = read("name", self.name, is_new)
        role = read("role", self.role)
        tz = read("timezone", self.timezone, needs_profile)
        languages = read("languages", self.languages, needs_profile)
        skills = read("skills", self.skills_of, role)
        goal = read("goal", self.goal, role)
        capacity = read("capacity", self.capacity, role)
        windows = read("availability", self.availability)
        organisation = read("organisation", self.text, "organisation")
        department = read("department", self.text, "department")
        years = read("years_experience", self.years)
        if errors:
            return None, errors
        row = ParsedRow(
            row=number,
            email=email,
            name=name,
            role=role,
            timezone=tz,
            languages=languages,
            skills=skills,
            goal=goal,
            capacity=capacity,
            windows=windows,
            organisation=organisation,
            department=department,
            years_experience=years,
            is_new=is_new,
        )
        return row, []

    # Each reader takes the stripped cell and returns the value, or raises Wrong.

    def email(self, value: str, number: int) -> str:
        if not value:
            raise Wrong("is empty; every row needs the person's email address.")
        if not _is_email(value):
            raise Wrong(f'"{value}" is not an email address.')
        if len(value) > MAX_LENGTHS["email"]:
            raise Wrong(f"is longer than {MAX_LENGTHS['email']} characters.")
        email = value.lower()
        first = self.seen.setdefault(email, number)
        if first != number:
            raise Wrong(f'"{value}" is also on row {first}; each person can be on one row only.')
        return email

    def name(self, value: str, is_new: bool) -> str:
        if not value and is_new:
            raise Wrong("is empty; new people need a name.")
        return self.text(value, "name")

    def role(self, value: str) -> str:
        role = value.lower()
        if role not in ROLES:
            shown = f'"{value}" is not a role' if value else "is empty"
            raise Wrong(f"{shown}; write mentor, mentee or both.")
        return role

    def timezone(self, value: str, required: bool) -> str:
        if not value:
            if required:
                raise Wrong("is empty; new people need a time zone, e.g. Europe/Lisbon.")
            return ""
        if value in _time_zones():
            return value
        message = f'"{value}" is not a time zone we know.'
        close = _closest_zone(value)
        raise Wrong(
            message + (f' Did you mean "{close}"?' if close else " Use a name like Europe/Lisbon.")
        )

    def languages(self, value: str, required: bool) -> list[str]:
        known = self.known_languages.get((value, required))
        if known is None:
            known = self.known_languages[value, required] = tuple(
                self.read_languages(value, required)
            )
        return list(known)

    def read_languages(self, value: str, required: bool) -> list[str]:
        codes = list(dict.fromkeys(c.strip().lower() for c in re.split(r"[;,]", value)))
        codes = [code for code in codes if code]
        if not codes and required:
            raise Wrong("is empty; new people need at least one language, e.g. en;es.")
        problems = []
        for code in codes:
            if code not in LANGUAGES:
                hint = LANGUAGE_NAMES.get(code)
                problems.append(
                    f'"{code}" is not a language code we know; '
                    + (f'did you mean "{hint}"?' if hint else "use two-letter codes like en;es.")
                )
        if problems:
            raise Wrong(*problems)
        return codes

    def skills_of(self, value: str, role: str | None) -> list[tuple[str, int | None]]:
        known = self.known_skills.get((value, role))
        if known is None:
            known = self.known_skills[value, role] = tuple(self.read_skills(value, role))
        return list(known)

    def read_skills(self, value: str, role: str | None) -> list[tuple[str, int | None]]:
        skills: dict[str, int | None] = {}
        problems = []
        for entry in (e.strip() for e in value.split(";")):
            if not entry:
                continue
            slug, colon, level_text = (part.strip() for part in entry.partition(":"))
            slug = slug.lower()
            # At most nine digits: int() refuses more than 4,300, and 5 is the highest level.
            level = int(level_text) if LEVEL.fullmatch(level_text) else None
            if slug not in self.skills:
                problems.append(self.unknown_skill(slug))
            elif slug in skills:
                problems.append(f'"{slug}" is listed twice.')
            elif colon and (level is None or not 1 <= level <= 5):
                problems.append(f'the level of "{slug}" is "{level_text}"; levels go from 1 to 5.')
            elif role == Enrollment.Role.MENTOR and not colon:
                problems.append(f'"{slug}" needs a level from 1 to 5, e.g. {slug}:4.')
            elif role == Enrollment.Role.MENTEE and colon:
                problems.append(
                    f'mentees list skills without levels: write "{slug}", not "{entry}" '
                    "(or make the role both)."
                )
            skills.setdefault(slug, level if colon else None)
        is_mentor = role in (Enrollment.Role.MENTOR, Enrollment.Role.BOTH)
        if not problems and is_mentor and all(level is None for level in skills.values()):
            problems.append("a mentor needs at least one skill with a level, e.g. python:4.")
        taught = sum(level is not None for level in skills.values())
        if taught > MAX_EXPERTISE:  # more than the mentor's own page could then save
            problems.append(
                f"lists {taught} skills with a level; a mentor can teach at most {MAX_EXPERTISE}."
            )
        if problems:
            raise Wrong(*problems)
        return list(skills.items())

    def unknown_skill(self, slug: str) -> str:
        if slug not in self.suggestions:
            close = self.skill_aliases.get(slug) or self.skill_aliases.get(slug.replace("-", " "))
            if close is None:
                close = next(iter(difflib.get_close_matches(slug, self.skills, 1, 0.6)), None)
            self.suggestions[slug] = close
        close = self.suggestions[slug]
        return f'"{slug}" is not a skill we know' + (f'; did you mean "{close}"?' if close else ".")

    def goal(self, value: str, role: str | None) -> str:
        if role == Enrollment.Role.MENTOR and value:
            raise Wrong("only mentees have a goal; leave it empty, or make the role both.")
        if role in (Enrollment.Role.MENTEE, Enrollment.Role.BOTH) and not value:
            raise Wrong('is empty; a mentee needs a goal, e.g. "Lead my first team".')
        return self.text(value, "goal")

    def capacity(self, value: str, role: str | None) -> int | None:
        if not value:
            return None
        if role == Enrollment.Role.MENTEE:
            raise Wrong("only mentors have a capacity; leave it empty, or make the role both.")
        return self.number(value, 0, MAX_CAPACITY, "mentees at once")

    def years(self, value: str) -> int | None:
        return self.number(value, 0, MAX_YEARS, "years") if value else None

    @staticmethod
    def number(value: str, low: int, high: int, unit: str) -> int:
        if not WHOLE_NUMBER.fullmatch(value):
            raise Wrong(f'"{value}" is not a whole number; write {low} to {high} {unit}.')
        # int() refuses more than 4,300 digits; any number of more than nine is out of range.
        number = int(value) if len(value) <= 9 else None
        if number is None or not low <= number <= high:
            shown = f"{value[:9]}…" if number is None else number
            raise Wrong(f"{shown} is out of range; write {low} to {high} {unit}.")
        return number

    @staticmethod
    def text(value: str, column: str) -> str:
        limit = MAX_LENGTHS[column]
        if len(value) > limit:
            raise Wrong(f"is {len(value)} characters long; at most {limit} fit.")
        return value

    @staticmethod
    def availability(value: str) -> list[Window] | None:
        if not value:
            return None
        windows: set[Window] = set()
        problems = []
        for entry in (e.strip() for e in value.split(";")):
            if not entry:
                continue
            try:
                windows.add(_window(entry))
            except Wrong as error:
                problems.extend(error.args)
        if problems:
            raise Wrong(*problems)
        return sorted(windows)


def _is_email(value: str) -> bool:
    """Django's validate_email, with each domain checked once: a file has few of them."""
    user, at, domain = value.rpartition("@")
    return bool(at) and len(value) <= 320 and bool(EMAIL_USER.match(user)) and _is_domain(domain)


@lru_cache(maxsize=4096)
def _is_domain(domain: str) -> bool:
    try:
        validate_email(f"someone@{domain}")
    except ValidationError:
        return False
    return True


@lru_cache(maxsize=8192)  # a large file repeats its windows; a wrong one raises, never cached
def _window(entry: str) -> Window:
    match = WINDOW.match(entry)
    if not match:
        raise Wrong(f'"{entry}" is not a weekly window; write it like Mon 09:00-12:00.')
    day = DAYS.get(match["day"].lower())
    if day is None:
        raise Wrong(
            f'"{match["day"]}" in "{entry}" is not a day; use Mon, Tue, Wed, Thu, Fri, Sat or Sun.'
        )
    start, end = _minutes(match["start"], entry), _minutes(match["end"], entry)
    if start >= MINUTES_PER_DAY or end <= start:
        raise Wrong(
            f'"{entry}" does not end after it starts. A window stays within one day: '
            "write Mon 22:00-24:00;Tue 00:00-02:00 for one across midnight."
        )
    return Window(day, start, end)


def _minutes(text: str, entry: str) -> int:
    match = TIME.match(text)
    if match:
        hours, minutes = int(match[1]), int(match[2])
        if minutes < 60 and hours * 60 + minutes <= MINUTES_PER_DAY:
            return hours * 60 + minutes
    raise Wrong(f'"{text}" in "{entry}" is not a time; write HH:MM, from 00:00 to 24:00.')


def _accounts(emails: Iterable[str]) -> dict[str, tuple[int, bool]]:
    """Lower-cased address -> (user id, whether they have a profile), for the addresses that
    have an account."""
    wanted = sorted({email for email in emails if email})
    if connection.vendor == "postgresql":
        # One query for any number of addresses, through the index on lower(email): a list of
        # 2,000 placeholders costs psycopg more to write out than PostgreSQL to answer.
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT lower(u.email), u.id, p.id IS NOT NULL "  # noqa: S608
                f"FROM {quote(User._meta.db_table)} u "
                f"LEFT JOIN {quote(Profile._meta.db_table)} p ON p.user_id = u.id "
                f"WHERE lower(u.email) = ANY(%s)",
                [wanted],
            )
            return {address: (pk, has_profile) for address, pk, has_profile in cursor}
    found: dict[str, tuple[int, bool]] = {}
    for chunk in _chunks(wanted):
        people = (
            User.objects.annotate(address=Lower("email"))
            .filter(address__in=chunk)
            .values_list("address", "pk", "profile__id")
        )
        found.update((address, (pk, profile is not None)) for address, pk, profile in people)
    return found


# --- Writing ----------------------------------------------------------------------------------


@transaction.atomic
def apply(preview: Preview, cohort: Cohort, *, by: User | None = None) -> ImportResult:
    """Write a clean preview: new people with their profiles, offers, expertise, goals and weeks;
    everyone enrolled as invited, with an invitation queued for after the commit.

    An account that exists is never modified: a cohort admin must not rewrite someone else's
    name, week or skills. It is enrolled and invited, and its profile stays its owner's. People
    are matched again by address here, so someone who signed up since the preview is treated as
    existing rather than created twice.

    Everything of a new account is new, so it is inserted without reading anything first: on
    PostgreSQL one COPY per table (120,000 people in well under a minute, see
    tests/load/bench_import.py), elsewhere (SQLite, `make run`) bulk_create."""
    if not preview.ok:
        raise ValueError("The preview has errors: fix the file, nothing was imported.")
    rows = preview.rows
    now = timezone.now()
    ids = {email: pk for email, (pk, _) in _accounts(row.email for row in rows).items()}
    created = [row for row in rows if row.email not in ids]
    ids.update(zip([row.email for row in created], _create_accounts(created, now), strict=True))

    _write_profiles(created, ids)
    mentors = [row for row in created if row.is_mentor]
    _write_offers(mentors, ids)
    _write_expertise(mentors, ids)
    _write_weeks([row for row in created if row.windows], ids)
    _write_goals([row for row in created if row.is_mentee], ids)
    enrolled = _enrol(rows, ids, cohort)
    queue_invitations(cohort)
    audit.record(
        action=AuditEntry.Action.IMPORT,
        by=by,
        cohort=cohort,
        target=f"{len(rows)} {'person' if len(rows) == 1 else 'people'}",
        detail={
            "people": len(rows),
            "new_accounts": len(created),
            "existing_accounts": len(rows) - len(created),
            "newly_enrolled": enrolled,
            "mentors": preview.mentors,
            "mentees": preview.mentees,
        },
    )

    # Bulk writes send no signals: tell the matching engine its mentor features are stale, now
    # and after commit, as matching/signals.py does for single saves.
    bump_version()
    transaction.on_commit(bump_version)
    return ImportResult(created=len(created), updated=len(rows) - len(created), enrolled=enrolled)


def _create_accounts(rows: list[ParsedRow], now: datetime) -> list[int]:
    """New accounts, in the rows' order, each with its address as allauth keeps it (primary,
    not verified yet). None has a password: the invitation link signs its person in once, and
    they choose one."""
    # What make_password(None) stores, without its 80 µs a row: the unusable-password prefix
    # and 40 random characters, which allauth's reset keys (the invitation's sign-in) hash.
    ids = bulk.insert(
        User,
        ["email", "name", "password", "date_joined"],
        [
            (row.email, row.name, UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30), now)
            for row in rows
        ],
        ids=True,
    )
    bulk.insert(
        EmailAddress,
        ["user_id", "email", "verified", "primary"],
        [(pk, row.email, False, True) for pk, row in zip(ids, rows, strict=True)],
    )
    return ids


def _write_profiles(rows: list[ParsedRow], ids: dict[str, int]) -> None:
    """A profile for each new person: the row's time zone, languages and work, and its roles."""
    no_years = Profile._meta.get_field("years_experience").get_default()
    bulk.insert(
        Profile,
        [
            "user_id",
            "timezone",
            "languages",
            "organisation",
            "department",
            "years_experience",
            "is_mentee",
            "is_mentor",
        ],
        [
            (
                ids[row.email],
                row.timezone,
                row.languages,
                row.organisation,
                row.department,
                no_years if row.years_experience is None else row.years_experience,
                row.is_mentee,
                row.is_mentor,
            )
            for row in rows
        ],
    )


def _write_offers(rows: list[ParsedRow], ids: dict[str, int]) -> None:
    """A new mentor's offer takes the row's capacity, DEFAULT_CAPACITY where it is blank."""
    bulk.insert(
        MentorOffer,
        ["user_id", "capacity"],
        [
            (ids[row.email], DEFAULT_CAPACITY if row.capacity is None else row.capacity)
            for row in rows
        ],
    )


def _write_expertise(rows: list[ParsedRow], ids: dict[str, int]) -> None:
    skills = _skill_ids(slug for row in rows for slug, _ in row.expertise)
    bulk.insert(
        Expertise,
        ["user_id", "skill_id", "level"],
        [(ids[row.email], skills[slug], level) for row in rows for slug, level in row.expertise],
    )


def _write_weeks(rows: list[ParsedRow], ids: dict[str, int]) -> None:
    """The person's week, stored in their local time."""
    bulk.insert(
        AvailabilityWindow,
        ["user_id", "weekday", "start_minute", "end_minute"],
        [(ids[row.email], w.weekday, w.start, w.end) for row in rows for w in row.windows or []],
    )


def _write_goals(rows: list[ParsedRow], ids: dict[str, int]) -> None:
    """A new mentee's goal, about every skill on their row."""
    goal_ids = bulk.insert(
        Goal, ["owner_id", "title"], [(ids[row.email], row.goal) for row in rows], ids=True
    )
    skills = _skill_ids(slug for row in rows for slug in row.goal_skills)
    bulk.insert(
        Goal.skills.through,
        ["goal_id", "skill_id"],
        [
            (goal, skills[slug])
            for goal, row in zip(goal_ids, rows, strict=True)
            for slug in row.goal_skills
        ],
    )


def _skill_ids(slugs: Iterable[str]) -> dict[str, int]:
    wanted = set(slugs)
    skills = dict(Skill.objects.filter(slug__in=wanted).values_list("slug", "id"))
    gone = wanted - skills.keys()
    if gone:
        # Only when someone deleted a skill between the preview and the import.
        raise ValueError(f"These skills no longer exist: {', '.join(sorted(gone))}.")
    return skills


def _enrol(rows: list[ParsedRow], ids: dict[str, int], cohort: Cohort) -> int:
    """Enrol everyone with their row's role; new enrollments are invited, others keep their
    status. Returns how many were new."""
    # An existing enrollment keeps its address as stored, whatever its case, so that the upsert
    # finds it on (cohort, email).
    stored = {
        email.lower(): email
        for email in Enrollment.objects.filter(cohort=cohort).values_list("email", flat=True)
    }
    invited = Enrollment.Status.INVITED
    bulk.upsert(
        Enrollment,
        ["cohort_id", "email", "user_id", "role", "status"],
        [
            (cohort.pk, stored.get(row.email, row.email), ids[row.email], row.role, invited)
            for row in rows
        ],
        unique=["cohort", "email"],
        update=["role", "user"],
    )
    return sum(row.email not in stored for row in rows)


def _chunks(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
