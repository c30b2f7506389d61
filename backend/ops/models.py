"""The duty routine's records: who leads, what happened, what was handed over.

Nothing here is ever deleted. A log item is written once; what is done about it
is a chain of updates (``DutyLogUpdate``), and a mistake is corrected by a new
update or a new item that names the one it corrects. The item keeps its latest
status, first action and close time beside it so the board and the KPIs read
one row per item, not the chain.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum


class LogKind(enum.StrEnum):
    """What a duty log item is about: the six a lead writes, then the ones the system writes itself."""

    system_problem = "system_problem"
    queue_spike = "queue_spike"
    staffing_gap = "staffing_gap"
    agent_escalation = "agent_escalation"
    customer_complaint = "customer_complaint"
    other = "other"
    no_show = "no_show"
    late_start = "late_start"
    cover_request = "cover_request"
    intraday_offer = "intraday_offer"
    request_breach = "request_breach"


LEAD_KINDS = (
    LogKind.system_problem,
    LogKind.queue_spike,
    LogKind.staffing_gap,
    LogKind.agent_escalation,
    LogKind.customer_complaint,
    LogKind.other,
)


class LogStatus(enum.StrEnum):
    open = "open"
    in_progress = "in_progress"
    closed = "closed"


class ShiftLead(IdMixin, Base):
    """A senior agent a coordinator named as a shift lead: may be put on duty and keeps the log."""

    __tablename__ = "shift_leads"
    __table_args__ = (UniqueConstraint("site_id", "user_id"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    named_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    named_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Duty(IdMixin, Base):
    """One lead on duty for a period of the day (UTC instants; half-hour aligned)."""

    __tablename__ = "duties"
    __table_args__ = (Index("ix_duties_site_id_starts_at", "site_id", "starts_at"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DutyLogItem(IdMixin, Base):
    """Something that happened on the floor, in the template of its kind.

    ``source_key`` names what the system wrote it from (``no_show:<attendance id>``,
    ``cover:<request id>``…) so the sweep and the board's own actions write it once.
    """

    __tablename__ = "duty_log_items"
    __table_args__ = (
        UniqueConstraint("site_id", "source_key"),
        Index("ix_duty_log_items_site_id_started_at", "site_id", "started_at"),
    )

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    duty_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("duties.id", ondelete="SET NULL"), index=True)
    kind: Mapped[LogKind] = mapped_column(value_enum(LogKind, "log_kind", length=24))
    source_key: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    summary: Mapped[str] = mapped_column(String(300))
    # The kind's template: what happened, where, how many affected… (plain strings, validated by the kind's struct).
    details: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    link: Mapped[str | None] = mapped_column(String(300))  # where to act: /admin/attendance?…, /admin/cover/…
    subject_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))  # None: system
    corrects_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("duty_log_items.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Kept beside the chain of updates (the last update's status; the first update's time; the closing one's).
    status: Mapped[LogStatus] = mapped_column(value_enum(LogStatus, "log_status"), default=LogStatus.open)
    first_action_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DutyLogUpdate(IdMixin, Base):
    """What was done about an item, who was told, and the status after it: written once, never changed."""

    __tablename__ = "duty_log_updates"

    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("duty_log_items.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(Text)
    told: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[LogStatus] = mapped_column(value_enum(LogStatus, "log_status"))


class Handover(IdMixin, Base):
    """The outgoing lead's hand-over at the end of a duty: one per duty."""

    __tablename__ = "handovers"
    __table_args__ = (UniqueConstraint("duty_id"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    duty_id: Mapped[int] = mapped_column(BigId, ForeignKey("duties.id", ondelete="CASCADE"))
    from_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    # The duty that follows (the incoming lead); None when nobody is on duty next.
    to_duty_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("duties.id", ondelete="SET NULL"), index=True)
    focus: Mapped[str] = mapped_column(Text, default="")
    warnings: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # every item acknowledged
    acknowledged_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class HandoverItemKind(enum.StrEnum):
    open_item = "open_item"  # carried until closed, with an owner
    follow_up = "follow_up"


class HandoverItem(IdMixin, Base):
    """One line of a hand-over that the incoming lead acknowledges; open items carry to the next until closed."""

    __tablename__ = "handover_items"

    handover_id: Mapped[int] = mapped_column(BigId, ForeignKey("handovers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[HandoverItemKind] = mapped_column(value_enum(HandoverItemKind, "handover_item_kind"))
    text: Mapped[str] = mapped_column(String(500))
    owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    log_item_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("duty_log_items.id", ondelete="SET NULL"))
    carried_from_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("handover_items.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class QualityWeek(IdMixin, Base):
    """One agent's work on one skill in one site-local ISO week, summed for the quality dashboard.

    Written only by the worker (``ops.rollup``), a (site, week) at a time, and stamped in ``QualityRollup``;
    a page reads these for stamped weeks and sums the work records itself for the rest. ``skill_id`` None:
    records whose source named no skill. Worked slots follow attendance's ``worked_seats`` rule and count
    in the week a shift starts.
    """

    __tablename__ = "ops_quality_weeks"
    __table_args__ = (Index("ix_ops_quality_weeks_site_id_week", "site_id", "week"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("skills.id", ondelete="SET NULL"))
    contacts: Mapped[int] = mapped_column(Integer, default=0)  # pieces (the records' ``count``)
    timed_contacts: Mapped[int] = mapped_column(Integer, default=0)  # pieces of records with a handle time
    handled_seconds: Mapped[int] = mapped_column(Integer, default=0)
    csat_sum: Mapped[int] = mapped_column(Integer, default=0)
    csat_count: Mapped[int] = mapped_column(Integer, default=0)  # records rated
    resolved_count: Mapped[int] = mapped_column(Integer, default=0)
    outcome_count: Mapped[int] = mapped_column(Integer, default=0)  # records saying resolved or not
    worked_slots: Mapped[int] = mapped_column(Integer, default=0)


class QualityRollup(Base):
    """When the worker last summed a site's week into ``QualityWeek`` (no row: the page sums it live)."""

    __tablename__ = "ops_quality_rollups"

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    week: Mapped[str] = mapped_column(String(8), primary_key=True)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class OfferWeek(Base):
    """The half-hours one agent offered (availability) in one site-local ISO week, for the fairness dashboard.

    Written by the same worker run as ``QualityWeek`` and covered by the same ``QualityRollup`` stamp: a stamped
    week is read from here (no row: nothing offered), an unstamped one is counted live.
    """

    __tablename__ = "ops_offer_weeks"

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    week: Mapped[str] = mapped_column(String(8), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    offered_slots: Mapped[int] = mapped_column(Integer, default=0)
