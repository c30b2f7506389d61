"""What crosses the edge for notifications: the browser's PushSubscription, the key, the preferences form."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from backend.accounts.schemas import Form

BASE64URL = r"^[A-Za-z0-9_-]+={0,2}$"
Switch = Literal["on", "off"]


class SubscriptionKeys(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The subscription's encryption keys: the browser's P-256 public key and its 16-byte auth secret."""

    p256dh: Annotated[str, msgspec.Meta(pattern=BASE64URL, max_length=128)]
    auth: Annotated[str, msgspec.Meta(pattern=BASE64URL, max_length=64)]


class SubscriptionBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``PushSubscription.toJSON()`` as the browser gives it."""

    endpoint: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
    keys: SubscriptionKeys
    expirationTime: float | None = None  # noqa: N815 - the browser's name


class EndpointBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    endpoint: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]


class SubscriptionAnswer(msgspec.Struct, kw_only=True):
    id: int
    endpoint: str
    created_at: dt.datetime


class PushKey(msgspec.Struct, kw_only=True):
    """The VAPID application server key for ``PushManager.subscribe``: base64url, no padding."""

    public_key: str


Clock = Annotated[str, msgspec.Meta(max_length=5)]


class PreferencesForm(Form):
    """One switch per kind of notification, and quiet hours ("" for none)."""

    roster_published: Switch = "off"
    open_shift: Switch = "off"
    cover_request: Switch = "off"
    shift_reminder: Switch = "off"
    swap: Switch = "off"
    waitlist_offer: Switch = "off"
    certification_expiring: Switch = "off"
    pay_dispute: Switch = "off"
    payout: Switch = "off"
    intraday_offer: Switch = "off"
    shift_change: Switch = "off"
    attendance: Switch = "off"
    staff_dispute: Switch = "off"
    staff_cover_unfilled: Switch = "off"
    staff_unconfirmed: Switch = "off"
    staff_late: Switch = "off"
    staff_handover: Switch = "off"
    request: Switch = "off"
    staff_request: Switch = "off"
    quiet_start: Clock = ""
    quiet_end: Clock = ""
