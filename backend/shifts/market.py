"""The shift marketplace: open shifts as an agent sees them, claims and their free undo, releases, hand-made shifts.

The allocation rules (priority windows, fair share, what refuses a claim) are
in ``allocation``; the waitlist in ``waitlist``; the request window and its draw in ``lottery``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from backend.accounts.models import Site, Skill, Tier, User, skill_label
from backend.accounts.site_settings import SiteSettings, site_settings
from backend.accounts.zones import site_zone, user_zone
from backend.core.bounds import LATEST_SLOT
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.core.slots import (
    IsoWeek,
    hours,
    is_on_boundary,
    local_day_slots,
    local_midnight,
    local_start,
    slot_of,
    utc_start,
)
from backend.shifts import cover, lottery
from backend.shifts.allocation import (
    ClaimRefused,
    Context,
    Reason,
    Why,
    ensure_agent,
    ensure_not_started,
    full_reason,
    held_seat,
    live_offers,
    lock_agent,
    market_shift,
    on_the_minute,
    seat_of,
    take_seat,
    waiting_entry,
)
from backend.shifts.eligibility import shift_rules
from backend.shifts.models import ClaimRequest, CoverReason, Shift, ShiftOrigin, ShiftSeat, ShiftWaitlist
from backend.shifts.pay import PricedShift, ShiftPay
from backend.shifts.waitlist import advance_waitlist, offer_free_seats

MAX_SEATS = 100
MARKET_REASONS = frozenset({Why.full, Why.window, Why.offered_to_other})  # the marketplace's own, not the week's


@dataclass(frozen=True)
class Claim:
    """A seat the agent holds: ``created`` is False when a second tap found the seat already theirs."""

    shift_id: int
    seat_id: int
    taken_at: dt.datetime
    undo_until: dt.datetime
    created: bool


@dataclass(frozen=True)
class Fix:
    """One tap that removes a reason (``removes``: every reason it takes away, ``code`` among them): what the
    button says and where it goes (``post``: a form, not a link)."""

    code: Why
    label: str
    url: str
    post: bool = False
    removes: frozenset[Why] = frozenset()

    @property
    def mends(self) -> frozenset[Why]:
        return self.removes | {self.code}


@dataclass
class OpenShift:
    """An open shift as one agent sees it: pay, seats, their priority window and what stops them taking it."""

    shift_id: int
    skill_code: str
    skill_name: str
    start_slot: int
    end_slot: int
    starts: dt.datetime
    ends: dt.datetime
    seats: int
    taken: int
    bonus_minor: int
    pay_minor: int | None  # what working it pays this agent, as the settlement will (None: not priced)
    currency: str
    opens_at: dt.datetime
    reasons: list[Reason] = field(default_factory=list)
    held: bool = False
    undo_until: dt.datetime | None = None
    waitlisted: bool = False
    offer_until: dt.datetime | None = None
    moved_up: bool = False  # below fair share in the shift's week: one window earlier
    fixes: list[Fix] = field(default_factory=list)  # one tap that removes a reason
    draw_at: dt.datetime | None = None  # while the request window is open: a claim is a request, drawn then
    requested: bool = False  # the agent's request waits for the draw
    not_drawn: bool = False  # the agent requested and was not drawn

    @property
    def seats_left(self) -> int:
        return max(self.seats - self.taken, 0)

    @property
    def hours(self) -> float:
        return hours(self.end_slot - self.start_slot)

    @property
    def can_claim(self) -> bool:
        return not self.held and not self.reasons

    @property
    def codes(self) -> list[str]:
        return [reason.code.value for reason in self.reasons]

    @property
    def can_join_waitlist(self) -> bool:
        """Full is the only thing in the way (or the window too: the queue is first come)."""
        codes = set(self.codes)
        return not self.held and not self.waitlisted and Why.full in codes and codes <= {Why.full, Why.window}

    @property
    def within_one_fix(self) -> bool:
        """The agent can take it, or could after one tap (a course, an undo, a swap, the waitlist).

        What Open shifts shows by default: a shift already theirs, queued for, requested or offered to them
        stays; waiting for one's window is no fix, only time. A shift two fixes away, or one no tap mends
        (rest or the weekly cap from shifts held long since, a seat offered to someone else) is left for
        "show everything".
        """
        if self.held or self.waitlisted or self.requested or self.offer_until:
            return True
        blocking = [reason.code for reason in self.reasons if reason.code is not Why.window]
        if not blocking:
            return True
        return self.can_join_waitlist or any(set(blocking) <= fix.mends for fix in self.fixes)


@dataclass(frozen=True)
class MarketDay:
    """The open shifts starting on one of the agent's local days."""

    day: dt.date
    shifts: list[OpenShift]


