"""The marketplace's pages (the agent's Open shifts, the coordinator's hand-made shifts) and its JSON API.

A refusal on a page is shown on the page: a plain form post gets the page
with the refusal's status (409, 422), htmx gets 200 with the list re-rendered
in place (htmx does not swap error answers). The API answers the same
refusals as ``{message, field, request_id}``, and a refused claim adds the
``reasons`` as codes and sentences.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Controller, Response, delete, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import Tier, User, skill_label
from backend.accounts.schemas import FormPost
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone, user_zone
from backend.core.bounds import PathId, QueryId
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import day_label
from backend.core.i18n import gettext as _
from backend.core.money import decimal_text, format_money, parse_amount
from backend.core.security import requires
from backend.core.slots import local_start
from backend.core.templating import is_htmx, page, refused_status, retarget
from backend.core.web import (
    AnyRequest,
    CurrentPrincipal,
    Db,
    FormBody,
    act_on_page,
    json_error,
    parse_fields,
    see_other,
)
from backend.shifts import allocation, lottery, manage, market, waitlist
from backend.shifts.models import Shift
from backend.shifts.pay import PricedShift, ShiftPay, ShiftPayDependency
from backend.shifts.schemas import (
    CancelShiftForm,
    ClaimOut,
    NewShiftBody,
    OpenShiftEditForm,
    OpenShiftOut,
    OpenShiftsQuery,
    RequestedOut,
    SeatChangeOut,
    ShiftForm,
    ShiftOut,
    ShiftValues,
    WaitlistOut,
)

OPEN_PAGE = "shifts/open.html"
ROW = "shifts/_open_row.html"
ADMIN_PAGE = "shifts/admin_open.html"
EDIT_PAGE = "shifts/admin_open_edit.html"
FILTER_DAYS = 14
PAGE_SHIFTS = 12  # a page is whole days holding at least this many cards: a first answer of a few kilobytes


def open_url(*, day: str = "", skill: str = "", everything: bool = False, since: str = "") -> str:
    """The Open shifts address with its filters: the page, its next page, or one day's group."""
    query = {"day": day, "skill": skill, "all": "1" if everything else "", "since": since}
    filled = urlencode({key: value for key, value in query.items() if value})
    return f"/app/shifts/open?{filled}" if filled else "/app/shifts/open"


