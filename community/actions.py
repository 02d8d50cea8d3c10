"""Every change of an event, a place at it, or a story, and the only way to make each.

Places: `rsvp` and `cancel_rsvp` lock the event's row, so however many people answer at once,
those going never pass its capacity; a place given up goes to the first in line, who is told
once (the feed line and the email are written in the same transaction as the move). Reminders
are rows claimed with SKIP LOCKED, as meetings' are: each goes to each person going, once.
Stories: written, submitted, approved or returned by a cohort admin (site staff for stories of
no cohort), withdrawn by their author whenever they like.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cohorts.models import Cohort
from community.calendar import event_ics
from community.models import Event, EventReminder, Rsvp, Story
from conversations import actions as conversations
from conversations.models import Notification
from meetings import services as meetings
from meetings.models import Closure, EmailPreference
from mentorship import claims
from profiles.models import User

CLAIM_BATCH = 100


class CommunityError(Exception):
    """A rule said no; the message is for the person who asked."""


# Who may do what: one place each.


def may_organise(user: User, cohort: Cohort | None) -> bool:
    """Site staff organise program-wide events and any cohort's; a cohort's admins, its own."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return cohort is not None and cohort.admins.filter(pk=user.pk).exists()


def may_review(user: User, story: Story) -> bool:
    """A story of a cohort is reviewed by the cohort's admins; one of no cohort, by site staff."""
    if story.cohort_id is None:
        return user.is_staff
    return story.cohort.admins.filter(pk=user.pk).exists()


def event_url(event: Event) -> str:
    return reverse("community:event", args=[event.pk])


def zone_label(event: Event, zone: str) -> str:
    """ "Tuesday 9 March 2027, 18:00-19:30 (Europe/Lisbon)": formatted here, as meetings' are."""
    start = event.starts_at.astimezone(ZoneInfo(zone))
    end = event.ends_at.astimezone(ZoneInfo(zone))
    return f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M}-{end:%H:%M} ({zone})"


def when_label(event: Event, user: User) -> str:
    """The event's time in this person's own zone."""
    return zone_label(event, meetings.zone_of(user).key)


def _email(
    person: User,
    event: Event,
    template: str,
    *,
    ics: bool = False,
    kind: str | None = None,
    **context,
) -> None:
    """One of this app's event emails, in the person's zone, with the event's .ics if asked."""
    attachments = [("event.ics", event_ics(event, person), "text/calendar")] if ics else []
    meetings.send_email(
        f"community/{template}",
        person,
        {
            "event": event,
            "when": when_label(event, person),
            "url": settings.SITE_URL + event_url(event),
            **context,
        },
        attachments=attachments,
        kind=kind,
    )


def _tell(person: User, event: Event, *, kind: str, text: str, template: str, ics: bool = False):
    """A feed line and an email, in the caller's transaction."""
    conversations.notify(user=person, kind=kind, text=text, url=event_url(event))
    _email(person, event, template, ics=ics)


# Events.


def _check(*, title: str, starts_at: datetime, duration_minutes: int, capacity: int) -> None:
    if not title.strip():
        raise CommunityError("Give the event a title.")
    if starts_at <= timezone.now():
        raise CommunityError("Choose a time in the future.")
    if not 15 <= duration_minutes <= 12 * 60:
        raise CommunityError("An event lasts from 15 minutes to 12 hours.")
    if capacity < 1:
        raise CommunityError("Leave room for at least one person.")


