"""Shifts: what agents actually work, whether rostered or claimed.

A ``Shift`` is a skill over ``[start_slot, end_slot)`` with a number of seats;
``taken`` counts the seats held, so a claim can be one conditional UPDATE
(``taken < seats``) that never overbooks. A ``ShiftSeat`` is one agent holding
one seat. Publishing a roster makes one single-seat shift per assignment and
one open shift per gap; the marketplace claims open seats.

An open shift has ``opened_at``, the moment it was put on the marketplace:
tier priority windows count from it. A full shift keeps a waitlist; when a
seat comes back, the first eligible agent waiting gets a time-limited offer
(``offered_at`` .. ``offer_expires_at``) during which the seat is theirs alone.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum


class ShiftOrigin(enum.StrEnum):
    roster = "roster"
    gap = "gap"
    manual = "manual"
    vot = "vot"  # voluntary overtime: extra half-hours opened intraday with a bonus (``shifts.intraday``)


class Shift(IdMixin, Base):
    __tablename__ = "shifts"

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int] = mapped_column(BigId, ForeignKey("skills.id", ondelete="CASCADE"))
    start_slot: Mapped[int] = mapped_column(BigInteger, index=True)
    end_slot: Mapped[int] = mapped_column(BigInteger)
    seats: Mapped[int] = mapped_column(Integer, default=1)
    taken: Mapped[int] = mapped_column(Integer, default=0)
    origin: Mapped[ShiftOrigin] = mapped_column(value_enum(ShiftOrigin, "shift_origin"))
    roster_version_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("roster_versions.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # An urgent bonus on top of the base pay, in the site's currency's minor units.
    bonus_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    # When the shift went on the marketplace (None: a rostered shift nobody has released).
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The end of this release's request window: until then claims are requests, drawn by lottery (``lottery``).
    requests_close_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)


class ShiftSeat(IdMixin, Base):
    """An agent holding one seat of a shift."""

    __tablename__ = "shift_seats"
    __table_args__ = (UniqueConstraint("shift_id", "user_id"),)

    shift_id: Mapped[int] = mapped_column(BigId, ForeignKey("shifts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Intraday (``shifts.intraday``): an accepted extension moves this seat's end past the shift's; an accepted
    # VTO ends the seat's work at ``vto_from_slot`` (the rest is released, paid ``standby_percent`` % of base).
    extended_to_slot: Mapped[int | None] = mapped_column(BigInteger)
    vto_from_slot: Mapped[int | None] = mapped_column(BigInteger)
    standby_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ShiftWaitlist(IdMixin, Base):
    """An agent waiting for a seat on a full shift, first come first offered."""

    __tablename__ = "shift_waitlist"
    __table_args__ = (UniqueConstraint("shift_id", "user_id"),)

    shift_id: Mapped[int] = mapped_column(BigId, ForeignKey("shifts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    offered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CalendarFeed(Base):
    """An agent's private calendar-feed address; only a hash of its secret is kept, so a leak can be revoked."""

    __tablename__ = "calendar_feeds"
    __audit_secret__ = frozenset({"secret_hash"})

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppealStatus(enum.StrEnum):
    open = "open"
    accepted = "accepted"
    rejected = "rejected"


class Attendance(IdMixin, Base):
    """What happened on one seat: confirmed the day before, started, or marked a no-show; and any waiver.

    Made on the first thing that happens to the seat, so a seat without a row is simply untouched.
    A waiver (an outage, or an accepted appeal) takes the shift out of the reliability score.
    """

    __tablename__ = "attendance"

    seat_id: Mapped[int] = mapped_column(BigId, ForeignKey("shift_seats.id", ondelete="CASCADE"), unique=True)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    no_show_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    marked_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    waived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    waived_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    waiver_reason: Mapped[str | None] = mapped_column(String(200))


