"""Cover requests: a seat needed at short notice, offered to ranked eligible agents in waves; first to accept wins.

A coordinator raises one for a no-show or an emergency; an agent's release
after the site's cutoff raises one too (``late_release``). The absent agent's
seat is given back (or, with nobody absent, the shift gets one more seat), and
the seat goes to whoever accepts first among the agents asked.

Who is asked, and in which order (shown to coordinators beside each request):

- **Eligible only.** The same claim check as the marketplace
  (``allocation.Context.refusals``): certified and not expired, onboarded, no
  overlap, rest between shifts, shifts a day, weekly cap. Agents already on
  the shift and the absent agent are left out.
- **Ranked by**, in this order, each a tie-break for the one before:
  1. offered this time in their availability, before agents who are free but
     did not offer it;
  2. more whole hours left below their weekly cap after this shift (no cap
     counts as the most);
  3. higher reliability (``attendance.reliability_score``);
  4. higher tier: senior, then mid, then junior;
  and finally the lower user id, so the order is stable.
- **Waves.** The first ``cover_wave_size`` agents are notified at once; every
  ``cover_wave_minutes`` the next ones, re-ranked at that moment, until the seat
  is taken or nobody is left. ``due_waves`` is what a scheduler calls.
- **First acceptance wins.** Accepting is two conditional UPDATEs in one
  savepoint: the request goes from open to covered (``WHERE status = 'open'``)
  and the shift takes the seat (``WHERE taken < seats``, as a claim does). A
  second acceptance finds either refused and gets 409. No tier window applies:
  the ranked waves are the priority order. A shift already under way can be
  covered for the rest of it. The urgent bonus is recorded on the shift
  (``Shift.bonus_minor``, the higher of the two) for pay.
- A seat taken on the marketplace meanwhile closes the request as covered with
  nobody recorded and no bonus (that agent claimed a plain open shift).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from backend.accounts.models import Role, Site, Skill, Tier, User, UserStatus
from backend.accounts.service import person_labels
from backend.accounts.site_settings import site_settings
from backend.availability.models import OfferedSlot
from backend.certifications.service import skills_in_force
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.core.money import format_money
from backend.core.slots import slot_of, utc_start
from backend.notify.service import Kind, moment_value, notify, notify_staff, skill_values
from backend.shifts.allocation import (
    ClaimRefused,
    Context,
    ensure_agent,
    live_offers,
    lock_agent,
    market_shift,
    seat_of,
    waiting_entry,
)
from backend.shifts.attendance import reliability_score
from backend.shifts.models import (
    Attendance,
    CoverCandidate,
    CoverReason,
    CoverRequest,
    CoverStatus,
    Shift,
    ShiftSeat,
)
from backend.shifts.pay import PricedShift

AGENT_PAGE = "/app/shifts/cover"
ADMIN_PAGE = "/admin/cover"
PAGE_SIZE = 50  # requests a page on the coordinator's list
TIER_ORDER = {Tier.senior: 0, Tier.mid: 1, Tier.junior: 2}
RAISED_BY_COORDINATOR = frozenset({CoverReason.no_show, CoverReason.emergency})
COVERABLE_HOURS = 48


@dataclass(frozen=True)
class Candidate:
    """An eligible agent in rank order, with the facts that put them there."""

    user: User
    rank: int
    offered: bool
    headroom_slots: int | None  # half-hours left below the weekly cap after this shift; None: no cap
    reliability: float

    def why(self) -> list[str]:
        """The ranking's four facts, in ranking order, in the reader's language."""
        return explain(self.offered, self.headroom_slots, self.reliability, self.user.tier)


def explain(offered: bool, headroom_slots: int | None, reliability: float, tier: Tier) -> list[str]:
    return [
        _("Offered this time") if offered else _("Free, but did not offer this time"),
        _("No weekly cap")
        if headroom_slots is None
        else _("%(hours)s h below the weekly cap", hours=f"{headroom_slots / 2:g}"),
        _("Reliability %(score)s", score=f"{reliability:.0%}"),
        _("Tier: %(tier)s", tier=_(tier.value)),
    ]


def _sort_key(candidate: Candidate) -> tuple[int, int, float, int, int]:
    headroom_hours = 10**6 if candidate.headroom_slots is None else candidate.headroom_slots // 2
    return (
        0 if candidate.offered else 1,
        -headroom_hours,
        -candidate.reliability,
        TIER_ORDER[candidate.user.tier],
        candidate.user.id,
    )


def _ended(shift: Shift, now: dt.datetime) -> bool:
    return utc_start(shift.end_slot) <= now


# Ranking ---------------------------------------------------------------------------------


async def rank_candidates(
    session: AsyncSession, *, site: Site, shift: Shift, skill: Skill, now: dt.datetime, excluding: frozenset[int]
) -> list[Candidate]:
    """Every agent of the site who may take a seat of ``shift`` now, best first (see the module's order)."""
    holders = select(ShiftSeat.user_id).where(ShiftSeat.shift_id == shift.id, ShiftSeat.released_at.is_(None))
    pool = list(
        await session.scalars(
            select(User)
            .where(User.site_id == site.id, User.role == Role.agent, User.status == UserStatus.active)
            .where(User.onboarded_at.is_not(None), User.id.not_in(holders))
            .order_by(User.id)
        )
    )
    pool = [user for user in pool if user.id not in excluding]
    if not pool:
        return []
    skills = await skills_in_force(session, user_ids=[user.id for user in pool])
    pool = [user for user in pool if shift.skill_id in skills.get(user.id, set())]
    first = max(shift.start_slot, slot_of(now))  # a shift under way is covered for the rest of it
    offered = dict(
        (
            await session.execute(
                select(OfferedSlot.user_id, func.count())
                .where(OfferedSlot.user_id.in_([user.id for user in pool]))
                .where(OfferedSlot.slot >= first, OfferedSlot.slot < shift.end_slot)
                .group_by(OfferedSlot.user_id)
            )
        ).all()
    )
    settings = site_settings(site)
    found: list[Candidate] = []
    for user in pool:
        context = Context(session, user, site, settings)
        if await context.refusals(shift, skill):
            continue
        week = await context.week_of(shift.start_slot)
        caps = [c for c in (week.facts.weekly_cap_slots, context.rules.weekly_cap_slots) if c is not None]
        held = sum(h.end_slot - h.start_slot for h in week.held if h.shift_id != shift.id)
        headroom = min(caps) - held - (shift.end_slot - shift.start_slot) if caps else None
        found.append(
            Candidate(
                user=user,
                rank=0,
                offered=int(offered.get(user.id, 0)) >= shift.end_slot - first,
                headroom_slots=headroom,
                reliability=await reliability_score(session, user_id=user.id, now=now),
            )
        )
    found.sort(key=_sort_key)
    return [replace(candidate, rank=rank) for rank, candidate in enumerate(found, start=1)]


# Raising, waves, closing ----------------------------------------------------------------------


async def request_cover(
    session: AsyncSession,
    *,
    site: Site,
    shift_id: int,
    absent_user_id: int | None,
    reason: CoverReason,
    bonus_minor: int,
    by: int | None,
    now: dt.datetime,
) -> CoverRequest:
    """Free a seat for cover (the absent agent's, or one more) and ask the first wave; bad input is 422 naming it."""
    shift, _skill = await market_shift(session, shift_id=shift_id, site_id=site.id)
    if shift.cancelled_at is not None:
        raise Conflict(_("This shift was cancelled."))
    if _ended(shift, now):
        raise Conflict(_("This shift is over."))
    if bonus_minor < 0:
        raise DomainError(_("The bonus cannot be negative."), field="bonus_minor")
    if reason is CoverReason.no_show and absent_user_id is None:
        raise DomainError(_("Say who did not show up."), field="absent_user")
    if absent_user_id is not None:
        await lock_agent(session, absent_user_id)  # one at a time with the absent agent's own claims and releases
        released = await session.scalar(
            update(ShiftSeat)
            .where(ShiftSeat.shift_id == shift.id, ShiftSeat.user_id == absent_user_id)
            .where(ShiftSeat.released_at.is_(None))
            .values(released_at=now)
            .returning(ShiftSeat.id)
        )
        if released is None:
            raise DomainError(_("That agent does not hold a seat on this shift."), field="absent_user")
        changed = update(Shift).where(Shift.id == shift.id, Shift.taken > 0).values(taken=Shift.taken - 1)
    else:
        changed = update(Shift).where(Shift.id == shift.id).values(seats=Shift.seats + 1)
    row = (
        await session.execute(changed.returning(Shift.seats, Shift.taken).execution_options(synchronize_session=False))
    ).first()
    if row is not None:
        set_committed_value(shift, "seats", row.seats)
        set_committed_value(shift, "taken", row.taken)
    if shift.opened_at is None:
        shift.opened_at = now  # a rostered seat goes on the marketplace when it is given back
    request = CoverRequest(
        site_id=site.id,
        shift_id=shift.id,
        absent_user_id=absent_user_id,
        reason=reason,
        bonus_minor=bonus_minor,
        status=CoverStatus.open,
        created_by_id=by,
        created_at=now,
        wave=0,
        next_wave_at=now,
    )
    session.add(request)
    await session.flush()
    await send_next_wave(session, request_id=request.id, now=now)
    return request


async def cover_rest_of_shift(
    session: AsyncSession, *, shift_id: int, user_id: int, by: User, now: dt.datetime
) -> CoverRequest:
    """After a no-show: ask for cover for the rest of a shift still under way (``request_cover`` with the
    no-show's seat given back; candidates are checked and ranked on the slots still to come).

    The shift must be the coordinator's site's and the agent a no-show on it; a shift that is over is 409.
    """
    site = await session.get(Site, by.site_id)
    assert site is not None
    marked = await session.scalar(
        select(Attendance.id)
        .join(ShiftSeat, ShiftSeat.id == Attendance.seat_id)
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .where(Shift.id == shift_id, Shift.site_id == site.id, ShiftSeat.user_id == user_id)
        .where(Attendance.no_show_at.is_not(None), ShiftSeat.released_at.is_(None))
    )
    if marked is None:
        raise NotFound("no-show")
    return await request_cover(
        session,
        site=site,
        shift_id=shift_id,
        absent_user_id=user_id,
        reason=CoverReason.no_show,
        bonus_minor=0,
        by=by.id,
        now=now,
    )


async def _locked_request(session: AsyncSession, request_id: int) -> CoverRequest | None:
    """The request, row-locked on PostgreSQL so two schedulers cannot send the same wave twice."""
    query = select(CoverRequest).where(CoverRequest.id == request_id)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()


def _close(request: CoverRequest, status: CoverStatus, now: dt.datetime) -> None:
    request.status = status
    request.next_wave_at = None
    if status is CoverStatus.covered:
        request.covered_at = now
    else:
        request.closed_at = now


async def send_next_wave(session: AsyncSession, *, request_id: int, now: dt.datetime) -> list[int]:
    """Notify the next ``cover_wave_size`` ranked agents not yet asked and record them; answers who was asked.

    A request whose shift is over expires; one whose shift filled meanwhile closes as covered.
    """
    request = await _locked_request(session, request_id)
    if request is None or request.status is not CoverStatus.open:
        return []
    shift, skill = await market_shift(session, shift_id=request.shift_id, site_id=request.site_id)
    if shift.cancelled_at is not None or _ended(shift, now):
        _close(request, CoverStatus.expired, now)
        await session.flush()
        return []
    if shift.taken >= shift.seats:
        _close(request, CoverStatus.covered, now)
        await session.flush()
        return []
    site = await session.get(Site, request.site_id)
    assert site is not None
    settings = site_settings(site)
    asked = set(await session.scalars(select(CoverCandidate.user_id).where(CoverCandidate.request_id == request.id)))
    absent = {request.absent_user_id} if request.absent_user_id is not None else set()
    ranked = await rank_candidates(
        session, site=site, shift=shift, skill=skill, now=now, excluding=frozenset(asked | absent)
    )
    wave = ranked[: settings.cover_wave_size]
    if wave:
        request.wave += 1
    for candidate in wave:
        session.add(
            CoverCandidate(
                request_id=request.id,
                user_id=candidate.user.id,
                wave=request.wave,
                rank=len(asked) + candidate.rank,
                asked_at=now,
                offered=candidate.offered,
                headroom_slots=candidate.headroom_slots,
                reliability=candidate.reliability,
            )
        )
        await _tell(session, user=candidate.user, request=request, shift=shift, skill=skill, currency=settings.currency)
    more = len(ranked) > len(wave)
    request.next_wave_at = now + dt.timedelta(minutes=settings.cover_wave_minutes) if more else None
    await session.flush()
    return [candidate.user.id for candidate in wave]


async def _tell(
    session: AsyncSession, *, user: User, request: CoverRequest, shift: Shift, skill: Skill, currency: str
) -> None:
    """The ask, worded in the agent's own language and time zone when they read it."""
    values = {
        "start": moment_value(utc_start(shift.start_slot)),
        "end": moment_value(utc_start(shift.end_slot)),
        "bonus": format_money(request.bonus_minor, currency) if request.bonus_minor else "",
        **skill_values(skill),
    }
    await notify(
        session,
        user_id=user.id,
        kind=Kind.cover_request,
        message="cover_request",
        values=values,
        url=f"{AGENT_PAGE}#cover-{request.id}",
        subject=f"cover:{request.id}",
        expires_at=utc_start(shift.end_slot),
    )


async def due_waves(session: AsyncSession, *, now: dt.datetime) -> list[int]:
    """For a scheduler: send every wave that is due and expire requests whose shift is over; answers request ids."""
    ended = await session.scalars(
        select(CoverRequest)
        .join(Shift, Shift.id == CoverRequest.shift_id)
        .where(CoverRequest.status == CoverStatus.open, Shift.end_slot <= slot_of(now))
    )
    for request in ended:
        _close(request, CoverStatus.expired, now)
    due = list(
        await session.scalars(
            select(CoverRequest.id)
            .where(CoverRequest.status == CoverStatus.open, CoverRequest.next_wave_at <= now)
            .order_by(CoverRequest.next_wave_at, CoverRequest.id)
        )
    )
    for request_id in due:
        await send_next_wave(session, request_id=request_id, now=now)
    await session.flush()
    return due


async def alert_unfilled(session: AsyncSession, *, now: dt.datetime) -> int:
    """Tell the site's staff, once, about each open request nobody is left to ask and nobody took.

    Nobody eligible at all is known at once; otherwise the last wave gets its ``cover_wave_minutes`` to
    answer first. The alert's subject (``cover-unfilled:<id>``) keeps it to one per request.
    """
    rows = (
        await session.execute(
            select(CoverRequest, Shift, Skill, Site, func.max(CoverCandidate.asked_at))
            .join(Shift, Shift.id == CoverRequest.shift_id)
            .join(Skill, Skill.id == Shift.skill_id)
            .join(Site, Site.id == CoverRequest.site_id)
            .outerjoin(CoverCandidate, CoverCandidate.request_id == CoverRequest.id)
            .where(CoverRequest.status == CoverStatus.open, CoverRequest.next_wave_at.is_(None))
            .where(Shift.end_slot > slot_of(now))
            .group_by(CoverRequest.id, Shift.id, Skill.id, Site.id)
            .order_by(CoverRequest.id)
        )
    ).all()
    told = 0
    for request, shift, skill, site, last_asked in rows:
        if last_asked is not None and now < last_asked + dt.timedelta(minutes=site_settings(site).cover_wave_minutes):
            continue
        values = {
            "start": moment_value(utc_start(shift.start_slot)),
            "end": moment_value(utc_start(shift.end_slot)),
            **skill_values(skill),
        }
        told += await notify_staff(
            session,
            site_id=request.site_id,
            kind=Kind.staff_cover_unfilled,
            values=values,
            link=f"{ADMIN_PAGE}#cover-{request.id}",
            now=now,
            subject=f"cover-unfilled:{request.id}",
        )
    return told


async def cover_request_of(session: AsyncSession, *, request_id: int, site_id: int) -> CoverRequest:
    """A request of the caller's site; another site's or an unknown id is 404 alike."""
    request = await session.get(CoverRequest, request_id)
    if request is None or request.site_id != site_id:
        raise NotFound("cover request")
    return request


async def cancel_cover(session: AsyncSession, *, request_id: int, site_id: int, now: dt.datetime) -> CoverRequest:
    """Stop asking. An emergency's extra seat goes away again if nobody took it; a freed seat stays open."""
    request = await cover_request_of(session, request_id=request_id, site_id=site_id)
    if request.status is not CoverStatus.open:
        raise Conflict(_("This cover request is already closed."))
    if request.absent_user_id is None:
        await session.execute(
            update(Shift)
            .where(Shift.id == request.shift_id, Shift.taken < Shift.seats, Shift.seats > 1)
            .values(seats=Shift.seats - 1)
            .execution_options(synchronize_session=False)
        )
    _close(request, CoverStatus.cancelled, now)
    await session.flush()
    return request


# Accepting -----------------------------------------------------------------------------------


async def accept_cover(session: AsyncSession, *, request_id: int, agent: User, now: dt.datetime) -> CoverRequest:
    """Take the cover seat if nobody has (see the module's rules); a second tap by the winner answers the same."""
    ensure_agent(agent)
    request = await cover_request_of(session, request_id=request_id, site_id=agent.site_id)
    asked = await session.scalar(
        select(CoverCandidate.id).where(CoverCandidate.request_id == request.id, CoverCandidate.user_id == agent.id)
    )
    if asked is None:
        raise NotFound("cover request")  # not offered to this agent (yet): not theirs to see
    if request.status is CoverStatus.covered and request.covered_by_id == agent.id:
        return request
    if request.status is not CoverStatus.open:
        raise _closed(request)
    shift, skill = await market_shift(session, shift_id=request.shift_id, site_id=agent.site_id)
    if shift.cancelled_at is not None or _ended(shift, now):
        raise Conflict(_("This shift is over."))
    await lock_agent(session, agent.id)
    seat = await seat_of(session, shift.id, agent.id)
    if seat is not None and seat.released_at is None:
        raise Conflict(_("You already hold this shift."))
    site = await session.get(Site, agent.site_id)
    assert site is not None
    reasons = await Context(session, agent, site, site_settings(site)).refusals(shift, skill)
    if reasons:
        raise ClaimRefused(reasons)
    async with session.begin_nested():
        won = await session.scalar(
            update(CoverRequest)
            .where(CoverRequest.id == request.id, CoverRequest.status == CoverStatus.open)
            .values(status=CoverStatus.covered, covered_by_id=agent.id, covered_at=now, next_wave_at=None)
            .returning(CoverRequest.id)
            .execution_options(synchronize_session=False)
        )
        if won is None:
            await session.refresh(request)
            raise _closed(request)
        bonus = case((Shift.bonus_minor < request.bonus_minor, request.bonus_minor), else_=Shift.bonus_minor)
        row = (
            await session.execute(
                update(Shift)
                .where(Shift.id == shift.id, Shift.taken < Shift.seats)
                .values(taken=Shift.taken + 1, bonus_minor=bonus)
                .returning(Shift.taken, Shift.bonus_minor)
                .execution_options(synchronize_session=False)
            )
        ).first()
        if row is None:
            raise Conflict(_("Someone else already covered this shift."))
        reserved = (await live_offers(session, [shift.id], now, excluding=agent.id)).get(shift.id, 0)
        if row.taken + reserved > shift.seats:
            raise Conflict(_("Someone else already covered this shift."))
        if seat is None:
            session.add(ShiftSeat(shift_id=shift.id, user_id=agent.id, taken_at=now))
        else:
            seat.released_at, seat.taken_at = None, now
        wait = await waiting_entry(session, shift.id, agent.id)
        if wait is not None:
            await session.delete(wait)
        await session.flush()
    set_committed_value(shift, "taken", row.taken)
    set_committed_value(shift, "bonus_minor", row.bonus_minor)
    for name, value in (("status", CoverStatus.covered), ("covered_by_id", agent.id), ("covered_at", now)):
        set_committed_value(request, name, value)
    set_committed_value(request, "next_wave_at", None)
    return request


def _closed(request: CoverRequest) -> Conflict:
    if request.status is CoverStatus.covered:
        return Conflict(_("Someone else already covered this shift."))
    return Conflict(_("This cover request is no longer open."))


# Reading -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """Someone a wave asked, with the facts that ranked them there then."""

    user_id: int
    name: str
    wave: int
    rank: int
    why: list[str]


@dataclass(frozen=True)
class CoverView:
    request: CoverRequest
    shift: Shift
    skill: Skill
    absent_name: str | None
    covered_name: str | None
    asked: list[Asked]


def _listed(site_id: int, now: dt.datetime) -> Select[Any]:
    since = now - dt.timedelta(days=1)
    return select(CoverRequest.id).where(
        CoverRequest.site_id == site_id,
        (CoverRequest.status == CoverStatus.open) | (CoverRequest.created_at >= since),
    )


async def site_requests(
    session: AsyncSession, *, site_id: int, now: dt.datetime, page: int | None = None
) -> list[CoverView]:
    """The site's open requests and those closed in the last day, with who was asked: open ones first, each
    group newest first, so a request just raised is at the top. ``page`` (from 1) gives ``PAGE_SIZE`` of them."""
    query = (
        select(CoverRequest, Shift, Skill)
        .join(Shift, Shift.id == CoverRequest.shift_id)
        .join(Skill, Skill.id == Shift.skill_id)
        .where(CoverRequest.id.in_(_listed(site_id, now)))
        .order_by(
            case((CoverRequest.status == CoverStatus.open, 0), else_=1),
            CoverRequest.created_at.desc(),
            CoverRequest.id.desc(),
        )
    )
    if page is not None:
        query = query.limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)
    rows = (await session.execute(query)).all()
    return await _views(session, [tuple(row) for row in rows])


