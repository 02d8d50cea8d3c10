"""Who may open what. Every URL pattern of the project needs an expected outcome for each role;
a new view without a row here fails the suite. This is what keeps one person out of another's
data, so when you add a view, add its row, and think about the forbidden paths first."""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from cohorts.models import Cohort, CohortCircle, Enrollment, MatchRun, Proposal
from community.models import Event, Rsvp, Story
from conversations import actions
from conversations.models import Announcement, Message, Notification, Receipt
from matching.models import Circle, CircleMember, MentorRequest, Mentorship
from meetings.models import ActionItem, AgendaItem, CheckIn, Meeting, Note
from profiles.models import Email, Goal, MentorOffer, Profile
from tests.conftest import make_person

ROLES = ("anonymous", "user", "staff")


@dataclass(frozen=True)
class Redirect:
    """A 302 whose target starts with `to`."""

    to: str

    def __repr__(self) -> str:
        return f"302->{self.to}"


LOGIN = Redirect("/accounts/login/?next=")
ADMIN_LOGIN = Redirect("/admin/login/?next=")
HOME = Redirect("/")
REAUTH = Redirect("/accounts/reauthenticate/")


@dataclass(frozen=True)
class AnyOf:
    options: tuple

    def __repr__(self) -> str:
        return " or ".join(map(repr, self.options))


OK, FORBIDDEN, NOT_FOUND, NOT_ALLOWED = 200, 403, 404, 405


def row(anonymous, user, staff=None):
    return {"anonymous": anonymous, "user": user, "staff": user if staff is None else staff}


