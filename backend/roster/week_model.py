"""The week as one linear model over candidate shifts: the same rows feed CP-SAT and the LP relaxation.

Why candidate shifts: a shift is a run of an agent's own offered slots, so the
shapes are few (a start, a length in bounds, where the break falls) and every
rule that links slots (minimum and maximum length, one break, shifts a day,
rest) becomes a property of a shape or a set-packing row. Choosing shapes
together with who covers which skill avoids the two-stage trap (fixed shift
templates first, people second) that leaves gig availability unused.

Variables, in this order:

- ``x[c]`` (0/1): the agent of column ``c`` works the shape of ``c``;
- ``y[a, k, t]`` (0/1): agent ``a`` covers skill ``k`` in slot ``t``, only where
  the agent has two or more skills to choose from then (one skill at a time:
  ``sum_k y[a, k, t] = sum of x covering t``); a single-skilled slot puts its
  ``x`` straight into the skill's cell;
- ``u[cell]`` and ``o[cell]``: under- and over-coverage of ``(skill, slot)``
  (``cover + u - o = need``);
- ``short[a]`` and ``excess[a]``: slots given below and above the agent's fair
  share (``given + short - excess = target``).

Rows: at most ``max_shifts_per_day`` shapes start in a day; two shapes whose
spans plus the rest overlap are never both chosen (one row per point where
such spans meet: the cliques of an interval graph); the weekly cap; fixed slots
of part-timers are worked. Core staff have no columns: their fixed slots are
constant coverage.

Breaks: a shape longer than ``break_after_slots`` holds one break of
``break_slots`` unworked slots; ordinary candidates place it as near the middle
as the rule allows. Shapes from a previous roster, the greedy start or a
locked edit are added as they are when they obey the rules, so a re-solve can
keep them exactly.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from backend.core.slots import ranges_of
from backend.roster.solver_types import Agent, Problem, Shift, SiteRules, cap_of, days_of


@dataclass(frozen=True, slots=True)
class Shape:
    """One shift of one agent: ``length`` slots from ``start``, with its break ``break_at`` slots in (or None)."""

    start: int
    length: int
    break_at: int | None = None

    @property
    def end(self) -> int:
        return self.start + self.length

    def worked(self, break_slots: int) -> list[int]:
        if self.break_at is None:
            return list(range(self.start, self.end))
        resume = self.start + self.break_at + break_slots
        return [*range(self.start, self.start + self.break_at), *range(resume, self.end)]

    def on_break(self, break_slots: int) -> list[int]:
        if self.break_at is None:
            return []
        return list(range(self.start + self.break_at, self.start + self.break_at + break_slots))


def fairness_weights(targets: list[int]) -> list[int]:
    """Per agent, the cost of one slot away from their share: inversely to the share, so ratios count.

    Fairness is read as hours given over fair share (the Gini the bench reports is
    of those ratios); one slot matters more to an agent whose share is small.
    """
    shares = [t for t in targets if t > 0]
    mean = sum(shares) / len(shares) if shares else 0
    return [max(1, round(10 * mean / t)) if t > 0 else 0 for t in targets]


def obeys_rules(shape: Shape, rules: SiteRules, available: set[int]) -> bool:
    """Inside the available slots, length in bounds, and any break where the break rule allows it."""
    if not rules.min_shift_slots <= shape.length <= rules.max_shift_slots:
        return False
    if any(t not in available for t in range(shape.start, shape.end)):
        return False
    after = rules.break_after_slots
    if shape.break_at is None:
        return after is None or shape.length <= after
    second = shape.length - shape.break_at - rules.break_slots
    if shape.break_at < 1 or second < 1:
        return False
    return after is None or (shape.break_at <= after and second <= after)


def candidate_shapes(available: set[int], rules: SiteRules, every_break: bool = False) -> list[Shape]:
    """Every start and length inside each run of available slots; the break mid-shift (or anywhere)."""
    shapes: list[Shape] = []
    after, pause = rules.break_after_slots, rules.break_slots
    for run_start, run_end in ranges_of(available):
        for start in range(run_start, run_end):
            for length in range(max(1, rules.min_shift_slots), rules.max_shift_slots + 1):
                if start + length > run_end:
                    break
                if after is None or length <= after:
                    shapes.append(Shape(start, length))
                    continue
                low, high = max(1, length - pause - after), min(after, length - pause - 1)
                if low > high:
                    continue
                middle = min(max((length - pause) // 2, low), high)
                places = range(low, high + 1) if every_break else [middle]
                shapes += [Shape(start, length, at) for at in places]
    return shapes


def joined_rows(rows: Iterable[Shift], break_slots: int) -> list[list[Shift]]:
    """One agent's rows joined into whole shifts: across skill switches, and across one break per shift."""
    shifts: list[list[Shift]] = []
    for row in sorted(rows, key=lambda s: s.start_slot):
        last = shifts[-1] if shifts else None
        touches = last is not None and row.start_slot == last[-1].end_slot
        resumes = (
            last is not None
            and row.after_break
            and row.start_slot == last[-1].end_slot + break_slots
            and not any(r.start_slot > last[0].start_slot and r.after_break for r in last)
        )
        if touches or resumes:
            shifts[-1].append(row)
        else:
            shifts.append([row])
    return shifts


