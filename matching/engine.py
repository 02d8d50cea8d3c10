"""The scoring engine: plain arrays in, a score matrix and reasons out. No ORM here.

`matching/loader.py` turns profiles into `Features` (one row per person, aligned arrays); `score`
turns a block of mentees x mentors into component matrices and a weighted score with NumPy, with
no per-pair Python loop; `explain` turns one pair's components into sentences.

Every component is in 0..1; the score is their weighted mean, so it is in 0..1 too. A pair that
breaks a hard constraint is not scored low, it is excluded (`Scores.allowed` is False) and never
ranked.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np

SLOTS_PER_WEEK = 7 * 48  # half-hours, UTC, Monday 00:00 first
TEXT_DIMENSIONS = 512  # hashed words; more buckets cost time in every block for little gain
FORMATS = ("one_session", "short_series", "ongoing")
CADENCES = ("weekly", "biweekly", "monthly")
# Weekly hours of shared free time that make a cadence easy to keep: more choice of slot than
# the meeting itself needs, so a busy week does not break the rhythm.
HOURS_WANTED = {"weekly": 2.0, "biweekly": 1.5, "monthly": 1.0}
LEVELS = ("early", "mid", "senior", "executive")


class Component(StrEnum):
    FIT = "fit"
    AVAILABILITY = "availability"
    LANGUAGE = "language"
    FORMAT = "format"
    SENIORITY = "seniority"
    ORGANISATION = "organisation"
    LOAD = "load"


LABELS = {
    Component.FIT: "Goals and expertise",
    Component.AVAILABILITY: "Time together",
    Component.LANGUAGE: "Language",
    Component.FORMAT: "Format and cadence",
    Component.SENIORITY: "Experience",
    Component.ORGANISATION: "Organisation",
    Component.LOAD: "Room for you",
}

DEFAULT_WEIGHTS: Mapping[Component, float] = {
    Component.FIT: 0.40,
    Component.AVAILABILITY: 0.20,
    Component.LANGUAGE: 0.10,
    Component.FORMAT: 0.10,
    Component.SENIORITY: 0.10,
    Component.ORGANISATION: 0.10,
    Component.LOAD: 0.10,
}


class Mode(StrEnum):
    REGULAR = "regular"  # the mentor is more experienced
    PEER = "peer"  # similar experience; the mentor said they are open to it
    REVERSE = "reverse"  # the mentee is more experienced; the mentor is open to it


class OrganisationPolicy(StrEnum):
    IGNORE = "ignore"
    PREFER_DIFFERENT = "prefer_different"
    PREFER_SAME = "prefer_same"


@dataclass(frozen=True)
class Policy:
    weights: Mapping[Component, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    mode: Mode = Mode.REGULAR
    organisation: OrganisationPolicy = OrganisationPolicy.IGNORE
    min_overlap_hours: float = 0.0

    def active_weights(self) -> dict[Component, float]:
        """The weights that count: organisation has none when the policy ignores it."""
        weights = {Component(c): max(0.0, float(w)) for c, w in self.weights.items()}
        if self.organisation == OrganisationPolicy.IGNORE:
            weights[Component.ORGANISATION] = 0.0
        if sum(weights.values()) <= 0:
            raise ValueError("at least one weight must be positive")
        return weights


# Text: goals against what a mentor wrote about themselves.

STOP_WORDS = frozenset(
    """about after again also and any are because been being but can could does doing done for
    from get getting had has have having how into its just like more most much need not now one
    only other our out over really some than that the their them then there these they this
    those through very want was way well were what when where which while who will with would
    you your yours i'm i've i'd don't can't want wants wanted help learn learning better good
    great lot new make making work working year years don know start started feel thing things
    someone next first""".split()  # noqa: SIM905
)
TOKEN = re.compile(r"[a-z0-9][a-z0-9+#.]*[a-z0-9+#]|[a-z0-9]")


def tokens(text: str) -> list[str]:
    """Lower-case words of three or more letters, stop words dropped, plural s trimmed."""
    words = []
    for word in TOKEN.findall(text.lower()):
        if len(word) < 3 or word in STOP_WORDS:
            continue
        if word.endswith("s") and not word.endswith("ss") and len(word) > 4:
            word = word[:-1]
        words.append(word)
    return words


def bucket(token: str) -> int:
    return zlib.crc32(token.encode()) % TEXT_DIMENSIONS


def idf_from(documents: Iterable[Iterable[str]]) -> np.ndarray:
    """Inverse document frequency per hashed bucket, from the mentors' texts (the corpus)."""
    counts = np.zeros(TEXT_DIMENSIONS, dtype=np.float32)
    n = 0
    for doc in documents:
        n += 1
        for b in {bucket(t) for t in doc}:
            counts[b] += 1
    return np.log((1 + n) / (1 + counts)).astype(np.float32) + 1


