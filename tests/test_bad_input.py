"""Bad input gets a clear answer, never a 500, and saves nothing: one row per case, with who is
signed in, what they send, and what they are told (400 from the middleware, a form error next to
the field, or a message on the next page).

Sia (a mentee in Sydney) and Leo (her mentor, in London) have an upcoming meeting and one they
held; Ada runs a cohort whose matching run proposed two pairs. Most rows post multipart bodies,
as the test client does, so the views themselves must refuse what RejectNulMiddleware (url-encoded
forms and query strings only) never sees."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from cohorts import importer, matchrun
from cohorts.models import Cohort, Enrollment, MatchRun, PairRule, Proposal
from meetings import services
from meetings.forms import NUL_MESSAGE, SLOT_GONE
from meetings.models import ActionItem, AgendaItem, CheckIn, Meeting, Milestone, Note, Reminder
from profiles.forms import MAX_EXPERTISE
from profiles.models import Email, Expertise, Goal, MentorOffer, Skill, User
from tests.cohorts.conftest import enrol
from tests.cohorts.test_importer import MENTEE, MENTOR, csv_of, row
from tests.conftest import make_person
from tests.matching.conftest import make_mentee, make_mentor
from tests.meetings.conftest import LONDON, held_meeting, make_pair

LENGTH = "A meeting lasts from 15 minutes to 4 hours."
TOO_MANY_SKILLS = f"List at most {MAX_EXPERTISE} skills you can teach."
SWAP_TWO = "Select exactly two pairs to swap their mentors."


def in_days(days: int):
    return timezone.now().replace(second=0, microsecond=0) + timedelta(days=days)


# --- Who is there -------------------------------------------------------------------------------


@pytest.fixture
def world(db) -> SimpleNamespace:
    """Sia and Leo with an upcoming and a held meeting; Ada's cohort and run only when the row
    needs them (a matching run takes a moment)."""
    pair = make_pair()
    upcoming = services.schedule(
        pair, pair.mentee, starts_at=in_days(5), duration=60, place="Room 4"
    )
    return SimpleNamespace(
        pair=pair,
        mentee=pair.mentee,
        mentor=pair.mentor,
        upcoming=upcoming,
        held=held_meeting(pair),
        goal=pair.goals.first(),
    )


@pytest.fixture
def cohort_run(world) -> SimpleNamespace:
    ada = make_person("ada@example.org", name="Ada Admin")
    cohort = Cohort.objects.create(name="Spring 2027", slug="spring-2027")
    cohort.admins.add(ada)
    for i in range(2):
        enrol(cohort, make_mentee(f"mentee{i}@example.org", f"Mentee {i}"), "mentee")
        enrol(cohort, make_mentor(f"mentor{i}@example.org", f"Mentor {i}", capacity=1), "mentor")
    run = matchrun.execute(MatchRun.objects.create(cohort=cohort).pk)
    proposals = list(run.proposals.order_by("pk"))
    assert len(proposals) == 2
    return SimpleNamespace(admin=ada, cohort=cohort, run=run, proposals=proposals)


def saved() -> dict:
    """Everything a bad request could have written."""
    counts = {
        model.__name__: model.objects.count()
        for model in (
            Meeting,
            Reminder,
            Email,
            AgendaItem,
            Note,
            ActionItem,
            Milestone,
            CheckIn,
            Expertise,
            MentorOffer,
            Goal,
            PairRule,
            Enrollment,
            User,
        )
    }
    return {
        **counts,
        "meetings": list(
            Meeting.objects.order_by("pk").values_list(
                "starts_at", "duration_minutes", "place", "sequence", "status"
            )
        ),
        "proposals": list(
            Proposal.objects.order_by("pk").values_list("mentee", "mentor", "locked")
        ),
        "expertise": list(Expertise.objects.order_by("pk").values_list("skill", "level", "years")),
    }


# --- What they are told -------------------------------------------------------------------------


def field_errors(form: str, name: str) -> Callable:
    """The errors drawn next to one field of a form on the page."""
    return lambda response: list(response.context[form].errors.get(name, []))


def form_errors(form: str) -> Callable:
    """The errors drawn above a form's fields."""
    return lambda response: list(response.context[form].non_field_errors())


