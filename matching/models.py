"""Who meets whom: requests from mentees to mentors, and the pairs (Mentorship) they become."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinLengthValidator,
    MinValueValidator,
)
from django.db import models
from django.db.models import Q
from django.utils import timezone

from profiles.models import Cadence, Goal

MESSAGE_MIN, MESSAGE_MAX = 20, 2000
DECLINE_COOLDOWN = timedelta(days=90)
REMIND_AFTER = timedelta(days=5)
EXPIRE_AFTER = timedelta(days=14)


class RequestQuerySet(models.QuerySet["MentorRequest"]):
    def open(self) -> RequestQuerySet:
        return self.filter(status__in=MentorRequest.OPEN)

    def involving(self, user) -> RequestQuerySet:
        return self.filter(Q(mentee=user) | Q(mentor=user))


class MentorRequest(models.Model):
    """A mentee asks a mentor for help with some of their goals."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for an answer"
        INFO = "info", "More information asked"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"
        REPORTED = "reported", "Reported"

    OPEN: ClassVar = (Status.PENDING, Status.INFO)

    mentee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="requests_sent"
    )
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="requests_received"
    )
    goals = models.ManyToManyField(Goal, related_name="requests")
    message = models.TextField(
        validators=[MinLengthValidator(MESSAGE_MIN), MaxLengthValidator(MESSAGE_MAX)],
        help_text="Say what you hope to get from this mentor, and why them "
        f"({MESSAGE_MIN}-{MESSAGE_MAX} characters).",
    )
    cadence = models.CharField(max_length=10, choices=Cadence, default=Cadence.BIWEEKLY)
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    question = models.TextField("Question from the mentor", blank=True, max_length=2000)
    answer = models.TextField("Answer from the mentee", blank=True, max_length=2000)
    note = models.TextField(
        "Note to the mentee", blank=True, max_length=2000, help_text="Optional, kind and short."
    )
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = RequestQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["mentee", "mentor"],
                condition=Q(status__in=["pending", "info"]),
                name="one_open_request_per_pair",
                violation_error_message="You already have a request waiting with this mentor.",
            ),
            models.CheckConstraint(
                condition=~Q(mentee=models.F("mentor")), name="request_not_to_self"
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["mentor", "status"], name="request_mentor_status_idx"),
            models.Index(fields=["mentee", "status"], name="request_mentee_status_idx"),
            models.Index(fields=["status", "created_at"], name="request_status_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.mentee} → {self.mentor} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class MentorshipQuerySet(models.QuerySet["Mentorship"]):
    def active(self) -> MentorshipQuerySet:
        return self.filter(status=Mentorship.Status.ACTIVE)

    def involving(self, user) -> MentorshipQuerySet:
        return self.filter(Q(mentee=user) | Q(mentor=user))


class Mentorship(models.Model):
    """A mentor and a mentee working together on some of the mentee's goals."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    class Source(models.TextChoices):
        REQUEST = "request", "A request"
        COHORT = "cohort", "A cohort match"

    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentoring"
    )
    mentee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentored_by"
    )
    goals = models.ManyToManyField(Goal, related_name="mentorships", blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)
    source = models.CharField(max_length=10, choices=Source, default=Source.REQUEST)
    request = models.OneToOneField(
        MentorRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="mentorship"
    )
    cadence = models.CharField(max_length=10, choices=Cadence, default=Cadence.BIWEEKLY)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    end_reason = models.TextField(blank=True, max_length=2000)

    objects = MentorshipQuerySet.as_manager()

    class Meta:
        ordering = ("-started_at",)
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["mentor", "mentee"],
                condition=Q(status="active"),
                name="one_active_mentorship_per_pair",
            ),
            models.CheckConstraint(
                condition=~Q(mentee=models.F("mentor")), name="mentorship_not_with_self"
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["mentor", "status"], name="mentorship_mentor_status_idx"),
            models.Index(fields=["mentee", "status"], name="mentorship_mentee_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.mentor} mentors {self.mentee}"


class Introduction(models.Model):
    """The intro email of one pair, sent once: the one-to-one key is what makes it once, however
    often the task runs."""

    mentorship = models.OneToOneField(
        Mentorship, on_delete=models.CASCADE, related_name="introduction"
    )
    sent_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Introduction of {self.mentorship}"


class Block(models.Model):
    """A mentor reported a request as abusive: its sender can no longer reach them."""

    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks"
    )
    mentee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocked_by"
    )
    request = models.ForeignKey(MentorRequest, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["mentor", "mentee"], name="block_once_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.mentor} blocked {self.mentee}"


class CircleQuerySet(models.QuerySet["Circle"]):
    def of(self, user) -> CircleQuerySet:
        """The circles this person facilitates or is an active member of."""
        return self.filter(
            Q(facilitator=user) | Q(members__user=user, members__status=CircleMember.Status.ACTIVE)
        ).distinct()


class Circle(models.Model):
    """A mentoring circle: a facilitator (a mentor, or a peer in a peer circle) and a few members
    working on one topic, meeting at one weekly time. One mentor reaches more people, and peers
    learn from each other."""

    class Kind(models.TextChoices):
        MENTOR = "mentor", "Led by a mentor"
        PEER = "peer", "Peer circle"

    class Joining(models.TextChoices):
        OPEN = "open", "Anyone may join"
        APPROVAL = "approval", "The facilitator approves who joins"
        FORMED = "formed", "Formed by the cohort's admins"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    topic = models.CharField(max_length=120, help_text="What the circle works on.")
    skills = models.ManyToManyField("profiles.Skill", blank=True, related_name="circles")
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="circles_led"
    )
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.MENTOR)
    joining = models.CharField(max_length=10, choices=Joining, default=Joining.APPROVAL)
    size = models.PositiveSmallIntegerField(
        default=6,
        validators=[MinValueValidator(2), MaxValueValidator(12)],
        help_text="Members at most, the facilitator not counted (2-12).",
    )
    weekday = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(6)], help_text="The weekly session's day: Monday is 0."
    )
    start_minute = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(1439)], help_text="Minutes from midnight, in `zone`."
    )
    duration_minutes = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(15), MaxValueValidator(240)]
    )
    zone = models.CharField(max_length=64, default="UTC", help_text="The facilitator's zone.")
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)

    objects = CircleQuerySet.as_manager()

    class Meta:
        ordering = ("topic", "pk")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(size__gte=2, size__lte=12), name="circle_size_2_to_12"
            ),
        ]

    def __str__(self) -> str:
        return self.topic

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def people_ids(self) -> list[int]:
        """Who takes part in the circle now, the one rule: the facilitator first, then the active
        members. Sessions, the conversation and the circle's page all ask this."""
        members = self.members.filter(status=CircleMember.Status.ACTIVE).order_by("pk")
        return [self.facilitator_id, *members.values_list("user_id", flat=True)]

    def room(self) -> int:
        """Members it can still take: its size, the facilitator not counted."""
        return self.size - self.members.filter(status=CircleMember.Status.ACTIVE).count()


class CircleMember(models.Model):
    """A person in a circle: asking to join (approval circles), in it, or gone."""

    class Status(models.TextChoices):
        PENDING = "pending", "Asked to join"
        ACTIVE = "active", "Member"
        LEFT = "left", "Left"

    circle = models.ForeignKey(Circle, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="circle_seats"
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    joined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at", "pk")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["circle", "user"], name="circle_seat_once"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["circle", "status"], name="circle_member_status_idx")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.circle}"
