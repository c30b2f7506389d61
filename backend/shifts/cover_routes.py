"""Cover requests on the web: the coordinator's page, the agent's one-tap "I'll cover", and the JSON API.

Refusals follow the marketplace's pages: a plain form post gets the page with
the refusal's status, htmx gets 200 with the list re-rendered in place. The
API answers ``{message, field, request_id}`` (a refused eligibility check adds
its ``reasons``, as a refused claim does).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import User
from backend.accounts.schemas import Form
from backend.accounts.site_settings import SiteSettings, site_settings
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.security import Principal, requires
from backend.core.slots import local_start
from backend.core.templating import is_htmx, page, refused_status
from backend.core.web import CurrentPrincipal, Db, FormBody, see_other
from backend.demand.service import site_zone
from backend.shifts import allocation, cover
from backend.shifts.market_routes import claim_refused
from backend.shifts.models import CoverReason, CoverStatus
from backend.shifts.views import day_label

AGENT_PAGE = "shifts/cover.html"
OFFER = "shifts/_cover_offer.html"
STAFF_PAGE = "shifts/cover_admin.html"
STAFF_ROLES = frozenset({"coordinator", "admin"})

BonusMinor = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]


class CoverBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A coordinator's cover request: who did not come (null: one more seat is needed), why, and the bonus."""

    reason: Literal["no_show", "emergency"]
    absent_user: int | None = None
    bonus_minor: BonusMinor = 0


class AskedOut(msgspec.Struct):
    user_id: int
    name: str
    wave: int
    rank: int
    why: list[str]


class CoverOut(msgspec.Struct):
    """A cover request; ``asked`` (who each wave asked, and why there) is shown to coordinators only."""

    id: int
    shift_id: int
    skill: str
    start: dt.datetime
    end: dt.datetime
    reason: str
    status: str
    absent_user: int | None
    bonus_minor: int
    pay_minor: int
    currency: str
    wave: int
    next_wave_at: dt.datetime | None
    covered_by: int | None
    covered_at: dt.datetime | None
    created_at: dt.datetime
    asked: list[AskedOut]

    @classmethod
    def of(cls, view: cover.CoverView, settings: SiteSettings, zone: ZoneInfo, *, staff: bool) -> CoverOut:
        request = view.request
        return cls(
            id=request.id,
            shift_id=view.shift.id,
            skill=view.skill.code,
            start=local_start(view.shift.start_slot, zone),
            end=local_start(view.shift.end_slot, zone),
            reason=request.reason.value,
            status=request.status.value,
            absent_user=request.absent_user_id if staff else None,
            bonus_minor=request.bonus_minor,
            pay_minor=cover.cover_pay_minor(view, settings),
            currency=settings.currency,
            wave=request.wave,
            next_wave_at=request.next_wave_at,
            covered_by=request.covered_by_id,
            covered_at=request.covered_at,
            created_at=request.created_at,
            asked=[AskedOut(a.user_id, a.name, a.wave, a.rank, a.why) for a in view.asked] if staff else [],
        )


class CoverForm(Form):
    """The coordinator's form: the shift, who did not come ("" for one more seat), why, and the bonus."""

    shift_id: Annotated[str, msgspec.Meta(max_length=20)]
    reason: Annotated[str, msgspec.Meta(max_length=20)]
    absent_user: Annotated[str, msgspec.Meta(max_length=20)] = ""
    bonus_minor: Annotated[str, msgspec.Meta(max_length=9)] = "0"


def _whole(text: str, name: str, *, optional: bool = False) -> int | None:
    if optional and not text.strip():
        return None
    try:
        return int(text.strip() or "0")
    except ValueError:
        raise DomainError(_("Enter a whole number."), field=name) from None


def _reason(text: str) -> CoverReason:
    """A coordinator raises cover for a no-show or an emergency; a late release is the agent's own doing."""
    if text not in {reason.value for reason in cover.RAISED_BY_COORDINATOR}:
        raise DomainError(_("Choose no-show or emergency."), field="reason")
    return CoverReason(text)


