"""Uncovered demand becomes open shifts of a workable length; what is too short stays uncovered, counted."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from backend.roster.service import coverage_gaps, shift_pieces
from backend.shifts.eligibility import ShiftRules

FIRST = 1000


def facts_of(short: list[int], low: int, high: int) -> Any:
    """The few facts ``coverage_gaps`` reads: one skill, its need per slot, the length bounds, no claims."""
    rules = ShiftRules(
        min_shift_slots=low,
        max_shift_slots=high,
        max_shifts_per_day=1,
        min_rest_slots=16,
        weekly_cap_slots=None,
        break_after_slots=None,
        break_slots=1,
    )
    return SimpleNamespace(
        required={"billing": short},
        skills={"billing": SimpleNamespace(id=7)},
        slots=range(FIRST, FIRST + len(short)),
        rules=rules,
        claimed=[],
    )


bounds = st.integers(1, 8).flatmap(lambda low: st.tuples(st.just(low), st.integers(low, 16)))


@given(st.integers(0, 60), bounds)
def test_a_block_is_cut_into_shifts_within_the_bounds_leaving_only_less_than_one(length: int, bound: Any) -> None:
    low, high = bound
    pieces = shift_pieces(length, low, high)
    assert all(low <= piece <= high for piece in pieces)
    assert 0 <= length - sum(pieces) < low


@given(st.lists(st.integers(0, 4), max_size=96), bounds)
def test_open_shifts_are_never_shorter_than_the_shortest_shift_and_never_exceed_the_need(
    short: list[int], bound: Any
) -> None:
    low, high = bound
    gaps = coverage_gaps(facts_of(short, low, high), [])
    offered = [0] * len(short)
    for skill_id, start, end, seats in gaps.open_shifts:
        assert skill_id == 7
        assert low <= end - start <= high
        for slot in range(start, end):
            offered[slot - FIRST] += seats
    assert all(o <= s for o, s in zip(offered, short, strict=True))
    assert sum(offered) + gaps.too_short_slots == sum(short), "every uncovered slot is offered or counted"


def test_the_issue_remnants_go_and_a_long_block_is_cut_evenly() -> None:
    """Half-hour remnants are not offered; 13 slots with shifts of 4-12 become 7 + 6, not 12 + 1."""
    gaps = coverage_gaps(facts_of([1] * 13 + [0] + [1] + [0] + [1, 1], 4, 12), [])
    assert [(start - FIRST, end - FIRST, seats) for _, start, end, seats in gaps.open_shifts] == [(0, 7, 1), (7, 13, 1)]
    assert gaps.too_short_slots == 3
