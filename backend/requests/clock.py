"""A request's clock: its due instants, its pauses and its timers.

The due instants are computed, never shifted: from ``created_at``, the target of the kind at the current
priority, the team's calendar and every pause the request has had (and, for a reopened request, the time it sat
resolved). So a priority change during a pause keeps the pause (the next plan still counts it), and a resumed
request is due exactly the paused working minutes later. While paused, or once met (the first response given,
the request resolved or closed), a due instant is None.

The clock's next instants are ``RequestTimer`` rows (warn at the site's share of a target, breach at it,
escalate further, raise the priority, close by itself), replaced as a whole whenever the clock is planned again;
the worker fires the due ones (``backend.requests.timers``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection

import msgspec
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import STAFF_ROLES, User
from backend.accounts.site_settings import site_settings, update_site_settings
from backend.core.errors import DomainError, Forbidden
from backend.core.i18n import gettext as _
from backend.requests import priority as priorities
from backend.requests import targets
from backend.requests.hours import WorkingCalendar, add_working_seconds, calendar_of, working_seconds
from backend.requests.models import (
    OPEN_STATUSES,
    Calendar,
    EventKind,
    Priority,
    Request,
    RequestEvent,
    RequestKind,
    RequestPause,
    RequestStatus,
    RequestTeam,
    RequestTimer,
    TimerKind,
)
from backend.requests.targets import Target, target_for, targets_of_site

PAUSE_REASONS = ("more_information", "trying_a_fix", "asker_unavailable")
ESCALATE_AT_SHARE = 1.5  # the next escalation level comes when half the breached target again has passed
RESPONSE = "response"
RESOLUTION = "resolution"

Interval = tuple[dt.datetime, dt.datetime]
ROUND = "requests.clock.round"  # session.info key: a Round while the clock worker fires a batch of timers
MARK_KINDS = (EventKind.warned, EventKind.reopened, EventKind.resolved)  # the events a plan reads


class Round:
    """What planning clocks looks up, loaded once for a batch of timers the worker fires (one worker call only):
    the sites' targets and calendars, the batch's requests' pauses and the events a plan reads; and the timers
    the plans make, written together by ``write_round``."""

    def __init__(self) -> None:
        self.targets: dict[int, dict[tuple[RequestKind, Priority], Target]] = {}
        self.calendars: dict[tuple[int, bool, dt.datetime], WorkingCalendar] = {}
        self.pauses: dict[int, list[RequestPause]] = {}
        self.marks: dict[int, list[tuple[EventKind, dt.datetime, dict]]] = {}
        self.timers: dict[int, list[dict]] = {}  # request id -> its new timer rows
        self.kept: dict[tuple[type, int], object] = {}  # rows held so the session's identity map keeps them


def round_of(session: AsyncSession) -> Round | None:
    return session.info.get(ROUND)


async def load_round(session: AsyncSession, round_: Round, request_ids: Collection[int]) -> None:
    """Load the pauses and the planning events of these requests (earliest first) in two statements."""
    ids = sorted(set(request_ids) - round_.pauses.keys())
    if not ids:
        return
    for request_id in ids:
        round_.pauses[request_id], round_.marks[request_id] = [], []
    pauses = select(RequestPause).where(RequestPause.request_id.in_(ids))
    for pause in await session.scalars(pauses.order_by(RequestPause.started_at, RequestPause.id)):
        round_.pauses[pause.request_id].append(pause)
    marks = select(RequestEvent.request_id, RequestEvent.kind, RequestEvent.at, RequestEvent.values).where(
        RequestEvent.request_id.in_(ids), RequestEvent.kind.in_(MARK_KINDS)
    )
    for request_id, kind, at, values in await session.execute(marks.order_by(RequestEvent.at, RequestEvent.id)):
        round_.marks[request_id].append((EventKind(kind), at, values or {}))


def mark(session: AsyncSession, request: Request, kind: EventKind, *, at: dt.datetime, values: dict) -> None:
    """Tell the round an event a plan reads was just recorded for ``request``."""
    round_ = round_of(session)
    if round_ is not None and kind in MARK_KINDS and request.id in round_.marks:
        round_.marks[request.id].append((kind, at, values))


async def write_round(session: AsyncSession) -> None:
    """Write what the batch changed: the requests and events (one flush), then the planned timers."""
    round_ = round_of(session)
    await session.flush()
    if round_ is None or not round_.timers:
        return
    planned, round_.timers = round_.timers, {}
    await session.execute(delete(RequestTimer).where(RequestTimer.request_id.in_(sorted(planned))))
    rows = [row for request_id in sorted(planned) for row in planned[request_id]]
    if rows:
        await session.execute(insert(RequestTimer), rows)


def pause_reason_label(reason: str) -> str:
    labels = {
        "more_information": _("waiting for more information from the asker"),
        "trying_a_fix": _("the asker is trying a fix"),
        "asker_unavailable": _("the asker is not available"),
    }
    return labels.get(reason, reason)


class ClockView(msgspec.Struct, frozen=True, kw_only=True):
    """The clock as a page shows it: the running target (the first response until it is given, then the
    resolution), its minutes used and left (negative: over), and both due instants."""

    stage: str  # "response", "resolution" or "done" (resolved or closed)
    calendar: Calendar
    target_minutes: int
    used_minutes: int
    left_minutes: int
    paused: bool
    pause_reason: str
    paused_since: dt.datetime | None
    breached: bool
    response_target_minutes: int
    resolution_target_minutes: int
    response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    response_breached_at: dt.datetime | None
    resolution_breached_at: dt.datetime | None

    @property
    def over(self) -> bool:
        return self.left_minutes < 0


class _Plan(msgspec.Struct, kw_only=True):
    calendar: WorkingCalendar
    target: Target
    start: dt.datetime
    pauses: list[Interval]  # ended pauses, in order
    open_pause: RequestPause | None

    def due(self, seconds: float) -> dt.datetime:
        """The instant at which ``seconds`` working seconds have run since the start, the pauses left out."""
        position, left = self.start, seconds
        for begin, end in self.pauses:
            if end <= position:
                continue
            begin = max(begin, position)
            ran = working_seconds(self.calendar, position, begin)
            if ran >= left:
                break
            left -= ran
            position = end
        return add_working_seconds(self.calendar, position, left)

    def used_seconds(self, until: dt.datetime) -> int:
        """The working seconds run from the start to ``until``, less those paused (the open pause to ``until``)."""
        paused = [*self.pauses]
        if self.open_pause is not None:
            paused.append((self.open_pause.started_at, until))
        total = working_seconds(self.calendar, self.start, until)
        for begin, end in paused:
            total -= working_seconds(self.calendar, max(begin, self.start), min(end, until))
        return max(0, total)


async def _plan_of(session: AsyncSession, request: Request, *, now: dt.datetime) -> _Plan:
    team = await session.get(RequestTeam, request.team_id) if request.team_id is not None else None
    round_ = round_of(session)
    if round_ is not None and request.id in round_.pauses:
        return await _plan_in_round(session, round_, request, team, now=now)
    pauses = list(
        await session.scalars(
            select(RequestPause)
            .where(RequestPause.request_id == request.id)
            .order_by(RequestPause.started_at, RequestPause.id)
        )
    )
    stopped = [(pause.started_at, pause.ended_at) for pause in pauses if pause.ended_at is not None]
    if request.reopen_count:
        stopped.extend(await _resolved_spells(session, request))
    return _Plan(
        calendar=await calendar_of(session, request.site_id, team, around=now),
        target=await target_for(session, request.site_id, RequestKind(request.kind), Priority(request.priority)),
        start=request.created_at,
        pauses=sorted(stopped),
        open_pause=next((pause for pause in pauses if pause.ended_at is None), None),
    )


async def _plan_in_round(
    session: AsyncSession, round_: Round, request: Request, team: RequestTeam | None, *, now: dt.datetime
) -> _Plan:
    """``_plan_of`` from what the round loaded (the same plan, no statement once the site is known)."""
    pauses = round_.pauses[request.id]
    stopped = [(pause.started_at, pause.ended_at) for pause in pauses if pause.ended_at is not None]
    if request.reopen_count:
        stopped.extend(_spells(round_.marks[request.id]))
    always = team is not None and team.calendar == Calendar.calendar
    key = (request.site_id, always, now)
    if key not in round_.calendars:
        round_.calendars[key] = await calendar_of(session, request.site_id, team, around=now)
    if request.site_id not in round_.targets:
        round_.targets[request.site_id] = await targets_of_site(session, request.site_id)
    return _Plan(
        calendar=round_.calendars[key],
        target=round_.targets[request.site_id][(RequestKind(request.kind), Priority(request.priority))],
        start=request.created_at,
        pauses=sorted(stopped),
        open_pause=next((pause for pause in pauses if pause.ended_at is None), None),
    )


def _spells(marks: list[tuple[EventKind, dt.datetime, dict]]) -> list[Interval]:
    spells: list[Interval] = []
    resolved_at: dt.datetime | None = None
    for kind, at, _values in marks:
        if kind == EventKind.resolved:
            resolved_at = at
        elif kind == EventKind.reopened and resolved_at is not None:
            spells.append((resolved_at, at))
            resolved_at = None
    return spells


def _warned_in(marks: list[tuple[EventKind, dt.datetime, dict]], target: str) -> bool:
    warned = False
    for kind, _at, values in marks:
        if kind == EventKind.reopened:
            warned = False
        elif kind == EventKind.warned and (values or {}).get("target") == target:
            warned = True
    return warned


async def _resolved_spells(session: AsyncSession, request: Request) -> list[Interval]:
    """From each resolution to its reopening: the asker had the answer, so the team's clock did not run."""
    events = await session.execute(
        select(RequestEvent.kind, RequestEvent.at)
        .where(
            RequestEvent.request_id == request.id,
            RequestEvent.kind.in_([EventKind.resolved, EventKind.reopened]),
        )
        .order_by(RequestEvent.at, RequestEvent.id)
    )
    spells: list[Interval] = []
    resolved_at: dt.datetime | None = None
    for kind, at in events:
        if kind == EventKind.resolved:
            resolved_at = at
        elif resolved_at is not None:
            spells.append((resolved_at, at))
            resolved_at = None
    return spells


