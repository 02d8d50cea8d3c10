from zoneinfo import available_timezones

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from mentorship.inputs import is_id
from profiles.availability import Window, windows_from_cells
from profiles.languages import LANGUAGES
from profiles.models import Cadence, Expertise, Format, Goal, MentorOffer, Profile, Skill, User

TIMEZONE_CHOICES = [(tz, tz.replace("_", " ")) for tz in sorted(available_timezones())]
LANGUAGE_CHOICES = [(code, f"{name} ({code})") for code, name in LANGUAGES.items()]


class SignupForm(forms.Form):
    """Extra fields on allauth's signup form: the name people will see, and the time zone our
    script reads from the browser (people can change it later)."""

    name = forms.CharField(
        max_length=150,
        label="Your name",
        help_text="How mentors, mentees and program admins will see you.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    timezone = forms.CharField(
        required=False, widget=forms.HiddenInput(attrs={"data-guess-tz": ""})
    )

    field_order = ("name", "email", "password1", "password2")

    def clean_timezone(self) -> str:
        value = self.cleaned_data.get("timezone") or ""
        return value if value in available_timezones() else "UTC"

    def signup(self, request: HttpRequest, user: User) -> None:
        user.name = self.cleaned_data["name"].strip()
        user.save(update_fields=["name"])
        Profile.objects.update_or_create(
            user=user, defaults={"timezone": self.cleaned_data.get("timezone") or "UTC"}
        )


class RolesForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ("is_mentee", "is_mentor")
        help_texts = {
            "is_mentee": "Find mentors who fit your goals.",
            "is_mentor": "Share what you know, as much time as you choose.",
        }

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("is_mentee") and not data.get("is_mentor"):
            raise ValidationError("Choose at least one: you can be a mentee, a mentor, or both.")
        return data


class ProfileForm(forms.ModelForm):
    name = forms.CharField(max_length=150, label="Display name")
    timezone = forms.ChoiceField(
        choices=TIMEZONE_CHOICES,
        label="Time zone",
        help_text="Meeting times and availability are shown in this zone.",
        error_messages={
            "invalid_choice": "“%(value)s” is not a time zone we know. Pick one from the list."
        },
        widget=forms.Select(attrs={"data-guess-tz": ""}),
    )
    languages = forms.MultipleChoiceField(
        choices=LANGUAGE_CHOICES,
        help_text="Languages you can hold a mentoring conversation in: tick each one.",
        widget=forms.CheckboxSelectMultiple(
            attrs={"class": "chip-choices", "data-filterable": "Filter languages"}
        ),
    )

    class Meta:
        model = Profile
        fields = (
            "headline",
            "bio",
            "timezone",
            "languages",
            "organisation",
            "department",
            "level",
            "years_experience",
            "city",
            "is_mentee",
            "is_mentor",
            "visibility",
        )
        labels = {"years_experience": "Years of experience", "city": "City (optional)"}
        widgets = {"bio": forms.Textarea(attrs={"rows": 6})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].initial = self.instance.user.name
        self.order_fields(["name"])

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("is_mentee") and not data.get("is_mentor"):
            self.add_error("is_mentee", "Choose at least one role: mentee, mentor, or both.")
        return data

    def save(self, commit: bool = True) -> Profile:
        profile = super().save(commit=commit)
        if commit:
            profile.user.name = self.cleaned_data["name"].strip()
            profile.user.save(update_fields=["name"])
        return profile


