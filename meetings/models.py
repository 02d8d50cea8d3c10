"""What a pair does together: the plan, meetings, agendas, notes, action items, check-ins,
reminders, and how it ends."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from matching.models import Circle, Mentorship
from profiles.models import Goal

REMINDER_OFFSETS = (timedelta(hours=24), timedelta(hours=1))


class Milestone(models.Model):
    """A step towards one of the pair's goals."""

    class Status(models.TextChoices):
        TODO = "todo", "To do"
        DOING = "doing", "In progress"
        DONE = "done", "Done"

    mentorship = models.ForeignKey(Mentorship, on_delete=models.CASCADE, related_name="milestones")
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(max_length=200)
    due_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.TODO)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("due_on", "pk")

    def __str__(self) -> str:
        return self.title


class MeetingQuerySet(models.QuerySet["Meeting"]):
    def upcoming(self) -> MeetingQuerySet:
        return self.filter(status=Meeting.Status.SCHEDULED, starts_at__gte=timezone.now())


class Meeting(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"

    # A pair's meeting, or a circle's session: exactly one of the two.
    mentorship = models.ForeignKey(
        Mentorship, null=True, blank=True, on_delete=models.CASCADE, related_name="meetings"
    )
    circle = models.ForeignKey(
        Circle, null=True, blank=True, on_delete=models.CASCADE, related_name="sessions"
    )
    starts_at = models.DateTimeField(help_text="Stored in UTC; shown in each person's own zone.")
    duration_minutes = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(15), MaxValueValidator(240)]
    )
    place = models.CharField(
        "Place or link", max_length=300, blank=True, help_text="A room, a café, or a video link."
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.SCHEDULED)
    # Bumped on every reschedule: reminders are keyed by it, so old ones can never go out.
    sequence = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        ordering = ("starts_at", "pk")
        indexes: ClassVar = [
            models.Index(fields=["mentorship", "starts_at"], name="meeting_pair_time_idx"),
            models.Index(fields=["circle", "starts_at"], name="meeting_circle_time_idx"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(mentorship__isnull=False, circle__isnull=True)
                | Q(mentorship__isnull=True, circle__isnull=False),
                name="meeting_of_a_pair_or_a_circle",
            ),
        ]

    def __str__(self) -> str:
        return f"Meeting of {self.mentorship} at {self.starts_at:%Y-%m-%d %H:%M} UTC"

    @property
    def ends_at(self):
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def is_past(self) -> bool:
        return self.ends_at <= timezone.now()


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created_at", "pk")

    def __str__(self) -> str:
        return self.text


class Note(models.Model):
    """Notes after a meeting: shared with the other person, or private to the author. Private
    notes are never shown to anyone else, cohort admins included."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(max_length=10000)
    private = models.BooleanField("Only for me", default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created_at", "pk")

    def __str__(self) -> str:
        return f"Note by {self.author}"


class ActionItem(models.Model):
    mentorship = models.ForeignKey(
        Mentorship, null=True, blank=True, on_delete=models.CASCADE, related_name="actions"
    )
    circle = models.ForeignKey(
        Circle, null=True, blank=True, on_delete=models.CASCADE, related_name="actions"
    )
    meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(max_length=300)
    due_on = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("done", "due_on", "pk")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(mentorship__isnull=False, circle__isnull=True)
                | Q(mentorship__isnull=True, circle__isnull=False),
                name="action_of_a_pair_or_a_circle",
            ),
        ]

    def __str__(self) -> str:
        return self.text


class CheckIn(models.Model):
    """After a meeting, each person rates it and says what they will apply."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="checkins")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    apply = models.TextField("What I will apply", max_length=2000)
    good_fit = models.BooleanField("Is this a good fit?", null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["meeting", "author"], name="checkin_once_per_person"),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="checkin_rating_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author}: {self.rating}/5"


class Reminder(models.Model):
    """A reminder due at a moment: a row per (meeting, schedule version, offset), claimed by a
    frequent beat task with a conditional update, so it goes out exactly once. A reschedule bumps
    the meeting's sequence; rows of the old sequence are cancelled and never claimed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="reminders")
    sequence = models.PositiveIntegerField()
    offset_minutes = models.PositiveIntegerField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["meeting", "sequence", "offset_minutes"], name="reminder_once"
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["status", "due_at"], name="reminder_due_idx")]

    def __str__(self) -> str:
        return f"{self.offset_minutes} min before {self.meeting}"


class Nudge(models.Model):
    """One nudge per quiet pair per period (the period's start is part of the key)."""

    mentorship = models.ForeignKey(Mentorship, on_delete=models.CASCADE, related_name="nudges")
    period_start = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["mentorship", "period_start"], name="nudge_once"),
        ]

    def __str__(self) -> str:
        return f"Nudge of {self.mentorship} for {self.period_start}"


class Digest(models.Model):
    """One weekly digest per person per week."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "week_start"], name="digest_once_a_week"),
        ]

    def __str__(self) -> str:
        return f"Digest for {self.user}, week of {self.week_start}"


class EmailPreference(models.Model):
    """Which kinds of email a person has switched off. No row: everything on."""

    class Kind(models.TextChoices):
        REMINDERS = "reminders", "Meeting reminders"
        NUDGES = "nudges", "Nudges when a pair has not met for a while"
        DIGEST = "digest", "Weekly digest of overdue action items"
        MESSAGES = (
            "messages",
            "New messages you have not read (at most one email per conversation per 15 minutes)",
        )

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "kind"], name="email_preference_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} {'on' if self.enabled else 'off'}"


class Closure(models.Model):
    """How a mentorship ended, and the thank-you the mentee wrote."""

    class Outcome(models.TextChoices):
        COMPLETED = "completed", "We reached what we set out to do"
        PARTIAL = "partial", "We made good progress"
        NOT_A_FIT = "not_a_fit", "It was not a good fit"
        OTHER = "other", "Something else"

    mentorship = models.OneToOneField(Mentorship, on_delete=models.CASCADE, related_name="closure")
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=20, choices=Outcome)
    feedback = models.TextField("Private feedback for the program", blank=True, max_length=4000)
    thank_you = models.TextField("A thank-you note to your mentor", blank=True, max_length=2000)
    show_thank_you = models.BooleanField(
        "Show the thank-you on my profile", default=True, help_text="The mentor can hide it."
    )
    closed_at = models.DateTimeField(default=timezone.now)
    # The other person's reflection, given after the close: both sides reflect.
    other_outcome = models.CharField(max_length=20, choices=Outcome, blank=True)
    other_feedback = models.TextField(
        "The other person's private feedback for the program", blank=True, max_length=4000
    )
    other_reflected_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Closure of {self.mentorship}"

    def awaits_reflection_from(self, user) -> bool:
        """Whether this person, the one who did not close, has yet to reflect."""
        pair = self.mentorship
        return (
            user.pk in (pair.mentor_id, pair.mentee_id)
            and user.pk != self.closed_by_id
            and self.other_reflected_at is None
        )


class CalendarFeed(models.Model):
    """A person's private calendar address (iCal): whoever holds the URL reads their meetings, so
    the token is long and random; revoking deletes the row (the old URL answers 404), and
    regenerating replaces the token."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"
