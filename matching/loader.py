"""Profiles -> `engine.Features`: the only place the engine's inputs meet the ORM.

Queries are a handful of `values_list` calls per side, whatever the number of people. Mentor
features for the whole site are kept in this process and rebuilt when a mentor-side change bumps
the version in the shared cache (see `signals.py`) or the reference week moves on.
"""

from __future__ import annotations

import logging
import threading
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache

import numpy as np
from django.core.cache import cache as shared_cache
from django.db.models import Count, Max, Min
from django.utils import timezone

from matching import engine
from matching.engine import CADENCES, FORMATS, SLOTS_PER_WEEK, Features
from matching.models import Mentorship
from profiles.availability import Window, monday_of, weekly_slots_utc
from profiles.languages import LANGUAGES
from profiles.models import AvailabilityWindow, Expertise, Goal, MentorOffer, Profile, Skill

VERSION_KEY = "matching:mentor-features:version"
logger = logging.getLogger(__name__)
LANGUAGE_CODES = tuple(LANGUAGES)
LANGUAGE_COLUMN = {code: i for i, code in enumerate(LANGUAGE_CODES)}


def reference_week(today: date | None = None) -> date:
    """The UTC week availability is compared in: the current one (its Monday)."""
    return monday_of(today or timezone.now().astimezone(UTC).date())


@lru_cache(maxsize=65536)
def _slots(timezone_name: str, windows: tuple[Window, ...], week_start: date) -> tuple[int, ...]:
    """Indices of the UTC half-hours (0..335) fully inside the person's windows that week;
    many people share a zone and a week, hence the cache."""
    return tuple(weekly_slots_utc(windows, timezone_name, week_start=week_start))


def _org_id(name: str) -> int:
    return zlib.crc32(name.strip().lower().encode()) & 0x7FFFFFFF if name.strip() else -1


@cache
def _taxonomy(signature: tuple) -> tuple[dict[int, int], tuple[str, ...], np.ndarray]:
    rows = list(Skill.objects.order_by("pk").values_list("pk", "name", "category"))
    columns = {pk: i for i, (pk, _, _) in enumerate(rows)}
    categories = np.array([category for _, _, category in rows])
    relation = np.where(
        categories[:, None] == categories[None, :], engine.SAME_CATEGORY_CREDIT, 0
    ).astype(np.float32)
    pairs = Skill.related.through.objects.values_list("from_skill_id", "to_skill_id")
    for a, b in pairs:
        relation[columns[a], columns[b]] = relation[columns[b], columns[a]] = engine.RELATED_CREDIT
    np.fill_diagonal(relation, 1)
    return columns, tuple(name for _, name, _ in rows), relation


def taxonomy() -> tuple[dict[int, int], tuple[str, ...], np.ndarray]:
    """Skill id -> column, column -> name, and the credit each skill (column) gives towards
    each other (row): 1 for itself, `RELATED_CREDIT` for a related one, `SAME_CATEGORY_CREDIT`
    for one of its category. Rebuilt when a skill is added, merged away or related, or the
    table is reloaded (the signature is one cheap aggregate)."""
    if _taxonomy.cache_info().currsize > 8:
        _taxonomy.cache_clear()
    return _taxonomy(taxonomy_signature())


def taxonomy_signature() -> tuple:
    return (
        *Skill.objects.aggregate(n=Count("pk"), low=Min("pk"), high=Max("pk")).values(),
        *Skill.related.through.objects.aggregate(n=Count("pk"), high=Max("pk")).values(),
    )


def skill_columns() -> tuple[dict[int, int], tuple[str, ...]]:
    """Skill id -> column, and column -> name."""
    columns, names, _ = taxonomy()
    return columns, names


def _windows_by_user(user_ids: Iterable[int]) -> dict[int, list[Window]]:
    windows: dict[int, list[Window]] = defaultdict(list)
    rows = AvailabilityWindow.objects.filter(user_id__any=list(user_ids)).values_list(
        "user_id", "weekday", "start_minute", "end_minute"
    )
    for user_id, weekday, start, end in rows:
        windows[user_id].append(Window(weekday, start, end))
    return windows


def _empty(n: int, width: int = 0, dtype=np.float32) -> np.ndarray:
    return np.zeros((n, width) if width else n, dtype=dtype)


