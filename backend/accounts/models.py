"""People, places and proofs of identity: sites, skills, users, sessions, tokens, invitations, audit."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum
from backend.core.i18n import localized_name


class Role(enum.StrEnum):
    agent = "agent"
    coordinator = "coordinator"
    finance = "finance"
    admin = "admin"


# Who may do what, defined once; admins are in every set, as the route guards admit them everywhere.
STAFF_ROLES = frozenset({Role.coordinator, Role.admin})
"""Who runs a site's day: sees and edits every agent's shifts, notes, cases and growth."""
PAY_ADJUSTERS = frozenset({Role.coordinator, Role.finance, Role.admin})
"""Who corrects an agent's pay: files adjustments and resolves pay disputes."""
FINANCE_ROLES = frozenset({Role.finance, Role.admin})
"""Who owns the money: locks and pays periods, edits rate cards."""
WEEK_EDITORS = frozenset({*STAFF_ROLES, "system"})
"""Who may change an agent's availability after the week's deadline: staff, and the system's own jobs."""


class Tier(enum.StrEnum):
    junior = "junior"
    mid = "mid"
    senior = "senior"


class Pool(enum.StrEnum):
    """How the roster treats an agent: core staff keep fixed schedules, backbone is rostered first, elastic fills."""

    core = "core"
    backbone = "backbone"
    elastic = "elastic"


class UserStatus(enum.StrEnum):
    active = "active"
    paused = "paused"
    left = "left"


class Site(IdMixin, Base):
    __tablename__ = "sites"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Skill(IdMixin, Base):
    __tablename__ = "skills"
    __table_args__ = (UniqueConstraint("site_id", "code"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120), default="")


def localized_skill_name(name: str, name_zh: str, locale: str | None = None) -> str:
    """A skill's name for a reader of ``locale`` (the request's by default): the Chinese name in zh-Hans, if any."""
    return localized_name(name, name_zh, locale)


def skill_label(skill: Skill | None, locale: str | None = None) -> str:
    """How a page or a message names ``skill`` (nothing for no skill)."""
    return "" if skill is None else localized_skill_name(skill.name, skill.name_zh, locale)


class User(IdMixin, Base):
    __tablename__ = "users"
    __audit_secret__ = frozenset({"password_hash"})

    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(value_enum(Role, "role"))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str] = mapped_column(String(64))
    tier: Mapped[Tier] = mapped_column(value_enum(Tier, "tier"), default=Tier.junior)
    pool: Mapped[Pool] = mapped_column(
        value_enum(Pool, "pool"), default=Pool.backbone, server_default=Pool.backbone.value
    )
    status: Mapped[UserStatus] = mapped_column(value_enum(UserStatus, "user_status"), default=UserStatus.active)
    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    onboarded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    site: Mapped[Site] = relationship(lazy="raise")

    @property
    def is_active(self) -> bool:
        return self.status is UserStatus.active


class LoginSession(IdMixin, Base):
    """A server-issued browser session; the cookie holds a secret whose hash is stored here."""

    __tablename__ = "login_sessions"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(value_enum(Role, "session_role"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")


class ApiToken(IdMixin, Base):
    """A machine client's credential: shown once, stored hashed, scoped to a role, revocable."""

    __tablename__ = "api_tokens"
    __audit_secret__ = frozenset({"secret_hash"})

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(value_enum(Role, "token_role"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="raise")


class Invitation(IdMixin, Base):
    """An invitation to join as an agent; the link's token is one-time and expires."""

    __tablename__ = "invitations"
    __audit_secret__ = frozenset({"secret_hash"})

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id"))
    email: Mapped[str] = mapped_column(String(254), index=True)
    display_name: Mapped[str] = mapped_column(String(120))
    tier: Mapped[Tier] = mapped_column(value_enum(Tier, "invitation_tier"), default=Tier.junior)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class LoginAttempt(IdMixin, Base):
    """Failed sign-ins: who was tried from where, for a look back after an attack (the limits count in LoginBudget)."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_client_at", "client_ip", "at"),
    )

    email: Mapped[str] = mapped_column(String(254))
    client_ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginBudget(IdMixin, Base):
    """The sign-in tries one budget has used in its window, shared by every web process.

    A budget is an account tried from unknown clients, an account tried from one browser its owner
    signed in on, or one client address; ``key`` is the hash of its name. A try takes its place here in
    one conditional statement before its password is checked, so tries racing on several workers
    cannot all pass a limit they each read before the others wrote.
    """

    __tablename__ = "login_budgets"

    key: Mapped[str] = mapped_column(String(64), unique=True)
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(Integer)


class AuditEntry(IdMixin, Base):
    """Who changed what, when: one row per object written by a coordinator, finance or admin."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)

    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_label: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
