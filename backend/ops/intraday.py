"""Intraday proposals: where the reforecast says the rest of today has too many or too few agents. PURE.

For each skill, the half-hours not yet begun that have a reforecast are scanned in order:

- a run of consecutive half-hours where the reforecast needs FEWER agents than are scheduled is a VTO
  proposal for ``count`` = the smallest surplus over the run (releasing more would open a gap somewhere
  in it);
- a run where it needs MORE is a VOT proposal for ``count`` = the largest gap over the run (the open
  shift's seats; agents claim what they can).

The board shows each proposal with a one-click action (``shifts.intraday.start_vto`` / ``start_vot``);
nothing is sent until the coordinator clicks. Half-hours without a reforecast (the plan alone) propose
nothing: the plan was already rostered against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from backend.ops.day_need import DayNeeds, SkillDay

ProposalKind = Literal["vto", "vot"]


@dataclass(frozen=True)
class Proposal:
    kind: ProposalKind
    skill_id: int
    label: str
    start_slot: int
    end_slot: int
    count: int  # VTO: agents to release (min surplus); VOT: seats to open (max gap)


def _runs(skill: SkillDay, first_slot: int, sign: int) -> list[tuple[int, int, list[int]]]:
    """Runs of consecutive slots from ``first_slot`` where ``sign * (scheduled - reforecast)`` is positive."""
    runs: list[tuple[int, int, list[int]]] = []
    current: tuple[int, list[int]] | None = None
    last = None
    for slot, need, held in zip(skill.slots, skill.reforecast, skill.scheduled, strict=True):
        difference = None if need is None or slot < first_slot else sign * ((held or 0) - need)
        if difference is not None and difference > 0:
            if current is not None and last == slot - 1:
                current[1].append(difference)
            else:
                if current is not None:
                    runs.append((current[0], current[0] + len(current[1]), current[1]))
                current = (slot, [difference])
            last = slot
        elif current is not None:
            runs.append((current[0], current[0] + len(current[1]), current[1]))
            current = None
    if current is not None:
        runs.append((current[0], current[0] + len(current[1]), current[1]))
    return runs


def proposals(day: DayNeeds, *, now_slot: int) -> list[Proposal]:
    """Every VTO and VOT proposal for the half-hours after ``now_slot`` (the one under way is left alone),
    by skill then start."""
    found: list[Proposal] = []
    for skill in day.skills:
        for start, end, surplus in _runs(skill, now_slot + 1, 1):
            found.append(Proposal("vto", skill.skill_id, skill.label, start, end, min(surplus)))
        for start, end, gap in _runs(skill, now_slot + 1, -1):
            found.append(Proposal("vot", skill.skill_id, skill.label, start, end, max(gap)))
    return sorted(found, key=lambda p: (p.label, p.skill_id, p.start_slot, p.kind))
