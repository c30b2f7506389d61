"""A rate card's rates: what an hour, a piece and a bonus pay, by tier, kind and skill.

Stored as JSON on ``RateCard.rates``; this struct is its shape (validated on
the way in, so a rate card can never hold a float or a negative rate). A piece
rate may name a tier, a skill, both or neither; the most specific one that
matches a piece wins (tier and skill, then tier, then skill, then neither), so
a card can say "a call pays 0.50, a senior's billing call 0.80".
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Minor = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
TierName = Literal["junior", "mid", "senior"]
KindName = Literal["call", "chat", "ticket", "callback"]


class PieceRate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    kind: KindName
    rate_minor: Minor
    tier: TierName | None = None  # None: every tier
    skill: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None  # None: every skill


class QualityBonus(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """An agent whose CSAT average in the period is at least ``min_csat_average`` earns this share of piece pay."""

    min_csat_average: Annotated[float, msgspec.Meta(ge=1, le=5)]
    percent_of_piece_pay: Annotated[int, msgspec.Meta(ge=0, le=100)]
    min_rated_contacts: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 10  # too few ratings say nothing


class Rates(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    base_hourly_minor: dict[TierName, Minor]
    pieces: list[PieceRate] = []
    # Added for a worked shift that filled a cover request, unless the shift records its own urgent bonus.
    urgent_bonus_minor: Minor = 0
    quality_bonus: QualityBonus | None = None


def piece_rate(rates: Rates, *, kind: str, tier: str, skill: str | None) -> int:
    """The most specific rate for a piece; 0 when the card names none for that kind."""
    best: tuple[int, int] | None = None
    for rate in rates.pieces:
        if rate.kind != kind or rate.tier not in (None, tier) or rate.skill not in (None, skill):
            continue
        specificity = (rate.tier is not None) * 2 + (rate.skill is not None)
        if best is None or specificity > best[0]:
            best = (specificity, rate.rate_minor)
    return best[1] if best else 0
