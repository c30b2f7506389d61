"""Requests' clocks: targets, pauses, priority, warnings, breaches, escalation, auto-close, the worker's wake-up."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, User
from backend.core.db import Database
from backend.core.errors import DomainError, Forbidden
from backend.core.settings import Settings
from backend.notify.models import Notification
from backend.requests import actions, clock, timers
from backend.requests.models import (
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
    TeamMember,
    TimerKind,
)
from backend.requests.priority import SHIFT_WITHIN_2H, SHIFT_WITHIN_24H, initial_priority
from backend.requests.targets import DEFAULT_TARGETS, set_target, target_for, targets_of_site
from backend.worker import PushWorker
from tests.factories import Factory, a_held_shift

SHANGHAI = ZoneInfo("Asia/Shanghai")
SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment in the working week of Monday 4 March 2030 (no holiday in China), Shanghai time, as UTC."""
    return dt.datetime(2030, 3, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


MONDAY_9 = at(4, 9)


async def a_team(
    db: AsyncSession,
    site: Site,
    *,
    lead: User | None = None,
    members: tuple[User, ...] = (),
    calendar: Calendar = Calendar.business,
) -> RequestTeam:
    team = RequestTeam(site_id=site.id, name=f"Team {len(members)}-{calendar}", calendar=calendar)
    team.lead_id = lead.id if lead else None
    db.add(team)
    await db.flush()
    db.add_all(TeamMember(team_id=team.id, user_id=member.id) for member in members)
    await db.flush()
    return team


async def a_request(
    db: AsyncSession,
    asker: User,
    *,
    created_at: dt.datetime = MONDAY_9,
    kind: RequestKind = RequestKind.other,
    priority: Priority = Priority.normal,
    team: RequestTeam | None = None,
    owner: User | None = None,
    **fields: Any,
) -> Request:
    request = Request(
        site_id=asker.site_id,
        kind=kind,
        asker_id=asker.id,
        title="The app logs me out",
        details="Every ten minutes.",
        status=RequestStatus.in_progress if owner else RequestStatus.queued,
        priority=priority,
        team_id=team.id if team else None,
        owner_id=owner.id if owner else None,
        created_at=created_at,
        updated_at=created_at,
        **fields,
    )
    db.add(request)
    await db.flush()
    await clock.plan_clock(db, request, now=created_at)
    return request


async def timers_of(db: AsyncSession, request: Request) -> dict[TimerKind, dt.datetime]:
    rows = await db.execute(select(RequestTimer.kind, RequestTimer.due_at).where(RequestTimer.request_id == request.id))
    return {kind: due for kind, due in rows}


async def events_of(db: AsyncSession, request: Request, kind: EventKind) -> list[RequestEvent]:
    query = select(RequestEvent).where(RequestEvent.request_id == request.id, RequestEvent.kind == kind)
    return list(await db.scalars(query.order_by(RequestEvent.id)))


async def told(db: AsyncSession, user: User, message: str) -> int:
    rows = await db.scalars(select(Notification.values).where(Notification.user_id == user.id))
    return sum(1 for values in rows if (values or {}).get("message") == message)


# Targets ---------------------------------------------------------------------------------------------


async def test_targets_default_per_kind_and_priority_and_a_site_sets_its_own(db: AsyncSession, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    default = await target_for(db, coordinator.site_id, RequestKind.pay, Priority.high)
    assert (default.first_response_minutes, default.resolution_minutes) == DEFAULT_TARGETS[
        (RequestKind.pay, Priority.high)
    ]
    assert not default.custom
    urgent = DEFAULT_TARGETS[(RequestKind.other, Priority.urgent)]
    low = DEFAULT_TARGETS[(RequestKind.other, Priority.low)]
    assert urgent[0] < low[0]
    assert urgent[1] < low[1]

    await set_target(
        db,
        staff=coordinator,
        kind=RequestKind.pay,
        priority=Priority.high,
        first_response_minutes=60,
        resolution_minutes=300,
    )
    mine = await target_for(db, coordinator.site_id, RequestKind.pay, Priority.high)
    assert (mine.first_response_minutes, mine.resolution_minutes, mine.custom) == (60, 300, True)
    every = await targets_of_site(db, coordinator.site_id)
    assert len(every) == len(RequestKind) * len(Priority)
    assert every[(RequestKind.pay, Priority.high)] == mine
    assert not every[(RequestKind.pay, Priority.low)].custom


@pytest.mark.parametrize(
    ("first", "resolution", "field"),
    [(0, 60, "first_response_minutes"), (60, 0, "resolution_minutes"), (120, 60, "resolution_minutes")],
)
async def test_a_target_out_of_range_names_its_field(
    db: AsyncSession, people: Factory, first: int, resolution: int, field: str
) -> None:
    coordinator = await people.make(Role.coordinator)
    with pytest.raises(DomainError) as refused:
        await set_target(
            db,
            staff=coordinator,
            kind=RequestKind.system,
            priority=Priority.normal,
            first_response_minutes=first,
            resolution_minutes=resolution,
        )
    assert refused.value.field == field


@pytest.mark.parametrize("role", [Role.agent, Role.finance])
async def test_only_coordinators_set_targets(db: AsyncSession, people: Factory, role: Role) -> None:
    someone = await people.make(role)
    with pytest.raises(Forbidden):
        await set_target(
            db,
            staff=someone,
            kind=RequestKind.system,
            priority=Priority.normal,
            first_response_minutes=60,
            resolution_minutes=120,
        )


# Planning and pauses ----------------------------------------------------------------------------------


async def test_due_instants_count_business_hours_of_the_site(db: AsyncSession, people: Factory) -> None:
    agent = await people.make(Role.agent)
    request = await a_request(db, agent)  # other, normal: 240 minutes to respond, three working days to resolve
    assert request.response_due_at == at(4, 13)
    assert request.resolution_due_at == at(6, 18)
    assert await timers_of(db, request) == {
        TimerKind.response_warn: at(4, 12),  # at 75% of the target
        TimerKind.response_breach: at(4, 13),
        TimerKind.resolution_warn: at(6, 11, 15),
        TimerKind.resolution_breach: at(6, 18),
    }


async def test_a_calendar_hours_team_counts_every_hour(db: AsyncSession, people: Factory) -> None:
    agent = await people.make(Role.agent)
    team = await a_team(db, people.site, calendar=Calendar.calendar)
    friday_5pm = at(8, 17)
    request = await a_request(db, agent, team=team, created_at=friday_5pm)
    assert request.response_due_at == at(8, 21)
    assert request.resolution_due_at == friday_5pm + 3 * 9 * HOUR


async def test_a_pause_moves_the_due_instants_by_exactly_the_paused_working_minutes(
    db: AsyncSession, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    request = await a_request(db, agent)
    pause = await clock.pause(db, request, reason="more_information", now=at(4, 10))
    assert (request.response_due_at, request.resolution_due_at) == (None, None)
    assert await timers_of(db, request) == {}
    view = await clock.clock_view(db, request, now=at(5, 10))
    assert (view.paused, view.pause_reason, view.used_minutes) == (True, "more_information", 60)

    await clock.resume(db, request, now=at(5, 10))  # paused 8 working hours on Monday and 1 on Tuesday
    assert pause.ended_at == at(5, 10)
    assert request.response_due_at == at(5, 13)  # was Monday 13:00, + 540 working minutes
    assert request.resolution_due_at == at(7, 18)  # was Wednesday 18:00, + 540 working minutes
    view = await clock.clock_view(db, request, now=at(5, 11))
    assert (view.paused, view.stage, view.used_minutes, view.left_minutes) == (False, "response", 120, 120)


async def test_a_pause_for_an_unlisted_reason_is_refused(db: AsyncSession, people: Factory) -> None:
    request = await a_request(db, await people.make(Role.agent))
    with pytest.raises(DomainError) as refused:
        await clock.pause(db, request, reason="lunch", now=at(4, 10))
    assert refused.value.field == "reason"


async def test_a_priority_change_during_a_pause_keeps_the_pause(db: AsyncSession, people: Factory) -> None:
    agent = await people.make(Role.agent)
    coordinator = await people.make(Role.coordinator)
    request = await a_request(db, agent, owner=coordinator)
    await clock.pause(db, request, reason="trying_a_fix", now=at(4, 10))
    await actions.set_priority(
        db, request_id=request.id, actor=coordinator, priority=Priority.high, reason="VIP caller", now=at(4, 15)
    )
    assert request.response_due_at is None  # still paused
    await clock.resume(db, request, now=at(5, 10))
    assert await db.scalar(select(func.count()).select_from(RequestPause)) == 1
    # High: 120 minutes to respond, 540 to resolve. 60 ran before the pause, which still counts as paused.
    assert request.response_due_at == at(5, 11)
    assert request.resolution_due_at == at(5, 18)


# Timers --------------------------------------------------------------------------------------------------


async def test_a_warning_at_the_warn_share_then_a_breach_at_the_target_to_the_minute(
    db: AsyncSession, people: Factory
) -> None:
    agent, owner, lead = (
        await people.make(Role.agent),
        await people.make(Role.coordinator),
        await people.make(Role.coordinator),
    )
    team = await a_team(db, people.site, lead=lead, members=(owner,))
    request = await a_request(db, agent, team=team, owner=owner)

    assert await timers.fire_due_timers(db, now=at(4, 12) - SECOND) == 0
    assert await timers.fire_due_timers(db, now=at(4, 12)) == 1
    assert [event.values["target"] for event in await events_of(db, request, EventKind.warned)] == ["response"]
    assert await told(db, owner, "request_warned") == 1

    assert await timers.fire_due_timers(db, now=at(4, 13) - SECOND) == 0
    assert await timers.fire_due_timers(db, now=at(4, 13)) == 1
    assert request.response_breached_at == at(4, 13)
    assert len(await events_of(db, request, EventKind.breached)) == 1
    assert request.escalation_level == 1
    assert await told(db, lead, "request_escalated") == 1
    escalated = await events_of(db, request, EventKind.escalated)
    assert [(event.values["level"], event.to_user_id) for event in escalated] == [(1, lead.id)]
    assert (await timers_of(db, request))[TimerKind.escalate] == at(4, 15)  # 150% of the 240-minute target


async def test_escalation_goes_to_the_lead_then_to_the_coordinators(db: AsyncSession, people: Factory) -> None:
    agent, owner = await people.make(Role.agent), await people.make(Role.finance)
    lead, coordinator = await people.make(Role.finance), await people.make(Role.coordinator)
    team = await a_team(db, people.site, lead=lead, members=(owner,))
    request = await a_request(db, agent, team=team, owner=owner)

    assert await timers.fire_due_timers(db, now=at(4, 13)) == 2  # the warning and the breach, in order
    assert request.escalation_level == 1
    assert await timers.fire_due_timers(db, now=at(4, 15) - SECOND) == 0
    assert await timers.fire_due_timers(db, now=at(4, 15)) == 1
    assert request.escalation_level == 2
    assert await told(db, coordinator, "request_escalated") == 1
    assert await told(db, lead, "request_escalated") == 1  # only the first level
    assert TimerKind.escalate not in await timers_of(db, request)
    levels = [event.values["level"] for event in await events_of(db, request, EventKind.escalated)]
    assert levels == [1, 2]


async def test_a_team_without_a_lead_escalates_to_the_coordinators_at_once(db: AsyncSession, people: Factory) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    request = await a_request(db, agent)  # the site queue
    await timers.fire_due_timers(db, now=at(4, 13))
    assert request.escalation_level == 2
    assert await told(db, coordinator, "request_escalated") == 1


async def test_an_answered_request_is_not_breached_for_its_first_response(db: AsyncSession, people: Factory) -> None:
    agent, owner = await people.make(Role.agent), await people.make(Role.coordinator)
    request = await a_request(db, agent, owner=owner)
    await actions.answer(db, request_id=request.id, actor=owner, body="Looking into it.", now=at(4, 11))
    assert request.response_due_at is None
    kinds = set(await timers_of(db, request))
    assert kinds == {TimerKind.resolution_warn, TimerKind.resolution_breach}
    assert await timers.fire_due_timers(db, now=at(4, 14)) == 0
    assert request.response_breached_at is None


async def test_the_priority_rises_as_the_shift_comes_near(db: AsyncSession, people: Factory) -> None:
    agent = await people.make(Role.agent)
    shift_start = at(5, 16)
    shift = await a_held_shift(db, agent, shift_start)
    request = Request(
        site_id=agent.site_id,
        kind=RequestKind.schedule,
        asker_id=agent.id,
        title="Swap needed",
        details="I cannot make it.",
        shift_id=shift.id,
        status=RequestStatus.queued,
        priority=Priority.normal,
        created_at=at(4, 9),
        updated_at=at(4, 9),
    )
    assert await initial_priority(db, request, now=at(4, 9)) == (Priority.normal, "kind_default")
    assert await initial_priority(db, request, now=at(5, 10)) == (Priority.high, SHIFT_WITHIN_24H)
    assert await initial_priority(db, request, now=at(5, 14, 30)) == (Priority.urgent, SHIFT_WITHIN_2H)
    db.add(request)
    await db.flush()
    await clock.plan_clock(db, request, now=at(4, 9))
    assert (await timers_of(db, request))[TimerKind.priority_raise] == shift_start - 24 * HOUR

    await timers.fire_due_timers(db, now=shift_start - 24 * HOUR)
    assert request.priority == Priority.high
    assert (await timers_of(db, request))[TimerKind.priority_raise] == shift_start - 2 * HOUR
    await timers.fire_due_timers(db, now=shift_start - 2 * HOUR - SECOND)  # its escalation fires meanwhile
    assert request.priority == Priority.high
    await timers.fire_due_timers(db, now=shift_start - 2 * HOUR)
    assert request.priority == Priority.urgent
    reasons = [event.values["reason"] for event in await events_of(db, request, EventKind.priority_raised)]
    assert reasons == [SHIFT_WITHIN_24H, SHIFT_WITHIN_2H]
    assert TimerKind.priority_raise not in await timers_of(db, request)


async def test_a_resolved_request_closes_by_itself_after_the_confirm_days(db: AsyncSession, people: Factory) -> None:
    agent, owner = await people.make(Role.agent), await people.make(Role.coordinator)
    request = await a_request(db, agent, owner=owner)
    await actions.resolve(
        db, request_id=request.id, actor=owner, root_cause="other", resolution="Fixed the app.", now=at(4, 11)
    )
    timers_now = await timers_of(db, request)
    assert timers_now == {TimerKind.auto_close: at(4, 11) + dt.timedelta(days=5)}
    assert await timers.fire_due_timers(db, now=at(9, 11) - SECOND) == 0
    assert await timers.fire_due_timers(db, now=at(9, 11)) == 1
    assert request.status == RequestStatus.closed
    assert len(await events_of(db, request, EventKind.auto_closed)) == 1
    assert await timers_of(db, request) == {}


async def test_a_reopened_request_does_not_count_the_time_it_sat_resolved(db: AsyncSession, people: Factory) -> None:
    agent, owner = await people.make(Role.agent), await people.make(Role.coordinator)
    request = await a_request(db, agent, owner=owner)
    assert request.resolution_due_at == at(6, 18)
    await actions.answer(db, request_id=request.id, actor=owner, body="Try logging in again.", now=at(4, 10))
    await actions.resolve(
        db, request_id=request.id, actor=owner, root_cause="other", resolution="Fixed the app.", now=at(4, 11)
    )
    await actions.reopen(db, request_id=request.id, actor=agent, reason="Still logs me out.", now=at(5, 11))
    assert request.status == RequestStatus.in_progress
    assert request.resolution_due_at == at(7, 18)  # 7 hours on Monday and 2 on Tuesday sat resolved
    assert set(await timers_of(db, request)) == {TimerKind.resolution_warn, TimerKind.resolution_breach}


async def test_planning_again_replaces_the_timers(db: AsyncSession, people: Factory) -> None:
    request = await a_request(db, await people.make(Role.agent))
    before = await timers_of(db, request)
    await clock.plan_clock(db, request, now=at(4, 10))
    await clock.plan_clock(db, request, now=at(4, 11))
    assert await timers_of(db, request) == before
    count = await db.scalar(select(func.count()).select_from(RequestTimer).where(RequestTimer.request_id == request.id))
    assert count == len(before)


async def test_a_warning_already_given_is_not_planned_again(db: AsyncSession, people: Factory) -> None:
    request = await a_request(db, await people.make(Role.agent))
    await timers.fire_due_timers(db, now=at(4, 12))
    await clock.plan_clock(db, request, now=at(4, 12, 30))
    assert TimerKind.response_warn not in await timers_of(db, request)


async def test_two_rounds_never_fire_a_timer_twice(db: AsyncSession, people: Factory) -> None:
    request = await a_request(db, await people.make(Role.agent))
    assert await timers.fire_due_timers(db, now=at(4, 12)) == 1
    assert await timers.fire_due_timers(db, now=at(4, 12)) == 0
    assert len(await events_of(db, request, EventKind.warned)) == 1


async def test_the_earliest_due_timer_fires_first_within_the_limit(db: AsyncSession, people: Factory) -> None:
    agent = await people.make(Role.agent)
    later = await a_request(db, agent, created_at=at(4, 10))
    sooner = await a_request(db, agent, created_at=at(4, 9))
    assert await timers.fire_due_timers(db, now=at(4, 13), limit=1) == 1
    assert len(await events_of(db, sooner, EventKind.warned)) == 1
    assert await events_of(db, later, EventKind.warned) == []


# The worker -----------------------------------------------------------------------------------------------


async def test_the_worker_wakes_for_the_next_due_clock(
    db: AsyncSession, people: Factory, database: Database, settings: Settings
) -> None:
    worker = PushWorker(database, settings)
    interval = float(settings.push_worker_interval_seconds)
    assert await worker.seconds_to_sleep(now=at(4, 9)) == interval
    request = await a_request(db, await people.make(Role.agent))
    next_due = await timers.next_timer_at(db)
    assert next_due == at(4, 12)
    assert await worker.seconds_to_sleep(now=at(4, 12) - 2 * SECOND) == min(interval, 2.0)
    assert await worker.seconds_to_sleep(now=at(4, 12) + MINUTE) == 0.0
    assert request.id


async def test_an_open_request_without_a_clock_gets_one_from_the_minute_job(db: AsyncSession, people: Factory) -> None:
    """Migration 0025 carries open pay disputes over without a clock; the worker's minute job plans it."""
    agent = await people.make(Role.agent)
    request = await a_request(db, agent, kind=RequestKind.pay)
    planned = await timers_of(db, request)
    await db.execute(RequestTimer.__table__.delete().where(RequestTimer.request_id == request.id))
    request.response_due_at = request.resolution_due_at = None
    await db.flush()

    assert await clock.plan_unclocked(db, now=MONDAY_9) >= 1
    await db.refresh(request)
    assert request.resolution_due_at is not None
    assert await timers_of(db, request) == planned
    assert await clock.plan_unclocked(db, now=MONDAY_9) == 0  # planned once: the next minute finds nothing


async def test_a_changed_target_or_working_day_moves_the_open_requests_due_instants(
    db: AsyncSession, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    agent = await people.make(Role.agent)
    request = await a_request(db, agent, kind=RequestKind.pay, priority=Priority.high)
    before = request.resolution_due_at

    await clock.change_target(
        db,
        staff=coordinator,
        kind=RequestKind.pay,
        priority=Priority.high,
        first_response_minutes=30,
        resolution_minutes=60,
        now=MONDAY_9,
    )
    await db.refresh(request)
    assert request.resolution_due_at == MONDAY_9 + HOUR != before

    await clock.change_working_rules(
        db,
        staff=coordinator,
        hours_open="10:00",
        hours_close="18:00",
        days=[0, 1, 2, 3, 4],
        warn_share=0.75,
        bounce_limit=3,
        confirm_days=5,
        root_causes=["other"],
        now=MONDAY_9,
    )
    await db.refresh(request)
    assert request.resolution_due_at == MONDAY_9 + 2 * HOUR  # the day now opens at 10:00
