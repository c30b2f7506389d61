"""The bank rail: the batch file's bytes, layout and checksum; marking it sent, paid and returned, each once."""

from __future__ import annotations

import csv
import hashlib
import io

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role
from backend.accounts.site_settings import update_site_settings
from backend.core.errors import Conflict, DomainError
from backend.pay import ledger, periods
from backend.pay.models import Account, EntryKind, JournalEntry, PeriodStatus
from backend.payouts import bank, runs
from backend.payouts.models import Payout, PayoutRun, PayoutStatus, RunStatus
from tests.conftest import login, post_form
from tests.factories import Factory
from tests.integration.test_payout_runs import (
    AFTER,
    FOUR_HOURS_MINOR,
    MONDAY,
    WEEK,
    World,
    ledger_sums,
    locked,
    payouts_of,
    worked,
)
from tests.integration.test_payout_runs import world as world  # the fixture, shared


async def approved_run(db: AsyncSession, world: World, *, minimum_minor: int = 0) -> PayoutRun:
    """Week one's bank run, approved by the second finance user: Agent 0 and 1 paid, Agent 2 held (if a minimum)."""
    await update_site_settings(db, world.site, payout_minimum_minor=minimum_minor)
    await worked(db, world.agents[0], MONDAY)  # 120.00
    await worked(db, world.agents[1], MONDAY, slots=7)  # 105.00
    await worked(db, world.agents[2], MONDAY, slots=1)  # 15.00
    period = await locked(db, world.site, world.preparer)
    run = await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER)
    await runs.approve_run(db, run_id=run.id, by=world.approver, now=AFTER)
    await db.commit()
    return await runs.run_of_site(db, site_id=world.site.id, run_id=run.id)


async def entries(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(JournalEntry)) or 0)


async def test_the_bank_file_has_a_header_a_row_per_payout_and_a_checksummed_trailer(
    db: AsyncSession, world: World
) -> None:
    world.agents[0].display_name = "=HYPERLINK(1)"
    await db.commit()
    run = await approved_run(db, world, minimum_minor=2_000)
    paid = await payouts_of(db, run)

    body = await bank.bank_file(db, run_id=run.id, by=world.approver)

    assert body == await bank.bank_file(db, run_id=run.id, by=world.preparer)  # the same bytes every time
    lines = body.split(b"\r\n")
    assert lines[-1] == b""
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    first, second = sorted((paid[world.agents[0].id], paid[world.agents[1].id]), key=lambda p: p.id)
    assert rows[0] == ["payout_id", "agent_name", "agent_id", "amount", "currency", "reference"]
    assert rows[1:3] == [
        [
            str(p.id),
            p.display_name if p.display_name[0] != "=" else "'" + p.display_name,
            str(p.user_id),
            f"{p.amount_minor // 100}.{p.amount_minor % 100:02d}",
            "CNY",
            f"WEFT-{run.id}-{p.id}",
        ]
        for p in (first, second)
    ]
    assert "'=HYPERLINK(1)" in body.decode()  # never run as a formula
    rows_bytes = b"".join(line + b"\r\n" for line in lines[:3])
    assert rows[3] == ["TRAILER", "2", "225.00", "CNY", hashlib.sha256(rows_bytes).hexdigest()]
    assert len(rows) == 4  # Agent 2's 15.00 is held below the minimum: not in the file


async def test_only_an_approved_bank_run_has_a_file(db: AsyncSession, world: World) -> None:
    await worked(db, world.agents[0], MONDAY)
    period = await locked(db, world.site, world.preparer)
    run = await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER)

    with pytest.raises(Conflict, match="approved"):
        await bank.bank_file(db, run_id=run.id, by=world.preparer)
    with pytest.raises(Conflict, match="Approve"):
        await bank.mark_bank_sent(db, run_id=run.id, by=world.preparer, now=AFTER)


async def test_marking_sent_posts_each_payout_once_and_pays_the_period(db: AsyncSession, world: World) -> None:
    run = await approved_run(db, world)
    before = await entries(db)

    sent = await bank.mark_bank_sent(db, run_id=run.id, by=world.approver, now=AFTER)
    again = await bank.mark_bank_sent(db, run_id=run.id, by=world.preparer, now=AFTER + WEEK)

    assert (sent.status, again.status, again.sent_at) == (RunStatus.sent, RunStatus.sent, AFTER)
    assert await entries(db) == before + 3
    assert {p.status for p in (await payouts_of(db, run)).values()} == {PayoutStatus.sent}
    assert await ledger_sums(db) == {"CNY": 0}
    for agent in world.agents:
        assert await ledger.payable_balance(db, user_id=agent.id) == 0
    assert await ledger.balance(db, account=Account.cash) == -(FOUR_HOURS_MINOR + 10_500 + 1_500)
    period = await periods.period_of_site(db, site_id=world.site.id, period_id=run.period_id)
    assert (period.status, period.paid_by_id) == (PeriodStatus.paid, world.approver.id)


