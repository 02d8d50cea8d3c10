from __future__ import annotations

from typing import ClassVar
from zoneinfo import available_timezones

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from profiles.availability import Window
from profiles.languages import LANGUAGES


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        """The whole address is lower-cased: people type their email in many ways."""
        return (email or "").strip().lower()

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. They log in with their email address; there is no username."""

    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, help_text="How other people in the program see you.")
    is_staff = models.BooleanField(
        default=False, help_text="Can open the admin site and the development outbox."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["name"]

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(Lower("email"), name="user_email_case_insensitive_unique"),
        ]

    def __str__(self) -> str:
        return self.name or self.email

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email


class EmailQuerySet(models.QuerySet["Email"]):
    def newest_first(self) -> EmailQuerySet:
        return self.order_by("-created_at", "-pk")


class Email(models.Model):
    """One outgoing message: the outbox. A row is written in the same transaction as the change
    that caused it; `profiles.outbox` delivers it after commit, and a beat task sweeps any row
    still due (queued, or "sending" past its lease because a worker died), with retries and
    backoff. Every attempt carries the same Message-ID."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    to = models.JSONField(help_text="List of recipient addresses.")
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    attachments = models.JSONField(
        default=list, blank=True, help_text="Text attachments: filename, mimetype, content."
    )
    headers = models.JSONField(default=dict, blank=True, help_text="E.g. List-Unsubscribe.")
    kind = models.CharField(max_length=100, blank=True, help_text="The template it came from.")
    message_id = models.CharField(max_length=255, blank=True, help_text="Same on each attempt.")
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = EmailQuerySet.as_manager()

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["-created_at"], name="email_newest_idx"),
            models.Index(
                fields=["next_attempt_at"],
                name="email_due_idx",
                condition=models.Q(status__in=["queued", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} -> {', '.join(self.to)}"


# --- Profiles: what people tell us so that matching can be good -------------------------------


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(
            "“%(value)s” is not a time zone we know. Pick one from the list, e.g. Europe/Lisbon.",
            params={"value": value},
            code="unknown_timezone",
        )


def validate_languages(value: list[str]) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one language.", code="no_language")
    unknown = [code for code in value if code not in LANGUAGES]
    if unknown:
        raise ValidationError(
            "Unknown language code: %(codes)s.", params={"codes": ", ".join(map(str, unknown))}
        )


class Level(models.TextChoices):
    EARLY = "early", "Early career"
    MID = "mid", "Mid-level"
    SENIOR = "senior", "Senior"
    EXECUTIVE = "executive", "Executive"


class Visibility(models.TextChoices):
    ALL = "all", "Everyone signed in"
    COHORTS = "cohorts", "People in my cohorts"
    HIDDEN = "hidden", "Only me"


class Format(models.TextChoices):
    ONE_SESSION = "one_session", "A single session"
    SHORT_SERIES = "short_series", "A short series (2-4 meetings)"
    ONGOING = "ongoing", "Ongoing, for months"


class Cadence(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    BIWEEKLY = "biweekly", "Every two weeks"
    MONTHLY = "monthly", "Monthly"


class Skill(models.Model):
    """One entry of the skills taxonomy. Synonyms are other names people type for it; related
    skills count in part towards it when mentors are ranked (as do skills of its category)."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    category = models.CharField(max_length=60, db_index=True)
    synonyms = models.JSONField(default=list, blank=True)
    related = models.ManyToManyField("self", blank=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class ProfileQuerySet(models.QuerySet["Profile"]):
    @staticmethod
    def _visible(user: User) -> models.Q:
        """The one visibility rule: a person sees their own profile, those shown to everyone
        signed in, and those shown to "people in my cohorts" when they share a cohort (both
        having joined it). "Only me" is seen by nobody else."""
        Enrollment = apps.get_model("cohorts", "Enrollment")
        joined = Enrollment.objects.filter(status="joined")
        mine = joined.filter(user=user).values("cohort_id")
        fellows = joined.filter(cohort_id__in=mine).values("user_id")
        return (
            models.Q(user=user)
            | models.Q(visibility=Visibility.ALL)
            | models.Q(visibility=Visibility.COHORTS, user_id__in=fellows)
        )

    def visible_to(self, user: User) -> ProfileQuerySet:
        """Profiles this person may open."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(self._visible(user))

    def hidden_from(self, user: User) -> ProfileQuerySet:
        """The complement of `visible_to`: what lists must leave out (usually few rows)."""
        if not user.is_authenticated:
            return self
        return self.exclude(self._visible(user))

    def maybe_hidden(self) -> ProfileQuerySet:
        """Profiles some signed-in person may not see: all but those shown to everyone (the
        rule above). Lists that cache it ask `hidden_from` about these alone."""
        return self.exclude(visibility=Visibility.ALL)

    def listed_for(self, user: User) -> ProfileQuerySet:
        return self.visible_to(user).filter(user__is_active=True).select_related("user")


class Profile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    headline = models.CharField(
        max_length=160, blank=True, help_text="One line, e.g. “Engineering manager, payments”."
    )
    bio = models.TextField(
        max_length=5000,
        blank=True,
        help_text="A few paragraphs about you. Markdown is allowed: **bold**, lists, links.",
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    languages = models.JSONField(default=list, validators=[validate_languages])
    organisation = models.CharField(max_length=120, blank=True)
    department = models.CharField(max_length=120, blank=True)
    years_experience = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(70)]
    )
    level = models.CharField(max_length=10, choices=Level, default=Level.MID)
    city = models.CharField(max_length=120, blank=True)
    is_mentee = models.BooleanField("I want a mentor", default=False)
    is_mentor = models.BooleanField("I can mentor others", default=False)
    visibility = models.CharField(max_length=10, choices=Visibility, default=Visibility.ALL)
    photo = models.FileField(
        upload_to="photos/",
        blank=True,
        help_text="A square JPEG made from what the person uploaded, with no metadata.",
    )
    onboarded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProfileQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    @property
    def roles(self) -> list[str]:
        return [r for r, on in (("mentee", self.is_mentee), ("mentor", self.is_mentor)) if on]

    def windows(self) -> list[Window]:
        return [
            Window(w.weekday, w.start_minute, w.end_minute) for w in self.user.availability.all()
        ]

    @transaction.atomic
    def set_availability(self, windows: list[Window]) -> None:
        """Replace the person's weekly windows (in their own time zone) with these."""
        self.user.availability.all().delete()
        AvailabilityWindow.objects.bulk_create(
            AvailabilityWindow(
                user=self.user, weekday=w.weekday, start_minute=w.start, end_minute=w.end
            )
            for w in sorted(set(windows))
        )
        self.save(update_fields=["updated_at"])  # a change of the profile, for whoever listens

    def finish_onboarding(self) -> None:
        if self.onboarded_at is None:
            self.onboarded_at = timezone.now()
            self.save(update_fields=["onboarded_at"])


class GoalQuerySet(models.QuerySet["Goal"]):
    def open(self) -> GoalQuerySet:
        return self.filter(status=Goal.Status.OPEN)


class Goal(models.Model):
    """What a mentee wants to achieve: the target they paint for their mentor."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        ACHIEVED = "achieved", "Achieved"
        DROPPED = "dropped", "Dropped"

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="goals")
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=4000, blank=True)
    skills = models.ManyToManyField(Skill, blank=True, related_name="goals")
    format = models.CharField(max_length=20, choices=Format, default=Format.SHORT_SERIES)
    cadence = models.CharField(max_length=10, choices=Cadence, default=Cadence.BIWEEKLY)
    status = models.CharField(max_length=12, choices=Status, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GoalQuerySet.as_manager()

    class Meta:
        ordering = ("created_at", "pk")
        indexes: ClassVar = [models.Index(fields=["owner", "status"], name="goal_owner_status_idx")]

    def __str__(self) -> str:
        return self.title


class MentorOffer(models.Model):
    """What a mentor offers, and how much time: stated up front so it can be enforced."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="offer")
    capacity = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(0), MaxValueValidator(20)],
        help_text="How many mentees at once (0-20).",
    )
    hours_per_month = models.PositiveSmallIntegerField(
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(80)],
        help_text="Hours a month you can give, all mentees together.",
    )
    formats = models.JSONField(default=list)
    cadences = models.JSONField(default=list)
    open_to_peer = models.BooleanField("Open to peer mentoring", default=False)
    open_to_reverse = models.BooleanField("Open to reverse mentoring", default=False)
    accepting_requests = models.BooleanField(
        default=True, help_text="Switch off while you are on leave or full."
    )

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(capacity__lte=20), name="offer_capacity_at_most_20"
            ),
            models.CheckConstraint(
                condition=models.Q(hours_per_month__gte=1, hours_per_month__lte=80),
                name="offer_hours_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Offer of {self.user}"


class Expertise(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="expertise")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="expertise")
    level = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="1: can share the basics; 5: a recognised expert.",
    )
    years = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(70)])

    class Meta:
        ordering = ("-level", "skill__name")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "skill"], name="expertise_once_per_skill"),
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=5), name="expertise_level_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.skill} ({self.level}/5)"


class AvailabilityWindow(models.Model):
    """A weekly recurring window in the owner's own time zone (Profile.timezone): Monday is 0,
    minutes count from local midnight. See profiles/availability.py for how windows of people in
    different time zones are compared, daylight-saving changes included."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="availability")
    weekday = models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)])
    start_minute = models.PositiveSmallIntegerField(validators=[MaxValueValidator(1439)])
    end_minute = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(1440)]
    )

    class Meta:
        ordering = ("weekday", "start_minute")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(end_minute__gt=models.F("start_minute")),
                name="window_ends_after_it_starts",
            ),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="window_weekday_0_6"),
        ]

    def __str__(self) -> str:
        return f"{self.weekday}: {self.start_minute}-{self.end_minute}"

    def clean(self) -> None:
        start, end = self.start_minute, self.end_minute
        if start is not None and end is not None and end <= start:
            raise ValidationError({"end_minute": "The window must end after it starts."})
