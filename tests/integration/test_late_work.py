"""Late work (issue 15, item 6): a work record dated in a pay period that was already locked when it arrived.

It is stored, and paid with the first period still open when it arrived, as a late line that keeps the day it
was worked and names the period it came from; the locked period, its totals and its exports never change. The
rule is the pay side's, so it holds however the record came in (the API, a CSV upload, the bulk path).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, Skill, User
from backend.core.db import Database, utcnow
from backend.pay import earnings, periods
from backend.pay.models import LineKind, PayPeriod, Settlement, SettlementLine
from backend.work.models import WorkKind
from backend.work.schemas import RecordIn
from backend.work.service import bulk_ingest_rows, ingest
from tests.conftest import login, post_form
from tests.factories import Factory, a_rate_card, a_skill, bearer
from tests.integration import test_work_records
from tests.integration.test_earnings import RATES, RATES_FROM, UTC, records
from tests.integration.test_work_records import csv_file, upload

WORKED_ON = dt.date(2026, 11, 3)  # a Tuesday; its weekly period runs Monday 2 to Sunday 8 November 2026
LATE_AT = "2026-11-03T15:00:00+08:00"  # when the late calls were taken, as the source system reports it
TUESDAY_AFTER = dt.datetime(2026, 11, 10, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, the week after
A_WEEK_LATER = TUESDAY_AFTER + dt.timedelta(days=7)
LATE_NOTE = "Late: worked on 2026-11-03, from period 2026-11-02..2026-11-08"

racing_database = test_work_records.racing_database  # a fresh PostgreSQL database, where transactions really race


@pytest.fixture(autouse=True)
def the_tuesday_after(time_machine: time_machine.TimeMachineFixture) -> time_machine.TimeMachineFixture:
    time_machine.move_to(TUESDAY_AFTER, tick=True)
    return time_machine


@pytest.fixture
async def world(db: AsyncSession, site: Site, people: Factory) -> dict[str, Any]:
    """An agent who took 4 billing calls on 3 November, finance, and a coordinator with an API token."""
    await a_rate_card(db, site, RATES, effective_from=RATES_FROM)
    skill = await a_skill(db, site)
    agent = await people.make(Role.agent, display_name="Ana Agent")
    coordinator = await people.make(Role.coordinator)
    finance = await people.make(Role.finance)
    await records(db, agent, dt.datetime(2026, 11, 3, 2, 0, tzinfo=UTC), WorkKind.call, 4, skill=skill)
    await db.commit()
    return {
        "agent": agent,
        "coordinator": coordinator,
        "finance": finance,
        "skill": skill,
        "token": await bearer(db, coordinator),
        "week": await periods.period_for(db, site=site, day=WORKED_ON),
    }


async def lock_on_the_page(client: httpx.AsyncClient, finance: User, period: PayPeriod) -> None:
    await login(client, finance.email)
    locked = await post_form(client, f"/finance/periods/{period.id}/lock", {})
    assert locked.status_code == 303, locked.text


async def send_late_calls(client: httpx.AsyncClient, world: dict[str, Any], *, prefix: str = "late") -> None:
    """Two billing calls of 3 November, sent through the API after that week was locked."""
    batch = {
        "source": "pbx",
        "records": [
            {"external_id": f"{prefix}-{n}", "agent_id": world["agent"].id, "occurred_at": LATE_AT, "kind": "call"}
            | {"skill": "billing"}
            for n in range(2)
        ],
    }
    sent = await client.post("/api/v1/work-records", json=batch, headers=world["token"])
    assert sent.status_code == 201, sent.text


async def settlement_of(db: AsyncSession, period: PayPeriod, agent: User) -> Settlement:
    found = await db.scalar(select(Settlement).where(Settlement.period_id == period.id, Settlement.user_id == agent.id))
    assert found is not None
    return found


async def piece_lines(db: AsyncSession, period: PayPeriod, agent: User) -> list[SettlementLine]:
    query = select(SettlementLine).where(
        SettlementLine.period_id == period.id,
        SettlementLine.user_id == agent.id,
        SettlementLine.kind == LineKind.piece,
    )
    return list(await db.scalars(query.order_by(SettlementLine.position)))


def late_lines(view: earnings.Accrued | earnings.Statement) -> list[earnings.ShownLine]:
    return [line for day in view.days for line in day.lines if line.late_from is not None]


async def test_a_record_for_a_locked_week_is_paid_late_in_the_open_one_and_the_locked_week_never_changes(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, Any], the_tuesday_after: Any
) -> None:
    agent, finance, week = world["agent"], world["finance"], world["week"]
    await lock_on_the_page(client, finance, week)
    before = await settlement_of(db, week, agent)
    gross_before = before.gross_minor
    export_before = (await client.get(f"/finance/periods/{week.id}/settlement.csv")).content
    assert gross_before == 4 * 80

    await send_late_calls(client, world)

    # The locked week: same settlement, same export bytes.
    await db.refresh(before)
    assert before.gross_minor == gross_before
    assert (await client.get(f"/finance/periods/{week.id}/settlement.csv")).content == export_before

    # The open week shows the late calls to the agent, with the day they were worked and the week they belong to.
    this_week = await periods.period_for(db, site=site, day=week.ends_on)
    accrued = await earnings.accrued(db, period=this_week, user=agent, is_current=True)
    [late] = late_lines(accrued)
    assert (late.day, late.late_from, late.quantity, late.amount_minor) == (
        WORKED_ON,
        (week.starts_on, week.ends_on - dt.timedelta(days=1)),
        2,
        160,
    )
    await login(client, agent.email)
    tab = await client.get("/app/earnings")
    assert "Late: worked on Nov 3, 2026, in the period Nov 2, 2026 to Nov 8, 2026" in tab.text
    assert "2 calls × CNY 0.80 = CNY 1.60" in tab.text  # noqa: RUF001
    await login(client, finance.email)
    pending = await client.get(f"/finance/periods/{this_week.id}")
    assert "Late work" in pending.text
    assert "Ana Agent" in pending.text

    # Its lock pays them once, as a late line dated 3 November; finance sees it on the page and in the export.
    the_tuesday_after.move_to(A_WEEK_LATER, tick=True)
    await lock_on_the_page(client, finance, this_week)
    [line] = await piece_lines(db, this_week, agent)
    assert (line.day, line.quantity, line.amount_minor) == (WORKED_ON, 2, 160)
    assert line.note.startswith(LATE_NOTE)
    assert (await settlement_of(db, this_week, agent)).piece_minor == 160
    page = await client.get(f"/finance/periods/{this_week.id}")
    assert 'id="late-work"' in page.text
    assert "2026-11-03" in page.text
    assert LATE_NOTE in (await client.get(f"/finance/periods/{this_week.id}/settlement.csv")).text
    assert (await settlement_of(db, week, agent)).gross_minor == gross_before

    # The agent's statement says it too, and the next week pays nothing twice.
    await login(client, agent.email)
    statement = await client.get(f"/app/earnings/periods/{this_week.id}")
    assert "Late: worked on Nov 3, 2026" in statement.text
    next_week = await periods.period_for(db, site=site, day=this_week.ends_on)
    assert not late_lines(await earnings.accrued(db, period=next_week, user=agent, is_current=True))


async def test_a_csv_upload_for_a_locked_week_is_paid_late_too(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, Any]
) -> None:
    agent, week = world["agent"], world["week"]
    await lock_on_the_page(client, world["finance"], week)
    await login(client, world["coordinator"].email)
    await client.get("/admin/work/")
    done = await upload(client, csv_file(f"pbx,csv-1,{agent.id},,{LATE_AT},call,3,,,,billing"))
    assert done.status_code == 200, done.text
    assert "Stored 1 new record" in done.text

    this_week = await periods.period_for(db, site=site, day=week.ends_on)
    [late] = late_lines(await earnings.accrued(db, period=this_week, user=agent, is_current=True))
    assert (late.day, late.quantity, late.amount_minor) == (WORKED_ON, 3, 240)
    assert (await settlement_of(db, week, agent)).gross_minor == 4 * 80


async def test_the_bulk_path_is_paid_late_by_the_same_rule(db: AsyncSession, site: Site, world: dict[str, Any]) -> None:
    agent, week, finance = world["agent"], world["week"], world["finance"]
    await periods.lock_period(db, period_id=week.id, by=finance, now=utcnow())
    skill: Skill = world["skill"]
    row = {"user_id": agent.id, "source": "bulk", "external_id": "b-1", "kind": WorkKind.call, "skill_id": skill.id}
    await bulk_ingest_rows(
        db, site_id=site.id, rows=[row | {"occurred_at": dt.datetime.fromisoformat(LATE_AT)}], now=utcnow()
    )
    this_week = await periods.period_for(db, site=site, day=week.ends_on)
    [late] = late_lines(await earnings.accrued(db, period=this_week, user=agent, is_current=True))
    assert (late.day, late.amount_minor) == (WORKED_ON, 80)


async def test_a_record_for_a_week_not_yet_locked_is_paid_in_that_week_not_late(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, Any]
) -> None:
    agent, week = world["agent"], world["week"]
    await send_late_calls(client, world)
    await lock_on_the_page(client, world["finance"], week)

    [line] = await piece_lines(db, week, agent)
    assert (line.day, line.quantity, line.amount_minor) == (WORKED_ON, 6, 480)
    assert not line.note.startswith("Late")
    this_week = await periods.period_for(db, site=site, day=week.ends_on)
    assert not late_lines(await earnings.accrued(db, period=this_week, user=agent, is_current=True))


async def test_late_work_goes_to_the_first_period_open_when_it_arrived(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, Any], the_tuesday_after: Any
) -> None:
    agent, week, finance = world["agent"], world["week"], world["finance"]
    second = await periods.period_for(db, site=site, day=week.ends_on)
    the_tuesday_after.move_to(A_WEEK_LATER, tick=True)
    await periods.lock_period(db, period_id=week.id, by=finance, now=utcnow())
    await periods.lock_period(db, period_id=second.id, by=finance, now=utcnow())
    await db.commit()

    await send_late_calls(client, world)

    third = await periods.period_for(db, site=site, day=second.ends_on)
    assert await db.scalar(select(Settlement).where(Settlement.period_id == second.id)) is None
    [late] = late_lines(await earnings.accrued(db, period=third, user=agent, is_current=True))
    assert (late.day, late.late_from, late.amount_minor) == (WORKED_ON, (week.starts_on, dt.date(2026, 11, 8)), 160)


# A lock and records arriving at the same moment (PostgreSQL) ---------------------------------------------------


async def waiting_for_the_gate(database: Database, lock: asyncio.Task[Any]) -> None:
    """Until the lock is done, or stands waiting for the intake gate (an advisory lock not granted)."""
    for _attempt in range(400):
        if lock.done():
            return
        async with database.session() as session:
            waiting = await session.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )
        if waiting:
            return
        await asyncio.sleep(0.05)


@pytest.mark.postgres
async def test_a_lock_waits_for_records_still_being_stored_so_none_is_lost(racing_database: Database) -> None:
    async with racing_database.session(write=True) as session:
        site = await accounts.ensure_site(session, name="Race Centre", timezone="Asia/Shanghai", country="CN")
        agent = User(
            email="a@example.com", display_name="Ana", role=Role.agent, timezone=site.timezone, site_id=site.id
        )
        finance = User(email="f@example.com", display_name="Fei", role=Role.finance, timezone=site.timezone)
        finance.site_id = site.id
        session.add_all([agent, finance])
        await session.flush()
        period = await periods.period_for(session, site=site, day=WORKED_ON)
        site_id, agent_id, finance_id, period_id = site.id, agent.id, finance.id, period.id

    async def store(session: AsyncSession, external_id: str) -> None:
        record = RecordIn(
            external_id=external_id, agent_id=agent_id, occurred_at=dt.datetime.fromisoformat(LATE_AT), kind="call"
        )
        site = await accounts.get_site(session, site_id)
        await ingest(session, site=site, source="pbx", records=[record], now=utcnow())

    async def lock() -> None:
        async with racing_database.session(write=True) as session:
            by = await session.get(User, finance_id)
            assert by is not None
            await periods.lock_period(session, period_id=period_id, by=by, now=utcnow())

    slow = racing_database.session(write=True)
    slow_session = await slow.__aenter__()
    await store(slow_session, "stored-first-committed-last")
    async with racing_database.session(write=True) as fast:
        await store(fast, "stored-second-committed-first")
    locking = asyncio.create_task(lock())
    await waiting_for_the_gate(racing_database, locking)
    await slow.__aexit__(None, None, None)
    await locking

    async with racing_database.session() as session:
        settled = await session.scalar(select(Settlement.pieces).where(Settlement.user_id == agent_id))
        assert settled == 2, "both records are in the lock: none is lost between the lock and the late rule"
