"""Who may pair with whom: the one place the rules live.

Every path that lists candidates or makes a pair reads these functions: the engine's exclusions
(Find a mentor, cohort matching), requests (`can_request`), accepting, publishing a cohort and the
review's swap. A rule added here holds everywhere at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

from django.db.models import Count, QuerySet
from django.utils import timezone

from matching.models import DECLINE_COOLDOWN, Block, MentorRequest, Mentorship
from profiles.models import MentorOffer, Profile

Pair = tuple[int, int]  # (mentee user id, mentor user id)


class Problem(StrEnum):
    SELF = "self"
    NOT_MENTORING = "not-mentoring"
    PAUSED = "paused"
    FULL = "full"
    ALREADY_PAIRED = "already-paired"
    OPEN_REQUEST = "open-request"
    DECLINED = "declined"
    BLOCKED = "blocked"
    COHORT_LIMIT = "cohort-limit"


# What each problem says, to whom. {mentee} and {mentor} are names.
MESSAGES: dict[str, dict[Problem, str]] = {
    "mentee": {
        Problem.SELF: "You cannot ask yourself to be your mentor.",
        Problem.NOT_MENTORING: "{mentor} is not mentoring.",
        Problem.PAUSED: "{mentor} is not taking requests right now.",
        Problem.FULL: "{mentor} has no room for another mentee at the moment.",
        Problem.ALREADY_PAIRED: "{mentor} is already your mentor.",
        Problem.OPEN_REQUEST: "You already have a request waiting with {mentor}.",
        Problem.DECLINED: "{mentor} declined a request from you recently; try again in a few "
        "months.",
        Problem.BLOCKED: "{mentor} is not taking requests from you.",
        Problem.COHORT_LIMIT: "You have as many mentors as your program allows.",
    },
    "mentor": {
        Problem.SELF: "You cannot mentor yourself.",
        Problem.NOT_MENTORING: "Turn on mentoring in your offer before accepting.",
        Problem.PAUSED: "You have paused requests. Switch “accepting requests” back on to accept.",
        Problem.FULL: "You already mentor as many people as your capacity. Raise it in your offer "
        "or close a mentorship before accepting another.",
        Problem.ALREADY_PAIRED: "You already mentor {mentee}.",
        Problem.OPEN_REQUEST: "{mentee} has another request waiting with you.",
        Problem.DECLINED: "You declined {mentee} recently.",
        Problem.BLOCKED: "You blocked {mentee}.",
        Problem.COHORT_LIMIT: "{mentee} has as many mentors as their program allows.",
    },
    "admin": {
        Problem.SELF: "A person cannot mentor themself.",
        Problem.NOT_MENTORING: "{mentor} is not mentoring any more.",
        Problem.PAUSED: "{mentor} has paused mentoring.",
        Problem.FULL: "{mentor} has no room left.",
        Problem.ALREADY_PAIRED: "{mentor} already mentors {mentee}.",
        Problem.OPEN_REQUEST: "{mentee} has a request waiting with {mentor}.",
        Problem.DECLINED: "{mentor} declined {mentee} in the last 90 days.",
        Problem.BLOCKED: "{mentor} blocked {mentee}.",
        Problem.COHORT_LIMIT: "{mentee} already has the cohort's number of mentors.",
    },
}


def message(problem: Problem, *, audience: str, mentee: str = "", mentor: str = "") -> str:
    return MESSAGES[audience][problem].format(mentee=mentee, mentor=mentor)


def _pair_kinds(
    mentee_ids: Iterable[int] | None, mentor_ids: Iterable[int] | None = None
) -> dict[Pair, Problem]:
    """The pair-level exclusions, each with its kind: an active pair, an open request, a
    request declined in the last 90 days, a block."""
    filters: dict = {}
    if mentee_ids is not None:
        filters["mentee_id__any"] = list(mentee_ids)
    if mentor_ids is not None:
        filters["mentor_id__any"] = list(mentor_ids)
    since = timezone.now() - DECLINE_COOLDOWN
    kinds: dict[Pair, Problem] = {}
    declined = MentorRequest.objects.filter(
        status=MentorRequest.Status.DECLINED, answered_at__gte=since, **filters
    )
    kinds.update((p, Problem.DECLINED) for p in declined.values_list("mentee_id", "mentor_id"))
    waiting = MentorRequest.objects.open().filter(**filters)
    kinds.update((p, Problem.OPEN_REQUEST) for p in waiting.values_list("mentee_id", "mentor_id"))
    active = Mentorship.objects.active().filter(**filters)
    kinds.update((p, Problem.ALREADY_PAIRED) for p in active.values_list("mentee_id", "mentor_id"))
    blocks = Block.objects.filter(**filters)
    kinds.update((p, Problem.BLOCKED) for p in blocks.values_list("mentee_id", "mentor_id"))
    return kinds


def excluded_pairs(mentee_ids: Iterable[int] | None = None) -> set[Pair]:
    """(mentee, mentor) pairs the engine must never propose (see `_pair_kinds`)."""
    return set(_pair_kinds(mentee_ids))


def pair_problem(mentee_id: int, mentor_id: int) -> Problem | None:
    """What stands between these two, pair rules only (capacity is the mentor's, see below)."""
    if mentee_id == mentor_id:
        return Problem.SELF
    return _pair_kinds([mentee_id], [mentor_id]).get((mentee_id, mentor_id))


def active_counts(mentor_ids: Iterable[int]) -> dict[int, int]:
    rows = (
        Mentorship.objects.active()
        .filter(mentor_id__any=list(mentor_ids))
        .values("mentor_id")
        .annotate(n=Count("pk"))
        .values_list("mentor_id", "n")
    )
    return dict(rows)


def check_pairs(
    pairs: Sequence[Pair],
    *,
    lock: bool = False,
    capacity_overrides: Mapping[int, int] | None = None,
    limit_per_mentee: int | None = None,
    counted: QuerySet[Mentorship] | None = None,
) -> dict[Pair, Problem]:
    """Which of these pairs cannot be started, and why, taking them in order as if each before
    it had been made (so a batch never overfills a mentor or a mentee).

    Capacity is the mentor's offer (or the cohort's override) against every active mentorship,
    from requests and cohorts alike. `limit_per_mentee` with `counted` is a cohort's policy: at
    most that many of the `counted` mentorships per mentee. With `lock`, the mentors' offer rows
    are locked first (in id order, so two batches never deadlock): call it inside the
    transaction that makes the pairs."""
    mentor_ids = sorted({mentor for _, mentor in pairs})
    mentee_ids = sorted({mentee for mentee, _ in pairs})
    offers = MentorOffer.objects.filter(user_id__any=mentor_ids).order_by("user_id")
    if lock:
        offers = offers.select_for_update()
    # mentor -> (capacity, accepting requests): a cohort's chunk locks a thousand offers
    offer_of = {
        user: (capacity, accepting)
        for user, capacity, accepting in offers.values_list(
            "user_id", "capacity", "accepting_requests"
        )
    }
    mentoring = set(
        Profile.objects.filter(
            user_id__any=mentor_ids, is_mentor=True, user__is_active=True
        ).values_list("user_id", flat=True)
    )
    load = Counter(active_counts(mentor_ids))
    kinds = _pair_kinds(mentee_ids, mentor_ids)
    held: Counter[int] = Counter()
    if limit_per_mentee is not None and counted is not None:
        held.update(
            dict(
                counted.filter(mentee_id__any=mentee_ids)
                .values("mentee_id")
                .annotate(n=Count("pk"))
                .values_list("mentee_id", "n")
            )
        )
    overrides = capacity_overrides or {}
    problems: dict[Pair, Problem] = {}
    made: set[Pair] = set()
    for pair in pairs:
        mentee, mentor = pair
        offer = offer_of.get(mentor)
        capacity = overrides.get(mentor, offer[0] if offer else 0)
        if mentee == mentor:
            problem = Problem.SELF
        elif offer is None or mentor not in mentoring:
            problem = Problem.NOT_MENTORING
        elif not offer[1]:
            problem = Problem.PAUSED
        elif pair in made:
            problem = Problem.ALREADY_PAIRED
        elif pair in kinds:
            problem = kinds[pair]
        elif load[mentor] >= capacity:
            problem = Problem.FULL
        elif limit_per_mentee is not None and held[mentee] >= limit_per_mentee:
            problem = Problem.COHORT_LIMIT
        else:
            made.add(pair)
            load[mentor] += 1
            held[mentee] += 1
            continue
        problems[pair] = problem
    return problems
