"""The push outbox sender: claim due rows, send each with pywebpush, record what happened.

Three short steps, each its own transaction or none:

1. claim: due pending rows are leased by moving ``next_attempt_at`` past the
   send (``FOR UPDATE SKIP LOCKED`` on PostgreSQL so senders never share a row;
   SQLite has one writer anyway) and counting the attempt;
2. send, outside any transaction, with a real TTL, the urgency and the topic, if the
   endpoint may still be contacted (``endpoints``: checked again now, since a DNS
   answer can change after subscribing; the connection itself goes to public
   addresses only);
3. mark each row: sent; dropped (and the subscription deleted) on 404/410 or when
   the endpoint may no longer be contacted (one log line);
   again later on 429 (per ``Retry-After``), 408, 5xx or a network error, with
   exponential backoff, until the attempts run out; failed on any other answer.

A process that dies between commit and send leaves a pending row that the next
run sends; one that dies after sending but before marking sends again once the
lease lapses (at least once; the topic and the notification tag make a repeat
replace the first rather than show twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import logging
import time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp
import msgspec
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async
from sqlalchemy import delete, select, update

from backend.accounts.models import User
from backend.core.db import Database, utcnow
from backend.core.i18n import DEFAULT_LOCALE, speaking
from backend.core.settings import Settings
from backend.core.slots import known_time_zone
from backend.notify import endpoints, keys, policy
from backend.notify.messages import Reader
from backend.notify.models import Notification, PushMessage, PushStatus, PushSubscription
from backend.notify.service import forget_subscription, worded

log = logging.getLogger("weft.push")

LEASE_SECONDS = 300
SEND_TIMEOUT_SECONDS = 10.0
CONCURRENT_SENDS = 16
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
RETRY_AFTER_MAX_SECONDS = 24 * 3600
VAPID_LIFETIME_SECONDS = 12 * 3600
RETRYABLE = frozenset({408, 425, 429})
GONE = frozenset({404, 410})


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    """One leased row with all a send needs, read in the claim transaction."""

    id: int
    attempts: int
    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str
    payload: str
    ttl_seconds: int
    urgency: str
    topic: str


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What the push service said: a status (None for a network error), Retry-After, an error text;
    ``refused``: nothing was sent, the endpoint may not be contacted."""

    status: int | None
    retry_after: str | None = None
    error: str = ""
    refused: bool = False


class SendReport(msgspec.Struct, kw_only=True):
    sent: int = 0
    dropped: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.dropped + self.retried + self.failed


def backoff_seconds(attempts: int) -> int:
    """30 s after the first failure, doubling, at most an hour."""
    return min(BACKOFF_FIRST_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)


def retry_after_seconds(value: str | None, now: dt.datetime) -> int | None:
    """``Retry-After`` as seconds from now: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(int(value), RETRY_AFTER_MAX_SECONDS)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0, min(int((when - now).total_seconds()), RETRY_AFTER_MAX_SECONDS))


def origin_of(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


async def claim_due(database: Database, *, now: dt.datetime, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due rows; expired ones and ones whose device is gone are dropped instead."""
    claimed: list[Claimed] = []
    async with database.session(write=True) as session:
        due = (
            select(PushMessage.id)
            .where(PushMessage.status == PushStatus.pending, PushMessage.next_attempt_at <= now)
            .order_by(PushMessage.next_attempt_at, PushMessage.id)
            .limit(limit)
        )
        if database.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(await session.scalars(due))
        if not ids:
            return []
        rows = await session.execute(
            select(PushMessage, PushSubscription, Notification, User.locale, User.timezone)
            .join(Notification, Notification.id == PushMessage.notification_id)
            .join(User, User.id == Notification.user_id)
            .outerjoin(PushSubscription, PushSubscription.id == PushMessage.subscription_id)
            .where(PushMessage.id.in_(ids))
            .order_by(PushMessage.next_attempt_at, PushMessage.id)
        )
        for message, subscription, note, locale, zone_name in rows:
            remaining = int((message.expires_at - now).total_seconds())
            if subscription is None or remaining <= 0:
                message.status = PushStatus.dropped
                message.last_error = "expired before it could be sent" if subscription else "the device is gone"
                continue
            message.attempts += 1
            message.next_attempt_at = now + dt.timedelta(seconds=LEASE_SECONDS)
            # Worded at send time in the recipient's language of the moment, not the one they had when it was queued.
            reader = Reader.at(known_time_zone(zone_name) or ZoneInfo("UTC"), now)
            with speaking(locale or DEFAULT_LOCALE):
                words = worded(note.values, note, reader=reader)
            claimed.append(
                Claimed(
                    id=message.id,
                    attempts=message.attempts,
                    subscription_id=subscription.id,
                    endpoint=subscription.endpoint,
                    p256dh=subscription.p256dh,
                    auth=subscription.auth,
                    payload=policy.payload_of(
                        notification_id=note.id,
                        kind=note.kind,
                        title=words.title,
                        body=words.body,
                        url=note.url,
                        subject=note.subject,
                    ),
                    ttl_seconds=min(message.ttl_seconds, remaining),
                    urgency=message.urgency,
                    topic=message.topic,
                )
            )
    return claimed


