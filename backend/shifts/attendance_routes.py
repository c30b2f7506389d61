"""Attendance on the web: one-tap confirm and start on My schedule, the agent's Reliability page, the
coordinator's attendance board, and the JSON API.

Pages answer refusals on the page: a plain form post gets the page with the refusal's status (409,
422), htmx gets 200 with the refusal in the swapped piece (htmx does not swap error answers). The
API answers ``{message, field, request_id}``; a refusal outside a window adds ``at``, when the
window opens or when it closed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Controller, Response, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import User
from backend.accounts.schemas import FormPost
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone, user_zone
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import day_label, moment_labeller
from backend.core.i18n import gettext as _
from backend.core.security import replay_is_mine, requires
from backend.core.slots import local_start, utc_start
from backend.core.templating import page, refused_status
from backend.core.web import AnyRequest, Db, FormBody, act_on_page, json_error, parse_fields
from backend.shifts import attendance, attendance_board, cover
from backend.shifts.attendance import WindowClosed
from backend.shifts.pay import PayLockedDependency
from backend.shifts.schemas import (
    AgentValues,
    AppealBody,
    AppealForm,
    AppealOut,
    AttendanceOut,
    BoardQuery,
    DecisionBody,
    DecisionForm,
    NoShowBody,
    NoShowForm,
    RecordOut,
    ReliabilityOut,
    WaiverBody,
    WaiverForm,
)

SHIFT_PAGE = "shifts/attendance.html"
RELIABILITY_PAGE = "shifts/reliability.html"
ADMIN_PAGE = "shifts/attendance_admin.html"
VIEW_KEYS = ("start", "shift", "skill", "page")  # which of a day's seats the board shows


def rule_text() -> str:
    """The reliability rule in one sentence, as the agent reads it."""
    return _(
        "Your score is the share of your shifts from the last %(days)s days that you turned up for; a shift you"
        " did not confirm the day before counts three-quarters, shifts a coordinator waived are left out, and"
        " with no shifts yet your score is 100%%.",
        days=attendance.RELIABILITY_WINDOW_DAYS,
    )


def board_view(board: attendance_board.BoardPage, skill: int | None) -> dict[str, str]:
    """The query that shows ``board`` again: the board's forms post to it, so an action keeps the page."""
    view = {
        "start": board.shown,
        "shift": board.shift_id,
        "skill": skill,
        "page": board.page if board.page > 1 else None,
    }
    return {key: str(value) for key, value in view.items() if value is not None}


# The agent's pages --------------------------------------------------------------------------


Action = Callable[..., Awaitable[Any]]


class AttendanceController(Controller):
    """Confirm and start from My schedule: one tap with htmx, a small page of its own without JavaScript."""

    path = "/app/shifts"
    include_in_schema = False
    guards = [requires("agent")]

    async def _page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        agent: User,
        shift_id: int,
        *,
        error: DomainError | None = None,
        done: str = "",
    ) -> Template:
        now = utcnow()
        state = await attendance.my_seat(db, shift_id=shift_id, agent=agent)
        zone = user_zone(agent)
        settings = site_settings(await accounts.get_site(db, agent.site_id))
        context = {
            "tab": "shifts",
            "user": agent,
            "state": state,
            "now": now,
            "when": moment_labeller(zone, now.astimezone(zone).date()),
            "starts": local_start(state.start_slot, zone),
            "ends": local_start(state.end_slot, zone),
            "rules": settings,
            "error": error,
            "done": done,
        }
        return page(request, SHIFT_PAGE, context, status_code=refused_status(request, error))

    async def _act(
        self, request: AnyRequest, db: AsyncSession, agent: User, shift_id: int, action: Action, done: str
    ) -> Any:
        """Confirm or start: outside its window the tap is refused on the shift's page."""
        return await act_on_page(
            request,
            db,
            lambda: action(db, shift_id=shift_id, agent=agent, now=utcnow()),
            render=partial(self._page, request, db, agent, shift_id),
            done=done,
            then=f"{self.path}/{shift_id}/attendance?done={done}",
            refusals=WindowClosed,
        )

    @get("/{shift_id:int}/attendance", name="shifts:attendance")
    async def show(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_id: PathId, done: str = ""
    ) -> Template:
        return await self._page(
            request, db, current_user, shift_id, done=done if done in {"confirmed", "started"} else ""
        )

    @post("/{shift_id:int}/confirm", name="shifts:confirm", status_code=200, guards=[replay_is_mine])
    async def confirm(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_id: PathId, data: FormPost
    ) -> Any:
        return await self._act(request, db, current_user, shift_id, attendance.confirm_shift, "confirmed")

    @post("/{shift_id:int}/start", name="shifts:start", status_code=200)
    async def start(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_id: PathId, data: FormPost
    ) -> Any:
        return await self._act(request, db, current_user, shift_id, attendance.start_shift, "started")


