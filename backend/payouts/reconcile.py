"""Reconciliation: a run's payouts against the transfers Stripe lists in the run's ``transfer_group``.

Compared by transfer id, amount (and currency), destination and metadata (``weft_payout``). A difference is kept
for finance, never repaired here: a transfer Stripe made that we did not record (``missing_here``, e.g. after a
crash) is shown, not adopted, because only a person should decide that money went where it should. Each
reconciliation replaces the run's previous set of differences and stamps ``reconciled_at``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import Database
from backend.core.errors import Conflict, NotFound
from backend.core.i18n import gettext as _
from backend.payouts.gateway import Gateway
from backend.payouts.models import DifferenceKind, Payout, PayoutRun, Rail, ReconciliationDifference, RunStatus
from backend.payouts.sender import group_transfers, payout_id_of

RECONCILE_EVERY = dt.timedelta(days=1)
RUNS_PER_ROUND = 5


def compare(
    run: PayoutRun, payouts: list[Payout], transfers: list[Any], *, now: dt.datetime
) -> list[ReconciliationDifference]:
    """The differences between our payouts and Stripe's transfers of one run (pure: no database, no Stripe)."""
    by_id = {transfer["id"]: transfer for transfer in transfers}
    ours = {payout.id: payout for payout in payouts}
    matched: set[str] = set()
    found: list[ReconciliationDifference] = []

    def difference(kind: DifferenceKind, detail: str, *, payout: Payout | None, transfer: Any = None) -> None:
        found.append(
            ReconciliationDifference(
                run_id=run.id,
                payout_id=payout.id if payout else None,
                kind=kind,
                transfer_id=transfer["id"] if transfer is not None else (payout.transfer_id if payout else None),
                ours_minor=payout.amount_minor if payout else None,
                theirs_minor=int(transfer["amount"]) if transfer is not None else None,
                detail=detail[:300],
                found_at=now,
            )
        )

    for payout in payouts:
        if payout.transfer_id is None:
            continue
        transfer = by_id.get(payout.transfer_id)
        if transfer is None:
            difference(
                DifferenceKind.missing_at_stripe,
                f"We recorded transfer {payout.transfer_id}; Stripe does not list it in {run.transfer_group}",
                payout=payout,
            )
            continue
        matched.add(transfer["id"])
        currency = str(transfer["currency"]).upper()
        if int(transfer["amount"]) != payout.amount_minor or currency != payout.currency:
            difference(
                DifferenceKind.amount_differs,
                f"Ours {payout.amount_minor} {payout.currency}, Stripe's {transfer['amount']} {currency}",
                payout=payout,
                transfer=transfer,
            )
        if transfer["destination"] != payout.destination:
            difference(
                DifferenceKind.destination_differs,
                f"Ours {payout.destination}, Stripe's {transfer['destination']}",
                payout=payout,
                transfer=transfer,
            )
        named = payout_id_of(transfer)
        if named != payout.id:
            difference(
                DifferenceKind.unknown_transfer,
                f"Transfer {transfer['id']} names payout {named}, recorded on payout {payout.id}",
                payout=payout,
                transfer=transfer,
            )
    for transfer in transfers:
        if transfer["id"] in matched:
            continue
        named = payout_id_of(transfer)
        payout = ours.get(named) if named is not None else None
        if payout is not None:
            difference(
                DifferenceKind.missing_here,
                f"Stripe made transfer {transfer['id']} for payout {payout.id}; we did not record it",
                payout=payout,
                transfer=transfer,
            )
        else:
            difference(
                DifferenceKind.unknown_transfer,
                f"Transfer {transfer['id']} to {transfer['destination']} names no payout of this run",
                payout=None,
                transfer=transfer,
            )
    return found


async def reconcile_run(
    session: AsyncSession, gateway: Gateway, *, run_id: int, now: dt.datetime
) -> list[ReconciliationDifference]:
    """List the run's transfers at Stripe, compare, and keep the differences (replacing the previous set)."""
    run = await session.get(PayoutRun, run_id)
    if run is None:
        raise NotFound("payout run")
    if run.rail != Rail.stripe:
        raise Conflict(_("A bank run is reconciled with the bank's statement, not with Stripe."))
    transfers = await group_transfers(gateway, run.transfer_group)
    payouts = list(
        await session.scalars(
            select(Payout)
            .where(Payout.run_id == run.id)
            .order_by(Payout.id)
            .execution_options(populate_existing=True)  # as committed now, whoever changed them
        )
    )
    differences = compare(run, payouts, transfers, now=now)
    await session.execute(delete(ReconciliationDifference).where(ReconciliationDifference.run_id == run.id))
    session.add_all(differences)
    run.reconciled_at = now
    await session.flush()
    return differences


async def reconcile_due(database: Database, gateway: Gateway, *, now: dt.datetime) -> int:
    """The daily job: reconcile sent Stripe runs not reconciled in the last day (a few per round)."""
    async with database.lookup() as session:
        due = list(
            await session.scalars(
                select(PayoutRun.id)
                .where(PayoutRun.rail == Rail.stripe, PayoutRun.status == RunStatus.sent)
                .where(or_(PayoutRun.reconciled_at.is_(None), PayoutRun.reconciled_at <= now - RECONCILE_EVERY))
                .order_by(PayoutRun.id)
                .limit(RUNS_PER_ROUND)
            )
        )
    for run_id in due:
        async with database.session(write=True) as session:
            await reconcile_run(session, gateway, run_id=run_id, now=now)
    return len(due)
