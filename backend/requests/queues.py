"""Staff queues: the open requests a team, an owner or the site's queue holds, the most urgent first.

A queue is sorted by time left: the next due instant of the clock (the first response while unanswered, then
the resolution), earliest first; a paused request (waiting for the asker) or one without a running clock comes
last, then the oldest first. The sort runs in the database on the request row's own due instants, so a page
reads one indexed slice, however many requests the site has had.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.accounts.models import Role, User
from backend.accounts.service import person_labels, users_by_ids
from backend.core.db import utcnow
from backend.core.errors import Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.core.i18n import named_label
from backend.requests.access import is_request_staff, sees_site_wide
from backend.requests.models import (
    OPEN_STATUSES,
    Priority,
    Request,
    RequestEvent,
    RequestKind,
    RequestStatus,
    RequestTeam,
)
from backend.requests.routing import team_ids_of

PAGE_SIZE = 50


@dataclass(frozen=True)
class QueueRow:
    """What a queue's row shows: enough to choose the next request without opening it."""

    id: int
    title: str
    kind: RequestKind
    priority: Priority
    status: RequestStatus
    asker_name: str
    team_id: int | None
    team_name: str
    owner_id: int | None
    owner_name: str
    created_at: dt.datetime
    due_at: dt.datetime | None  # the clock's next due instant (None: paused, or no clock running)
    left_minutes: int | None  # wall-clock minutes to due_at (negative: over); None without one
    paused: bool
    breached: bool
    bounce_flagged: bool


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    page: int
    has_more: bool


@dataclass(frozen=True)
class QueueTab:
    """A tab of the staff's requests page: ``key`` is the query's ``view`` (mine, site, flagged, team:<id>)."""

    key: str
    label: str
    count: int


def _ordered(query: Select[Any]) -> Select[Any]:
    due = func.coalesce(Request.response_due_at, Request.resolution_due_at)
    clock_stopped = case((Request.status == RequestStatus.waiting, 1), (due.is_(None), 1), else_=0)
    return query.order_by(clock_stopped, due, Request.created_at, Request.id)


def _rows_query(site_id: int) -> Select[Any]:
    asker, owner = aliased(User), aliased(User)
    return (
        select(Request, asker.display_name, owner.display_name, RequestTeam.name, RequestTeam.name_zh)
        .join(asker, asker.id == Request.asker_id)
        .outerjoin(owner, owner.id == Request.owner_id)
        .outerjoin(RequestTeam, RequestTeam.id == Request.team_id)
        .where(Request.site_id == site_id, Request.status.in_(OPEN_STATUSES))
    )


def _row(
    request: Request, asker_name: str, owner_name: str | None, team: str | None, team_zh: str | None, now: dt.datetime
) -> QueueRow:
    due = request.response_due_at or request.resolution_due_at
    paused = request.status == RequestStatus.waiting
    left = None if due is None or paused else round((due - now).total_seconds() / 60)
    overdue = due is not None and not paused and due <= now
    breached = bool(request.response_breached_at or request.resolution_breached_at) or overdue
    team_name = named_label(_Named(team, team_zh or "")) if team is not None else _("Site queue")
    return QueueRow(
        id=request.id,
        title=request.title,
        kind=request.kind,
        priority=request.priority,
        status=request.status,
        asker_name=asker_name,
        team_id=request.team_id,
        team_name=team_name,
        owner_id=request.owner_id,
        owner_name=owner_name or "",
        created_at=request.created_at,
        due_at=None if paused else due,
        left_minutes=left,
        paused=paused,
        breached=breached,
        bounce_flagged=request.bounce_flagged_at is not None,
    )


@dataclass(frozen=True)
class _Named:
    name: str
    name_zh: str


async def _team_of_site(session: AsyncSession, *, staff: User, team_id: int) -> RequestTeam:
    """A team whose queue ``staff`` may read: one of the site's, and (below coordinators) one they belong to."""
    team = await session.get(RequestTeam, team_id)
    if team is None or team.site_id != staff.site_id:
        raise NotFound("team")
    if not sees_site_wide(staff) and team_id not in await team_ids_of(session, staff.id):
        raise NotFound("team")
    return team


async def queue(
    session: AsyncSession,
    *,
    staff: User,
    team_id: int | None = None,
    owner_id: int | None = None,
    mine: bool = False,
    kind: RequestKind | None = None,
    page: int = 0,
    now: dt.datetime | None = None,
) -> QueuePage:
    """One page of open requests: ``mine`` (held by ``staff``), a team's (``team_id``), an owner's (``owner_id``;
    another person's only for coordinators), every open one of a ``kind`` (coordinators; finance for pay) or, with
    none of these, the site queue (requests no rule routed, coordinators only). A team not the viewer's to read is
    Not found."""
    if not is_request_staff(staff):
        raise Forbidden(_("Only staff work on requests."))
    now = now or utcnow()
    query = _rows_query(staff.site_id)
    if mine:
        query = query.where(Request.owner_id == staff.id)
    elif team_id is not None:
        await _team_of_site(session, staff=staff, team_id=team_id)
        query = query.where(Request.team_id == team_id)
    elif owner_id is not None:
        if owner_id != staff.id and not sees_site_wide(staff):
            raise Forbidden(_("Only coordinators see another person's queue."))
        query = query.where(Request.owner_id == owner_id)
    elif kind is not None:
        if not (sees_site_wide(staff) or (staff.role == Role.finance and kind == RequestKind.pay)):
            raise Forbidden(_("Only coordinators see every request of a kind."))
        query = query.where(Request.kind == kind)
    else:
        if not sees_site_wide(staff):
            raise Forbidden(_("Only coordinators see the site queue."))
        query = query.where(Request.team_id.is_(None))
    page = max(page, 0)
    found = (await session.execute(_ordered(query).offset(page * PAGE_SIZE).limit(PAGE_SIZE + 1))).all()
    rows = [_row(*found_row, now) for found_row in found[:PAGE_SIZE]]
    return QueuePage(rows=rows, page=page, has_more=len(found) > PAGE_SIZE)


