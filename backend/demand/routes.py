"""Demand and staffing pages and API.

Coordinators (and admins) import history, read the backtest, open a skill's
week view and adjust the forecast. The staffing calculator and the Erlang
API are open to coordinators and finance (staff who plan or pay for
staffing); agents have no use for them and get 403. The forecast API is
read-only and open to the same two roles.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, Router, get, post
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.service import get_site, list_skills
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone
from backend.core.bounds import QuerySlot
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.security import Principal, requires
from backend.core.slots import IsoWeek, SlotError, utc_start
from backend.core.templating import is_htmx, page
from backend.core.web import (
    AnyRequest,
    CurrentPrincipal,
    Db,
    FormBody,
    json_error,
    parse_fields,
    request_id_of,
    see_other,
    uploaded_file,
)
from backend.demand import service
from backend.demand.actuals import ActualsRejected, record_actuals
from backend.demand.chart import week_chart
from backend.demand.erlang import Staffing
from backend.demand.history import HistoryRejected, import_history
from backend.demand.schemas import (
    ActualsIn,
    ActualsOut,
    ActualsProblemsOut,
    DayScaleForm,
    ErlangAOut,
    ErlangCOut,
    ForecastOut,
    HistoryImportOut,
    HistoryProblemsOut,
    OverrideForm,
    OverrideValues,
    StaffingLoad,
    StaffingValues,
)

HISTORY_MAX_BYTES = 2 * 1024**3  # the body streams, so the limit guards the disk and the clock, not memory


def parse_week(text: str, zone: Any) -> IsoWeek:
    """The week asked for, or next week (the one being planned) when none is given."""
    if not text:
        return IsoWeek.containing(utcnow(), zone).shifted(1)
    try:
        return IsoWeek.parse(text)
    except SlotError:
        raise DomainError(_("Give the week like 2026-W49."), field="week") from None


def week_url(skill: str, week: IsoWeek | str) -> str:
    return f"/admin/demand/week?skill={skill}&week={week}"


class DemandPagesController(Controller):
    """The coordinator's demand pages: import, backtest, the week view and its adjustments."""

    path = "/admin/demand"
    include_in_schema = False
    guards = [requires("coordinator")]

    async def _overview(self, request: AnyRequest, db: Db, principal: CurrentPrincipal, **extra: Any) -> dict[str, Any]:
        site = await get_site(db, principal.site_id)
        skills = await list_skills(db, site_id=site.id)
        backtests = {skill.code: await service.backtest_skill(db, site=site, skill=skill) for skill in skills}
        return {
            "skills": skills,
            "backtests": backtests,
            "imports": await service.recent_imports(db, site_id=site.id),
            "next_week": parse_week("", site_zone(site)),
            "result": None,
            "rejected": None,
            "error": None,
            **extra,
        }

    @get("/", name="demand:overview")
    async def overview(self, request: AnyRequest, db: Db, principal: CurrentPrincipal) -> Template:
        return page(request, "demand/overview.html", await self._overview(request, db, principal))

    @post("/", name="demand:import", status_code=200, request_max_body_size=HISTORY_MAX_BYTES)
    async def upload(self, request: AnyRequest, db: Db, principal: CurrentPrincipal) -> Template:
        """A multipart upload; problems are shown on the page (200 to htmx, which does not swap 4xx answers)."""
        try:
            result = await import_history(
                db, site_id=principal.site_id, chunks=uploaded_file(request), imported_by_id=principal.user_id
            )
        except HistoryRejected as rejected:
            context = await self._overview(request, db, principal, rejected=rejected)
            return page(request, "demand/overview.html", context, status_code=200 if is_htmx(request) else 422)
        except DomainError as error:
            context = await self._overview(request, db, principal, error=error)
            return page(request, "demand/overview.html", context, status_code=200 if is_htmx(request) else 422)
        return page(request, "demand/overview.html", await self._overview(request, db, principal, result=result))

    @get("/week", name="demand:week")
    async def week(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, skill: str = "", week: str = ""
    ) -> Template:
        site = await get_site(db, principal.site_id)
        skills = await list_skills(db, site_id=site.id)
        if not skills:
            raise DomainError(_("The site has no skills yet."), field="skill")
        chosen = await service.skill_by_code(db, site_id=site.id, code=skill or skills[0].code)
        target = parse_week(week, site_zone(site))
        plan, coverage = await service.week_coverage(db, site=site, skill=chosen, week=target)
        context = {
            "skills": skills,
            "skill": chosen,
            "week": target,
            "plan": plan,
            "chart": week_chart(target.days(), coverage),
            "gaps": sum(1 for c in coverage if c.status == "gap"),
            "previous_week": target.shifted(-1),
            "following_week": target.shifted(1),
        }
        return page(request, "demand/week.html", context)

    @get("/slot", name="demand:slot")
    async def slot(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, skill: str, slot: QuerySlot
    ) -> Template:
        site = await get_site(db, principal.site_id)
        chosen = await service.skill_by_code(db, site_id=site.id, code=skill)
        coverage, agents = await service.slot_coverage(db, site=site, skill=chosen, slot=slot)
        week = IsoWeek.containing(utc_start(slot), site_zone(site))
        context = {"skill": chosen, "cell": coverage, "agents": agents, "week": week}
        return page(request, "demand/slot.html", context)

    @post("/override", name="demand:override", status_code=303)
    async def override(self, db: Db, principal: CurrentPrincipal, data: Annotated[OverrideForm, FormBody]) -> Redirect:
        site = await get_site(db, principal.site_id)
        chosen = await service.skill_by_code(db, site_id=site.id, code=data.skill)
        contacts = parse_fields(OverrideValues, data).contacts
        await service.set_override(db, site=site, skill=chosen, slot=data.slot, contacts=contacts)
        return see_other(week_url(chosen.code, data.week))

    @post("/scale", name="demand:scale", status_code=303)
    async def scale(self, db: Db, principal: CurrentPrincipal, data: Annotated[DayScaleForm, FormBody]) -> Redirect:
        site = await get_site(db, principal.site_id)
        chosen = await service.skill_by_code(db, site_id=site.id, code=data.skill)
        await service.set_day_scale(db, site=site, skill=chosen, day=data.day, factor=data.factor)
        return see_other(week_url(chosen.code, data.week))