def shapes_of(shifts: Iterable[Shift], break_slots: int) -> dict[str, list[Shape]]:
    """A roster's rows, joined back into whole shifts (skill switches and the break) per agent."""
    by_agent: dict[str, list[Shift]] = defaultdict(list)
    for shift in shifts:
        by_agent[shift.agent_id].append(shift)
    return {
        agent_id: [_shape_of(rows, break_slots) for rows in joined_rows(own, break_slots)]
        for agent_id, own in by_agent.items()
    }


def _shape_of(rows: list[Shift], break_slots: int) -> Shape:
    start = rows[0].start_slot
    gaps = [b.start_slot - break_slots - start for a, b in itertools.pairwise(rows) if b.start_slot > a.end_slot]
    return Shape(start, rows[-1].end_slot - start, gaps[0] if gaps else None)


@dataclass
class Row:
    """``lo <= sum(coef * var) <= hi``; ``hi``/``lo`` None means unbounded."""

    terms: list[tuple[int, int]]
    lo: int | None
    hi: int | None


@dataclass
class WeekModel:
    """The candidate-shift model of a week, as plain rows over numbered variables."""

    problem: Problem
    agents: list[Agent]
    columns: list[tuple[int, Shape]] = field(default_factory=list)  # (agent index, shape)
    y_keys: list[tuple[tuple[str, ...], str, int]] = field(default_factory=list)  # (skill set, skill, slot)
    y_upper: list[int] = field(default_factory=list)  # agents of that skill set who could work the slot
    cells: list[tuple[str, int]] = field(default_factory=list)
    need: list[int] = field(default_factory=list)  # after core staff's constant coverage
    priority: list[int] = field(default_factory=list)
    supply: list[int] = field(default_factory=list)  # per cell, how many variables can cover it
    shares: list[int] = field(default_factory=list)  # per agent, fair share of the needed slots, 0 = none
    targets: list[int] = field(default_factory=list)  # per agent, the share of what the roster gives out
    offered: list[int] = field(default_factory=list)  # per agent, slots they could work
    rows: list[Row] = field(default_factory=list)
    link_rows: list[Row] = field(default_factory=list)  # shapes of a skill set covering a slot == its y
    link_keys: list[tuple[tuple[str, ...], int]] = field(default_factory=list)  # (skill set, slot) per link row
    cell_rows: list[Row] = field(default_factory=list)  # cover + u - o == need, one per cell
    share_rows: list[Row] = field(default_factory=list)  # given + short - excess == target, per agent

    @property
    def x_count(self) -> int:
        return len(self.columns)

    def u(self, cell: int) -> int:
        return self.x_count + len(self.y_keys) + 2 * cell

    def o(self, cell: int) -> int:
        return self.u(cell) + 1

    def short(self, agent: int) -> int:
        return self.x_count + len(self.y_keys) + 2 * len(self.cells) + 2 * agent

    def excess(self, agent: int) -> int:
        return self.short(agent) + 1

    def given(self, columns: Iterable[tuple[int, float]]) -> int:
        """Slots worked in a roster given as ``(column, how much)`` pairs (an LP's fractions too)."""
        pause = self.problem.rules.break_slots
        return round(sum(len(self.columns[column][1].worked(pause)) * amount for column, amount in columns))

    def give_out(self, total: int) -> bool:
        """Targets as fair shares of the ``total`` slots a roster gives out; True if they changed.

        A share of the needed slots cannot be reached when the week cannot be covered:
        then everyone is below it, and ``|given - target|`` only counts slots not given
        instead of measuring balance (a tight bench week came out less fair than
        greedy). Scaled to what is given, the shares keep their proportions (hours in
        proportion to hours offered), at most the weekly cap.
        """
        whole = sum(self.shares)
        if whole == 0:
            return False
        targets = []
        for share, agent in zip(self.shares, self.agents, strict=True):
            cap = cap_of(agent, self.problem.rules)
            target = share * total // whole
            targets.append(target if cap is None else min(target, cap))
        if targets == self.targets:
            return False
        self.targets = targets
        for row, target in zip(self.share_rows, targets, strict=True):
            row.lo = row.hi = target
        return True

    @property
    def var_count(self) -> int:
        return self.x_count + len(self.y_keys) + 2 * len(self.cells) + 2 * len(self.agents)

    def upper(self, var: int) -> int:
        """A variable's upper bound: 1 for x, the agents who could for y, the need for u, and so on."""
        if var < self.x_count:
            return 1
        if var < self.x_count + len(self.y_keys):
            return self.y_upper[var - self.x_count]
        base = self.x_count + len(self.y_keys)
        if var < base + 2 * len(self.cells):
            cell, is_over = divmod(var - base, 2)
            return max(0, self.need[cell]) if not is_over else max(0, self.supply[cell] - self.need[cell])
        agent, is_excess = divmod(var - base - 2 * len(self.cells), 2)
        return self.targets[agent] if not is_excess else max(0, self.offered[agent] - self.targets[agent])