async def schedule_context(db: AsyncSession, agent: User) -> dict[str, Any]:
    """What My schedule needs to show the attendance buttons inline (``_attendance_action.html``).

    Without it the partial loads each shift's buttons with htmx, and links to the shift's own page.
    """
    now = utcnow()
    zone = user_zone(agent)
    return {
        "attendance_states": await attendance.my_upcoming_seats(db, agent=agent, now=now),
        "now": now,
        "when": moment_labeller(zone, now.astimezone(zone).date()),
    }


class ReliabilityController(Controller):
    """The agent's score, its rule in plain words, what lowered it, and an appeal against a no-show."""

    path = "/app/reliability"
    include_in_schema = False
    guards = [requires("agent")]

    async def _page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        agent: User,
        *,
        error: DomainError | None = None,
        done: str = "",
        failed_shift: int | None = None,
    ) -> Template:
        now = utcnow()
        zone = user_zone(agent)
        settings = site_settings(await accounts.get_site(db, agent.site_id))
        context = {
            "tab": "shifts",
            "user": agent,
            "reliability": await attendance.reliability(db, user_id=agent.id, now=now),
            "rule": rule_text(),
            "rules": settings,
            "when": moment_labeller(zone, now.astimezone(zone).date()),
            "error": error,
            "failed_shift": failed_shift,
            "appealed": done == "appealed",
        }
        return page(request, RELIABILITY_PAGE, context, status_code=refused_status(request, error))

    @get("/", name="shifts:reliability")
    async def show(self, request: AnyRequest, db: Db, current_user: CurrentUser, appealed: bool = False) -> Template:
        return await self._page(request, db, current_user, done="appealed" if appealed else "")

    @post("/{shift_id:int}/appeal", name="shifts:appeal", status_code=200)
    async def appeal(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_id: PathId,
        data: Annotated[AppealForm, FormBody],
    ) -> Any:
        return await act_on_page(
            request,
            db,
            lambda: attendance.appeal(db, shift_id=shift_id, agent=current_user, text=data.text, now=utcnow()),
            render=partial(self._page, request, db, current_user),
            done="appealed",
            refused_with={"failed_shift": shift_id},
            then=f"{self.path}?appealed=1",
            raised={404},
        )


# The coordinator's board --------------------------------------------------------------------


