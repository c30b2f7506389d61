"""The roster solver: weave agents' offered 30-minute slots into shifts that cover demand.

Pure: msgspec Structs in, Structs out, no database and no web, so it can run in
a process pool and be tested and benchmarked on its own.

Model (OR-Tools CP-SAT), on the problem's slot range ``[first_slot, first_slot + slot_count)``:

- ``x[a, k, t]`` = agent ``a`` works skill ``k`` in slot ``t``; created only for
  slots the agent offered and skills they are certified for (plus the slots of
  fixed assignments, which count as offered). ``w[a, t] = sum_k x[a, k, t] <= 1``:
  one skill at a time. An agent may switch skill between slots of one shift;
  each switch shows up as a separate ``Shift`` row.
- ``s[a, t]`` (start) and ``e[a, t]`` (end: ``t`` is the first free slot after a
  run) are exact: ``s = w[t] and not w[t-1]``, ``e = w[t-1] and not w[t]``.
- Length: a start forces the next ``min_shift_slots - 1`` slots worked (so a run
  that would leave the offered slots or the week is impossible); any window of
  ``max_shift_slots + 1`` consecutive slots holds at most ``max_shift_slots``.
- At most ``max_shifts_per_day`` starts per day (``day_start_slots``, local
  midnights from the caller; by default every 48 slots from ``first_slot``).
- Rest: an end at ``t`` forbids any start in ``[t, t + min_rest_slots)``.
- Weekly cap: ``sum_t w[a, t] <= min(agent cap, site cap)``.
- Core full-time agents work exactly their fixed assignments and nothing else;
  the shift rules apply to them through nothing but those fixed slots, so a
  core schedule never makes the model infeasible. Fixed assignments of
  part-timers (claimed shifts, locked edits) are forced and do obey the rules:
  a locked edit that breaks them gives status "infeasible".
- Shifts do not carry over from the previous week (no rest across the boundary).

Objective, lexicographic by solving in stages: each stage minimizes its term,
then its value becomes a constraint (``term <= value found``) and the whole
solution is the hint for the next stage. Stages, most important first:

1. coverage: ``W * sum(priority * under) + sum(over)`` with ``W`` = one more
   than the largest possible over-coverage (every offered agent-slot), so one
   slot of under-coverage always outweighs all over-coverage;
2. fairness: ``sum_a shortfall_a`` below the proportional share
   ``target_a = useful_offered_a * min(1, needed / useful_offered_total)``
   (floored, capped at the weekly cap; core agents have no target);
3. preference: number of "if needed" slots used;
4. pool: number of elastic slots used (backbone part-timers are rostered first);
5. cost: ``sum hourly_cost_minor * slots worked``.

Staging keeps every coefficient small (one weighted sum would need weights
near 10**18). The time limit is split across stages (60% to coverage, the rest
shared), any time a stage leaves unused passes on. ``objective`` and
``best_bound`` are the coverage stage's; every stage is reported in ``stages``.

Lower bound on under-coverage: per slot, a maximum bipartite matching of the
agents who can work then (one skill at a time) to the skills' required seats;
unmatched seats cannot be covered by any roster. It ignores shift rules and
caps, so it is a valid (possibly loose) bound; ``gap`` is the solution's
under-coverage minus it, in slots.

Unused offered slots are explained with codes (``Reason``), first match wins:
every skill needing people then is covered (``already_covered``); the agent is
certified for none of the skills still short (``not_certified``); the agent has
reached the weekly cap (``weekly_cap``); the run of free offered slots around it
is shorter than the minimum shift and not joined to one of the agent's shifts
(``shorter_than_minimum``); a shift of the agent that day hits the per-day
limit, the rest rule or the maximum length (``rest_or_daily_limit``);
otherwise ``fairness``. ``reason_text`` gives English; the web layer translates.
"""

from __future__ import annotations

import enum
import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Literal

import msgspec
from ortools.sat.python import cp_model

from backend.core.slots import ranges_of

SLOTS_PER_DAY = 48
COVERAGE_TIME_SHARE = 0.6

Status = Literal["optimal", "feasible", "infeasible", "unknown"]
Pool = Literal["core", "backbone", "elastic"]


