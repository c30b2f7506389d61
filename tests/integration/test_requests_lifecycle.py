"""A request's life after it is raised (``backend.requests.actions``): taken, answered, paused for the asker,
handed over (and flagged when it bounces), consulted, re-prioritised, resolved with a root cause, confirmed or
reopened, rated; ideas with "me too" and an outcome; a pay request settled through its dispute."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.accounts.site_settings import update_site_settings
from backend.core.db import Database, create_engine, utcnow
from backend.core.errors import Conflict, DomainError, Forbidden, NotFound
from backend.core.migrate import migrate
from backend.notify.models import Kind, Notification
from backend.pay import disputes
from backend.pay.models import Adjustment, DisputeStatus, PayPeriod, PeriodStatus
from backend.requests import actions, clock, history
from backend.requests.models import (
    Consultation,
    EventKind,
    IdeaOutcome,
    MeToo,
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
from tests.conftest import Factory
from tests.integration.test_disputes import an_open_dispute

NOW = dt.datetime(2030, 3, 4, 2, 0, tzinfo=dt.UTC)  # Monday 4 March 2030, 10:00 in Shanghai: a working morning
LATER = NOW + dt.timedelta(hours=1)


# The world -----------------------------------------------------------------------------------------------------


async def a_team(db: AsyncSession, site: Site, name: str, *members: User, lead: User | None = None) -> RequestTeam:
    team = RequestTeam(site_id=site.id, name=name, name_zh="", lead_id=lead.id if lead else None, created_at=NOW)
    db.add(team)
    await db.flush()
    db.add_all(TeamMember(team_id=team.id, user_id=member.id) for member in members)
    await db.commit()
    return team


async def a_request(
    db: AsyncSession,
    asker: User,
    *,
    kind: RequestKind = RequestKind.other,
    team: RequestTeam | None = None,
    owner: User | None = None,
    title: str = "The app logs me out",
    dispute_id: int | None = None,
    now: dt.datetime = NOW,
) -> Request:
    """A request as intake leaves it: raised, routed to ``team`` (and ``owner``), its clock planned."""
    request = Request(
        site_id=asker.site_id,
        kind=kind,
        asker_id=asker.id,
        title=title,
        details="Every time I open My schedule",
        team_id=team.id if team else None,
        owner_id=owner.id if owner else None,
        status=RequestStatus.in_progress if owner else RequestStatus.queued,
        priority=Priority.normal,
        dispute_id=dispute_id,
        created_at=now,
        updated_at=now,
    )
    db.add(request)
    await db.flush()
    await history.record(db, request, EventKind.raised, at=now, actor_id=asker.id)
    if team is not None:
        await history.record(
            db, request, EventKind.routed, at=now, to_team_id=team.id, to_user_id=owner.id if owner else None
        )
    await clock.plan_clock(db, request, now=now)
    await db.commit()
    return request


async def events(db: AsyncSession, request: Request) -> list[RequestEvent]:
    query = select(RequestEvent).where(RequestEvent.request_id == request.id).order_by(RequestEvent.id)
    return list(await db.scalars(query))


async def kinds_of(db: AsyncSession, request: Request) -> list[EventKind]:
    return [event.kind for event in await events(db, request)]


async def told(db: AsyncSession, user: User) -> list[tuple[Kind, str, str]]:
    """What ``user`` was told: (kind, message, link), oldest first."""
    rows = await db.scalars(select(Notification).where(Notification.user_id == user.id).order_by(Notification.id))
    return [(note.kind, (note.values or {}).get("message", ""), note.url) for note in rows]


async def timers(db: AsyncSession, request: Request) -> set[TimerKind]:
    return set(await db.scalars(select(RequestTimer.kind).where(RequestTimer.request_id == request.id)))


class World:
    """An agent who asks, a coordinator, two teams of finance people, and an agent of the site who did not ask."""

    def __init__(self, **people: Any) -> None:
        self.__dict__.update(people)


@pytest.fixture
async def world(db: AsyncSession, site: Site, people: Factory) -> World:
    asker = await people.make(Role.agent, display_name="Ana")
    colleague = await people.make(Role.agent, display_name="Bo")
    coordinator = await people.make(Role.coordinator, display_name="Cai")
    first, second, third = [await people.make(Role.finance, display_name=name) for name in ("Fu", "Gao", "Hu")]
    scheduling = await a_team(db, site, "Scheduling", first, second)
    systems = await a_team(db, site, "Systems", third)
    return World(
        asker=asker,
        colleague=colleague,
        coordinator=coordinator,
        first=first,
        second=second,
        third=third,
        scheduling=scheduling,
        systems=systems,
    )


# Taking and answering --------------------------------------------------------------------------------------

RACERS = 20


@pytest.fixture
async def racing(empty_database_url: str) -> AsyncIterator[tuple[Database, int, list[int]]]:
    """A fresh database of each kind with a queued request and the site's coordinators, each taking in their own
    unit of work (the per-test transaction of the other tests would serialise them)."""
    await asyncio.to_thread(migrate, empty_database_url, "head")
    postgres = empty_database_url.startswith("postgresql")
    engine = create_engine(empty_database_url, pool_size=RACERS if postgres else 5, max_overflow=0 if postgres else 20)
    database = Database(engine)
    async with database.session(write=True) as session:
        site = await accounts.ensure_site(session, name="Race Centre", timezone="Asia/Shanghai", country="CN")
        people = [
            User(
                email=f"racer{n}@example.com",
                display_name=f"Racer {n}",
                role=Role.agent if n == 0 else Role.coordinator,
                timezone=site.timezone,
                site_id=site.id,
            )
            for n in range(RACERS + 1)
        ]
        session.add_all(people)
        await session.flush()
        request = await a_request(session, people[0])
        ids = (request.id, [person.id for person in people[1:]])
    try:
        yield database, *ids
    finally:
        await database.dispose()


async def test_coordinators_racing_to_take_a_request_leave_exactly_one_holding_it(
    racing: tuple[Database, int, list[int]],
) -> None:
    database, request_id, staff_ids = racing

    async def take(user_id: int) -> str:
        try:
            async with database.session(write=True) as session:
                actor = await session.get(User, user_id)
                assert actor is not None
                await actions.take(session, request_id=request_id, actor=actor, now=NOW)
                return "ok"
        except Conflict:
            return "conflict"

    outcomes = await asyncio.gather(*(take(user_id) for user_id in staff_ids))

    assert Counter(outcomes) == {"ok": 1, "conflict": RACERS - 1}
    async with database.session() as session:
        owner = await session.scalar(select(Request.owner_id).where(Request.id == request_id))
        taken = await session.scalar(
            select(func.count()).where(RequestEvent.request_id == request_id, RequestEvent.kind == EventKind.taken)
        )
    assert owner in staff_ids
    assert taken == 1


async def test_the_first_to_take_a_queued_request_holds_it_and_the_second_gets_409(
    db: AsyncSession, world: World
) -> None:
    request = await a_request(db, world.asker, team=world.scheduling)

    taken = await actions.take(db, request_id=request.id, actor=world.first, now=NOW)
    assert (taken.owner_id, taken.status) == (world.first.id, RequestStatus.in_progress)
    with pytest.raises(Conflict) as refused:
        await actions.take(db, request_id=request.id, actor=world.second, now=NOW)
    assert refused.value.status_code == 409
    assert refused.value.message == "Someone took it first."
    await db.refresh(request)
    assert request.owner_id == world.first.id
    assert (await kinds_of(db, request)).count(EventKind.taken) == 1


async def test_the_first_answer_is_the_first_response_and_the_asker_is_told(db: AsyncSession, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling)
    assert TimerKind.response_breach in await timers(db, request)

    await actions.answer(db, request_id=request.id, actor=world.first, body="Log out and in again", now=LATER)
    assert request.first_response_at == LATER
    assert request.owner_id == world.first.id  # answering from the queue takes it
    assert request.response_due_at is None
    assert TimerKind.response_breach not in await timers(db, request)
    await actions.answer(
        db, request_id=request.id, actor=world.first, body="Did it work?", now=LATER + dt.timedelta(minutes=5)
    )
    assert request.first_response_at == LATER

    answered = [e for e in await events(db, request) if e.kind == EventKind.answered]
    assert [(e.body, e.internal, e.actor_id) for e in answered] == [
        ("Log out and in again", False, world.first.id),
        ("Did it work?", False, world.first.id),
    ]
    assert await told(db, world.asker) == [
        (Kind.request, "request_answered", f"/app/requests/{request.id}"),
        (Kind.request, "request_answered", f"/app/requests/{request.id}"),
    ]


async def test_an_internal_note_is_kept_from_the_asker(db: AsyncSession, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling, owner=world.first)

    await actions.note(db, request_id=request.id, actor=world.first, body="Ana asked this last month too", now=NOW)

    (noted,) = [e for e in await events(db, request) if e.kind == EventKind.noted]
    assert (noted.internal, noted.body) == (True, "Ana asked this last month too")
    assert request.first_response_at is None
    assert await told(db, world.asker) == []


async def test_empty_or_too_long_words_are_refused_naming_the_field(db: AsyncSession, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling, owner=world.first)
    for body in ("", "   ", "x" * 4001):
        with pytest.raises(DomainError) as refused:
            await actions.answer(db, request_id=request.id, actor=world.first, body=body, now=NOW)
        assert refused.value.field == "body"
    assert EventKind.answered not in await kinds_of(db, request)


# Waiting for the asker --------------------------------------------------------------------------------------


async def test_asking_the_asker_pauses_the_clock_and_the_reply_runs_it_again(db: AsyncSession, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling, owner=world.first)
    due_before = request.resolution_due_at
    assert due_before is not None

    with pytest.raises(DomainError) as refused:
        await actions.ask_asker(
            db, request_id=request.id, actor=world.first, body="Which phone?", reason="lunch", now=NOW
        )
    assert refused.value.field == "reason"

    await actions.ask_asker(
        db, request_id=request.id, actor=world.first, body="Which phone?", reason="more_information", now=LATER
    )
    assert (request.status, request.paused_at, request.resolution_due_at) == (RequestStatus.waiting, LATER, None)
    assert request.first_response_at == LATER  # a question to the asker is a response too
    assert await told(db, world.asker) == [(Kind.request, "request_waiting_for_you", f"/app/requests/{request.id}")]

    back = LATER + dt.timedelta(hours=2)
    await actions.reply(db, request_id=request.id, actor=world.asker, body="An old Android", now=back)
    assert (request.status, request.paused_at) == (RequestStatus.in_progress, None)
    assert request.resolution_due_at == due_before + dt.timedelta(hours=2)  # two working hours paused
    pause = await db.scalar(select(RequestPause).where(RequestPause.request_id == request.id))
    assert pause is not None
    assert (pause.started_at, pause.ended_at, pause.reason) == (LATER, back, "more_information")
    assert await kinds_of(db, request) == [
        EventKind.raised,
        EventKind.routed,
        EventKind.asked_asker,
        EventKind.asker_replied,
    ]
    assert await told(db, world.first) == [(Kind.staff_request, "request_replied", f"/admin/requests/{request.id}")]


async def test_only_the_asker_replies(db: AsyncSession, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling, owner=world.first)
    with pytest.raises(Forbidden):
        await actions.reply(db, request_id=request.id, actor=world.first, body="Me", now=NOW)
    with pytest.raises(NotFound):
        await actions.reply(db, request_id=request.id, actor=world.colleague, body="Me", now=NOW)


# Hand-over and bounces ----------------------------------------------------------------------------------------


async def test_a_hand_over_needs_a_note_and_is_kept_in_the_history(db: AsyncSession, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling, owner=world.first)

    with pytest.raises(DomainError) as refused:
        await actions.hand_over(
            db, request_id=request.id, actor=world.first, to_team_id=world.systems.id, note=" ", now=NOW
        )
    assert refused.value.field == "note"
    with pytest.raises(DomainError) as refused:
        await actions.hand_over(
            db,
            request_id=request.id,
            actor=world.first,
            to_team_id=world.systems.id,
            to_user_id=world.second.id,
            note="Not ours",
            now=NOW,
        )
    assert refused.value.field == "user"  # not a member of Systems

    await actions.hand_over(
        db,
        request_id=request.id,
        actor=world.first,
        to_team_id=world.systems.id,
        note="A login fault, not a schedule one; I checked her shifts",
        now=LATER,
    )
    assert (request.team_id, request.owner_id, request.status, request.handover_count) == (
        world.systems.id,
        None,
        RequestStatus.queued,
        1,
    )
    handed = (await events(db, request))[-1]
    assert (handed.kind, handed.from_team_id, handed.to_team_id, handed.actor_id, handed.body) == (
        EventKind.handed_over,
        world.scheduling.id,
        world.systems.id,
        world.first.id,
        "A login fault, not a schedule one; I checked her shifts",
    )
    assert await told(db, world.third) == [(Kind.staff_request, "request_new", f"/admin/requests/{request.id}")]
    assert await told(db, world.asker) == [(Kind.request, "request_handed_over", f"/app/requests/{request.id}")]
    with pytest.raises(NotFound):  # Fu (finance, in Scheduling only) no longer sees it
        await actions.note(db, request_id=request.id, actor=world.first, body="Still mine?", now=LATER)


async def test_bouncing_more_than_the_limit_flags_the_request_to_the_coordinators_once(
    db: AsyncSession, site: Site, world: World
) -> None:
    await update_site_settings(db, site, request_bounce_limit=1)
    await db.commit()
    request = await a_request(db, world.asker, team=world.scheduling)
    coordinator = world.coordinator

    async def hand(to: RequestTeam, minutes: int) -> None:
        await actions.hand_over(
            db,
            request_id=request.id,
            actor=coordinator,
            to_team_id=to.id,
            note="Yours, I think",
            now=NOW + dt.timedelta(minutes=minutes),
        )

    await hand(world.systems, 1)  # not a bounce: Systems never had it
    await hand(world.scheduling, 2)  # bounce 1: back to Scheduling
    assert request.bounce_flagged_at is None
    await hand(world.systems, 3)  # bounce 2: more than the limit of 1
    assert request.bounce_flagged_at == NOW + dt.timedelta(minutes=3)
    await hand(world.scheduling, 4)  # bounce 3: flagged already
    assert request.handover_count == 4
    assert (await kinds_of(db, request)).count(EventKind.bounce_flagged) == 1
    assert await told(db, coordinator) == [(Kind.staff_request, "request_bounced", f"/admin/requests/{request.id}")]


# Consultation ------------------------------------------------------------------------------------------------


async def test_a_consulted_colleague_sees_the_request_and_answers_once(db: AsyncSession, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling, owner=world.first)

    with pytest.raises(DomainError) as refused:
        await actions.consult(
            db, request_id=request.id, actor=world.first, user_id=world.colleague.id, question="?", now=NOW
        )
    assert refused.value.field == "user"  # an agent is not staff
    consultation = await actions.consult(
        db, request_id=request.id, actor=world.first, user_id=world.third.id, question="Is login down?", now=NOW
    )
    assert await told(db, world.third) == [(Kind.staff_request, "request_consulted", f"/admin/requests/{request.id}")]

    with pytest.raises(Forbidden):
        await actions.answer_consult(
            db, request_id=request.id, actor=world.first, consultation_id=consultation.id, answer="No", now=LATER
        )
    await actions.answer_consult(db, request_id=request.id, actor=world.third, answer="Not today", now=LATER)
    with pytest.raises(Conflict):
        await actions.answer_consult(
            db, request_id=request.id, actor=world.third, consultation_id=consultation.id, answer="Again", now=LATER
        )
    saved = await db.get(Consultation, consultation.id)
    assert saved is not None
    assert (saved.answer, saved.answered_at) == ("Not today", LATER)
    internal = [(e.kind, e.internal) for e in await events(db, request) if e.kind != EventKind.raised]
    assert internal == [
        (EventKind.routed, False),
        (EventKind.consulted, True),
        (EventKind.consult_answered, True),
    ]
    assert (Kind.staff_request, "request_consult_answered", f"/admin/requests/{request.id}") in await told(
        db, world.first
    )


# Priority ----------------------------------------------------------------------------------------------------


async def test_a_priority_changes_only_with_a_reason_and_the_clock_follows(db: AsyncSession, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling, owner=world.first)
    normal_due = request.resolution_due_at
    assert normal_due is not None

    with pytest.raises(DomainError) as refused:
        await actions.set_priority(
            db, request_id=request.id, actor=world.first, priority=Priority.low, reason="  ", now=LATER
        )
    assert refused.value.field == "reason"
    assert request.priority == Priority.normal

    await actions.set_priority(
        db, request_id=request.id, actor=world.first, priority=Priority.low, reason="Only cosmetic", now=LATER
    )
    assert request.priority == Priority.low
    assert request.resolution_due_at is not None
    assert request.resolution_due_at > normal_due
    await actions.set_priority(
        db, request_id=request.id, actor=world.first, priority=Priority.urgent, reason="Payday", now=LATER
    )
    changes = [(e.kind, e.values) for e in await events(db, request) if e.kind.startswith("priority")]
    assert changes == [
        (EventKind.priority_lowered, {"from": "normal", "to": "low", "reason": "Only cosmetic"}),
        (EventKind.priority_raised, {"from": "low", "to": "urgent", "reason": "Payday"}),
    ]


async def test_a_priority_change_during_a_pause_keeps_the_pause(db: AsyncSession, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling, owner=world.first)
    await actions.ask_asker(
        db, request_id=request.id, actor=world.first, body="Which phone?", reason="more_information", now=LATER
    )
    await actions.set_priority(
        db, request_id=request.id, actor=world.first, priority=Priority.high, reason="Payday", now=LATER
    )
    assert (request.status, request.paused_at, request.resolution_due_at) == (RequestStatus.waiting, LATER, None)


# Resolving, confirming, reopening, rating ----------------------------------------------------------------------


async def test_resolving_needs_a_root_cause_from_the_site_list(db: AsyncSession, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling, owner=world.first)
    with pytest.raises(DomainError) as refused:
        await actions.resolve(
            db, request_id=request.id, actor=world.first, root_cause="gremlins", resolution="Fixed", now=LATER
        )
    assert refused.value.field == "root_cause"
    with pytest.raises(DomainError) as refused:
        await actions.resolve(
            db, request_id=request.id, actor=world.first, root_cause="system_fault", resolution="", now=LATER
        )
    assert refused.value.field == "resolution"
    assert request.status == RequestStatus.in_progress

    await actions.resolve(
        db, request_id=request.id, actor=world.first, root_cause="system_fault", resolution="Fixed the login", now=LATER
    )
    assert (request.status, request.resolved_at, request.root_cause) == (RequestStatus.resolved, LATER, "system_fault")
    assert await timers(db, request) == {TimerKind.auto_close}
    assert await told(db, world.asker) == [(Kind.request, "request_resolved", f"/app/requests/{request.id}")]
    with pytest.raises(Conflict):
        await actions.resolve(
            db, request_id=request.id, actor=world.second, root_cause="no_fault", resolution="Again", now=LATER
        )


async def test_the_asker_confirms_and_the_request_closes(db: AsyncSession, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling, owner=world.first)
    with pytest.raises(Conflict):
        await actions.confirm(db, request_id=request.id, actor=world.asker, now=NOW)
    await actions.resolve(
        db, request_id=request.id, actor=world.first, root_cause="system_fault", resolution="Fixed", now=NOW
    )
    with pytest.raises(Forbidden):
        await actions.confirm(db, request_id=request.id, actor=world.first, now=LATER)

    await actions.confirm(db, request_id=request.id, actor=world.asker, now=LATER)
    assert (request.status, request.closed_at) == (RequestStatus.closed, LATER)
    assert await timers(db, request) == set()
    assert (await kinds_of(db, request))[-1] == EventKind.confirmed


async def test_a_resolved_request_closes_by_itself(db: AsyncSession, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling, owner=world.first)
    await actions.resolve(
        db, request_id=request.id, actor=world.first, root_cause="system_fault", resolution="Fixed", now=NOW
    )
    later = NOW + dt.timedelta(days=5)
    await actions.auto_close(db, request, now=later)
    assert (request.status, request.closed_at) == (RequestStatus.closed, later)
    await actions.auto_close(db, request, now=later)
    assert (await kinds_of(db, request)).count(EventKind.auto_closed) == 1
    assert (await told(db, world.asker))[-1] == (Kind.request, "request_closed", f"/app/requests/{request.id}")


async def test_the_asker_reopens_within_the_days_and_not_after(db: AsyncSession, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling, owner=world.first)
    await actions.resolve(
        db, request_id=request.id, actor=world.first, root_cause="system_fault", resolution="Fixed", now=NOW
    )
    with pytest.raises(DomainError) as refused:
        await actions.reopen(db, request_id=request.id, actor=world.asker, reason="", now=LATER)
    assert refused.value.field == "reason"

    await actions.reopen(db, request_id=request.id, actor=world.asker, reason="It logs me out again", now=LATER)
    assert (request.status, request.owner_id, request.reopen_count, request.resolved_at) == (
        RequestStatus.in_progress,
        world.first.id,
        1,
        None,
    )
    assert request.resolution_due_at is not None
    assert await told(db, world.first) == [(Kind.staff_request, "request_reopened", f"/admin/requests/{request.id}")]

    resolved_again = LATER + dt.timedelta(hours=1)
    await actions.resolve(
        db, request_id=request.id, actor=world.first, root_cause="system_fault", resolution="Really", now=resolved_again
    )
    too_late = resolved_again + dt.timedelta(days=5, minutes=1)
    with pytest.raises(Conflict):
        await actions.reopen(db, request_id=request.id, actor=world.asker, reason="Again", now=too_late)
    assert (request.status, request.reopen_count) == (RequestStatus.resolved, 1)


async def test_the_asker_rates_once_from_one_to_five(db: AsyncSession, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling, owner=world.first)
    with pytest.raises(Conflict):
        await actions.rate(db, request_id=request.id, actor=world.asker, rating=5, now=NOW)
    await actions.resolve(
        db, request_id=request.id, actor=world.first, root_cause="system_fault", resolution="Fixed", now=NOW
    )
    for rating in (0, 6):
        with pytest.raises(DomainError) as refused:
            await actions.rate(db, request_id=request.id, actor=world.asker, rating=rating, now=LATER)
        assert refused.value.field == "rating"
    with pytest.raises(Forbidden):
        await actions.rate(db, request_id=request.id, actor=world.first, rating=5, now=LATER)

    await actions.rate(db, request_id=request.id, actor=world.asker, rating=4, comment="Quick", now=LATER)
    with pytest.raises(Conflict):
        await actions.rate(db, request_id=request.id, actor=world.asker, rating=1, now=LATER)
    assert (request.rating, request.rating_comment) == (4, "Quick")


# Ideas -------------------------------------------------------------------------------------------------------


async def test_me_too_counts_each_colleague_once_never_the_asker_and_only_on_ideas(
    db: AsyncSession, world: World
) -> None:
    idea = await a_request(db, world.asker, kind=RequestKind.idea, title="A dark theme")
    problem = await a_request(db, world.asker, team=world.scheduling)

    await actions.me_too(db, request_id=idea.id, actor=world.colleague, on=True, now=NOW)
    await actions.me_too(db, request_id=idea.id, actor=world.colleague, on=True, now=LATER)
    await actions.me_too(db, request_id=idea.id, actor=world.first, on=True, now=LATER)
    assert idea.me_too_count == 2
    await actions.me_too(db, request_id=idea.id, actor=world.first, on=False, now=LATER)
    await actions.me_too(db, request_id=idea.id, actor=world.first, on=False, now=LATER)
    assert idea.me_too_count == 1
    assert list(await db.scalars(select(MeToo.user_id).where(MeToo.request_id == idea.id))) == [world.colleague.id]

    with pytest.raises(Forbidden):
        await actions.me_too(db, request_id=idea.id, actor=world.asker, on=True, now=NOW)
    with pytest.raises(NotFound):  # another agent's problem is not theirs to see
        await actions.me_too(db, request_id=problem.id, actor=world.colleague, on=True, now=NOW)
    with pytest.raises(Conflict):
        await actions.me_too(db, request_id=problem.id, actor=world.first, on=True, now=NOW)


async def test_an_ideas_outcome_tells_the_asker_and_everyone_who_said_me_too(db: AsyncSession, world: World) -> None:
    idea = await a_request(db, world.asker, kind=RequestKind.idea, title="A dark theme")
    await actions.me_too(db, request_id=idea.id, actor=world.colleague, on=True, now=NOW)

    with pytest.raises(DomainError) as refused:
        await actions.set_idea_outcome(
            db, request_id=idea.id, actor=world.coordinator, outcome=IdeaOutcome.declined, note="", now=LATER
        )
    assert refused.value.field == "note"
    with pytest.raises(Forbidden):  # a colleague sees the idea, but staff decide what is done with it
        await actions.set_idea_outcome(
            db, request_id=idea.id, actor=world.colleague, outcome=IdeaOutcome.planned, note="", now=LATER
        )

    await actions.set_idea_outcome(
        db, request_id=idea.id, actor=world.coordinator, outcome=IdeaOutcome.done, note="Settings > Theme", now=LATER
    )
    assert (idea.status, idea.idea_outcome, idea.outcome_note) == (
        RequestStatus.resolved,
        IdeaOutcome.done,
        "Settings > Theme",
    )
    for person in (world.asker, world.colleague):
        assert await told(db, person) == [(Kind.request, "request_idea_outcome", f"/app/requests/{idea.id}")]


# Who may act ----------------------------------------------------------------------------------------------------


async def test_the_wrong_person_gets_403_or_404(db: AsyncSession, site: Site, people: Factory, world: World) -> None:
    request = await a_request(db, world.asker, team=world.scheduling)
    elsewhere = await people.make(Role.coordinator, site=await _another_site(db))

    with pytest.raises(Forbidden):  # the asker sees it, but staff take it
        await actions.take(db, request_id=request.id, actor=world.asker, now=NOW)
    with pytest.raises(NotFound):  # another agent does not see it
        await actions.answer(db, request_id=request.id, actor=world.colleague, body="Hi", now=NOW)
    with pytest.raises(NotFound):  # finance outside the team does not see a non-pay request
        await actions.answer(db, request_id=request.id, actor=world.third, body="Hi", now=NOW)
    with pytest.raises(NotFound):  # another site's coordinator
        await actions.take(db, request_id=request.id, actor=elsewhere, now=NOW)
    taken = await actions.take(db, request_id=request.id, actor=world.coordinator, now=NOW)  # the site's coordinator
    assert taken.owner_id == world.coordinator.id


async def _another_site(db: AsyncSession) -> Site:
    return await accounts.ensure_site(db, name="Other Centre", timezone="Asia/Shanghai", country="CN")


# Pay disputes ------------------------------------------------------------------------------------------------


async def test_a_pay_request_with_a_dispute_resolves_through_the_pay_rules(
    db: AsyncSession, site: Site, people: Factory, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 10, 4, 0, tzinfo=dt.UTC), tick=False)
    agent = await people.make(Role.agent)
    finance = await people.make(Role.finance)
    dispute = await an_open_dispute(db, site, agent)
    now = utcnow()
    request = await a_request(db, agent, kind=RequestKind.pay, dispute_id=dispute.id, title="Calls", now=now)

    with pytest.raises(DomainError) as refused:
        await actions.resolve_dispute(
            db, request_id=request.id, actor=finance, action="adjust", amount_minor=0, reason="Two calls", now=now
        )
    assert refused.value.field == "amount"
    await actions.resolve_dispute(
        db, request_id=request.id, actor=finance, action="adjust", amount_minor=160, reason="Two calls", now=now
    )

    await db.refresh(dispute)
    assert (dispute.status, dispute.resolved_by_id) == (DisputeStatus.adjusted, finance.id)
    adjustment = await db.get(Adjustment, dispute.adjustment_id)
    assert adjustment is not None
    assert (adjustment.user_id, adjustment.amount_minor, adjustment.reason, adjustment.author_id) == (
        agent.id,
        160,
        "Two calls",
        finance.id,
    )
    period = await db.get(PayPeriod, adjustment.period_id)
    assert period is not None
    assert period.status == PeriodStatus.open
    assert (request.status, request.root_cause, request.resolution, request.owner_id) == (
        RequestStatus.resolved,
        "pay_error",
        "Two calls",
        finance.id,
    )
    notes = await told(db, agent)
    assert [message for _kind, message, _url in notes] == ["dispute_adjusted"]  # told once, by the dispute
    with pytest.raises(Conflict):
        await actions.resolve_dispute(db, request_id=request.id, actor=finance, action="reject", reason="No", now=now)


async def test_a_dispute_resolved_on_the_old_page_resolves_its_request(
    db: AsyncSession, site: Site, people: Factory, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 10, 4, 0, tzinfo=dt.UTC), tick=False)
    agent = await people.make(Role.agent)
    coordinator = await people.make(Role.coordinator)
    dispute = await an_open_dispute(db, site, agent)
    now = utcnow()
    request = await a_request(db, agent, kind=RequestKind.pay, dispute_id=dispute.id, title="Calls", now=now)

    await disputes.reject(db, dispute_id=dispute.id, staff=coordinator, reason="All 12 were paid", now=now)
    settled = await actions.settle_from_dispute(db, dispute=dispute, actor=coordinator, now=now)
    assert settled is not None
    assert (request.status, request.root_cause, request.resolution) == (
        RequestStatus.resolved,
        "no_fault",
        "All 12 were paid",
    )
    assert await actions.settle_from_dispute(db, dispute=dispute, actor=coordinator, now=now) is None
