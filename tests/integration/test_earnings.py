"""The agent's Earnings tab: accrued pay line by line with its "why", locked statements, paid amounts, privacy."""
# ruff: noqa: RUF001 -- the pages use the multiplication sign and the en dash, and so do the assertions

from __future__ import annotations

import datetime as dt

import httpx
import time_machine
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, Skill, User
from backend.core.db import utcnow
from backend.core.money import format_money
from backend.core.slots import slot_of
from backend.pay import earnings, periods
from backend.pay import jobs as pay_jobs
from backend.pay.models import PayPeriod
from backend.work.models import WorkKind, WorkRecord
from tests.conftest import login
from tests.factories import Factory, a_held_shift, a_rate_card, a_skill

# Tuesday 3 November 2026 in Shanghai; its weekly period runs Monday 2 to Sunday 8 November.
DAY = dt.date(2026, 11, 3)
NEXT_DAY = dt.date(2026, 11, 4)
UTC = dt.UTC
RATES = {
    "base_hourly_minor": {"junior": 3000, "mid": 3500, "senior": 4000},
    "pieces": [
        {"kind": "call", "rate_minor": 50},
        {"kind": "call", "skill": "billing", "rate_minor": 80},
        {"kind": "chat", "rate_minor": 120},
    ],
    "quality_bonus": {"min_csat_average": 4.5, "percent_of_piece_pay": 10, "min_rated_contacts": 10},
}
RATES_FROM = dt.date(2026, 1, 1)


async def records(
    db: AsyncSession,
    agent: User,
    at: dt.datetime,
    kind: WorkKind,
    count: int,
    *,
    skill: Skill | None = None,
    csat: int | None = None,
    prefix: str = "",
) -> None:
    for n in range(count):
        db.add(
            WorkRecord(
                site_id=agent.site_id,
                user_id=agent.id,
                source="pbx",
                external_id=f"{prefix or kind.value}-{agent.id}-{at.isoformat()}-{n}",
                occurred_at=at + dt.timedelta(seconds=n),
                kind=kind,
                count=1,
                csat=csat,
                skill_id=skill.id if skill else None,
            )
        )
    await db.flush()


async def a_worked_week(db: AsyncSession, site: Site, agent: User, *, day: dt.date = DAY) -> None:
    """4.5 h worked, 12 billing calls (10 rated 5), 5 chats the next day, and a no-show shift that day."""
    await a_rate_card(db, site, RATES, effective_from=RATES_FROM)
    skill = await a_skill(db, site)
    morning = dt.datetime.combine(day, dt.time(1, 0), UTC)  # 09:00 in Shanghai
    await a_held_shift(db, agent, morning, slots=9)
    next_morning = morning + dt.timedelta(days=1)
    await a_held_shift(db, agent, next_morning, slots=8, no_show_at=next_morning + dt.timedelta(minutes=20))
    await records(db, agent, morning + dt.timedelta(hours=5), WorkKind.call, 10, skill=skill, csat=5)
    await records(db, agent, morning + dt.timedelta(hours=6), WorkKind.call, 2, skill=skill, prefix="unrated")
    await records(db, agent, morning + dt.timedelta(days=1, hours=2), WorkKind.chat, 5)
    await db.commit()


def whys(view: earnings.Accrued | earnings.Statement) -> list[str]:
    return [line.why for day in view.days for line in day.lines]


async def test_accrued_pay_matches_the_sums_by_hand(db: AsyncSession, site: Site, people: Factory) -> None:
    agent = await people.make(Role.agent)
    await a_worked_week(db, site, agent)
    period = await periods.period_for(db, site=site, day=DAY)
    assert (period.starts_on, period.ends_on) == (dt.date(2026, 11, 2), dt.date(2026, 11, 9))

    view = await earnings.accrued(
        db, period=period, user=agent, is_current=True, now=dt.datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
    )

    # 4.5 h x 30.00 = 135.00; 12 billing calls x 0.80 = 9.60; 5 chats x 1.20 = 6.00;
    # CSAT 5.0 over 10 rated calls earns 10% of the piece pay 15.60 = 1.56; the no-show pays nothing.
    assert [day.day for day in view.days] == [DAY, NEXT_DAY, None]
    assert whys(view) == [
        "4.5 h × CNY 30.00/h = CNY 135.00",
        "12 calls × CNY 0.80 = CNY 9.60",
        "5 chats × CNY 1.20 = CNY 6.00",
        "Quality bonus: CSAT 5.00 ≥ 4.5 → 10% of piece pay CNY 15.60 = CNY 1.56",
    ]
    assert [day.total_minor for day in view.days] == [14460, 600, 156]
    assert view.totals["gross_minor"] == 13500 + 960 + 600 + 156
    assert view.totals["worked_minutes"] == 270
    assert [line.ref for day in view.days for line in day.lines] == [
        f"2026-11-03:base:shift-{view.days[0].lines[0].shift_id}",
        "2026-11-03:piece:call:billing",
        "2026-11-04:piece:chat:-",
        "period:quality_bonus",
    ]
    assert view.days[0].lines[0].title == "Shift 09:00–13:30 · Billing"


