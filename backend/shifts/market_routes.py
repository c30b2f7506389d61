"""The marketplace's pages (the agent's Open shifts, the coordinator's hand-made shifts) and its JSON API.

A refusal on a page is shown on the page: a plain form post gets the page
with the refusal's status (409, 422), htmx gets 200 with the list re-rendered
in place (htmx does not swap error answers). The API answers the same
refusals as ``{message, field, request_id}``, and a refused claim adds the
``reasons`` as codes and sentences.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import User
from backend.accounts.schemas import Form
from backend.accounts.site_settings import site_settings
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.money import format_money
from backend.core.security import Principal, requires
from backend.core.slots import local_start
from backend.core.templating import is_htmx, page, refused_status
from backend.core.web import CurrentPrincipal, Db, FormBody, json_error, see_other
from backend.demand.service import site_zone
from backend.shifts import allocation, lottery, market, waitlist
from backend.shifts.models import Shift
from backend.shifts.schemas import (
    ClaimOut,
    NewShiftBody,
    OpenShiftOut,
    SeatChangeOut,
    ShiftForm,
    ShiftOut,
    WaitlistOut,
)
from backend.shifts.views import day_label

OPEN_PAGE = "shifts/open.html"
ROW = "shifts/_open_row.html"
ADMIN_PAGE = "shifts/admin_open.html"
FILTER_DAYS = 14


def parse_day(text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise DomainError(_("Choose a day from the list."), field="day") from None


async def market_context(
    db: AsyncSession, agent: User, *, day: str = "", skill: str = "", **extra: Any
) -> dict[str, Any]:
    now = utcnow()
    zone = ZoneInfo(agent.timezone)
    today = now.astimezone(zone).date()
    view = await market.open_shifts_for(db, agent=agent, now=now, day=parse_day(day), skill=skill or None)
    context: dict[str, Any] = {
        "tab": "shifts",
        "user": agent,
        "market": view,
        "rules": view.settings,
        "day": day,
        "skill": skill,
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
        self, request: Request[Any, Any, Any], db: AsyncSession, agent: User, *, status: int = 200, **extra: Any
    ) -> Template:
        context = await market_context(db, agent, **extra)
        response = page(request, OPEN_PAGE, context, status_code=status)
        if is_htmx(request):
            response.headers["HX-Retarget"] = "#open-shifts"
            response.headers["HX-Reswap"] = "outerHTML"
            response.headers["HX-Reselect"] = "#open-shifts"
        return response

    async def _row(self, request: Request[Any, Any, Any], db: AsyncSession, agent: User, shift_id: int) -> Any:
        """htmx gets the one row back; a browser without JavaScript is sent to the row on the page."""
        if not is_htmx(request):
            return see_other(f"{self.path}#shift-{shift_id}")
        context = await market_context(db, agent)
        item = next((i for i in context["market"].shifts if i.shift_id == shift_id), None)
        if item is None:
            return await self._list(request, db, agent)
        return page(request, ROW, {**context, "item": item})

    async def _act(
        self, request: Request[Any, Any, Any], db: AsyncSession, principal: Principal, shift_id: int, action: Any
    ) -> Any:
        agent = await accounts.get_user(db, principal.user_id)
        try:
            async with db.begin_nested():
                await action(db, shift_id=shift_id, agent=agent, now=utcnow())
        except DomainError as error:
            return await self._list(request, db, agent, status=refused_status(request, error), error=error)
        return await self._row(request, db, agent, shift_id)

    @get("/", name="shifts:open")
    async def show(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, day: str = "", skill: str = ""
    ) -> Template:
        agent = await accounts.get_user(db, principal.user_id)
        return page(request, OPEN_PAGE, await market_context(db, agent, day=day, skill=skill))

    @post("/{shift_id:int}/claim", name="shifts:claim", status_code=200)
    async def claim(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        response = await self._act(request, db, principal, shift_id, market.claim_shift)
        if is_htmx(request) and "HX-Retarget" not in response.headers:
            response.headers["HX-Trigger"] = "shift-claimed"
        return response

    @post("/{shift_id:int}/undo", name="shifts:undo", status_code=200)
    async def undo(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        return await self._act(request, db, principal, shift_id, market.undo_claim)

    @post("/{shift_id:int}/waitlist", name="shifts:waitlist-join", status_code=200)
    async def join(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        return await self._act(request, db, principal, shift_id, waitlist.join_waitlist)

    @post("/{shift_id:int}/waitlist/leave", name="shifts:waitlist-leave", status_code=200)
    async def leave(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        return await self._act(request, db, principal, shift_id, waitlist.leave_waitlist)

    @post("/{shift_id:int}/request/withdraw", name="shifts:request-withdraw", status_code=200)
    async def withdraw(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        return await self._act(request, db, principal, shift_id, lottery.withdraw_request)


# Coordinators' page ------------------------------------------------------------------


def _int_field(text: str, name: str) -> int:
    try:
        return int(text.strip() or "0")
    except ValueError:
        raise DomainError(_("Enter a whole number."), field=name) from None


def _times(form: ShiftForm, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The form's local day and clock times as aware datetimes; an end before the start is on the next day."""
    day = parse_day(form.day)
    if day is None:
        raise DomainError(_("Choose a day."), field="day")
    clocks = []
    for name, text in (("start", form.start), ("end", form.end)):
        try:
            clocks.append(dt.time.fromisoformat(text))
        except ValueError:
            raise DomainError(_("Enter a time like 18:00."), field=name) from None
    start = dt.datetime.combine(day, clocks[0], tzinfo=zone)
    end = dt.datetime.combine(day, clocks[1], tzinfo=zone)
    if end <= start:
        end = dt.datetime.combine(day + dt.timedelta(days=1), clocks[1], tzinfo=zone)
    return start, end


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
        self, request: Request[Any, Any, Any], db: AsyncSession, site_id: int, *, status: int = 200, **extra: Any
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
            "skills": [
                (skill.code, allocation.skill_label(skill)) for skill in await accounts.list_skills(db, site_id=site.id)
            ],
            "shifts": [
                {
                    "id": shift.id,
                    "starts": local_start(shift.start_slot, zone),
                    "ends": local_start(shift.end_slot, zone),
                    "skill": allocation.skill_label(skill),
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
                "bonus_minor": "0",
                "skill": "",
            },
            "error": None,
            "created": None,
        }
        context.update(extra)
        return page(request, ADMIN_PAGE, context, status_code=status)

    @get("/", name="shifts:admin")
    async def show(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, created: int | None = None
    ) -> Template:
        return await self._page(request, db, principal.site_id, created=created)

    @post("/", name="shifts:admin-create", status_code=303)
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        data: Annotated[ShiftForm, FormBody],
    ) -> Any:
        site = await accounts.get_site(db, principal.site_id)
        try:
            async with db.begin_nested():
                start, end = _times(data, site_zone(site))
                shift = await market.create_open_shift(
                    db,
                    site=site,
                    skill=data.skill,
                    start=start,
                    end=end,
                    seats=_int_field(data.seats, "seats"),
                    bonus_minor=_int_field(data.bonus_minor, "bonus_minor"),
                    created_by=principal.user_id,
                    now=utcnow(),
                )
        except DomainError as error:
            form = {"day": data.day, "start": data.start, "end": data.end, "seats": data.seats}
            form |= {"bonus_minor": data.bonus_minor, "skill": data.skill}
            status = refused_status(request, error)
            return await self._page(request, db, principal.site_id, status=status, error=error, form=form)
        if is_htmx(request):
            return await self._page(request, db, principal.site_id, created=shift.id)
        return see_other(f"{self.path}?created={shift.id}")


