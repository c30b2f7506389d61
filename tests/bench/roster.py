"""Benchmark of the roster solver on seeded gig weeks, side by side with a greedy roster and pyworkforce.

Run: ``python tests/bench/roster.py --size S|M|L|XL [--tight] [--runs N] [--json] [--resolve]``.

A week is 7 x 48 slots, service 07:00-23:00. Each agent is available 3-6 days,
one or two windows of 4-10 h a day, 20% of windows "preferred" (the rest "if
needed"); three skills, 60% of agents single-skilled and 40% dual. Demand is a
double-peaked day (10:30 and 19:00) times weekday factors, split over the skills
50/30/20, turned into agents by Erlang C (``backend.demand.erlang``, 80/20,
AHT 300 s, 30% shrinkage), and its volume scaled so that required agent-hours are
45% of offered agent-hours (70% with ``--tight``). Rules: shifts 4-8 h (8-16
slots), one a day, 10 h rest, 40 h a week, at most 5 h worked in a row with a
30-minute break (``break_after_slots=10``).

Every solver runs in a fresh child process (``multiprocessing`` spawn), so
``peak_mb`` is that process's peak resident set (``ru_maxrss``), interpreter and
imports included (about 110 MB of it is Python + OR-Tools before any model).
``seconds`` is the median wall time of the runs, model building included,
measured in the child. Quality figures are those of the median run. Violations
come from the independent checker in ``tests/unit/roster_validator.py``.

Solvers:
- ``weft``: ``backend.roster.solver.solve`` with the size's time limit and 2 workers;
- ``greedy``: ``backend.roster.greedy.greedy_roster`` alone (also weft's warm start);
- ``pyworkforce``: its Erlang C per slot (skills pooled: it has no skills), its
  ``MinAbsDifference`` shift scheduling over 4 h and 8 h templates (the 8 h ones
  with a 30-minute break after 4.5 h), then its ``MinHoursRoster`` with every
  agent-day-template outside the agent's offers banned and too-short rests
  forbidden; skills are then given greedily. It must staff every scheduled
  template seat, so on gig availability it usually finds no roster: reported as is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import multiprocessing
import os
import platform
import random
import resource
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from backend.demand.erlang import Targets, erlang_c_staffing
from backend.roster.greedy import greedy_roster
from backend.roster.solver import (
    Agent,
    Offer,
    Problem,
    Requirement,
    Shift,
    SiteRules,
    Solution,
    SolverSettings,
    solve,
    week_lower_bound,
)
from tests.unit.roster_validator import violations

SIZES = {"S": 50, "M": 200, "L": 500, "XL": 2000}
TIME_LIMITS = {"S": 5.0, "M": 30.0, "L": 60.0, "XL": 300.0}
SKILLS = ("support", "sales", "tech")
SKILL_SHARE = (0.5, 0.3, 0.2)
WEEKDAY = (1.1, 1.0, 1.0, 1.0, 1.05, 0.8, 0.7)
OPEN, CLOSE = 14, 46  # 07:00 and 23:00 in slots of the day
AHT_SECONDS = 300.0
RULES = SiteRules(
    min_shift_slots=8,
    max_shift_slots=16,
    max_shifts_per_day=1,
    min_rest_slots=20,
    weekly_cap_slots=80,
    break_after_slots=10,
    break_slots=1,
)
WORKERS = 2


# The week -------------------------------------------------------------------


def an_agent(rng: random.Random, number: int) -> Agent:
    offers: list[Offer] = []
    for day in sorted(rng.sample(range(7), rng.randint(3, 6))):
        windows = 1 if rng.random() < 0.6 else 2
        lengths = [rng.randint(8, 20) for _ in range(windows)]
        if windows == 2 and sum(lengths) + 2 > CLOSE - OPEN:
            lengths = [lengths[0]]
        free = CLOSE - OPEN - sum(lengths) - (len(lengths) - 1) * 2
        cuts = sorted(rng.randint(0, free) for _ in lengths)
        start = OPEN
        for index, length in enumerate(lengths):
            start = OPEN + cuts[index] + sum(lengths[:index]) + index * 2
            preferred = rng.random() < 0.2
            offers += [Offer(day * 48 + start + i, preferred) for i in range(length)]
    single = rng.random() < 0.6
    skills = [rng.choices(SKILLS, SKILL_SHARE)[0]] if single else sorted(rng.sample(SKILLS, 2))
    return Agent(agent_id=f"a{number:04d}", skills=skills, offers=offers, hourly_cost_minor=rng.randint(1800, 2600))


def day_shape(slot_of_day: int) -> float:
    if not OPEN <= slot_of_day < CLOSE:
        return 0.0
    hour = slot_of_day / 2 + 0.25
    return 0.25 + math.exp(-(((hour - 10.5) / 1.8) ** 2)) + 0.9 * math.exp(-(((hour - 19.0) / 2.0) ** 2))


def contacts_per_slot(volume: float) -> dict[tuple[str, int], float]:
    return {
        (skill, day * 48 + t): volume * WEEKDAY[day] * day_shape(t) * share
        for day in range(7)
        for t in range(48)
        for skill, share in zip(SKILLS, SKILL_SHARE, strict=True)
        if day_shape(t) > 0
    }


def staffing(volume: float) -> dict[tuple[str, int], int]:
    targets = Targets()
    return {
        cell: erlang_c_staffing(contacts=c, aht=AHT_SECONDS, interval=1800, targets=targets).agents
        for cell, c in contacts_per_slot(volume).items()
    }


def a_week(size: str, tight: bool = False, seed: int = 2026) -> tuple[Problem, float]:
    """The seeded week and the contact volume that gives the wanted load."""
    rng = random.Random(f"{seed}-{size}")
    agents = [an_agent(rng, n) for n in range(SIZES[size])]
    offered = sum(len(a.offers) for a in agents)
    wanted = offered * (0.70 if tight else 0.45)
    low, high = 0.0, 10.0
    while sum(staffing(high).values()) < wanted:
        high *= 2
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if sum(staffing(middle).values()) < wanted else (low, middle)
    required = staffing(high)
    requirements = [
        Requirement(skill, slot, agents, priority=2 if 18 <= slot % 48 < 42 else 1)
        for (skill, slot), agents in sorted(required.items())
        if agents
    ]
    return Problem(first_slot=0, slot_count=336, agents=agents, requirements=requirements, rules=RULES), high


# Measures -------------------------------------------------------------------


def fair_shares(problem: Problem) -> dict[str, float]:
    """Each agent's fair share: useful offered slots times needed / useful offered in total (at most the cap)."""
    need = {(r.skill, r.slot) for r in problem.requirements if r.agents > 0}
    needed = sum(r.agents for r in problem.requirements)
    useful = {
        a.agent_id: sum(1 for o in a.offers if any((k, o.slot) in need for k in a.skills)) for a in problem.agents
    }
    total = sum(useful.values()) or 1
    ratio = min(1.0, needed / total)
    return {aid: min(u * ratio, RULES.weekly_cap_slots or math.inf) for aid, u in useful.items()}


