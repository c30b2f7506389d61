"""Swaps on the agent's phone (offer from My schedule, answer on the Swaps page), the coordinator's approvals, the API.

As on the marketplace's pages, a refusal is shown on the page: a plain form
post gets the page with the refusal's status, htmx gets 200 with the list
re-rendered in place. The API answers ``{message, field, request_id}`` and adds
``reasons`` when eligibility refused (409 for an acceptor, 422 on ``to`` for a
named agent).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import User, skill_label
from backend.accounts.schemas import FormPost
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import user_zone
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import day_label
from backend.core.security import requires
from backend.core.slots import local_start
from backend.core.templating import page, refused_status
from backend.core.web import AnyRequest, Db, FormBody, act_on_page, json_error, parse_fields, see_other
from backend.shifts import allocation, market, swaps
from backend.shifts.market_routes import claim_refused
from backend.shifts.schemas import SwapBody, SwapChangeOut, SwapForm, SwapOut, SwapsOut, SwapValues

SWAPS_PAGE = "shifts/swaps.html"
OFFER_PAGE = "shifts/swap_offer.html"
ADMIN_PAGE = "shifts/swaps_admin.html"
# What a form post did, shown once on the page it lands on.
DONE = frozenset({"offered", "accepted", "declined", "cancelled"})


def swap_refused(request: AnyRequest, refused: swaps.SwapRefused) -> Response[Any]:
    """422 on ``to`` with every reason the named agent cannot take the shift."""
    reasons = [{"code": reason.code.value, "message": reason.message} for reason in refused.reasons]
    return json_error(request, refused.status_code, refused.message, refused.field, reasons=reasons)


# The agent's pages --------------------------------------------------------------------


class SwapPagesController(Controller):
    """Offer a shift from My schedule; answer, take and withdraw offers on the Swaps page."""

    path = "/app/shifts"
    include_in_schema = False
    guards = [requires("agent")]

    async def _board(
        self, request: AnyRequest, db: AsyncSession, agent: User, *, error: DomainError | None = None, done: str = ""
    ) -> Template:
        now = utcnow()
        board = await swaps.swaps_for(db, agent=agent, now=now)
        today = now.astimezone(user_zone(agent)).date()
        context = {
            "tab": "shifts",
            "user": agent,
            "board": board,
            "day_label": lambda d: day_label(d, today),
            "error": error,
            "done": done,
        }
        return page(request, SWAPS_PAGE, context, status_code=refused_status(request, error))

    async def _answer(
        self, request: AnyRequest, db: AsyncSession, agent: User, action: Callable[[], Awaitable[object]], done: str
    ) -> Any:
        """An answer to an offer, on the Swaps page: refused there, or done (``done`` says which, once)."""
        board = partial(self._board, request, db, agent)
        return await act_on_page(request, db, action, render=board, done=done, then=f"/app/shifts/swaps?done={done}")

    @get("/swaps", name="shifts:swaps")
    async def show(self, request: AnyRequest, db: Db, current_user: CurrentUser, done: str = "") -> Template:
        return await self._board(request, db, current_user, done=done if done in DONE else "")

    async def _offer_page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        agent: User,
        shift_id: int,
        *,
        status: int = 200,
        error: DomainError | None = None,
        chosen: str = "",
    ) -> Template:
        shift, skill = await swaps.offerable_shift(db, shift_id=shift_id, agent=agent)
        zone = user_zone(agent)
        today = utcnow().astimezone(zone).date()
        site = await accounts.get_site(db, agent.site_id)
        undo_until = await market.free_undo_until(db, shift_id=shift.id, agent=agent, now=utcnow())
        context = {
            "day_label": lambda d: day_label(d, today),
            "tab": "shifts",
            "user": agent,
            "shift_id": shift.id,
            "starts": local_start(shift.start_slot, zone),
            "ends": local_start(shift.end_slot, zone),
            "skill": skill_label(skill),
            "colleagues": await swaps.colleagues_for(db, agent=agent, skill=skill),
            "needs_approval": site_settings(site).swap_needs_approval,
            "undo_until": undo_until.astimezone(zone) if undo_until else None,  # cheaper than a swap: offered first
            "chosen": chosen,
            "error": error,
        }
        return page(request, OFFER_PAGE, context, status_code=status)

    @get("/{shift_id:int}/swap", name="shifts:swap-form")
    async def offer_form(self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_id: PathId) -> Template:
        return await self._offer_page(request, db, current_user, shift_id)

    @post("/{shift_id:int}/swap", name="shifts:swap-offer", status_code=303)
    async def offer(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_id: PathId,
        data: Annotated[SwapForm, FormBody],
    ) -> Any:
        try:
            async with db.begin_nested():
                to_user_id = parse_fields(SwapValues, data).to
                await swaps.offer_swap(db, shift_id=shift_id, agent=current_user, to_user_id=to_user_id, now=utcnow())
        except DomainError as error:
            status = error.status_code  # the offer form is a plain page: htmx does not post it
            return await self._offer_page(
                request, db, current_user, shift_id, status=status, error=error, chosen=data.to
            )
        return see_other("/app/shifts/swaps?done=offered")

    @post("/swaps/{swap_id:int}/accept", name="shifts:swap-accept", status_code=200)
    async def accept(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, swap_id: PathId, data: FormPost
    ) -> Any:
        accept = partial(swaps.accept_swap, db, swap_id=swap_id, agent=current_user, now=utcnow())
        return await self._answer(request, db, current_user, accept, "accepted")

    @post("/swaps/{swap_id:int}/decline", name="shifts:swap-decline", status_code=200)
    async def decline(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, swap_id: PathId, data: FormPost
    ) -> Any:
        decline = partial(swaps.decline_swap, db, swap_id=swap_id, user=current_user, now=utcnow())
        return await self._answer(request, db, current_user, decline, "declined")

    @post("/swaps/{swap_id:int}/cancel", name="shifts:swap-cancel", status_code=200)
    async def cancel(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, swap_id: PathId, data: FormPost
    ) -> Any:
        cancel = partial(swaps.cancel_swap, db, swap_id=swap_id, agent=current_user, now=utcnow())
        return await self._answer(request, db, current_user, cancel, "cancelled")


# The coordinator's approvals ----------------------------------------------------------


class SwapAdminController(Controller):
    """Accepted swaps waiting for a coordinator, when the site asks for approval."""

    path = "/admin/swaps"
    include_in_schema = False
    guards = [requires("coordinator")]

    async def _page(
        self, request: AnyRequest, db: AsyncSession, user: User, *, error: DomainError | None = None, done: str = ""
    ) -> Template:
        site = await accounts.get_site(db, user.site_id)
        waiting = await swaps.waiting_for_approval(db, site=site, now=utcnow())
        context = {
            "zone": site.timezone,
            "waiting": waiting,
            "needs_approval": site_settings(site).swap_needs_approval,
            "error": error,
            "done": done if done in {"approved", "declined"} else "",
        }
        return page(request, ADMIN_PAGE, context, status_code=refused_status(request, error))

    async def _decide(
        self,
        request: AnyRequest,
        db: AsyncSession,
        coordinator: User,
        action: Callable[[], Awaitable[object]],
        done: str,
    ) -> Any:
        """A decision on the approvals page: refused there, or done (``done`` says which, once)."""
        render = partial(self._page, request, db, coordinator)
        return await act_on_page(request, db, action, render=render, done=done, then=f"{self.path}?done={done}")

    @get("/", name="shifts:swaps-admin")
    async def show(self, request: AnyRequest, db: Db, current_user: CurrentUser, done: str = "") -> Template:
        return await self._page(request, db, current_user, done=done)

    @post("/{swap_id:int}/approve", name="shifts:swap-approve", status_code=200)
    async def approve(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, swap_id: PathId, data: FormPost
    ) -> Any:
        approve = partial(swaps.approve_swap, db, swap_id=swap_id, coordinator=current_user, now=utcnow())
        return await self._decide(request, db, current_user, approve, "approved")

    @post("/{swap_id:int}/decline", name="shifts:swap-admin-decline", status_code=200)
    async def decline(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, swap_id: PathId, data: FormPost
    ) -> Any:
        decline = partial(swaps.decline_swap, db, swap_id=swap_id, user=current_user, now=utcnow())
        return await self._decide(request, db, current_user, decline, "declined")


# The JSON API -------------------------------------------------------------------------


class SwapApiController(Controller):
    """Swaps as JSON: agents offer, list, accept, decline and cancel; coordinators approve or decline."""

    path = "/api/v1"
    tags = ["swaps"]

    @post("/shifts/{shift_id:int}/swap", name="api:shift-swap", guards=[requires("agent")], status_code=201)
    async def offer(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_id: PathId, data: SwapBody
    ) -> Response[Any]:
        """Offer a shift I hold to ``to`` (an agent's id) or, with null, to everyone eligible.

        201 with the swap's ``id``; 200 when the same offer already waits; 422 on ``to`` with the reasons
        the named agent cannot take it; 404 for a shift I never held (a colleague's is not mine to see);
        409 when I gave it back or it has started.
        """
        try:
            offer = await swaps.offer_swap(db, shift_id=shift_id, agent=current_user, to_user_id=data.to, now=utcnow())
        except swaps.SwapRefused as refused:
            return swap_refused(request, refused)
        return Response(content=SwapChangeOut.of(offer.swap), status_code=201 if offer.created else 200)

    @get("/swaps", name="api:swaps", guards=[requires("agent")])
    async def mine(self, db: Db, current_user: CurrentUser) -> SwapsOut:
        board = await swaps.swaps_for(db, agent=current_user, now=utcnow())
        return SwapsOut(
            to_me=[SwapOut.of(v) for v in board.to_me],
            mine=[SwapOut.of(v) for v in board.mine],
            open=[SwapOut.of(v) for v in board.open],
        )

    @post("/swaps/{swap_id:int}/accept", name="api:swap-accept", guards=[requires("agent")], status_code=200)
    async def accept(self, request: AnyRequest, db: Db, current_user: CurrentUser, swap_id: PathId) -> Response[Any]:
        """Take the shift: 200 (``waiting_approval`` when a coordinator must approve); 409 with reasons if not."""
        try:
            swap = await swaps.accept_swap(db, swap_id=swap_id, agent=current_user, now=utcnow())
        except allocation.ClaimRefused as refused:
            return claim_refused(request, refused)
        return Response(content=SwapChangeOut.of(swap), status_code=200)

    @post(
        "/swaps/{swap_id:int}/decline",
        name="api:swap-decline",
        guards=[requires("agent", "coordinator")],
        status_code=200,
    )
    async def decline(self, db: Db, current_user: CurrentUser, swap_id: PathId) -> SwapChangeOut:
        """An agent declines an offer made to them; a coordinator declines a swap waiting for approval."""
        return SwapChangeOut.of(await swaps.decline_swap(db, swap_id=swap_id, user=current_user, now=utcnow()))

    @post("/swaps/{swap_id:int}/cancel", name="api:swap-cancel", guards=[requires("agent")], status_code=200)
    async def cancel(self, db: Db, current_user: CurrentUser, swap_id: PathId) -> SwapChangeOut:
        return SwapChangeOut.of(await swaps.cancel_swap(db, swap_id=swap_id, agent=current_user, now=utcnow()))

    @post("/swaps/{swap_id:int}/approve", name="api:swap-approve", guards=[requires("coordinator")], status_code=200)
    async def approve(self, request: AnyRequest, db: Db, current_user: CurrentUser, swap_id: PathId) -> Response[Any]:
        try:
            swap = await swaps.approve_swap(db, swap_id=swap_id, coordinator=current_user, now=utcnow())
        except allocation.ClaimRefused as refused:
            return claim_refused(request, refused)
        return Response(content=SwapChangeOut.of(swap), status_code=200)
