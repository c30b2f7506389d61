"""Reconciliation: a run's payouts against Stripe's transfers in its group; each kind of difference is found and
kept for finance, a clean run has none, and the daily job reconciles sent runs once a day."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site
from backend.core.db import Database, utcnow
from backend.core.settings import Settings
from backend.payouts import reconcile, sender
from backend.payouts.models import (
    DifferenceKind,
    FailureKind,
    PayoutRun,
    PayoutStatus,
    ReconciliationDifference,
    RunStatus,
)
from tests.factories import Factory
from tests.payout_world import an_approved_run, fresh, payout_now, stripe_settings
from tests.stripe_standin import StandinServer


async def differences_of(db: AsyncSession, run_id: int) -> list[tuple[DifferenceKind, int | None]]:
    rows = await db.execute(
        select(ReconciliationDifference.kind, ReconciliationDifference.payout_id)
        .where(ReconciliationDifference.run_id == run_id)
        .order_by(ReconciliationDifference.kind, ReconciliationDifference.payout_id)
    )
    return [(DifferenceKind(kind), payout_id) for kind, payout_id in rows]


async def test_a_clean_run_has_no_differences_and_the_daily_job_reconciles_it_once_a_day(
    db: AsyncSession,
    database: Database,
    site: Site,
    people: Factory,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: Any,
) -> None:
    gateway = make_gateway(stripe_settings(settings, stripe_standin))
    now = utcnow()
    world = await an_approved_run(db, site, stripe_standin, amounts=(1_000, 2_000, 3_000), now=now, people=people)
    await sender.send_due(database, gateway=gateway, now=now)
    assert (await fresh(db, PayoutRun, world.run.id)).status is RunStatus.sent

    found = await reconcile.reconcile_run(db, gateway, run_id=world.run.id, now=now)
    await db.commit()

    assert found == []
    assert (await fresh(db, PayoutRun, world.run.id)).reconciled_at == now
    assert await reconcile.reconcile_due(database, gateway, now=now + dt.timedelta(hours=23)) == 0
    assert await reconcile.reconcile_due(database, gateway, now=now + dt.timedelta(days=1)) == 1
    assert (await fresh(db, PayoutRun, world.run.id)).reconciled_at == now + dt.timedelta(days=1)


async def test_each_kind_of_difference_is_found_and_kept(
    db: AsyncSession,
    database: Database,
    site: Site,
    people: Factory,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: Any,
) -> None:
    gateway = make_gateway(stripe_settings(settings, stripe_standin))
    now = utcnow()
    amounts = (1_000, 2_000, 3_000, 4_000, 5_000)
    world = await an_approved_run(db, site, stripe_standin, amounts=amounts, now=now, people=people)
    clean, short, moved, crashed, phantom = [await payout_now(db, p.id) for p in world.payouts]
    crashed.status, crashed.failure_kind = PayoutStatus.failed, FailureKind.platform  # the sender skips it
    phantom.status, phantom.transfer_id = PayoutStatus.sent, "tr_we_only_think_exists"
    await db.commit()
    await sender.send_due(database, gateway=gateway, now=now)
    short = await payout_now(db, short.id)
    short.amount_minor += 1  # ours now says 20.01
    moved = await payout_now(db, moved.id)
    moved.destination = world.accounts[0]
    await db.commit()
    stripe = stripe_standin.client()
    stripe.v1.transfers.create(  # the transfer a crashed sender made and never recorded
        {
            "amount": crashed.amount_minor,
            "currency": "usd",
            "destination": world.accounts[3],
            "transfer_group": world.run.transfer_group,
            "metadata": {"weft_payout": str(crashed.id)},
        }
    )
    stranger = stripe.v1.transfers.create(
        {"amount": 777, "currency": "usd", "destination": world.accounts[0], "transfer_group": world.run.transfer_group}
    )

    found = await reconcile.reconcile_run(db, gateway, run_id=world.run.id, now=now)
    await db.commit()
    again = await reconcile.reconcile_run(db, gateway, run_id=world.run.id, now=now + dt.timedelta(minutes=5))
    await db.commit()

    expected = sorted(
        [
            (DifferenceKind.amount_differs, short.id),
            (DifferenceKind.destination_differs, moved.id),
            (DifferenceKind.missing_here, crashed.id),
            (DifferenceKind.missing_at_stripe, phantom.id),
            (DifferenceKind.unknown_transfer, None),
        ],
        key=lambda pair: (pair[0].value, pair[1] or 0),
    )
    assert len(found) == len(again) == 5
    assert sorted(await differences_of(db, world.run.id), key=lambda pair: (pair[0].value, pair[1] or 0)) == expected
    unknown = await db.scalar(
        select(ReconciliationDifference).where(
            ReconciliationDifference.run_id == world.run.id,
            ReconciliationDifference.kind == DifferenceKind.unknown_transfer,
        )
    )
    assert unknown is not None
    assert (unknown.transfer_id, unknown.theirs_minor, unknown.ours_minor) == (stranger["id"], 777, None)
    amount = await db.scalar(
        select(ReconciliationDifference).where(ReconciliationDifference.kind == DifferenceKind.amount_differs)
    )
    assert amount is not None
    assert (amount.ours_minor, amount.theirs_minor) == (2_001, 2_000)
    assert (await payout_now(db, crashed.id)).transfer_id is None  # shown to finance, not adopted
    assert clean.id not in {payout_id for _, payout_id in await differences_of(db, world.run.id)}