def text_vectors(documents: Sequence[Sequence[str]], idf: np.ndarray) -> np.ndarray:
    """Rows of sublinear tf-idf over hashed tokens, L2-normalised (a zero row for no text)."""
    matrix = np.zeros((len(documents), TEXT_DIMENSIONS), dtype=np.float32)
    for row, doc in enumerate(documents):
        for token in doc:
            matrix[row, bucket(token)] += 1
    np.log1p(matrix, out=matrix)
    matrix *= idf
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


@dataclass
class Features:
    """One side of the match (mentees or mentors), one row per person. Mentee rows describe their
    open goals; mentor rows their expertise and offer."""

    user_ids: np.ndarray  # int64 (n,)
    names: list[str]
    timezones: list[str]
    skills: np.ndarray  # float32 (n, S): mentee 1 = wanted; mentor level / 5
    text: np.ndarray  # float32 (n, TEXT_DIMENSIONS), L2-normalised
    words: list[frozenset[str]]  # the tokens behind `text`, for explanations
    slots: np.ndarray  # float32 (n, SLOTS_PER_WEEK): 1 = free that UTC half-hour
    languages: np.ndarray  # float32 (n, L): 1 = speaks it
    primary_language: np.ndarray  # int (n,): column of the first language, -1 for none
    formats: np.ndarray  # float32 (n, 3): wanted (mentee) or offered (mentor)
    cadences: np.ndarray  # float32 (n, 3)
    years: np.ndarray  # float32 (n,)
    organisation: np.ndarray  # int32 (n,): an id per organisation name, -1 for none
    department: np.ndarray  # int32 (n,): an id per (organisation, department), -1 for none
    hours_wanted: np.ndarray  # float32 (n,), mentees: weekly hours their cadence wants
    # Mentors only (zeros for mentees):
    capacity: np.ndarray  # int32 (n,), after cohort overrides
    active: np.ndarray  # int32 (n,): active mentees now
    accepting: np.ndarray  # bool (n,)
    open_to_peer: np.ndarray  # bool (n,)
    open_to_reverse: np.ndarray  # bool (n,)
    hours_per_month: np.ndarray  # int32 (n,)
    skill_names: Sequence[str] = ()  # column -> name, shared by both sides
    language_names: Sequence[str] = ()  # column -> name, shared by both sides
    idf: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.user_ids)

    def index_of(self, user_id: int) -> int | None:
        hits = np.flatnonzero(self.user_ids == user_id)
        return int(hits[0]) if len(hits) else None

    def take(self, rows: Sequence[int] | np.ndarray) -> Features:
        """The same features for a subset of people, in the order given."""
        rows = np.asarray(rows, dtype=np.int64)
        picked = {}
        for name, value in self.__dict__.items():
            if isinstance(value, np.ndarray) and name != "idf":
                picked[name] = value[rows]
            elif isinstance(value, list):
                picked[name] = [value[i] for i in rows]
        return replace(self, **picked)


@dataclass
class Scores:
    """A block's result: rows are mentees, columns mentors."""

    score: np.ndarray  # float32 (m, n) in 0..1; 0 where not allowed
    allowed: np.ndarray  # bool (m, n)
    components: dict[Component, np.ndarray]  # each float32 (m, n) in 0..1
    overlap_hours: np.ndarray  # float32 (m, n)
    weights: dict[Component, float]


def hard_constraints(
    mentees: Features,
    mentors: Features,
    policy: Policy,
    excluded: Iterable[tuple[int, int]] = (),
    *,
    shared_language: np.ndarray | None = None,
) -> np.ndarray:
    """Pairs that may be made at all: not the same person, a shared language, a mentor who is
    accepting and has room (and is open to peer or reverse mentoring in those modes), and no pair
    in `excluded` (mentee user id, mentor user id): an active pair, a pending or recently declined
    request, a block."""
    if shared_language is None:
        shared_language = (mentees.languages @ mentors.languages.T) > 0
    mentor_ok = mentors.accepting & (mentors.active < mentors.capacity)
    if policy.mode == Mode.PEER:
        mentor_ok &= mentors.open_to_peer
    elif policy.mode == Mode.REVERSE:
        mentor_ok &= mentors.open_to_reverse
    allowed = shared_language & mentor_ok[None, :]
    allowed &= mentees.user_ids[:, None] != mentors.user_ids[None, :]
    pairs = list(excluded)
    if pairs:
        row_of = {int(u): i for i, u in enumerate(mentees.user_ids)}
        col_of = {int(u): j for j, u in enumerate(mentors.user_ids)}
        hits = [(row_of[a], col_of[b]) for a, b in pairs if a in row_of and b in col_of]
        if hits:
            rows, cols = zip(*hits, strict=True)
            allowed[list(rows), list(cols)] = False
    return allowed


