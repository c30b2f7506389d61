"""Certifications: proof that an agent may work a skill, until it expires.

A certification is granted by passing a course (``backend.learning.quiz.submit_attempt``) or by an
admin's override (``weft user add --skills``); eligibility reads it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow


class Certification(IdMixin, Base):
    __tablename__ = "certifications"
    __table_args__ = (UniqueConstraint("user_id", "skill_id"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int] = mapped_column(BigId, ForeignKey("skills.id", ondelete="CASCADE"))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(32))
    # When the agent was told this certification is about to expire; cleared when it is renewed.
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
