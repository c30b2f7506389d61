"""Rate cards and tax profiles on the web: finance's /finance/rates and /finance/tax-profiles, and the JSON API.

Finance (and admins) write rate cards; coordinators read them (the roster and open-shift pay depend on them);
agents get 403. A card is never edited: a new one supersedes it from its effective date. The form takes
amounts as typed ("30.00"); piece rates are rows, and a refused row is named ``pieces[2].rate``. A refused
form comes back with what was typed and the refusal's status (422, or 409 for a date that already has a card).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any

from litestar import Controller, Router, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import FINANCE_ROLES, skill_label
from backend.accounts.schemas import FormPost
from backend.accounts.site_settings import site_settings
from backend.core.bounds import PathId
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.money import decimal_text, parse_amount
from backend.core.security import Principal, requires
from backend.core.templating import is_htmx, page, refused_status
from backend.core.web import AnyRequest, CurrentPrincipal, Db, FormBody, parse_fields, see_other
from backend.pay import rate_cards
from backend.pay.models import RateCard
from backend.pay.periods import site_today
from backend.pay.rates import Rates
from backend.pay.schemas import CardDates, NewRateCardBody, QualityValues, RateCardOut, TaxIdForm

RATES_PAGE = "pay/rates/rates.html"
TAX_PAGE = "pay/rates/tax_profiles.html"
KINDS = ("call", "chat", "ticket", "callback")
BLANK_ROWS = 3  # empty piece-rate rows under the filled ones, for new rates without JavaScript


# The form: what was typed, and the rates it stands for ------------------------------------------


@dataclass
class PieceRow:
    kind: str = ""
    tier: str = ""  # "" = every tier
    skill: str = ""  # "" = every skill
    rate: str = ""

    @property
    def blank(self) -> bool:
        return not self.kind and not self.rate.strip()


@dataclass
class CardDraft:
    """A rate card as the form holds it: text, so a refused form comes back exactly as typed."""

    effective_from: str = ""
    base: dict[str, str] = field(default_factory=lambda: {tier: "" for tier in rate_cards.TIERS})
    pieces: list[PieceRow] = field(default_factory=list)
    urgent_bonus: str = "0.00"
    quality_min_csat: str = ""
    quality_percent: str = ""
    quality_min_ratings: str = ""

    @classmethod
    def of_card(cls, card: RateCard, effective_from: dt.date) -> CardDraft:
        """A copy of a card's rates, for a new card from ``effective_from``."""
        rates = rate_cards.rates_of(card)
        quality = rates.quality_bonus
        return cls(
            effective_from=effective_from.isoformat(),
            base={tier: decimal_text(rates.base_hourly_minor.get(tier, 0)) for tier in rate_cards.TIERS},  # type: ignore[call-overload]
            pieces=[
                PieceRow(kind=p.kind, tier=p.tier or "", skill=p.skill or "", rate=decimal_text(p.rate_minor))
                for p in rates.pieces
            ],
            urgent_bonus=decimal_text(rates.urgent_bonus_minor),
            quality_min_csat=f"{quality.min_csat_average:g}" if quality else "",
            quality_percent=str(quality.percent_of_piece_pay) if quality else "",
            quality_min_ratings=str(quality.min_rated_contacts) if quality else "",
        )

    @classmethod
    def of_form(cls, items: list[tuple[str, Any]]) -> CardDraft:
        """The draft from the form's fields; piece rows come as repeated ``piece_*`` fields, in order."""
        single: dict[str, str] = {}
        columns: dict[str, list[str]] = {"piece_kind": [], "piece_tier": [], "piece_skill": [], "piece_rate": []}
        for name, value in items:
            if not isinstance(value, str):
                continue
            if name in columns:
                columns[name].append(value)
            else:
                single[name] = value
        count = max((len(values) for values in columns.values()), default=0)

        def column(name: str, index: int) -> str:
            values = columns[name]
            return values[index].strip() if index < len(values) else ""

        rows = [
            PieceRow(
                kind=column("piece_kind", i),
                tier=column("piece_tier", i),
                skill=column("piece_skill", i),
                rate=column("piece_rate", i),
            )
            for i in range(count)
        ]
        return cls(
            effective_from=single.get("effective_from", "").strip(),
            base={tier: single.get(f"base_{tier}", "").strip() for tier in rate_cards.TIERS},
            pieces=[row for row in rows if not row.blank],
            urgent_bonus=single.get("urgent_bonus", "").strip(),
            quality_min_csat=single.get("quality_min_csat", "").strip(),
            quality_percent=single.get("quality_percent", "").strip(),
            quality_min_ratings=single.get("quality_min_ratings", "").strip(),
        )

    def rows(self) -> list[PieceRow]:
        """The filled rows and a few blank ones to add more."""
        return [*self.pieces, *(PieceRow() for _ in range(BLANK_ROWS))]

    def parsed(self) -> tuple[dt.date, dict[str, Any]]:
        """The effective date and the rates as ``Rates`` takes them; 422 naming the form's field or row."""
        effective_from = parse_fields(CardDates, {"effective_from": self.effective_from}).effective_from
        base = {tier: parse_amount(self.base[tier], field=f"base_{tier}") for tier in rate_cards.TIERS}
        pieces = []
        for index, row in enumerate(self.pieces):
            if row.kind not in KINDS:
                raise DomainError(
                    _("Row %(row)s: choose a kind of work.", row=index + 1), field=f"pieces[{index}].kind"
                )
            if row.tier not in ("", *rate_cards.TIERS):
                raise DomainError(_("Row %(row)s: choose a tier.", row=index + 1), field=f"pieces[{index}].tier")
            try:
                rate = parse_amount(row.rate, field=f"pieces[{index}].rate")
            except DomainError as error:
                message = _("Row %(row)s: %(problem)s", row=index + 1, problem=error.message)
                raise DomainError(message, field=error.field) from None
            pieces.append({"kind": row.kind, "tier": row.tier or None, "skill": row.skill or None, "rate_minor": rate})
        rates: dict[str, Any] = {
            "base_hourly_minor": base,
            "pieces": pieces,
            "urgent_bonus_minor": parse_amount(self.urgent_bonus or "0", field="urgent_bonus"),
        }
        quality = {
            "quality_min_csat": self.quality_min_csat,
            "quality_percent": self.quality_percent,
            "quality_min_ratings": self.quality_min_ratings,
        }
        if any(quality.values()):
            bonus = parse_fields(QualityValues, quality)
            rates["quality_bonus"] = {
                "min_csat_average": bonus.quality_min_csat,
                "percent_of_piece_pay": bonus.quality_percent,
                "min_rated_contacts": bonus.quality_min_ratings,
            }
        return effective_from, rates