@dataclass(frozen=True)
class Market:
    """What the Open shifts page shows besides the shifts: the rules as this agent meets them.

    ``next_day``: on a page cut short (``page_shifts``), the local day the next page starts at.
    """

    shifts: list[OpenShift]
    settings: SiteSettings
    tier: Tier
    moved_up: bool
    zone: ZoneInfo
    skills: list[tuple[str, str]]
    next_day: dt.date | None = None

    @property
    def days(self) -> list[MarketDay]:
        """The shifts grouped by the agent's local day of their start, soonest first."""
        by_day = groupby(self.shifts, key=lambda item: item.starts.date())
        return [MarketDay(day, list(items)) for day, items in by_day]


@dataclass(frozen=True)
class _Mine:
    """The agent's own marks on the listed shifts, read once per list: seats, queue places, requests, claims
    still inside the free undo."""

    seats: dict[int, ShiftSeat]
    waits: dict[int, ShiftWaitlist]
    reserved: dict[int, int]
    requests: dict[int, ClaimRequest]
    undoable: dict[int, dt.datetime]  # held shift -> when its free undo ends


# Reading -----------------------------------------------------------------------


def _open_conditions(site_id: int, now: dt.datetime) -> list[object]:
    """Shifts on the marketplace: not cancelled, not started, and either opened or with a seat free.

    A shift past ``bounds.LATEST`` could only have been inserted behind the edge's back: left out, so its
    week and local times (which overflow) are never worked out.
    """
    return [
        Shift.site_id == site_id,
        Shift.cancelled_at.is_(None),
        Shift.start_slot > slot_of(now),
        Shift.start_slot < LATEST_SLOT,
        (Shift.opened_at.is_not(None)) | (Shift.taken < Shift.seats),
    ]


async def open_shifts_for(
    session: AsyncSession,
    *,
    agent: User,
    now: dt.datetime,
    day: dt.date | None = None,
    skill: str | None = None,
    pay: ShiftPay | None = None,
    since: dt.date | None = None,
    within_one_fix: bool = False,
    page_shifts: int | None = None,
    only: int | None = None,
) -> Market:
    """The open shifts of the agent's site, soonest first, each with pay and what stops the agent taking it.

    ``day`` is one of the agent's local days (the days their page shows), ``since`` the first of them to
    list; ``skill`` a skill code; ``only`` one shift, as its row shows it after an action. A full shift is
    listed so its waitlist can be joined. ``within_one_fix`` keeps what the agent can take or could after
    one tap (``OpenShift.within_one_fix``). ``page_shifts`` stops after the first whole days holding that
    many listed shifts, and names the day the next page starts at: each shift's reasons are worked out
    only up to there, and the queries are a fixed few per list and per week, never per shift.
    ``pay`` prices each listed shift for the agent (the app's ``shift_pay``); a caller that shows no pay
    leaves it out and every ``pay_minor`` is None.
    """
    site = await session.get(Site, agent.site_id)
    assert site is not None
    settings = site_settings(site)
    context = Context(session, agent, site, settings)
    zone = user_zone(agent)
    rows = await _open_rows(session, site.id, now, zone, day=day, since=since, skill=skill, only=only)
    mine = await _mine(session, agent, [shift.id for shift, _skill in rows], now, settings)
    listed: list[OpenShift] = []
    next_day: dt.date | None = None
    for shift, shift_skill in rows:
        starts = local_start(shift.start_slot, zone)
        full = page_shifts is not None and len(listed) >= page_shifts and starts.date() != listed[-1].starts.date()
        item = await _seen_by(context, mine, shift, shift_skill, now)
        if within_one_fix and not item.within_one_fix:
            continue
        if full:
            next_day = starts.date()
            break
        listed.append(item)
    if pay is not None:
        await price_shifts(session, agent=agent, items=listed, pay=pay)
    skills = [(s.code, skill_label(s)) for s in await session.scalars(select(Skill).where(Skill.site_id == site.id))]
    first = await context.week_of(slot_of(now))
    return Market(listed, settings, agent.tier, first.moved_up, zone, skills, next_day)


