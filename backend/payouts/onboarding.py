"""An agent's connected account: created once, onboarded on Stripe's hosted pages, mirrored here in plain words.

- **Once.** The ``PayoutAccount`` row is claimed and committed before Stripe is asked (the unique ``user_id``
  makes a second, concurrent claim fail and re-read), and the account is created under an idempotency key
  derived from that row (``weft-account-{row.id}``): a double tap, or a retry after a crash between Stripe's
  answer and our commit, gets Stripe's first answer back instead of a second account.
- **Links.** Account Links and dashboard login links are single use and live minutes: each is minted on
  demand, handed to the browser as a redirect, and never logged or stored.
- **State.** What Stripe says of the account (requirements, the transfers capability, the payout destination)
  is stored on return from onboarding and by the Connect webhook (``refresh_account``); the agent reads it
  in their language through ``account_view``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, User
from backend.accounts.site_settings import site_settings
from backend.core.db import WRITE_OPTION
from backend.core.errors import Conflict
from backend.core.i18n import gettext as _
from backend.pay.earnings import date_text
from backend.payouts.gateway import Gateway, Refusal, classify
from backend.payouts.models import HoldReason, PayoutAccount
from backend.payouts.readiness import READY_STATUS, hold_reason_for

ACCOUNT_INCLUDES = ["configuration.recipient", "requirements", "defaults"]
TRANSFER_CAPABILITY = "stripe_balance.stripe_transfers"
# A transfer reaches a recipient account a day later than a full account, then a standard payout takes about two
# business days to reach the bank: about three business days from "sent" to "in your bank".
STANDARD_ARRIVAL_BUSINESS_DAYS = 3
INSTANT_FEE_PERCENT = Decimal("1")
INSTANT_FEE_PERCENT_BY_COUNTRY = {"AU": Decimal("1.5")}
# Two taps at once send the same creation under one key; Stripe answers the second 409 while the first runs.
IN_FLIGHT_RETRIES = 5
IN_FLIGHT_WAIT_SECONDS = 0.2

T = TypeVar("T")


class StripeTrouble(Conflict):
    """Stripe refused or did not answer; ``refusal`` says why (and whether trying again later helps)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(
            _("Stripe did not answer just now, so nothing changed. Please try again in a minute.")
            if refusal.kind == "retryable"
            else _("Stripe refused: %(reason)s", reason=refusal.message)
        )
        self.refusal = refusal


async def _ask(gateway: Gateway, call: Callable[[], Awaitable[T]]) -> T:
    """One Stripe call at the shared rate; a 409 (the same key still in flight) is asked again shortly."""
    for attempt in range(IN_FLIGHT_RETRIES + 1):
        await gateway.ready()
        try:
            return await call()
        except stripe.StripeError as error:
            refusal = classify(error)
            gateway.note_refusal(refusal)
            if error.http_status == 409 and attempt < IN_FLIGHT_RETRIES:
                await asyncio.sleep(IN_FLIGHT_WAIT_SECONDS)
                continue
            raise StripeTrouble(refusal) from None
    raise AssertionError("unreachable")


async def account_of(session: AsyncSession, *, user_id: int) -> PayoutAccount | None:
    return await session.scalar(select(PayoutAccount).where(PayoutAccount.user_id == user_id))


async def _writing(session: AsyncSession) -> None:
    """Start the next transaction with the write lock (``BEGIN IMMEDIATE`` on SQLite), as a writer's must."""
    await session.connection(execution_options={WRITE_OPTION: True})


async def _claim(session: AsyncSession, *, user: User, now: dt.datetime) -> PayoutAccount:
    """The agent's row, made if missing and committed: from here on no second account can be asked for."""
    row = await account_of(session, user_id=user.id)
    if row is None:
        try:
            async with session.begin_nested():
                row = PayoutAccount(site_id=user.site_id, user_id=user.id, created_at=now)
                session.add(row)
        except IntegrityError:  # claimed at the same moment by another request: theirs is ours
            row = await account_of(session, user_id=user.id)
            if row is None:
                raise
    await session.commit()
    return row


