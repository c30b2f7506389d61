"""The one way Weft talks to Stripe: a configured client, a shared request rate, and what a refusal means.

Every call goes through ``Gateway``: the real ``stripe`` SDK (``StripeClient`` with its async httpx client, no
network retries of its own: the payout sender retries under its own stored idempotency key), pointed at
Stripe or, in development and tests, at the stand-in (``WEFT_STRIPE_API_BASE``). Calls share one token bucket
at ``WEFT_STRIPE_REQUESTS_PER_SECOND``; a 429 pauses everyone for its ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import stripe

from backend.core.errors import Conflict
from backend.core.i18n import gettext as _
from backend.core.settings import Settings
from backend.payouts.models import FailureKind

# Stripe's codes that only the agent can clear (their account cannot receive transfers yet).
AGENT_CODES = frozenset(
    {
        "insufficient_capabilities_for_transfer",
        "account_invalid",
        "transfers_not_allowed",
        "payouts_not_allowed",
        "account_closed",
        "requirements_past_due",
    }
)
PLATFORM_CODES = frozenset({"balance_insufficient", "insufficient_funds", "amount_too_large"})
RETRY_AFTER_DEFAULT_SECONDS = 1.0
# Calls are paced a little under the configured rate: exactly at it, the jitter of the way there puts a 101st
# request into some second of Stripe's count now and then, and each 429 costs a second's pause (measured: 39 of
# 3,039 requests refused at 100%, none at 97%).
PACING_SHARE = 0.97


class PayoutsOff(Conflict):
    """No Stripe key is configured: payouts through Stripe are off (everything else works)."""

    def __init__(self) -> None:
        super().__init__(_("Payouts through Stripe are off: this server has no Stripe key."))


class RateLimiter:
    """Paces every call of one process to ``per_second`` (no bursts: no second ever holds more); a 429 pauses
    everyone for the time Stripe asks.

    Each call is given the next slot on a fixed schedule (the generic cell rate algorithm): a late wake-up
    does not push later slots back, so the rate holds at the figure instead of drifting below it; after a
    stall (the event loop busy recording) at most one slot is caught up, so no burst follows.
    """

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self._interval = 1.0 / (per_second * PACING_SHARE)
        self._next_slot = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:  # one caller at a time, so callers that woke late never fire together
            now = time.monotonic()
            slot = max(self._next_slot, now - self._interval)  # catch up by at most one slot
            self._next_slot = slot + self._interval
            if slot > now:
                await asyncio.sleep(slot - now)

    def pause(self, seconds: float) -> None:
        self._next_slot = max(self._next_slot, time.monotonic() + seconds)


@dataclass(frozen=True)
class Refusal:
    """What a failed call means for the payout: who must act, Stripe's code and its words."""

    kind: FailureKind
    code: str
    message: str
    retry_after: float | None = None


def classify(error: Exception) -> Refusal:
    """Sort a failed call: retryable (network, 5xx, 429, idempotent replay in flight), agent, or platform."""
    if isinstance(error, stripe.RateLimitError):
        return Refusal(FailureKind.retryable, "rate_limit", str(error.user_message or error), _retry_after(error))
    if isinstance(error, stripe.APIConnectionError):
        return Refusal(FailureKind.retryable, "network", str(error.user_message or error))
    if isinstance(error, stripe.StripeError):
        code = str(error.code or "")
        status = error.http_status or 0
        message = str(error.user_message or error)
        if status >= 500 or status == 409 or code == "lock_timeout":
            return Refusal(FailureKind.retryable, code or f"http_{status}", message)
        if code in PLATFORM_CODES:
            return Refusal(FailureKind.platform, code, message)
        if code in AGENT_CODES or "capabilit" in code:
            return Refusal(FailureKind.agent, code, message)
        return Refusal(FailureKind.platform, code or f"http_{status}", message)
    return Refusal(FailureKind.retryable, type(error).__name__, str(error))


def _retry_after(error: stripe.StripeError) -> float:
    headers = error.headers or {}
    try:
        return max(0.0, float(headers.get("retry-after") or headers.get("Retry-After") or RETRY_AFTER_DEFAULT_SECONDS))
    except ValueError:
        return RETRY_AFTER_DEFAULT_SECONDS


class Gateway:
    """A configured Stripe client and the process's shared rate; ``None`` from ``gateway_of`` means payouts are off."""

    def __init__(self, settings: Settings) -> None:
        base = settings.stripe_api_base.rstrip("/")
        self.settings = settings
        self.livemode = settings.stripe_secret_key.startswith(("sk_live_", "rk_live_"))
        self.http_client = stripe.HTTPXClient(timeout=settings.stripe_timeout_seconds)
        self.client = stripe.StripeClient(
            settings.stripe_secret_key,
            base_addresses={"api": base} if base else None,  # type: ignore[typeddict-item]
            http_client=self.http_client,
            max_network_retries=0,
        )
        self.limiter = RateLimiter(settings.stripe_requests_per_second)

    async def ready(self) -> None:
        """Wait for the shared rate to allow one more call."""
        await self.limiter.acquire()

    def note_refusal(self, refusal: Refusal) -> None:
        if refusal.retry_after is not None:
            self.limiter.pause(refusal.retry_after)


_gateways: dict[tuple[str, str, float, float], Gateway] = {}


def gateway_of(settings: Settings) -> Gateway | None:
    """The process's gateway for these settings (one rate shared by every caller), or None without a key."""
    if not settings.stripe_secret_key:
        return None
    key = (
        settings.stripe_secret_key,
        settings.stripe_api_base,
        settings.stripe_requests_per_second,
        settings.stripe_timeout_seconds,
    )
    if key not in _gateways:
        _gateways[key] = Gateway(settings)
    return _gateways[key]


async def close_gateways() -> None:
    """Close the process's gateways' connections (the served app's shutdown): a pool left open outlives its loop."""
    while _gateways:
        _key, gateway = _gateways.popitem()
        await gateway.http_client.close_async()


def require_gateway(settings: Settings) -> Gateway:
    gateway = gateway_of(settings)
    if gateway is None:
        raise PayoutsOff()
    return gateway
