"""The agent's intraday offers: time off (VTO) or staying longer (extension) today, answered with one tap.

A plain form post gets a 303 back to the page (or the page with the refusal's status: 409 for an offer
taken, lapsed or already answered); htmx gets the card back in place (the whole list on a refusal). An
offer that is not the agent's is a 404, whatever its state.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Controller, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import User
from backend.accounts.schemas import FormPost
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import user_zone
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import day_label
from backend.core.security import requires
from backend.core.slots import local_start
from backend.core.templating import page, refused_status, retarget
from backend.core.web import AnyRequest, Db, act_on_page
from backend.shifts import intraday

PAGE = "shifts/offers.html"
CARD = "shifts/_offer_card.html"


async def offers_context(db: AsyncSession, agent: User, **extra: Any) -> dict[str, Any]:
    now = utcnow()
    site = await accounts.get_site(db, agent.site_id)
    zone = user_zone(agent)
    today = now.astimezone(zone).date()
    context: dict[str, Any] = {
        "tab": "shifts",
        "user": agent,
        "now": now,
        "offers": await intraday.offers_for(db, agent=agent, now=now),
        "settings": site_settings(site),
        "zone": zone,
        "day_label": lambda d: day_label(d, today),
        "local": lambda slot: local_start(slot, zone),
        "local_moment": lambda moment: moment.astimezone(zone),
        "error": None,
        "error_offer": None,
    }
    context.update(extra)
    return context


class OffersController(Controller):
    """Offers made to me today: time off when it is quiet, or a longer shift when it is busy."""

    path = "/app/offers"
    include_in_schema = False
    guards = [requires("agent")]

    @get("/", name="intraday:offers")
    async def show(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Template:
        return page(request, PAGE, await offers_context(db, current_user))

    async def _answer(
        self, request: AnyRequest, db: AsyncSession, agent: User, offer_id: int, *, error: DomainError | None = None
    ) -> Template:
        """A refusal re-renders the list with the message on the offer; otherwise htmx gets the card back."""
        context = await offers_context(db, agent, error=error, error_offer=offer_id if error else None)
        offer = next((view for view in context["offers"] if view.offer_id == offer_id), None)
        if error is not None or offer is None:
            response = page(request, PAGE, context, status_code=refused_status(request, error))
            return retarget(request, response, "#offers-list")
        response = page(request, CARD, {**context, "offer": offer})
        response.headers["HX-Trigger"] = "shift-claimed"  # My schedule and Home re-read themselves
        return response

    @post("/{offer_id:int}/accept", name="intraday:accept", status_code=200)
    async def accept(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, offer_id: PathId, data: FormPost
    ) -> Any:
        return await act_on_page(
            request,
            db,
            lambda: intraday.accept_offer(db, offer_id=offer_id, agent=current_user, now=utcnow()),
            render=partial(self._answer, request, db, current_user, offer_id),
            then=f"{self.path}#offer-{offer_id}",
            raised=(404,),
        )

    @post("/{offer_id:int}/decline", name="intraday:decline", status_code=200)
    async def decline(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, offer_id: PathId, data: FormPost
    ) -> Any:
        return await act_on_page(
            request,
            db,
            lambda: intraday.decline_offer(db, offer_id=offer_id, agent=current_user, now=utcnow()),
            render=partial(self._answer, request, db, current_user, offer_id),
            then=f"{self.path}#offer-{offer_id}",
            raised=(404,),
        )
