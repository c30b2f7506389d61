"""A request's history: every change is written with the event that explains it, in the same transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.requests.models import EventKind, Request, RequestEvent

HELD = "requests.history.held"  # session.info key: set while the clock worker fires a batch (flushed at its end)


async def record(
    session: AsyncSession,
    request: Request,
    kind: EventKind,
    *,
    at: dt.datetime,
    actor_id: int | None = None,
    body: str = "",
    internal: bool = False,
    from_team_id: int | None = None,
    to_team_id: int | None = None,
    to_user_id: int | None = None,
    values: dict[str, Any] | None = None,
) -> RequestEvent:
    """Add one event to ``request``'s history (``actor_id`` None: the system did it) and touch the request."""
    event = RequestEvent(
        request_id=request.id,
        at=at,
        actor_id=actor_id,
        kind=kind,
        body=body,
        internal=internal,
        from_team_id=from_team_id,
        to_team_id=to_team_id,
        to_user_id=to_user_id,
        values=values or {},
    )
    session.add(event)
    request.updated_at = at
    if not session.info.get(HELD):
        await session.flush()
    return event
