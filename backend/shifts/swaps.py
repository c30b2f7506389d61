"""Swaps: an agent hands a shift they hold to a named colleague, or to anyone eligible who takes it.

The rules:

- **What can be offered.** A shift the agent holds that has not started, also after the release
  cutoff: a swap keeps the seat filled. One offer per shift waits at a time; a new offer replaces
  one nobody has accepted yet. A named agent must be an active agent of the site who could claim the
  shift now (the claim's eligibility rules; priority windows do not apply to a swap).
- **Accepting** re-checks the acceptor's whole week as a claim does, then moves the giver's seat to
  the acceptor with one conditional ``UPDATE`` (the seat still the giver's, not released). Both agents
  are locked first, in id order, so on PostgreSQL the giver's release and the acceptor's own claims run
  before or after it, never beside it; SQLite's writers run one at a time. A swap racing a release of
  the same shift therefore leaves exactly one of them done. ``taken`` does not change: a seat changes
  hands.
- **Approval.** When the site's ``swap_needs_approval`` was on at offer time, an accepted swap waits for
  a coordinator; the seat moves on approval, after the same checks.
- **Expiry.** An offer whose shift has started or was cancelled, or whose giver no longer holds it, is
  expired: lists show it so at once, and the next write on the site records it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.accounts.models import STAFF_ROLES, Role, Site, Skill, User, skill_label
from backend.accounts.site_settings import SiteSettings, site_settings
from backend.accounts.zones import site_zone, user_zone
from backend.certifications.service import skills_in_force
from backend.core.errors import Conflict, DomainError, Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.core.slots import hours, local_start, slot_of, utc_start
from backend.notify.service import Kind, moment_value, notify
from backend.shifts import attendance
from backend.shifts.allocation import (
    ClaimRefused,
    Context,
    Reason,
    Why,
    ensure_agent,
    ensure_not_started,
    held_seat,
    lock_agent,
    market_shift,
    waiting_entry,
)
from backend.shifts.models import Shift, ShiftSeat, ShiftSwap, SwapStatus
from backend.shifts.waitlist import offer_free_seats

SWAPS_URL = "/app/shifts/swaps"
RECENT_DAYS = 7


class SwapRefused(DomainError):
    """The named agent could not take the shift (422 on ``to``), with every reason."""

    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__(" ".join(reason.message for reason in reasons), field="to")
        self.reasons = reasons


@dataclass(frozen=True)
class Offer:
    """An offer made; ``created`` is False when a second tap found the same offer already waiting."""

    swap: ShiftSwap
    created: bool


@dataclass
class SwapView:
    """One swap as a list shows it, times in the viewer's zone; ``status`` says expired when it has lapsed."""

    id: int
    shift_id: int
    skill_name: str
    starts: dt.datetime
    ends: dt.datetime
    hours: float
    from_user_id: int
    from_name: str
    to_user_id: int | None
    to_name: str | None
    accepted_by_id: int | None
    accepted_by_name: str | None
    status: SwapStatus
    needs_approval: bool
    waiting_approval: bool
    created_at: dt.datetime
    reasons: list[Reason] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.status is SwapStatus.offered or self.waiting_approval

    @property
    def can_accept(self) -> bool:
        return self.status is SwapStatus.offered and not self.reasons


@dataclass(frozen=True)
class SwapBoard:
    """An agent's swaps: offered to me by name, offered by me, and open offers I could take."""

    to_me: list[SwapView]
    mine: list[SwapView]
    open: list[SwapView]


def waiting_approval(swap: ShiftSwap) -> bool:
    """Accepted, and the site asked that a coordinator approve it before the seat moves."""
    return swap.status is SwapStatus.accepted and swap.decided_at is None


def _live_condition() -> object:
    return or_(
        ShiftSwap.status == SwapStatus.offered,
        and_(ShiftSwap.status == SwapStatus.accepted, ShiftSwap.decided_at.is_(None)),
    )


def _giver_holds() -> object:
    return exists().where(
        ShiftSeat.shift_id == ShiftSwap.shift_id,
        ShiftSeat.user_id == ShiftSwap.from_user_id,
        ShiftSeat.released_at.is_(None),
    )


