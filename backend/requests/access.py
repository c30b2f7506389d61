"""Who sees a request and who acts on it.

The asker sees their own; everyone on a site sees its ideas (read only, and "me too"); a consulted person sees the
request they are consulted on. Staff for requests (``REQUEST_STAFF``): coordinators and admins see every request of
their site (and the site's queue); finance sees the requests of the teams they are a member of and every pay
request. Anything else (another site's request, or one the viewer may not see) is a 404, so ids cannot be probed;
seeing a request without the right to act on it is a 403 for the action.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, User
from backend.core.errors import Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.requests.models import Consultation, Request, RequestKind, TeamMember

REQUEST_STAFF = frozenset({Role.coordinator, Role.finance, Role.admin})
"""Who may be a member of a team and work on requests."""
SITE_WIDE = frozenset({Role.coordinator, Role.admin})
"""Who sees every request of the site, and the site's queue."""


def is_request_staff(user: User) -> bool:
    return user.role in REQUEST_STAFF


def sees_site_wide(user: User) -> bool:
    return user.role in SITE_WIDE


async def _is_member(session: AsyncSession, team_id: int | None, user_id: int) -> bool:
    if team_id is None:
        return False
    found = await session.scalar(select(exists().where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)))
    return bool(found)


async def may_see(session: AsyncSession, request: Request, viewer: User) -> bool:
    """Whether ``viewer`` may see ``request`` (the rules above)."""
    if request.site_id != viewer.site_id:
        return False
    if request.asker_id == viewer.id or request.kind == RequestKind.idea:
        return True
    if await may_act(session, request, viewer):
        return True
    consulted = await session.scalar(
        select(exists().where(Consultation.request_id == request.id, Consultation.user_id == viewer.id))
    )
    return bool(consulted)


async def visible_request(session: AsyncSession, *, request_id: int, viewer: User) -> Request:
    """The request, if ``viewer`` may see it; otherwise 404 (whether it exists or not)."""
    request = await session.get(Request, request_id)
    if request is None or not await may_see(session, request, viewer):
        raise NotFound("request")
    return request


async def may_act(session: AsyncSession, request: Request, viewer: User) -> bool:
    """Whether ``viewer`` works on ``request``: its owner, a member of its team, a coordinator or admin of its site,
    finance on a pay request."""
    if request.site_id != viewer.site_id or not is_request_staff(viewer):
        return False
    if sees_site_wide(viewer) or request.owner_id == viewer.id:
        return True
    if viewer.role == Role.finance and request.kind == RequestKind.pay:
        return True
    return await _is_member(session, request.team_id, viewer.id)


async def ensure_may_act(session: AsyncSession, request: Request, viewer: User) -> None:
    """403 unless ``viewer`` may act on ``request`` (call after ``visible_request``, which has answered 404)."""
    if not await may_act(session, request, viewer):
        raise Forbidden(_("Only the team working on this request may do that."))