# URL name -> expected outcome of a GET, per role. "user" is an ordinary signed-in person.
MATRIX = {
    "home": row(OK, OK),
    "health": row(OK, OK),  # for load balancers: says only "ok", reveals nothing
    # allauth: entrance pages send signed-in people home; account pages need a login.
    "account_login": row(OK, HOME),
    "account_signup": row(OK, HOME),
    "account_logout": row(HOME, OK),
    "account_inactive": row(OK, OK),
    "account_reauthenticate": row(LOGIN, OK),
    "account_email": row(LOGIN, OK),
    "account_email_verification_sent": row(OK, OK),
    "account_change_password": row(LOGIN, OK),
    "account_set_password": row(LOGIN, Redirect("/accounts/password/change/")),
    "account_reset_password": row(OK, OK),
    "account_reset_password_done": row(OK, OK),
    "account_reset_password_from_key": row(OK, OK),  # a bad key shows "link invalid"
    "account_reset_password_from_key_done": row(OK, OK),
    "account_confirm_email": row(OK, OK),  # a bad key shows "link expired or invalid"
    "account_confirm_login_code": row(Redirect("/accounts/login/"), HOME),
    "mfa_index": row(LOGIN, OK),
    "mfa_authenticate": row(Redirect("/accounts/login/"), HOME),
    "mfa_reauthenticate": row(LOGIN, REAUTH),
    "mfa_activate_totp": row(Redirect("/accounts/login/?next="), REAUTH),
    "mfa_deactivate_totp": row(LOGIN, NOT_FOUND),  # nothing to deactivate yet
    "mfa_view_recovery_codes": row(LOGIN, NOT_FOUND),
    "mfa_generate_recovery_codes": row(Redirect("/accounts/login/?next="), REAUTH),
    "mfa_download_recovery_codes": row(LOGIN, NOT_FOUND),
    # Profiles: a person edits only their own; the objects below belong to someone else.
    "profiles:welcome": row(LOGIN, OK),
    "profiles:me": row(LOGIN, Redirect("/people/")),
    "profiles:edit": row(LOGIN, OK),
    "profiles:goals": row(LOGIN, OK),
    "profiles:edit-goal": row(LOGIN, NOT_FOUND),  # another person's goal
    "profiles:delete-goal": row(LOGIN, NOT_FOUND),  # another person's goal
    "profiles:offer": row(LOGIN, OK),
    "profiles:availability": row(LOGIN, OK),
    "profiles:skill-search": row(LOGIN, OK),
    "profiles:people": row(LOGIN, OK),
    "profiles:person": row(LOGIN, NOT_FOUND),  # another person's hidden profile
    # The development outbox: staff only (and only with DEBUG on, tested separately).
    "profiles:outbox": row(LOGIN, NOT_FOUND, OK),
    "profiles:outbox-email": row(LOGIN, NOT_FOUND, OK),
    # One's own data: the export and the erasure act on the signed-in person only (no pk).
    "profiles:my-data": row(LOGIN, OK),
    "profiles:delete-account": row(LOGIN, OK),
    # Matching: requests and pairs are seen only by the two people in them (staff included:
    # being site staff gives no view into other people's requests). The objects below are a
    # hidden mentor, and a request and a mentorship between two other people.
    "matching:find": row(LOGIN, OK),
    "matching:mentor": row(LOGIN, NOT_FOUND),
    "matching:new-request": row(LOGIN, NOT_FOUND),
    "matching:requests": row(LOGIN, OK),
    "matching:request": row(LOGIN, NOT_FOUND),
    "matching:request-action": row(LOGIN, NOT_ALLOWED),  # POST only; POSTs: tests/matching
    "matching:mentorships": row(LOGIN, OK),
    "matching:mentorship": row(LOGIN, NOT_FOUND),
    # Cohorts: only a cohort's own admins get in; the cohort below is run by someone else, so
    # everyone here, site staff included, gets 404. Staff may create cohorts.
    "cohorts:list": row(LOGIN, OK),
    "cohorts:create": row(LOGIN, NOT_FOUND, OK),
    "cohorts:join": row(NOT_FOUND, NOT_FOUND),  # a forged invitation token
    "cohorts:decline": row(NOT_ALLOWED, NOT_ALLOWED),  # POST only, with the invitation's token
    "cohorts:import-template": row(LOGIN, OK),  # the columns and example rows, no data
    "cohorts:end-pair": row(LOGIN, NOT_FOUND),
    "cohorts:resend": row(LOGIN, NOT_ALLOWED),  # POST only
    "cohorts:suggestions": row(LOGIN, NOT_FOUND),  # what a participant sees: their admins only
    "profiles:photo": row(LOGIN, NOT_FOUND),  # a person with no photo (see tests/profiles)
    "profiles:edit-photo": row(LOGIN, OK),  # one's own photo: no pk
    "cohorts:detail": row(LOGIN, NOT_FOUND),
    "cohorts:edit": row(LOGIN, NOT_FOUND),
    "cohorts:people": row(LOGIN, NOT_FOUND),
    "cohorts:import": row(LOGIN, NOT_FOUND),
    "cohorts:match": row(LOGIN, NOT_ALLOWED),  # POST only
    "cohorts:run-status": row(LOGIN, NOT_FOUND),
    "cohorts:review": row(LOGIN, NOT_FOUND),
    "cohorts:proposal-action": row(LOGIN, NOT_ALLOWED),  # POST only
    "cohorts:swap": row(LOGIN, NOT_ALLOWED),  # POST only
    "cohorts:publish": row(LOGIN, NOT_FOUND),  # GET is the confirmation page
    "cohorts:export": row(LOGIN, NOT_FOUND),
    "cohorts:health": row(LOGIN, NOT_FOUND),
    # Meetings: a pair's space is for the two people in it (and, read-only, the admins of its
    # cohort: tests/meetings). The pair below is two other people.
    "meetings:pair": row(LOGIN, NOT_FOUND),
    "meetings:schedule": row(LOGIN, NOT_ALLOWED),  # POST only; POSTs: tests/meetings
    "meetings:add-action": row(LOGIN, NOT_ALLOWED),
    "meetings:toggle-action": row(LOGIN, NOT_ALLOWED),
    "meetings:add-milestone": row(LOGIN, NOT_ALLOWED),
    "meetings:milestone-status": row(LOGIN, NOT_ALLOWED),
    "meetings:close": row(LOGIN, NOT_FOUND),
    "meetings:reflect": row(LOGIN, NOT_FOUND),
    "meetings:thank-you": row(LOGIN, NOT_ALLOWED),
    "meetings:reschedule": row(LOGIN, NOT_ALLOWED),
    "meetings:cancel": row(LOGIN, NOT_ALLOWED),
    "meetings:ics": row(LOGIN, NOT_FOUND),
    "meetings:add-agenda": row(LOGIN, NOT_ALLOWED),
    "meetings:add-note": row(LOGIN, NOT_ALLOWED),
    "meetings:check-in": row(LOGIN, NOT_ALLOWED),
    "meetings:impact": row(LOGIN, OK),
    "meetings:preferences": row(LOGIN, OK),
    "meetings:unsubscribe": row(NOT_FOUND, NOT_FOUND),  # signed link, no sign-in; forged here
    # The calendar feed: one's own address page (no pk); the feed itself takes no sign-in, its
    # secret token is the key, so a forged (or revoked: tests/meetings) token is a 404 for all.
    "meetings:calendar": row(LOGIN, OK),
    "meetings:calendar-feed": row(NOT_FOUND, NOT_FOUND),
    # Conversations: the feed and the badge are one's own; a thread, a notification and an
    # announcement below belong to other people (staff included: no view into them). Their
    # POSTs are checked in test_posts_to_other_peoples_conversations_find_nothing.
    "conversations:notifications": row(LOGIN, OK),
    "conversations:unread": row(LOGIN, OK),
    "conversations:mark-all-read": row(LOGIN, NOT_ALLOWED),
    "conversations:open": row(LOGIN, NOT_FOUND),
    "conversations:mark-read": row(LOGIN, NOT_ALLOWED),
    "conversations:post": row(LOGIN, NOT_ALLOWED),
    "conversations:edit": row(LOGIN, NOT_ALLOWED),
    "conversations:report": row(LOGIN, NOT_ALLOWED),
    "conversations:announcement": row(LOGIN, NOT_FOUND),
    "cohorts:announcements": row(LOGIN, NOT_FOUND),
    # Community: events of a cohort are for those who joined it, its admins and site staff (the
    # event below belongs to a cohort the user was only invited to); stories are public once
    # approved, the one below is another person's, submitted, in a cohort someone else runs.
    "community:events": row(LOGIN, OK),
    "community:event-new": row(LOGIN, NOT_FOUND, OK),
    "community:upcoming": row(LOGIN, OK),
    "community:event": row(LOGIN, NOT_FOUND, OK),
    "community:rsvp": row(LOGIN, NOT_ALLOWED),
    "community:leave": row(LOGIN, NOT_ALLOWED),
    "community:move": row(LOGIN, NOT_ALLOWED),
    "community:cancel": row(LOGIN, NOT_ALLOWED),
    "community:attendance": row(LOGIN, NOT_ALLOWED),
    "community:ics": row(LOGIN, NOT_FOUND, OK),
    "community:stories": row(OK, OK),
    "community:story-new": row(LOGIN, OK),
    "community:my-stories": row(LOGIN, OK),
    "community:review-queue": row(LOGIN, OK),
    "community:story": row(NOT_FOUND, NOT_FOUND),
    "community:story-edit": row(LOGIN, NOT_FOUND),
    "community:withdraw": row(LOGIN, NOT_ALLOWED),
    "community:review": row(LOGIN, NOT_ALLOWED),
    "community:consent": row(LOGIN, NOT_ALLOWED),
    # Circles: a circle formed by a cohort someone else runs, the user not in it: its page and
    # everything in it are for its members (and, read-only, its cohort's admins) alone.
    "community:circles": row(LOGIN, OK),
    "community:circle-new": row(LOGIN, OK),
    "community:circle": row(LOGIN, NOT_FOUND),
    "community:circle-join": row(LOGIN, NOT_ALLOWED),
    "community:circle-leave": row(LOGIN, NOT_ALLOWED),
    "community:circle-approve": row(LOGIN, NOT_ALLOWED),
    "community:session-new": row(LOGIN, NOT_ALLOWED),
    "community:circle-action": row(LOGIN, NOT_ALLOWED),
    "community:circle-action-toggle": row(LOGIN, NOT_ALLOWED),
    "community:session-cancel": row(LOGIN, NOT_ALLOWED),
    "community:session-answer": row(LOGIN, NOT_ALLOWED),
    "community:session-agenda": row(LOGIN, NOT_ALLOWED),
    "community:session-note": row(LOGIN, NOT_ALLOWED),
    "community:session-check-in": row(LOGIN, NOT_ALLOWED),
    "cohorts:circles": row(LOGIN, NOT_FOUND),
}

