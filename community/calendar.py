"""Events in calendars: the .ics of one event, and the entries of a person's calendar feed (the
events they go to), written by the same VEVENT function as meetings."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from community.models import Event, Rsvp
from meetings import services as meetings
from profiles.models import User


def _vevent(event: Event, zone: ZoneInfo):
    return meetings.vevent(
        uid=f"event-{event.pk}@mentorship",
        sequence=event.sequence,
        start=event.starts_at,
        end=event.ends_at,
        zone=zone,
        summary=event.title,
        location=event.link or event.place,
        url=settings.SITE_URL + reverse("community:event", args=[event.pk]),
        cancelled=event.status == Event.Status.CANCELLED,
    )


def event_ics(event: Event, reader: User) -> bytes:
    method = "CANCEL" if event.status == Event.Status.CANCELLED else "PUBLISH"
    return meetings.calendar_file(
        [_vevent(event, meetings.zone_of(reader))], method=method, around=event.starts_at.date()
    )


def events_for_feed(user: User, *, since: datetime, zone: ZoneInfo) -> list:
    """The events this person has a place at (cancelled events stay, marked cancelled; a place
    they gave up drops out, so calendars remove it)."""
    events = Event.objects.filter(
        rsvps__user=user, rsvps__status=Rsvp.Status.GOING, starts_at__gte=since
    ).order_by("starts_at", "pk")
    return [_vevent(event, zone) for event in events]