async def price_shifts(session: AsyncSession, *, agent: User, items: list[OpenShift], pay: ShiftPay) -> None:
    """Set what each listed shift pays the agent: a caller showing a few shifts of a long list (Home) prices
    only those, since pricing reads the pay periods and rate card of every day priced."""
    site = await session.get(Site, agent.site_id)
    assert site is not None
    to_price = [PricedShift(i.shift_id, i.start_slot, i.end_slot, i.bonus_minor) for i in items]
    priced = await pay(session, site=site, tier=agent.tier, shifts=to_price)
    for item in items:
        item.pay_minor = priced[item.shift_id]


async def _open_rows(
    session: AsyncSession,
    site_id: int,
    now: dt.datetime,
    zone: ZoneInfo,
    *,
    day: dt.date | None,
    since: dt.date | None,
    skill: str | None,
    only: int | None,
) -> list[Row[tuple[Shift, Skill]]]:
    query = select(Shift, Skill).join(Skill, Skill.id == Shift.skill_id).where(*_open_conditions(site_id, now))
    if day is not None:
        span = local_day_slots(day, zone)
        query = query.where(Shift.start_slot >= span.start, Shift.start_slot < span.stop)
    if since is not None:
        query = query.where(Shift.start_slot >= local_day_slots(since, zone).start)
    if skill:
        query = query.where(Skill.code == skill)
    if only is not None:
        query = query.where(Shift.id == only)
    return list((await session.execute(query.order_by(Shift.start_slot, Shift.id))).all())


async def _mine(session: AsyncSession, agent: User, ids: list[int], now: dt.datetime, settings: SiteSettings) -> _Mine:
    seats = await session.scalars(
        select(ShiftSeat).where(
            ShiftSeat.shift_id.in_(ids), ShiftSeat.user_id == agent.id, ShiftSeat.released_at.is_(None)
        )
    )
    waits = await session.scalars(
        select(ShiftWaitlist).where(ShiftWaitlist.shift_id.in_(ids), ShiftWaitlist.user_id == agent.id)
    )
    return _Mine(
        seats={seat.shift_id: seat for seat in seats},
        waits={wait.shift_id: wait for wait in waits},
        reserved=await live_offers(session, ids, now, excluding=agent.id),
        requests=await lottery.requests_of(session, shift_ids=ids, user_id=agent.id),
        undoable=await _undoable_claims(session, agent=agent, now=now, settings=settings),
    )


async def _undoable_claims(
    session: AsyncSession, *, agent: User, now: dt.datetime, settings: SiteSettings, shift_id: int | None = None
) -> dict[int, dt.datetime]:
    """The agent's claims whose free undo still runs, and when it ends (``undo_claim``'s rule)."""
    grace = dt.timedelta(minutes=settings.claim_grace_minutes)
    query = (
        select(ShiftSeat.shift_id, ShiftSeat.taken_at)
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .where(ShiftSeat.user_id == agent.id, ShiftSeat.released_at.is_(None), ShiftSeat.taken_at > now - grace)
        .where(Shift.start_slot > slot_of(now), Shift.opened_at.is_not(None))  # claimed, not rostered
    )
    if shift_id is not None:
        query = query.where(Shift.id == shift_id)
    return {held: taken_at + grace for held, taken_at in await session.execute(query)}


