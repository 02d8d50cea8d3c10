"""Forming circles is optimal and honest: on small random instances the placement equals a brute
force over every feasible one (most people placed, then the best total fit), no circle takes more
than its room, and everyone left out is told why, truthfully."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.assign import SCALE
from matching.circles import NO_LANGUAGE, NO_TOPIC, CircleOffer, Fit, Seeker, fit, form

SKILLS = range(1, 6)
LANGUAGES = ("en", "pt", "ja")


@st.composite
def seekers(draw, index):
    return Seeker(
        id=index,
        skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), max_size=3))),
        languages=frozenset(draw(st.sets(st.sampled_from(LANGUAGES), min_size=1, max_size=2))),
        free_hours=frozenset(draw(st.sets(st.integers(0, 167), max_size=30))),
    )


@st.composite
def circles(draw, index):
    topic = frozenset(draw(st.sets(st.sampled_from(SKILLS), min_size=1, max_size=2)))
    start = draw(st.integers(0, 165))
    return CircleOffer(
        id=100 + index,
        label=f"Circle {index}",
        topic=topic,
        related=frozenset(draw(st.sets(st.sampled_from(SKILLS), max_size=2))) - topic,
        levels={s: draw(st.integers(1, 5)) for s in draw(st.sets(st.sampled_from(SKILLS)))},
        languages=frozenset(draw(st.sets(st.sampled_from(LANGUAGES), min_size=1, max_size=2))),
        session_hours=frozenset(range(start, start + draw(st.integers(1, 2)))),
        room=draw(st.integers(0, 2)),
    )


@st.composite
def instances(draw):
    people = [draw(seekers(i)) for i in range(draw(st.integers(0, 5)))]
    offers = [draw(circles(j)) for j in range(draw(st.integers(0, 3)))]
    return people, offers


def best_by_brute_force(people, offers) -> tuple[int, int]:
    """(people placed, total fit in the solver's integer points) of the best feasible placement."""
    options = []
    for seeker in people:
        mine = [None]
        for circle in offers:
            found = fit(seeker, circle)
            if isinstance(found, Fit):
                mine.append((circle.id, round(found.score * SCALE)))
        options.append(mine)
    best = (0, 0)
    for choice in itertools.product(*options):
        taken = [c for c in choice if c is not None]
        counts = {}
        for circle_id, _ in taken:
            counts[circle_id] = counts.get(circle_id, 0) + 1
        if any(counts.get(c.id, 0) > c.room for c in offers):
            continue
        best = max(best, (len(taken), sum(points for _, points in taken)))
    return best


@settings(max_examples=300, deadline=None)
@given(instances())
def test_forming_circles_equals_the_brute_force_and_keeps_to_each_circles_room(instance):
    people, offers = instance

    formed = form(people, offers)

    got = (len(formed.placed), sum(round(f.score * SCALE) for _, _, f in formed.placed))
    assert got == best_by_brute_force(people, offers)
    for circle in offers:
        assert len(formed.members(circle.id)) <= circle.room
    placed = [s for s, _, _ in formed.placed]
    assert len(placed) == len(set(placed))  # one circle each


@settings(max_examples=300, deadline=None)
@given(instances())
def test_everyone_left_out_is_told_a_true_reason(instance):
    people, offers = instance
    by_id = {c.id: c for c in offers}

    formed = form(people, offers)

    placed = {s for s, _, _ in formed.placed}
    assert set(formed.unmatched) == {p.id for p in people} - placed
    for seeker in people:
        if seeker.id in placed:
            continue
        reason = formed.unmatched[seeker.id]
        fits = {c.id for c in offers if isinstance(fit(seeker, c), Fit)}
        if reason == NO_LANGUAGE:
            assert offers and not any(seeker.languages & c.languages for c in offers)
        elif reason == NO_TOPIC:
            assert not fits
        elif offers:
            assert reason.startswith("The circles that fit you are full")
            assert fits and all(len(formed.members(c)) == by_id[c].room for c in fits)
        else:
            assert reason == "There are no circles to join yet."


def test_the_reasons_say_what_fits():
    seeker = Seeker(1, frozenset({1, 2}), frozenset({"en"}), frozenset({18, 19}))
    circle = CircleOffer(
        7,
        "Public speaking",
        frozenset({1}),
        frozenset({2}),
        {1: 5, 2: 4},
        frozenset({"en"}),
        frozenset({18}),
        3,
    )

    found = fit(seeker, circle)

    assert found.reasons == (
        "Works on 1 of your 2 goal skills, and 1 related",
        "The facilitator knows your goal skills well",
        "It meets when you said you are free",
    )
    assert found.score == round(0.5 * 0.75 + 0.2 * 0.9 + 0.3 * 1, 4)
