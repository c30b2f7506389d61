"""The solver's service contract: breaks, progress and cancelling, the roster checker, empty and odd inputs."""

from __future__ import annotations

import time

import pytest

from backend.roster.solver import (
    FixedAssignment,
    Problem,
    Progress,
    Requirement,
    Shift,
    SiteRules,
    SolverSettings,
    greedy_roster,
    hard_rule_violations,
    roster_violations,
    solve,
)
from tests.factories import a_solver_agent, a_solver_week, solver_demand
from tests.unit.roster_validator import violations

FAST = SolverSettings(time_limit_seconds=5, workers=2, seed=1)
BREAKS = SiteRules(
    min_shift_slots=8, max_shift_slots=16, max_shifts_per_day=1, min_rest_slots=4, break_after_slots=6, break_slots=1
)


def worked(shifts: list[Shift]) -> list[int]:
    return sorted(t for s in shifts for t in range(s.start_slot, s.end_slot))


def test_a_long_shift_takes_one_break_and_counts_it_in_its_length() -> None:
    problem = a_solver_week([a_solver_agent("ana", range(0, 16))], solver_demand(range(0, 16)), BREAKS)
    solution = solve(problem, FAST)
    assert solution.status == "optimal"
    assert len(worked(solution.shifts)) == 12  # 6 + break + 6: a second break is not allowed
    first, second = sorted(solution.shifts, key=lambda s: s.start_slot)
    assert (first.after_break, second.after_break) == (False, True)
    assert second.start_slot - first.end_slot == 1
    assert hard_rule_violations(problem, solution) == [] == violations(problem, solution.shifts)


def test_the_break_is_not_worked_and_covers_nothing() -> None:
    problem = a_solver_week([a_solver_agent("ana", range(0, 14))], solver_demand(range(0, 14)), BREAKS)
    solution = solve(problem, FAST)
    gap = set(range(0, 14)) - set(worked(solution.shifts))
    assert len(gap) >= 1
    uncovered = {c.slot for c in solution.coverage if c.scheduled < c.required}
    assert gap <= uncovered
    assert next(a for a in solution.agents if a.agent_id == "ana").given_slots == len(worked(solution.shifts))


def test_no_shift_when_stretches_plus_break_cannot_reach_the_minimum() -> None:
    rules = SiteRules(min_shift_slots=8, max_shift_slots=16, min_rest_slots=4, break_after_slots=3, break_slots=1)
    solution = solve(a_solver_week([a_solver_agent("ana", range(0, 16))], solver_demand(range(0, 16)), rules), FAST)
    assert solution.shifts == []  # 3 + 1 + 3 = 7 < 8


def test_a_break_must_lie_in_offered_time() -> None:
    problem = a_solver_week([a_solver_agent("ana", [*range(0, 6), *range(7, 13)])], solver_demand(range(0, 13)), BREAKS)
    assert solve(problem, FAST).shifts == []


def test_two_slot_breaks() -> None:
    rules = SiteRules(min_shift_slots=8, max_shift_slots=16, min_rest_slots=4, break_after_slots=5, break_slots=2)
    problem = a_solver_week([a_solver_agent("ana", range(0, 20))], solver_demand(range(0, 20)), rules)
    solution = solve(problem, FAST)
    assert len(worked(solution.shifts)) == 10
    assert violations(problem, solution.shifts) == [] == roster_violations(problem, solution.shifts)


def test_without_the_break_rule_nothing_changes() -> None:
    rules = SiteRules(min_shift_slots=8, max_shift_slots=16, min_rest_slots=4)
    solution = solve(a_solver_week([a_solver_agent("ana", range(0, 16))], solver_demand(range(0, 16)), rules), FAST)
    assert worked(solution.shifts) == list(range(16))
    assert not any(s.after_break for s in solution.shifts)


def test_roster_violations_reads_breaks_from_after_break() -> None:
    problem = a_solver_week([a_solver_agent("ana", range(0, 20))], solver_demand(range(0, 20)), BREAKS)
    good = [Shift("ana", "support", 0, 6), Shift("ana", "support", 7, 13, after_break=True)]
    assert roster_violations(problem, good) == [] == violations(problem, good)
    unflagged = [Shift("ana", "support", 0, 6), Shift("ana", "support", 7, 13)]
    assert roster_violations(problem, unflagged)  # two short shifts, one slot of rest
    assert violations(problem, unflagged)
    long_break = [Shift("ana", "support", 0, 6), Shift("ana", "support", 8, 14, after_break=True)]
    assert roster_violations(problem, long_break)
    assert violations(problem, long_break)
    too_long = [Shift("ana", "support", 0, 8)]
    assert any("in a row" in v for v in roster_violations(problem, too_long))
    assert violations(problem, too_long)
    two_breaks = [
        Shift("ana", "support", 0, 4),
        Shift("ana", "support", 5, 9, after_break=True),
        Shift("ana", "support", 10, 14, after_break=True),
    ]
    assert any("second break" in v for v in roster_violations(problem, two_breaks))
    assert violations(problem, two_breaks)
    no_rule = a_solver_week([a_solver_agent("ana", range(0, 20))], [], SiteRules(min_shift_slots=2, min_rest_slots=0))
    assert roster_violations(no_rule, good)
    assert violations(no_rule, good)