async def expire_swaps(session: AsyncSession, *, site_id: int, now: dt.datetime) -> int:
    """Record as expired every waiting swap of the site whose shift started, was cancelled or left the giver."""
    lapsed_shifts = select(Shift.id).where(
        Shift.site_id == site_id, or_(Shift.start_slot <= slot_of(now), Shift.cancelled_at.is_not(None))
    )
    result = await session.execute(
        update(ShiftSwap)
        .where(_live_condition(), ShiftSwap.shift_id.in_(select(Shift.id).where(Shift.site_id == site_id)))
        .where(or_(ShiftSwap.shift_id.in_(lapsed_shifts), ~_giver_holds()))
        .values(status=SwapStatus.expired, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# Checks -------------------------------------------------------------------------------


async def _holds(session: AsyncSession, shift_id: int, user_id: int) -> bool:
    seat = await session.scalar(
        select(ShiftSeat.id).where(
            ShiftSeat.shift_id == shift_id, ShiftSeat.user_id == user_id, ShiftSeat.released_at.is_(None)
        )
    )
    return seat is not None


def _about(reason: Reason, name: str, skill: Skill) -> Reason:
    """A reason told to someone else: a colleague's shifts are theirs, so their times are not named."""
    texts = {
        Why.not_certified: _("%(name)s is not certified for %(skill)s.", name=name, skill=skill_label(skill)),
        Why.not_onboarded: _("%(name)s has not finished onboarding.", name=name),
        Why.overlap: _("%(name)s has another shift at that time.", name=name),
        Why.rest: _("%(name)s would not get enough rest between shifts.", name=name),
        Why.daily_limit: _("%(name)s already has the most shifts allowed that day.", name=name),
        Why.weekly_cap: _("%(name)s would go over their weekly cap.", name=name),
    }
    return Reason(reason.code, texts.get(reason.code, reason.message))


async def _refusals(
    session: AsyncSession,
    user: User,
    site: Site,
    settings: SiteSettings,
    shift: Shift,
    skill: Skill,
    *,
    told_to: str | None = None,
) -> list[Reason]:
    """What stops ``user`` taking the shift, in their own words or, with ``told_to``, about them."""
    if await _holds(session, shift.id, user.id):
        reasons = [Reason(Why.overlap, _("You already hold this shift."))]
    else:
        reasons = await Context(session, user, site, settings).refusals(shift, skill)
    if told_to is not None:
        reasons = [_about(reason, told_to, skill) for reason in reasons]
    return reasons


async def offerable_shift(session: AsyncSession, *, shift_id: int, agent: User) -> tuple[Shift, Skill]:
    """A shift of the agent's site on which they hold a seat now: the only kind they may offer.

    A shift they never held answers 404 like an unknown id: a colleague's shift, its time, skill and
    who could take it are not theirs to see (``held_seat``).
    """
    shift, skill = await market_shift(session, shift_id=shift_id, site_id=agent.site_id)
    await held_seat(session, shift, agent)
    return shift, skill


async def _colleague(session: AsyncSession, agent: User, user_id: int) -> User:
    """The named agent: another active agent of the caller's site; anyone else is bad input on ``to``."""
    if user_id == agent.id:
        raise DomainError(_("Choose someone other than yourself."), field="to")
    user = await session.get(User, user_id)
    if user is None or user.site_id != agent.site_id or user.role is not Role.agent or not user.is_active:
        raise DomainError(_("No active agent with that id at your site."), field="to")
    return user


async def _lock_pair(session: AsyncSession, *user_ids: int) -> None:
    """Lock the agents in id order, so two swaps between the same people cannot deadlock."""
    for user_id in sorted(set(user_ids)):
        await lock_agent(session, user_id)


async def _visible_swap(session: AsyncSession, swap_id: int, user: User) -> ShiftSwap:
    """A swap of the caller's site that is theirs to see; anything else is 404 alike."""
    row = (
        await session.execute(
            select(ShiftSwap, Shift.site_id).join(Shift, Shift.id == ShiftSwap.shift_id).where(ShiftSwap.id == swap_id)
        )
    ).first()
    if row is None or row[1] != user.site_id:
        raise NotFound("swap")
    swap = row[0]
    if user.role is Role.agent:
        mine = user.id in (swap.from_user_id, swap.to_user_id, swap.accepted_by_id)
        open_to_all = swap.to_user_id is None  # taken or not: a late tap on it is told 409, not 404
        if not (mine or open_to_all):
            raise NotFound("swap")
    return swap


def _no_longer() -> Conflict:
    return Conflict(_("This swap is no longer possible."))


async def _move_seat(session: AsyncSession, swap: ShiftSwap, *, to_user_id: int, site: Site, now: dt.datetime) -> None:
    """Hand the giver's seat to ``to_user_id``, only while it is still the giver's and not released."""
    # An old seat the acceptor gave back on this shift would clash with the one they now receive.
    await session.execute(
        delete(ShiftSeat).where(
            ShiftSeat.shift_id == swap.shift_id, ShiftSeat.user_id == to_user_id, ShiftSeat.released_at.is_not(None)
        )
    )
    moved = await session.scalar(
        update(ShiftSeat)
        .where(
            ShiftSeat.shift_id == swap.shift_id,
            ShiftSeat.user_id == swap.from_user_id,
            ShiftSeat.released_at.is_(None),
        )
        .values(user_id=to_user_id, taken_at=now)
        .returning(ShiftSeat.id)
        .execution_options(synchronize_session=False)
    )
    if moved is None:
        raise _no_longer()
    await attendance.seat_changed_hands(session, seat_id=moved)
    wait = await waiting_entry(session, swap.shift_id, to_user_id)
    if wait is not None:
        had_offer = wait.offered_at is not None
        await session.delete(wait)
        await session.flush()
        shift = await session.get(Shift, swap.shift_id)
        if had_offer and shift is not None:
            await offer_free_seats(session, shift=shift, site=site, now=now)


# Notifications ------------------------------------------------------------------------


async def _tell(session: AsyncSession, user_id: int | None, swap: ShiftSwap, message: str, name: str = "") -> None:
    """Notify ``user_id`` of ``message`` (see ``notify.messages``), worded in their language and zone when read."""
    if user_id is None:
        return
    user = await session.get(User, user_id)
    shift = await session.get(Shift, swap.shift_id)
    if user is None or shift is None:
        return
    await notify(
        session,
        user_id=user.id,
        kind=Kind.swap,
        message=message,
        values={"name": name, "start": moment_value(utc_start(shift.start_slot))},
        url=f"{SWAPS_URL}#swap-{swap.id}",
        subject=f"swap:{swap.id}",
    )


# Agents -------------------------------------------------------------------------------


async def offer_swap(
    session: AsyncSession, *, shift_id: int, agent: User, to_user_id: int | None, now: dt.datetime
) -> Offer:
    """Offer a held shift to a named eligible agent (``to_user_id``) or to everyone eligible (None)."""
    ensure_agent(agent)
    async with session.begin_nested():
        await lock_agent(session, agent.id)
        shift, skill = await offerable_shift(session, shift_id=shift_id, agent=agent)
        ensure_not_started(shift, now)
        site = await session.get(Site, agent.site_id)
        assert site is not None
        settings = site_settings(site)
        target = None
        if to_user_id is not None:
            target = await _colleague(session, agent, to_user_id)
            reasons = await _refusals(session, target, site, settings, shift, skill, told_to=target.display_name)
            if reasons:
                raise SwapRefused(reasons)
        await expire_swaps(session, site_id=site.id, now=now)
        waiting = await session.scalar(
            select(ShiftSwap)
            .where(ShiftSwap.shift_id == shift.id, ShiftSwap.from_user_id == agent.id, _live_condition())
            .execution_options(populate_existing=True)
        )
        if waiting is not None:
            if waiting_approval(waiting):
                raise Conflict(_("Someone accepted your offer and it waits for a coordinator: cancel it first."))
            if waiting.to_user_id == to_user_id:
                return Offer(waiting, created=False)
            waiting.status, waiting.decided_at = SwapStatus.cancelled, now
        swap = ShiftSwap(
            shift_id=shift.id,
            from_user_id=agent.id,
            to_user_id=to_user_id,
            status=SwapStatus.offered,
            needs_approval=settings.swap_needs_approval,
            created_at=now,
        )
        session.add(swap)
        await session.flush()
        if target is not None:
            name = agent.display_name
            await _tell(
                session,
                target.id,
                swap,
                "swap_offered",
                name,
            )
        return Offer(swap, created=True)


async def accept_swap(session: AsyncSession, *, swap_id: int, agent: User, now: dt.datetime) -> ShiftSwap:
    """Take a swap offered to me or to everyone: the seat moves now, or on a coordinator's approval."""
    ensure_agent(agent)
    async with session.begin_nested():
        swap = await _visible_swap(session, swap_id, agent)
        if swap.from_user_id == agent.id:
            raise Conflict(_("This is your own offer."))
        shift, skill = await market_shift(session, shift_id=swap.shift_id, site_id=agent.site_id)
        await _lock_pair(session, swap.from_user_id, agent.id)
        await session.refresh(swap)  # after the locks: an accept, cancel or release that won is visible now
        if swap.status is not SwapStatus.offered or swap.to_user_id not in (None, agent.id):
            raise _no_longer()
        ensure_not_started(shift, now)
        if not await _holds(session, shift.id, swap.from_user_id):
            raise _no_longer()
        site = await session.get(Site, agent.site_id)
        assert site is not None
        reasons = await _refusals(session, agent, site, site_settings(site), shift, skill)
        if reasons:
            raise ClaimRefused(reasons)
        won = await session.scalar(
            update(ShiftSwap)
            .where(ShiftSwap.id == swap.id, ShiftSwap.status == SwapStatus.offered)
            .values(
                status=SwapStatus.accepted,
                accepted_by_id=agent.id,
                accepted_at=now,
                decided_at=None if swap.needs_approval else now,
            )
            .returning(ShiftSwap.id)
            .execution_options(synchronize_session=False)
        )
        if won is None:
            raise _no_longer()
        if not swap.needs_approval:
            await _move_seat(session, swap, to_user_id=agent.id, site=site, now=now)
        await session.refresh(swap)
        name = agent.display_name
        if swap.needs_approval:
            await _tell(
                session,
                swap.from_user_id,
                swap,
                "swap_accepted",
                name,
            )
        else:
            await _tell(
                session,
                swap.from_user_id,
                swap,
                "swap_taken",
                name,
            )
        return swap


async def cancel_swap(session: AsyncSession, *, swap_id: int, agent: User, now: dt.datetime) -> ShiftSwap:
    """Withdraw my offer while nobody has taken it (or while it waits for approval)."""
    ensure_agent(agent)
    async with session.begin_nested():
        swap = await _visible_swap(session, swap_id, agent)
        if swap.from_user_id != agent.id:
            raise NotFound("swap")
        await lock_agent(session, agent.id)
        won = await session.scalar(
            update(ShiftSwap)
            .where(ShiftSwap.id == swap.id, _live_condition())
            .values(status=SwapStatus.cancelled, decided_at=now, decided_by_id=agent.id)
            .returning(ShiftSwap.id)
            .execution_options(synchronize_session=False)
        )
        if won is None:
            raise _no_longer()
        await session.refresh(swap)
        told = swap.accepted_by_id or swap.to_user_id
        name = agent.display_name
        await _tell(
            session,
            told,
            swap,
            "swap_withdrawn",
            name,
        )
        return swap


async def decline_swap(session: AsyncSession, *, swap_id: int, user: User, now: dt.datetime) -> ShiftSwap:
    """Say no: the named agent to an offer, or a coordinator to an accepted swap waiting for approval."""
    if user.role in STAFF_ROLES:
        return await _decide(session, swap_id=swap_id, coordinator=user, approve=False, now=now)
    ensure_agent(user)
    async with session.begin_nested():
        swap = await _visible_swap(session, swap_id, user)
        if swap.to_user_id is None and swap.from_user_id != user.id:
            raise Conflict(_("An offer to everyone cannot be declined: leave it for someone else."))
        if swap.to_user_id != user.id:
            raise NotFound("swap")
        won = await session.scalar(
            update(ShiftSwap)
            .where(ShiftSwap.id == swap.id, ShiftSwap.status == SwapStatus.offered)
            .values(status=SwapStatus.declined, decided_at=now, decided_by_id=user.id)
            .returning(ShiftSwap.id)
            .execution_options(synchronize_session=False)
        )
        if won is None:
            raise _no_longer()
        await session.refresh(swap)
        name = user.display_name
        await _tell(
            session,
            swap.from_user_id,
            swap,
            "swap_declined",
            name,
        )
        return swap


# Coordinators -------------------------------------------------------------------------


async def approve_swap(session: AsyncSession, *, swap_id: int, coordinator: User, now: dt.datetime) -> ShiftSwap:
    """Let an accepted swap go through: the seat moves to the acceptor if they may still take it."""
    return await _decide(session, swap_id=swap_id, coordinator=coordinator, approve=True, now=now)


async def _decide(
    session: AsyncSession, *, swap_id: int, coordinator: User, approve: bool, now: dt.datetime
) -> ShiftSwap:
    if coordinator.role not in STAFF_ROLES:
        raise Forbidden(_("Only coordinators approve swaps."))
    async with session.begin_nested():
        swap = await _visible_swap(session, swap_id, coordinator)
        if not waiting_approval(swap) or swap.accepted_by_id is None:
            raise Conflict(_("This swap is not waiting for approval."))
        acceptor_id = swap.accepted_by_id
        site = await session.get(Site, coordinator.site_id)
        assert site is not None
        if approve:
            shift, skill = await market_shift(session, shift_id=swap.shift_id, site_id=site.id)
            await _lock_pair(session, swap.from_user_id, acceptor_id)
            await session.refresh(swap)
            if not waiting_approval(swap):
                raise _no_longer()
            ensure_not_started(shift, now)
            acceptor = await session.get(User, acceptor_id)
            if acceptor is None or not acceptor.is_active:
                raise _no_longer()
            reasons = await _refusals(
                session, acceptor, site, site_settings(site), shift, skill, told_to=acceptor.display_name
            )
            if reasons:
                raise ClaimRefused(reasons)
        won = await session.scalar(
            update(ShiftSwap)
            .where(ShiftSwap.id == swap.id, ShiftSwap.status == SwapStatus.accepted, ShiftSwap.decided_at.is_(None))
            .values(
                status=SwapStatus.approved if approve else SwapStatus.declined,
                decided_at=now,
                decided_by_id=coordinator.id,
            )
            .returning(ShiftSwap.id)
            .execution_options(synchronize_session=False)
        )
        if won is None:
            raise _no_longer()
        if approve:
            await _move_seat(session, swap, to_user_id=acceptor_id, site=site, now=now)
        await session.refresh(swap)
        for user_id in (swap.from_user_id, acceptor_id):
            if approve:
                await _tell(
                    session,
                    user_id,
                    swap,
                    "swap_approved",
                )
            else:
                await _tell(
                    session,
                    user_id,
                    swap,
                    "swap_refused",
                )
        return swap


# Reading ------------------------------------------------------------------------------


async def _views(
    session: AsyncSession, swaps: list[ShiftSwap], *, zone: ZoneInfo, now: dt.datetime
) -> dict[int, SwapView]:
    """Swaps as views, each marked expired when it has lapsed though nobody wrote it down yet."""
    if not swaps:
        return {}
    shift_ids = {s.shift_id for s in swaps}
    shifts = {
        shift.id: (shift, skill)
        for shift, skill in await session.execute(
            select(Shift, Skill).join(Skill, Skill.id == Shift.skill_id).where(Shift.id.in_(shift_ids))
        )
    }
    held = set(
        (
            await session.execute(
                select(ShiftSeat.shift_id, ShiftSeat.user_id).where(
                    ShiftSeat.shift_id.in_(shift_ids), ShiftSeat.released_at.is_(None)
                )
            )
        ).all()
    )
    people = {s.from_user_id for s in swaps} | {s.to_user_id for s in swaps} | {s.accepted_by_id for s in swaps}
    names = dict((await session.execute(select(User.id, User.display_name).where(User.id.in_(people - {None})))).all())
    views: dict[int, SwapView] = {}
    for swap in swaps:
        shift, skill = shifts[swap.shift_id]
        waiting = waiting_approval(swap)
        status = swap.status
        if status is SwapStatus.offered or waiting:
            lapsed = shift.cancelled_at is not None or utc_start(shift.start_slot) <= now
            if lapsed or (shift.id, swap.from_user_id) not in held:
                status, waiting = SwapStatus.expired, False
        views[swap.id] = SwapView(
            id=swap.id,
            shift_id=shift.id,
            skill_name=skill_label(skill),
            starts=local_start(shift.start_slot, zone),
            ends=local_start(shift.end_slot, zone),
            hours=hours(shift.end_slot - shift.start_slot),
            from_user_id=swap.from_user_id,
            from_name=names.get(swap.from_user_id, ""),
            to_user_id=swap.to_user_id,
            to_name=names.get(swap.to_user_id) if swap.to_user_id else None,
            accepted_by_id=swap.accepted_by_id,
            accepted_by_name=names.get(swap.accepted_by_id) if swap.accepted_by_id else None,
            status=status,
            needs_approval=swap.needs_approval,
            waiting_approval=waiting,
            created_at=swap.created_at.astimezone(zone),
        )
    return views


async def swaps_for(session: AsyncSession, *, agent: User, now: dt.datetime) -> SwapBoard:
    """The agent's swaps: offers to me by name (with what would stop me), mine, and open ones I could take."""
    site = await session.get(Site, agent.site_id)
    assert site is not None
    settings = site_settings(site)
    recent = now - dt.timedelta(days=RECENT_DAYS)
    rows = list(
        await session.scalars(
            select(ShiftSwap)
            .join(Shift, Shift.id == ShiftSwap.shift_id)
            .where(Shift.site_id == agent.site_id, Shift.end_slot > slot_of(recent))
            .where(
                or_(
                    ShiftSwap.from_user_id == agent.id,
                    ShiftSwap.to_user_id == agent.id,
                    ShiftSwap.accepted_by_id == agent.id,
                    and_(ShiftSwap.to_user_id.is_(None), ShiftSwap.status == SwapStatus.offered),
                )
            )
            .order_by(Shift.start_slot, ShiftSwap.id)
        )
    )
    views = await _views(session, rows, zone=user_zone(agent), now=now)
    context = Context(session, agent, site, settings)
    to_me: list[SwapView] = []
    mine: list[SwapView] = []
    open_ones: list[SwapView] = []
    for swap in rows:
        view = views[swap.id]
        if swap.from_user_id == agent.id:
            if view.live or (swap.decided_at or swap.created_at) > recent:
                mine.append(view)
            continue
        if view.status is not SwapStatus.offered and swap.accepted_by_id != agent.id:
            continue
        if swap.accepted_by_id == agent.id:
            to_me.append(view)
            continue
        shift, skill = await market_shift(session, shift_id=swap.shift_id, site_id=agent.site_id)
        if await _holds(session, shift.id, agent.id):
            view.reasons = [Reason(Why.overlap, _("You already hold this shift."))]
        else:
            view.reasons = await context.refusals(shift, skill)
        if swap.to_user_id == agent.id:
            to_me.append(view)
        elif not view.reasons:
            open_ones.append(view)
    return SwapBoard(to_me=to_me, mine=mine, open=open_ones)


async def waiting_for_approval(session: AsyncSession, *, site: Site, now: dt.datetime) -> list[SwapView]:
    """Accepted swaps of the site a coordinator has to approve or decline, soonest shift first."""
    acceptor = aliased(User)
    rows = list(
        await session.scalars(
            select(ShiftSwap)
            .join(Shift, Shift.id == ShiftSwap.shift_id)
            .join(acceptor, acceptor.id == ShiftSwap.accepted_by_id)
            .where(Shift.site_id == site.id, ShiftSwap.status == SwapStatus.accepted, ShiftSwap.decided_at.is_(None))
            .order_by(Shift.start_slot, ShiftSwap.id)
        )
    )
    views = await _views(session, rows, zone=site_zone(site), now=now)
    return [views[swap.id] for swap in rows if views[swap.id].waiting_approval]


async def colleagues_for(session: AsyncSession, *, agent: User, skill: Skill) -> list[tuple[int, str]]:
    """Active agents of the site certified for the offered shift's skill, to name in an offer (checked on submit)."""
    users = [
        user
        for user in await session.scalars(
            select(User)
            .where(User.site_id == agent.site_id, User.role == Role.agent, User.id != agent.id)
            .order_by(User.display_name, User.id)
        )
        if user.is_active
    ]
    skills = await skills_in_force(session, user_ids=[user.id for user in users])
    return [(user.id, user.display_name) for user in users if skill.id in skills.get(user.id, set())]
