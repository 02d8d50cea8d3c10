"""People's own data: "Download my data" (`export_archive`) and "Delete my account"
(`erase_account`).

The export is built from the signed-in person alone; no URL names anyone else, so nobody, cohort
admins included, can ask for another person's. It holds everything of theirs, and of the records
they share with someone else only what they wrote or could already read on their own pages. The
other person appears by name, never by email address, and never with their private notes
(`meetings.services.visible_notes`, the pair page's rule) or their check-ins (only ever shown to
their author). Email bodies are left out: they hold one-time sign-in links.

The erasure keeps the User row, anonymised: mentorships, meetings, requests, notes and action
items point at it with on_delete=CASCADE, so deleting it would delete the other person's side
too. Model by model, in one transaction:

- User: name "A former member", email former-member-<id>@invalid.example, unusable password,
  inactive, no staff rights, groups or permissions, no last login. Its allauth addresses (with
  their confirmations) and MFA authenticators are deleted, and its sessions ended.
- Profile: the row stays (code reads `user.profile` directly); every field is blanked, both roles
  are off and it is hidden.
- Goal: deleted, unless a mentorship or a milestone uses it: then it stays as "A former member's
  goal", with no description or skills, so the other person's plan and record stay whole.
- MentorOffer, Expertise, AvailabilityWindow, EmailPreference, Digest, CalendarFeed (its address
  stops working), Notification, Receipt: deleted.
- Rsvp: places at events ahead go to the next in line, then all are deleted; SessionAnswer and
  Story: deleted. CircleMember: left; circles the person facilitated close (their sessions and
  notes stay, the other members' record).
- Message: stays, like a shared note: it was written to the other person, whose conversation it
  is too. Other people's notifications that name the person are scrubbed (below).
- MentorRequest: open ones the person sent are deleted; open ones sent to them are declined, and
  the mentee is told so they can ask someone else; closed ones are the other person's history
  too and stay.
- Mentorship: stays. Active ones end through `end_mentorship`, and the other person is told;
  future meetings of all the person's pairs are cancelled, and their pending reminders.
- Meeting, AgendaItem, ActionItem, Milestone, shared Note, Introduction, Nudge, Placement: stay.
  They were written to the pair, so they are the other person's record as well.
- Private Note, CheckIn: deleted (only their author ever saw them).
- Closure: stays; the program feedback the person wrote is blanked; a thank-you they wrote stays
  with the mentor it thanks.
- Block: the person's own reports are deleted; blocks against them stay (the other person's
  safety).
- Cohort: the person is no longer an admin. Enrollment: stays for the cohort's figures, with its
  address replaced and the status "declined", so they are never invited or matched again.
  PairRule, unpublished Proposal, Unmatched: deleted. Published Proposal: stays, with its reasons
  (which quote the profile) cleared. MatchRun: their name is replaced in its skipped pairs.
- Email: messages to the person are deleted (or lose their address when sent to several
  people). In everyone else's, text and attachments, their name and addresses are replaced, and
  so are their headline, bio and goals where quoted. The same goes for the admin's LogEntry and,
  when installed, the audit log's labels.

Other people's own words (a note of theirs that names the person, say) are theirs and stay.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.apps import apps
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.html import escape

from cohorts.models import Enrollment, PairRule, Proposal, Unmatched
from community.models import Rsvp, SessionAnswer, Story
from conversations.models import Message, Notification, Receipt
from matching import notify
from matching import services as matching_services
from matching.actions import end_mentorship
from matching.loader import bump_version
from matching.models import Block, Circle, CircleMember, MentorRequest, Mentorship
from matching.services import MatchingError
from meetings import services as meeting_services
from meetings.models import (
    CalendarFeed,
    CheckIn,
    Closure,
    Digest,
    EmailPreference,
    Meeting,
    Milestone,
    Note,
    Reminder,
)
from profiles.models import (
    AvailabilityWindow,
    Email,
    Expertise,
    Goal,
    Level,
    MentorOffer,
    Profile,
    User,
    Visibility,
)

FORMER_MEMBER = "A former member"
LEFT_THE_PROGRAM = "They left the program and deleted their account."
MENTOR_LEFT = "This mentor has left the program."
GOAL_OF_FORMER_MEMBER = f"{FORMER_MEMBER}'s goal"

# Records other people keep that may quote a person's name or address: scrubbed on erasure.
# Labels of apps that are not installed are skipped.
QUOTING_FIELDS: dict[str, tuple[str, ...]] = {
    "profiles.Email": ("subject", "body_text", "body_html", "attachments", "headers", "error"),
    "admin.LogEntry": ("object_repr", "change_message"),
    "cohorts.MatchRun": ("publish_skipped", "error", "publish_error"),
    "audit.AuditEntry": ("actor_label", "target_label", "detail"),
    "conversations.Notification": ("text",),
}


def former_member_email(user_id: int) -> str:
    """The address an erased account keeps: unique, and undeliverable by design (RFC 2606)."""
    return f"former-member-{user_id}@invalid.example"


# --- Download my data ---------------------------------------------------------------------------


@dataclass
class Export:
    """What goes into the archive: data.json, and one calendar file per meeting."""

    data: dict[str, Any]
    calendars: dict[str, bytes] = field(default_factory=dict)


def build_export(*, user: User) -> Export:
    """Everything of this person's, read from this person alone."""
    export = Export(data={})
    export.data = {
        "exported_at": timezone.now(),
        "about": (
            "Your data in Mentorship. Other people appear by name only; their private notes "
            "and check-ins are not included. Email bodies are left out: they held one-time "
            "sign-in links. Each meeting's calendar file is in meetings/."
        ),
        "account": _account(user),
        "profile": _profile(user),
        "goals": _goals(user),
        "mentor_offer": _offer(user),
        "expertise": [
            {"skill": e.skill.name, "level": e.level, "years": e.years}
            for e in Expertise.objects.filter(user=user).select_related("skill")
        ],
        "availability": [
            {"weekday": w.weekday, "start_minute": w.start_minute, "end_minute": w.end_minute}
            for w in AvailabilityWindow.objects.filter(user=user)
        ],
        "email_preferences": {
            p.kind: p.enabled for p in EmailPreference.objects.filter(user=user).order_by("kind")
        },
        "requests": _requests(user),
        "mentorships": _mentorships(user, export.calendars),
        "reports_i_made": [
            {"about": b.mentee.name, "reason": b.reason, "created_at": b.created_at}
            for b in Block.objects.filter(mentor=user).select_related("mentee")
        ],
        "cohorts": _cohorts(user),
        "conversations": _conversations(user),
        "circles": [
            {"circle": seat.circle.topic, "status": seat.status, "joined_at": seat.joined_at}
            for seat in CircleMember.objects.filter(user=user).select_related("circle")
        ],
        "events": [
            {"event": r.event.title, "starts_at": r.event.starts_at, "status": r.status}
            for r in Rsvp.objects.filter(user=user).select_related("event")
        ],
        "stories": [
            {"title": st.title, "text": st.body, "status": st.status, "created_at": st.created_at}
            for st in Story.objects.filter(author=user)
        ],
        "notifications": [
            {"kind": n.kind, "text": n.text, "created_at": n.created_at, "read_at": n.read_at}
            for n in Notification.objects.filter(user=user).order_by("created_at", "pk")
        ],
        "emails_sent_to_me": _emails(user),
    }
    return export


