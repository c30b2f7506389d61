"""The Stripe rail's outbox sender: claim due payouts, make each Transfer once, record what Stripe said.

Why it cannot pay twice or lose a payout:

1. **claim** (one short transaction, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so two workers never share a row):
   each due payout (``queued`` and due, or ``sending`` whose lease lapsed: a worker died mid-call) gets its
   idempotency key ``weft-payout-{id}-{attempt}`` if it has none, and becomes ``sending`` under a lease. The
   key is committed before any call, so a re-run after a crash sends the same key and Stripe replays its
   first answer instead of making a second transfer.
2. **check** (only for a payout whose earlier attempt was refused and that finance retried: its key was
   cleared): the run's transfers are listed by ``transfer_group``; if one names this payout it is adopted,
   otherwise the next attempt number gives a new key (committed before the call).
3. **call**, outside any transaction, a few at a time, each after the gateway's shared rate allows it.
4. **record**, one transaction per payout: success records the transfer id, posts the payout entry and tells
   the agent, together; a refusal is retried later under the same key (network, 5xx, 429), or fails with
   who must act told (the agent: their details; finance: the platform's side).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import FINANCE_ROLES, User
from backend.core.db import Database
from backend.core.errors import Conflict, Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.pay import ledger
from backend.pay.models import Account, EntryKind, JournalEntry
from backend.payouts import notices, runs
from backend.payouts.gateway import Gateway, Refusal, classify
from backend.payouts.models import (
    STATE_ORDER,
    FailureKind,
    Payout,
    PayoutRun,
    PayoutStatus,
    Rail,
)

log = logging.getLogger("weft.payouts")

LEASE_SECONDS = 300  # a ``sending`` row older than this was left by a worker that died mid-call
CONCURRENT_CALLS = 8  # calls in flight at once; the gateway's shared rate sets how many per second
RECORD_BATCH = 25  # answers recorded together in one transaction
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
# Stripe keeps a key's answer for 24 hours: past this many tries (about three hours) the payout fails for
# finance to retry, which lists the run's transfers before a new key is taken.
MAX_TRIES = 10
LIST_PAGE_SIZE = 100
# Stripe keeps a key's first answer for at least 24 hours: a ``sending`` row left longer than this (a worker down
# for a day) lists the run's transfers instead of trusting its key.
KEY_LIFETIME = dt.timedelta(hours=23)


def transfer_key(payout_id: int, attempt: int) -> str:
    return f"weft-payout-{payout_id}-{attempt}"


def backoff_seconds(tries: int) -> int:
    """30 s after the first failure, doubling, at most an hour."""
    return min(BACKOFF_FIRST_SECONDS * 2 ** max(tries - 1, 0), BACKOFF_MAX_SECONDS)


@dataclass(frozen=True)
class Claimed:
    """One leased payout with all its call needs, read in the claim transaction."""

    id: int
    run_id: int
    period_id: int
    user_id: int
    amount_minor: int
    currency: str
    destination: str
    transfer_group: str
    tries: int
    key: str | None  # None: an earlier attempt was refused; list the run's transfers before a new key

    def params(self) -> dict[str, Any]:
        """The Transfer's parameters: the same on every call under one key (Stripe refuses a change)."""
        return {
            "amount": self.amount_minor,
            "currency": self.currency.lower(),
            "destination": self.destination,
            "transfer_group": self.transfer_group,
            "metadata": {
                "weft_run": str(self.run_id),
                "weft_period": str(self.period_id),
                "weft_payout": str(self.id),
                "weft_user": str(self.user_id),
            },
            "description": f"Weft payout {self.id} (run {self.run_id})",
        }


@dataclass
class SendReport:
    sent: int = 0
    adopted: int = 0  # a transfer an earlier attempt made, found by listing the run's group
    retried: int = 0
    failed: int = 0
    runs_sent: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.sent + self.adopted + self.retried + self.failed


# The ledger ------------------------------------------------------------------------------------------------


def payout_entry(payout: Payout, *, credit: Account, by_id: int | None = None) -> ledger.EntryIn:
    """The payout's entry: debit what the agent was owed, credit the receivable it nets and the money sent
    (``stripe_balance`` for a transfer, ``cash`` for a bank row)."""
    postings: list[ledger.PostingIn] = [(Account.agent_payable, payout.user_id, payout.owed_minor)]
    if payout.receivable_minor:
        postings.append((Account.agent_receivable, payout.user_id, -payout.receivable_minor))
    postings.append((credit, payout.user_id, -payout.amount_minor))
    return ledger.EntryIn(
        site_id=payout.site_id,
        period_id=payout.period_id,
        kind=EntryKind.payout,
        key=f"payout:{payout.id}",
        memo=f"Payout {payout.id} to agent {payout.user_id} ({credit.value})",
        postings=postings,
        currency=payout.currency,
        by_id=by_id,
    )


