"""The case library: curated cases a coordinator publishes weekly, agents' "I would add" comments and
"I used this" marks.

A case follows one template: the situation, the strategy that worked, its key points, and the phrases
that worked (one per line). Full-text search is not in these models: the migration builds it (an FTS5
table kept in step by triggers on SQLite, a GIN index over ``to_tsvector('simple', ...)`` on
PostgreSQL), and every object it makes is named with ``SEARCH_PREFIX`` so schema comparisons can leave
them out (``is_search_object``).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum

SEARCH_PREFIX = "case_search"


def is_search_object(name: str | None) -> bool:
    """True for the search index objects only the migration makes (FTS5 table and its shadows, GIN index)."""
    return bool(name) and str(name).startswith(SEARCH_PREFIX)


class CaseStatus(enum.StrEnum):
    draft = "draft"
    published = "published"


class Case(IdMixin, Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_site_id_week", "site_id", "week"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(120))
    situation: Mapped[str] = mapped_column(Text)
    strategy: Mapped[str] = mapped_column(Text)
    key_points: Mapped[str] = mapped_column(Text)
    phrases: Mapped[str] = mapped_column(Text, default="")
    skill_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("skills.id", ondelete="SET NULL"))
    week: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[CaseStatus] = mapped_column(value_enum(CaseStatus, "case_status"), default=CaseStatus.draft)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def key_point_list(self) -> list[str]:
        return lines_of(self.key_points)

    @property
    def phrase_list(self) -> list[str]:
        return lines_of(self.phrases)


class CaseComment(IdMixin, Base):
    """An "I would add" comment: what the writer would add to the case from their own calls."""

    __tablename__ = "case_comments"

    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseUse(IdMixin, Base):
    """An agent's "I used this" mark: one per agent and case, removed when they tap again."""

    __tablename__ = "case_uses"
    __table_args__ = (UniqueConstraint("case_id", "user_id"),)

    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def lines_of(text: str) -> list[str]:
    """The non-empty lines of a one-item-per-line field, trimmed."""
    return [line.strip() for line in text.splitlines() if line.strip()]
