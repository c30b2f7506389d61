"""Priority by kind and by rule, and raised when the situation gets more urgent.

A request starts at its kind's priority, higher where a rule says so: a schedule request whose shift starts
within 24 hours is high, within 2 hours urgent; a pay request about a period already locked or paid is high
(the pay is missing on payday). While a schedule request is open, the clock raises it again as its shift
comes nearer (``next_raise_at``, fired by ``timers``). Only a person lowers a priority, with a reason
(``actions.set_priority``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.i18n import gettext as _
from backend.core.slots import utc_start
from backend.pay.models import Dispute, PayPeriod, PeriodStatus
from backend.requests.kinds import TEMPLATE
from backend.requests.models import PRIORITY_ORDER, Priority, Request, RequestKind
from backend.shifts.models import Shift

HIGH_WITHIN = dt.timedelta(hours=24)  # a shift starting this soon makes its request high
URGENT_WITHIN = dt.timedelta(hours=2)  # and this soon, urgent

KIND_DEFAULT = "kind_default"
SHIFT_WITHIN_24H = "shift_within_24h"
SHIFT_WITHIN_2H = "shift_within_2h"
PAYDAY = "payday"
PRIORITY_REASONS = (KIND_DEFAULT, SHIFT_WITHIN_24H, SHIFT_WITHIN_2H, PAYDAY)


def priority_reason_label(reason: str) -> str:
    """Why the priority is what it is; a reason a person typed is shown as typed."""
    labels = {
        KIND_DEFAULT: _("the usual priority of this kind"),
        SHIFT_WITHIN_24H: _("the shift starts within 24 hours"),
        SHIFT_WITHIN_2H: _("the shift starts within 2 hours"),
        PAYDAY: _("pay missing on payday"),
    }
    return labels.get(reason, reason)


def higher(one: Priority, other: Priority) -> bool:
    return PRIORITY_ORDER.index(Priority(one)) > PRIORITY_ORDER.index(Priority(other))


async def _shift_start(session: AsyncSession, request: Request) -> dt.datetime | None:
    if request.kind != RequestKind.schedule or request.shift_id is None:
        return None
    shift = await session.get(Shift, request.shift_id)
    return None if shift is None else utc_start(shift.start_slot)


def _by_shift(start: dt.datetime, now: dt.datetime) -> tuple[Priority, str] | None:
    if now >= start:
        return None  # it has started: what the request is about is past its urgency
    if start - now <= URGENT_WITHIN:
        return Priority.urgent, SHIFT_WITHIN_2H
    if start - now <= HIGH_WITHIN:
        return Priority.high, SHIFT_WITHIN_24H
    return None


async def situation_priority(session: AsyncSession, request: Request, *, now: dt.datetime) -> tuple[Priority, str]:
    """The priority the situation asks for at ``now`` and why (at least the kind's own)."""
    best = (TEMPLATE[RequestKind(request.kind)].default_priority, KIND_DEFAULT)
    start = await _shift_start(session, request)
    ruled = _by_shift(start, now) if start is not None else None
    if ruled is not None and higher(ruled[0], best[0]):
        best = ruled
    if request.kind == RequestKind.pay and higher(Priority.high, best[0]) and await _period_settled(session, request):
        best = (Priority.high, PAYDAY)
    return best


async def _period_settled(session: AsyncSession, request: Request) -> bool:
    period_id = request.period_id
    if period_id is None and request.dispute_id is not None:
        dispute = await session.get(Dispute, request.dispute_id)
        period_id = dispute.period_id if dispute is not None else None
    if period_id is None:
        return False
    period = await session.get(PayPeriod, period_id)
    return period is not None and period.status in (PeriodStatus.locked, PeriodStatus.paid)


async def initial_priority(session: AsyncSession, request: Request, *, now: dt.datetime) -> tuple[Priority, str]:
    """The priority a new request starts at, and the reason (a key of ``PRIORITY_REASONS``).

    A reason other than ``KIND_DEFAULT`` means a rule raised it: the caller records ``priority_raised`` with
    ``values.reason`` once the request has its id.
    """
    return await situation_priority(session, request, now=now)


async def next_raise_at(session: AsyncSession, request: Request, *, now: dt.datetime) -> dt.datetime | None:
    """When the situation will next ask for a higher priority than the request has (a schedule request's shift
    coming within 24 hours, then within 2 hours); None when it never will."""
    start = await _shift_start(session, request)
    if start is None or now >= start:
        return None
    moments = []
    if higher(Priority.high, request.priority):
        moments.append(start - HIGH_WITHIN)
    if higher(Priority.urgent, request.priority):
        moments.append(start - URGENT_WITHIN)
    return min(moments, default=None)
