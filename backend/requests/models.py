"""Requests: one place for an agent or a staff member to ask, routed to a team, on a clock, closed by the asker.

A request is never deleted. What happened to it is its history (``RequestEvent``: raised, routed, answered,
handed over, paused, escalated, resolved, confirmed...), written in the same transaction as the change it
records. The request row keeps its current state beside the history (status, team, owner, priority, the clock's
due instants) so queues and the board read one row per request, not the chain.

The clock: targets (``RequestTarget``, per kind and priority) count business minutes of the team's calendar (or
calendar minutes); a pause (``RequestPause``, only while waiting for the asker) stops it. Pauses are kept as
intervals, so a priority change recomputes the due instants from the start and the pauses: none is lost.
``RequestTimer`` rows are the clock's next instants (warn, breach, escalate, raise the priority, close by itself):
the worker reads the earliest due ones by index and wakes for the next one, never on a loose sweep; a timer
is deleted when it fires or when the request's clock is planned again.

Pay disputes are one kind of request: a pay request may name the ``pay_disputes`` row that holds the line
questioned and how it was settled (adjustment or rejection); the dispute keeps its pay rules, the request its
routing, clock and conversation.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum


class RequestKind(enum.StrEnum):
    """What a request is about; each kind has its template (``backend.requests.templates``)."""

    schedule = "schedule"  # a shift: names one of the asker's shifts
    pay = "pay"  # a pay question or dispute: names an earnings line (a ``pay_disputes`` row) or a period
    system = "system"  # the app or a tool misbehaves: a screenshot or file may come with it
    learning = "learning"  # a course (and optionally one of its quiz questions)
    idea = "idea"  # an improvement idea: public within the site, colleagues say "me too"
    other = "other"


class Priority(enum.StrEnum):
    """In rising order of urgency (``PRIORITY_ORDER``)."""

    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


PRIORITY_ORDER = (Priority.low, Priority.normal, Priority.high, Priority.urgent)


class RequestStatus(enum.StrEnum):
    queued = "queued"  # in its team's queue, nobody holds it yet
    in_progress = "in_progress"  # an owner holds it
    waiting = "waiting"  # waiting for the asker: the clock is paused (``RequestPause``)
    resolved = "resolved"  # the owner resolved it; the asker confirms or reopens (else it closes by itself)
    closed = "closed"  # confirmed by the asker, or closed by itself after ``request_confirm_days``


OPEN_STATUSES = (RequestStatus.queued, RequestStatus.in_progress, RequestStatus.waiting)


class IdeaOutcome(enum.StrEnum):
    """What was done with an improvement idea (told to the asker and everyone who said "me too")."""

    planned = "planned"
    done = "done"  # with where (``Request.outcome_note``)
    declined = "declined"  # with the reason


class Calendar(enum.StrEnum):
    """How a team's targets count: the site's working hours less public holidays, or every hour."""

    business = "business"
    calendar = "calendar"


class Involvement(enum.StrEnum):
    """The responsibility matrix: who acts on a kind, who must be consulted, who is kept informed."""

    acts = "acts"
    consulted = "consulted"
    informed = "informed"


class EventKind(enum.StrEnum):
    raised = "raised"
    routed = "routed"  # to a team (and an owner, where the rule names one)
    taken = "taken"  # a team member took it from the queue
    answered = "answered"  # an answer the asker sees (the first one stops the first-response clock)
    noted = "noted"  # an internal note, staff only
    asked_asker = "asked_asker"  # a question to the asker: the clock pauses (``values.reason``)
    asker_replied = "asker_replied"  # the asker answered: the clock runs again
    handed_over = "handed_over"  # to another team (or person) with a note: the reason and what has been done
    bounce_flagged = "bounce_flagged"  # handed back and forth more than ``request_bounce_limit`` times
    consulted = "consulted"  # a consulted person was asked inside the request
    consult_answered = "consult_answered"
    informed = "informed"  # informed people were notified
    priority_raised = "priority_raised"  # by a rule or by the situation (``values.reason``)
    priority_lowered = "priority_lowered"  # by a person, with a reason
    warned = "warned"  # the owner warned before a breach (``values.target``: response|resolution)
    breached = "breached"
    escalated = "escalated"  # ``values.level``: 1 the team's lead, 2 the site's coordinators
    resolved = "resolved"  # with the root cause
    reopened = "reopened"
    confirmed = "confirmed"
    auto_closed = "auto_closed"
    rated = "rated"
    idea_outcome = "idea_outcome"
    attached = "attached"


class TimerKind(enum.StrEnum):
    response_warn = "response_warn"
    response_breach = "response_breach"
    resolution_warn = "resolution_warn"
    resolution_breach = "resolution_breach"
    escalate = "escalate"  # the next escalation level after a breach
    priority_raise = "priority_raise"  # the situation got more urgent (the shift is now within 2 h)
    auto_close = "auto_close"  # resolved and not confirmed or reopened within ``request_confirm_days``


class RequestTeam(IdMixin, Base):
    """A named group of staff that requests are routed to (scheduling, finance, systems, training...)."""

    __tablename__ = "request_teams"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    name_zh: Mapped[str] = mapped_column(String(80), default="")
    calendar: Mapped[Calendar] = mapped_column(value_enum(Calendar, "request_calendar"), default=Calendar.business)
    # The first escalation level: warned at a breach. None: the site's coordinators at once.
    lead_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class TeamMember(IdMixin, Base):
    __tablename__ = "request_team_members"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    team_id: Mapped[int] = mapped_column(BigId, ForeignKey("request_teams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)


class RoutingRule(IdMixin, Base):
    """Send a kind (optionally only for one skill, the shift's or the agent's) to a team and perhaps an owner.

    The most specific rule wins: one naming the skill before one for any skill; no rule, the site's queue
    (``Request.team_id`` None, seen by every coordinator).
    """

    __tablename__ = "request_routing_rules"
    __table_args__ = (UniqueConstraint("site_id", "kind", "skill_id"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    kind: Mapped[RequestKind] = mapped_column(value_enum(RequestKind, "request_kind"))
    skill_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("skills.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(BigId, ForeignKey("request_teams.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class Responsibility(IdMixin, Base):
    """One cell of the responsibility matrix: for ``kind``, this team or person ``acts``, is ``consulted`` or
    ``informed``. Exactly one of ``team_id`` and ``user_id`` is set."""

    __tablename__ = "request_responsibilities"
    __table_args__ = (UniqueConstraint("site_id", "kind", "involvement", "team_id", "user_id"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    kind: Mapped[RequestKind] = mapped_column(value_enum(RequestKind, "request_kind"))
    involvement: Mapped[Involvement] = mapped_column(value_enum(Involvement, "request_involvement"))
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("request_teams.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))


class RequestTarget(IdMixin, Base):
    """Minutes to the first response and to the resolution for a kind at a priority (missing: the defaults in
    ``backend.requests.targets``)."""

    __tablename__ = "request_targets"
    __table_args__ = (UniqueConstraint("site_id", "kind", "priority"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[RequestKind] = mapped_column(value_enum(RequestKind, "request_kind"))
    priority: Mapped[Priority] = mapped_column(value_enum(Priority, "request_priority"))
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)


class Request(IdMixin, Base):
    __tablename__ = "requests"
    __table_args__ = (
        Index("ix_requests_site_id_status", "site_id", "status"),
        Index("ix_requests_team_id_status", "team_id", "status"),
        Index("ix_requests_owner_id_status", "owner_id", "status"),
        Index("ix_requests_asker_id_created_at", "asker_id", "created_at"),
        Index("ix_requests_site_id_created_at", "site_id", "created_at"),
        Index("ix_requests_site_id_kind_closed_at", "site_id", "kind", "closed_at"),
    )

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[RequestKind] = mapped_column(value_enum(RequestKind, "request_kind"))
    asker_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    # The template: a title, what happened, when, what the asker expects; the link that fits the kind.
    title: Mapped[str] = mapped_column(String(160))
    details: Mapped[str] = mapped_column(Text)
    happened_on: Mapped[dt.date | None] = mapped_column(Date)
    expected: Mapped[str] = mapped_column(String(1000), default="")
    shift_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("shifts.id", ondelete="SET NULL"))
    skill_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("skills.id", ondelete="SET NULL"))
    dispute_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("pay_disputes.id", ondelete="RESTRICT"), unique=True
    )
    period_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("pay_periods.id", ondelete="SET NULL"))
    course_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("courses.id", ondelete="SET NULL"))
    question_number: Mapped[int | None] = mapped_column(Integer)  # 1-based, in the course's quiz
    # Who holds it now.
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("request_teams.id", ondelete="SET NULL"))
    owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[RequestStatus] = mapped_column(value_enum(RequestStatus, "request_status"))
    priority: Mapped[Priority] = mapped_column(value_enum(Priority, "request_priority"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The clock: due instants (None while paused, or once met), when they were met, warned and breached.
    first_response_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    response_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    response_breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolution_breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the open pause's start
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # How it went: hand-overs, bounces, reopenings; the root cause (from the site's list); the asker's rating.
    handover_count: Mapped[int] = mapped_column(Integer, default=0)
    bounce_flagged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    root_cause: Mapped[str] = mapped_column(String(80), default="")
    resolution: Mapped[str] = mapped_column(String(2000), default="")
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str] = mapped_column(String(1000), default="")
    # Ideas: public within the site; "me too" counted beside the rows; what was done with it.
    me_too_count: Mapped[int] = mapped_column(Integer, default=0)
    idea_outcome: Mapped[IdeaOutcome | None] = mapped_column(value_enum(IdeaOutcome, "idea_outcome"))
    outcome_note: Mapped[str] = mapped_column(String(1000), default="")


class RequestEvent(IdMixin, Base):
    """One thing that happened to a request, with its time and who did it (None: the system)."""

    __tablename__ = "request_events"
    __table_args__ = (Index("ix_request_events_request_id_at", "request_id", "at"),)

    request_id: Mapped[int] = mapped_column(BigId, ForeignKey("requests.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[EventKind] = mapped_column(value_enum(EventKind, "request_event_kind", length=24))
    body: Mapped[str] = mapped_column(Text, default="")
    # Staff-only entries (internal notes, consultations) are not shown to the asker.
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    from_team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("request_teams.id", ondelete="SET NULL"))
    to_team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("request_teams.id", ondelete="SET NULL"))
    to_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    values: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class RequestPause(IdMixin, Base):
    """The clock stopped from ``started_at`` to ``ended_at`` (None: still paused) for ``reason``."""

    __tablename__ = "request_pauses"

    request_id: Mapped[int] = mapped_column(BigId, ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(32))  # one of ``backend.requests.clock.PAUSE_REASONS``


class RequestTimer(IdMixin, Base):
    """The clock's next instant for a request; the worker fires the due ones, earliest first."""

    __tablename__ = "request_timers"
    __table_args__ = (UniqueConstraint("request_id", "kind"),)

    request_id: Mapped[int] = mapped_column(BigId, ForeignKey("requests.id", ondelete="CASCADE"))
    kind: Mapped[TimerKind] = mapped_column(value_enum(TimerKind, "request_timer_kind", length=24))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class Consultation(IdMixin, Base):
    """A consulted person asked inside a request, and their answer (staff only)."""

    __tablename__ = "request_consultations"

    request_id: Mapped[int] = mapped_column(BigId, ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(String(2000))
    asked_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    asked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str] = mapped_column(String(2000), default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class MeToo(IdMixin, Base):
    """A colleague's "me too" on an improvement idea (once per person)."""

    __tablename__ = "request_me_toos"
    __table_args__ = (UniqueConstraint("request_id", "user_id"),)

    request_id: Mapped[int] = mapped_column(BigId, ForeignKey("requests.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Attachment(IdMixin, Base):
    """A screenshot or file sent with a request: its bytes in the database (size and type checked on the way
    in, ``backend.requests.attachments``), served only to those who may see the request, never inline."""

    __tablename__ = "request_attachments"

    request_id: Mapped[int] = mapped_column(BigId, ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("request_events.id", ondelete="SET NULL"))
    uploaded_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
