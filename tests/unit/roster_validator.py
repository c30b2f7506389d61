"""An independent checker of rosters for the tests and the benchmark.

Deliberately shares no code with the solver (neither its model nor
``backend.roster.rules``): it paints each agent's week slot by slot (worked with
a skill, on break, or free), reads shifts as maximal runs of worked-or-break
slots, and checks the rules as a coordinator would state them:

- every worked slot is offered (or fixed) and the skill certified (or fixed);
- nobody is in two places at once;
- fixed assignments are worked as given; core staff work nothing else;
- a shift is min..max slots long, break included;
- with the break rule: no more than ``break_after`` worked slots in a row, a
  break is exactly ``break_slots`` offered, unworked slots between worked ones,
  at most one per shift; without it there is no break;
- consecutive shifts rest at least ``min_rest`` slots; a day has at most
  ``max_shifts_per_day`` shift starts; worked slots within the weekly cap.
"""

from __future__ import annotations

from typing import Any

WORK, BREAK = "work", "break"


def _day_starts(problem: Any) -> list[int]:
    end = problem.first_slot + problem.slot_count
    if problem.day_start_slots:
        marks = [s for s in problem.day_start_slots if problem.first_slot < s < end]
    else:
        marks = list(range(problem.first_slot + 48, end, 48))
    return sorted({problem.first_slot, *marks})


def _day_index(day_starts: list[int], slot: int) -> int:
    index = 0
    for number, start in enumerate(day_starts):
        if slot >= start:
            index = number
    return index


def violations(problem: Any, shifts: list[Any]) -> list[str]:
    rules = problem.rules
    found: list[str] = []
    agents = {a.agent_id: a for a in problem.agents}
    fixed: dict[str, dict[int, str]] = {}
    for f in problem.fixed:
        for t in range(f.start_slot, f.end_slot):
            fixed.setdefault(f.agent_id, {})[t] = f.skill
    paint: dict[str, dict[int, tuple[str, str]]] = {}
    for row in shifts:
        agent = agents.get(row.agent_id)
        if agent is None:
            found.append(f"unknown agent {row.agent_id}")
            continue
        week = paint.setdefault(row.agent_id, {})
        offered = {o.slot for o in agent.offers}
        own_fixed = fixed.get(row.agent_id, {})
        if row.end_slot <= row.start_slot:
            found.append(f"{row.agent_id}: empty row at {row.start_slot}")
        for t in range(row.start_slot, row.end_slot):
            if t in week and week[t][0] == WORK:
                found.append(f"{row.agent_id}: two places at slot {t}")
            if own_fixed.get(t) == row.skill:
                pass
            elif agent.pool == "core":
                found.append(f"{row.agent_id}: core agent works unfixed slot {t}")
            elif t not in offered:
                found.append(f"{row.agent_id}: slot {t} not offered")
            elif row.skill not in agent.skills or t in own_fixed:
                found.append(f"{row.agent_id}: skill {row.skill} at {t} not certified or not the fixed one")
            week[t] = (WORK, row.skill)
    for row in shifts:
        if not getattr(row, "after_break", False) or row.agent_id not in agents:
            continue
        if rules.break_after_slots is None:
            found.append(f"{row.agent_id}: a break at {row.start_slot} but the site has no break rule")
            continue
        week = paint[row.agent_id]
        offered = {o.slot for o in agents[row.agent_id].offers}
        for t in range(row.start_slot - rules.break_slots, row.start_slot):
            if t in week:
                found.append(f"{row.agent_id}: break slot {t} is worked")
            elif t not in offered:
                found.append(f"{row.agent_id}: break slot {t} is not offered")
            else:
                week[t] = (BREAK, "")
        if row.start_slot - rules.break_slots - 1 not in week:
            found.append(f"{row.agent_id}: break before {row.start_slot} does not follow work")
    day_starts = _day_starts(problem)
    for agent_id, week in paint.items():
        agent = agents[agent_id]
        worked = sorted(t for t, (kind, _) in week.items() if kind == WORK)
        caps = [c for c in (agent.weekly_cap_slots, rules.weekly_cap_slots) if c is not None]
        if agent.pool == "core":
            continue
        if caps and len(worked) > min(caps):
            found.append(f"{agent_id}: {len(worked)} slots over cap {min(caps)}")
        slots = sorted(week)
        runs: list[list[int]] = []
        for t in slots:
            if runs and runs[-1][-1] == t - 1:
                runs[-1].append(t)
            else:
                runs.append([t])
        starts_per_day: dict[int, int] = {}
        for number, run in enumerate(runs):
            length = len(run)
            if length < rules.min_shift_slots or length > rules.max_shift_slots:
                found.append(f"{agent_id}: shift at {run[0]} is {length} slots")
            kinds = [week[t][0] for t in run]
            if kinds[0] == BREAK or kinds[-1] == BREAK:
                found.append(f"{agent_id}: shift at {run[0]} starts or ends on a break")
            breaks = sum(1 for i, k in enumerate(kinds) if k == BREAK and (i == 0 or kinds[i - 1] != BREAK))
            if breaks > 1:
                found.append(f"{agent_id}: shift at {run[0]} has {breaks} breaks")
            streak = 0
            for kind in kinds:
                streak = streak + 1 if kind == WORK else 0
                if rules.break_after_slots is not None and streak > rules.break_after_slots:
                    found.append(f"{agent_id}: more than {rules.break_after_slots} slots in a row in shift {run[0]}")
                    break
            if number:
                rest = run[0] - runs[number - 1][-1] - 1
                if rest < rules.min_rest_slots:
                    found.append(f"{agent_id}: only {rest} slots of rest before {run[0]}")
            day = _day_index(day_starts, run[0])
            starts_per_day[day] = starts_per_day.get(day, 0) + 1
        for day, count in starts_per_day.items():
            if count > rules.max_shifts_per_day:
                found.append(f"{agent_id}: {count} shifts on day {day}")
    horizon = range(problem.first_slot, problem.first_slot + problem.slot_count)
    for agent_id, slots in fixed.items():
        for t, skill in slots.items():
            if t in horizon and paint.get(agent_id, {}).get(t) != (WORK, skill):
                found.append(f"{agent_id}: fixed slot {t} ({skill}) not worked")
    return found
