"""Cover requests on the web: the coordinator's page, the agent's one-tap "I'll cover", and the JSON API.

Refusals follow the marketplace's pages: a plain form post gets the page with
the refusal's status, htmx gets 200 with the list re-rendered in place. The
API answers ``{message, field, request_id}`` (a refused eligibility check adds
its ``reasons``, as a refused claim does).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import STAFF_ROLES, User, skill_label
from backend.accounts.schemas import FormPost
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone, user_zone
from backend.core.bounds import PathId, QueryId
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import day_label
from backend.core.i18n import gettext as _
from backend.core.money import parse_amount
from backend.core.security import Principal, requires
from backend.core.slots import local_start
from backend.core.templating import is_htmx, page, refused_status, retarget
from backend.core.web import AnyRequest, CurrentPrincipal, Db, FormBody, act_on_page, parse_fields, see_other
from backend.shifts import allocation, cover
from backend.shifts.market_routes import claim_refused
from backend.shifts.models import CoverReason, CoverStatus
from backend.shifts.pay import ShiftPay, ShiftPayDependency
from backend.shifts.schemas import CoverBody, CoverForm, CoverOut, CoverShiftValues, CoverValues

AGENT_PAGE = "shifts/cover.html"
OFFER = "shifts/_cover_offer.html"
STAFF_PAGE = "shifts/cover_admin.html"

# The agent's page ---------------------------------------------------------------------------


async def agent_context(db: AsyncSession, agent: User, pay: ShiftPay, **extra: Any) -> dict[str, Any]:
    now = utcnow()
    site = await accounts.get_site(db, agent.site_id)
    zone = user_zone(agent)
    today = now.astimezone(zone).date()
    offers = await cover.agent_requests(db, agent=agent, now=now)
    context: dict[str, Any] = {
        "tab": "shifts",
        "user": agent,
        "offers": offers,
        "pay": await pay(db, site=site, tier=agent.tier, shifts=[cover.priced(view) for view in offers]),
        "settings": site_settings(site),
        "zone": zone,
        "day_label": lambda d: day_label(d, today),
        "local": lambda slot: local_start(slot, zone),
        "skill_label": skill_label,
        "error": None,
    }
    context.update(extra)
    return context


class CoverAgentController(Controller):
    """Cover requests offered to me: one tap takes the seat, first come first served."""

    path = "/app/shifts/cover"
    include_in_schema = False
    guards = [requires("agent")]

    @get("/", name="cover:mine")
    async def show(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_pay: ShiftPayDependency
    ) -> Template:
        return page(request, AGENT_PAGE, await agent_context(db, current_user, shift_pay))

    async def _answer(
        self,
        request: AnyRequest,
        db: AsyncSession,
        agent: User,
        pay: ShiftPay,
        request_id: int,
        *,
        error: DomainError | None = None,
    ) -> Template:
        """A refusal re-renders the offers in place; otherwise htmx gets the one offer back (the whole list,
        when it has left it) and a ``shift-claimed`` event, so My schedule shows the new shift."""
        context = await agent_context(db, agent, pay, error=error)
        if error is not None:
            response = page(request, AGENT_PAGE, context, status_code=refused_status(request, error))
            return retarget(request, response, "#cover-offers")
        offer = next((view for view in context["offers"] if view.request.id == request_id), None)
        response = page(request, OFFER, {**context, "offer": offer}) if offer else page(request, AGENT_PAGE, context)
        response.headers["HX-Trigger"] = "shift-claimed"
        return response

    @post("/{request_id:int}/accept", name="cover:accept", status_code=200)
    async def accept(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_pay: ShiftPayDependency,
        request_id: PathId,
        data: FormPost,
    ) -> Any:
        return await act_on_page(
            request,
            db,
            lambda: cover.accept_cover(db, request_id=request_id, agent=current_user, now=utcnow()),
            render=partial(self._answer, request, db, current_user, shift_pay, request_id),
            then=f"{self.path}#cover-{request_id}",
        )


# The coordinator's page --------------------------------------------------------------------


class CoverStaffController(Controller):
    """Open cover requests with who was asked and who is next, and the form that raises one."""

    path = "/admin/cover"
    include_in_schema = False
    guards = [requires("coordinator")]

    async def _page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        site_id: int,
        *,
        shift: QueryId = None,
        error: DomainError | None = None,
        page_number: int = 1,
        **extra: Any,
    ) -> Template:
        site = await accounts.get_site(db, site_id)
        zone = site_zone(site)
        now = utcnow()
        number = max(page_number, 1)
        views = await cover.site_requests(db, site_id=site.id, now=now, page=number)
        total = await cover.site_request_count(db, site_id=site.id, now=now)
        coverable = await cover.coverable_shifts(db, site_id=site.id, now=now)
        chosen = next((c for c in coverable if c.shift.id == shift), None)
        context: dict[str, Any] = {
            "zone": zone.key,
            "settings": site_settings(site),
            "views": views,
            "next_up": {view.request.id: await cover.upcoming_ranking(db, view=view, now=now) for view in views},
            "coverable": coverable,
            "chosen": chosen,
            "local": lambda slot: local_start(slot, zone),
            "at_site": lambda moment: moment.astimezone(zone),
            "skill_label": skill_label,
            "form": {"absent_user": "", "reason": "no_show", "bonus": "0.00"},
            "error": error,
            "raised": None,
            "page_number": number,
            "pages": max(1, -(-total // cover.PAGE_SIZE)),
        }
        context.update(extra)
        return page(request, STAFF_PAGE, context, status_code=refused_status(request, error))

    @get("/", name="cover:admin")
    async def show(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        shift: QueryId = None,
        raised: QueryId = None,
        page: QueryId = None,
    ) -> Template:
        return await self._page(request, db, principal.site_id, shift=shift, raised=raised, page_number=page or 1)

    @post("/", name="cover:admin-raise", status_code=303)
    async def raise_cover(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, data: Annotated[CoverForm, FormBody]
    ) -> Any:
        site = await accounts.get_site(db, principal.site_id)
        shift_id = parse_fields(CoverShiftValues, data).shift_id
        try:
            async with db.begin_nested():
                values = parse_fields(CoverValues, data)
                raised = await cover.request_cover(
                    db,
                    site=site,
                    shift_id=shift_id,
                    absent_user_id=values.absent_user,
                    reason=CoverReason(values.reason),
                    bonus_minor=parse_amount(data.bonus or "0", field="bonus"),
                    by=principal.user_id,
                    now=utcnow(),
                )
        except DomainError as error:
            form = {"absent_user": data.absent_user, "reason": data.reason, "bonus": data.bonus}
            return await self._page(request, db, site.id, shift=shift_id, error=error, form=form)
        if is_htmx(request):
            return await self._page(request, db, site.id, raised=raised.id)
        return see_other(f"{self.path}?raised={raised.id}#cover-{raised.id}")

    async def _act(
        self, request: AnyRequest, db: AsyncSession, principal: Principal, request_id: int, action: Any
    ) -> Any:
        """A button on a request: refused on the page (a request that is not the site's is Not found)."""
        return await act_on_page(
            request,
            db,
            action,
            render=partial(self._page, request, db, principal.site_id),
            then=f"{self.path}#cover-{request_id}",
            raised={404},
        )

    @post("/{request_id:int}/wave", name="cover:admin-wave", status_code=303)
    async def wave(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, request_id: PathId, data: FormPost
    ) -> Any:
        """Ask the next wave now rather than when it is due."""

        async def send() -> None:
            found = await cover.cover_request_of(db, request_id=request_id, site_id=principal.site_id)
            if found.status is not CoverStatus.open:
                raise DomainError(_("This cover request is no longer open."))
            await cover.send_next_wave(db, request_id=found.id, now=utcnow())

        return await self._act(request, db, principal, request_id, send)

    @post("/{request_id:int}/cancel", name="cover:admin-cancel", status_code=303)
    async def cancel(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, request_id: PathId, data: FormPost
    ) -> Any:
        return await self._act(
            request,
            db,
            principal,
            request_id,
            lambda: cover.cancel_cover(db, request_id=request_id, site_id=principal.site_id, now=utcnow()),
        )


# The JSON API ----------------------------------------------------------------------------------


async def _out(db: AsyncSession, principal: Principal, request_id: int, *, staff: bool) -> CoverOut:
    site = await accounts.get_site(db, principal.site_id)
    view = await cover.cover_view(db, request_id=request_id, site_id=site.id)
    return CoverOut.of(view, site_settings(site), site_zone(site), staff=staff)


async def _agent_out(db: AsyncSession, agent: User, pay: ShiftPay, views: list[cover.CoverView]) -> list[CoverOut]:
    """Cover requests as one agent sees them: each with what covering pays them."""
    site = await accounts.get_site(db, agent.site_id)
    priced = await pay(db, site=site, tier=agent.tier, shifts=[cover.priced(view) for view in views])
    settings, zone = site_settings(site), site_zone(site)
    return [CoverOut.of(view, settings, zone, staff=False, pay_minor=priced[view.shift.id]) for view in views]


class CoverApiController(Controller):
    """Cover as JSON: coordinators raise and list a site's requests; agents list theirs and accept."""

    path = "/api/v1"
    tags = ["cover"]

    @post("/shifts/{shift_id:int}/cover", name="api:cover-raise", guards=[requires("coordinator")], status_code=201)
    async def raise_cover(self, db: Db, principal: CurrentPrincipal, shift_id: PathId, data: CoverBody) -> CoverOut:
        """Free the absent agent's seat (or add one when ``absent_user`` is null) and ask the first wave."""
        site = await accounts.get_site(db, principal.site_id)
        raised = await cover.request_cover(
            db,
            site=site,
            shift_id=shift_id,
            absent_user_id=data.absent_user,
            reason=CoverReason(data.reason),
            bonus_minor=data.bonus_minor,
            by=principal.user_id,
            now=utcnow(),
        )
        return await _out(db, principal, raised.id, staff=True)

    @get("/cover-requests", name="api:cover-requests", guards=[requires("agent", "coordinator")])
    async def list_requests(
        self, db: Db, principal: CurrentPrincipal, current_user: CurrentUser, shift_pay: ShiftPayDependency
    ) -> list[CoverOut]:
        """Coordinators: the site's open requests and the last day's closed ones. Agents: the ones offered to me."""
        site = await accounts.get_site(db, principal.site_id)
        settings, zone, now = site_settings(site), site_zone(site), utcnow()
        if principal.role in STAFF_ROLES:
            views = await cover.site_requests(db, site_id=site.id, now=now)
            return [CoverOut.of(view, settings, zone, staff=True) for view in views]
        return await _agent_out(
            db, current_user, shift_pay, await cover.agent_requests(db, agent=current_user, now=now)
        )

    @post(
        "/cover-requests/{request_id:int}/accept", name="api:cover-accept", guards=[requires("agent")], status_code=200
    )
    async def accept(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_pay: ShiftPayDependency,
        request_id: PathId,
    ) -> Response[Any]:
        """Take the cover seat: first acceptance wins; 409 once covered or if a rule refuses me."""
        try:
            await cover.accept_cover(db, request_id=request_id, agent=current_user, now=utcnow())
        except allocation.ClaimRefused as refused:
            return claim_refused(request, refused)
        view = await cover.cover_view(db, request_id=request_id, site_id=current_user.site_id)
        (answer,) = await _agent_out(db, current_user, shift_pay, [view])
        return Response(content=answer, status_code=200)

    @post(
        "/cover-requests/{request_id:int}/cancel",
        name="api:cover-cancel",
        guards=[requires("coordinator")],
        status_code=200,
    )
    async def cancel(self, db: Db, principal: CurrentPrincipal, request_id: PathId) -> CoverOut:
        """Stop asking; an emergency's extra seat goes away again if nobody took it."""
        await cover.cancel_cover(db, request_id=request_id, site_id=principal.site_id, now=utcnow())
        return await _out(db, principal, request_id, staff=True)