async def deliver(
    claimed: Claimed, *, vapid: Vapid, contact: str, http: aiohttp.ClientSession, allow_private_hosts: bool
) -> Outcome:
    """One POST to the push service, if its endpoint may still be contacted; never raises for what the
    service, the network or the DNS does. ``http`` comes from ``endpoints.push_http``."""
    try:
        await endpoints.reachable_addresses(claimed.endpoint, allow_private_hosts=allow_private_hosts)
    except endpoints.EndpointUnresolved as unresolved:
        return Outcome(status=None, error=f"network: {unresolved.detail}"[:500])
    except endpoints.EndpointRefused as refused:
        return Outcome(status=None, error=f"not sent: {refused.detail}"[:500], refused=True)
    headers: dict[str, str | int | float] = {"Urgency": claimed.urgency}
    if claimed.topic:
        headers["Topic"] = claimed.topic
    # pywebpush writes aud and exp into the claims it is given: a fresh dict every call.
    claims: dict[str, str | int] = {
        "sub": contact,
        "aud": origin_of(claimed.endpoint),
        "exp": int(time.time()) + VAPID_LIFETIME_SECONDS,
    }
    try:
        await webpush_async(
            subscription_info={"endpoint": claimed.endpoint, "keys": {"p256dh": claimed.p256dh, "auth": claimed.auth}},
            data=claimed.payload,
            vapid_private_key=vapid,
            vapid_claims=claims,
            ttl=claimed.ttl_seconds,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT_SECONDS),  # type: ignore[arg-type]
            aiohttp_session=http,
        )
    except WebPushException as error:
        status = error.status_code
        return Outcome(status=status, retry_after=error.retry_after, error=f"push service answered {status}")
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        return Outcome(status=None, error=f"network: {type(error).__name__}: {error}"[:500])
    return Outcome(status=201)


async def record(
    database: Database, claimed: Claimed, outcome: Outcome, *, now: dt.datetime, max_attempts: int
) -> PushStatus | None:
    """Mark the row with the outcome, in its own transaction; None means it will be tried again."""
    async with database.session(write=True) as session:
        message = await session.get(PushMessage, claimed.id)
        if message is None:
            return PushStatus.dropped
        status = outcome.status
        if status is not None and 200 <= status < 300:
            message.status, message.sent_at, message.last_error = PushStatus.sent, now, ""
            await session.execute(
                update(PushSubscription)
                .where(PushSubscription.id == claimed.subscription_id)
                .values(last_success_at=now)
            )
            return PushStatus.sent
        message.last_error = outcome.error[:500]
        if outcome.refused or status in GONE:
            message.status = PushStatus.dropped
            await session.flush()
            reason = outcome.error if outcome.refused else "the push service no longer knows the device"
            await forget_subscription(session, claimed.subscription_id, reason[:500])
            return PushStatus.dropped
        if status is None or status >= 500 or status in RETRYABLE:
            if claimed.attempts >= max_attempts:
                message.status = PushStatus.failed
                return PushStatus.failed
            wait = retry_after_seconds(outcome.retry_after, now) if status == 429 else None
            wait = backoff_seconds(claimed.attempts) if wait is None else wait
            message.status = PushStatus.pending
            message.next_attempt_at = now + dt.timedelta(seconds=wait)
            return None
        message.status = PushStatus.failed
        return PushStatus.failed


async def prune_finished(database: Database, *, before: dt.datetime) -> int:
    """Forget outbox rows that were settled (sent, failed, dropped) before ``before``; the inbox keeps the news."""
    async with database.session(write=True) as session:
        result = await session.execute(
            delete(PushMessage).where(PushMessage.status != PushStatus.pending, PushMessage.created_at < before)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def send_due(
    database: Database,
    *,
    settings: Settings,
    now: dt.datetime | None = None,
    limit: int = 100,
    http: aiohttp.ClientSession | None = None,
) -> SendReport:
    """Send every due push (up to ``limit``) and record each outcome; safe to run in several processes.

    ``http`` (from ``endpoints.push_http``) is kept open by a long-running worker; without it one is opened here.
    """
    now = now or utcnow()
    claimed = await claim_due(database, now=now, limit=limit)
    report = SendReport()
    if not claimed:
        return report
    async with database.session(write=True) as session:
        pair = await keys.vapid_pair(session, settings)
    vapid = Vapid.from_raw(pair.private_key.encode())
    gate = asyncio.Semaphore(CONCURRENT_SENDS)
    async with contextlib.AsyncExitStack() as stack:
        client = http or await stack.enter_async_context(endpoints.push_http(settings))

        async def one(item: Claimed) -> Outcome:
            async with gate:
                return await deliver(
                    item,
                    vapid=vapid,
                    contact=settings.push_contact,
                    http=client,
                    allow_private_hosts=settings.push_allow_private_hosts,
                )

        outcomes = await asyncio.gather(*(one(item) for item in claimed))
    for item, outcome in zip(claimed, outcomes, strict=True):
        status = await record(database, item, outcome, now=now, max_attempts=settings.push_max_attempts)
        if status is PushStatus.sent:
            report.sent += 1
        elif status is PushStatus.dropped:
            report.dropped += 1
            if outcome.refused:
                log.warning("push subscription %s removed, %s", item.subscription_id, outcome.error)
        elif status is PushStatus.failed:
            report.failed += 1
            log.warning("push %s failed after %s attempts: %s", item.id, item.attempts, outcome.error)
        else:
            report.retried += 1
    return report
