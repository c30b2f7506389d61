"""The roster solver: weave agents' offered 30-minute slots into shifts that cover demand.

Pure: msgspec Structs in, Structs out, no database and no web, so it can run in
a process pool and be tested and benchmarked on its own. The Structs live in
``backend.roster.solver_types``, the rule checker in ``backend.roster.rules``, the
lower bound in ``backend.roster.lower_bound`` and the greedy warm start in
``backend.roster.greedy``; this module re-exports all of them.

Model (OR-Tools CP-SAT), on the problem's slot range ``[first_slot, first_slot + slot_count)``:

- ``x[a, k, t]`` = agent ``a`` works skill ``k`` in slot ``t``; created only for
  slots the agent offered and skills they are certified for (plus the slots of
  fixed assignments, which count as offered). ``w[a, t] = sum_k x[a, k, t] <= 1``:
  one skill at a time. An agent may switch skill between slots of one shift;
  each switch shows up as a separate ``Shift`` row.
- ``o[a, t]`` = the agent is on a shift in slot ``t``: working (``w``) or on its
  break. Without the break rule ``o = w``.
- ``s[a, t]`` (start) and ``e[a, t]`` (end: ``t`` is the first free slot after a
  run) are exact edges of ``o``: ``s = o[t] and not o[t-1]``, ``e = o[t-1] and not o[t]``.
- Length: a start forces the next ``min_shift_slots - 1`` slots on shift (so a run
  that would leave the offered slots or the week is impossible); any window of
  ``max_shift_slots + 1`` consecutive slots holds at most ``max_shift_slots``.
- At most ``max_shifts_per_day`` starts per day (``day_start_slots``, local
  midnights from the caller; by default every 48 slots from ``first_slot``).
- Rest: an end at ``t`` forbids any start in ``[t, t + min_rest_slots)``.
- Weekly cap: ``sum_t w[a, t] <= min(agent cap, site cap)``.
- Break rule (``SiteRules.break_after_slots`` set): an agent never works more
  than ``break_after_slots`` slots in a row. A shift may hold one break of
  exactly ``break_slots`` slots between two worked stretches; the break must lie
  in offered time, is not worked (no coverage, cap, fairness or cost) but
  belongs to the shift: the shift's length (min and max) counts it, and the
  shift is one shift for the per-day limit and the rest rule. Model: a break
  start ``b[a, t]`` implies ``w[t-1]`` and ``w[t+K]``, ``o[t] - w[t]`` equals the
  break starts in ``(t-K, t]``, and a window of ``max_shift_slots`` holds at most
  one break start more than it holds shift starts (one break per shift). In the
  ``Solution`` a shift with a break is two (or more, with skill switches)
  ``Shift`` rows; the first row after the break has ``after_break=True``.
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
2. stability (only when re-solving with a ``hint``): the number of agent-slot
   assignments that differ from the hint;
3. fairness: ``sum_a shortfall_a`` below the proportional share
   ``target_a = useful_offered_a * min(1, needed / useful_offered_total)``
   (floored, capped at the weekly cap; core agents have no target);
4. preference: number of "if needed" slots used;
5. pool: number of elastic slots used (backbone part-timers are rostered first);
6. cost: ``sum hourly_cost_minor * slots worked``.

Staging keeps every coefficient small (one weighted sum would need weights
near 10**18). The first stage starts from a greedy roster (``greedy.py``, always
feasible unless fixed assignments break the rules) or from the given hint. The
time limit covers model building too; it is split across stages (most to
coverage), any time a stage leaves unused passes on. ``objective`` and
``best_bound`` are the coverage stage's; every stage is reported in ``stages``.

Progress and cancelling: ``on_progress(Progress)`` is called on every improving
solution of any stage and about once a second in between (from a ticker thread:
CP-SAT releases the GIL while it searches); ``should_stop()`` is polled five
times a second; when it says True the search stops, no further stage starts and
the best roster so far is returned with ``cancelled=True``. Both callbacks are
wrapped: an exception in them is swallowed, never raised into CP-SAT.

Lower bound on under-coverage: a maximum flow of agents to required seats under
per-run, per-day and weekly capacities (``lower_bound.py``); it ignores the shift
rules that link slots, so it is valid; ``gap`` is the solution's under-coverage
minus it, in slots.

Unused offered slots are explained with codes (``Reason``), first match wins:
every skill needing people then is covered (``already_covered``); the agent is
certified for none of the skills still short (``not_certified``); the agent has
reached the weekly cap (``weekly_cap``); the run of free offered slots around it
is shorter than the minimum shift and not joined to one of the agent's shifts
(``shorter_than_minimum``); a shift of the agent that day hits the per-day
limit, the rest rule, the break rule or the maximum length (``rest_or_daily_limit``);
otherwise ``fairness``. ``reason_text`` gives English; the web layer translates.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator

import msgspec
from ortools.sat.python import cp_model

from backend.roster.greedy import greedy_roster
from backend.roster.lower_bound import under_coverage_lower_bound
from backend.roster.rules import hard_rule_violations, roster_violations
from backend.roster.solver_types import (
    REASON_TEXT,
    SLOTS_PER_DAY,
    Agent,
    AgentReport,
    Coverage,
    FixedAssignment,
    Offer,
    Pool,
    Problem,
    Progress,
    Reason,
    Requirement,
    Shift,
    SiteRules,
    Solution,
    SolverSettings,
    Stage,
    Status,
    Unused,
    cap_of,
    days_of,
    reason_text,
)

__all__ = [
    "REASON_TEXT",
    "SLOTS_PER_DAY",
    "Agent",
    "AgentReport",
    "Coverage",
    "FixedAssignment",
    "Offer",
    "Pool",
    "Problem",
    "Progress",
    "Reason",
    "Requirement",
    "Shift",
    "SiteRules",
    "Solution",
    "SolverSettings",
    "Stage",
    "Status",
    "Unused",
    "days_of",
    "greedy_roster",
    "hard_rule_violations",
    "reason_text",
    "roster_violations",
    "solve",
    "under_coverage_lower_bound",
]

COVERAGE_TIME_SHARE = 0.75
TICK_SECONDS = 0.2
PROGRESS_EVERY_SECONDS = 1.0

Key = tuple[str, str, int]
Var = cp_model.IntVar


class _Model:
    """The CP-SAT model and the variables the stages, hints and read-out need."""

    def __init__(self, problem: Problem, hint: list[Shift] | None = None, *, build: bool = True) -> None:
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
        self.x: dict[Key, Var] = {}
        self.w: dict[tuple[str, int], Var] = {}
        self.o: dict[tuple[str, int], Var] = {}
        self.s: dict[tuple[str, int], Var] = {}
        self.breaks: dict[tuple[str, int], Var] = {}
        self.e: dict[tuple[str, int], Var] = {}
        self.shorts: list[tuple[Var, int, tuple[str, int]]] = []  # under-coverage of a cell
        self.extras: list[tuple[Var, int, tuple[str, int]]] = []  # over-coverage of a cell
        self.shortfalls: list[tuple[Var, int, str]] = []  # an agent's slots below their share
        self.terms: list[tuple[str, cp_model.LinearExprT]] = []
        self.cover: list[tuple[int, cp_model.LinearExprT]] = []
        self.complete = True  # every stage ran (set False when one was cut short)
        self.targets = self._targets()
        if not build:  # the facts the read-out needs, without the CP-SAT model
            return
        for agent in problem.agents:
            self._add_agent(agent)
        self._add_objective_terms(hint)

    def _available(self, agent: Agent) -> dict[int, bool]:
        """Slot -> preferred, for the slots the agent may work: offers (not for core staff) and fixed slots."""
        slots = {} if agent.pool == "core" else {o.slot: o.preferred for o in agent.offers if o.slot in self.horizon}
        for slot in self.fixed_slots.get(agent.agent_id, {}):
            slots.setdefault(slot, True)
        return slots

    def cap_slots(self, agent: Agent) -> int | None:
        return cap_of(agent, self.rules)

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
        else:
            for (aid, slot), var in list(self.w.items()):
                if aid == agent.agent_id:
                    self.o[aid, slot] = var

    def _worked(self, agent_id: str, slot: int, skills: list[str]) -> Var:
        """w[a, t]: one skill at a time, so the sum of x over skills is itself a boolean."""
        if len(skills) == 1:
            return self.x[agent_id, skills[0], slot]
        worked = self.model.new_bool_var(f"w[{agent_id},{slot}]")
        self.model.add(sum(self.x[agent_id, skill, slot] for skill in skills) == worked)
        return worked

    def worked(self, agent_id: str, slot: int) -> Var | int:
        return self.w.get((agent_id, slot), 0)

    def on(self, agent_id: str, slot: int) -> Var | int:
        return self.o.get((agent_id, slot), 0)

    def _add_shift_rules(self, agent: Agent) -> None:
        aid = agent.agent_id
        slots = sorted(slot for slot in self.available[aid] if (aid, slot) in self.w)
        if not slots:
            return
        self._add_breaks(aid, slots)
        for slot in slots:
            self.s[aid, slot] = self._edge(self.on(aid, slot), self.on(aid, slot - 1), f"s[{aid},{slot}]")
        self._add_one_break_per_shift(aid)
        self._add_length_rules(aid, slots)
        self._add_rest_rule(aid, slots)
        self._add_daily_limit(aid)
        cap = self.cap_slots(agent)
        if cap is not None:
            self.model.add(sum(self.w[aid, slot] for slot in slots) <= cap)

    def _add_breaks(self, aid: str, slots: list[int]) -> None:
        """o = w without the break rule; with it, at most ``break_after`` worked in a row and breaks of K slots."""
        after, length = self.rules.break_after_slots, self.rules.break_slots
        if after is None:
            for slot in slots:
                self.o[aid, slot] = self.w[aid, slot]
            return
        present = set(slots)
        for slot in slots:
            window = [self.w.get((aid, slot + i)) for i in range(after + 1)]
            if all(v is not None for v in window):
                self.model.add(sum(window) <= after)  # type: ignore[arg-type]
        if length > 0:
            for slot in slots:
                if all(slot + i in present for i in range(-1, length + 1)):
                    start = self.model.new_bool_var(f"b[{aid},{slot}]")
                    self.model.add_implication(start, self.w[aid, slot - 1])
                    self.model.add_implication(start, self.w[aid, slot + length])
                    self.breaks[aid, slot] = start
        for slot in slots:
            covering = [self.breaks[aid, slot - j] for j in range(length) if (aid, slot - j) in self.breaks]
            if not covering:
                self.o[aid, slot] = self.w[aid, slot]
                continue
            on = self.model.new_bool_var(f"o[{aid},{slot}]")
            self.model.add(on - self.w[aid, slot] == sum(covering))
            self.o[aid, slot] = on

    def _add_one_break_per_shift(self, aid: str) -> None:
        """Two break starts within a shift's maximum length need a shift start between them."""
        longest = self.rules.max_shift_slots
        starts = sorted(slot for (a, slot) in self.breaks if a == aid)
        for slot in starts:
            inside = [self.breaks[aid, t] for t in range(slot, slot + longest) if (aid, t) in self.breaks]
            if len(inside) > 1:
                shift_starts = [self.s[aid, t] for t in range(slot + 1, slot + longest) if (aid, t) in self.s]
                self.model.add(sum(inside) <= 1 + sum(shift_starts))

    def _edge(self, now: Var | int, before: Var | int, name: str) -> Var | int:
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
                later = self.on(aid, slot + offset)
                if isinstance(later, int):
                    self.model.add(start == 0)
                    break
                self.model.add_implication(start, later)
            window = [self.on(aid, slot + offset) for offset in range(rules.max_shift_slots + 1)]
            if all(not isinstance(v, int) for v in window):
                self.model.add(sum(window) <= rules.max_shift_slots)

    def _add_rest_rule(self, aid: str, slots: list[int]) -> None:
        rest = self.rules.min_rest_slots
        for slot in slots:
            end_at = slot + 1
            if end_at not in self.horizon:
                continue
            end = self._edge(self.on(aid, slot), self.on(aid, end_at), f"e[{aid},{end_at}]")
            if not isinstance(end, int):
                self.e[aid, end_at] = end
            later_starts = [self.s[aid, t] for t in range(end_at, end_at + rest) if (aid, t) in self.s]
            if later_starts and not isinstance(end, int):
                self.model.add(sum(later_starts) == 0).only_enforce_if(end)

    def _add_daily_limit(self, aid: str) -> None:
        for day in days_of(self.problem):
            starts = [self.s[aid, t] for t in day if (aid, t) in self.s]
            if len(starts) > self.rules.max_shifts_per_day:
                self.model.add(sum(starts) <= self.rules.max_shifts_per_day)

    def _add_objective_terms(self, hint: list[Shift] | None) -> None:
        self._by_cell: dict[tuple[str, int], list[Var]] = defaultdict(list)
        for (_, skill, slot), var in self.x.items():
            self._by_cell[skill, slot].append(var)
        under, over = [], []
        for cell in set(self._by_cell) | set(self.required):
            requirement = self.required.get(cell)
            need = requirement.agents if requirement else 0
            cover = sum(self._by_cell.get(cell, []))
            if need > 0:
                short = self.model.new_int_var(0, need, f"u[{cell}]")
                self.shorts.append((short, need, cell))
                self.model.add(short >= need - cover)
                under.append(requirement.priority * short)  # type: ignore[union-attr]
                self.cover.append((need, cover))  # cover is 0 where nobody can work
            if self._by_cell.get(cell):
                extra = self.model.new_int_var(0, len(self._by_cell[cell]), f"o[{cell}]")
                self.extras.append((extra, max(need, 0), cell))
                self.model.add(extra >= cover - max(need, 0))
                over.append(extra)
        weight = len(self.x) + 1
        self.terms.append(("coverage", weight * sum(under) + sum(over)))
        if hint is not None:
            self.terms.append(("stability", self._stability_term(hint)))
        self.terms.append(("fairness", self._fairness_term()))
        preference, pool, cost = [], [], []
        for agent in self.problem.agents:
            for slot, preferred in self.available[agent.agent_id].items():
                worked = self.worked(agent.agent_id, slot)
                if not preferred:
                    preference.append(worked)
                if agent.pool == "elastic":
                    pool.append(worked)
                if agent.hourly_cost_minor:
                    cost.append(agent.hourly_cost_minor * worked)
        self.terms.extend([("preference", sum(preference)), ("pool", sum(pool)), ("cost", sum(cost))])

    def _stability_term(self, hint: list[Shift]) -> cp_model.LinearExprT:
        """Assignments (agent, skill, slot) that differ from the previous roster."""
        on = _work_of(hint)
        keys = list(self.x)
        was_on = sum(1 for key in keys if key in on)
        return was_on + cp_model.LinearExpr.weighted_sum(
            [self.x[key] for key in keys], [-1 if key in on else 1 for key in keys]
        )

    def useful_offered(self, agent: Agent) -> int:
        """Offered slots where the agent is certified for a skill with demand: the base of a fair share."""
        if agent.pool == "core":
            return 0
        return sum(
            1
            for slot in self.available[agent.agent_id]
            if any(self.required[skill, slot].agents > 0 for skill in agent.skills if (skill, slot) in self.required)
        )

    def _targets(self) -> dict[str, int]:
        """Each agent's fair share of the needed slots, in proportion to their useful offered slots."""
        needed = sum(max(0, r.agents) for r in self.required.values())
        useful = {a.agent_id: self.useful_offered(a) for a in self.problem.agents}
        total = sum(useful.values())
        targets = {}
        for agent in self.problem.agents:
            target = useful[agent.agent_id] if needed >= total else useful[agent.agent_id] * needed // max(total, 1)
            cap = self.cap_slots(agent)
            targets[agent.agent_id] = min(target, cap) if cap is not None else target
        return targets

    def _fairness_term(self) -> cp_model.LinearExprT:
        shortfalls = []
        for agent in self.problem.agents:
            target = self.targets[agent.agent_id]
            if target > 0:
                shortfall = self.model.new_int_var(0, target, f"short[{agent.agent_id}]")
                self.shortfalls.append((shortfall, target, agent.agent_id))
                given = sum(self.worked(agent.agent_id, slot) for slot in self.available[agent.agent_id])
                self.model.add(shortfall >= target - given)
                shortfalls.append(shortfall)
        return sum(shortfalls)


