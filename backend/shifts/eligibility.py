"""Eligibility: may this agent work these slots? One pure function, asked by every path that places an agent.

A coordinator's manual roster edit asks it today; the marketplace's claims and
cover requests ask it too. It takes plain facts (skills held, onboarding,
offered slots, the agent's other shifts, the site's rules) and answers with
every reason that applies, as codes with values, so the web layer can say them
in the agent's language and the API can return them as data.

Shifts are half-open slot ranges. Two stretches of work separated by exactly
the break length, when the break rule is on, are one shift with a break.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Iterable, Sequence

import msgspec

from backend.accounts.site_settings import SiteSettings
from backend.core.i18n import gettext as _
from backend.core.i18n import ngettext


class Rule(enum.StrEnum):
    not_certified = "not_certified"
    not_onboarded = "not_onboarded"
    not_offered = "not_offered"
    overlap = "overlap"
    too_short = "too_short"
    too_long = "too_long"
    no_break = "no_break"
    rest = "rest"
    daily_limit = "daily_limit"
    weekly_cap = "weekly_cap"


class ShiftRules(msgspec.Struct, frozen=True):
    """The site's roster rules in slots (see ``SiteSettings`` for the hours a coordinator sets)."""

    min_shift_slots: int
    max_shift_slots: int
    max_shifts_per_day: int
    min_rest_slots: int
    weekly_cap_slots: int | None = None
    break_after_slots: int | None = None
    break_slots: int = 1


def shift_rules(settings: SiteSettings) -> ShiftRules:
    """The site's hours as slots; hours are whole or half by validation."""
    return ShiftRules(
        min_shift_slots=round(settings.min_shift_hours * 2),
        max_shift_slots=round(settings.max_shift_hours * 2),
        max_shifts_per_day=settings.max_shifts_per_day,
        min_rest_slots=round(settings.min_rest_hours * 2),
        weekly_cap_slots=math.floor(settings.max_weekly_hours * 2),
        break_after_slots=round(settings.break_after_hours * 2) if settings.break_after_hours else None,
    )


class AgentFacts(msgspec.Struct, frozen=True):
    skills: frozenset[str]
    onboarded: bool
    offered: frozenset[int]
    weekly_cap_slots: int | None = None
    core: bool = False  # core staff work contracted hours: no offers needed


class Work(msgspec.Struct, frozen=True):
    skill: str
    start_slot: int
    end_slot: int


class Refusal(msgspec.Struct, frozen=True):
    rule: Rule
    slot: int | None = None
    value: int | None = None

    def message(self) -> str:
        """The reason in the current locale, with the value that matters (hours, not slots)."""
        n = (self.value or 0) / 2
        hours = f"{n:g}"
        texts = {
            Rule.not_certified: _("Not certified for this skill."),
            Rule.not_onboarded: _("Onboarding is not finished."),
            Rule.not_offered: _("Outside the hours the agent offered."),
            Rule.overlap: _("Overlaps another shift."),
            Rule.too_short: ngettext(
                "Shorter than the minimum shift of %(hours)s hour.",
                "Shorter than the minimum shift of %(hours)s hours.",
                n,
                hours=hours,
            ),
            Rule.too_long: ngettext(
                "Longer than the maximum shift of %(hours)s hour.",
                "Longer than the maximum shift of %(hours)s hours.",
                n,
                hours=hours,
            ),
            Rule.no_break: ngettext(
                "Works more than %(hours)s hour without a break.",
                "Works more than %(hours)s hours without a break.",
                n,
                hours=hours,
            ),
            Rule.rest: ngettext(
                "Less than %(hours)s hour of rest between shifts.",
                "Less than %(hours)s hours of rest between shifts.",
                n,
                hours=hours,
            ),
            Rule.daily_limit: ngettext(
                "More than %(num)s shift in a day.", "More than %(num)s shifts in a day.", self.value or 0
            ),
            Rule.weekly_cap: ngettext(
                "Over the weekly cap of %(hours)s hour.", "Over the weekly cap of %(hours)s hours.", n, hours=hours
            ),
        }
        return texts[self.rule]