def account_params(user: User, site: Site) -> dict[str, Any]:
    """The account Stripe is asked for: the same for every retry of one agent, as an idempotent request must be."""
    return {
        "display_name": user.display_name,
        "contact_email": user.email,
        "dashboard": "express",
        "identity": {"country": site.country.upper(), "entity_type": "individual"},
        "defaults": {
            "currency": site_settings(site).currency.lower(),
            "responsibilities": {"fees_collector": "application", "losses_collector": "application"},
        },
        "configuration": {"recipient": {"capabilities": {"stripe_balance": {"stripe_transfers": {"requested": True}}}}},
        "metadata": {"weft_user": str(user.id)},
        "include": ACCOUNT_INCLUDES,
    }


async def start_onboarding(
    session: AsyncSession, gateway: Gateway, *, user: User, return_url: str, refresh_url: str, now: dt.datetime
) -> str:
    """The agent's connected account (created once) and a fresh Account Link into Stripe's hosted onboarding.

    The claim is committed before Stripe is asked, the creation runs outside any transaction under a key
    derived from the row, and the account's id is committed before the link is asked for. The link's url is
    returned for a redirect and kept nowhere.
    """
    site = await session.get(Site, user.site_id)
    assert site is not None
    params = account_params(user, site)
    row = await _claim(session, user=user, now=now)
    if row.stripe_account_id is None:
        created = await _ask(
            gateway,
            lambda: gateway.client.v2.core.accounts.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": f"weft-account-{row.id}"},
            ),
        )
        await _writing(session)
        row.stripe_account_id = created.id
        store_account(row, created.to_dict(), now=now)
        await session.commit()
    return await account_link(
        gateway, stripe_account_id=row.stripe_account_id, return_url=return_url, refresh_url=refresh_url
    )


async def account_link(gateway: Gateway, *, stripe_account_id: str, return_url: str, refresh_url: str) -> str:
    """A fresh single-use onboarding link (minutes to live); Stripe works out which configurations it covers."""
    params = {
        "account": stripe_account_id,
        "use_case": {
            "type": "account_onboarding",
            "account_onboarding": {"return_url": return_url, "refresh_url": refresh_url},
        },
    }
    link = await _ask(gateway, lambda: gateway.client.v2.core.account_links.create_async(params))  # type: ignore[arg-type]
    return link.url


async def dashboard_link(session: AsyncSession, gateway: Gateway, *, user: User) -> str:
    """A login link to the agent's Express dashboard (bank details, tax documents, payouts), single use."""
    row = await account_of(session, user_id=user.id)
    if row is None or row.stripe_account_id is None:
        raise Conflict(_("Set up payouts first: the Stripe dashboard opens once your account exists."))
    account_id = row.stripe_account_id
    link = await _ask(gateway, lambda: gateway.client.v1.accounts.login_links.create_async(account_id))
    return link.url


async def fetch_account(gateway: Gateway, *, stripe_account_id: str) -> dict[str, Any]:
    """The v2 account as Stripe describes it now, with the parts ``store_account`` reads."""
    account = await _ask(
        gateway,
        lambda: gateway.client.v2.core.accounts.retrieve_async(stripe_account_id, {"include": ACCOUNT_INCLUDES}),  # type: ignore[typeddict-item]
    )
    return account.to_dict()


async def refresh_account(
    session: AsyncSession, gateway: Gateway, *, stripe_account_id: str, now: dt.datetime
) -> PayoutAccount | None:
    """Re-read the account from Stripe and store its state in the caller's transaction (None: not one of ours).

    The Connect webhook calls it for every v2 account event; the return from onboarding calls it too. A
    refusal by Stripe raises ``StripeTrouble`` and stores nothing.
    """
    row = await session.scalar(select(PayoutAccount).where(PayoutAccount.stripe_account_id == stripe_account_id))
    if row is None:
        return None
    store_account(row, await fetch_account(gateway, stripe_account_id=stripe_account_id), now=now)
    await session.flush()
    return row


