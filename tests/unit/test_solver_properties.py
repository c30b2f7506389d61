"""Property tests: random small weeks, every roster checked by the independent validator (not the solver's rules)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.roster.solver import (
    Agent,
    FixedAssignment,
    Offer,
    Problem,
    Requirement,
    SiteRules,
    SolverSettings,
    greedy_roster,
    roster_violations,
    solve,
    under_coverage_lower_bound,
)
from tests.unit.roster_validator import violations

TINY = SolverSettings(time_limit_seconds=1, workers=2, seed=3)
SKILLS = ("support", "sales")


@st.composite
def weeks(draw: st.DrawFn) -> Problem:
    breaks = draw(st.booleans())
    rules = SiteRules(
        min_shift_slots=draw(st.integers(1, 6)),
        max_shift_slots=draw(st.integers(6, 12)),
        max_shifts_per_day=draw(st.integers(1, 2)),
        min_rest_slots=draw(st.integers(0, 10)),
        weekly_cap_slots=draw(st.none() | st.integers(0, 30)),
        break_after_slots=draw(st.integers(2, 6)) if breaks else None,
        break_slots=draw(st.integers(1, 2)),
    )
    agents = []
    for number in range(draw(st.integers(0, 4))):
        slots: set[int] = set()
        for _ in range(draw(st.integers(0, 3))):
            start = draw(st.integers(0, 90))
            slots |= set(range(start, min(96, start + draw(st.integers(1, 16)))))
        offers = [Offer(t, preferred=draw(st.booleans())) for t in sorted(slots)]
        skills = sorted(draw(st.sets(st.sampled_from(SKILLS), min_size=0, max_size=2)))
        cap = draw(st.none() | st.integers(0, 24))
        pool = draw(st.sampled_from(["backbone", "backbone", "elastic"]))
        agents.append(Agent(f"a{number}", skills, offers, pool=pool, weekly_cap_slots=cap))
    core_fixed = []
    if draw(st.booleans()):
        agents.append(Agent("core", ["support"], pool="core"))
        start = draw(st.integers(0, 80))
        core_fixed.append(FixedAssignment("core", "support", start, start + draw(st.integers(1, 12))))
    requirements = [
        Requirement(skill, t, draw(st.integers(0, 2)), priority=draw(st.integers(1, 3)))
        for skill in SKILLS
        for t in range(0, 96, 3)
    ]
    return Problem(first_slot=0, slot_count=96, agents=agents, requirements=requirements, rules=rules, fixed=core_fixed)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weeks())
def test_solver_rosters_obey_every_rule(problem: Problem) -> None:
    solution = solve(problem, TINY)
    assert solution.status in {"optimal", "feasible"}
    assert violations(problem, solution.shifts) == []
    assert roster_violations(problem, solution.shifts) == []
    assert solution.lower_bound_under <= solution.under_coverage_slots
    assert all(a.given_slots <= a.offered_slots for a in solution.agents if a.agent_id != "core")


@settings(max_examples=60, deadline=None)
@given(weeks())
def test_greedy_rosters_obey_every_rule(problem: Problem) -> None:
    shifts = greedy_roster(problem)
    assert violations(problem, shifts) == []
    assert roster_violations(problem, shifts) == []


@settings(max_examples=60, deadline=None)
@given(weeks())
def test_the_two_checkers_agree_on_greedy_rosters_with_one_shift_moved(problem: Problem) -> None:
    shifts = greedy_roster(problem)
    moved = [*shifts[1:], *(s.__class__(s.agent_id, s.skill, s.start_slot + 1, s.end_slot + 1) for s in shifts[:1])]
    assert bool(violations(problem, moved)) == bool(roster_violations(problem, moved))


@settings(max_examples=40, deadline=None)
@given(weeks())
def test_lower_bound_never_exceeds_the_greedy_roster(problem: Problem) -> None:
    shifts = greedy_roster(problem)
    need = {(r.skill, r.slot): r.agents for r in problem.requirements}
    for s in shifts:
        for t in range(s.start_slot, s.end_slot):
            if (s.skill, t) in need:
                need[s.skill, t] -= 1
    assert under_coverage_lower_bound(problem) <= sum(max(0, v) for v in need.values())