async def market_context(
    db: AsyncSession,
    agent: User,
    pay: ShiftPay,
    *,
    day: str = "",
    skill: str = "",
    everything: bool = False,
    since: str = "",
    only: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Open shifts as the page lists them: by default only what the agent can take or could after one tap,
    a page of whole days at a time (``since``: the day a next page starts), or ``only`` one shift's row."""
    now = utcnow()
    zone = user_zone(agent)
    today = now.astimezone(zone).date()
    chosen = parse_fields(OpenShiftsQuery, {"day": day, "since": since})
    view = await market.open_shifts_for(
        db,
        agent=agent,
        now=now,
        day=chosen.day,
        since=chosen.since,
        skill=skill or None,
        pay=pay,
        within_one_fix=not everything and only is None,
        page_shifts=None if only is not None else PAGE_SHIFTS,
        only=only,
    )
    context: dict[str, Any] = {
        "tab": "shifts",
        "user": agent,
        "market": view,
        "rules": view.settings,
        "day": day,
        "skill": skill,
        "everything": everything,
        "since": since,
        "open_url": partial(open_url, skill=skill, everything=everything),
        "days": [today + dt.timedelta(days=n) for n in range(FILTER_DAYS)],
        "day_label": lambda d: day_label(d, today),
        "error": None,
        "notice": None,
    }
    context.update(extra)
    return context


class OpenShiftsController(Controller):
    """The agent's Open shifts: claim in one tap, undo for a few minutes, queue for a full shift."""

    path = "/app/shifts/open"
    include_in_schema = False
    guards = [requires("agent")]

    async def _list(
        self, request: AnyRequest, db: AsyncSession, agent: User, pay: ShiftPay, *, status: int = 200, **extra: Any
    ) -> Template:
        context = await market_context(db, agent, pay, **extra)
        return retarget(request, page(request, OPEN_PAGE, context, status_code=status), "#open-shifts")

    async def _answer(
        self,
        request: AnyRequest,
        db: AsyncSession,
        agent: User,
        pay: ShiftPay,
        shift_id: int,
        *,
        error: DomainError | None = None,
    ) -> Template:
        """A refusal re-renders the whole list in place; otherwise htmx gets the one row back (or the list,
        when the row has left it)."""
        if error is not None:
            return await self._list(request, db, agent, pay, status=refused_status(request, error), error=error)
        context = await market_context(db, agent, pay, only=shift_id)
        item = next((i for i in context["market"].shifts if i.shift_id == shift_id), None)
        if item is None:
            return await self._list(request, db, agent, pay)
        return page(request, ROW, {**context, "item": item})

    async def _act(
        self, request: AnyRequest, db: AsyncSession, agent: User, pay: ShiftPay, shift_id: int, action: Any
    ) -> Any:
        """A browser without JavaScript is sent on to the row on the page."""
        return await act_on_page(
            request,
            db,
            lambda: action(db, shift_id=shift_id, agent=agent, now=utcnow()),
            render=partial(self._answer, request, db, agent, pay, shift_id),
            then=f"{self.path}#shift-{shift_id}",
        )

    @get("/", name="shifts:open")
    async def show(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_pay: ShiftPayDependency,
        day: str = "",
        skill: str = "",
        everything: Annotated[str, Parameter(query="all")] = "",
        since: str = "",
    ) -> Template:
        """What the agent can take, by day, a page at a time (``since``); ``all=1`` shows everything."""
        context = await market_context(
            db, current_user, shift_pay, day=day, skill=skill, everything=everything == "1", since=since
        )
        return page(request, OPEN_PAGE, context)

    @post("/{shift_id:int}/claim", name="shifts:claim", status_code=200)
    async def claim(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_pay: ShiftPayDependency,
        shift_id: PathId,
        data: FormPost,
    ) -> Any:
        response = await self._act(request, db, current_user, shift_pay, shift_id, market.claim_shift)
        if is_htmx(request) and "HX-Retarget" not in response.headers:
            response.headers["HX-Trigger"] = "shift-claimed"
        return response

    @post("/{shift_id:int}/undo", name="shifts:undo", status_code=200)
    async def undo(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_pay: ShiftPayDependency,
        shift_id: PathId,
        data: FormPost,
    ) -> Any:
        response = await self._act(request, db, current_user, shift_pay, shift_id, market.undo_claim)
        if is_htmx(request) and "HX-Retarget" not in response.headers:
            response.headers["HX-Trigger"] = "shift-released"
        return response

    @post("/{shift_id:int}/waitlist", name="shifts:waitlist-join", status_code=200)
    async def join(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_pay: ShiftPayDependency,
        shift_id: PathId,
        data: FormPost,
    ) -> Any:
        return await self._act(request, db, current_user, shift_pay, shift_id, waitlist.join_waitlist)

    @post("/{shift_id:int}/waitlist/leave", name="shifts:waitlist-leave", status_code=200)
    async def leave(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_pay: ShiftPayDependency,
        shift_id: PathId,
        data: FormPost,
    ) -> Any:
        return await self._act(request, db, current_user, shift_pay, shift_id, waitlist.leave_waitlist)

    @post("/{shift_id:int}/request/withdraw", name="shifts:request-withdraw", status_code=200)
    async def withdraw(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_pay: ShiftPayDependency,
        shift_id: PathId,
        data: FormPost,
    ) -> Any:
        return await self._act(request, db, current_user, shift_pay, shift_id, lottery.withdraw_request)


# Coordinators' page ------------------------------------------------------------------


def _draw_of(shift: Shift, zone: ZoneInfo) -> dict[str, Any]:
    """When a shift's request window closes, in the site's zone, and the seed its draw uses (for the record)."""
    close = shift.requests_close_at
    if close is None:
        return {"draw_at": None, "draw_seed": None}
    return {"draw_at": close.astimezone(zone), "draw_seed": lottery.draw_seed(shift.id, close)}


class StaffShiftsController(Controller):
    """A coordinator puts a shift on the marketplace by hand and sees the open ones."""

    path = "/admin/shifts"
    include_in_schema = False
    guards = [requires("coordinator")]

    async def _page(
        self, request: AnyRequest, db: AsyncSession, site_id: int, *, status: int = 200, **extra: Any
    ) -> Template:
        site = await accounts.get_site(db, site_id)
        zone = site_zone(site)
        now = utcnow()
        rows = await market.upcoming_open_shifts(db, site_id=site.id, now=now)
        requests = await lottery.requests_by_shift(db, shift_ids=[shift.id for shift, _skill, _waiting in rows])
        context: dict[str, Any] = {
            "zone": zone.key,
            "site_zone": zone,
            "rules": site_settings(site),
            "skills": [(skill.code, skill_label(skill)) for skill in await accounts.list_skills(db, site_id=site.id)],
            "shifts": [
                {
                    "id": shift.id,
                    "starts": local_start(shift.start_slot, zone),
                    "ends": local_start(shift.end_slot, zone),
                    "skill": skill_label(skill),
                    "seats": shift.seats,
                    "taken": shift.taken,
                    "waiting": waiting,
                    "requests": requests.get(shift.id, []),
                    **_draw_of(shift, zone),
                    "bonus": format_money(shift.bonus_minor, site_settings(site).currency) if shift.bonus_minor else "",
                }
                for shift, skill, waiting in rows
            ],
            "form": {
                "day": now.astimezone(zone).date().isoformat(),
                "start": "",
                "end": "",
                "seats": "1",
                "bonus": "0.00",
                "skill": "",
            },
            "error": None,
            "created": None,
            "edited": None,
            "cancelled": None,
        }
        context.update(extra)
        return page(request, ADMIN_PAGE, context, status_code=status)

    @get("/", name="shifts:admin")
    async def show(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        created: QueryId = None,
        edited: QueryId = None,
        cancelled: QueryId = None,
    ) -> Template:
        return await self._page(request, db, principal.site_id, created=created, edited=edited, cancelled=cancelled)

    async def _edit_page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        site_id: int,
        shift_id: int,
        *,
        form: dict[str, str] | None = None,
        error: DomainError | None = None,
        cancel_error: DomainError | None = None,
        reason: str = "",
    ) -> Template:
        site = await accounts.get_site(db, site_id)
        zone = site_zone(site)
        shift, skill = await manage.editable_shift(db, site_id=site.id, shift_id=shift_id, now=utcnow())
        starts, ends = local_start(shift.start_slot, zone), local_start(shift.end_slot, zone)
        settings = site_settings(site)
        context = {
            "zone": zone.key,
            "rules": settings,
            "shift": shift,
            "skill": skill_label(skill),
            "starts": starts,
            "ends": ends,
            "form": form
            or {
                "day": starts.date().isoformat(),
                "start": starts.strftime("%H:%M"),
                "end": ends.strftime("%H:%M"),
                "seats": str(shift.seats),
                "bonus": decimal_text(shift.bonus_minor),
            },
            "error": error,
            "cancel_error": cancel_error,
            "reason": reason,
        }
        return page(request, EDIT_PAGE, context, status_code=refused_status(request, error or cancel_error))

    @get("/open/{shift_id:int}/edit", name="shifts:admin-edit-form")
    async def edit_form(self, request: AnyRequest, db: Db, principal: CurrentPrincipal, shift_id: PathId) -> Template:
        """The open shift's edit form, with its cancel button (409 once it started or was cancelled)."""
        return await self._edit_page(request, db, principal.site_id, shift_id)

    @post("/open/{shift_id:int}/edit", name="shifts:admin-edit", status_code=303)
    async def edit(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        shift_id: PathId,
        data: Annotated[OpenShiftEditForm, FormBody],
    ) -> Any:
        site = await accounts.get_site(db, principal.site_id)
        try:
            async with db.begin_nested():
                values = parse_fields(ShiftValues, data)
                start, end = values.span(site_zone(site))
                await manage.edit_open_shift(
                    db,
                    site=site,
                    shift_id=shift_id,
                    seats=values.seats,
                    bonus_minor=parse_amount(data.bonus or "0", field="bonus"),
                    start=start,
                    end=end,
                    now=utcnow(),
                )
        except DomainError as error:
            if error.status_code == 404:
                raise
            form = {"day": data.day, "start": data.start, "end": data.end, "seats": data.seats, "bonus": data.bonus}
            return await self._edit_page(request, db, site.id, shift_id, form=form, error=error)
        return see_other(f"{self.path}?edited={shift_id}#shift-{shift_id}")

    @post("/open/{shift_id:int}/cancel", name="shifts:admin-cancel", status_code=303)
    async def cancel(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_id: PathId,
        data: Annotated[CancelShiftForm, FormBody],
    ) -> Any:
        site = await accounts.get_site(db, current_user.site_id)
        try:
            async with db.begin_nested():
                await manage.cancel_open_shift(
                    db, site=site, shift_id=shift_id, reason=data.reason, by=current_user, now=utcnow()
                )
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._edit_page(request, db, site.id, shift_id, cancel_error=error, reason=data.reason)
        return see_other(f"{self.path}?cancelled={shift_id}")

    @post("/", name="shifts:admin-create", status_code=303)
    async def create(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, data: Annotated[ShiftForm, FormBody]
    ) -> Any:
        site = await accounts.get_site(db, principal.site_id)
        try:
            async with db.begin_nested():
                values = parse_fields(ShiftValues, data)
                start, end = values.span(site_zone(site))
                shift = await market.create_open_shift(
                    db,
                    site=site,
                    skill=data.skill,
                    start=start,
                    end=end,
                    seats=values.seats,
                    bonus_minor=parse_amount(data.bonus or "0", field="bonus"),
                    created_by=principal.user_id,
                    now=utcnow(),
                )
        except DomainError as error:
            form = {"day": data.day, "start": data.start, "end": data.end, "seats": data.seats}
            form |= {"bonus": data.bonus, "skill": data.skill}
            status = refused_status(request, error)
            return await self._page(request, db, principal.site_id, status=status, error=error, form=form)
        if is_htmx(request):
            return await self._page(request, db, principal.site_id, created=shift.id)
        return see_other(f"{self.path}?created={shift.id}")


