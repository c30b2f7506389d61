"""The Today board on the web: the page, its parts (each refreshing itself), and its one-click actions.

Staff read and act; finance reads the same board without the buttons (its posts are 403); agents get 403.
A part polls ``/admin/today/parts/<part>`` every ``poll`` seconds (60 unless the page was opened with
``?poll=``) and whenever an action on the board fires ``board-changed``. It sends the version it shows in
``x-board-version``; an unchanged part answers 204 and htmx leaves it as it is, so nothing flickers and a
quiet board costs a hash per part, not a render.

Actions answer the way every page does: htmx gets the part the form sits in (the refusal beside the form, or
the done note), a plain post a 303 back to the board, a refusal without htmx the whole page with its status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import Parameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.dependencies import CurrentUser
from backend.accounts.schemas import Form
from backend.accounts.service import get_site
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone
from backend.core.bounds import ID_BOUNDS, LATEST_SLOT
from backend.core.db import utcnow
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import date_text
from backend.core.i18n import gettext as _
from backend.core.money import parse_amount
from backend.core.security import requires
from backend.core.templating import is_htmx, page, refused_status
from backend.core.web import AnyRequest, CurrentPrincipal, Db, FormBody, RefuseWith, parse_fields, see_other
from backend.ops import board
from backend.ops.access import is_ops_staff
from backend.shifts.pay import PayLockedDependency
from backend.shifts.schemas import Clock, SkillCode, TypedAmount, WholeNumber

PAGE = "ops/today.html"
POLL_SECONDS = 60
VERSION_HEADER = "x-board-version"
DONE = frozenset({"no-show", "cover", "extra-shift"})

Poll = Annotated[int, Parameter(ge=1, le=600, schema_extra={"minimum": 1, "maximum": 600})]
BoardAgent = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose an agent."))]
BoardShift = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose a shift."))]
BoardSlot = Annotated[int, msgspec.Meta(ge=0, le=LATEST_SLOT), RefuseWith(lambda _: _("Choose a half-hour."))]
SeatCount = Annotated[int, msgspec.Meta(ge=0, le=1000), RefuseWith(lambda _: _("Enter a whole number."))]


class NoShowForm(Form):
    """A late agent marked a no-show from the board; ``cover`` "on" asks cover for the rest of the shift."""

    shift_id: Annotated[str, msgspec.Meta(max_length=20)]
    user: Annotated[str, msgspec.Meta(max_length=20)]
    cover: Annotated[str, msgspec.Meta(max_length=3)] = ""
    poll: Annotated[str, msgspec.Meta(max_length=3)] = ""


class NoShowValues(msgspec.Struct, kw_only=True):
    shift_id: BoardShift
    user: BoardAgent


class CoverForm(Form):
    """Cover from the board: for a gap (``skill`` and ``slot``: one more seat on the shift covering it), or for
    the rest of a no-show's shift (``shift_id`` and ``user``)."""

    skill: Annotated[str, msgspec.Meta(max_length=40)] = ""
    slot: Annotated[str, msgspec.Meta(max_length=20)] = ""
    shift_id: Annotated[str, msgspec.Meta(max_length=20)] = ""
    user: Annotated[str, msgspec.Meta(max_length=20)] = ""
    bonus: TypedAmount = "0"
    poll: Annotated[str, msgspec.Meta(max_length=3)] = ""


class GapValues(msgspec.Struct, kw_only=True):
    slot: BoardSlot


class ExtraShiftForm(Form):
    """An extra shift opened to the marketplace today: site clock times (an end before the start is tomorrow)."""

    skill: SkillCode
    start: Annotated[str, msgspec.Meta(max_length=5)]
    end: Annotated[str, msgspec.Meta(max_length=5)]
    seats: Annotated[str, msgspec.Meta(max_length=4)] = "1"
    bonus: TypedAmount = "0"  # major units, as typed ("12.50"), read by ``core.money.parse_amount``
    key: Annotated[str, msgspec.Meta(max_length=60)] = ""  # which row's form it was, to show a refusal there
    poll: Annotated[str, msgspec.Meta(max_length=3)] = ""


class ExtraShiftValues(msgspec.Struct, kw_only=True):
    start: Clock
    end: Clock
    seats: WholeNumber = 0


def _poll(text: str) -> int:
    return int(text) if text.isdigit() and 1 <= int(text) <= 600 else POLL_SECONDS