async def test_a_shift_not_over_yet_does_not_count(db: AsyncSession, site: Site, people: Factory) -> None:
    agent = await people.make(Role.agent)
    await a_worked_week(db, site, agent)
    period = await periods.period_for(db, site=site, day=DAY)
    during = dt.datetime(2026, 11, 3, 3, 0, tzinfo=UTC)  # 11:00 local: the shift runs until 13:30
    view = await earnings.accrued(db, period=period, user=agent, is_current=True, now=during)
    assert not any(line.kind == "base" for day in view.days for line in day.lines)


async def test_the_earnings_tab_shows_live_lines_in_english_and_chinese(
    client: httpx.AsyncClient,
    db: AsyncSession,
    site: Site,
    people: Factory,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    """Read at noon on a Wednesday in Shanghai, so the shift and the calls share one day and one period (read
    at 00:04:50, the twelve calls straddled midnight and the page rightly showed two lines)."""
    time_machine.move_to(dt.datetime(2026, 11, 4, 4, 0, tzinfo=UTC), tick=True)
    agent = await people.make(Role.agent)
    now = dt.datetime.now(UTC)
    await a_rate_card(db, site, RATES, effective_from=RATES_FROM)
    skill = await a_skill(db, site)
    await a_held_shift(db, agent, dt.datetime.fromtimestamp((slot_of(now) - 11) * 1800, UTC), slots=9)
    await records(db, agent, now - dt.timedelta(minutes=5), WorkKind.call, 12, skill=skill)
    await db.commit()

    await login(client, agent.email)
    page = await client.get("/app/earnings")
    assert page.status_code == 200
    assert "4.5 h × CNY 30.00/h = CNY 135.00" in page.text
    assert "12 calls × CNY 0.80 = CNY 9.60" in page.text
    assert "Before tax." in page.text
    assert '<a href="/app/earnings" class="tab active" aria-current="page">' in page.text

    await accounts.update_preferences(db, agent, locale="zh-Hans")
    await db.commit()
    await login(client, agent.email)
    chinese = await client.get("/app/earnings")
    assert chinese.status_code == 200
    assert '<html lang="zh-Hans">' in chinese.text
    assert "CNY 135.00" in chinese.text


async def test_last_nights_shift_stays_on_the_tab_the_morning_after_a_week_nobody_opened(
    client: httpx.AsyncClient,
    db: AsyncSession,
    site: Site,
    people: Factory,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    """Found by the moved clock: Sunday evening's shift belongs to a week whose period nobody had made yet."""
    time_machine.move_to(dt.datetime(2026, 11, 8, 16, 30, tzinfo=UTC), tick=True)  # Monday 9 Nov, 00:30 in Shanghai
    agent = await people.make(Role.agent)
    await a_rate_card(db, site, RATES, effective_from=RATES_FROM)
    await a_skill(db, site)
    await a_held_shift(db, agent, dt.datetime(2026, 11, 8, 10, 30, tzinfo=UTC), slots=9)  # Sunday 18:30-23:00
    await db.commit()

    await login(client, agent.email)
    page = await client.get("/app/earnings")
    assert page.status_code == 200
    assert "4.5 h × CNY 30.00/h = CNY 135.00" in page.text


async def test_opening_earnings_stores_no_period_and_the_worker_keeps_them_ready(
    client: httpx.AsyncClient,
    db: AsyncSession,
    site: Site,
    people: Factory,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    """A GET never writes: the tab reckons periods nobody has made yet, and the worker's job makes them."""
    time_machine.move_to(dt.datetime(2026, 11, 8, 16, 30, tzinfo=UTC), tick=True)  # Monday 9 Nov, 00:30 in Shanghai
    agent = await people.make(Role.agent)
    await a_rate_card(db, site, RATES, effective_from=RATES_FROM)
    await a_skill(db, site)
    await a_held_shift(db, agent, dt.datetime(2026, 11, 8, 10, 30, tzinfo=UTC), slots=9)  # Sunday 18:30-23:00
    await db.commit()
    await login(client, agent.email)

    page = await client.get("/app/earnings")
    assert page.status_code == 200
    assert "4.5 h × CNY 30.00/h = CNY 135.00" in page.text
    assert await db.scalar(select(func.count()).select_from(PayPeriod)) == 0

    assert await pay_jobs.keep_periods_ready(db, now=utcnow()) == 2
    assert await pay_jobs.keep_periods_ready(db, now=utcnow()) == 0
    stored = list(await db.scalars(select(PayPeriod.starts_on).order_by(PayPeriod.starts_on)))
    assert stored == [dt.date(2026, 11, 2), dt.date(2026, 11, 9)]
    again = await client.get("/app/earnings")
    assert "4.5 h × CNY 30.00/h = CNY 135.00" in again.text
    assert "Question this line" in again.text


async def test_staff_are_refused_the_earnings_tab(client: httpx.AsyncClient, people: Factory) -> None:
    for role in (Role.coordinator, Role.finance):
        staff = await people.make(role)
        await login(client, staff.email)
        answer = await client.get("/app/earnings")
        assert answer.status_code == 403


async def locked_period(db: AsyncSession, site: Site, agent: User, people: Factory) -> tuple[PayPeriod, User]:
    await a_worked_week(db, site, agent)
    period = await periods.period_for(db, site=site, day=DAY)
    finance = await people.make(Role.finance)
    await periods.lock_period(db, period_id=period.id, by=finance, now=dt.datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
    await db.commit()
    return period, finance


async def test_a_locked_statement_lists_every_line_and_prints(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    period, finance = await locked_period(db, site, agent, people)

    view = await earnings.statement(db, user=agent, period_id=period.id)
    assert view.settlement.gross_minor == 13500 + 960 + 600 + 156
    assert whys(view)[:3] == [
        "4.5 h × CNY 30.00/h = CNY 135.00",
        "12 calls × CNY 0.80 = CNY 9.60",
        "5 chats × CNY 1.20 = CNY 6.00",
    ]
    assert "Quality bonus: 10% of piece pay CNY 15.60 = CNY 1.56" in whys(view)

    await login(client, agent.email)
    tab = await client.get("/app/earnings")
    assert f'href="/app/earnings/periods/{period.id}"' in tab.text
    assert "Locked" in tab.text
    page = await client.get(f"/app/earnings/periods/{period.id}")
    assert page.status_code == 200
    assert "CNY 152.16" in page.text
    assert "Question this line" in page.text
    printable = await client.get(f"/app/earnings/periods/{period.id}?print=1")
    assert printable.status_code == 200
    assert 'class="print-page"' in printable.text
    assert "tabbar" not in printable.text
    assert "<script" not in printable.text
    assert "4.5 h × CNY 30.00/h = CNY 135.00" in printable.text

    await periods.mark_paid(db, period_id=period.id, by=finance, now=dt.datetime(2026, 11, 12, 4, 0, tzinfo=UTC))
    await db.commit()
    paid = await client.get(f"/app/earnings/periods/{period.id}")
    net = view.settlement.net_minor
    assert f"Paid {format_money(net, 'CNY')} on Nov 12, 2026" in paid.text


async def test_another_agents_statement_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, other = await people.make(Role.agent), await people.make(Role.agent)
    period, _finance = await locked_period(db, site, agent, people)
    await login(client, other.email)
    assert (await client.get(f"/app/earnings/periods/{period.id}")).status_code == 404
    assert (await client.get("/app/earnings/periods/99999999")).status_code == 404
    tab = await client.get("/app/earnings")
    assert f"/app/earnings/periods/{period.id}" not in tab.text
