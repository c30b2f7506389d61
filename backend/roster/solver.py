"""The roster solver: weave agents' offered 30-minute slots into shifts that cover demand.

Pure: msgspec Structs in, Structs out, no database and no web, so it can run in
a process pool and be tested and benchmarked on its own. The Structs live in
``backend.roster.solver_types``, the rule checker in ``backend.roster.rules``, the
model in ``backend.roster.week_model``, its LP relaxation in
``backend.roster.relaxation``, the max-flow bound in ``backend.roster.lower_bound``
and the greedy start in ``backend.roster.greedy``; this module re-exports the
public names.

The model (``week_model``) chooses, for every part-time agent, whole shifts from
candidate shapes cut out of their own offered slots (every start, every length
within the bounds, the break near the middle when the break rule needs one),
and who covers which skill in each worked slot. Shifts a day, rest and the
weekly cap are rows over those shapes; fixed slots of part-timers (claimed
shifts, locked edits) must be worked; core staff work exactly their fixed
slots. A locked edit that breaks the rules makes the week "infeasible".

How it is solved, and why (each step measured on the bench weeks,
``tests/bench/roster.py``; CP-SAT on all candidate shapes, or on the old
slot-by-slot model, ended far from the bound within the time limit):

1. The LP relaxation of the whole model (``relaxation``, HiGHS), by column
   generation from the greedy roster's shapes and a few per agent and day. Its
   duals give ``lower_bound_under`` (Lagrangian duality; at least the max-flow
   bound). It is the bound of this model: breaks sit mid-shift in it.
2. A small LP over the shapes the first one used plus each agent's cheapest
   others (by reduced cost) adds fairness to the objective; the shapes it uses
   are a fair way to reach that coverage.
3. CP-SAT's coverage stage runs on those shapes only, and stops once
   under-coverage meets the bound (so it is optimal) and nothing has improved
   for a while. The later stages run on the wider set (both LPs' shapes, the
   cheapest ones, the greedy roster's), each from the stage before as a hint:
   each stage minimizes its term, then ``term <= value`` becomes a constraint.
4. Fairness moves (``fairness.py``, the last ``MOVES_SHARE`` of the time): whole
   shifts handed from agents above their share to agents below who can take
   them exactly, which leaves coverage and paid hours as they were (CP-SAT's
   fairness stage, held to exact coverage, finds few of these in its time).
5. Re-solving with a ``hint`` (the previous roster) skips the LPs and the moves: the previous
   shapes still allowed plus every shape on the days where the week changed (a
   previous shift no longer allowed, or a requirement that differs), starting
   from the previous roster, with a stability stage right after coverage. The
   LP bound is computed last, with what time is left (else the max-flow one).

Small weeks (``ALL_SHAPES_UP_TO`` shapes or fewer) keep every shape in CP-SAT.
Shapes of agents with fixed slots are always all in, so a restriction never
makes a locked edit impossible.

Stages, most important first:

1. coverage: ``W * sum(priority * under) + sum(over)``, ``W`` one more than the
   most over-coverage possible, so a slot of under-coverage outweighs it all.
   The later stages keep under-coverage exactly; over-coverage may grow by the
   site's spare cover (``SiteRules.fairness_spare_cover``, default 2% of the
   needed slots), which only the fairness stage may spend (each over-covered
   slot costs 1 there, so none is spent idly): a whole shift for a starved
   agent often overlaps a few half-hours already covered;
2. stability (re-solving only): worked slots of each agent that differ from the
   previous roster;
3. fairness: ``sum_a weight_a * |given_a - target_a|`` in slots. ``target_a``
   starts as the agent's proportional share of the needed slots,
   ``useful_offered_a * min(1, needed / useful_offered_total)`` (floored, at most
   the weekly cap; core staff have none), and is scaled to the slots the roster
   actually gives out once coverage is known (``WeekModel.give_out``: on a week
   that cannot be covered nobody reaches a share of the needed slots, and the
   term would only count slots not given). ``weight_a`` is inversely
   proportional to the share (``week_model.fairness_weights``), so nobody
   willing is starved and nobody hoards;
4. preference: "if needed" slots used; 5. pool: elastic slots used (backbone
   part-timers first); 6. cost: ``sum hourly_cost_minor * slots worked``.

The time limit covers everything, model building, LPs and the read-out
included (``READ_OUT_SHARE`` of it is kept for the read-out). ``objective`` and ``best_bound`` are
the coverage stage's; every stage is reported in ``stages``. No decomposition
by day or skill: the week is solved whole (rest and the weekly cap link days).

Progress and cancelling: ``on_progress(Progress)`` is called on every improving
solution and about once a second in between (a ticker thread: CP-SAT releases
the GIL while it searches); ``should_stop()`` is polled five times a second
during CP-SAT and between steps; when it says True the best roster so far (at
worst the greedy one) comes back with ``cancelled=True``. Exceptions in either
callback are swallowed, never raised into CP-SAT.

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

from ortools.sat.python import cp_model

from backend.roster.fairness import fairer
from backend.roster.greedy import greedy_roster
from backend.roster.lower_bound import under_coverage_lower_bound
from backend.roster.relaxation import Relaxation, cheapest_columns, coverage_costs, fairness_costs, used_columns
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
from backend.roster.week_model import Row, Shape, WeekModel, build_week, fairness_weights, shapes_of

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
    "week_lower_bound",
]

COVERAGE_TIME_SHARE = 0.6
FAIRNESS_TIME_SHARE = 0.75  # of what the coverage stage leaves
FAIRNESS_SHAPES_PER_AGENT = 40
MOVES_SHARE = 0.05  # of the time limit, for fairness moves after CP-SAT (fairness.py)
READ_OUT_SHARE = 0.05  # of the time limit, kept for turning the roster into shifts and explanations
SETTLE_SECONDS = 0.5  # coverage stops once under-coverage meets the bound and this long passes without a gain
SETTLE_SHARE = 0.1  # ... or this share of its time, if longer
TICK_SECONDS = 0.2
PROGRESS_EVERY_SECONDS = 1.0

Key = tuple[str, str, int]
CONSTANT = -1  # the key of a term's constant part
ALL_SHAPES_UP_TO = 2000
MIN_LP_SECONDS = 0.2  # a week with no more candidate shapes than this is solved on all of them


class _Facts:
    """What the read-out needs of the week: offers, fixed slots, requirements and fair shares."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.rules = problem.rules
        self.horizon = range(problem.first_slot, problem.first_slot + problem.slot_count)
        self.required = {(r.skill, r.slot): r for r in problem.requirements if r.slot in self.horizon}
        self.fixed_slots: dict[str, dict[int, str]] = defaultdict(dict)
        for fixed in problem.fixed:
            for slot in range(fixed.start_slot, fixed.end_slot):
                if slot in self.horizon:
                    self.fixed_slots[fixed.agent_id][slot] = fixed.skill
        self.available = {agent.agent_id: self._available(agent) for agent in problem.agents}
        self.targets = self._targets()

    def _available(self, agent: Agent) -> dict[int, bool]:
        """Slot -> preferred, for the slots the agent may work: offers (not for core staff) and fixed slots."""
        slots = {} if agent.pool == "core" else {o.slot: o.preferred for o in agent.offers if o.slot in self.horizon}
        for slot in self.fixed_slots.get(agent.agent_id, {}):
            slots.setdefault(slot, True)
        return slots

    def cap_slots(self, agent: Agent) -> int | None:
        return cap_of(agent, self.rules)

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


