"""Programs run by admins: a cohort, who is in it, how it is matched, and what was proposed."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from matching.engine import DEFAULT_WEIGHTS, Component, Mode, OrganisationPolicy, Policy
from matching.models import Circle, Mentorship


def default_weights() -> dict[str, float]:
    return {str(c): w for c, w in DEFAULT_WEIGHTS.items()}


class CohortQuerySet(models.QuerySet["Cohort"]):
    def administered_by(self, user) -> CohortQuerySet:
        """The cohorts this person runs. Being site staff alone gives no view into a cohort."""
        return self.filter(admins=user)


class Cohort(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ENROLLING = "enrolling", "Enrolling"
        MATCHING = "matching", "Matching"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    class Mode(models.TextChoices):
        REGULAR = Mode.REGULAR.value, "Regular (the mentor is more experienced)"
        PEER = Mode.PEER.value, "Peer mentoring"
        REVERSE = Mode.REVERSE.value, "Reverse mentoring"

    class Organisation(models.TextChoices):
        IGNORE = OrganisationPolicy.IGNORE.value, "Ignore organisations"
        PREFER_DIFFERENT = OrganisationPolicy.PREFER_DIFFERENT.value, "Prefer different ones"
        PREFER_SAME = OrganisationPolicy.PREFER_SAME.value, "Prefer the same one"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True, max_length=4000)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    admins = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="cohorts_admin")
    created_at = models.DateTimeField(default=timezone.now)

    # The matching policy.
    weights = models.JSONField(default=default_weights)
    mentors_per_mentee = models.PositiveSmallIntegerField(
        "Mentors per mentee",
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(3)],
        help_text="1-3; several mentors cover different goals where possible.",
    )
    mode = models.CharField(max_length=10, choices=Mode, default=Mode.REGULAR)
    organisation_policy = models.CharField(
        max_length=20, choices=Organisation, default=Organisation.IGNORE
    )
    min_overlap_hours = models.DecimalField(
        "Minimum weekly overlap (hours)",
        max_digits=4,
        decimal_places=1,
        default=1,
        validators=[MinValueValidator(0), MaxValueValidator(40)],
    )
    favour_score = models.BooleanField(
        "Favour score over participation",
        default=False,
        help_text="Off: match as many mentees as possible, then maximise the total score.",
    )
    match_invited = models.BooleanField(
        "Match people who have not joined yet",
        default=False,
        help_text="Off: only people who accepted their invitation are matched. On: everyone "
        "imported is matched, and the intro email carries their sign-in link.",
    )

    objects = CohortQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(mentors_per_mentee__gte=1, mentors_per_mentee__lte=3),
                name="cohort_k_1_to_3",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("cohorts:detail", args=[self.slug])

    def policy(self) -> Policy:
        weights = {Component(c): float(w) for c, w in self.weights.items() if c in Component}
        return Policy(
            weights={**DEFAULT_WEIGHTS, **weights},
            mode=Mode(self.mode),
            organisation=OrganisationPolicy(self.organisation_policy),
            min_overlap_hours=float(self.min_overlap_hours),
        )


class Enrollment(models.Model):
    """A person in a cohort, from invitation to a complete profile."""

    class Role(models.TextChoices):
        MENTEE = "mentee", "Mentee"
        MENTOR = "mentor", "Mentor"
        BOTH = "both", "Both"

    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        JOINED = "joined", "Joined"
        DECLINED = "declined", "Declined"

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="enrollments")
    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="enrollments",
    )
    role = models.CharField(max_length=10, choices=Role, default=Role.MENTEE)
    status = models.CharField(max_length=10, choices=Status, default=Status.INVITED)
    capacity_override = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(20)]
    )
    invited_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last invitation was queued; empty: one is due."
    )
    joined_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("email",)
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["cohort", "email"], name="enrollment_once_per_email"),
        ]

    def __str__(self) -> str:
        return f"{self.email} in {self.cohort}"

    @property
    def is_mentee(self) -> bool:
        return self.role in (self.Role.MENTEE, self.Role.BOTH)

    @property
    def is_mentor(self) -> bool:
        return self.role in (self.Role.MENTOR, self.Role.BOTH)


class PairRule(models.Model):
    """An admin's decision about one pair, kept across runs: always make it, or never."""

    class Kind(models.TextChoices):
        LOCK = "lock", "Locked"
        FORBID = "forbid", "Forbidden"

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="rules")
    mentee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    mentor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["cohort", "mentee", "mentor"], name="pair_rule_once_per_pair"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.mentee} - {self.mentor}"


BUSY = ("queued", "running")
QUEUED_LEASE = timedelta(minutes=5)  # time for a worker to pick a queued run up


def queued_lease():
    return timezone.now() + QUEUED_LEASE


