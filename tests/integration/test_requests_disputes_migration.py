"""Migration 0025 carries every pay dispute over into a pay request, on both databases, and its downgrade leaves the
disputes as they were."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import func, insert, select

from backend.accounts import service as accounts
from backend.accounts.models import Role
from backend.core.db import Actor, Database, act_as
from backend.core.migrate import migrate
from backend.pay.models import Dispute, PayPeriod, Settlement, SettlementLine
from backend.requests.models import EventKind, Request, RequestEvent
from tests.conftest import table_names
from tests.factories import Factory

ACTOR = Actor(id=None, label="test", role="system", reason="migration test world")
UTC = dt.UTC
ASKED = dt.datetime(2030, 3, 5, 2, 0, tzinfo=UTC)
ADJUSTED = dt.datetime(2030, 3, 6, 8, 30, tzinfo=UTC)
REJECTED = dt.datetime(2030, 3, 7, 9, 15, tzinfo=UTC)
OPEN_REF = "2030-03-04:piece:call:billing"
GROUP_REF = "group:2030-02-26:base"


def in_session(url: str, work: Any) -> Any:
    async def run() -> Any:
        database = Database.from_url(url)
        try:
            async with database.session(write=True) as session:
                act_as(session, ACTOR)
                return await work(session)
        finally:
            await database.dispose()

    return asyncio.run(run())


def people_of_a_site(url: str) -> dict[str, int]:
    async def world(session: Any) -> dict[str, int]:
        site = await accounts.ensure_site(session, name="Test", timezone="Asia/Shanghai", country="CN")
        people = Factory(db=session, site=site)
        agent = await people.make(Role.agent, email="asker@example.com")
        finance = await people.make(Role.finance, email="finance@example.com")
        await session.commit()
        return {"site": site.id, "agent": agent.id, "finance": finance.id}

    return in_session(url, world)


def disputes_at_0024(url: str, ids: dict[str, int]) -> dict[str, int]:
    """An open question about an open line, one adjusted about a locked line, one rejected about a day's group."""

    async def seed(session: Any) -> dict[str, int]:
        site_id, agent_id, finance_id = ids["site"], ids["agent"], ids["finance"]
        locked_id = (
            await session.execute(
                insert(PayPeriod.__table__)
                .values(
                    site_id=site_id,
                    starts_on=dt.date(2030, 2, 25),
                    ends_on=dt.date(2030, 3, 4),
                    cadence="weekly",
                    currency="CNY",
                    status="locked",
                    locked_at=ASKED,
                    locked_by_id=finance_id,
                )
                .returning(PayPeriod.__table__.c.id)
            )
        ).scalar_one()
        open_id = (
            await session.execute(
                insert(PayPeriod.__table__)
                .values(
                    site_id=site_id,
                    starts_on=dt.date(2030, 3, 4),
                    ends_on=dt.date(2030, 3, 11),
                    cadence="weekly",
                    currency="CNY",
                    status="open",
                )
                .returning(PayPeriod.__table__.c.id)
            )
        ).scalar_one()
        settlement_id = (
            await session.execute(
                insert(Settlement.__table__)
                .values(
                    period_id=locked_id,
                    user_id=agent_id,
                    display_name="Asker",
                    tier="junior",
                    worked_minutes=240,
                    pieces=12,
                    base_minor=8000,
                    piece_minor=960,
                    bonus_minor=0,
                    adjustment_minor=0,
                    gross_minor=8960,
                    withholding_minor=0,
                    net_minor=8960,
                    withholding_policy="none",
                    flags=[],
                )
                .returning(Settlement.__table__.c.id)
            )
        ).scalar_one()
        line_id = (
            await session.execute(
                insert(SettlementLine.__table__)
                .values(
                    settlement_id=settlement_id,
                    period_id=locked_id,
                    user_id=agent_id,
                    position=1,
                    kind="piece",
                    day=dt.date(2030, 2, 27),
                    work_kind="call",
                    quantity=12,
                    rate_minor=80,
                    amount_minor=960,
                    note="",
                )
                .returning(SettlementLine.__table__.c.id)
            )
        ).scalar_one()
        table = Dispute.__table__
        common = {"site_id": site_id, "user_id": agent_id}
        made = {}
        for name, values in {
            "open": {"period_id": open_id, "line_ref": OPEN_REF, "comment": "I took 14 calls", "status": "open"},
            "adjusted": {
                "period_id": locked_id,
                "line_id": line_id,
                "line_ref": "",
                "comment": "Two calls are missing",
                "status": "adjusted",
                "resolved_at": ADJUSTED,
                "resolved_by_id": finance_id,
                "resolution": "Two calls were missed",
            },
            "rejected": {
                "period_id": locked_id,
                "line_ref": GROUP_REF,
                "comment": "My hours look short",
                "status": "rejected",
                "resolved_at": REJECTED,
                "resolved_by_id": finance_id,
                "resolution": "The PBX shows 4 hours",
            },
        }.items():
            made[name] = (
                await session.execute(insert(table).values(**common, **values, created_at=ASKED).returning(table.c.id))
            ).scalar_one()
        await session.commit()
        return made

    return in_session(url, seed)