async def site_request_count(session: AsyncSession, *, site_id: int, now: dt.datetime) -> int:
    """How many requests ``site_requests`` lists in all (for the pages)."""
    return int(await session.scalar(select(func.count()).select_from(_listed(site_id, now).subquery())) or 0)


async def cover_view(session: AsyncSession, *, request_id: int, site_id: int) -> CoverView:
    """One request of the caller's site with its shift and who was asked; another site's is 404."""
    row = (
        await session.execute(
            select(CoverRequest, Shift, Skill)
            .join(Shift, Shift.id == CoverRequest.shift_id)
            .join(Skill, Skill.id == Shift.skill_id)
            .where(CoverRequest.id == request_id)
        )
    ).first()
    if row is None or row[0].site_id != site_id:
        raise NotFound("cover request")
    return (await _views(session, [tuple(row)]))[0]


async def agent_requests(session: AsyncSession, *, agent: User, now: dt.datetime) -> list[CoverView]:
    """Open requests offered to the agent whose shift is not over, and the ones they covered, soonest first."""
    rows = (
        await session.execute(
            select(CoverRequest, Shift, Skill)
            .join(CoverCandidate, CoverCandidate.request_id == CoverRequest.id)
            .join(Shift, Shift.id == CoverRequest.shift_id)
            .join(Skill, Skill.id == Shift.skill_id)
            .where(CoverCandidate.user_id == agent.id, CoverRequest.site_id == agent.site_id)
            .where(Shift.end_slot > slot_of(now))
            .where(
                (CoverRequest.status == CoverStatus.open)
                | ((CoverRequest.status == CoverStatus.covered) & (CoverRequest.covered_by_id == agent.id))
            )
            .order_by(Shift.start_slot, CoverRequest.id)
        )
    ).all()
    return await _views(session, [tuple(row) for row in rows], with_asked=False)