class AttendanceAdminController(Controller):
    """A day's seats with their attendance, the coordinator's no-show and waiver buttons, and open appeals."""

    path = "/admin/attendance"
    include_in_schema = False
    guards = [requires("coordinator")]

    async def _page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        staff: User,
        *,
        day: str = "",
        view: dict[str, str] | None = None,
        error: DomainError | None = None,
        error_key: str = "",
        done: str = "",
    ) -> Template:
        now = utcnow()
        site = await accounts.get_site(db, staff.site_id)
        zone = site_zone(site)
        today = now.astimezone(zone).date()
        query = parse_fields(BoardQuery, {"day": day, **(view or {})})
        chosen = query.day or today
        seats = await attendance.day_board(db, site=site, day=chosen, skill_id=query.skill)
        board = attendance_board.board_page(
            seats, now=now, start=query.start, shift_id=query.shift, page=query.page or 1
        )
        context = {
            "zone": zone.key,
            "day": chosen,
            "today": today,
            "day_label": day_label(chosen, today),
            "board": board,
            "seats": board.seats,
            "skills": await attendance_board.day_skills(db, site=site, day=chosen),
            "skill": query.skill,
            "listing": urlencode({"day": chosen.isoformat(), **({"skill": query.skill} if query.skill else {})}),
            "here": urlencode(board_view(board, query.skill)),
            "appeals": await attendance.open_appeals(db, site=site),
            "now": now,
            "when": moment_labeller(zone, today),
            "clock": lambda moment: moment.astimezone(zone).strftime("%H:%M"),
            "under_way": lambda seat: utc_start(seat.end_slot) > now,
            "rule": rule_text(),
            "error": error,
            "error_key": error_key,
            "done": done,
        }
        return page(request, ADMIN_PAGE, context, status_code=refused_status(request, error))

    async def _act(
        self,
        request: AnyRequest,
        db: AsyncSession,
        staff: User,
        day: str,
        error_key: str,
        done: str,
        action: Callable[[], Awaitable[object]],
        shift_id: int | None = None,
    ) -> Any:
        """A button on the board: refused beside it (``error_key`` names which), or done on the same page of the
        same day: htmx posts to the page's view (``start``, ``shift``, ``skill``, ``page``); a plain post about a
        seat goes back to its shift's seats, at its row."""
        view = {key: request.query_params.get(key, "") for key in VIEW_KEYS}
        if shift_id is not None and not any(view.values()):
            view["shift"] = str(shift_id)
        kept = urlencode({key: value for key, value in {"day": day, **view, "done": done}.items() if value})
        if shift_id is not None:
            kept += f"#seat-{quote(error_key)}"
        return await act_on_page(
            request,
            db,
            action,
            render=partial(self._page, request, db, staff, day=day, view=view),
            done=done,
            refused_with={"error_key": error_key},
            then=f"{self.path}?{kept}",
            raised={404},
        )

    @get("/", name="shifts:attendance-admin")
    async def show(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        day: str = "",
        start: str = "",
        shift: str = "",
        skill: str = "",
        page: str = "",
        done: str = "",
    ) -> Template:
        shown = done if done in {"no-show", "waived", "decided"} else ""
        view = {"start": start, "shift": shift, "skill": skill, "page": page}
        return await self._page(request, db, current_user, day=day, view=view, done=shown)

    @post("/{shift_id:int}/no-show", name="shifts:no-show", status_code=200)
    async def no_show(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_id: PathId,
        data: Annotated[NoShowForm, FormBody],
        pay_locked: PayLockedDependency,
    ) -> Any:
        async def act() -> None:
            agent_id = parse_fields(AgentValues, data).user
            now = utcnow()
            await attendance.mark_no_show(
                db, shift_id=shift_id, user_id=agent_id, coordinator=current_user, now=now, pay_locked=pay_locked
            )
            if data.cover == "on":
                await cover.cover_rest_of_shift(db, shift_id=shift_id, user_id=agent_id, by=current_user, now=now)

        key = f"{shift_id}-{data.user}"
        return await self._act(request, db, current_user, data.day, key, "no-show", act, shift_id=shift_id)

    @post("/{shift_id:int}/waive", name="shifts:waive", status_code=200)
    async def waive(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_id: PathId,
        data: Annotated[WaiverForm, FormBody],
    ) -> Any:
        async def act() -> None:
            agent_id = parse_fields(AgentValues, data).user
            await attendance.grant_waiver(
                db, shift_id=shift_id, user_id=agent_id, coordinator=current_user, reason=data.reason, now=utcnow()
            )

        key = f"{shift_id}-{data.user}"
        return await self._act(request, db, current_user, data.day, key, "waived", act, shift_id=shift_id)

    @post("/appeals/{appeal_id:int}", name="shifts:appeal-decide", status_code=200)
    async def decide(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        appeal_id: PathId,
        data: Annotated[DecisionForm, FormBody],
    ) -> Any:
        accept = data.decision == "accept"
        return await self._act(
            request,
            db,
            current_user,
            data.day,
            f"appeal-{appeal_id}",
            "decided",
            lambda: attendance.decide_appeal(
                db, appeal_id=appeal_id, coordinator=current_user, accept=accept, now=utcnow()
            ),
        )


# The JSON API -------------------------------------------------------------------------------


def window_closed(request: AnyRequest, error: WindowClosed) -> Response[Any]:
    """409 with the usual error body plus ``at``: when the window opens, or when it closed."""
    return json_error(request, error.status_code, error.message, None, at=error.at)


