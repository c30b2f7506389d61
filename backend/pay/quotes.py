"""Pay quotes: what working a shift will pay an agent, worked out by the settlement itself.

Open shifts and cover offers show this number (``backend.shifts.pay``; the app injects ``shift_pay``
into every route as a dependency, since shifts stands below pay). A quote is the settlement run on the
one shift as if worked: the rate card in force on the first day of the pay period holding the shift's
site-local day (the site's hourly base before any card), the tier's hourly base, the shift's urgent
bonus (or the card's, for a cover taken without one), each line rounded once by ``settle_lines``. So an
agent is shown what they will be paid, to the minor unit, as long as the card and their tier hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Tier
from backend.accounts.zones import site_zone
from backend.core.slots import SLOT_MINUTES, utc_start
from backend.pay.gather import fallback_rates, rates_for
from backend.pay.models import PeriodStatus
from backend.pay.periods import period_on
from backend.pay.rates import Rates
from backend.pay.settlement import AgentWork, WorkedShift, settle_lines
from backend.shifts.pay import PayLocked, PricedShift, ShiftPay


async def period_start(session: AsyncSession, *, site: Site, day: dt.date) -> dt.date:
    """The first day of the site's pay period holding ``day``, as ``periods.period_for`` would make it.

    Read only: a page that shows pay must not write periods for every future week it lists.
    """
    return (await period_on(session, site=site, day=day)).starts_on


async def _rates(session: AsyncSession, site: Site, on: dt.date) -> Rates:
    found = await rates_for(session, site_id=site.id, on=on)
    return found[1] if found is not None else fallback_rates(site)


async def shift_pay(session: AsyncSession, *, site: Site, tier: Tier, shifts: Sequence[PricedShift]) -> dict[int, int]:
    """Each shift's pay for an agent of ``tier`` had they worked it alone: the settlement's lines, summed."""
    zone = site_zone(site)
    start_by_day: dict[dt.date, dt.date] = {}  # hundreds of open shifts fall on a handful of days: one read each
    rates_by_start: dict[dt.date, Rates] = {}
    pay: dict[int, int] = {}
    for shift in shifts:
        day = utc_start(shift.start_slot).astimezone(zone).date()
        if day not in start_by_day:
            start_by_day[day] = await period_start(session, site=site, day=day)
        start = start_by_day[day]
        if start not in rates_by_start:
            rates_by_start[start] = await _rates(session, site, start)
        rates = rates_by_start[start]
        urgent = shift.bonus_minor if shift.bonus_minor > 0 else (rates.urgent_bonus_minor if shift.covered else 0)
        minutes = (shift.end_slot - shift.start_slot) * SLOT_MINUTES
        worked = WorkedShift(shift.shift_id, day, "", minutes, urgent)
        lines = settle_lines(AgentWork(user_id=0, tier=tier.value, shifts=[worked]), rates)
        pay[shift.shift_id] = sum(line.amount_minor for line in lines)
    return pay


def _provide_shift_pay() -> ShiftPay:
    return shift_pay


async def pay_locked(session: AsyncSession, *, site: Site, day: dt.date) -> bool:
    """Whether the site's pay period holding local ``day`` is locked or paid: its attendance is final."""
    return (await period_on(session, site=site, day=day)).status is not PeriodStatus.open


def _provide_pay_locked() -> PayLocked:
    return pay_locked


DEPENDENCIES = {
    "shift_pay": Provide(_provide_shift_pay, sync_to_thread=False),
    "pay_locked": Provide(_provide_pay_locked, sync_to_thread=False),
}