def seniority(gap: np.ndarray, mode: Mode) -> np.ndarray:
    """gap = mentor's years of experience minus the mentee's."""
    return _seniority_in_place(np.array(gap, dtype=np.result_type(gap, np.float32)), mode)


def _seniority_in_place(gap: np.ndarray, mode: Mode) -> np.ndarray:
    """`seniority`, overwriting the float array `gap` (one block-sized array fewer)."""
    if mode == Mode.PEER:
        np.abs(gap, out=gap)
        gap /= 8
        np.subtract(1, gap, out=gap)
        return np.clip(gap, 0, 1, out=gap)
    if mode == Mode.REVERSE:
        np.negative(gap, out=gap)
    # Rises to 1 at five years more; a very wide gap (25+ years) eases off a little.
    rising = gap / 5
    np.clip(rising, 0, 1, out=rising)
    gap -= 20
    gap /= 25
    np.clip(gap, 0, 0.3, out=gap)
    rising -= gap
    return rising


def _coverage(want: np.ndarray, offer: np.ndarray) -> np.ndarray:
    """Per pair, the share of what the mentee wants that the mentor offers (1 if they want
    nothing in particular)."""
    count = want.sum(axis=1)
    covered = want @ offer.T
    covered /= np.maximum(count, 1)[:, None]
    covered[~(count > 0)] = np.float32(1.0)
    return covered