# The JSON API ----------------------------------------------------------------------------


def claim_refused(request: AnyRequest, refused: allocation.ClaimRefused) -> Response[Any]:
    """409 with the usual error body plus every reason, as codes a client can act on."""
    reasons = [{"code": reason.code.value, "message": reason.message} for reason in refused.reasons]
    return json_error(request, refused.status_code, refused.message, None, reasons=reasons)


class MarketApiController(Controller):
    """Open shifts as JSON: coordinators make them, agents list, claim, undo, release and queue."""

    path = "/api/v1/shifts"
    tags = ["shifts"]

    @post("/", name="api:shift-create", guards=[requires("coordinator")], status_code=201)
    async def create(
        self, db: Db, principal: CurrentPrincipal, shift_pay: ShiftPayDependency, data: NewShiftBody
    ) -> ShiftOut:
        """Put a shift on the marketplace now (201 with its ``id`` and what it pays each tier); a bad field is 422
        naming it."""
        site = await accounts.get_site(db, principal.site_id)
        shift = await market.create_open_shift(
            db,
            site=site,
            skill=data.skill,
            start=data.start,
            end=data.end,
            seats=data.seats,
            bonus_minor=data.bonus_minor,
            created_by=principal.user_id,
            now=utcnow(),
        )
        zone = site_zone(site)
        settings = site_settings(site)
        return ShiftOut(
            id=shift.id,
            skill=data.skill,
            start=local_start(shift.start_slot, zone),
            end=local_start(shift.end_slot, zone),
            seats=shift.seats,
            taken=shift.taken,
            bonus_minor=shift.bonus_minor,
            pay_by_tier_minor={
                tier.value: (await shift_pay(db, site=site, tier=tier, shifts=[PricedShift.of(shift)]))[shift.id]
                for tier in Tier
            },
            currency=settings.currency,
        )

    @get("/", name="api:shifts", guards=[requires("agent")])
    async def open_shifts(
        self,
        db: Db,
        current_user: CurrentUser,
        shift_pay: ShiftPayDependency,
        status: str = "open",
        day: str = "",
        skill: str = "",
    ) -> list[OpenShiftOut]:
        """Open shifts of my site, soonest first, with pay, my priority window and why I cannot take one."""
        if status != "open":
            raise DomainError(_("Only status=open is listed."), field="status")
        view = await market.open_shifts_for(
            db,
            agent=current_user,
            now=utcnow(),
            day=parse_fields(OpenShiftsQuery, {"day": day}).day,
            skill=skill or None,
            pay=shift_pay,
        )
        return [OpenShiftOut.of(item) for item in view.shifts]

    @post(
        "/{shift_id:int}/claim",
        name="api:shift-claim",
        guards=[requires("agent")],
        status_code=201,
        responses={
            200: ResponseSpec(ClaimOut, description="The seat was already yours.", generate_examples=False),
            201: ResponseSpec(ClaimOut, description="The seat is yours.", generate_examples=False),
            202: ResponseSpec(
                RequestedOut, description="Requested: seats are drawn at `draw_at`.", generate_examples=False
            ),
        },
    )
    async def claim(self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_id: PathId) -> Response[Any]:
        """201 with the new seat, 200 with the seat already held; 409 full, before my window, or ineligible.

        During the shift's request window: 202 ``{"status": "requested", "draw_at": ...}`` (seats are drawn then).
        """
        try:
            claim = await market.claim_shift(db, shift_id=shift_id, agent=current_user, now=utcnow())
        except allocation.ClaimRefused as refused:
            return claim_refused(request, refused)
        if isinstance(claim, lottery.Requested):
            return Response(content=RequestedOut(claim.shift_id, "requested", claim.draw_at), status_code=202)
        return Response(content=ClaimOut.of(claim), status_code=201 if claim.created else 200)

    @post("/{shift_id:int}/undo", name="api:shift-undo", guards=[requires("agent")], status_code=200)
    async def undo(self, db: Db, current_user: CurrentUser, shift_id: PathId) -> SeatChangeOut:
        """Give the seat back for free within the grace window after claiming."""
        await market.undo_claim(db, shift_id=shift_id, agent=current_user, now=utcnow())
        return SeatChangeOut(shift_id=shift_id, status="undone")

    @post("/{shift_id:int}/release", name="api:shift-release", guards=[requires("agent")], status_code=200)
    async def release(self, db: Db, current_user: CurrentUser, shift_id: PathId) -> SeatChangeOut:
        """Give a held shift back; after the site's cutoff the seat becomes a cover request (late release)."""
        await market.release_shift(db, shift_id=shift_id, agent=current_user, now=utcnow())
        return SeatChangeOut(shift_id=shift_id, status="released")

    @post("/{shift_id:int}/waitlist", name="api:shift-waitlist-join", guards=[requires("agent")], status_code=201)
    async def join(self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_id: PathId) -> Response[Any]:
        """Queue for a full shift I could otherwise take; answers my place in the queue."""
        try:
            position = await waitlist.join_waitlist(db, shift_id=shift_id, agent=current_user, now=utcnow())
        except allocation.ClaimRefused as refused:
            return claim_refused(request, refused)
        return Response(content=WaitlistOut(shift_id=shift_id, position=position), status_code=201)

    @delete("/{shift_id:int}/waitlist", name="api:shift-waitlist-leave", guards=[requires("agent")])
    async def leave(self, db: Db, current_user: CurrentUser, shift_id: PathId) -> None:
        await waitlist.leave_waitlist(db, shift_id=shift_id, agent=current_user, now=utcnow())

    @delete("/{shift_id:int}/request", name="api:shift-request-withdraw", guards=[requires("agent")])
    async def withdraw(self, db: Db, current_user: CurrentUser, shift_id: PathId) -> None:
        """Take back my request before the draw (204 also when there was none); 409 after the draw."""
        await lottery.withdraw_request(db, shift_id=shift_id, agent=current_user, now=utcnow())
