"""Every email reads right: the site's name where allauth's templates put it (never "Hello from
!" or "register an account on ."), no empty placeholder, and every link on SITE_URL, whatever
host or port the request that caused it came in on.

Each email is sent through the code that sends it for real, with real rows: the app's by the
services, tasks and actions; allauth's by its own views, and the few this app's settings never
send (login and reset codes, security keys) through the adapter as allauth's flows call it. The
templates are found on disk, so a new one fails `..._is_sent_by_this_test` until a flow here
sends it."""

from __future__ import annotations

import re
from datetime import date, timedelta
from io import StringIO
from pathlib import Path

import pytest
from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.core import context as allauth_context
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.conf import settings as django_settings
from django.core.management import call_command
from django.template.utils import get_app_template_dirs
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from cohorts import circles as cohort_circles
from cohorts import matchrun
from cohorts import services as cohorts
from cohorts.models import Cohort, MatchRun
from community import actions as community
from community.models import EventReminder
from conversations import actions as conversations
from matching import actions
from matching import services as matching
from matching.models import MentorRequest, Mentorship
from meetings import services as meetings
from meetings.models import ActionItem, Closure, Reminder
from profiles.models import Email, User
from tests.cohorts.conftest import enrol
from tests.conftest import PASSWORD, make_person
from tests.matching.conftest import make_mentee, make_mentor, send

SITE_URL = "https://mentor.example.org"
SITE_NAME = "Northwind Mentoring"
# Links that may leave the site on purpose. None so far: add one here with why.
EXTERNAL_LINKS: frozenset[str] = frozenset()

APP_EMAILS = Path(django_settings.BASE_DIR) / "templates" / "emails"
EMPTY_PLACEHOLDERS = {
    "an empty site name (from !)": r"\bfrom\s*!",
    "an empty domain (on .)": r"\bon\s+\.",  # not "move on."
    "an empty site name (using !)": r"\busing\s*!",
    "an empty greeting (Hello ,)": r"\bHello\s+,",
    "a space before punctuation": r"[ \t][,.!?;](\s|$)",
    "empty brackets": r"\(\s*\)|\[\s*\]",
    "a template tag left over": r"\{\{|\}\}|\{%|%\}",
    "a Python None": r"\bNone\b",
}
LINK = re.compile(r"https?://[^\s<>\"']+")
HREF = re.compile(r"""href=["']([^"']*)["']""")


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = SITE_URL
    settings.SITE_NAME = SITE_NAME
    settings.EMAIL_KEEP_SENT_BODIES = True


