"""Certifications' timed work: telling agents a certification is about to expire.

The worker (``backend.worker``) runs ``remind_expiring_certifications`` every
round. A certification expiring within the site's ``certification_reminder_days``
is reminded once: ``reminded_at`` records it, and a renewal
(``service.grant_certification``) clears it for the new expiry.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill, User, UserStatus
from backend.accounts.site_settings import site_settings
from backend.certifications.models import Certification
from backend.notify.service import Kind, moment_value, notify, skill_values

LEARN_URL = "/app/learn"


async def remind_expiring_certifications(session: AsyncSession, *, now: dt.datetime) -> int:
    """Notify each active agent whose certification expires soon, once per expiry; answers how many."""
    sent = 0
    for site in list(await session.scalars(select(Site))):
        window = dt.timedelta(days=site_settings(site).certification_reminder_days)
        rows = await session.execute(
            select(Certification, User, Skill)
            .join(User, User.id == Certification.user_id)
            .join(Skill, Skill.id == Certification.skill_id)
            .where(User.site_id == site.id, User.status == UserStatus.active)
            .where(Certification.expires_at.is_not(None), Certification.reminded_at.is_(None))
            .where(Certification.expires_at > now, Certification.expires_at <= now + window)
            .order_by(Certification.id)
        )
        for certification, user, skill in list(rows):
            assert certification.expires_at is not None
            await notify(
                session,
                user_id=user.id,
                kind=Kind.certification_expiring,
                message="certification_expiring",
                values={"expires": moment_value(certification.expires_at), **skill_values(skill)},
                url=LEARN_URL,
                subject=f"certification:{certification.id}",
                expires_at=certification.expires_at,
                now=now,
            )
            certification.reminded_at = now
            sent += 1
    await session.flush()
    return sent