def _objectives(week: WeekModel, facts: _Facts, hint: list[Shift] | None) -> list[tuple[str, dict[int, int]]]:
    """The stages' terms as ``{variable: coefficient}``, most important first (see the module docstring)."""
    most_over = sum(max(0, supply - need) for supply, need in zip(week.supply, week.need, strict=True))
    weight = most_over + 1
    coverage: dict[int, int] = {}
    for cell, need in enumerate(week.need):
        if need > 0:
            coverage[week.u(cell)] = weight * week.priority[cell]
        coverage[week.o(cell)] = 1
    terms = [("coverage", coverage)]
    if hint is not None:
        terms.append(("stability", _stability(week, hint)))
    fairness = {}
    for index, weight in enumerate(fairness_weights(week.targets)):
        if weight:
            fairness[week.short(index)] = weight
            fairness[week.excess(index)] = weight
    if week.problem.rules.fairness_spare_cover > 0:  # spare cover only where it buys fairness, never idly
        fairness.update(_over_coverage(week))
    terms.append(("fairness", fairness))
    preference: dict[int, int] = {}
    pool: dict[int, int] = {}
    cost: dict[int, int] = {}
    pause = week.problem.rules.break_slots
    for column, (index, shape) in enumerate(week.columns):
        agent = week.agents[index]
        offered = facts.available[agent.agent_id]
        worked = shape.worked(pause)
        if_needed = sum(1 for t in worked if not offered.get(t, True))
        if if_needed:
            preference[column] = if_needed
        if agent.pool == "elastic":
            pool[column] = len(worked)
        if agent.hourly_cost_minor:
            cost[column] = agent.hourly_cost_minor * len(worked)
    terms += [("preference", preference), ("pool", pool), ("cost", cost)]
    return terms


