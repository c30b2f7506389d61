"""The agent's Payouts page: set up Stripe, see the account's state in plain words, and every payout of theirs.

Links to Stripe (onboarding, the dashboard) are minted per tap and answered as a 303 to Stripe: they are
never shown in a page, logged or stored. The return from Stripe is a GET (Stripe redirects the browser): it
asks Stripe for the account first and then stores what it said in a write unit of work of its own, so no
read transaction ever writes and no write lock is held while Stripe answers.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Router, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.response import Redirect, Template

from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import Site, User
from backend.accounts.zones import user_zone
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.security import current_principal
from backend.core.templating import page, refused_status
from backend.core.web import AnyRequest, AppSettings, Db, database_of, see_other
from backend.pay.earnings import date_text
from backend.payouts import agent_payouts, onboarding
from backend.payouts.gateway import Gateway, gateway_of
from backend.payouts.models import PayoutAccount, Rail
from backend.payouts.runs import rail_of

PAGE = "payouts/agent/payouts.html"
HOME = "/app/payouts"


def agents_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Payouts are an agent's own: staff (admins included) have no payout account and get 403."""
    principal = current_principal(connection)
    if principal is None:
        raise NotAuthorizedException("Sign in to continue.")
    if principal.role != "agent":
        raise PermissionDeniedException("Only agents have payouts.")


def _urls(request: AnyRequest) -> dict[str, str]:
    base = request.app.state.settings.base_url.rstrip("/")
    return {"return_url": f"{base}{HOME}/return", "refresh_url": f"{base}{HOME}/refresh"}


class AgentPayoutsController(Controller):
    """Set up payouts and follow each payout: on its way, arrived, failed and what to do, held and why."""

    path = HOME
    include_in_schema = False
    guards = [agents_only]

    async def _page(
        self,
        request: AnyRequest,
        db: Any,
        user: User,
        gateway: Gateway | None,
        *,
        account: PayoutAccount | None = None,
        returned: bool = False,
        error: DomainError | None = None,
    ) -> Template:
        site = await db.get(Site, user.site_id)
        zone = user_zone(user)
        rail = rail_of(site)
        if account is None:
            account = await onboarding.account_of(db, user_id=user.id)
        context = {
            "tab": "earnings",
            "user": user,
            "rail": rail.value,
            "payouts_off": rail is Rail.stripe and gateway is None,
            "account": onboarding.account_view(account, site=site, now=utcnow(), zone=zone),
            "payouts": await agent_payouts.my_payouts(db, user_id=user.id, zone=zone),
            "returned": returned,
            "error": error,
            "date_text": date_text,
        }
        return page(request, PAGE, context, status_code=refused_status(request, error))

    @get("/", name="payouts:agent")
    async def show(self, request: AnyRequest, db: Db, current_user: CurrentUser, settings: AppSettings) -> Template:
        return await self._page(request, db, current_user, gateway_of(settings))

    async def _stripe_site(self, db: Any, user: User, settings: Any) -> Gateway | None:
        """The gateway, when this agent's site pays through Stripe and the server has a key; else None."""
        site = await db.get(Site, user.site_id)
        return gateway_of(settings) if rail_of(site) is Rail.stripe else None

    @post("/setup", name="payouts:setup", status_code=303)
    async def setup(self, request: AnyRequest, db: Db, current_user: CurrentUser, settings: AppSettings) -> Any:
        """Create the account once and send the agent to a fresh onboarding link (also "continue setting up")."""
        gateway = await self._stripe_site(db, current_user, settings)
        if gateway is None:
            return see_other(HOME)
        try:
            url = await onboarding.start_onboarding(db, gateway, user=current_user, now=utcnow(), **_urls(request))
        except onboarding.StripeTrouble as error:
            return await self._page(request, db, current_user, gateway, error=error)
        return Redirect(path=url, status_code=303)

    @get("/refresh", name="payouts:refresh")
    async def refresh(self, request: AnyRequest, db: Db, current_user: CurrentUser, settings: AppSettings) -> Any:
        """Stripe's refresh_url (the link expired or was used): a new link, never a new account."""
        gateway = await self._stripe_site(db, current_user, settings)
        account = await onboarding.account_of(db, user_id=current_user.id)
        if gateway is None or account is None or account.stripe_account_id is None:
            return see_other(HOME)
        try:
            url = await onboarding.account_link(gateway, stripe_account_id=account.stripe_account_id, **_urls(request))
        except onboarding.StripeTrouble as error:
            return await self._page(request, db, current_user, gateway, error=error)
        return Redirect(path=url, status_code=303)

    @get("/return", name="payouts:return")
    async def returned(self, request: AnyRequest, db: Db, current_user: CurrentUser, settings: AppSettings) -> Template:
        """Back from Stripe: ask Stripe how the account stands, store it, show it."""
        gateway = await self._stripe_site(db, current_user, settings)
        account = await onboarding.account_of(db, user_id=current_user.id)
        if gateway is None or account is None or account.stripe_account_id is None:
            return await self._page(request, db, current_user, gateway_of(settings))
        stripe_id = account.stripe_account_id
        try:
            fetched = await onboarding.fetch_account(gateway, stripe_account_id=stripe_id)
        except onboarding.StripeTrouble as error:
            return await self._page(request, db, current_user, gateway, error=error)
        async with database_of(request).session(write=True) as session:
            stored = await onboarding.store_fetched(session, stripe_account_id=stripe_id, account=fetched, now=utcnow())
        return await self._page(request, db, current_user, gateway, account=stored, returned=True)

    @post("/dashboard", name="payouts:dashboard", status_code=303)
    async def dashboard(self, request: AnyRequest, db: Db, current_user: CurrentUser, settings: AppSettings) -> Any:
        """A one-time login link to the agent's Stripe dashboard (bank details, tax documents)."""
        gateway = await self._stripe_site(db, current_user, settings)
        if gateway is None:
            return see_other(HOME)
        try:
            url = await onboarding.dashboard_link(db, gateway, user=current_user)
        except DomainError as error:
            return await self._page(request, db, current_user, gateway, error=error)
        return Redirect(path=url, status_code=303)


router = Router(path="/", route_handlers=[AgentPayoutsController])
