"""Telling agents things: the in-app inbox and Web Push, through an outbox written in the caller's transaction."""

from __future__ import annotations

import enum

from sqlalchemy.ext.asyncio import AsyncSession


class Kind(enum.StrEnum):
    """What a notification is about; agents choose which kinds reach their phone."""

    roster_published = "roster_published"
    open_shift = "open_shift"
    cover_request = "cover_request"
    shift_reminder = "shift_reminder"
    swap = "swap"
    waitlist_offer = "waitlist_offer"


async def notify(
    session: AsyncSession,
    *,
    user_id: int,
    kind: Kind,
    title: str,
    body: str = "",
    url: str = "/app",
    subject: str | None = None,
) -> None:
    """Record a notification for ``user_id`` in the caller's transaction (inbox row + push outbox rows).

    ``subject`` names what it is about (e.g. ``shift:42``): a newer push with the same
    subject replaces a pending one (the Web Push ``Topic`` header). Nothing is sent
    here: the outbox worker sends after the transaction commits.
    """
    return None
