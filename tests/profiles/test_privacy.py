"""People's own data: "Download my data" and "Delete my account".

Sia is mentored by Leo (active, from a request, placed in a cohort Ada runs), was mentored by Mo
(closed, with Sia's thank-you and her feedback for the program), has a request waiting with
Nina, and Pia's request waits for her. Each of Sia and Leo wrote a private and a shared note
after their meeting, and each checked in."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import timedelta

import icalendar
import pytest
from allauth.mfa.models import Authenticator
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.db import models
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.html import escape

from cohorts.matchrun import eligible_enrollments
from cohorts.models import Cohort, Enrollment, MatchRun, Placement, Proposal
from matching import actions
from matching import services as matching_services
from matching.models import MentorRequest, Mentorship
from meetings import services as meeting_services
from meetings.models import (
    ActionItem,
    AgendaItem,
    CheckIn,
    Closure,
    EmailPreference,
    Meeting,
    Milestone,
    Note,
    Reminder,
)
from profiles import privacy
from profiles.models import Email, Goal, MentorOffer, Profile, Skill, User
from tests.conftest import PASSWORD, make_person
from tests.matching.conftest import make_mentee, make_mentor

SIA_NAME = "Sia O'Sydney"  # the apostrophe is escaped in HTML email bodies: both must go
SIA_EMAIL = "sia@example.org"
SIA_PRIVATE_NOTE = "SIA-PRIVATE: I am nervous about my manager"
SIA_SHARED_NOTE = "Sia shared: thanks for the anchoring tip"
SIA_CHECKIN = "SIA-CHECKIN: ask for eight percent"
SIA_FEEDBACK = "SIA-FEEDBACK: the program could match faster"
SIA_THANKS = "Thank you, Mo, for your patience"
SIA_BIO = "I grew up by the fjords and sail on weekends."
SIA_HEADLINE = "Analyst at Fjordbank"
SIA_CITY = "Tromsø"
SHARED_GOAL = "Negotiate my first raise"
PRIVATE_GOAL = "Secret plan to change careers"
LEO_PRIVATE_NOTE = "LEO-PRIVATE: needs more confidence"
LEO_SHARED_NOTE = "Leo shared: read the negotiation book"
LEO_CHECKIN = "LEO-CHECKIN: give more examples"
TOTP_SECRET = "JBSWY3DPEHPK3PXP"


@dataclass
class World:
    sia: User
    leo: User
    mo: User
    nina: User
    pia: User
    ada: User
    pair: Mentorship
    closed_pair: Mentorship
    held: Meeting
    upcoming: Meeting
    cohort: Cohort


@pytest.fixture(autouse=True)
def _keep_email_bodies(settings):
    settings.EMAIL_KEEP_SENT_BODIES = True


@pytest.fixture
def world(db) -> World:
    sia = make_mentee(SIA_EMAIL, SIA_NAME, goals=0)
    Profile.objects.filter(user=sia).update(
        bio=SIA_BIO, headline=SIA_HEADLINE, city=SIA_CITY, is_mentor=True
    )
    MentorOffer.objects.create(user=sia, capacity=2)
    skills = list(Skill.objects.filter(slug__in=["negotiation", "job-search"]))
    shared_goal = Goal.objects.create(owner=sia, title=SHARED_GOAL)
    private_goal = Goal.objects.create(
        owner=sia, title=PRIVATE_GOAL, description="Nobody at work knows yet."
    )
    for goal in (shared_goal, private_goal):
        goal.skills.set(skills)
    leo = make_mentor("leo@example.org", "Leo London")
    mo = make_mentor("mo@example.org", "Mo Mentor")
    nina = make_mentor("nina@example.org", "Nina North")
    pia = make_mentee("pia@example.org", "Pia Petrova")
    ada = make_person("ada@example.org", name="Ada Admin")

    # Sia asked Leo, who took her on; a meeting was held and another is planned.
    request = matching_services.create_request(
        mentee=sia,
        mentor=leo,
        goals=[shared_goal],
        message="Leo, I would love your help negotiating my raise.",
        cadence="biweekly",
    )
    pair = actions.accept_request(request_id=request.pk, mentor=leo)
    Milestone.objects.create(mentorship=pair, goal=shared_goal, title="Know my market rate")
    ActionItem.objects.create(mentorship=pair, owner=sia, text="Collect salary data")
    held = Meeting.objects.create(
        mentorship=pair, starts_at=timezone.now() - timedelta(days=2), created_by=sia
    )
    AgendaItem.objects.create(meeting=held, author=sia, text="Salary bands")
    AgendaItem.objects.create(meeting=held, author=leo, text="Anchoring")
    Note.objects.create(meeting=held, author=sia, text=SIA_PRIVATE_NOTE, private=True)
    Note.objects.create(meeting=held, author=sia, text=SIA_SHARED_NOTE)
    Note.objects.create(meeting=held, author=leo, text=LEO_PRIVATE_NOTE, private=True)
    Note.objects.create(meeting=held, author=leo, text=LEO_SHARED_NOTE)
    CheckIn.objects.create(meeting=held, author=sia, rating=5, apply=SIA_CHECKIN)
    CheckIn.objects.create(meeting=held, author=leo, rating=4, apply=LEO_CHECKIN)
    soon = timezone.now().replace(second=0, microsecond=0) + timedelta(days=3)
    upcoming = meeting_services.schedule(pair, sia, starts_at=soon, duration=60, place="Café")

    # Mo mentored Sia before; she closed it with a thank-you and feedback for the program.
    closed_pair = Mentorship.objects.create(mentor=mo, mentee=sia)
    meeting_services.close(
        closed_pair,
        sia,
        outcome=Closure.Outcome.COMPLETED,
        achieved=[],
        feedback=SIA_FEEDBACK,
        thank_you=SIA_THANKS,
    )

    # Waiting requests: Sia's to Nina, and Pia's to Sia.
    matching_services.create_request(
        mentee=sia,
        mentor=nina,
        goals=[private_goal],
        message="Nina, could you help me plan a career change?",
        cadence="monthly",
    )
    matching_services.create_request(
        mentee=pia,
        mentor=sia,
        goals=list(pia.goals.all()),
        message="Sia, I would love to learn how you analyse banks.",
        cadence="monthly",
    )

    # Ada runs the cohort that Sia's pair with Leo belongs to.
    cohort = Cohort.objects.create(name="Spring programme", slug="spring", status="active")
    cohort.admins.add(ada)
    Enrollment.objects.create(cohort=cohort, email=SIA_EMAIL, user=sia, status="joined")
    Placement.objects.create(cohort=cohort, mentorship=pair)
    run = MatchRun.objects.create(
        cohort=cohort,
        status=MatchRun.Status.DONE,
        publish_skipped=[f"{SIA_NAME} and Nina North: Nina North is full."],
    )
    Proposal.objects.create(
        run=run, mentee=sia, mentor=nina, score=0.7, reasons=[f"The profile mentions {SIA_CITY}"]
    )

    EmailPreference.objects.create(user=sia, kind=EmailPreference.Kind.DIGEST, enabled=False)
    Authenticator.objects.create(user=sia, type="totp", data={"secret": TOTP_SECRET})
    LogEntry.objects.create(
        user=ada,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(sia.pk),
        object_repr=str(sia),
        action_flag=CHANGE,
        change_message=f'[{{"changed": {{"fields": ["Email {SIA_EMAIL}"]}}}}]',
    )
    return World(sia, leo, mo, nina, pia, ada, pair, closed_pair, held, upcoming, cohort)


def export_of(client: Client, person: User, params: dict | None = None) -> zipfile.ZipFile:
    client.force_login(person)
    response = client.post(reverse("profiles:my-data"), params or {})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="mentorship-my-data')
    return zipfile.ZipFile(io.BytesIO(response.content))


def data_of(archive: zipfile.ZipFile) -> dict:
    return json.loads(archive.read("data.json"))


def everything_in(archive: zipfile.ZipFile) -> str:
    return "\n".join(archive.read(name).decode() for name in archive.namelist())


def delete_account(client: Client, user: User, **fields):
    client.force_login(user)
    return client.post(
        reverse("profiles:delete-account"),
        {"password": PASSWORD, "understood": "on", **fields},
    )


def rows_holding(*needles: str) -> list[str]:
    """Every row of every model whose text, char or JSON fields hold one of these strings."""
    found = []
    for model in apps.get_models():
        fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField)
        ]
        if not fields:
            continue
        for pk, *values in model._default_manager.values_list("pk", *fields):
            for name, value in zip(fields, values, strict=True):
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                text = text.replace("\r\n ", "").casefold()  # unfolded, as .ics lines may be
                found += [
                    f"{model._meta.label}.{name} #{pk}: {needle}"
                    for needle in needles
                    if needle.casefold() in text
                ]
    return found


# Download my data.


def test_the_download_page_explains_what_the_archive_holds(client, world):
    client.force_login(world.sia)

    response = client.get(reverse("profiles:my-data"))

    assert response.status_code == 200
    assert "Download my data" in response.content.decode()
    assert "private notes and check-ins are theirs" in response.content.decode()


def test_my_profile_page_links_to_my_data_and_to_deleting_my_account(client, world):
    client.force_login(world.sia)

    page = client.get(reverse("profiles:me"), follow=True).content.decode()

    assert reverse("profiles:my-data") in page
    assert reverse("profiles:delete-account") in page


def test_the_export_holds_everything_of_mine(client, world):
    archive = export_of(client, world.sia)
    data = data_of(archive)

    assert data["account"]["email"] == SIA_EMAIL
    assert data["account"]["name"] == SIA_NAME
    assert data["account"]["second_factors"][0]["type"] == "totp"
    assert data["profile"]["bio"] == SIA_BIO
    assert data["profile"]["city"] == SIA_CITY
    assert {g["title"] for g in data["goals"]} == {SHARED_GOAL, PRIVATE_GOAL}
    assert data["mentor_offer"]["capacity"] == 2
    assert len(data["availability"]) == 5
    assert data["email_preferences"] == {"digest": False}
    requests = {(r["i_am"], r["other_person"]): r for r in data["requests"]}
    assert requests["mentee", "Leo London"]["status"] == "accepted"
    assert requests["mentee", "Nina North"]["message"].startswith("Nina, could you help")
    assert requests["mentor", "Pia Petrova"]["message"].startswith("Sia, I would love")

    pairs = {p["other_person"]: p for p in data["mentorships"]}
    assert set(pairs) == {"Leo London", "Mo Mentor"}
    with_leo = pairs["Leo London"]
    assert with_leo["i_am"] == "mentee"
    assert with_leo["cohort"] == "Spring programme"
    assert with_leo["goals"] == [SHARED_GOAL]
    assert with_leo["milestones"][0]["title"] == "Know my market rate"
    assert with_leo["action_items"][0] == {
        "text": "Collect salary data",
        "owner": "me",
        "due_on": None,
        "done": False,
        "done_at": None,
    }
    held, upcoming = with_leo["meetings"]
    assert [a["by"] for a in held["agenda"]] == ["me", "Leo London"]
    notes = {n["text"]: n for n in held["notes"]}
    assert notes[SIA_PRIVATE_NOTE]["private"] is True
    assert notes[SIA_PRIVATE_NOTE]["by"] == "me"
    assert notes[SIA_SHARED_NOTE]["by"] == "me"
    assert notes[LEO_SHARED_NOTE]["by"] == "Leo London"  # shared with me on the pair page
    assert held["my_check_in"]["what_i_will_apply"] == SIA_CHECKIN
    assert upcoming["place"] == "Café"
    closure = pairs["Mo Mentor"]["closure"]
    assert closure["thank_you_i_wrote"] == SIA_THANKS
    assert closure["my_feedback_for_the_program"] == SIA_FEEDBACK
    assert data["cohorts"]["enrollments"][0]["cohort"] == "Spring programme"
    assert any("Leo London" in e["subject"] for e in data["emails_sent_to_me"])


def test_every_meeting_of_mine_comes_as_an_ics_file(client, world):
    archive = export_of(client, world.sia)
    data = data_of(archive)

    files = [m["calendar_file"] for p in data["mentorships"] for m in p["meetings"]]
    assert sorted(files) == sorted(
        f"meetings/meeting-{m.pk}.ics" for m in (world.held, world.upcoming)
    )
    calendar = icalendar.Calendar.from_ical(
        archive.read(f"meetings/meeting-{world.upcoming.pk}.ics")
    )
    [event] = calendar.walk("VEVENT")
    assert str(event["summary"]) == f"Mentoring: Leo London and {SIA_NAME}"
    assert event.decoded("dtstart") == world.upcoming.starts_at
    assert str(event["location"]) == "Café"


def test_the_export_holds_nothing_private_of_the_other_person(client, world):
    everything = everything_in(export_of(client, world.sia))

    for secret in (LEO_PRIVATE_NOTE, LEO_CHECKIN, TOTP_SECRET):
        assert secret not in everything
    for address in ("leo@example.org", "mo@example.org", "nina@example.org", "pia@example.org"):
        assert address not in everything


def test_the_other_persons_export_holds_their_side_and_not_my_private_things(client, world):
    leo = data_of(export_of(client, world.leo))
    leos = everything_in(export_of(client, world.leo))

    [held, _] = leo["mentorships"][0]["meetings"]
    assert {n["text"] for n in held["notes"]} == {
        LEO_PRIVATE_NOTE,
        LEO_SHARED_NOTE,
        SIA_SHARED_NOTE,
    }
    assert held["my_check_in"]["what_i_will_apply"] == LEO_CHECKIN
    for secret in (SIA_PRIVATE_NOTE, SIA_CHECKIN, SIA_FEEDBACK, SIA_EMAIL, SIA_BIO, TOTP_SECRET):
        assert secret not in leos


def test_a_mentor_gets_the_thank_you_but_not_the_feedback_the_mentee_gave_the_program(
    client, world
):
    [pair] = data_of(export_of(client, world.mo))["mentorships"]

    assert pair["closure"]["thank_you_to_me"] == SIA_THANKS
    assert "my_feedback_for_the_program" not in pair["closure"]
    assert SIA_FEEDBACK not in everything_in(export_of(client, world.mo))


def test_a_cohort_admin_who_reads_the_pair_gets_only_their_own_data(client, world):
    client.force_login(world.ada)
    assert client.get(reverse("meetings:pair", args=[world.pair.pk])).status_code == 200

    # There is no way to name anyone else: extra parameters are ignored.
    archive = export_of(client, world.ada, {"pk": world.sia.pk, "user": world.sia.pk})
    data, everything = data_of(archive), everything_in(archive)

    assert data["account"]["email"] == "ada@example.org"
    assert data["cohorts"]["i_administer"] == ["Spring programme"]
    assert data["mentorships"] == [] and data["requests"] == []
    assert archive.namelist() == ["data.json"]
    for secret in (SIA_NAME, SIA_EMAIL, SIA_PRIVATE_NOTE, SIA_CHECKIN, LEO_PRIVATE_NOTE):
        assert secret not in everything


def test_the_export_and_the_erasure_urls_name_nobody():
    for name in ("profiles:my-data", "profiles:delete-account"):
        match = resolve(reverse(name))
        assert match.args == () and match.kwargs == {}
        assert "<" not in str(match.route)


def test_the_export_is_a_post_a_get_only_shows_the_page(client, world):
    client.force_login(world.sia)

    response = client.get(reverse("profiles:my-data"))

    assert response["Content-Type"].startswith("text/html")
    assert SIA_BIO not in response.content.decode()


def test_signed_out_people_are_sent_to_sign_in(client, world):
    for name in ("profiles:my-data", "profiles:delete-account"):
        response = client.post(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")
    assert User.objects.get(pk=world.sia.pk).email == SIA_EMAIL


# Delete my account: the page and its confirmation.


def test_the_delete_page_says_what_goes_what_stays_and_whose_pairs_end(client, world):
    client.force_login(world.sia)

    page = client.get(reverse("profiles:delete-account")).content.decode()

    assert "What is erased" in page and "What stays for the other person" in page
    assert "a former member" in page
    assert "Your mentorship with Leo London will end now" in page
    assert 'type="password"' in page


def test_a_wrong_password_erases_nothing(client, world):
    response = delete_account(client, world.sia, password="not-my-password")

    assert response.status_code == 400
    assert "That is not your password." in response.content.decode()
    sia = User.objects.get(pk=world.sia.pk)
    assert (sia.email, sia.name, sia.is_active) == (SIA_EMAIL, SIA_NAME, True)
    assert Note.objects.filter(text=SIA_PRIVATE_NOTE).exists()


def test_guessing_the_password_is_rate_limited(client, world):
    for _ in range(10):
        assert delete_account(client, world.sia, password="a-guess").status_code == 400

    response = delete_account(client, world.sia)  # even the right one, for now

    assert response.status_code == 429
    assert User.objects.get(pk=world.sia.pk).is_active


def test_deleting_without_ticking_that_i_understand_erases_nothing(client, world):
    response = delete_account(client, world.sia, understood="")

    assert response.status_code == 400
    assert User.objects.get(pk=world.sia.pk).is_active


def test_an_account_without_a_password_confirms_with_the_word_delete(client, world):
    sia = world.sia
    sia.set_unusable_password()
    sia.save()
    client.force_login(sia)
    assert (
        "Type DELETE to confirm" in client.get(reverse("profiles:delete-account")).content.decode()
    )

    wrong = client.post(
        reverse("profiles:delete-account"), {"password": "delete", "understood": "on"}
    )
    assert wrong.status_code == 400
    assert User.objects.get(pk=sia.pk).is_active

    right = client.post(
        reverse("profiles:delete-account"), {"password": "DELETE", "understood": "on"}
    )
    assert right.status_code == 302
    assert not User.objects.get(pk=sia.pk).is_active


def test_after_deleting_i_am_signed_out_everywhere_and_sent_home(client, world):
    elsewhere = Client()
    elsewhere.force_login(world.sia)
    assert Session.objects.count() == 1

    response = delete_account(client, world.sia)

    assert response.status_code == 302 and response.url == reverse("home")
    assert "Your account is deleted" in str(list(get_messages(response.wsgi_request))[-1])
    assert Session.objects.count() == 0
    for someone in (client, elsewhere):
        home = someone.get(reverse("home"))
        assert home.status_code == 200
        assert "_auth_user_id" not in someone.session
    assert not client.login(email=SIA_EMAIL, password=PASSWORD)


# Delete my account: what goes and what stays.


def test_after_erasure_no_row_in_any_table_holds_my_email_name_or_private_text(client, world):
    assert rows_holding(SIA_NAME, SIA_EMAIL), "the scan must see the data before erasure"

    assert delete_account(client, world.sia).status_code == 302

    assert (
        rows_holding(
            SIA_NAME,
            escape(SIA_NAME),
            SIA_EMAIL,
            SIA_PRIVATE_NOTE,
            SIA_CHECKIN,
            SIA_FEEDBACK,
            SIA_BIO,
            SIA_HEADLINE,
            SIA_CITY,
            SHARED_GOAL,
            PRIVATE_GOAL,
            "Nobody at work knows yet.",
            TOTP_SECRET,
        )
        == []
    )


def test_the_person_row_stays_anonymised_so_the_other_persons_records_stay(client, world):
    delete_account(client, world.sia)

    sia = User.objects.get(pk=world.sia.pk)
    assert sia.name == "A former member"
    assert sia.email == f"former-member-{sia.pk}@invalid.example"
    assert not sia.has_usable_password()
    assert not (sia.is_active or sia.is_staff or sia.is_superuser)
    assert not sia.emailaddress_set.exists()
    assert not Authenticator.objects.filter(user=sia).exists()
    assert Mentorship.objects.filter(mentee=sia).count() == 2
    assert Meeting.objects.filter(mentorship=world.pair).count() == 2


def test_the_other_persons_pair_page_still_works_and_shows_a_former_member(client, world):
    delete_account(client, world.sia)
    client.force_login(world.leo)

    response = client.get(reverse("meetings:pair", args=[world.pair.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Mentoring A former member" in page
    assert LEO_PRIVATE_NOTE in page and LEO_SHARED_NOTE in page
    assert SIA_SHARED_NOTE in page  # written to the pair: the other person's record too
    assert "Salary bands" in page and "Collect salary data" in page
    assert SIA_PRIVATE_NOTE not in page
    assert "A former member&#x27;s goal" in page
    assert CheckIn.objects.filter(author=world.leo).exists()
    assert not CheckIn.objects.filter(author=world.sia).exists()


def test_the_mentor_keeps_the_thank_you_from_a_former_member(client, world):
    delete_account(client, world.sia)
    client.force_login(world.mo)

    page = client.get(reverse("profiles:person", args=[world.mo.pk])).content.decode()

    assert SIA_THANKS in page
    assert "A former member" in page
    assert Closure.objects.get(mentorship=world.closed_pair).feedback == ""


def test_active_mentorships_end_and_the_other_person_is_told(client, world):
    delete_account(client, world.sia)

    pair = Mentorship.objects.get(pk=world.pair.pk)
    assert pair.status == Mentorship.Status.CLOSED
    assert pair.ended_by_id == world.sia.pk
    [told] = Email.objects.filter(kind="matching/ended")
    assert told.to == ["leo@example.org"]
    assert told.subject == "Your mentorship with A former member has ended"
    assert "A former member ended your mentorship." in told.body_text
    upcoming = Meeting.objects.get(pk=world.upcoming.pk)
    assert upcoming.status == Meeting.Status.CANCELLED
    assert not Reminder.objects.filter(meeting=upcoming, status=Reminder.Status.PENDING).exists()


def test_waiting_requests_i_sent_go_and_those_sent_to_me_are_declined(client, world):
    delete_account(client, world.sia)

    assert not MentorRequest.objects.filter(mentor=world.nina).exists()
    declined = MentorRequest.objects.get(mentee=world.pia)
    assert declined.status == MentorRequest.Status.DECLINED
    assert declined.note == "This mentor has left the program."
    [told] = Email.objects.filter(kind="matching/declined")
    assert told.to == ["pia@example.org"]
    assert told.subject == "A former member cannot take your request"
    # The accepted request is Leo's history too.
    assert MentorRequest.objects.get(mentor=world.leo).status == MentorRequest.Status.ACCEPTED


def test_emails_to_me_go_and_emails_to_others_no_longer_name_me(client, world):
    to_leo = Email.objects.filter(to=["leo@example.org"], kind="meetings/scheduled").get()
    assert SIA_NAME in to_leo.attachments[0]["content"]

    delete_account(client, world.sia)

    assert not Email.objects.filter(to__icontains="sia@").exists()
    to_leo.refresh_from_db()
    assert "A former member" in to_leo.body_text
    assert "Mentoring: Leo London and A former member" in to_leo.attachments[0]["content"]


def test_someone_elses_email_that_does_not_name_me_is_left_alone(client, world):
    same_goal = Email.objects.create(
        to=["pia@example.org"], subject="Your goals", body_text=f"- {SHARED_GOAL}\n"
    )

    delete_account(client, world.sia)

    same_goal.refresh_from_db()
    assert same_goal.body_text == f"- {SHARED_GOAL}\n"


def test_my_cohort_places_stay_anonymised_and_i_am_never_matched_again(client, world):
    world.cohort.admins.add(world.sia)

    delete_account(client, world.sia)

    enrollment = Enrollment.objects.get(cohort=world.cohort)
    assert enrollment.email.endswith("@invalid.example")
    assert enrollment.status == Enrollment.Status.DECLINED
    assert not eligible_enrollments(world.cohort).exists()
    assert list(world.cohort.admins.all()) == [world.ada]
    assert not Proposal.objects.filter(mentee=world.sia).exists()
    assert Placement.objects.filter(mentorship=world.pair).exists()


def test_erasing_twice_changes_nothing_more(world):
    privacy.erase_account(user=world.sia)
    first = User.objects.get(pk=world.sia.pk)

    privacy.erase_account(user=world.sia)

    again = User.objects.get(pk=world.sia.pk)
    assert (again.name, again.email) == (first.name, first.email)