def _plan_reminders(event: Event, now: datetime) -> None:
    EventReminder.objects.bulk_create(
        [
            EventReminder(event=event, sequence=event.sequence, offset_minutes=m, due_at=due)
            for m, due in meetings.reminder_plan(event.starts_at, now)
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def plan_event(
    *,
    organiser: User,
    cohort: Cohort | None,
    title: str,
    description: str,
    starts_at: datetime,
    duration_minutes: int,
    capacity: int,
    link: str = "",
    place: str = "",
) -> Event:
    if not may_organise(organiser, cohort):
        raise CommunityError("Only the program's staff and a cohort's admins organise events.")
    _check(title=title, starts_at=starts_at, duration_minutes=duration_minutes, capacity=capacity)
    event = Event.objects.create(
        cohort=cohort,
        organiser=organiser,
        title=title.strip(),
        description=description.strip(),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=duration_minutes),
        zone=meetings.zone_of(organiser).key,
        link=link.strip(),
        place=place.strip(),
        capacity=capacity,
    )
    _plan_reminders(event, timezone.now())
    return event


def _locked(event: Event) -> Event:
    return Event.objects.select_for_update(of=("self",)).select_related("cohort").get(pk=event.pk)


@transaction.atomic
def move_event(*, event: Event, by: User, starts_at: datetime, duration_minutes: int) -> Event:
    """A new time: old reminders never go out, those going are told with the changed .ics."""
    event = _locked(event)
    if not may_organise(by, event.cohort):
        raise CommunityError("Only the event's organisers can change it.")
    if event.status != Event.Status.SCHEDULED:
        raise CommunityError("This event was cancelled.")
    _check(title=event.title, starts_at=starts_at, duration_minutes=duration_minutes, capacity=1)
    EventReminder.objects.filter(event=event, status=EventReminder.Status.PENDING).update(
        status=EventReminder.Status.CANCELLED
    )
    event.starts_at = starts_at
    event.ends_at = starts_at + timedelta(minutes=duration_minutes)
    event.sequence += 1
    event.save(update_fields=["starts_at", "ends_at", "sequence"])
    _plan_reminders(event, timezone.now())
    for place in event.rsvps.filter(status=Rsvp.Status.GOING).select_related("user__profile"):
        _tell(
            place.user,
            event,
            kind=Notification.Kind.MEETING_MOVED,
            text=f"{event.title} moved: {when_label(event, place.user)}",
            template="moved",
            ics=True,
        )
    return event


@transaction.atomic
def cancel_event(*, event: Event, by: User) -> Event:
    event = _locked(event)
    if not may_organise(by, event.cohort):
        raise CommunityError("Only the event's organisers can cancel it.")
    if event.status == Event.Status.CANCELLED:
        return event
    event.status = Event.Status.CANCELLED
    event.sequence += 1
    event.save(update_fields=["status", "sequence"])
    EventReminder.objects.filter(event=event, status=EventReminder.Status.PENDING).update(
        status=EventReminder.Status.CANCELLED
    )
    waiting = (Rsvp.Status.GOING, Rsvp.Status.WAITING)
    for place in event.rsvps.filter(status__in=waiting).select_related("user__profile"):
        _tell(
            place.user,
            event,
            kind=Notification.Kind.MEETING_CANCELLED,
            text=f"{event.title} is cancelled",
            template="cancelled",
            ics=place.status == Rsvp.Status.GOING,
        )
    return event


def place_in_line(rsvp: Rsvp) -> int:
    """1 for the first on the waitlist."""
    return (
        Rsvp.objects.filter(
            event_id=rsvp.event_id, status=Rsvp.Status.WAITING, created_at__lte=rsvp.created_at
        )
        .exclude(created_at=rsvp.created_at, pk__gt=rsvp.pk)
        .count()
    )


@transaction.atomic
def rsvp(*, event: Event, user: User) -> Rsvp:
    """A place if there is room, else the end of the line. Answering twice changes nothing."""
    event = _locked(event)
    if not Event.objects.visible_to(user).filter(pk=event.pk).exists():
        raise Event.DoesNotExist
    if event.status != Event.Status.SCHEDULED:
        raise CommunityError("This event was cancelled.")
    if event.is_past:
        raise CommunityError("This event is over.")
    existing = Rsvp.objects.filter(event=event, user=user).first()
    if existing is not None and existing.status != Rsvp.Status.CANCELLED:
        return existing
    going = event.rsvps.filter(status=Rsvp.Status.GOING).count()
    status = Rsvp.Status.GOING if going < event.capacity else Rsvp.Status.WAITING
    now = timezone.now()
    if existing is None:
        place = Rsvp.objects.create(event=event, user=user, status=status, created_at=now)
    else:  # back after cancelling: a new place, at the end of the line
        existing.status, existing.created_at, existing.promoted_at = status, now, None
        existing.save(update_fields=["status", "created_at", "promoted_at"])
        place = existing
    if status == Rsvp.Status.GOING:
        _confirm(place, event)
    return place


def _confirm(place: Rsvp, event: Event) -> None:
    _email(place.user, event, "going", ics=True)


@transaction.atomic
def cancel_rsvp(*, event: Event, user: User) -> Rsvp | None:
    """Give up one's place (or one's place in line). A place given up goes to the first in
    line, who hears of it once."""
    event = _locked(event)
    place = (
        Rsvp.objects.filter(event=event, user=user).exclude(status=Rsvp.Status.CANCELLED).first()
    )
    if place is None:
        return None
    was_going = place.status == Rsvp.Status.GOING
    place.status = Rsvp.Status.CANCELLED
    place.save(update_fields=["status"])
    if was_going and event.status == Event.Status.SCHEDULED and not event.is_past:
        _move_up(event)
    return place


def _move_up(event: Event) -> None:
    going = event.rsvps.filter(status=Rsvp.Status.GOING).count()
    line = event.rsvps.filter(status=Rsvp.Status.WAITING).select_related("user__profile")
    for place in line.order_by("created_at", "pk")[: max(event.capacity - going, 0)]:
        place.status = Rsvp.Status.GOING
        place.promoted_at = timezone.now()
        place.save(update_fields=["status", "promoted_at"])
        _tell(
            place.user,
            event,
            kind=Notification.Kind.MEETING_BOOKED,
            text=f"A place opened up: you are going to {event.title}",
            template="moved_up",
            ics=True,
        )


@transaction.atomic
def take_attendance(*, event: Event, by: User, present: set[int]) -> int:
    """After the event, who came: those going are marked present or absent."""
    event = _locked(event)
    if not may_organise(by, event.cohort):
        raise CommunityError("Only the event's organisers take attendance.")
    if event.starts_at > timezone.now():
        raise CommunityError("Attendance is taken once the event has started.")
    going = event.rsvps.filter(status=Rsvp.Status.GOING)
    going.update(attended=False)
    return going.filter(user_id__in=present).update(attended=True)


def send_due_event_reminders(now: datetime | None = None) -> int:
    """Claim due reminder rows and remind each person going, once; safe to run concurrently."""
    now = now or timezone.now()

    def due():
        return (
            EventReminder.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=EventReminder.Status.PENDING, due_at__lte=now)
            .select_related("event")
            .order_by("due_at", "pk")
        )

    return claims.drain(due, lambda reminder: _send_reminder(reminder, now), batch=CLAIM_BATCH)