# The admin site: nobody but staff gets in. Its many patterns share one rule, with the few
# views that behave differently listed by name.
# Object pages are opened with one id for every model: where no such object exists the admin
# redirects to its index with a message.
ADMIN_DEFAULT = row(ADMIN_LOGIN, ADMIN_LOGIN, AnyOf((OK, Redirect("/admin/"))))
ADMIN_EXCEPTIONS = {
    "admin:login": row(LOGIN, FORBIDDEN, Redirect("/admin/")),
    "admin:logout": row(Redirect("/admin/"), Redirect("/admin/"), NOT_ALLOWED),  # POST only
    "admin:autocomplete": row(ADMIN_LOGIN, ADMIN_LOGIN, FORBIDDEN),  # needs query parameters
    "admin:view_on_site": row(ADMIN_LOGIN, ADMIN_LOGIN, NOT_FOUND),
    # object_id/ (unnamed) redirects to object_id/change/
    "admin:<path:object_id>/": row(ADMIN_LOGIN, ADMIN_LOGIN, Redirect("/admin/")),
    "admin:(?P<url>.*)$": row(ADMIN_LOGIN, ADMIN_LOGIN, NOT_FOUND),  # catch-all: 404
    # The outbox and the audit log are written by the app, never by hand.
    "admin:profiles_email_add": row(ADMIN_LOGIN, ADMIN_LOGIN, FORBIDDEN),
    "admin:conversations_message_add": row(ADMIN_LOGIN, ADMIN_LOGIN, FORBIDDEN),
}