def formset_errors(formset: str) -> Callable:
    return lambda response: list(response.context[formset].non_form_errors())


def import_errors(response) -> list[str]:
    return [str(error) for error in response.context["preview"].errors]


def move_errors(response) -> list[str]:
    """The errors drawn beside the fields (and above them) of the refused meeting's move form."""
    form = response.context["move_form"]
    return [message for errors in form.errors.values() for message in errors]


def told(response) -> list[str]:
    """The messages the request left, shown on the page it rendered or the next one."""
    return [str(message) for message in get_messages(response.wsgi_request)]


def body(response) -> list[str]:
    return [response.content.decode()]


# --- The table ----------------------------------------------------------------------------------


def slot(days: int = 3, offset: str | None = None) -> Callable[[SimpleNamespace], str]:
    """A suggested slot's value as its button posts it (UTC, ISO 8601), or with another offset
    written after the same wall-clock time."""

    def value(w) -> str:
        start = in_days(days).replace(minute=0)
        if offset is None:
            return start.isoformat()
        return start.replace(tzinfo=None).isoformat() + offset

    return value


def typed(**fields) -> dict:
    """The plan form filled in a sensible way, then spoiled by `fields`."""
    return {
        "day": lambda w: in_days(4).date().isoformat(),
        "start": "19:00",
        "duration": "60",
        "place": "",
        **fields,
    }


def import_file(data: bytes) -> dict:
    return {"file": lambda w: SimpleUploadedFile("people.csv", data, content_type="text/csv")}


@dataclass(frozen=True)
class Case:
    id: str
    who: str  # mentee, mentor or admin
    url: Callable[[SimpleNamespace], str]
    data: dict = field(default_factory=dict)
    status: int = 400
    said: str = ""
    shown: Callable = body
    method: str = "post"
    encoding: str = "multipart"  # or "urlencoded", which the middleware reads
    headers: dict = field(default_factory=dict)


def schedule_url(w) -> str:
    return reverse("meetings:schedule", args=[w.pair.pk])


def move_url(w) -> str:
    return reverse("meetings:reschedule", args=[w.pair.pk, w.upcoming.pk])


def swap_url(w) -> str:
    return reverse("cohorts:swap", args=[w.cohort.slug])


def import_url(w) -> str:
    return reverse("cohorts:import", args=[w.cohort.slug])


def first_proposal(w) -> str:
    return str(w.proposals[0].pk)


