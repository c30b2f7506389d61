"""Who hears about a request, and where the notification leads: the asker to their own page of it, staff to
the work page.

Values are plain JSON (``notify.messages``): the request's id and title as typed, a team by both its names, a
person's display name, free text as typed. The words are the messages named ``request_*`` in
``backend.notify.messages``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import STAFF_ROLES, Role
from backend.notify.service import Kind, notify, notify_staff
from backend.requests.models import Request, RequestTeam, TeamMember

APP_URL = "/app/requests/{id}"
STAFF_URL = "/admin/requests/{id}"


def staff_url(request: Request) -> str:
    return STAFF_URL.format(id=request.id)


def asker_url(request: Request, role: Role) -> str:
    """An agent reads their request on the agent pages; a staff asker on the staff work page."""
    return (APP_URL if role == Role.agent else STAFF_URL).format(id=request.id)


def request_values(request: Request, **more: Any) -> dict[str, Any]:
    """What every request message names: which request, by its id and title."""
    return {"id": request.id, "title": request.title, **more}


def team_values(team: RequestTeam | None) -> dict[str, str]:
    """A team by both its names (worded in the reader's language); no team: the site's queue."""
    return {"team": team.name if team else "", "team_zh": team.name_zh if team else ""}


async def tell_asker(
    session: AsyncSession, request: Request, message: str, values: Mapping[str, Any], now: dt.datetime
) -> None:
    """Tell the asker (inbox and push, ``Kind.request``); the link opens their own page of the request."""
    asker = await accounts.get_user(session, request.asker_id)
    await notify(
        session,
        user_id=asker.id,
        kind=Kind.request,
        message=message,
        values=values,
        url=asker_url(request, asker.role),
        subject=f"request:{request.id}",
        now=now,
    )


async def tell_people(
    session: AsyncSession,
    request: Request,
    user_ids: Collection[int],
    message: str,
    values: Mapping[str, Any],
    now: dt.datetime,
    kind: Kind = Kind.staff_request,
    subject: str | None = None,
) -> int:
    """Tell these people of the request's site (active ones only); staff kinds lead to the work page, the
    ``request`` kind (me-too people) to each reader's own page of it. Returns how many were told."""
    ids = sorted(set(user_ids))
    if not ids:
        return 0
    if kind != Kind.request:
        return await notify_staff(
            session,
            site_id=request.site_id,
            kind=kind,
            values={**values, "message": message},
            link=staff_url(request),
            now=now,
            only_user_ids=ids,
            subject=subject,
        )
    told = 0
    for person in await accounts.users_by_ids(session, set(ids)):
        if person.site_id != request.site_id:
            continue
        await notify(
            session,
            user_id=person.id,
            kind=kind,
            message=message,
            values=values,
            url=asker_url(request, person.role),
            subject=subject,
            now=now,
        )
        told += 1
    return told


async def team_member_ids(session: AsyncSession, team_id: int) -> set[int]:
    return set(await session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team_id)))


async def coordinator_ids(session: AsyncSession, site_id: int) -> set[int]:
    return {person.id for person in await accounts.staff_of_site(session, site_id=site_id, roles=STAFF_ROLES)}


async def holder_ids(session: AsyncSession, request: Request) -> set[int]:
    """Who holds the request now: its owner; else its team's members; else (the site's queue) the coordinators."""
    if request.owner_id is not None:
        return {request.owner_id}
    if request.team_id is not None:
        members = await team_member_ids(session, request.team_id)
        if members:
            return members
    return await coordinator_ids(session, request.site_id)


async def tell_holders(
    session: AsyncSession,
    request: Request,
    message: str,
    values: Mapping[str, Any],
    now: dt.datetime,
    *,
    besides: int | None = None,
) -> int:
    """Tell whoever holds the request now (``holder_ids``), except ``besides`` (who did what is told)."""
    people = await holder_ids(session, request)
    if besides is not None:
        people.discard(besides)
    return await tell_people(session, request, people, message, values, now)