def _conversations(user: User) -> list[dict[str, Any]]:
    """The messages of the threads the person is in: both people read all of them."""
    threads: dict[int, list[dict[str, Any]]] = {}
    rows = (
        Message.objects.filter(thread__participants__user=user)
        .select_related("author")
        .order_by("thread_id", "pk")
    )
    for m in rows:
        threads.setdefault(m.thread_id, []).append(
            {
                "by": "me" if m.author_id == user.pk else m.author.name,
                "text": m.body,
                "created_at": m.created_at,
                "edited_at": m.edited_at,
            }
        )
    return [{"thread": pk, "messages": messages} for pk, messages in threads.items()]


def export_archive(*, user: User) -> bytes:
    """The person's data as a ZIP: data.json and meetings/meeting-<id>.ics."""
    export = build_export(user=user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "data.json",
            json.dumps(export.data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        )
        for name, content in export.calendars.items():
            archive.writestr(name, content)
        profile = Profile.objects.filter(user=user).first()
        if profile is not None and profile.photo:
            with profile.photo.open("rb") as photo:
                archive.writestr("photo.jpg", photo.read())
    return buffer.getvalue()


def archive_name() -> str:
    return f"mentorship-my-data-{timezone.localdate():%Y-%m-%d}.zip"


def _account(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "email": user.email,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary}
            for a in EmailAddress.objects.filter(user=user).order_by("pk")
        ],
        # Which second factors are on, never their secrets.
        "second_factors": [
            {"type": a.type, "created_at": a.created_at}
            for a in Authenticator.objects.filter(user=user).order_by("pk")
        ],
    }