async def _warned(session: AsyncSession, request: Request, target: str) -> bool:
    """Was the holder already warned about this target (since the request was last reopened)?"""
    round_ = round_of(session)
    if round_ is not None and request.id in round_.marks:
        return _warned_in(round_.marks[request.id], target)
    events = await session.execute(
        select(RequestEvent.kind, RequestEvent.values)
        .where(
            RequestEvent.request_id == request.id,
            RequestEvent.kind.in_([EventKind.warned, EventKind.reopened]),
        )
        .order_by(RequestEvent.at, RequestEvent.id)
    )
    warned = False
    for kind, values in events:
        if kind == EventKind.reopened:
            warned = False
        elif (values or {}).get("target") == target:
            warned = True
    return warned


async def plan_clock(session: AsyncSession, request: Request, *, now: dt.datetime) -> None:
    """Compute the due instants again and replace the request's timers (see the module's docstring).

    In a worker's round (``Round``) the new timers are kept for ``write_round`` and nothing is flushed here."""
    round_ = round_of(session)
    if round_ is None or request.id not in round_.pauses:
        round_ = None
        await session.execute(delete(RequestTimer).where(RequestTimer.request_id == request.id))
    if request.status == RequestStatus.closed:
        request.response_due_at = request.resolution_due_at = None
        if round_ is not None:
            round_.timers[request.id] = []
            return
        await session.flush()
        return
    plan = await _plan_of(session, request, now=now)
    settings = site_settings(await accounts.get_site(session, request.site_id))
    share = settings.request_warn_share
    running = request.status in OPEN_STATUSES and request.paused_at is None
    awaiting_response = request.first_response_at is None
    first, whole = plan.target.first_response_minutes * 60, plan.target.resolution_minutes * 60
    request.response_due_at = plan.due(first) if running and awaiting_response else None
    request.resolution_due_at = plan.due(whole) if running else None

    timers: dict[TimerKind, dt.datetime] = {}
    if running:
        clocks = [(RESPONSE, first, request.response_due_at, request.response_breached_at)]
        clocks.append((RESOLUTION, whole, request.resolution_due_at, request.resolution_breached_at))
        for name, seconds, due, breached_at in clocks:
            if due is None or breached_at is not None:
                continue
            timers[TimerKind(f"{name}_breach")] = due
            warn = plan.due(seconds * share)
            if share < 1 and not (warn <= now and await _warned(session, request, name)):
                timers[TimerKind(f"{name}_warn")] = warn
        if request.escalation_level == 1:
            if request.resolution_breached_at is not None:
                timers[TimerKind.escalate] = plan.due(whole * ESCALATE_AT_SHARE)
            elif awaiting_response and request.response_breached_at is not None:
                timers[TimerKind.escalate] = plan.due(first * ESCALATE_AT_SHARE)
    if request.status in OPEN_STATUSES:
        raise_at = await priorities.next_raise_at(session, request, now=now)
        if raise_at is not None:
            timers[TimerKind.priority_raise] = raise_at
    if request.status == RequestStatus.resolved and request.resolved_at is not None:
        timers[TimerKind.auto_close] = request.resolved_at + dt.timedelta(days=settings.request_confirm_days)
    rows = [{"request_id": request.id, "kind": kind, "due_at": due} for kind, due in timers.items()]
    if round_ is not None:
        round_.timers[request.id] = rows
        return
    if rows:
        await session.execute(insert(RequestTimer), rows)
    await session.flush()