def carried_requests(url: str) -> dict[int, tuple[Any, ...]]:
    async def read(session: Any) -> dict[int, tuple[Any, ...]]:
        rows = await session.scalars(select(Request).order_by(Request.id))
        return {
            row.dispute_id: (
                row.site_id,
                row.kind,
                row.asker_id,
                row.status,
                row.priority,
                row.owner_id,
                row.team_id,
                row.details,
                row.created_at,
                row.resolved_at,
                row.closed_at,
                row.root_cause,
                row.resolution,
            )
            for row in rows
        }

    return in_session(url, read)


def carried_events(url: str) -> list[tuple[int | None, EventKind, dt.datetime, int | None, str, dict[str, Any]]]:
    async def read(session: Any) -> list[tuple[Any, ...]]:
        rows = await session.execute(
            select(
                Request.dispute_id,
                RequestEvent.kind,
                RequestEvent.at,
                RequestEvent.actor_id,
                RequestEvent.body,
                RequestEvent.values,
            )
            .join(Request, Request.id == RequestEvent.request_id)
            .order_by(Request.dispute_id, RequestEvent.at)
        )
        return [tuple(row) for row in rows]

    return in_session(url, read)


def titles(url: str) -> dict[int, tuple[str, dt.date | None]]:
    async def read(session: Any) -> dict[int, tuple[str, dt.date | None]]:
        rows = await session.execute(select(Request.dispute_id, Request.title, Request.happened_on))
        return {dispute_id: (title, day) for dispute_id, title, day in rows}

    return in_session(url, read)


def dispute_count(url: str) -> int:
    async def read(session: Any) -> int:
        return await session.scalar(select(func.count()).select_from(Dispute)) or 0

    return in_session(url, read)


def test_every_dispute_becomes_a_pay_request_and_the_downgrade_leaves_the_disputes(empty_database_url: str) -> None:
    url = empty_database_url
    migrate(url, "head")
    ids = people_of_a_site(url)
    migrate(url, "0024")
    assert "requests" not in table_names(url)
    made = disputes_at_0024(url, ids)

    migrate(url, "0025")

    site, agent, finance = ids["site"], ids["agent"], ids["finance"]
    assert carried_requests(url) == {
        made["open"]: (
            site,
            "pay",
            agent,
            "queued",
            "normal",
            None,
            None,
            "I took 14 calls",
            ASKED,
            None,
            None,
            "",
            "",
        ),
        made["adjusted"]: (
            site,
            "pay",
            agent,
            "closed",
            "normal",
            finance,
            None,
            "Two calls are missing",
            ASKED,
            ADJUSTED,
            ADJUSTED,
            "pay_error",
            "Two calls were missed",
        ),
        made["rejected"]: (
            site,
            "pay",
            agent,
            "closed",
            "normal",
            finance,
            None,
            "My hours look short",
            ASKED,
            REJECTED,
            REJECTED,
            "no_fault",
            "The PBX shows 4 hours",
        ),
    }
    assert carried_events(url) == [
        (made["open"], EventKind.raised, ASKED, agent, "", {}),
        (made["adjusted"], EventKind.raised, ASKED, agent, "", {}),
        (
            made["adjusted"],
            EventKind.resolved,
            ADJUSTED,
            finance,
            "Two calls were missed",
            {"root_cause": "pay_error", "dispute": "adjusted"},
        ),
        (made["rejected"], EventKind.raised, ASKED, agent, "", {}),
        (
            made["rejected"],
            EventKind.resolved,
            REJECTED,
            finance,
            "The PBX shows 4 hours",
            {"root_cause": "no_fault", "dispute": "rejected"},
        ),
    ]
    assert titles(url) == {
        made["open"]: ("Pay question: 2030-03-04 · Pieces · call · billing", dt.date(2030, 3, 4)),
        made["adjusted"]: ("Pay question: 2030-02-27 · Pieces · call", dt.date(2030, 2, 27)),
        made["rejected"]: ("Pay question: 2030-02-26 · Hours: every line", dt.date(2030, 2, 26)),
    }

    migrate(url, "0024")
    assert not {"requests", "request_events", "request_teams"} & table_names(url)
    assert dispute_count(url) == 3

    migrate(url, "head")  # and up again: carried over once more, nothing lost on the way down
    assert set(carried_requests(url)) == set(made.values())
    assert len(carried_events(url)) == 5
