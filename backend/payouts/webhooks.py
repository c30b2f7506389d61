"""Stripe's webhooks: the platform endpoint (v1 snapshot events about transfers) and the Connect endpoint (v2
thin events about connected accounts; v1 ``payout.paid``/``payout.failed`` on an agent's account).

What an event must pass before anything is written:

- its signature, checked on the raw body with the endpoint's secret and Stripe's 300 s tolerance (bad, stale
  or missing: 400);
- its ``livemode``, which must be ours (a test event on a live server, or the reverse: 400);
- its id, stored in ``stripe_events`` (unique) in the same transaction as the action: a replay is a no-op (200).

The event only says that something changed: the object is read again from Stripe before acting, and a state
only moves forwards (``STATE_ORDER``), so events arriving out of order leave the newest state.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import stripe
from litestar import Controller, MediaType, Response, Router, post
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import Database, utcnow
from backend.core.i18n import gettext as _
from backend.core.settings import Settings
from backend.core.web import AnyRequest, database_of
from backend.payouts import notices, onboarding
from backend.payouts.gateway import Gateway, gateway_of
from backend.payouts.models import STATE_ORDER, Payout, PayoutStatus, StripeEvent
from backend.payouts.reversals import mark_reversed
from backend.payouts.sender import finish_run_if_left, locked_payout, payout_id_of, record_sent

log = logging.getLogger("weft.payouts")

TOLERANCE_SECONDS = 300
CLOCK_SLACK = dt.timedelta(minutes=1)
TRANSFER_EVENTS = frozenset({"transfer.created", "transfer.updated", "transfer.reversed"})
ACCOUNT_EVENTS = frozenset(
    {"v2.core.account.updated", "v2.core.account[configuration.recipient].capability_status_updated"}
)
PAYOUT_EVENTS = frozenset({"payout.paid", "payout.failed"})
REVERSED_AT_STRIPE = "Reversed at Stripe"
Receiver = Callable[..., Awaitable[str]]


class Refused(Exception):
    """The event is not to be trusted (signature, mode): answered 400, nothing written."""


@dataclass(frozen=True)
class Received:
    """What is stored of an event before acting on it."""

    id: str
    type: str
    livemode: bool
    created: dt.datetime
    account: str | None = None
    object_id: str | None = None


def _created(value: Any) -> dt.datetime:
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    return dt.datetime.fromisoformat(str(value))


def verify(raw: bytes, header: str | None, secret: str) -> dict[str, Any]:
    """The event's body once its signature checks out (raises ``Refused`` otherwise)."""
    if not header:
        raise Refused("missing Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(raw.decode("utf-8"), header, secret, TOLERANCE_SECONDS)
        body = json.loads(raw)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as error:
        raise Refused(f"signature refused: {error}") from None
    if not isinstance(body, dict) or not body.get("id") or not body.get("type"):
        raise Refused("not an event")
    return body


def _check_mode(received: Received, gateway: Gateway) -> None:
    if received.livemode != gateway.livemode:
        raise Refused(f"livemode {received.livemode} on a {'live' if gateway.livemode else 'test'} server")


async def _seen(database: Database, event_id: str) -> bool:
    async with database.lookup() as session:
        return await session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event_id)) is not None