def gini(values: list[float]) -> float:
    values = sorted(values)
    n, total = len(values), sum(values)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * v for i, v in enumerate(values))
    return (2 * weighted) / (n * total) - (n + 1) / n


def measures(problem: Problem, shifts: list[Shift]) -> dict[str, Any]:
    required = {(r.skill, r.slot): r.agents for r in problem.requirements}
    scheduled: dict[tuple[str, int], int] = defaultdict(int)
    given: dict[str, int] = defaultdict(int)
    preferred_used = 0
    preferred = {(a.agent_id, o.slot) for a in problem.agents for o in a.offers if o.preferred}
    for s in shifts:
        for t in range(s.start_slot, s.end_slot):
            scheduled[s.skill, t] += 1
            given[s.agent_id] += 1
            preferred_used += (s.agent_id, t) in preferred
    under = sum(max(0, need - scheduled.get(cell, 0)) for cell, need in required.items())
    over = sum(max(0, n - required.get(cell, 0)) for cell, n in scheduled.items())
    shares = fair_shares(problem)
    ratios = [given[aid] / share for aid, share in shares.items() if share > 0]
    offered_preferred = len(preferred)
    worked = sum(given.values())
    return {
        "required_hours": sum(required.values()) / 2,
        "under_coverage_hours": under / 2,
        "over_coverage_hours": over / 2,
        "paid_hours": worked / 2,
        "gini": round(gini(ratios), 4),
        "starved_agents": sum(1 for aid, share in shares.items() if share >= 8 and given[aid] == 0),
        "preference_hit_rate": round(preferred_used / worked, 4) if worked else 0.0,
        "preferred_offered_share": round(offered_preferred / max(1, sum(len(a.offers) for a in problem.agents)), 4),
        "violations": len(violations(problem, shifts)),
    }


