"""Intraday offers: voluntary time off (VTO), voluntary overtime (VOT) and shift extensions, decided on the day.

The rules, published to agents on their Offers page (``/app/offers``):

- **Voluntary time off.** When the reforecast needs fewer agents of a skill than are scheduled over a
  stretch of half-hours, the coordinator calls for ``wanted`` volunteers. Agents holding a seat of that
  skill over the stretch are asked, most hours worked this week first, so whoever has had least this
  week is asked last (and keeps their hours). Asked in waves: twice as many offers as places are
  outstanding at a time; a decline or a lapsed offer makes room for the next agent in line. First to
  accept is first granted, up to ``wanted``; the rest are told the places are taken. Nobody is asked
  who has already taken ``vto_max_per_week`` VTOs this site week.
- **What VTO releases.** From the start of the stretch (or the next half-hour, if it has begun when
  the agent accepts; or the shift's start, if later) to the END of the agent's shift: the agent is
  not asked to come back. Released time never counts against them: not a no-show, not late, not in
  reliability. ``standby`` pays ``vto_standby_percent`` % of the hourly base for the released time
  (a ``standby`` line on the statement); ``release`` is unpaid, without penalty. The mode is fixed
  when the call is made (site setting ``vto_mode``).
- **Voluntary overtime.** Extra half-hours are opened on the marketplace as an open shift with
  ``origin=vot`` and a bonus: one or two half-hours are allowed (``allow_short``); the marketplace's
  eligibility, tier windows and digest decide who hears of it (only agents who offered that time,
  at most one digest per period). Worked, the bonus is a ``vot_bonus`` line.
- **Extension.** A coordinator may ask one agent on shift to stay N half-hours longer. The agent
  accepts in the app; the weekly cap, rest between shifts and no overlap with their next shift are
  checked when asked and again when accepted. The seat's worked time then runs to the new end
  (``ShiftSeat.extended_to_slot``) and pays at the base rate.
- Every offer lapses ``intraday_offer_minutes`` after it is made, or when the time it is about starts.
  Accepting twice is the same as once.

Accepting takes a place with ONE conditional UPDATE on the call's ``granted`` counter (``granted <
wanted``), as a claim takes a seat, so concurrent accepts never grant more than ``wanted``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill, User, UserStatus, localized_skill_name
from backend.accounts.site_settings import SiteSettings, site_settings
from backend.accounts.zones import site_zone
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.core.slots import IsoWeek, slot_of, utc_start
from backend.notify.service import Kind, moment_value, notify, skill_values
from backend.shifts.allocation import Context, lock_agent
from backend.shifts.market import create_open_shift
from backend.shifts.models import (
    Attendance,
    CallKind,
    IntradayCall,
    IntradayOffer,
    OfferStatus,
    Shift,
    ShiftOrigin,
    ShiftSeat,
)

OFFERS_URL = "/app/offers"
WAVE_FACTOR = 2  # offers outstanding per place still open
MAX_WANTED = 100
MAX_STRETCH_SLOTS = 48
MAX_EXTENSION_SLOTS = 8  # four hours
RECENT = dt.timedelta(hours=18)  # answered offers stay on the agent's page this long


def seat_end() -> ColumnElement[int]:
    """The SQL for a seat's scheduled end: the shift's, or the accepted extension's."""
    return func.coalesce(ShiftSeat.extended_to_slot, Shift.end_slot)


def next_boundary_slot(now: dt.datetime) -> int:
    """The first slot that has not begun at ``now``."""
    slot = slot_of(now)
    return slot if utc_start(slot) == now else slot + 1


# Views -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallView:
    """One call for the board and the duty log: what was asked, how many took it."""

    call_id: int
    site_id: int
    kind: CallKind
    skill_id: int
    skill_name: str
    skill_name_zh: str
    start_slot: int
    end_slot: int
    wanted: int
    granted: int
    asked: int
    standby_percent: int
    bonus_minor: int
    shift_id: int | None
    user_id: int | None  # an extension's agent
    created_by_id: int | None
    created_at: dt.datetime
    expires_at: dt.datetime
    closed_at: dt.datetime | None

    @property
    def skill_label(self) -> str:
        return localized_skill_name(self.skill_name, self.skill_name_zh)

    def state(self, now: dt.datetime) -> str:
        """``filled``, ``closed`` (ended unfilled) or ``open``."""
        if self.granted >= self.wanted:
            return "filled"
        if self.closed_at is not None or self.expires_at <= now:
            return "closed"
        return "open"


