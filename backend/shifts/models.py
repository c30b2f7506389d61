"""Shifts: what agents actually work, whether rostered or claimed.

A ``Shift`` is a skill over ``[start_slot, end_slot)`` with a number of seats;
``taken`` counts the seats held, so a claim can be one conditional UPDATE
(``taken < seats``) that never overbooks. A ``ShiftSeat`` is one agent holding
one seat. Publishing a roster makes one single-seat shift per assignment and
one open shift per gap; the marketplace claims open seats.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum


class ShiftOrigin(enum.StrEnum):
    roster = "roster"
    gap = "gap"
    manual = "manual"


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


class ShiftSeat(IdMixin, Base):
    """An agent holding one seat of a shift."""

    __tablename__ = "shift_seats"
    __table_args__ = (UniqueConstraint("shift_id", "user_id"),)

    shift_id: Mapped[int] = mapped_column(BigId, ForeignKey("shifts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CalendarFeed(Base):
    """An agent's private calendar-feed address; only a hash of its secret is kept, so a leak can be revoked."""

    __tablename__ = "calendar_feeds"
    __audit_secret__ = frozenset({"secret_hash"})

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