CASES = [
    # Booking a suggested slot: the button posts slot and duration; anything else is tampering.
    Case(
        "slot-duration-negative",
        "mentee",
        schedule_url,
        {"slot": slot(), "duration": "-60"},
        said=LENGTH,
        shown=field_errors("schedule_form", "duration"),
    ),
    Case(
        "slot-duration-past-smallint",
        "mentee",
        schedule_url,
        {"slot": slot(), "duration": "40000"},
        said=LENGTH,
        shown=field_errors("schedule_form", "duration"),
    ),
    Case(
        "slot-duration-10-to-the-30",
        "mentee",
        schedule_url,
        {"slot": slot(), "duration": str(10**30)},
        said=LENGTH,
        shown=field_errors("schedule_form", "duration"),
    ),
    Case(
        "slot-duration-500-hours",
        "mentee",
        schedule_url,
        {"slot": slot(), "duration": "30000"},
        said=LENGTH,
        shown=field_errors("schedule_form", "duration"),
    ),
    Case(
        "slot-duration-not-a-number",
        "mentee",
        schedule_url,
        {"slot": slot(), "duration": "abc"},
        said=LENGTH,
        shown=field_errors("schedule_form", "duration"),
    ),
    Case(
        "slot-place-5000-characters",
        "mentee",
        schedule_url,
        {"slot": slot(), "duration": "60", "place": "x" * 5000},
        said="At most 300 characters fit (this has 5000).",
        shown=field_errors("schedule_form", "place"),
    ),
    Case(
        "slot-place-with-nul",
        "mentee",
        schedule_url,
        {"slot": slot(), "duration": "60", "place": "Room\x004"},
        said=NUL_MESSAGE,
        shown=field_errors("schedule_form", "place"),
    ),
    Case(
        "slot-offset-plus-23-59",
        "mentee",
        schedule_url,
        {"slot": slot(offset="+23:59"), "duration": "60"},
        said=SLOT_GONE,
        shown=form_errors("schedule_form"),
    ),
    Case(
        "slot-year-9999-west-of-utc",
        "mentee",
        schedule_url,
        {"slot": "9999-12-31T23:59:00-12:00", "duration": "60"},
        said=SLOT_GONE,
        shown=form_errors("schedule_form"),
    ),
    Case(
        "slot-without-offset",
        "mentee",
        schedule_url,
        {"slot": "2027-03-22T19:00", "duration": "60"},
        said=SLOT_GONE,
        shown=form_errors("schedule_form"),
    ),
    Case(
        "slot-not-a-time",
        "mentee",
        schedule_url,
        {"slot": "next tuesday", "duration": "60"},
        said=SLOT_GONE,
        shown=form_errors("schedule_form"),
    ),
    Case(
        "slot-with-nul",
        "mentee",
        schedule_url,
        {"slot": "2027-03-22T19:00\x00+00:00", "duration": "60"},
        said=SLOT_GONE,
        shown=form_errors("schedule_form"),
    ),
    Case(
        "slot-as-htmx",
        "mentee",
        schedule_url,
        {"slot": slot(), "duration": "-60"},
        said=LENGTH,
        shown=field_errors("schedule_form", "duration"),
        headers={"HX-Request": "true"},
    ),
    # Booking a typed date and time.
    Case(
        "typed-duration-500-hours",
        "mentee",
        schedule_url,
        typed(duration="30000"),
        said=LENGTH,
        shown=field_errors("schedule_form", "duration"),
    ),
    Case(
        "typed-duration-10-minutes",
        "mentee",
        schedule_url,
        typed(duration="10"),
        said=LENGTH,
        shown=field_errors("schedule_form", "duration"),
    ),
    Case(
        "typed-place-5000-characters",
        "mentee",
        schedule_url,
        typed(place="x" * 5000),
        said="At most 300 characters fit (this has 5000).",
        shown=field_errors("schedule_form", "place"),
    ),
    Case(
        "typed-day-30-february",
        "mentee",
        schedule_url,
        typed(day="2027-02-30"),
        said="Give the date as year-month-day, e.g. 2027-03-22.",
        shown=field_errors("schedule_form", "day"),
    ),
    Case(
        "typed-day-missing",
        "mentee",
        schedule_url,
        typed(day=""),
        said="Give the date of the meeting.",
        shown=field_errors("schedule_form", "day"),
    ),
    Case(
        "typed-day-year-1-east-of-utc",  # Sydney's 0001-01-01 00:30 is before year 1 in UTC
        "mentee",
        schedule_url,
        typed(day="0001-01-01", start="00:30"),
        said="Choose a date within the next year.",
        shown=field_errors("schedule_form", "day"),
    ),
    Case(
        "typed-day-year-9999",  # a real time, refused by the rule of the next year
        "mentee",
        schedule_url,
        typed(day="9999-12-31", start="23:30"),
        said="Choose a time within the next year.",
        shown=field_errors("schedule_form", "day"),
    ),
    Case(
        "typed-start-25-00",
        "mentee",
        schedule_url,
        typed(start="25:00"),
        said="Give the time as hours:minutes, e.g. 18:30.",
        shown=field_errors("schedule_form", "start"),
    ),
    Case(
        "typed-place-nul-url-encoded",  # refused by RejectNulMiddleware before the view
        "mentee",
        schedule_url,
        typed(place="Room\x004"),
        said="A NUL character is not allowed in a form.",
        encoding="urlencoded",
    ),
    # Moving a meeting: the same form; its errors are said at the top of the page.
    Case(
        "move-duration-negative",
        "mentor",
        move_url,
        typed(duration="-60"),
        said=LENGTH,
        shown=move_errors,
    ),
    Case(
        "move-duration-10-to-the-30",
        "mentor",
        move_url,
        typed(duration=str(10**30)),
        said=LENGTH,
        shown=move_errors,
    ),
    Case(
        "move-place-5000-characters",
        "mentor",
        move_url,
        typed(place="x" * 5000),
        said="At most 300 characters fit (this has 5000).",
        shown=move_errors,
    ),
    Case(
        "move-day-year-1-east-of-utc",
        "mentee",
        move_url,
        typed(day="0001-01-01", start="00:30"),
        said="Choose a date within the next year.",
        shown=move_errors,
    ),
    Case(
        "move-day-year-9999",  # a real time in London, refused by the rule of the next year
        "mentor",
        move_url,
        typed(day="9999-12-31", start="23:30"),
        said="Choose a time within the next year.",
        shown=move_errors,
    ),
    Case(
        "move-to-slot-offset-plus-23-59",
        "mentor",
        move_url,
        {"slot": slot(offset="+23:59"), "duration": "60"},
        said=SLOT_GONE,
        shown=move_errors,
    ),
    Case(
        "move-without-a-date",
        "mentor",
        move_url,
        typed(day="", start=""),
        said="Give the date of the meeting.",
        shown=move_errors,
    ),
    # The pair's other forms, posted multipart with a NUL the middleware does not read.
    Case(
        "agenda-with-nul",
        "mentee",
        lambda w: reverse("meetings:add-agenda", args=[w.pair.pk, w.upcoming.pk]),
        {"text": "Salary\x00bands"},
        status=302,
        said=NUL_MESSAGE,
        shown=told,
    ),
    Case(
        "note-with-nul",
        "mentee",
        lambda w: reverse("meetings:add-note", args=[w.pair.pk, w.held.pk]),
        {"text": "Practise\x00the pitch"},
        status=302,
        said=NUL_MESSAGE,
        shown=told,
    ),
    Case(
        "action-with-nul",
        "mentee",
        lambda w: reverse("meetings:add-action", args=[w.pair.pk]),
        {"text": "Research\x00"},
        status=302,
        said=NUL_MESSAGE,
        shown=told,
    ),
    Case(
        "milestone-with-nul",
        "mentee",
        lambda w: reverse("meetings:add-milestone", args=[w.pair.pk, w.goal.pk]),
        {"title": "Mock\x00interview"},
        status=302,
        said=NUL_MESSAGE,
        shown=told,
    ),
    Case(
        "check-in-with-nul",
        "mentee",
        lambda w: reverse("meetings:check-in", args=[w.pair.pk, w.held.pk]),
        {"rating": "4", "apply": "More\x00examples", "good_fit": "yes"},
        status=302,
        said=NUL_MESSAGE,
        shown=told,
    ),
    # Profiles.
    Case(
        "offer-100000-expertise-rows",
        "mentor",
        lambda w: reverse("profiles:offer"),
        {
            "offer-capacity": "3",
            "offer-hours_per_month": "6",
            "offer-formats": ["ongoing"],
            "offer-cadences": ["monthly"],
            "expertise-TOTAL_FORMS": "100000",
            "expertise-INITIAL_FORMS": "0",
        },
        status=200,
        said=TOO_MANY_SKILLS,
        shown=formset_errors("expertise"),
    ),
    Case(
        "offer-one-row-over-the-cap",
        "mentor",
        lambda w: reverse("profiles:offer"),
        {
            "offer-capacity": "3",
            "offer-hours_per_month": "6",
            "offer-formats": ["ongoing"],
            "offer-cadences": ["monthly"],
            "expertise-TOTAL_FORMS": str(MAX_EXPERTISE + 1),
            "expertise-INITIAL_FORMS": "0",
        },
        status=200,
        said=TOO_MANY_SKILLS,
        shown=formset_errors("expertise"),
    ),
    Case(
        "goal-skill-superscript-two",  # "²".isdigit() is True; int("²") is a ValueError
        "mentee",
        lambda w: reverse("profiles:goals"),
        {
            "title": "Negotiate",
            "format": "ongoing",
            "cadence": "monthly",
            "status": "open",
            "skills": ["²"],
        },
        status=200,
        said="“²” is not a valid value.",
        shown=field_errors("form", "skills"),
    ),
    Case(
        "people-search-with-nul",
        "mentee",
        lambda w: reverse("profiles:people") + "?q=a%00b",
        method="get",
        said="A NUL character is not allowed in a request.",
    ),
    Case(
        "skill-search-with-nul",
        "mentee",
        lambda w: reverse("profiles:skill-search") + "?q=%00",
        method="get",
        said="A NUL character is not allowed in a request.",
    ),
    # Cohorts: swapping two proposals' mentors, importing people.
    Case(
        "swap-selected-abc",
        "admin",
        swap_url,
        {"selected": [first_proposal, "abc"]},
        status=302,
        said=SWAP_TWO,
        shown=told,
    ),
    Case(
        "swap-selected-superscript-two",
        "admin",
        swap_url,
        {"selected": [first_proposal, "²"]},
        status=302,
        said=SWAP_TWO,
        shown=told,
    ),
    Case(
        "swap-selected-5000-digits",
        "admin",
        swap_url,
        {"selected": [first_proposal, "1" * 5000]},
        status=302,
        said=SWAP_TWO,
        shown=told,
    ),
    Case(
        "import-csv-with-nul",
        "admin",
        import_url,
        import_file(csv_of(MENTOR, row(MENTEE, name="Mina\x00Mentee"))),
        status=200,
        said="The file contains a NUL character (on line 3), so it is not plain text. In your "
        'spreadsheet, save it as "CSV UTF-8" and upload it again.',
        shown=import_errors,
    ),
    Case(
        "import-csv-utf16-without-bom",
        "admin",
        import_url,
        import_file(csv_of(MENTOR).decode().encode("utf-16-le")),
        status=200,
        said="The file contains a NUL character (on line 1), so it is not plain text. In your "
        'spreadsheet, save it as "CSV UTF-8" and upload it again.',
        shown=import_errors,
    ),
    # A goal id from the query string (Find a mentor carries it to the mentor's page).
    Case(
        "mentor-page-goal-superscript-two",
        "mentee",
        lambda w: reverse("matching:mentor", args=[w.mentor.pk]) + "?goal=\u00b2",
        method="get",
        status=200,
        said="For all your open goals",
    ),
    Case(
        "mentor-page-goal-5000-digits",
        "mentee",
        lambda w: reverse("matching:mentor", args=[w.mentor.pk]) + "?goal=" + "9" * 5000,
        method="get",
        status=200,
        said="For all your open goals",
    ),
    Case(
        "import-capacity-5000-digits",
        "admin",
        import_url,
        import_file(csv_of(row(MENTOR, capacity="9" * 5000))),
        status=200,
        said="Row 2, capacity: 999999999… is out of range; write 0 to 20 mentees at once.",
        shown=import_errors,
    ),
    Case(
        "import-skill-level-5000-digits",
        "admin",
        import_url,
        import_file(csv_of(row(MENTOR, skills="negotiation:" + "5" * 5000))),
        status=200,
        said=f'Row 2, skills: the level of "negotiation" is "{"5" * 5000}"; levels go from 1 to 5.',
        shown=import_errors,
    ),
]


