"""Pay periods: the lock settles everyone once (even when two finance users race), no-shows earn nothing,
a locked period never changes, corrections land in the next open period with their reason."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, Skill, Tier, User
from backend.accounts.site_settings import update_site_settings
from backend.core.db import Database, create_engine
from backend.core.errors import DomainError, Forbidden, NotFound
from backend.core.migrate import migrate
from backend.core.slots import local_slot, utc_start
from backend.pay import gather, ledger, periods
from backend.pay.ledger import PostedIsFinal
from backend.pay.models import (
    Account,
    Adjustment,
    EntryKind,
    JournalEntry,
    LineKind,
    PayPeriod,
    PeriodStatus,
    Settlement,
    SettlementLine,
)
from backend.shifts.models import CoverReason, CoverRequest, CoverStatus, Shift
from backend.work.models import WorkKind, WorkRecord
from tests.conftest import drop_postgres_database, fresh_postgres_database
from tests.factories import Factory, a_held_shift, a_rate_card, a_skill

ZONE = ZoneInfo("Asia/Shanghai")
MONDAY = dt.date(2026, 3, 2)  # the period under test: Mon 2 March .. Sun 8 March 2026
AFTER = dt.datetime(2026, 3, 10, 12, 0, tzinfo=ZONE)  # two days after it ended
DURING = dt.datetime(2026, 3, 4, 12, 0, tzinfo=ZONE)
RATES = {
    "base_hourly_minor": {"junior": 3000, "mid": 3500, "senior": 4000},
    "pieces": [
        {"kind": "call", "rate_minor": 50},
        {"kind": "call", "rate_minor": 80, "tier": "senior", "skill": "billing"},
    ],
    "urgent_bonus_minor": 2500,
    "quality_bonus": {"min_csat_average": 4.5, "percent_of_piece_pay": 10, "min_rated_contacts": 2},
}


# Building a world -------------------------------------------------------------------------------------------


async def worked_shift(
    db: AsyncSession,
    agent: User,
    day: dt.date,
    *,
    clock: tuple[int, int] = (9, 0),
    slots: int = 8,
    bonus: int = 0,
    no_show: bool = False,
    waived: bool = False,
) -> Shift:
    """A billing shift ``agent`` held on ``day`` from ``clock`` (site time), its seat taken 30 days before ``AFTER``.

    A ``no_show`` is marked (and ``waived``, if asked) five days before ``AFTER``.
    """
    no_show_at = AFTER - dt.timedelta(days=5) if no_show else None
    return await a_held_shift(
        db,
        agent,
        utc_start(local_slot(day, clock[0], clock[1], ZONE)),
        slots=slots,
        bonus_minor=bonus,
        taken_at=AFTER - dt.timedelta(days=30),
        no_show_at=no_show_at,
        waived_at=no_show_at if waived else None,
    )


async def records(
    db: AsyncSession,
    agent: User,
    day: dt.date,
    *,
    kind: WorkKind = WorkKind.call,
    count: int = 1,
    csat: int | None = None,
    skill: Skill | None = None,
    n: int = 1,
    clock: tuple[int, int] = (10, 0),
) -> None:
    moment = dt.datetime.combine(day, dt.time(*clock), tzinfo=ZONE)
    for index in range(n):
        db.add(
            WorkRecord(
                site_id=agent.site_id,
                user_id=agent.id,
                source="pbx",
                external_id=f"{agent.id}-{day}-{clock}-{kind}-{index}-{id(moment)}",
                occurred_at=moment + dt.timedelta(seconds=index),
                kind=kind,
                count=count,
                csat=csat,
                skill_id=skill.id if skill else None,
            )
        )
    await db.flush()


async def the_period(db: AsyncSession, site: Site) -> PayPeriod:
    return await periods.period_for(db, site=site, day=MONDAY)


async def settlement_of(db: AsyncSession, period: PayPeriod, user: User) -> Settlement | None:
    return await db.scalar(select(Settlement).where(Settlement.period_id == period.id, Settlement.user_id == user.id))


async def lines_of(db: AsyncSession, period: PayPeriod, user: User) -> list[SettlementLine]:
    query = (
        select(SettlementLine)
        .where(SettlementLine.period_id == period.id, SettlementLine.user_id == user.id)
        .order_by(SettlementLine.position)
    )
    return list(await db.scalars(query))


async def count(db: AsyncSession, model: type, *where: object) -> int:
    return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# Periods ----------------------------------------------------------------------------------------------------


async def test_periods_are_weeks_from_the_sites_weekday_and_follow_each_other(db: AsyncSession, site: Site) -> None:
    await update_site_settings(db, site, pay_week_starts_on=2)  # Wednesday
    first = await periods.period_for(db, site=site, day=dt.date(2026, 3, 6))  # a Friday
    assert (first.starts_on, first.ends_on, first.status) == (dt.date(2026, 3, 4), dt.date(2026, 3, 11), "open")
    assert first.currency == "CNY"
    listed = await periods.ensure_periods(db, site=site, today=dt.date(2026, 3, 20))
    assert [(p.starts_on, p.ends_on) for p in listed] == [
        (dt.date(2026, 3, 18), dt.date(2026, 3, 25)),
        (dt.date(2026, 3, 11), dt.date(2026, 3, 18)),
        (dt.date(2026, 3, 4), dt.date(2026, 3, 11)),
    ]
    past = await periods.period_for(db, site=site, day=dt.date(2026, 2, 26))
    assert (past.starts_on, past.ends_on) == (dt.date(2026, 2, 25), dt.date(2026, 3, 4))
    assert await periods.period_for(db, site=site, day=dt.date(2026, 3, 10)) == first


async def test_two_week_periods_keep_to_alternate_weeks(db: AsyncSession, site: Site) -> None:
    await update_site_settings(db, site, pay_cadence="biweekly")
    one = await periods.period_for(db, site=site, day=dt.date(2026, 3, 4))
    assert (one.ends_on - one.starts_on).days == 14
    assert one.starts_on.weekday() == 0
    assert one.starts_on <= dt.date(2026, 3, 4) < one.ends_on
    assert ((one.starts_on - dt.date(2001, 1, 1)).days // 7) % 2 == 0


async def test_a_period_of_another_site_is_not_found(db: AsyncSession, site: Site, people: Factory) -> None:
    other = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    theirs = await periods.period_for(db, site=other, day=MONDAY)
    finance = await people.make(Role.finance)
    with pytest.raises(NotFound):
        await periods.period_of_site(db, site_id=site.id, period_id=theirs.id)
    with pytest.raises(NotFound):
        await periods.lock_period(db, period_id=theirs.id, by=finance, now=AFTER)


# Locking ----------------------------------------------------------------------------------------------------


async def test_lock_settles_each_agent_by_the_rules(db: AsyncSession, site: Site, people: Factory) -> None:
    await a_rate_card(db, site, RATES, effective_from=MONDAY)
    skill = await a_skill(db, site)
    ana = await people.make(Role.agent, tier=Tier.senior)
    ben = await people.make(Role.agent, tier=Tier.junior)
    finance = await people.make(Role.finance)
    period = await the_period(db, site)
    await worked_shift(db, ana, MONDAY, slots=9)  # 4.5 h x 40.00 = 180.00
    await worked_shift(db, ana, MONDAY + dt.timedelta(days=1), slots=4, bonus=1500)  # 2 h = 80.00 + 15.00
    await records(db, ana, MONDAY, skill=skill, csat=5, n=3)  # 3 x 0.80, CSAT 5.0 on 3 ratings
    await records(db, ana, MONDAY, clock=(23, 30), n=2)  # late Monday local: still Monday; 2 x 0.50
    await records(db, ana, MONDAY + dt.timedelta(days=7), n=5)  # next period
    await worked_shift(db, ben, MONDAY, no_show=True)  # nothing
    await worked_shift(db, ben, MONDAY + dt.timedelta(days=2), slots=3)  # 1.5 h x 30.00 = 45.00
    await db.commit()

    locked = await periods.lock_period(db, period_id=period.id, by=finance, now=AFTER)

    assert locked.status == PeriodStatus.locked
    assert locked.locked_by_id == finance.id
    assert locked.checksum
    assert len(locked.checksum) == 64
    mine = await lines_of(db, period, ana)
    assert [(line.kind, line.day, line.quantity, line.rate_minor, line.amount_minor) for line in mine] == [
        (LineKind.base, MONDAY, 270, 4000, 18000),
        (LineKind.base, MONDAY + dt.timedelta(days=1), 120, 4000, 8000),
        (LineKind.urgent_bonus, MONDAY + dt.timedelta(days=1), 1, 1500, 1500),
        (LineKind.piece, MONDAY, 2, 50, 100),
        (LineKind.piece, MONDAY, 3, 80, 240),
        (LineKind.quality_bonus, None, 1, 10, 34),  # 10 % of 3.40
    ]
    ana_settled = await settlement_of(db, period, ana)
    assert ana_settled is not None
    assert ana_settled.gross_minor == sum(line.amount_minor for line in mine) == 27874
    assert (ana_settled.base_minor, ana_settled.piece_minor, ana_settled.bonus_minor) == (26000, 340, 1534)
    assert (ana_settled.worked_minutes, ana_settled.pieces, ana_settled.tier) == (390, 5, "senior")
    assert ana_settled.net_minor == ana_settled.gross_minor
    assert ana_settled.withholding_minor == 0
    ben_settled = await settlement_of(db, period, ben)
    assert ben_settled is not None
    assert (ben_settled.worked_minutes, ben_settled.gross_minor) == (90, 4500)
    assert await ledger.payable_balance(db, user_id=ana.id) == 27874
    assert await ledger.balance(db, account=Account.earnings_expense) == 27874 + 4500
    assert all(total == 0 for total in (await ledger.entry_sums(db, period_id=period.id)).values())
    next_period = await periods.period_for(db, site=site, day=period.ends_on)
    assert next_period.status == PeriodStatus.open  # the lock made the next period


async def test_a_no_show_earns_nothing_even_when_waived(db: AsyncSession, site: Site, people: Factory) -> None:
    agent = await people.make(Role.agent)
    finance = await people.make(Role.finance)
    period = await the_period(db, site)
    await worked_shift(db, agent, MONDAY, no_show=True, waived=True)
    await worked_shift(db, agent, MONDAY + dt.timedelta(days=1), no_show=True)
    await db.commit()

    await periods.lock_period(db, period_id=period.id, by=finance, now=AFTER)

    assert await settlement_of(db, period, agent) is None  # nothing worked: no settlement at all
    assert await ledger.payable_balance(db, user_id=agent.id) == 0


async def test_without_a_rate_card_the_sites_hourly_base_pays_every_tier(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, base_hourly_pay_minor=2800)
    agent = await people.make(Role.agent, tier=Tier.senior)
    finance = await people.make(Role.finance)
    period = await the_period(db, site)
    await worked_shift(db, agent, MONDAY, slots=2)
    await records(db, agent, MONDAY, n=4)
    await db.commit()

    await periods.lock_period(db, period_id=period.id, by=finance, now=AFTER)

    lines = await lines_of(db, period, agent)
    assert [(line.kind, line.rate_minor, line.amount_minor) for line in lines] == [
        (LineKind.base, 2800, 2800),
        (LineKind.piece, 0, 0),
    ]


async def test_a_cover_shift_without_its_own_bonus_pays_the_cards_urgent_bonus(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_rate_card(db, site, RATES, effective_from=MONDAY)
    agent = await people.make(Role.agent)
    other = await people.make(Role.agent)
    finance = await people.make(Role.finance)
    period = await the_period(db, site)
    shift = await worked_shift(db, agent, MONDAY, slots=2)
    db.add(
        CoverRequest(
            site_id=site.id,
            shift_id=shift.id,
            reason=CoverReason.emergency,
            status=CoverStatus.covered,
            covered_by_id=agent.id,
        )
    )
    not_cover = await worked_shift(db, other, MONDAY, slots=2)
    await db.flush()
    assert not_cover.bonus_minor == 0
    await db.commit()

    await periods.lock_period(db, period_id=period.id, by=finance, now=AFTER)

    assert [(line.kind, line.amount_minor) for line in await lines_of(db, period, agent)] == [
        (LineKind.base, 3000),
        (LineKind.urgent_bonus, 2500),
    ]
    assert [line.kind for line in await lines_of(db, period, other)] == [LineKind.base]


async def test_locking_again_changes_nothing(db: AsyncSession, site: Site, people: Factory) -> None:
    agent = await people.make(Role.agent)
    finance = await people.make(Role.finance)
    admin = await people.make(Role.admin)
    period = await the_period(db, site)
    await worked_shift(db, agent, MONDAY)
    await db.commit()
    first = await periods.lock_period(db, period_id=period.id, by=finance, now=AFTER)
    checksum, locked_at = first.checksum, first.locked_at

    again = await periods.lock_period(db, period_id=period.id, by=admin, now=AFTER + dt.timedelta(hours=1))

    assert (again.checksum, again.locked_at, again.locked_by_id) == (checksum, locked_at, finance.id)
    assert await count(db, Settlement, Settlement.period_id == period.id) == 1
    assert await count(db, JournalEntry, JournalEntry.period_id == period.id) == 1


async def test_a_period_cannot_be_locked_before_it_ends_or_its_shifts_do(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    finance = await people.make(Role.finance)
    period = await the_period(db, site)
    await worked_shift(db, agent, MONDAY + dt.timedelta(days=6), clock=(22, 0), slots=8)  # Sun 22:00 .. Mon 02:00
    await db.commit()
    midnight = dt.datetime.combine(period.ends_on, dt.time(0), tzinfo=ZONE)

    with pytest.raises(DomainError) as early:
        await periods.lock_period(db, period_id=period.id, by=finance, now=midnight - dt.timedelta(seconds=1))
    assert early.value.field == "period"
    with pytest.raises(DomainError) as under_way:
        await periods.lock_period(db, period_id=period.id, by=finance, now=midnight + dt.timedelta(hours=1))
    assert under_way.value.field == "period"
    assert "02:00" in under_way.value.message
    assert (await periods.period_of_site(db, site_id=site.id, period_id=period.id)).status == PeriodStatus.open

    locked = await periods.lock_period(db, period_id=period.id, by=finance, now=midnight + dt.timedelta(hours=2))
    assert locked.status == PeriodStatus.locked
    assert [line.quantity for line in await lines_of(db, period, agent)] == [240]


async def test_an_earlier_open_period_must_be_locked_first(db: AsyncSession, site: Site, people: Factory) -> None:
    finance = await people.make(Role.finance)
    first = await the_period(db, site)
    second = await periods.period_for(db, site=site, day=first.ends_on)
    with pytest.raises(DomainError) as refused:
        await periods.lock_period(db, period_id=second.id, by=finance, now=AFTER + dt.timedelta(days=7))
    assert refused.value.field == "period"


@pytest.mark.parametrize("role", [Role.coordinator, Role.agent])
async def test_only_finance_locks_and_pays(db: AsyncSession, site: Site, people: Factory, role: Role) -> None:
    someone = await people.make(role)
    period = await the_period(db, site)
    with pytest.raises(Forbidden):
        await periods.lock_period(db, period_id=period.id, by=someone, now=AFTER)
    with pytest.raises(Forbidden):
        await periods.mark_paid(db, period_id=period.id, by=someone, now=AFTER)
    assert (await periods.period_of_site(db, site_id=site.id, period_id=period.id)).status == PeriodStatus.open


async def test_paying_posts_each_payout_once(db: AsyncSession, site: Site, people: Factory) -> None:
    agent = await people.make(Role.agent)
    finance = await people.make(Role.finance)
    period = await the_period(db, site)
    await worked_shift(db, agent, MONDAY)
    await db.commit()
    with pytest.raises(DomainError) as not_locked:
        await periods.mark_paid(db, period_id=period.id, by=finance, now=AFTER)
    assert not_locked.value.field == "period"
    await periods.lock_period(db, period_id=period.id, by=finance, now=AFTER)
    assert await ledger.payable_balance(db, user_id=agent.id) == 12000

    paid = await periods.mark_paid(db, period_id=period.id, by=finance, now=AFTER)
    again = await periods.mark_paid(db, period_id=period.id, by=finance, now=AFTER + dt.timedelta(days=1))

    assert paid.status == again.status == PeriodStatus.paid
    assert again.paid_at == paid.paid_at
    assert await ledger.payable_balance(db, user_id=agent.id) == 0
    assert await ledger.balance(db, account=Account.cash, user_id=agent.id) == -12000
    payouts = JournalEntry.period_id == period.id, JournalEntry.kind == EntryKind.payout
    assert await count(db, JournalEntry, *payouts) == 1


# A locked period never changes; corrections go to the next open one ---------------------------------------------


async def test_a_locked_period_refuses_changes(db: AsyncSession, site: Site, people: Factory) -> None:
    finance = await people.make(Role.finance)
    site_id, period_id = site.id, (await the_period(db, site)).id
    await periods.lock_period(db, period_id=period_id, by=finance, now=AFTER)
    await db.commit()

    period = await periods.period_of_site(db, site_id=site_id, period_id=period_id)
    period.ends_on = period.ends_on + dt.timedelta(days=1)
    with pytest.raises(PostedIsFinal):
        await db.flush()
    await db.rollback()
    period = await periods.period_of_site(db, site_id=site_id, period_id=period_id)
    period.status = PeriodStatus.open
    with pytest.raises(PostedIsFinal):
        await db.flush()
    await db.rollback()
    period = await periods.period_of_site(db, site_id=site_id, period_id=period_id)
    assert (period.status, period.ends_on) == (PeriodStatus.locked, MONDAY + dt.timedelta(days=7))


async def test_an_adjustment_lands_in_the_next_open_period_with_its_reason_and_author(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    coordinator = await people.make(Role.coordinator)
    finance = await people.make(Role.finance)
    period = await the_period(db, site)
    await worked_shift(db, agent, MONDAY)
    await db.commit()
    await periods.lock_period(db, period_id=period.id, by=finance, now=AFTER)

    adjustment = await periods.add_adjustment(
        db,
        site=site,
        user_id=agent.id,
        amount_minor=-1250,
        reason="  Paid twice for Monday  ",
        author=coordinator,
        now=AFTER,
    )

    next_period = await periods.period_for(db, site=site, day=period.ends_on)
    assert adjustment.period_id == next_period.id
    assert adjustment.author_id == coordinator.id
    assert adjustment.reason == "Paid twice for Monday"
    await periods.lock_period(db, period_id=next_period.id, by=finance, now=AFTER + dt.timedelta(days=7))
    lines = await lines_of(db, next_period, agent)
    assert [(line.kind, line.amount_minor, line.note) for line in lines] == [
        (LineKind.adjustment, -1250, "Paid twice for Monday")
    ]
    assert (await settlement_of(db, period, agent)).gross_minor == 12000  # type: ignore[union-attr]
    assert await ledger.payable_balance(db, user_id=agent.id) == 12000 - 1250


async def test_an_adjustment_needs_a_reason_an_amount_and_an_agent_of_the_site(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    finance = await people.make(Role.finance)
    other = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    stranger = await people.make(Role.agent, site=other)
    base = {"site": site, "user_id": agent.id, "amount_minor": 500, "reason": "Late fix", "author": finance}

    for changes, field in (
        ({"reason": "  "}, "reason"),
        ({"reason": "x" * 301}, "reason"),
        ({"amount_minor": 0}, "amount"),
    ):
        with pytest.raises(DomainError) as refused:
            await periods.add_adjustment(db, **{**base, **changes}, now=DURING)  # type: ignore[arg-type]
        assert refused.value.field == field
    with pytest.raises(NotFound):
        await periods.add_adjustment(db, **{**base, "user_id": stranger.id}, now=DURING)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        await periods.add_adjustment(db, **{**base, "author": agent}, now=DURING)  # type: ignore[arg-type]
    assert await count(db, Adjustment, Adjustment.site_id == site.id) == 0


# Withholding ------------------------------------------------------------------------------------------------


async def test_cn_withholding_counts_the_months_earlier_weeks_as_one_payment(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, withholding_policy="cn_labour")
    agent = await people.make(Role.agent)
    finance = await people.make(Role.finance)
    first = await the_period(db, site)
    second = await periods.period_for(db, site=site, day=first.ends_on)
    for period in (first, second):
        for minor in (150000, 150000):  # 3,000.00 CNY in each week: two adjustments filed while it is open
            await periods.add_adjustment(
                db,
                site=site,
                user_id=agent.id,
                amount_minor=minor,
                reason="Project fee",
                author=finance,
                now=dt.datetime.combine(period.starts_on, dt.time(12), tzinfo=ZONE),
                confirmed=True,  # above the read-back limit
            )
    await periods.lock_period(db, period_id=first.id, by=finance, now=AFTER)
    await periods.lock_period(db, period_id=second.id, by=finance, now=AFTER + dt.timedelta(days=7))

    one, two = await settlement_of(db, first, agent), await settlement_of(db, second, agent)
    assert one is not None
    assert two is not None
    # Week 1: (3000 - 800) x 20 % = 440.00. Month so far 6000: 6000 x 80 % x 20 % = 960.00, less 440.00 = 520.00
    assert (one.withholding_minor, one.net_minor) == (44000, 256000)
    assert (two.withholding_minor, two.net_minor) == (52000, 248000)
    assert (await lines_of(db, second, agent))[-1].kind == LineKind.withholding
    assert await ledger.balance(db, account=Account.tax_payable, user_id=agent.id) == -96000


async def test_us_backup_withholding_and_the_1099_flag(db: AsyncSession, people: Factory) -> None:
    us = await accounts.ensure_site(db, name="Austin", timezone="America/Chicago", country="US")
    await update_site_settings(db, us, withholding_policy="us_backup", currency="USD")
    agent = await people.make(Role.agent, site=us)
    finance = await people.make(Role.finance, site=us)
    period = await periods.period_for(db, site=us, day=MONDAY)
    await periods.add_adjustment(
        db,
        site=us,
        user_id=agent.id,
        amount_minor=250000,
        reason="Contract work",
        author=finance,
        now=dt.datetime.combine(MONDAY, dt.time(12), tzinfo=ZoneInfo("America/Chicago")),
        confirmed=True,
    )
    await periods.lock_period(db, period_id=period.id, by=finance, now=AFTER)

    settled = await settlement_of(db, period, agent)
    assert settled is not None
    assert (settled.withholding_minor, settled.net_minor) == (60000, 190000)  # 24 % with no taxpayer id
    assert settled.flags == ["us_1099_nec"]  # 2,500.00 >= 2,000.00 (2026)
    assert period.currency == "USD"


# Live earnings: a shift under way does not count yet ----------------------------------------------------------


async def test_live_work_counts_only_shifts_that_have_ended(db: AsyncSession, site: Site, people: Factory) -> None:
    agent = await people.make(Role.agent)
    period = await the_period(db, site)
    await worked_shift(db, agent, MONDAY, clock=(9, 0), slots=4)
    await worked_shift(db, agent, MONDAY, clock=(14, 0), slots=4)
    await db.commit()
    noon = dt.datetime.combine(MONDAY, dt.time(15), tzinfo=ZONE)

    work = await gather.agent_work(db, period=period, user_id=agent.id, now=noon)

    assert [(shift.day, shift.minutes) for shift in work.shifts] == [(MONDAY, 120)]


# Two finance users locking at once on PostgreSQL --------------------------------------------------------------


@dataclass
class Race:
    database: Database
    period_id: int
    finance_ids: list[int]
    agent_ids: list[int]


@pytest.fixture
async def race() -> AsyncIterator[Race]:
    url = await asyncio.to_thread(fresh_postgres_database)
    if url is None:
        pytest.skip("PostgreSQL is not reachable")
    try:
        await asyncio.to_thread(migrate, url, "head")
        database = Database(create_engine(url, pool_size=10))
        async with database.session(write=True) as session:
            site = await accounts.ensure_site(session, name="Race Centre", timezone="Asia/Shanghai", country="CN")
            people = [
                User(
                    email=f"racer{n}@example.com",
                    display_name=f"Racer {n}",
                    role=Role.finance if n < 4 else Role.agent,
                    timezone=site.timezone,
                    site_id=site.id,
                )
                for n in range(24)
            ]
            session.add_all(people)
            await session.flush()
            period = await periods.period_for(session, site=site, day=MONDAY)
            for agent in people[4:]:
                await worked_shift(session, agent, MONDAY)
                await records(session, agent, MONDAY, n=3)
            ids = Race(database, period.id, [p.id for p in people[:4]], [p.id for p in people[4:]])
        yield ids
        await database.dispose()
    finally:
        await asyncio.to_thread(drop_postgres_database, url)


async def lock_as(race: Race, finance_id: int) -> str:
    async with race.database.session(write=True) as session:
        finance = await session.get(User, finance_id)
        assert finance is not None
        period = await periods.lock_period(session, period_id=race.period_id, by=finance, now=AFTER)
        return str(period.checksum)


@pytest.mark.postgres
async def test_finance_users_locking_at_once_make_one_settlement_per_agent(race: Race) -> None:
    checksums = await asyncio.gather(*(lock_as(race, finance_id) for finance_id in race.finance_ids))

    assert len(set(checksums)) == 1
    async with race.database.session() as session:
        per_agent = dict(
            (await session.execute(select(Settlement.user_id, func.count()).group_by(Settlement.user_id))).all()
        )
        assert per_agent == dict.fromkeys(race.agent_ids, 1)
        entries = await session.scalar(select(func.count()).select_from(JournalEntry))
        assert entries == len(race.agent_ids)
        period = await session.get(PayPeriod, race.period_id)
        assert period is not None
        assert period.status == PeriodStatus.locked
        assert period.checksum == checksums[0]
