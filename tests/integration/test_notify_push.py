"""notify() writes the inbox row and the push outbox in the caller's transaction; the sender delivers.

Delivery goes to a push-service stand-in on loopback that verifies the VAPID
JWT and decrypts the payload with the keys a browser would hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.core.db import Database, utcnow
from backend.core.settings import Settings
from backend.notify import keys, service
from backend.notify.models import Kind, Notification, PushMessage, PushStatus, PushSubscription
from backend.notify.sender import LEASE_SECONDS, claim_due, prune_finished, send_due
from backend.notify.service import notify
from tests.conftest import Factory
from tests.push_service import Browser, PushService


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The stand-in listens on loopback: the development switch lets the sender reach it."""
    return msgspec.structs.replace(settings, push_allow_private_hosts=True)


@pytest.fixture
async def push_service(db: AsyncSession, settings: Settings) -> AsyncIterator[PushService]:
    stand_in = PushService()
    await stand_in.start()
    stand_in.server_key = (await keys.vapid_pair(db, settings)).public_key
    await db.commit()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
async def agent(people: Factory) -> User:
    return await people.make()


async def subscribe(database: Database, user: User, browser: Browser) -> int:
    async with database.session(write=True) as session:
        keys_ = browser.subscription()["keys"]
        row = await service.subscribe(
            session, user_id=user.id, endpoint=browser.endpoint, p256dh=keys_["p256dh"], auth=keys_["auth"]
        )
        return row.id


async def tell(database: Database, user: User, kind: Kind = Kind.waitlist_offer, **fields: str) -> int:
    """A change that notifies, committed as the caller's own unit of work."""
    async with database.session(write=True) as session:
        note = await notify(
            session,
            user_id=user.id,
            kind=kind,
            title=fields.get("title", "A seat opened on Tue 18:00"),
            body=fields.get("body", "Claim it within 4 hours."),
            url=fields.get("url", "/app/shifts/42"),
            subject=fields.get("subject", "shift:42"),
        )
        return note.id


async def outbox(database: Database) -> list[PushMessage]:
    async with database.session() as session:
        return list(await session.scalars(select(PushMessage).order_by(PushMessage.id)))


async def count(database: Database, model: type) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_notify_writes_the_inbox_row_and_one_outbox_row_per_device(
    database: Database, agent: User, push_service: PushService
) -> None:
    for _ in range(2):
        await subscribe(database, agent, push_service.browser())
    async with database.session(write=True) as session:
        note = await notify(session, user_id=agent.id, kind=Kind.cover_request, title="Cover 18:00", subject="cover:7")
        rows = list(await session.scalars(select(PushMessage).where(PushMessage.notification_id == note.id)))
        assert len(rows) == 2, "the outbox rows are in the caller's transaction, before any commit"
    assert {row.status for row in rows} == {PushStatus.pending}
    assert {row.urgency for row in rows} == {"high"}
    assert {len(row.topic) for row in rows} == {32}
    assert all(row.ttl_seconds > 0 for row in rows)


async def test_a_change_rolled_back_sends_nothing(
    database: Database, settings: Settings, agent: User, push_service: PushService
) -> None:
    await subscribe(database, agent, push_service.browser())

    class ClaimRefused(Exception):
        pass

    async def a_change_that_fails_after_notifying() -> None:
        async with database.session(write=True) as session:
            await notify(session, user_id=agent.id, kind=Kind.swap, title="Swap accepted", subject="swap:3")
            raise ClaimRefused

    with pytest.raises(ClaimRefused):
        await a_change_that_fails_after_notifying()
    assert await count(database, Notification) == 0
    assert await outbox(database) == []
    report = await send_due(database, settings=settings)
    assert report.total == 0
    assert push_service.deliveries == []


async def test_the_worker_sends_and_the_browser_decrypts_title_and_url(
    database: Database, settings: Settings, agent: User, push_service: PushService
) -> None:
    browser = push_service.browser()
    subscription_id = await subscribe(database, agent, browser)
    note_id = await tell(database, agent, Kind.waitlist_offer, title="A seat opened", url="/app/shifts/42")

    report = await send_due(database, settings=settings)

    assert report.sent == 1
    assert push_service.refusals == []
    [delivery] = push_service.deliveries
    assert delivery.browser is browser
    assert delivery.payload["title"] == "A seat opened"
    assert delivery.payload["url"] == "/app/shifts/42"
    assert delivery.payload["id"] == note_id
    assert delivery.payload["tag"] == "shift:42"
    assert 4 * 3600 - 60 < int(delivery.headers["ttl"]) <= 4 * 3600, "a real TTL: the offer's 4 h, less time waited"
    assert delivery.headers["urgency"] == "normal"
    assert len(delivery.headers["topic"]) == 32
    assert delivery.claims["aud"] == push_service.origin
    assert delivery.claims["sub"] == settings.push_contact
    assert int(delivery.headers["content-length"]) < 4096
    [row] = await outbox(database)
    assert row.status == PushStatus.sent
    assert row.sent_at is not None
    assert row.attempts == 1
    async with database.session() as session:
        subscription = await session.get(PushSubscription, subscription_id)
        assert subscription is not None
        assert subscription.last_success_at is not None