def score(
    mentees: Features,
    mentors: Features,
    policy: Policy = Policy(),
    excluded: Iterable[tuple[int, int]] = (),
) -> Scores:
    """Score every mentee x mentor pair of the block at once.

    A block is millions of pairs, and every (m, n) temporary costs a pass over memory and often
    fresh pages from the system. So each component is built in float32 into one array of its
    own, in place: the same operations in the same order as the plain formulas (in comments),
    so the scores are the same to the bit."""
    weights = policy.active_weights()
    m, n = len(mentees), len(mentors)
    f32 = np.float32

    # fit = where(has_skills, 0.75 * skill_fit + 0.25 * text_fit, text_fit): the wanted skills
    # at the mentor's level and the goal text, or the text alone when the goals name no skill.
    fit = mentees.text @ mentors.text.T
    wanted = mentees.skills.sum(axis=1)
    has_skills = wanted > 0
    if has_skills.any():
        skill_fit = mentees.skills @ mentors.skills.T
        skill_fit /= np.maximum(wanted, 1)[:, None]
        skill_fit *= f32(0.75)
        text_only = np.flatnonzero(~has_skills)
        text_rows = fit[text_only]
        fit *= f32(0.25)
        fit += skill_fit
        del skill_fit
        fit[text_only] = text_rows
    np.clip(fit, 0, 1, out=fit)

    # availability = min(overlap_hours / hours the cadence wants, 1)
    overlap_hours = mentees.slots @ mentors.slots.T
    overlap_hours *= f32(0.5)
    availability = overlap_hours / np.maximum(mentees.hours_wanted, 0.5)[:, None]
    np.clip(availability, 0, 1, out=availability)

    # language = 1 where the mentor speaks the mentee's first language, else 0.7 where they share
    # one, else 0. Only languages some mentee of the block speaks can be shared (whole counts:
    # leaving the others out changes no sum).
    spoken = np.flatnonzero((mentees.languages != 0).any(axis=0))
    shared_language = (mentees.languages[:, spoken] @ mentors.languages[:, spoken].T) > 0
    language = shared_language * f32(0.7)
    has_primary = np.flatnonzero(mentees.primary_language >= 0)
    if len(has_primary):
        firsts, which = np.unique(mentees.primary_language[has_primary], return_inverse=True)
        speaks = np.ascontiguousarray(mentors.languages[:, firsts].T > 0)  # first -> mentors
        speaks_first = np.zeros((m, n), dtype=bool)
        speaks_first[has_primary] = speaks[which.reshape(-1)]
        np.copyto(language, f32(1.0), where=speaks_first)
        del speaks_first

    # format_fit = 0.5 * coverage(formats) + 0.5 * coverage(cadences)
    format_fit = _coverage(mentees.formats, mentors.formats)
    format_fit *= f32(0.5)
    cadence_fit = _coverage(mentees.cadences, mentors.cadences)
    cadence_fit *= f32(0.5)
    format_fit += cadence_fit
    del cadence_fit
    np.clip(format_fit, 0, 1, out=format_fit)

    experience = _seniority_in_place(mentors.years[None, :] - mentees.years[:, None], policy.mode)
    np.clip(experience, 0, 1, out=experience)

    # closeness = 0.5 * same_org + 0.5 * same_dept: 0, 0.5 or 1; organisation = 1 - closeness
    # unless the policy prefers the same organisation.
    same_org = mentees.organisation[:, None] == mentors.organisation[None, :]
    same_org &= (mentees.organisation >= 0)[:, None]
    same_dept = mentees.department[:, None] == mentors.department[None, :]
    same_dept &= same_org
    organisation = same_org.astype(f32)
    organisation += same_dept
    del same_org, same_dept
    organisation *= f32(0.5)
    if policy.organisation != OrganisationPolicy.PREFER_SAME:
        np.subtract(1, organisation, out=organisation)

    # The same for every mentee: one row, seen as the whole block (read-only).
    room = (mentors.capacity - mentors.active) / np.maximum(mentors.capacity, 1)
    load_row = np.clip(room, 0, 1).astype(f32)
    load = np.broadcast_to(load_row[None, :], (m, n))

    components = {
        Component.FIT: fit,
        Component.AVAILABILITY: availability,
        Component.LANGUAGE: language,
        Component.FORMAT: format_fit,
        Component.SENIORITY: experience,
        Component.ORGANISATION: organisation,
        Component.LOAD: load,
    }
    # combined = sum of f32(weight / total) * component, in the order of the weights.
    total = sum(weights.values())
    combined = np.zeros((m, n), dtype=f32)
    scratch = None
    for component, weight in weights.items():
        if not weight:
            continue
        share = f32(weight / total)
        if component == Component.LOAD:
            combined += share * load_row
            continue
        if scratch is None:
            scratch = np.empty((m, n), dtype=f32)
        np.multiply(components[component], share, out=scratch)
        combined += scratch
    del scratch

    allowed = hard_constraints(mentees, mentors, policy, excluded, shared_language=shared_language)
    del shared_language
    if policy.min_overlap_hours > 0:
        allowed &= overlap_hours >= policy.min_overlap_hours
    np.clip(combined, 0, 1, out=combined)
    np.copyto(combined, f32(0.0), where=~allowed)
    return Scores(combined, allowed, components, overlap_hours, weights)


def rank(scores: Scores, row: int, *, limit: int | None = None, mentor_ids=None) -> np.ndarray:
    """Columns of the allowed mentors for one mentee, best first; equal scores go to the better
    fit for the goals, then to the lower user id, so the order never depends on how the block was
    built."""
    allowed = np.flatnonzero(scores.allowed[row])
    values = scores.score[row, allowed]
    fit = scores.components[Component.FIT][row, allowed]
    tie_break = allowed if mentor_ids is None else np.asarray(mentor_ids)[allowed]
    order = allowed[np.lexsort((tie_break, -fit, -values))]
    return order if limit is None else order[:limit]


def score_one_by_one(mentees: Features, mentors: Features, policy: Policy = Policy()) -> np.ndarray:
    """The straightforward per-pair Python loop over the same features, without exclusions: the
    baseline the vectorised `score` is measured against (tests/load) and checked against
    (tests/matching)."""
    weights = policy.active_weights()
    total = sum(weights.values())
    result = np.zeros((len(mentees), len(mentors)), dtype=np.float64)
    for i in range(len(mentees)):
        for j in range(len(mentors)):
            values = pair_components(mentees, i, mentors, j, policy)
            if values is None:
                continue
            result[i, j] = sum(weights[c] * values[c] for c in weights) / total
    return result


