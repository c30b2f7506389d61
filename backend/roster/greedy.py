"""A greedy roster: the solver's warm start and the benchmark's baseline.

Day by day, agents furthest below their fair share first, each agent takes the
one shift (start, length, and a break where the break rule needs or rewards one)
inside their offered runs that covers the most still-uncovered priority-weighted
demand, if that is worth anything. Slots are given the certified skill that is
shortest then. Every rule is respected by construction (length, break, rest,
per-day limit, weekly cap); agents with fixed assignments keep exactly those.
It is fast (linear in offered slots times shift lengths) and usually far from optimal.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import accumulate

from backend.core.slots import ranges_of
from backend.roster.solver_types import Agent, Problem, Shift, SiteRules, cap_of, days_of

OVER_PENALTY = 0.25  # a worked slot nobody needs costs this much of a needed one
PREFERRED_BONUS = 0.05


class _Candidate:
    __slots__ = ("break_at", "score", "start", "stop")

    def __init__(self, score: float, start: int, stop: int, break_at: int | None) -> None:
        self.score, self.start, self.stop, self.break_at = score, start, stop, break_at


def greedy_roster(problem: Problem) -> list[Shift]:
    """A valid roster built greedily (see the module docstring); fixed assignments are kept as they are."""
    rules = problem.rules
    horizon = range(problem.first_slot, problem.first_slot + problem.slot_count)
    residual: dict[tuple[str, int], int] = defaultdict(int)
    priority: dict[tuple[str, int], int] = {}
    for r in problem.requirements:
        if r.slot in horizon and r.agents > 0:
            residual[r.skill, r.slot] += r.agents
            priority[r.skill, r.slot] = max(1, r.priority)
    shifts: list[Shift] = []
    fixed_agents = set()
    for f in problem.fixed:
        fixed_agents.add(f.agent_id)
        for t in range(max(f.start_slot, horizon.start), min(f.end_slot, horizon.stop)):
            residual[f.skill, t] -= 1
        if f.start_slot < horizon.stop and f.end_slot > horizon.start:
            start, end = max(f.start_slot, horizon.start), min(f.end_slot, horizon.stop)
            shifts.append(Shift(f.agent_id, f.skill, start, end, fixed=True))
    agents = [a for a in problem.agents if a.pool != "core" and a.agent_id not in fixed_agents]
    offered = {a.agent_id: {o.slot: o.preferred for o in a.offers if o.slot in horizon} for a in agents}
    runs = {aid: ranges_of(set(slots)) for aid, slots in offered.items()}
    target = _targets(agents, offered, residual)
    given = dict.fromkeys(target, 0)
    last_end: dict[str, int] = {}
    for day in days_of(problem):
        for _ in range(max(0, rules.max_shifts_per_day)):
            order = sorted(
                (a for a in agents if any(start < day.stop and end > day.start for start, end in runs[a.agent_id])),
                key=lambda a: (given[a.agent_id] / target[a.agent_id] if target[a.agent_id] else 1e9, a.agent_id),
            )
            for agent in order:
                cap = cap_of(agent, rules)
                room = None if cap is None else cap - given[agent.agent_id]
                best = _best_shift(agent, day, runs[agent.agent_id], offered[agent.agent_id], rules, residual,
                                   priority, last_end.get(agent.agent_id), room)  # fmt: skip
                if best is None:
                    continue
                rows = _take(agent, best, rules, residual)
                shifts.extend(rows)
                given[agent.agent_id] += sum(r.end_slot - r.start_slot for r in rows)
                last_end[agent.agent_id] = best.stop
    return shifts


def _targets(agents: list[Agent], offered: dict[str, dict[int, bool]], residual: dict) -> dict[str, int]:
    """The fair share of each agent, as in the solver: useful offered slots scaled to the demand."""
    needed = sum(v for v in residual.values() if v > 0)
    useful = {
        a.agent_id: sum(1 for t in offered[a.agent_id] if any(residual.get((k, t), 0) > 0 for k in a.skills))
        for a in agents
    }
    total = sum(useful.values())
    return {aid: (u if needed >= total else u * needed // max(total, 1)) for aid, u in useful.items()}


def _slot_value(agent: Agent, t: int, residual: dict, priority: dict, preferred: bool) -> float:
    best = -OVER_PENALTY
    for skill in agent.skills:
        if residual.get((skill, t), 0) > 0:
            best = max(best, priority[skill, t])
    return best + (PREFERRED_BONUS if preferred else 0.0)


def _best_shift(
    agent: Agent,
    day: range,
    runs: list[tuple[int, int]],
    offered: dict[int, bool],
    rules: SiteRules,
    residual: dict,
    priority: dict,
    last_end: int | None,
    room: int | None,
) -> _Candidate | None:
    after, length = rules.break_after_slots, rules.break_slots
    # A gap of zero would merge two shifts into one run, a gap of one break would read as a break: skip both.
    shortest_gap = max(rules.min_rest_slots, 1 + (length if after is not None else 0))
    earliest = day.start if last_end is None else max(day.start, last_end + shortest_gap)
    best: _Candidate | None = None
    for run_start, run_end in runs:
        if run_end <= earliest or run_start >= day.stop:
            continue
        values = [_slot_value(agent, t, residual, priority, offered[t]) for t in range(run_start, run_end)]
        prefix = [0.0, *accumulate(values)]

        def total(a: int, b: int, prefix: list[float] = prefix, base: int = run_start) -> float:
            return prefix[b - base] - prefix[a - base]

        for start in range(max(run_start, earliest), min(run_end, day.stop)):
            for stop in range(start + rules.min_shift_slots, min(run_end, start + rules.max_shift_slots) + 1):
                span = stop - start
                score, break_at = total(start, stop), None
                if after is not None:
                    options = [
                        p
                        for p in range(start + 1, stop - length)
                        if p - start <= after and stop - p - length <= after and length > 0
                    ]
                    cheapest = min(options, key=lambda p: total(p, p + length), default=None)
                    if span > after:
                        if cheapest is None:
                            continue
                        break_at = cheapest
                    elif cheapest is not None and total(cheapest, cheapest + length) < 0:
                        break_at = cheapest
                    if break_at is not None:
                        score -= total(break_at, break_at + length)
                worked = span - (length if break_at is not None else 0)
                if room is not None and worked > room:
                    continue
                if score > 0 and (best is None or score > best.score + 1e-9):
                    best = _Candidate(score, start, stop, break_at)
    return best


def _take(agent: Agent, chosen: _Candidate, rules: SiteRules, residual: dict) -> list[Shift]:
    """Book the shift: each worked slot takes the agent's shortest skill; rows split by skill and break."""
    rows: list[Shift] = []
    breaking = range(chosen.break_at, chosen.break_at + rules.break_slots) if chosen.break_at is not None else range(0)
    for t in range(chosen.start, chosen.stop):
        if t in breaking:
            continue
        skill = max(agent.skills, key=lambda k: (residual.get((k, t), 0), k))
        residual[skill, t] -= 1
        resumes = bool(breaking) and t == breaking.stop
        if rows and not resumes and rows[-1].end_slot == t and rows[-1].skill == skill:
            last = rows[-1]
            rows[-1] = Shift(agent.agent_id, skill, last.start_slot, t + 1, after_break=last.after_break)
        else:
            rows.append(Shift(agent.agent_id, skill, t, t + 1, after_break=resumes))
    return rows
