"""Find a mentor: the signed-in mentee's matches, filtered, ranked and explained.

The mentor features are kept in memory (loader.mentor_features); each request loads the one
mentee, scores them against every mentor at once, applies the filters as column masks and
explains only the page that is shown. The number of queries does not depend on how many mentors
there are or how many are shown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
from django import forms
from django.db import connection
from django.db.models import Avg, F, Q
from django.forms.utils import flatatt
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from matching import eligibility, engine, loader
from matching.engine import FORMATS, Features, Mode, Policy, Reason
from matching.models import MentorRequest
from profiles.availability import WEEKDAYS
from profiles.languages import LANGUAGES
from profiles.models import Expertise, Format, Goal, Profile, Skill, User

PER_PAGE = 10
DEFAULT_POLICY = Policy()
MODE_CHOICES = [
    ("regular", "A more experienced mentor"),
    ("peer", "A peer"),
    ("reverse", "Reverse mentoring"),
]


class QuickSelect(forms.Select):
    """A <select> built in Python. Django renders each option through a template, which for the
    few hundred skills and languages of the filters cost a third of the page's time. The options
    are built once per list of choices (per process) and only the chosen one is marked per
    request."""

    # The choices are kept as given, pairs of strings: Django would normalise them again on
    # every copy of the form, which for these lists costs about as much as drawing them.
    @property
    def choices(self):
        return self._choices

    @choices.setter
    def choices(self, value) -> None:
        self._choices = value

    def render(self, name, value, attrs=None, renderer=None) -> str:
        attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        options = _options_html(tuple((str(key), str(label)) for key, label in self.choices))
        chosen = "" if value is None else str(value)
        if chosen:
            option = f'<option value="{escape(chosen)}">'
            options = options.replace(option, f"{option[:-1]} selected>", 1)
        # Every key and label was escaped by _options_html, the chosen value likewise.
        return format_html("<select{}>{}</select>", flatatt(attrs), mark_safe(options))  # noqa: S308


@lru_cache(maxsize=16)
def _options_html(choices: tuple[tuple[str, str], ...]) -> str:
    return "".join(
        f'<option value="{escape(key)}">{escape(label)}</option>' for key, label in choices
    )


_per_build: dict[str, tuple[Features, object]] = {}


def per_build(name: str, mentors: Features, read):
    """read(), kept until the mentor features are built again (loader.mentor_features rebuilds
    them when the taxonomy or any mentor's profile changes)."""
    cached = _per_build.get(name)
    if cached is None or cached[0] is not mentors:
        cached = _per_build[name] = (mentors, read())
    return cached[1]


def skill_choices(mentors: Features) -> list[tuple[str, str]]:
    """The skill filter's options (slug, name), once per build of the mentor features, so the
    filter lists the skills the ranking knows."""
    return per_build(
        "skills",
        mentors,
        lambda: [("", "Any skill"), *Skill.objects.order_by("name").values_list("slug", "name")],
    )


class FindForm(forms.Form):
    """The filters, from the query string (so every view of the results is a bookmarkable URL)."""

    q = forms.CharField(label="Search", required=False, max_length=200)
    goal = forms.ModelChoiceField(
        label="For my goal",
        queryset=Goal.objects.none(),
        required=False,
        empty_label="All my open goals",
    )
    skill = forms.ModelChoiceField(
        label="Skill",
        queryset=Skill.objects.order_by("name"),
        required=False,
        to_field_name="slug",
        empty_label="Any skill",
        widget=QuickSelect,
    )
    language = forms.ChoiceField(
        label="Language",
        required=False,
        choices=[("", "Any language"), *LANGUAGES.items()],
        widget=QuickSelect,
    )
    format = forms.ChoiceField(
        label="Format", required=False, choices=[("", "Any format"), *Format.choices]
    )
    overlap = forms.IntegerField(
        label="Free time together (hours a week, at least)",
        required=False,
        min_value=0,
        max_value=40,
    )
    mode = forms.ChoiceField(label="Looking for", required=False, choices=MODE_CHOICES)

    def __init__(self, *args, user: User, mentors: Features | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        goals = Goal.objects.open().filter(owner=user).order_by("pk")
        self.fields["goal"].queryset = goals  # what a chosen goal is checked against
        # Listed from one read, which also tells the page whether there is any.
        self.open_goals = list(goals)
        self.fields["goal"].widget.choices = [
            ("", self.fields["goal"].empty_label),
            *((goal.pk, self.fields["goal"].label_from_instance(goal)) for goal in self.open_goals),
        ]
        # Validation still asks the database for the one skill chosen; only the listing is kept.
        if mentors is None:
            mentors = loader.mentor_features()
        self.fields["skill"].widget.choices = skill_choices(mentors)


@dataclass
class Fit:
    """One pair's number and reasons, as every page shows them."""

    score: float
    reasons: list[Reason]
    overlap_hours: float

    @property
    def percent(self) -> int:
        return engine.round_score(self.score)

    @property
    def top(self) -> list[Reason]:
        return engine.top_reasons(self.reasons)


@dataclass
class Match:
    user_id: int
    fit: Fit
    room: int
    capacity: int
    hours_per_month: int
    profile: Profile | None = None
    answers_in: timedelta | None = None

    @property
    def percent(self) -> int:
        return self.fit.percent

    @property
    def score(self) -> float:
        return self.fit.score

    @property
    def top(self) -> list[Reason]:
        return self.fit.top


@dataclass
class Results:
    mentee: Features | None
    columns: list[int]  # ranked mentor columns after filters
    mentors: Features
    scores: engine.Scores | None


def policy_for(mode: str, overlap: int | None) -> Policy:
    return Policy(mode=Mode(mode or Mode.REGULAR), min_overlap_hours=float(overlap or 0))


def text_matches(query: str) -> set[int]:
    """Mentor user ids whose profile matches the words: PostgreSQL full-text search (stemmed,
    web-search syntax), or a plain substring match on SQLite; skill names and synonyms too."""
    mentors = Profile.objects.filter(is_mentor=True)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        vector = SearchVector(
            "user__name", "headline", "bio", "organisation", "department", config="english"
        )
        found = mentors.annotate(search=vector).filter(
            search=SearchQuery(query, search_type="websearch", config="english")
        )
    else:
        found = mentors.filter(
            Q(user__name__icontains=query)
            | Q(headline__icontains=query)
            | Q(bio__icontains=query)
            | Q(organisation__icontains=query)
        )
    ids = set(found.values_list("user_id", flat=True))
    skills = Skill.objects.filter(Q(name__icontains=query) | Q(synonyms__icontains=query.lower()))
    ids.update(
        Expertise.objects.filter(skill__in=skills, user__profile__is_mentor=True).values_list(
            "user_id", flat=True
        )
    )
    return ids


def find(user: User, data: dict, *, mentors: Features | None = None) -> Results:
    """Rank every mentor for the user, applying the filters in `data` (cleaned FindForm data),
    against `mentors` when the caller has them already (loader.mentor_features)."""
    if mentors is None:
        mentors = loader.mentor_features()
    goal = data.get("goal")
    mentee = loader.load_mentees([user.pk], idf=mentors.idf, goal_ids=[goal.pk] if goal else None)
    if len(mentee) == 0 or len(mentors) == 0:
        return Results(None, [], mentors, None)
    policy = policy_for(data.get("mode") or "", data.get("overlap"))
    scores = engine.score(mentee, mentors, policy, eligibility.excluded_pairs([user.pk]))
    # Only the mentors this person may see (profiles' one visibility rule): a hidden profile is
    # in no list and no search, as its page is a 404.
    keep = ~np.isin(mentors.user_ids, hidden_mentors(user, mentors))
    if data.get("skill"):
        columns, _ = loader.skill_columns()
        keep &= mentors.skills[:, columns[data["skill"].pk]] > 0
    if data.get("language"):
        keep &= mentors.languages[:, loader.LANGUAGE_COLUMN[data["language"]]] > 0
    if data.get("format"):
        keep &= mentors.formats[:, FORMATS.index(data["format"])] > 0
    if data.get("q"):
        ids = np.fromiter(text_matches(data["q"]), dtype=np.int64)
        keep &= np.isin(mentors.user_ids, ids)
    scores.allowed &= keep[None, :]
    columns = engine.rank(scores, 0, mentor_ids=mentors.user_ids).tolist()
    return Results(mentee, columns, mentors, scores)


def hidden_mentors(user: User, mentors: Features) -> np.ndarray:
    """User ids of the mentors `user` may not see. The few mentors who may be hidden from anyone
    are read once per build of the mentor features (a change of a mentor's profile rebuilds
    them, matching/signals.py), and the visibility rule is asked about them alone, by key,
    rather than over every profile on each search."""
    restricted = per_build(
        "maybe-hidden",
        mentors,
        lambda: list(
            Profile.objects.maybe_hidden().filter(is_mentor=True).values_list("user_id", flat=True)
        ),
    )
    if not restricted:
        return np.array([], dtype=np.int64)
    hidden = Profile.objects.hidden_from(user).filter(user_id__in=restricted)
    return np.array(list(hidden.values_list("user_id", flat=True)), dtype=np.int64)


def suggestions(user: User, *, goal: Goal | None = None, top: int = PER_PAGE) -> list[Match]:
    """The first `top` mentors of the user's own Find a mentor list (no filters, or this goal),
    explained: what they see, for the tools that ask why they see it."""
    if not Goal.objects.open().filter(owner=user).exists():
        return []
    results = find(user, {"goal": goal} if goal else {})
    if results.mentee is None:
        return []
    return matches_for(results, results.columns[:top], DEFAULT_POLICY)


def local_ranges(slots: np.ndarray, tz: str, week_start: date) -> list[str]:
    """Shared UTC half-hours as "Tue 18:00-20:00" ranges in the zone tz."""
    indices = np.flatnonzero(slots).tolist()
    if not indices:
        return []
    moments = loader.local_slots(indices, tz, week_start)
    ranges: list[list] = []
    for index, moment in zip(indices, moments, strict=True):
        if ranges and ranges[-1][2] == index - 1:
            ranges[-1][1], ranges[-1][2] = moment + timedelta(minutes=30), index
        else:
            ranges.append([moment, moment + timedelta(minutes=30), index])
    ranges.sort(key=lambda r: (r[0].weekday(), r[0].time()))
    return [_range_label(start, end) for start, end, _ in ranges]


def _range_label(start, end) -> str:
    until = "24:00" if end.date() > start.date() and end.hour == end.minute == 0 else f"{end:%H:%M}"
    return f"{WEEKDAYS[start.weekday()][:3]} {start:%H:%M}-{until}"


def fit_of(
    mentees: Features,
    row: int,
    mentors: Features,
    col: int,
    policy: Policy = DEFAULT_POLICY,
    *,
    audience: str = "mentee",
) -> Fit:
    """The one way a pair is scored and explained for people: this mentee row and mentor
    column alone, with the site's word weights (mentors.idf), whatever page asks. Shared free
    time is given in the reader's time zone."""
    mentee, mentor = mentees.take([row]), mentors.take([col])
    reader = mentor if audience == "mentor" else mentee
    shared = mentee.slots[0] * mentor.slots[0]
    free = local_ranges(shared, reader.timezones[0], loader.reference_week())
    scores, reasons = engine.explain_pair(
        mentee, mentor, policy, local_free=free, audience=audience
    )
    return Fit(float(scores.score[0, 0]), reasons, float(scores.overlap_hours[0, 0]))


def pair_fit(
    mentee: User,
    mentor_id: int,
    *,
    goal_ids: list[int] | None = None,
    policy: Policy = DEFAULT_POLICY,
    audience: str = "mentee",
) -> Fit | None:
    """How well a mentor fits the mentee's open goals (or these of them); None when either has
    nothing to score (no open goal, or not a mentor)."""
    mentors = loader.mentor_features()
    col = mentors.index_of(mentor_id)
    mentees = loader.load_mentees([mentee.pk], idf=mentors.idf, goal_ids=goal_ids)
    if col is None or not len(mentees) or mentee.pk == mentor_id:
        return None
    if not mentees.skills[0].any() and not mentees.words[0]:
        return None
    return fit_of(mentees, 0, mentors, col, policy, audience=audience)


def request_fits(requests: list[MentorRequest], mentor: User) -> dict[int, Fit]:
    """The fit of each open request's mentee, for the goals the request names, as the mentor
    reads it: a handful of queries for the whole page."""
    requests = [r for r in requests if r.is_open and r.mentor_id == mentor.pk]
    mentors = loader.mentor_features()
    col = mentors.index_of(mentor.pk)
    if col is None or not requests:
        return {}
    goal_ids = [goal.pk for r in requests for goal in r.goals.all()]
    mentees = loader.load_mentees(
        {r.mentee_id for r in requests}, idf=mentors.idf, goal_ids=goal_ids
    )
    row_of = {int(user_id): row for row, user_id in enumerate(mentees.user_ids)}
    return {
        r.pk: fit_of(mentees, row_of[r.mentee_id], mentors, col, DEFAULT_POLICY, audience="mentor")
        for r in requests
        if r.mentee_id in row_of
    }


def matches_for(results: Results, columns: list[int], policy: Policy) -> list[Match]:
    """The page's matches, explained, with their profiles and answer times: three queries."""
    mentors = results.mentors
    matches = [
        Match(
            user_id=int(mentors.user_ids[column]),
            fit=fit_of(results.mentee, 0, mentors, column, policy),
            room=int(mentors.capacity[column] - mentors.active[column]),
            capacity=int(mentors.capacity[column]),
            hours_per_month=int(mentors.hours_per_month[column]),
        )
        for column in columns
    ]
    ids = [m.user_id for m in matches]
    profiles = (
        Profile.objects.select_related("user").filter(user_id__in=ids).in_bulk(field_name="user_id")
    )
    answer_times = response_times(ids)
    for match in matches:
        match.profile = profiles.get(match.user_id)
        match.answers_in = answer_times.get(match.user_id)
    return [m for m in matches if m.profile is not None]


def response_times(mentor_ids: list[int]) -> dict[int, timedelta]:
    """How long each mentor usually takes to answer a request (the mean of their answers)."""
    rows = (
        MentorRequest.objects.filter(mentor_id__in=mentor_ids, answered_at__isnull=False)
        .values("mentor_id")
        .annotate(wait=Avg(F("answered_at") - F("created_at")))
        .values_list("mentor_id", "wait")
    )
    result: dict[int, timedelta] = defaultdict(lambda: None)
    for mentor_id, wait in rows:
        if wait is not None:
            result[mentor_id] = (
                wait if isinstance(wait, timedelta) else timedelta(microseconds=wait)
            )
    return result