async def _views(
    session: AsyncSession, rows: list[tuple[CoverRequest, Shift, Skill]], *, with_asked: bool = True
) -> list[CoverView]:
    ids = [request.id for request, _shift, _skill in rows]
    people = {r.absent_user_id for r, _s, _k in rows} | {r.covered_by_id for r, _s, _k in rows}
    asked_rows: list[tuple[CoverCandidate, User]] = []
    if with_asked and ids:
        asked_rows = [
            (candidate, user)
            for candidate, user in await session.execute(
                select(CoverCandidate, User)
                .join(User, User.id == CoverCandidate.user_id)
                .where(CoverCandidate.request_id.in_(ids))
                .order_by(CoverCandidate.rank)
            )
        ]
    names = dict(
        (await session.execute(select(User.id, User.display_name).where(User.id.in_([p for p in people if p])))).all()
    )
    views = []
    for request, shift, skill in rows:
        asked = [
            Asked(
                user.id,
                user.display_name,
                c.wave,
                c.rank,
                explain(c.offered, c.headroom_slots, c.reliability, user.tier),
            )
            for c, user in asked_rows
            if c.request_id == request.id
        ]
        views.append(
            CoverView(
                request,
                shift,
                skill,
                names.get(request.absent_user_id) if request.absent_user_id else None,
                names.get(request.covered_by_id) if request.covered_by_id else None,
                asked,
            )
        )
    return views


