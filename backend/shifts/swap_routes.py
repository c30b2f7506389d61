"""Swaps on the agent's phone (offer from My schedule, answer on the Swaps page), the coordinator's approvals, the API.

As on the marketplace's pages, a refusal is shown on the page: a plain form
post gets the page with the refusal's status, htmx gets 200 with the list
re-rendered in place. The API answers ``{message, field, request_id}`` and adds
``reasons`` when eligibility refused (409 for an acceptor, 422 on ``to`` for a
named agent).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import User
from backend.accounts.schemas import Form
from backend.accounts.site_settings import site_settings
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.security import requires
from backend.core.slots import local_start
from backend.core.templating import is_htmx, page, refused_status
from backend.core.web import CurrentPrincipal, Db, FormBody, json_error, see_other
from backend.shifts import allocation, swaps
from backend.shifts.market_routes import claim_refused
from backend.shifts.models import ShiftSwap
from backend.shifts.views import day_label

SWAPS_PAGE = "shifts/swaps.html"
OFFER_PAGE = "shifts/swap_offer.html"
ADMIN_PAGE = "shifts/swaps_admin.html"
UserId = Annotated[int, msgspec.Meta(ge=1)]
# What a form post did, shown once on the page it lands on.
DONE = frozenset({"offered", "accepted", "declined", "cancelled"})


# What crosses the edge ----------------------------------------------------------------


class SwapBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``to``: the agent to offer the shift to, or null for everyone eligible."""

    to: UserId | None = None


class SwapForm(Form):
    to: Annotated[str, msgspec.Meta(max_length=20)] = ""


class ReasonOut(msgspec.Struct):
    code: str
    message: str


class SwapOut(msgspec.Struct):
    """A swap as its parties see it; ``status`` is ``expired`` once the shift started or left the giver."""

    id: int
    shift_id: int
    skill_name: str
    start: dt.datetime
    end: dt.datetime
    from_user_id: int
    from_name: str
    to_user_id: int | None
    to_name: str | None
    accepted_by_id: int | None
    status: str
    needs_approval: bool
    waiting_approval: bool
    can_accept: bool
    reasons: list[ReasonOut]

    @classmethod
    def of(cls, view: swaps.SwapView) -> SwapOut:
        return cls(
            id=view.id,
            shift_id=view.shift_id,
            skill_name=view.skill_name,
            start=view.starts,
            end=view.ends,
            from_user_id=view.from_user_id,
            from_name=view.from_name,
            to_user_id=view.to_user_id,
            to_name=view.to_name,
            accepted_by_id=view.accepted_by_id,
            status=view.status.value,
            needs_approval=view.needs_approval,
            waiting_approval=view.waiting_approval,
            can_accept=view.can_accept,
            reasons=[ReasonOut(r.code.value, r.message) for r in view.reasons],
        )


class SwapsOut(msgspec.Struct):
    """Mine: offered to me by name, offered by me, and open offers I could take."""

    to_me: list[SwapOut]
    mine: list[SwapOut]
    open: list[SwapOut]


class SwapChangeOut(msgspec.Struct):
    id: int
    shift_id: int
    status: str
    waiting_approval: bool

    @classmethod
    def of(cls, swap: ShiftSwap) -> SwapChangeOut:
        return cls(swap.id, swap.shift_id, swap.status.value, swaps.waiting_approval(swap))


def swap_refused(request: Request[Any, Any, Any], refused: swaps.SwapRefused) -> Response[Any]:
    """422 on ``to`` with every reason the named agent cannot take the shift."""
    reasons = [{"code": reason.code.value, "message": reason.message} for reason in refused.reasons]
    return json_error(request, refused.status_code, refused.message, refused.field, reasons=reasons)