async def free_undo_until(session: AsyncSession, *, shift_id: int, agent: User, now: dt.datetime) -> dt.datetime | None:
    """When the free undo of the agent's claim on ``shift_id`` ends, while it runs: a page offering a costlier
    way out of a shift (a swap) offers this one first."""
    site = await session.get(Site, agent.site_id)
    assert site is not None
    claims = await _undoable_claims(session, agent=agent, now=now, settings=site_settings(site), shift_id=shift_id)
    return claims.get(shift_id)


async def _seen_by(context: Context, mine: _Mine, shift: Shift, skill: Skill, now: dt.datetime) -> OpenShift:
    """One open shift as the agent sees it: their seat, queue place or request, and what is in the way."""
    zone = user_zone(context.agent)
    seat, wait = mine.seats.get(shift.id), mine.waits.get(shift.id)
    offer_until = wait.offer_expires_at if wait and wait.offer_expires_at and wait.offer_expires_at > now else None
    undo_until = mine.undoable.get(shift.id) if seat is not None else None
    item = OpenShift(
        shift_id=shift.id,
        skill_code=skill.code,
        skill_name=skill_label(skill),
        start_slot=shift.start_slot,
        end_slot=shift.end_slot,
        starts=local_start(shift.start_slot, zone),
        ends=local_start(shift.end_slot, zone),
        seats=shift.seats,
        taken=shift.taken,
        bonus_minor=shift.bonus_minor,
        pay_minor=None,
        currency=context.settings.currency,
        opens_at=on_the_minute(await context.opens_at(shift)).astimezone(zone),
        held=seat is not None,
        undo_until=undo_until.astimezone(zone) if undo_until else None,
        waitlisted=wait is not None,
        offer_until=offer_until.astimezone(zone) if offer_until else None,
        moved_up=await context.moved_up(shift.start_slot),
    )
    if lottery.collecting(shift, now):
        item.draw_at = shift.requests_close_at.astimezone(zone) if shift.requests_close_at else None
    if (request := mine.requests.get(shift.id)) is not None:
        item.requested, item.not_drawn = request.drawn_at is None, request.won is False
    if seat is None:
        item.reasons = await _reasons(context, shift, skill, now, mine.reserved.get(shift.id, 0), wait)
        item.fixes = await _fixes(context, mine, shift, skill, item.reasons, now)
    return item


async def _reasons(
    context: Context, shift: Shift, skill: Skill, now: dt.datetime, reserved: int, wait: ShiftWaitlist | None
) -> list[Reason]:
    """Everything in the way of a claim right now, eligibility first."""
    reasons = await context.refusals(shift, skill)
    mine = wait is not None and wait.offer_expires_at is not None and wait.offer_expires_at > now
    if shift.taken >= shift.seats:
        reasons.append(full_reason())
    elif shift.taken + reserved >= shift.seats and not mine:
        reasons.append(Reason(Why.offered_to_other, _("The free seat is offered to someone on the waitlist.")))
    opens = await context.opens_at(shift)
    if now < opens and not mine:
        clock = on_the_minute(opens).astimezone(user_zone(context.agent)).strftime("%H:%M")
        reasons.append(Reason(Why.window, _("Opens to you at %(time)s (your tier's window).", time=clock)))
    return reasons


async def _fixes(
    context: Context, mine: _Mine, shift: Shift, skill: Skill, reasons: list[Reason], now: dt.datetime
) -> list[Fix]:
    """One tap for each reason that has one, the cheapest first.

    A missing certification is fixed by its course, onboarding by the onboarding course. A reason that a
    shift the agent claimed minutes ago causes (a clash, shifts a day, rest, the weekly cap) is fixed by
    that claim's free undo; a clash past its free undo by offering the clashing shift for swap, while it
    has not begun (a swap keeps its seat filled, so it works past the release cutoff too).
    """
    codes = {reason.code for reason in reasons}
    fixes: list[Fix] = []
    if Why.not_certified in codes:
        fixes.append(Fix(Why.not_certified, _("Take the course that unlocks it"), f"/app/learn/skills/{skill.code}"))
    if Why.not_onboarded in codes:
        fixes.append(Fix(Why.not_onboarded, _("Finish onboarding"), "/app/learn"))
    if codes - MARKET_REASONS - {Why.not_certified, Why.not_onboarded}:
        fixes.extend(await _giving_back(context, mine, shift, skill, reasons, now))
    return fixes


