"""Availability pages (the agent's grid, the coordinator's view of one agent) and the JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, Router, get, post, put
from litestar.params import HeaderParameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import User
from backend.accounts.zones import user_zone
from backend.availability import edits, grid, service
from backend.availability.schemas import BlockBody, GridForm, WeekBody
from backend.core.bounds import PathId, QueryWeekday
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.security import Principal, replay_is_mine, requires
from backend.core.slots import local_start
from backend.core.templating import is_htmx, page
from backend.core.web import AnyRequest, CurrentPrincipal, Db, FormBody, see_other

PAGE = "availability/week.html"
WEEK_VERSION_HEADER = "X-Weft-Week-Version"
IfMatch = Annotated[str | None, HeaderParameter(name="If-Match", required=False)]


def editor_of(principal: Principal) -> edits.Editor:
    return edits.Editor(id=principal.user_id, role=principal.role)


async def show_grid(
    request: AnyRequest,
    db: AsyncSession,
    principal: Principal,
    agent: User,
    state: grid.GridState,
    base: str,
    **extra: Any,
) -> Template:
    site = await accounts.get_site(db, agent.site_id)
    context = await grid.grid_context(
        db, user=agent, site=site, now=utcnow(), editor=editor_of(principal), state=state, base=base, **extra
    )
    context["tab"] = "availability"
    status = extra["error"].status_code if extra.get("error") and not is_htmx(request) else 200
    response = page(request, PAGE, context, status_code=status)
    response.headers[WEEK_VERSION_HEADER] = context["week_version"]  # the offline outbox chains queued taps on it
    return response


async def edit_grid(
    request: AnyRequest, db: AsyncSession, principal: Principal, agent: User, form: GridForm, base: str
) -> Any:
    """Apply one edit; htmx gets the grid back, a plain form post is sent on to the grid's URL.

    A refused edit is shown on the grid; to htmx it answers 200, because htmx does not swap error answers.
    """
    site = await accounts.get_site(db, agent.site_id)
    now = utcnow()
    try:
        async with db.begin_nested():  # a refused edit leaves nothing behind, even if it had flushed
            state = await grid.apply_edit(db, user=agent, site=site, form=form, now=now, editor=editor_of(principal))
    except DomainError as error:
        state = grid.read_state(agent, site, now, week=form.week, day=form.day, mode=form.mode, brush=form.brush)
        return await show_grid(request, db, principal, agent, state, base, error=error)
    if is_htmx(request):
        return await show_grid(request, db, principal, agent, state, base, saved=form.action != "paint")
    return see_other(base + state.query())


class AgentAvailabilityController(Controller):
    """The agent's Availability tab."""

    path = "/app/availability"
    include_in_schema = False
    guards = [requires("agent")]

    @get("/", name="availability:grid")
    async def show(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        week: str = "",
        day: QueryWeekday = None,
        mode: str = "tap",
        brush: str = "preferred",
        anchor: str = "",
    ) -> Template:
        site = await accounts.get_site(db, current_user.site_id)
        state = grid.read_state(current_user, site, utcnow(), week=week, day=day, mode=mode, brush=brush, anchor=anchor)
        return await show_grid(request, db, principal, current_user, state, self.path)

    @post("/", name="availability:edit", status_code=200, guards=[replay_is_mine])
    async def edit(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        data: Annotated[GridForm, FormBody],
    ) -> Any:
        return await edit_grid(request, db, principal, current_user, data, self.path)


class StaffAvailabilityController(Controller):
    """A coordinator sees and edits one agent's week, deadlines notwithstanding (and audited)."""

    path = "/admin/availability"
    include_in_schema = False
    guards = [requires("coordinator")]

    @get("/{user_id:int}", name="availability:agent-grid")
    async def show(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        user_id: PathId,
        week: str = "",
        day: QueryWeekday = None,
        mode: str = "tap",
        brush: str = "preferred",
        anchor: str = "",
    ) -> Template:
        agent = await service.agent_of_site(db, user_id=user_id, site_id=principal.site_id)
        site = await accounts.get_site(db, agent.site_id)
        state = grid.read_state(agent, site, utcnow(), week=week, day=day, mode=mode, brush=brush, anchor=anchor)
        return await show_grid(request, db, principal, agent, state, f"{self.path}/{user_id}")

    @post("/{user_id:int}", name="availability:agent-edit", status_code=200)
    async def edit(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        user_id: PathId,
        data: Annotated[GridForm, FormBody],
    ) -> Any:
        agent = await service.agent_of_site(db, user_id=user_id, site_id=principal.site_id)
        return await edit_grid(request, db, principal, agent, data, f"{self.path}/{user_id}")


