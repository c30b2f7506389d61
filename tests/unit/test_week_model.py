"""The candidate-shift model and its LP relaxation: shapes, rows, pooled skills and the lower bound."""

from __future__ import annotations

import itertools

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.roster.relaxation import Relaxation, coverage_costs, used_columns
from backend.roster.solver import (
    Problem,
    Requirement,
    Shift,
    SiteRules,
    SolverSettings,
    solve,
)
from backend.roster.week_model import Shape, build_week, candidate_shapes, obeys_rules, shapes_of
from tests.factories import a_solver_agent, a_solver_week
from tests.unit.roster_validator import violations

BREAKS = SiteRules(min_shift_slots=8, max_shift_slots=16, min_rest_slots=4, break_after_slots=6, break_slots=1)


def week_of(problem: Problem):
    available = {a.agent_id: {o.slot: o.preferred for o in a.offers} for a in problem.agents}
    return build_week(problem, available, {}, {a.agent_id: 0 for a in problem.agents})


def test_every_candidate_obeys_the_rules_and_none_is_missing() -> None:
    offered = set(range(0, 14)) | set(range(20, 40))
    shapes = candidate_shapes(offered, BREAKS, every_break=True)
    assert shapes
    assert all(obeys_rules(s, BREAKS, offered) for s in shapes)
    everything = {
        Shape(start, length, at)
        for start in range(0, 48)
        for length in range(1, 20)
        for at in [None, *range(0, 20)]
        if obeys_rules(Shape(start, length, at), BREAKS, offered)
    }
    assert set(shapes) == everything


def test_ordinary_candidates_put_the_break_mid_shift() -> None:
    for shape in candidate_shapes(set(range(0, 16)), BREAKS):
        if shape.break_at is not None:
            second = shape.length - shape.break_at - BREAKS.break_slots
            assert abs(shape.break_at - second) <= 1
    assert Shape(0, 13, 6) in candidate_shapes(set(range(0, 16)), BREAKS)  # 6 + break + 6


def test_a_roster_reads_back_into_the_shapes_it_came_from() -> None:
    rows = [
        Shift("ana", "support", 0, 4),
        Shift("ana", "sales", 4, 6),  # a skill switch inside one shift
        Shift("ana", "support", 7, 12, after_break=True),
        Shift("ana", "support", 30, 38),
    ]
    assert shapes_of(rows, break_slots=1) == {"ana": [Shape(0, 12, 6), Shape(30, 8)]}


def test_two_shifts_of_one_agent_never_touch_even_without_rest() -> None:
    rules = SiteRules(min_shift_slots=4, max_shift_slots=4, max_shifts_per_day=2, min_rest_slots=0)
    problem = a_solver_week(
        [a_solver_agent("ana", range(0, 8))], [Requirement("support", t, 1) for t in range(8)], rules
    )
    solution = solve(problem, SolverSettings(time_limit_seconds=5, workers=2))
    assert len(solution.shifts) == 1  # 0-4 and 4-8 would read as one shift of 8
    assert violations(problem, solution.shifts) == []


def test_agents_with_the_same_skills_share_one_choice_per_slot() -> None:
    agents = [a_solver_agent(name, range(0, 8), ("sales", "support")) for name in ("ana", "bo", "cy")]
    demand = [Requirement(skill, t, 1) for skill in ("sales", "support") for t in range(8)]
    week = week_of(a_solver_week(agents, demand, SiteRules(min_shift_slots=4, max_shift_slots=8)))
    assert {key[0] for key in week.y_keys} == {("sales", "support")}
    assert len(week.y_keys) == 2 * 8  # two skills x eight slots, not x three agents
    assert {week.upper(week.x_count + i) for i in range(len(week.y_keys))} == {3}


def test_pooled_skills_come_back_to_agents_without_needless_switches() -> None:
    agents = [a_solver_agent(name, range(0, 8), ("sales", "support")) for name in ("ana", "bo")]
    demand = [Requirement(skill, t, 1) for skill in ("sales", "support") for t in range(8)]
    problem = a_solver_week(agents, demand, SiteRules(min_shift_slots=8, max_shift_slots=8))
    solution = solve(problem, SolverSettings(time_limit_seconds=5, workers=2))
    assert solution.under_coverage_slots == 0
    assert sorted((s.agent_id, s.start_slot, s.end_slot) for s in solution.shifts) == [("ana", 0, 8), ("bo", 0, 8)]
    assert {s.skill for s in solution.shifts} == {"sales", "support"}
    assert violations(problem, solution.shifts) == []


