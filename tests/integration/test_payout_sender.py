"""The Stripe sender: each payout becomes exactly one transfer, whatever fails on the way.

Against the stand-in (the real SDK, idempotency as Stripe keeps it): sent once with its ledger entry; a process
killed after Stripe made the transfer but before our commit ends sent, with one transfer and one entry; a 500,
a 429 and a network timeout are retried under the same key; a platform refusal tells finance and a retry takes
a new key only after the run's transfers show none was made; an agent refusal tells the agent what to do.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.core.db import Database, utcnow
from backend.core.errors import Conflict, Forbidden, NotFound
from backend.core.migrate import migrate
from backend.core.settings import Settings, load_settings
from backend.notify.models import Kind, Notification
from backend.pay.models import Account, EntryKind, PayPeriod, PeriodStatus
from backend.payouts import sender
from backend.payouts.gateway import Gateway
from backend.payouts.models import FailureKind, Payout, PayoutRun, PayoutStatus, RunStatus
from backend.worker import PushWorker
from tests.conftest import drop_postgres_database, fresh_postgres_database, fresh_sqlite_database
from tests.factories import Factory
from tests.payout_world import (
    account_balance,
    an_approved_run,
    entries_of,
    fresh,
    ledger_total,
    payout_now,
    stripe_settings,
)
from tests.stripe_standin import StandinServer

MakeGateway = Callable[[Settings], Gateway]

ROOT = Path(__file__).resolve().parents[2]


async def notes_of(db: AsyncSession, user_id: int) -> list[str]:
    return list(
        await db.scalars(
            select(Notification.title)
            .where(Notification.user_id == user_id, Notification.kind == Kind.payout)
            .order_by(Notification.id)
        )
    )


async def test_a_payout_is_sent_once_with_its_entry_and_the_agent_told(
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: MakeGateway,
) -> None:
    now = utcnow()
    world = await an_approved_run(db, site, stripe_standin, amounts=(12_345, 6_789), now=now)
    gateway = make_gateway(stripe_settings(settings, stripe_standin))

    report = await sender.send_due(database, gateway=gateway, now=now)
    again = await sender.send_due(database, gateway=gateway, now=now + dt.timedelta(hours=1))

    assert (report.sent, report.failed, report.retried) == (2, 0, 0)
    assert again.total == 0
    transfers = stripe_standin.transfers()
    assert sorted((t["amount"], t["destination"]) for t in transfers) == sorted(
        [(12_345, world.accounts[0]), (6_789, world.accounts[1])]
    )
    first = await payout_now(db, world.payouts[0].id)
    assert first.status is PayoutStatus.sent
    assert first.idempotency_key == f"weft-payout-{first.id}-1"
    assert first.transfer_id in {t["id"] for t in transfers}
    made = next(t for t in transfers if t["id"] == first.transfer_id)
    assert made["transfer_group"] == world.run.transfer_group
    assert made["metadata"] == {
        "weft_run": str(world.run.id),
        "weft_period": str(world.period.id),
        "weft_payout": str(first.id),
        "weft_user": str(world.agents[0].id),
    }
    assert await entries_of(db, period_id=world.period.id, kind=EntryKind.payout) == sorted(
        f"payout:{p.id}" for p in world.payouts
    )
    assert await ledger_total(db) == 0
    assert await account_balance(db, Account.agent_payable, world.agents[0].id) == 0
    assert await account_balance(db, Account.stripe_balance, world.agents[0].id) == -12_345
    assert await notes_of(db, world.agents[0].id) == ["Your money is on its way: USD 123.45"]
    run = await fresh(db, PayoutRun, world.run.id)
    assert run.status is RunStatus.sent
    period = await fresh(db, PayPeriod, world.period.id)
    assert period.status is PeriodStatus.paid


async def test_a_500_is_retried_under_the_same_key_and_makes_one_transfer(
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: MakeGateway,
) -> None:
    now = utcnow()
    world = await an_approved_run(db, site, stripe_standin, amounts=(5_000,), now=now)
    gateway = make_gateway(stripe_settings(settings, stripe_standin))
    stripe_standin.fault("500", times=1, path="/v1/transfers", method="POST")

    first = await sender.send_due(database, gateway=gateway, now=now)
    waiting = await payout_now(db, world.payouts[0].id)
    assert (first.retried, waiting.status, waiting.failure_kind) == (1, PayoutStatus.queued, FailureKind.retryable)
    assert waiting.next_try_at == now + dt.timedelta(seconds=sender.BACKOFF_FIRST_SECONDS)
    assert await sender.send_due(database, gateway=gateway, now=now + dt.timedelta(seconds=10)) == sender.SendReport()

    second = await sender.send_due(database, gateway=gateway, now=now + dt.timedelta(seconds=31))

    done = await payout_now(db, world.payouts[0].id)
    assert second.sent == 1
    assert (done.status, done.attempt, done.idempotency_key) == (PayoutStatus.sent, 1, f"weft-payout-{done.id}-1")
    assert len(stripe_standin.transfers()) == 1
    assert await entries_of(db, period_id=world.period.id, kind=EntryKind.payout) == [f"payout:{done.id}"]


async def test_a_429_is_waited_for_as_stripe_asks(
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: MakeGateway,
) -> None:
    now = utcnow()
    world = await an_approved_run(db, site, stripe_standin, amounts=(5_000,), now=now)
    gateway = make_gateway(stripe_settings(settings, stripe_standin))
    stripe_standin.fault("rate_limit", times=1, retry_after=2, path="/v1/transfers")

    first = await sender.send_due(database, gateway=gateway, now=now)
    waiting = await payout_now(db, world.payouts[0].id)
    assert (first.retried, waiting.failure_code) == (1, "rate_limit")
    assert waiting.next_try_at is not None
    assert waiting.next_try_at >= now + dt.timedelta(seconds=2)
    started = time.monotonic()
    second = await sender.send_due(database, gateway=gateway, now=waiting.next_try_at)
    waited = time.monotonic() - started

    assert second.sent == 1
    assert waited >= 1.5  # the shared rate was paused for Retry-After (2 s, less the time since the refusal)
    assert len(stripe_standin.transfers()) == 1


async def test_a_timeout_after_stripe_made_the_transfer_is_retried_with_the_same_key(
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: MakeGateway,
) -> None:
    now = utcnow()
    world = await an_approved_run(db, site, stripe_standin, amounts=(7_000,), now=now)
    gateway = make_gateway(stripe_settings(settings, stripe_standin, stripe_timeout_seconds=0.5))
    stripe_standin.fault("timeout_after_transfer", times=1, seconds=2)

    first = await sender.send_due(database, gateway=gateway, now=now)
    waiting = await payout_now(db, world.payouts[0].id)
    assert (first.retried, waiting.status, waiting.failure_code) == (1, PayoutStatus.queued, "network")
    assert len(stripe_standin.transfers()) == 1  # Stripe made it; we never heard

    second = await sender.send_due(database, gateway=gateway, now=now + dt.timedelta(minutes=1))

    done = await payout_now(db, world.payouts[0].id)
    assert second.sent == 1
    assert [t["id"] for t in stripe_standin.transfers()] == [done.transfer_id]
    assert done.idempotency_key == f"weft-payout-{done.id}-1"
    assert stripe_standin.state()["counters"]["duplicates_avoided"] >= 1


async def test_balance_insufficient_tells_finance_and_a_retry_takes_a_new_key_after_listing(
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: MakeGateway,
) -> None:
    now = utcnow()
    world = await an_approved_run(db, site, stripe_standin, amounts=(9_000,), now=now)
    gateway = make_gateway(stripe_settings(settings, stripe_standin))
    stripe_standin.fault("balance_insufficient", times=1)

    first = await sender.send_due(database, gateway=gateway, now=now)

    failed = await payout_now(db, world.payouts[0].id)
    assert first.failed == 1
    assert (failed.status, failed.failure_kind, failed.failure_code) == (
        PayoutStatus.failed,
        FailureKind.platform,
        "balance_insufficient",
    )
    assert await notes_of(db, world.finance.id) == [f"A payout to {failed.display_name} failed: balance_insufficient"]
    assert await notes_of(db, world.agents[0].id) == []
    assert stripe_standin.transfers() == []
    run = await fresh(db, PayoutRun, world.run.id)
    assert run.status is RunStatus.approved  # a failed payout has not left

    await sender.retry_payout(db, payout_id=failed.id, by=world.finance, now=now)
    await db.commit()
    second = await sender.send_due(database, gateway=gateway, now=now + dt.timedelta(seconds=1))

    done = await payout_now(db, failed.id)
    assert second.sent == 1
    assert (done.status, done.attempt, done.idempotency_key) == (PayoutStatus.sent, 2, f"weft-payout-{done.id}-2")
    assert len(stripe_standin.transfers()) == 1
    assert await ledger_total(db) == 0


async def test_a_retry_adopts_the_transfer_an_earlier_attempt_made(
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: MakeGateway,
) -> None:
    """A refused payout whose transfer exists after all (its answer was lost): the retry lists the run's group,
    finds it, and records it instead of paying again."""
    now = utcnow()
    world = await an_approved_run(db, site, stripe_standin, amounts=(4_000,), now=now)
    gateway = make_gateway(stripe_settings(settings, stripe_standin))
    payout = world.payouts[0]
    claimed = await sender.claim_due(database, now=now, limit=10)
    made = await sender.call_stripe(gateway, claimed[0])
    await sender.record_refusal(
        database,
        claimed[0],
        sender.Refusal(FailureKind.platform, "lost", "the answer was lost"),
        now=now,
        report=sender.SendReport(),
    )
    await sender.retry_payout(db, payout_id=payout.id, by=world.finance, now=now)
    await db.commit()

    report = await sender.send_due(database, gateway=gateway, now=now + dt.timedelta(seconds=1))

    done = await payout_now(db, payout.id)
    assert (report.adopted, report.sent) == (1, 0)
    assert (done.status, done.transfer_id, done.attempt) == (PayoutStatus.sent, made["id"], 1)
    assert len(stripe_standin.transfers()) == 1


async def test_an_inactive_capability_fails_for_the_agent_who_is_told_what_to_do(
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: MakeGateway,
) -> None:
    now = utcnow()
    world = await an_approved_run(db, site, stripe_standin, amounts=(3_000, 4_000), now=now)
    gateway = make_gateway(stripe_settings(settings, stripe_standin))
    stripe_standin.fault("capability_inactive", account=world.accounts[0])

    report = await sender.send_due(database, gateway=gateway, now=now)

    failed = await payout_now(db, world.payouts[0].id)
    assert (report.sent, report.failed) == (1, 1)
    assert (failed.status, failed.failure_kind, failed.failure_code) == (
        PayoutStatus.failed,
        FailureKind.agent,
        "insufficient_capabilities_for_transfer",
    )
    notes = await db.execute(
        select(Notification.title, Notification.body, Notification.url).where(
            Notification.user_id == world.agents[0].id
        )
    )
    ((title, body, url),) = notes.all()
    assert title == "We could not send your money: your payout details need attention"
    assert "finish setting up your Stripe details" in body
    assert url == "/app/payouts"
    assert await notes_of(db, world.finance.id) == []


async def test_only_finance_retries_and_only_a_failed_payout_of_their_site(
    db: AsyncSession,
    database: Database,
    site: Site,
    people: Factory,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: MakeGateway,
) -> None:
    now = utcnow()
    world = await an_approved_run(db, site, stripe_standin, amounts=(3_000,), now=now)
    other_site = await accounts.ensure_site(db, name="Elsewhere", timezone="Europe/London", country="GB")
    outsider = await people.make(Role.finance, site=other_site)
    agent = world.agents[0]

    with pytest.raises(Forbidden):
        await sender.retry_payout(db, payout_id=world.payouts[0].id, by=agent, now=now)
    with pytest.raises(NotFound):
        await sender.retry_payout(db, payout_id=world.payouts[0].id, by=outsider, now=now)
    with pytest.raises(Conflict):
        await sender.retry_payout(db, payout_id=world.payouts[0].id, by=world.finance, now=now)


# The process dies after Stripe made the transfer, before our commit ------------------------------------------

SENDER_SCRIPT = """
import asyncio, datetime, sys
from backend.core.db import Database
from backend.core.settings import load_settings
from backend.payouts.gateway import Gateway
from backend.payouts.sender import send_due

