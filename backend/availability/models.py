"""Availability: the 30-minute slots each agent offers, stored as slots.

One row per offered slot (``availability_slots``) keeps every question the
roster asks ("who offers slot 987654?", "how many offer each slot of next
week?") a plain indexed query. ``availability_weeks`` records that an agent
has answered for a week, with the weekly cap they want and who last changed it;
``availability_templates`` holds the repeating week an agent can apply.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum


class Preference(enum.StrEnum):
    """How much an agent wants a slot: the roster fills ``preferred`` first and asks ``if_needed`` last."""

    preferred = "preferred"
    if_needed = "if_needed"


PREFERENCE_TYPE = value_enum(Preference, "preference")


class OfferedSlot(Base):
    """One half-hour an agent offers; the slot number is absolute (UTC), so time zones never leak in."""

    __tablename__ = "availability_slots"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    preference: Mapped[Preference] = mapped_column(PREFERENCE_TYPE)


class AvailabilityWeek(IdMixin, Base):
    """An agent's answer for one ISO week (in their own zone): the cap they want, and who wrote it last.

    ``max_hours`` caps what the roster gives the agent, not what they offer:
    offering 20 hours with a 12-hour cap lets the solver choose the best 12.
    """

    __tablename__ = "availability_weeks"
    __table_args__ = (UniqueConstraint("user_id", "week"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(8))
    max_hours: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class AvailabilityTemplate(Base):
    """The agent's repeating week, in wall-clock terms so it survives daylight-saving changes.

    ``blocks`` is a list of ``{"weekday": 0-6, "start": "HH:MM", "end": "HH:MM", "preference": ...}``
    with ``end`` up to ``"24:00"``.
    """

    __tablename__ = "availability_templates"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    blocks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    max_hours: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
