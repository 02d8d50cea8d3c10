"""Forms validate; `community.actions` decides. An event's time is typed in the organiser's own
zone, read as a meeting's is (meetings.forms.MeetingForm: the day, the time, clocks that skip)."""

from __future__ import annotations

from django import forms

from cohorts.forms import CircleBasics
from cohorts.models import Cohort
from community import actions
from community.models import Story
from matching.models import Circle
from meetings.forms import MeetingForm
from profiles.models import User

EVENT_LENGTHS = [
    (30, "30 minutes"),
    (60, "1 hour"),
    (90, "1 hour 30"),
    (120, "2 hours"),
    (180, "3 hours"),
    (240, "4 hours"),
    (480, "A day (8 hours)"),
]


class EventForm(MeetingForm):
    """An event or workshop: what, when (in the organiser's zone), where, for how many."""

    title = forms.CharField(max_length=150, error_messages={"required": "Give the event a title."})
    description = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Markdown is allowed: **bold**, lists, links.",
    )
    duration = forms.TypedChoiceField(label="Length", choices=EVENT_LENGTHS, coerce=int, initial=60)
    link = forms.URLField(
        label="Online link",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="A video call, for an online event.",
    )
    place = forms.CharField(label="Place", required=False, max_length=300)
    capacity = forms.IntegerField(
        min_value=1,
        max_value=10000,
        initial=20,
        help_text="People beyond it join a waitlist and move up, in order, when someone cancels.",
        error_messages={"min_value": "Leave room for at least one person."},
    )
    cohort = forms.ModelChoiceField(
        label="For",
        queryset=Cohort.objects.none(),
        required=False,
        empty_label="The whole program (everyone signed in)",
    )

    field_order = [
        "title",
        "description",
        "cohort",
        "day",
        "start",
        "duration",
        "link",
        "place",
        "capacity",
    ]

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["start"].label = "Time (your time zone)"
        cohorts = Cohort.objects.all() if user.is_staff else Cohort.objects.filter(admins=user)
        self.fields["cohort"].queryset = cohorts.order_by("name")
        if not user.is_staff:
            self.fields["cohort"].required = True
            self.fields["cohort"].empty_label = None

    def clean(self) -> dict:
        cleaned = super().clean()
        if not cleaned.get("link") and not cleaned.get("place", "").strip():
            self.add_error("place", "Give a place, or an online link above.")
        return cleaned


class StoryForm(forms.ModelForm):
    class Meta:
        model = Story
        fields = ("title", "body", "cohort", "quote")
        widgets = {"body": forms.Textarea(attrs={"rows": 12})}
        labels = {
            "body": "Your story",
            "cohort": "Where it happened",
            "quote": "Quote a thank-you note",
        }
        help_texts = {
            "quote": "A note a mentee wrote you: it shows once they agree.",
            "body": "What you set out to do, what changed, what you would tell others. Markdown "
            "is allowed: **bold**, lists, links.",
        }

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cohort"].queryset = Cohort.objects.filter(
            enrollments__user=user, enrollments__status="joined"
        ).distinct()
        self.fields["cohort"].empty_label = "Not in a cohort"
        self.fields["quote"].queryset = actions.quotable(user).select_related("mentorship__mentee")
        self.fields["quote"].label_from_instance = lambda c: (
            f"From {c.mentorship.mentee.name}: “{c.thank_you[:60]}”"
        )
        self.fields["quote"].empty_label = "No quote"


class ReviewForm(forms.Form):
    note = forms.CharField(
        label="A note to the author",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class OpenCircleForm(CircleBasics):
    """A circle people ask to join: the basics, and how joining works."""

    joining = forms.ChoiceField(
        choices=[c for c in Circle.Joining.choices if c[0] != Circle.Joining.FORMED],
        initial=Circle.Joining.APPROVAL,
        widget=forms.RadioSelect,
    )

    field_order = ["topic", "skills", "joining"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["skills"].required = False
        self.fields["start"].label = "At (your time zone)"