url, api_base, now = sys.argv[1], sys.argv[2], datetime.datetime.fromisoformat(sys.argv[3])
settings = load_settings({
    "WEFT_DATABASE_URL": url, "WEFT_SECRET_KEY": "x" * 40, "WEFT_STRIPE_SECRET_KEY": "sk_test_x",
    "WEFT_STRIPE_API_BASE": api_base, "WEFT_STRIPE_TIMEOUT_SECONDS": "60",
})
asyncio.run(send_due(Database.from_url(url), gateway=Gateway(settings), now=now))
"""


def settings_for(url: str) -> Settings:
    """Settings of a test that brings its own database (not the suite's, parametrized one)."""
    return load_settings({"WEFT_DATABASE_URL": url, "WEFT_SECRET_KEY": "test-secret-key-" + "x" * 32})


@pytest.fixture
async def file_database(tmp_path: Path) -> Database:
    url = fresh_sqlite_database(tmp_path)
    await asyncio.to_thread(migrate, url, "head")
    database = Database.from_url(url)
    yield database
    await database.dispose()


async def test_a_sender_killed_after_the_transfer_was_made_replays_it_and_pays_once(
    file_database: Database, stripe_standin: StandinServer, make_gateway: MakeGateway
) -> None:
    now = utcnow()
    async with file_database.session(write=True) as session:
        site = await accounts.ensure_site(session, name="Crash Centre", timezone="America/New_York", country="US")
        world = await an_approved_run(session, site, stripe_standin, amounts=(15_000,), now=now)
    payout_id = world.payouts[0].id
    stripe_standin.fault("timeout_after_transfer", times=1, seconds=60)
    url = str(file_database.bind.url)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SENDER_SCRIPT,
        url,
        stripe_standin.url,
        now.isoformat(),  # the child's clock is the real one: it sends at this test's "now" (a moved clock too)
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not stripe_standin.transfers():
            assert child.returncode is None, (await child.stderr.read()).decode() if child.stderr else ""
            assert time.monotonic() < deadline, "the child never reached Stripe"
            await asyncio.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        await asyncio.wait_for(child.wait(), timeout=10)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode == -signal.SIGKILL
    async with file_database.session() as session:
        died = await payout_now(session, payout_id)
        assert (died.status, died.idempotency_key, died.transfer_id) == (
            PayoutStatus.sending,
            f"weft-payout-{payout_id}-1",
            None,
        )

    gateway = make_gateway(stripe_settings(settings_for(url), stripe_standin))
    too_soon = await sender.send_due(file_database, gateway=gateway, now=utcnow())
    assert too_soon.total == 0  # its lease has not lapsed: the dead worker might still be waiting
    later = utcnow() + dt.timedelta(seconds=sender.LEASE_SECONDS + 1)
    report = await sender.send_due(file_database, gateway=gateway, now=later)

    transfers = stripe_standin.transfers()
    async with file_database.session() as session:
        done = await payout_now(session, payout_id)
        entries = await entries_of(session, period_id=world.period.id, kind=EntryKind.payout)
        total = await ledger_total(session)
        users = await session.scalar(select(func.count()).select_from(User))
    assert report.sent == 1
    assert len(transfers) == 1
    assert (done.status, done.transfer_id, done.attempt) == (PayoutStatus.sent, transfers[0]["id"], 1)
    assert entries == [f"payout:{payout_id}"]
    assert total == 0
    assert users == 2
    assert stripe_standin.state()["counters"]["duplicates_avoided"] == 1


async def test_a_payout_left_sending_for_a_day_checks_the_group_instead_of_trusting_its_key(
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: MakeGateway,
) -> None:
    """Stripe forgets a key after a day: a worker down that long must not send again under it blindly."""
    now = utcnow()
    world = await an_approved_run(db, site, stripe_standin, amounts=(2_500,), now=now)
    gateway = make_gateway(stripe_settings(settings, stripe_standin))
    claimed = await sender.claim_due(database, now=now, limit=10)
    made = await sender.call_stripe(gateway, claimed[0])  # and then the worker was down for a day

    report = await sender.send_due(database, gateway=gateway, now=now + dt.timedelta(days=1))

    done = await payout_now(db, world.payouts[0].id)
    assert report.adopted == 1
    assert (done.status, done.transfer_id, done.attempt) == (PayoutStatus.sent, made["id"], 1)
    assert len(stripe_standin.transfers()) == 1
    assert stripe_standin.state()["counters"].get("duplicates_avoided", 0) == 0  # never asked under the old key


@pytest.fixture
async def postgres_database() -> AsyncIterator[Database]:
    """A real PostgreSQL database of its own (committed rows, several engines), dropped at the end."""
    url = await asyncio.to_thread(fresh_postgres_database)
    if url is None:
        pytest.skip("PostgreSQL is not reachable")
    await asyncio.to_thread(migrate, url, "head")
    database = Database.from_url(url)
    yield database
    await database.dispose()
    await asyncio.to_thread(drop_postgres_database, url)


async def test_senders_in_several_processes_never_share_a_payout(
    postgres_database: Database, stripe_standin: StandinServer, make_gateway: MakeGateway
) -> None:
    """Three workers at once on PostgreSQL (each its own engine, as separate processes have): every payout is
    claimed by one of them (``FOR UPDATE SKIP LOCKED``), so each is sent once and no key is ever replayed."""
    now = utcnow()
    amounts = tuple(1_000 + n for n in range(24))
    async with postgres_database.session(write=True) as session:
        site = await accounts.ensure_site(session, name="Busy Centre", timezone="America/New_York", country="US")
        world = await an_approved_run(session, site, stripe_standin, amounts=amounts, now=now)
    url = postgres_database.bind.url.render_as_string(hide_password=False)
    workers = [Database.from_url(url) for _ in range(3)]
    gateway = make_gateway(stripe_settings(settings_for(url), stripe_standin))
    try:
        reports = await asyncio.gather(
            *(sender.send_due(worker, gateway=gateway, now=now, limit=10) for worker in workers)
        )
        while (more := await sender.send_due(workers[0], gateway=gateway, now=now)).total:
            reports.append(more)
    finally:
        for worker in workers:
            await worker.dispose()

    transfers = stripe_standin.transfers()
    assert sum(report.sent for report in reports) == len(amounts)
    assert sorted(int(t["metadata"]["weft_payout"]) for t in transfers) == sorted(p.id for p in world.payouts)
    assert stripe_standin.state()["counters"].get("duplicates_avoided", 0) == 0
    async with postgres_database.session() as session:
        statuses = set(await session.scalars(select(Payout.status).where(Payout.run_id == world.run.id)))
        entries = await entries_of(session, period_id=world.period.id, kind=EntryKind.payout)
        total = await ledger_total(session)
    assert statuses == {PayoutStatus.sent}
    assert len(entries) == len(amounts)
    assert total == 0


async def test_the_worker_sends_due_payouts_when_this_server_has_a_stripe_key(
    db: AsyncSession, database: Database, site: Site, settings: Settings, stripe_standin: StandinServer
) -> None:
    world = await an_approved_run(db, site, stripe_standin, amounts=(1_500,), now=utcnow())
    await PushWorker(database, settings).run_once()  # payouts off: nothing leaves
    assert stripe_standin.transfers() == []

    await PushWorker(database, stripe_settings(settings, stripe_standin)).run_once()

    assert (await payout_now(db, world.payouts[0].id)).status is PayoutStatus.sent
    assert len(stripe_standin.transfers()) == 1