def _work_of(shifts: list[Shift]) -> set[Key]:
    return {(s.agent_id, s.skill, t) for s in shifts for t in range(s.start_slot, s.end_slot)}


STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "infeasible",
}


class _Run:
    """The caller's progress and stop callbacks, wrapped so they never raise into CP-SAT."""

    def __init__(
        self,
        started: float,
        on_progress: Callable[[Progress], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        self.started = started
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.cancelled = False
        self.first_seconds: float | None = None
        self.last_report = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def report(self, stage: str, objective: int | None, bound: int | None, under: int | None) -> None:
        self.last_report = time.perf_counter()
        if self.on_progress is None:
            return
        with contextlib.suppress(Exception):
            self.on_progress(Progress(stage, round(self.elapsed(), 3), objective, bound, under))

    def stop_requested(self) -> bool:
        if self.cancelled:
            return True
        if self.should_stop is not None:
            try:
                self.cancelled = bool(self.should_stop())
            except Exception:  # noqa: BLE001 - the caller's bug must not kill the solve
                self.cancelled = False
        return self.cancelled

    @property
    def watched(self) -> bool:
        return self.on_progress is not None or self.should_stop is not None


class _Watch(cp_model.CpSolverSolutionCallback):
    """Per stage: reports each improving solution and keeps the latest objective and bound."""

    def __init__(self, run: _Run, stage: str, cover: list[tuple[int, cp_model.LinearExprT]] | None) -> None:
        super().__init__()
        self.run = run
        self.stage = stage
        self.cover = cover
        self.objective: int | None = None
        self.bound: int | None = None
        self.under: int | None = None

    def on_solution_callback(self) -> None:
        try:
            if self.run.first_seconds is None:
                self.run.first_seconds = self.run.elapsed()
            self.objective = round(self.objective_value)
            self.bound = round(self.best_objective_bound)
            if self.cover is not None:
                self.under = sum(
                    max(0, need - (expr if isinstance(expr, int) else int(self.value(expr))))
                    for need, expr in self.cover
                )
            self.run.report(self.stage, self.objective, self.bound, self.under)
        except Exception:  # noqa: BLE001 - never raise into CP-SAT
            return

    def on_bound(self, bound: float) -> None:
        with contextlib.suppress(Exception):
            self.bound = round(bound)


@contextlib.contextmanager
def _ticking(run: _Run, solver: cp_model.CpSolver, watch: _Watch) -> Iterator[None]:
    """A thread that polls ``should_stop`` and reports progress about once a second while CP-SAT searches."""
    if not run.watched:
        yield
        return
    solver.best_bound_callback = watch.on_bound
    done = threading.Event()

    def tick() -> None:
        while not done.wait(TICK_SECONDS):
            if run.stop_requested():
                solver.stop_search()
                return
            if time.perf_counter() - run.last_report >= PROGRESS_EVERY_SECONDS:
                run.report(watch.stage, watch.objective, watch.bound, watch.under)

    thread = threading.Thread(target=tick, name="roster-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def solve(
    problem: Problem,
    settings: SolverSettings,
    hint: Solution | None = None,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Solution:
    """Roster the week: lexicographic stages from coverage down to cost, then explain what was not used."""
    run = _Run(time.perf_counter(), on_progress, should_stop)
    deadline = run.started + settings.time_limit_seconds
    if _by_day(problem):
        return _solve_by_day(problem, settings, hint, run, deadline)
    built, values, stages, greedy = _staged(problem, settings, hint.shifts if hint else None, run, deadline, "")
    infeasible = bool(stages) and stages[0].status == "infeasible"
    if values is not None:
        work = {key for key, var in built.x.items() if values[var.index]}
        on = {key for key, var in built.o.items() if values[var.index]}
        status = _overall_status(built, stages, run.cancelled)
    elif not infeasible and not roster_violations(problem, greedy):
        work, on = _work_and_on(greedy, built.rules)  # nothing better in time (or cancelled at once)
        status = "feasible"
    else:
        work, on = set(), set()
        status = "infeasible" if infeasible else "unknown"
    coverage_stage = stages[0] if stages else None
    return _read_out(
        built,
        work if status != "infeasible" and status != "unknown" else None,
        on,
        stages,
        run,
        status,
        coverage_stage.objective if coverage_stage else None,
        coverage_stage.best_bound if coverage_stage else None,
    )


def _staged(
    problem: Problem,
    settings: SolverSettings,
    hint: list[Shift] | None,
    run: _Run,
    deadline: float,
    prefix: str,
) -> tuple[_Model, list[int] | None, list[Stage], list[Shift]]:
    """Build the model, start from the hint or the greedy roster, and minimize the terms one after another."""
    built = _Model(problem, hint)
    count = len(built.model.proto.variables)
    greedy = greedy_roster(problem)
    start_from = hint if hint is not None else greedy
    objective, under = _hint_from_shifts(built, start_from)
    if hint is None and not roster_violations(problem, greedy):
        if run.first_seconds is None:
            run.first_seconds = run.elapsed()
        run.report(f"{prefix}coverage", objective, None, under)
    values: list[int] | None = None
    stages: list[Stage] = []
    terms = [(name, term) for name, term in built.terms if not isinstance(term, int)] or [("coverage", 0)]
    for index, (name, term) in enumerate(terms):
        if run.stop_requested():
            break
        remaining = max(0.05, deadline - time.perf_counter())
        share = COVERAGE_TIME_SHARE if index == 0 else 1 / (len(terms) - index)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = remaining * share
        solver.parameters.num_workers = max(1, settings.workers)
        solver.parameters.random_seed = settings.seed
        built.model.minimize(term)
        watch = _Watch(run, prefix + name, built.cover if index == 0 else None)
        with _ticking(run, solver, watch):
            status = solver.solve(built.model, watch)
        found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        stages.append(
            Stage(
                name=prefix + name,
                status=STATUS.get(status, "unknown"),  # type: ignore[arg-type]
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
    if len(stages) < len(terms):
        built.complete = False
    return built, values, stages, greedy


DECOMPOSE_FROM_AGENT_SLOTS = 2500


def _by_day(problem: Problem) -> bool:
    """Decompose by day when the week is big and no fixed assignment crosses a day boundary."""
    if len(days_of(problem)) < 2 or sum(len(a.offers) for a in problem.agents) < DECOMPOSE_FROM_AGENT_SLOTS:
        return False
    days = days_of(problem)
    return all(any(f.start_slot in d and f.end_slot - 1 in d for d in days) for f in problem.fixed)


def _day_problem(problem: Problem, day: range, free_from: dict[str, int], used: dict[str, int]) -> Problem:
    """One day of the week: offers after the agent's rest, the weekly cap less what earlier days used."""
    rules = problem.rules
    agents = []
    for agent in problem.agents:
        cap = cap_of(agent, rules)
        earliest = free_from.get(agent.agent_id, day.start)
        offers = [o for o in agent.offers if o.slot in day and o.slot >= earliest]
        remaining = None if cap is None else max(0, cap - used.get(agent.agent_id, 0))
        agents.append(msgspec.structs.replace(agent, offers=offers, weekly_cap_slots=remaining))
    return Problem(
        first_slot=day.start,
        slot_count=len(day),
        agents=agents,
        requirements=[r for r in problem.requirements if r.slot in day],
        rules=msgspec.structs.replace(rules, weekly_cap_slots=None),
        fixed=[f for f in problem.fixed if f.start_slot in day],
        day_start_slots=[day.start],
    )


def _solve_by_day(
    problem: Problem, settings: SolverSettings, hint: Solution | None, run: _Run, deadline: float
) -> Solution:
    """Days one after another (rest and the weekly cap carried forward), each with all its stages."""
    rules = problem.rules
    days = days_of(problem)
    free_from: dict[str, int] = {}
    used: dict[str, int] = defaultdict(int)
    work: set[Key] = set()
    on: set[tuple[str, int]] = set()
    stages: list[Stage] = []
    objective = bound = 0
    complete = True
    for number, day in enumerate(days):
        sub = _day_problem(problem, day, free_from, used)
        day_deadline = time.perf_counter() + max(0.05, deadline - time.perf_counter()) / (len(days) - number)
        day_hint = [s for s in hint.shifts if s.start_slot in day] if hint is not None else None
        if run.stop_requested():
            day_work, day_on = _work_and_on(greedy_roster(sub), rules)
            complete = False
        else:
            built, values, day_stages, greedy = _staged(sub, settings, day_hint, run, day_deadline, "")
            stages += day_stages
            complete = complete and built.complete and all(s.status == "optimal" for s in day_stages)
            if values is not None:
                day_work = {key for key, var in built.x.items() if values[var.index]}
                day_on = {key for key, var in built.o.items() if values[var.index]}
                objective += day_stages[0].objective or 0
                bound += day_stages[0].best_bound or 0
            elif day_stages and day_stages[0].status == "infeasible":
                return _read_out(_Model(problem, build=False), None, set(), stages, run, "infeasible", None, None)
            else:
                day_work, day_on = _work_and_on(_kept(sub, day_hint) if day_hint else greedy, rules)
                complete = False
        work |= day_work
        on |= day_on
        for agent_id, _, _slot in day_work:
            used[agent_id] += 1
        for agent_id, slot in day_on:
            free_from[agent_id] = max(free_from.get(agent_id, 0), slot + 1 + rules.min_rest_slots)
    facts = _Model(problem, build=False)
    return _read_out(facts, work, on, stages, run, "optimal" if complete and not run.cancelled else "feasible",
                     objective, bound)  # fmt: skip


def _kept(problem: Problem, hint: list[Shift]) -> list[Shift]:
    """The previous roster's shifts of every agent whose shifts still obey the rules (the re-solve fallback)."""
    by_agent: dict[str, list[Shift]] = defaultdict(list)
    for shift in hint:
        by_agent[shift.agent_id].append(shift)
    return [s for rows in by_agent.values() if not roster_violations(problem, rows) for s in rows]


def _work_and_on(shifts: list[Shift], rules: SiteRules) -> tuple[set[Key], set[tuple[str, int]]]:
    work = _work_of(shifts)
    on = {(a, t) for a, _, t in work} | {
        (s.agent_id, t) for s in shifts if s.after_break for t in range(s.start_slot - rules.break_slots, s.start_slot)
    }
    return work, on


def _hint_from_shifts(built: _Model, shifts: list[Shift]) -> tuple[int, int]:
    """Start from a roster: a value for every variable, so CP-SAT can take it as its first solution."""
    work = _work_of(shifts)
    slots = {(a, t) for a, _, t in work}
    length = built.rules.break_slots
    starts = {(s.agent_id, s.start_slot - length) for s in shifts if s.after_break}
    on = slots | {(a, t + j) for a, t in starts for j in range(length)}
    hint: dict[int, int] = {}
    for key, var in built.x.items():
        hint[var.index] = key in work
    for key, var in built.w.items():
        hint[var.index] = key in slots
    for key, var in built.o.items():
        hint[var.index] = key in on
    for key, var in built.breaks.items():
        hint[var.index] = key in starts
    for (aid, t), var in built.s.items():
        if not isinstance(var, int):
            hint[var.index] = (aid, t) in on and (aid, t - 1) not in on
    for (aid, t), var in built.e.items():
        hint[var.index] = (aid, t - 1) in on and (aid, t) not in on
    cover: dict[tuple[str, int], int] = defaultdict(int)
    given: dict[str, int] = defaultdict(int)
    for aid, skill, t in work:
        if (aid, skill, t) in built.x:
            cover[skill, t] += 1
            given[aid] += 1
    for var, need, cell in built.shorts:
        hint[var.index] = max(0, need - cover[cell])
    for var, need, cell in built.extras:
        hint[var.index] = max(0, cover[cell] - need)
    for var, target, aid in built.shortfalls:
        hint[var.index] = max(0, target - given[aid])
    for index, value in hint.items():
        built.model.add_hint(built.model.get_int_var_from_proto_index(index), int(value))
    under = sum(max(0, need - cover[cell]) for _, need, cell in built.shorts)
    weighted = sum(built.required[cell].priority * max(0, need - cover[cell]) for _, need, cell in built.shorts)
    over = sum(max(0, cover[cell] - need) for _, need, cell in built.extras)
    return (len(built.x) + 1) * weighted + over, under


def _overall_status(built: _Model, stages: list[Stage], cancelled: bool) -> Status:
    if not cancelled and built.complete and all(stage.status == "optimal" for stage in stages):
        return "optimal"
    return "feasible"


def _read_out(
    built: _Model,
    work: set[Key] | None,
    on: set[tuple[str, int]],
    stages: list[Stage],
    run: _Run,
    status: Status,
    objective: int | None,
    best_bound: int | None,
) -> Solution:
    """Turn a roster (worked cells and on-shift slots; None when there is none) into the Solution."""
    found = work is not None
    work = work or set()
    lower = under_coverage_lower_bound(built.problem)
    coverage = _coverage(built, work)
    under = sum(max(0, c.required - c.scheduled) for c in coverage)
    over = sum(max(0, c.scheduled - c.required) for c in coverage)
    shifts = _shifts(built, work, on)
    return Solution(
        status=status,
        objective=objective,
        best_bound=best_bound,
        wall_seconds=run.elapsed(),
        under_coverage_slots=under if found else 0,
        over_coverage_slots=over if found else 0,
        lower_bound_under=lower,
        gap=under - lower if found else None,
        shifts=shifts,
        coverage=coverage,
        agents=_agent_reports(built, work, coverage, shifts),
        stages=stages,
        first_feasible_seconds=run.first_seconds,
        cancelled=run.cancelled,
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


def _shifts(built: _Model, work: set[Key], on: set[tuple[str, int]]) -> list[Shift]:
    """Runs of worked slots, one row per stretch of one skill (and one fixed-or-not state)."""
    shifts: list[Shift] = []
    by_agent: dict[str, dict[int, str]] = defaultdict(dict)
    for agent_id, skill, slot in work:
        by_agent[agent_id][slot] = skill

    def row(agent_id: str, run: list[int], slots: dict[int, str], fixed: dict[int, str]) -> Shift:
        first = run[0]
        after_break = first - 1 not in slots and (agent_id, first - 1) in on
        return Shift(agent_id, slots[first], first, run[-1] + 1, first in fixed, after_break)

    for agent_id in sorted(by_agent):
        slots = by_agent[agent_id]
        fixed = built.fixed_slots.get(agent_id, {})
        run: list[int] = []
        for slot in sorted(slots):
            if run and (slot != run[-1] + 1 or slots[slot] != slots[run[0]] or (slot in fixed) != (run[0] in fixed)):
                shifts.append(row(agent_id, run, slots, fixed))
                run = []
            run.append(slot)
        if run:
            shifts.append(row(agent_id, run, slots, fixed))
    return shifts


def _agent_reports(built: _Model, work: set[Key], coverage: list[Coverage], shifts: list[Shift]) -> list[AgentReport]:
    short_skills: dict[int, set[str]] = defaultdict(set)
    for cell in coverage:
        if cell.scheduled < cell.required:
            short_skills[cell.slot].add(cell.skill)
    worked: dict[str, set[int]] = defaultdict(set)
    for agent_id, _, slot in work:
        worked[agent_id].add(slot)
    own: dict[str, list[Shift]] = defaultdict(list)
    for shift in shifts:
        own[shift.agent_id].append(shift)
    days = days_of(built.problem)
    return [
        _agent_report(built, agent, worked[agent.agent_id], short_skills, own[agent.agent_id], days)
        for agent in built.problem.agents
    ]


def _agent_report(
    built: _Model,
    agent: Agent,
    worked: set[int],
    short_skills: dict[int, set[str]],
    own: list[Shift],
    days: list[range],
) -> AgentReport:
    offered = sorted(built.available[agent.agent_id]) if agent.pool != "core" else []
    reasons = {
        slot: _reason(built, agent, slot, worked, short_skills.get(slot, set()), own, days)
        for slot in offered
        if slot not in worked
    }
    return AgentReport(
        agent_id=agent.agent_id,
        offered_slots=len(offered),
        given_slots=len(worked),
        share_target=built.targets.get(agent.agent_id, 0),
        unused=_runs_of_reasons(reasons),
    )


def _reason(
    built: _Model,
    agent: Agent,
    slot: int,
    worked: set[int],
    short: set[str],
    own: list[Shift],
    days: list[range],
) -> Reason:
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
    day = next((d for d in days if slot in d), None)
    starts_today = sum(
        1
        for s in own
        if day is not None and s.start_slot in day and s.start_slot - 1 not in worked and not s.after_break
    )
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
