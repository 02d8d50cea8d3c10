"""What a program does beyond pairs: events and workshops with RSVPs and a waitlist, and the
mentoring stories participants write. The rightmost app: it may use all the others."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from cohorts.models import Cohort
from meetings.models import Closure, Meeting
from profiles.models import validate_timezone


class EventQuerySet(models.QuerySet["Event"]):
    def visible_to(self, user) -> EventQuerySet:
        """The one rule of who sees an event: a program-wide event (no cohort) is for everyone
        signed in; a cohort's, for those who joined it, its admins and site staff."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:  # site staff organise any cohort's events, so they see them all
            return self.all()
        joined = Q(cohort__enrollments__user=user, cohort__enrollments__status="joined")
        return self.filter(Q(cohort__isnull=True) | joined | Q(cohort__admins=user)).distinct()

    def upcoming(self) -> EventQuerySet:
        return self.filter(status=Event.Status.SCHEDULED, ends_at__gte=timezone.now())


class Event(models.Model):
    """An event or workshop, at a time in its organiser's zone, online or at a place, with room
    for `capacity` people and a waitlist behind them."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"

    cohort = models.ForeignKey(
        Cohort,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        help_text="Empty: an event of the whole program, open to everyone signed in.",
    )
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=150)
    description = models.TextField(
        max_length=5000, blank=True, help_text="Markdown is allowed: **bold**, lists, links."
    )
    starts_at = models.DateTimeField(help_text="Stored in UTC; shown in each person's zone.")
    ends_at = models.DateTimeField()
    zone = models.CharField(
        "Time zone", max_length=64, validators=[validate_timezone], help_text="The organiser's."
    )
    link = models.URLField("Online link", blank=True, max_length=500)
    place = models.CharField(max_length=300, blank=True)
    capacity = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(10000)]
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.SCHEDULED)
    sequence = models.PositiveIntegerField(default=0)  # bumped by each change of time
    created_at = models.DateTimeField(default=timezone.now)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ("starts_at", "pk")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="event_ends_after_it_starts"
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="event_has_room"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    @property
    def is_past(self) -> bool:
        return self.ends_at <= timezone.now()


class Rsvp(models.Model):
    """One person's place at an event: going, or waiting in line (first come, first moved up),
    or cancelled. The event row is locked while places change, so going never passes capacity."""

    class Status(models.TextChoices):
        GOING = "going", "Going"
        WAITING = "waiting", "On the waitlist"
        CANCELLED = "cancelled", "Cancelled"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="rsvps")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rsvps"
    )
    status = models.CharField(max_length=10, choices=Status)
    created_at = models.DateTimeField(default=timezone.now)  # the place in the line
    promoted_at = models.DateTimeField(null=True, blank=True)
    attended = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ("created_at", "pk")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["event", "user"], name="rsvp_once"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["event", "status", "created_at"], name="rsvp_line_idx")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.status} at {self.event}"


class EventReminder(models.Model):
    """As meetings.Reminder: a row per (event, schedule version, offset), claimed once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="reminders")
    sequence = models.PositiveIntegerField()
    offset_minutes = models.PositiveIntegerField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["event", "sequence", "offset_minutes"], name="event_reminder_once"
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["status", "due_at"], name="event_reminder_due_idx")
        ]

    def __str__(self) -> str:
        return f"{self.offset_minutes} min before {self.event}"


class StoryQuerySet(models.QuerySet["Story"]):
    def published(self) -> StoryQuerySet:
        return self.filter(status=Story.Status.APPROVED)


class Story(models.Model):
    """A participant's mentoring story. Public once an admin approves it; its author can
    withdraw it any time. It may quote a thank-you note, shown only with its author's consent."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Waiting for review"
        APPROVED = "approved", "Published"
        RETURNED = "returned", "Returned for changes"
        WITHDRAWN = "withdrawn", "Withdrawn"

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stories"
    )
    cohort = models.ForeignKey(
        Cohort,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stories",
        help_text="The cohort it happened in: its admins review it.",
    )
    title = models.CharField(max_length=150)
    body = models.TextField(
        max_length=10000, help_text="Markdown is allowed: **bold**, lists, links."
    )
    quote = models.ForeignKey(
        Closure,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A thank-you note to quote: shown once its author agrees.",
    )
    quote_consent = models.BooleanField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    review_note = models.TextField(blank=True, max_length=2000)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = StoryQuerySet.as_manager()

    class Meta:
        ordering = ("-published_at", "-created_at", "-pk")
        verbose_name_plural = "stories"
        indexes: ClassVar = [
            models.Index(fields=["status", "-published_at"], name="story_published_idx")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def shows_quote(self) -> bool:
        return bool(self.quote_id and self.quote_consent and self.quote and self.quote.thank_you)


class SessionAnswer(models.Model):
    """A circle member says they will (or will not) be at a session: the facilitator sees who
    comes. Reminders go to every member all the same."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="answers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    going = models.BooleanField(default=True)
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["meeting", "user"], name="session_answer_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {'comes' if self.going else 'does not come'} to {self.meeting}"
