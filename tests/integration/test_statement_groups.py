"""A statement groups each day's lines by kind (a summary row with the count and the total, the lines on tap), and
the agent questions a whole group or one line of it."""
# ruff: noqa: RUF001 -- the pages use the multiplication sign, and so do the assertions

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, User
from backend.pay import earnings, periods
from backend.pay.models import Dispute, DisputeStatus, PayPeriod, SettlementLine
from backend.work.models import WorkKind
from tests.conftest import Factory, login, post_form
from tests.integration.test_earnings import DAY, NEXT_DAY, UTC, a_worked_week, records

PIECES = f"{earnings.GROUP_PREFIX}{DAY.isoformat()}:piece"  # 3 November's calls and chats


@pytest.fixture(autouse=True)
def the_week_after_the_worked_week(time_machine: time_machine.TimeMachineFixture) -> None:
    """The worked week is 2-8 November 2026: the agent reads it on Tuesday 10 November, 12:00 in Shanghai."""
    time_machine.move_to(dt.datetime(2026, 11, 10, 4, 0, tzinfo=UTC), tick=True)


async def a_busy_week(db: AsyncSession, site: Site, agent: User) -> PayPeriod:
    """The worked week, plus 3 chats on 3 November: that day pays a shift, 12 billing calls and 3 chats."""
    await a_worked_week(db, site, agent)
    await records(db, agent, dt.datetime.combine(DAY, dt.time(8, 0), UTC), WorkKind.chat, 3, prefix="late-chat")
    await db.commit()
    return await periods.period_for(db, site=site, day=DAY)


async def a_locked_busy_week(db: AsyncSession, site: Site, agent: User, people: Factory) -> PayPeriod:
    period = await a_busy_week(db, site, agent)
    finance = await people.make(Role.finance)
    await periods.lock_period(db, period_id=period.id, by=finance, now=dt.datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
    await db.commit()
    return period


async def test_a_days_lines_are_grouped_by_kind_and_the_groups_add_up_to_the_cent(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    period = await a_locked_busy_week(db, site, agent, people)

    statement = await earnings.statement(db, user=agent, period_id=period.id)

    first = statement.days[0]
    assert first.day == DAY
    assert [(g.kind, g.count, g.amount_minor) for g in first.groups] == [("base", 1, 13500), ("piece", 2, 960 + 360)]
    assert [line.why for line in first.groups[1].lines] == [
        "12 calls × CNY 0.80 = CNY 9.60",
        "3 chats × CNY 1.20 = CNY 3.60",
    ]
    assert [day.day for day in statement.days] == [DAY, NEXT_DAY, None]
    for day in statement.days:
        assert sum(group.amount_minor for group in day.groups) == day.total_minor
        assert [line for group in day.groups for line in group.lines] == sorted(
            day.lines, key=lambda line: [g.kind for g in day.groups].index(line.kind)
        )
    grouped = sum(group.amount_minor for day in statement.days for group in day.groups)
    stored = await db.scalars(select(SettlementLine.amount_minor).where(SettlementLine.user_id == agent.id))
    ungrouped = sum(amount for amount in stored if amount > 0)  # tax withheld is its own (negative) line
    assert grouped == ungrouped == statement.settlement.gross_minor


async def test_the_statement_folds_a_group_into_one_row_with_its_count_and_total(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    period = await a_locked_busy_week(db, site, agent, people)
    await login(client, agent.email)

    page = (await client.get(f"/app/earnings/periods/{period.id}")).text

    assert page.count("<details>") == 1  # only 3 November's pieces are several lines of one kind
    summary = page[page.index("<summary>") : page.index("</summary>")]
    assert "Pieces" in summary
    assert "2 lines" in summary
    assert "CNY 13.20" in summary
    assert f"ref={PIECES.replace(':', '%3A')}" in page
    assert "Question all 2 lines" in page
    assert page.count("Question this line") == 5  # the shift, the calls, the chats, the next day's chats, the bonus


async def test_an_agent_questions_a_whole_group_and_then_one_line_of_it(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    period = await a_locked_busy_week(db, site, agent, people)
    calls_line = await db.scalar(
        select(SettlementLine.id).where(SettlementLine.user_id == agent.id, SettlementLine.work_kind == "call")
    )
    await login(client, agent.email)

    form = await client.get("/app/earnings/disputes/new", params={"period": period.id, "ref": PIECES})
    assert form.status_code == 200
    assert "Question these lines" in form.text
    assert "12 calls × CNY 0.80 = CNY 9.60" in form.text
    assert "3 chats × CNY 1.20 = CNY 3.60" in form.text
    assert "CNY 13.20" in form.text
    sent = await post_form(
        client, "/app/earnings/disputes", {"period": str(period.id), "ref": PIECES, "comment": "I took 20 contacts"}
    )
    assert sent.status_code == 303

    saved = await db.scalar(select(Dispute).where(Dispute.user_id == agent.id))
    assert saved is not None
    assert (saved.line_ref, saved.line_id, saved.status) == (PIECES, calls_line, DisputeStatus.open)
    statement = (await client.get(f"/app/earnings/periods/{period.id}")).text
    assert "You asked about these lines." in statement
    assert "You asked about this line." not in statement  # the group is asked about, not its first line
    tab = (await client.get("/app/earnings")).text
    assert "Pieces: every line" in tab

    again = await post_form(
        client, "/app/earnings/disputes", {"period": str(period.id), "ref": PIECES, "comment": "Still 20"}
    )
    assert again.status_code == 409
    one = await post_form(
        client, "/app/earnings/disputes", {"period": str(period.id), "line": str(calls_line), "comment": "14 calls"}
    )
    assert one.status_code == 303
    asked = await db.scalars(select(Dispute.line_ref).where(Dispute.user_id == agent.id).order_by(Dispute.id))
    assert list(asked) == [PIECES, ""]
    assert "You asked about this line." in (await client.get(f"/app/earnings/periods/{period.id}")).text


async def test_a_group_of_an_open_period_is_questioned_by_its_key(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    period = await a_busy_week(db, site, agent)
    await login(client, agent.email)

    sent = await post_form(
        client, "/app/earnings/disputes", {"period": str(period.id), "ref": PIECES, "comment": "Missing chats"}
    )
    assert sent.status_code == 303
    saved = await db.scalar(select(Dispute).where(Dispute.user_id == agent.id))
    assert saved is not None
    assert (saved.line_ref, saved.line_id) == (PIECES, None)
    assert "You asked about these lines." in (await client.get("/app/earnings")).text


async def test_an_agent_cannot_question_another_agents_group(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, other = await people.make(Role.agent), await people.make(Role.agent)
    period = await a_locked_busy_week(db, site, agent, people)
    await login(client, other.email)

    form = await client.get("/app/earnings/disputes/new", params={"period": period.id, "ref": PIECES})
    assert form.status_code == 404
    sent = await post_form(
        client, "/app/earnings/disputes", {"period": str(period.id), "ref": PIECES, "comment": "Mine?"}
    )
    assert sent.status_code == 404
    assert await db.scalar(select(Dispute.id).where(Dispute.period_id == period.id)) is None
