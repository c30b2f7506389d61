"""Learning: courses and their versions, progress, quiz attempts, drills, pass credits.

Passing a course grants a certification (``backend.certifications``). A
course is a code on a site; what it teaches lives in its versions. A version's
``content`` is the whole course document (``content.CourseContent`` as
builtins) and is never edited once published: a course has at most one draft,
and its current version is the newest published one. A quiz attempt
keeps the version it was drawn from and the questions and choice order it
showed, so publishing a new version never disturbs an attempt in progress, and
the server alone decides which answers it accepts.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum


class VersionStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    retired = "retired"


class Course(IdMixin, Base):
    """A course of a site, known by its code; its title and lessons are in its versions."""

    __tablename__ = "courses"
    __table_args__ = (UniqueConstraint("site_id", "code"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # An archived course is hidden from agents and takes no new attempts; its certifications stand.
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CourseVersion(IdMixin, Base):
    """One frozen edition of a course: a draft until published, retired when a newer one is published."""

    __tablename__ = "course_versions"
    __table_args__ = (
        UniqueConstraint("course_id", "number"),
        Index("ix_course_versions_course_id_status", "course_id", "status"),
    )

    course_id: Mapped[int] = mapped_column(BigId, ForeignKey("courses.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Denormalised from ``content`` so lists and gating can query them.
    title: Mapped[str] = mapped_column(String(200))
    certifies: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[VersionStatus] = mapped_column(
        value_enum(VersionStatus, "course_version_status"), default=VersionStatus.draft
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class CourseProgress(IdMixin, Base):
    """How far an agent has read a course's lessons, so the Learn tab can resume where they left off."""

    __tablename__ = "course_progress"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(BigId, ForeignKey("courses.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(BigId, ForeignKey("course_versions.id", ondelete="CASCADE"))
    lessons_done: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LessonProgress(IdMixin, Base):
    """One lesson an agent went through (its Next or Finish button), so a required course's quiz can ask for all.

    ``lesson_index`` is 0-based in the course's current version; ``CourseProgress`` keeps the furthest one for
    resuming, these rows say which ones were actually read.
    """

    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("user_id", "course_id", "lesson_index"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(BigId, ForeignKey("courses.id", ondelete="CASCADE"))
    lesson_index: Mapped[int] = mapped_column(Integer)
    done_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuizAttempt(IdMixin, Base):
    """One sitting of a course's quiz: what was drawn and shown, what was answered, and the score.

    ``drawn`` is ``[{"question": key, "choices": [choice ids in the order shown]}]``; ``results`` is
    ``[{"question": key, "earned": 0..1, "correct": bool}]`` in the same order once submitted.
    """

    __tablename__ = "quiz_attempts"
    __table_args__ = (Index("ix_quiz_attempts_user_id_course_id", "user_id", "course_id"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(BigId, ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(BigId, ForeignKey("course_versions.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    drawn: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    answers: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    score_percent: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    results: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class DrillCard(IdMixin, Base):
    """A question an agent got wrong, coming back on an SM-2 schedule until mastered (``drills``)."""

    __tablename__ = "drill_cards"
    __table_args__ = (UniqueConstraint("user_id", "course_id", "question_key"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(BigId, ForeignKey("courses.id", ondelete="CASCADE"))
    question_key: Mapped[str] = mapped_column(String(40))
    easiness: Mapped[float] = mapped_column(Float, default=2.5)
    interval_days: Mapped[int] = mapped_column(Integer, default=0)
    repetitions: Mapped[int] = mapped_column(Integer, default=0)
    lapses: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    last_reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    mastered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set when the question left the course: the card no longer comes back.
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CoursePassCredit(IdMixin, Base):
    """Paid to learn: a piece of work worth ``amount_minor`` of ``currency``, earned the first time a course is passed.

    Pay reads these like work records: one row per (agent, course), ``earned_at`` decides the pay period,
    and the amount is fixed when earned (the site's ``course_pass_pay_minor`` at that moment). Nothing is
    recorded when the site pays 0.
    """

    __tablename__ = "course_pass_credits"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(BigId, ForeignKey("courses.id", ondelete="CASCADE"))
    attempt_id: Mapped[int] = mapped_column(BigId, ForeignKey("quiz_attempts.id", ondelete="CASCADE"))
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    earned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
