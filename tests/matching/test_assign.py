"""The cohort assignment is optimal: on small random instances it equals a brute-force search
over every feasible assignment, and it never breaks a capacity, k or a hard constraint."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.assign import SCALE, Candidates, candidates_from, greedy, solve


@st.composite
def instances(draw):
    m, n = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    allowed = draw(
        st.lists(st.lists(st.booleans(), min_size=n, max_size=n), min_size=m, max_size=m)
    )
    scores = draw(
        st.lists(st.lists(st.integers(0, 100), min_size=n, max_size=n), min_size=m, max_size=m)
    )
    wanted = np.array(draw(st.lists(st.integers(0, 2), min_size=m, max_size=m)))
    capacity = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    allowed, scores = np.array(allowed, dtype=bool), np.array(scores) / 100
    return candidates_from(scores, allowed), wanted, capacity


def feasible(pairs, wanted, capacity) -> bool:
    rows = np.bincount([r for r, _ in pairs], minlength=len(wanted))
    cols = np.bincount([c for _, c in pairs], minlength=len(capacity))
    return bool((rows <= wanted).all() and (cols <= capacity).all())


def brute_force(candidates: Candidates, wanted, capacity, favour_score: bool):
    """The best objective over every subset of the allowed pairs."""
    pairs = list(zip(candidates.rows.tolist(), candidates.cols.tolist(), strict=True))
    points = {p: round(float(s) * SCALE) for p, s in zip(pairs, candidates.scores, strict=True)}
    best = (-1, -1)
    for size in range(len(pairs) + 1):
        for subset in itertools.combinations(pairs, size):
            if not feasible(subset, wanted, capacity):
                continue
            total = sum(points[p] for p in subset)
            matched = len({r for r, _ in subset})
            best = max(best, (0 if favour_score else matched, total))
    return best


@settings(max_examples=300, deadline=None)
@given(instances(), st.booleans())
def test_the_assignment_is_optimal_and_feasible(instance, favour_score):
    candidates, wanted, capacity = instance
    result = solve(candidates, wanted, capacity, favour_score=favour_score, spread=0)

    pairs = list(zip(result.rows.tolist(), result.cols.tolist(), strict=True))
    allowed = set(zip(candidates.rows.tolist(), candidates.cols.tolist(), strict=True))
    assert set(pairs) <= allowed  # hard constraints: only allowed pairs
    assert len(set(pairs)) == len(pairs)  # k mentors are distinct
    assert feasible(pairs, wanted, capacity)  # capacities and k
    total = sum(round(float(s) * SCALE) for s in result.scores)
    matched = 0 if favour_score else result.matched_mentees
    assert (matched, total) == brute_force(candidates, wanted, capacity, favour_score)
    assert set(result.unmatched.tolist()) == {
        i for i in range(len(wanted)) if wanted[i] > 0 and i not in result.rows
    }


def test_the_optimum_places_everyone_where_greedy_does_not():
    # Mentee 0 fits both mentors, mentee 1 only mentor 0; both mentors take one mentee.
    scores = np.array([[0.9, 0.8], [0.7, 0.0]])
    allowed = np.array([[True, True], [True, False]])
    candidates = candidates_from(scores, allowed)
    wanted, capacity = np.array([1, 1]), np.array([1, 1])

    best = solve(candidates, wanted, capacity)
    first_come = greedy(candidates, wanted, capacity)

    assert sorted(zip(best.rows.tolist(), best.cols.tolist(), strict=True)) == [(0, 1), (1, 0)]
    assert best.unmatched.tolist() == []
    assert first_come.unmatched.tolist() == [1]
    # Favouring score keeps the single best pair, when the policy says so.
    assert solve(candidates, wanted, capacity, favour_score=True).total == 1.5


def test_rising_cost_spreads_the_load_between_equal_mentors():
    scores = np.full((4, 2), 0.8)
    candidates = candidates_from(scores, np.ones((4, 2), dtype=bool))
    result = solve(candidates, np.ones(4, dtype=int), np.array([4, 4]))
    assert np.bincount(result.cols, minlength=2).tolist() == [2, 2]


def test_top_candidates_keep_each_mentees_best_allowed_mentors():
    scores = np.array([[0.1, 0.9, 0.5, 0.7]])
    allowed = np.array([[True, False, True, True]])
    candidates = candidates_from(scores, allowed, top=2, row_offset=10)
    assert sorted(candidates.cols.tolist()) == [2, 3]
    assert candidates.rows.tolist() == [10, 10]