async def pause(session: AsyncSession, request: Request, *, reason: str, now: dt.datetime) -> RequestPause:
    """Stop the clock (only while the request waits for the asker, ``reason`` from ``PAUSE_REASONS``).

    The caller records what happened (``asked_asker``); a request already paused stays in its pause.
    """
    if reason not in PAUSE_REASONS:
        raise DomainError(_("Choose why the request waits for the asker."), field="reason")
    if request.status not in OPEN_STATUSES:
        raise DomainError(_("This request is no longer open."), field="reason")
    current = await session.scalar(
        select(RequestPause).where(RequestPause.request_id == request.id, RequestPause.ended_at.is_(None))
    )
    if current is not None:
        return current
    started = RequestPause(request_id=request.id, started_at=now, reason=reason)
    session.add(started)
    request.paused_at = now
    await session.flush()
    await plan_clock(session, request, now=now)
    return started


async def resume(session: AsyncSession, request: Request, *, now: dt.datetime) -> None:
    """Run the clock again: the open pause ends at ``now`` and the due instants move by its working minutes."""
    current = await session.scalar(
        select(RequestPause).where(RequestPause.request_id == request.id, RequestPause.ended_at.is_(None))
    )
    if current is not None:
        current.ended_at = max(now, current.started_at)
    request.paused_at = None
    await session.flush()
    await plan_clock(session, request, now=now)