class Reason(enum.StrEnum):
    """Why an offered slot was not used; the web layer translates these codes."""

    already_covered = "already_covered"
    not_certified = "not_certified"
    weekly_cap = "weekly_cap"
    shorter_than_minimum = "shorter_than_minimum"
    rest_or_daily_limit = "rest_or_daily_limit"
    fairness = "fairness"


REASON_TEXT = {
    Reason.already_covered: "already covered",
    Reason.not_certified: "not certified for the skill needed then",
    Reason.weekly_cap: "weekly cap reached",
    Reason.shorter_than_minimum: "would make a shift shorter than the minimum",
    Reason.rest_or_daily_limit: "rest, shifts-per-day or maximum-length rule",
    Reason.fairness: "fairness: given to agents further below their share",
}


def reason_text(reason: Reason | str) -> str:
    """English for a reason code, for logs and the CLI; the web layer has its own catalogue."""
    return REASON_TEXT[Reason(reason)]


class Offer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    slot: int
    preferred: bool = True


class Agent(msgspec.Struct, forbid_unknown_fields=True):
    agent_id: str
    skills: list[str]
    offers: list[Offer] = []
    pool: Pool = "backbone"
    tier: int = 0
    weekly_cap_slots: int | None = None
    hourly_cost_minor: int = 0