# The ``Rates`` paths a refusal names, as the form's fields.
FORM_FIELD = {
    "base_hourly_minor.junior": "base_junior",
    "base_hourly_minor.mid": "base_mid",
    "base_hourly_minor.senior": "base_senior",
    "urgent_bonus_minor": "urgent_bonus",
    "quality_bonus.min_csat_average": "quality_min_csat",
    "quality_bonus.percent_of_piece_pay": "quality_percent",
    "quality_bonus.min_rated_contacts": "quality_min_ratings",
}


def form_field(name: str | None) -> str | None:
    if name is None:
        return None
    if name.startswith("pieces[") and name.endswith(".rate_minor"):
        return name.removesuffix("_minor")
    return FORM_FIELD.get(name, name)


# What the pages show ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CardView:
    card: RateCard
    rates: Rates
    status: str  # "current", "scheduled" or "superseded"


def card_views(cards: list[RateCard], today: dt.date) -> list[CardView]:
    """Cards newest first, each marked: the one in force today is current; later ones are scheduled."""
    views = []
    current_seen = False
    for card in cards:
        if card.effective_from > today:
            status = "scheduled"
        elif not current_seen:
            status, current_seen = "current", True
        else:
            status = "superseded"
        views.append(CardView(card=card, rates=rate_cards.rates_of(card), status=status))
    return views


class RatesController(Controller):
    """The site's rate cards, newest first with the current one marked, and the form for the next card."""

    path = "/finance/rates"
    include_in_schema = False
    guards = [requires("finance", "coordinator")]

    async def _page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        principal: Principal,
        *,
        draft: CardDraft | None = None,
        error: DomainError | None = None,
        saved: str = "",
        copy: bool = False,
    ) -> Template:
        site = await accounts.get_site(db, principal.site_id)
        today = site_today(site)
        cards = card_views(await rate_cards.rate_cards_of(db, site_id=site.id), today)
        current = next((view for view in cards if view.status == "current"), None)
        if draft is None:
            source = current.card if current else (cards[-1].card if cards else None)
            if copy and source is not None:
                draft = CardDraft.of_card(source, today)
            else:
                draft = CardDraft(effective_from=today.isoformat())
        skills = await accounts.list_skills(db, site_id=site.id)
        context = {
            "site": site,
            "currency": site_settings(site).currency,
            "cards": cards,
            "current": current,
            "today": today,
            "draft": draft,
            "rows": draft.rows(),
            "error": error,
            "saved": saved,
            "copied": copy and bool(cards) and error is None,
            "can_edit": principal.role in FINANCE_ROLES,
            "skill_names": {skill.code: skill_label(skill) for skill in skills},
            "kinds": [("call", _("Call")), ("chat", _("Chat")), ("ticket", _("Ticket")), ("callback", _("Callback"))],
            "tiers": [("junior", _("Junior")), ("mid", _("Mid")), ("senior", _("Senior"))],
        }
        return page(request, RATES_PAGE, context, status_code=refused_status(request, error))

    @get("/", name="pay:rates")
    async def show(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, copy: str = "", saved: str = ""
    ) -> Template:
        return await self._page(request, db, principal, copy=copy == "current", saved=saved)

    @post("/", name="pay:rate-create", status_code=200, guards=[requires("finance")])
    async def create(self, request: AnyRequest, db: Db, principal: CurrentPrincipal, current_user: CurrentUser) -> Any:
        draft = CardDraft.of_form((await request.form()).multi_items())
        site = await accounts.get_site(db, principal.site_id)
        try:
            effective_from, rates = draft.parsed()
            async with db.begin_nested():
                card = await rate_cards.create_rate_card(
                    db, site=site, effective_from=effective_from, rates=rates, by=current_user, today=site_today(site)
                )
        except DomainError as error:
            error.field = form_field(error.field)
            return await self._page(request, db, principal, draft=draft, error=error)
        if is_htmx(request):
            return await self._page(request, db, principal, saved=card.effective_from.isoformat())
        return see_other(f"{self.path}?saved={card.effective_from.isoformat()}")