# Solvers (each in a child process) -----------------------------------------


def run_weft(problem: Problem, limit: float, seed: int) -> dict[str, Any]:
    solution = solve(problem, SolverSettings(time_limit_seconds=limit, workers=WORKERS, seed=seed))
    return {
        "shifts": solution.shifts,
        "status": solution.status,
        "first_feasible_seconds": solution.first_feasible_seconds,
        "stages": [f"{s.name}:{s.status}:{s.wall_seconds:.1f}s" for s in solution.stages],
        "solution": solution,
    }


def run_greedy(problem: Problem, limit: float, seed: int) -> dict[str, Any]:
    return {"shifts": greedy_roster(problem), "status": "feasible"}


TEMPLATES: dict[str, tuple[int, int, int | None]] = {}  # name -> (start slot of day, length, break offset)
for _start in range(OPEN, CLOSE - 7, 2):
    TEMPLATES[f"4h@{_start}"] = (_start, 8, None)
    if _start + 16 <= CLOSE:
        TEMPLATES[f"8h@{_start}"] = (_start, 16, 9)


def run_pyworkforce(problem: Problem, limit: float, seed: int, volume: float = 0.0) -> dict[str, Any]:
    from pyworkforce.queuing import ErlangC
    from pyworkforce.rostering import MinHoursRoster
    from pyworkforce.scheduling import MinAbsDifference

    required = [[0] * 48 for _ in range(7)]
    for (_, slot), contacts in contacts_per_slot(volume).items():
        if contacts <= 0:
            continue
        erlang = ErlangC(transactions=contacts, aht=AHT_SECONDS / 60, asa=20 / 60, interval=30, shrinkage=0.3)
        positions = erlang.required_positions(service_level=0.8, max_occupancy=0.85)
        required[slot // 48][slot % 48] += positions["positions"]
    coverage = {}
    for name, (start, length, pause) in TEMPLATES.items():
        row = [0] * 48
        for i in range(length):
            if pause is None or i != pause:
                row[start + i] = 1
        coverage[name] = row
    agents = len(problem.agents)
    scheduler = MinAbsDifference(
        num_days=7,
        periods=48,
        shifts_coverage=coverage,
        required_resources=required,
        max_period_concurrency=agents,
        max_shift_concurrency=agents,
        max_search_time=limit / 2,
        num_search_workers=WORKERS,
    )
    plan = scheduler.solve()
    if plan["status"] not in ("OPTIMAL", "FEASIBLE"):
        return {"shifts": [], "status": f"scheduling {plan['status']}", "no_roster": True}
    names = list(TEMPLATES)
    per_shift = {name: [0] * 7 for name in names}
    for item in plan["resources_shifts"]:
        per_shift[item["shift"]][item["day"]] = item["resources"]
    offered = {a.agent_id: {o.slot for o in a.offers} for a in problem.agents}
    banned = []
    for agent in problem.agents:
        for day in range(7):
            for name, (start, length, _) in TEMPLATES.items():
                if any(day * 48 + start + i not in offered[agent.agent_id] for i in range(length)):
                    banned.append({"resource": agent.agent_id, "shift": name, "day": day})
    non_sequential = [
        {"origin": a, "destination": b}
        for a, (sa, la, _) in TEMPLATES.items()
        for b, (sb, _, _) in TEMPLATES.items()
        if 48 + sb - (sa + la) < RULES.min_rest_slots
    ]
    roster = MinHoursRoster(
        num_days=7,
        resources=[a.agent_id for a in problem.agents],
        shifts=names,
        shifts_hours=[TEMPLATES[n][1] // 2 for n in names],
        min_working_hours=0,
        banned_shifts=banned,
        max_resting=7,
        required_resources=per_shift,
        non_sequential_shifts=non_sequential,
        max_search_time=limit / 2,
        num_search_workers=WORKERS,
    )
    result = roster.solve()
    if result.get("status") not in ("OPTIMAL", "FEASIBLE"):
        return {"shifts": [], "status": f"rostering {result.get('status')}", "no_roster": True}
    need = {(r.skill, r.slot): r.agents for r in problem.requirements}
    agents_by_id = {a.agent_id: a for a in problem.agents}
    shifts: list[Shift] = []
    for item in result["resource_shifts"]:
        agent = agents_by_id[item["resource"]]
        start, length, pause = TEMPLATES[item["shift"]]
        base = item["day"] * 48 + start
        for i in range(length):
            if pause is not None and i == pause:
                continue
            t = base + i
            skill = max(agent.skills, key=lambda k, t=t: need.get((k, t), 0))
            need[skill, t] = need.get((skill, t), 0) - 1
            shifts.append(Shift(agent.agent_id, skill, t, t + 1, after_break=pause is not None and i == pause + 1))
    return {"shifts": shifts, "status": result["status"]}


SOLVERS = {"weft": run_weft, "greedy": run_greedy, "pyworkforce": run_pyworkforce}


def _child(name: str, problem_json: bytes, limit: float, seed: int, volume: float, queue: Any) -> None:
    import msgspec

    problem = msgspec.json.decode(problem_json, type=Problem)
    began = time.perf_counter()
    try:
        kwargs = {"volume": volume} if name == "pyworkforce" else {}
        result = SOLVERS[name](problem, limit, seed, **kwargs)
        result["error"] = None
    except Exception as error:  # noqa: BLE001 - a baseline that crashes is a result to report
        result = {
            "shifts": [],
            "status": "error",
            "error": f"{type(error).__name__}: {str(error)[:160]}",
            "no_roster": True,
        }
    result["seconds"] = time.perf_counter() - began
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result.pop("solution", None)
    queue.put(msgspec.json.encode(result))


def in_child(name: str, problem: Problem, limit: float, seed: int, volume: float) -> dict[str, Any]:
    import msgspec

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(name, msgspec.json.encode(problem), limit, seed, volume, queue))
    process.start()
    payload = queue.get()
    process.join()
    result = msgspec.json.decode(payload)
    result["shifts"] = [msgspec.convert(s, Shift) for s in result["shifts"]]
    return result


def bench(size: str, tight: bool, runs: int, solvers: list[str]) -> list[dict[str, Any]]:
    problem, volume = a_week(size, tight)
    bound = week_lower_bound(problem)  # the LP bound of the candidate-shift model, outside any timing
    rows = []
    for name in solvers:
        results = [in_child(name, problem, TIME_LIMITS[size], seed, volume) for seed in range(runs)]
        results.sort(key=lambda r: r["seconds"])
        median = results[len(results) // 2]
        row = {
            "solver": name,
            "size": size + (" tight" if tight else ""),
            "agents": len(problem.agents),
            "seconds": round(statistics.median(r["seconds"] for r in results), 2),
            "peak_mb": round(max(r["peak_mb"] for r in results), 1),
            "status": median["status"],
            "lower_bound_hours": bound / 2,
            **measures(problem, median["shifts"]),
        }
        if median.get("no_roster"):
            row["note"] = "no roster: " + (median.get("error") or median["status"])
        for key in ("first_feasible_seconds", "stages"):
            if key in median:
                row[key] = median[key]
        rows.append(row)
    return rows


def resolve_scenario(size: str = "M") -> dict[str, Any]:
    """One agent drops a day; re-solve with the previous roster as the hint."""
    problem, _ = a_week(size)
    first = solve(problem, SolverSettings(time_limit_seconds=TIME_LIMITS[size], workers=WORKERS))
    busy = sorted({(s.agent_id, s.start_slot // 48) for s in first.shifts})
    agent_id, day = busy[len(busy) // 2]
    changed_problem = msgspec_copy(problem)
    for agent in changed_problem.agents:
        if agent.agent_id == agent_id:
            agent.offers = [o for o in agent.offers if o.slot // 48 != day]
    began = time.perf_counter()
    again = solve(changed_problem, SolverSettings(time_limit_seconds=5, workers=WORKERS), hint=first)
    seconds = time.perf_counter() - began

    def cells(solution: Solution) -> set[tuple[str, str, int]]:
        return {
            (s.agent_id, s.skill, t)
            for s in solution.shifts
            if s.agent_id != agent_id
            for t in range(s.start_slot, s.end_slot)
        }

    def assignments(solution: Solution) -> set[tuple[str, str, int, int]]:
        return {(s.agent_id, s.skill, s.start_slot, s.end_slot) for s in solution.shifts if s.agent_id != agent_id}

    def whole_shifts(solution: Solution) -> set[tuple[str, tuple[tuple[str, int, int], ...]]]:
        """Other agents' shifts as a coordinator sees them: rows joined across skill switches and the break."""
        shifts: dict[str, list[list[Shift]]] = defaultdict(list)
        for row in sorted(solution.shifts, key=lambda s: (s.agent_id, s.start_slot)):
            if row.agent_id == agent_id:
                continue
            own = shifts[row.agent_id]
            if own and (row.start_slot == own[-1][-1].end_slot or row.after_break):
                own[-1].append(row)
            else:
                own.append([row])
        return {
            (aid, tuple((r.skill, r.start_slot, r.end_slot) for r in shift))
            for aid, own in shifts.items()
            for shift in own
        }

    before, after = cells(first), cells(again)
    slots_before = {(a, t) for a, _, t in before}
    slots_after = {(a, t) for a, _, t in after}
    return {
        "scenario": f"resolve {size}: {agent_id} drops day {day}",
        "seconds": round(seconds, 2),
        # a changed shift counts once; one added or taken away counts once too
        "changed_shifts_of_others": max(
            len(whole_shifts(again) - whole_shifts(first)), len(whole_shifts(first) - whole_shifts(again))
        ),
        "changed_rows_of_others": len(assignments(first) ^ assignments(again)),
        "changed_slot_assignments_of_others": len(before ^ after),
        "changed_worked_slots_of_others": len(slots_before ^ slots_after),
        "other_agents_changed": len({a for a, _, _ in before ^ after}),
        "under_coverage_hours_before": first.under_coverage_slots / 2,
        "under_coverage_hours_after": again.under_coverage_slots / 2,
        "lower_bound_hours_after": again.lower_bound_under / 2,
        "violations": len(violations(changed_problem, again.shifts)),
        "stages": [f"{s.name}:{s.status}:{s.wall_seconds:.1f}s" for s in again.stages],
    }


def msgspec_copy(problem: Problem) -> Problem:
    import msgspec

    return msgspec.json.decode(msgspec.json.encode(problem), type=Problem)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=list(SIZES), default="S")
    parser.add_argument("--tight", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--solvers", default="weft,greedy,pyworkforce")
    parser.add_argument("--resolve", action="store_true", help="also run the re-solve scenario (on M)")
    args = parser.parse_args()
    rows = bench(args.size, args.tight, args.runs, args.solvers.split(","))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"# Roster benchmark {args.size}{' tight' if args.tight else ''}, {dt.date.today()}, {machine}")
    columns = ["solver", "agents", "seconds", "peak_mb", "required_hours", "under_coverage_hours",
               "lower_bound_hours", "over_coverage_hours", "paid_hours", "gini", "preference_hit_rate",
               "violations", "status"]  # fmt: skip
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    for row in rows:
        if row.get("note"):
            print(f"- {row['solver']}: {row['note']}")
    extra = [resolve_scenario("M")] if args.resolve else []
    for item in extra:
        print(item)
    if args.json:
        for row in rows + extra:
            print(json.dumps(row))


if __name__ == "__main__":
    main()