def _base(profiles: Sequence[dict], week_start: date, skill_names: Sequence[str]) -> dict:
    """The arrays both sides share, from profile rows."""
    n = len(profiles)
    user_ids = np.array([p["user_id"] for p in profiles], dtype=np.int64)
    windows = _windows_by_user(user_ids.tolist())
    slots = _empty(n, SLOTS_PER_WEEK)
    languages = _empty(n, len(LANGUAGE_CODES))
    primary = np.full(n, -1, dtype=np.int64)
    for row, p in enumerate(profiles):
        free = _slots(p["timezone"], tuple(sorted(windows.get(p["user_id"], ()))), week_start)
        slots[row, list(free)] = 1
        columns = [LANGUAGE_COLUMN[c] for c in p["languages"] or () if c in LANGUAGE_COLUMN]
        languages[row, columns] = 1
        if columns:
            primary[row] = columns[0]
    skills = len(skill_names)
    return {
        "user_ids": user_ids,
        "names": [p["user__name"] for p in profiles],
        "timezones": [p["timezone"] for p in profiles],
        "skills": _empty(n, skills),
        "reach": _empty(n, skills),
        "slots": slots,
        "languages": languages,
        "primary_language": primary,
        "formats": _empty(n, len(FORMATS)),
        "cadences": _empty(n, len(CADENCES)),
        "years": np.array([p["years_experience"] for p in profiles], dtype=np.float32),
        "organisation": np.array([_org_id(p["organisation"]) for p in profiles], dtype=np.int64),
        "department": np.array(
            [
                _org_id(f"{p['organisation']}|{p['department']}") if p["department"] else -1
                for p in profiles
            ],
            dtype=np.int64,
        ),
        "hours_wanted": _empty(n),
        "capacity": _empty(n, dtype=np.int32),
        "active": _empty(n, dtype=np.int32),
        "accepting": np.zeros(n, dtype=bool),
        "open_to_peer": np.zeros(n, dtype=bool),
        "open_to_reverse": np.zeros(n, dtype=bool),
        "hours_per_month": _empty(n, dtype=np.int32),
        "skill_names": skill_names,
        "language_names": tuple(LANGUAGES[c] for c in LANGUAGE_CODES),
    }


PROFILE_FIELDS = (
    "user_id",
    "user__name",
    "timezone",
    "languages",
    "years_experience",
    "organisation",
    "department",
    "headline",
    "bio",
)


def load_mentors(
    user_ids: Iterable[int] | None = None,
    *,
    week_start: date | None = None,
    capacity_overrides: dict[int, int] | None = None,
    idf: np.ndarray | None = None,
) -> Features:
    """Mentors (all, or these) with their expertise, offer, load and week. Their words are
    weighted by `idf` when given (the site's, so a pair's text fit is the same wherever it is
    scored), else by these mentors' own texts."""
    week_start = week_start or reference_week()
    profiles = Profile.objects.filter(is_mentor=True, user__is_active=True)
    if user_ids is not None:
        profiles = profiles.filter(user_id__any=list(user_ids))
    rows = list(profiles.order_by("user_id").values(*PROFILE_FIELDS))
    columns, names, relation = taxonomy()
    data = _base(rows, week_start, names)
    ids = data["user_ids"].tolist()
    row_of = {user_id: i for i, user_id in enumerate(ids)}

    skill_words: dict[int, list[str]] = defaultdict(list)
    expertise = Expertise.objects.filter(user_id__any=ids).values_list(
        "user_id", "skill_id", "level", "skill__name"
    )
    for user_id, skill_id, level, skill_name in expertise:
        data["skills"][row_of[user_id], columns[skill_id]] = level / 5
        skill_words[user_id].append(skill_name)

    offers = MentorOffer.objects.filter(user_id__any=ids).values_list(
        "user_id",
        "capacity",
        "accepting_requests",
        "open_to_peer",
        "open_to_reverse",
        "hours_per_month",
        "formats",
        "cadences",
    )
    for user_id, capacity, accepting, peer, reverse, hours, formats, cadences in offers:
        row = row_of[user_id]
        if capacity_overrides and user_id in capacity_overrides:
            capacity = capacity_overrides[user_id]
        data["capacity"][row] = capacity
        data["accepting"][row] = accepting
        data["open_to_peer"][row] = peer
        data["open_to_reverse"][row] = reverse
        data["hours_per_month"][row] = hours
        # Saying nothing about formats or cadences means any will do.
        data["formats"][row] = [not formats or f in formats for f in FORMATS]
        data["cadences"][row] = [not cadences or c in cadences for c in CADENCES]

    active = (
        Mentorship.objects.active()
        .filter(mentor_id__any=ids)
        .values("mentor_id")
        .annotate(n=Count("id"))
        .values_list("mentor_id", "n")
    )
    for user_id, count in active:
        data["active"][row_of[user_id]] = count

    data["reach"] = engine.reach_of(data["skills"], relation)
    spelled = [
        engine.spelled(" ".join([p["headline"], p["bio"], *skill_words[p["user_id"]]]))
        for p in rows
    ]
    words = [[token for token, _ in doc] for doc in spelled]
    if idf is None:
        idf = engine.idf_from(words)
    data["text"] = engine.text_vectors(words, idf)
    data["words"] = [_written(doc) for doc in spelled]
    return Features(**data, idf=idf, relation=relation)