@dataclass(frozen=True)
class OfferView:
    """One offer as the agent sees it."""

    offer_id: int
    kind: CallKind
    status: OfferStatus
    skill_name: str
    skill_name_zh: str
    shift_start_slot: int
    shift_end_slot: int
    from_slot: int
    to_slot: int
    standby_percent: int
    expires_at: dt.datetime
    answered_at: dt.datetime | None

    @property
    def skill_label(self) -> str:
        return localized_skill_name(self.skill_name, self.skill_name_zh)

    def shown_status(self, now: dt.datetime) -> OfferStatus:
        """An unanswered offer past its time reads as expired before the job has marked it."""
        if self.status is OfferStatus.offered and self.expires_at <= now:
            return OfferStatus.expired
        return self.status

    def is_open(self, now: dt.datetime) -> bool:
        return self.shown_status(now) is OfferStatus.offered


# Helpers -------------------------------------------------------------------------------------------------


async def _skill_of(session: AsyncSession, site_id: int, skill_id: int) -> Skill:
    skill = await session.get(Skill, skill_id)
    if skill is None or skill.site_id != site_id:
        raise DomainError(_("Choose a skill of this site."), field="skill_id")
    return skill


def _check_stretch(start_slot: int, end_slot: int, now: dt.datetime) -> None:
    if start_slot < next_boundary_slot(now):
        raise DomainError(_("The stretch must start at the next half-hour or later."), field="start_slot")
    if not start_slot < end_slot <= start_slot + MAX_STRETCH_SLOTS:
        raise DomainError(_("The stretch must end after it starts, within a day."), field="end_slot")


def _week_slots(site: Site, slot: int) -> range:
    zone = site_zone(site)
    return IsoWeek.containing(utc_start(slot), zone).slots(zone)


