"""Intraday proposals, and the board's intraday actions.

``proposals`` is PURE: where the reforecast says the rest of today has too many or too few agents.

For each skill, the half-hours not yet begun that have a reforecast are scanned in order:

- a run of consecutive half-hours where the reforecast needs FEWER agents than are scheduled is a VTO
  proposal for ``count`` = the smallest surplus over the run (releasing more would open a gap somewhere
  in it);
- a run where it needs MORE is a VOT proposal for ``count`` = the largest gap over the run (the open
  shift's seats; agents claim what they can).

The board shows each proposal with a one-click action (``shifts.intraday.start_vto`` / ``start_vot``);
nothing is sent until the coordinator clicks. Half-hours without a reforecast (the plan alone) propose
nothing: the plan was already rostered against.

The actions (``vto_from_board``, ``vot_from_board``, ``extend_from_board``) call ``shifts.intraday`` (which owns
every effect) and log the call at once under the sweep's key ``call:<id>``, so the duty log shows it now and
the sweep never logs it twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Site, User
from backend.accounts.zones import site_zone
from backend.core.slots import local_start
from backend.ops.day_need import DayNeeds, SkillDay
from backend.ops.log import record_system_item
from backend.ops.models import LogKind
from backend.shifts import intraday
from backend.shifts.intraday import CallView
from backend.shifts.models import CallKind

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


# The board's actions, logged at once ---------------------------------------------------------------------


async def _log_call(session: AsyncSession, *, site: Site, call_id: int, day_slots: range, now: dt.datetime) -> CallView:
    """Write the call's duty log item (as the sweep would) and answer the call as the board sees it."""
    view = next(
        v for v in await intraday.site_calls(session, site_id=site.id, day_slots=day_slots) if v.call_id == call_id
    )
    zone = site_zone(site)
    span = f"{local_start(view.start_slot, zone):%H:%M}\u2013{local_start(view.end_slot, zone):%H:%M}"
    name = ""
    if view.user_id is not None:
        name = accounts.person_labels(await accounts.users_by_ids(session, {view.user_id})).get(view.user_id, "")
    what = name if view.kind is CallKind.extension else f"\u00d7{view.wanted}"
    await record_system_item(
        session,
        site_id=site.id,
        kind=LogKind.intraday_offer,
        source_key=f"call:{view.call_id}",
        started_at=view.created_at,
        summary=f"{view.kind.value.upper()} · {view.skill_name} · {span} · {what}",
        link="/admin/today",
        subject_user_id=view.user_id if view.kind is CallKind.extension else None,
        details={"call": view.kind.value, "skill": view.skill_name, "shift": span, "wanted": str(view.wanted)},
        now=now,
    )
    return view


async def vto_from_board(
    session: AsyncSession,
    *,
    site: Site,
    skill_id: int,
    start_slot: int,
    end_slot: int,
    surplus: int,
    standby: bool,
    by: User,
    now: dt.datetime,
) -> CallView:
    """Call for VTO (``shifts.intraday.start_vto``) and log it."""
    call = await intraday.start_vto(
        session,
        site=site,
        skill_id=skill_id,
        start_slot=start_slot,
        end_slot=end_slot,
        surplus=surplus,
        standby=standby,
        by=by,
        now=now,
    )
    return await _log_call(session, site=site, call_id=call.id, day_slots=range(start_slot, start_slot + 1), now=now)


async def vot_from_board(
    session: AsyncSession,
    *,
    site: Site,
    skill_id: int,
    start_slot: int,
    end_slot: int,
    wanted: int,
    bonus_minor: int,
    by: User,
    now: dt.datetime,
) -> CallView:
    """Open VOT on the marketplace (``shifts.intraday.start_vot``) and log it."""
    shift = await intraday.start_vot(
        session,
        site=site,
        skill_id=skill_id,
        start_slot=start_slot,
        end_slot=end_slot,
        wanted=wanted,
        bonus_minor=bonus_minor,
        by=by,
        now=now,
    )
    calls = await intraday.site_calls(session, site_id=site.id, day_slots=range(start_slot, start_slot + 1))
    call_id = next(v.call_id for v in calls if v.shift_id == shift.id and v.kind is CallKind.vot)
    return await _log_call(session, site=site, call_id=call_id, day_slots=range(start_slot, start_slot + 1), now=now)


async def extend_from_board(
    session: AsyncSession, *, site: Site, shift_id: int, user_id: int, half_hours: int, by: User, now: dt.datetime
) -> CallView:
    """Ask an agent to stay longer (``shifts.intraday.offer_extension``) and log it."""
    offer = await intraday.offer_extension(
        session, shift_id=shift_id, user_id=user_id, half_hours=half_hours, by=by, now=now
    )
    return await _log_call(
        session, site=site, call_id=offer.call_id, day_slots=range(offer.from_slot, offer.from_slot + 1), now=now
    )
