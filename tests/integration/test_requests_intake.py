"""Raising a request: each kind's template (its link required or refused, a shift the agent holds, a course and
quiz question of the site, a pay period of the site, a day not in the future), 422s naming the field, the history
written, the priority a situation asks for, a pay request that files its dispute, and a file with a system problem."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.web import parse_fields
from backend.notify.models import Kind, Notification
from backend.pay import periods
from backend.pay.models import Dispute, DisputeStatus
from backend.requests import intake
from backend.requests.attachments import Upload
from backend.requests.models import (
    Attachment,
    EventKind,
    Priority,
    Request,
    RequestEvent,
    RequestKind,
    RequestStatus,
)
from backend.requests.schemas import RequestDraft
from tests.conftest import Factory
from tests.factories import a_course, a_held_shift
from tests.integration.test_earnings import DAY, a_worked_week

NOW = dt.datetime(2030, 3, 4, 2, 0, tzinfo=dt.UTC)  # Monday 4 March 2030, 10:00 in Shanghai
TODAY = dt.date(2030, 3, 4)
OPEN_REF = "2026-11-03:piece:call:billing"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def draft(kind: RequestKind, **fields: object) -> RequestDraft:
    return RequestDraft(kind=kind, title=fields.pop("title", "Help"), details="What happened, in words.", **fields)  # type: ignore[arg-type]


async def refused_field(db: AsyncSession, asker: User, request_draft: RequestDraft, **more: object) -> str | None:
    with pytest.raises(DomainError) as refused:
        await intake.raise_request(db, asker=asker, draft=request_draft, now=NOW, **more)  # type: ignore[arg-type]
    return refused.value.field


async def event_kinds(db: AsyncSession, request: Request) -> list[EventKind]:
    return list(
        await db.scalars(
            select(RequestEvent.kind).where(RequestEvent.request_id == request.id).order_by(RequestEvent.id)
        )
    )


async def count_requests(db: AsyncSession) -> int:
    return await db.scalar(select(func.count()).select_from(Request)) or 0


def test_the_draft_is_read_from_a_form_with_refusals_naming_the_field() -> None:
    read = parse_fields(
        RequestDraft,
        {"kind": "learning", "title": " Q3 ", "details": "Why?", "course": "4", "question": "3", "happened_on": ""},
    )
    assert (read.kind, read.course, read.question, read.happened_on) == (RequestKind.learning, 4, 3, None)
    for field, value in [
        ("kind", "refund"),
        ("question", "201"),
        ("question", "0"),
        ("shift", "abc"),
        ("happened_on", "9999-01-01"),
        ("title", "x" * 161),
    ]:
        with pytest.raises(DomainError) as refused:
            parse_fields(RequestDraft, {"kind": "other", "title": "T", "details": "D", field: value})
        assert refused.value.field == field
    with pytest.raises(DomainError) as refused:
        parse_fields(RequestDraft, {"kind": "other", "title": "", "details": "D"})
    assert refused.value.field == "title"


# Schedule problems ----------------------------------------------------------------------------------------


async def test_a_schedule_problem_names_a_shift_the_agent_holds_or_held(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, colleague = await people.make(Role.agent), await people.make(Role.agent)
    coordinator = await people.make(Role.coordinator)
    start = NOW + dt.timedelta(days=5)
    mine = await a_held_shift(db, agent, start)
    given_back = await a_held_shift(db, agent, start + dt.timedelta(days=1), released_at=NOW - dt.timedelta(days=1))
    theirs = await a_held_shift(db, colleague, start)
    mine_id, theirs_id = mine.id, theirs.id

    assert await refused_field(db, agent, draft(RequestKind.schedule)) == "shift"
    assert await refused_field(db, agent, draft(RequestKind.schedule, shift=theirs_id)) == "shift"
    assert await refused_field(db, agent, draft(RequestKind.schedule, shift=theirs_id + 1000)) == "shift"
    assert await refused_field(db, agent, draft(RequestKind.schedule, shift=mine_id, course=1)) == "course"
    assert await count_requests(db) == 0

    request = await intake.raise_request(
        db, asker=agent, draft=draft(RequestKind.schedule, shift=mine.id, happened_on=TODAY), now=NOW
    )
    held = await intake.raise_request(db, asker=agent, draft=draft(RequestKind.schedule, shift=given_back.id), now=NOW)
    # Staff may name any shift of the site.
    by_staff = await intake.raise_request(
        db, asker=coordinator, draft=draft(RequestKind.schedule, shift=theirs.id), now=NOW
    )
    await db.commit()

    assert (request.shift_id, request.skill_id, request.happened_on) == (mine.id, mine.skill_id, TODAY)
    assert (request.status, request.priority, request.asker_id) == (RequestStatus.queued, Priority.normal, agent.id)
    assert (held.shift_id, by_staff.shift_id) == (given_back.id, theirs.id)
    assert await event_kinds(db, request) == [EventKind.raised]
    raised = await db.scalar(select(RequestEvent).where(RequestEvent.request_id == request.id))
    assert raised is not None
    assert (raised.actor_id, raised.at) == (agent.id, NOW)
    assert request.resolution_due_at is not None  # on its clock


async def test_a_shift_starting_within_a_day_raises_the_priority_with_its_reason(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    soon = await a_held_shift(db, agent, NOW + dt.timedelta(hours=5))
    request = await intake.raise_request(db, asker=agent, draft=draft(RequestKind.schedule, shift=soon.id), now=NOW)
    await db.commit()

    assert request.priority == Priority.high
    raised = await db.scalar(
        select(RequestEvent).where(
            RequestEvent.request_id == request.id, RequestEvent.kind == EventKind.priority_raised
        )
    )
    assert raised is not None
    assert raised.values["to"] == "high"
    assert raised.values["reason"]


async def test_the_day_it_happened_cannot_be_in_the_future(db: AsyncSession, site: Site, people: Factory) -> None:
    agent = await people.make(Role.agent)
    tomorrow = TODAY + dt.timedelta(days=1)
    assert await refused_field(db, agent, draft(RequestKind.other, happened_on=tomorrow)) == "happened_on"
    request = await intake.raise_request(db, asker=agent, draft=draft(RequestKind.other, happened_on=TODAY), now=NOW)
    assert request.happened_on == TODAY


async def test_an_idea_or_something_else_takes_no_link(db: AsyncSession, site: Site, people: Factory) -> None:
    agent = await people.make(Role.agent)
    shift_id = (await a_held_shift(db, agent, NOW + dt.timedelta(days=3))).id
    assert await refused_field(db, agent, draft(RequestKind.idea, shift=shift_id)) == "shift"
    assert await refused_field(db, agent, draft(RequestKind.idea, course=3)) == "course"
    assert await refused_field(db, agent, draft(RequestKind.other, period=3)) == "period"
    assert await refused_field(db, agent, draft(RequestKind.system, line_ref="x")) == "line_ref"
    assert await refused_field(db, agent, draft(RequestKind.learning, question=2)) == "course"
    assert await count_requests(db) == 0


# Learning questions -------------------------------------------------------------------------------------


async def test_a_learning_question_names_a_course_of_the_site_and_a_question_of_its_quiz(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    course = await a_course(db, site, now=NOW)  # six questions
    other_site = await accounts.ensure_site(db, name="Other Centre", timezone="Asia/Shanghai", country="CN")
    elsewhere = await a_course(db, other_site, now=NOW)
    course_id, elsewhere_id = course.id, elsewhere.id

    assert await refused_field(db, agent, draft(RequestKind.learning)) == "course"
    assert await refused_field(db, agent, draft(RequestKind.learning, course=elsewhere_id)) == "course"
    assert await refused_field(db, agent, draft(RequestKind.learning, course=course_id, question=7)) == "question"

    request = await intake.raise_request(
        db, asker=agent, draft=draft(RequestKind.learning, course=course_id, question=6), now=NOW
    )
    assert (request.course_id, request.question_number, request.priority) == (course_id, 6, Priority.low)


# Pay questions and disputes -----------------------------------------------------------------------------


async def test_a_pay_question_names_a_period_of_the_site(db: AsyncSession, site: Site, people: Factory) -> None:
    agent = await people.make(Role.agent)
    period = await periods.period_for(db, site=site, day=TODAY)
    other_site = await accounts.ensure_site(db, name="Other Centre", timezone="Asia/Shanghai", country="CN")
    elsewhere = await periods.period_for(db, site=other_site, day=TODAY)
    await db.commit()
    period_id, elsewhere_id = period.id, elsewhere.id

    assert await refused_field(db, agent, draft(RequestKind.pay)) == "period"
    assert await refused_field(db, agent, draft(RequestKind.pay, period=elsewhere_id)) == "period"
    request = await intake.raise_request(db, asker=agent, draft=draft(RequestKind.pay, period=period_id), now=NOW)
    assert (request.period_id, request.dispute_id) == (period_id, None)


async def test_a_pay_request_naming_a_line_files_its_dispute_and_the_disputes_alert_is_the_only_one(
    db: AsyncSession, site: Site, people: Factory, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 10, 4, 0, tzinfo=dt.UTC), tick=False)
    agent = await people.make(Role.agent)
    coordinator = await people.make(Role.coordinator)
    await a_worked_week(db, site, agent)
    period = await periods.period_for(db, site=site, day=DAY)
    await db.commit()
    period_id = period.id

    too_long = RequestDraft(
        kind=RequestKind.pay, title="Calls", details="x" * 1001, period=period_id, line_ref=OPEN_REF
    )
    with pytest.raises(DomainError) as refused:
        await intake.raise_request(db, asker=agent, draft=too_long, now=utcnow())
    assert refused.value.field == "details"
    await db.rollback()

    request = await intake.raise_request(
        db,
        asker=agent,
        draft=RequestDraft(
            kind=RequestKind.pay, title="Calls", details="I took 14 calls", period=period_id, line_ref=OPEN_REF
        ),
        now=utcnow(),
    )
    await db.commit()

    dispute = await db.get(Dispute, request.dispute_id)
    assert dispute is not None
    assert (dispute.user_id, dispute.line_ref, dispute.comment, dispute.status) == (
        agent.id,
        OPEN_REF,
        "I took 14 calls",
        DisputeStatus.open,
    )
    kinds = list(await db.scalars(select(Notification.kind).where(Notification.user_id == coordinator.id)))
    assert kinds == [Kind.staff_dispute]


async def test_a_dispute_filed_on_the_earnings_page_becomes_a_pay_request(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    coordinator = await people.make(Role.coordinator)
    period = await periods.period_for(db, site=site, day=TODAY)
    dispute = Dispute(
        site_id=site.id,
        user_id=agent.id,
        period_id=period.id,
        line_ref="2030-03-04:piece:call:billing",
        comment="I took 14 calls\nnot 12",
        status=DisputeStatus.open,
        created_at=NOW,
    )
    db.add(dispute)
    await db.flush()

    request = await intake.raise_for_dispute(db, dispute=dispute, asker=agent, now=NOW)
    await db.commit()

    assert (request.kind, request.dispute_id, request.period_id, request.asker_id) == (
        RequestKind.pay,
        dispute.id,
        period.id,
        agent.id,
    )
    assert request.title.endswith(": I took 14 calls")
    assert request.details == dispute.comment
    assert await event_kinds(db, request) == [EventKind.raised]
    assert (
        await db.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == coordinator.id))
        == 0
    )


# Files --------------------------------------------------------------------------------------------------


async def test_only_a_system_problem_takes_a_file_and_it_is_checked_before_anything_is_written(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    picture = Upload(filename="screen.png", data=PNG)
    assert await refused_field(db, agent, draft(RequestKind.idea), upload=picture) == "file"
    program = Upload(filename="screen.png", data=b"MZ\x90\x00" + b"\x00" * 60)
    assert await refused_field(db, agent, draft(RequestKind.system), upload=program) == "file"
    assert await count_requests(db) == 0

    request = await intake.raise_request(db, asker=agent, draft=draft(RequestKind.system), now=NOW, upload=picture)
    await db.commit()
    stored = await db.scalar(select(Attachment).where(Attachment.request_id == request.id))
    assert stored is not None
    assert (stored.content_type, stored.uploaded_by_id) == ("image/png", agent.id)