async def store_fetched(
    session: AsyncSession, *, stripe_account_id: str, account: dict[str, Any], now: dt.datetime
) -> PayoutAccount | None:
    """Store an account already fetched (``fetch_account``), so a caller can keep the Stripe call out of its
    write transaction."""
    row = await session.scalar(select(PayoutAccount).where(PayoutAccount.stripe_account_id == stripe_account_id))
    if row is not None:
        store_account(row, account, now=now)
        await session.flush()
    return row


def _path(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _stripe_time(text: Any) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(dt.UTC)


def store_account(row: PayoutAccount, account: dict[str, Any], *, now: dt.datetime) -> None:
    """Copy what Stripe says onto the row: requirements the agent must act on, the transfers capability and why
    it is not active, the default payout destination and whether it can take instant payouts."""
    recipient = _path(account, "configuration", "recipient") or {}
    transfers = _path(recipient, "capabilities", "stripe_balance", "stripe_transfers") or {}
    entries = _path(account, "requirements", "entries") or []
    due = [entry for entry in entries if entry.get("awaiting_action_from", "user") == "user"]
    deadline = _path(account, "requirements", "summary", "minimum_deadline") or {}
    destination = recipient.get("default_outbound_destination") or {}
    details = transfers.get("status_details") or []
    row.requirements_due = [str(entry.get("description", "")) for entry in due]
    row.requirements_status = deadline.get("status") if due else None
    row.requirements_deadline = _stripe_time(deadline.get("time")) if due else None
    # Details are submitted once nothing asked for at onboarding is still awaited from the agent.
    row.details_submitted = not any(
        reason.get("code") == "routine_onboarding" for entry in due for reason in entry.get("requested_reasons") or []
    )
    row.transfers_status = str(transfers.get("status") or "inactive")
    row.disabled_reason = str(details[0].get("code")) if details and row.transfers_status != READY_STATUS else None
    row.destination = destination.get("id") or _first_payout_method(account)
    row.instant_available = "instant" in (destination.get("available_payout_methods") or [])
    row.refreshed_at = now


def _first_payout_method(account: dict[str, Any]) -> str | None:
    methods = _path(account, "defaults", "payout_methods") or {}
    return next((str(method) for method in methods.values() if method), None) if isinstance(methods, dict) else None


# What the agent reads --------------------------------------------------------------------------------------


def requirement_text(description: str) -> str:
    """One of Stripe's requirement names (``identity.individual.dob``) as the agent would say it."""
    words = {
        "identity.individual.given_name": _("your first name"),
        "identity.individual.surname": _("your surname"),
        "identity.individual.dob": _("your date of birth"),
        "identity.individual.address": _("your home address"),
        "identity.individual.id_number": _("your ID number"),
        "identity.individual.phone": _("your phone number"),
        "identity.individual.email": _("your email address"),
        "identity.individual.verification.document": _("a photo of your ID document"),
        "identity.attestations.terms_of_service.account": _("your acceptance of Stripe's terms"),
        "configuration.recipient.default_outbound_destination": _("the bank account to pay into"),
        "defaults.payout_methods": _("the bank account to pay into"),
    }
    if description in words:
        return words[description]
    return description.rsplit(".", 1)[-1].replace("_", " ")


def disabled_text(code: str) -> str:
    """Why Stripe has not turned transfers on, and what the agent can do about it."""
    if code.startswith("rejected"):
        return _("Stripe has closed this account to payouts. Ask your centre how it will pay you instead.")
    words = {
        "requirements_past_due": _("Stripe needs details from you before it can send you money."),
        "requirements_pending_verification": _(
            "Stripe is checking the details you gave. This usually takes minutes, sometimes a day or two."
        ),
        "determining_status": _("Stripe is still looking at your account. Check again in a few minutes."),
        "unsupported_country": _("Stripe cannot pay into your country. Ask your centre how it will pay you instead."),
        "unsupported_business": _("Stripe cannot pay this kind of account. Ask your centre how it will pay you."),
        "unsupported_entity_type": _("Stripe cannot pay this kind of account. Ask your centre how it will pay you."),
        "restricted_other": _("Stripe has paused transfers to this account. Open your Stripe dashboard to see why."),
    }
    return words.get(code, _("Stripe has paused transfers to this account (%(code)s).", code=code))


def instant_fee_percent(country: str) -> Decimal:
    return INSTANT_FEE_PERCENT_BY_COUNTRY.get(country.upper(), INSTANT_FEE_PERCENT)


@dataclass(frozen=True)
class AccountView:
    """The account card: a state (``none``, ``unfinished``, ``requirements``, ``inactive``, ``ready``), its
    headline and details in plain words, and which buttons it offers."""

    state: str
    headline: str
    details: list[str] = field(default_factory=list)
    can_continue: bool = False
    can_dashboard: bool = False
    instant_fee_percent: Decimal | None = None


def _needs(row: PayoutAccount, zone: ZoneInfo) -> str:
    items = ", ".join(dict.fromkeys(requirement_text(item) for item in row.requirements_due))
    if row.requirements_deadline is None:
        return _("Stripe needs: %(items)s.", items=items)
    day = date_text(row.requirements_deadline.astimezone(zone).date())
    return _("Stripe needs: %(items)s by %(deadline)s.", items=items, deadline=day)


def account_view(row: PayoutAccount | None, *, site: Site, now: dt.datetime, zone: ZoneInfo) -> AccountView:
    """What the agent's account means for being paid, by the one readiness rule the runs use."""
    reason = hold_reason_for(row, now)
    if row is None:
        return AccountView(
            "none",
            _("Payouts are not set up yet."),
            [
                _(
                    "Set up payouts with Stripe to be paid into your bank account. It takes about five minutes: your"
                    " name and your bank account, and sometimes an identity document."
                )
            ],
            can_continue=True,
        )
    if reason is HoldReason.no_account:
        return AccountView(
            "unfinished",
            _("Set-up is not finished."),
            [_("Stripe has not opened your account yet. Continue to finish setting up payouts.")],
            can_continue=True,
        )
    if reason is None:
        days = STANDARD_ARRIVAL_BUSINESS_DAYS
        details = [
            _(
                "Your payouts are standard bank payouts: Stripe sends each one to your bank, where it arrives"
                " about %(days)d business days after it is sent.",
                days=days,
            )
        ]
        if row.requirements_due:
            details.append(_needs(row, zone) + " " + _("Give them in time to keep being paid."))
        fee = instant_fee_percent(site.country) if row.instant_available else None
        if fee is None:
            details.append(_("Instant payouts are not available to accounts like yours."))
        return AccountView(
            "ready",
            _("Ready: payouts arrive in your bank about %(days)d business days after they are sent.", days=days),
            details,
            can_continue=bool(row.requirements_due),
            can_dashboard=True,
            instant_fee_percent=fee,
        )
    if row.requirements_due:
        details = []
        if reason is HoldReason.requirements_past_due:
            details.append(_("The deadline has passed: payouts are held until you give these details."))
        if row.transfers_status != READY_STATUS:
            details.append(_("Transfers are not active yet."))
        return AccountView(
            "requirements", _needs(row, zone), details, can_continue=True, can_dashboard=row.details_submitted
        )
    details = [disabled_text(row.disabled_reason)] if row.disabled_reason else []
    if not details:
        details.append(_("Stripe is still looking at your account. Check again in a few minutes."))
    return AccountView("inactive", _("Transfers are not active yet."), details, can_continue=False, can_dashboard=True)