async def _giving_back(
    context: Context, mine: _Mine, shift: Shift, skill: Skill, reasons: list[Reason], now: dt.datetime
) -> list[Fix]:
    """Undo a fresh claim, or swap away the clashing shift: each mends what that shift caused."""
    week = await context.week_of(shift.start_slot)
    others = [h for h in [*week.held, *week.around] if h.shift_id != shift.id]
    zone = user_zone(context.agent)
    fixes: list[Fix] = []
    for held in (h for h in others if h.shift_id in mine.undoable):
        mended = await _mended(context, shift, skill, reasons, held.shift_id)
        if mended:
            until = mine.undoable[held.shift_id].astimezone(zone).strftime("%H:%M")
            clock = local_start(held.start_slot, zone).strftime("%H:%M")
            label = _("Undo your %(time)s claim (free until %(until)s)", time=clock, until=until)
            url = f"/app/shifts/open/{held.shift_id}/undo"
            fixes.append(Fix(next(r.code for r in reasons if r.code in mended), label, url, post=True, removes=mended))
    clash = next((h for h in others if h.start_slot < shift.end_slot and shift.start_slot < h.end_slot), None)
    if clash is None or utc_start(clash.start_slot) <= now or any(Why.overlap in fix.mends for fix in fixes):
        return fixes
    mended = await _mended(context, shift, skill, reasons, clash.shift_id)
    return [
        *fixes,
        Fix(Why.overlap, _("Offer that shift for swap"), f"/app/shifts/{clash.shift_id}/swap", removes=mended),
    ]


async def _mended(context: Context, shift: Shift, skill: Skill, reasons: list[Reason], held_id: int) -> frozenset[Why]:
    """The reasons that go away if the agent no longer held ``held_id``."""
    left = {reason.code for reason in await context.refusals(shift, skill, without=held_id)}
    return frozenset(r.code for r in reasons if r.code not in left and r.code not in MARKET_REASONS)


# Claims ------------------------------------------------------------------------


async def claim_shift(
    session: AsyncSession, *, shift_id: int, agent: User, now: dt.datetime
) -> Claim | lottery.Requested:
    """Take one seat of an open shift for ``agent``, or refuse with every reason (see the module's rules).

    Runs in a savepoint: a refusal after the seat count moved leaves nothing behind. A waitlist offer
    that has lapsed is passed on first, so the next agent in line is not skipped by a quick stranger;
    a request window that has closed is drawn first, for the same reason. During the window the claim
    is recorded as a request instead (``lottery``).
    """
    ensure_agent(agent)
    await lottery.draw_if_due(session, shift_id=shift_id, now=now)
    await advance_waitlist(session, shift_id=shift_id, site_id=agent.site_id, now=now)
    async with session.begin_nested():
        return await _claim(session, shift_id=shift_id, agent=agent, now=now)


async def _claim(session: AsyncSession, *, shift_id: int, agent: User, now: dt.datetime) -> Claim | lottery.Requested:
    shift, skill = await market_shift(session, shift_id=shift_id, site_id=agent.site_id)
    ensure_not_started(shift, now)
    await lock_agent(session, agent.id)
    site = await session.get(Site, agent.site_id)
    assert site is not None
    settings = site_settings(site)
    grace = dt.timedelta(minutes=settings.claim_grace_minutes)
    seat = await seat_of(session, shift.id, agent.id)
    if seat is not None and seat.released_at is None:
        return Claim(shift.id, seat.id, seat.taken_at, seat.taken_at + grace, created=False)
    if shift.opened_at is None and shift.taken >= shift.seats:
        raise NotFound("shift")  # a rostered shift nobody released is not on the marketplace
    context = Context(session, agent, site, settings)
    wait = await waiting_entry(session, shift.id, agent.id)
    offered_to_me = wait is not None and wait.offer_expires_at is not None and wait.offer_expires_at > now
    reasons = await context.refusals(shift, skill)
    if reasons and shift.taken >= shift.seats:
        reasons.append(full_reason())  # say all of it: the fix differs
    opens = await context.opens_at(shift)
    if now < opens and not offered_to_me:
        clock = on_the_minute(opens).astimezone(user_zone(agent)).strftime("%H:%M")
        reasons.append(Reason(Why.window, _("Opens to you at %(time)s (your tier's window).", time=clock)))
    if reasons:
        raise ClaimRefused(reasons)
    if lottery.collecting(shift, now) and not offered_to_me:
        return await lottery.record_request(session, shift=shift, agent=agent, now=now)
    seat = await take_seat(session, shift, user_id=agent.id, seat=seat, now=now)
    if wait is not None:
        await session.delete(wait)
    await session.flush()
    return Claim(shift.id, seat.id, now, now + grace, created=True)


