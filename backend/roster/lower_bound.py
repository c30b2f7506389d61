"""A lower bound on under-coverage: seats no roster can fill, from a maximum flow.

The flow relaxes the roster to its capacities: every seat ``(skill, slot)`` may be
filled by an agent available then and certified (one seat per agent per slot), and
an agent's slots are capped by what the shift rules allow, with every shift rule
that links slots to one another dropped:

- a shift lies in one run of consecutive available slots (offers and fixed slots),
  so a run shorter than the minimum shift gives nothing, and a run holds at most
  ``floor((len + rest) / (min_shift + rest))`` shifts of at most ``max_shift``
  worked slots each (minus the break when the break rule forces one);
- a run inside one day holds no more than the day's ``max_shifts_per_day`` shifts,
  so the runs of one day share that many shifts' worth of slots;
- the weekly cap bounds the agent's slots.

Every roster gives a flow of the same value as its covered seats, so
``required seats - max flow`` is a valid bound. It is the LP relaxation of the
availability-against-requirement transportation problem (integral, since it is a
network), solved exactly by OR-Tools' max-flow in well under a second at 2,000 agents.
"""

from __future__ import annotations

from collections import defaultdict

from ortools.graph.python import max_flow

from backend.core.slots import ranges_of
from backend.roster.solver_types import Problem, SiteRules, cap_of, days_of

INFINITE = 1 << 40


def max_worked_per_shift(rules: SiteRules) -> int:
    """The most slots one shift can work: its maximum length, less a break the break rule forces."""
    most = rules.max_shift_slots
    if rules.break_after_slots is not None and most > rules.break_after_slots:
        most = min(most - rules.break_slots, 2 * rules.break_after_slots)
    return max(0, most)


def under_coverage_lower_bound(problem: Problem) -> int:
    """Required seats that no roster can fill (a valid bound, see the module docstring)."""
    rules = problem.rules
    horizon = range(problem.first_slot, problem.first_slot + problem.slot_count)
    seats = {(r.skill, r.slot): r.agents for r in problem.requirements if r.slot in horizon and r.agents > 0}
    required = sum(seats.values())
    if not required:
        return 0
    fixed: dict[str, dict[int, str]] = defaultdict(dict)
    for f in problem.fixed:
        for slot in range(f.start_slot, f.end_slot):
            if slot in horizon:
                fixed[f.agent_id][slot] = f.skill
    per_shift = max_worked_per_shift(rules)
    days = days_of(problem)
    graph = max_flow.SimpleMaxFlow()
    nodes: dict[object, int] = {}
    day_arcs: set[tuple[str, int]] = set()

    def node(key: object) -> int:
        if key not in nodes:
            nodes[key] = len(nodes)
        return nodes[key]

    source, sink = node("source"), node("sink")
    for cell, count in seats.items():
        graph.add_arc_with_capacity(node(cell), sink, count)
    for agent in problem.agents:
        aid = agent.agent_id
        own_fixed = fixed.get(aid, {})
        core = agent.pool == "core"
        available = set(own_fixed) if core else {o.slot for o in agent.offers if o.slot in horizon} | set(own_fixed)
        cap = None if core else cap_of(agent, rules)
        agent_node = node(("agent", aid))
        graph.add_arc_with_capacity(source, agent_node, INFINITE if cap is None else cap)
        for start, end in ranges_of(available):
            length = end - start
            if core:
                parent, run_cap = agent_node, length
            else:
                if length < rules.min_shift_slots:
                    continue
                shifts = (length + rules.min_rest_slots) // (rules.min_shift_slots + rules.min_rest_slots)
                run_cap = min(length, max(1, shifts) * per_shift)
                day = next((d for d in days if start in d and end - 1 in d), None)
                if day is None:
                    parent = agent_node
                else:
                    parent = node(("day", aid, day.start))
                    if (aid, day.start) not in day_arcs:
                        day_arcs.add((aid, day.start))
                        graph.add_arc_with_capacity(agent_node, parent, rules.max_shifts_per_day * per_shift)
            run_node = node(("run", aid, start))
            graph.add_arc_with_capacity(parent, run_node, run_cap)
            for slot in range(start, end):
                skills = [own_fixed[slot]] if slot in own_fixed else agent.skills
                cells = [(skill, slot) for skill in skills if (skill, slot) in seats]
                if not cells:
                    continue
                slot_node = node(("slot", aid, slot))
                graph.add_arc_with_capacity(run_node, slot_node, 1)
                for cell in cells:
                    graph.add_arc_with_capacity(slot_node, nodes[cell], 1)
    if graph.solve(source, sink) != graph.OPTIMAL:  # pragma: no cover - capacities are small integers
        return 0
    return required - graph.optimal_flow()
