"""Stripe's webhooks: only a signed, fresh event of our mode is acted on, once, and never moves a payout back.

The events are the stand-in's own (signed with Stripe's scheme over the exact bytes it would send), posted to
the app as Stripe would post them: no session, no CSRF token.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site
from backend.app import create_app
from backend.core.db import Database, utcnow
from backend.core.settings import Settings
from backend.notify.models import Kind, Notification
from backend.pay.models import EntryKind
from backend.payouts import sender
from backend.payouts.models import PayoutAccount, PayoutStatus, StripeEvent
from backend.payouts.standin import sign_payload
from tests.conftest import BASE_URL
from tests.factories import Factory
from tests.payout_world import World, an_approved_run, entries_of, fresh, ledger_total, payout_now, stripe_settings
from tests.stripe_standin import CONNECT_WEBHOOK_SECRET, WEBHOOK_SECRET, StandinServer

PLATFORM = "/stripe/webhook"
CONNECT = "/stripe/connect-webhook"


@pytest.fixture
def settings(settings: Settings, stripe_standin: StandinServer) -> Settings:
    return stripe_settings(settings, stripe_standin)


async def deliver(client: httpx.AsyncClient, path: str, event: dict[str, Any], **headers: str) -> httpx.Response:
    """Post the event's exact bytes with its signature, as Stripe does."""
    sent = {"Content-Type": "application/json", "Stripe-Signature": event["signature"], **headers}
    return await client.post(path, content=event["body"].encode(), headers=sent)


async def stored_events(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(StripeEvent)) or 0)


async def a_sent_world(
    db: AsyncSession, database: Database, site: Site, standin: StandinServer, settings: Settings, make_gateway: Any
) -> World:
    now = utcnow()
    world = await an_approved_run(db, site, standin, amounts=(10_000,), now=now)
    await sender.send_due(database, gateway=make_gateway(settings), now=now)
    world.payouts = [await payout_now(db, payout.id) for payout in world.payouts]
    return world


async def test_a_transfer_event_records_a_transfer_our_crashed_sender_never_recorded(
    client: httpx.AsyncClient,
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: Any,
) -> None:
    now = utcnow()
    world = await an_approved_run(db, site, stripe_standin, amounts=(8_000,), now=now)
    claimed = await sender.claim_due(database, now=now, limit=10)
    made = await sender.call_stripe(make_gateway(settings), claimed[0])  # then the worker died
    event = stripe_standin.emit("transfer.created", made["id"])

    answer = await deliver(client, PLATFORM, event)

    payout = await payout_now(db, world.payouts[0].id)
    assert answer.status_code == 200
    assert (payout.status, payout.transfer_id) == (PayoutStatus.sent, made["id"])
    assert await entries_of(db, period_id=world.period.id, kind=EntryKind.payout) == [f"payout:{payout.id}"]
    assert await ledger_total(db) == 0
    assert await stored_events(db) == 1


@pytest.mark.parametrize("spoil", ["forged", "stale", "missing"])
async def test_a_forged_stale_or_unsigned_event_is_refused_and_nothing_written(
    client: httpx.AsyncClient,
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: Any,
    spoil: str,
) -> None:
    now = utcnow()
    world = await an_approved_run(db, site, stripe_standin, amounts=(8_000,), now=now)
    claimed = await sender.claim_due(database, now=now, limit=10)
    made = await sender.call_stripe(make_gateway(settings), claimed[0])
    event = stripe_standin.emit("transfer.created", made["id"])
    headers = {
        "forged": {"Stripe-Signature": sign_payload(event["body"], "whsec_someone_else", int(time.time()))},
        "stale": {"Stripe-Signature": sign_payload(event["body"], WEBHOOK_SECRET, int(time.time()) - 301)},
        "missing": {"Stripe-Signature": ""},
    }[spoil]

    answer = await deliver(client, PLATFORM, event, **headers)

    assert answer.status_code == 400
    assert await stored_events(db) == 0
    assert (await payout_now(db, world.payouts[0].id)).status is PayoutStatus.sending


async def test_an_event_of_the_other_mode_is_refused(
    client: httpx.AsyncClient,
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: Any,
) -> None:
    world = await a_sent_world(db, database, site, stripe_standin, settings, make_gateway)
    stripe_standin.configure(livemode=True)  # a live event reaching a test-mode server
    event = stripe_standin.emit("transfer.updated", world.payouts[0].transfer_id or "")
    stripe_standin.configure(livemode=False)

    answer = await deliver(client, PLATFORM, event)

    assert answer.status_code == 400
    assert "livemode" in answer.text
    assert await stored_events(db) == 0


async def test_a_replayed_event_is_a_no_op(
    client: httpx.AsyncClient,
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: Any,
) -> None:
    world = await a_sent_world(db, database, site, stripe_standin, settings, make_gateway)
    payout = world.payouts[0]
    stripe_standin.client().v1.transfers.reversals.create(payout.transfer_id or "")
    event = stripe_standin.emit("transfer.reversed", payout.transfer_id or "")

    first = await deliver(client, PLATFORM, event)
    again = await deliver(client, PLATFORM, event)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.text == "replay"
    assert await stored_events(db) == 1
    assert await entries_of(db, period_id=world.period.id, kind=EntryKind.reversal) == [f"reversal:{payout.id}"]


