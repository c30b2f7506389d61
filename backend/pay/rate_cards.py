"""Rate cards and tax profiles: what finance sets up before a period can be settled.

A site's rates are versioned by effective date: the card in force on a day is the one with the latest
``effective_from`` on or before it. A card that has taken effect is never edited: finance writes a new card
from a later date (today at the earliest), which supersedes it from then on. Cards are validated whole
(``pay.rates.Rates`` plus the site's skills) before anything is written.

A tax profile records whether an agent's taxpayer id is on file (the last four digits only): US backup
withholding (``pay.withholding``) reads it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, Skill, User
from backend.accounts.site_settings import site_settings
from backend.core.db import utcnow
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.pay.models import RateCard, TaxProfile
from backend.pay.rates import Rates

TIERS = ("junior", "mid", "senior")
LAST4 = re.compile(r"^\d{4}$")


def rates_of(card: RateCard) -> Rates:
    return msgspec.convert(card.rates, Rates)


def validated_rates(raw: Any, *, prefix: str = "") -> Rates:
    """A rate card's rates from JSON-like data; 422 naming the offending path (``pieces[2].rate_minor``)."""
    if isinstance(raw, Rates):
        return raw
    try:
        return msgspec.convert(raw, Rates)
    except msgspec.ValidationError as error:
        message = str(error)
        path = message.split("`$.", 1)[1].split("`", 1)[0] if "`$." in message else None
        field = f"{prefix}{path}" if path else (prefix.rstrip(".") or None)
        raise DomainError(message, field=field) from None


async def rate_cards_of(session: AsyncSession, *, site_id: int) -> list[RateCard]:
    """The site's cards, the latest effective date first."""
    query = select(RateCard).where(RateCard.site_id == site_id).order_by(RateCard.effective_from.desc())
    return list(await session.scalars(query))


async def current_rate_card(session: AsyncSession, *, site_id: int, on: dt.date) -> RateCard | None:
    """The card in force on ``on``: the latest one that took effect on or before it."""
    query = (
        select(RateCard)
        .where(RateCard.site_id == site_id, RateCard.effective_from <= on)
        .order_by(RateCard.effective_from.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def _check_against_site(session: AsyncSession, *, site: Site, rates: Rates, prefix: str) -> None:
    for tier in TIERS:
        if tier not in rates.base_hourly_minor:
            raise DomainError(
                _("Give the base pay per hour for every tier."), field=f"{prefix}base_hourly_minor.{tier}"
            )
    skills = set(await session.scalars(select(Skill.code).where(Skill.site_id == site.id)))
    seen: set[tuple[str, str | None, str | None]] = set()
    for index, piece in enumerate(rates.pieces):
        if piece.skill is not None and piece.skill not in skills:
            raise DomainError(
                _("Row %(row)s: the site has no skill %(skill)s.", row=index + 1, skill=piece.skill),
                field=f"{prefix}pieces[{index}].skill",
            )
        key = (piece.kind, piece.tier, piece.skill)
        if key in seen:
            raise DomainError(
                _("Row %(row)s repeats an earlier row's kind, tier and skill.", row=index + 1),
                field=f"{prefix}pieces[{index}].kind",
            )
        seen.add(key)


async def create_rate_card(
    session: AsyncSession,
    *,
    site: Site,
    effective_from: dt.date,
    rates: Rates | dict[str, Any],
    by: User,
    today: dt.date,
    prefix: str = "",
) -> RateCard:
    """A new card from ``effective_from`` (today or later, in the site's time zone); the site's currency.

    422 for a past date or bad rates (naming the field, ``prefix`` put before the rates' own paths);
    409 when the site already has a card from that date.
    """
    if effective_from < today:
        raise DomainError(
            _("A rate card takes effect today or later: one that took effect already is replaced by a new card."),
            field="effective_from",
        )
    checked = validated_rates(rates, prefix=prefix)
    await _check_against_site(session, site=site, rates=checked, prefix=prefix)
    taken = await session.scalar(
        select(RateCard.id).where(RateCard.site_id == site.id, RateCard.effective_from == effective_from)
    )
    if taken is not None:
        raise Conflict(_("The site already has a rate card from that date."), field="effective_from")
    card = RateCard(
        site_id=site.id,
        effective_from=effective_from,
        currency=site_settings(site).currency,
        rates=msgspec.to_builtins(checked),
        created_by_id=by.id,
    )
    try:
        async with session.begin_nested():
            session.add(card)
            await session.flush()
    except IntegrityError:  # another finance user saved a card from the same date a moment ago
        raise Conflict(_("The site already has a rate card from that date."), field="effective_from") from None
    return card


# Tax profiles -----------------------------------------------------------------------------------


async def tax_profiles_of(session: AsyncSession, *, site_id: int) -> list[tuple[User, TaxProfile | None]]:
    """The site's agents by name, each with their tax profile if they have one."""
    query = (
        select(User, TaxProfile)
        .outerjoin(TaxProfile, TaxProfile.user_id == User.id)
        .where(User.site_id == site_id, User.role == Role.agent)
        .order_by(User.display_name, User.id)
    )
    return [(user, profile) for user, profile in (await session.execute(query)).all()]


async def taxpayer_id_on_file(session: AsyncSession, *, user_id: int) -> bool:
    on_file = await session.scalar(select(TaxProfile.taxpayer_id_on_file).where(TaxProfile.user_id == user_id))
    return bool(on_file)


async def set_taxpayer_id(
    session: AsyncSession, *, site_id: int, user_id: int, last4: str | None, now: dt.datetime | None = None
) -> TaxProfile:
    """Mark an agent's taxpayer id on file (its last four digits), or clear it with ``last4=None``.

    404 for anyone who is not an agent of the site; 422 ``last4`` unless it is four digits.
    """
    agent = await session.get(User, user_id)
    if agent is None or agent.site_id != site_id or agent.role != Role.agent:
        raise NotFound("agent")
    if last4 is not None:
        last4 = last4.strip()
        if not LAST4.match(last4):
            raise DomainError(_("Enter the last four digits of the taxpayer id."), field="last4")
    profile = await session.scalar(select(TaxProfile).where(TaxProfile.user_id == user_id))
    if profile is None:
        profile = TaxProfile(user_id=user_id)
        session.add(profile)
    profile.taxpayer_id_on_file = last4 is not None
    profile.taxpayer_id_last4 = last4
    profile.updated_at = now or utcnow()
    await session.flush()
    return profile
