"""Targets: the minutes to the first response and to the resolution for a kind of request at a priority.

A site sets its own (``RequestTarget``); a pair it has not set comes from ``DEFAULT_TARGETS``. The minutes are
the team's calendar's (business minutes on a business-hours team, every minute on a calendar-hours team), so a
default working day of nine hours is 540 minutes. A target changed through ``clock.change_target`` reaches the
open requests it governs at once: their clocks are planned again.
"""

from __future__ import annotations

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import STAFF_ROLES, User
from backend.core.errors import DomainError, Forbidden
from backend.core.i18n import gettext as _
from backend.requests.models import Priority, RequestKind, RequestTarget

DAY_MINUTES = 9 * 60  # one default working day (09:00-18:00)
MAX_TARGET_MINUTES = 365 * 24 * 60

# Minutes to the first response and to the resolution at each priority, for a kind worked on as it comes.
_USUAL: dict[Priority, tuple[int, int]] = {
    Priority.urgent: (30, 4 * 60),
    Priority.high: (2 * 60, DAY_MINUTES),
    Priority.normal: (4 * 60, 3 * DAY_MINUTES),
    Priority.low: (DAY_MINUTES, 5 * DAY_MINUTES),
}
# Ideas are weighed, not fixed: an answer within days, what is done with it within weeks.
_IDEAS: dict[Priority, tuple[int, int]] = {
    Priority.urgent: (DAY_MINUTES, 5 * DAY_MINUTES),
    Priority.high: (2 * DAY_MINUTES, 10 * DAY_MINUTES),
    Priority.normal: (3 * DAY_MINUTES, 20 * DAY_MINUTES),
    Priority.low: (5 * DAY_MINUTES, 30 * DAY_MINUTES),
}
DEFAULT_TARGETS: dict[tuple[RequestKind, Priority], tuple[int, int]] = {
    (kind, priority): (_IDEAS if kind == RequestKind.idea else _USUAL)[priority]
    for kind in RequestKind
    for priority in Priority
}


class Target(msgspec.Struct, frozen=True, kw_only=True):
    kind: RequestKind
    priority: Priority
    first_response_minutes: int
    resolution_minutes: int
    custom: bool = False  # set by the site (else the default)


def default_target(kind: RequestKind, priority: Priority) -> Target:
    first, resolution = DEFAULT_TARGETS[(RequestKind(kind), Priority(priority))]
    return Target(kind=kind, priority=priority, first_response_minutes=first, resolution_minutes=resolution)


def _of(row: RequestTarget) -> Target:
    return Target(
        kind=row.kind,
        priority=row.priority,
        first_response_minutes=row.first_response_minutes,
        resolution_minutes=row.resolution_minutes,
        custom=True,
    )


async def target_for(session: AsyncSession, site_id: int, kind: RequestKind, priority: Priority) -> Target:
    row = await session.scalar(
        select(RequestTarget).where(
            RequestTarget.site_id == site_id, RequestTarget.kind == kind, RequestTarget.priority == priority
        )
    )
    return _of(row) if row is not None else default_target(kind, priority)


async def targets_of_site(session: AsyncSession, site_id: int) -> dict[tuple[RequestKind, Priority], Target]:
    """Every kind and priority, the site's own targets over the defaults (in kind, then priority order)."""
    targets = {(kind, priority): default_target(kind, priority) for kind in RequestKind for priority in Priority}
    for row in await session.scalars(select(RequestTarget).where(RequestTarget.site_id == site_id)):
        targets[(row.kind, row.priority)] = _of(row)
    return targets


def _check_minutes(value: int, field: str) -> None:
    if not 1 <= value <= MAX_TARGET_MINUTES:
        raise DomainError(
            _("A target is between 1 minute and a year (%(max)d minutes).", max=MAX_TARGET_MINUTES), field=field
        )


async def set_target(
    session: AsyncSession,
    *,
    staff: User,
    kind: RequestKind,
    priority: Priority,
    first_response_minutes: int,
    resolution_minutes: int,
) -> Target:
    """A coordinator (or admin) sets a site's target; the resolution cannot come before the first response."""
    if staff.role not in STAFF_ROLES:
        raise Forbidden(_("Only coordinators set the targets."))
    try:
        kind, priority = RequestKind(kind), Priority(priority)
    except ValueError:
        raise DomainError(_("Choose a kind and a priority from the list."), field="kind") from None
    _check_minutes(first_response_minutes, "first_response_minutes")
    _check_minutes(resolution_minutes, "resolution_minutes")
    if resolution_minutes < first_response_minutes:
        raise DomainError(
            _("The resolution target cannot be shorter than the first-response target."), field="resolution_minutes"
        )
    row = await session.scalar(
        select(RequestTarget).where(
            RequestTarget.site_id == staff.site_id, RequestTarget.kind == kind, RequestTarget.priority == priority
        )
    )
    if row is None:
        row = RequestTarget(site_id=staff.site_id, kind=kind, priority=priority)
        session.add(row)
    row.first_response_minutes = first_response_minutes
    row.resolution_minutes = resolution_minutes
    await session.flush()
    return _of(row)