class AttendanceApiController(Controller):
    """Attendance as JSON: agents confirm, start and appeal; coordinators mark no-shows, waive and decide."""

    path = "/api/v1"
    tags = ["attendance"]

    async def _agent_act(
        self, request: AnyRequest, db: AsyncSession, agent: User, shift_id: int, action: Action
    ) -> Response[Any]:
        """Confirm or start: 409 with ``at`` outside its window."""
        try:
            row = await action(db, shift_id=shift_id, agent=agent, now=utcnow())
        except WindowClosed as error:
            return window_closed(request, error)
        return Response(content=AttendanceOut.of(shift_id, agent.id, row), status_code=200)

    @post("/shifts/{shift_id:int}/confirm", name="api:shift-confirm", guards=[requires("agent")], status_code=200)
    async def confirm(self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_id: PathId) -> Response[Any]:
        """Confirm a shift I hold, from ``confirm_opens_hours_before`` until it starts; 409 with ``at`` outside."""
        return await self._agent_act(request, db, current_user, shift_id, attendance.confirm_shift)

    @post("/shifts/{shift_id:int}/start", name="api:shift-start", guards=[requires("agent")], status_code=200)
    async def start(self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_id: PathId) -> Response[Any]:
        """Start a shift I hold within ``start_window_minutes`` of its start; 409 with ``at`` outside."""
        return await self._agent_act(request, db, current_user, shift_id, attendance.start_shift)

    @post("/shifts/{shift_id:int}/appeal", name="api:shift-appeal", guards=[requires("agent")], status_code=201)
    async def appeal(self, db: Db, current_user: CurrentUser, shift_id: PathId, data: AppealBody) -> AppealOut:
        """Appeal my no-show on a shift, once; 409 if already appealed or waived."""
        made = await attendance.appeal(db, shift_id=shift_id, agent=current_user, text=data.text, now=utcnow())
        return AppealOut(id=made.id, status=made.status.value)

    @post("/shifts/{shift_id:int}/no-show", name="api:shift-no-show", guards=[requires("coordinator")], status_code=200)
    async def no_show(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_id: PathId,
        data: NoShowBody,
        pay_locked: PayLockedDependency,
    ) -> Response[Any]:
        """Mark an agent of my site a no-show once their start window has closed, on any day whose pay period
        is not locked; 409 if they started or the period is locked. The agent is told."""
        try:
            row = await attendance.mark_no_show(
                db, shift_id=shift_id, user_id=data.user, coordinator=current_user, now=utcnow(), pay_locked=pay_locked
            )
        except WindowClosed as error:
            return window_closed(request, error)
        return Response(content=AttendanceOut.of(shift_id, data.user, row), status_code=200)

    @post("/shifts/{shift_id:int}/waive", name="api:shift-waive", guards=[requires("coordinator")], status_code=200)
    async def waive(self, db: Db, current_user: CurrentUser, shift_id: PathId, data: WaiverBody) -> AttendanceOut:
        """Waive an agent's no-show or missed confirmation for an outage: it leaves their reliability score."""
        row = await attendance.grant_waiver(
            db, shift_id=shift_id, user_id=data.user, coordinator=current_user, reason=data.reason, now=utcnow()
        )
        return AttendanceOut.of(shift_id, data.user, row)

    @post(
        "/appeals/{appeal_id:int}/decision",
        name="api:appeal-decide",
        guards=[requires("coordinator")],
        status_code=200,
    )
    async def decide(self, db: Db, current_user: CurrentUser, appeal_id: PathId, data: DecisionBody) -> AppealOut:
        """Accept (the no-show is waived) or reject an appeal of my site."""
        made = await attendance.decide_appeal(
            db, appeal_id=appeal_id, coordinator=current_user, accept=data.decision == "accept", now=utcnow()
        )
        return AppealOut(id=made.id, status=made.status.value)

    @get("/me/reliability", name="api:my-reliability", guards=[requires("agent")])
    async def reliability(self, db: Db, current_user: CurrentUser) -> ReliabilityOut:
        """My reliability score, its rule, and the shifts that lowered it or were waived."""
        found = await attendance.reliability(db, user_id=current_user.id, now=utcnow())
        zone = user_zone(current_user)
        return ReliabilityOut(
            score=round(found.score, 4),
            rule=rule_text(),
            window_days=found.window_days,
            counted=found.counted,
            no_shows=found.no_shows,
            unconfirmed=found.unconfirmed,
            waived=found.waived,
            records=[RecordOut.of(state, zone) for state in found.records],
        )