def all_patterns():
    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or namespace
                if namespace and pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}"
                yield from walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern):
                yield namespace, pattern

    yield from walk(get_resolver().url_patterns)


def key_of(namespace, pattern) -> str:
    if pattern.name:
        return f"{namespace}:{pattern.name}" if namespace else pattern.name
    tail = str(pattern.pattern).rsplit("/", 2)[-2:]
    return f"{namespace}:" + ("/".join(tail) if tail[-1] == "" else tail[-1])


def expectation(key: str):
    if key in MATRIX:
        return MATRIX[key]
    if key.startswith("admin:"):
        if key in ADMIN_EXCEPTIONS:
            return ADMIN_EXCEPTIONS[key]
        return ADMIN_DEFAULT
    return None


def test_every_url_pattern_has_an_expected_outcome_for_every_role():
    missing = [key_of(ns, p) for ns, p in all_patterns() if expectation(key_of(ns, p)) is None]
    assert not missing, f"add rows to tests/test_access_matrix.py for: {missing}"
    for key in MATRIX:
        assert set(MATRIX[key]) == set(ROLES), key


# Arguments for patterns whose "pk" names a particular object.
OBJECT_ARGS = {
    "profiles:edit-goal": lambda o: {"pk": o["others_goal"].pk},
    "profiles:delete-goal": lambda o: {"pk": o["others_goal"].pk},
    "profiles:person": lambda o: {"pk": o["hidden_person"].pk},
    "matching:mentor": lambda o: {"pk": o["hidden_person"].pk},
    "matching:new-request": lambda o: {"pk": o["hidden_person"].pk},
    "matching:request": lambda o: {"pk": o["others_request"].pk},
    "matching:request-action": lambda o: {"pk": o["others_request"].pk, "action": "accept"},
    "matching:mentorship": lambda o: {"pk": o["others_mentorship"].pk},
    "cohorts:join": lambda o: {"token": "forged-token"},
    "cohorts:decline": lambda o: {"token": "forged-token"},
    "meetings:unsubscribe": lambda o: {"token": "forged-token"},
    "meetings:pair": lambda o: {"pk": o["others_mentorship"].pk},
    "meetings:schedule": lambda o: {"pk": o["others_mentorship"].pk},
    "meetings:add-action": lambda o: {"pk": o["others_mentorship"].pk},
    "meetings:close": lambda o: {"pk": o["others_mentorship"].pk},
    "meetings:reflect": lambda o: {"pk": o["others_mentorship"].pk},
    "meetings:thank-you": lambda o: {"pk": o["others_mentorship"].pk},
    "meetings:toggle-action": lambda o: {"pk": o["others_mentorship"].pk, "action_pk": 1},
    "meetings:add-milestone": lambda o: {"pk": o["others_mentorship"].pk, "goal_pk": 1},
    "meetings:milestone-status": lambda o: {"pk": o["others_mentorship"].pk, "milestone_pk": 1},
    **{
        name: (lambda o: {"pk": o["others_mentorship"].pk, "meeting_pk": o["others_meeting"].pk})
        for name in (
            "meetings:reschedule",
            "meetings:cancel",
            "meetings:ics",
            "meetings:add-agenda",
            "meetings:add-note",
            "meetings:check-in",
        )
    },
    "meetings:calendar-feed": lambda o: {"token": "forged-token"},
    "conversations:open": lambda o: {"pk": o["others_notification"].pk},
    "conversations:mark-read": lambda o: {"pk": o["others_notification"].pk},
    "conversations:post": lambda o: {"pk": o["others_thread"].pk},
    "conversations:edit": lambda o: {
        "pk": o["others_thread"].pk,
        "message_pk": o["others_message"].pk,
    },
    "conversations:report": lambda o: {
        "pk": o["others_thread"].pk,
        "message_pk": o["others_message"].pk,
    },
    "conversations:announcement": lambda o: {"pk": o["others_announcement"].pk},
    **{
        name: (lambda o: {"pk": o["others_event"].pk})
        for name in (
            "community:event",
            "community:rsvp",
            "community:leave",
            "community:move",
            "community:cancel",
            "community:attendance",
            "community:ics",
        )
    },
    **{
        name: (lambda o: {"pk": o["others_story"].pk})
        for name in (
            "community:story",
            "community:story-edit",
            "community:withdraw",
            "community:review",
            "community:consent",
        )
    },
    **{
        name: (lambda o: {"pk": o["others_circle"].pk})
        for name in (
            "community:circle",
            "community:circle-join",
            "community:circle-leave",
            "community:session-new",
            "community:circle-action",
        )
    },
    "community:circle-approve": lambda o: {"pk": o["others_circle"].pk, "user_pk": 1},
    "community:circle-action-toggle": lambda o: {
        "pk": o["others_circle"].pk,
        "action_pk": o["others_circle_action"].pk,
    },
    **{
        name: (lambda o: {"pk": o["others_circle"].pk, "meeting_pk": o["others_session"].pk})
        for name in (
            "community:session-cancel",
            "community:session-answer",
            "community:session-agenda",
            "community:session-note",
            "community:session-check-in",
        )
    },
    "cohorts:run-status": lambda o: {"slug": o["others_cohort"].slug, "pk": o["others_run"].pk},
    "cohorts:publish": lambda o: {"slug": o["others_cohort"].slug, "pk": o["others_run"].pk},
    "cohorts:end-pair": lambda o: {
        "slug": o["others_cohort"].slug,
        "pk": o["others_mentorship"].pk,
    },
    "cohorts:proposal-action": lambda o: {
        "slug": o["others_cohort"].slug,
        "pk": o["others_proposal"].pk,
        "action": "lock",
    },
}


