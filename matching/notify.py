"""The emails of matching. Each is stored in the outbox inside the caller's transaction and sent
by Celery once it commits (profiles.mail.queue_email)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from conversations import actions as conversations
from conversations.models import Notification
from profiles.availability import intersect, monday_of, utc_intervals
from profiles.mail import queue_email, render_email
from profiles.models import User

SLOT_MINUTES = 60
SLOTS_OFFERED = 3


def _link(name: str, *args) -> str:
    return settings.SITE_URL + reverse(name, args=args)


def _send(template: str, to: User, context: dict, *, attachments=()) -> None:
    message = render_email(
        f"matching/{template}", {"to": to, **context}, to=[to.email], attachments=list(attachments)
    )
    queue_email(message=message, kind=f"matching/{template}")


def _feed(to: User, kind: str, text: str, name: str, *args) -> None:
    """The same news in the person's notifications feed (written in the caller's transaction)."""
    conversations.notify(user=to, kind=kind, text=text, url=reverse(name, args=args))


def request_received(request) -> None:
    _feed(
        request.mentor,
        Notification.Kind.REQUEST_RECEIVED,
        f"{request.mentee.name} asks you to mentor them",
        "matching:request",
        request.pk,
    )
    _send(
        "request_received",
        request.mentor,
        {
            "request": request,
            "goals": list(request.goals.all()),
            "url": _link("matching:request", request.pk),
        },
    )


def accepted(request) -> None:
    _feed(
        request.mentee,
        Notification.Kind.REQUEST_ANSWERED,
        f"{request.mentor.name} accepted your request",
        "matching:request",
        request.pk,
    )
    _send("accepted", request.mentee, {"request": request})


def declined(request) -> None:
    _feed(
        request.mentee,
        Notification.Kind.REQUEST_ANSWERED,
        f"{request.mentor.name} declined your request",
        "matching:request",
        request.pk,
    )
    _send(
        "declined",
        request.mentee,
        {"request": request, "url": _link("matching:find")},
    )


def information_asked(request) -> None:
    _feed(
        request.mentee,
        Notification.Kind.REQUEST_ANSWERED,
        f"{request.mentor.name} asked a question about your request",
        "matching:request",
        request.pk,
    )
    _send(
        "information_asked",
        request.mentee,
        {"request": request, "url": _link("matching:request", request.pk)},
    )


def question_answered(request) -> None:
    _feed(
        request.mentor,
        Notification.Kind.REQUEST_RECEIVED,
        f"{request.mentee.name} answered your question",
        "matching:request",
        request.pk,
    )
    _send(
        "question_answered",
        request.mentor,
        {"request": request, "url": _link("matching:request", request.pk)},
    )


def withdrawn_after_match(request) -> None:
    _send("withdrawn_after_match", request.mentor, {"request": request})


def reminder(request) -> None:
    _send(
        "reminder",
        request.mentor,
        {"request": request, "url": _link("matching:request", request.pk)},
    )


def expired(request) -> None:
    _send("expired", request.mentee, {"request": request, "url": _link("matching:find")})


def reported(request, reason: str) -> None:
    staff = User.objects.filter(is_staff=True, is_active=True).order_by("pk")
    for member in staff:
        _send(
            "reported",
            member,
            {"request": request, "reason": reason, "admin_url": _admin_link(request)},
        )


def _admin_link(request) -> str:
    return settings.SITE_URL + reverse("admin:matching_mentorrequest_change", args=[request.pk])


# The introduction.


@dataclass(frozen=True)
class Slot:
    start: datetime  # UTC
    end: datetime

    def local(self, tz: str) -> tuple[datetime, datetime]:
        zone = ZoneInfo(tz)
        return self.start.astimezone(zone), self.end.astimezone(zone)


def _on_the_half_hour(moment: datetime) -> datetime:
    """The first :00 or :30 at or after moment."""
    floor = moment.replace(minute=moment.minute - moment.minute % 30, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=30)


def suggested_slots(mentor: User, mentee: User, *, now: datetime | None = None) -> list[Slot]:
    """Up to three first-meeting slots of an hour, on different days, at least a day ahead, in
    the time both said they are free (compared week by week in UTC, so daylight-saving changes
    are respected), over the next three weeks."""
    now = now or timezone.now()
    earliest = now + timedelta(days=1)
    mentor_windows, mentee_windows = mentor.profile.windows(), mentee.profile.windows()
    slots: list[Slot] = []
    days: set = set()
    week = monday_of(now.astimezone(UTC).date())
    for _ in range(4):
        shared = intersect(
            utc_intervals(mentor_windows, mentor.profile.timezone, week),
            utc_intervals(mentee_windows, mentee.profile.timezone, week),
        )
        for start, end in shared:
            start = _on_the_half_hour(max(start, earliest))
            if end - start < timedelta(minutes=SLOT_MINUTES) or start.date() in days:
                continue
            slots.append(Slot(start, start + timedelta(minutes=SLOT_MINUTES)))
            days.add(start.date())
            if len(slots) == SLOTS_OFFERED:
                return slots
        week += timedelta(days=7)
    return slots


def slot_label(start: datetime, end: datetime) -> str:
    """A slot as a reader reads it, in the zone the datetimes are in: "Tuesday 3 March,
    09:00-10:00". Formatted here, not in the template, which would convert to the server's zone."""
    return f"{start:%A} {start.day} {start:%B}, {start:%H:%M}-{end:%H:%M}"


def ended(mentorship, *, to: User, by: User) -> None:
    """A pair has ended: told to each of the two, with who ended it and why."""
    _send(
        "ended",
        to,
        {
            "mentorship": mentorship,
            "by": by,
            "by_admin": by.pk not in (mentorship.mentor_id, mentorship.mentee_id),
            "other": mentorship.mentor if to.pk == mentorship.mentee_id else mentorship.mentee,
            "url": _link("matching:find"),
        },
    )


def introduction(
    mentorship,
    *,
    now: datetime | None = None,
    program: str = "",
    reasons: list[str] | None = None,
    signin_urls: dict[int, str] | None = None,
) -> None:
    """The intro email to both people: who the other is, the shared goals, and three times they
    are both free, in the reader's own time, with one link to pick one on the pair's page (the
    first to pick books it; both then get one .ics). Call it once per pair (tasks.introduce
    does).

    A cohort's pair says the program matched them and why (`reasons`), links to the pair's page,
    and carries a sign-in link for whoever has not set a password yet (`signin_urls`)."""
    slots = suggested_slots(mentorship.mentor, mentorship.mentee, now=now)
    goals = list(mentorship.goals.all())
    for reader, other in (
        (mentorship.mentee, mentorship.mentor),
        (mentorship.mentor, mentorship.mentee),
    ):
        if program:
            _feed(
                reader,
                Notification.Kind.COHORT_PUBLISHED,
                f"{program}: you are matched with {other.name}",
                "meetings:pair",
                mentorship.pk,
            )
        tz = reader.profile.timezone
        local = [slot_label(*slot.local(tz)) for slot in slots]
        _send(
            "introduction",
            reader,
            {
                "mentorship": mentorship,
                "reader": reader,
                "other": other,
                "other_profile": other.profile,
                "reader_is_mentee": reader.pk == mentorship.mentee_id,
                "goals": goals,
                "slots": local,
                "timezone": tz,
                "other_url": _link("profiles:person", other.pk),
                "program": program,
                "reasons": reasons or [],
                "pair_url": _link("meetings:pair", mentorship.pk),
                "pick_url": _link("meetings:pair", mentorship.pk) + "#schedule",
                "signin_url": (signin_urls or {}).get(reader.pk, ""),
            },
        )
