"""Who joins which circle, when a cohort forms its circles: the same optimiser as pairs
(`assign.solve`: as many people placed as possible, then the best total fit), with each circle's
room as its capacity and one circle per person. Pure code over plain values, no ORM: the cohorts
app loads the people and circles, this decides and explains.

A person fits a circle by three things, each 0..1, with weights that sum to 1:
- topic: how much of their goals' skills the circle works on (a related skill counts half);
- facilitator: how well the facilitator knows those skills (their expertise level out of 5);
- time: how much of the circle's weekly session falls in the hours the person said they are free.
A circle whose facilitator shares no language with the person, or that works on nothing of their
goals, is not offered at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from matching import assign

WEIGHTS = {"topic": 0.5, "facilitator": 0.2, "time": 0.3}
NO_LANGUAGE = "No circle's facilitator speaks a language you speak."
NO_TOPIC = "No circle works on the skills of your goals."


@dataclass(frozen=True)
class Seeker:
    id: int
    skills: frozenset[int]  # the skills of their open goals
    languages: frozenset[str]
    free_hours: frozenset[int]  # hours of the week, in UTC (0 = Monday 00:00)


@dataclass(frozen=True)
class CircleOffer:
    id: int
    label: str
    topic: frozenset[int]  # the circle's skills
    related: frozenset[int]  # skills related to them
    levels: Mapping[int, int]  # the facilitator's expertise, skill -> 1..5
    languages: frozenset[str]  # the facilitator's
    session_hours: frozenset[int]  # the weekly session's hours, in UTC
    room: int  # members it can still take


@dataclass(frozen=True)
class Fit:
    score: float
    reasons: tuple[str, ...]


@dataclass
class Formed:
    placed: list[tuple[int, int, Fit]] = field(default_factory=list)  # (seeker, circle, fit)
    unmatched: dict[int, str] = field(default_factory=dict)  # seeker -> why

    def members(self, circle_id: int) -> list[int]:
        return [s for s, c, _ in self.placed if c == circle_id]


def fit(seeker: Seeker, circle: CircleOffer) -> Fit | str:
    """The fit of one person and one circle, with its reasons; or why the circle is not offered."""
    if not seeker.languages & circle.languages:
        return NO_LANGUAGE
    goals = seeker.skills
    direct = goals & circle.topic
    near = (goals & circle.related) - direct
    topic = min((len(direct) + 0.5 * len(near)) / len(goals), 1.0) if goals else 0.0
    if topic == 0:
        return NO_TOPIC
    known = [circle.levels.get(skill, 0) for skill in goals]
    facilitator = sum(known) / (5 * len(known)) if known else 0.0
    time = (
        len(circle.session_hours & seeker.free_hours) / len(circle.session_hours)
        if circle.session_hours
        else 0.0
    )
    score = WEIGHTS["topic"] * topic + WEIGHTS["facilitator"] * facilitator + WEIGHTS["time"] * time
    reasons = [
        f"Works on {len(direct)} of your {len(goals)} goal skills"
        + (f", and {len(near)} related" if near else "")
        if direct
        else f"Works on {len(near)} skills related to your goals",
        "The facilitator knows your goal skills well"
        if facilitator >= 0.6
        else "The facilitator knows some of your goal skills"
        if facilitator > 0
        else "The facilitator brings a different angle to your goals",
        "It meets when you said you are free"
        if time == 1
        else "It meets partly in the hours you are free"
        if time > 0
        else "It meets outside the hours you said you are free",
    ]
    return Fit(round(score, 4), tuple(reasons))


def form(seekers: Sequence[Seeker], circles: Sequence[CircleOffer]) -> Formed:
    """Place each person in at most one circle, never past a circle's room: the most people
    placed, then the best total fit. Everyone left out is told why."""
    rows, cols, scores, fits, why_not = [], [], [], {}, {}
    for i, seeker in enumerate(seekers):
        refusals = []
        for j, circle in enumerate(circles):
            found = fit(seeker, circle)
            if isinstance(found, Fit):
                rows.append(i)
                cols.append(j)
                scores.append(found.score)
                fits[i, j] = found
            else:
                refusals.append(found)
        if not any(i == r for r in rows):
            # Said in the order of the rules: a language first, then the topic.
            why_not[i] = (
                NO_LANGUAGE
                if refusals and all(r == NO_LANGUAGE for r in refusals)
                else (NO_TOPIC if circles else "There are no circles to join yet.")
            )
    candidates = assign.Candidates(
        np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(scores)
    )
    solved = assign.solve(
        candidates,
        np.ones(len(seekers), dtype=np.int64),
        np.array([max(c.room, 0) for c in circles], dtype=np.int64),
    )
    formed = Formed()
    placed_rows = set()
    for row, col in zip(solved.rows.tolist(), solved.cols.tolist(), strict=True):
        formed.placed.append((seekers[row].id, circles[col].id, fits[row, col]))
        placed_rows.add(row)
    for i, seeker in enumerate(seekers):
        if i in placed_rows:
            continue
        if i in why_not:
            formed.unmatched[seeker.id] = why_not[i]
        else:
            names = sorted({circles[j].label for (r, j) in fits if r == i})
            formed.unmatched[seeker.id] = f"The circles that fit you are full: {', '.join(names)}."
    return formed