async def entry_of(session: AsyncSession, *, period_id: int, kind: EntryKind, key: str) -> JournalEntry | None:
    return await session.scalar(
        select(JournalEntry).where(
            JournalEntry.period_id == period_id, JournalEntry.kind == kind, JournalEntry.idempotency_key == key
        )
    )


async def locked_payout(session: AsyncSession, payout_id: int) -> Payout | None:
    """The payout, read afresh and locked for this transaction (PostgreSQL; SQLite has one writer)."""
    return await session.scalar(
        select(Payout).where(Payout.id == payout_id).with_for_update().execution_options(populate_existing=True)
    )


async def record_sent(session: AsyncSession, payout: Payout, *, transfer_id: str, now: dt.datetime) -> bool:
    """The transfer exists: record it, post the payout entry and tell the agent, in the caller's transaction.

    False (nothing done) when the payout already moved past sending (a webhook or another worker recorded it).
    """
    if not mark_sent(payout, transfer_id=transfer_id, now=now):
        return False
    entry = payout_entry(payout, credit=Account.stripe_balance)
    if await entry_of(session, period_id=payout.period_id, kind=EntryKind.payout, key=entry.key) is None:
        await ledger.post_entries(session, [entry], now=now)
    await notices.money_sent(session, payout, now=now)
    await session.flush()
    return True


def mark_sent(payout: Payout, *, transfer_id: str, now: dt.datetime) -> bool:
    """Move the payout to sent with its transfer; False when it already moved past sending (never backwards)."""
    if STATE_ORDER[payout.status] >= STATE_ORDER[PayoutStatus.sent]:
        return False
    payout.status = PayoutStatus.sent
    payout.transfer_id = transfer_id
    payout.sent_at = now
    payout.next_try_at = None
    payout.failure_kind = payout.failure_code = payout.failure_message = None
    return True


async def finish_run_if_left(session: AsyncSession, *, run_id: int, now: dt.datetime) -> bool:
    """The run is sent (and its period paid) once none of its payouts waits: ``runs.settle_run_if_done``."""
    return await runs.settle_run_if_done(session, run_id=run_id, by_id=None, now=now)


# The sender ------------------------------------------------------------------------------------------------