def _send_reminder(reminder: EventReminder, now: datetime) -> int:
    event = reminder.event
    stale = (
        reminder.sequence != event.sequence
        or event.status != Event.Status.SCHEDULED
        or event.starts_at <= now
    )
    if not stale:
        going = event.rsvps.filter(status=Rsvp.Status.GOING).select_related("user__profile")
        for place in going:
            _remind(place.user, event, reminder)
    reminder.status = EventReminder.Status.CANCELLED if stale else EventReminder.Status.SENT
    reminder.sent_at = None if stale else timezone.now()
    reminder.save(update_fields=["status", "sent_at"])
    return 0 if stale else 1


def _remind(person: User, event: Event, reminder: EventReminder) -> None:
    conversations.notify(
        user=person,
        kind=Notification.Kind.REMINDER,
        text=f"{event.title}: {when_label(event, person)}",
        url=event_url(event),
    )
    _email(
        person,
        event,
        "reminder",
        hours=reminder.offset_minutes // 60,
        kind=EmailPreference.Kind.REMINDERS,
    )


# Stories.


def _clean_story(title: str, body: str) -> tuple[str, str]:
    title, body = title.strip(), body.strip()
    if not title or not body:
        raise CommunityError("A story needs a title and some text.")
    if "\x00" in title + body:
        raise CommunityError("The text contains a NUL character: write it again as text.")
    return title, body


