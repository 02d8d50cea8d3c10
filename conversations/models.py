"""What people write to each other and what waits for them: a thread of messages on each request
and pair, the notifications feed, and a cohort's announcements.

This app sits between profiles and matching: matching, cohorts and meetings call its actions (a
notification, a thread), so it never imports them. It reaches their rows through relations
declared by name ("matching.MentorRequest") and, where it must read one of their tables, through
`apps.get_model`, as profiles does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

MESSAGE_MAX = 4000
EDIT_WINDOW = timedelta(minutes=10)


class Thread(models.Model):
    """The conversation of a request, carried on by the pair it becomes, or of a cohort's pair
    (its two participants: the mentee and the mentor), or of a circle (its facilitator and
    members)."""

    request = models.OneToOneField(
        "matching.MentorRequest",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="thread",
    )
    mentorship = models.OneToOneField(
        "matching.Mentorship",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="thread",
    )
    circle = models.OneToOneField(
        "matching.Circle",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="thread",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(request__isnull=False)
                | Q(mentorship__isnull=False)
                | Q(circle__isnull=False),
                name="thread_has_a_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"Thread {self.pk}"

    @property
    def subject(self):
        """The circle, or the pair once there is one, else the request."""
        return self.circle or self.mentorship or self.request


class Participant(models.Model):
    """One person in a thread: what they have read (their read receipt) and the batched email of
    what they have not."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_up_to = models.BigIntegerField(default=0, help_text="The last message id they have seen.")
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_up_to = models.BigIntegerField(default=0, help_text="The last message id emailed.")
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_due_at = models.DateTimeField(
        null=True, blank=True, help_text="When the batched email of unread messages is due."
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["thread", "user"], name="participant_once"),
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["email_due_at"],
                name="participant_email_due_idx",
                condition=Q(email_due_at__isnull=False),
            ),
            models.Index(fields=["user"], name="participant_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.thread}"


class Message(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages"
    )
    body = models.TextField(max_length=MESSAGE_MAX)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    report_reason = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ("pk",)
        indexes: ClassVar = [models.Index(fields=["thread", "id"], name="message_thread_idx")]

    def __str__(self) -> str:
        return f"Message {self.pk} by {self.author}"

    def editable_by(self, user, now=None) -> bool:
        return self.author_id == user.pk and (now or timezone.now()) < self.created_at + EDIT_WINDOW


class MessageRevision(models.Model):
    """What a message said before an edit: edits are never silent, both people can read these."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField(max_length=MESSAGE_MAX)
    replaced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("pk",)

    def __str__(self) -> str:
        return f"Earlier version of message {self.message_id}"


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """One line in a person's feed. Messages of one thread share one unread line (its count
    grows) until the person reads them."""

    class Kind(models.TextChoices):
        REQUEST_RECEIVED = "request_received", "Request received"
        REQUEST_ANSWERED = "request_answered", "Request answered"
        MESSAGE = "message", "Message"
        MEETING_BOOKED = "meeting_booked", "Meeting booked"
        MEETING_MOVED = "meeting_moved", "Meeting moved"
        MEETING_CANCELLED = "meeting_cancelled", "Meeting cancelled"
        REMINDER = "reminder", "Reminder"
        COHORT_PUBLISHED = "cohort_published", "Matched in a cohort"
        ANNOUNCEMENT = "announcement", "Announcement"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind)
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=500, blank=True)
    thread = models.ForeignKey(
        Thread, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-pk")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user", "thread"],
                condition=Q(read_at__isnull=True, thread__isnull=False),
                name="one_unread_line_per_thread",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["user", "-created_at", "-id"], name="notification_feed_idx"),
            # The badge's count reads this index alone: the unread rows are few.
            models.Index(
                fields=["user"], name="notification_unread_idx", condition=Q(read_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.text}"


class Announcement(models.Model):
    """A cohort admin writes to the cohort's participants, all or one role."""

    class Audience(models.TextChoices):
        ALL = "all", "Everyone in the cohort"
        MENTEES = "mentees", "Mentees only"
        MENTORS = "mentors", "Mentors only"

    cohort = models.ForeignKey(
        "cohorts.Cohort", on_delete=models.CASCADE, related_name="announcements"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    audience = models.CharField(max_length=10, choices=Audience, default=Audience.ALL)
    subject = models.CharField(max_length=150)
    body = models.TextField(
        max_length=5000, help_text="Markdown is allowed: **bold**, lists, links."
    )
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(
        null=True, blank=True, help_text="When everyone it is for had it; empty: still going out."
    )
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-created_at", "-pk")
        indexes: ClassVar = [
            models.Index(
                fields=["created_at"],
                name="announcement_undelivered_idx",
                condition=Q(delivered_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.subject


class Receipt(models.Model):
    """An announcement reached one person: written with their email and notification, so each
    person gets it once however often delivery runs."""

    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="receipts"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["announcement", "user"], name="receipt_once"),
        ]

    def __str__(self) -> str:
        return f"{self.announcement} to {self.user}"