def _profile(user: User) -> dict[str, Any] | None:
    profile = Profile.objects.filter(user=user).first()
    if profile is None:
        return None
    return {
        "headline": profile.headline,
        "bio": profile.bio,
        "timezone": profile.timezone,
        "languages": profile.languages,
        "organisation": profile.organisation,
        "department": profile.department,
        "years_experience": profile.years_experience,
        "level": profile.level,
        "city": profile.city,
        "is_mentee": profile.is_mentee,
        "is_mentor": profile.is_mentor,
        "visibility": profile.visibility,
        "onboarded_at": profile.onboarded_at,
        "updated_at": profile.updated_at,
    }


def _goals(user: User) -> list[dict[str, Any]]:
    return [
        {
            "id": goal.pk,
            "title": goal.title,
            "description": goal.description,
            "skills": [skill.name for skill in goal.skills.all()],
            "format": goal.format,
            "cadence": goal.cadence,
            "status": goal.status,
            "created_at": goal.created_at,
        }
        for goal in Goal.objects.filter(owner=user).prefetch_related("skills")
    ]


def _offer(user: User) -> dict[str, Any] | None:
    offer = MentorOffer.objects.filter(user=user).first()
    if offer is None:
        return None
    return {
        "capacity": offer.capacity,
        "hours_per_month": offer.hours_per_month,
        "formats": offer.formats,
        "cadences": offer.cadences,
        "open_to_peer": offer.open_to_peer,
        "open_to_reverse": offer.open_to_reverse,
        "accepting_requests": offer.accepting_requests,
    }


def _requests(user: User) -> list[dict[str, Any]]:
    """Requests sent and received: both people read all of their text on the request's page."""
    rows = (
        MentorRequest.objects.involving(user)
        .select_related("mentee", "mentor")
        .prefetch_related("goals")
        .order_by("created_at", "pk")
    )
    return [
        {
            "id": r.pk,
            "i_am": "mentee" if r.mentee_id == user.pk else "mentor",
            "other_person": (r.mentor if r.mentee_id == user.pk else r.mentee).name,
            "status": r.status,
            "goals": [goal.title for goal in r.goals.all()],
            "message": r.message,
            "cadence": r.cadence,
            "question_from_mentor": r.question,
            "answer_from_mentee": r.answer,
            "note_to_mentee": r.note,
            "created_at": r.created_at,
            "answered_at": r.answered_at,
            "closed_at": r.closed_at,
        }
        for r in rows
    ]


def _mentorships(user: User, calendars: dict[str, bytes]) -> list[dict[str, Any]]:
    pairs = (
        Mentorship.objects.involving(user)
        .select_related("mentor__profile", "mentee__profile", "closure", "placement__cohort")
        .prefetch_related(
            "goals",
            Prefetch("milestones", queryset=Milestone.objects.select_related("goal")),
            "actions",
            Prefetch("meetings", queryset=Meeting.objects.prefetch_related("agenda")),
        )
        .order_by("started_at", "pk")
    )
    my_checkins = {c.meeting_id: c for c in CheckIn.objects.filter(author=user)}
    result = []
    for pair in pairs:
        names = {pair.mentor_id: pair.mentor.name, pair.mentee_id: pair.mentee.name}

        def who(person_id: int | None, names: dict[int, str] = names) -> str | None:
            if person_id is None:
                return None
            return "me" if person_id == user.pk else names.get(person_id, "a program admin")

        meetings = []
        for meeting in pair.meetings.all():
            filename = f"meetings/meeting-{meeting.pk}.ics"
            cancelled = meeting.status == Meeting.Status.CANCELLED
            calendars[filename] = meeting_services.ics(meeting, user, cancel=cancelled)
            checkin = my_checkins.get(meeting.pk)
            meetings.append(
                {
                    "id": meeting.pk,
                    "starts_at": meeting.starts_at,
                    "duration_minutes": meeting.duration_minutes,
                    "place": meeting.place,
                    "status": meeting.status,
                    "created_by": who(meeting.created_by_id),
                    "calendar_file": filename,
                    "agenda": [
                        {"text": a.text, "by": who(a.author_id), "created_at": a.created_at}
                        for a in meeting.agenda.all()
                    ],
                    "notes": [
                        {
                            "text": n.text,
                            "by": who(n.author_id),
                            "private": n.private,
                            "created_at": n.created_at,
                        }
                        for n in meeting_services.visible_notes(meeting, user)
                    ],
                    "my_check_in": None
                    if checkin is None
                    else {
                        "rating": checkin.rating,
                        "what_i_will_apply": checkin.apply,
                        "good_fit": checkin.good_fit,
                        "created_at": checkin.created_at,
                    },
                }
            )
        closure = getattr(pair, "closure", None)
        placement = getattr(pair, "placement", None)
        result.append(
            {
                "id": pair.pk,
                "i_am": "mentor" if pair.mentor_id == user.pk else "mentee",
                "other_person": names[
                    pair.mentee_id if pair.mentor_id == user.pk else pair.mentor_id
                ],
                "status": pair.status,
                "source": pair.source,
                "cohort": placement.cohort.name if placement else None,
                "cadence": pair.cadence,
                "started_at": pair.started_at,
                "ended_at": pair.ended_at,
                "ended_by": who(pair.ended_by_id),
                "end_reason": pair.end_reason,
                "goals": [goal.title for goal in pair.goals.all()],
                "milestones": [
                    {"goal": m.goal.title, "title": m.title, "due_on": m.due_on, "status": m.status}
                    for m in pair.milestones.all()
                ],
                "action_items": [
                    {
                        "text": a.text,
                        "owner": who(a.owner_id),
                        "due_on": a.due_on,
                        "done": a.done,
                        "done_at": a.done_at,
                    }
                    for a in pair.actions.all()
                ],
                "meetings": meetings,
                "closure": _closure(closure, user, pair) if closure else None,
            }
        )
    return result