def build_week(
    problem: Problem,
    available: dict[str, dict[int, bool]],
    fixed_slots: dict[str, dict[int, str]],
    targets: dict[str, int],
    extra_shapes: dict[str, list[Shape]] | None = None,
) -> WeekModel:
    """Columns for every candidate shape (plus ``extra_shapes`` that obey the rules) and all rows."""
    rules = problem.rules
    horizon = range(problem.first_slot, problem.first_slot + problem.slot_count)
    demand_skills = {r.skill for r in problem.requirements} | {f.skill for f in problem.fixed}
    week = WeekModel(problem=problem, agents=list(problem.agents))
    week.shares = [targets.get(a.agent_id, 0) for a in problem.agents]
    week.targets = list(week.shares)
    week.offered = [len(available.get(a.agent_id, {})) for a in problem.agents]
    constant: dict[tuple[str, int], int] = defaultdict(int)
    cover_terms: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    given_terms: dict[int, list[tuple[int, int]]] = defaultdict(list)
    pooled: dict[tuple[tuple[str, ...], int], list[int]] = defaultdict(list)
    pooled_agents: dict[tuple[tuple[str, ...], int], set[int]] = defaultdict(set)
    days = days_of(problem)
    day_of = {t: number for number, day in enumerate(days) for t in day}
    for index, agent in enumerate(problem.agents):
        fixed = fixed_slots.get(agent.agent_id, {})
        if agent.pool == "core":
            for slot, skill in fixed.items():
                constant[skill, slot] += 1
            continue
        skills = sorted(set(agent.skills) & demand_skills)
        slots = set(available.get(agent.agent_id, {}))
        if not skills and not fixed:
            continue
        shapes = candidate_shapes(slots, rules, every_break=bool(fixed))
        known = set(shapes)
        for shape in (extra_shapes or {}).get(agent.agent_id, []):
            if shape not in known and obeys_rules(shape, rules, slots):
                shapes.append(shape)
                known.add(shape)
        shapes = [s for s in shapes if s.start in horizon]
        _add_agent(week, index, agent, shapes, skills, fixed, day_of, cover_terms, given_terms, pooled)
        for slot in {t for shape in shapes for t in shape.worked(rules.break_slots)} - set(fixed):
            if len(skills) > 1:
                pooled_agents[tuple(skills), slot].add(index)
    _add_skill_choices(week, pooled, pooled_agents, cover_terms)
    requirements = {(r.skill, r.slot): r for r in problem.requirements if r.slot in horizon}
    for cell in sorted(set(cover_terms) | set(requirements) | set(constant), key=lambda c: (c[1], c[0])):
        number = len(week.cells)
        week.cells.append(cell)
        requirement = requirements.get(cell)
        week.need.append((requirement.agents if requirement else 0) - constant.get(cell, 0))
        week.priority.append(requirement.priority if requirement else 1)
        week.supply.append(sum(week.upper(var) for var, _ in cover_terms.get(cell, [])))
        terms = [*cover_terms.get(cell, []), (week.u(number), 1), (week.o(number), -1)]
        week.cell_rows.append(Row(terms, week.need[-1], week.need[-1]))
    for index in range(len(week.agents)):
        target = week.targets[index]
        terms = [*given_terms.get(index, []), (week.short(index), 1), (week.excess(index), -1)]
        week.share_rows.append(Row(terms, target, target))
    return week