def url_for(key: str, pattern, objects: dict) -> str:
    """A concrete URL for a pattern, filling its arguments with objects that exist."""
    if key in OBJECT_ARGS:
        return reverse(key, kwargs=OBJECT_ARGS[key](objects))
    route = str(pattern.pattern)
    values = {
        "pk": objects["email"].pk,
        "key": "not-a-real-key",
        "slug": objects["others_cohort"].slug,
        "uidb36": "0",
        "app_label": "profiles",
        "object_id": str(objects["user"].pk),
        "id": str(objects["user"].pk),
        "content_type_id": "1",
    }
    if pattern.name:
        names = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)
        return reverse(key, kwargs={a or b: str(values[a or b]) for a, b in names})
    # Unnamed admin patterns: build the path by hand from their admin model URL.
    if key == "admin:(?P<url>.*)$":
        return "/admin/profiles/no-such-page/"
    return f"/admin/profiles/user/{objects['user'].pk}/"


def outcome(response):
    if response.status_code in (301, 302):
        return f"302->{response.url}"
    return response.status_code


def matches(expected, response) -> bool:
    if isinstance(expected, AnyOf):
        return any(matches(option, response) for option in expected.options)
    if isinstance(expected, Redirect):
        return response.status_code == 302 and response.url.startswith(expected.to)
    return response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_the_expected_outcome_on_every_url(client, db, settings, role):
    settings.DEBUG = True  # the outbox exists only in DEBUG; everything else ignores it
    user = make_person("ursula@example.org", name="Ursula User")
    staff = make_person("stella@example.org", name="Stella Staff", staff=True)
    staff.is_superuser = True  # the "staff" role is a site admin
    staff.save()
    other = make_person("olga@example.org", name="Olga Other")
    third = make_person("theo@example.org", name="Theo Third")
    for person, visibility in ((user, "all"), (staff, "all"), (other, "hidden"), (third, "all")):
        Profile.objects.create(user=person, is_mentee=True, is_mentor=True, visibility=visibility)
        MentorOffer.objects.create(user=person, capacity=3)
    email = Email.objects.create(to=[user.email], subject="Hello", body_text="Hi")
    others_goal = Goal.objects.create(owner=other, title="Olga's goal")
    others_request = MentorRequest.objects.create(
        mentee=other, mentor=third, message="Would you mentor me on this goal, please?"
    )
    others_request.goals.add(others_goal)
    objects = {
        "user": user,
        "email": email,
        "others_goal": others_goal,
        "hidden_person": other,
        "others_request": others_request,
        "others_mentorship": Mentorship.objects.create(mentor=other, mentee=third),
    }
    cohort = Cohort.objects.create(name="Olga's cohort", slug="olgas-cohort")
    cohort.admins.add(other)
    Enrollment.objects.create(cohort=cohort, email=user.email, user=user, role="mentee")
    run = MatchRun.objects.create(cohort=cohort, status=MatchRun.Status.DONE)
    objects.update(
        others_cohort=cohort,
        others_run=run,
        others_proposal=Proposal.objects.create(run=run, mentee=user, mentor=third, score=0.5),
        others_meeting=Meeting.objects.create(
            mentorship=objects["others_mentorship"], starts_at=timezone.now()
        ),
    )
    objects.update(others_conversation(objects["others_mentorship"], cohort))
    objects.update(others_community(cohort, other))
    if role != "anonymous":
        client.force_login(user if role == "user" else staff)

    wrong = []
    for namespace, pattern in all_patterns():
        key = key_of(namespace, pattern)
        url = url_for(key, pattern, objects)
        expected = expectation(key)[role]
        response = client.get(url)
        if not matches(expected, response):
            wrong.append(f"{key} {url}: expected {expected!r}, got {outcome(response)}")

    assert not wrong, "\n".join(wrong)


