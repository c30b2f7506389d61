"""Publishing a roster version as shifts: one seat per agent's stretch of time, one open shift per gap.

A shift is one seat from its start to its end, whatever skills the agent
covers inside it (the version's lines keep that split): an agent's
back-to-back roster lines, and the claims they touch, become one shift with
one confirm and one Start.

Only what has not started is replaced, and only where the agent's time
changed: a republish leaves started and past shifts alone, keeps a shift
whose time the new version gives the same agent (its seat, confirmation and
calendar entry stay), keeps what agents claimed (a claim the new roster
extends grows to the whole stretch instead of gaining neighbours), and
cancels the rest of the previous version's unstarted shifts and unclaimed
open shifts (cancelled, not deleted, so an agent's history and the calendar
feed can say what went away).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site
from backend.accounts.site_settings import site_settings
from backend.core.slots import first_unstarted_slot, ranges_of
from backend.shifts.models import Shift, ShiftOrigin, ShiftSeat

Placement = tuple[int, int, int, int]  # (user_id, skill_id, start_slot, end_slot)
Gap = tuple[int, int, int, int]  # (skill_id, start_slot, end_slot, seats)


def is_claim(shift: Shift) -> bool:
    """A seat an agent chose: on a shift that is not the roster's own, or a rostered one given back and taken."""
    return shift.origin != ShiftOrigin.roster or shift.opened_at is not None


def agents_time(
    lines: Iterable[Placement], held: Iterable[tuple[int, int, int]] = ()
) -> dict[int, list[tuple[int, int]]]:
    """Per agent, their time as whole shifts: runs of the slots of their lines and held seats ``(user, start, end)``."""
    slots: dict[int, set[int]] = defaultdict(set)
    for user_id, _skill, start, end in lines:
        slots[user_id].update(range(start, end))
    for user_id, start, end in held:
        slots[user_id].update(range(start, end))
    return {user_id: ranges_of(own) for user_id, own in slots.items()}


def main_skill(lines: Iterable[Placement], user_id: int, start: int, end: int) -> int | None:
    """The skill the agent covers longest in ``[start, end)`` (the earliest on a tie): the one a shift shows."""
    slots: Counter[int] = Counter()
    first: dict[int, int] = {}
    for user, skill, line_start, line_end in lines:
        overlap = min(end, line_end) - max(start, line_start)
        if user == user_id and overlap > 0:
            slots[skill] += overlap
            first[skill] = min(first.get(skill, line_start), max(start, line_start))
    if not slots:
        return None
    return min(slots, key=lambda skill: (-slots[skill], first[skill]))


@dataclass
class _Held:
    """The week's seats as publish finds them, before it changes anything."""

    rostered: dict[tuple[int, int, int], Shift]  # (user, start, end) -> the roster's own unstarted shift they hold
    claims: dict[int, list[tuple[Shift, ShiftSeat]]]  # user -> unstarted claimed seats
    started: list[tuple[int, int, int]]  # (user, start, end) of seats on shifts that have begun


async def _held(session: AsyncSession, *, site_id: int, slots: range, first: int) -> _Held:
    rows = await session.execute(
        select(Shift, ShiftSeat)
        .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
        .where(Shift.site_id == site_id, Shift.cancelled_at.is_(None), ShiftSeat.released_at.is_(None))
        .where(Shift.start_slot < slots.stop, Shift.end_slot > slots.start)
        .order_by(Shift.start_slot, Shift.id)
    )
    held = _Held(rostered={}, claims=defaultdict(list), started=[])
    for shift, seat in rows:
        if shift.start_slot < first:
            held.started.append((seat.user_id, shift.start_slot, shift.end_slot))
        elif is_claim(shift):
            held.claims[seat.user_id].append((shift, seat))
        elif shift.roster_version_id is not None:
            held.rostered[seat.user_id, shift.start_slot, shift.end_slot] = shift
    return held


async def publish_week_shifts(
    session: AsyncSession,
    *,
    site_id: int,
    slots: range,
    version_id: int,
    lines: list[Placement],
    gaps: list[Gap],
    now: dt.datetime,
) -> int:
    """Make the version's shifts where agents' time changed, and its open shifts; answers how many were made."""
    first = max(slots.start, first_unstarted_slot(now))
    held = await _held(session, site_id=site_id, slots=slots, first=first)
    claimed = [(user, shift.start_slot, shift.end_slot) for user, own in held.claims.items() for shift, _ in own]
    kept: set[int] = set()
    made = 0
    for user_id, runs in agents_time(lines, [*claimed, *held.started]).items():
        for start, end in runs:
            if start < first:
                continue  # touches work that has begun: left as it is
            inside = [(s, seat) for s, seat in held.claims.get(user_id, []) if start <= s.start_slot < end]
            if inside:
                await _grow_claim(session, inside, start=start, end=end, now=now)
                continue
            skill_id = main_skill(lines, user_id, start, end)
            shift = held.rostered.get((user_id, start, end))
            if shift is not None and skill_id is not None:
                shift.skill_id, shift.roster_version_id = skill_id, version_id
                kept.add(shift.id)
            elif skill_id is not None:
                kept.add(await _rostered_shift(session, site_id, version_id, user_id, skill_id, start, end, now))
                made += 1
    await _cancel_replaced(session, site_id=site_id, first=first, stop=slots.stop, kept=kept, now=now)
    made += await _open_shifts(session, site_id=site_id, version_id=version_id, gaps=gaps, first=first, now=now)
    await session.flush()
    return made


