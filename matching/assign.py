"""A whole cohort matched at once: a global optimum, never a greedy loop.

The assignment is a min-cost flow (OR-Tools' SimpleMinCostFlow):

    source -> mentee (k units: the first worth a large bonus) -> mentor (1 unit per allowed pair,
    worth the pair's score) -> sink (one unit arc per place, each a little dearer than the last)

plus a free source -> sink bypass, so that nobody is forced into a pair. Minimising cost then
maximises, in this order: the number of mentees with at least one mentor (the bonus outweighs any
total of scores), then the total score; the rising cost of a mentor's later places spreads the
load when scores are close. With `favour_score` the bonus is dropped and only the total score
counts. Greedy and stable-matching loops leave people out when a full assignment exists; this
does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCALE = 10_000  # scores 0..1 become integer costs 0..10,000


@dataclass(frozen=True)
class Candidates:
    """Allowed pairs: parallel arrays of mentee row, mentor column and score (0..1)."""

    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class Assignment:
    rows: np.ndarray  # mentee row of each pair
    cols: np.ndarray  # mentor column of each pair
    scores: np.ndarray
    unmatched: np.ndarray  # mentee rows with no pair (among those who wanted one)

    @property
    def total(self) -> float:
        return float(self.scores.sum())

    @property
    def matched_mentees(self) -> int:
        return len(np.unique(self.rows))


def solve(
    candidates: Candidates,
    wanted: np.ndarray,
    capacity: np.ndarray,
    *,
    favour_score: bool = False,
    spread: float = 0.002,
) -> Assignment:
    """The optimal assignment of mentors to mentees.

    wanted[i]: how many mentors mentee row i should get (k, or less when some are locked);
    capacity[j]: places left with mentor column j. Each pair is used at most once, so a mentee's
    k mentors are distinct."""
    m, n = len(wanted), len(capacity)
    wanted = np.asarray(wanted, dtype=np.int64)
    capacity = np.maximum(np.asarray(capacity, dtype=np.int64), 0)
    costs = np.rint(np.asarray(candidates.scores, dtype=np.float64) * SCALE).astype(np.int64)
    total_units = int(wanted.sum())
    empty = np.array([], dtype=np.int64)
    if total_units == 0 or len(candidates) == 0:
        return Assignment(empty, empty, np.array([]), np.flatnonzero(wanted > 0))

    source, sink = 0, m + n + 1
    mentee_node = np.arange(1, m + 1, dtype=np.int64)
    mentor_node = np.arange(m + 1, m + n + 1, dtype=np.int64)
    bonus = 0 if favour_score else (total_units * SCALE + 1)

    tails, heads, caps, unit_costs = [], [], [], []

    def arcs(tail, head, cap, cost) -> None:
        tails.append(np.asarray(tail, dtype=np.int64))
        heads.append(np.asarray(head, dtype=np.int64))
        caps.append(np.asarray(cap, dtype=np.int64))
        unit_costs.append(np.asarray(cost, dtype=np.int64))

    wants = np.flatnonzero(wanted > 0)
    arcs(
        np.full(len(wants), source),
        mentee_node[wants],
        np.ones(len(wants)),
        np.full(len(wants), -bonus),
    )
    more = np.flatnonzero(wanted > 1)
    arcs(np.full(len(more), source), mentee_node[more], wanted[more] - 1, np.zeros(len(more)))

    pair_start = sum(len(t) for t in tails)
    arcs(
        mentee_node[candidates.rows],
        mentor_node[candidates.cols],
        np.ones(len(candidates)),
        -costs,
    )

    # One unit arc per place: the j-th mentee of a mentor costs a little more than the (j-1)-th.
    open_mentors = np.flatnonzero(capacity > 0)
    places = capacity[open_mentors]
    place_mentor = np.repeat(open_mentors, places)
    place_index = np.arange(len(place_mentor)) - np.repeat(np.cumsum(places) - places, places)
    arcs(
        mentor_node[place_mentor],
        np.full(len(place_mentor), sink),
        np.ones(len(place_mentor)),
        np.rint(place_index * spread * SCALE),
    )
    arcs([source], [sink], [total_units], [0])  # nobody is forced into a pair

    from ortools.graph.python import min_cost_flow  # 0.1 s to import: only where it solves

    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails),
        np.concatenate(heads),
        np.concatenate(caps),
        np.concatenate(unit_costs),
    )
    supplies = np.zeros(m + n + 2, dtype=np.int64)
    supplies[source], supplies[sink] = total_units, -total_units
    flow.set_nodes_supplies(np.arange(m + n + 2, dtype=np.int64), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"the min-cost flow solver stopped with status {status}")

    pair_arcs = np.arange(pair_start, pair_start + len(candidates), dtype=np.int64)
    used = flow.flows(pair_arcs) > 0
    rows, cols = candidates.rows[used], candidates.cols[used]
    matched = np.zeros(m, dtype=bool)
    matched[rows] = True
    unmatched = np.flatnonzero((wanted > 0) & ~matched)
    return Assignment(
        rows.astype(np.int64), cols.astype(np.int64), candidates.scores[used], unmatched
    )


def greedy(candidates: Candidates, wanted: np.ndarray, capacity: np.ndarray) -> Assignment:
    """The baseline people build by hand: best pair first while places last. For comparison only
    (tests/load); it leaves mentees out that the optimum places."""
    order = np.lexsort((candidates.cols, candidates.rows, -candidates.scores))
    left_wanted = np.asarray(wanted, dtype=np.int64).copy()
    left_capacity = np.asarray(capacity, dtype=np.int64).copy()
    chosen = []
    for index in order:
        i, j = candidates.rows[index], candidates.cols[index]
        if left_wanted[i] > 0 and left_capacity[j] > 0:
            left_wanted[i] -= 1
            left_capacity[j] -= 1
            chosen.append(index)
    chosen = np.array(chosen, dtype=np.int64)
    rows = candidates.rows[chosen] if len(chosen) else np.array([], dtype=np.int64)
    matched = np.zeros(len(wanted), dtype=bool)
    matched[rows] = True
    return Assignment(
        rows,
        candidates.cols[chosen] if len(chosen) else np.array([], dtype=np.int64),
        candidates.scores[chosen] if len(chosen) else np.array([]),
        np.flatnonzero((np.asarray(wanted) > 0) & ~matched),
    )


def candidates_from(
    score: np.ndarray, allowed: np.ndarray, *, row_offset: int = 0, top: int | None = None
) -> Candidates:
    """Allowed pairs of a scored block (mentees x mentors), optionally only each mentee's `top`
    best mentors (argpartition: the same input always gives the same choice)."""
    if top is not None and top < score.shape[1]:
        ranked = np.where(allowed, score, score.dtype.type(-1))
        np.negative(ranked, out=ranked)
        # The top-k columns per row, without sorting whole rows.
        part = np.argpartition(ranked, top - 1, axis=1)[:, :top]
        del ranked
        keep = np.zeros_like(allowed)
        np.put_along_axis(keep, part, True, axis=1)
        allowed = allowed & keep
    rows, cols = np.nonzero(allowed)
    return Candidates(rows.astype(np.int64) + row_offset, cols.astype(np.int64), score[rows, cols])


def concat(parts: list[Candidates]) -> Candidates:
    if not parts:
        empty = np.array([], dtype=np.int64)
        return Candidates(empty, empty, np.array([], dtype=np.float32))
    return Candidates(
        np.concatenate([p.rows for p in parts]),
        np.concatenate([p.cols for p in parts]),
        np.concatenate([p.scores for p in parts]),
    )
