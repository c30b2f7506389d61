"""The duty roster: who leads the floor when, and which senior agents a coordinator named as shift leads.

A site has one lead on duty at a time, so a new duty that overlaps a live one (anyone's) is refused and
the refusal names it. Duties are half-hour aligned periods of the site's local day, stored as UTC
instants. Nothing is deleted: a duty is cancelled, a lead is un-named (``removed_at``).
"""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import STAFF_ROLES, Role, Site, Tier, User, UserStatus
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone
from backend.core.errors import DomainError, Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.core.slots import IsoWeek, is_on_boundary, local_midnight
from backend.ops.access import READER_ROLES, ensure_lead, is_ops_staff
from backend.ops.models import Duty, ShiftLead

MAX_DUTY_HOURS = 24
LEAD_EARLY = dt.timedelta(minutes=30)  # a shift lead opens the log this long before their duty starts


class DutyView(msgspec.Struct, frozen=True):
    """One duty as pages show it: who, from when until when (UTC; pages show the site's clock)."""

    id: int
    user_id: int
    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    lead: bool  # a named shift lead (an agent), not a coordinator
    cancelled_at: dt.datetime | None = None


class OnDuty(msgspec.Struct, frozen=True):
    """Who leads the floor now and who takes over next (None: nobody)."""

    current: DutyView | None
    next: DutyView | None


class LeadView(msgspec.Struct, frozen=True):
    user_id: int
    name: str
    tier: Tier
    named: bool
    named_at: dt.datetime | None


def _views(duties: list[Duty], users: dict[int, User]) -> list[DutyView]:
    labels = accounts.person_labels(list(users.values()))
    return [
        DutyView(
            id=duty.id,
            user_id=duty.user_id,
            name=labels.get(duty.user_id, ""),
            starts_at=duty.starts_at,
            ends_at=duty.ends_at,
            lead=users[duty.user_id].role is Role.agent if duty.user_id in users else False,
            cancelled_at=duty.cancelled_at,
        )
        for duty in duties
    ]


async def duty_views(session: AsyncSession, duties: list[Duty]) -> list[DutyView]:
    users = {user.id: user for user in await accounts.users_by_ids(session, {duty.user_id for duty in duties})}
    return _views(duties, users)


async def on_duty(session: AsyncSession, *, site_id: int, now: dt.datetime) -> OnDuty:
    """The duty in force at ``now`` and the first one starting after it (two indexed reads)."""
    live = select(Duty).where(Duty.site_id == site_id, Duty.cancelled_at.is_(None))
    current = await session.scalar(
        live.where(Duty.starts_at <= now, Duty.ends_at > now).order_by(Duty.starts_at.desc()).limit(1)
    )
    upcoming = await session.scalar(live.where(Duty.starts_at > now).order_by(Duty.starts_at).limit(1))
    found = [duty for duty in (current, upcoming) if duty is not None]
    views = {view.id: view for view in await duty_views(session, found)}
    return OnDuty(
        current=views.get(current.id) if current is not None else None,
        next=views.get(upcoming.id) if upcoming is not None else None,
    )


async def duty_at(session: AsyncSession, *, site_id: int, at: dt.datetime) -> Duty | None:
    """The live duty in force at ``at``, if any."""
    return await session.scalar(
        select(Duty)
        .where(Duty.site_id == site_id, Duty.cancelled_at.is_(None), Duty.starts_at <= at, Duty.ends_at > at)
        .order_by(Duty.starts_at.desc())
        .limit(1)
    )


async def duties_between(
    session: AsyncSession, *, site_id: int, start: dt.datetime, end: dt.datetime, cancelled: bool = False
) -> list[Duty]:
    """Duties overlapping ``[start, end)``, earliest first (cancelled ones too when asked)."""
    query = select(Duty).where(Duty.site_id == site_id, Duty.starts_at < end, Duty.ends_at > start)
    if not cancelled:
        query = query.where(Duty.cancelled_at.is_(None))
    return list(await session.scalars(query.order_by(Duty.starts_at, Duty.id)))


async def get_duty(session: AsyncSession, *, site_id: int, duty_id: int) -> Duty:
    duty = await session.get(Duty, duty_id)
    if duty is None or duty.site_id != site_id:
        raise NotFound("duty")
    return duty


async def next_duty(session: AsyncSession, duty: Duty) -> Duty | None:
    """The live duty that follows ``duty`` (its incoming lead), the first starting at or after its end."""
    return await session.scalar(
        select(Duty)
        .where(Duty.site_id == duty.site_id, Duty.cancelled_at.is_(None), Duty.starts_at >= duty.ends_at)
        .order_by(Duty.starts_at)
        .limit(1)
    )


