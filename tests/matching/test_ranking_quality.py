"""How well Find a mentor ranks mentors by what they know of the mentee's goal.

The first test builds a world with a known answer: for each mentee, mentors who hold one, two or
three of the goal's skills, and decoys that are perfect on everything else (free at the mentee's
hours, every format and rhythm, the right experience) but hold none of the skills, or only one at
a low level. A mentor's relevance is what they know of the goal: the sum of level / 5 over the
goal's skills they hold (0..3); the ranking is scored with NDCG@10. The second test checks the
demo people of `make run`.

Tiny under `make test`; `BENCH_SIZE=full` builds 60 mentees and 1,000 mentors.
"""

from __future__ import annotations

import math
import os
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password

from matching import loader, search
from profiles.demo import seed_people
from profiles.models import (
    AvailabilityWindow,
    Cadence,
    Expertise,
    Format,
    Goal,
    MentorOffer,
    Profile,
    Skill,
    User,
)

FULL = os.environ.get("BENCH_SIZE") == "full"
MENTEES, MENTORS = (60, 1000) if FULL else (12, 150)
RELEVANT, BLANK_DECOYS, WEAK_DECOYS = (3, 8), 3, 2  # planted for each mentee
BANDS = (7, 10, 13, 16, 19)  # UTC start hours of two-hour bands; no two bands overlap
MIN_NDCG = 0.95

Week = list[tuple[int, int, int]]


@dataclass
class Planned:
    """A person to create: enough to write their rows and to know the right answer."""

    name: str
    years: int
    week: Week
    expertise: dict[int, int] = field(default_factory=dict)  # skill id -> level (mentors)
    formats: list[str] = field(default_factory=list)
    cadences: list[str] = field(default_factory=list)
    goal_skills: list[int] = field(default_factory=list)  # mentees
    user: User | None = None

    def relevance_for(self, mentee: Planned) -> float:
        return sum(self.expertise.get(skill, 0) / 5 for skill in mentee.goal_skills)


def band_week(band: int, days) -> Week:
    return [(day, band * 60, band * 60 + 120) for day in sorted(days)]


def some_formats(rng: random.Random) -> tuple[list[str], list[str]]:
    formats = sorted(rng.sample(Format.values, rng.randint(1, 3)))
    return formats, sorted(rng.sample(Cadence.values, rng.randint(1, 3)))


def away_from(goal: list[int], related: dict[int, set[int]], pool: list[int]) -> list[int]:
    """The skills of the pool that are neither the goal's nor related to them."""
    near = set(goal).union(*(related[skill] for skill in goal))
    return [skill for skill in pool if skill not in near]