def resolve(value, w):
    """A cell of the table: plain, or computed once the world exists (ids, times, files)."""
    if isinstance(value, list):
        return [resolve(item, w) for item in value]
    return value(w) if callable(value) else value


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_answered_clearly_and_saves_nothing(client, world, request, case):
    w = world
    if case.who == "admin":
        w = SimpleNamespace(**vars(world), **vars(request.getfixturevalue("cohort_run")))
    client.force_login(getattr(w, case.who))
    url = case.url(w)
    data = {key: resolve(value, w) for key, value in case.data.items()}
    before = saved()

    if case.method == "get":
        response = client.get(url, headers=case.headers)
    elif case.encoding == "urlencoded":
        response = client.post(
            url,
            urlencode(data, doseq=True),
            content_type="application/x-www-form-urlencoded",
            headers=case.headers,
        )
    else:
        response = client.post(url, data, headers=case.headers)

    assert response.status_code == case.status
    shown = case.shown(response)
    assert any(case.said in text for text in shown), shown
    assert saved() == before


# --- Next to the table --------------------------------------------------------------------------


def test_a_suggested_slot_is_booked_for_an_hour_in_utc(client, db):
    """The happy path of the slot rows: the button as the page draws it, for two Londoners
    (Sia and Leo's evenings never overlap)."""
    pair = make_pair("sam@example.org", "lee@example.org", mentee_tz=LONDON, mentor_tz=LONDON)
    client.force_login(pair.mentee)
    page = client.get(reverse("meetings:pair", args=[pair.pk])).content.decode()
    first = page.split('name="slot" value="')[1].split('"')[0]

    response = client.post(
        schedule_url(SimpleNamespace(pair=pair)), {"slot": first, "duration": "60"}
    )

    assert response.status_code == 302
    meeting = Meeting.objects.get()
    assert (meeting.starts_at.isoformat(), meeting.duration_minutes) == (first, 60)


