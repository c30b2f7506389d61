"""The pay API's shapes: pay periods for finance scripts (amounts as fixed two-decimal strings)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from backend.core.money import decimal_text
from backend.pay.exports import Totals
from backend.pay.models import PayPeriod

PeriodStatusName = Literal["open", "locked", "paid"]


class PeriodTotalsOut(msgspec.Struct, kw_only=True):
    """A locked period's totals, equal to its ledger entries; amounts like ``"1234.50"``."""

    agents: int
    gross: str
    withholding: str
    net: str

    @classmethod
    def of(cls, totals: Totals) -> PeriodTotalsOut:
        return cls(
            agents=totals.agents,
            gross=decimal_text(totals.gross),
            withholding=decimal_text(totals.withholding),
            net=decimal_text(totals.net),
        )


class PayPeriodOut(msgspec.Struct, kw_only=True):
    """A pay period: ``[starts_on, ends_on)`` in site-local days (``last_day`` is the last one paid for)."""

    id: int
    site_id: int
    starts_on: dt.date
    ends_on: dt.date
    last_day: dt.date
    status: PeriodStatusName
    currency: str
    locked_at: dt.datetime | None
    paid_at: dt.datetime | None
    checksum: str | None
    totals: PeriodTotalsOut | None  # once locked

    @classmethod
    def of(cls, period: PayPeriod, totals: Totals | None = None) -> PayPeriodOut:
        locked = period.status != "open"
        return cls(
            id=period.id,
            site_id=period.site_id,
            starts_on=period.starts_on,
            ends_on=period.ends_on,
            last_day=period.ends_on - dt.timedelta(days=1),
            status=period.status.value if hasattr(period.status, "value") else period.status,  # type: ignore[arg-type]
            currency=period.currency,
            locked_at=period.locked_at,
            paid_at=period.paid_at,
            checksum=period.checksum,
            totals=PeriodTotalsOut.of(totals) if locked and totals is not None else None,
        )