def others_conversation(pair: Mentorship, cohort: Cohort) -> dict:
    """A thread with a message between two other people, a notification of theirs, and an
    announcement of a cohort run by someone else that was sent to them alone."""
    thread = actions.thread_for(mentorship=pair)
    message = actions.post_message(thread=thread, author=pair.mentee, body="Hello, a private note")
    announcement = Announcement.objects.create(
        cohort=cohort, subject="For Theo", body="Only Theo received this."
    )
    Receipt.objects.create(announcement=announcement, user=pair.mentee)
    return {
        "others_thread": thread,
        "others_message": message,
        "others_notification": Notification.objects.get(user=pair.mentor),
        "others_announcement": announcement,
    }


def others_community(cohort: Cohort, other) -> dict:
    """An event of a cohort someone else runs, and another person's story waiting for review."""
    event = Event.objects.create(
        cohort=cohort,
        organiser=other,
        title="Olga's workshop",
        starts_at=timezone.now() + timedelta(days=3),
        ends_at=timezone.now() + timedelta(days=3, hours=1),
        zone="UTC",
        place="Room 1",
        capacity=5,
    )
    story = Story.objects.create(
        author=other, cohort=cohort, title="Olga's story", body="Draft", status="submitted"
    )
    circle = Circle.objects.create(
        topic="Olga's circle", facilitator=other, joining="formed", weekday=1, start_minute=600
    )
    CohortCircle.objects.create(cohort=cohort, circle=circle)
    session = Meeting.objects.create(circle=circle, starts_at=timezone.now() - timedelta(hours=2))
    action = ActionItem.objects.create(circle=circle, owner=other, text="Olga's to do")
    return {
        "others_event": event,
        "others_story": story,
        "others_circle": circle,
        "others_session": session,
        "others_circle_action": action,
    }


