"""Roster drafts, solve runs and published versions.

A ``Roster`` is one site's week. Its draft is the set of ``RosterAssignment``
rows: the solver writes them, a coordinator edits and locks them. A
``SolveRun`` is one background solve with its live progress and, when done,
its report (coverage, per-agent explanations). Publishing snapshots the draft
into an immutable ``RosterVersion`` and turns it into shifts; versions are
never edited, so "what changed since last time" is a diff of two snapshots.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum


class AssignmentSource(enum.StrEnum):
    """Where a draft line came from: the solver, a coordinator's hand, or a fixed schedule kept as is."""

    solver = "solver"
    manual = "manual"
    fixed = "fixed"


class SolveStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


class Roster(IdMixin, Base):
    __tablename__ = "rosters"
    __table_args__ = (UniqueConstraint("site_id", "week"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(8))
    published_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RosterAssignment(IdMixin, Base):
    """One draft line: an agent works a skill for ``[start_slot, end_slot)``; locked lines survive a re-solve."""

    __tablename__ = "roster_assignments"

    roster_id: Mapped[int] = mapped_column(BigId, ForeignKey("rosters.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    skill_id: Mapped[int] = mapped_column(BigId, ForeignKey("skills.id", ondelete="CASCADE"))
    start_slot: Mapped[int] = mapped_column(BigInteger)
    end_slot: Mapped[int] = mapped_column(BigInteger)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[AssignmentSource] = mapped_column(value_enum(AssignmentSource, "assignment_source"))


class SolveRun(IdMixin, Base):
    """A background solve: its progress while running and its report when done."""

    __tablename__ = "solve_runs"

    roster_id: Mapped[int] = mapped_column(BigId, ForeignKey("rosters.id", ondelete="CASCADE"), index=True)
    status: Mapped[SolveStatus] = mapped_column(value_enum(SolveStatus, "solve_status"), default=SolveStatus.queued)
    requested_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    time_limit_seconds: Mapped[float] = mapped_column(Float)
    elapsed_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(32), default="")
    under_coverage_slots: Mapped[int | None] = mapped_column(Integer)
    lower_bound_slots: Mapped[int | None] = mapped_column(Integer)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")


class RosterVersion(IdMixin, Base):
    """A published roster, frozen: ``lines`` lists ``{user_id, skill_id, start_slot, end_slot}``."""

    __tablename__ = "roster_versions"
    __table_args__ = (UniqueConstraint("roster_id", "number"),)

    roster_id: Mapped[int] = mapped_column(BigId, ForeignKey("rosters.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    open_seats: Mapped[int] = mapped_column(Integer, default=0)
