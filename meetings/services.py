"""Meetings and the jobs that keep a pair moving.

Reminders are rows, not far-off Celery ETAs (on Redis those are redelivered once the visibility
timeout passes). Scheduling writes one row per offset, keyed by the meeting's schedule version
(`sequence`); a frequent beat task claims due rows with SELECT ... FOR UPDATE SKIP LOCKED and
marks them sent in the same transaction that queues the email. So each (meeting, offset) goes out
once even when beat fires twice or two workers run at once; a worker that dies mid-send rolls
back and the row is claimed again; a reschedule bumps the version and cancels the old rows, so
nothing goes out for the old time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from django.apps import apps
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from conversations import actions as conversations
from conversations.models import Notification
from matching.actions import end_mentorship
from matching.models import Circle, CircleMember, Mentorship
from matching.services import MatchingError
from meetings.models import (
    REMINDER_OFFSETS,
    ActionItem,
    CalendarFeed,
    Closure,
    Digest,
    EmailPreference,
    Meeting,
    Nudge,
    Reminder,
)
from mentorship import claims
from profiles.mail import queue_email, render_email
from profiles.models import Goal, User

NUDGE_AFTER = timedelta(days=21)
CLAIM_BATCH = 100
UNSUBSCRIBE_SALT = "meetings.unsubscribe"


class MeetingError(Exception):
    """A rule said no; the message is for the person who asked."""


# Time, in each person's own zone.


def zone_of(user: User) -> ZoneInfo:
    profile = getattr(user, "profile", None)
    return ZoneInfo(profile.timezone if profile else "UTC")


def local(moment: datetime, user: User) -> datetime:
    return moment.astimezone(zone_of(user))


def when_label(meeting: Meeting, user: User) -> str:
    """ "Monday 30 March 2026, 09:00-10:00 (Australia/Sydney)" in the reader's own zone.
    Formatted here: templates would convert to the server's zone."""
    start, end = local(meeting.starts_at, user), local(meeting.ends_at, user)
    return f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M}-{end:%H:%M} ({start.tzinfo.key})"


