"""Notifications: in-app inbox, Web Push subscriptions, VAPID keys and the push outbox.

The inbox row is what the agent reads in the app; a ``PushMessage`` is the
durable intent to deliver one inbox row to one device. It is written in the
transaction of the change that causes it and is only ever moved on (sent,
failed, dropped) by the sender, so a crash never loses or doubles a push.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum


class Kind(enum.StrEnum):
    """What a notification is about; agents choose which kinds reach their phone."""

    roster_published = "roster_published"
    open_shift = "open_shift"
    cover_request = "cover_request"
    shift_reminder = "shift_reminder"
    swap = "swap"
    waitlist_offer = "waitlist_offer"
    certification_expiring = "certification_expiring"
    pay_dispute = "pay_dispute"
    payout = "payout"  # money sent to the agent, or something they must do so it can be
    intraday_offer = "intraday_offer"  # voluntary time off, or staying longer today: answer in the app
    shift_change = "shift_change"  # a coordinator cancelled a shift the agent holds
    attendance = "attendance"  # a no-show marked on the agent's shift, and how to appeal it
    # Staff alerts: what a coordinator (or finance) must act on.
    staff_dispute = "staff_dispute"  # an agent filed a pay dispute
    staff_cover_unfilled = "staff_cover_unfilled"  # a cover request's last wave found nobody
    staff_unconfirmed = "staff_unconfirmed"  # tomorrow's shifts not yet confirmed (one summary a day)
    staff_late = "staff_late"  # an agent has not started their shift
    staff_handover = "staff_handover"  # a duty ended without its handover
    request = "request"  # a request the person asked, or said "me too" to: an answer, a hand-over, the outcome
    staff_request = "staff_request"  # a request to act on: new in my team's queue, consulted, warned, breached


STAFF_KINDS = frozenset(
    {
        Kind.staff_dispute,
        Kind.staff_cover_unfilled,
        Kind.staff_unconfirmed,
        Kind.staff_late,
        Kind.staff_handover,
        Kind.staff_request,
    }
)
"""Kinds only staff receive; the settings page lists these to staff and the others to agents."""


class PushStatus(enum.StrEnum):
    """A push's life: pending until sent, or failed after its attempts, or dropped (device gone, superseded)."""

    pending = "pending"
    sent = "sent"
    failed = "failed"
    dropped = "dropped"


# Kinds are stored without a CHECK so a new kind needs no table rebuild; the enum validates on the way in.
KIND_TYPE = Enum(
    Kind,
    name="notification_kind",
    native_enum=False,
    create_constraint=False,
    length=32,
    values_callable=lambda members: [member.value for member in members],
)


class PushSubscription(IdMixin, Base):
    """One browser's PushSubscription: the endpoint is the device's, the keys encrypt to it."""

    __tablename__ = "push_subscriptions"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Notification(IdMixin, Base):
    """An inbox entry: everything sent is kept here, so nothing is lost when push is off or denied.

    ``values`` names the message (``values["message"]``, see ``notify.messages``) and holds what fills it;
    the title and body are worded from them each time the notification is read, in the reader's language
    of the moment. ``title`` and ``body`` keep the words as first sent: rows written before ``values``
    existed have only those.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_created_at", "user_id", "created_at"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[Kind] = mapped_column(KIND_TYPE)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    url: Mapped[str] = mapped_column(String(500), default="/app")
    subject: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PushMessage(IdMixin, Base):
    """The push outbox: one row per notification and device, sent by the worker after the change commits.

    ``next_attempt_at`` doubles as the claim lease: a sender moves it forward
    before sending, so another sender skips the row, and a sender that dies
    mid-send leaves a row that is due again once the lease runs out.
    """

    __tablename__ = "push_outbox"
    __table_args__ = (Index("ix_push_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    notification_id: Mapped[int] = mapped_column(BigId, ForeignKey("notifications.id", ondelete="CASCADE"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("push_subscriptions.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[PushStatus] = mapped_column(value_enum(PushStatus, "push_status"), default=PushStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    topic: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(8))
    ttl_seconds: Mapped[int] = mapped_column(Integer)


class NotificationPreference(Base):
    """Per user: kinds kept off the phone, and quiet hours ("HH:MM" local, both or neither).

    Muted kinds are stored rather than enabled ones, so a kind added later reaches everyone by default.
    """

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    muted_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class VapidKey(Base):
    """The server's one VAPID key pair, made on first use and kept beside the subscriptions bound to it.

    In the database rather than under ``var/``: every web process and ``weft worker`` on
    every machine must sign with the key the browsers subscribed with, and a restored
    backup brings back the key together with the subscriptions that need it.
    """

    __tablename__ = "vapid_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    private_key: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
