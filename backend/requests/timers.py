"""The clock's timed work: fire the due ``RequestTimer`` rows, earliest first, each once.

A timer row is deleted as it fires, in the transaction that does what it says, so a second round (or a second
worker: on PostgreSQL the rows are claimed with ``FOR UPDATE SKIP LOCKED``) never fires it again. What a timer
does:

- a warning (at the site's ``request_warn_share`` of a target) tells whoever holds the request;
- a breach stamps the request, writes the event and escalates: level 1 is the team's lead, level 2 the site's
  coordinators (a team without a lead goes to the coordinators at once); the next level has its own timer;
- a priority raise lifts a schedule request as its shift comes nearer;
- an auto-close closes a resolved request its asker neither confirmed nor reopened in time.

The worker runs ``EVERY_ROUND`` and sleeps no longer than until ``next_timer_at``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Site
from backend.requests import actions, clock, history, notices
from backend.requests import priority as priorities
from backend.requests.models import (
    OPEN_STATUSES,
    EventKind,
    Request,
    RequestStatus,
    RequestTeam,
    RequestTimer,
    TimerKind,
)
from backend.shifts.models import Shift

MAX_LEVEL = 2
Job = Callable[..., Awaitable[int]]


async def fire_due_timers(session: AsyncSession, *, now: dt.datetime, limit: int = 500) -> int:
    """Fire up to ``limit`` timers due at ``now``, earliest first; answers how many fired.

    Firing one may plan the request's clock again, which replaces its timers: a timer picked earlier and
    replaced meanwhile is not fired from the stale pick, and its replacement, if due, is picked next.

    A batch is fired as a round: what it needs is loaded in a few statements (the requests, their teams, shifts,
    pauses and planning events; each site's targets and calendar once a call), and what it writes (events,
    request changes, new timers, notifications) is written together at the batch's end.
    """
    fired = 0
    round_ = session.info[clock.ROUND] = clock.Round()
    notices.start_gathering(session)
    session.info[history.HELD] = True
    try:
        while fired < limit:
            batch = await _fire_batch(session, round_, now=now, limit=limit - fired)
            if not batch:
                break
            fired += batch
    finally:
        session.info.pop(history.HELD, None)
        session.info.pop(clock.ROUND, None)
        notices.stop_gathering(session)
    return fired


async def _fire_batch(session: AsyncSession, round_: clock.Round, *, now: dt.datetime, limit: int) -> int:
    due = (
        select(RequestTimer.id, RequestTimer.kind, RequestTimer.request_id)
        .where(RequestTimer.due_at <= now)
        .order_by(RequestTimer.due_at, RequestTimer.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    picked = list(await session.execute(due))
    if not picked:
        return 0
    gone = await session.execute(
        delete(RequestTimer)
        .where(RequestTimer.id.in_([row.id for row in picked]))
        .returning(RequestTimer.id)
        .execution_options(synchronize_session=False)
    )
    claimed = set(gone.scalars())
    request_ids = {row.request_id for row in picked}
    requests = {
        request.id: request for request in await session.scalars(select(Request).where(Request.id.in_(request_ids)))
    }
    await _load(session, round_, list(requests.values()))
    fired = 0
    for timer_id, kind, request_id in picked:
        if timer_id not in claimed or request_id in round_.timers:
            continue  # gone, or replaced when an earlier one planned the clock again
        await FIRE[TimerKind(kind)](session, requests[request_id], now=now)
        fired += 1
    await clock.write_round(session)
    await notices.send_gathered(session)
    round_.pauses.clear()
    round_.marks.clear()
    return fired


async def _load(session: AsyncSession, round_: clock.Round, requests: list[Request]) -> None:
    """What firing these requests' timers reads, in a few statements (later reads find it in the session)."""
    await clock.load_round(session, round_, [request.id for request in requests])
    for model, ids in (
        (Site, {request.site_id for request in requests}),
        (RequestTeam, {request.team_id for request in requests if request.team_id is not None}),
        (Shift, {request.shift_id for request in requests if request.shift_id is not None}),
    ):
        missing = sorted(key for key in ids if (model, key) not in round_.kept)
        if missing:
            for row in await session.scalars(select(model).where(model.id.in_(missing))):
                round_.kept[(model, row.id)] = row  # held: ``session.get`` finds it without a statement
    gathered = notices.gathering(session)
    if gathered is not None:
        people = {request.asker_id for request in requests if request.status == RequestStatus.resolved}
        people |= {request.owner_id for request in requests if request.owner_id is not None}
        missing = people - gathered.users.keys()
        if missing:
            gathered.users.update({user.id: user for user in await accounts.users_by_ids(session, missing)})