def plan_world(rng: random.Random) -> tuple[list[Planned], list[Planned]]:
    """Mentees with one goal of three skills from one category, and the mentors around them."""
    skills = list(Skill.objects.order_by("pk").values_list("pk", "category"))
    by_category: dict[str, list[int]] = defaultdict(list)
    for pk, category in skills:
        by_category[category].append(pk)
    related: dict[int, set[int]] = defaultdict(set)
    for a, b in Skill.related.through.objects.values_list("from_skill_id", "to_skill_id"):
        related[a].add(b)
    all_skills = [pk for pk, _ in skills]

    def strong(count: int, pool: list[int]) -> dict[int, int]:
        return {skill: rng.randint(4, 5) for skill in rng.sample(pool, min(count, len(pool)))}

    mentees, mentors = [], []
    for i in range(MENTEES):
        band, days = rng.choice(BANDS), rng.sample(range(7), 3)
        category = rng.choice(sorted(by_category))
        goal = rng.sample(by_category[category], 3)
        week = band_week(band, days)
        mentee = Planned(f"Mentee {i:03}", rng.randint(0, 4), week, goal_skills=goal)
        mentees.append(mentee)
        elsewhere = away_from(goal, related, all_skills)

        for r in range(rng.randint(*RELEVANT)):
            if rng.random() < 0.5:  # free at some of the mentee's hours
                week = band_week(band, rng.sample(days, rng.randint(1, 3)))
            else:
                other_band = rng.choice([b for b in BANDS if b != band])
                week = band_week(other_band, rng.sample(range(7), 3))
            formats, cadences = some_formats(rng)
            held = {skill: rng.randint(2, 5) for skill in rng.sample(goal, rng.randint(1, 3))}
            expertise = strong(rng.randint(0, 2), elsewhere) | held
            mentors.append(
                Planned(f"Knows {i:03}-{r}", rng.randint(6, 20), week, expertise, formats, cadences)
            )

        # Decoys: free exactly when the mentee is, every format and rhythm, the right experience.
        years = mentee.years + rng.randint(6, 15)
        everything = (list(Format.values), list(Cadence.values))
        same_category = away_from(goal, related, by_category[category])
        for r in range(BLANK_DECOYS):
            expertise = strong(rng.randint(1, 2), same_category)
            expertise |= strong(rng.randint(1, 2), elsewhere)
            mentors.append(
                Planned(f"Blank decoy {i:03}-{r}", years, mentee.week, expertise, *everything)
            )
        for r in range(WEAK_DECOYS):
            expertise = strong(1, elsewhere) | {rng.choice(goal): 2}
            mentors.append(
                Planned(f"Weak decoy {i:03}-{r}", years, mentee.week, expertise, *everything)
            )

    for i in range(MENTORS - len(mentors)):
        week = band_week(rng.choice(BANDS), rng.sample(range(7), rng.randint(2, 4)))
        formats, cadences = some_formats(rng)
        picked = rng.sample(all_skills, rng.randint(2, 5))
        expertise = {skill: rng.randint(1, 5) for skill in picked}
        mentors.append(
            Planned(f"Background {i:03}", rng.randint(6, 25), week, expertise, formats, cadences)
        )
    return mentees, mentors


def create_world(mentees: list[Planned], mentors: list[Planned]) -> None:
    """Write the planned people in a few bulk inserts; each gets its `user`."""
    people = mentees + mentors
    password = make_password(None)
    users = User.objects.bulk_create(
        User(email=f"bench{n}@example.org", name=p.name, password=password)
        for n, p in enumerate(people)
    )
    for person, user in zip(people, users, strict=True):
        person.user = user
    Profile.objects.bulk_create(
        Profile(
            user=p.user,
            is_mentor=p in mentors,
            is_mentee=p in mentees,
            timezone="UTC",
            languages=["en"],
            years_experience=p.years,
            headline="Mentor" if p in mentors else "Mentee",
        )
        for p in people
    )
    MentorOffer.objects.bulk_create(
        MentorOffer(user=p.user, capacity=3, formats=p.formats, cadences=p.cadences)
        for p in mentors
    )
    Expertise.objects.bulk_create(
        Expertise(user=p.user, skill_id=skill, level=level)
        for p in mentors
        for skill, level in p.expertise.items()
    )
    AvailabilityWindow.objects.bulk_create(
        AvailabilityWindow(user=p.user, weekday=d, start_minute=s, end_minute=e)
        for p in people
        for d, s, e in p.week
    )
    names = dict(Skill.objects.values_list("pk", "name"))
    goals = Goal.objects.bulk_create(
        Goal(
            owner=p.user,
            title=f"Learn {names[p.goal_skills[0]]}",
            description="I am looking for someone who knows "
            + ", ".join(names[s] for s in p.goal_skills)
            + ".",
            format=Format.SHORT_SERIES,
            cadence=Cadence.BIWEEKLY,
        )
        for p in mentees
    )
    Goal.skills.through.objects.bulk_create(
        Goal.skills.through(goal_id=goal.pk, skill_id=skill)
        for goal, p in zip(goals, mentees, strict=True)
        for skill in p.goal_skills
    )
    loader.bump_version()  # the mentor features are cached per process


