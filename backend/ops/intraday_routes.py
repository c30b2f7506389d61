"""The Today board's intraday actions: call for VTO, open VOT, offer an agent an extension.

Each is a form on the board (the proposals part names skill and half-hours; the on-shift list names the
seat). htmx gets a short note (what was sent, or the refusal beside the form) and a ``board-changed``
event, so the board's parts re-read themselves; a plain post gets a 303 back to the board, or the note as
a page with the refusal's status. Coordinators and admins only: finance and agents 403.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.dependencies import CurrentUser
from backend.accounts.schemas import Form
from backend.accounts.service import get_site
from backend.accounts.site_settings import site_settings
from backend.core.bounds import ID_BOUNDS, LATEST_SLOT
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.i18n import ngettext
from backend.core.money import parse_amount
from backend.core.security import requires
from backend.core.templating import is_htmx, page, refused_status
from backend.core.web import AnyRequest, Db, FormBody, RefuseWith, parse_fields, see_other
from backend.ops import intraday as board_actions
from backend.shifts import intraday

NOTE = "ops/_intraday_note.html"
BOARD = "/admin/today"

IdText = Annotated[str, msgspec.Meta(max_length=20)]
SkillId = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose a skill."))]
Slot = Annotated[int, msgspec.Meta(ge=0, le=LATEST_SLOT), RefuseWith(lambda _: _("Choose a half-hour."))]
People = Annotated[int, msgspec.Meta(ge=1, le=intraday.MAX_WANTED), RefuseWith(lambda _: _("Enter a whole number."))]
ShiftId = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose a shift."))]
Agent = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose an agent."))]
HalfHours = Annotated[
    int,
    msgspec.Meta(ge=1, le=intraday.MAX_EXTENSION_SLOTS),
    RefuseWith(lambda _: _("Extend by one to eight half-hours.")),
]


class VtoForm(Form):
    """A VTO call: the skill, the stretch ``[start_slot, end_slot)``, how many may go, and the pay mode ("" is
    the site's ``vto_mode``)."""

    skill_id: IdText
    start_slot: IdText
    end_slot: IdText
    surplus: IdText
    mode: Annotated[str, msgspec.Meta(max_length=10)] = ""
    key: Annotated[str, msgspec.Meta(max_length=60)] = ""  # which form on the board, to show a refusal there


class VtoValues(msgspec.Struct, kw_only=True):
    skill_id: SkillId
    start_slot: Slot
    end_slot: Slot
    surplus: People


class VotForm(Form):
    """A VOT opening: the skill, the stretch, the seats, and the bonus in major units ("" is the site's default)."""

    skill_id: IdText
    start_slot: IdText
    end_slot: IdText
    wanted: IdText
    bonus: Annotated[str, msgspec.Meta(max_length=20)] = ""
    key: Annotated[str, msgspec.Meta(max_length=60)] = ""


class VotValues(msgspec.Struct, kw_only=True):
    skill_id: SkillId
    start_slot: Slot
    end_slot: Slot
    wanted: People


class ExtendForm(Form):
    """An extension: the agent's shift and seat, and how many half-hours longer."""

    shift_id: IdText
    user_id: IdText
    half_hours: IdText = "1"
    key: Annotated[str, msgspec.Meta(max_length=60)] = ""


class ExtendValues(msgspec.Struct, kw_only=True):
    shift_id: ShiftId
    user_id: Agent
    half_hours: HalfHours


class IntradayController(Controller):
    """``/admin/today/{vto,vot,extend}``: the board's intraday actions."""

    path = BOARD
    include_in_schema = False
    guards = [requires("coordinator")]

    async def _answer(self, request: AnyRequest, db: AsyncSession, *, kind: str, key: str, act: Any) -> Response[Any]:
        """Run ``act`` in a savepoint (a refusal leaves nothing) and answer with the note, or a 303."""
        try:
            async with db.begin_nested():
                note = await act()
        except DomainError as error:
            if error.status_code in {403, 404}:
                raise
            context = {"note": "", "error": error, "key": key, "kind": kind}
            return page(request, NOTE, context, status_code=refused_status(request, error))
        if not is_htmx(request):
            return see_other(f"{BOARD}?done={kind}")
        response = page(request, NOTE, {"note": note, "error": None, "key": key, "kind": kind})
        response.headers["HX-Trigger"] = "board-changed"
        return response

    @post("/vto", name="ops:today-vto", status_code=200)
    async def vto(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, data: Annotated[VtoForm, FormBody]
    ) -> Response[Any]:
        async def act() -> str:
            values = parse_fields(VtoValues, data)
            site = await get_site(db, current_user.site_id)
            mode = data.mode.strip() or site_settings(site).vto_mode
            if mode not in {"standby", "release"}:
                raise DomainError(_("Choose paid standby or release."), field="mode")
            call = await board_actions.vto_from_board(
                db,
                site=site,
                skill_id=values.skill_id,
                start_slot=values.start_slot,
                end_slot=values.end_slot,
                surplus=values.surplus,
                standby=mode == "standby",
                by=current_user,
                now=utcnow(),
            )
            asked = call.asked
            return ngettext(
                "Time off offered: %(num)s agent asked so far.", "Time off offered: %(num)s agents asked so far.", asked
            )

        return await self._answer(request, db, kind="vto", key=data.key, act=act)

    @post("/vot", name="ops:today-vot", status_code=200)
    async def vot(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, data: Annotated[VotForm, FormBody]
    ) -> Response[Any]:
        async def act() -> str:
            values = parse_fields(VotValues, data)
            site = await get_site(db, current_user.site_id)
            bonus = (
                parse_amount(data.bonus, field="bonus") if data.bonus.strip() else site_settings(site).vot_bonus_minor
            )
            await board_actions.vot_from_board(
                db,
                site=site,
                skill_id=values.skill_id,
                start_slot=values.start_slot,
                end_slot=values.end_slot,
                wanted=values.wanted,
                bonus_minor=bonus,
                by=current_user,
                now=utcnow(),
            )
            return _("Extra half-hours opened in Open shifts; agents who offered that time will hear of them.")

        return await self._answer(request, db, kind="vot", key=data.key, act=act)

    @post("/extend", name="ops:today-extend", status_code=200)
    async def extend(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, data: Annotated[ExtendForm, FormBody]
    ) -> Response[Any]:
        async def act() -> str:
            values = parse_fields(ExtendValues, data)
            await board_actions.extend_from_board(
                db,
                site=await get_site(db, current_user.site_id),
                shift_id=values.shift_id,
                user_id=values.user_id,
                half_hours=values.half_hours,
                by=current_user,
                now=utcnow(),
            )
            return _("Extension offered: the agent answers in the app.")

        return await self._answer(request, db, kind="extend", key=data.key or data.user_id, act=act)