def week_body(agent: User, answer: service.WeekAnswer) -> WeekBody:
    """The stored week in the agent's own offset, in the shape PUT takes."""
    zone = user_zone(agent)
    return WeekBody(
        week=str(answer.week),
        max_hours=answer.max_hours,
        blocks=[
            BlockBody(start=local_start(start, zone), end=local_start(end, zone), preference=preference.value)
            for start, end, preference in service.blocks_of(answer.offers)
        ],
    )


def tagged(agent: User, answer: service.WeekAnswer) -> Response[WeekBody]:
    """The week with its version as an ``ETag``: a client that sends it back in ``If-Match`` cannot overwrite a
    change made since it read the week (409 names the change); without ``If-Match`` the last write wins."""
    return Response(content=week_body(agent, answer), headers={"ETag": f'"{answer.version}"'})


def version_in(if_match: str | None) -> str:
    return (if_match or "").strip().removeprefix("W/").strip('"')


async def read_week_body(db: AsyncSession, agent: User, week: str | None) -> Response[WeekBody]:
    site = await accounts.get_site(db, agent.site_id)
    chosen = service.parse_week(week) if week else service.default_week(agent, site, utcnow())
    return tagged(agent, await service.read_week(db, user=agent, week=chosen))


async def write_week_body(
    db: AsyncSession, principal: Principal, agent: User, week: str | None, data: WeekBody, if_match: str | None
) -> Response[WeekBody]:
    if week and week != data.week:
        raise DomainError(
            _("The body is for %(body)s but the address says %(query)s.", body=data.week, query=week), field="week"
        )
    answer = await service.offer_week(
        db,
        user=agent,
        site=await accounts.get_site(db, agent.site_id),
        week=data.week,
        max_hours=data.max_hours,
        blocks=[(block.start, block.end, block.preference) for block in data.blocks],
        now=utcnow(),
        editor_id=principal.user_id,
        editor_role=principal.role,
        version=version_in(if_match),
    )
    return tagged(agent, answer)


class AvailabilityApiController(Controller):
    """The week as JSON: agents read and replace their own; coordinators any agent's of their site."""

    path = "/api/v1"
    tags = ["availability"]

    @get("/availability", name="api:availability", guards=[requires("agent")])
    async def mine(self, db: Db, current_user: CurrentUser, week: str | None = None) -> Response[WeekBody]:
        """My week (default: the next week still open), blocks in my own UTC offset; its version is the ETag."""
        return await read_week_body(db, current_user, week)

    @put("/availability", name="api:availability-replace", guards=[requires("agent")])
    async def replace_mine(
        self,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        data: WeekBody,
        week: str | None = None,
        if_match: IfMatch = None,
    ) -> Response[WeekBody]:
        """Replace my week's future half-hours atomically; any refused block stores nothing (422 names it).

        With ``If-Match`` (the ETag of a GET) a week changed since then is refused with 409.
        """
        return await write_week_body(db, principal, current_user, week, data, if_match)

    @get("/agents/{user_id:int}/availability", name="api:agent-availability", guards=[requires("coordinator")])
    async def agents(
        self, db: Db, principal: CurrentPrincipal, user_id: PathId, week: str | None = None
    ) -> Response[WeekBody]:
        agent = await service.agent_of_site(db, user_id=user_id, site_id=principal.site_id)
        return await read_week_body(db, agent, week)

    @put(
        "/agents/{user_id:int}/availability",
        name="api:agent-availability-replace",
        guards=[requires("coordinator")],
    )
    async def replace_agents(
        self,
        db: Db,
        principal: CurrentPrincipal,
        user_id: PathId,
        data: WeekBody,
        week: str | None = None,
        if_match: IfMatch = None,
    ) -> Response[WeekBody]:
        """Replace an agent's week on their behalf, after the deadline too; the audit log records it."""
        agent = await service.agent_of_site(db, user_id=user_id, site_id=principal.site_id)
        return await write_week_body(db, principal, agent, week, data, if_match)


router = Router(
    path="/",
    route_handlers=[AgentAvailabilityController, StaffAvailabilityController, AvailabilityApiController],
)