async def _seat_back(session: AsyncSession, shift: Shift) -> None:
    taken = await session.scalar(
        update(Shift)
        .where(Shift.id == shift.id, Shift.taken > 0)
        .values(taken=Shift.taken - 1)
        .returning(Shift.taken)
        .execution_options(synchronize_session=False)
    )
    if taken is not None:
        set_committed_value(shift, "taken", taken)


async def undo_claim(session: AsyncSession, *, shift_id: int, agent: User, now: dt.datetime) -> None:
    """Give a seat back for free within the grace window after claiming it, as if it had never been claimed."""
    ensure_agent(agent)
    shift, _skill = await market_shift(session, shift_id=shift_id, site_id=agent.site_id)
    await lock_agent(session, agent.id)
    seat = await held_seat(session, shift, agent)
    site = await session.get(Site, agent.site_id)
    assert site is not None
    settings = site_settings(site)
    until = seat.taken_at + dt.timedelta(minutes=settings.claim_grace_minutes)
    if now > until or utc_start(shift.start_slot) <= now:
        clock = until.astimezone(user_zone(agent)).strftime("%H:%M")
        raise Conflict(_("The free undo ended at %(time)s. Release the shift instead.", time=clock))
    await session.delete(seat)
    await _seat_back(session, shift)
    await session.flush()
    await offer_free_seats(session, shift=shift, site=site, now=now)


async def release_shift(session: AsyncSession, *, shift_id: int, agent: User, now: dt.datetime) -> None:
    """Give a held shift back: before the site's cutoff the seat reopens and the waitlist is offered it;
    after it the seat is freed through a cover request (``cover.request_cover``, ``late_release``)."""
    ensure_agent(agent)
    shift, _skill = await market_shift(session, shift_id=shift_id, site_id=agent.site_id)
    await lock_agent(session, agent.id)
    seat = await held_seat(session, shift, agent)
    ensure_not_started(shift, now)
    site = await session.get(Site, agent.site_id)
    assert site is not None
    settings = site_settings(site)
    cutoff = utc_start(shift.start_slot) - dt.timedelta(hours=settings.release_cutoff_hours)
    if now >= cutoff:  # too late to just give it back: the seat becomes a cover request
        await cover.request_cover(
            session,
            site=site,
            shift_id=shift.id,
            absent_user_id=agent.id,
            reason=CoverReason.late_release,
            bonus_minor=0,
            by=agent.id,
            now=now,
        )
        return
    seat.released_at = now
    if shift.opened_at is None:
        shift.opened_at = now  # a rostered seat goes on the marketplace when it is given back
        shift.requests_close_at = settings.requests_close_at(now)
    await _seat_back(session, shift)
    await session.flush()
    await offer_free_seats(session, shift=shift, site=site, now=now)


# Coordinators ------------------------------------------------------------------


def planning_horizon(site: Site, now: dt.datetime) -> dt.datetime:
    """The end of the last week the site plans: this week and ``availability_horizon_weeks`` more, site time.

    Agents offer availability no further ahead, so a shift beyond it fits nobody's known week; the same
    bound keeps a slip of the keyboard (2062 for 2026) off the marketplace.
    """
    zone = site_zone(site)
    after = IsoWeek.containing(now, zone).shifted(site_settings(site).availability_horizon_weeks + 1)
    return local_midnight(after.monday, zone)


