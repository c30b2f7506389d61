"""Who may open the ops pages: staff run them, finance reads the dashboards, named shift leads keep the duty log.

Each check answers 403 (``Forbidden``) for anyone else; route guards (``requires``) stay the first line, these are
for the pages that admit more than one kind of caller.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import STAFF_ROLES, Role, User
from backend.core.errors import Forbidden
from backend.core.i18n import gettext as _
from backend.core.security import Principal
from backend.ops.models import ShiftLead

READER_ROLES = frozenset({*STAFF_ROLES, Role.finance})
"""Who reads the ops dashboards, the daily report and the duty KPIs (finance: read only)."""


def _user_id(user: Principal | User) -> int:
    return user.user_id if isinstance(user, Principal) else user.id


def is_ops_staff(user: Principal | User) -> bool:
    return user.role in STAFF_ROLES


def ensure_ops_reader(user: Principal | User) -> None:
    """Staff or finance; anyone else 403."""
    if user.role not in READER_ROLES:
        raise Forbidden(_("Your role does not allow this."))


def ensure_ops_staff(user: Principal | User) -> None:
    """A coordinator or an admin (who act on the day); anyone else, finance included, 403."""
    if not is_ops_staff(user):
        raise Forbidden(_("Your role does not allow this."))


async def is_lead(session: AsyncSession, user: Principal | User, site_id: int) -> bool:
    """True when a coordinator named ``user`` a shift lead of the site and has not removed them."""
    named = await session.scalar(
        select(ShiftLead.id).where(
            ShiftLead.site_id == site_id,
            ShiftLead.user_id == _user_id(user),
            ShiftLead.removed_at.is_(None),
        )
    )
    return named is not None


async def ensure_lead(session: AsyncSession, user: Principal | User, site_id: int) -> None:
    """Staff, or a named shift lead of the site; anyone else 403."""
    if is_ops_staff(user):
        return
    if not await is_lead(session, user, site_id):
        raise Forbidden(_("Only staff and the site's shift leads may do this."))