COMMUNITY_POSTS = {
    "community:rsvp": {},
    "community:leave": {},
    "community:cancel": {},
    "community:attendance": {"present": ["1"]},
    "community:move": {"day": "2027-01-05", "start": "18:00"},
    "community:withdraw": {},
    "community:review": {"decision": "approve"},
    "community:consent": {"consent": "yes"},
    "community:circle-join": {},
    "community:circle-leave": {},
    "community:circle-approve": {"decision": "accept"},
    "community:session-new": {"day": "2027-01-05", "start": "18:00", "duration": 60},
    "community:circle-action": {"owner": "1", "text": "Mine now"},
    "community:circle-action-toggle": {},
    "community:session-cancel": {},
    "community:session-answer": {"going": "yes"},
    "community:session-agenda": {"text": "Let me in"},
    "community:session-note": {"text": "Let me in"},
    "community:session-check-in": {"rating": "5", "apply": "Nothing"},
}


def test_posts_to_other_peoples_events_and_stories_find_nothing(client, db):
    """Answering, changing or cancelling an event one may not see, or withdrawing, reviewing or
    consenting to another person's story, answers 404 and changes nothing."""
    someone = make_person("ursula@example.org", name="Ursula User")
    other = make_person("olga@example.org", name="Olga Other")
    cohort = Cohort.objects.create(name="Olga's cohort", slug="olgas-cohort")
    cohort.admins.add(other)
    Enrollment.objects.create(cohort=cohort, email=someone.email, user=someone, role="mentee")
    objects = others_community(cohort, other)
    client.force_login(someone)

    for name, data in COMMUNITY_POSTS.items():
        url = reverse(name, kwargs=OBJECT_ARGS[name](objects))
        assert client.post(url, data).status_code == 404, name

    assert not Rsvp.objects.exists()
    objects["others_event"].refresh_from_db()
    assert objects["others_event"].status == "scheduled"
    assert Story.objects.get().status == "submitted"
    circle = objects["others_circle"]
    assert not CircleMember.objects.filter(circle=circle).exists()
    assert circle.sessions.get().status == "scheduled" and circle.sessions.count() == 1
    assert not (AgendaItem.objects.exists() or Note.objects.exists() or CheckIn.objects.exists())
    assert ActionItem.objects.get().done is False


POSTS = {
    "conversations:post": {"body": "Let me in"},
    "conversations:edit": {"body": "Changed by someone else"},
    "conversations:report": {"reason": "Not mine to report"},
    "conversations:mark-read": {},
}


@pytest.mark.parametrize("role", ["user", "staff"])
def test_posts_to_other_peoples_conversations_find_nothing(client, db, role):
    """Writing, editing, reporting in a thread of two other people, or reading their feed's line,
    answers 404 for anyone else, site staff included, and changes nothing."""
    someone = make_person("ursula@example.org", name="Ursula User", staff=role == "staff")
    mentor = make_person("olga@example.org", name="Olga Other")
    mentee = make_person("theo@example.org", name="Theo Third")
    cohort = Cohort.objects.create(name="Olga's cohort", slug="olgas-cohort")
    objects = others_conversation(Mentorship.objects.create(mentor=mentor, mentee=mentee), cohort)
    client.force_login(someone)

    for name, data in POSTS.items():
        url = reverse(name, kwargs=OBJECT_ARGS[name](objects))
        assert client.post(url, data).status_code == 404, name

    message = objects["others_message"]
    message.refresh_from_db()
    assert message.body == "Hello, a private note" and message.reported_at is None
    assert Message.objects.count() == 1
    assert Notification.objects.unread().filter(user=mentor).count() == 1


def test_outbox_does_not_exist_without_debug_even_for_staff(client, staff):
    client.force_login(staff)

    assert client.get(reverse("profiles:outbox")).status_code == 404
