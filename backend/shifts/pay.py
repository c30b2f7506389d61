"""What working a shift will pay an agent: shifts shows the number, the pay domain knows the rule.

Pay stands above shifts in the layers (it settles the shifts worked), so shifts cannot import its rate
lookup, and a copy of the rule here would drift from it (open shifts once priced every tier at the site's
flat hourly base while the rate card paid each tier its own). Instead the app hands every route the pay
domain's own answer as the ``shift_pay`` dependency (``backend.pay.quotes``): the number an agent sees on
an open shift or a cover offer is the settlement's, from the same rate card and the same rounding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Tier
from backend.shifts.models import Shift


@dataclass(frozen=True)
class PricedShift:
    """A shift to price, as the settlement will see it once worked."""

    shift_id: int
    start_slot: int
    end_slot: int
    bonus_minor: int  # the urgent bonus the worked shift will carry
    covered: bool = False  # taken from a cover request: the rate card's urgent bonus applies if it carries none

    @classmethod
    def of(cls, shift: Shift, *, bonus_minor: int | None = None, covered: bool = False) -> PricedShift:
        bonus = shift.bonus_minor if bonus_minor is None else bonus_minor
        return cls(shift.id, shift.start_slot, shift.end_slot, bonus, covered)


@runtime_checkable  # Litestar checks an injected value against its declared type
class ShiftPay(Protocol):
    """Each shift's pay for an agent of ``tier`` at ``site``, by shift id, in the site's currency's minor units."""

    async def __call__(
        self, session: AsyncSession, *, site: Site, tier: Tier, shifts: Sequence[PricedShift]
    ) -> dict[int, int]: ...


ShiftPayDependency = NamedDependency[ShiftPay]
"""Taken by a handler as ``shift_pay: ShiftPayDependency``; the app provides it (``backend.pay.quotes``)."""


@runtime_checkable
class PayLocked(Protocol):
    """Whether the site's pay period holding local ``day`` is settled (locked or paid): its record is final."""

    async def __call__(self, session: AsyncSession, *, site: Site, day: dt.date) -> bool: ...


PayLockedDependency = NamedDependency[PayLocked]
"""Taken by a handler as ``pay_locked: PayLockedDependency``; the app provides it (``backend.pay.quotes``)."""
