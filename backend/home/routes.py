"""The agent's Home page (``/app``), and the claim button on its open shifts card."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Controller, Router, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import User
from backend.accounts.schemas import FormPost
from backend.accounts.zones import user_zone
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import day_label, moment_labeller, week_label
from backend.core.security import requires
from backend.core.settings import Settings
from backend.core.templating import is_htmx, page, refused_status
from backend.core.web import AnyRequest, AppSettings, Db, act_on_page
from backend.home import service
from backend.pay.earnings import date_text, hours_text
from backend.payouts.gateway import gateway_of
from backend.shifts import market

PAGE = "home/home.html"
OPEN_CARD = "home/_open_shifts.html"


def _labels(agent: User) -> dict[str, Any]:
    """How Home words times: "Today 16:30", a short weekday and date, hours as the Earnings tab writes them."""
    now = utcnow()
    zone = user_zone(agent)
    today = now.astimezone(zone).date()
    return {
        "now": now,
        "when": moment_labeller(zone, today),
        "day_label": lambda day: day_label(day, today),
        "date_text": date_text,
        "hours_text": hours_text,
        "closes_in": service.closes_in_text,
        "week_label": week_label,
    }


class HomeController(Controller):
    """Home: the agent's next shift, pay so far, shifts to claim, what to learn, the availability deadline, news."""

    path = "/app"
    include_in_schema = False
    guards = [requires("agent")]

    async def _page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        agent: User,
        settings: Settings,
        *,
        error: DomainError | None = None,
        done: str = "",
    ) -> Template:
        """The whole page; htmx, after a claim, gets only the open shifts card (the claim's answer or refusal)."""
        labels = _labels(agent)
        card = {"error": error, "claimed": done == "claimed"}
        if is_htmx(request) and (error is not None or done):
            fit = await service.open_shifts_fit(db, agent=agent, now=labels["now"])
            return page(request, OPEN_CARD, {"user": agent, "fit": fit, **card, **labels})
        home = await service.gather_home(
            db, agent=agent, now=labels["now"], stripe_ready=gateway_of(settings) is not None
        )
        context = {"tab": "home", "user": agent, "home": home, "fit": home.open_shifts, **card, **labels}
        return page(request, PAGE, context, status_code=refused_status(request, error))

    @get("/", name="agent:home")
    async def show(self, request: AnyRequest, db: Db, current_user: CurrentUser, settings: AppSettings) -> Template:
        return await self._page(request, db, current_user, settings)

    @post("/home/open/{shift_id:int}/claim", name="home:claim", status_code=200)
    async def claim(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        settings: AppSettings,
        shift_id: PathId,
        data: FormPost,
    ) -> Any:
        """The marketplace's own claim; the card's count and list move on after it (without JavaScript: My
        schedule, where the shift now is)."""
        response = await act_on_page(
            request,
            db,
            lambda: market.claim_shift(db, shift_id=shift_id, agent=current_user, now=utcnow()),
            render=partial(self._page, request, db, current_user, settings),
            done="claimed",
            then="/app/shifts",
            raised={404},
        )
        if is_htmx(request) and getattr(response, "context", {}).get("claimed"):
            response.headers["HX-Trigger"] = "shift-claimed"
        return response


router = Router(path="/", route_handlers=[HomeController])
