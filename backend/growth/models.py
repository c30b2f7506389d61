"""Growth: tier promotions suggested to the coordinator when an agent meets the next tier's thresholds.

A suggestion keeps the measures that earned it (``measures``: shifts worked, reliability and quiz
average as the coordinator saw them), so a decision can be checked later against what it was based
on. At most one open suggestion exists per agent and tier (a partial unique index); a decision is
final: approved (the agent's tier changes) or declined (with the coordinator's reason).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.accounts.models import Tier
from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum

REASON_MAX_CHARS = 500


class PromotionDecision(enum.StrEnum):
    approved = "approved"
    declined = "declined"


class PromotionSuggestion(IdMixin, Base):
    """An agent ready for ``to_tier``: open until a coordinator approves or declines it."""

    __tablename__ = "promotion_suggestions"
    __table_args__ = (
        Index(
            "uq_promotion_suggestions_open",
            "user_id",
            "to_tier",
            unique=True,
            sqlite_where=text("decided_at IS NULL"),
            postgresql_where=text("decided_at IS NULL"),
        ),
    )

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    from_tier: Mapped[Tier] = mapped_column(value_enum(Tier, "promotion_from_tier"))
    to_tier: Mapped[Tier] = mapped_column(value_enum(Tier, "promotion_to_tier"))
    measures: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    decision: Mapped[PromotionDecision | None] = mapped_column(value_enum(PromotionDecision, "promotion_decision"))
    reason: Mapped[str] = mapped_column(String(REASON_MAX_CHARS), default="")