class Requirement(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    skill: str
    slot: int
    agents: int
    priority: int = 1


class FixedAssignment(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    agent_id: str
    skill: str
    start_slot: int
    end_slot: int


class SiteRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    min_shift_slots: int = 4
    max_shift_slots: int = 12
    max_shifts_per_day: int = 1
    min_rest_slots: int = 16
    weekly_cap_slots: int | None = None


class Problem(msgspec.Struct, forbid_unknown_fields=True):
    first_slot: int
    slot_count: int
    agents: list[Agent]
    requirements: list[Requirement]
    rules: SiteRules = SiteRules()
    fixed: list[FixedAssignment] = []
    day_start_slots: list[int] | None = None


class SolverSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    time_limit_seconds: float = 30.0
    workers: int = 8
    seed: int = 0


class Shift(msgspec.Struct, frozen=True):
    agent_id: str
    skill: str
    start_slot: int
    end_slot: int
    fixed: bool = False


class Coverage(msgspec.Struct, frozen=True):
    skill: str
    slot: int
    required: int
    scheduled: int


class Unused(msgspec.Struct, frozen=True):
    start_slot: int
    end_slot: int
    reason: Reason


class AgentReport(msgspec.Struct, frozen=True):
    agent_id: str
    offered_slots: int
    given_slots: int
    share_target: int
    unused: list[Unused]


class Stage(msgspec.Struct, frozen=True):
    name: str
    status: Status
    objective: int | None
    best_bound: int | None
    wall_seconds: float


class Solution(msgspec.Struct):
    status: Status
    objective: int | None
    best_bound: int | None
    wall_seconds: float
    under_coverage_slots: int
    over_coverage_slots: int
    lower_bound_under: int
    gap: int | None
    shifts: list[Shift]
    coverage: list[Coverage]
    agents: list[AgentReport]
    stages: list[Stage] = []
    first_feasible_seconds: float | None = None


Key = tuple[str, str, int]


class _Model:
    """The CP-SAT model and the variables the stages, hints and read-out need."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.rules = problem.rules
        self.horizon = range(problem.first_slot, problem.first_slot + problem.slot_count)
        self.model = cp_model.CpModel()
        self.required = {(r.skill, r.slot): r for r in problem.requirements if r.slot in self.horizon}
        self.demand_skills = {r.skill for r in problem.requirements} | {f.skill for f in problem.fixed}
        self.fixed_slots: dict[str, dict[int, str]] = defaultdict(dict)
        for fixed in problem.fixed:
            for slot in range(fixed.start_slot, fixed.end_slot):
                if slot in self.horizon:
                    self.fixed_slots[fixed.agent_id][slot] = fixed.skill
        self.available = {agent.agent_id: self._available(agent) for agent in problem.agents}
        self.x: dict[Key, cp_model.IntVar] = {}
        self.w: dict[tuple[str, int], cp_model.IntVar] = {}
        self.s: dict[tuple[str, int], cp_model.IntVar] = {}
        self.targets: dict[str, int] = {}
        self.terms: list[tuple[str, cp_model.LinearExprT]] = []
        for agent in problem.agents:
            self._add_agent(agent)
        self._add_objective_terms()

    def _available(self, agent: Agent) -> dict[int, bool]:
        """Slot -> preferred, for the slots the agent may work: offers (not for core staff) and fixed slots."""
        slots = {} if agent.pool == "core" else {o.slot: o.preferred for o in agent.offers if o.slot in self.horizon}
        for slot in self.fixed_slots.get(agent.agent_id, {}):
            slots.setdefault(slot, True)
        return slots

    def cap_slots(self, agent: Agent) -> int | None:
        caps = [c for c in (agent.weekly_cap_slots, self.rules.weekly_cap_slots) if c is not None]
        return min(caps) if caps else None

    def _add_agent(self, agent: Agent) -> None:
        fixed = self.fixed_slots.get(agent.agent_id, {})
        for slot in self.available[agent.agent_id]:
            skills = [fixed[slot]] if slot in fixed else sorted(set(agent.skills) & self.demand_skills)
            for skill in skills:
                var = self.model.new_bool_var(f"x[{agent.agent_id},{skill},{slot}]")
                self.x[agent.agent_id, skill, slot] = var
                if slot in fixed:
                    self.model.add(var == 1)
            if skills:
                self.w[agent.agent_id, slot] = self._worked(agent.agent_id, slot, skills)
        if agent.pool != "core":
            self._add_shift_rules(agent)

    def _worked(self, agent_id: str, slot: int, skills: list[str]) -> cp_model.IntVar:
        """w[a, t]: one skill at a time, so the sum of x over skills is itself a boolean."""
        if len(skills) == 1:
            return self.x[agent_id, skills[0], slot]
        worked = self.model.new_bool_var(f"w[{agent_id},{slot}]")
        self.model.add(sum(self.x[agent_id, skill, slot] for skill in skills) == worked)
        return worked

    def worked(self, agent_id: str, slot: int) -> cp_model.IntVar | int:
        return self.w.get((agent_id, slot), 0)

    def _add_shift_rules(self, agent: Agent) -> None:
        slots = sorted(slot for (a, slot) in self.w if a == agent.agent_id)
        if not slots:
            return
        aid = agent.agent_id
        for slot in slots:
            self.s[aid, slot] = self._edge(self.worked(aid, slot), self.worked(aid, slot - 1), f"s[{aid},{slot}]")
        self._add_length_rules(aid, slots)
        self._add_rest_rule(aid, slots)
        self._add_daily_limit(aid)
        cap = self.cap_slots(agent)
        if cap is not None:
            self.model.add(sum(self.w[aid, slot] for slot in slots) <= cap)

    def _edge(self, now: cp_model.IntVar | int, before: cp_model.IntVar | int, name: str) -> cp_model.IntVar | int:
        """A boolean that is exactly ``now and not before``: a shift's start (or, reversed, its end)."""
        if isinstance(before, int):
            return now
        if isinstance(now, int):
            return 0
        edge = self.model.new_bool_var(name)
        self.model.add(edge >= now - before)
        self.model.add(edge <= now)
        self.model.add(edge <= 1 - before)
        return edge

    def _add_length_rules(self, aid: str, slots: list[int]) -> None:
        rules = self.rules
        for slot in slots:
            start = self.s[aid, slot]
            for offset in range(1, rules.min_shift_slots):
                later = self.worked(aid, slot + offset)
                if isinstance(later, int):
                    self.model.add(start == 0)
                    break
                self.model.add_implication(start, later)
            window = [self.worked(aid, slot + offset) for offset in range(rules.max_shift_slots + 1)]
            if all(not isinstance(v, int) for v in window):
                self.model.add(sum(window) <= rules.max_shift_slots)

    def _add_rest_rule(self, aid: str, slots: list[int]) -> None:
        rest = self.rules.min_rest_slots
        for slot in slots:
            end_at = slot + 1
            if end_at not in self.horizon:
                continue
            end = self._edge(self.worked(aid, slot), self.worked(aid, end_at), f"e[{aid},{end_at}]")
            later_starts = [self.s[aid, t] for t in range(end_at, end_at + rest) if (aid, t) in self.s]
            if later_starts and not isinstance(end, int):
                self.model.add(sum(later_starts) == 0).only_enforce_if(end)

    def _add_daily_limit(self, aid: str) -> None:
        for day in days_of(self.problem):
            starts = [self.s[aid, t] for t in day if (aid, t) in self.s]
            if len(starts) > self.rules.max_shifts_per_day:
                self.model.add(sum(starts) <= self.rules.max_shifts_per_day)

    def scheduled(self, skill: str, slot: int) -> list[cp_model.IntVar]:
        return self._by_cell.get((skill, slot), [])

    def _add_objective_terms(self) -> None:
        self._by_cell: dict[tuple[str, int], list[cp_model.IntVar]] = defaultdict(list)
        for (_, skill, slot), var in self.x.items():
            self._by_cell[skill, slot].append(var)
        under, over = [], []
        for cell in set(self._by_cell) | set(self.required):
            requirement = self.required.get(cell)
            need = requirement.agents if requirement else 0
            cover = sum(self._by_cell.get(cell, []))
            if need:
                short = self.model.new_int_var(0, need, f"u[{cell}]")
                self.model.add(short >= need - cover)
                under.append(requirement.priority * short)
            if self._by_cell.get(cell):
                extra = self.model.new_int_var(0, len(self._by_cell[cell]), f"o[{cell}]")
                self.model.add(extra >= cover - need)
                over.append(extra)
        weight = len(self.x) + 1
        self.terms.append(("coverage", weight * sum(under) + sum(over)))
        self.terms.append(("fairness", self._fairness_term()))
        preference, pool, cost = [], [], []
        for agent in self.problem.agents:
            for slot, preferred in self.available[agent.agent_id].items():
                worked = self.worked(agent.agent_id, slot)
                if not preferred:
                    preference.append(worked)
                if agent.pool == "elastic":
                    pool.append(worked)
                cost.append(agent.hourly_cost_minor * worked)
        self.terms.extend([("preference", sum(preference)), ("pool", sum(pool)), ("cost", sum(cost))])

    def useful_offered(self, agent: Agent) -> int:
        """Offered slots where the agent is certified for a skill with demand: the base of a fair share."""
        if agent.pool == "core":
            return 0
        return sum(
            1
            for slot in self.available[agent.agent_id]
            if any(self.required[skill, slot].agents > 0 for skill in agent.skills if (skill, slot) in self.required)
        )

    def _fairness_term(self) -> cp_model.LinearExprT:
        needed = sum(r.agents for r in self.required.values())
        useful = {a.agent_id: self.useful_offered(a) for a in self.problem.agents}
        total = sum(useful.values())
        shortfalls = []
        for agent in self.problem.agents:
            target = useful[agent.agent_id] if needed >= total else useful[agent.agent_id] * needed // max(total, 1)
            cap = self.cap_slots(agent)
            target = min(target, cap) if cap is not None else target
            self.targets[agent.agent_id] = target
            if target:
                shortfall = self.model.new_int_var(0, target, f"short[{agent.agent_id}]")
                given = sum(self.worked(agent.agent_id, slot) for slot in self.available[agent.agent_id])
                self.model.add(shortfall >= target - given)
                shortfalls.append(shortfall)
        return sum(shortfalls)


def days_of(problem: Problem) -> list[range]:
    """The problem's days as slot ranges, from the caller's local midnights or every 48 slots."""
    end = problem.first_slot + problem.slot_count
    starts = sorted(problem.day_start_slots or range(problem.first_slot, end, SLOTS_PER_DAY))
    bounds = [problem.first_slot, *(s for s in starts if problem.first_slot < s < end), end]
    return [range(a, b) for a, b in itertools.pairwise(bounds) if b > a]


class _FirstSolution(cp_model.CpSolverSolutionCallback):
    """Records when the first feasible roster appeared: the number a coordinator waits for."""

    def __init__(self, started: float) -> None:
        super().__init__()
        self.started = started
        self.seconds: float | None = None

    def on_solution_callback(self) -> None:
        if self.seconds is None:
            self.seconds = time.perf_counter() - self.started


STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "infeasible",
}


def solve(problem: Problem, settings: SolverSettings, hint: Solution | None = None) -> Solution:
    """Roster the week: lexicographic stages from coverage down to cost, then explain what was not used."""
    started = time.perf_counter()
    built = _Model(problem)
    variables = list(built.model.proto.variables)
    count = len(variables)
    if hint is not None:
        _hint_from_solution(built, hint)
    values: list[int] | None = None
    stages: list[Stage] = []
    first_seen = _FirstSolution(started)
    for index, (name, term) in enumerate(built.terms):
        elapsed = time.perf_counter() - started
        remaining = max(0.05, settings.time_limit_seconds - elapsed)
        share = COVERAGE_TIME_SHARE if index == 0 else 1 / (len(built.terms) - index)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = remaining * share
        solver.parameters.num_workers = settings.workers
        solver.parameters.random_seed = settings.seed
        built.model.minimize(term)
        status = solver.solve(built.model, first_seen if index == 0 else None)
        stage_status: Status = STATUS.get(status, "unknown")
        found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        stages.append(
            Stage(
                name=name,
                status=stage_status,
                objective=round(solver.objective_value) if found else None,
                best_bound=round(solver.best_objective_bound) if found else None,
                wall_seconds=solver.wall_time,
            )
        )
        if not found:
            break
        values = [solver.value(built.model.get_int_var_from_proto_index(i)) for i in range(count)]
        if not isinstance(term, int):
            built.model.add(term <= round(solver.objective_value))
        built.model.clear_hints()
        for i, value in enumerate(values):
            built.model.add_hint(built.model.get_int_var_from_proto_index(i), value)
    return _read_out(built, values, stages, started, first_seen.seconds)


def _hint_from_solution(built: _Model, hint: Solution) -> None:
    """Start from the previous roster: its shifts' slots on, every other work variable off."""
    on = {(s.agent_id, s.skill, t) for s in hint.shifts for t in range(s.start_slot, s.end_slot)}
    for key, var in built.x.items():
        built.model.add_hint(var, key in on)


def _overall_status(stages: list[Stage], values: list[int] | None) -> Status:
    if values is None:
        return stages[0].status if stages and stages[0].status == "infeasible" else "unknown"
    if all(stage.status == "optimal" for stage in stages) and len(stages) == 5:
        return "optimal"
    return "feasible"


def _read_out(
    built: _Model, values: list[int] | None, stages: list[Stage], started: float, first: float | None
) -> Solution:
    """Turn variable values into shifts, coverage, per-agent reports and the lower bound."""
    problem = built.problem
    work = {key for key, var in built.x.items() if values is not None and values[var.index]}
    lower = under_coverage_lower_bound(problem)
    coverage = _coverage(built, work)
    under = sum(max(0, c.required - c.scheduled) for c in coverage)
    over = sum(max(0, c.scheduled - c.required) for c in coverage)
    shifts = _shifts(built, work)
    coverage_stage = stages[0] if stages else None
    return Solution(
        status=_overall_status(stages, values),
        objective=coverage_stage.objective if coverage_stage else None,
        best_bound=coverage_stage.best_bound if coverage_stage else None,
        wall_seconds=time.perf_counter() - started,
        under_coverage_slots=under if values is not None else 0,
        over_coverage_slots=over if values is not None else 0,
        lower_bound_under=lower,
        gap=under - lower if values is not None else None,
        shifts=shifts,
        coverage=coverage,
        agents=[_agent_report(built, agent, work, coverage, shifts) for agent in problem.agents],
        stages=stages,
        first_feasible_seconds=first,
    )


def _coverage(built: _Model, work: set[Key]) -> list[Coverage]:
    scheduled: dict[tuple[str, int], int] = defaultdict(int)
    for _, skill, slot in work:
        scheduled[skill, slot] += 1
    cells = sorted(set(scheduled) | set(built.required), key=lambda c: (c[1], c[0]))
    return [
        Coverage(
            skill=skill,
            slot=slot,
            required=built.required[skill, slot].agents if (skill, slot) in built.required else 0,
            scheduled=scheduled.get((skill, slot), 0),
        )
        for skill, slot in cells
    ]


def _shifts(built: _Model, work: set[Key]) -> list[Shift]:
    """Runs of worked slots, one row per stretch of one skill (and one fixed-or-not state)."""
    shifts: list[Shift] = []
    by_agent: dict[str, dict[int, str]] = defaultdict(dict)
    for agent_id, skill, slot in work:
        by_agent[agent_id][slot] = skill
    for agent_id in sorted(by_agent):
        slots = by_agent[agent_id]
        fixed = built.fixed_slots.get(agent_id, {})
        run: list[int] = []
        for slot in sorted(slots):
            if run and (slot != run[-1] + 1 or slots[slot] != slots[run[0]] or (slot in fixed) != (run[0] in fixed)):
                shifts.append(Shift(agent_id, slots[run[0]], run[0], run[-1] + 1, run[0] in fixed))
                run = []
            run.append(slot)
        if run:
            shifts.append(Shift(agent_id, slots[run[0]], run[0], run[-1] + 1, run[0] in fixed))
    return shifts


def _agent_report(
    built: _Model, agent: Agent, work: set[Key], coverage: list[Coverage], shifts: list[Shift]
) -> AgentReport:
    worked = {slot for a, _, slot in work if a == agent.agent_id}
    offered = sorted(built.available[agent.agent_id]) if agent.pool != "core" else []
    short_skills: dict[int, set[str]] = defaultdict(set)
    for cell in coverage:
        if cell.scheduled < cell.required:
            short_skills[cell.slot].add(cell.skill)
    own = [s for s in shifts if s.agent_id == agent.agent_id]
    reasons = {
        slot: _reason(built, agent, slot, worked, short_skills[slot], own) for slot in offered if slot not in worked
    }
    return AgentReport(
        agent_id=agent.agent_id,
        offered_slots=len(offered),
        given_slots=len(worked),
        share_target=built.targets.get(agent.agent_id, 0),
        unused=_runs_of_reasons(reasons),
    )


def _reason(built: _Model, agent: Agent, slot: int, worked: set[int], short: set[str], own: list[Shift]) -> Reason:
    """The first rule, in a fixed precedence, that explains why an offered slot stayed unused."""
    rules = built.rules
    if not short:
        return Reason.already_covered
    if not short & set(agent.skills):
        return Reason.not_certified
    cap = built.cap_slots(agent)
    if cap is not None and len(worked) >= cap:
        return Reason.weekly_cap
    free_run = _run_around(slot, lambda t: t in built.available[agent.agent_id] and t not in worked)
    touches_shift = free_run.start - 1 in worked or free_run.stop in worked
    if len(free_run) < rules.min_shift_slots and not touches_shift:
        return Reason.shorter_than_minimum
    day = next((d for d in days_of(built.problem) if slot in d), None)
    starts_today = sum(1 for s in own if day is not None and s.start_slot in day and s.start_slot - 1 not in worked)
    near = any(s.end_slot <= slot < s.end_slot + rules.min_rest_slots for s in own) or any(
        slot < s.start_slot <= slot + rules.min_rest_slots for s in own
    )
    if touches_shift or near or starts_today >= rules.max_shifts_per_day:
        return Reason.rest_or_daily_limit
    return Reason.fairness


def _run_around(slot: int, free: Callable[[int], bool]) -> range:
    start, stop = slot, slot + 1
    while free(start - 1):
        start -= 1
    while free(stop):
        stop += 1
    return range(start, stop)


def _runs_of_reasons(reasons: dict[int, Reason]) -> list[Unused]:
    runs: list[Unused] = []
    for slot in sorted(reasons):
        if runs and runs[-1].end_slot == slot and runs[-1].reason == reasons[slot]:
            runs[-1] = Unused(runs[-1].start_slot, slot + 1, reasons[slot])
        else:
            runs.append(Unused(slot, slot + 1, reasons[slot]))
    return runs


def under_coverage_lower_bound(problem: Problem) -> int:
    """Seats no roster can fill: per slot, required seats minus a maximum matching of agents to skills.

    An agent works one skill at a time, so each available agent fills at most
    one seat per slot; shift rules and caps are ignored, which keeps the bound valid.
    """
    horizon = range(problem.first_slot, problem.first_slot + problem.slot_count)
    seats: dict[int, dict[str, int]] = defaultdict(dict)
    for r in problem.requirements:
        if r.slot in horizon and r.agents > 0:
            seats[r.slot][r.skill] = r.agents
    fixed: dict[tuple[str, int], str] = {}
    for f in problem.fixed:
        for slot in range(f.start_slot, f.end_slot):
            fixed[f.agent_id, slot] = f.skill
    offers: dict[int, list[set[str]]] = defaultdict(list)
    for agent in problem.agents:
        offered = set() if agent.pool == "core" else {o.slot for o in agent.offers}
        for slot in offered | {t for (a, t) in fixed if a == agent.agent_id}:
            skills = {fixed[agent.agent_id, slot]} if (agent.agent_id, slot) in fixed else set(agent.skills)
            offers[slot].append(skills)
    return sum(sum(need.values()) - _max_matching(offers[slot], need) for slot, need in seats.items())


def _max_matching(agents: list[set[str]], seats: dict[str, int]) -> int:
    """Agents to skill seats (skill capacity = seats), by augmenting paths."""
    holders: dict[str, list[int]] = defaultdict(list)

    def place(agent: int, seen: set[str]) -> bool:
        for skill in agents[agent] & seats.keys():
            if skill in seen:
                continue
            seen.add(skill)
            if len(holders[skill]) < seats[skill]:
                holders[skill].append(agent)
                return True
            for index, other in enumerate(holders[skill]):
                if place(other, seen):
                    holders[skill][index] = agent
                    return True
        return False

    return sum(1 for agent in range(len(agents)) if place(agent, set()))


def hard_rule_violations(problem: Problem, solution: Solution) -> list[str]:
    """Every hard rule the roster breaks, in words: for tests and for checking a hand-edited roster."""
    return list(_violations(problem, solution.shifts))


def _violations(problem: Problem, shifts: Iterable[Shift]) -> Iterable[str]:
    rules = problem.rules
    agents = {a.agent_id: a for a in problem.agents}
    fixed = {(f.agent_id, t) for f in problem.fixed for t in range(f.start_slot, f.end_slot)}
    by_agent: dict[str, list[Shift]] = defaultdict(list)
    for shift in shifts:
        by_agent[shift.agent_id].append(shift)
    for agent_id, own in by_agent.items():
        agent = agents[agent_id]
        offered = {o.slot for o in agent.offers} if agent.pool != "core" else set()
        slots = [t for s in own for t in range(s.start_slot, s.end_slot)]
        if len(slots) != len(set(slots)):
            yield f"{agent_id} works two skills at once"
        for shift in own:
            for t in range(shift.start_slot, shift.end_slot):
                if (agent_id, t) not in fixed and (t not in offered or shift.skill not in agent.skills):
                    yield f"{agent_id} works {shift.skill} at {t} without offer or certification"
        if agent.pool == "core":
            continue
        runs = ranges_of(set(slots))
        for start, end in runs:
            if not rules.min_shift_slots <= end - start <= rules.max_shift_slots:
                yield f"{agent_id} shift {start}-{end} outside length bounds"
        for (_, end), (start, _) in itertools.pairwise(runs):
            if start - end < rules.min_rest_slots:
                yield f"{agent_id} rests {start - end} slots before {start}"
        for day in days_of(problem):
            if sum(1 for start, _ in runs if start in day) > rules.max_shifts_per_day:
                yield f"{agent_id} has too many shifts on the day starting {day.start}"
        caps = [c for c in (agent.weekly_cap_slots, rules.weekly_cap_slots) if c is not None]
        if caps and len(slots) > min(caps):
            yield f"{agent_id} works {len(slots)} slots, over the cap"
