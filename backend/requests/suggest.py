"""While an asker types, what may already answer them: published cases of the site's library and requests like
theirs that were resolved, so the answer may be found before anyone is asked.

Cases come from the library's own search (``backend.learning.cases.search``: full text, every word). Requests
match every word in their title or details, and only those the asker could open anyway are suggested: their
own, the site's ideas (public within the site) and, for staff, what their role lets them see. Another agent's
private request is never suggested.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, User
from backend.learning.cases import CaseSummary, search, search_words
from backend.requests.models import Request, RequestKind, RequestStatus
from backend.requests.routing import team_ids_of

LIMIT = 5
DONE_STATUSES = (RequestStatus.resolved, RequestStatus.closed)


@dataclass(frozen=True)
class Suggestions:
    cases: list[CaseSummary]
    requests: list[Request]

    @property
    def empty(self) -> bool:
        return not self.cases and not self.requests


def _escaped(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _contains(word: str) -> ColumnElement[bool]:
    pattern = _escaped(word)
    return or_(Request.title.ilike(pattern, escape="\\"), Request.details.ilike(pattern, escape="\\"))


async def _visible(session: AsyncSession, viewer: User) -> ColumnElement[bool]:
    """The requests of the viewer's site they may open (``access.visible_request``'s rules, as a condition)."""
    if viewer.role in (Role.coordinator, Role.admin):
        return Request.site_id == viewer.site_id
    seen = [Request.asker_id == viewer.id, Request.kind == RequestKind.idea]
    if viewer.role == Role.finance:
        seen.append(Request.kind == RequestKind.pay)
        teams = await team_ids_of(session, viewer.id)
        seen.append(Request.team_id.in_(teams) if teams else false())
    return and_(Request.site_id == viewer.site_id, or_(*seen))


async def resolved_like(session: AsyncSession, *, viewer: User, text: str, limit: int = LIMIT) -> list[Request]:
    """Resolved or closed requests ``viewer`` may open whose title or details hold every word of ``text``."""
    words = search_words(text)
    if not words:
        return []
    found = await session.scalars(
        select(Request)
        .where(
            await _visible(session, viewer),
            Request.status.in_(DONE_STATUSES),
            *(_contains(word) for word in words),
        )
        .order_by(Request.resolved_at.desc().nulls_last(), Request.id.desc())
        .limit(limit)
    )
    return list(found)


async def suggestions(session: AsyncSession, *, viewer: User, text: str, now: dt.datetime) -> Suggestions:
    """At most ``LIMIT`` cases and ``LIMIT`` resolved requests matching what the asker has typed so far."""
    if not search_words(text):
        return Suggestions(cases=[], requests=[])
    cases = await search(session, site_id=viewer.site_id, query=text, now=now, limit=LIMIT)
    return Suggestions(cases=cases, requests=await resolved_like(session, viewer=viewer, text=text))