async def vto_taken(session: AsyncSession, *, user_ids: list[int], week: range) -> dict[int, int]:
    """VTOs each agent accepted in the site week ``week`` (by the call's start)."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(IntradayOffer.user_id, func.count())
        .join(IntradayCall, IntradayCall.id == IntradayOffer.call_id)
        .where(IntradayOffer.user_id.in_(user_ids), IntradayOffer.status == OfferStatus.accepted)
        .where(IntradayCall.kind == CallKind.vto)
        .where(IntradayCall.start_slot >= week.start, IntradayCall.start_slot < week.stop)
        .group_by(IntradayOffer.user_id)
    )
    return {int(user_id): int(count) for user_id, count in rows}


async def week_hours(session: AsyncSession, *, site_id: int, user_ids: list[int], week: range) -> dict[int, int]:
    """Slots each agent holds in the site week (extensions in, VTO-released time out): who was served most."""
    if not user_ids:
        return {}
    worked_end = func.coalesce(ShiftSeat.vto_from_slot, seat_end())
    worked = case((worked_end > Shift.start_slot, worked_end - Shift.start_slot), else_=0)
    rows = await session.execute(
        select(ShiftSeat.user_id, func.sum(worked))
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .where(ShiftSeat.user_id.in_(user_ids), ShiftSeat.released_at.is_(None))
        .where(Shift.site_id == site_id, Shift.cancelled_at.is_(None))
        .where(Shift.start_slot >= week.start, Shift.start_slot < week.stop)
        .group_by(ShiftSeat.user_id)
    )
    return {int(user_id): int(total or 0) for user_id, total in rows}


@dataclass(frozen=True)
class Candidate:
    """An agent who could take a VTO: their seat, what it would release, and their hours this week."""

    user_id: int
    seat_id: int
    from_slot: int
    to_slot: int
    week_slots: int


async def vto_candidates(
    session: AsyncSession, *, site: Site, call: IntradayCall, settings: SiteSettings, now: dt.datetime
) -> list[Candidate]:
    """Who may still be asked, most hours this week first (least served last), never anyone at the weekly
    VTO cap or already asked on this call; one seat per agent (their first over the stretch)."""
    earliest = max(call.start_slot, next_boundary_slot(now))
    end = seat_end()
    asked = select(IntradayOffer.user_id).where(IntradayOffer.call_id == call.id)
    rows = await session.execute(
        select(ShiftSeat.user_id, ShiftSeat.id, Shift.start_slot, end)
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .join(User, User.id == ShiftSeat.user_id)
        .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
        .where(Shift.site_id == site.id, Shift.skill_id == call.skill_id, Shift.cancelled_at.is_(None))
        .where(Shift.start_slot < call.end_slot, end > earliest)
        .where(ShiftSeat.released_at.is_(None), ShiftSeat.vto_from_slot.is_(None), Attendance.no_show_at.is_(None))
        .where(User.status == UserStatus.active, ShiftSeat.user_id.not_in(asked))
        .order_by(Shift.start_slot, ShiftSeat.id)
    )
    seats: dict[int, tuple[int, int, int]] = {}
    for user_id, seat_id, start, seat_stop in rows:
        seats.setdefault(int(user_id), (int(seat_id), max(int(start), earliest), int(seat_stop)))
    week = _week_slots(site, call.start_slot)
    taken = await vto_taken(session, user_ids=list(seats), week=week)
    hours = await week_hours(session, site_id=site.id, user_ids=list(seats), week=week)
    found = [
        Candidate(user_id, seat_id, start, stop, hours.get(user_id, 0))
        for user_id, (seat_id, start, stop) in seats.items()
        if taken.get(user_id, 0) < settings.vto_max_per_week and start < stop
    ]
    return sorted(found, key=lambda c: (-c.week_slots, c.user_id))


def _offer_expiry(now: dt.datetime, settings: SiteSettings, until_slot: int) -> dt.datetime:
    return min(now + dt.timedelta(minutes=settings.intraday_offer_minutes), utc_start(until_slot))


async def _offer_more(session: AsyncSession, *, site: Site, call: IntradayCall, now: dt.datetime) -> int:
    """Ask the next agents in line so ``WAVE_FACTOR`` offers are outstanding per open place."""
    if call.closed_at is not None or call.granted >= call.wanted or call.expires_at <= now:
        return 0
    settings = site_settings(site)
    outstanding = await session.scalar(
        select(func.count()).where(
            IntradayOffer.call_id == call.id,
            IntradayOffer.status == OfferStatus.offered,
            IntradayOffer.expires_at > now,
        )
    )
    room = (call.wanted - call.granted) * WAVE_FACTOR - int(outstanding or 0)
    if room <= 0:
        return 0
    last_rank = await session.scalar(select(func.max(IntradayOffer.rank)).where(IntradayOffer.call_id == call.id))
    chosen = (await vto_candidates(session, site=site, call=call, settings=settings, now=now))[:room]
    skill = await session.get(Skill, call.skill_id)
    for number, candidate in enumerate(chosen, start=(last_rank or 0) + 1):
        expires_at = _offer_expiry(now, settings, candidate.to_slot)
        offer = IntradayOffer(
            call_id=call.id,
            user_id=candidate.user_id,
            seat_id=candidate.seat_id,
            from_slot=candidate.from_slot,
            to_slot=candidate.to_slot,
            rank=number,
            status=OfferStatus.offered,
            offered_at=now,
            expires_at=expires_at,
        )
        session.add(offer)
        await notify(
            session,
            user_id=candidate.user_id,
            kind=Kind.intraday_offer,
            message="intraday_vto",
            values={
                "start": moment_value(utc_start(candidate.from_slot)),
                "end": moment_value(utc_start(candidate.to_slot)),
                "until": moment_value(expires_at),
                "standby_percent": call.standby_percent,
                **skill_values(skill),
            },
            url=OFFERS_URL,
            subject=f"intraday:{call.id}",
            expires_at=expires_at,
            now=now,
        )
    await session.flush()
    return len(chosen)


# The coordinator's calls ---------------------------------------------------------------------------------


async def start_vto(
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
) -> IntradayCall:
    """Call for ``surplus`` volunteers to go home from ``start_slot``; the first wave is asked at once."""
    await _skill_of(session, site.id, skill_id)
    _check_stretch(start_slot, end_slot, now)
    if not 1 <= surplus <= MAX_WANTED:
        raise DomainError(_("Between 1 and %(most)s agents.", most=MAX_WANTED), field="surplus")
    settings = site_settings(site)
    call = IntradayCall(
        site_id=site.id,
        kind=CallKind.vto,
        skill_id=skill_id,
        start_slot=start_slot,
        end_slot=end_slot,
        wanted=surplus,
        granted=0,
        standby_percent=settings.vto_standby_percent if standby else 0,
        bonus_minor=0,
        created_by_id=by.id,
        created_at=now,
        expires_at=utc_start(end_slot),
    )
    session.add(call)
    await session.flush()
    await _offer_more(session, site=site, call=call, now=now)
    return call


async def start_vot(
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
) -> Shift:
    """Open ``wanted`` extra seats over the stretch on the marketplace, with a bonus, short shifts allowed.

    The marketplace's digest tells eligible agents who offered that time (one digest per period)."""
    skill = await _skill_of(session, site.id, skill_id)
    _check_stretch(start_slot, end_slot, now)
    if not 1 <= wanted <= MAX_WANTED:
        raise DomainError(_("Between 1 and %(most)s agents.", most=MAX_WANTED), field="wanted")
    shift = await create_open_shift(
        session,
        site=site,
        skill=skill.code,
        start=utc_start(start_slot),
        end=utc_start(end_slot),
        seats=wanted,
        bonus_minor=bonus_minor,
        created_by=by.id,
        now=now,
        origin=ShiftOrigin.vot,
        allow_short=True,
    )
    session.add(
        IntradayCall(
            site_id=site.id,
            kind=CallKind.vot,
            skill_id=skill_id,
            start_slot=start_slot,
            end_slot=end_slot,
            wanted=wanted,
            granted=0,
            standby_percent=0,
            bonus_minor=bonus_minor,
            shift_id=shift.id,
            created_by_id=by.id,
            created_at=now,
            expires_at=utc_start(start_slot),
        )
    )
    await session.flush()
    return shift