async def test_marking_paid_per_row_and_whole_moves_each_payout_once(db: AsyncSession, world: World) -> None:
    run = await approved_run(db, world)
    with pytest.raises(Conflict, match="sent"):
        await bank.mark_bank_paid(db, run_id=run.id, by=world.approver, now=AFTER)
    await bank.mark_bank_sent(db, run_id=run.id, by=world.approver, now=AFTER)
    one = (await payouts_of(db, run))[world.agents[0].id]

    assert await bank.mark_bank_paid(db, payout_id=one.id, by=world.approver, now=AFTER) == 1
    assert await bank.mark_bank_paid(db, payout_id=one.id, by=world.approver, now=AFTER) == 0
    assert await bank.mark_bank_paid(db, run_id=run.id, by=world.approver, now=AFTER + WEEK) == 2
    assert await bank.mark_bank_paid(db, run_id=run.id, by=world.approver, now=AFTER + WEEK) == 0

    found = await payouts_of(db, run)
    assert {p.status for p in found.values()} == {PayoutStatus.paid}
    assert found[world.agents[0].id].paid_at == AFTER


async def test_a_bank_return_owes_the_agent_again_and_the_next_run_carries_it(db: AsyncSession, world: World) -> None:
    run = await approved_run(db, world)
    await bank.mark_bank_sent(db, run_id=run.id, by=world.approver, now=AFTER)
    returned = (await payouts_of(db, run))[world.agents[1].id]
    with pytest.raises(DomainError, match="reason"):
        await bank.bank_returned(db, payout_id=returned.id, reason=" ", by=world.approver, now=AFTER)
    before = await entries(db)

    failed = await bank.bank_returned(db, payout_id=returned.id, reason="Account closed", by=world.approver, now=AFTER)
    again = await bank.bank_returned(db, payout_id=returned.id, reason="again", by=world.approver, now=AFTER)

    assert (failed.status, failed.failure_code, failed.failure_message) == (
        PayoutStatus.failed,
        "bank_return",
        "Account closed",
    )
    assert again.failure_message == "Account closed"
    assert await entries(db) == before + 1
    reversal = await db.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == f"return:{returned.id}"))
    assert reversal is not None
    assert reversal.kind is EntryKind.reversal
    assert await ledger.payable_balance(db, user_id=world.agents[1].id) == 10_500
    assert await ledger_sums(db) == {"CNY": 0}
    assert "returned it (Account closed)" in runs.failure_text(failed)

    next_period = await locked(db, world.site, world.preparer, MONDAY + WEEK)
    next_run = await runs.prepare_run(db, period_id=next_period.id, by=world.preparer, now=AFTER + WEEK)
    carried = (await payouts_of(db, next_run))[world.agents[1].id]
    assert (carried.status, carried.amount_minor) == (PayoutStatus.pending, 10_500)


async def test_stripe_runs_have_no_bank_file(db: AsyncSession, world: World) -> None:
    await update_site_settings(db, world.site, payout_rail="stripe")
    await worked(db, world.agents[0], MONDAY)
    period = await locked(db, world.site, world.preparer)
    run = await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER)

    with pytest.raises(Conflict, match="Stripe"):
        await bank.bank_file(db, run_id=run.id, by=world.preparer)


# Pages ------------------------------------------------------------------------------------------------------


async def test_finance_downloads_and_marks_the_file_through_the_pages(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    run = await approved_run(db, world)
    await login(client, world.approver.email)
    run_url = f"/finance/payout-runs/{run.id}"

    page = await client.get(run_url)
    assert "bank-file.csv" in page.text
    download = await client.get(f"{run_url}/bank-file.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert download.content == await bank.bank_file(db, run_id=run.id, by=world.approver)

    assert (await post_form(client, f"{run_url}/bank-sent", {})).status_code == 303
    assert (await post_form(client, f"{run_url}/bank-sent", {})).status_code == 303
    payout = (await payouts_of(db, run))[world.agents[0].id]
    refused = await post_form(client, f"/finance/payouts/{payout.id}/bank-returned", {"reason": ""})
    assert refused.status_code == 422
    returned = await post_form(client, f"/finance/payouts/{payout.id}/bank-returned", {"reason": "Wrong name"})
    assert returned.status_code == 303
    page = await client.get(run_url)  # the approver reads Chinese
    assert page.status_code == 200
    assert "Wrong name" in page.text
    assert "银行退回了这笔付款" in page.text  # "The bank returned it", in Chinese
    assert (await post_form(client, "/finance/payouts/999999/bank-paid", {})).status_code == 404


async def test_agents_cannot_download_the_bank_file(
    client: httpx.AsyncClient, db: AsyncSession, world: World, people: Factory
) -> None:
    run = await approved_run(db, world)
    await login(client, world.agents[0].email)

    assert (await client.get(f"/finance/payout-runs/{run.id}/bank-file.csv")).status_code == 403
    assert (await post_form(client, f"/finance/payout-runs/{run.id}/bank-sent", {})).status_code == 403
    coordinator = await people.make(Role.coordinator)
    client.cookies.clear()
    await login(client, coordinator.email)
    assert (await client.get(f"/finance/payout-runs/{run.id}/bank-file.csv")).status_code == 403
    assert await db.scalar(select(Payout.status).where(Payout.run_id == run.id).limit(1)) is PayoutStatus.pending