def test_roster_violations_catches_the_plain_rules() -> None:
    rules = SiteRules(min_shift_slots=4, max_shift_slots=8, min_rest_slots=10, weekly_cap_slots=10)
    fixed = [FixedAssignment("bo", "support", 60, 64)]
    problem = a_solver_week(
        [a_solver_agent("ana", range(0, 40)), a_solver_agent("bo", range(60, 70))], [], rules, fixed=fixed
    )
    assert roster_violations(problem, [Shift("ana", "support", 0, 4), Shift("bo", "support", 60, 64)]) == []
    cases = {
        "outside offers": [Shift("ana", "support", 38, 42)],
        "not certified": [Shift("ana", "sales", 0, 4)],
        "too short": [Shift("ana", "support", 0, 3)],
        "too long": [Shift("ana", "support", 0, 9)],
        "rest": [Shift("ana", "support", 0, 4), Shift("ana", "support", 8, 12)],
        "cap": [Shift("ana", "support", 0, 6), Shift("ana", "support", 20, 26)],
        "two at once": [Shift("ana", "support", 0, 4), Shift("ana", "support", 2, 6)],
        "unknown agent": [Shift("zed", "support", 0, 4)],
    }
    for name, shifts in cases.items():
        full = [*shifts, Shift("bo", "support", 60, 64)]
        assert roster_violations(problem, full), name
        assert violations(problem, full), name
    assert roster_violations(problem, [])  # bo's fixed slots are not worked
    assert violations(problem, [])


def a_busy_week(agents: int = 40) -> Problem:
    people = [
        a_solver_agent(f"a{n}", [t for day in range(7) for t in range(day * 48 + 14 + n % 5, day * 48 + 40 - n % 3)])
        for n in range(agents)
    ]
    requirements = [
        Requirement("support", t, 5 + (t % 48) % 7) for day in range(7) for t in range(day * 48 + 14, day * 48 + 46)
    ]
    rules = SiteRules(
        min_shift_slots=8, max_shift_slots=16, min_rest_slots=20, weekly_cap_slots=60, break_after_slots=10
    )
    return Problem(first_slot=0, slot_count=336, agents=people, requirements=requirements, rules=rules)


def test_progress_is_reported_and_callbacks_that_raise_are_swallowed() -> None:
    seen: list[Progress] = []

    def record(progress: Progress) -> None:
        seen.append(progress)
        raise RuntimeError("a broken queue must not kill the solve")

    def flaky() -> bool:
        raise RuntimeError("nor a broken stop flag")

    problem = a_busy_week()
    solution = solve(problem, SolverSettings(time_limit_seconds=8, workers=2), on_progress=record, should_stop=flaky)
    assert seen
    assert seen[0].stage == "coverage"
    assert all(isinstance(p.elapsed_seconds, float) for p in seen)
    assert any(p.objective is not None and p.under_coverage_slots is not None for p in seen)
    assert not solution.cancelled
    assert violations(problem, solution.shifts) == []


def test_should_stop_cancels_and_returns_the_best_roster_so_far() -> None:
    problem = a_busy_week()
    asked = []

    def stop_after_a_second() -> bool:
        asked.append(time.perf_counter())
        return asked[-1] - asked[0] > 1.0

    solution = solve(problem, SolverSettings(time_limit_seconds=60, workers=2), should_stop=stop_after_a_second)
    assert solution.cancelled  # stopped on the request, not at the 60 s limit (no wall-clock assertion: load varies)
    assert solution.status == "feasible"
    assert solution.shifts
    assert violations(problem, solution.shifts) == []


def test_stop_at_once_still_returns_a_valid_roster() -> None:
    problem = a_busy_week(10)
    solution = solve(problem, FAST, should_stop=lambda: True)
    assert solution.cancelled
    assert solution.stages == []
    assert solution.status == "feasible"  # the greedy start
    assert violations(problem, solution.shifts) == []


@pytest.mark.parametrize(
    "problem",
    [
        a_solver_week([], solver_demand(range(0, 8)), BREAKS),
        a_solver_week([a_solver_agent("ana", range(0, 16))], [], BREAKS),
        a_solver_week([a_solver_agent("ana", range(0, 16), weekly_cap_slots=0)], solver_demand(range(0, 16)), BREAKS),
        a_solver_week(
            [a_solver_agent("ana", range(0, 16))], solver_demand(range(0, 16)), SiteRules(weekly_cap_slots=0)
        ),
        a_solver_week([a_solver_agent("ana", [])], solver_demand(range(0, 16)), BREAKS),
        a_solver_week([a_solver_agent("ana", range(0, 16), skills=())], solver_demand(range(0, 16)), BREAKS),
        a_solver_week(
            [a_solver_agent("ana", range(0, 16))], solver_demand(range(0, 16)), SiteRules(max_shifts_per_day=0)
        ),
        Problem(
            first_slot=0,
            slot_count=0,
            agents=[a_solver_agent("ana", range(0, 16))],
            requirements=solver_demand(range(16)),
        ),
        a_solver_week([a_solver_agent("ana", range(0, 16))], solver_demand(range(0, 16), agents=0), BREAKS),
    ],
    ids=[
        "no agents",
        "no demand",
        "agent cap 0",
        "site cap 0",
        "no offers",
        "no skills",
        "no shifts",
        "no slots",
        "zero seats",
    ],
)
def test_empty_inputs_give_a_clear_result(problem: Problem) -> None:
    solution = solve(problem, FAST)
    assert solution.status == "optimal"
    assert solution.gap == 0
    assert violations(problem, solution.shifts) == []
    assert greedy_roster(problem) == [] or violations(problem, greedy_roster(problem)) == []


def test_a_locked_edit_against_the_rules_is_infeasible_not_a_crash() -> None:
    fixed = [FixedAssignment("ana", "support", 0, 3)]  # shorter than the minimum shift
    problem = a_solver_week([a_solver_agent("ana", range(0, 3))], solver_demand(range(0, 16)), BREAKS, fixed=fixed)
    solution = solve(problem, FAST)
    assert solution.status == "infeasible"
    assert solution.shifts == []
    assert roster_violations(problem, greedy_roster(problem))
