"""Attendance on the web: one-tap confirm and start on My schedule, the agent's Reliability page, the
coordinator's attendance board, and the JSON API.

Pages answer refusals on the page: a plain form post gets the page with the refusal's status (409,
422), htmx gets 200 with the refusal in the swapped piece (htmx does not swap error answers). The
API answers ``{message, field, request_id}``; a refusal outside a window adds ``at``, when the
window opens or when it closed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal
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
from backend.shifts import attendance, handover
from backend.shifts.attendance import SeatState, WindowClosed
from backend.shifts.models import Attendance
from backend.shifts.views import day_label

SHIFT_PAGE = "shifts/attendance.html"
RELIABILITY_PAGE = "shifts/reliability.html"
ADMIN_PAGE = "shifts/attendance_admin.html"

UserId = Annotated[int, msgspec.Meta(ge=1)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=attendance.WAIVER_REASON_MAX_CHARS)]
AppealText = Annotated[str, msgspec.Meta(min_length=1, max_length=attendance.APPEAL_MAX_CHARS)]


# The edge's shapes --------------------------------------------------------------------------


class NoShowBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    user: UserId


class WaiverBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    user: UserId
    reason: Reason


class AppealBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    text: AppealText


class DecisionBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    decision: Literal["accept", "reject"]


class AttendanceOut(msgspec.Struct, kw_only=True):
    shift_id: int
    user_id: int
    confirmed_at: dt.datetime | None
    started_at: dt.datetime | None
    no_show_at: dt.datetime | None
    waived_at: dt.datetime | None

    @classmethod
    def of(cls, shift_id: int, user_id: int, row: Attendance) -> AttendanceOut:
        return cls(
            shift_id=shift_id,
            user_id=user_id,
            confirmed_at=row.confirmed_at,
            started_at=row.started_at,
            no_show_at=row.no_show_at,
            waived_at=row.waived_at,
        )


class AppealOut(msgspec.Struct, kw_only=True):
    id: int
    status: str


class RecordOut(msgspec.Struct, kw_only=True):
    shift_id: int
    start: dt.datetime
    end: dt.datetime
    no_show: bool
    confirmed: bool
    waived: bool
    appeal_status: str | None


class ReliabilityOut(msgspec.Struct, kw_only=True):
    score: float
    rule: str
    window_days: int
    counted: int
    no_shows: int
    unconfirmed: int
    waived: int
    records: list[RecordOut]


class UserForm(Form):
    user: Annotated[str, msgspec.Meta(max_length=20)]
    day: Annotated[str, msgspec.Meta(max_length=10)] = ""


class WaiverForm(UserForm):
    reason: Annotated[str, msgspec.Meta(max_length=attendance.WAIVER_REASON_MAX_CHARS)] = ""


class AppealForm(Form):
    text: Annotated[str, msgspec.Meta(max_length=attendance.APPEAL_MAX_CHARS)] = ""


class DecisionForm(Form):
    decision: Literal["accept", "reject"]
    day: Annotated[str, msgspec.Meta(max_length=10)] = ""


def rule_text() -> str:
    """The reliability rule in one sentence, as the agent reads it."""
    return _(
        "Your score is the share of your shifts from the last %(days)s days that you turned up for; a shift you"
        " did not confirm the day before counts three-quarters, shifts a coordinator waived are left out, and"
        " with no shifts yet your score is 100%%.",
        days=attendance.RELIABILITY_WINDOW_DAYS,
    )


def _when(zone: ZoneInfo, today: dt.date) -> Callable[[dt.datetime], str]:
    """A moment as the reader takes it in: Today 17:45, Tomorrow 06:00, or a short date."""

    def when(moment: dt.datetime) -> str:
        local = moment.astimezone(zone)
        return f"{day_label(local.date(), today)} {local.strftime('%H:%M')}"

    return when


# The agent's pages --------------------------------------------------------------------------


Action = Callable[..., Awaitable[Any]]


class AttendanceController(Controller):
    """Confirm and start from My schedule: one tap with htmx, a small page of its own without JavaScript."""

    path = "/app/shifts"
    include_in_schema = False
    guards = [requires("agent")]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        agent: User,
        shift_id: int,
        *,
        error: DomainError | None = None,
        done: str = "",
    ) -> Template:
        now = utcnow()
        state = await attendance.my_seat(db, shift_id=shift_id, agent=agent)
        zone = ZoneInfo(agent.timezone)
        settings = site_settings(await accounts.get_site(db, agent.site_id))
        context = {
            "tab": "shifts",
            "user": agent,
            "state": state,
            "now": now,
            "when": _when(zone, now.astimezone(zone).date()),
            "starts": local_start(state.start_slot, zone),
            "ends": local_start(state.end_slot, zone),
            "rules": settings,
            "error": error,
            "done": done,
            "handover": await handover.schedule_handover(db, agent=agent, now=now),
        }
        return page(request, SHIFT_PAGE, context, status_code=refused_status(request, error))

    async def _act(
        self, request: Request[Any, Any, Any], db: AsyncSession, agent_id: int, shift_id: int, action: Action, done: str
    ) -> Any:
        agent = await accounts.get_user(db, agent_id)
        try:
            async with db.begin_nested():
                await action(db, shift_id=shift_id, agent=agent, now=utcnow())
        except WindowClosed as error:
            return await self._page(request, db, agent, shift_id, error=error)
        if is_htmx(request):
            return await self._page(request, db, agent, shift_id, done=done)
        return see_other(f"{self.path}/{shift_id}/attendance?done={done}")

    @get("/{shift_id:int}/attendance", name="shifts:attendance")
    async def show(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, shift_id: int, done: str = ""
    ) -> Template:
        agent = await accounts.get_user(db, principal.user_id)
        return await self._page(request, db, agent, shift_id, done=done if done in {"confirmed", "started"} else "")

    @post("/{shift_id:int}/confirm", name="shifts:confirm", status_code=200)
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        return await self._act(request, db, principal.user_id, shift_id, attendance.confirm_shift, "confirmed")

    @post("/{shift_id:int}/start", name="shifts:start", status_code=200)
    async def start(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        return await self._act(request, db, principal.user_id, shift_id, attendance.start_shift, "started")


async def schedule_context(db: AsyncSession, agent: User) -> dict[str, Any]:
    """What My schedule needs to show the attendance buttons inline (``_attendance_action.html``).

    Without it the partial loads each shift's buttons with htmx, and links to the shift's own page.
    """
    now = utcnow()
    zone = ZoneInfo(agent.timezone)
    return {
        "attendance_states": await attendance.my_upcoming_seats(db, agent=agent, now=now),
        "handover": await handover.schedule_handover(db, agent=agent, now=now),
        "now": now,
        "when": _when(zone, now.astimezone(zone).date()),
    }


class ReliabilityController(Controller):
    """The agent's score, its rule in plain words, what lowered it, and an appeal against a no-show."""

    path = "/app/reliability"
    include_in_schema = False
    guards = [requires("agent")]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        agent: User,
        *,
        error: DomainError | None = None,
        appealed: bool = False,
        failed_shift: int | None = None,
    ) -> Template:
        now = utcnow()
        zone = ZoneInfo(agent.timezone)
        settings = site_settings(await accounts.get_site(db, agent.site_id))
        context = {
            "tab": "shifts",
            "user": agent,
            "reliability": await attendance.reliability(db, user_id=agent.id, now=now),
            "rule": rule_text(),
            "rules": settings,
            "when": _when(zone, now.astimezone(zone).date()),
            "error": error,
            "failed_shift": failed_shift,
            "appealed": appealed,
        }
        return page(request, RELIABILITY_PAGE, context, status_code=refused_status(request, error))

    @get("/", name="shifts:reliability")
    async def show(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, appealed: bool = False
    ) -> Template:
        agent = await accounts.get_user(db, principal.user_id)
        return await self._page(request, db, agent, appealed=appealed)

    @post("/{shift_id:int}/appeal", name="shifts:appeal", status_code=200)
    async def appeal(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift_id: int,
        data: Annotated[AppealForm, FormBody],
    ) -> Any:
        agent = await accounts.get_user(db, principal.user_id)
        try:
            async with db.begin_nested():
                await attendance.appeal(db, shift_id=shift_id, agent=agent, text=data.text, now=utcnow())
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._page(request, db, agent, error=error, failed_shift=shift_id)
        if is_htmx(request):
            return await self._page(request, db, agent, appealed=True)
        return see_other(f"{self.path}?appealed=1")