class StaffingPageController(Controller):
    """The staffing calculator: a GET form, so a result can be bookmarked and shared."""

    path = "/admin/staffing"
    include_in_schema = False
    guards = [requires("coordinator", "finance")]

    @get("/", name="demand:staffing")
    async def calculator(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        contacts: str = "",
        aht: str = "",
        model: str = "erlang_c",
    ) -> Template:
        site = await get_site(db, principal.site_id)
        settings = site_settings(site)
        context: dict[str, Any] = {"settings": settings, "contacts": contacts, "aht": aht, "model": model}
        context.update(result=None, error=None)
        if contacts or aht:
            try:
                load = parse_fields(StaffingValues, {"contacts": contacts, "aht": aht})
                context["result"] = service.calculate_staffing(
                    model=model, contacts=load.contacts, aht=load.aht, interval=1800, settings=settings
                )
            except DomainError as error:
                context["error"] = error
                return page(request, "demand/staffing.html", context, status_code=422)
        return page(request, "demand/staffing.html", context)


def staffing_load(
    contacts: float | None = None,
    aht: float | None = None,
    interval: float = 1800,
    service_level: float | None = None,
    answer_within: float | None = None,
    shrinkage: float | None = None,
    max_occupancy: float | None = None,
) -> StaffingLoad:
    """The staffing APIs' shared query parameters (a dependency, so Litestar reads, documents and refuses them
    as it does a handler's own)."""
    return StaffingLoad(
        contacts=contacts,
        aht=aht,
        interval=interval,
        service_level=service_level,
        answer_within=answer_within,
        shrinkage=shrinkage,
        max_occupancy=max_occupancy,
    )


