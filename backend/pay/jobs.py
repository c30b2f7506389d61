"""Pay's timed work for the worker: every site's current and previous pay periods exist before anyone asks.

Pages only read periods (a GET never writes) and reckon a missing one without storing it; a line can be
questioned, and finance can lock, once the period is stored. This job stores them within a minute of a
period starting, including the one before (still waiting for its lock).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site
from backend.pay import periods
from backend.pay.models import PayPeriod


async def keep_periods_ready(session: AsyncSession, *, now: dt.datetime) -> int:
    """Make each site's period holding today, and the one before, if missing; answer how many were made."""
    count = select(func.count()).select_from(PayPeriod)
    before = await session.scalar(count) or 0
    for site in await session.scalars(select(Site)):
        await periods.ensure_periods(session, site=site, today=periods.site_today(site, now))
    return (await session.scalar(count) or 0) - before
