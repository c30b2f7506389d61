"""Work records: the pieces of work an agent did, as the contact-centre systems report them.

A record is unique by its site, source system and the source's own id, so
replaying a batch (or a CSV) never counts a piece twice. Agents are named by
our user id or by the source's agent id, mapped once per site and source.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum


class WorkKind(enum.StrEnum):
    call = "call"
    chat = "chat"
    ticket = "ticket"
    callback = "callback"


class ExternalAgent(IdMixin, Base):
    """The source system's id for one of our agents (e.g. the telephony platform's agent number)."""

    __tablename__ = "external_agents"
    __table_args__ = (UniqueConstraint("site_id", "source", "external_agent_id"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(40))
    external_agent_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)


class WorkRecord(IdMixin, Base):
    __tablename__ = "work_records"
    __table_args__ = (
        UniqueConstraint("site_id", "source", "external_id"),
        Index("ix_work_records_user_id_occurred_at", "user_id", "occurred_at"),
        Index("ix_work_records_site_id_occurred_at", "site_id", "occurred_at"),
    )

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    kind: Mapped[WorkKind] = mapped_column(value_enum(WorkKind, "work_kind"))
    count: Mapped[int] = mapped_column(Integer, default=1)  # pieces: contacts handled, tickets resolved
    handled_seconds: Mapped[int | None] = mapped_column(Integer)
    csat: Mapped[int | None] = mapped_column(Integer)  # 1-5
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    # The skill the work was for, when the source says so; else the skill of the shift it fell in (if any).
    skill_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("skills.id", ondelete="SET NULL"))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