def check_week(
    facts: AgentFacts, work: Sequence[Work], rules: ShiftRules, day_starts: Sequence[int], *, fixed: Iterable[int] = ()
) -> list[Refusal]:
    """Every rule the agent's whole week of ``work`` breaks; an empty list means eligible.

    ``fixed`` slots (claimed shifts, core schedules) count as offered.
    """
    refusals: list[Refusal] = []
    if not facts.onboarded and work:
        refusals.append(Refusal(Rule.not_onboarded))
    offered = facts.offered | frozenset(fixed)
    for item in work:
        if item.skill not in facts.skills:
            refusals.append(Refusal(Rule.not_certified, slot=item.start_slot))
        if not facts.core:
            missing = next((t for t in range(item.start_slot, item.end_slot) if t not in offered), None)
            if missing is not None:
                refusals.append(Refusal(Rule.not_offered, slot=missing))
    slots = sorted(t for item in work for t in range(item.start_slot, item.end_slot))
    clash = next((a for a, b in itertools.pairwise(slots) if a == b), None)
    if clash is not None:
        refusals.append(Refusal(Rule.overlap, slot=clash))
    if not facts.core:
        refusals.extend(_shape_refusals(sorted(set(slots)), rules, day_starts))
    caps = [c for c in (facts.weekly_cap_slots, rules.weekly_cap_slots) if c is not None]
    if caps and len(set(slots)) > min(caps):
        refusals.append(Refusal(Rule.weekly_cap, value=min(caps)))
    return refusals


def stretches(slots: Sequence[int]) -> list[tuple[int, int]]:
    """Runs of consecutive slots as ``(start, end)``."""
    runs: list[tuple[int, int]] = []
    for slot in slots:
        if runs and runs[-1][1] == slot:
            runs[-1] = (runs[-1][0], slot + 1)
        else:
            runs.append((slot, slot + 1))
    return runs


def shifts_of(slots: Sequence[int], rules: ShiftRules) -> list[list[tuple[int, int]]]:
    """Stretches grouped into shifts: a gap of exactly one break joins two stretches when breaks are on."""
    shifts: list[list[tuple[int, int]]] = []
    for run in stretches(slots):
        joined = rules.break_after_slots is not None and shifts and run[0] - shifts[-1][-1][1] == rules.break_slots
        if joined:
            shifts[-1].append(run)
        else:
            shifts.append([run])
    return shifts


def _shape_refusals(slots: list[int], rules: ShiftRules, day_starts: Sequence[int]) -> Iterable[Refusal]:
    shifts = shifts_of(slots, rules)
    for shift in shifts:
        start, end = shift[0][0], shift[-1][1]
        if end - start < rules.min_shift_slots:
            yield Refusal(Rule.too_short, slot=start, value=rules.min_shift_slots)
        if end - start > rules.max_shift_slots:
            yield Refusal(Rule.too_long, slot=start, value=rules.max_shift_slots)
        if rules.break_after_slots is not None:
            for run_start, run_end in shift:
                if run_end - run_start > rules.break_after_slots:
                    yield Refusal(Rule.no_break, slot=run_start, value=rules.break_after_slots)
    for before, after in itertools.pairwise(shifts):
        if after[0][0] - before[-1][1] < rules.min_rest_slots:
            yield Refusal(Rule.rest, slot=after[0][0], value=rules.min_rest_slots)
    bounds = sorted(day_starts)
    per_day: dict[int, int] = {}
    for shift in shifts:
        day = max((d for d in bounds if d <= shift[0][0]), default=None)
        per_day[day or 0] = per_day.get(day or 0, 0) + 1
    for day, count in per_day.items():
        if count > rules.max_shifts_per_day:
            yield Refusal(Rule.daily_limit, slot=day, value=rules.max_shifts_per_day)