def _stability(week: WeekModel, hint: list[Shift]) -> dict[int, int]:
    """Worked slots that differ from the previous roster: the slots it had, plus or minus per shape (linear in x)."""
    before: dict[str, set[int]] = defaultdict(set)
    for shift in hint:
        before[shift.agent_id].update(range(shift.start_slot, shift.end_slot))
    pause = week.problem.rules.break_slots
    term: dict[int, int] = {}
    for column, (index, shape) in enumerate(week.columns):
        had = before.get(week.agents[index].agent_id, set())
        worked = shape.worked(pause)
        change = sum(-1 if t in had else 1 for t in worked)
        if change:
            term[column] = change
    term[CONSTANT] = sum(len(slots) for slots in before.values())
    return term


class _CpModel:
    """The week model on a subset of its shapes, as CP-SAT variables and constraints."""

    def __init__(self, week: WeekModel, keep: set[int]) -> None:
        self.week = week
        self.model = cp_model.CpModel()
        self.feasible = True
        self.solved: dict[int, int] = {}
        self.vars: dict[int, cp_model.IntVar] = {}
        for column in sorted(keep):
            self.vars[column] = self.model.new_bool_var(f"x{column}")
        for row in week.link_rows:
            if any(var in self.vars for var, coef in row.terms if coef > 0):
                for var, coef in row.terms:
                    if coef < 0:
                        self.vars[var] = self.model.new_int_var(0, week.upper(var), f"y{var}")
        for cell, need in enumerate(week.need):
            row = week.cell_rows[cell]
            supply = sum(week.upper(var) for var, _ in row.terms[:-2] if var in self.vars)
            self.vars[week.u(cell)] = self.model.new_int_var(0, max(0, need), f"u{cell}")
            self.vars[week.o(cell)] = self.model.new_int_var(0, max(0, supply - need), f"o{cell}")
        for index, target in enumerate(week.targets):
            self.vars[week.short(index)] = self.model.new_int_var(0, max(0, target), f"s{index}")
            self.vars[week.excess(index)] = self.model.new_int_var(0, 1 << 16, f"e{index}")
        for row in [*week.rows, *week.link_rows, *week.cell_rows, *week.share_rows]:
            self._add(row)

    def _add(self, row: Row) -> None:
        terms = [(self.vars[var], coef) for var, coef in row.terms if var in self.vars]
        if not terms:
            if (row.lo is not None and row.lo > 0) or (row.hi is not None and row.hi < 0):
                self.feasible = False
            return
        expr = cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [c for _, c in terms])
        if row.lo is not None and row.lo == row.hi:
            self.model.add(expr == row.lo)
        elif row.hi is not None and len(terms) > 1 and row.hi == 1 and row.lo is None and all(c == 1 for _, c in terms):
            self.model.add_at_most_one([v for v, _ in terms])
        else:
            if row.lo is not None:
                self.model.add(expr >= row.lo)
            if row.hi is not None:
                self.model.add(expr <= row.hi)

    def cover_expressions(self) -> list[tuple[int, cp_model.LinearExprT]]:
        """(need, need - under) per cell, so the progress watcher can count under-coverage."""
        return [(need, need - self.vars[self.week.u(cell)]) for cell, need in enumerate(self.week.need) if need > 0]

    def expression(self, term: dict[int, int]) -> cp_model.LinearExprT:
        """The term as a CP-SAT expression; the key ``CONSTANT`` holds its constant part."""
        pairs = [(self.vars[var], coef) for var, coef in term.items() if var in self.vars]
        constant = term.get(CONSTANT, 0)
        if not pairs:
            return constant
        return cp_model.LinearExpr.weighted_sum([v for v, _ in pairs], [c for _, c in pairs]) + constant

    def hint_columns(self, chosen: set[int], skills: dict[tuple[str, int], str]) -> None:
        """Hint a roster given as chosen columns and its skills: every variable, so CP-SAT starts from it."""
        values = self.values_of(chosen, skills)
        self.model.clear_hints()
        for var, value in values.items():
            if var in self.vars:
                self.model.add_hint(self.vars[var], value)

    def values_of(self, chosen: set[int], skills: dict[tuple[str, int], str]) -> dict[int, int]:
        """Every variable's value for a roster of chosen columns and the skill worked in each slot."""
        week = self.week
        values = {column: int(column in chosen) for column in self.vars if column < week.x_count}
        cover = [0] * len(week.cells)
        given = [0] * len(week.agents)
        for column in chosen:
            given[week.columns[column][0]] += len(week.columns[column][1].worked(week.problem.rules.break_slots))
        for row, (_, slot) in zip(week.link_rows, week.link_keys, strict=True):
            options = {week.y_keys[var - week.x_count][1]: var for var, coef in row.terms if coef < 0}
            for var in options.values():
                values[var] = 0
            for var, coef in row.terms:
                if coef > 0 and var in chosen:
                    wanted = skills.get((week.agents[week.columns[var][0]].agent_id, slot))
                    values[options.get(wanted, next(iter(options.values())))] += 1
        for cell, row in enumerate(week.cell_rows):
            cover[cell] = sum(values.get(var, 0) for var, _ in row.terms[:-2])
            values[week.u(cell)] = max(0, week.need[cell] - cover[cell])
            values[week.o(cell)] = max(0, cover[cell] - week.need[cell])
        for index, target in enumerate(week.targets):
            values[week.short(index)] = max(0, target - given[index])
            values[week.excess(index)] = max(0, given[index] - target)
        return values


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

    def __init__(
        self,
        run: _Run,
        stage: str,
        cover: list[tuple[int, cp_model.LinearExprT]] | None,
        settle: tuple[int, float] | None = None,
    ) -> None:
        super().__init__()
        self.run = run
        self.stage = stage
        self.cover = cover
        self.settle = settle  # (under-coverage bound, patience in seconds)
        self.objective: int | None = None
        self.bound: int | None = None
        self.under: int | None = None
        self.improved_at = time.perf_counter()

    def settled(self) -> bool:
        """Under-coverage is at its bound (so proven optimal) and nothing has improved for a while."""
        if self.settle is None or self.under is None:
            return False
        bound, patience = self.settle
        return self.under <= bound and time.perf_counter() - self.improved_at >= patience

    def on_solution_callback(self) -> None:
        try:
            if self.run.first_seconds is None:
                self.run.first_seconds = self.run.elapsed()
            self.improved_at = time.perf_counter()
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
    """A thread that polls ``should_stop``, stops a settled stage and reports progress about once a second."""
    if not run.watched and watch.settle is None:
        yield
        return
    solver.best_bound_callback = watch.on_bound
    done = threading.Event()

    def tick() -> None:
        while not done.wait(TICK_SECONDS):
            if run.stop_requested() or watch.settled():
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


STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "infeasible",
}


def solve(
    problem: Problem,
    settings: SolverSettings,
    hint: Solution | None = None,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Solution:
    """Roster the week: LP for the bound and the shapes worth trying, CP-SAT by stages, then explain."""
    run = _Run(time.perf_counter(), on_progress, should_stop)
    end = run.started + settings.time_limit_seconds * (1 - READ_OUT_SHARE)
    deadline = end - settings.time_limit_seconds * MOVES_SHARE  # CP-SAT's; fairness moves have the rest
    facts = _Facts(problem)
    greedy = greedy_roster(problem)
    greedy_ok = not roster_violations(problem, greedy)
    flow_bound = under_coverage_lower_bound(problem)
    if greedy_ok:
        run.first_seconds = run.elapsed()
        run.report("coverage", None, None, _under_of(facts, _work_and_on(greedy, facts.rules)[0]))
    fallback = _work_and_on(greedy, facts.rules) if greedy_ok else None
    if run.stop_requested():
        return _read_out(facts, fallback, [], run, "feasible" if fallback else "unknown", None, None, flow_bound)
    previous = hint.shifts if hint is not None else None
    week = build_week(
        problem, facts.available, facts.fixed_slots, facts.targets, _known_shapes(greedy, previous, facts)
    )
    if hint is None:
        first, later, bound = _shapes_from_lp(week, _columns_of(week, greedy), run, deadline, flow_bound)
    else:
        first, later, bound = _shapes_for_resolve(week, hint, facts), set(), flow_bound
    first |= _columns_with_fixed(week, facts)
    terms = _objectives(week, facts, previous)
    start = (_columns_of(week, previous), _skills_of(previous)) if previous is not None else None
    chosen, cp, stages = _staged(
        week, terms, first, later, start, settings, run, deadline, bound if hint is None else None
    )
    if cp is None:
        return _read_out(facts, None, [], run, "infeasible", None, None, flow_bound)
    if hint is not None and not run.cancelled and deadline - time.perf_counter() > MIN_LP_SECONDS:
        bound = max(bound, _lp_bound(week, first, deadline))
    infeasible = bool(stages) and stages[0].status == "infeasible"
    if chosen is not None:
        roster = _with_core_staff(_work_and_on_columns(cp, chosen, _skills_of(previous or [])), facts)
        status = _overall_status(stages, len(terms), run.cancelled)
        if hint is None and not run.cancelled:  # re-solving, stability comes before fairness
            roster, moved = _fairness_moves(facts, week, roster, end)
            stages.append(moved)
    elif not infeasible and fallback is not None:
        roster, status = fallback, "feasible"  # nothing better in time (or cancelled at once)
    else:
        roster, status = None, ("infeasible" if infeasible else "unknown")
    coverage_stage = stages[0] if stages else None
    return _read_out(
        facts,
        roster,
        stages,
        run,
        status,
        coverage_stage.objective if coverage_stage else None,
        coverage_stage.best_bound if coverage_stage else None,
        bound,
    )


def week_lower_bound(problem: Problem, time_limit_seconds: float = 600.0) -> int:
    """The bound ``solve`` reports, alone: the LP of the candidate-shift model, at least the max-flow bound."""
    facts = _Facts(problem)
    week = build_week(problem, facts.available, facts.fixed_slots, facts.targets)
    seeds = _columns_of(week, greedy_roster(problem))
    return max(under_coverage_lower_bound(problem), _lp_bound(week, seeds, time.perf_counter() + time_limit_seconds))


def _lp_bound(week: WeekModel, seeds: set[int], deadline: float) -> int:
    """The LP bound on under-coverage by column generation from ``seeds`` (0 when no LP round finished)."""
    found = Relaxation(week).priced(coverage_costs(week), seeds | _seeds(week), deadline)
    return found.under_coverage_bound() if found is not None else 0


def _under_of(facts: _Facts, work: set[Key]) -> int:
    scheduled: dict[tuple[str, int], int] = defaultdict(int)
    for _, skill, slot in work:
        scheduled[skill, slot] += 1
    return sum(max(0, r.agents - scheduled.get(cell, 0)) for cell, r in facts.required.items())


def _known_shapes(greedy: list[Shift], previous: list[Shift] | None, facts: _Facts) -> dict[str, list[Shape]]:
    """The greedy roster's and the previous roster's shifts, as shapes to add to the candidates."""
    known: dict[str, list[Shape]] = defaultdict(list)
    for shifts in (greedy, previous or []):
        for agent_id, shapes in shapes_of(shifts, facts.rules.break_slots).items():
            known[agent_id] += shapes
    return known


def _shapes_from_lp(
    week: WeekModel, seeds: set[int], run: _Run, deadline: float, flow_bound: int
) -> tuple[set[int], set[int], int]:
    """The LP bound; the shapes of a fair LP optimum (for coverage); those and more (for the later stages).

    The coverage LP over every shape is solved by column generation from ``seeds``; a
    second, small LP over its shapes and each agent's cheapest others (by reduced
    cost) adds the distance from the fair share. Coverage then runs on that LP's
    shapes: measured on the bench weeks, this keeps coverage at the bound and leaves
    a roster that is already fair.
    """
    run.report("bound", None, None, None)
    coverage = Relaxation(week).priced(
        coverage_costs(week), seeds | _seeds(week), time.perf_counter() + _lp_time(deadline)
    )
    if coverage is None:  # no LP round in time: the seeds, greedy's shapes among them, are what there is
        return seeds | _seeds(week), set(), flow_bound
    bound = max(flow_bound, coverage.under_coverage_bound())
    run.report("bound", None, bound, None)
    if week.x_count <= ALL_SHAPES_UP_TO:
        return set(range(week.x_count)), set(), bound
    lp_shapes = used_columns(coverage.values, week)
    later = lp_shapes | seeds | cheapest_columns(coverage.reduced, week, FAIRNESS_SHAPES_PER_AGENT)
    week.give_out(week.given((column, coverage.values[column]) for column in lp_shapes))
    if run.stop_requested():
        return lp_shapes, later, bound
    fair = Relaxation(week, fair_shares=True).minimize(
        {**coverage_costs(week), **fairness_costs(week)}, later, _lp_time(deadline), method="highs-ipm"
    )
    return (used_columns(fair.values, week) if fair is not None else lp_shapes), later, bound


def _seeds(week: WeekModel) -> set[int]:
    """A first few shapes per agent and day for column generation: the longest from each window's first slot."""
    longest: dict[tuple[int, int], int] = {}
    for column, (agent, shape) in enumerate(week.columns):
        key = (agent, shape.start // SLOTS_PER_DAY)
        if key not in longest or shape.length > week.columns[longest[key]][1].length:
            longest[key] = column
    return set(longest.values())


def _lp_time(deadline: float) -> float:
    return max(0.1, (deadline - time.perf_counter()) * 0.5)


def _shapes_for_resolve(week: WeekModel, hint: Solution, facts: _Facts) -> set[int]:
    """The previous roster's shapes, and every shape on the days where the week changed since (small weeks: all)."""
    if week.x_count <= ALL_SHAPES_UP_TO:
        return set(range(week.x_count))
    days = days_of(week.problem)
    day_of = {t: number for number, day in enumerate(days) for t in day}
    changed: set[int] = set()
    for agent_id, shapes in shapes_of(hint.shifts, facts.rules.break_slots).items():
        available = set(facts.available.get(agent_id, {}))
        for shape in shapes:
            if any(t not in available for t in range(shape.start, shape.end)):
                changed.add(day_of.get(shape.start, -1))
    before = {(c.skill, c.slot): c.required for c in hint.coverage}
    for cell, requirement in facts.required.items():
        if before.get(cell, 0) != requirement.agents:
            changed.add(day_of.get(cell[1], -1))
    for cell, required in before.items():
        if required and cell not in facts.required:
            changed.add(day_of.get(cell[1], -1))
    changed_days = {n for n, (_, shape) in enumerate(week.columns) if day_of.get(shape.start, -1) in changed}
    return changed_days | _columns_of(week, hint.shifts)


def _columns_of(week: WeekModel, shifts: list[Shift]) -> set[int]:
    """The columns of a roster's shifts (shifts that are no longer allowed have none)."""
    wanted = {
        (agent_id, shape)
        for agent_id, shapes in shapes_of(shifts, week.problem.rules.break_slots).items()
        for shape in shapes
    }
    return {n for n, (index, shape) in enumerate(week.columns) if (week.agents[index].agent_id, shape) in wanted}


def _columns_with_fixed(week: WeekModel, facts: _Facts) -> set[int]:
    """Every shape of an agent with fixed slots: a restriction must never make a locked edit impossible."""
    fixed = {i for i, agent in enumerate(week.agents) if facts.fixed_slots.get(agent.agent_id)}
    return {n for n, (index, _) in enumerate(week.columns) if index in fixed}


def _skills_of(shifts: list[Shift]) -> dict[tuple[str, int], str]:
    return {(s.agent_id, t): s.skill for s in shifts for t in range(s.start_slot, s.end_slot)}


def _staged(
    week: WeekModel,
    terms: list[tuple[str, dict[int, int]]],
    first: set[int],
    later: set[int],
    start: tuple[set[int], dict[tuple[str, int], str]] | None,
    settings: SolverSettings,
    run: _Run,
    deadline: float,
    bound: int | None,
) -> tuple[set[int] | None, _CpModel | None, list[Stage]]:
    """Coverage on the ``first`` shapes, then the other terms on ``first | later``, one after another.

    Each stage's optimum becomes a constraint (``term <= value``) and its solution
    the next stage's hint. Coverage runs on the LP's shapes alone: measured on the
    bench weeks, more shapes (or the greedy roster as a hint) slow it down more than
    they help; fairness needs the LP's fairness shapes to move hours between agents.
    """
    cp = _CpModel(week, first)
    if not cp.feasible:
        return None, None, []
    if start is not None:
        cp.hint_columns(start[0] & set(cp.vars), start[1])
    chosen: set[int] | None = None
    stages: list[Stage] = []
    for index, (name, term) in enumerate(terms):
        if run.stop_requested():
            break
        if index == 1 and chosen is not None:
            week.give_out(week.given((column, 1) for column in chosen))
            cp = _widened(cp, first | later, chosen)
        share = (
            COVERAGE_TIME_SHARE
            if index == 0
            else FAIRNESS_TIME_SHARE
            if name == "fairness"
            else 1 / (len(terms) - index)
        )
        settle = bound if index == 0 else None
        stage, values = _minimize(cp, name, term, share, settings, run, deadline, settle)
        stages.append(stage)
        if values is None:
            break
        chosen = {var for var, value in values.items() if var < week.x_count and value}
        if name == "fairness":  # the spare cover was for fairness: what it did not use, later stages may not
            over = _over_coverage(week)
            cp.model.add(cp.expression(over) <= sum(values[var] for var in over))
    return chosen, cp, stages


def _widened(cp: _CpModel, keep: set[int], chosen: set[int]) -> _CpModel:
    """The model on the ``keep`` shapes, started from the coverage stage's roster and held to its coverage.

    Under-coverage stays exactly as found; over-coverage may grow by the site's
    spare cover (``SiteRules.fairness_spare_cover`` of the needed slots), which
    only the fairness stage may spend (see the module docstring).
    """
    week = cp.week
    wider = _CpModel(week, keep)
    under = {week.u(cell): week.priority[cell] for cell, need in enumerate(week.need) if need > 0}
    over = _over_coverage(week)
    spare = int(week.problem.rules.fairness_spare_cover * sum(max(0, need) for need in week.need))
    wider.model.add(wider.expression(under) <= sum(cp.solved.get(var, 0) * weight for var, weight in under.items()))
    wider.model.add(wider.expression(over) <= sum(cp.solved.get(var, 0) for var in over) + spare)
    work, _ = _work_and_on_columns(cp, chosen)
    skills = {(agent_id, slot): skill for agent_id, skill, slot in work}
    wider.hint_columns(chosen, skills)
    wider.solved = wider.values_of(chosen, skills)  # what a stage with nothing to choose returns
    return wider


def _over_coverage(week: WeekModel) -> dict[int, int]:
    return {week.o(cell): 1 for cell in range(len(week.cells))}


def _minimize(
    cp: _CpModel,
    name: str,
    term: dict[int, int],
    share: float,
    settings: SolverSettings,
    run: _Run,
    deadline: float,
    settle_under: int | None = None,
) -> tuple[Stage, dict[int, int] | None]:
    """One stage: minimize ``term``, keep it at its best as a constraint, hint the solution for the next."""
    expression = cp.expression(term)
    if isinstance(expression, int):
        return Stage(
            name=name, status="optimal", objective=expression, best_bound=expression, wall_seconds=0.0
        ), cp.solved
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, deadline - time.perf_counter()) * share
    # One worker searching with the full LP relaxation reached the bound fastest on 2 cores (bench).
    solver.parameters.num_workers = 1 if settings.workers <= 2 and name == "coverage" else settings.workers
    solver.parameters.random_seed = settings.seed
    solver.parameters.linearization_level = 2
    cp.model.minimize(expression)
    limit = solver.parameters.max_time_in_seconds
    settle = (settle_under, max(SETTLE_SECONDS, SETTLE_SHARE * limit)) if settle_under is not None else None
    watch = _Watch(run, name, cp.cover_expressions() if name == "coverage" else None, settle)
    with _ticking(run, solver, watch):
        status = solver.solve(cp.model, watch)
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    value = round(solver.objective_value) if found else None
    stage = Stage(
        name=name,
        status=STATUS.get(status, "unknown"),  # type: ignore[arg-type]
        objective=value,
        best_bound=round(solver.best_objective_bound) if found else None,
        wall_seconds=solver.wall_time,
    )
    if not found:
        return stage, None
    values = {var: solver.value(v) for var, v in cp.vars.items()}
    cp.model.add(expression <= value)
    cp.model.clear_hints()
    for var, value in values.items():
        cp.model.add_hint(cp.vars[var], value)
    cp.solved = values
    return stage, values


def _work_and_on_columns(
    cp: _CpModel, chosen: set[int], before: dict[tuple[str, int], str] | None = None
) -> tuple[set[Key], set[tuple[str, int]]]:
    """The worked cells and on-shift slots of the chosen shapes, skills given back from the pooled y values."""
    week = cp.week
    pause = week.problem.rules.break_slots
    single: dict[tuple[int, int], str] = {}
    for cell, row in enumerate(week.cell_rows):
        skill, slot = week.cells[cell]
        for var, _ in row.terms[:-2]:
            if var < week.x_count:
                single[var, slot] = skill
    work: set[Key] = set()
    on: set[tuple[str, int]] = set()
    for column in chosen:
        index, shape = week.columns[column]
        agent_id = week.agents[index].agent_id
        for slot in shape.worked(pause):
            if (column, slot) in single:
                work.add((agent_id, single[column, slot], slot))
            on.add((agent_id, slot))
        on.update((agent_id, slot) for slot in shape.on_break(pause))
    return work | _pooled_skills(cp, chosen, before or {}), on


def _pooled_skills(cp: _CpModel, chosen: set[int], before: dict[tuple[str, int], str]) -> set[Key]:
    """Each pooled slot's counts per skill, handed to its agents.

    An agent keeps the skill the previous roster gave them then (``before``, when
    re-solving), else the skill of their slot before, else takes what is left.
    """
    week = cp.week
    given: dict[tuple[str, int], str] = {}
    for row, (_, slot) in sorted(zip(week.link_rows, week.link_keys, strict=True), key=lambda item: item[1][1]):
        left = {week.y_keys[var - week.x_count][1]: cp.solved.get(var, 0) for var, coef in row.terms if coef < 0}
        agents = sorted(
            week.agents[week.columns[var][0]].agent_id for var, coef in row.terms if coef > 0 and var in chosen
        )
        waiting = []
        for agent_id in agents:
            wanted = before.get((agent_id, slot)) or given.get((agent_id, slot - 1))
            if wanted is not None and left.get(wanted, 0) > 0:
                given[agent_id, slot] = wanted
                left[wanted] -= 1
            else:
                waiting.append(agent_id)
        for agent_id in waiting:
            skill = next((k for k, n in left.items() if n > 0), None)
            if skill is not None:
                given[agent_id, slot] = skill
                left[skill] -= 1
    return {(agent_id, skill, slot) for (agent_id, slot), skill in given.items()}


def _fairness_moves(
    facts: _Facts, week: WeekModel, roster: tuple[set[Key], set[tuple[str, int]]], end: float
) -> tuple[tuple[set[Key], set[tuple[str, int]]], Stage]:
    """Whole shifts handed from agents above their share to agents below (``fairness.fairer``)."""
    began = time.perf_counter()
    ids = [agent.agent_id for agent in week.agents]
    targets = dict(zip(ids, week.targets, strict=True))
    weights = dict(zip(ids, fairness_weights(week.targets), strict=True))
    shifts, moves = fairer(facts.problem, _shifts(facts, *roster), targets, weights, end)
    stage = Stage(
        name="fairness moves",
        status="feasible",
        objective=moves,
        best_bound=None,
        wall_seconds=time.perf_counter() - began,
    )
    return _work_and_on(shifts, facts.rules), stage


def _with_core_staff(
    roster: tuple[set[Key], set[tuple[str, int]]], facts: _Facts
) -> tuple[set[Key], set[tuple[str, int]]]:
    """Core staff work exactly their fixed slots: the model counts them as constant coverage."""
    work, on = roster
    for agent in facts.problem.agents:
        if agent.pool == "core":
            for slot, skill in facts.fixed_slots.get(agent.agent_id, {}).items():
                work.add((agent.agent_id, skill, slot))
                on.add((agent.agent_id, slot))
    return work, on


def _work_and_on(shifts: list[Shift], rules: SiteRules) -> tuple[set[Key], set[tuple[str, int]]]:
    work = {(s.agent_id, s.skill, t) for s in shifts for t in range(s.start_slot, s.end_slot)}
    on = {(a, t) for a, _, t in work} | {
        (s.agent_id, t) for s in shifts if s.after_break for t in range(s.start_slot - rules.break_slots, s.start_slot)
    }
    return work, on


def _overall_status(stages: list[Stage], terms: int, cancelled: bool) -> Status:
    if not cancelled and len(stages) == terms and all(stage.status == "optimal" for stage in stages):
        return "optimal"
    return "feasible"


def _read_out(
    built: _Facts,
    roster: tuple[set[Key], set[tuple[str, int]]] | None,
    stages: list[Stage],
    run: _Run,
    status: Status,
    objective: int | None,
    best_bound: int | None,
    lower: int,
) -> Solution:
    """Turn a roster (worked cells and on-shift slots; None when there is none) into the Solution."""
    found = roster is not None
    work, on = roster if roster is not None else (set(), set())
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


def _coverage(built: _Facts, work: set[Key]) -> list[Coverage]:
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


def _shifts(built: _Facts, work: set[Key], on: set[tuple[str, int]]) -> list[Shift]:
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


def _agent_reports(built: _Facts, work: set[Key], coverage: list[Coverage], shifts: list[Shift]) -> list[AgentReport]:
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
    built: _Facts,
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
    built: _Facts,
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