def _closure(closure: Closure, user: User, pair: Mentorship) -> dict[str, Any]:
    data: dict[str, Any] = {
        "outcome": closure.outcome,
        "closed_at": closure.closed_at,
        "closed_by_me": closure.closed_by_id == user.pk,
    }
    if closure.closed_by_id == user.pk:  # feedback for the program is its writer's alone
        data["my_feedback_for_the_program"] = closure.feedback
    elif closure.other_reflected_at:  # the reflection the other side gave after the close
        data["my_outcome"] = closure.other_outcome
        data["my_feedback_for_the_program"] = closure.other_feedback
    if closure.thank_you:
        key = "thank_you_i_wrote" if pair.mentee_id == user.pk else "thank_you_to_me"
        data[key] = closure.thank_you
        data["thank_you_shown_on_profile"] = closure.show_thank_you
    return data


def _cohorts(user: User) -> dict[str, Any]:
    return {
        "enrollments": [
            {
                "cohort": e.cohort.name,
                "email": e.email,
                "role": e.role,
                "status": e.status,
                "joined_at": e.joined_at,
                "declined_at": e.declined_at,
            }
            for e in Enrollment.objects.filter(user=user).select_related("cohort")
        ],
        "i_administer": list(user.cohorts_admin.order_by("name").values_list("name", flat=True)),
    }


def _emails(user: User) -> list[dict[str, Any]]:
    address = user.email.lower()
    rows = Email.objects.filter(to__icontains=address).order_by("created_at", "pk")
    return [
        {
            "subject": e.subject,
            "kind": e.kind,
            "status": e.status,
            "created_at": e.created_at,
            "sent_at": e.sent_at,
        }
        for e in rows
        if address in (a.lower() for a in e.to)
    ]


# --- Delete my account --------------------------------------------------------------------------