def _add_skill_choices(
    week: WeekModel,
    pooled: dict[tuple[tuple[str, ...], int], list[int]],
    pooled_agents: dict[tuple[tuple[str, ...], int], set[int]],
    cover_terms: dict[tuple[str, int], list[tuple[int, int]]],
) -> None:
    """One y per skill of a skill set and slot, pooled over the agents who share that set.

    Pooling is exact: agents with the same skills are interchangeable in a slot, so
    any split of their number over the skills can be given back to them one by one
    (``solver`` does, keeping each agent's skill from the slot before when it can).
    It keeps the model small: a few skill sets instead of every agent.
    """
    for (skills, slot), members in sorted(pooled.items(), key=lambda item: (item[0][1], item[0][0])):
        link = [(n, 1) for n in members]
        for skill in skills:
            y = week.x_count + len(week.y_keys)
            week.y_keys.append((skills, skill, slot))
            week.y_upper.append(len(pooled_agents[skills, slot]))
            link.append((y, -1))
            cover_terms[skill, slot].append((y, 1))
        week.link_rows.append(Row(link, 0, 0))
        week.link_keys.append((skills, slot))


def _add_agent(
    week: WeekModel,
    index: int,
    agent: Agent,
    shapes: list[Shape],
    skills: list[str],
    fixed: dict[int, str],
    day_of: dict[int, int],
    cover_terms: dict[tuple[str, int], list[tuple[int, int]]],
    given_terms: dict[int, list[tuple[int, int]]],
    pooled: dict[tuple[tuple[str, ...], int], list[int]],
) -> None:
    rules = week.problem.rules
    first = len(week.columns)
    week.columns += [(index, shape) for shape in shapes]
    numbers = range(first, first + len(shapes))
    by_day: dict[int, list[int]] = defaultdict(list)
    covering: dict[int, list[int]] = defaultdict(list)
    cap_terms: list[tuple[int, int]] = []
    for number, shape in zip(numbers, shapes, strict=True):
        by_day[day_of.get(shape.start, -1)].append(number)
        worked = shape.worked(rules.break_slots)
        for slot in worked:
            covering[slot].append(number)
        cap_terms.append((number, len(worked)))
    for members in by_day.values():
        if len(members) > rules.max_shifts_per_day:
            week.rows.append(Row([(n, 1) for n in members], None, rules.max_shifts_per_day))
    week.rows += _conflict_rows(list(zip(numbers, shapes, strict=True)), rules, day_of)
    cap = cap_of(agent, rules)
    if cap is not None and sum(length for _, length in cap_terms) > cap:
        week.rows.append(Row(cap_terms, None, cap))
    for slot, members in covering.items():
        options = [fixed[slot]] if slot in fixed else skills
        if slot in fixed:
            week.rows.append(Row([(n, 1) for n in members], 1, None))
        for number in members:
            given_terms[index].append((number, 1))
        if len(options) == 1:
            cover_terms[options[0], slot] += [(n, 1) for n in members]
            continue
        pooled[tuple(options), slot] += members
    if set(fixed) - set(covering):
        week.rows.append(Row([], 1, None))  # a fixed slot no shape can hold: infeasible


def _conflict_rows(columns: list[tuple[int, Shape]], rules: SiteRules, day_of: dict[int, int]) -> list[Row]:
    """Set packing over spans ``[start, end + rest)``: one row per start point where spans of two days meet.

    With more than one shift a day allowed, every start point where spans meet gets its row.
    """
    rows: list[Row] = []
    rest = max(1, rules.min_rest_slots)  # two shifts that touch would read as one: keep a free slot at least
    ordered = sorted(columns, key=lambda c: c[1].start)
    reach: dict[int, int] = defaultdict(int)  # per day, the latest end + rest of its shapes
    for _, shape in ordered:
        day = day_of.get(shape.start, -1)
        reach[day] = max(reach[day], shape.end + rest)
    starts = [shape.start for _, shape in ordered]
    longest = rules.max_shift_slots + rest
    for point in sorted(set(starts)):
        day = day_of.get(point, -1)
        if rules.max_shifts_per_day == 1 and all(r <= point for d, r in reach.items() if d != day and d < day):
            continue  # only this day's shapes meet here, and the day's own row already allows one
        window = ordered[bisect.bisect_right(starts, point - longest) : bisect.bisect_right(starts, point)]
        alive = [(n, s) for n, s in window if point < s.end + rest]
        if len(alive) > 1:
            rows.append(Row([(n, 1) for n, _ in alive], None, 1))
    return rows