# The agent's page ---------------------------------------------------------------------------


async def agent_context(db: AsyncSession, agent: User, **extra: Any) -> dict[str, Any]:
    now = utcnow()
    site = await accounts.get_site(db, agent.site_id)
    zone = ZoneInfo(agent.timezone)
    today = now.astimezone(zone).date()
    context: dict[str, Any] = {
        "tab": "shifts",
        "user": agent,
        "offers": await cover.agent_requests(db, agent=agent, now=now),
        "settings": site_settings(site),
        "zone": zone,
        "day_label": lambda d: day_label(d, today),
        "local": lambda slot: local_start(slot, zone),
        "pay": cover.cover_pay_minor,
        "skill_label": allocation.skill_label,
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
    async def show(self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal) -> Template:
        agent = await accounts.get_user(db, principal.user_id)
        return page(request, AGENT_PAGE, await agent_context(db, agent))

    @post("/{request_id:int}/accept", name="cover:accept", status_code=200)
    async def accept(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        request_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        agent = await accounts.get_user(db, principal.user_id)
        try:
            async with db.begin_nested():
                await cover.accept_cover(db, request_id=request_id, agent=agent, now=utcnow())
        except DomainError as error:
            context = await agent_context(db, agent, error=error)
            response = page(request, AGENT_PAGE, context, status_code=refused_status(request, error))
            if is_htmx(request):
                response.headers["HX-Retarget"] = "#cover-offers"
                response.headers["HX-Reswap"] = "outerHTML"
                response.headers["HX-Reselect"] = "#cover-offers"
            return response
        if not is_htmx(request):
            return see_other(f"{self.path}#cover-{request_id}")
        context = await agent_context(db, agent)
        offer = next((view for view in context["offers"] if view.request.id == request_id), None)
        response = page(request, OFFER, {**context, "offer": offer}) if offer else page(request, AGENT_PAGE, context)
        response.headers["HX-Trigger"] = "shift-claimed"
        return response


# The coordinator's page --------------------------------------------------------------------


class CoverStaffController(Controller):
    """Open cover requests with who was asked and who is next, and the form that raises one."""

    path = "/admin/cover"
    include_in_schema = False
    guards = [requires("coordinator")]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        site_id: int,
        *,
        shift: int | None = None,
        status: int = 200,
        **extra: Any,
    ) -> Template:
        site = await accounts.get_site(db, site_id)
        zone = site_zone(site)
        now = utcnow()
        views = await cover.site_requests(db, site_id=site.id, now=now)
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
            "pay": cover.cover_pay_minor,
            "skill_label": allocation.skill_label,
            "form": {"absent_user": "", "reason": "no_show", "bonus_minor": "0"},
            "error": None,
            "raised": None,
        }
        context.update(extra)
        return page(request, STAFF_PAGE, context, status_code=status)

    @get("/", name="cover:admin")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift: int | None = None,
        raised: int | None = None,
    ) -> Template:
        return await self._page(request, db, principal.site_id, shift=shift, raised=raised)

    @post("/", name="cover:admin-raise", status_code=303)
    async def raise_cover(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        data: Annotated[CoverForm, FormBody],
    ) -> Any:
        site = await accounts.get_site(db, principal.site_id)
        shift_id = _whole(data.shift_id, "shift_id") or 0
        try:
            async with db.begin_nested():
                raised = await cover.request_cover(
                    db,
                    site=site,
                    shift_id=shift_id,
                    absent_user_id=_whole(data.absent_user, "absent_user", optional=True),
                    reason=_reason(data.reason),
                    bonus_minor=_whole(data.bonus_minor, "bonus_minor") or 0,
                    by=principal.user_id,
                    now=utcnow(),
                )
        except DomainError as error:
            form = {"absent_user": data.absent_user, "reason": data.reason, "bonus_minor": data.bonus_minor}
            status = refused_status(request, error)
            return await self._page(request, db, site.id, shift=shift_id, status=status, error=error, form=form)
        if is_htmx(request):
            return await self._page(request, db, site.id, raised=raised.id)
        return see_other(f"{self.path}?raised={raised.id}#cover-{raised.id}")

    async def _act(self, request: Request[Any, Any, Any], db: AsyncSession, principal: Principal, action: Any) -> Any:
        try:
            async with db.begin_nested():
                request_id = await action()
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._page(request, db, principal.site_id, status=refused_status(request, error), error=error)
        if is_htmx(request):
            return await self._page(request, db, principal.site_id)
        return see_other(f"{self.path}#cover-{request_id}")

    @post("/{request_id:int}/wave", name="cover:admin-wave", status_code=303)
    async def wave(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        request_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        """Ask the next wave now rather than when it is due."""

        async def send() -> int:
            found = await cover.cover_request_of(db, request_id=request_id, site_id=principal.site_id)
            if found.status is not CoverStatus.open:
                raise DomainError(_("This cover request is no longer open."))
            await cover.send_next_wave(db, request_id=found.id, now=utcnow())
            return found.id

        return await self._act(request, db, principal, send)

    @post("/{request_id:int}/cancel", name="cover:admin-cancel", status_code=303)
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        request_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        async def stop() -> int:
            await cover.cancel_cover(db, request_id=request_id, site_id=principal.site_id, now=utcnow())
            return request_id

        return await self._act(request, db, principal, stop)


# The JSON API ----------------------------------------------------------------------------------


async def _out(db: AsyncSession, principal: Principal, request_id: int, *, staff: bool) -> CoverOut:
    site = await accounts.get_site(db, principal.site_id)
    view = await cover.cover_view(db, request_id=request_id, site_id=site.id)
    return CoverOut.of(view, site_settings(site), site_zone(site), staff=staff)


class CoverApiController(Controller):
    """Cover as JSON: coordinators raise and list a site's requests; agents list theirs and accept."""

    path = "/api/v1"
    tags = ["cover"]

    @post("/shifts/{shift_id:int}/cover", name="api:cover-raise", guards=[requires("coordinator")], status_code=201)
    async def raise_cover(self, db: Db, principal: CurrentPrincipal, shift_id: int, data: CoverBody) -> CoverOut:
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
    async def list_requests(self, db: Db, principal: CurrentPrincipal) -> list[CoverOut]:
        """Coordinators: the site's open requests and the last day's closed ones. Agents: the ones offered to me."""
        site = await accounts.get_site(db, principal.site_id)
        settings, zone, now = site_settings(site), site_zone(site), utcnow()
        if principal.role in STAFF_ROLES:
            views = await cover.site_requests(db, site_id=site.id, now=now)
            return [CoverOut.of(view, settings, zone, staff=True) for view in views]
        agent = await accounts.get_user(db, principal.user_id)
        views = await cover.agent_requests(db, agent=agent, now=now)
        return [CoverOut.of(view, settings, zone, staff=False) for view in views]

    @post(
        "/cover-requests/{request_id:int}/accept", name="api:cover-accept", guards=[requires("agent")], status_code=200
    )
    async def accept(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, request_id: int
    ) -> Response[Any]:
        """Take the cover seat: first acceptance wins; 409 once covered or if a rule refuses me."""
        agent = await accounts.get_user(db, principal.user_id)
        try:
            await cover.accept_cover(db, request_id=request_id, agent=agent, now=utcnow())
        except allocation.ClaimRefused as refused:
            return claim_refused(request, refused)
        return Response(content=await _out(db, principal, request_id, staff=False), status_code=200)

    @post(
        "/cover-requests/{request_id:int}/cancel",
        name="api:cover-cancel",
        guards=[requires("coordinator")],
        status_code=200,
    )
    async def cancel(self, db: Db, principal: CurrentPrincipal, request_id: int) -> CoverOut:
        """Stop asking; an emergency's extra seat goes away again if nobody took it."""
        await cover.cancel_cover(db, request_id=request_id, site_id=principal.site_id, now=utcnow())
        return await _out(db, principal, request_id, staff=True)
