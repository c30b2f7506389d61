"""Benchmark for the roster solver: a realistic week of 60 part-timers, 3 skills, 336 slots.

Run with ``.venv/bin/python -m tests.bench.solver``. Students offer evenings,
parents school hours (09-15), retirees mornings; demand follows the demo's daily
shape. Each run solves the week with a 30 s limit and the machine's cores;
the table gives medians over the runs (different seeds, same week) of time to
the first feasible roster, time until the solver stopped (all stages optimal,
or the limit), and the coverage stage's gaps: objective against its best bound,
and under-coverage against the matching lower bound.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import random
import statistics

from backend.core.slots import SLOT_SECONDS
from backend.demand.demo import daily_shape
from backend.roster.solver import Agent, Offer, Problem, Requirement, SiteRules, Solution, SolverSettings, solve

RUNS = 3
TIME_LIMIT_SECONDS = 30.0
WEEK_SLOTS = 336
FIRST_SLOT = int(dt.datetime(2026, 11, 30, tzinfo=dt.UTC).timestamp()) // SLOT_SECONDS
PEAK_AGENTS = {"support": 7, "sales": 3, "tech": 2}
PROFILES = {
    "student": {"hours": (17, 23), "days": (0, 1, 2, 3, 4, 5, 6), "cap_slots": 32},
    "parent": {"hours": (9, 15), "days": (0, 1, 2, 3, 4), "cap_slots": 40},
    "retiree": {"hours": (7, 12), "days": (0, 1, 2, 3, 4, 5), "cap_slots": 30},
}


def a_part_timer(rng: random.Random, number: int, profile: str) -> Agent:
    """An agent offering most of their profile's days, with the edges of each day only 'if needed'."""
    shape = PROFILES[profile]
    first_hour, last_hour = shape["hours"]  # type: ignore[misc]
    offers = []
    for day in shape["days"]:  # type: ignore[attr-defined]
        if rng.random() < 0.3:
            continue
        start = first_hour * 2 + rng.randint(0, 2)
        end = last_hour * 2 - rng.randint(0, 2)
        offers += [
            Offer(slot=FIRST_SLOT + day * 48 + half, preferred=start + 1 < half < end - 2) for half in range(start, end)
        ]
    skills = ["support"] + (["sales"] if number % 2 else []) + (["tech"] if number % 3 == 0 else [])
    return Agent(
        agent_id=f"{profile}-{number}",
        skills=skills,
        offers=offers,
        pool="elastic" if number % 5 == 0 else "backbone",
        weekly_cap_slots=shape["cap_slots"],  # type: ignore[arg-type]
        hourly_cost_minor=rng.randint(1800, 2600),
    )


def a_week() -> Problem:
    rng = random.Random(2026)
    agents = [a_part_timer(rng, n, profile) for profile in PROFILES for n in range(20)]
    requirements = []
    for index in range(WEEK_SLOTS):
        hour = (index % 48) / 2
        weekend = 0.6 if index // 48 >= 5 else 1.0
        for skill, peak in PEAK_AGENTS.items():
            agents_needed = round(peak * daily_shape(hour) * weekend)
            if agents_needed:
                priority = 3 if 9 <= hour < 21 else 1
                requirements.append(Requirement(skill, FIRST_SLOT + index, agents_needed, priority))
    rules = SiteRules(min_shift_slots=4, max_shift_slots=12, max_shifts_per_day=1, min_rest_slots=16)
    return Problem(first_slot=FIRST_SLOT, slot_count=WEEK_SLOTS, agents=agents, requirements=requirements, rules=rules)


def stopped_optimal(solution: Solution) -> str:
    return "all stages optimal" if solution.status == "optimal" else "limit"


def main() -> None:
    problem = a_week()
    workers = os.cpu_count() or 1
    runs = [solve(problem, SolverSettings(TIME_LIMIT_SECONDS, workers, seed)) for seed in range(RUNS)]
    machine = f"{platform.node()} ({platform.machine()}, {workers} cores, Python {platform.python_version()})"
    offered = sum(len(a.offers) for a in problem.agents)
    needed = sum(r.agents for r in problem.requirements)
    print(f"# Roster solver, {dt.date.today()}, {machine}")
    print(
        f"{len(problem.agents)} agents, {len(PEAK_AGENTS)} skills, {WEEK_SLOTS} slots, "
        f"{offered} offered agent-slots, {needed} required agent-slots; "
        f"limit {TIME_LIMIT_SECONDS:.0f} s, medians of {RUNS} runs\n"
    )
    print("| measure | median | runs |")
    print("| --- | --- | --- |")
    rows = {
        "time to first feasible (s)": [r.first_feasible_seconds or float("nan") for r in runs],
        "coverage stage wall (s)": [r.stages[0].wall_seconds for r in runs],
        "total wall, all 5 stages (s)": [r.wall_seconds for r in runs],
        "under-coverage (slots)": [r.under_coverage_slots for r in runs],
        "lower bound on under-coverage (slots)": [r.lower_bound_under for r in runs],
        "gap to lower bound (slots)": [r.gap or 0 for r in runs],
        "over-coverage (slots)": [r.over_coverage_slots for r in runs],
        "coverage objective": [r.objective or 0 for r in runs],
        "coverage best bound": [r.best_bound or 0 for r in runs],
    }
    for measure, values in rows.items():
        shown = ", ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in values)
        median = statistics.median(values)
        print(
            f"| {measure} | {median:.2f} | {shown} |"
            if isinstance(median, float)
            else f"| {measure} | {median} | {shown} |"
        )
    print(f"| stopped by | | {', '.join(stopped_optimal(r) for r in runs)} |")
    print(f"| stage statuses (run 1) | | {', '.join(f'{s.name}: {s.status}' for s in runs[0].stages)} |")


if __name__ == "__main__":
    main()