def pair_components(
    mentees: Features, i: int, mentors: Features, j: int, policy: Policy
) -> dict[Component, float] | None:
    """One pair's components with plain Python arithmetic; None when a hard constraint fails."""
    speaks = [k for k, v in enumerate(mentees.languages[i]) if v > 0]
    mentor_speaks = {k for k, v in enumerate(mentors.languages[j]) if v > 0}
    if mentees.user_ids[i] == mentors.user_ids[j] or not mentor_speaks.intersection(speaks):
        return None
    if not mentors.accepting[j] or mentors.active[j] >= mentors.capacity[j]:
        return None
    if policy.mode == Mode.PEER and not mentors.open_to_peer[j]:
        return None
    if policy.mode == Mode.REVERSE and not mentors.open_to_reverse[j]:
        return None
    want = mentees.skills[i]
    wanted = sum(1 for v in want if v > 0)
    skill_fit = sum(float(a) * float(b) for a, b in zip(want, mentors.skills[j], strict=True))
    text_fit = sum(
        float(a) * float(b) for a, b in zip(mentees.text[i], mentors.text[j], strict=True)
    )
    fit = 0.75 * skill_fit / wanted + 0.25 * text_fit if wanted else text_fit
    free = sum(1 for a, b in zip(mentees.slots[i], mentors.slots[j], strict=True) if a and b)
    hours = free / 2
    if hours < policy.min_overlap_hours:
        return None
    availability = min(hours / max(float(mentees.hours_wanted[i]), 0.5), 1.0)
    first = int(mentees.primary_language[i])
    language = 1.0 if first >= 0 and first in mentor_speaks else 0.7

    def coverage(want_row, offer_row) -> float:
        asked = [k for k, v in enumerate(want_row) if v > 0]
        return sum(1 for k in asked if offer_row[k] > 0) / len(asked) if asked else 1.0

    formats = 0.5 * coverage(mentees.formats[i], mentors.formats[j]) + 0.5 * coverage(
        mentees.cadences[i], mentors.cadences[j]
    )
    gap = float(mentors.years[j]) - float(mentees.years[i])
    if policy.mode == Mode.PEER:
        experience = min(max(1 - abs(gap) / 8, 0), 1)
    else:
        g = -gap if policy.mode == Mode.REVERSE else gap
        experience = min(max(g / 5, 0), 1) - min(max((g - 20) / 25, 0), 0.3)
    same_org = mentees.organisation[i] >= 0 and mentees.organisation[i] == mentors.organisation[j]
    same_dept = same_org and mentees.department[i] == mentors.department[j]
    closeness = 0.5 * same_org + 0.5 * same_dept
    organisation = (
        closeness if policy.organisation == OrganisationPolicy.PREFER_SAME else 1 - closeness
    )
    capacity = int(mentors.capacity[j])
    load = (capacity - int(mentors.active[j])) / max(capacity, 1)
    values = {
        Component.FIT: fit,
        Component.AVAILABILITY: availability,
        Component.LANGUAGE: language,
        Component.FORMAT: formats,
        Component.SENIORITY: experience,
        Component.ORGANISATION: organisation,
        Component.LOAD: load,
    }
    return {c: min(max(v, 0.0), 1.0) for c, v in values.items()}


# Explanations.


@dataclass(frozen=True)
class Reason:
    component: Component
    label: str
    value: float  # the component, 0..1
    weight: float  # its share of the score, 0..1
    sentence: str

    @property
    def contribution(self) -> float:
        return self.value * self.weight

    @property
    def percent(self) -> int:
        return round(self.value * 100)

    @property
    def weight_percent(self) -> int:
        return round(self.weight * 100)


