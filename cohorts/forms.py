from django import forms
from django.core.validators import validate_email

from cohorts import importer
from cohorts.models import Cohort, Enrollment
from conversations.models import Announcement
from matching.engine import DEFAULT_WEIGHTS, LABELS
from matching.models import Circle
from profiles.models import Skill, User


class CohortForm(forms.ModelForm):
    """A cohort and its matching policy; the weights are one field per component."""

    class Meta:
        model = Cohort
        fields = (
            "name",
            "slug",
            "description",
            "starts_on",
            "ends_on",
            "status",
            "mentors_per_mentee",
            "mode",
            "organisation_policy",
            "min_overlap_hours",
            "favour_score",
            "match_invited",
        )
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"slug": "Used in links and by manage.py import_cohort; letters, digits, -."}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        weights = {**{str(c): w for c, w in DEFAULT_WEIGHTS.items()}, **self.instance.weights}
        for component, label in LABELS.items():
            self.fields[f"weight_{component}"] = forms.DecimalField(
                label=f"Weight: {label}",
                min_value=0,
                max_value=1,
                decimal_places=2,
                initial=weights.get(str(component), 0),
            )

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", "The cohort must end after it starts.")
        weights = [data.get(f"weight_{c}") for c in LABELS]
        if all(w is not None for w in weights) and sum(weights) <= 0:
            self.add_error(None, "At least one weight must be above zero.")
        return data

    def save(self, commit: bool = True) -> Cohort:
        cohort = super().save(commit=False)
        cohort.weights = {str(c): float(self.cleaned_data[f"weight_{c}"]) for c in LABELS}
        if commit:
            cohort.save()
        return cohort


class InviteForm(forms.Form):
    emails = forms.CharField(
        label="Email addresses",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One per line, or separated by commas or spaces.",
    )
    role = forms.ChoiceField(choices=Enrollment.Role.choices, initial=Enrollment.Role.MENTEE)

    def clean_emails(self) -> list[str]:
        raw = self.cleaned_data["emails"].replace(",", " ").split()
        bad = []
        for email in raw:
            try:
                validate_email(email)
            except forms.ValidationError:
                bad.append(email)
        if bad:
            raise forms.ValidationError(f"Not an email address: {', '.join(bad[:10])}.")
        if len(raw) > 2000:
            raise forms.ValidationError("At most 2,000 addresses at once; import a CSV instead.")
        return list(dict.fromkeys(e.lower() for e in raw))


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8, a header row, one person a row (see the columns below); at most "
        f"{importer.MAX_BYTES // (1024 * 1024)} MB (about 20,000 people). Larger cohorts, up to "
        f"{importer.MAX_ROWS:,} people a file: manage.py import_cohort.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > importer.MAX_BYTES:
            raise forms.ValidationError(importer.too_large_message())
        return upload


class AnnouncementForm(forms.ModelForm):
    """What a cohort admin writes to the cohort; `post_announcement` sends it."""

    class Meta:
        model = Announcement
        fields = ("audience", "subject", "body")
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}
        labels = {"audience": "Send to", "body": "Message"}
        error_messages = {
            "subject": {"required": "Write a subject: it is the email's subject line too."},
            "body": {"required": "Write the announcement."},
        }


WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


class CircleBasics(forms.Form):
    """What every circle says: its topic and skills, how many it takes and when it meets."""

    topic = forms.CharField(max_length=120, error_messages={"required": "Name the circle's topic."})
    skills = forms.ModelMultipleChoiceField(
        queryset=Skill.objects.order_by("name"),
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="The skills it works on: members are placed by their goals' skills.",
        error_messages={"required": "Choose at least one skill."},
    )
    size = forms.IntegerField(
        min_value=2, max_value=12, initial=6, help_text="Members at most, 2 to 12."
    )
    weekday = forms.TypedChoiceField(choices=WEEKDAYS, coerce=int, label="Meets every")
    start = forms.TimeField(
        label="At (the facilitator's time zone)", widget=forms.TimeInput(attrs={"type": "time"})
    )
    duration = forms.TypedChoiceField(
        label="For",
        choices=[(45, "45 minutes"), (60, "1 hour"), (90, "1 hour 30")],
        coerce=int,
        initial=60,
    )

    def start_minute(self) -> int:
        start = self.cleaned_data["start"]
        return start.hour * 60 + start.minute


class CircleForm(CircleBasics):
    """A circle of the cohort: who of its participants leads it, and how."""

    facilitator = forms.ModelChoiceField(queryset=User.objects.none())
    kind = forms.ChoiceField(choices=Circle.Kind.choices, initial=Circle.Kind.MENTOR)

    field_order = ["topic", "skills", "facilitator", "kind"]

    def __init__(self, *args, cohort: Cohort, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["facilitator"].queryset = User.objects.filter(
            enrollments__cohort=cohort, enrollments__status=Enrollment.Status.JOINED
        ).order_by("name")