def ndcg_at_10(relevance: list[float]) -> float:
    """NDCG@10 of a ranked list of relevances, gain 2**rel - 1; the ideal order is the same
    mentors sorted by relevance."""

    def dcg(values: list[float]) -> float:
        return sum((2**rel - 1) / math.log2(i + 2) for i, rel in enumerate(values[:10]))

    ideal = dcg(sorted(relevance, reverse=True))
    return dcg(relevance) / ideal if ideal else 1.0


def ranked_user_ids(user: User) -> list[int]:
    results = search.find(user, {})
    return [int(results.mentors.user_ids[column]) for column in results.columns]


def test_mentors_who_know_the_goal_skills_lead_the_ranking(db):
    mentees, mentors = plan_world(random.Random(2026))
    create_world(mentees, mentors)
    mentor_of = {m.user.pk: m for m in mentors}

    ndcgs, violations, unranked = [], [], []
    for mentee in mentees:
        ranked = [mentor_of[pk] for pk in ranked_user_ids(mentee.user)]
        relevance = [m.relevance_for(mentee) for m in ranked]
        ndcgs.append(ndcg_at_10(relevance))
        # Every mentor may pair with every mentee here, so none who knows a skill may be missing.
        holders = {m.name for m in mentors if m.relevance_for(mentee)}
        unranked += sorted(holders - {m.name for m in ranked})
        if sum(rel > 0 for rel in relevance) >= 3 and min(relevance[:3]) == 0:
            top = ", ".join(
                f"{m.name} ({rel:.1f})" for m, rel in zip(ranked[:3], relevance[:3], strict=True)
            )
            violations.append(f"{mentee.name}: {top}")

    mean = statistics.fmean(ndcgs)
    print(
        f"\nRanking quality, {len(mentees)} mentees x {len(mentors)} mentors: "
        f"mean NDCG@10 {mean:.3f}, min {min(ndcgs):.3f}; "
        f"{len(violations)} mentees with a mentor who knows none of the goal's skills "
        f"in the top three"
    )
    print("\n".join(violations[:10]))
    assert not unranked, f"mentors who know a goal skill left out: {unranked[:10]}"
    assert mean >= MIN_NDCG, f"mean NDCG@10 {mean:.3f} < {MIN_NDCG}"
    assert not violations, "\n".join(violations)


def test_demo_mentees_see_mentors_who_share_a_goal_skill_first(db):
    seed_people(mentors=60, mentees=150, seed=2026)  # the people of `make run`
    loader.bump_version()
    knows: dict[int, set[int]] = defaultdict(set)
    for user_id, skill_id in Expertise.objects.values_list("user_id", "skill_id"):
        knows[user_id].add(skill_id)
    wants: dict[int, set[int]] = defaultdict(set)
    open_goal_skills = Goal.skills.through.objects.filter(
        goal__status=Goal.Status.OPEN, goal__owner__profile__is_mentee=True
    )
    for owner_id, skill_id in open_goal_skills.values_list("goal__owner_id", "skill_id"):
        wants[owner_id].add(skill_id)
    names = dict(User.objects.values_list("pk", "name"))

    checked, failures = 0, []
    for user in User.objects.filter(pk__in=wants).order_by("pk"):
        ranked = ranked_user_ids(user)
        shares = [bool(knows[pk] & wants[user.pk]) for pk in ranked]
        if sum(shares) < 5:
            continue
        checked += 1
        if not all(shares[:5]):
            top = ", ".join(
                names[pk] + ("" if share else " (none)")
                for pk, share in zip(ranked[:5], shares[:5], strict=True)
            )
            failures.append(f"{user.name}: {top}")

    print(
        f"\nDemo data: {len(wants)} mentees with skills in an open goal, {checked} with at least "
        f"five mentors who share one; {len(failures)} with one who shares none in the top five"
    )
    print("\n".join(failures))
    assert checked
    assert not failures, "\n".join(failures)