async def next_timer_at(session: AsyncSession) -> dt.datetime | None:
    """The earliest instant any request's clock needs the worker (None: no timer at all)."""
    return await session.scalar(select(func.min(RequestTimer.due_at)))


def _running(request: Request) -> bool:
    return request.status in OPEN_STATUSES and request.paused_at is None


async def _warn(session: AsyncSession, request: Request, *, target: str, now: dt.datetime) -> None:
    due = request.response_due_at if target == clock.RESPONSE else request.resolution_due_at
    if not _running(request) or due is None:
        return
    await history.record(session, request, EventKind.warned, at=now, internal=True, values={"target": target})
    clock.mark(session, request, EventKind.warned, at=now, values={"target": target})
    values = notices.request_values(request, target=target, due=due.astimezone(dt.UTC).isoformat())
    await notices.tell_holders(session, request, "request_warned", values, now)


async def _breach(session: AsyncSession, request: Request, *, target: str, now: dt.datetime) -> None:
    if not _running(request):
        return
    if target == clock.RESPONSE:
        if request.first_response_at is not None or request.response_breached_at is not None:
            return
        request.response_breached_at = now
    else:
        if request.resolution_breached_at is not None:
            return
        request.resolution_breached_at = now
    await history.record(session, request, EventKind.breached, at=now, internal=True, values={"target": target})
    await notices.tell_holders(
        session, request, "request_breached", notices.request_values(request, target=target), now
    )
    await _escalate(session, request, target=target, now=now)


async def _escalate(session: AsyncSession, request: Request, *, target: str, now: dt.datetime) -> None:
    """One level up (then the clock plans the next): the team's lead, then the site's coordinators."""
    level = request.escalation_level + 1
    if level > MAX_LEVEL:
        await clock.plan_clock(session, request, now=now)
        return
    team = await session.get(RequestTeam, request.team_id) if request.team_id is not None else None
    lead_id = team.lead_id if team is not None else None
    if level == 1 and lead_id is None:
        level = MAX_LEVEL  # nobody leads the team: the coordinators at once
    people = (
        {lead_id} if level == 1 and lead_id is not None else await notices.coordinator_ids(session, request.site_id)
    )
    request.escalation_level = level
    await history.record(
        session,
        request,
        EventKind.escalated,
        at=now,
        internal=True,
        to_user_id=lead_id if level == 1 else None,
        values={"level": level, "target": target},
    )
    values = notices.request_values(request, target=target, level=level)
    await notices.tell_people(session, request, people, "request_escalated", values, now)
    await clock.plan_clock(session, request, now=now)


async def _escalate_further(session: AsyncSession, request: Request, *, now: dt.datetime) -> None:
    if not _running(request) or request.escalation_level >= MAX_LEVEL:
        return
    target = clock.RESOLUTION if request.resolution_breached_at is not None else clock.RESPONSE
    await _escalate(session, request, target=target, now=now)


async def _raise_priority(session: AsyncSession, request: Request, *, now: dt.datetime) -> None:
    """The situation got more urgent (the shift is nearer): the priority rises and the clock is planned again."""
    if request.status not in OPEN_STATUSES:
        return
    wanted, reason = await priorities.situation_priority(session, request, now=now)
    if priorities.higher(wanted, request.priority):
        before = request.priority
        request.priority = wanted
        await history.record(
            session,
            request,
            EventKind.priority_raised,
            at=now,
            internal=True,
            values={"from": before.value, "to": wanted.value, "reason": reason},
        )
    await clock.plan_clock(session, request, now=now)


async def _auto_close(session: AsyncSession, request: Request, *, now: dt.datetime) -> None:
    if request.status == RequestStatus.resolved:
        await actions.auto_close(session, request, now=now)


FIRE: dict[TimerKind, Callable[..., Awaitable[None]]] = {
    TimerKind.response_warn: lambda session, request, now: _warn(session, request, target=clock.RESPONSE, now=now),
    TimerKind.resolution_warn: lambda session, request, now: _warn(session, request, target=clock.RESOLUTION, now=now),
    TimerKind.response_breach: lambda session, request, now: _breach(session, request, target=clock.RESPONSE, now=now),
    TimerKind.resolution_breach: lambda session, request, now: _breach(
        session, request, target=clock.RESOLUTION, now=now
    ),
    TimerKind.escalate: _escalate_further,
    TimerKind.priority_raise: _raise_priority,
    TimerKind.auto_close: _auto_close,
}

EVERY_ROUND: list[tuple[str, Job]] = [("request clocks fired", fire_due_timers)]
EVERY_MINUTE: list[tuple[str, Job]] = [("request clocks planned", clock.plan_unclocked)]  # carried-over disputes