async def _extension_refusals(
    session: AsyncSession, *, site: Site, agent: User, skill: Skill, from_slot: int, to_slot: int
) -> list[str]:
    """What the agent's week would break with ``[from_slot, to_slot)`` added: cap, rest, overlap."""
    context = Context(session, agent, site, site_settings(site))
    extra = Shift(site_id=site.id, skill_id=skill.id, start_slot=from_slot, end_slot=to_slot, seats=1, taken=0)
    return [reason.message for reason in await context.refusals(extra, skill)]


async def offer_extension(
    session: AsyncSession,
    *,
    shift_id: int,
    user_id: int,
    to_slot: int | None = None,
    half_hours: int | None = None,
    by: User,
    now: dt.datetime,
) -> IntradayOffer:
    """Ask an agent on shift to stay longer, to ``to_slot`` (or ``half_hours`` past their end)."""
    shift = await session.get(Shift, shift_id)
    if shift is None or shift.site_id != by.site_id or shift.cancelled_at is not None:
        raise NotFound("shift")
    seat = await session.scalar(
        select(ShiftSeat).where(
            ShiftSeat.shift_id == shift_id, ShiftSeat.user_id == user_id, ShiftSeat.released_at.is_(None)
        )
    )
    agent = await session.get(User, user_id)
    if seat is None or agent is None:
        raise NotFound("seat")
    site = await session.get(Site, shift.site_id)
    skill = await session.get(Skill, shift.skill_id)
    assert site is not None
    assert skill is not None
    end = seat.extended_to_slot or shift.end_slot
    if to_slot is None:
        to_slot = end + (half_hours or 0)
    if utc_start(end) <= now:
        raise Conflict(_("This shift has already ended."))
    if seat.vto_from_slot is not None:
        raise Conflict(_("This agent took time off from this shift."))
    no_show = await session.scalar(select(Attendance.no_show_at).where(Attendance.seat_id == seat.id))
    if no_show is not None:
        raise Conflict(_("This agent was marked a no-show."))
    if not end < to_slot <= end + MAX_EXTENSION_SLOTS:
        raise DomainError(_("Extend by one to eight half-hours."), field="half_hours")
    pending = await session.scalar(
        select(IntradayOffer.id).where(
            IntradayOffer.seat_id == seat.id,
            IntradayOffer.status == OfferStatus.offered,
            IntradayOffer.expires_at > now,
        )
    )
    if pending is not None:
        raise Conflict(_("This agent already has an offer to answer."))
    refusals = await _extension_refusals(session, site=site, agent=agent, skill=skill, from_slot=end, to_slot=to_slot)
    if refusals:
        raise DomainError(" ".join(refusals), field="half_hours")
    settings = site_settings(site)
    expires_at = _offer_expiry(now, settings, end)
    call = IntradayCall(
        site_id=site.id,
        kind=CallKind.extension,
        skill_id=skill.id,
        start_slot=end,
        end_slot=to_slot,
        wanted=1,
        granted=0,
        standby_percent=0,
        bonus_minor=0,
        shift_id=shift.id,
        created_by_id=by.id,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(call)
    await session.flush()
    offer = IntradayOffer(
        call_id=call.id,
        user_id=user_id,
        seat_id=seat.id,
        from_slot=end,
        to_slot=to_slot,
        rank=1,
        status=OfferStatus.offered,
        offered_at=now,
        expires_at=expires_at,
    )
    session.add(offer)
    await notify(
        session,
        user_id=user_id,
        kind=Kind.intraday_offer,
        message="intraday_extension",
        values={"end": moment_value(utc_start(to_slot)), "until": moment_value(expires_at), **skill_values(skill)},
        url=OFFERS_URL,
        subject=f"intraday:{call.id}",
        expires_at=expires_at,
        now=now,
    )
    await session.flush()
    return offer


# The agent's answers -------------------------------------------------------------------------------------


async def _own_offer(session: AsyncSession, offer_id: int, agent: User) -> tuple[IntradayOffer, IntradayCall]:
    offer = await session.get(IntradayOffer, offer_id)
    if offer is None or offer.user_id != agent.id:
        raise NotFound("offer")
    call = await session.get(IntradayCall, offer.call_id)
    assert call is not None
    return offer, call


def _taken() -> Conflict:
    return Conflict(_("Already taken: enough agents accepted before you. Nothing changes for you."))


def _lapsed() -> Conflict:
    return Conflict(_("This offer has expired. Nothing changes for you."))


async def _close_call(session: AsyncSession, call: IntradayCall, now: dt.datetime) -> None:
    """The call is filled: close it and tell the offers still out that it is taken."""
    call.closed_at = now
    await session.execute(
        update(IntradayOffer)
        .where(IntradayOffer.call_id == call.id, IntradayOffer.status == OfferStatus.offered)
        .values(status=OfferStatus.taken, answered_at=now)
    )


async def accept_offer(session: AsyncSession, *, offer_id: int, agent: User, now: dt.datetime) -> IntradayOffer:
    """Take the offer: the first ``wanted`` acceptances are granted (one conditional UPDATE), the rest refused
    as taken (409); an offer already accepted answers as it did (a double tap changes nothing)."""
    await lock_agent(session, agent.id)  # one agent's taps in turn: the offer is read after the lock
    offer, call = await _own_offer(session, offer_id, agent)
    if offer.status is OfferStatus.accepted:
        return offer
    if offer.status is OfferStatus.taken:
        raise _taken()
    if offer.status is OfferStatus.declined:
        raise Conflict(_("You declined this offer."))
    if offer.status is OfferStatus.expired or offer.expires_at <= now:
        raise _lapsed()
    seat = await session.get(ShiftSeat, offer.seat_id)
    shift = await session.get(Shift, seat.shift_id) if seat is not None else None
    site = await session.get(Site, call.site_id)
    assert site is not None
    if seat is None or shift is None or seat.released_at is not None or shift.cancelled_at is not None:
        raise Conflict(_("You no longer hold this shift."))
    if call.kind is CallKind.vto:
        from_slot = max(offer.from_slot, next_boundary_slot(now))
        if from_slot >= offer.to_slot:
            raise _lapsed()
        week = _week_slots(site, call.start_slot)
        taken = (await vto_taken(session, user_ids=[agent.id], week=week)).get(agent.id, 0)
        if taken >= site_settings(site).vto_max_per_week:
            raise Conflict(_("You have taken as much time off this week as the site allows."))
    else:
        skill = await session.get(Skill, shift.skill_id)
        assert skill is not None
        refusals = await _extension_refusals(
            session, site=site, agent=agent, skill=skill, from_slot=offer.from_slot, to_slot=offer.to_slot
        )
        if refusals:
            raise Conflict(" ".join(refusals))
    granted = await session.scalar(
        update(IntradayCall)
        .where(IntradayCall.id == call.id, IntradayCall.granted < IntradayCall.wanted, IntradayCall.closed_at.is_(None))
        .values(granted=IntradayCall.granted + 1)
        .returning(IntradayCall.granted)
    )
    if granted is None:
        offer.status, offer.answered_at = OfferStatus.taken, now
        await session.flush()
        raise _taken()
    await session.refresh(call)
    if call.kind is CallKind.vto:
        seat.vto_from_slot = from_slot
        seat.standby_percent = call.standby_percent
        offer.from_slot = from_slot
    else:
        seat.extended_to_slot = offer.to_slot
    offer.status, offer.answered_at = OfferStatus.accepted, now
    if granted >= call.wanted:
        await _close_call(session, call, now)
    await session.flush()
    return offer


async def decline_offer(session: AsyncSession, *, offer_id: int, agent: User, now: dt.datetime) -> IntradayOffer:
    """Say no: a VTO call then asks the next agent in line. Declining twice changes nothing."""
    await lock_agent(session, agent.id)
    offer, call = await _own_offer(session, offer_id, agent)
    if offer.status is OfferStatus.declined:
        return offer
    if offer.status is OfferStatus.accepted:
        raise Conflict(_("You already accepted this offer."))
    if offer.status is OfferStatus.taken:
        raise _taken()
    if offer.status is OfferStatus.expired or offer.expires_at <= now:
        raise _lapsed()
    offer.status, offer.answered_at = OfferStatus.declined, now
    await session.flush()
    if call.kind is CallKind.vto:
        site = await session.get(Site, call.site_id)
        assert site is not None
        await _offer_more(session, site=site, call=call, now=now)
    return offer


async def offers_for(session: AsyncSession, *, agent: User, now: dt.datetime) -> list[OfferView]:
    """The agent's offers still open, then those answered or lapsed recently, newest first."""
    rows = await session.execute(
        select(IntradayOffer, IntradayCall, Shift, Skill)
        .join(IntradayCall, IntradayCall.id == IntradayOffer.call_id)
        .join(ShiftSeat, ShiftSeat.id == IntradayOffer.seat_id)
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .join(Skill, Skill.id == Shift.skill_id)
        .where(IntradayOffer.user_id == agent.id, IntradayOffer.offered_at > now - RECENT)
        .order_by(IntradayOffer.offered_at.desc(), IntradayOffer.id.desc())
    )
    views = [
        OfferView(
            offer_id=offer.id,
            kind=call.kind,
            status=offer.status,
            skill_name=skill.name,
            skill_name_zh=skill.name_zh,
            shift_start_slot=shift.start_slot,
            shift_end_slot=shift.end_slot,
            from_slot=offer.from_slot,
            to_slot=offer.to_slot,
            standby_percent=call.standby_percent,
            expires_at=offer.expires_at,
            answered_at=offer.answered_at,
        )
        for offer, call, shift, skill in rows
    ]
    return sorted(views, key=lambda view: not view.is_open(now))


async def open_offer_count(session: AsyncSession, *, user_id: int, now: dt.datetime) -> int:
    """How many offers the agent can still answer (Home's card)."""
    count = await session.scalar(
        select(func.count()).where(
            IntradayOffer.user_id == user_id,
            IntradayOffer.status == OfferStatus.offered,
            IntradayOffer.expires_at > now,
        )
    )
    return int(count or 0)


# The board and the duty log ------------------------------------------------------------------------------


async def site_calls(session: AsyncSession, *, site_id: int, day_slots: range) -> list[CallView]:
    """The site's calls over ``day_slots`` (by their start), oldest first: for the board and the log sweep.

    A VOT call's ``granted`` is its open shift's seats taken."""
    asked = (
        select(IntradayOffer.call_id, func.count().label("asked"), func.min(IntradayOffer.user_id).label("user_id"))
        .group_by(IntradayOffer.call_id)
        .subquery()
    )
    rows = await session.execute(
        select(IntradayCall, Skill, Shift.taken, asked.c.asked, asked.c.user_id)
        .join(Skill, Skill.id == IntradayCall.skill_id)
        .outerjoin(Shift, Shift.id == IntradayCall.shift_id)
        .outerjoin(asked, asked.c.call_id == IntradayCall.id)
        .where(IntradayCall.site_id == site_id)
        .where(IntradayCall.start_slot >= day_slots.start, IntradayCall.start_slot < day_slots.stop)
        .order_by(IntradayCall.created_at, IntradayCall.id)
    )
    return [
        CallView(
            call_id=call.id,
            site_id=call.site_id,
            kind=call.kind,
            skill_id=call.skill_id,
            skill_name=skill.name,
            skill_name_zh=skill.name_zh,
            start_slot=call.start_slot,
            end_slot=call.end_slot,
            wanted=call.wanted,
            granted=int(taken or 0) if call.kind is CallKind.vot else call.granted,
            asked=int(count or 0),
            standby_percent=call.standby_percent,
            bonus_minor=call.bonus_minor,
            shift_id=call.shift_id,
            user_id=int(user_id) if call.kind is CallKind.extension and user_id is not None else None,
            created_by_id=call.created_by_id,
            created_at=call.created_at,
            expires_at=call.expires_at,
            closed_at=call.closed_at,
        )
        for call, skill, taken, count, user_id in rows
    ]


# The worker's minute -------------------------------------------------------------------------------------


async def lapse_intraday_offers(session: AsyncSession, *, now: dt.datetime) -> int:
    """Mark lapsed offers expired, ask the next agents in line on VTO calls still open, close calls whose time
    has come; answers how many offers lapsed."""
    lapsed = await session.execute(
        update(IntradayOffer)
        .where(IntradayOffer.status == OfferStatus.offered, IntradayOffer.expires_at <= now)
        .values(status=OfferStatus.expired)
        .returning(IntradayOffer.call_id)
    )
    call_ids = [int(call_id) for (call_id,) in lapsed]
    touched = set(call_ids)
    if touched:
        calls = await session.scalars(
            select(IntradayCall).where(
                IntradayCall.id.in_(touched),
                IntradayCall.kind == CallKind.vto,
                IntradayCall.closed_at.is_(None),
                IntradayCall.expires_at > now,
            )
        )
        for call in list(calls):
            site = await session.get(Site, call.site_id)
            assert site is not None
            await _offer_more(session, site=site, call=call, now=now)
    await session.execute(
        update(IntradayCall)
        .where(IntradayCall.closed_at.is_(None), IntradayCall.expires_at <= now)
        .values(closed_at=now)
    )
    return len(call_ids)


async def offers_of_call(session: AsyncSession, *, call_id: int) -> list[IntradayOffer]:
    """A call's offers in the order they were made."""
    return list(
        await session.scalars(
            select(IntradayOffer).where(IntradayOffer.call_id == call_id).order_by(IntradayOffer.rank)
        )
    )