# Tax profiles -----------------------------------------------------------------------------------


class TaxProfilesController(Controller):
    """Finance marks which agents have a taxpayer id on file (last four digits); US backup withholding reads it."""

    path = "/finance/tax-profiles"
    include_in_schema = False
    guards = [requires("finance")]

    async def _page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        principal: Principal,
        *,
        error: DomainError | None = None,
        error_user: int | None = None,
        done: str = "",
    ) -> Template:
        site = await accounts.get_site(db, principal.site_id)
        context = {
            "profiles": await rate_cards.tax_profiles_of(db, site_id=site.id),
            "policy": site_settings(site).withholding_policy,
            "error": error,
            "error_user": error_user,
            "done": done,
        }
        return page(request, TAX_PAGE, context, status_code=refused_status(request, error))

    @get("/", name="pay:tax-profiles")
    async def show(self, request: AnyRequest, db: Db, principal: CurrentPrincipal, done: str = "") -> Any:
        return await self._page(request, db, principal, done=done if done in ("on_file", "cleared") else "")

    async def _set(
        self, request: AnyRequest, db: AsyncSession, principal: Principal, user_id: int, last4: str | None
    ) -> Any:
        try:
            async with db.begin_nested():
                await rate_cards.set_taxpayer_id(db, site_id=principal.site_id, user_id=user_id, last4=last4)
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._page(request, db, principal, error=error, error_user=user_id)
        done = "on_file" if last4 is not None else "cleared"
        if is_htmx(request):
            return await self._page(request, db, principal, done=done)
        return see_other(f"{self.path}?done={done}#agent-{user_id}")

    @post("/{user_id:int}", name="pay:tax-profile-set", status_code=200)
    async def mark(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        user_id: PathId,
        data: Annotated[TaxIdForm, FormBody],
    ) -> Any:
        return await self._set(request, db, principal, user_id, data.last4)

    @post("/{user_id:int}/clear", name="pay:tax-profile-clear", status_code=200)
    async def clear(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, user_id: PathId, data: FormPost
    ) -> Any:
        return await self._set(request, db, principal, user_id, None)


# The JSON API -----------------------------------------------------------------------------------


class RateCardApiController(Controller):
    path = "/api/v1/rate-cards"
    tags = ["pay"]

    @get("/", name="api:rate-cards", guards=[requires("finance", "coordinator")])
    async def index(self, db: Db, principal: CurrentPrincipal) -> list[RateCardOut]:
        """The site's rate cards, latest effective date first, each marked current, scheduled or superseded."""
        site = await accounts.get_site(db, principal.site_id)
        cards = card_views(await rate_cards.rate_cards_of(db, site_id=site.id), site_today(site))
        return [RateCardOut.of(view.card, view.rates, view.status) for view in cards]

    @post("/", name="api:rate-card-create", guards=[requires("finance")], status_code=201)
    async def create(
        self, db: Db, principal: CurrentPrincipal, current_user: CurrentUser, data: NewRateCardBody
    ) -> RateCardOut:
        """A new card (201); 422 naming the field (``rates.pieces[2].rate_minor``), 409 when the date has one."""
        site = await accounts.get_site(db, principal.site_id)
        today = site_today(site)
        card = await rate_cards.create_rate_card(
            db,
            site=site,
            effective_from=data.effective_from,
            rates=data.rates,
            by=current_user,
            today=today,
            prefix="rates.",
        )
        status = "scheduled" if card.effective_from > today else "current"
        return RateCardOut.of(card, rate_cards.rates_of(card), status)


router = Router(path="/", route_handlers=[RatesController, TaxProfilesController, RateCardApiController])