class TodayController(Controller):
    """``/admin/today``: the coordinator's landing page."""

    path = "/admin/today"
    include_in_schema = False
    guards = [requires("coordinator", "finance")]

    async def _page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        principal: Any,
        *,
        poll: int = POLL_SECONDS,
        done: str = "",
        error: DomainError | None = None,
        error_key: str = "",
    ) -> Template:
        now = utcnow()
        site = await get_site(db, principal.site_id)
        today = board.Today(db, site=site, now=now)
        steps = await today.first_steps()
        can_act = is_ops_staff(principal)
        parts: dict[str, Any] = {}
        versions: dict[str, str] = {}
        if not steps.needed:
            for name in board.PARTS:
                parts[name] = await today.part(name)
                versions[name] = board.version(parts[name], can_act=can_act)
        context = {
            "day": today.day,
            "day_text": date_text(today.day),
            "zone": site_zone(site).key,
            "steps": steps,
            "part_names": board.PARTS,
            "parts": parts,
            "versions": versions,
            "poll": poll,
            "can_act": can_act,
            "currency": site_settings(site).currency,
            "done": done if done in DONE else "",
            "error": error,
            "error_key": error_key,
        }
        return page(request, PAGE, context, status_code=refused_status(request, error))

    async def _part(
        self,
        request: AnyRequest,
        db: AsyncSession,
        principal: Any,
        name: str,
        *,
        poll: int = POLL_SECONDS,
        done: str = "",
        error: DomainError | None = None,
        error_key: str = "",
    ) -> Response[Any]:
        if name not in board.PARTS:
            raise NotFound("part")
        site = await get_site(db, principal.site_id)
        today = board.Today(db, site=site, now=utcnow())
        data = await today.part(name)
        can_act = is_ops_staff(principal)
        shown = board.version(data, can_act=can_act)
        if not (done or error) and request.headers.get(VERSION_HEADER) == shown:
            return Response(content=b"", status_code=204)
        context = {
            "principal": principal,
            "part": data,
            "version": shown,
            "poll": poll,
            "can_act": can_act,
            "done": done,
            "error": error,
            "error_key": error_key,
        }
        return Template(template_name=f"ops/_board_{name}.html", context=context, media_type="text/html")

    async def _act(
        self,
        request: AnyRequest,
        db: AsyncSession,
        principal: Any,
        *,
        part: str,
        poll: int,
        done: str,
        error_key: str,
        action: Callable[[], Awaitable[object]],
    ) -> Response[Any]:
        """Run an action in a savepoint; refused, it leaves nothing behind and is shown beside its form."""
        try:
            async with db.begin_nested():
                await action()
        except DomainError as error:
            if error.status_code in {403, 404}:
                raise
            if is_htmx(request):
                return await self._part(request, db, principal, part, poll=poll, error=error, error_key=error_key)
            return await self._page(request, db, principal, poll=poll, error=error, error_key=error_key)
        if is_htmx(request):
            response = await self._part(request, db, principal, part, poll=poll, done=done)
            response.headers["HX-Trigger"] = "board-changed"
            return response
        return see_other(f"{self.path}?done={done}")

    @get("/", name="ops:today")
    async def show(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, poll: Poll = POLL_SECONDS, done: str = ""
    ) -> Template:
        return await self._page(request, db, principal, poll=poll, done=done)

    @get("/parts/{part:str}", name="ops:today-part")
    async def part(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, part: str, poll: Poll = POLL_SECONDS
    ) -> Response[Any]:
        """One part of the board; 204 when it is still the version the page shows (``x-board-version``)."""
        return await self._part(request, db, principal, part, poll=poll)

    @post("/no-show", name="ops:today-no-show", guards=[requires("coordinator")], status_code=200)
    async def no_show(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        pay_locked: PayLockedDependency,
        data: Annotated[NoShowForm, FormBody],
    ) -> Response[Any]:
        async def act() -> None:
            values = parse_fields(NoShowValues, data)
            site = await get_site(db, current_user.site_id)
            await board.no_show_from_board(
                db,
                site=site,
                shift_id=values.shift_id,
                user_id=values.user,
                by=current_user,
                cover=data.cover == "on",
                pay_locked=pay_locked,
                now=utcnow(),
            )

        key = f"seat-{data.shift_id}-{data.user}"
        return await self._act(
            request, db, principal, part="now", poll=_poll(data.poll), done="no-show", error_key=key, action=act
        )

    @post("/cover", name="ops:today-cover", guards=[requires("coordinator")], status_code=200)
    async def cover(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        data: Annotated[CoverForm, FormBody],
    ) -> Response[Any]:
        for_no_show = bool(data.shift_id.strip() or data.user.strip())

        async def act() -> None:
            site = await get_site(db, current_user.site_id)
            if for_no_show:
                values = parse_fields(NoShowValues, data)
                await board.cover_for_no_show(
                    db, site=site, shift_id=values.shift_id, user_id=values.user, by=current_user, now=utcnow()
                )
                return
            if not data.skill.strip():
                raise DomainError(_("Choose a skill."), field="skill")
            slot = parse_fields(GapValues, data).slot
            bonus = parse_amount(data.bonus or "0", field="bonus")
            await board.cover_gap(
                db, site=site, skill=data.skill.strip(), slot=slot, bonus_minor=bonus, by=current_user, now=utcnow()
            )

        key = f"seat-{data.shift_id}-{data.user}" if for_no_show else f"cover-{data.skill}"
        return await self._act(
            request,
            db,
            principal,
            part="now" if for_no_show else "table",
            poll=_poll(data.poll),
            done="cover",
            error_key=key,
            action=act,
        )

    @post("/extra-shift", name="ops:today-extra-shift", guards=[requires("coordinator")], status_code=200)
    async def extra_shift(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        data: Annotated[ExtraShiftForm, FormBody],
    ) -> Response[Any]:
        async def act() -> None:
            values = parse_fields(ExtraShiftValues, data)
            bonus = parse_amount(data.bonus or "0", field="bonus")
            await board.extra_shift(
                db,
                site=await get_site(db, current_user.site_id),
                skill=data.skill.strip(),
                start_clock=values.start,
                end_clock=values.end,
                seats=values.seats,
                bonus_minor=bonus,
                by=current_user,
                now=utcnow(),
            )

        return await self._act(
            request,
            db,
            principal,
            part="table",
            poll=_poll(data.poll),
            done="extra-shift",
            error_key=data.key or f"extra-{data.skill}",
            action=act,
        )