@transaction.atomic
def erase_account(*, user: User) -> User:
    """Erase this person (see the module's docstring for what goes and what stays, and why)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    addresses = {user.email.lower()} | {
        a.lower() for a in EmailAddress.objects.filter(user=user).values_list("email", flat=True)
    }
    identity = [text for text in (*addresses, user.name.strip()) if text]
    replacements = _quoted_by_others(user, addresses)
    # First, so that every email this sends names the person as a former member.
    _anonymise_user(user)
    from audit import services as audit
    from audit.models import AuditEntry

    audit.record(
        action=AuditEntry.Action.DELETE_ACCOUNT,
        by=user,
        target=f"Account #{user.pk}",
        detail={"user": user.pk, "via": "self-service"},
    )
    _end_pairs(user)
    _leave_community(user)
    _close_open_requests(user)
    _delete_own_things(user)
    _leave_cohorts(user)
    _scrub_emails_to(user, addresses=addresses | {user.email})
    for label, fields in QUOTING_FIELDS.items():
        _scrub_quotes(label, fields, identity=identity, replacements=replacements)
    transaction.on_commit(bump_version)
    return user


def _quoted_by_others(user: User, addresses: set[str]) -> list[tuple[str, str]]:
    """What other people's emails and logs may quote of the person, and what replaces it: their
    name, addresses, and the free text of their profile and goals (a request's email lists its
    goals, an introduction the headline). Short fields (a city) are left out: they would match
    other people's words. Longest first, so a goal that contains the name still matches. Only
    records that name the person are touched (`_scrub_quotes`), so someone else's goal of the
    same title stays; a namesake's mention in those records would change too."""
    texts = [(a, former_member_email(user.pk)) for a in addresses]
    texts.append((user.name.strip(), FORMER_MEMBER))
    profile = Profile.objects.filter(user=user).first()
    if profile is not None:
        texts += [(profile.headline.strip(), ""), (profile.bio.strip(), "")]
    for title, description in Goal.objects.filter(owner=user).values_list("title", "description"):
        texts += [(title.strip(), GOAL_OF_FORMER_MEMBER), (description.strip(), "")]
    return sorted({(t, r) for t, r in texts if t}, key=lambda item: -len(item[0]))


def _anonymise_user(user: User) -> None:
    user.name = FORMER_MEMBER
    user.email = former_member_email(user.pk)
    user.set_unusable_password()
    user.is_active = user.is_staff = user.is_superuser = False
    user.last_login = None
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    _end_sessions(user)


def _end_sessions(user: User) -> None:
    """Sign the person out everywhere. The new password hash already voids their sessions at
    their next request; stores that can be listed (the database) lose them now."""
    if not settings.SESSION_ENGINE.endswith((".db", ".cached_db")):
        return
    from django.contrib.sessions.models import Session

    store = import_module(settings.SESSION_ENGINE).SessionStore
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            store(session_key=session.session_key).delete()


def _end_pairs(user: User) -> None:
    for pair in Mentorship.objects.active().involving(user):
        try:
            ended = end_mentorship(
                mentorship=pair, by=user, reason=LEFT_THE_PROGRAM, notify_people=False
            )
        except MatchingError:  # ended by someone else meanwhile
            continue
        other = ended.mentee if ended.mentor_id == user.pk else ended.mentor
        notify.ended(ended, to=other, by=user)
    meetings = Meeting.objects.filter(mentorship__in=Mentorship.objects.involving(user))
    meetings.filter(status=Meeting.Status.SCHEDULED, starts_at__gt=timezone.now()).update(
        status=Meeting.Status.CANCELLED
    )
    Reminder.objects.filter(meeting__in=meetings, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.CANCELLED
    )


def _leave_community(user: User) -> None:
    """Places at events ahead go to the next in line; circles are left, and those the person
    facilitated close; their stories are deleted (their own words, public until now)."""
    from community import actions as community

    for place in Rsvp.objects.filter(
        user=user, status=Rsvp.Status.GOING, event__starts_at__gt=timezone.now()
    ).select_related("event"):
        community.cancel_rsvp(event=place.event, user=user)
    Rsvp.objects.filter(user=user).delete()
    SessionAnswer.objects.filter(user=user).delete()
    CircleMember.objects.filter(user=user).update(status=CircleMember.Status.LEFT)
    Circle.objects.filter(facilitator=user).update(status=Circle.Status.CLOSED)
    Story.objects.filter(author=user).delete()


def _close_open_requests(user: User) -> None:
    MentorRequest.objects.open().filter(mentee=user).delete()
    for pk in list(MentorRequest.objects.open().filter(mentor=user).values_list("pk", flat=True)):
        matching_services.decline(pk, user, note=MENTOR_LEFT)


