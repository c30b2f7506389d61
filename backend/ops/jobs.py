"""The ops domain's timed work: what only ops knows, run by the worker about once a minute.

``backend.worker`` runs ``EVERY_MINUTE`` in its own transaction, with the other domains' once-a-minute jobs. Each job
is ``job(session, *, now) -> int`` (how much it did), and is idempotent: a missed minute is caught up by the next.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from backend.ops import alerts, log, rollup

Job = Callable[..., Awaitable[int]]  # job(session, *, now): do what is due at ``now``, answer how much

EVERY_MINUTE: list[tuple[str, Job]] = [
    ("system items logged", log.sweep_system_items),  # before the alerts, so they link to what is logged
    ("late-agent alerts sent", alerts.alert_late_agents),
    ("missing-handover alerts sent", alerts.alert_missing_handovers),
    ("quality weeks summed", rollup.refresh_quality_rollups),  # the quality dashboard's roll-up (GET never writes)
]


async def run_due(session: AsyncSession, *, now: dt.datetime) -> dict[str, int]:
    """The ops jobs due at ``now``, by name, with how much each did (tests and ``weft`` commands call this)."""
    return {name: await job(session, now=now) for name, job in EVERY_MINUTE}
