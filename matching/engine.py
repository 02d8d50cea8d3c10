"""The scoring engine: plain arrays in, a score matrix and reasons out. No ORM here.

`matching/loader.py` turns profiles into `Features` (one row per person, aligned arrays); `score`
turns a block of mentees x mentors into component matrices and a score with NumPy, with no
per-pair Python loop; `explain` turns one pair's components into sentences.

Expertise comes first. Every component is in 0..1. The fit (the goals' skills at the mentor's
level, related skills in part, and the words of the goals) is multiplied by how well the rest
suits (time, language, format, experience, organisation, room): their weighted mean can take off
at most their share of the weights, so they order mentors of similar expertise and never lift an
irrelevant one over a relevant one. When the goals name skills, the result is placed in a band:
a mentor who holds one of those skills scores 35-100, one who holds only related skills 15-35,
one with neither under 15. A pair that breaks a hard constraint keeps its score but is excluded
(`Scores.allowed` is False) and never ranked.
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
    Component.FIT: 0.50,
    Component.AVAILABILITY: 0.20,
    Component.LANGUAGE: 0.05,
    Component.FORMAT: 0.10,
    Component.SENIORITY: 0.10,
    Component.ORGANISATION: 0.05,
    Component.LOAD: 0.05,
}

# Fit, when the goals name skills: this share is the skills (each wanted skill counts the
# mentor's level / 5, a related skill of theirs in part), the rest the words of the goals.
SKILL_SHARE = 0.85
RELATED_CREDIT = 0.5  # a skill the taxonomy relates to the wanted one
SAME_CATEGORY_CREDIT = 0.2  # a skill of the same category
# The bands of the score when the goals name skills: (floor, width) by what the mentor holds.
HOLDS_A_SKILL = (0.35, 0.65)
HOLDS_A_RELATED_SKILL = (0.15, 0.20)
HOLDS_NONE = (0.0, 0.15)


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
TOKEN = re.compile(r"[a-z0-9][a-z0-9+#.\-]*[a-z0-9+#]|[a-z0-9]", re.IGNORECASE)


def tokens(text: str) -> list[str]:
    """Lower-case words of three or more letters, stop words dropped, plural s trimmed."""
    return [token for token, _ in spelled(text)]


def spelled(text: str) -> list[tuple[str, str]]:
    """`tokens` with each word as it was written ("kubernete", "Kubernetes"), for reasons."""
    words = []
    for written in TOKEN.findall(text):
        word = written.lower()
        if len(word) < 3 or word in STOP_WORDS:
            continue
        if word.endswith("s") and not word.endswith("ss") and len(word) > 4:
            word = word[:-1]
        words.append((word, written))
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
    reach: np.ndarray  # float32 (n, S), mentors: credit per skill, related ones in part
    text: np.ndarray  # float32 (n, TEXT_DIMENSIONS), L2-normalised
    words: list[dict[str, str]]  # the tokens behind `text`, each as first written
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
    # (S, S): the credit a skill (column) gives towards a wanted one (row): 1 for itself, less
    # for a related one or one of the same category.
    relation: np.ndarray | None = None

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
            if isinstance(value, np.ndarray) and name not in ("idf", "relation"):
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


DISTINCT_ABOVE = 1_000_000  # pairs: below this, a component is computed for every pair


def _by_distinct(mentee_keys: np.ndarray, mentor_keys: np.ndarray, table_of) -> np.ndarray:
    """table_of(distinct mentee key rows, distinct mentor key rows) -> their (a, b) table,
    spread to every (mentee, mentor) pair of the block by one gather. The table is computed with
    the block's own arithmetic, so every pair gets the very value computing it in full would.
    A small block (one mentee's page) is computed in full: finding distinct rows would cost more
    than it saves."""
    if len(mentee_keys) * len(mentor_keys) <= DISTINCT_ABOVE:
        return table_of(mentee_keys, mentor_keys)
    mentee_rows, mentee_of = np.unique(mentee_keys, axis=0, return_inverse=True)
    mentor_rows, mentor_of = np.unique(mentor_keys, axis=0, return_inverse=True)
    table = table_of(mentee_rows, mentor_rows)
    return np.take(table[mentee_of.reshape(-1)], mentor_of.reshape(-1), axis=1)


def _language_table(mentees: np.ndarray, mentors: np.ndarray) -> np.ndarray:
    """Mentee rows: the languages they speak (the block's columns), then the column of their
    first language (-1 for none); mentor rows: the languages they speak (the same columns)."""
    f32 = np.float32
    speaks, first = mentees[:, :-1], mentees[:, -1].astype(np.int64)
    language = ((speaks @ mentors.T) > 0) * f32(0.7)
    for row in np.flatnonzero(first >= 0):
        np.copyto(language[row], f32(1.0), where=mentors[:, first[row]] > 0)
    return language


def _format_table(mentees: np.ndarray, mentors: np.ndarray) -> np.ndarray:
    """Rows: formats (3 columns) then cadences (3)."""
    f32 = np.float32
    format_fit = _coverage(mentees[:, :3], mentors[:, :3])
    format_fit *= f32(0.5)
    cadence_fit = _coverage(mentees[:, 3:], mentors[:, 3:])
    cadence_fit *= f32(0.5)
    format_fit += cadence_fit
    return np.clip(format_fit, 0, 1, out=format_fit)


def _experience_table(mentees: np.ndarray, mentors: np.ndarray, mode: Mode) -> np.ndarray:
    """Rows: years of experience."""
    experience = _seniority_in_place(mentors[:, 0][None, :] - mentees[:, 0][:, None], mode)
    return np.clip(experience, 0, 1, out=experience)


def _organisation_table(
    mentees: np.ndarray, mentors: np.ndarray, organisation_policy: OrganisationPolicy
) -> np.ndarray:
    """Rows: organisation id, department id (-1 for none)."""
    f32 = np.float32
    same_org = mentees[:, 0][:, None] == mentors[:, 0][None, :]
    same_org &= (mentees[:, 0] >= 0)[:, None]
    same_dept = mentees[:, 1][:, None] == mentors[:, 1][None, :]
    same_dept &= same_org
    organisation = same_org.astype(f32)
    organisation += same_dept
    organisation *= f32(0.5)
    if organisation_policy != OrganisationPolicy.PREFER_SAME:
        np.subtract(1, organisation, out=organisation)
    return organisation


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

    # fit = where(has_skills, SKILL_SHARE * reach + (1 - SKILL_SHARE) * text, text): the mean
    # credit of the wanted skills (level / 5, related skills in part) and the words of the goals;
    # the words alone when the goals name no skill.
    fit = mentees.text @ mentors.text.T
    wanted = mentees.skills.sum(axis=1)
    has_skills = wanted > 0
    direct = reach = None
    if has_skills.any():
        reach = mentees.skills @ mentors.reach.T
        reach /= np.maximum(wanted, 1)[:, None]
        # Whether the mentor holds a wanted skill itself (levels are 1..5, so any is > 0).
        direct = (mentees.skills @ mentors.skills.T) > 0
        text_only = np.flatnonzero(~has_skills)
        text_rows = fit[text_only]
        fit *= f32(1 - SKILL_SHARE)
        reach_part = reach * f32(SKILL_SHARE)
        fit += reach_part
        del reach_part
        fit[text_only] = text_rows
    np.clip(fit, 0, 1, out=fit)

    # availability = min(overlap_hours / hours the cadence wants, 1)
    overlap_hours = mentees.slots @ mentors.slots.T
    overlap_hours *= f32(0.5)
    availability = overlap_hours / np.maximum(mentees.hours_wanted, 0.5)[:, None]
    np.clip(availability, 0, 1, out=availability)

    # Language, format, experience and organisation depend on a few columns of each side, with
    # few distinct values (a block of a thousand mentees has a few dozen language sets, a handful
    # of format patterns): each is computed for the distinct rows of each side only, with the
    # same arithmetic, and spread to the block in one gather (see `_by_distinct`).

    # language = 1 where the mentor speaks the mentee's first language, else 0.7 where they share
    # one, else 0. Only the languages some mentee of the block speaks (or has first) count.
    primary = mentees.primary_language
    columns = np.union1d(
        np.flatnonzero((mentees.languages != 0).any(axis=0)), primary[primary >= 0]
    ).astype(np.int64)
    first = np.where(primary >= 0, np.searchsorted(columns, primary), -1)
    mentee_keys = np.column_stack([mentees.languages[:, columns], first])
    language = _by_distinct(mentee_keys, mentors.languages[:, columns], _language_table)
    # Sharing a language is exactly a language component above 0 (the first is one of them).
    shared_language = language > 0

    # format_fit = 0.5 * coverage(formats) + 0.5 * coverage(cadences)
    format_fit = _by_distinct(
        np.column_stack([mentees.formats, mentees.cadences]),
        np.column_stack([mentors.formats, mentors.cadences]),
        _format_table,
    )

    experience = _by_distinct(
        mentees.years[:, None],
        mentors.years[:, None],
        lambda a, b: _experience_table(a, b, policy.mode),
    )

    # closeness = 0.5 * same_org + 0.5 * same_dept: 0, 0.5 or 1; organisation = 1 - closeness
    # unless the policy prefers the same organisation.
    organisation = _by_distinct(
        np.column_stack([mentees.organisation, mentees.department]),
        np.column_stack([mentors.organisation, mentors.department]),
        lambda a, b: _organisation_table(a, b, policy.organisation),
    )

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
    # rest = the weighted mean of the other components; suits = (w_fit + w_rest * rest) /
    # (w_fit + w_rest): they take off at most their share. quality = fit * suits.
    w_fit = weights[Component.FIT]
    w_rest = sum(w for c, w in weights.items() if c != Component.FIT)
    combined = np.zeros((m, n), dtype=f32)
    scratch = None
    for component, weight in weights.items():
        if not weight or component == Component.FIT:
            continue
        share = f32(weight / (w_fit + w_rest))
        if component == Component.LOAD:
            combined += share * load_row
            continue
        if scratch is None:
            scratch = np.empty((m, n), dtype=f32)
        np.multiply(components[component], share, out=scratch)
        combined += scratch
    del scratch
    combined += f32(w_fit / (w_fit + w_rest))
    combined *= fit
    np.clip(combined, 0, 1, out=combined)
    if direct is not None:
        _band(combined, reach > 0, direct, has_skills)

    allowed = hard_constraints(mentees, mentors, policy, excluded, shared_language=shared_language)
    del shared_language
    if policy.min_overlap_hours > 0:
        allowed &= overlap_hours >= policy.min_overlap_hours
    return Scores(combined, allowed, components, overlap_hours, weights)


def _band(quality: np.ndarray, related: np.ndarray, holds: np.ndarray, has_skills) -> None:
    """Place each pair's quality (in place) in the band of what the mentor holds of the wanted
    skills: one of them, only related ones, or neither. Rows whose goals name no skill keep it."""
    f32 = np.float32
    # 0 neither, 1 only related, 2 holds one (a held skill reaches itself: holds implies related)
    band = np.add(related.view(np.uint8), holds.view(np.uint8))
    floors = np.array([HOLDS_NONE[0], HOLDS_A_RELATED_SKILL[0], HOLDS_A_SKILL[0]], dtype=f32)
    widths = np.array([HOLDS_NONE[1], HOLDS_A_RELATED_SKILL[1], HOLDS_A_SKILL[1]], dtype=f32)
    placed = widths.take(band)
    placed *= quality
    placed += floors.take(band)
    np.copyto(quality, placed, where=has_skills[:, None])


def banded(quality: float, *, has_skills: bool, related: bool, holds: bool) -> float:
    """`_band` for one pair, in plain Python."""
    if not has_skills:
        return quality
    floor, width = HOLDS_A_SKILL if holds else HOLDS_A_RELATED_SKILL if related else HOLDS_NONE
    return floor + width * quality


def reach_of(skills: np.ndarray, relation: np.ndarray) -> np.ndarray:
    """Per mentor and skill, the best credit the mentor's own skills give it: the largest
    relation[skill, held] * level(held) / 5 over the skills held."""
    reach = np.zeros_like(skills)
    for held in np.flatnonzero(skills.any(axis=0)):
        rows = np.flatnonzero(skills[:, held])
        reach[rows] = np.maximum(reach[rows], np.outer(skills[rows, held], relation[:, held]))
    return reach


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
    rest = [c for c in weights if c != Component.FIT]
    result = np.zeros((len(mentees), len(mentors)), dtype=np.float64)
    for i in range(len(mentees)):
        wanted = [k for k, v in enumerate(mentees.skills[i]) if v > 0]
        for j in range(len(mentors)):
            values = pair_components(mentees, i, mentors, j, policy)
            if values is None:
                continue
            suits = (weights[Component.FIT] + sum(weights[c] * values[c] for c in rest)) / total
            result[i, j] = banded(
                values[Component.FIT] * suits,
                has_skills=bool(wanted),
                related=any(mentors.reach[j, k] > 0 for k in wanted),
                holds=any(mentors.skills[j, k] > 0 for k in wanted),
            )
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
    skill_fit = sum(float(a) * float(b) for a, b in zip(want, mentors.reach[j], strict=True))
    text_fit = sum(
        float(a) * float(b) for a, b in zip(mentees.text[i], mentors.text[j], strict=True)
    )
    fit = text_fit
    if wanted:
        fit = SKILL_SHARE * skill_fit / wanted + (1 - SKILL_SHARE) * text_fit
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
    audience: str = "mentee",
) -> list[Reason]:
    """Every component of one pair as a sentence, the goals and expertise first, then the rest
    strongest first. Addressed to the mentee, or with audience="mentor" to the mentor deciding on
    a request. `local_free` describes the shared slots in the reader's own time."""
    weights = scores.weights
    total = sum(weights.values())
    c = {k: float(v[row, col]) for k, v in scores.components.items()}
    for_mentor = audience == "mentor"
    reasons: list[Reason] = []

    def add(component: Component, sentence: str) -> None:
        reasons.append(
            Reason(component, LABELS[component], c[component], weights[component] / total, sentence)
        )

    add(Component.FIT, fit_sentence(row, col, mentees, mentors, audience=audience))
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
        add(
            Component.FORMAT,
            "You offer the format and rhythm they asked for."
            if for_mentor
            else "Offers the format and rhythm you asked for.",
        )
    else:
        wanted_formats = [FORMAT_WORDS[f] for k, f in enumerate(FORMATS) if mentees.formats[row, k]]
        wanted_cadences = [
            CADENCE_WORDS[f] for k, f in enumerate(CADENCES) if mentees.cadences[row, k]
        ]
        if for_mentor:
            sentence = (
                f"They asked for {_list(wanted_formats) or 'any format'}, "
                f"{_list(wanted_cadences) or 'at any rhythm'}."
            )
        else:
            sentence = (
                f"Offers {_list(offered_formats) or 'any format'}, "
                f"{_list(offered_cadences) or 'at any rhythm'}."
            )
        add(Component.FORMAT, sentence)

    gap = float(mentors.years[col] - mentees.years[row])
    whose, than = ("You have", " than them") if for_mentor else ("Has", "")
    if policy.mode == Mode.PEER:
        add(Component.SENIORITY, f"A peer: {abs(gap):g} years' difference in experience.")
    elif gap > 0:
        add(Component.SENIORITY, f"{whose} {_plural(gap, 'year')} more experience{than}.")
    elif gap == 0:
        add(Component.SENIORITY, "As much experience as each other.")
    else:
        add(Component.SENIORITY, f"{whose} {_plural(-gap, 'year')} less experience{than}.")

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
        f"{'You have' if for_mentor else 'Has'} room for {_plural(room, 'more mentee')} "
        f"(of {int(mentors.capacity[col])}), {int(mentors.hours_per_month[col])} h a month.",
    )
    fit, rest = reasons[0], reasons[1:]
    rest.sort(key=lambda r: (-r.contribution, r.component))
    return [fit, *rest]


def fit_sentence(
    row: int, col: int, mentees: Features, mentors: Features, *, audience: str = "mentee"
) -> str:
    """The goals and expertise of one pair in words: the skills the mentor holds of those the
    goals name (with their level), related skills they hold, then words both profiles use."""
    for_mentor = audience == "mentor"
    names = mentees.skill_names
    wanted = sorted(
        (int(k) for k in np.flatnonzero(mentees.skills[row] > 0)), key=lambda k: names[k]
    )
    held = sorted(
        (k for k in wanted if mentors.skills[col, k] > 0), key=lambda k: -mentors.skills[col, k]
    )
    related = {} if mentors.relation is None else _related_held(wanted, held, mentors, col)

    def level(k: int) -> str:
        return f"{names[k]} ({round(float(mentors.skills[col, k]) * 5)}/5)"

    skills = _list([names[k] for k in wanted])
    if for_mentor:
        knows, yours = "you know", "their goals"
        opening = f"Wants {skills}; " if wanted else ""
    else:
        knows, yours = "Knows", "your goals"
        opening = ""
    parts = []
    if held:
        if len(wanted) == 1:
            count = "the skill"
        elif len(held) == len(wanted):
            count = "both skills" if len(wanted) == 2 else f"all {len(wanted)} skills"
        else:
            count = f"{len(held)} of the {len(wanted)} skills"
        part = f"{opening}{knows} {_list([level(k) for k in held])}"
        parts.append(f"{part}: {count} in {yours}")
    if related:
        groups: dict[int, list[str]] = {}
        for k, h in related.items():
            groups.setdefault(h, []).append(names[k])
        close = "; ".join(
            f"{names[h] if h in held else level(h)}, close to {_list(near)}"
            for h, near in list(groups.items())[:2]
        )
        lead = "related" if held else f"{opening}{knows} related skills"
        parts.append(f"{lead}: {close}")
    if wanted and not held and not related:
        none = "none of them" if for_mentor else f"none of the skills in {yours} ({skills})"
        after = "" if for_mentor else ", so comes after mentors who do"
        parts.append(f"{opening}{knows} {none}{after}")
    if not wanted:
        parts.append(
            "Their goals name no skills yet" if for_mentor else "Your goals name no skills"
        )
    sentence = "; ".join(parts)
    sentence = sentence[0].upper() + sentence[1:] + "."
    shown_words = {t for k in [*wanted, *held, *related.values()] for t in tokens(names[k])}
    common = _common_words(row, col, mentees, mentors, skip=shown_words, audience=audience)
    if common:
        whose = "Their goals mention" if for_mentor else "The profile also mentions"
        sentence += f" {whose} {_list(common)}."
    return sentence


def _related_held(wanted: list[int], held: list[int], mentors: Features, col: int) -> dict:
    """For each wanted skill the mentor does not hold, the held skill that counts for it most
    (when one does): wanted column -> held column."""
    own = np.flatnonzero(mentors.skills[col] > 0)
    result = {}
    for k in wanted:
        if k in held or not len(own):
            continue
        credit = mentors.relation[k, own] * mentors.skills[col, own]
        best = int(np.argmax(credit))
        if credit[best] > 0:
            result[k] = int(own[best])
    return result


def _common_words(
    row: int, col: int, mentees: Features, mentors: Features, *, skip: set[str], audience: str
) -> list[str]:
    """Up to three words both texts use, rarest first, as the other person wrote them."""
    mine, theirs = mentees.words[row], mentors.words[col]
    common = [t for t in mine.keys() & theirs.keys() if t not in skip and t not in STOP_WORDS]
    if mentors.idf is not None:
        common.sort(key=lambda t: (-float(mentors.idf[bucket(t)]), t))
    else:
        common.sort()
    written = mine if audience == "mentor" else theirs
    return [written[t] for t in common[:3]]


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
    *,
    local_free: Sequence[str] = (),
    audience: str = "mentee",
) -> tuple[Scores, list[Reason]]:
    """One mentee (a one-row Features) and one mentor, scored and explained: the one place a
    pair's number and reasons come from, on every page that shows them."""
    scores = score(mentee, mentor, policy, excluded)
    reasons = explain(
        scores, 0, 0, mentee, mentor, policy, local_free=local_free, audience=audience
    )
    return scores, reasons


