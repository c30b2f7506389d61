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
from backend.accounts.models import STAFF_ROLES, Role, User, UserStatus
from backend.notify.models import Notification
from backend.notify.service import SUBJECT_MAX_CHARS, Kind, Outgoing, notify, notify_many, notify_staff
from backend.requests.models import Request, RequestTeam, TeamMember

APP_URL = "/app/requests/{id}"
STAFF_URL = "/admin/requests/{id}"
GATHERED = "requests.notices.gathered"  # session.info key: a Gathered while the clock worker fires a round


class Gathered:
    """Notifications held back while the clock worker fires a batch of timers, then written together
    (``notify_many``), plus the people looked up meanwhile (one worker call only)."""

    def __init__(self) -> None:
        self.notes: list[Outgoing] = []
        self.users: dict[int, User] = {}
        self.members: dict[int, set[int]] = {}
        self.coordinators: dict[int, set[int]] = {}


def gathering(session: AsyncSession) -> Gathered | None:
    return session.info.get(GATHERED)


def start_gathering(session: AsyncSession) -> Gathered:
    gathered = session.info[GATHERED] = Gathered()
    return gathered


def stop_gathering(session: AsyncSession) -> None:
    session.info.pop(GATHERED, None)


async def send_gathered(session: AsyncSession) -> int:
    """Write the notifications held back so far (in the order they were told); answers how many."""
    gathered = gathering(session)
    if gathered is None or not gathered.notes:
        return 0
    notes, gathered.notes = gathered.notes, []
    await notify_many(session, notes)
    return len(notes)


async def _users(session: AsyncSession, gathered: Gathered, ids: Collection[int]) -> list[User]:
    missing = {user_id for user_id in ids if user_id not in gathered.users}
    if missing:
        for person in await accounts.users_by_ids(session, missing):
            gathered.users[person.id] = person
    return [gathered.users[user_id] for user_id in sorted(set(ids)) if user_id in gathered.users]


async def _told_already(
    session: AsyncSession, gathered: Gathered, ids: list[int], kind: Kind, subject: str | None
) -> set[int]:
    """Who already has a notification of this kind about ``subject`` (``notify_staff``'s rule), held back ones
    included."""
    if not subject or not ids:
        return set()
    key = subject[:SUBJECT_MAX_CHARS]
    query = select(Notification.user_id).where(
        Notification.user_id.in_(ids), Notification.kind == kind, Notification.subject == key
    )
    told = set(await session.scalars(query))
    told.update(
        note.user_id for note in gathered.notes if note.kind == kind and (note.subject or "")[:SUBJECT_MAX_CHARS] == key
    )
    return told


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
    gathered = gathering(session)
    if gathered is not None:
        found = await _users(session, gathered, [request.asker_id])
        if not found:
            await accounts.get_user(session, request.asker_id)  # NotFound, as below
        gathered.notes.append(
            Outgoing(
                user_id=found[0].id,
                kind=Kind.request,
                message=message,
                values=values,
                url=asker_url(request, found[0].role),
                subject=f"request:{request.id}",
                now=now,
            )
        )
        return
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
    gathered = gathering(session)
    if gathered is not None:
        return await _gather_people(session, gathered, request, ids, message, values, now, kind, subject)
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


async def _gather_people(
    session: AsyncSession,
    gathered: Gathered,
    request: Request,
    ids: list[int],
    message: str,
    values: Mapping[str, Any],
    now: dt.datetime,
    kind: Kind,
    subject: str | None,
) -> int:
    """``tell_people`` while gathering: the same people (``notify_staff``'s for staff kinds), held back."""
    people = [person for person in await _users(session, gathered, ids) if person.site_id == request.site_id]
    if kind != Kind.request:
        people = [person for person in people if person.status == UserStatus.active]
        told = await _told_already(session, gathered, [person.id for person in people], kind, subject)
        people = [person for person in people if person.id not in told]
    for person in people:
        url = staff_url(request) if kind != Kind.request else asker_url(request, person.role)
        gathered.notes.append(
            Outgoing(
                user_id=person.id,
                kind=kind,
                message=message,
                values={key: value for key, value in values.items() if key != "message"},
                url=url,
                subject=subject,
                now=now,
            )
        )
    return len(people)


async def team_member_ids(session: AsyncSession, team_id: int) -> set[int]:
    gathered = gathering(session)
    if gathered is not None and team_id in gathered.members:
        return set(gathered.members[team_id])
    members = set(await session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team_id)))
    if gathered is not None:
        gathered.members[team_id] = set(members)
    return members


async def coordinator_ids(session: AsyncSession, site_id: int) -> set[int]:
    gathered = gathering(session)
    if gathered is not None and site_id in gathered.coordinators:
        return set(gathered.coordinators[site_id])
    people = await accounts.staff_of_site(session, site_id=site_id, roles=STAFF_ROLES)
    if gathered is not None:
        gathered.coordinators[site_id] = {person.id for person in people}
        gathered.users.update({person.id: person for person in people})
    return {person.id for person in people}


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
