"""Fairness moves: whole shifts go from agents above their share to agents below, coverage untouched."""

from __future__ import annotations

import time
from collections import Counter

from backend.roster.fairness import fairer
from backend.roster.solver import Agent, FixedAssignment, Problem, Requirement, Shift, SiteRules
from tests.factories import a_solver_agent
from tests.unit.roster_validator import violations

RULES = SiteRules(min_shift_slots=4, max_shift_slots=8, max_shifts_per_day=1, min_rest_slots=4)


def week(agents: list[Agent], fixed: list[FixedAssignment] | None = None) -> Problem:
    demand = [Requirement("support", t, 1) for day in (0, 48) for t in range(day, day + 8)]
    return Problem(0, 96, agents, demand, RULES, fixed or [])


def coverage(shifts: list[Shift]) -> Counter[tuple[str, int]]:
    return Counter((s.skill, t) for s in shifts for t in range(s.start_slot, s.end_slot))


def later() -> float:
    return time.perf_counter() + 5


def test_a_shift_moves_to_the_agent_below_their_share() -> None:
    problem = week([a_solver_agent("ana", range(0, 96)), a_solver_agent("bo", range(0, 96))])
    hoarded = [Shift("ana", "support", 0, 8), Shift("ana", "support", 48, 56)]
    moved, moves = fairer(problem, hoarded, {"ana": 8, "bo": 8}, {"ana": 1, "bo": 1}, later())
    assert moves == 1
    assert Counter(s.agent_id for s in moved) == {"ana": 1, "bo": 1}
    assert coverage(moved) == coverage(hoarded)
    assert violations(problem, moved) == []


def test_no_move_to_an_agent_who_did_not_offer_it_or_is_not_certified() -> None:
    agents = [
        a_solver_agent("ana", range(0, 96)),
        a_solver_agent("bo", range(0, 4)),
        a_solver_agent("cy", range(0, 96), ("sales",)),
    ]
    problem = week(agents)
    hoarded = [Shift("ana", "support", 0, 8), Shift("ana", "support", 48, 56)]
    targets = {"ana": 8, "bo": 8, "cy": 8}
    moved, moves = fairer(problem, hoarded, targets, dict.fromkeys(targets, 1), later())
    assert (moves, moved) == (0, hoarded)


def test_a_fixed_shift_never_moves_and_a_taker_who_would_break_a_rule_is_passed_over() -> None:
    fixed = [FixedAssignment("ana", "support", 48, 56), FixedAssignment("cy", "support", 12, 16)]
    agents = [
        a_solver_agent("ana", range(0, 96)),
        a_solver_agent("bo", range(0, 96)),
        a_solver_agent("cy", range(0, 96)),
    ]
    problem = week(agents, fixed)
    hoarded = [
        Shift("ana", "support", 0, 8),
        Shift("ana", "support", 48, 56, fixed=True),
        Shift("bo", "support", 60, 64),
        Shift(
            "cy", "support", 12, 16, fixed=True
        ),  # cy is furthest below, but a second shift that day is against the rules
    ]
    targets = {"ana": 6, "bo": 10, "cy": 20}
    moved, moves = fairer(problem, hoarded, targets, dict.fromkeys(targets, 1), later())
    assert moves == 2  # ana's 0-8 to bo, then bo's 60-64 to cy (day 1: allowed for cy)
    assert Shift("ana", "support", 48, 56, fixed=True) in moved  # the fixed one stays with ana
    assert Shift("bo", "support", 0, 8) in moved
    assert Shift("cy", "support", 60, 64) in moved
    assert violations(problem, moved) == []


def test_an_exchange_when_the_taker_can_only_take_it_by_giving_back_a_shorter_shift() -> None:
    agents = [a_solver_agent("ana", range(0, 96)), a_solver_agent("bo", range(0, 96))]
    problem = week(agents)
    # bo's 4-slot shift on day 0 blocks a second shift that day; ana holds 8 slots that day
    before = [Shift("ana", "support", 0, 8), Shift("bo", "support", 20, 24), Shift("ana", "support", 48, 56)]
    targets = {"ana": 10, "bo": 10}
    moved, moves = fairer(problem, before, targets, dict.fromkeys(targets, 1), later())
    assert moves >= 1
    given = Counter()
    for s in moved:
        given[s.agent_id] += s.end_slot - s.start_slot
    assert abs(given["ana"] - 10) + abs(given["bo"] - 10) < 2 + 6  # it was |16-10| + |4-10| = 12
    assert coverage(moved) == coverage(before)
    assert violations(problem, moved) == []