async def previous_duty(session: AsyncSession, duty: Duty) -> Duty | None:
    """The live duty before ``duty`` (the outgoing lead it takes over from)."""
    return await session.scalar(
        select(Duty)
        .where(Duty.site_id == duty.site_id, Duty.cancelled_at.is_(None), Duty.ends_at <= duty.starts_at)
        .order_by(Duty.ends_at.desc())
        .limit(1)
    )


# Shift leads -------------------------------------------------------------------------------


async def named_lead_ids(session: AsyncSession, *, site_id: int) -> set[int]:
    rows = await session.scalars(
        select(ShiftLead.user_id).where(ShiftLead.site_id == site_id, ShiftLead.removed_at.is_(None))
    )
    return set(rows)


async def leads_page(session: AsyncSession, *, site_id: int, everyone: bool = False) -> list[LeadView]:
    """The site's named shift leads, then its other active senior agents (every active agent when ``everyone``),
    and whether each is named."""
    named = {
        lead.user_id: lead
        for lead in await session.scalars(
            select(ShiftLead).where(ShiftLead.site_id == site_id, ShiftLead.removed_at.is_(None))
        )
    }
    query = select(User).where(User.site_id == site_id, User.role == Role.agent, User.status == UserStatus.active)
    if not everyone:
        query = query.where(or_(User.tier == Tier.senior, User.id.in_(list(named))))
    agents = list(await session.scalars(query))
    labels = accounts.person_labels(agents)
    order = {Tier.senior: 0, Tier.mid: 1, Tier.junior: 2}
    agents.sort(key=lambda agent: (agent.id not in named, order[agent.tier], labels[agent.id].casefold()))
    return [
        LeadView(
            user_id=agent.id,
            name=labels[agent.id],
            tier=agent.tier,
            named=agent.id in named,
            named_at=named[agent.id].named_at if agent.id in named else None,
        )
        for agent in agents
    ]