def quotable(user: User):
    """Thank-you notes this person may quote: those written to them, as their mentor."""
    return Closure.objects.filter(mentorship__mentor=user).exclude(thank_you="")


@transaction.atomic
def write_story(
    *,
    author: User,
    title: str,
    body: str,
    cohort: Cohort | None = None,
    quote: Closure | None = None,
    story: Story | None = None,
) -> Story:
    """A new story, or changes to one's draft or returned story (kept as a draft again)."""
    title, body = _clean_story(title, body)
    if cohort is not None and not cohort.enrollments.filter(user=author, status="joined").exists():
        raise CommunityError("Choose a cohort you took part in.")
    if quote is not None and not quotable(author).filter(pk=quote.pk).exists():
        raise CommunityError("You can quote only a thank-you note written to you.")
    if story is None:
        story = Story(author=author)
    else:
        story = Story.objects.select_for_update().get(pk=story.pk, author=author)
        if story.status not in (Story.Status.DRAFT, Story.Status.RETURNED, Story.Status.WITHDRAWN):
            raise CommunityError("Withdraw the story before changing it.")
    if quote is None or story.quote_id != quote.pk:
        story.quote_consent = None
    story.title, story.body, story.cohort, story.quote = title, body, cohort, quote
    story.status = Story.Status.DRAFT
    story.save()
    return story


@transaction.atomic
def submit_story(*, story: Story, by: User) -> Story:
    story = (
        Story.objects.select_for_update(of=("self",))
        .select_related("cohort", "quote__mentorship")
        .get(pk=story.pk, author=by)
    )
    if story.status not in (Story.Status.DRAFT, Story.Status.RETURNED, Story.Status.WITHDRAWN):
        raise CommunityError("This story is already submitted.")
    story.status = Story.Status.SUBMITTED
    story.submitted_at = timezone.now()
    story.save(update_fields=["status", "submitted_at"])
    if story.quote_id and story.quote_consent is None:
        thanker = story.quote.mentorship.mentee
        conversations.notify(
            user=thanker,
            kind=Notification.Kind.ANNOUNCEMENT,
            text=f"{by.name} would like to quote your thank-you note in a story",
            url=reverse("community:story", args=[story.pk]),
        )
    return story


@transaction.atomic
def review_story(*, story: Story, by: User, approve: bool, note: str = "") -> Story:
    story = Story.objects.select_for_update(of=("self",)).select_related("cohort").get(pk=story.pk)
    if not may_review(by, story):
        raise Story.DoesNotExist
    if story.status != Story.Status.SUBMITTED:
        raise CommunityError("Only a submitted story can be reviewed.")
    if not approve and not note.strip():
        raise CommunityError("Say what to change, so the author knows.")
    now = timezone.now()
    story.status = Story.Status.APPROVED if approve else Story.Status.RETURNED
    story.review_note = note.strip()
    story.reviewed_by = by
    if approve:
        story.published_at = now
    story.save(update_fields=["status", "review_note", "reviewed_by", "published_at"])
    conversations.notify(
        user=story.author,
        kind=Notification.Kind.ANNOUNCEMENT,
        text=f"Your story “{story.title}” is published"
        if approve
        else f"Your story “{story.title}” came back with a note",
        url=reverse("community:story", args=[story.pk]),
    )
    return story


@transaction.atomic
def withdraw_story(*, story: Story, by: User) -> Story:
    story = Story.objects.select_for_update().get(pk=story.pk, author=by)
    story.status = Story.Status.WITHDRAWN
    story.published_at = None
    story.save(update_fields=["status", "published_at"])
    return story


@transaction.atomic
def answer_quote(*, story: Story, by: User, consent: bool) -> Story:
    """The thank-you's author says whether the story may quote it."""
    story = (
        Story.objects.select_for_update(of=("self",))
        .select_related("quote__mentorship")
        .get(pk=story.pk)
    )
    if story.quote is None or story.quote.mentorship.mentee_id != by.pk:
        raise Story.DoesNotExist
    story.quote_consent = consent
    story.save(update_fields=["quote_consent"])
    return story