# The coordinator's board --------------------------------------------------------------------


def _parse_day(text: str, today: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(text) if text else today
    except ValueError:
        raise DomainError(_("Choose a day."), field="day") from None


def _user_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise DomainError(_("Choose an agent."), field="user") from None


class AttendanceAdminController(Controller):
    """A day's seats with their attendance, the coordinator's no-show and waiver buttons, and open appeals."""

    path = "/admin/attendance"
    include_in_schema = False
    guards = [requires("coordinator")]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        staff: User,
        *,
        day: str = "",
        error: DomainError | None = None,
        error_key: str = "",
        done: str = "",
    ) -> Template:
        now = utcnow()
        site = await accounts.get_site(db, staff.site_id)
        zone = ZoneInfo(site.timezone)
        today = now.astimezone(zone).date()
        chosen = _parse_day(day, today)
        context = {
            "zone": zone.key,
            "day": chosen,
            "today": today,
            "day_label": day_label(chosen, today),
            "seats": await attendance.day_board(db, site=site, day=chosen),
            "appeals": await attendance.open_appeals(db, site=site),
            "now": now,
            "when": _when(zone, today),
            "clock": lambda moment: moment.astimezone(zone).strftime("%H:%M"),
            "rule": rule_text(),
            "error": error,
            "error_key": error_key,
            "done": done,
        }
        return page(request, ADMIN_PAGE, context, status_code=refused_status(request, error))

    async def _act(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        staff_id: int,
        day: str,
        error_key: str,
        done: str,
        action: Callable[[User], Awaitable[Any]],
    ) -> Any:
        staff = await accounts.get_user(db, staff_id)
        try:
            async with db.begin_nested():
                await action(staff)
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._page(request, db, staff, day=day, error=error, error_key=error_key)
        if is_htmx(request):
            return await self._page(request, db, staff, day=day, done=done)
        return see_other(f"{self.path}?day={day}&done={done}" if day else f"{self.path}?done={done}")

    @get("/", name="shifts:attendance-admin")
    async def show(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, day: str = "", done: str = ""
    ) -> Template:
        staff = await accounts.get_user(db, principal.user_id)
        shown = done if done in {"no-show", "waived", "decided"} else ""
        return await self._page(request, db, staff, day=day, done=shown)

    @post("/{shift_id:int}/no-show", name="shifts:no-show", status_code=200)
    async def no_show(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift_id: int,
        data: Annotated[UserForm, FormBody],
    ) -> Any:
        async def act(staff: User) -> None:
            user_id = _user_id(data.user)
            await attendance.mark_no_show(db, shift_id=shift_id, user_id=user_id, coordinator=staff, now=utcnow())

        key = f"{shift_id}-{data.user}"
        return await self._act(request, db, principal.user_id, data.day, key, "no-show", act)

    @post("/{shift_id:int}/waive", name="shifts:waive", status_code=200)
    async def waive(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift_id: int,
        data: Annotated[WaiverForm, FormBody],
    ) -> Any:
        async def act(staff: User) -> None:
            user_id = _user_id(data.user)
            await attendance.grant_waiver(
                db, shift_id=shift_id, user_id=user_id, coordinator=staff, reason=data.reason, now=utcnow()
            )

        key = f"{shift_id}-{data.user}"
        return await self._act(request, db, principal.user_id, data.day, key, "waived", act)

    @post("/appeals/{appeal_id:int}", name="shifts:appeal-decide", status_code=200)
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        appeal_id: int,
        data: Annotated[DecisionForm, FormBody],
    ) -> Any:
        async def act(staff: User) -> None:
            accept = data.decision == "accept"
            await attendance.decide_appeal(db, appeal_id=appeal_id, coordinator=staff, accept=accept, now=utcnow())

        key = f"appeal-{appeal_id}"
        return await self._act(request, db, principal.user_id, data.day, key, "decided", act)


