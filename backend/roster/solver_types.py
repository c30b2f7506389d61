"""The roster solver's inputs and outputs: msgspec Structs, no database and no web.

``backend.roster.solver`` re-exports every name here; see its docstring for the model.
"""

from __future__ import annotations

import enum
import itertools
from typing import Literal

import msgspec

from backend.accounts.site_defaults import FAIRNESS_SPARE_COVER

SLOTS_PER_DAY = 48

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
    # Break rule: nobody works more than ``break_after_slots`` slots in a row; a
    # shift may hold one break of exactly ``break_slots`` offered, unworked slots.
    break_after_slots: int | None = None
    break_slots: int = 1
    # Over-coverage comes before fairness, except for this share of the needed
    # slots: the solver may roster that much beyond demand to bring willing agents
    # nearer their fair share (a whole shift for a starved agent often covers a
    # few half-hours already covered).
    fairness_spare_cover: float = FAIRNESS_SPARE_COVER


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
    """A run of worked slots of one skill; ``after_break`` when it starts right after its shift's break."""

    agent_id: str
    skill: str
    start_slot: int
    end_slot: int
    fixed: bool = False
    after_break: bool = False


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


class Progress(msgspec.Struct, frozen=True):
    """A report while solving: the stage, time so far, and the stage's best objective and bound."""

    stage: str
    elapsed_seconds: float
    objective: int | None
    best_bound: int | None
    under_coverage_slots: int | None


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
    cancelled: bool = False


def days_of(problem: Problem) -> list[range]:
    """The problem's days as slot ranges, from the caller's local midnights or every 48 slots."""
    end = problem.first_slot + problem.slot_count
    starts = sorted(problem.day_start_slots or range(problem.first_slot, end, SLOTS_PER_DAY))
    bounds = [problem.first_slot, *(s for s in starts if problem.first_slot < s < end), end]
    return [range(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def cap_of(agent: Agent, rules: SiteRules) -> int | None:
    """The agent's weekly cap in slots: the tighter of their own and the site's, or None."""
    caps = [c for c in (agent.weekly_cap_slots, rules.weekly_cap_slots) if c is not None]
    return min(caps) if caps else None