def _written(doc: list[tuple[str, str]]) -> dict[str, str]:
    """Each token of a text and how it was first written there."""
    written: dict[str, str] = {}
    for token, word in doc:
        written.setdefault(token, word)
    return written


def load_mentees(
    user_ids: Iterable[int] | None = None,
    *,
    idf: np.ndarray,
    week_start: date | None = None,
    goal_ids: Iterable[int] | None = None,
) -> Features:
    """Mentees (all with an open goal, or these) described by their open goals (or these)."""
    week_start = week_start or reference_week()
    goals = Goal.objects.filter(status=Goal.Status.OPEN)
    if goal_ids is not None:
        goals = goals.filter(pk__any=list(goal_ids))
    if user_ids is not None:
        goals = goals.filter(owner_id__any=list(user_ids))
    goal_rows = list(
        goals.values_list("pk", "owner_id", "title", "description", "format", "cadence")
    )
    owners = sorted({owner for _, owner, *_ in goal_rows} | set(user_ids or ()))
    profiles = Profile.objects.filter(user_id__any=owners).order_by("user_id")
    rows = list(profiles.values(*PROFILE_FIELDS))
    columns, names, relation = taxonomy()
    data = _base(rows, week_start, names)
    row_of = {user_id: i for i, user_id in enumerate(data["user_ids"].tolist())}

    texts: dict[int, list[str]] = defaultdict(list)
    for _pk, owner, title, description, fmt, cadence in goal_rows:
        if owner not in row_of:
            continue
        row = row_of[owner]
        texts[owner] += [title, description]
        data["formats"][row, FORMATS.index(fmt)] = 1
        data["cadences"][row, CADENCES.index(cadence)] = 1
        wanted = engine.HOURS_WANTED.get(cadence, 1.0)
        data["hours_wanted"][row] = max(data["hours_wanted"][row], wanted)
    goal_owner = {pk: owner for pk, owner, *_ in goal_rows}
    through = Goal.skills.through.objects.filter(goal_id__any=list(goal_owner)).values_list(
        "goal_id", "skill_id"
    )
    for goal_id, skill_id in through:
        owner = goal_owner[goal_id]
        if owner in row_of:
            data["skills"][row_of[owner], columns[skill_id]] = 1
    data["hours_wanted"][data["hours_wanted"] == 0] = 1.0
    spelled = [engine.spelled(" ".join(texts[p["user_id"]])) for p in rows]
    data["text"] = engine.text_vectors([[t for t, _ in doc] for doc in spelled], idf)
    data["words"] = [_written(doc) for doc in spelled]
    return Features(**data, idf=idf, relation=relation)


# The site-wide mentor features, per process.

_lock = threading.Lock()
_cached: dict[str, tuple[tuple, Features]] = {}


def bump_version() -> None:
    """Mentor-side data changed: every process rebuilds its features on next use. Called after
    commit, so a cache that is away must not fail the request that saved the change: this
    process forgets its features, and the others catch up at the next bump (or when a restarted
    Redis has lost the version)."""
    with _lock:
        _cached.clear()
    try:
        shared_cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception as error:
        logger.warning("mentor features version not bumped: %r", error)


def mentor_features() -> Features:
    version = shared_cache.get(VERSION_KEY)
    if version is None:  # a new cache: nobody can know what was built before
        shared_cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = shared_cache.get(VERSION_KEY)
    key = (version, reference_week(), taxonomy_signature())
    with _lock:
        hit = _cached.get("all")
        if hit and hit[0] == key:
            return hit[1]
    features = load_mentors(week_start=key[1])
    with _lock:
        _cached["all"] = (key, features)
    return features


def site_idf() -> np.ndarray:
    """The weights of words across every mentor's text on the site."""
    return mentor_features().idf


def local_slots(slot_indices: Iterable[int], tz: str, week_start: date) -> list[datetime]:
    """UTC half-hour slot indices of a week as aware datetimes in the zone tz."""
    from zoneinfo import ZoneInfo

    week_from = datetime.combine(week_start, datetime.min.time(), tzinfo=UTC)
    zone = ZoneInfo(tz)
    return [(week_from + timedelta(minutes=30 * i)).astimezone(zone) for i in slot_indices]