def test_the_plan_form_never_draws_a_refused_slot_again(client, world):
    client.force_login(world.mentee)
    response = client.post(
        schedule_url(world), {"slot": slot(offset="+23:59")(world), "duration": "60"}
    )
    plan = response.content.decode().split('id="schedule"')[1]
    assert response.status_code == 400
    assert SLOT_GONE in plan
    form_part = plan.split("<form")[-1]  # the plan form comes after the slot buttons
    assert 'name="slot"' not in form_part


def test_100000_expertise_rows_build_no_more_forms_than_the_cap(client, world):
    client.force_login(world.mentor)
    response = client.post(
        reverse("profiles:offer"),
        {
            "offer-capacity": "3",
            "offer-hours_per_month": "6",
            "offer-formats": ["ongoing"],
            "offer-cadences": ["monthly"],
            "expertise-TOTAL_FORMS": "100000",
            "expertise-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    formset = response.context["expertise"]
    assert formset.non_form_errors() == [TOO_MANY_SKILLS]
    assert len(formset.forms) == MAX_EXPERTISE
    assert response.text.count('name="expertise-') < 6 * MAX_EXPERTISE


def test_an_import_with_more_skills_than_a_mentor_can_keep_is_refused(db):
    """The offer page could not save them again: the import holds to the same cap."""
    cohort = Cohort.objects.create(name="Spring 2027", slug="spring-2027")
    slugs = Skill.objects.order_by("slug").values_list("slug", flat=True)[: MAX_EXPERTISE + 1]
    data = csv_of(row(MENTOR, skills=";".join(f"{slug}:3" for slug in slugs)))

    preview = importer.parse(data, cohort)

    assert [str(e) for e in preview.errors] == [
        f"Row 2, skills: lists {MAX_EXPERTISE + 1} skills with a level; a mentor can teach at "
        f"most {MAX_EXPERTISE}."
    ]


@pytest.mark.parametrize(
    ("duration", "place", "said"),
    [
        pytest.param(10**30, "", "less than or equal to 240", id="duration-10-to-the-30"),
        pytest.param(-60, "", "greater than or equal to 15", id="duration-negative"),
        pytest.param(60, "x" * 301, "at most 300 characters", id="place-301-characters"),
        pytest.param(60, "Room\x004", "NUL", id="place-with-nul"),
    ],
)
def test_the_service_refuses_what_the_form_would_have(world, duration, place, said):
    """Commands and demo data call services.schedule without the form."""
    before = saved()
    with pytest.raises(services.MeetingError, match=said):
        services.schedule(
            world.pair, world.mentee, starts_at=in_days(8), duration=duration, place=place
        )
    assert saved() == before
