"""The one form every way of booking or moving a meeting goes through: a date and a time typed in
the person's own zone, or a slot picked from the suggested ones, then the length and the place.

Its limits are the model's (Meeting.duration_minutes' validators, Meeting.place's max_length), so
that anything the form accepts the database stores, and anything else is a sentence next to the
field rather than a 500."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from matching.models import Mentorship
from meetings import services
from meetings.models import Closure, Meeting
from profiles.models import Goal, User

DURATIONS = [(30, "30 minutes"), (45, "45 minutes"), (60, "1 hour"), (90, "1 hour 30")]
# As a suggested slot's button posts it, 2027-03-22T08:00:00+00:00. Checked before
# datetime.fromisoformat, which skips a stray character ("19:00x+00:00" is 19:00 to it).
SLOT_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})", re.ASCII)
# Real UTC offsets run from -12:00 to +14:00: a slot with another was not one we suggested.
LARGEST_OFFSET = timedelta(hours=14)
NUL_MESSAGE = "Remove the NUL character: it cannot be saved."
SLOT_GONE = "That time is not one we suggested; pick another or type a date and time below."


def _duration_bounds() -> tuple[int, int]:
    validators = Meeting._meta.get_field("duration_minutes").validators
    low = max(v.limit_value for v in validators if isinstance(v, MinValueValidator))
    high = min(v.limit_value for v in validators if isinstance(v, MaxValueValidator))
    return low, high


SHORTEST, LONGEST = _duration_bounds()
PLACE_MAX = Meeting._meta.get_field("place").max_length


def _hours(minutes: int) -> str:
    return f"{minutes // 60} hours" if minutes % 60 == 0 else f"{minutes} minutes"


class MeetingForm(forms.Form):
    """When, how long and where. A posted `slot` (an ISO 8601 time with its UTC offset, from a
    suggested slot's button) stands for the date and the time; otherwise both are required and
    read in the person's own zone. `cleaned_data["starts_at"]` is the start, in UTC."""

    # A plain Field: what is wrong with a slot is said above the form, not against a field
    # nobody can see.
    slot = forms.Field(required=False, widget=forms.HiddenInput)
    day = forms.DateField(
        label="Date",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": "Give the date of the meeting.",
            "invalid": "Give the date as year-month-day, e.g. 2027-03-22.",
        },
    )
    start = forms.TimeField(
        label="Time (your time zone)",
        widget=forms.TimeInput(attrs={"type": "time"}),
        error_messages={
            "required": "Give the time the meeting starts.",
            "invalid": "Give the time as hours:minutes, e.g. 18:30.",
        },
    )
    duration = forms.IntegerField(
        label="Length",
        initial=60,
        min_value=SHORTEST,
        max_value=LONGEST,
        widget=forms.Select(choices=DURATIONS),
        error_messages={
            code: f"A meeting lasts from {SHORTEST} minutes to {_hours(LONGEST)}."
            for code in ("required", "invalid", "min_value", "max_value")
        },
    )
    place = forms.CharField(
        label="Place or video link",
        required=False,
        max_length=PLACE_MAX,
        error_messages={
            "max_length": f"At most {PLACE_MAX} characters fit (this has %(show_value)d).",
            "null_characters_not_allowed": NUL_MESSAGE,
        },
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if self.is_bound and self.data.get("slot"):
            # The slot gives the time: a typed date and time are not asked for.
            self.fields["day"].required = self.fields["start"].required = False

    def get_context(self) -> dict:
        context = super().get_context()
        # The slot comes from a suggested slot's button and is never drawn here: a refused slot
        # must not be posted again along with the date and time typed next.
        context["hidden_fields"] = [f for f in context["hidden_fields"] if f.name != "slot"]
        return context

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("slot"):
            cleaned["starts_at"] = self._slot_start(cleaned["slot"])
        elif "day" in cleaned and "start" in cleaned:
            cleaned["starts_at"] = self._typed_start(cleaned["day"], cleaned["start"])
        return cleaned

    def _slot_start(self, value: str) -> datetime | None:
        try:
            if not SLOT_FORMAT.fullmatch(str(value)):
                raise ValueError(value)
            moment = datetime.fromisoformat(str(value))
            if abs(moment.utcoffset()) > LARGEST_OFFSET:
                raise ValueError(value)
            return moment.astimezone(UTC)
        except (ValueError, OverflowError):  # not a time, or past year 9999 once in UTC
            self.add_error(None, SLOT_GONE)
            return None

    def _typed_start(self, day: date, start: time) -> datetime | None:
        zone = services.zone_of(self.user)
        moment = datetime.combine(day, start).replace(tzinfo=zone)
        try:
            round_trip = moment.astimezone(UTC).astimezone(zone)
        except OverflowError:  # 9999-12-31 west of Greenwich, 0001-01-01 east of it
            self.add_error("day", "Choose a date within the next year.")
            return None
        # A time the clocks skip (01:30 on the night summer time starts) would silently become
        # another hour: refuse it.
        if round_trip != moment:
            self.add_error(
                None, "That time does not exist in your time zone: the clocks change then."
            )
            return None
        return moment.astimezone(UTC)


class LookBackForm(forms.Form):
    """How a mentorship went, as each of the two says it: the outcome, feedback only the program
    staff read and, from a mentee, a thank-you note to the mentor."""

    outcome = forms.ChoiceField(
        label="How did it go for you?", choices=Closure.Outcome.choices, widget=forms.RadioSelect
    )
    feedback = forms.CharField(
        label="Private feedback for the program",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only the program staff read this.",
    )
    thank_you = forms.CharField(
        label="A thank-you note to your mentor",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Your mentor may show it on their profile.",
    )

    def __init__(self, *args, mentee: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not mentee:
            del self.fields["thank_you"]


class CloseForm(LookBackForm):
    """Closing: the same, and which goals were achieved."""

    achieved = forms.ModelMultipleChoiceField(
        label="Goals achieved",
        queryset=Goal.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    field_order = ("outcome", "achieved", "feedback", "thank_you")

    def __init__(self, *args, pair: Mentorship, mentee: bool, **kwargs) -> None:
        super().__init__(*args, mentee=mentee, **kwargs)
        self.fields["outcome"].label = "How did it go?"
        self.fields["achieved"].queryset = pair.goals.all()