def _list(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _plural(count: float, word: str) -> str:
    shown = f"{count:g}"
    return f"{shown} {word}" if count == 1 else f"{shown} {word}s"


def explain(
    scores: Scores,
    row: int,
    col: int,
    mentees: Features,
    mentors: Features,
    policy: Policy = Policy(),
    *,
    local_free: Sequence[str] = (),
) -> list[Reason]:
    """Every component of one pair as a sentence addressed to the mentee, strongest first.
    `local_free` is an optional description of the shared slots in the mentee's own time."""
    weights = scores.weights
    total = sum(weights.values())
    c = {k: float(v[row, col]) for k, v in scores.components.items()}
    name = mentors.names[col].split(" ")[0] or "This mentor"
    reasons: list[Reason] = []

    def add(component: Component, sentence: str) -> None:
        reasons.append(
            Reason(component, LABELS[component], c[component], weights[component] / total, sentence)
        )

    wanted = np.flatnonzero(mentees.skills[row] > 0)
    known = [k for k in wanted if mentors.skills[col, k] > 0]
    names = mentees.skill_names
    if known:
        strongest = sorted(known, key=lambda k: -mentors.skills[col, k])
        shown = [f"{names[k]} ({round(mentors.skills[col, k] * 5)}/5)" for k in strongest[:3]]
        sentence = f"Knows {len(known)} of the {len(wanted)} skills in your goals: {_list(shown)}."
    elif len(wanted):
        sentence = "Knows none of the skills in your goals"
    else:
        sentence = "Your goals name no skills yet"
    common = sorted(mentees.words[row] & mentors.words[col])
    if common:
        joiner = " " if sentence.endswith(".") else "; "
        sentence = sentence.rstrip(".") if joiner == "; " else sentence
        sentence += f"{joiner}{name}'s profile also mentions {_list(common[:3])}."
    elif not sentence.endswith("."):
        sentence += "."
    add(Component.FIT, sentence)

    hours = float(scores.overlap_hours[row, col])
    if hours:
        when = f" ({_list(local_free[:3])}, your time)" if local_free else ""
        add(Component.AVAILABILITY, f"Free at the same time {_plural(hours, 'hour')} a week{when}.")
    else:
        add(Component.AVAILABILITY, "No free time in common in a usual week yet.")

    shared = [
        mentees.language_names[k]
        for k in np.flatnonzero((mentees.languages[row] > 0) & (mentors.languages[col] > 0))
    ]
    add(Component.LANGUAGE, f"You both speak {_list(shared)}." if shared else "No shared language.")

    offered_formats = [FORMAT_WORDS[f] for k, f in enumerate(FORMATS) if mentors.formats[col, k]]
    offered_cadences = [
        CADENCE_WORDS[f] for k, f in enumerate(CADENCES) if mentors.cadences[col, k]
    ]
    if c[Component.FORMAT] >= 0.999:
        add(Component.FORMAT, "Offers the format and rhythm you asked for.")
    else:
        add(
            Component.FORMAT,
            f"Offers {_list(offered_formats) or 'any format'}, "
            f"{_list(offered_cadences) or 'at any rhythm'}.",
        )

    gap = float(mentors.years[col] - mentees.years[row])
    if policy.mode == Mode.PEER:
        add(Component.SENIORITY, f"A peer: {abs(gap):g} years' difference in experience.")
    elif gap > 0:
        add(Component.SENIORITY, f"{_plural(gap, 'year')} more experience than you.")
    elif gap == 0:
        add(Component.SENIORITY, "As much experience as you.")
    else:
        add(Component.SENIORITY, f"{_plural(-gap, 'year')} less experience than you.")

    if weights[Component.ORGANISATION]:
        org = mentors.organisation[col]
        if org >= 0 and org == mentees.organisation[row]:
            same_dept = mentors.department[col] == mentees.department[row]
            add(
                Component.ORGANISATION,
                "Works in your department." if same_dept else "Works in your organisation.",
            )
        else:
            add(Component.ORGANISATION, "Works outside your organisation.")

    room = int(mentors.capacity[col] - mentors.active[col])
    add(
        Component.LOAD,
        f"Has room for {_plural(room, 'more mentee')} "
        f"(of {int(mentors.capacity[col])}), {int(mentors.hours_per_month[col])} h a month.",
    )
    reasons.sort(key=lambda r: (-r.contribution, r.component))
    return reasons


FORMAT_WORDS = {
    "one_session": "single sessions",
    "short_series": "short series",
    "ongoing": "ongoing mentoring",
}
CADENCE_WORDS = {"weekly": "weekly", "biweekly": "every two weeks", "monthly": "monthly"}


def explain_pair(
    mentee: Features,
    mentor: Features,
    policy: Policy = Policy(),
    excluded: Iterable[tuple[int, int]] = (),
) -> tuple[Scores, list[Reason]]:
    """One mentee (a one-row Features) and one mentor, scored and explained."""
    scores = score(mentee, mentor, policy, excluded)
    return scores, explain(scores, 0, 0, mentee, mentor, policy)


def weighted(reasons: Sequence[Reason]) -> float:
    """The score the reasons add up to (what the pair would score, hard constraints aside)."""
    total = sum(r.weight for r in reasons)
    return sum(r.value * r.weight for r in reasons) / total if total else 0.0


def top_reasons(reasons: Sequence[Reason], count: int = 3) -> list[Reason]:
    """The reasons that did the most for the score, leaving out components near zero."""
    return [r for r in reasons if r.value >= 0.05][:count]


def round_score(value: float) -> int:
    """A score as the percentage shown to people."""
    return math.floor(value * 100 + 0.5)
