"""Certifications: proof that an agent may work a skill, until it expires.

Courses, quizzes and drills arrive with the learning issue; the certification
row is here from the start because eligibility and the admin's override
(``weft user add --skills``) need it.
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
