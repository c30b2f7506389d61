"""The ledger: every entry balances, an agent's payable equals net settled minus paid, nothing posted changes.

Sign convention: postings are debits (+) and credits (-). ``agent_payable`` is credited the net at lock and
debited the payout, so ``payable_balance`` (the negated sum of the agent's ``agent_payable`` postings) is what
the site still owes them: net settled - paid.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Tier
from backend.accounts.site_settings import update_site_settings
from backend.core.errors import DomainError
from backend.pay import ledger, periods
from backend.pay.ledger import PostedIsFinal
from backend.pay.models import (
    Account,
    EntryKind,
    JournalEntry,
    PeriodStatus,
    Posting,
    Settlement,
    SettlementLine,
)
from tests.factories import Factory, a_rate_card
from tests.integration.test_pay_lock import AFTER, MONDAY, RATES, records, worked_shift

TIERS = [Tier.junior, Tier.mid, Tier.senior]


async def test_an_unbalanced_entry_is_refused(db: AsyncSession, people: Factory) -> None:
    finance = await people.make(Role.finance)
    period = await periods.period_for(db, site=people.site, day=MONDAY)
    arguments = {
        "site_id": people.site.id,
        "period_id": period.id,
        "kind": EntryKind.reversal,
        "memo": "test",
        "currency": "CNY",
        "by": finance,
    }
    with pytest.raises(DomainError) as refused:
        await ledger.post_entry(
            db, key="a", postings=[(Account.cash, None, 100), (Account.earnings_expense, None, -99)], **arguments
        )
    assert refused.value.field == "postings"
    with pytest.raises(DomainError):
        await ledger.post_entry(db, key="b", postings=[], **arguments)

    entry = await ledger.post_entry(
        db, key="c", postings=[(Account.cash, None, 100), (Account.earnings_expense, None, -100)], **arguments
    )
    assert await ledger.entry_sums(db, period_id=period.id) == {entry.id: 0}


async def test_nothing_posted_can_be_updated_or_deleted(db: AsyncSession, people: Factory) -> None:
    agent = await people.make(Role.agent)
    finance = await people.make(Role.finance)
    period_id = (await periods.period_for(db, site=people.site, day=MONDAY)).id
    await worked_shift(db, agent, MONDAY)
    await periods.lock_period(db, period_id=period_id, by=finance, now=AFTER)
    await db.commit()
    agent_id = agent.id
    before = await ledger.entry_sums(db, period_id=period_id)

    attempts = [
        (Posting, lambda row: setattr(row, "amount_minor", row.amount_minor + 1)),
        (JournalEntry, lambda row: setattr(row, "memo", "edited")),
        (Settlement, lambda row: setattr(row, "net_minor", 0)),
        (SettlementLine, lambda row: setattr(row, "note", "edited")),
    ]
    for model, change in attempts:
        row = await db.scalar(select(model).limit(1))
        change(row)
        with pytest.raises(PostedIsFinal):
            await db.flush()
        await db.rollback()
        row = await db.scalar(select(model).limit(1))
        await db.delete(row)
        with pytest.raises(PostedIsFinal):
            await db.flush()
        await db.rollback()
    for statement in (
        update(Posting).values(amount_minor=0),
        delete(Posting),
        delete(JournalEntry),
        update(SettlementLine).values(amount_minor=0),
        delete(Settlement),
    ):
        with pytest.raises(PostedIsFinal):
            await db.execute(statement)
        await db.rollback()

    assert await ledger.entry_sums(db, period_id=period_id) == before
    assert await ledger.payable_balance(db, user_id=agent_id) == 12000


# Random small worlds ----------------------------------------------------------------------------------------

shift_plan = st.tuples(st.integers(0, 6), st.integers(1, 16), st.booleans(), st.sampled_from([0, 0, 999, 1500]))
agent_plan = st.fixed_dictionaries(
    {
        "tier": st.sampled_from(TIERS),
        "shifts": st.lists(shift_plan, max_size=3, unique_by=lambda plan: plan[0]),
        "records": st.lists(st.tuples(st.integers(0, 6), st.integers(1, 5), st.none() | st.integers(1, 5)), max_size=4),
        "adjustment": st.sampled_from([0, 0, 1, -1, 333, -12345]),
    }
)
world = st.fixed_dictionaries(
    {
        "policy": st.sampled_from(["none", "cn_labour", "us_backup"]),
        "agents": st.lists(agent_plan, min_size=1, max_size=3),
        "card": st.booleans(),
        "pay": st.booleans(),
    }
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=world)
async def test_ledger_invariants_hold_in_random_worlds(db: AsyncSession, plan: dict) -> None:  # type: ignore[type-arg]
    site = await accounts.ensure_site(db, name=f"World {uuid.uuid4().hex[:8]}", timezone="Asia/Shanghai", country="CN")
    await update_site_settings(db, site, withholding_policy=plan["policy"])
    people = Factory(db=db, site=site)
    if plan["card"]:
        await a_rate_card(db, site, RATES, effective_from=MONDAY)
    finance = await people.make(Role.finance)
    period = await periods.period_for(db, site=site, day=MONDAY)
    agents = []
    for agent_plan_ in plan["agents"]:
        agent = await people.make(Role.agent, tier=agent_plan_["tier"])
        agents.append(agent)
        for day, slots, no_show, bonus in agent_plan_["shifts"]:
            await worked_shift(db, agent, MONDAY + dt.timedelta(days=day), slots=slots, no_show=no_show, bonus=bonus)
        for index, (day, count, csat) in enumerate(agent_plan_["records"]):
            await records(db, agent, MONDAY + dt.timedelta(days=day), count=count, csat=csat, clock=(8, index))
        if agent_plan_["adjustment"]:
            await periods.add_adjustment(
                db,
                site=site,
                user_id=agent.id,
                amount_minor=agent_plan_["adjustment"],
                reason="Random correction",
                author=finance,
                now=dt.datetime.combine(MONDAY, dt.time(12), tzinfo=AFTER.tzinfo),
            )

    locked = await periods.lock_period(db, period_id=period.id, by=finance, now=AFTER)
    if plan["pay"]:
        locked = await periods.mark_paid(db, period_id=period.id, by=finance, now=AFTER)

    assert locked.status == (PeriodStatus.paid if plan["pay"] else PeriodStatus.locked)
    assert set((await ledger.entry_sums(db, period_id=period.id)).values()) <= {0}
    settlements = {s.user_id: s for s in await db.scalars(select(Settlement).where(Settlement.period_id == period.id))}
    for settlement in settlements.values():
        line_sum = await db.scalar(
            select(func.sum(SettlementLine.amount_minor)).where(SettlementLine.settlement_id == settlement.id)
        )
        parts = settlement.base_minor + settlement.piece_minor + settlement.bonus_minor + settlement.adjustment_minor
        assert settlement.gross_minor == parts
        assert settlement.net_minor == settlement.gross_minor - settlement.withholding_minor == (line_sum or 0)
        assert settlement.withholding_minor >= 0
    for agent in agents:
        net = settlements[agent.id].net_minor if agent.id in settlements else 0
        paid = net if plan["pay"] else 0
        assert await ledger.payable_balance(db, user_id=agent.id) == net - paid
        gross = settlements[agent.id].gross_minor if agent.id in settlements else 0
        assert await ledger.balance(db, account=Account.earnings_expense, user_id=agent.id) == gross
