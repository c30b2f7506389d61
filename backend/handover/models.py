"""Handover notes: what the people leaving a shift, or the coordinator, want the next people on it to know.

A note reaches shifts through a window of slots ``[start_slot, end_slot)`` and a skill (None: every
skill). A note on one shift (``shift_id``) copies that shift's window and skill but reaches only that
shift; a note on a time block reaches every shift of the skill that overlaps it. An agent's "note for
the next shift" is a block from the end of the shift they wrote it from (``from_shift_id``). An
unresolved follow-up also reaches the skill's later shifts until someone resolves it.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum


class HandoverKind(enum.StrEnum):
    warning = "warning"
    open_issue = "open_issue"
    follow_up = "follow_up"


class HandoverNote(IdMixin, Base):
    __tablename__ = "handover_notes"
    __table_args__ = (CheckConstraint("end_slot > start_slot", name="window"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[HandoverKind] = mapped_column(value_enum(HandoverKind, "handover_kind"))
    body: Mapped[str] = mapped_column(String(2000))
    skill_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("skills.id", ondelete="CASCADE"))
    # The one shift the note is on; None for a note on a time block.
    shift_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("shifts.id", ondelete="CASCADE"), index=True)
    start_slot: Mapped[int] = mapped_column(BigInteger, index=True)
    end_slot: Mapped[int] = mapped_column(BigInteger)
    # The shift an outgoing agent wrote the note from.
    from_shift_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("shifts.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class HandoverAck(IdMixin, Base):
    """An agent has read a note; one row per note and agent, whichever of their shifts it reached."""

    __tablename__ = "handover_acks"
    __table_args__ = (UniqueConstraint("note_id", "user_id"),)

    note_id: Mapped[int] = mapped_column(BigId, ForeignKey("handover_notes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    acknowledged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
