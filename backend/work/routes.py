"""Work records: the coordinator's CSV upload and record list, external agent ids, and the intake API.

Coordinators (and admins) upload and map; finance and agents get 403. The
API takes batches from contact-centre systems with a coordinator's (or an
admin's) token: 201 when anything new was stored, 200 when the whole batch
was a replay; a batch with any bad record is 422 listing every problem as
``records[i].field`` and stores nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Response, Router, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect, Template

from backend.accounts.service import get_site
from backend.accounts.zones import site_zone
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.security import Principal, requires
from backend.core.slots import local_midnight
from backend.core.templating import is_htmx, page
from backend.core.web import (
    AnyRequest,
    CurrentPrincipal,
    Db,
    FormBody,
    json_error,
    parse_fields,
    see_other,
    uploaded_file,
)
from backend.work import service
from backend.work.csv_import import COLUMNS, SAMPLE_CSV, import_work_csv
from backend.work.schemas import (
    ConflictOut,
    ExternalAgentForm,
    ExternalAgentOut,
    ExternalAgentsIn,
    ExternalAgentsOut,
    ExternalAgentValues,
    RecordsQuery,
    WorkBatchIn,
    WorkBatchOut,
    WorkProblemsOut,
)
from backend.work.service import IngestResult, WorkRejected

RECORDS_PAGE = "work/records.html"
AGENTS_PAGE = "work/agents.html"
UPLOAD_MAX_BYTES = 2 * 1024**3  # the body streams, so the limit guards the disk and the clock, not memory


async def agent_options(db: Any, *, site_id: int) -> list[tuple[str, str]]:
    return [(str(agent.id), agent.display_name) for agent in await service.site_agents(db, site_id=site_id)]


def problems_out(request: AnyRequest, rejected: WorkRejected) -> Response[Any]:
    """422 with the usual error body plus every problem (``records[i].field``) and their count."""
    problems = [{"field": problem.field, "message": problem.message} for problem in rejected.problems]
    return json_error(
        request, 422, rejected.message, rejected.field, problems=problems, problem_count=rejected.problem_count
    )


def batch_out(result: IngestResult) -> WorkBatchOut:
    conflicts = [
        ConflictOut(index=c.row, external_id=c.external_id, fields=list(c.fields)) for c in result.conflicts or []
    ]
    return WorkBatchOut(
        received=result.received, created=result.created, duplicates=result.duplicates, conflicts=conflicts
    )


class WorkPagesController(Controller):
    """``/admin/work``: upload a CSV, read the latest records, map external agent ids."""

    path = "/admin/work"
    include_in_schema = False
    guards = [requires("coordinator")]

    async def _records_context(
        self, db: Any, principal: Principal, *, agent: str = "", day: str = "", **extra: Any
    ) -> dict[str, Any]:
        site = await get_site(db, principal.site_id)
        zone = site_zone(site)
        context: dict[str, Any] = {
            "zone": zone,
            "columns": COLUMNS,
            "agent_options": await agent_options(db, site_id=site.id),
            "agent": agent,
            "day": day,
            "result": None,
            "rejected": None,
            "error": None,
            **extra,
        }
        try:
            chosen = parse_fields(RecordsQuery, {"day": day, "agent": agent})
        except DomainError as error:
            context["error"] = error
            chosen = RecordsQuery()
        start = local_midnight(chosen.day, zone) if chosen.day else None
        end = local_midnight(chosen.day + dt.timedelta(days=1), zone) if chosen.day else None
        context["records"] = await service.recent_records(
            db, site_id=site.id, user_id=chosen.agent, start=start, end=end
        )
        return context

    @get("/", name="work:records")
    async def records(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, agent: str = "", day: str = ""
    ) -> Template:
        context = await self._records_context(db, principal, agent=agent, day=day)
        return page(request, RECORDS_PAGE, context, status_code=422 if context["error"] else 200)

    @post("/", name="work:import", status_code=200, request_max_body_size=UPLOAD_MAX_BYTES)
    async def upload(self, request: AnyRequest, db: Db, principal: CurrentPrincipal) -> Template:
        """A multipart upload; problems are shown on the page (422, or 200 to htmx, which does not swap 4xx)."""
        site = await get_site(db, principal.site_id)
        refused: dict[str, Any] = {}
        try:
            result = await import_work_csv(db, site=site, chunks=uploaded_file(request), now=utcnow())
        except WorkRejected as rejected:
            refused = {"rejected": rejected}
        except DomainError as error:
            refused = {"error": error}
        if refused:
            context = await self._records_context(db, principal, **refused)
            return page(request, RECORDS_PAGE, context, status_code=200 if is_htmx(request) else 422)
        return page(request, RECORDS_PAGE, await self._records_context(db, principal, result=result))

    @get("/sample.csv", name="work:sample")
    async def sample(self) -> Response[str]:
        return Response(
            SAMPLE_CSV,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="work-records-sample.csv"'},
        )

    async def _agents_page(
        self, request: AnyRequest, db: Any, principal: Principal, *, status: int = 200, **extra: Any
    ) -> Template:
        context: dict[str, Any] = {
            "mappings": await service.external_agents(db, site_id=principal.site_id),
            "agent_options": await agent_options(db, site_id=principal.site_id),
            "form": ExternalAgentForm(),
            "error": None,
            "done": request.query_params.get("done", ""),
            **extra,
        }
        return page(request, AGENTS_PAGE, context, status_code=status)

    @get("/agents", name="work:agents")
    async def agents(self, request: AnyRequest, db: Db, principal: CurrentPrincipal) -> Template:
        return await self._agents_page(request, db, principal)

    @post("/agents", name="work:agents-map", status_code=303)
    async def map_agent(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, data: Annotated[ExternalAgentForm, FormBody]
    ) -> Redirect | Template:
        try:
            agent_id = parse_fields(ExternalAgentValues, data).agent_id
            async with db.begin_nested():
                await service.map_external_agents(
                    db,
                    site_id=principal.site_id,
                    source=data.source,
                    pairs=[(data.external_agent_id, agent_id)],
                    field_prefix="",
                )
        except DomainError as error:
            if isinstance(error, WorkRejected):  # a form maps one id: show its first problem at its field
                error = DomainError(error.problems[0].message, field=error.problems[0].field)
            status = 200 if is_htmx(request) else error.status_code
            return await self._agents_page(request, db, principal, status=status, error=error, form=data)
        return see_other("/admin/work/agents?done=mapped")

    @post("/agents/{mapping_id:int}/delete", name="work:agents-unmap", status_code=303)
    async def unmap_agent(self, db: Db, principal: CurrentPrincipal, mapping_id: PathId) -> Redirect:
        await service.unmap_external_agent(db, site_id=principal.site_id, mapping_id=mapping_id)
        return see_other("/admin/work/agents?done=removed")


class WorkApiController(Controller):
    path = "/api/v1"
    tags = ["work"]

    @post(
        "/work-records",
        name="api:work-records",
        guards=[requires("coordinator")],
        status_code=201,
        responses={
            200: ResponseSpec(WorkBatchOut, description="A replay: nothing new was stored."),
            422: ResponseSpec(WorkProblemsOut, description="Bad records, each named; nothing was stored."),
        },
    )
    async def ingest(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, data: WorkBatchIn
    ) -> Response[Any]:
        """Store a batch of up to 5,000 work records from one source, all or nothing.

        A record already stored under the same source and ``external_id`` is skipped and counted in
        ``duplicates``; if its content differs it is also listed in ``conflicts`` (still skipped: the stored
        copy stands). 201 when anything new was stored, 200 when nothing was.
        """
        site = await get_site(db, principal.site_id)
        try:
            result = await service.ingest(db, site=site, source=data.source, records=data.records, now=utcnow())
        except WorkRejected as rejected:
            return problems_out(request, rejected)
        return Response(batch_out(result), status_code=201 if result.created else 200)

    @put(
        "/external-agents",
        name="api:external-agents",
        guards=[requires("coordinator")],
        status_code=200,
        responses={
            200: ResponseSpec(ExternalAgentsOut, description="The mappings as stored.", generate_examples=False),
            422: ResponseSpec(WorkProblemsOut, description="Bad mappings, each named; nothing was stored."),
        },
    )
    async def map_agents(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, data: ExternalAgentsIn
    ) -> Response[Any]:
        """Map a source's agent ids to our agent ids (all or nothing); an existing mapping is moved."""
        pairs = [(item.external_agent_id, item.agent_id) for item in data.agents]
        try:
            mappings = await service.map_external_agents(db, site_id=principal.site_id, source=data.source, pairs=pairs)
        except WorkRejected as rejected:
            return problems_out(request, rejected)
        out = [
            ExternalAgentOut(source=m.source, external_agent_id=m.external_agent_id, agent_id=m.user_id)
            for m in mappings
        ]
        return Response(ExternalAgentsOut(agents=out))


router = Router(path="/", route_handlers=[WorkPagesController, WorkApiController])
