from django import forms
from django.core.validators import validate_email

from cohorts import importer
from cohorts.models import Cohort, Enrollment
from conversations.models import Announcement
from matching.engine import DEFAULT_WEIGHTS, LABELS


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