async def upcoming_ranking(session: AsyncSession, *, view: CoverView, now: dt.datetime) -> list[Candidate]:
    """Who the next waves would ask, in order, for the coordinator's page."""
    request = view.request
    if request.status is not CoverStatus.open:
        return []
    site = await session.get(Site, request.site_id)
    assert site is not None
    excluding = {a.user_id for a in view.asked} | ({request.absent_user_id} if request.absent_user_id else set())
    return await rank_candidates(
        session, site=site, shift=view.shift, skill=view.skill, now=now, excluding=frozenset(excluding)
    )


def priced(view: CoverView) -> PricedShift:
    """The shift as covering it will be settled: it carries the higher of its bonus and the request's."""
    bonus = max(view.shift.bonus_minor, view.request.bonus_minor)
    return PricedShift.of(view.shift, bonus_minor=bonus, covered=True)


@dataclass(frozen=True)
class Coverable:
    """A shift a coordinator may raise cover for: under way or starting soon, with who holds it."""

    shift: Shift
    skill: Skill
    holders: list[tuple[int, str]]


async def coverable_shifts(
    session: AsyncSession,
    *,
    site_id: int,
    now: dt.datetime,
    within_hours: int = COVERABLE_HOURS,
    with_holders: bool = True,
) -> list[Coverable]:
    """The site's shifts not over and starting within ``within_hours``, soonest first; ``with_holders=False``
    leaves ``holders`` empty and skips reading them (the Today board's open seats, on a day of a thousand)."""
    rows = (
        await session.execute(
            select(Shift, Skill)
            .join(Skill, Skill.id == Shift.skill_id)
            .where(Shift.site_id == site_id, Shift.cancelled_at.is_(None), Shift.end_slot > slot_of(now))
            .where(Shift.start_slot < slot_of(now + dt.timedelta(hours=within_hours)))
            .order_by(Shift.start_slot, Shift.id)
        )
    ).all()
    if not with_holders:
        return [Coverable(shift, skill, []) for shift, skill in rows]
    ids = [shift.id for shift, _skill in rows]
    seats = (
        await session.execute(
            select(ShiftSeat.shift_id, User)
            .join(User, User.id == ShiftSeat.user_id)
            .where(ShiftSeat.shift_id.in_(ids), ShiftSeat.released_at.is_(None))
            .order_by(User.display_name, User.id)
        )
    ).all()
    names = person_labels(user for _shift_id, user in seats)  # two holders called Li Wei are told apart
    holders: dict[int, list[tuple[int, str]]] = {}
    for shift_id, user in seats:
        holders.setdefault(shift_id, []).append((user.id, names[user.id]))
    return [Coverable(shift, skill, holders.get(shift.id, [])) for shift, skill in rows]