async def _site_agent(session: AsyncSession, *, site_id: int, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None or user.site_id != site_id:
        raise NotFound("user")
    return user


async def name_lead(session: AsyncSession, *, site_id: int, user_id: int, by: User, now: dt.datetime) -> ShiftLead:
    """Name an agent of the site a shift lead (naming one already named changes nothing)."""
    user = await _site_agent(session, site_id=site_id, user_id=user_id)
    if user.role is not Role.agent or user.status is not UserStatus.active:
        raise DomainError(_("Only active agents can be named shift leads."), field="user_id")
    lead = await session.scalar(select(ShiftLead).where(ShiftLead.site_id == site_id, ShiftLead.user_id == user_id))
    if lead is None:
        lead = ShiftLead(site_id=site_id, user_id=user_id, named_by_id=by.id, named_at=now)
        session.add(lead)
    elif lead.removed_at is not None:
        lead.removed_at = None
        lead.named_by_id = by.id
        lead.named_at = now
    await session.flush()
    return lead


async def unname_lead(session: AsyncSession, *, site_id: int, user_id: int, now: dt.datetime) -> None:
    """Take the shift lead's name off an agent; their past and future duties stay on the roster."""
    await _site_agent(session, site_id=site_id, user_id=user_id)
    lead = await session.scalar(
        select(ShiftLead).where(
            ShiftLead.site_id == site_id, ShiftLead.user_id == user_id, ShiftLead.removed_at.is_(None)
        )
    )
    if lead is None:
        raise DomainError(_("This agent is not a shift lead."), field="user_id")
    lead.removed_at = now
    await session.flush()


# The roster --------------------------------------------------------------------------------


async def may_lead(session: AsyncSession, *, site_id: int, user: User) -> bool:
    """Whether ``user`` may be put on duty: active staff of the site, or a named shift lead."""
    if user.site_id != site_id or user.status is not UserStatus.active:
        return False
    if user.role in STAFF_ROLES:
        return True
    return user.role is Role.agent and user.id in await named_lead_ids(session, site_id=site_id)


async def duty_people(session: AsyncSession, *, site_id: int) -> list[User]:
    """Who may be put on duty at a site: its coordinators and admins, then its named shift leads."""
    staff = await accounts.staff_of_site(session, site_id=site_id)
    leads = await accounts.users_by_ids(session, await named_lead_ids(session, site_id=site_id))
    people = [user for user in staff if user.status is UserStatus.active]
    people += [user for user in leads if user.status is UserStatus.active and user.role is Role.agent]
    return people


async def add_duty(
    session: AsyncSession,
    *,
    site: Site,
    user_id: int,
    day: dt.date,
    start: dt.time,
    end: dt.time,
    by: User,
    now: dt.datetime,
) -> Duty:
    """Put someone on duty from ``start`` to ``end`` on the site's local ``day`` (an end at or before the start
    runs past midnight).

    Refused (422 naming the field): times off the half-hour, a duty longer than a day, someone who may not
    lead, and any overlap with a live duty, whoever's (one lead on duty at a time; the refusal names it).
    """
    zone = site_zone(site)
    for field, clock in (("start", start), ("end", end)):
        if clock.minute not in (0, 30) or clock.second or clock.microsecond:
            raise DomainError(_("Duties start and end on the hour or the half-hour."), field=field)
    starts_at = dt.datetime.combine(day, start, tzinfo=zone).astimezone(dt.UTC)
    end_day = day if end > start else day + dt.timedelta(days=1)
    ends_at = (
        local_midnight(end_day, zone) if end == dt.time(0) else dt.datetime.combine(end_day, end, tzinfo=zone)
    ).astimezone(dt.UTC)
    if not (is_on_boundary(starts_at) and is_on_boundary(ends_at)):
        raise DomainError(_("Duties start and end on the hour or the half-hour."), field="start")
    if ends_at - starts_at > dt.timedelta(hours=MAX_DUTY_HOURS):
        raise DomainError(_("A duty lasts at most %(hours)s hours.", hours=MAX_DUTY_HOURS), field="end")
    user = await session.get(User, user_id)
    if user is None or user.site_id != site.id:
        raise NotFound("user")
    if not await may_lead(session, site_id=site.id, user=user):
        raise DomainError(_("Only coordinators and named shift leads can be put on duty."), field="user_id")
    clash = (await duties_between(session, site_id=site.id, start=starts_at, end=ends_at))[:1]
    if clash:
        other = (await duty_views(session, clash))[0]
        raise DomainError(
            _(
                "This overlaps %(name)s's duty from %(start)s to %(end)s: one lead is on duty at a time.",
                name=other.name,
                start=other.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                end=other.ends_at.astimezone(zone).strftime("%H:%M"),
            ),
            field="start",
        )
    duty = Duty(
        site_id=site.id, user_id=user.id, starts_at=starts_at, ends_at=ends_at, created_by_id=by.id, created_at=now
    )
    session.add(duty)
    await session.flush()
    return duty


async def cancel_duty(session: AsyncSession, *, site_id: int, duty_id: int, now: dt.datetime) -> Duty:
    """Cancel a duty that has not ended (kept on the roster, struck through)."""
    duty = await get_duty(session, site_id=site_id, duty_id=duty_id)
    if duty.cancelled_at is not None:
        raise DomainError(_("This duty is already cancelled."), field="duty_id")
    if duty.ends_at <= now:
        raise DomainError(_("A duty that has ended cannot be cancelled."), field="duty_id")
    duty.cancelled_at = now
    await session.flush()
    return duty


class RosterDay(msgspec.Struct, frozen=True):
    day: dt.date
    duties: list[DutyView]


async def week_roster(session: AsyncSession, *, site: Site, week: IsoWeek) -> list[RosterDay]:
    """The week's duties by the local day they start on, cancelled ones included (shown struck through)."""
    zone = site_zone(site)
    days = week.days()
    start = local_midnight(days[0], zone).astimezone(dt.UTC)
    end = local_midnight(days[-1] + dt.timedelta(days=1), zone).astimezone(dt.UTC)
    duties = [
        duty
        for duty in await duties_between(session, site_id=site.id, start=start, end=end, cancelled=True)
        if duty.starts_at >= start
    ]
    views = await duty_views(session, duties)
    by_day: dict[dt.date, list[DutyView]] = {day: [] for day in days}
    for view in views:
        by_day[view.starts_at.astimezone(zone).date()].append(view)
    return [RosterDay(day=day, duties=by_day[day]) for day in days]


# Who keeps the log -------------------------------------------------------------------------


async def lead_duty_in_reach(session: AsyncSession, *, site: Site, user_id: int, now: dt.datetime) -> Duty | None:
    """The person's live duty "in reach" at ``now``: from ``LEAD_EARLY`` before it starts until its hand-over is
    due (``handover_due_minutes`` after it ends), so a lead reads the hand-over before and writes theirs after."""
    grace = dt.timedelta(minutes=site_settings(site).handover_due_minutes)
    return await session.scalar(
        select(Duty)
        .where(
            Duty.site_id == site.id,
            Duty.user_id == user_id,
            Duty.cancelled_at.is_(None),
            Duty.starts_at <= now + LEAD_EARLY,
            Duty.ends_at > now - grace,
        )
        .order_by(Duty.starts_at)
        .limit(1)
    )


async def ensure_log_access(session: AsyncSession, *, user: User, site: Site, now: dt.datetime, write: bool) -> None:
    """Who uses the duty log and the hand-over pages: staff always; finance to read; a named shift lead while
    their duty is in reach (``lead_duty_in_reach``). Anyone else 403."""
    if is_ops_staff(user) or (not write and user.role in READER_ROLES):
        return
    if user.role is not Role.agent:
        raise Forbidden(_("Your role does not allow this."))
    await ensure_lead(session, user, site.id)
    if await lead_duty_in_reach(session, site=site, user_id=user.id, now=now) is None:
        raise Forbidden(_("Shift leads use the duty log while they are on duty."))