class MatchRun(models.Model):
    """One matching of the cohort, and later its publishing. Both are Celery work under a lease:
    the worker renews `lease_until` while it works, and the sweeper fails whatever outlives it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Publishing(models.TextChoices):
        NONE = "", "Not published"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Publishing"
        DONE = "done", "Published"
        FAILED = "failed", "Failed"

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=120, blank=True)
    error = models.TextField(blank=True)
    stats = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True, default=queued_lease)
    publishing = models.CharField(max_length=10, choices=Publishing, default="", blank=True)
    publish_progress = models.PositiveSmallIntegerField(default=0)
    publish_error = models.TextField(blank=True)
    published = models.PositiveIntegerField(default=0, help_text="Pairs this run published.")
    publish_skipped = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        constraints: ClassVar = [
            # One matching or publishing at a time per cohort, whoever presses the button.
            models.UniqueConstraint(
                fields=["cohort"],
                condition=Q(status__in=BUSY) | Q(publishing__in=BUSY),
                name="one_busy_run_per_cohort",
                violation_error_message="A matching run is already going for this cohort.",
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.cohort}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def busy(self) -> bool:
        return self.status in BUSY or self.publishing in BUSY

    @property
    def matching_busy(self) -> bool:
        return self.status in BUSY

    @property
    def publishing_busy(self) -> bool:
        return self.publishing in BUSY


class MatchStep(models.Model):
    """One unit of a distributed matching run, done by one Celery task under a lease: scoring a
    block of the cohort's mentees against every mentor (keeping each mentee's best candidates),
    the solve over all blocks, or saving a block's proposals with their reasons. A step is
    claimed by whoever finds it queued, or running with a lapsed lease; its result is written
    once. The sweeper sends a step again when its worker is gone (lease lapsed) or its message
    may be lost (queued for a while), so a killed worker costs a re-run of its step, never the
    run."""

    class Kind(models.TextChoices):
        SCORE = "score", "Score a block"
        SOLVE = "solve", "Solve"
        SAVE = "save", "Save a block"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=10, choices=Kind)
    index = models.PositiveIntegerField(help_text="The block's number (0 for the solve).")
    first = models.PositiveIntegerField(default=0, help_text="First mentee row of the block.")
    last = models.PositiveIntegerField(default=0, help_text="Mentee row after the block's last.")
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="Who holds or did it.")
    seconds = models.FloatField(null=True, blank=True)
    result = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("run", "kind", "index")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["run", "kind", "index"], name="match_step_once"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["status", "lease_until"], name="match_step_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.index} of run {self.run_id}"


class MatchInput(models.Model):
    """What a distributed run matches, fixed when it starts (the mentors' features, who wants
    how many mentors, the places left, locked and excluded pairs, the policy): every step reads
    it, so blocks scored on different machines or re-run after a lost worker agree. Deleted when
    the run ends."""

    run = models.OneToOneField(MatchRun, on_delete=models.CASCADE, related_name="input")
    data = models.BinaryField(editable=False)

    def __str__(self) -> str:
        return f"Input of run {self.run_id}"


class Proposal(models.Model):
    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="proposals")
    mentee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    mentor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    reasons = models.JSONField(default=list)
    locked = models.BooleanField(default=False)
    mentorship = models.ForeignKey(
        Mentorship,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Set once published: the pair is then fixed, and later runs carry it as is.",
    )

    class Meta:
        ordering = ("-score", "pk")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["run", "mentee", "mentor"], name="proposal_once"),
        ]

    def __str__(self) -> str:
        return f"{self.mentor} - {self.mentee} ({self.score:.2f})"

    @property
    def percent(self) -> int:
        return round(self.score * 100)

    @property
    def is_published(self) -> bool:
        return self.mentorship_id is not None


class Unmatched(models.Model):
    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="unmatched")
    mentee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=300)
    removed = models.BooleanField(default=False, help_text="An admin removed their pair.")

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["run", "mentee"], name="unmatched_once"),
        ]

    def __str__(self) -> str:
        return f"{self.mentee}: {self.reason}"


class Placement(models.Model):
    """A published pair belongs to its cohort: one placement per mentorship."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="placements")
    mentorship = models.OneToOneField(
        Mentorship, on_delete=models.CASCADE, related_name="placement"
    )
    run = models.ForeignKey(MatchRun, null=True, on_delete=models.SET_NULL, related_name="+")
    score = models.FloatField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.mentorship} in {self.cohort}"


class CohortCircle(models.Model):
    """A circle the cohort's admins set up; its members are formed by `cohorts.circles`."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="circles")
    circle = models.OneToOneField(Circle, on_delete=models.CASCADE, related_name="cohort_link")

    def __str__(self) -> str:
        return f"{self.circle} in {self.cohort}"


class CircleProposal(models.Model):
    """A proposed seat in a cohort's circle, with why; published, it becomes a CircleMember."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="circle_proposals")
    circle = models.ForeignKey(Circle, on_delete=models.CASCADE, related_name="proposals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    reasons = models.JSONField(default=list)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("circle", "-score", "pk")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["cohort", "user"], name="circle_proposal_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} for {self.circle}"


class CircleLeftOut(models.Model):
    """Someone the last forming placed in no circle, and why."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="circle_left_out")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["cohort", "user"], name="circle_left_out_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.reason}"