def vevent(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    summary: str,
    location: str,
    url: str,
    cancelled: bool,
) -> icalendar.Event:
    """One VEVENT as every calendar file of the app writes it: times with the reader's TZID (the
    calendar gets its VTIMEZONE from `_add_timezones`), a UID that never changes, SEQUENCE
    following each change, and STATUS."""
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", start.astimezone(zone))
    event.add("dtend", end.astimezone(zone))
    event.add("summary", summary)
    if location:
        event.add("location", location)
    event.add("url", url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def calendar_file(entries, *, method: str, around: date) -> bytes:
    """A calendar of these VEVENTs, with the VTIMEZONEs they need."""
    calendar = _calendar(method)
    for entry in entries:
        calendar.add_component(entry)
    _add_timezones(calendar, around)
    return calendar.to_ical()


def _event(meeting: Meeting, zone: ZoneInfo, *, cancel: bool) -> icalendar.Event:
    """One meeting as a VEVENT, the same in an invitation and in the calendar feed."""
    pair = meeting.mentorship
    return vevent(
        uid=f"meeting-{meeting.pk}@mentorship",
        sequence=meeting.sequence,
        start=meeting.starts_at,
        end=meeting.ends_at,
        zone=zone,
        summary=f"Mentoring: {pair.mentor.name} and {pair.mentee.name}"
        if pair
        else f"Circle: {meeting.circle.topic}",
        location=meeting.place,
        url=space_url(meeting),
        cancelled=cancel,
    )


def _calendar(method: str | None = None) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Mentorship//Meetings//EN")
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    return calendar


def _add_timezones(calendar: icalendar.Calendar, around: date) -> None:
    """A VTIMEZONE for each zone the events use, over the years around `around`, with one RDATE
    line per change of offset. icalendar writes all the changes on one comma-separated RDATE
    line: valid, but vobject and dateutil (behind some calendar apps) read only its first date
    and would put meetings after the next daylight-saving change an hour off."""
    calendar.add_missing_timezones(
        first_date=around.replace(year=around.year - 2, day=1),
        last_date=around.replace(year=around.year + 3, day=1),
    )
    for zone in calendar.walk("VTIMEZONE"):
        for part in zone.subcomponents:
            found = part.get("RDATE")
            if found is None:
                continue
            moments = [
                d.dt for item in (found if isinstance(found, list) else [found]) for d in item.dts
            ]
            del part["RDATE"]
            for moment in moments:
                part.add("rdate", moment)


def ics(meeting: Meeting, reader: User, *, cancel: bool = False) -> bytes:
    """The meeting as an invitation in the reader's zone."""
    calendar = _calendar("CANCEL" if cancel else "PUBLISH")
    calendar.add_component(_event(meeting, zone_of(reader), cancel=cancel))
    _add_timezones(calendar, meeting.starts_at.date())
    return calendar.to_ical()


# The private calendar feed.

FEED_PAST = timedelta(days=90)
# Other apps' entries in the feed (community's events): each a function of (user, since=, zone=)
# giving VEVENTs. Registered by those apps when they start, so meetings never imports them.
FEED_SOURCES: list = []


def add_feed_source(source) -> None:
    if source not in FEED_SOURCES:
        FEED_SOURCES.append(source)


def feed_url(feed: CalendarFeed) -> str:
    return settings.SITE_URL + reverse("meetings:calendar-feed", args=[feed.token])


@transaction.atomic
def regenerate_feed(*, user: User) -> CalendarFeed:
    """A new secret address for the person's feed; the old one, if any, stops working now."""
    feed, _ = CalendarFeed.objects.update_or_create(
        user=user, defaults={"token": secrets.token_urlsafe(32), "created_at": timezone.now()}
    )
    return feed


def revoke_feed(*, user: User) -> bool:
    """The feed's address stops working (404); calendars subscribed to it stop updating."""
    deleted, _ = CalendarFeed.objects.filter(user=user).delete()
    return bool(deleted)


def feed_owner(token: str) -> User | None:
    feed = (
        CalendarFeed.objects.select_related("user__profile")
        .filter(token=token, user__is_active=True)
        .first()
    )
    return feed.user if feed else None


def feed_ics(user: User, *, now: datetime | None = None) -> bytes:
    """The person's meetings, from 90 days back, cancelled ones marked cancelled, in their zone:
    what Google, Outlook and Apple calendars subscribe to."""
    now = now or timezone.now()
    meetings = (
        Meeting.objects.filter(
            Q(mentorship__mentor=user)
            | Q(mentorship__mentee=user)
            | Q(circle__in=Circle.objects.of(user)),
            starts_at__gte=now - FEED_PAST,
        )
        .select_related("mentorship__mentor", "mentorship__mentee", "circle")
        .order_by("starts_at", "pk")
    )
    calendar = _calendar("PUBLISH")
    calendar.add("x-wr-calname", f"{settings.SITE_NAME}: {user.name}")
    calendar.add("x-wr-timezone", zone_of(user).key)
    # How often calendars should look again (RFC 7986, and the older Microsoft name).
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    zone = zone_of(user)
    for meeting in meetings:
        calendar.add_component(
            _event(meeting, zone, cancel=meeting.status == Meeting.Status.CANCELLED)
        )
    for source in FEED_SOURCES:
        for entry in source(user, since=now - FEED_PAST, zone=zone):
            calendar.add_component(entry)
    _add_timezones(calendar, now.date())
    return calendar.to_ical()


# Email preferences.


def wants(user: User, kind: str) -> bool:
    return not EmailPreference.objects.filter(user=user, kind=kind, enabled=False).exists()


def unsubscribe_url(user: User, kind: str) -> str:
    token = signing.dumps({"u": user.pk, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)
    return settings.SITE_URL + reverse("meetings:unsubscribe", args=[token])


def read_unsubscribe(token: str) -> tuple[User, str] | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    user = User.objects.filter(pk=data.get("u")).first()
    kinds = {k for k, _ in EmailPreference.Kind.choices}
    return (user, data["k"]) if user and data.get("k") in kinds else None


def set_preference(user: User, kind: str, enabled: bool) -> None:
    EmailPreference.objects.update_or_create(user=user, kind=kind, defaults={"enabled": enabled})


def send_email(
    template: str, to: User, context: dict, *, attachments=(), kind: str | None = None
) -> bool:
    """An email through the outbox, from templates/emails/<template>; with `kind`, one the person
    can switch off: skipped when they did, else carrying the one-click unsubscribe (RFC 8058).
    Every app's optional emails go through here. True when it was queued."""
    if kind and not wants(to, kind):
        return False
    context = {"to": to, **context}
    headers = {}
    if kind:
        context["unsubscribe_url"] = unsubscribe_url(to, kind)
        headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = render_email(
        template, context, to=[to.email], attachments=list(attachments), headers=headers
    )
    queue_email(message=message, kind=template)
    return True


def _send(template: str, to: User, context: dict, *, attachments=(), kind: str | None = None):
    send_email(f"meetings/{template}", to, context, attachments=attachments, kind=kind)


def _pair_url(mentorship: Mentorship) -> str:
    return settings.SITE_URL + reverse("meetings:pair", args=[mentorship.pk])


def other_person(mentorship: Mentorship, user: User) -> User:
    return mentorship.mentee if user.pk == mentorship.mentor_id else mentorship.mentor


def attendees(meeting: Meeting) -> list[User]:
    """Who a meeting is for: the pair's two people, or the circle's facilitator and members."""
    if meeting.mentorship_id:
        return [meeting.mentorship.mentee, meeting.mentorship.mentor]
    circle = meeting.circle
    members = User.objects.filter(pk__in=circle.people_ids()[1:]).select_related("profile")
    return [circle.facilitator, *members.order_by("pk")]


@dataclass(frozen=True)
class Company:
    """Whom a reader meets, as emails name them: a person, or a whole circle."""

    name: str


def with_whom(meeting: Meeting, reader: User):
    if meeting.mentorship_id:
        return other_person(meeting.mentorship, reader)
    return Company(f"your “{meeting.circle.topic}” circle")


def space_url(meeting: Meeting, *, absolute: bool = True) -> str:
    """The page a meeting lives on: its pair's, or its circle's (the community app's)."""
    if meeting.mentorship_id:
        path = reverse("meetings:pair", args=[meeting.mentorship_id])
    else:
        path = reverse("community:circle", args=[meeting.circle_id])
    return settings.SITE_URL + path if absolute else path


# Scheduling.


def reminder_plan(starts_at: datetime, now: datetime) -> list[tuple[int, datetime]]:
    """(minutes before, when due) of each reminder still ahead for a start: the same for a
    pair's meeting, a circle's session and an event."""
    return [
        (int(offset.total_seconds() // 60), starts_at - offset)
        for offset in REMINDER_OFFSETS
        if starts_at - offset > now
    ]


def _plan_reminders(meeting: Meeting, now: datetime) -> None:
    Reminder.objects.bulk_create(
        [
            Reminder(meeting=meeting, sequence=meeting.sequence, offset_minutes=m, due_at=due)
            for m, due in reminder_plan(meeting.starts_at, now)
        ],
        ignore_conflicts=True,
    )


FEED_NEWS = {
    "scheduled": (Notification.Kind.MEETING_BOOKED, "booked"),
    "rescheduled": (Notification.Kind.MEETING_MOVED, "moved"),
    "cancelled": (Notification.Kind.MEETING_CANCELLED, "cancelled"),
}


def _tell_other(
    meeting: Meeting, actor: User, template: str, *, cancel: bool = False, also_actor: bool = False
) -> None:
    """The other person hears of it, with the meeting's one .ics in their own time zone; with
    also_actor the person who did it gets the same invitation, in theirs."""
    other = other_person(meeting.mentorship, actor)
    readers = [other, actor] if also_actor else [other]
    kind, verb = FEED_NEWS[template]
    conversations.notify(
        user=other,
        kind=kind,
        text=f"{actor.name} {verb} a meeting: {when_label(meeting, other)}",
        url=reverse("meetings:pair", args=[meeting.mentorship_id]),
    )
    for reader in readers:
        _send(
            template,
            reader,
            {
                "meeting": meeting,
                "actor": actor,
                "other": other if reader == actor else actor,
                "actor_is_reader": reader == actor,
                "when": when_label(meeting, reader),
                "url": _pair_url(meeting.mentorship),
            },
            attachments=[("meeting.ics", ics(meeting, reader, cancel=cancel), "text/calendar")],
        )


def _check_details(duration: int, place: str) -> None:
    """The model's limits on the length and the place, for callers that did not come through
    MeetingForm (commands, the demo data): past them the database answers with an error, or
    timedelta with an OverflowError, rather than with a sentence."""
    checked = {"duration_minutes", "place"}
    try:
        Meeting(duration_minutes=duration, place=place.strip()).clean_fields(
            exclude=[f.name for f in Meeting._meta.fields if f.name not in checked]
        )
    except ValidationError as error:
        raise MeetingError(" ".join(error.messages)) from None
    if "\x00" in place:
        raise MeetingError("The place contains a NUL character, which cannot be saved.")


def _check_time(
    space: Mentorship | Circle, starts_at: datetime, duration: int, exclude: int | None = None
) -> None:
    if starts_at <= timezone.now():
        raise MeetingError("Choose a time in the future.")
    if starts_at > timezone.now() + timedelta(days=366):
        raise MeetingError("Choose a time within the next year.")
    # The pair's (or circle's) row is locked by the caller: two bookings at once are checked in
    # turn.
    ends_at = starts_at + timedelta(minutes=duration)
    nearby = (
        Meeting.objects.filter(
            **{"circle" if isinstance(space, Circle) else "mentorship": space},
            status=Meeting.Status.SCHEDULED,
        )
        .exclude(pk=exclude)
        .filter(starts_at__lt=ends_at, starts_at__gt=starts_at - timedelta(minutes=240))
    )
    if any(m.ends_at > starts_at for m in nearby):
        raise MeetingError("You already have a meeting planned at that time.")


@transaction.atomic
def schedule(
    mentorship: Mentorship, actor: User, *, starts_at: datetime, duration: int, place: str
) -> Meeting:
    mentorship = Mentorship.objects.select_for_update().get(pk=mentorship.pk)
    if mentorship.status != Mentorship.Status.ACTIVE:
        raise MeetingError("This mentorship is closed.")
    _check_details(duration, place)
    _check_time(mentorship, starts_at, duration)
    meeting = Meeting.objects.create(
        mentorship=mentorship,
        starts_at=starts_at,
        duration_minutes=duration,
        place=place.strip(),
        created_by=actor,
    )
    _plan_reminders(meeting, timezone.now())
    _tell_other(meeting, actor, "scheduled", also_actor=True)
    return meeting


@transaction.atomic
def reschedule(
    meeting: Meeting, actor: User, *, starts_at: datetime, duration: int, place: str
) -> Meeting:
    meeting = (
        Meeting.objects.select_for_update(of=("self",))
        .select_related("mentorship__mentor__profile", "mentorship__mentee__profile")
        .get(pk=meeting.pk)
    )
    if meeting.status != Meeting.Status.SCHEDULED:
        raise MeetingError("This meeting was cancelled; schedule a new one.")
    pair = Mentorship.objects.select_for_update().get(pk=meeting.mentorship_id)
    if pair.status != Mentorship.Status.ACTIVE:
        raise MeetingError("This mentorship is closed.")
    _check_details(duration, place)
    _check_time(meeting.mentorship, starts_at, duration, exclude=meeting.pk)
    Reminder.objects.filter(meeting=meeting, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.CANCELLED
    )
    meeting.starts_at = starts_at
    meeting.duration_minutes = duration
    meeting.place = place.strip()
    meeting.sequence += 1
    meeting.save(update_fields=["starts_at", "duration_minutes", "place", "sequence"])
    _plan_reminders(meeting, timezone.now())
    _tell_other(meeting, actor, "rescheduled")
    return meeting


@transaction.atomic
def cancel(meeting: Meeting, actor: User) -> Meeting:
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.status == Meeting.Status.CANCELLED:
        return meeting
    meeting.status = Meeting.Status.CANCELLED
    meeting.sequence += 1
    meeting.save(update_fields=["status", "sequence"])
    Reminder.objects.filter(meeting=meeting, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.CANCELLED
    )
    _tell_other(meeting, actor, "cancelled", cancel=True)
    return meeting


# A circle's sessions: the same meetings, reminders and .ics as a pair's, for everyone in it.


def _tell_circle(meeting: Meeting, actor: User, template: str, *, cancel: bool = False) -> None:
    """Everyone in the circle gets the session's one .ics in their own zone; all but the one who
    did it get a line in their feed."""
    kind, verb = FEED_NEWS[template]
    for reader in attendees(meeting):
        if reader.pk != actor.pk:
            conversations.notify(
                user=reader,
                kind=kind,
                text=f"{actor.name} {verb} a session of “{meeting.circle.topic}”: "
                f"{when_label(meeting, reader)}",
                url=space_url(meeting, absolute=False),
            )
        _send(
            template,
            reader,
            {
                "meeting": meeting,
                "actor": actor,
                "other": with_whom(meeting, reader),
                "actor_is_reader": reader.pk == actor.pk,
                "when": when_label(meeting, reader),
                "url": space_url(meeting),
            },
            attachments=[("meeting.ics", ics(meeting, reader, cancel=cancel), "text/calendar")],
        )


def _locked_circle(circle_id: int, actor: User) -> Circle:
    circle = Circle.objects.select_for_update().get(pk=circle_id)
    if circle.status != Circle.Status.ACTIVE:
        raise MeetingError("This circle is closed.")
    if actor.pk != circle.facilitator_id:
        raise MeetingError("The circle's facilitator plans its sessions.")
    return circle


@transaction.atomic
def schedule_session(
    circle: Circle, actor: User, *, starts_at: datetime, duration: int, place: str
) -> Meeting:
    circle = _locked_circle(circle.pk, actor)
    _check_details(duration, place)
    _check_time(circle, starts_at, duration)
    meeting = Meeting.objects.create(
        circle=circle,
        starts_at=starts_at,
        duration_minutes=duration,
        place=place.strip(),
        created_by=actor,
    )
    _plan_reminders(meeting, timezone.now())
    _tell_circle(meeting, actor, "scheduled")
    return meeting


@transaction.atomic
def reschedule_session(
    meeting: Meeting, actor: User, *, starts_at: datetime, duration: int, place: str
) -> Meeting:
    meeting = Meeting.objects.select_for_update(of=("self",)).get(
        pk=meeting.pk, circle__isnull=False
    )
    if meeting.status != Meeting.Status.SCHEDULED:
        raise MeetingError("This session was cancelled; plan a new one.")
    circle = _locked_circle(meeting.circle_id, actor)
    _check_details(duration, place)
    _check_time(circle, starts_at, duration, exclude=meeting.pk)
    Reminder.objects.filter(meeting=meeting, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.CANCELLED
    )
    meeting.starts_at, meeting.duration_minutes, meeting.place = starts_at, duration, place.strip()
    meeting.sequence += 1
    meeting.save(update_fields=["starts_at", "duration_minutes", "place", "sequence"])
    _plan_reminders(meeting, timezone.now())
    _tell_circle(meeting, actor, "rescheduled")
    return meeting


@transaction.atomic
def cancel_session(meeting: Meeting, actor: User) -> Meeting:
    meeting = Meeting.objects.select_for_update(of=("self",)).get(
        pk=meeting.pk, circle__isnull=False
    )
    _locked_circle(meeting.circle_id, actor)
    if meeting.status == Meeting.Status.CANCELLED:
        return meeting
    meeting.status = Meeting.Status.CANCELLED
    meeting.sequence += 1
    meeting.save(update_fields=["status", "sequence"])
    Reminder.objects.filter(meeting=meeting, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.CANCELLED
    )
    _tell_circle(meeting, actor, "cancelled", cancel=True)
    return meeting


# The jobs.


def send_due_reminders(now: datetime | None = None) -> int:
    """Claim due reminder rows and send them, batch by batch. Safe to run concurrently."""
    now = now or timezone.now()

    def due():
        return (
            Reminder.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Reminder.Status.PENDING, due_at__lte=now)
            .select_related("meeting__mentorship__mentor__profile")
            .select_related("meeting__mentorship__mentee__profile")
            .select_related("meeting__circle__facilitator__profile")
            .order_by("due_at", "pk")
        )

    return claims.drain(due, lambda reminder: _remind(reminder, now), batch=CLAIM_BATCH)


def _remind(reminder: Reminder, now: datetime) -> int:
    meeting = reminder.meeting
    stale = (
        reminder.sequence != meeting.sequence
        or meeting.status != Meeting.Status.SCHEDULED
        or meeting.starts_at <= now  # too late to remind: it has started
    )
    if stale:
        reminder.status = Reminder.Status.CANCELLED
        reminder.save(update_fields=["status"])
        return 0
    agenda = list(meeting.agenda.select_related("author"))
    for reader in attendees(meeting):
        other = with_whom(meeting, reader)
        conversations.notify(
            user=reader,
            kind=Notification.Kind.REMINDER,
            text=f"Meeting with {other.name}: {when_label(meeting, reader)}",
            url=space_url(meeting, absolute=False),
        )
        _send(
            "reminder",
            reader,
            {
                "meeting": meeting,
                "other": other,
                "when": when_label(meeting, reader),
                "agenda": agenda,
                "hours": reminder.offset_minutes // 60,
                "url": space_url(meeting),
            },
            kind=EmailPreference.Kind.REMINDERS,
        )
    reminder.status = Reminder.Status.SENT
    reminder.sent_at = timezone.now()
    reminder.save(update_fields=["status", "sent_at"])
    return 1


def nudge_quiet_pairs(now: datetime | None = None) -> int:
    """One nudge per 21-day period to active pairs with no meeting in the last 21 days and none
    planned."""
    now = now or timezone.now()
    recent = Meeting.objects.filter(
        mentorship=OuterRef("pk"),
        status=Meeting.Status.SCHEDULED,
        starts_at__gte=now - NUDGE_AFTER,
    )
    quiet = (
        Mentorship.objects.active()
        .filter(started_at__lte=now - NUDGE_AFTER)
        .annotate(met=Exists(recent))
        .filter(met=False)
        .select_related("mentor__profile", "mentee__profile")
    )
    sent = 0
    for pair in quiet:
        periods = (now - pair.started_at) // NUDGE_AFTER
        period_start = (pair.started_at + periods * NUDGE_AFTER).date()
        with transaction.atomic():
            _, created = Nudge.objects.get_or_create(mentorship=pair, period_start=period_start)
            if not created:
                continue
            for reader in (pair.mentee, pair.mentor):
                _send(
                    "nudge",
                    reader,
                    {"other": other_person(pair, reader), "url": _pair_url(pair)},
                    kind=EmailPreference.Kind.NUDGES,
                )
            sent += 1
    return sent


def weekly_digest(today: date | None = None) -> int:
    """Overdue action items, once a week per person who has any."""
    today = today or timezone.localdate()
    week_start = today - timedelta(days=today.weekday())
    overdue = ActionItem.objects.filter(
        done=False, due_on__lt=today, mentorship__status=Mentorship.Status.ACTIVE
    ).select_related("mentorship__mentor", "mentorship__mentee", "owner")
    by_owner: dict[int, list[ActionItem]] = {}
    for item in overdue:
        by_owner.setdefault(item.owner_id, []).append(item)
    sent = 0
    for items in by_owner.values():
        owner = items[0].owner
        with transaction.atomic():
            _, created = Digest.objects.get_or_create(user=owner, week_start=week_start)
            if created:
                _send("digest", owner, {"items": items}, kind=EmailPreference.Kind.DIGEST)
                sent += 1
    return sent


# The journey.


def suggested_starts(mentorship: Mentorship, *, now: datetime | None = None):
    from matching.notify import suggested_slots

    return suggested_slots(mentorship.mentor, mentorship.mentee, now=now)


@transaction.atomic
def close(
    mentorship: Mentorship,
    actor: User,
    *,
    outcome: str,
    achieved: list[int],
    feedback: str = "",
    thank_you: str = "",
) -> Closure:
    try:
        mentorship = end_mentorship(mentorship=mentorship, by=actor, notify_people=False)
    except MatchingError as error:
        raise MeetingError("This mentorship is already closed.") from error
    now = mentorship.ended_at
    goals = mentorship.goals.filter(status__in=[Goal.Status.OPEN, Goal.Status.IN_PROGRESS])
    goals.filter(pk__in=achieved).update(status=Goal.Status.ACHIEVED)
    goals.exclude(pk__in=achieved).update(status=Goal.Status.OPEN)
    Meeting.objects.filter(
        mentorship=mentorship, status=Meeting.Status.SCHEDULED, starts_at__gt=now
    ).update(status=Meeting.Status.CANCELLED)
    Reminder.objects.filter(meeting__mentorship=mentorship, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.CANCELLED
    )
    closure = Closure.objects.create(
        mentorship=mentorship,
        closed_by=actor,
        outcome=outcome,
        feedback=feedback.strip(),
        thank_you=thank_you.strip() if actor.pk == mentorship.mentee_id else "",
    )
    other = other_person(mentorship, actor)
    reflect_url = settings.SITE_URL + reverse("meetings:reflect", args=[mentorship.pk])
    _send(
        "closed",
        other,
        {
            "pair": mentorship,
            "actor": actor,
            "closure": closure,
            "url": _pair_url(mentorship),
            "reflect_url": reflect_url,
        },
    )
    return closure


@transaction.atomic
def reflect(
    mentorship: Mentorship, person: User, *, outcome: str, feedback: str = "", thank_you: str = ""
) -> Closure:
    """The person who did not close looks back too: how it went and private feedback for the
    program, and, for a mentee whose mentor closed, the thank-you note. Once."""
    closure = Closure.objects.select_for_update().filter(mentorship=mentorship).first()
    if closure is None:
        raise MeetingError("This mentorship is not closed yet.")
    if not closure.awaits_reflection_from(person):
        raise MeetingError("Your reflection on this mentorship is already shared.")
    closure.other_outcome = outcome
    closure.other_feedback = feedback.strip()
    closure.other_reflected_at = timezone.now()
    fields = ["other_outcome", "other_feedback", "other_reflected_at"]
    if person.pk == mentorship.mentee_id and thank_you.strip() and not closure.thank_you:
        closure.thank_you = thank_you.strip()
        fields.append("thank_you")
    closure.save(update_fields=fields)
    return closure


def not_a_fit(mentorship: Mentorship, mentee: User) -> Closure:
    """The mentee said after the first meeting that this is not a good fit: end it kindly."""
    return close(mentorship, mentee, outcome=Closure.Outcome.NOT_A_FIT, achieved=[])


def impact(mentor: User) -> dict:
    """A mentor's record: mentees helped, meetings and hours (pairs' and circles'), circle
    members, sessions and events hosted, goals achieved, thank-you notes."""
    pairs = Mentorship.objects.filter(mentor=mentor)
    held = Meeting.objects.filter(status=Meeting.Status.SCHEDULED, starts_at__lte=timezone.now())
    met = held.filter(mentorship__mentor=mentor)
    sessions = held.filter(circle__facilitator=mentor)
    minutes = sum(met.values_list("duration_minutes", flat=True)) + sum(
        sessions.values_list("duration_minutes", flat=True)
    )
    # Events are the community app's, to the right of this one: read through the app registry.
    event = apps.get_model("community", "Event")
    return {
        "circle_members": CircleMember.objects.filter(
            circle__facilitator=mentor, status__in=["active", "left"], joined_at__isnull=False
        )
        .values("user")
        .distinct()
        .count(),
        "sessions": sessions.count(),
        "events": event.objects.filter(
            organiser=mentor, status=event.Status.SCHEDULED, starts_at__lte=timezone.now()
        ).count(),
        "mentees": pairs.values("mentee").distinct().count(),
        "active": pairs.filter(status=Mentorship.Status.ACTIVE).count(),
        "meetings": met.count(),
        "hours": round(minutes / 60, 1),
        "goals_achieved": Goal.objects.filter(
            mentorships__mentor=mentor, status=Goal.Status.ACHIEVED
        )
        .distinct()
        .count(),
        "thanks": Closure.objects.filter(mentorship__mentor=mentor)
        .exclude(thank_you="")
        .select_related("mentorship__mentee")
        .order_by("-closed_at"),
    }


def visible_notes(meeting: Meeting, viewer: User):
    """Shared notes, and the viewer's own private ones: never anyone else's private notes."""
    return meeting.notes.filter(Q(private=False) | Q(author=viewer)).select_related("author")