def explain_pairs(
    mentees: Features,
    mentors: Features,
    rows: Sequence[int],
    cols: Sequence[int],
    policy: Policy = Policy(),
    *,
    chunk: int = 256,
) -> list[tuple[float, list[Reason]]]:
    """Many pairs (mentee row rows[k] with mentor column cols[k]), each scored and explained as
    `explain_pair` does, a chunk at a time: one block of chunk x chunk scores gives each pair of
    the chunk on its diagonal, which costs far less than a block per pair (a cohort run explains
    every pair it proposes). Only the pairs' own components are read; the same elementwise
    arithmetic gives the same numbers, but for the dot products' summation order (a last bit of
    a float32, far below the percent the pages show)."""
    found: list[tuple[float, list[Reason]]] = []
    for first in range(0, len(rows), chunk):
        mentee = mentees.take(rows[first : first + chunk])
        mentor = mentors.take(cols[first : first + chunk])
        scores = score(mentee, mentor, policy)
        for k in range(len(mentee)):
            found.append((float(scores.score[k, k]), explain(scores, k, k, mentee, mentor, policy)))
    return found


def top_reasons(reasons: Sequence[Reason], count: int = 3) -> list[Reason]:
    """The goals and expertise, whatever they are worth (they decide the rank), then the other
    reasons that did the most for the score, leaving out components near zero."""
    fit, *rest = reasons
    return [fit, *[r for r in rest if r.value >= 0.05][: count - 1]]


def round_score(value: float) -> int:
    """A score as the percentage shown to people."""
    return math.floor(value * 100 + 0.5)