# The JSON API -------------------------------------------------------------------------------


def window_closed(request: Request[Any, Any, Any], error: WindowClosed) -> Response[Any]:
    """409 with the usual error body plus ``at``: when the window opens, or when it closed."""
    return json_error(request, error.status_code, error.message, None, at=error.at)


class AttendanceApiController(Controller):
    """Attendance as JSON: agents confirm, start and appeal; coordinators mark no-shows, waive and decide."""

    path = "/api/v1"
    tags = ["attendance"]

    async def _agent_act(
        self, request: Request[Any, Any, Any], db: AsyncSession, agent_id: int, shift_id: int, action: Action
    ) -> Response[Any]:
        agent = await accounts.get_user(db, agent_id)
        try:
            row = await action(db, shift_id=shift_id, agent=agent, now=utcnow())
        except WindowClosed as error:
            return window_closed(request, error)
        return Response(content=AttendanceOut.of(shift_id, agent.id, row), status_code=200)

    @post("/shifts/{shift_id:int}/confirm", name="api:shift-confirm", guards=[requires("agent")], status_code=200)
    async def confirm(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, shift_id: int
    ) -> Response[Any]:
        """Confirm a shift I hold, from ``confirm_opens_hours_before`` until it starts; 409 with ``at`` outside."""
        return await self._agent_act(request, db, principal.user_id, shift_id, attendance.confirm_shift)

    @post("/shifts/{shift_id:int}/start", name="api:shift-start", guards=[requires("agent")], status_code=200)
    async def start(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, shift_id: int
    ) -> Response[Any]:
        """Start a shift I hold within ``start_window_minutes`` of its start; 409 with ``at`` outside."""
        return await self._agent_act(request, db, principal.user_id, shift_id, attendance.start_shift)

    @post("/shifts/{shift_id:int}/appeal", name="api:shift-appeal", guards=[requires("agent")], status_code=201)
    async def appeal(self, db: Db, principal: CurrentPrincipal, shift_id: int, data: AppealBody) -> AppealOut:
        """Appeal my no-show on a shift, once; 409 if already appealed or waived."""
        agent = await accounts.get_user(db, principal.user_id)
        made = await attendance.appeal(db, shift_id=shift_id, agent=agent, text=data.text, now=utcnow())
        return AppealOut(id=made.id, status=made.status.value)

    @post("/shifts/{shift_id:int}/no-show", name="api:shift-no-show", guards=[requires("coordinator")], status_code=200)
    async def no_show(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, shift_id: int, data: NoShowBody
    ) -> Response[Any]:
        """Mark an agent of my site a no-show once their start window has closed; 409 if they started."""
        staff = await accounts.get_user(db, principal.user_id)
        try:
            row = await attendance.mark_no_show(
                db, shift_id=shift_id, user_id=data.user, coordinator=staff, now=utcnow()
            )
        except WindowClosed as error:
            return window_closed(request, error)
        return Response(content=AttendanceOut.of(shift_id, data.user, row), status_code=200)

    @post("/shifts/{shift_id:int}/waive", name="api:shift-waive", guards=[requires("coordinator")], status_code=200)
    async def waive(self, db: Db, principal: CurrentPrincipal, shift_id: int, data: WaiverBody) -> AttendanceOut:
        """Waive an agent's no-show or missed confirmation for an outage: it leaves their reliability score."""
        staff = await accounts.get_user(db, principal.user_id)
        row = await attendance.grant_waiver(
            db, shift_id=shift_id, user_id=data.user, coordinator=staff, reason=data.reason, now=utcnow()
        )
        return AttendanceOut.of(shift_id, data.user, row)

    @post(
        "/appeals/{appeal_id:int}/decision",
        name="api:appeal-decide",
        guards=[requires("coordinator")],
        status_code=200,
    )
    async def decide(self, db: Db, principal: CurrentPrincipal, appeal_id: int, data: DecisionBody) -> AppealOut:
        """Accept (the no-show is waived) or reject an appeal of my site."""
        staff = await accounts.get_user(db, principal.user_id)
        made = await attendance.decide_appeal(
            db, appeal_id=appeal_id, coordinator=staff, accept=data.decision == "accept", now=utcnow()
        )
        return AppealOut(id=made.id, status=made.status.value)

    @get("/me/reliability", name="api:my-reliability", guards=[requires("agent")])
    async def reliability(self, db: Db, principal: CurrentPrincipal) -> ReliabilityOut:
        """My reliability score, its rule, and the shifts that lowered it or were waived."""
        agent = await accounts.get_user(db, principal.user_id)
        found = await attendance.reliability(db, user_id=agent.id, now=utcnow())
        zone = ZoneInfo(agent.timezone)
        return ReliabilityOut(
            score=round(found.score, 4),
            rule=rule_text(),
            window_days=found.window_days,
            counted=found.counted,
            no_shows=found.no_shows,
            unconfirmed=found.unconfirmed,
            waived=found.waived,
            records=[_record(state, zone) for state in found.records],
        )


def _record(state: SeatState, zone: ZoneInfo) -> RecordOut:
    return RecordOut(
        shift_id=state.shift_id,
        start=local_start(state.start_slot, zone),
        end=local_start(state.end_slot, zone),
        no_show=state.no_show_at is not None,
        confirmed=state.confirmed_at is not None,
        waived=state.waived_at is not None,
        appeal_status=state.appeal_status.value if state.appeal_status else None,
    )