async def replan_open(
    session: AsyncSession,
    *,
    site_id: int,
    now: dt.datetime,
    kind: RequestKind | None = None,
    priority: Priority | None = None,
) -> int:
    """Plan again the clocks of a site's open requests (after a target or the working hours changed); answers how
    many."""
    query = select(Request).where(Request.site_id == site_id, Request.status.in_(OPEN_STATUSES))
    if kind is not None:
        query = query.where(Request.kind == kind)
    if priority is not None:
        query = query.where(Request.priority == priority)
    planned = 0
    for request in list(await session.scalars(query.order_by(Request.id))):
        await plan_clock(session, request, now=now)
        planned += 1
    return planned


async def plan_unclocked(session: AsyncSession, *, now: dt.datetime, limit: int = 500) -> int:
    """Plan the clock of open, running requests that have none: pay disputes carried over by migration 0025 (a
    migration cannot plan clocks), so an old open dispute runs on the pay clock from the worker's next minute."""
    query = (
        select(Request)
        .where(
            Request.status.in_(OPEN_STATUSES),
            Request.paused_at.is_(None),
            Request.resolution_due_at.is_(None),
        )
        .order_by(Request.id)
        .limit(limit)
    )
    planned = 0
    for request in list(await session.scalars(query)):
        await plan_clock(session, request, now=now)
        planned += 1
    return planned