def _delete_own_things(user: User) -> None:
    from profiles.photos import remove_photo

    profile = Profile.objects.filter(user=user).first()
    if profile is not None:
        remove_photo(profile=profile)
    Note.objects.filter(author=user, private=True).delete()
    CheckIn.objects.filter(author=user).delete()
    for model in (
        Digest,
        EmailPreference,
        MentorOffer,
        Expertise,
        AvailabilityWindow,
        CalendarFeed,
        Notification,
        Receipt,
    ):
        model.objects.filter(user=user).delete()
    Block.objects.filter(mentor=user).delete()
    Closure.objects.filter(closed_by=user).update(feedback="")
    mine = Q(mentorship__mentor=user) | Q(mentorship__mentee=user)
    Closure.objects.filter(mine).exclude(closed_by=user).update(other_feedback="")
    goals = Goal.objects.filter(owner=user)
    shared = set(
        goals.filter(Q(mentorships__isnull=False) | Q(milestones__isnull=False)).values_list(
            "pk", flat=True
        )
    )
    goals.exclude(pk__in=shared).delete()
    Goal.skills.through.objects.filter(goal_id__in=shared).delete()
    Goal.objects.filter(pk__in=shared).update(title=GOAL_OF_FORMER_MEMBER, description="")
    Profile.objects.filter(user=user).update(
        headline="",
        bio="",
        timezone="UTC",
        languages=[],
        organisation="",
        department="",
        years_experience=0,
        level=Level.MID,
        city="",
        is_mentee=False,
        is_mentor=False,
        visibility=Visibility.HIDDEN,
        onboarded_at=None,
    )


def _leave_cohorts(user: User) -> None:
    user.cohorts_admin.clear()
    now = timezone.now()
    for enrollment in Enrollment.objects.filter(user=user):
        enrollment.email = f"former-member-{user.pk}-{enrollment.pk}@invalid.example"
        enrollment.status = Enrollment.Status.DECLINED
        enrollment.declined_at = enrollment.declined_at or now
        enrollment.capacity_override = None
        enrollment.save(update_fields=["email", "status", "declined_at", "capacity_override"])
    either = Q(mentee=user) | Q(mentor=user)
    PairRule.objects.filter(either).delete()
    Proposal.objects.filter(either, mentorship__isnull=True).delete()
    Proposal.objects.filter(either).update(reasons=[])
    Unmatched.objects.filter(mentee=user).delete()


def _scrub_emails_to(user: User, *, addresses: set[str]) -> None:
    """Messages to the person go; a message to several people only loses their address."""
    to_them = Q()
    for address in addresses:
        to_them |= Q(to__icontains=address)
    for email in Email.objects.filter(to_them):
        kept = [a for a in email.to if a.lower() not in addresses]
        if not kept:
            email.delete()
        elif len(kept) < len(email.to):
            Email.objects.filter(pk=email.pk).update(to=kept)


def _variants(text: str) -> set[str]:
    """How a name or address may be written down: as is, HTML-escaped (email bodies) and
    escaped as an iCalendar TEXT value (.ics attachments)."""
    ical = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return {text, str(escape(text)), ical}


def _replaced(text: str, replacements: list[tuple[str, str]]) -> str:
    for needle, replacement in replacements:
        for variant in _variants(needle):
            # Whole words only: "Ann" must not turn "Annual" into nonsense.
            pattern = rf"(?<!\w){re.escape(variant)}(?!\w)"
            text = re.sub(pattern, lambda _, r=replacement: r, text, flags=re.IGNORECASE)
    return text


def _scrubbed(value: Any, replacements: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        if value.startswith("BEGIN:VCALENDAR"):
            # Calendar lines are folded at 75 octets (RFC 5545 3.1), maybe inside a name.
            unfolded = re.sub(r"\r?\n[ \t]", "", value)
            replaced = _replaced(unfolded, replacements)
            return replaced if replaced != unfolded else value
        return _replaced(value, replacements)
    if isinstance(value, list):
        return [_scrubbed(item, replacements) for item in value]
    if isinstance(value, dict):
        return {key: _scrubbed(item, replacements) for key, item in value.items()}
    return value


def _scrub_quotes(
    label: str,
    field_names: tuple[str, ...],
    *,
    identity: list[str],
    replacements: list[tuple[str, str]],
) -> None:
    """In the rows of `label` whose fields name the person (an `identity` string: their name or
    an address), replace what they quote of the person."""
    try:
        model = apps.get_model(label)
    except LookupError:
        return
    present = {f.name: f for f in model._meta.concrete_fields}
    fields = [present[name] for name in field_names if name in present]
    query = Q()
    for f in fields:
        for needle in identity:
            for variant in _variants(needle):
                query |= Q(**{f"{f.name}__icontains": variant})
    if not query:
        return
    for row in list(model._default_manager.filter(query)):
        changes = {}
        for f in fields:
            value = getattr(row, f.name)
            new = _scrubbed(value, replacements)
            if new != value:
                if isinstance(f, models.CharField) and f.max_length:
                    new = new[: f.max_length]
                changes[f.name] = new
        if changes:
            # An update, not save(): these are logs, and nothing else of theirs may change.
            model._default_manager.filter(pk=row.pk).update(**changes)
