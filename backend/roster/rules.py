"""The hard rules of a roster, checked on a plain list of shifts: for tests and for coordinators' edits.

Written directly from the rules (see ``backend.roster.solver``), not from the model's
constraints, so it can catch a modelling mistake. A roster's shifts are the ``Shift``
rows (worked runs); runs that touch form one stretch of work, and a stretch whose
first row says ``after_break`` joins the stretch that ended exactly ``break_slots``
earlier into one shift with a break.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator

from backend.core.slots import ranges_of
from backend.roster.solver_types import Agent, Problem, Shift, Solution, cap_of, days_of


def hard_rule_violations(problem: Problem, solution: Solution) -> list[str]:
    """Every hard rule the roster breaks, in words: for tests and for checking a hand-edited roster."""
    return roster_violations(problem, solution.shifts)


def roster_violations(problem: Problem, shifts: list[Shift]) -> list[str]:
    """Every hard rule a list of shifts breaks against the problem, in words; empty when the roster is valid."""
    return list(_violations(problem, shifts))


def _violations(problem: Problem, shifts: Iterable[Shift]) -> Iterator[str]:
    agents = {a.agent_id: a for a in problem.agents}
    by_agent: dict[str, list[Shift]] = defaultdict(list)
    for shift in shifts:
        by_agent[shift.agent_id].append(shift)
        if shift.end_slot <= shift.start_slot:
            yield f"{shift.agent_id} has an empty shift at {shift.start_slot}"
    worked: dict[str, dict[int, str]] = defaultdict(dict)
    for agent_id, own in by_agent.items():
        agent = agents.get(agent_id)
        if agent is None:
            yield f"{agent_id} is not an agent of this roster"
            continue
        yield from _agent_violations(problem, agent, own, worked[agent_id])
    for fixed in problem.fixed:
        for t in range(fixed.start_slot, fixed.end_slot):
            if worked[fixed.agent_id].get(t) != fixed.skill:
                yield f"{fixed.agent_id} does not work the fixed {fixed.skill} slot {t}"


def _agent_violations(problem: Problem, agent: Agent, own: list[Shift], worked: dict[int, str]) -> Iterator[str]:
    rules = problem.rules
    aid = agent.agent_id
    fixed = {t for f in problem.fixed if f.agent_id == aid for t in range(f.start_slot, f.end_slot)}
    offered = {o.slot for o in agent.offers} if agent.pool != "core" else set()
    for shift in own:
        for t in range(shift.start_slot, shift.end_slot):
            if t in worked:
                yield f"{aid} works twice at {t}"
            worked[t] = shift.skill
            if t not in fixed and (t not in offered or shift.skill not in agent.skills):
                yield f"{aid} works {shift.skill} at {t} without offer or certification"
    if agent.pool == "core":
        return
    stretches = ranges_of(set(worked))
    after_break = {s.start_slot for s in own if s.after_break}
    stretch_starts = {start for start, _ in stretches}
    for start in sorted(after_break - stretch_starts):
        yield f"{aid} resumes after a break at {start} but worked the slot before"
    whole: list[list[tuple[int, int]]] = []  # shifts, each a list of its (start, end) stretches
    for start, end in stretches:
        if start not in after_break:
            whole.append([(start, end)])
            continue
        before = whole[-1] if whole else None
        gap = range(before[-1][1], start) if before else range(0)
        if rules.break_after_slots is None:
            yield f"{aid} takes a break at {start - rules.break_slots} but the site has no break rule"
        elif before is None or len(gap) != rules.break_slots:
            yield f"{aid} resumes at {start} after a break that is not {rules.break_slots} slots long"
        elif len(before) > 1:
            yield f"{aid} takes a second break in the shift before {start}"
        elif any(t not in offered for t in gap):
            yield f"{aid} takes a break at {gap.start} outside offered time"
        if before is not None and len(gap) == rules.break_slots:
            before.append((start, end))
        else:
            whole.append([(start, end)])
    for shift in whole:
        begin, finish = shift[0][0], shift[-1][1]
        if not rules.min_shift_slots <= finish - begin <= rules.max_shift_slots:
            yield f"{aid} shift {begin}-{finish} outside length bounds"
        for start, end in shift:
            if rules.break_after_slots is not None and end - start > rules.break_after_slots:
                yield f"{aid} works {end - start} slots in a row from {start} without a break"
    for earlier, later in itertools.pairwise(whole):
        rest = later[0][0] - earlier[-1][1]
        if rest < rules.min_rest_slots:
            yield f"{aid} rests {rest} slots before {later[0][0]}"
    for day in days_of(problem):
        if sum(1 for shift in whole if shift[0][0] in day) > rules.max_shifts_per_day:
            yield f"{aid} has too many shifts on the day starting {day.start}"
    cap = cap_of(agent, rules)
    if cap is not None and len(worked) > cap:
        yield f"{aid} works {len(worked)} slots, over the cap of {cap}"