@pytest.mark.parametrize("status", [404, 410])
async def test_a_gone_subscription_is_deleted_and_its_push_dropped(
    database: Database, settings: Settings, agent: User, push_service: PushService, status: int
) -> None:
    await subscribe(database, agent, push_service.browser())
    await tell(database, agent)
    push_service.answer(status)

    report = await send_due(database, settings=settings)

    assert report.dropped == 1
    assert await count(database, PushSubscription) == 0
    [row] = await outbox(database)
    assert row.status == PushStatus.dropped
    assert row.subscription_id is None
    assert await count(database, Notification) == 1, "the inbox keeps it"


async def test_429_waits_as_long_as_retry_after_says(
    database: Database, settings: Settings, agent: User, push_service: PushService
) -> None:
    await subscribe(database, agent, push_service.browser())
    await tell(database, agent)
    push_service.answer(429, Retry_After="120")
    now = utcnow()

    first = await send_due(database, settings=settings, now=now)
    [row] = await outbox(database)
    assert first.retried == 1
    assert row.status == PushStatus.pending
    assert row.next_attempt_at == now + dt.timedelta(seconds=120)

    early = await send_due(database, settings=settings, now=now + dt.timedelta(seconds=119))
    assert early.total == 0
    assert len(push_service.deliveries) == 1

    later = await send_due(database, settings=settings, now=now + dt.timedelta(seconds=120))
    assert later.sent == 1
    assert len(push_service.deliveries) == 2
    [row] = await outbox(database)
    assert row.status == PushStatus.sent
    assert row.attempts == 2


async def test_server_errors_retry_with_growing_backoff_then_fail(
    database: Database, settings: Settings, agent: User, push_service: PushService
) -> None:
    settings = msgspec.structs.replace(settings, push_max_attempts=3)
    await subscribe(database, agent, push_service.browser())
    await tell(database, agent)
    push_service.answer(500, times=3)
    now = utcnow()

    await send_due(database, settings=settings, now=now)
    [row] = await outbox(database)
    assert (row.status, row.attempts, row.next_attempt_at) == (PushStatus.pending, 1, now + dt.timedelta(seconds=30))

    now += dt.timedelta(seconds=30)
    await send_due(database, settings=settings, now=now)
    [row] = await outbox(database)
    assert (row.status, row.attempts, row.next_attempt_at) == (PushStatus.pending, 2, now + dt.timedelta(seconds=60))

    now += dt.timedelta(seconds=60)
    report = await send_due(database, settings=settings, now=now)
    [row] = await outbox(database)
    assert report.failed == 1
    assert (row.status, row.attempts) == (PushStatus.failed, 3)
    assert "500" in row.last_error
    assert await send_due(database, settings=settings, now=now + dt.timedelta(hours=2)) == report.__class__()
    assert len(push_service.deliveries) == 3
    assert await count(database, PushSubscription) == 1, "a server error says nothing about the device"


async def test_a_network_error_is_retried(
    database: Database, settings: Settings, agent: User, push_service: PushService
) -> None:
    browser = push_service.browser()
    await subscribe(database, agent, browser)
    await tell(database, agent)
    await push_service.stop()  # the push service is down: connection refused

    report = await send_due(database, settings=settings)

    assert report.retried == 1
    [row] = await outbox(database)
    assert row.status == PushStatus.pending
    assert row.last_error.startswith("network")


async def test_a_crash_between_commit_and_send_still_sends_exactly_once(
    database: Database, settings: Settings, agent: User, push_service: PushService
) -> None:
    await subscribe(database, agent, push_service.browser())
    await tell(database, agent)  # committed; the process "dies" before any sender ran

    later = utcnow() + dt.timedelta(minutes=5)
    assert (await send_due(database, settings=settings, now=later)).sent == 1
    assert (await send_due(database, settings=settings, now=later)).total == 0
    assert (await send_due(database, settings=settings, now=later + dt.timedelta(hours=1))).total == 0
    assert len(push_service.deliveries) == 1


async def test_a_sender_that_dies_after_claiming_leaves_the_push_for_the_next_one(
    database: Database, settings: Settings, agent: User, push_service: PushService
) -> None:
    await subscribe(database, agent, push_service.browser())
    await tell(database, agent)
    now = utcnow()
    claimed = await claim_due(database, now=now, limit=10)  # ...and the sender dies here
    assert len(claimed) == 1

    assert (await send_due(database, settings=settings, now=now)).total == 0, "the lease keeps others off"
    after_lease = now + dt.timedelta(seconds=LEASE_SECONDS)
    assert (await send_due(database, settings=settings, now=after_lease)).sent == 1
    assert len(push_service.deliveries) == 1