def browser() -> Client:
    """A browser at a documentation address; the test server answers as http://testserver,
    which no link may use."""
    return Client(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Mozilla/5.0 Firefox/140.0")


# --- What is wrong with an email ----------------------------------------------------------------


def problems_of(email: Email) -> list[str]:
    """What reads wrong in one stored message, each as "<kind>: <what>"."""
    found = []
    parts = {"subject": email.subject, "text": email.body_text, "html": email.body_html}
    for part, text in parts.items():
        for what, pattern in EMPTY_PLACEHOLDERS.items():
            if part == "html" and what == "a space before punctuation":
                continue  # markup and its indentation, checked in the text part
            for match in re.finditer(pattern, text):
                around = text[max(0, match.start() - 30) : match.end() + 10]
                found.append(f"{email.kind}: {what} in the {part}: {around!r}")
    if not email.subject.strip() or not email.body_text.strip():
        found.append(f"{email.kind}: an empty subject or body")
    if SITE_NAME not in email.body_text:
        found.append(f"{email.kind}: the text does not name the site")
    if email.body_html and SITE_NAME not in email.body_html:
        found.append(f"{email.kind}: the HTML does not name the site")
    if email.kind.startswith(("account/", "mfa/")) and not email.subject.startswith(
        f"[{SITE_NAME}] "
    ):
        found.append(f"{email.kind}: the subject does not start with [{SITE_NAME}]")
    everything = [
        email.subject,
        email.body_text,
        email.body_html,
        *email.headers.values(),
        *(attachment["content"] for attachment in email.attachments),
    ]
    links = [url.rstrip(".,;:!?)") for text in everything for url in LINK.findall(text)]
    links += [href for href in HREF.findall(email.body_html) if not href.startswith("mailto:")]
    for url in links:
        if url not in EXTERNAL_LINKS and url != SITE_URL and not url.startswith(SITE_URL + "/"):
            found.append(f"{email.kind}: a link off {SITE_URL}: {url}")
    return found


def problems_of_all(emails) -> list[str]:
    return [problem for email in emails for problem in problems_of(email)]


def test_the_check_finds_what_the_issue_reported(db):
    """The emails of the bug report, as they read: the check must not be blind to them."""
    allauth_before = Email.objects.create(
        to=["nia@example.org"],
        kind="account/email/email_confirmation_signup",
        subject="[] Please Confirm Your Email Address",
        body_text=(
            "Hello from !\n\nYou're receiving this email because user Nia has given your email "
            "address to register an account on .\n\nTo confirm this is correct, go to "
            "http://127.0.0.1:8000/accounts/confirm-email/abc/\n\nThank you for using !\n"
        ),
    )
    app_before = Email.objects.create(
        to=["mina@example.org"],
        kind="matching/accepted",
        subject="Marco accepted your request",
        body_text=f"Hello None,\n\n{SITE_NAME}: {{{{ url }}}}\n",
        body_html=f'<p>{SITE_NAME}</p><a href="/requests/1/">open</a>',
    )

    found = "\n".join(problems_of(allauth_before) + problems_of(app_before))

    for expected in (
        "an empty site name (from !)",
        "an empty domain (on .)",
        "an empty site name (using !)",
        "empty brackets",
        "the text does not name the site",
        "a link off https://mentor.example.org: http://127.0.0.1:8000/accounts/confirm-email/abc/",
        "a Python None",
        "a template tag left over",
        "a link off https://mentor.example.org: /requests/1/",
    ):
        assert expected in found


# --- The app's emails ---------------------------------------------------------------------------


def app_templates() -> set[str]:
    """Every message under templates/emails (a .txt whose first line is the subject); files
    starting with an underscore are partials, base.html the layout of the HTML part."""
    return {
        path.relative_to(APP_EMAILS).with_suffix("").as_posix()
        for path in APP_EMAILS.rglob("*.txt")
        if not path.name.startswith("_")
    }


def send_every_app_email(django_capture_on_commit_callbacks) -> None:
    """A mentoring program's life, from invitation to closing, with every email it sends."""
    staff = make_person("sam@example.org", name="Sam Staff", staff=True)
    mina = make_mentee("mina@example.org", "Mina Mentee", tz="Asia/Tokyo", goals=2)
    nia = make_mentee("nia@example.org", "Nia Newcomer", goals=1)
    marco = make_mentor("marco@example.org", "Marco Mentor", tz="America/New_York")
    dora = make_mentor("dora@example.org", "Dora Decliner")
    will = make_mentor("will@example.org", "Will Waiting")
    rosa = make_mentor("rosa@example.org", "Rosa Reminded")
    eli = make_mentor("eli@example.org", "Eli Expired")
    goal = mina.goals.first()

    with django_capture_on_commit_callbacks(execute=True):
        # Requests: a question and its answer, a decline, a report, a reminder and an expiry.
        asked = send(mina, marco, goals=[goal])
        matching.ask_for_information(asked.pk, marco, "Which offer are you weighing?")
        matching.answer_question(asked.pk, mina, "Two offers in Tokyo, both in sales.")
        matching.decline(send(mina, dora).pk, dora, note="I am full until June.")
        send(mina, will, goals=[goal])
        matching.report(send(nia, dora).pk, dora, reason="It was an advert.")
        reminded, expired = send(nia, rosa), send(nia, eli)
        MentorRequest.objects.filter(pk=reminded.pk).update(
            created_at=timezone.now() - timedelta(days=6)
        )
        MentorRequest.objects.filter(pk=expired.pk).update(
            created_at=timezone.now() - timedelta(days=15)
        )
        assert matching.remind_and_expire() == (1, 1)
        # Accepting withdraws the request to Will and introduces the pair.
        pair = actions.accept_request(request_id=asked.pk, mentor=marco)

    with django_capture_on_commit_callbacks(execute=True):
        # Meetings: scheduled, moved, reminded, cancelled; a quiet pair nudged, a digest.
        soon = (timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0)
        meeting = meetings.schedule(pair, mina, starts_at=soon, duration=60, place="Café Kafka")
        meeting = meetings.reschedule(
            meeting, marco, starts_at=soon + timedelta(days=1), duration=45, place="Video call"
        )
        Reminder.objects.filter(meeting=meeting).update(due_at=timezone.now())
        assert meetings.send_due_reminders() == 2
        meetings.cancel(meeting, mina)
        Mentorship.objects.filter(pk=pair.pk).update(started_at=timezone.now() - timedelta(days=30))
        assert meetings.nudge_quiet_pairs() == 1
        ActionItem.objects.create(
            mentorship=pair, owner=mina, text="Ask for the salary bands", due_on=date(2026, 1, 5)
        )
        assert meetings.weekly_digest(today=date(2026, 1, 12)) == 1
        # Mina ends the pair; Nia's pair with Rosa closes with a thank-you.
        actions.end_mentorship(mentorship=pair, by=mina, reason="I took the Osaka offer.")
        other = actions.accept_request(request_id=send(nia, will).pk, mentor=will)
        meetings.close(
            other,
            nia,
            outcome=Closure.Outcome.COMPLETED,
            achieved=[],
            thank_you="You made the difference.",
        )

    with django_capture_on_commit_callbacks(execute=True):
        # A cohort: invitations to someone with an account and to a new address, and a
        # published pair whose mentee has no password yet (the intro carries a sign-in link).
        cohort = Cohort.objects.create(name="January mentoring month", slug="january")
        cohort.admins.add(staff)
        cohorts.invite(
            cohort=cohort, emails=[staff.email, "new@example.org"], role="mentor", by=staff
        )
        pia = make_mentee("pia@example.org", "Pia Placed")
        pia.set_unusable_password()
        pia.save(update_fields=["password"])
        enrol(cohort, pia, "mentee")
        enrol(cohort, make_mentor("tom@example.org", "Tom Taken", capacity=1), "mentor")
        run = matchrun.execute(MatchRun.objects.create(cohort=cohort).pk)
        matchrun.request_publish(run)
        matchrun.publish_run(run.pk)

    with django_capture_on_commit_callbacks(execute=True):
        # Conversations: a burst of messages on a request (one batched email), a report, and an
        # announcement to the cohort.
        ora = make_mentee("ora@example.org", "Ora Open")
        thread = conversations.thread_for(request=send(ora, marco))
        conversations.post_message(thread=thread, author=ora, body="Could we talk pricing?")
        conversations.post_message(thread=thread, author=ora, body="Mondays suit me best.")
        assert conversations.send_message_emails(now=timezone.now() + timedelta(minutes=3)) == 1
        rude = conversations.post_message(thread=thread, author=ora, body="Answer me now!")
        conversations.report_message(message=rude, by=marco, reason="Pushy.")
        conversations.post_announcement(
            cohort=cohort,
            by=staff,
            audience="all",
            subject="Kick-off on Monday",
            body="We start at **9:00** with a short welcome.",
        )

    with django_capture_on_commit_callbacks(execute=True):
        # An event: a place, a waitlist that moves up, a reminder, a move and a cancellation.
        start = (timezone.now() + timedelta(days=5)).replace(minute=0, second=0, microsecond=0)
        workshop = community.plan_event(
            organiser=staff,
            cohort=cohort,
            title="Feedback workshop",
            description="",
            starts_at=start,
            duration_minutes=90,
            capacity=1,
            place="Room 4",
        )
        enrol(cohort, ora, "mentee")
        community.rsvp(event=workshop, user=pia)
        community.rsvp(event=workshop, user=ora)
        community.cancel_rsvp(event=workshop, user=pia)
        EventReminder.objects.filter(event=workshop).update(due_at=timezone.now())
        assert community.send_due_event_reminders() == 2
        community.move_event(
            event=workshop, by=staff, starts_at=start + timedelta(days=1), duration_minutes=90
        )
        community.cancel_event(event=workshop, by=staff)
        # A circle of the cohort, formed and published: its member is told.
        leader = make_mentor("lea@example.org", "Lea Leader")
        enrol(cohort, leader, "mentor")
        topic = ora.goals.first().skills.first()
        circle = cohort_circles.add_circle(
            cohort=cohort,
            facilitator=leader,
            topic="Pricing",
            skills=[topic],
            kind="mentor",
            size=4,
            weekday=1,
            start_minute=18 * 60,
        )
        cohort_circles.form_circles(cohort=cohort)
        assert cohort_circles.publish_circles(cohort=cohort) >= 1
        assert circle.members.exists()


def test_every_app_email_names_the_site_and_links_only_to_site_url(
    db, django_capture_on_commit_callbacks
):
    send_every_app_email(django_capture_on_commit_callbacks)

    sent = Email.objects.exclude(kind__startswith="account/").order_by("pk")
    assert problems_of_all(sent) == []
    intro = sent.filter(kind="matching/introduction", to=["pia@example.org"]).get()
    assert f"{SITE_URL}/cohorts/join/" in intro.body_text  # the one-time sign-in link


def test_every_app_email_template_is_sent_by_this_test(db, django_capture_on_commit_callbacks):
    send_every_app_email(django_capture_on_commit_callbacks)

    sent = set(Email.objects.values_list("kind", flat=True))
    assert app_templates() - sent == set()
    # An HTML part is the .txt's companion: one on its own would never be sent.
    for html in APP_EMAILS.rglob("*.html"):
        assert html.name == "base.html" or html.with_suffix(".txt").exists(), html


# --- allauth's emails ---------------------------------------------------------------------------


def allauth_templates() -> set[str]:
    """Every email of the installed allauth apps (account, mfa, ...), ours overriding or not:
    `<app>/email/<name>`, as allauth names them when it sends."""
    labels = {app.split(".")[1] for app in django_settings.INSTALLED_APPS if "allauth." in app}
    dirs = [*django_settings.TEMPLATES[0]["DIRS"], *get_app_template_dirs("templates")]
    return {
        f"{label}/email/{path.name.removesuffix('_subject.txt')}"
        for folder in dirs
        for label in labels
        for path in Path(folder, label, "email").glob("*_subject.txt")
    }


def sign_in(client: Client, email: str, password: str = PASSWORD) -> None:
    """Through allauth's form, so that allauth counts it as a recent sign-in (no reauth)."""
    response = client.post(reverse("account_login"), {"login": email, "password": password})
    assert response.status_code == 302, response.content


def path_of(url: str) -> str:
    assert url.startswith(SITE_URL + "/"), url
    return url.removeprefix(SITE_URL)


def link_in(kind: str, to: str) -> str:
    email = Email.objects.filter(kind=kind, to=[to]).latest("pk")
    return next(word for word in email.body_text.split() if word.startswith(SITE_URL + "/"))


def totp_code(client: Client) -> str:
    secret = client.session[SECRET_SESSION_KEY]
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def send_every_allauth_email(settings, django_capture_on_commit_callbacks) -> None:
    """Sign up, verify, reset, manage addresses and second factors, as people do; and the
    emails this app's settings never send, through the adapter as allauth's flows call it."""
    settings.ACCOUNT_EMAIL_NOTIFICATIONS = True  # off in the app; their emails read right too
    # A code computed just before a 30-second boundary is checked just after it: accept the
    # neighbouring window, or the test fails once in a while for no fault of the app.
    settings.MFA_TOTP_TOLERANCE = 1
    newcomer = browser()
    with django_capture_on_commit_callbacks(execute=True):
        signup = {
            "name": "Nia Newcomer",
            "email": "nia@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
        }
        assert newcomer.post(reverse("account_signup"), signup).status_code == 302
        # Signing up with a member's address tells the member, not the stranger.
        make_person("mina@example.org", name="Mina Member")
        taken = {**signup, "name": "Someone Else", "email": "mina@example.org"}
        assert browser().post(reverse("account_signup"), taken).status_code == 302
        confirm = path_of(link_in("account/email/email_confirmation_signup", "nia@example.org"))
        assert newcomer.post(confirm).status_code == 302
        # A reset for a known and an unknown address, then the new password.
        reset = reverse("account_reset_password")
        assert browser().post(reset, {"email": "nia@example.org"}).status_code == 302
        assert browser().post(reset, {"email": "nobody@example.org"}).status_code == 302
        key_link = path_of(link_in("account/email/password_reset_key", "nia@example.org"))
        resetter = browser()
        form = resetter.get(key_link, follow=True)
        new_password = PASSWORD + "-new"
        done = resetter.post(
            form.redirect_chain[-1][0], {"password1": new_password, "password2": new_password}
        )
        assert done.status_code == 302

    nia = browser()
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(nia, "nia@example.org", new_password)
        # A second address: verification, made primary (the change), removed.
        email_page = reverse("account_email")
        assert nia.post(email_page, {"action_add": "", "email": "nia@work.example"}).status_code
        EmailAddress.objects.filter(email="nia@work.example").update(verified=True)
        nia.post(email_page, {"action_primary": "", "email": "nia@work.example"})
        nia.post(email_page, {"action_remove": "", "email": "nia@example.org"})
        changed = {"oldpassword": new_password, "password1": PASSWORD, "password2": PASSWORD}
        assert nia.post(reverse("account_change_password"), changed).status_code == 302
        # Second factor: an authenticator app, new recovery codes, the app removed.
        again = nia.post(reverse("account_reauthenticate"), {"password": PASSWORD})
        assert again.status_code == 302, again.content
        nia.get(reverse("mfa_activate_totp"))
        activated = nia.post(reverse("mfa_activate_totp"), {"code": totp_code(nia)})
        assert activated.status_code == 302, activated.content
        assert nia.post(reverse("mfa_generate_recovery_codes")).status_code == 302
        assert nia.post(reverse("mfa_deactivate_totp")).status_code == 302

    # A cohort's new account has no password until it sets one.
    pia = make_person("pia@example.org", name="Pia Placed")
    pia.set_unusable_password()
    pia.save(update_fields=["password"])
    placed = browser()
    placed.force_login(pia)
    password_set = {"password1": PASSWORD, "password2": PASSWORD}
    with django_capture_on_commit_callbacks(execute=True):
        assert placed.post(reverse("account_set_password"), password_set).status_code == 302

    # Emails this app's settings never send (sign-in and reset codes, security keys), as
    # allauth's flows send them: through the adapter, within a request. allauth 65 ships
    # email_confirm but sends it nowhere; it reads right should that change.
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7")
    request.user = pia
    with allauth_context.request_context(request), django_capture_on_commit_callbacks(execute=True):
        adapter = get_adapter()
        adapter.send_mail("account/email/login_code", pia.email, {"user": pia, "code": "ABC123"})
        adapter.send_mail(
            "account/email/password_reset_code", pia.email, {"user": pia, "code": "DEF456"}
        )
        adapter.send_notification_mail("mfa/email/webauthn_added", pia)
        adapter.send_notification_mail("mfa/email/webauthn_removed", pia)
        adapter.send_notification_mail("account/email/email_confirm", pia)


def test_every_allauth_email_names_the_site_and_links_only_to_site_url(
    db, settings, django_capture_on_commit_callbacks
):
    send_every_allauth_email(settings, django_capture_on_commit_callbacks)

    sent = Email.objects.filter(kind__regex=r"^(account|mfa)/").order_by("pk")
    assert problems_of_all(sent) == []
    verification = sent.filter(kind="account/email/email_confirmation_signup").get()
    assert verification.subject == f"[{SITE_NAME}] Please Confirm Your Email Address"
    assert verification.body_text.startswith(f"Hello from {SITE_NAME}!")
    assert "register an account on mentor.example.org." in verification.body_text
    assert verification.body_text.endswith(f"Thank you for using {SITE_NAME}!\n{SITE_URL}")


def test_every_allauth_email_template_is_sent_by_this_test(
    db, settings, django_capture_on_commit_callbacks
):
    send_every_allauth_email(settings, django_capture_on_commit_callbacks)

    sent = set(Email.objects.values_list("kind", flat=True))
    assert allauth_templates() - sent == set()


def test_an_allauth_link_points_at_site_url_whatever_host_the_request_came_in_on(db, settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    make_person("nia@example.org", name="Nia Newcomer")
    mallory = Client(HTTP_HOST="127.0.0.1:8123")

    mallory.post(reverse("account_reset_password"), {"email": "nia@example.org"})

    link = link_in("account/email/password_reset_key", "nia@example.org")
    assert link.startswith(f"{SITE_URL}/accounts/password/reset/key/")


# --- make run ---------------------------------------------------------------------------------


def test_the_demo_sign_in_hint_points_at_site_url(db, settings):
    settings.DEBUG = True
    settings.SITE_URL = "http://127.0.0.1:8123"
    out = StringIO()

    call_command("seed_demo", mentors=0, mentees=0, stdout=out)

    assert "sign in at http://127.0.0.1:8123/accounts/login/ as admin@example.com" in out.getvalue()
    assert User.objects.filter(email="admin@example.com").exists()