async def _rostered_shift(
    session: AsyncSession,
    site_id: int,
    version_id: int,
    user_id: int,
    skill_id: int,
    start: int,
    end: int,
    now: dt.datetime,
) -> int:
    shift = Shift(
        site_id=site_id,
        skill_id=skill_id,
        start_slot=start,
        end_slot=end,
        seats=1,
        taken=1,
        origin=ShiftOrigin.roster,
        roster_version_id=version_id,
    )
    session.add(shift)
    await session.flush()
    session.add(ShiftSeat(shift_id=shift.id, user_id=user_id, taken_at=now))
    return shift.id


async def _grow_claim(
    session: AsyncSession, inside: list[tuple[Shift, ShiftSeat]], *, start: int, end: int, now: dt.datetime
) -> None:
    """A claim is a promise: the agent keeps its seat, which now spans their whole stretch ``[start, end)``.

    The longest claim keeps the seat (its confirmation and history come along); on a shift of several
    seats it moves to a one-seat copy, so the others' times stay as they were. Other claims inside the
    stretch are folded in: their seat is given back and its place taken off the shift (a shift left with
    no place is cancelled), since the grown seat now covers that time.
    """
    shift, seat = max(inside, key=lambda held: (held[0].end_slot - held[0].start_slot, -held[0].start_slot))
    if (shift.start_slot, shift.end_slot) != (start, end):
        if shift.seats > 1:
            shift.seats, shift.taken = shift.seats - 1, shift.taken - 1
            own = Shift(
                site_id=shift.site_id,
                skill_id=shift.skill_id,
                origin=shift.origin,
                roster_version_id=shift.roster_version_id,
                bonus_minor=shift.bonus_minor,
                created_by_id=shift.created_by_id,
                opened_at=shift.opened_at,
                requests_close_at=shift.requests_close_at,
                start_slot=start,
                end_slot=end,
                seats=1,
                taken=1,
            )
            session.add(own)
            await session.flush()
            seat.shift_id = own.id
        else:
            shift.start_slot, shift.end_slot = start, end
    for other, other_seat in inside:
        if other_seat is seat:
            continue
        other_seat.released_at = now
        other.seats, other.taken = other.seats - 1, other.taken - 1
        if other.seats <= 0:
            other.cancelled_at = now


async def _cancel_replaced(
    session: AsyncSession, *, site_id: int, first: int, stop: int, kept: set[int], now: dt.datetime
) -> None:
    """The previous version's unstarted shifts nobody chose: rostered ones not kept, and unclaimed open ones."""
    rostered = (Shift.origin == ShiftOrigin.roster) & ((Shift.opened_at.is_(None)) | (Shift.taken == 0))
    unclaimed = (Shift.origin == ShiftOrigin.gap) & (Shift.taken == 0)
    await session.execute(
        update(Shift)
        .where(Shift.site_id == site_id, Shift.start_slot >= first, Shift.start_slot < stop)
        .where(Shift.cancelled_at.is_(None), Shift.roster_version_id.is_not(None), Shift.id.not_in(kept))
        .where(rostered | unclaimed)
        .values(cancelled_at=now)
    )


async def _open_shifts(
    session: AsyncSession, *, site_id: int, version_id: int, gaps: list[Gap], first: int, now: dt.datetime
) -> int:
    site = await session.get(Site, site_id)
    requests_close_at = site_settings(site).requests_close_at(now) if site is not None else None
    made = 0
    for skill_id, start, end, seats in gaps:
        if start < first:
            continue
        session.add(
            Shift(
                site_id=site_id,
                skill_id=skill_id,
                start_slot=start,
                end_slot=end,
                seats=seats,
                taken=0,
                origin=ShiftOrigin.gap,
                roster_version_id=version_id,
                opened_at=now,
                requests_close_at=requests_close_at,
            )
        )
        made += 1
    return made


async def claimed_seats(session: AsyncSession, *, site_id: int, slots: range) -> list[Placement]:
    """Seats agents chose (claimed open shifts, hand-made shifts, rostered seats taken after a release)."""
    rows = await session.execute(
        select(ShiftSeat.user_id, Shift.skill_id, Shift.start_slot, Shift.end_slot)
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .where(Shift.site_id == site_id, Shift.cancelled_at.is_(None))
        .where((Shift.origin != ShiftOrigin.roster) | Shift.opened_at.is_not(None))
        .where(ShiftSeat.released_at.is_(None))
        .where(Shift.start_slot < slots.stop, Shift.end_slot > slots.start)
    )
    return [(int(u), int(k), int(s), int(e)) for u, k, s, e in rows]


async def held_time(session: AsyncSession, *, site_id: int, slots: range) -> dict[int, set[int]]:
    """Per agent, the slots of the week they hold a seat in: what a republish compares to tell them of changes."""
    rows = await session.execute(
        select(ShiftSeat.user_id, Shift.start_slot, Shift.end_slot)
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .where(Shift.site_id == site_id, Shift.cancelled_at.is_(None), ShiftSeat.released_at.is_(None))
        .where(Shift.start_slot < slots.stop, Shift.end_slot > slots.start)
    )
    held: dict[int, set[int]] = defaultdict(set)
    for user_id, start, end in rows:
        held[int(user_id)].update(range(max(start, slots.start), min(end, slots.stop)))
    return dict(held)