async def test_quiet_hours_hold_the_push_but_not_the_inbox(
    database: Database, db: AsyncSession, settings: Settings, agent: User, push_service: PushService
) -> None:
    await subscribe(database, agent, push_service.browser())
    zone = ZoneInfo(agent.timezone)
    local = utcnow().astimezone(zone)
    start = local.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    end = start + dt.timedelta(hours=3)
    await service.save_preferences(
        db,
        user_id=agent.id,
        push_kinds=set(Kind),
        quiet_start=start.strftime("%H:%M"),
        quiet_end=end.strftime("%H:%M"),
    )
    await db.commit()

    await tell(database, agent)

    assert await count(database, Notification) == 1
    [row] = await outbox(database)
    assert row.next_attempt_at == end.astimezone(dt.UTC)
    assert row.expires_at == row.next_attempt_at + dt.timedelta(hours=4), "the TTL counts from the end of quiet hours"
    assert (await send_due(database, settings=settings)).total == 0
    assert (await send_due(database, settings=settings, now=row.next_attempt_at)).sent == 1


async def test_a_kind_turned_off_reaches_the_inbox_only(
    database: Database, db: AsyncSession, settings: Settings, agent: User, push_service: PushService
) -> None:
    await subscribe(database, agent, push_service.browser())
    await service.save_preferences(
        db, user_id=agent.id, push_kinds=set(Kind) - {Kind.open_shift}, quiet_start=None, quiet_end=None
    )
    await db.commit()

    await tell(database, agent, Kind.open_shift, subject="digest:2026-12-01")
    await tell(database, agent, Kind.cover_request, subject="cover:9")

    assert await count(database, Notification) == 2
    rows = await outbox(database)
    assert [row.urgency for row in rows] == ["high"]
    assert (await send_due(database, settings=settings)).sent == 1


async def test_a_newer_push_on_the_same_subject_replaces_the_pending_one(
    database: Database, settings: Settings, agent: User, push_service: PushService
) -> None:
    await subscribe(database, agent, push_service.browser())
    await tell(database, agent, Kind.swap, title="Ana offers you Tue 18:00", subject="swap:5")
    await tell(database, agent, Kind.swap, title="Ana withdrew her swap", subject="swap:5")
    await tell(database, agent, Kind.swap, title="Other swap", subject="swap:6")

    report = await send_due(database, settings=settings)

    assert report.sent == 2
    assert sorted(d.payload["title"] for d in push_service.deliveries) == ["Ana withdrew her swap", "Other swap"]
    first, *_ = await outbox(database)
    assert first.status == PushStatus.dropped
    assert "superseded" in first.last_error
    assert await count(database, Notification) == 3, "the inbox keeps all three"


async def test_an_expired_push_is_dropped_not_sent(
    database: Database, settings: Settings, agent: User, push_service: PushService
) -> None:
    await subscribe(database, agent, push_service.browser())
    await tell(database, agent, Kind.waitlist_offer)

    report = await send_due(database, settings=settings, now=utcnow() + dt.timedelta(hours=5))

    assert report.total == 0
    [row] = await outbox(database)
    assert row.status == PushStatus.dropped
    assert "expired" in row.last_error
    assert push_service.deliveries == []


async def test_a_subscription_taken_over_on_a_shared_phone_drops_the_old_owners_pushes(
    database: Database, settings: Settings, people: Factory, agent: User, push_service: PushService
) -> None:
    browser = push_service.browser()
    await subscribe(database, agent, browser)
    await tell(database, agent)
    other = await people.make()
    await subscribe(database, other, browser)

    assert (await send_due(database, settings=settings)).total == 0
    [row] = await outbox(database)
    assert row.status == PushStatus.dropped
    assert push_service.deliveries == []


async def test_settled_outbox_rows_are_pruned_after_a_while_but_pending_ones_stay(
    database: Database, settings: Settings, agent: User, push_service: PushService
) -> None:
    await subscribe(database, agent, push_service.browser())
    await tell(database, agent, subject="shift:1")
    await send_due(database, settings=settings)
    await tell(database, agent, subject="shift:2")

    assert await prune_finished(database, before=utcnow() - dt.timedelta(days=1)) == 0
    assert await prune_finished(database, before=utcnow() + dt.timedelta(seconds=1)) == 1
    [left] = await outbox(database)
    assert left.status == PushStatus.pending
    assert await count(database, Notification) == 2, "the inbox keeps both"


async def test_a_push_never_outlives_the_offer_it_announces(
    database: Database, settings: Settings, agent: User, push_service: PushService
) -> None:
    await subscribe(database, agent, push_service.browser())
    async with database.session(write=True) as session:
        await notify(
            session,
            user_id=agent.id,
            kind=Kind.waitlist_offer,
            title="A seat for 30 minutes",
            subject="shift:8",
            expires_at=utcnow() + dt.timedelta(minutes=30),
        )
        await notify(
            session,
            user_id=agent.id,
            kind=Kind.waitlist_offer,
            title="An offer that already lapsed",
            subject="shift:9",
            expires_at=utcnow() - dt.timedelta(minutes=1),
        )

    assert (await send_due(database, settings=settings)).sent == 1
    [delivery] = push_service.deliveries
    assert 29 * 60 < int(delivery.headers["ttl"]) <= 30 * 60
    assert await count(database, Notification) == 2, "both are in the inbox"
