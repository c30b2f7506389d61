"""What crosses the edge for pay: the API's shapes (pay periods for finance scripts, amounts as fixed two-decimal
strings; rate cards) and the pages' forms."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec

from backend.accounts.schemas import Form
from backend.core.bounds import ID_BOUNDS, NUMBER_MAX, Bounded
from backend.core.money import decimal_text
from backend.core.web import RefuseWith
from backend.pay import disputes, earnings
from backend.pay.exports import Totals
from backend.pay.models import PayPeriod, RateCard
from backend.pay.rates import Rates

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


# Rate cards ---------------------------------------------------------------------------------------


AnyNumber = RefuseWith(lambda _: _("Enter a number."))


class NewRateCardBody(Bounded, kw_only=True, forbid_unknown_fields=True):
    """``effective_from``: today or later (site time). ``rates``: amounts in minor units of the site's currency:
    ``{"base_hourly_minor": {"junior": 2800, "mid": 3200, "senior": 3800}, "pieces": [{"kind": "call",
    "rate_minor": 60, "tier": null, "skill": null}], "urgent_bonus_minor": 3000, "quality_bonus":
    {"min_csat_average": 4.5, "percent_of_piece_pay": 10, "min_rated_contacts": 10}}``."""

    effective_from: dt.date
    rates: dict[str, Any]


class RateCardOut(msgspec.Struct, kw_only=True):
    id: int
    effective_from: dt.date
    currency: str
    status: str  # current, scheduled or superseded
    rates: Rates
    created_at: dt.datetime
    created_by_id: int | None

    @classmethod
    def of(cls, card: RateCard, rates: Rates, status: str) -> RateCardOut:
        return cls(
            id=card.id,
            effective_from=card.effective_from,
            currency=card.currency,
            status=status,
            rates=rates,
            created_at=card.created_at,
            created_by_id=card.created_by_id,
        )


class CardDates(Bounded, kw_only=True):
    """The rate card form's effective date, as the service takes it."""

    effective_from: Annotated[dt.date, RefuseWith(lambda _: _("Enter a date such as 2026-03-02."))]


class QualityValues(msgspec.Struct, kw_only=True):
    """The rate card form's quality bonus, as ``Rates`` takes it; read only when any of it is filled in."""

    quality_min_csat: Annotated[float, AnyNumber]
    quality_percent: Annotated[int, msgspec.Meta(ge=0, le=NUMBER_MAX), AnyNumber]
    quality_min_ratings: Annotated[int, msgspec.Meta(ge=0, le=NUMBER_MAX), AnyNumber] = 10


class TaxIdForm(Form):
    last4: Annotated[str, msgspec.Meta(max_length=20)] = ""


# Disputes -----------------------------------------------------------------------------------------

Id = Annotated[str, msgspec.Meta(max_length=12)]
EarningsLine = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose a line from your earnings."))]


class DisputeForm(Form):
    period: Id
    line: Id = ""
    ref: Annotated[str, msgspec.Meta(max_length=earnings.REF_MAX_CHARS)] = ""
    # Checked in the service (with a message naming it); the bound here only refuses absurd bodies.
    comment: Annotated[str, msgspec.Meta(max_length=8 * disputes.COMMENT_MAX_CHARS)] = ""


class DisputedLine(msgspec.Struct, kw_only=True):
    """The period and the line a dispute questions (``DisputeForm``; no line: a line only ``ref`` names)."""

    period: EarningsLine
    line: EarningsLine | None = None


class AdjustForm(Form):
    """An adjustment as typed (``core.money.parse_amount`` reads the amount); ``confirmed`` is "yes" when its author
    answered the read-back of a large amount."""

    amount: Annotated[str, msgspec.Meta(max_length=20)] = ""
    reason: Annotated[str, msgspec.Meta(max_length=4 * disputes.REASON_MAX_CHARS)] = ""
    confirmed: Annotated[str, msgspec.Meta(max_length=3)] = ""


class RejectForm(Form):
    reason: Annotated[str, msgspec.Meta(max_length=4 * disputes.REASON_MAX_CHARS)] = ""