# The JSON API ----------------------------------------------------------------------------


class RequestedOut(msgspec.Struct):
    """A claim during the request window: recorded, and the seats are drawn at ``draw_at``."""

    shift_id: int
    status: Literal["requested"]
    draw_at: dt.datetime


def claim_refused(request: Request[Any, Any, Any], refused: allocation.ClaimRefused) -> Response[Any]:
    """409 with the usual error body plus every reason, as codes a client can act on."""
    reasons = [{"code": reason.code.value, "message": reason.message} for reason in refused.reasons]
    return json_error(request, refused.status_code, refused.message, None, reasons=reasons)


class MarketApiController(Controller):
    """Open shifts as JSON: coordinators make them, agents list, claim, undo, release and queue."""

    path = "/api/v1/shifts"
    tags = ["shifts"]

    @post("/", name="api:shift-create", guards=[requires("coordinator")], status_code=201)
    async def create(self, db: Db, principal: CurrentPrincipal, data: NewShiftBody) -> ShiftOut:
        """Put a shift on the marketplace now (201 with its ``id``); a bad field is 422 naming it."""
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
            pay_minor=allocation.pay_minor(shift, settings),
            currency=settings.currency,
        )

    @get("/", name="api:shifts", guards=[requires("agent")])
    async def open_shifts(
        self, db: Db, principal: CurrentPrincipal, status: str = "open", day: str = "", skill: str = ""
    ) -> list[OpenShiftOut]:
        """Open shifts of my site, soonest first, with pay, my priority window and why I cannot take one."""
        if status != "open":
            raise DomainError(_("Only status=open is listed."), field="status")
        agent = await accounts.get_user(db, principal.user_id)
        view = await market.open_shifts_for(db, agent=agent, now=utcnow(), day=parse_day(day), skill=skill or None)
        return [OpenShiftOut.of(item) for item in view.shifts]

    @post("/{shift_id:int}/claim", name="api:shift-claim", guards=[requires("agent")], status_code=201)
    async def claim(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, shift_id: int
    ) -> Response[Any]:
        """201 with the new seat, 200 with the seat already held; 409 full, before my window, or ineligible.

        During the shift's request window: 202 ``{"status": "requested", "draw_at": ...}`` (seats are drawn then).
        """
        agent = await accounts.get_user(db, principal.user_id)
        try:
            claim = await market.claim_shift(db, shift_id=shift_id, agent=agent, now=utcnow())
        except allocation.ClaimRefused as refused:
            return claim_refused(request, refused)
        if isinstance(claim, lottery.Requested):
            return Response(content=RequestedOut(claim.shift_id, "requested", claim.draw_at), status_code=202)
        return Response(content=ClaimOut.of(claim), status_code=201 if claim.created else 200)

    @post("/{shift_id:int}/undo", name="api:shift-undo", guards=[requires("agent")], status_code=200)
    async def undo(self, db: Db, principal: CurrentPrincipal, shift_id: int) -> SeatChangeOut:
        """Give the seat back for free within the grace window after claiming."""
        agent = await accounts.get_user(db, principal.user_id)
        await market.undo_claim(db, shift_id=shift_id, agent=agent, now=utcnow())
        return SeatChangeOut(shift_id=shift_id, status="undone")

    @post("/{shift_id:int}/release", name="api:shift-release", guards=[requires("agent")], status_code=200)
    async def release(self, db: Db, principal: CurrentPrincipal, shift_id: int) -> SeatChangeOut:
        """Give a held shift back; after the site's cutoff the seat becomes a cover request (late release)."""
        agent = await accounts.get_user(db, principal.user_id)
        await market.release_shift(db, shift_id=shift_id, agent=agent, now=utcnow())
        return SeatChangeOut(shift_id=shift_id, status="released")

    @post("/{shift_id:int}/waitlist", name="api:shift-waitlist-join", guards=[requires("agent")], status_code=201)
    async def join(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, shift_id: int
    ) -> Response[Any]:
        """Queue for a full shift I could otherwise take; answers my place in the queue."""
        agent = await accounts.get_user(db, principal.user_id)
        try:
            position = await waitlist.join_waitlist(db, shift_id=shift_id, agent=agent, now=utcnow())
        except allocation.ClaimRefused as refused:
            return claim_refused(request, refused)
        return Response(content=WaitlistOut(shift_id=shift_id, position=position), status_code=201)

    @delete("/{shift_id:int}/waitlist", name="api:shift-waitlist-leave", guards=[requires("agent")])
    async def leave(self, db: Db, principal: CurrentPrincipal, shift_id: int) -> None:
        agent = await accounts.get_user(db, principal.user_id)
        await waitlist.leave_waitlist(db, shift_id=shift_id, agent=agent, now=utcnow())

    @delete("/{shift_id:int}/request", name="api:shift-request-withdraw", guards=[requires("agent")])
    async def withdraw(self, db: Db, principal: CurrentPrincipal, shift_id: int) -> None:
        """Take back my request before the draw (204 also when there was none); 409 after the draw."""
        agent = await accounts.get_user(db, principal.user_id)
        await lottery.withdraw_request(db, shift_id=shift_id, agent=agent, now=utcnow())