async def claim_due(database: Database, *, now: dt.datetime, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due payouts, each with its key stored (or marked for a check) before any call."""
    async with database.session(write=True) as session:
        due = (
            select(Payout)
            .where(Payout.status.in_([PayoutStatus.queued, PayoutStatus.sending]), Payout.next_try_at <= now)
            .order_by(Payout.next_try_at, Payout.id)
            .limit(limit)
        )
        if database.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        payouts = list(await session.scalars(due))
        if not payouts:
            return []
        rows = await session.execute(
            select(PayoutRun.id, PayoutRun.transfer_group).where(PayoutRun.id.in_({p.run_id for p in payouts}))
        )
        groups = {run_id: group for run_id, group in rows}
        claimed = []
        for payout in payouts:
            if payout.status == PayoutStatus.sending and payout.next_try_at <= now - KEY_LIFETIME:
                payout.idempotency_key = None  # Stripe has forgotten the key: check the group, then a new one
            if payout.idempotency_key is None and payout.attempt == 0:
                payout.attempt = 1
                payout.idempotency_key = transfer_key(payout.id, payout.attempt)
            payout.status = PayoutStatus.sending
            payout.tries += 1
            payout.next_try_at = now + dt.timedelta(seconds=LEASE_SECONDS)
            claimed.append(
                Claimed(
                    id=payout.id,
                    run_id=payout.run_id,
                    period_id=payout.period_id,
                    user_id=payout.user_id,
                    amount_minor=payout.amount_minor,
                    currency=payout.currency,
                    destination=payout.destination or "",
                    transfer_group=groups[payout.run_id],
                    tries=payout.tries,
                    key=payout.idempotency_key,
                )
            )
    return claimed


async def group_transfers(gateway: Gateway, transfer_group: str) -> list[dict[str, Any]]:
    """Every transfer Stripe lists in the group (all pages), as plain dicts."""
    await gateway.ready()
    page = await gateway.client.v1.transfers.list_async({"transfer_group": transfer_group, "limit": LIST_PAGE_SIZE})
    found = []
    async for transfer in page.auto_paging_iter():
        found.append(transfer.to_dict())
    return found


def payout_id_of(transfer: dict[str, Any]) -> int | None:
    metadata = transfer.get("metadata") or {}
    text = str(metadata.get("weft_payout") or "")
    return int(text) if text.isdigit() else None


async def _check_groups(
    database: Database, gateway: Gateway, checking: list[Claimed], *, now: dt.datetime, report: SendReport
) -> list[Claimed]:
    """For payouts whose key was cleared: adopt the transfer an earlier attempt made, or take a new key."""
    listed: dict[str, dict[int, Any] | Refusal] = {}
    for group in sorted({item.transfer_group for item in checking}):
        try:
            transfers = await group_transfers(gateway, group)
        except stripe.StripeError as error:
            refusal = classify(error)
            gateway.note_refusal(refusal)
            listed[group] = refusal
            continue
        listed[group] = {pid: t for t in transfers if (pid := payout_id_of(t)) is not None}
    ready: list[Claimed] = []
    for item in checking:
        found = listed[item.transfer_group]
        if isinstance(found, Refusal):
            await record_refusal(database, item, found, now=now, report=report)
            continue
        transfer = found.get(item.id)
        async with database.session(write=True) as session:
            payout = await locked_payout(session, item.id)
            if payout is None or payout.status != PayoutStatus.sending:
                continue
            if transfer is not None:
                if await record_sent(session, payout, transfer_id=transfer["id"], now=now):
                    report.adopted += 1
                    if await finish_run_if_left(session, run_id=payout.run_id, now=now):
                        report.runs_sent.append(payout.run_id)
                continue
            payout.attempt += 1
            payout.idempotency_key = transfer_key(payout.id, payout.attempt)
            ready.append(dataclasses.replace(item, key=payout.idempotency_key))
    return ready


async def call_stripe(gateway: Gateway, item: Claimed) -> Any:
    """One Transfer under the payout's stored key; a Refusal instead of raising."""
    assert item.key is not None
    try:
        await gateway.ready()
        return await gateway.client.v1.transfers.create_async(item.params(), {"idempotency_key": item.key})
    except stripe.StripeError as error:
        refusal = classify(error)
        gateway.note_refusal(refusal)
        return refusal


async def record_refusal(
    database: Database, item: Claimed, refusal: Refusal, *, now: dt.datetime, report: SendReport
) -> None:
    """Retry later under the same key, or fail and tell whoever must act."""
    async with database.session(write=True) as session:
        payout = await locked_payout(session, item.id)
        if payout is None:
            return
        await refuse(session, payout, refusal, now=now, report=report)
        if await finish_run_if_left(session, run_id=payout.run_id, now=now):
            report.runs_sent.append(payout.run_id)


async def refuse(
    session: AsyncSession, payout: Payout, refusal: Refusal, *, now: dt.datetime, report: SendReport
) -> None:
    """In the caller's transaction: back to the queue under the same key, or failed with whoever must act told."""
    if payout.status != PayoutStatus.sending:
        return
    payout.failure_code = refusal.code[:64]
    payout.failure_message = refusal.message[:500]
    kind = refusal.kind
    if kind is FailureKind.retryable and payout.tries < MAX_TRIES:
        # A 429 was never executed: Stripe says when to come back. Anything else backs off, doubling.
        wait = refusal.retry_after if refusal.retry_after is not None else float(backoff_seconds(payout.tries))
        payout.status = PayoutStatus.queued
        payout.failure_kind = FailureKind.retryable
        payout.next_try_at = now + dt.timedelta(seconds=wait)
        report.retried += 1
        return
    if kind is FailureKind.retryable:  # tried for hours: finance looks, and a retry checks the group first
        kind = FailureKind.platform
    payout.status = PayoutStatus.failed
    payout.failure_kind = kind
    payout.next_try_at = None
    await session.flush()
    if kind is FailureKind.agent:
        await notices.details_needed(session, payout, now=now)
    else:
        await notices.platform_refused(session, payout, now=now)
    report.failed += 1
    log.warning("payout %s failed (%s): %s", payout.id, refusal.code, refusal.message)


async def record_answers(
    database: Database, answers: list[tuple[Claimed, Any]], *, now: dt.datetime, report: SendReport
) -> None:
    """Record a batch of Stripe's answers in one transaction: the transfers made (their entries posted together,
    each with its transfer id) and the refusals; then each run touched is checked for being done."""
    async with database.session(write=True) as session:
        payouts = {
            payout.id: payout
            for payout in await session.scalars(
                select(Payout)
                .where(Payout.id.in_([item.id for item, _answer in answers]))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        }
        made: list[Payout] = []
        for item, answer in answers:
            payout = payouts.get(item.id)
            if payout is None:
                continue
            if isinstance(answer, Refusal):
                await refuse(session, payout, answer, now=now, report=report)
            elif mark_sent(payout, transfer_id=answer["id"], now=now):
                made.append(payout)
        await _post_payout_entries(session, made, now=now)
        for payout in made:
            await notices.money_sent(session, payout, now=now)
        report.sent += len(made)
        for run_id in sorted({payout.run_id for payout in payouts.values()}):
            if await finish_run_if_left(session, run_id=run_id, now=now):
                report.runs_sent.append(run_id)


async def _post_payout_entries(session: AsyncSession, payouts: list[Payout], *, now: dt.datetime) -> None:
    """The payout entries of transfers just recorded, together; one already posted (a webhook) is not again."""
    entries = [payout_entry(payout, credit=Account.stripe_balance) for payout in payouts]
    if not entries:
        return
    posted = set(
        await session.scalars(
            select(JournalEntry.idempotency_key).where(
                JournalEntry.kind == EntryKind.payout,
                JournalEntry.idempotency_key.in_([entry.key for entry in entries]),
            )
        )
    )
    await ledger.post_entries(session, [entry for entry in entries if entry.key not in posted], now=now)


async def send_due(database: Database, *, gateway: Gateway, now: dt.datetime, limit: int = 100) -> SendReport:
    """Send every due payout (up to ``limit``) and record each outcome; safe in several processes at once."""
    report = SendReport()
    claimed = await claim_due(database, now=now, limit=limit)
    if not claimed:
        return report
    ready = [item for item in claimed if item.key is not None]
    checking = [item for item in claimed if item.key is None]
    if checking:
        ready += await _check_groups(database, gateway, checking, now=now, report=report)
    gate = asyncio.Semaphore(CONCURRENT_CALLS)

    async def one(item: Claimed) -> tuple[Claimed, Any]:
        async with gate:
            return item, await call_stripe(gateway, item)

    # Answers are recorded in batches as they arrive, while the next calls are under way: the calls and the
    # database take turns on neither.
    calls = [asyncio.create_task(one(item)) for item in ready]
    try:
        batch: list[tuple[Claimed, Any]] = []
        for answered in asyncio.as_completed(calls):
            batch.append(await answered)
            if len(batch) >= RECORD_BATCH:
                await record_answers(database, batch, now=now, report=report)
                batch = []
        if batch:
            await record_answers(database, batch, now=now, report=report)
    finally:
        for call in calls:
            call.cancel()
    return report


# Finance's retry -------------------------------------------------------------------------------------------


async def site_payout(session: AsyncSession, *, site_id: int, payout_id: int) -> Payout:
    """A payout of the site, read afresh and locked; any other id is 404 (ids cannot be probed)."""
    payout = await locked_payout(session, payout_id)
    if payout is None or payout.site_id != site_id:
        raise NotFound("payout")
    return payout


def ensure_finance(user: User) -> None:
    if user.role not in FINANCE_ROLES:
        raise Forbidden(_("Only finance moves payouts."))


async def retry_payout(session: AsyncSession, *, payout_id: int, by: User, now: dt.datetime) -> Payout:
    """Queue a failed Stripe payout again.

    Its key is cleared: Stripe replays a refused key's refusal for a day, and a refused attempt may (after a
    lost answer) still have made a transfer, so the sender first lists the run's transfers and adopts one
    naming this payout, and only otherwise takes the next attempt's key.
    """
    ensure_finance(by)
    payout = await site_payout(session, site_id=by.site_id, payout_id=payout_id)
    run = await session.get(PayoutRun, payout.run_id)
    if run is None or run.rail != Rail.stripe:
        raise Conflict(_("A bank payout is not retried here: a returned row is owed again in the next run."))
    if payout.status != PayoutStatus.failed:
        raise Conflict(_("Only a failed payout can be retried."))
    payout.status = PayoutStatus.queued
    payout.idempotency_key = None
    payout.tries = 0
    payout.next_try_at = now
    await session.flush()
    return payout