def _to_user_id(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise DomainError(_("Choose an agent from the list."), field="to") from None


# The agent's pages --------------------------------------------------------------------


class SwapPagesController(Controller):
    """Offer a shift from My schedule; answer, take and withdraw offers on the Swaps page."""

    path = "/app/shifts"
    include_in_schema = False
    guards = [requires("agent")]

    async def _board(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        agent: User,
        *,
        status: int = 200,
        error: DomainError | None = None,
        done: str = "",
    ) -> Template:
        now = utcnow()
        board = await swaps.swaps_for(db, agent=agent, now=now)
        today = now.astimezone(ZoneInfo(agent.timezone)).date()
        context = {
            "tab": "shifts",
            "user": agent,
            "board": board,
            "day_label": lambda d: day_label(d, today),
            "error": error,
            "done": done,
        }
        return page(request, SWAPS_PAGE, context, status_code=status)

    async def _answer(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        agent: User,
        action: Callable[[], Awaitable[object]],
        done: str,
    ) -> Any:
        try:
            async with db.begin_nested():
                await action()
        except DomainError as error:
            return await self._board(request, db, agent, status=refused_status(request, error), error=error)
        if is_htmx(request):
            return await self._board(request, db, agent, done=done)
        return see_other(f"/app/shifts/swaps?done={done}")

    @get("/swaps", name="shifts:swaps")
    async def show(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, done: str = ""
    ) -> Template:
        agent = await accounts.get_user(db, principal.user_id)
        return await self._board(request, db, agent, done=done if done in DONE else "")

    async def _offer_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        agent: User,
        shift_id: int,
        *,
        status: int = 200,
        error: DomainError | None = None,
        chosen: str = "",
    ) -> Template:
        shift, skill = await allocation.market_shift(db, shift_id=shift_id, site_id=agent.site_id)
        zone = ZoneInfo(agent.timezone)
        today = utcnow().astimezone(zone).date()
        site = await accounts.get_site(db, agent.site_id)
        context = {
            "day_label": lambda d: day_label(d, today),
            "tab": "shifts",
            "user": agent,
            "shift_id": shift.id,
            "starts": local_start(shift.start_slot, zone),
            "ends": local_start(shift.end_slot, zone),
            "skill": allocation.skill_label(skill),
            "colleagues": await swaps.colleagues_for(db, agent=agent, shift_id=shift.id),
            "needs_approval": site_settings(site).swap_needs_approval,
            "chosen": chosen,
            "error": error,
        }
        return page(request, OFFER_PAGE, context, status_code=status)

    @get("/{shift_id:int}/swap", name="shifts:swap-form")
    async def offer_form(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, shift_id: int
    ) -> Template:
        agent = await accounts.get_user(db, principal.user_id)
        return await self._offer_page(request, db, agent, shift_id)

    @post("/{shift_id:int}/swap", name="shifts:swap-offer", status_code=303)
    async def offer(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift_id: int,
        data: Annotated[SwapForm, FormBody],
    ) -> Any:
        agent = await accounts.get_user(db, principal.user_id)
        try:
            async with db.begin_nested():
                to_user_id = _to_user_id(data.to)
                await swaps.offer_swap(db, shift_id=shift_id, agent=agent, to_user_id=to_user_id, now=utcnow())
        except DomainError as error:
            status = error.status_code  # the offer form is a plain page: htmx does not post it
            return await self._offer_page(request, db, agent, shift_id, status=status, error=error, chosen=data.to)
        return see_other("/app/shifts/swaps?done=offered")

    @post("/swaps/{swap_id:int}/accept", name="shifts:swap-accept", status_code=200)
    async def accept(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        swap_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        agent = await accounts.get_user(db, principal.user_id)
        return await self._answer(
            request, db, agent, lambda: swaps.accept_swap(db, swap_id=swap_id, agent=agent, now=utcnow()), "accepted"
        )

    @post("/swaps/{swap_id:int}/decline", name="shifts:swap-decline", status_code=200)
    async def decline(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        swap_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        agent = await accounts.get_user(db, principal.user_id)
        return await self._answer(
            request, db, agent, lambda: swaps.decline_swap(db, swap_id=swap_id, user=agent, now=utcnow()), "declined"
        )

    @post("/swaps/{swap_id:int}/cancel", name="shifts:swap-cancel", status_code=200)
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        swap_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        agent = await accounts.get_user(db, principal.user_id)
        return await self._answer(
            request, db, agent, lambda: swaps.cancel_swap(db, swap_id=swap_id, agent=agent, now=utcnow()), "cancelled"
        )


# The coordinator's approvals ----------------------------------------------------------


class SwapAdminController(Controller):
    """Accepted swaps waiting for a coordinator, when the site asks for approval."""

    path = "/admin/swaps"
    include_in_schema = False
    guards = [requires("coordinator")]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        user_id: int,
        *,
        status: int = 200,
        error: DomainError | None = None,
        done: str = "",
    ) -> Template:
        user = await accounts.get_user(db, user_id)
        site = await accounts.get_site(db, user.site_id)
        waiting = await swaps.waiting_for_approval(db, site=site, now=utcnow())
        context = {
            "zone": site.timezone,
            "waiting": waiting,
            "needs_approval": site_settings(site).swap_needs_approval,
            "error": error,
            "done": done if done in {"approved", "declined"} else "",
        }
        return page(request, ADMIN_PAGE, context, status_code=status)

    async def _decide(
        self, request: Request[Any, Any, Any], db: AsyncSession, user_id: int, swap_id: int, *, approve: bool
    ) -> Any:
        coordinator = await accounts.get_user(db, user_id)
        try:
            async with db.begin_nested():
                if approve:
                    await swaps.approve_swap(db, swap_id=swap_id, coordinator=coordinator, now=utcnow())
                else:
                    await swaps.decline_swap(db, swap_id=swap_id, user=coordinator, now=utcnow())
        except DomainError as error:
            return await self._page(request, db, user_id, status=refused_status(request, error), error=error)
        done = "approved" if approve else "declined"
        if is_htmx(request):
            return await self._page(request, db, user_id, done=done)
        return see_other(f"{self.path}?done={done}")

    @get("/", name="shifts:swaps-admin")
    async def show(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, done: str = ""
    ) -> Template:
        return await self._page(request, db, principal.user_id, done=done)

    @post("/{swap_id:int}/approve", name="shifts:swap-approve", status_code=200)
    async def approve(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        swap_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        return await self._decide(request, db, principal.user_id, swap_id, approve=True)

    @post("/{swap_id:int}/decline", name="shifts:swap-admin-decline", status_code=200)
    async def decline(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        swap_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        return await self._decide(request, db, principal.user_id, swap_id, approve=False)


# The JSON API -------------------------------------------------------------------------


class SwapApiController(Controller):
    """Swaps as JSON: agents offer, list, accept, decline and cancel; coordinators approve or decline."""

    path = "/api/v1"
    tags = ["swaps"]

    @post("/shifts/{shift_id:int}/swap", name="api:shift-swap", guards=[requires("agent")], status_code=201)
    async def offer(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, shift_id: int, data: SwapBody
    ) -> Response[Any]:
        """Offer a shift I hold to ``to`` (an agent's id) or, with null, to everyone eligible.

        201 with the swap's ``id``; 200 when the same offer already waits; 422 on ``to`` with the reasons
        the named agent cannot take it; 409 when I do not hold the shift or it has started.
        """
        agent = await accounts.get_user(db, principal.user_id)
        try:
            offer = await swaps.offer_swap(db, shift_id=shift_id, agent=agent, to_user_id=data.to, now=utcnow())
        except swaps.SwapRefused as refused:
            return swap_refused(request, refused)
        return Response(content=SwapChangeOut.of(offer.swap), status_code=201 if offer.created else 200)

    @get("/swaps", name="api:swaps", guards=[requires("agent")])
    async def mine(self, db: Db, principal: CurrentPrincipal) -> SwapsOut:
        agent = await accounts.get_user(db, principal.user_id)
        board = await swaps.swaps_for(db, agent=agent, now=utcnow())
        return SwapsOut(
            to_me=[SwapOut.of(v) for v in board.to_me],
            mine=[SwapOut.of(v) for v in board.mine],
            open=[SwapOut.of(v) for v in board.open],
        )

    @post("/swaps/{swap_id:int}/accept", name="api:swap-accept", guards=[requires("agent")], status_code=200)
    async def accept(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, swap_id: int
    ) -> Response[Any]:
        """Take the shift: 200 (``waiting_approval`` when a coordinator must approve); 409 with reasons if not."""
        agent = await accounts.get_user(db, principal.user_id)
        try:
            swap = await swaps.accept_swap(db, swap_id=swap_id, agent=agent, now=utcnow())
        except allocation.ClaimRefused as refused:
            return claim_refused(request, refused)
        return Response(content=SwapChangeOut.of(swap), status_code=200)

    @post(
        "/swaps/{swap_id:int}/decline",
        name="api:swap-decline",
        guards=[requires("agent", "coordinator")],
        status_code=200,
    )
    async def decline(self, db: Db, principal: CurrentPrincipal, swap_id: int) -> SwapChangeOut:
        """An agent declines an offer made to them; a coordinator declines a swap waiting for approval."""
        user = await accounts.get_user(db, principal.user_id)
        return SwapChangeOut.of(await swaps.decline_swap(db, swap_id=swap_id, user=user, now=utcnow()))

    @post("/swaps/{swap_id:int}/cancel", name="api:swap-cancel", guards=[requires("agent")], status_code=200)
    async def cancel(self, db: Db, principal: CurrentPrincipal, swap_id: int) -> SwapChangeOut:
        agent = await accounts.get_user(db, principal.user_id)
        return SwapChangeOut.of(await swaps.cancel_swap(db, swap_id=swap_id, agent=agent, now=utcnow()))

    @post("/swaps/{swap_id:int}/approve", name="api:swap-approve", guards=[requires("coordinator")], status_code=200)
    async def approve(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, swap_id: int
    ) -> Response[Any]:
        coordinator = await accounts.get_user(db, principal.user_id)
        try:
            swap = await swaps.approve_swap(db, swap_id=swap_id, coordinator=coordinator, now=utcnow())
        except allocation.ClaimRefused as refused:
            return claim_refused(request, refused)
        return Response(content=SwapChangeOut.of(swap), status_code=200)