async def change_target(
    session: AsyncSession,
    *,
    staff: User,
    kind: RequestKind,
    priority: Priority,
    first_response_minutes: int,
    resolution_minutes: int,
    now: dt.datetime,
) -> Target:
    """Set a site's target (``targets.set_target``) and plan again the open requests it governs, so a queued request
    that nobody touches meets the new target, not the old one."""
    target = await targets.set_target(
        session,
        staff=staff,
        kind=kind,
        priority=priority,
        first_response_minutes=first_response_minutes,
        resolution_minutes=resolution_minutes,
    )
    await replan_open(session, site_id=staff.site_id, now=now, kind=kind, priority=priority)
    return target


async def change_working_rules(
    session: AsyncSession,
    *,
    staff: User,
    hours_open: str,
    hours_close: str,
    days: Collection[int],
    warn_share: float,
    bounce_limit: int,
    confirm_days: int,
    root_causes: Collection[str],
    now: dt.datetime,
) -> None:
    """The working hours and days business-hours clocks count, the warning share, the bounce limit, the days an
    asker has to confirm and the root causes; every open request of the site is planned again on the new rules."""
    if staff.role not in STAFF_ROLES:
        raise Forbidden(_("Only coordinators set the working hours."))
    working_days = sorted({day for day in days if 0 <= day <= 6})
    if not working_days:
        raise DomainError(_("Choose at least one working day."), field="days")
    causes = list(dict.fromkeys(cause.strip() for cause in root_causes if cause.strip()))
    if any(len(cause) > 80 for cause in causes) or len(causes) > 30:
        raise DomainError(_("Give up to 30 root causes of at most 80 characters each."), field="root_causes")
    if hours_open >= hours_close:
        raise DomainError(_("The working day must end after it begins."), field="hours_close")
    await update_site_settings(
        session,
        await accounts.get_site(session, staff.site_id),
        request_hours_open=hours_open,
        request_hours_close=hours_close,
        request_working_days=working_days,
        request_warn_share=warn_share,
        request_bounce_limit=bounce_limit,
        request_confirm_days=confirm_days,
        request_root_causes=causes,
    )
    await replan_open(session, site_id=staff.site_id, now=now)


async def clock_view(session: AsyncSession, request: Request, *, now: dt.datetime) -> ClockView:
    """The clock in numbers for a page (read only: nothing is written)."""
    plan = await _plan_of(session, request, now=now)
    done = request.status in (RequestStatus.resolved, RequestStatus.closed)
    until = (request.resolved_at or request.closed_at or now) if done else now
    awaiting_response = request.first_response_at is None and not done
    stage = "done" if done else RESPONSE if awaiting_response else RESOLUTION
    target = plan.target.first_response_minutes if awaiting_response else plan.target.resolution_minutes
    used = plan.used_seconds(until) // 60
    breached_at = request.response_breached_at if awaiting_response else request.resolution_breached_at
    return ClockView(
        stage=stage,
        calendar=Calendar.calendar if plan.calendar.always else Calendar.business,
        target_minutes=target,
        used_minutes=used,
        left_minutes=target - used,
        paused=plan.open_pause is not None,
        pause_reason=plan.open_pause.reason if plan.open_pause is not None else "",
        paused_since=plan.open_pause.started_at if plan.open_pause is not None else None,
        breached=breached_at is not None or (not done and used >= target),
        response_target_minutes=plan.target.first_response_minutes,
        resolution_target_minutes=plan.target.resolution_minutes,
        response_due_at=request.response_due_at,
        resolution_due_at=request.resolution_due_at,
        response_breached_at=request.response_breached_at,
        resolution_breached_at=request.resolution_breached_at,
    )


def time_left_key(request: Request, now: dt.datetime) -> tuple[int, float, float]:
    """Sort a queue by time left: the soonest due first (the overdue before all), the paused and the unplanned
    last; ties by age, oldest first."""
    dues = [due for due in (request.response_due_at, request.resolution_due_at) if due is not None]
    created = request.created_at.timestamp()
    if request.paused_at is not None or not dues:
        return (1, math.inf, created)
    return (0, (min(dues) - now).total_seconds(), created)