async def _store(session: AsyncSession, received: Received, *, now: dt.datetime) -> StripeEvent | None:
    """Store the event in the caller's transaction; None when it was already stored (a replay)."""
    row = StripeEvent(
        event_id=received.id,
        type=received.type[:120],
        account=received.account,
        object_id=received.object_id,
        created=received.created,
        received_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return None
    return row


# The platform endpoint -------------------------------------------------------------------------------------


async def receive_platform(
    database: Database, gateway: Gateway, *, raw: bytes, header: str | None, secret: str, now: dt.datetime
) -> str:
    """A v1 snapshot event on the platform: transfers created, updated or reversed. Answers what was done."""
    verify(raw, header, secret)
    try:
        event = stripe.Webhook.construct_event(raw.decode("utf-8"), header, secret, TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise Refused(str(error)) from None
    obj = event.data.object.to_dict()
    received = Received(
        id=event.id,
        type=event.type,
        livemode=bool(event.livemode),
        created=_created(event.created),
        account=getattr(event, "account", None),
        object_id=obj.get("id"),
    )
    _check_mode(received, gateway)
    if await _seen(database, received.id):
        return "replay"
    transfer = None
    if received.type in TRANSFER_EVENTS and received.object_id:
        await gateway.ready()
        transfer = (await gateway.client.v1.transfers.retrieve_async(received.object_id)).to_dict()
    async with database.session(write=True) as session:
        row = await _store(session, received, now=now)
        if row is None:
            return "replay"
        row.outcome = "ignored" if transfer is None else await apply_transfer(session, transfer, now=now)
        return row.outcome


async def apply_transfer(session: AsyncSession, transfer: dict[str, Any], *, now: dt.datetime) -> str:
    """Bring our payout up to what Stripe says of its transfer now, forwards only."""
    payout = await session.scalar(select(Payout).where(Payout.transfer_id == transfer["id"]))
    if payout is None:
        payout_id = payout_id_of(transfer)
        candidate = await locked_payout(session, payout_id) if payout_id is not None else None
        if (
            candidate is None
            or candidate.transfer_id is not None
            or candidate.destination != transfer["destination"]
            or candidate.amount_minor != transfer["amount"]
        ):
            return "not ours"
        payout = candidate
    else:
        payout = await locked_payout(session, payout.id)
        assert payout is not None
    reversed_ = bool(transfer.get("reversed"))
    target = PayoutStatus.reversed if reversed_ else PayoutStatus.sent
    if STATE_ORDER[payout.status] >= STATE_ORDER[target]:
        return f"payout {payout.id} already {payout.status.value}"
    outcome = []
    if STATE_ORDER[payout.status] < STATE_ORDER[PayoutStatus.sent]:
        await record_sent(session, payout, transfer_id=transfer["id"], now=now)
        await finish_run_if_left(session, run_id=payout.run_id, now=now)
        outcome.append("sent")
    if reversed_:
        reversals = (transfer.get("reversals") or {}).get("data") or []
        reversal_id = reversals[0]["id"] if reversals else None
        await mark_reversed(session, payout, reversal_id=reversal_id, reason=REVERSED_AT_STRIPE, by_id=None, now=now)
        outcome.append("reversed")
    return f"payout {payout.id} {' and '.join(outcome)}"


# The Connect endpoint --------------------------------------------------------------------------------------


async def receive_connect(
    database: Database, gateway: Gateway, *, raw: bytes, header: str | None, secret: str, now: dt.datetime
) -> str:
    """A thin v2 account event, or a v1 snapshot event on a connected account (its payouts to the bank)."""
    body = verify(raw, header, secret)
    if body.get("object") == "v2.core.event":
        return await _account_event(database, gateway, raw=raw, header=header, secret=secret, body=body, now=now)
    try:
        event = stripe.Webhook.construct_event(raw.decode("utf-8"), header, secret, TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise Refused(str(error)) from None
    obj = event.data.object.to_dict()
    account = getattr(event, "account", None)
    received = Received(
        id=event.id,
        type=event.type,
        livemode=bool(event.livemode),
        created=_created(event.created),
        account=account,
        object_id=obj.get("id"),
    )
    _check_mode(received, gateway)
    if await _seen(database, received.id):
        return "replay"
    bank_payout = None
    if received.type in PAYOUT_EVENTS and account and received.object_id:
        await gateway.ready()
        bank_payout = (
            await gateway.client.v1.payouts.retrieve_async(received.object_id, options={"stripe_account": account})
        ).to_dict()
    async with database.session(write=True) as session:
        row = await _store(session, received, now=now)
        if row is None:
            return "replay"
        if bank_payout is None or account is None:
            row.outcome = "ignored"
        else:
            row.outcome = await apply_bank_payout(session, account=account, bank_payout=bank_payout, now=now)
        return row.outcome


async def _account_event(
    database: Database,
    gateway: Gateway,
    *,
    raw: bytes,
    header: str | None,
    secret: str,
    body: dict[str, Any],
    now: dt.datetime,
) -> str:
    try:
        notification = gateway.client.parse_event_notification(raw, header, secret, TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise Refused(str(error)) from None
    related = body.get("related_object") or {}
    account = related.get("id") if related.get("type") == "v2.core.account" else None
    received = Received(
        id=notification.id,
        type=notification.type,
        livemode=bool(notification.livemode),
        created=_created(notification.created),
        account=account,
        object_id=account,
    )
    _check_mode(received, gateway)
    if await _seen(database, received.id):
        return "replay"
    async with database.session(write=True) as session:
        row = await _store(session, received, now=now)
        if row is None:
            return "replay"
        if received.type not in ACCOUNT_EVENTS or account is None:
            row.outcome = "ignored"
            return row.outcome
        refreshed = await onboarding.refresh_account(session, gateway, stripe_account_id=account, now=now)
        row.outcome = "account refreshed" if refreshed is not None else "not ours"
        return row.outcome


async def apply_bank_payout(
    session: AsyncSession, *, account: str, bank_payout: dict[str, Any], now: dt.datetime
) -> str:
    """Stripe paid the agent's balance to their bank (our sent payouts to that account arrived), or could not."""
    status = bank_payout.get("status")
    # Stripe's clock and ours differ by seconds: a transfer recorded just after the payout began is in it.
    made_at = _created(bank_payout.get("created") or now.timestamp()) + CLOCK_SLACK
    sent = list(
        await session.scalars(
            select(Payout)
            .where(Payout.destination == account, Payout.status == PayoutStatus.sent, Payout.sent_at <= made_at)
            .order_by(Payout.id)
            .with_for_update()
        )
    )
    if status == "paid":
        for payout in sent:
            payout.status = PayoutStatus.paid
            payout.paid_at = now
            await notices.money_arrived(session, payout, now=now)
        return f"{len(sent)} payout(s) arrived"
    if status == "failed":
        newest = await session.scalar(
            select(Payout).where(Payout.destination == account).order_by(Payout.id.desc()).limit(1)
        )
        if newest is None:
            return "not ours"
        await notices.bank_refused(session, newest, now=now)
        return f"the bank refused; agent {newest.user_id} told"
    return f"payout {status}: nothing to do"


# The routes ------------------------------------------------------------------------------------------------


def _answer(text: str, status_code: int = 200) -> Response[str]:
    return Response(text, status_code=status_code, media_type=MediaType.TEXT)


async def _receive(request: AnyRequest, receiver: Receiver, secret_of: Callable[[Settings], str]) -> Response[str]:
    settings: Settings = request.app.state.settings
    gateway = gateway_of(settings)
    secret = secret_of(settings)
    if gateway is None or not secret:
        return _answer(_("Payouts through Stripe are off on this server: no Stripe key or webhook secret."), 503)
    raw = await request.body()
    try:
        outcome = await receiver(
            database_of(request),
            gateway,
            raw=raw,
            header=request.headers.get("stripe-signature"),
            secret=secret,
            now=utcnow(),
        )
    except Refused as refused:
        log.warning("webhook refused: %s", refused)
        return _answer(f"refused: {refused}", 400)
    except (stripe.StripeError, onboarding.StripeTrouble) as error:  # not re-read: Stripe delivers it again
        log.warning("webhook not handled, Stripe did not answer: %s", error)
        return _answer("could not read the object from Stripe; try again later", 502)
    return _answer(outcome)


class StripeWebhooks(Controller):
    """Stripe calls these: no session, no CSRF token; the signature on the raw body is the only credential."""

    path = "/stripe"
    include_in_schema = False

    @post("/webhook", name="stripe:webhook", status_code=200, opt={"exclude_from_csrf": True})
    async def platform(self, request: AnyRequest) -> Response[str]:
        return await _receive(request, receive_platform, lambda settings: settings.stripe_webhook_secret)

    @post("/connect-webhook", name="stripe:connect-webhook", status_code=200, opt={"exclude_from_csrf": True})
    async def connect(self, request: AnyRequest) -> Response[str]:
        return await _receive(request, receive_connect, lambda settings: settings.stripe_connect_webhook_secret)


router = Router(path="/", route_handlers=[StripeWebhooks])