async def _staffing(
    db: AsyncSession, principal: Principal, load: StaffingLoad, *, model: str, patience: float | None = None
) -> Staffing:
    """What the Erlang C and A APIs share: the load staffed by ``model``, at the site's targets unless the caller
    gave others."""
    site = await get_site(db, principal.site_id)
    return service.calculate_staffing(
        model=model, settings=site_settings(site), patience=patience, **msgspec.structs.asdict(load)
    )


class DemandApiController(Controller):
    path = "/api/v1"
    tags = ["demand"]

    @post(
        "/demand/history",
        name="api:demand-history",
        guards=[requires("coordinator")],
        status_code=200,
        request_max_body_size=HISTORY_MAX_BYTES,
        responses={422: ResponseSpec(HistoryProblemsOut, description="The file had problems; nothing was written.")},
    )
    async def import_history(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal
    ) -> Response[HistoryImportOut | HistoryProblemsOut]:
        """Import contact history (body: text/csv), all or nothing; re-imported intervals are replaced."""
        try:
            result = await import_history(
                db, site_id=principal.site_id, chunks=request.stream(), imported_by_id=principal.user_id
            )
        except HistoryRejected as rejected:
            return Response(HistoryProblemsOut.of(rejected, request_id_of(request.scope)), status_code=422)
        return Response(HistoryImportOut.of(result))

    @post(
        "/demand/actuals",
        name="api:demand-actuals",
        guards=[requires("coordinator")],
        status_code=200,
        responses={422: ResponseSpec(ActualsProblemsOut, description="Bad rows, each named; nothing was stored.")},
    )
    async def actuals(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, data: ActualsIn
    ) -> Response[ActualsOut | Any]:
        """Store actual volumes per half-hour and skill as the day runs (the history import's fields), all or
        nothing. An interval already stored is REPLACED: re-post the half-hour under way as its counts grow.
        An interval that has not begun is refused (422), as is any row problem, named ``rows[i].field``."""
        rows = [row.as_actual() for row in data.rows]
        try:
            result = await record_actuals(db, site_id=principal.site_id, rows=rows, now=utcnow())
        except ActualsRejected as rejected:
            problems = [{"field": p.field, "message": p.message} for p in rejected.problems]
            return json_error(
                request, 422, rejected.message, rejected.field, problems=problems, problem_count=rejected.problem_count
            )
        return Response(ActualsOut.of(result))

    @get("/demand/forecast", name="api:demand-forecast", guards=[requires("coordinator", "finance")])
    async def forecast(self, db: Db, principal: CurrentPrincipal, skill: str, week: str = "") -> ForecastOut:
        """Per-slot forecast contacts, AHT and required agents for a skill's week (adjustments applied)."""
        site = await get_site(db, principal.site_id)
        chosen = await service.skill_by_code(db, site_id=site.id, code=skill)
        plan = await service.plan_week(db, site=site, skill=chosen, week=parse_week(week, site_zone(site)))
        return ForecastOut.of(plan)

    @get(
        "/staffing/erlang-c",
        name="api:erlang-c",
        guards=[requires("coordinator", "finance")],
        dependencies={"load": Provide(staffing_load, sync_to_thread=False)},
    )
    async def erlang_c(self, db: Db, principal: CurrentPrincipal, load: StaffingLoad) -> ErlangCOut:
        """Agents (shrinkage included) for a load by Erlang C; omitted targets are the site's."""
        return ErlangCOut.of(await _staffing(db, principal, load, model="erlang_c"))

    @get(
        "/staffing/erlang-a",
        name="api:erlang-a",
        guards=[requires("coordinator", "finance")],
        dependencies={"load": Provide(staffing_load, sync_to_thread=False)},
    )
    async def erlang_a(
        self, db: Db, principal: CurrentPrincipal, load: StaffingLoad, patience: float | None = None
    ) -> ErlangAOut:
        """As Erlang C, with callers abandoning after ``patience`` seconds on average (exact M/M/N+M)."""
        return ErlangAOut.of(await _staffing(db, principal, load, model="erlang_a", patience=patience))


router = Router(path="/", route_handlers=[DemandPagesController, StaffingPageController, DemandApiController])
