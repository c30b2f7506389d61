"""A world for the money-movement tests: a locked period whose settlements are posted, agents with connected
accounts at the Stripe stand-in, and an approved Stripe run whose payouts are queued.

Built straight from the models (what ``runs.prepare_run``/``approve_run`` leave behind), so the sender, webhook,
reversal and reconciliation tests start where approval ends.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TypeVar

import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, User
from backend.core.settings import Settings
from backend.pay import ledger
from backend.pay.models import Account, Cadence, EntryKind, JournalEntry, PayPeriod, PeriodStatus, Posting
from backend.payouts.gateway import Gateway
from backend.payouts.models import (
    Payout,
    PayoutAccount,
    PayoutRun,
    PayoutStatus,
    Rail,
    RunStatus,
)
from tests.factories import Factory
from tests.stripe_standin import CONNECT_WEBHOOK_SECRET, WEBHOOK_SECRET, StandinServer

CURRENCY = "USD"
T = TypeVar("T")


def stripe_settings(settings: Settings, standin: StandinServer, **overrides: object) -> Settings:
    """The test settings with payouts on, pointed at the stand-in."""
    values: dict[str, object] = {
        "stripe_secret_key": "sk_test_x",
        "stripe_api_base": standin.url,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_connect_webhook_secret": CONNECT_WEBHOOK_SECRET,
        "stripe_timeout_seconds": 10.0,
        **overrides,
    }
    return msgspec.structs.replace(settings, **values)


@pytest.fixture
async def make_gateway() -> AsyncIterator[Callable[[Settings], Gateway]]:
    """Makes gateways of the test's own (each with its own rate limiter, so one test's 429 pause never slows
    another), closed at the end."""
    made: list[Gateway] = []

    def make(settings: Settings) -> Gateway:
        made.append(Gateway(settings))
        return made[-1]

    yield make
    for gateway in made:
        await gateway.http_client.close_async()


@dataclass
class World:
    site: Site
    finance: User
    agents: list[User]
    accounts: list[str]
    period: PayPeriod
    run: PayoutRun
    payouts: list[Payout]


async def an_approved_run(
    db: AsyncSession,
    site: Site,
    standin: StandinServer,
    *,
    amounts: tuple[int, ...] = (12_345, 6_789),
    now: dt.datetime,
    people: Factory | None = None,
) -> World:
    """Agents paid ``amounts`` (minor units) in a locked period, each with a ready account at the stand-in, and
    an approved Stripe run with one queued payout each, due at ``now``."""
    people = people or Factory(db=db, site=site)
    finance = await people.make(Role.finance)
    agents = [await people.make(Role.agent) for _ in amounts]
    accounts = standin.ready_accounts(len(amounts), country="US", currency="usd")
    monday = now.date() - dt.timedelta(days=now.weekday() + 14)
    period = PayPeriod(
        site_id=site.id,
        starts_on=monday,
        ends_on=monday + dt.timedelta(days=7),
        cadence=Cadence.weekly,
        currency=CURRENCY,
        status=PeriodStatus.open,
    )
    db.add(period)
    await db.flush()
    await ledger.post_entries(
        db,
        [
            ledger.EntryIn(
                site_id=site.id,
                period_id=period.id,
                kind=EntryKind.settlement,
                key=f"settle:{agent.id}",
                memo="settled in the test",
                postings=[(Account.earnings_expense, agent.id, amount), (Account.agent_payable, agent.id, -amount)],
                currency=CURRENCY,
                by_id=finance.id,
            )
            for agent, amount in zip(agents, amounts, strict=True)
        ],
        now=now,
    )
    period.status = PeriodStatus.locked
    period.locked_at = now
    for agent, account in zip(agents, accounts, strict=True):
        db.add(
            PayoutAccount(
                site_id=site.id,
                user_id=agent.id,
                stripe_account_id=account,
                details_submitted=True,
                transfers_status="active",
                requirements_due=[],
            )
        )
    run = PayoutRun(
        site_id=site.id,
        period_id=period.id,
        rail=Rail.stripe,
        status=RunStatus.approved,
        currency=CURRENCY,
        total_minor=sum(amounts),
        held_minor=0,
        payout_count=len(amounts),
        held_count=0,
        transfer_group=f"weft-run-test-{uuid.uuid4().hex[:12]}",
        prepared_at=now,
        prepared_by_id=finance.id,
        needs_second_approver=False,
        approved_at=now,
        approved_by_id=finance.id,
    )
    db.add(run)
    await db.flush()
    payouts = [
        Payout(
            run_id=run.id,
            site_id=site.id,
            period_id=period.id,
            user_id=agent.id,
            display_name=agent.display_name,
            amount_minor=amount,
            owed_minor=amount,
            receivable_minor=0,
            currency=CURRENCY,
            status=PayoutStatus.queued,
            destination=account,
            next_try_at=now,
        )
        for agent, account, amount in zip(agents, accounts, amounts, strict=True)
    ]
    db.add_all(payouts)
    await db.commit()
    return World(site, finance, agents, accounts, period, run, payouts)


async def fresh(db: AsyncSession, model: type[T], object_id: int) -> T:
    """The row as the database has it now (another session may have changed it)."""
    found = await db.scalar(
        select(model).where(model.id == object_id).execution_options(populate_existing=True)  # type: ignore[attr-defined]
    )
    assert found is not None
    return found


async def payout_now(db: AsyncSession, payout_id: int) -> Payout:
    found = await db.scalar(select(Payout).where(Payout.id == payout_id).execution_options(populate_existing=True))
    assert found is not None
    return found


async def entries_of(db: AsyncSession, *, period_id: int, kind: EntryKind) -> list[str]:
    return list(
        await db.scalars(
            select(JournalEntry.idempotency_key)
            .where(JournalEntry.period_id == period_id, JournalEntry.kind == kind)
            .order_by(JournalEntry.idempotency_key)
        )
    )


async def ledger_total(db: AsyncSession) -> int:
    """The sum of every posting: zero in a balanced ledger."""
    return int(await db.scalar(select(func.coalesce(func.sum(Posting.amount_minor), 0))) or 0)


async def account_balance(db: AsyncSession, account: Account, user_id: int) -> int:
    return await ledger.balance(db, account=account, user_id=user_id)
