"""The clock worker fires a batch of timers as one round (loaded together, written together): the same events,
notifications, request changes and next timers as firing them one at a time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role
from backend.notify.models import Notification
from backend.requests import actions, timers
from backend.requests.models import Priority, Request, RequestEvent, RequestKind, RequestStatus, RequestTimer
from tests.factories import Factory, a_held_shift
from tests.integration.test_requests_clock import a_request, a_team, at

WEEK = dt.timedelta(days=7)


async def _world(db: AsyncSession, people: Factory, week: int) -> tuple[list[Any], list[Request], dt.datetime]:
    """Staff and requests whose timers all come due (warnings, breaches, both escalations, a priority raise, an
    auto-close), ``week`` weeks after the first."""
    shift = week * WEEK
    agent, other = await people.make(Role.agent), await people.make(Role.agent, locale="zh-Hans")
    owner, member, lead = [await people.make(Role.coordinator) for _ in range(3)]
    coordinator = await people.make(Role.coordinator)
    team = await a_team(db, people.site, lead=lead, members=(owner, member))
    team.name = f"Led {week}"
    leaderless = await a_team(db, people.site, members=(member,))
    leaderless.name = f"Leaderless {week}"
    await db.flush()
    requests = [
        await a_request(db, agent, team=team, created_at=at(4, 9) + shift),  # team queue: warn, breach, escalate x2
        await a_request(db, other, team=team, owner=owner, created_at=at(4, 10) + shift),
        await a_request(db, agent, created_at=at(4, 9) + shift),  # the site queue: the coordinators at once
        await a_request(db, other, team=leaderless, created_at=at(4, 11) + shift, priority=Priority.high),
    ]
    resolved = await a_request(db, agent, owner=owner, created_at=at(4, 9) + shift)
    await actions.resolve(db, request_id=resolved.id, actor=owner, root_cause="other", resolution="Done.",
                          now=at(4, 10) + shift)  # fmt: skip
    requests.append(resolved)
    held = await a_held_shift(db, agent, at(6, 16) + shift)
    requests.append(
        await a_request(db, agent, kind=RequestKind.schedule, shift_id=held.id, created_at=at(4, 9) + shift)
    )
    return [agent, other, owner, member, lead, coordinator], requests, at(4, 9) + shift


async def _snapshot(db: AsyncSession, people: list[Any], requests: list[Request], base: dt.datetime) -> list[Any]:
    """What the worker wrote, with ids as positions and instants from the world's start."""
    who = {person.id: number for number, person in enumerate(people)}
    which = {request.id: number for number, request in enumerate(requests)}

    def since(moment: dt.datetime | None) -> dt.timedelta | None:
        return moment - base if moment is not None else None

    for request in requests:
        await db.refresh(request)
    rows = [
        (
            request.status,
            request.priority,
            request.escalation_level,
            since(request.response_breached_at),
            since(request.resolution_breached_at),
            since(request.response_due_at),
            since(request.resolution_due_at),
            since(request.closed_at),
        )
        for request in requests
    ]
    events = await db.scalars(
        select(RequestEvent)
        .where(RequestEvent.request_id.in_(which))
        .order_by(RequestEvent.request_id, RequestEvent.id)
    )
    rows.append(
        [(which[e.request_id], e.kind, e.values, since(e.at), who.get(e.to_user_id), e.internal) for e in events]
    )
    timer_rows = await db.execute(select(RequestTimer.request_id, RequestTimer.kind, RequestTimer.due_at)
                                  .where(RequestTimer.request_id.in_(which)))  # fmt: skip
    rows.append(sorted((which[request_id], kind, since(due)) for request_id, kind, due in timer_rows))
    notes = await db.scalars(select(Notification).where(Notification.user_id.in_(who)))
    told = []
    for note in notes:
        if not note.values or "id" not in note.values:
            continue
        values = {**note.values, "id": which[note.values["id"]]}
        if "due" in values:
            values["due"] = str(since(dt.datetime.fromisoformat(values["due"])))
        url = note.url.replace(str(note.values["id"]), "#")
        told.append((who[note.user_id], note.kind, url, note.subject.split(":")[0], values, since(note.created_at)))
    rows.append(sorted(told, key=repr))
    return rows


async def test_a_round_writes_what_firing_one_timer_at_a_time_writes(db: AsyncSession, people: Factory) -> None:
    first_people, first, base = await _world(db, people, 0)
    assert await timers.fire_due_timers(db, now=base + 6 * dt.timedelta(days=1)) > len(first)
    together = await _snapshot(db, first_people, first, base)

    second_people, second, base = await _world(db, people, 1)
    fired = 0
    while await timers.fire_due_timers(db, now=base + 6 * dt.timedelta(days=1), limit=1):
        fired += 1
    one_at_a_time = await _snapshot(db, second_people, second, base)

    assert together == one_at_a_time
    statuses = [row[0] for row in together[: len(first)]]
    assert RequestStatus.closed in statuses
    assert 2 in [row[2] for row in together[: len(first)]]  # escalated to the coordinators
    assert len(together[-1]) > 10  # people were told