async def test_events_out_of_order_never_move_a_payout_back(
    client: httpx.AsyncClient,
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: Any,
) -> None:
    world = await a_sent_world(db, database, site, stripe_standin, settings, make_gateway)
    payout = world.payouts[0]
    transfer_id = payout.transfer_id or ""
    created = stripe_standin.emit("transfer.created", transfer_id)  # made first, delivered last
    stripe_standin.client().v1.transfers.reversals.create(transfer_id)
    reversed_ = stripe_standin.emit("transfer.reversed", transfer_id)

    assert (await deliver(client, PLATFORM, reversed_)).status_code == 200
    late = await deliver(client, PLATFORM, created)

    now_ = await payout_now(db, payout.id)
    assert late.status_code == 200
    assert now_.status is PayoutStatus.reversed
    assert now_.reversal_id is not None
    assert await entries_of(db, period_id=world.period.id, kind=EntryKind.reversal) == [f"reversal:{payout.id}"]
    assert await ledger_total(db) == 0
    assert await stored_events(db) == 2


async def test_an_account_event_refreshes_the_agents_account_from_stripe(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, stripe_standin: StandinServer
) -> None:
    agent = await people.make(Role.agent)
    (account_id,) = stripe_standin.ready_accounts(1, country="US", ready=False)
    row = PayoutAccount(site_id=site.id, user_id=agent.id, stripe_account_id=account_id, transfers_status="inactive")
    db.add(row)
    await db.commit()
    stripe_standin.onboard(account_id, emit_events=True)
    thin = [event for event in stripe_standin.events() if event["api"] == "v2"]
    assert thin, "the stand-in sent v2 account events"

    answers = [await deliver(client, CONNECT, event) for event in thin]

    assert [a.status_code for a in answers] == [200] * len(thin)
    assert "account refreshed" in {a.text for a in answers}
    refreshed = await fresh(db, PayoutAccount, row.id)
    assert refreshed.transfers_status == "active"
    assert refreshed.details_submitted


async def test_a_paid_bank_payout_marks_the_agents_payouts_arrived(
    client: httpx.AsyncClient,
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: Any,
) -> None:
    world = await a_sent_world(db, database, site, stripe_standin, settings, make_gateway)
    stripe_standin.pay_out(world.accounts[0], status="paid")
    (event,) = stripe_standin.events("payout.paid")
    assert event["account"] == world.accounts[0]

    answer = await deliver(client, CONNECT, event)

    payout = await payout_now(db, world.payouts[0].id)
    assert answer.status_code == 200
    assert payout.status is PayoutStatus.paid
    titles = list(
        await db.scalars(
            select(Notification.title).where(
                Notification.user_id == world.agents[0].id, Notification.kind == Kind.payout
            )
        )
    )
    assert titles == ["Your money is on its way: USD 100.00", "Your payout arrived: USD 100.00"]


async def test_a_failed_bank_payout_tells_the_agent(
    client: httpx.AsyncClient,
    db: AsyncSession,
    database: Database,
    site: Site,
    settings: Settings,
    stripe_standin: StandinServer,
    make_gateway: Any,
) -> None:
    world = await a_sent_world(db, database, site, stripe_standin, settings, make_gateway)
    stripe_standin.pay_out(world.accounts[0], status="failed")
    (event,) = stripe_standin.events("payout.failed")

    answer = await deliver(client, CONNECT, event)

    assert answer.status_code == 200
    payout = await payout_now(db, world.payouts[0].id)
    assert payout.status is PayoutStatus.sent  # the transfer reached their Stripe balance; the bank refused
    newest = await db.scalar(
        select(Notification).where(Notification.user_id == world.agents[0].id).order_by(Notification.id.desc())
    )
    assert newest is not None
    assert newest.title == "Your bank did not accept the payout"
    assert newest.url == "/app/payouts"


async def test_a_connect_event_signed_with_the_platform_secret_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, stripe_standin: StandinServer, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    (account_id,) = stripe_standin.ready_accounts(1, country="US", ready=False)
    db.add(PayoutAccount(site_id=site.id, user_id=agent.id, stripe_account_id=account_id))
    await db.commit()
    stripe_standin.onboard(account_id, emit_events=True)
    event = next(e for e in stripe_standin.events() if e["api"] == "v2")
    signature = sign_payload(event["body"], WEBHOOK_SECRET, int(time.time()))
    assert CONNECT_WEBHOOK_SECRET != WEBHOOK_SECRET

    answer = await deliver(client, CONNECT, event, **{"Stripe-Signature": signature})

    assert answer.status_code == 400
    assert await stored_events(db) == 0


async def test_with_payouts_off_the_webhooks_say_so(database: Database, settings: Settings) -> None:
    off = create_app(
        msgspec.structs.replace(
            settings, stripe_secret_key="", stripe_webhook_secret="", stripe_connect_webhook_secret=""
        ),
        database=database,
    )
    transport = httpx.ASGITransport(app=off, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        answers = [await client.post(path, content=b"{}") for path in (PLATFORM, CONNECT)]
    assert [a.status_code for a in answers] == [503, 503]
    assert "Payouts through Stripe are off" in answers[0].text