class ReliabilityAppeal(IdMixin, Base):
    """An agent's one appeal against a no-show; accepting it waives the no-show."""

    __tablename__ = "reliability_appeals"

    attendance_id: Mapped[int] = mapped_column(BigId, ForeignKey("attendance.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(1000))
    status: Mapped[AppealStatus] = mapped_column(value_enum(AppealStatus, "appeal_status"), default=AppealStatus.open)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SwapStatus(enum.StrEnum):
    offered = "offered"
    accepted = "accepted"
    approved = "approved"
    declined = "declined"
    cancelled = "cancelled"
    expired = "expired"


class ShiftSwap(IdMixin, Base):
    """An agent offering a shift they hold to a named agent, or to everyone eligible (``to_user_id`` None).

    Accepting moves the giver's seat to the acceptor (``accepted_by_id``). When the site asked for it at
    offer time (``needs_approval``), an accepted swap waits for a coordinator: the seat moves on approval.
    """

    __tablename__ = "shift_swaps"

    shift_id: Mapped[int] = mapped_column(BigId, ForeignKey("shifts.id", ondelete="CASCADE"), index=True)
    from_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    to_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    accepted_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[SwapStatus] = mapped_column(value_enum(SwapStatus, "swap_status"), default=SwapStatus.offered)
    needs_approval: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class CoverReason(enum.StrEnum):
    no_show = "no_show"
    emergency = "emergency"
    late_release = "late_release"


class CoverStatus(enum.StrEnum):
    open = "open"
    covered = "covered"
    cancelled = "cancelled"
    expired = "expired"


class CoverRequest(IdMixin, Base):
    """One seat needed at short notice: ranked eligible agents are asked in waves and the first to accept takes it.

    ``absent_user_id`` is the agent who cannot come (their seat was given back); None when a coordinator
    needs one more seat than the shift has. ``wave`` counts the waves sent; ``next_wave_at`` is when the
    next one is due (None once nobody is left to ask).
    """

    __tablename__ = "cover_requests"

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    shift_id: Mapped[int] = mapped_column(BigId, ForeignKey("shifts.id", ondelete="CASCADE"), index=True)
    absent_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[CoverReason] = mapped_column(value_enum(CoverReason, "cover_reason"))
    bonus_minor: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[CoverStatus] = mapped_column(value_enum(CoverStatus, "cover_status"), default=CoverStatus.open)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    covered_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    covered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    wave: Mapped[int] = mapped_column(Integer, default=0)
    next_wave_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)


class CoverCandidate(IdMixin, Base):
    """An agent asked to cover: in which wave, at which rank, and the facts that put them there."""

    __tablename__ = "cover_candidates"
    __table_args__ = (UniqueConstraint("request_id", "user_id"),)

    request_id: Mapped[int] = mapped_column(BigId, ForeignKey("cover_requests.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    wave: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    asked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    offered: Mapped[bool] = mapped_column(Boolean)
    headroom_slots: Mapped[int | None] = mapped_column(Integer)  # None: no weekly cap
    reliability: Mapped[float] = mapped_column(Float)


class ClaimRequest(IdMixin, Base):
    """An agent's request for a seat during a shift's request window; the draw sets ``weight``, ``drawn_at``, ``won``.

    ``weight`` stays None for a requester who was no longer eligible at the draw (skipped, ``won`` False).
    """

    __tablename__ = "claim_requests"
    __table_args__ = (UniqueConstraint("shift_id", "user_id"),)

    shift_id: Mapped[int] = mapped_column(BigId, ForeignKey("shifts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    weight: Mapped[float | None] = mapped_column(Float)
    drawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    won: Mapped[bool | None] = mapped_column(Boolean)


class CallKind(enum.StrEnum):
    vto = "vto"  # voluntary time off: fewer agents needed than scheduled
    vot = "vot"  # voluntary overtime: extra half-hours opened to the marketplace with a bonus
    extension = "extension"  # one agent on shift asked to stay longer


class OfferStatus(enum.StrEnum):
    offered = "offered"
    accepted = "accepted"
    declined = "declined"
    taken = "taken"  # closed unanswered: the call was already filled
    expired = "expired"


class IntradayCall(IdMixin, Base):
    """A coordinator's intraday call from the board: a VTO call for ``wanted`` agents of a skill over
    ``[start_slot, end_slot)``, a VOT opening (``shift_id`` is the open shift it made), or an extension of one
    agent's shift (``shift_id`` is theirs, ``end_slot`` the new end). ``granted`` counts acceptances and moves
    by one conditional UPDATE (``granted < wanted``), like a seat claim, so it never exceeds ``wanted``."""

    __tablename__ = "intraday_calls"
    __table_args__ = (Index("ix_intraday_calls_site_id_start_slot", "site_id", "start_slot"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[CallKind] = mapped_column(value_enum(CallKind, "intraday_call_kind"))
    skill_id: Mapped[int] = mapped_column(BigId, ForeignKey("skills.id", ondelete="CASCADE"))
    start_slot: Mapped[int] = mapped_column(BigInteger)
    end_slot: Mapped[int] = mapped_column(BigInteger)
    wanted: Mapped[int] = mapped_column(Integer)
    granted: Mapped[int] = mapped_column(Integer, default=0)
    standby_percent: Mapped[int] = mapped_column(Integer, default=0)  # VTO: 0 = release (unpaid)
    bonus_minor: Mapped[int] = mapped_column(Integer, default=0)  # VOT
    shift_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("shifts.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class IntradayOffer(IdMixin, Base):
    """One agent asked to take a call: their seat (``seat_id``), the slots it would change (VTO: released
    ``[from_slot, to_slot)``; extension: worked ``[from_slot, to_slot)`` after the shift's end), the order they
    were asked in (``rank``) and their answer."""

    __tablename__ = "intraday_offers"
    __table_args__ = (
        UniqueConstraint("call_id", "user_id"),
        Index("ix_intraday_offers_user_id_status", "user_id", "status"),
    )

    call_id: Mapped[int] = mapped_column(BigId, ForeignKey("intraday_calls.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    seat_id: Mapped[int] = mapped_column(BigId, ForeignKey("shift_seats.id", ondelete="CASCADE"))
    from_slot: Mapped[int] = mapped_column(BigInteger)
    to_slot: Mapped[int] = mapped_column(BigInteger)
    rank: Mapped[int] = mapped_column(Integer)
    status: Mapped[OfferStatus] = mapped_column(
        value_enum(OfferStatus, "intraday_offer_status"), default=OfferStatus.offered
    )
    offered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
