"""Certifications granted and looked up: by an admin's override, or by passing a course (``backend.learning.quiz``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Skill, User
from backend.certifications.models import Certification
from backend.core.db import utcnow

ADMIN_OVERRIDE = "admin_override"


async def grant_certification(
    session: AsyncSession,
    *,
    user: User,
    skill: Skill,
    source: str,
    expires_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Certification:
    """Certify ``user`` for ``skill``, renewing an existing certification rather than duplicating it.

    A renewal has a new expiry, so its expiry reminder (``jobs``) is due afresh.
    """
    existing = await session.scalar(
        select(Certification).where(Certification.user_id == user.id, Certification.skill_id == skill.id)
    )
    now = now or utcnow()
    if existing is None:
        existing = Certification(
            user_id=user.id, skill_id=skill.id, granted_at=now, expires_at=expires_at, source=source
        )
        session.add(existing)
    else:
        existing.granted_at, existing.expires_at, existing.source = now, expires_at, source
        existing.reminded_at = None
    await session.flush()
    return existing


async def mark_onboarded(session: AsyncSession, *, user: User) -> None:
    if user.onboarded_at is None:
        user.onboarded_at = utcnow()
        await session.flush()


async def certified_skill_codes(session: AsyncSession, *, user_id: int, now: dt.datetime | None = None) -> list[str]:
    """Codes of the skills the user is certified for at ``now`` (default: this moment)."""
    now = now or utcnow()
    query = (
        select(Skill.code)
        .join(Certification, Certification.skill_id == Skill.id)
        .where(Certification.user_id == user_id)
        .where(certification_in_force(now))
        .order_by(Skill.code)
    )
    return list(await session.scalars(query))


def certification_in_force(now: dt.datetime) -> ColumnElement[bool]:
    """A certification counts until it expires: the one condition every reader of certifications uses."""
    return (Certification.expires_at.is_(None)) | (Certification.expires_at > now)


async def skills_in_force(
    session: AsyncSession, *, user_ids: list[int], now: dt.datetime | None = None
) -> dict[int, set[int]]:
    """Skill ids each user is certified for at ``now`` (default: this moment), for many users in one query."""
    rows = await session.execute(
        select(Certification.user_id, Certification.skill_id).where(
            Certification.user_id.in_(user_ids), certification_in_force(now or utcnow())
        )
    )
    held: dict[int, set[int]] = {}
    for user_id, skill_id in rows:
        held.setdefault(user_id, set()).add(skill_id)
    return held