def test_shares_follow_what_the_roster_gives_out_in_proportion_and_within_the_cap() -> None:
    rules = SiteRules(min_shift_slots=4, max_shift_slots=8, weekly_cap_slots=30)
    problem = a_solver_week([a_solver_agent("ana", range(0, 40)), a_solver_agent("bo", range(0, 20))], [], rules)
    available = {a.agent_id: {o.slot: o.preferred for o in a.offers} for a in problem.agents}
    week = build_week(problem, available, {}, {"ana": 20, "bo": 10})
    assert week.give_out(15) is True
    assert week.targets == [10, 5]
    assert [(row.lo, row.hi) for row in week.share_rows] == [(10, 10), (5, 5)]
    assert week.give_out(15) is False
    week.give_out(60)
    assert week.targets == [30, 20]  # ana's 40 is over the weekly cap


def test_column_generation_reaches_the_lp_over_every_shape() -> None:
    agents = [a_solver_agent(f"a{n}", range(3 * n, 3 * n + 20), ("support", "sales")[: 1 + n % 2]) for n in range(6)]
    demand = [Requirement("support", t, 2) for t in range(40)] + [Requirement("sales", t, 1) for t in range(10, 30)]
    week = week_of(a_solver_week(agents, demand, BREAKS))
    relaxation = Relaxation(week)
    full = relaxation.minimize(coverage_costs(week))
    priced = relaxation.priced(coverage_costs(week), {0}, deadline=float("inf"))
    assert full is not None
    assert priced is not None
    assert abs(full.objective - priced.objective) < 1e-6
    assert len(used_columns(priced.values, week)) < week.x_count
    assert priced.under_coverage_bound() == full.under_coverage_bound()


@st.composite
def tiny_weeks(draw: st.DrawFn) -> Problem:
    agents = []
    for number in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, 12))
        skills = draw(st.sampled_from([("support",), ("sales",), ("sales", "support")]))
        agents.append(a_solver_agent(f"a{number}", range(start, start + draw(st.integers(2, 12))), skills))
    demand = [
        Requirement(skill, t, draw(st.integers(0, 2)), priority=draw(st.integers(1, 2)))
        for skill in ("support", "sales")
        for t in range(0, 24, 3)
    ]
    rules = SiteRules(min_shift_slots=2, max_shift_slots=6, max_shifts_per_day=1, min_rest_slots=2)
    return a_solver_week(agents, demand, rules)


def brute_force_under(problem: Problem) -> int:
    """The least under-coverage over every roster: each agent one shape or none, then per slot the best skills."""
    week = week_of(problem)
    by_agent = [[None, *[s for a, s in week.columns if a == index]] for index in range(len(problem.agents))]
    need = {(r.skill, r.slot): r.agents for r in problem.requirements}
    best = sum(need.values())
    for choice in itertools.product(*by_agent):
        under = 0
        for slot in range(problem.slot_count):
            working = [a for a, shape in zip(problem.agents, choice, strict=True) if shape and slot in shape.worked(1)]
            open_seats = {skill: need.get((skill, slot), 0) for skill in ("support", "sales")}
            under += min(
                sum(max(0, n - sum(1 for k in skills if k == skill)) for skill, n in open_seats.items())
                for skills in itertools.product(*[a.skills for a in working])
            )
        best = min(best, under)
    return best


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_weeks())
def test_the_lp_bound_never_exceeds_the_best_roster(problem: Problem) -> None:
    """With one shift a week per agent (a 24-slot week), a brute force over shapes and skills finds the optimum."""
    problem = Problem(0, 24, problem.agents, problem.requirements, problem.rules)
    week = week_of(problem)
    found = Relaxation(week).minimize(coverage_costs(week))
    assert found is not None
    best = brute_force_under(problem)
    assert found.under_coverage_bound() <= best
    solution = solve(problem, SolverSettings(time_limit_seconds=5, workers=2))
    assert solution.lower_bound_under <= best <= solution.under_coverage_slots


def test_a_re_solve_gives_pooled_agents_back_the_skills_they_had() -> None:
    agents = [a_solver_agent(name, range(0, 16), ("sales", "support")) for name in ("ana", "bo", "cy", "dee")]
    demand = [Requirement(skill, t, 2) for skill in ("sales", "support") for t in range(16)]
    problem = a_solver_week(agents, demand, SiteRules(min_shift_slots=16, max_shift_slots=16))
    first = solve(problem, SolverSettings(time_limit_seconds=5, workers=2))
    skill_of = {s.agent_id: s.skill for s in first.shifts}
    assert len(first.shifts) == 4
    assert sorted(skill_of.values()) == ["sales", "sales", "support", "support"]
    # the coordinator's draft had the skills the other way round: a re-solve keeps them so
    other = {"sales": "support", "support": "sales"}
    draft = msgspec.structs.replace(
        first, shifts=[msgspec.structs.replace(s, skill=other[s.skill]) for s in first.shifts]
    )
    again = solve(problem, SolverSettings(time_limit_seconds=5, workers=2), hint=draft)
    assert sorted(again.shifts, key=str) == sorted(draft.shifts, key=str)
