"""The LP relaxation of the candidate-shift model (``week_model``), solved by HiGHS through SciPy.

Three uses:

- **Which shapes to try.** A vertex of the coverage LP uses a few hundred of the
  tens of thousands of candidate shapes; CP-SAT closes the gap on those in
  seconds where it cannot on all of them (measured: ``tests/bench/roster.py``).
  Reduced costs name the shapes that would cost the LP least to bring in.
- **The lower bound.** The LP's duals give a valid bound on plain under-coverage
  by Lagrangian duality (``Dual.under_coverage_bound``), with no second LP.
- **Fair shapes.** A second, small LP over the shapes found so far adds each
  agent's distance from their fair share to the objective; its shapes spread the
  hours.

SciPy's HiGHS rather than OR-Tools' GLOP: the matrix goes in as sparse arrays in
one call (GLOP's Python wrapper takes coefficients one call at a time), and its
dual simplex was about 1.5x faster on the M week. (``highspy`` itself cannot be
loaded next to OR-Tools: both export HiGHS's symbols.) Costs are kept at 1 and
above: scaled down to 1e-4 the same LP took six times longer (measured).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, vstack

from backend.roster.week_model import Row, WeekModel, fairness_weights

EPSILON = 1e-6
UNDER_WEIGHT = 10_000  # per open seat: plain under-coverage first, so the duals bound it tightly
PRIORITY_WEIGHT = 100  # per open seat per priority step above 1; over-coverage costs 1
BOUND_STEPS = 40
PRICED_PER_ROUND = 15  # shapes per agent that enter the LP in one round of column generation


@dataclass
class Dual:
    """What a solved LP says, on the whole model: values, reduced costs of every column, row duals."""

    objective: float
    values: np.ndarray
    reduced: np.ndarray
    row_duals: np.ndarray  # ub rows then eq rows, in SciPy's signs (<= rows are <= 0)
    relaxation: Relaxation

    def under_coverage_bound(self) -> int:
        """A valid lower bound on plain under-coverage: the best scaling of these duals.

        For duals ``y`` (``<=`` rows ``y <= 0``) and costs ``c`` of plain under-coverage,
        ``g(y) = b'y + sum_j ub_j * min(0, c_j - A_j'y)`` bounds every roster from
        below (weak duality, every variable boxed in ``[0, ub]``, every shape of the
        model counted, also those a restricted LP left out). The coverage LP's
        duals scaled by ``theta`` are such a ``y`` for every ``theta >= 0``; the best
        ``theta`` on a grid around ``1 / UNDER_WEIGHT`` is taken.
        """
        rel = self.relaxation
        week = rel.week
        plain = np.zeros(week.var_count)
        for cell, need in enumerate(week.need):
            if need > 0:
                plain[week.u(cell)] = 1.0
        rhs = float(rel.rhs @ self.row_duals)
        used = rel.transposed @ self.row_duals
        best = 0.0
        for theta in np.append(np.geomspace(0.05, 2.0, BOUND_STEPS), 1.0) / UNDER_WEIGHT:
            value = theta * rhs + float(rel.upper @ np.minimum(0.0, plain - theta * used))
            best = max(best, value)
        return max(0, math.ceil(best - EPSILON))


class Relaxation:
    """The model's rows as sparse matrices, built once and solved for one objective after another.

    ``fair_shares`` adds the rows that count each agent's hours against their share,
    needed only when fairness is in the objective. A solve may leave shapes out
    (``columns``); its duals still price every shape (``Dual.reduced``).
    """

    def __init__(self, week: WeekModel, *, fair_shares: bool = False) -> None:
        self.week = week
        rows = [*week.rows, *week.link_rows, *week.cell_rows, *(week.share_rows if fair_shares else [])]
        self.upper = np.array([week.upper(v) for v in range(week.var_count)], dtype=float)
        a_ub, self.b_ub = _matrix([r for r in rows if r.lo != r.hi], week.var_count, upper=True)
        a_eq, self.b_eq = _matrix([r for r in rows if r.lo == r.hi], week.var_count, upper=False)
        self.a_ub, self.a_eq = a_ub.tocsc(), a_eq.tocsc()
        self.rhs = np.concatenate([self.b_ub, self.b_eq])
        self.transposed = vstack([a_ub, a_eq], format="csr").T.tocsr()

    def minimize(
        self,
        objective: dict[int, float],
        columns: set[int] | None = None,
        time_limit: float | None = None,
        method: str = "highs-ds",
    ) -> Dual | None:
        """The LP optimum over ``columns`` (None: every shape), or None when HiGHS finds none in time."""
        week = self.week
        cost = np.zeros(week.var_count)
        for var, coef in objective.items():
            cost[var] += coef
        if columns is None:
            kept = np.arange(week.var_count)
        else:  # every skill choice stays: their duals must price right for the bound
            kept = np.concatenate([np.array(sorted(columns), dtype=np.int64), np.arange(week.x_count, week.var_count)])
        a_ub, a_eq = self.a_ub[:, kept], self.a_eq[:, kept]
        has_ub, has_eq = a_ub.shape[0] > 0, a_eq.shape[0] > 0
        result = linprog(
            cost[kept],
            A_ub=a_ub if has_ub else None,
            b_ub=self.b_ub if has_ub else None,
            A_eq=a_eq if has_eq else None,
            b_eq=self.b_eq if has_eq else None,
            bounds=np.column_stack([np.zeros(kept.size), self.upper[kept]]),
            method=method,
            options={"time_limit": max(0.1, time_limit)} if time_limit is not None else {},
        )
        if result.status != 0:
            return None
        duals = np.concatenate(
            [result.ineqlin.marginals if has_ub else np.zeros(0), result.eqlin.marginals if has_eq else np.zeros(0)]
        )
        values = np.zeros(week.var_count)
        values[kept] = result.x
        return Dual(float(result.fun), values, cost - self.transposed @ duals, duals, self)

    def priced(
        self, objective: dict[int, float], start: set[int], deadline: float, per_agent: int = PRICED_PER_ROUND
    ) -> Dual | None:
        """The LP over every shape by column generation: solve on a few, add the ones the duals price below zero.

        Each round's LP is small; pricing every shape is one sparse product. It stops
        when no shape prices below zero (the LP optimum over all shapes), when the
        bound from the duals meets the round's own under-coverage (nothing left to
        prove), or at the deadline (the last round's duals still give a valid bound).
        """
        columns = set(start)
        found: Dual | None = None
        needy = [self.week.u(cell) for cell, need in enumerate(self.week.need) if need > 0]
        while time.perf_counter() < deadline:
            result = self.minimize(objective, columns, deadline - time.perf_counter())
            if result is None:
                return found
            found = result
            entering = _entering(result.reduced, self.week, columns, per_agent)
            if not entering or math.ceil(result.values[needy].sum() - EPSILON) <= result.under_coverage_bound():
                break
            columns |= entering
        return found


def _entering(reduced: np.ndarray, week: WeekModel, columns: set[int], per_agent: int) -> set[int]:
    """Per agent, up to ``per_agent`` shapes not yet in the LP whose reduced cost is below zero."""
    prices = reduced[: week.x_count].copy()
    prices[list(columns)] = np.inf
    negative = np.flatnonzero(prices < -EPSILON)
    by_agent: dict[int, list[int]] = defaultdict(list)
    for column in negative[np.argsort(prices[negative], kind="stable")]:
        agent = week.columns[int(column)][0]
        if len(by_agent[agent]) < per_agent:
            by_agent[agent].append(int(column))
    return {c for chosen in by_agent.values() for c in chosen}


def coverage_costs(week: WeekModel) -> dict[int, float]:
    """The LP's coverage objective: ``UNDER_WEIGHT * priority`` per open seat, 1 per extra one."""
    costs: dict[int, float] = {}
    for cell, need in enumerate(week.need):
        if need > 0:
            costs[week.u(cell)] = float(UNDER_WEIGHT + PRIORITY_WEIGHT * (week.priority[cell] - 1))
        costs[week.o(cell)] = 1.0
    return costs


def fairness_costs(week: WeekModel) -> dict[int, float]:
    """Per slot an agent is given below or above their fair share, the agent's fairness weight (tenths)."""
    costs: dict[int, float] = {}
    for agent, weight in enumerate(fairness_weights(week.targets)):
        if weight:
            costs[week.short(agent)] = weight / 10
            costs[week.excess(agent)] = weight / 10
    return costs


def used_columns(values: np.ndarray, week: WeekModel) -> set[int]:
    """The x columns an LP solution puts weight on."""
    return {int(i) for i in np.flatnonzero(values[: week.x_count] > EPSILON)}


def cheapest_columns(reduced: np.ndarray, week: WeekModel, per_agent: int) -> set[int]:
    """Each agent's ``per_agent`` columns of least reduced cost: the shapes the LP could bring in cheapest.

    At a coverage optimum these are the alternatives that keep coverage (reduced cost
    near zero), which is what moving hours between agents for fairness needs.
    """
    by_agent: dict[int, list[int]] = defaultdict(list)
    for column, (agent, _) in enumerate(week.columns):
        by_agent[agent].append(column)
    chosen: set[int] = set()
    for columns in by_agent.values():
        best = np.argsort(reduced[columns], kind="stable")[:per_agent]
        chosen.update(columns[i] for i in best)
    return chosen


def _matrix(rows: list[Row], width: int, *, upper: bool) -> tuple[csr_matrix, np.ndarray]:
    """Rows as ``A x <= b`` (``upper``: a row with only ``lo`` is negated) or ``A x == b``."""
    data: list[float] = []
    columns: list[int] = []
    pointers = [0]
    bounds: list[float] = []
    for row in rows:
        if upper and row.hi is None and row.lo is None:
            continue
        flip = upper and row.hi is None
        for var, coef in row.terms:
            columns.append(var)
            data.append(-coef if flip else coef)
        pointers.append(len(columns))
        bounds.append(-row.lo if flip else (row.hi if upper else row.lo))  # type: ignore[arg-type,operator]
    matrix = csr_matrix((data, columns, pointers), shape=(len(bounds), width))
    return matrix, np.array(bounds, dtype=float)
