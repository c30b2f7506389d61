"""Reversals: finance takes a sent payout back with a reason; when the agent's balance is already paid out,
Stripe refuses and the agent owes the money (a receivable, shown to both, netted by the next run).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site
from backend.core.db import Database, utcnow
from backend.core.errors import Conflict, DomainError, Forbidden, NotFound
from backend.core.settings import Settings
from backend.notify.models import Notification
from backend.pay.models import Account, EntryKind, PayPeriod
from backend.payouts import reversals, runs, sender
from backend.payouts.models import PayoutStatus
from tests.conftest import login, post_form
from tests.factories import Factory
from tests.payout_world import (
    World,
    account_balance,
    an_approved_run,
    entries_of,
    fresh,
    ledger_total,
    payout_now,
    stripe_settings,
)
from tests.stripe_standin import StandinServer


@pytest.fixture
def settings(settings: Settings, stripe_standin: StandinServer) -> Settings:
    return stripe_settings(settings, stripe_standin)


async def a_sent_world(
    db: AsyncSession, database: Database, site: Site, standin: StandinServer, gateway: Any, people: Factory
) -> World:
    now = utcnow()
    world = await an_approved_run(db, site, standin, amounts=(10_000,), now=now, people=people)
    await sender.send_due(database, gateway=gateway, now=now)
    world.payouts = [await payout_now(db, payout.id) for payout in world.payouts]
    assert world.payouts[0].status is PayoutStatus.sent
    return world


async def titles(db: AsyncSession, user_id: int) -> list[str]:
    return list(
        await db.scalars(select(Notification.title).where(Notification.user_id == user_id).order_by(Notification.id))
    )


async def test_a_reversal_takes_the_money_back_and_the_agent_is_owed_again(
    db: AsyncSession,
    database: Database,
    site: Site,
    people: Factory,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: Any,
) -> None:
    gateway = make_gateway(settings)
    world = await a_sent_world(db, database, site, stripe_standin, gateway, people)
    payout, agent = world.payouts[0], world.agents[0]

    await reversals.reverse_payout(
        db, gateway, payout_id=payout.id, by=world.finance, reason="Wrong agent", now=utcnow()
    )
    await db.commit()

    done = await payout_now(db, payout.id)
    assert done.status is PayoutStatus.reversed
    assert done.reversal_id is not None
    assert done.reversal_id.startswith("trr_")
    assert (done.reversal_reason, done.reversal_refused) == ("Wrong agent", None)
    assert stripe_standin.state()["reversals"] == 1
    assert await entries_of(db, period_id=world.period.id, kind=EntryKind.reversal) == [f"reversal:{payout.id}"]
    assert await ledger_total(db) == 0
    assert await account_balance(db, Account.agent_payable, agent.id) == -10_000  # owed to the agent again
    assert await account_balance(db, Account.stripe_balance, agent.id) == 0
    period = await fresh(db, PayPeriod, world.period.id)
    assert await runs.owed_through(db, period=period, user_ids=[agent.id]) == {agent.id: 10_000}
    assert (await titles(db, agent.id))[-1] == "A payout of USD 100.00 was taken back"

    with pytest.raises(Conflict):  # taken back once
        await reversals.reverse_payout(db, gateway, payout_id=payout.id, by=world.finance, reason="again", now=utcnow())


async def test_a_refused_reversal_leaves_a_receivable_both_sides_see(
    db: AsyncSession,
    database: Database,
    site: Site,
    people: Factory,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: Any,
) -> None:
    gateway = make_gateway(settings)
    world = await a_sent_world(db, database, site, stripe_standin, gateway, people)
    payout, agent = world.payouts[0], world.agents[0]
    stripe_standin.pay_out(world.accounts[0], status="paid")  # the agent's balance went to their bank

    await reversals.reverse_payout(
        db, gateway, payout_id=payout.id, by=world.finance, reason="Paid twice", now=utcnow()
    )
    await db.commit()

    done = await payout_now(db, payout.id)
    assert done.status is PayoutStatus.reversed
    assert done.reversal_id is None
    assert done.reversal_refused is not None
    assert "already paid out" in done.reversal_refused
    assert stripe_standin.state()["reversals_refused"] == 1
    assert await entries_of(db, period_id=world.period.id, kind=EntryKind.receivable) == [f"receivable:{payout.id}"]
    assert await entries_of(db, period_id=world.period.id, kind=EntryKind.reversal) == []
    assert await ledger_total(db) == 0
    assert await account_balance(db, Account.agent_receivable, agent.id) == 10_000  # the agent owes it back
    period = await fresh(db, PayPeriod, world.period.id)
    # The payout no longer counts as paid, and what the agent holds is netted: the next run pays nothing twice.
    assert await runs.owed_through(db, period=period, user_ids=[agent.id]) == {agent.id: 0}
    assert (await titles(db, agent.id))[-1] == "A payout of USD 100.00 was made in error: you owe it back"
    assert (await titles(db, world.finance.id))[
        -1
    ] == f"Stripe refused to take back the payout to {payout.display_name}"


async def test_a_reversal_needs_a_reason_finance_and_a_sent_payout_of_the_site(
    db: AsyncSession,
    database: Database,
    site: Site,
    people: Factory,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: Any,
) -> None:
    gateway = make_gateway(settings)
    now = utcnow()
    world = await an_approved_run(db, site, stripe_standin, amounts=(1_000, 2_000), now=now, people=people)
    queued = world.payouts[1]
    claimed = await sender.claim_due(database, now=now, limit=1)
    sent_one = await payout_now(db, claimed[0].id)
    await sender.record_answers(
        database, [(claimed[0], await sender.call_stripe(gateway, claimed[0]))], now=now, report=sender.SendReport()
    )
    coordinator = await people.make(Role.coordinator)
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Europe/London", country="GB")
    outsider = await people.make(Role.finance, site=elsewhere)

    with pytest.raises(DomainError) as missing:
        await reversals.reverse_payout(db, gateway, payout_id=sent_one.id, by=world.finance, reason="  ", now=now)
    assert (missing.value.status_code, missing.value.field) == (422, "reason")
    for who in (world.agents[0], coordinator):
        with pytest.raises(Forbidden):
            await reversals.reverse_payout(db, gateway, payout_id=sent_one.id, by=who, reason="x", now=now)
    with pytest.raises(NotFound):
        await reversals.reverse_payout(db, gateway, payout_id=sent_one.id, by=outsider, reason="x", now=now)
    with pytest.raises(Conflict):
        await reversals.reverse_payout(db, gateway, payout_id=queued.id, by=world.finance, reason="x", now=now)
    assert stripe_standin.state()["reversals"] == 0


# The finance buttons -----------------------------------------------------------------------------------------


async def test_finance_reverses_from_the_run_page_and_others_are_refused(
    client: httpx.AsyncClient,
    db: AsyncSession,
    database: Database,
    site: Site,
    people: Factory,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: Any,
) -> None:
    world = await a_sent_world(db, database, site, stripe_standin, make_gateway(settings), people)
    payout = world.payouts[0]
    path = f"/finance/payouts/{payout.id}/reverse"

    await login(client, world.agents[0].email)
    assert (await post_form(client, path, {"reason": "mine"})).status_code == 403
    client.cookies.clear()
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Europe/London", country="GB")
    outsider = await people.make(Role.finance, site=elsewhere)
    await login(client, outsider.email)
    assert (await post_form(client, path, {"reason": "not mine"})).status_code == 404
    client.cookies.clear()
    await login(client, world.finance.email)
    blank = await post_form(client, path, {"reason": ""})
    assert blank.status_code == 422
    assert "Say why this payout is taken back." in blank.text
    assert (await payout_now(db, payout.id)).status is PayoutStatus.sent

    done = await post_form(client, path, {"reason": "Wrong amount"})

    assert done.status_code == 303
    assert done.headers["location"] == f"/finance/payout-runs/{world.run.id}?done=reversed"
    assert (await payout_now(db, payout.id)).status is PayoutStatus.reversed


async def test_finance_retries_a_failed_payout_and_reconciles_from_the_run_page(
    client: httpx.AsyncClient,
    db: AsyncSession,
    database: Database,
    site: Site,
    people: Factory,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: Any,
) -> None:
    now = utcnow()
    world = await an_approved_run(db, site, stripe_standin, amounts=(1_000, 2_000), now=now, people=people)
    stripe_standin.fault("balance_insufficient", times=1)
    await sender.send_due(database, gateway=make_gateway(settings), now=now)
    failed = [p for p in [await payout_now(db, p.id) for p in world.payouts] if p.status is PayoutStatus.failed]
    assert len(failed) == 1
    await login(client, world.finance.email)

    retried = await post_form(client, f"/finance/payouts/{failed[0].id}/retry", {})
    again = await post_form(client, f"/finance/payouts/{failed[0].id}/retry", {})
    reconciled = await post_form(client, f"/finance/payout-runs/{world.run.id}/reconcile", {})

    assert retried.status_code == 303
    assert retried.headers["location"] == f"/finance/payout-runs/{world.run.id}?done=retried"
    assert (await payout_now(db, failed[0].id)).status is PayoutStatus.queued
    assert again.status_code == 409  # queued now: only a failed payout is retried
    assert "Only a failed payout can be retried." in again.text
    assert reconciled.status_code == 303