async def bounce_flagged(session: AsyncSession, *, staff: User, now: dt.datetime | None = None) -> list[QueueRow]:
    """Open requests handed back and forth more than the site allows: the coordinators' to sort out."""
    if not sees_site_wide(staff):
        raise Forbidden(_("Only coordinators see the bounce-flagged requests."))
    now = now or utcnow()
    query = _rows_query(staff.site_id).where(Request.bounce_flagged_at.is_not(None))
    found = (await session.execute(_ordered(query).limit(PAGE_SIZE))).all()
    return [_row(*found_row, now) for found_row in found]


async def _open_count(session: AsyncSession, staff: User, *where: Any) -> int:
    query = select(func.count()).select_from(Request)
    return (
        await session.scalar(query.where(Request.site_id == staff.site_id, Request.status.in_(OPEN_STATUSES), *where))
        or 0
    )


async def tabs_for(session: AsyncSession, *, staff: User) -> list[QueueTab]:
    """The queues ``staff`` may open, each with its count of open requests: theirs, each of their teams' (every
    team of the site for coordinators), every pay request for finance, and for coordinators the site queue and
    the bounce-flagged list."""
    tabs = [
        QueueTab(key="mine", label=_("Mine"), count=await _open_count(session, staff, Request.owner_id == staff.id))
    ]
    teams_query = select(RequestTeam).where(RequestTeam.site_id == staff.site_id, RequestTeam.archived_at.is_(None))
    if not sees_site_wide(staff):
        teams_query = teams_query.where(RequestTeam.id.in_(await team_ids_of(session, staff.id)))
    teams = list((await session.scalars(teams_query.order_by(RequestTeam.name))).all())
    counts = dict(
        (
            await session.execute(
                select(Request.team_id, func.count())
                .where(
                    Request.site_id == staff.site_id,
                    Request.status.in_(OPEN_STATUSES),
                    Request.team_id.in_([team.id for team in teams]),
                )
                .group_by(Request.team_id)
            )
        ).all()
    )
    tabs += [QueueTab(key=f"team:{team.id}", label=named_label(team), count=counts.get(team.id, 0)) for team in teams]
    if staff.role == Role.finance:
        pay = await _open_count(session, staff, Request.kind == RequestKind.pay)
        tabs.append(QueueTab(key="pay", label=_("Every pay request"), count=pay))
    if sees_site_wide(staff):
        site = await _open_count(session, staff, Request.team_id.is_(None))
        flagged = await _open_count(session, staff, Request.bounce_flagged_at.is_not(None))
        tabs += [
            QueueTab(key="site", label=_("Site queue"), count=site),
            QueueTab(key="flagged", label=_("Bounced"), count=flagged),
        ]
    return tabs


@dataclass(frozen=True)
class HistoryEntry:
    """One event as the work page lists it, with the people and teams it names."""

    event: RequestEvent
    actor_name: str  # "" when the system did it
    from_team: str
    to_team: str
    to_user: str


async def history_entries(session: AsyncSession, request: Request, *, internal: bool) -> list[HistoryEntry]:
    """The request's history, oldest first; ``internal`` False leaves out staff-only entries (the asker's view)."""
    query = select(RequestEvent).where(RequestEvent.request_id == request.id)
    if not internal:
        query = query.where(RequestEvent.internal.is_(False))
    events = list(await session.scalars(query.order_by(RequestEvent.at, RequestEvent.id)))
    user_ids = {e.actor_id for e in events if e.actor_id} | {e.to_user_id for e in events if e.to_user_id}
    team_ids = {e.from_team_id for e in events if e.from_team_id} | {e.to_team_id for e in events if e.to_team_id}
    names = person_labels(await users_by_ids(session, user_ids)) if user_ids else {}
    teams = (
        {
            team.id: named_label(team)
            for team in await session.scalars(select(RequestTeam).where(RequestTeam.id.in_(team_ids)))
        }
        if team_ids
        else {}
    )
    return [
        HistoryEntry(
            event=event,
            actor_name=names.get(event.actor_id, "") if event.actor_id else "",
            from_team=teams.get(event.from_team_id, "") if event.from_team_id else "",
            to_team=teams.get(event.to_team_id, "") if event.to_team_id else "",
            to_user=names.get(event.to_user_id, "") if event.to_user_id else "",
        )
        for event in events
    ]


def duration_text(minutes: int) -> str:
    """A span of minutes as people say it: "45 min", "3 h 20 min", "2 d 4 h" (the sign left to the sentence)."""
    minutes = abs(minutes)
    if minutes < 60:
        return _("%(minutes)d min", minutes=minutes)
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=rest) if rest else _("%(hours)d h", hours=hours)
    days, hours = divmod(hours, 24)
    return _("%(days)d d %(hours)d h", days=days, hours=hours) if hours else _("%(days)d d", days=days)