class GoalForm(forms.ModelForm):
    skills = forms.ModelMultipleChoiceField(
        queryset=Skill.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Search and pick the skills this goal is about: they drive your matches.",
        error_messages={"invalid_choice": "There is no skill with id %(value)s."},
    )

    class Meta:
        model = Goal
        fields = ("title", "description", "skills", "format", "cadence", "status")
        labels = {"title": "What do you want to achieve?", "format": "How long a mentoring"}
        help_texts = {
            "title": "Paint the target, e.g. “Prepare for my promotion case by March”.",
            "description": "Where you are now, what you tried, what would make this a success.",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "format": forms.RadioSelect,
            "cadence": forms.RadioSelect,
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["title"].error_messages["required"] = "Give your goal a title."
        # Only the chosen skills are rendered; the search box adds more.
        chosen = self.data.getlist("skills") if self.is_bound else None
        self.chosen_skills = (
            Skill.objects.filter(pk__in=[v for v in chosen if is_id(v)])
            if chosen is not None
            else (self.instance.skills.all() if self.instance.pk else Skill.objects.none())
        )


class MentorOfferForm(forms.ModelForm):
    formats = forms.MultipleChoiceField(
        choices=Format.choices, widget=forms.CheckboxSelectMultiple, label="Formats you offer"
    )
    cadences = forms.MultipleChoiceField(
        choices=Cadence.choices, widget=forms.CheckboxSelectMultiple, label="Cadences you offer"
    )

    class Meta:
        model = MentorOffer
        fields = (
            "capacity",
            "hours_per_month",
            "formats",
            "cadences",
            "open_to_peer",
            "open_to_reverse",
            "accepting_requests",
        )
        labels = {"capacity": "Mentees at once", "hours_per_month": "Hours a month"}


class ExpertiseForm(forms.ModelForm):
    skill = forms.ModelChoiceField(
        queryset=Skill.objects.all(),
        error_messages={"invalid_choice": "There is no such skill. Pick one from the list."},
    )

    class Meta:
        model = Expertise
        fields = ("skill", "level", "years")
        labels = {"level": "Level (1-5)", "years": "Years"}
        widgets = {
            "level": forms.NumberInput(attrs={"min": 1, "max": 5}),
            "years": forms.NumberInput(attrs={"min": 0, "max": 70}),
        }

    def __init__(self, *args, skill_choices=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if skill_choices is not None:
            self.fields["skill"].choices = [("", "Choose a skill…"), *skill_choices]


class BaseExpertiseFormSet(forms.BaseModelFormSet):
    # Merged with BaseFormSet's along the MRO: only the message that reads better here.
    default_error_messages = {
        "too_many_forms": "List at most %(num)d skills you can teach.",
    }

    def clean(self) -> None:
        super().clean()
        seen = set()
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            skill = form.cleaned_data.get("skill")
            if skill in seen:
                form.add_error("skill", "You listed this skill twice.")
            seen.add(skill)


# A cap on the rows a post may claim (expertise-TOTAL_FORMS): absolute_max is how many forms
# Django builds at most, whatever the number posted, and validate_max makes a larger number an
# error rather than a silently shortened list. cohorts/importer.py holds imports to the same cap.
MAX_EXPERTISE = 50

ExpertiseFormSet = forms.modelformset_factory(
    Expertise,
    form=ExpertiseForm,
    formset=BaseExpertiseFormSet,
    extra=2,
    can_delete=True,
    max_num=MAX_EXPERTISE,
    absolute_max=MAX_EXPERTISE,
    validate_max=True,
)


class AvailabilityForm(forms.Form):
    """The week grid: one checkbox per (weekday, hour) cell, named "cell" with value "d-h"."""

    cell = forms.MultipleChoiceField(
        required=False,
        choices=[(f"{d}-{h}", f"{d}-{h}") for d in range(7) for h in range(24)],
        error_messages={"invalid_choice": "“%(value)s” is not a cell of the week grid."},
    )

    def windows(self) -> list[Window]:
        cells = [tuple(map(int, value.split("-"))) for value in self.cleaned_data["cell"]]
        return windows_from_cells(cells)


class WindowForm(forms.Form):
    """One window typed by hand (the grid's alternative for half hours)."""

    weekday = forms.TypedChoiceField(
        coerce=int,
        choices=[(i, d) for i, d in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))],
    )
    start = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time", "step": 1800}))
    end = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time", "step": 1800}))

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if (
            start
            and end
            and (end.hour, end.minute) <= (start.hour, start.minute)
            and not (end.hour == 0 and end.minute == 0)
        ):
            self.add_error("end", "The window must end after it starts.")
        return data

    def window(self) -> Window:
        start, end = self.cleaned_data["start"], self.cleaned_data["end"]
        end_minute = end.hour * 60 + end.minute or 24 * 60  # 00:00 as an end means midnight
        return Window(self.cleaned_data["weekday"], start.hour * 60 + start.minute, end_minute)
