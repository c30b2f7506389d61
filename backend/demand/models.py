"""Demand: contact history per skill and slot, the coordinator's forecast adjustments, and import records."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow


class ContactInterval(IdMixin, Base):
    """What one skill's queue saw in one 30-minute slot; one row per site, skill and slot."""

    __tablename__ = "contact_history"
    __table_args__ = (UniqueConstraint("site_id", "skill_id", "slot"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    skill_id: Mapped[int] = mapped_column(BigId, ForeignKey("skills.id", ondelete="CASCADE"))
    slot: Mapped[int] = mapped_column(BigInteger)
    offered: Mapped[int] = mapped_column(Integer)
    handled: Mapped[int] = mapped_column(Integer)
    aht_seconds: Mapped[float] = mapped_column(Float)
    abandoned: Mapped[int | None] = mapped_column(Integer)


class ForecastOverride(IdMixin, Base):
    """A coordinator's own figure for one slot's contacts, replacing the forecast."""

    __tablename__ = "forecast_overrides"
    __table_args__ = (UniqueConstraint("site_id", "skill_id", "slot"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    skill_id: Mapped[int] = mapped_column(BigId, ForeignKey("skills.id", ondelete="CASCADE"))
    slot: Mapped[int] = mapped_column(BigInteger)
    contacts: Mapped[float] = mapped_column(Float)


class DayScale(IdMixin, Base):
    """A factor on one local day's forecast ('campaign Tuesday +30%' is 1.3)."""

    __tablename__ = "forecast_day_scales"
    __table_args__ = (UniqueConstraint("site_id", "skill_id", "day"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    skill_id: Mapped[int] = mapped_column(BigId, ForeignKey("skills.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    factor: Mapped[float] = mapped_column(Float)


class HistoryImport(IdMixin, Base):
    """One accepted history upload: who, when, how many rows. Rows go in by bulk insert; this row is audited."""

    __tablename__ = "history_imports"

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    imported_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    rows: Mapped[int] = mapped_column(Integer)
    replaced: Mapped[int] = mapped_column(Integer)
    first_slot: Mapped[int] = mapped_column(BigInteger)
    last_slot: Mapped[int] = mapped_column(BigInteger)
