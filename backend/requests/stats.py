"""Expected time: how long requests of a kind usually take at the team that holds them, told to the asker.

An honest forecast, not a promise: the median of the minutes from raising to resolving (wall-clock minutes, what
the asker lives through) over the requests of that kind and team resolved in the last ``WINDOW_DAYS`` days. Under
``MIN_SAMPLES`` such requests the median says little, so nothing is forecast (``None``).

``median`` and ``percentile`` are the board's too: one definition of each for every page that shows them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.i18n import gettext as _
from backend.core.i18n import ngettext
from backend.requests.models import Request, RequestKind

WINDOW_DAYS = 90
MIN_SAMPLES = 5
MINUTES_A_DAY = 24 * 60


def median(values: Sequence[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count); None for none."""
    ordered = sorted(values)
    count = len(ordered)
    if not count:
        return None
    middle = count // 2
    return float(ordered[middle]) if count % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least ``share`` of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(share * len(ordered)))
    return float(ordered[rank - 1])


def minutes_between(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() / 60


async def expected_minutes(
    session: AsyncSession, *, site_id: int, kind: RequestKind, team_id: int | None, now: dt.datetime
) -> int | None:
    """The median minutes from raised to resolved of ``kind`` at ``team_id`` (None: the site's queue) over the
    requests resolved in the last 90 days; None under 5 of them."""
    since = now - dt.timedelta(days=WINDOW_DAYS)
    team = Request.team_id.is_(None) if team_id is None else Request.team_id == team_id
    rows = await session.execute(
        select(Request.created_at, Request.resolved_at).where(
            Request.site_id == site_id,
            Request.kind == kind,
            team,
            Request.resolved_at.is_not(None),
            Request.resolved_at > since,
            Request.resolved_at <= now,
        )
    )
    durations = [minutes_between(created, resolved) for created, resolved in rows if resolved >= created]
    if len(durations) < MIN_SAMPLES:
        return None
    middle = median(durations)
    return None if middle is None else round(middle)


def expected_label(minutes: int | None) -> str:
    """The forecast in words for the asker ("Requests like this usually take about 3 hours"); empty when there is
    none. Rounded to what a person would say: minutes under an hour, hours under two days, then days."""
    if minutes is None:
        return ""
    if minutes < 60:
        count = max(1, round(minutes / 5) * 5) if minutes >= 5 else max(1, minutes)
        return ngettext(
            "Requests like this usually take about %(num)d minute.",
            "Requests like this usually take about %(num)d minutes.",
            count,
        )
    if minutes < 2 * MINUTES_A_DAY:
        hours = max(1, round(minutes / 60))
        return ngettext(
            "Requests like this usually take about %(num)d hour.",
            "Requests like this usually take about %(num)d hours.",
            hours,
        )
    days = round(minutes / MINUTES_A_DAY)
    return ngettext(
        "Requests like this usually take about %(num)d day.",
        "Requests like this usually take about %(num)d days.",
        days,
    )


def no_forecast_label() -> str:
    """What the asker reads when too few such requests were resolved lately to forecast."""
    return _("Too few requests like this were resolved lately to say how long it usually takes.")