def _within_site_rules(
    site: Site, *, start: dt.datetime, end: dt.datetime, now: dt.datetime, allow_short: bool = False
) -> None:
    """A hand-made shift keeps to the site's roster rules (shortest and longest shift) and its horizon."""
    settings = site_settings(site)
    horizon = planning_horizon(site, now)
    if start >= horizon:
        last_day = (horizon - dt.timedelta(days=1)).date().isoformat()
        raise DomainError(
            _(
                "A shift can start on %(day)s at the latest: the site plans %(weeks)s weeks ahead.",
                day=last_day,
                weeks=settings.availability_horizon_weeks,
            ),
            field="start",
        )
    rules = shift_rules(settings)
    least = 1 if allow_short else rules.min_shift_slots
    if not least <= slot_of(end) - slot_of(start) <= rules.max_shift_slots:
        raise DomainError(
            _(
                "A shift at this site lasts %(least)s to %(most)s hours.",
                least=f"{settings.min_shift_hours:g}",
                most=f"{settings.max_shift_hours:g}",
            ),
            field="end",
        )


async def create_open_shift(
    session: AsyncSession,
    *,
    site: Site,
    skill: str,
    start: dt.datetime,
    end: dt.datetime,
    seats: int,
    bonus_minor: int = 0,
    created_by: int | None = None,
    now: dt.datetime,
    origin: ShiftOrigin = ShiftOrigin.manual,
    allow_short: bool = False,
) -> Shift:
    """Put a hand-made shift on the marketplace now; every refusal names the field to fix (422).

    ``allow_short``: voluntary overtime (``origin=vot``) may be one or two half-hours, under the site's
    shortest shift; the longest still applies."""
    found = await session.scalar(select(Skill).where(Skill.site_id == site.id, Skill.code == skill))
    if found is None:
        raise DomainError(_("No skill %(code)s at this site.", code=skill), field="skill")
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None:
            raise DomainError(_("Give the time with its UTC offset."), field=name)
        if not is_on_boundary(moment):
            raise DomainError(_("Times must be on the hour or half past (:00 or :30)."), field=name)
    if end <= start:
        raise DomainError(_("The end must be after the start."), field="end")
    if start <= now:
        raise DomainError(_("The start is in the past."), field="start")
    _within_site_rules(site, start=start, end=end, now=now, allow_short=allow_short)
    if not 1 <= seats <= MAX_SEATS:
        raise DomainError(_("Seats must be between 1 and %(most)s.", most=MAX_SEATS), field="seats")
    if bonus_minor < 0:
        raise DomainError(_("The bonus cannot be negative."), field="bonus_minor")
    shift = Shift(
        site_id=site.id,
        skill_id=found.id,
        start_slot=slot_of(start),
        end_slot=slot_of(end),
        seats=seats,
        taken=0,
        origin=origin,
        bonus_minor=bonus_minor,
        created_by_id=created_by,
        opened_at=now,
        requests_close_at=site_settings(site).requests_close_at(now),
        created_at=now,
    )
    session.add(shift)
    await session.flush()
    return shift


async def upcoming_open_shifts(
    session: AsyncSession, *, site_id: int, now: dt.datetime
) -> list[tuple[Shift, Skill, int]]:
    """The site's unstarted open shifts with their waitlist length, for the coordinator's list."""
    waiting = select(ShiftWaitlist.shift_id, func.count().label("waiting")).group_by(ShiftWaitlist.shift_id).subquery()
    rows = await session.execute(
        select(Shift, Skill, func.coalesce(waiting.c.waiting, 0))
        .join(Skill, Skill.id == Shift.skill_id)
        .outerjoin(waiting, waiting.c.shift_id == Shift.id)
        .where(*_open_conditions(site_id, now))
        .order_by(Shift.start_slot, Shift.id)
    )
    return [(shift, skill, int(count)) for shift, skill, count in rows]
