"""The scoring engine on plain arrays: hand-computed components, and properties that hold for
any input (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import engine
from matching.engine import (
    CADENCES,
    FORMATS,
    SLOTS_PER_WEEK,
    Component,
    Features,
    Mode,
    OrganisationPolicy,
    Policy,
)

SKILLS = ("Python", "SQL", "Negotiation", "Hiring")
LANGS = ("English", "Spanish", "Japanese")


def person(
    user_id: int,
    *,
    skills: dict[int, float] | None = None,
    words: str = "",
    slots: range | list[int] = (),
    languages: tuple[int, ...] = (0,),
    formats: tuple[str, ...] = (),
    cadences: tuple[str, ...] = (),
    years: float = 5,
    org: int = -1,
    dept: int = -1,
    hours_wanted: float = 1.5,
    capacity: int = 0,
    active: int = 0,
    accepting: bool = True,
    peer: bool = False,
    reverse: bool = False,
) -> dict:
    return locals()


def features(
    people: list[dict], idf: np.ndarray | None = None, relation: np.ndarray | None = None
) -> Features:
    """`relation` defaults to SQL related to Python (and back) and nothing else related."""
    n = len(people)
    if relation is None:
        relation = np.eye(len(SKILLS), dtype=np.float32)
        relation[0, 1] = relation[1, 0] = engine.RELATED_CREDIT
    skills = np.zeros((n, len(SKILLS)), dtype=np.float32)
    slots = np.zeros((n, SLOTS_PER_WEEK), dtype=np.float32)
    languages = np.zeros((n, len(LANGS)), dtype=np.float32)
    formats = np.zeros((n, 3), dtype=np.float32)
    cadences = np.zeros((n, 3), dtype=np.float32)
    for row, p in enumerate(people):
        for column, value in (p["skills"] or {}).items():
            skills[row, column] = value
        slots[row, list(p["slots"])] = 1
        languages[row, list(p["languages"])] = 1
        formats[row] = [f in p["formats"] for f in FORMATS]
        cadences[row] = [c in p["cadences"] for c in CADENCES]
    spelled = [engine.spelled(p["words"]) for p in people]
    words = [[token for token, _ in doc] for doc in spelled]
    idf = engine.idf_from(words) if idf is None else idf
    return Features(
        user_ids=np.array([p["user_id"] for p in people], dtype=np.int64),
        names=[f"Person {p['user_id']}" for p in people],
        timezones=["UTC"] * n,
        skills=skills,
        reach=engine.reach_of(skills, relation),
        text=engine.text_vectors(words, idf),
        words=[{token: word for token, word in reversed(doc)} for doc in spelled],
        slots=slots,
        languages=languages,
        primary_language=np.array(
            [p["languages"][0] if p["languages"] else -1 for p in people], dtype=np.int64
        ),
        formats=formats,
        cadences=cadences,
        years=np.array([p["years"] for p in people], dtype=np.float32),
        organisation=np.array([p["org"] for p in people], dtype=np.int64),
        department=np.array([p["dept"] for p in people], dtype=np.int64),
        hours_wanted=np.array([p["hours_wanted"] for p in people], dtype=np.float32),
        capacity=np.array([p["capacity"] for p in people], dtype=np.int32),
        active=np.array([p["active"] for p in people], dtype=np.int32),
        accepting=np.array([p["accepting"] for p in people], dtype=bool),
        open_to_peer=np.array([p["peer"] for p in people], dtype=bool),
        open_to_reverse=np.array([p["reverse"] for p in people], dtype=bool),
        hours_per_month=np.full(n, 4, dtype=np.int32),
        skill_names=SKILLS,
        language_names=LANGS,
        idf=idf,
        relation=relation,
    )


def one_pair(mentee: dict, mentor: dict, policy: Policy = Policy()):  # noqa: B008
    mentors = features([mentor])
    mentees = features([mentee], idf=mentors.idf)
    return engine.score(mentees, mentors, policy), mentees, mentors


def component(mentee: dict, mentor: dict, which: Component, policy: Policy = Policy()) -> float:  # noqa: B008
    scores, *_ = one_pair(mentee, mentor, policy)
    return round(float(scores.components[which][0, 0]), 4)


MENTOR = {"capacity": 2}


# Hand-computed components.


def test_fit_weighs_each_wanted_skill_by_the_mentors_level():
    mentee = person(1, skills={0: 1, 1: 1})
    mentor = person(2, skills={0: 1.0, 1: 0.4}, **MENTOR)  # Python 5/5, SQL 2/5
    # SQL counts the better of its level (0.4) and Python's through the relation (0.5 x 1.0):
    # 0.85 x (1.0 + 0.5) / 2 + 0.15 x text (none) = 0.6375
    assert component(mentee, mentor, Component.FIT) == 0.6375


def test_fit_counts_the_goal_text_against_the_mentors_profile():
    mentee = person(1, words="prepare for salary negotiation")
    same = person(2, words="salary negotiation coach", **MENTOR)
    other = person(3, words="kubernetes clusters", **MENTOR)
    mentors = features([same, other])
    scores = engine.score(features([mentee], idf=mentors.idf), mentors)
    fit = scores.components[Component.FIT][0]
    assert fit[0] > 0.5
    assert fit[1] == 0


def test_availability_is_the_weekly_overlap_against_what_the_cadence_needs():
    # 4 shared half-hours = 2 hours; a weekly mentee wants 2 hours: full marks.
    weekly = person(1, slots=range(10, 16), hours_wanted=2.0)
    mentor = person(2, slots=range(12, 20), **MENTOR)
    assert component(weekly, mentor, Component.AVAILABILITY) == 1.0
    # 1 shared hour against 2 wanted: half.
    mentor_short = person(2, slots=range(14, 18), **MENTOR)
    assert component(weekly, mentor_short, Component.AVAILABILITY) == 0.5
    scores, *_ = one_pair(weekly, mentor_short)
    assert float(scores.overlap_hours[0, 0]) == 1.0


def test_language_prefers_the_mentees_first_language():
    mentee = person(1, languages=(1, 0))  # Spanish first, then English
    assert component(mentee, person(2, languages=(1,), **MENTOR), Component.LANGUAGE) == 1.0
    assert component(mentee, person(2, languages=(0,), **MENTOR), Component.LANGUAGE) == 0.7


def test_format_and_cadence_fit_is_the_share_of_what_the_mentee_wants():
    mentee = person(1, formats=("ongoing",), cadences=("weekly", "monthly"))
    mentor = person(2, formats=("ongoing",), cadences=("monthly",), **MENTOR)
    # formats 1/1, cadences 1/2: (1 + 0.5) / 2
    assert component(mentee, mentor, Component.FORMAT) == 0.75


@pytest.mark.parametrize(
    ("mode", "mentee_years", "mentor_years", "expected"),
    [
        (Mode.REGULAR, 2, 12, 1.0),  # 10 years more
        (Mode.REGULAR, 2, 4, 0.4),  # 2 of the 5 years that make a full gap
        (Mode.REGULAR, 10, 8, 0.0),  # less experienced
        (Mode.REGULAR, 0, 25, 0.8),  # 25 years: 1 - (25 - 20) / 25
        (Mode.REGULAR, 0, 40, 0.7),  # the easing-off stops at 0.3
        (Mode.PEER, 6, 8, 0.75),  # 1 - 2 / 8
        (Mode.REVERSE, 12, 2, 1.0),  # the mentee is the senior one
    ],
)
def test_seniority_by_mode(mode, mentee_years, mentor_years, expected):
    mentee = person(1, years=mentee_years)
    mentor = person(2, years=mentor_years, peer=True, reverse=True, **MENTOR)
    assert component(mentee, mentor, Component.SENIORITY, Policy(mode=mode)) == expected


def test_organisation_policy():
    mentee = person(1, org=7, dept=70)
    same_dept = person(2, org=7, dept=70, **MENTOR)
    same_org = person(3, org=7, dept=71, **MENTOR)
    elsewhere = person(4, org=8, dept=80, **MENTOR)
    different = Policy(organisation=OrganisationPolicy.PREFER_DIFFERENT)
    same = Policy(organisation=OrganisationPolicy.PREFER_SAME)
    assert component(mentee, same_dept, Component.ORGANISATION, different) == 0.0
    assert component(mentee, same_org, Component.ORGANISATION, different) == 0.5
    assert component(mentee, elsewhere, Component.ORGANISATION, different) == 1.0
    assert component(mentee, same_dept, Component.ORGANISATION, same) == 1.0
    # Ignored: it carries no weight at all.
    scores, *_ = one_pair(mentee, elsewhere)
    assert scores.weights[Component.ORGANISATION] == 0


def test_load_is_the_share_of_places_left():
    assert component(person(1), person(2, capacity=4, active=1), Component.LOAD) == 0.75


def test_the_fit_is_scaled_by_how_well_the_rest_suits_and_banded_by_what_the_mentor_holds():
    mentee = person(1, skills={0: 1}, slots=range(0, 4), formats=("ongoing",), years=1)
    mentor = person(
        2, skills={0: 0.8}, slots=range(0, 4), formats=("ongoing",), years=9, capacity=2
    )
    scores, *_ = one_pair(mentee, mentor)
    weights = scores.weights
    c = {k: float(v[0, 0]) for k, v in scores.components.items()}
    suits = sum(w * (1 if k == Component.FIT else c[k]) for k, w in weights.items()) / sum(
        weights.values()
    )
    floor, width = engine.HOLDS_A_SKILL
    expected = floor + width * c[Component.FIT] * suits
    assert float(scores.score[0, 0]) == pytest.approx(expected, abs=1e-6)
    assert c[Component.FIT] == pytest.approx(engine.SKILL_SHARE * 0.8, abs=1e-6)


def test_a_related_skill_counts_in_part_and_ranks_between_holders_and_the_rest():
    wants_python = person(1, skills={0: 1}, slots=range(0, 4))
    holder = person(2, skills={0: 0.4}, capacity=2)  # Python at level 2, no time together
    related = person(3, skills={1: 1.0}, slots=range(0, 4), capacity=2)  # SQL at level 5
    stranger = person(4, skills={2: 1.0, 3: 1.0}, slots=range(0, 4), capacity=2)
    mentors = features([holder, related, stranger])
    mentees = features([wants_python], idf=mentors.idf)
    scores = engine.score(mentees, mentors)
    assert scores.components[Component.FIT][0, 1] == pytest.approx(
        engine.SKILL_SHARE * engine.RELATED_CREDIT
    )
    assert scores.components[Component.FIT][0, 2] == 0
    assert engine.rank(scores, 0, mentor_ids=mentors.user_ids).tolist() == [0, 1, 2]
    reasons = engine.explain(scores, 0, 1, mentees, mentors)
    assert reasons[0].sentence == "Knows related skills: SQL (5/5), close to Python."
    reasons = engine.explain(scores, 0, 2, mentees, mentors)
    assert reasons[0].sentence == (
        "Knows none of the skills in your goals (Python), so comes after mentors who do."
    )


# Hard constraints.


@pytest.mark.parametrize(
    ("mentor", "policy"),
    [
        (person(1, capacity=3), Policy()),  # the mentee themself
        (person(2, languages=(2,), capacity=3), Policy()),  # no shared language
        (person(2, capacity=3, accepting=False), Policy()),  # paused
        (person(2, capacity=2, active=2), Policy()),  # full
        (person(2, capacity=0), Policy()),  # capacity 0
        (person(2, capacity=2), Policy(mode=Mode.PEER)),  # not open to peer mentoring
        (person(2, capacity=2), Policy(mode=Mode.REVERSE)),  # nor to reverse
        (person(2, capacity=2), Policy(min_overlap_hours=1)),  # no time together
    ],
)
def test_hard_constraints_exclude_the_pair(mentor, policy):
    scores, *_ = one_pair(person(1), mentor, policy)
    assert not scores.allowed[0, 0]
    assert len(engine.rank(scores, 0)) == 0


def test_excluded_pairs_are_never_ranked():
    mentors = features([person(2, capacity=2), person(3, capacity=2)])
    mentees = features([person(1)], idf=mentors.idf)
    scores = engine.score(mentees, mentors, excluded=[(1, 3)])
    assert engine.rank(scores, 0, mentor_ids=mentors.user_ids).tolist() == [0]


# Explanations.


def test_explain_says_why_in_words():
    mentee = person(
        1, skills={0: 1, 2: 1}, words="learn Kubernetes for reporting", slots=range(36, 40)
    )
    mentor = person(
        2,
        skills={0: 1.0, 3: 0.6},
        words="Kubernetes clusters, reporting and python",
        slots=range(36, 44),
        years=12,
        capacity=3,
    )
    scores, mentees, mentors = one_pair(mentee, mentor)
    reasons = engine.explain(scores, 0, 0, mentees, mentors, local_free=["Mon 18:00-20:00"])
    sentences = {r.component: r.sentence for r in reasons}
    # The skills first, then the words both use as the mentor wrote them: never a stem, nor a
    # skill already named.
    assert sentences[Component.FIT] == (
        "Knows Python (5/5): 1 of the 2 skills in your goals. "
        "The profile also mentions Kubernetes and reporting."
    )
    assert sentences[Component.AVAILABILITY] == (
        "Free at the same time 2 hours a week (Mon 18:00-20:00, your time)."
    )
    assert sentences[Component.LANGUAGE] == "You both speak English."
    assert sentences[Component.SENIORITY] == "Has 7 years more experience."
    assert sentences[Component.LOAD].startswith("Has room for 3 more mentees (of 3)")
    assert reasons[0].component == Component.FIT
    contributions = [r.contribution for r in reasons[1:]]
    assert contributions == sorted(contributions, reverse=True)


def test_explain_speaks_to_the_mentor_deciding_on_a_request():
    mentee = person(1, skills={0: 1, 2: 1}, words="reporting", slots=range(36, 40), years=2)
    mentor = person(2, skills={0: 0.8}, words="reporting", slots=range(36, 40), capacity=2)
    scores, mentees, mentors = one_pair(mentee, mentor)
    reasons = engine.explain(scores, 0, 0, mentees, mentors, audience="mentor")
    sentences = {r.component: r.sentence for r in reasons}
    assert sentences[Component.FIT] == (
        "Wants Negotiation and Python; you know Python (4/5): 1 of the 2 skills in their goals. "
        "Their goals mention reporting."
    )
    assert sentences[Component.SENIORITY] == "You have 3 years more experience than them."
    assert Component.ORGANISATION not in sentences  # ignored by the default policy


# Properties, for any people.

skill_levels = st.dictionaries(
    st.integers(0, len(SKILLS) - 1), st.sampled_from([0.2, 0.4, 0.6, 0.8, 1.0]), max_size=4
)
slot_sets = st.lists(st.integers(0, SLOTS_PER_WEEK - 1), max_size=30, unique=True)
language_sets = st.lists(st.integers(0, len(LANGS) - 1), max_size=3, unique=True).map(tuple)
words = st.lists(
    st.sampled_from(["python", "sql", "salary", "negotiation", "hiring", "career", "reporting"]),
    max_size=6,
).map(" ".join)


@st.composite
def people(draw, first_id: int, count: int, mentor: bool) -> list[dict]:
    result = []
    for i in range(count):
        capacity = draw(st.integers(0, 4)) if mentor else 0
        result.append(
            person(
                first_id + i,
                skills=draw(skill_levels) if mentor else {k: 1 for k in draw(skill_levels)},
                words=draw(words),
                slots=draw(slot_sets),
                languages=draw(language_sets),
                formats=tuple(draw(st.lists(st.sampled_from(FORMATS), unique=True))),
                cadences=tuple(draw(st.lists(st.sampled_from(CADENCES), unique=True))),
                years=draw(st.integers(0, 40)),
                org=draw(st.integers(-1, 2)),
                dept=draw(st.integers(-1, 4)),
                hours_wanted=draw(st.sampled_from([1.0, 1.5, 2.0])),
                capacity=capacity,
                active=draw(st.integers(0, capacity + 1)) if mentor else 0,
                accepting=draw(st.booleans()) if mentor else False,
                peer=draw(st.booleans()),
                reverse=draw(st.booleans()),
            )
        )
    return result


policies = st.builds(
    Policy,
    mode=st.sampled_from(list(Mode)),
    organisation=st.sampled_from(list(OrganisationPolicy)),
    min_overlap_hours=st.sampled_from([0.0, 0.5, 2.0]),
)


@st.composite
def blocks(draw):
    mentor_rows = draw(people(100, draw(st.integers(1, 6)), mentor=True))
    mentee_rows = draw(people(1, draw(st.integers(1, 5)), mentor=False))
    if draw(st.booleans()):  # a person on both sides
        mentor = mentor_rows[0]
        wanted = {k: 1 for k in mentor["skills"] or {}}  # a mentee side says what they want
        mentee_rows.append({**mentor, "skills": wanted, "capacity": 0, "accepting": False})
    mentors = features(mentor_rows)
    mentees = features(mentee_rows, idf=mentors.idf)
    ids = [(int(a), int(b)) for a in mentees.user_ids for b in mentors.user_ids]
    excluded = draw(st.lists(st.sampled_from(ids), max_size=3, unique=True))
    return mentees, mentors, excluded, draw(policies)


@settings(max_examples=150, deadline=None)
@given(blocks())
def test_every_score_and_component_is_between_0_and_1(block):
    mentees, mentors, excluded, policy = block
    scores = engine.score(mentees, mentors, policy, excluded)
    assert scores.score.min() >= 0 and scores.score.max() <= 1
    for values in scores.components.values():
        assert values.min() >= 0 and values.max() <= 1


@settings(max_examples=150, deadline=None)
@given(blocks())
def test_hard_constraints_always_exclude(block):
    mentees, mentors, excluded, policy = block
    scores = engine.score(mentees, mentors, policy, excluded)
    for i in range(len(mentees)):
        for j in range(len(mentors)):
            shares_language = (mentees.languages[i] * mentors.languages[j]).sum() > 0
            must_exclude = (
                mentees.user_ids[i] == mentors.user_ids[j]
                or not shares_language
                or not mentors.accepting[j]
                or mentors.active[j] >= mentors.capacity[j]
                or (policy.mode == Mode.PEER and not mentors.open_to_peer[j])
                or (policy.mode == Mode.REVERSE and not mentors.open_to_reverse[j])
                or (int(mentees.user_ids[i]), int(mentors.user_ids[j])) in excluded
                or scores.overlap_hours[i, j] < policy.min_overlap_hours
            )
            assert scores.allowed[i, j] == (not must_exclude)
            if must_exclude:
                assert j not in engine.rank(scores, i).tolist()


@settings(max_examples=100, deadline=None)
@given(blocks(), st.randoms(use_true_random=False))
def test_the_ranking_is_deterministic_whatever_the_order_of_mentors(block, rng):
    mentees, mentors, excluded, policy = block
    first = engine.score(mentees, mentors, policy, excluded)
    order = list(range(len(mentors)))
    rng.shuffle(order)
    shuffled = mentors.take(order)
    again = engine.score(mentees, shuffled, policy, excluded)
    for i in range(len(mentees)):
        ranked = mentors.user_ids[engine.rank(first, i, mentor_ids=mentors.user_ids)]
        reranked = shuffled.user_ids[engine.rank(again, i, mentor_ids=shuffled.user_ids)]
        assert ranked.tolist() == reranked.tolist()


@settings(max_examples=60, deadline=None)
@given(blocks())
def test_the_vectorised_scores_equal_the_per_pair_loop(block):
    mentees, mentors, _, policy = block
    vectorised = engine.score(mentees, mentors, policy)
    loop = engine.score_one_by_one(mentees, mentors, policy)
    allowed = vectorised.allowed
    assert np.allclose(vectorised.score[allowed], loop[allowed], atol=1e-5)


@settings(max_examples=150, deadline=None)
@given(blocks())
def test_a_mentor_who_holds_a_goal_skill_outscores_every_mentor_who_holds_none(block):
    """Time, language, format, experience and room never lift a mentor who knows none of the
    goal's skills (nor a related one) over one who knows one of them."""
    mentees, mentors, excluded, policy = block
    scores = engine.score(mentees, mentors, policy, excluded)
    for i in np.flatnonzero(mentees.skills.sum(axis=1) > 0):
        wanted = mentees.skills[i] > 0
        holds = (mentors.skills[:, wanted] > 0).any(axis=1)
        related = (mentors.reach[:, wanted] > 0).any(axis=1)
        for better, worse in ((holds, ~holds), (related, ~related)):
            if better.any() and worse.any():
                assert scores.score[i, better].min() > scores.score[i, worse].max()


def test_pairs_explained_in_chunks_score_and_read_as_each_pair_explained_alone():
    from tests.load.bench_cohort import greedy_instance

    mentees, mentors = greedy_instance(mentees=300, mentors=60, seed=11)
    rng = np.random.default_rng(5)
    rows, cols = rng.integers(0, 300, size=700).tolist(), rng.integers(0, 60, size=700).tolist()
    policy = engine.Policy(min_overlap_hours=1.0)
    together = engine.explain_pairs(mentees, mentors, rows, cols, policy, chunk=64)
    assert len(together) == 700
    for (value, reasons), row, col in zip(together, rows, cols, strict=True):
        scores, alone = engine.explain_pair(mentees.take([row]), mentors.take([col]), policy)
        assert value == pytest.approx(float(scores.score[0, 0]), abs=1e-6)
        assert [r.sentence for r in reasons] == [r.sentence for r in alone]
