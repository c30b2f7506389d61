"""Finance's pages and API: the site's pay periods, one period's settlements, lock, mark paid, exports.

Who may do what: finance (and admins) see the periods, lock, mark paid and export; coordinators and
agents are refused (403), as the staff nav and the role pages say (finance pages are finance's).
A period is looked up within the caller's site: any other id is 404.

Exports stream (``Stream``) from a session of their own: the request's unit of work is closed
before a response body is sent. Everything that can refuse an export (open period 409, totals
that differ from the ledger 500) is checked before the first byte.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from litestar import Controller, Router, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import skill_label
from backend.core.bounds import NUMBER_MAX, PathId
from backend.core.db import utcnow
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.core.security import Principal, requires
from backend.core.templating import page, refused_status
from backend.core.web import AnyRequest, CurrentPrincipal, Db, database_of, see_other
from backend.pay import exports, late, periods
from backend.pay.earnings import pieces_text
from backend.pay.models import PayPeriod, PeriodStatus, Settlement
from backend.pay.schemas import PayPeriodOut

ROWS_PER_PAGE = 100
LIST_PAGE = "pay/finance/periods.html"
PERIOD_PAGE = "pay/finance/period.html"
EXPORT_NAMES = {f"settlement.{ext}": ext for ext in exports.FORMATS}


async def site_period(session: AsyncSession, *, site_id: int, period_id: int) -> PayPeriod:
    """The period if it belongs to the site, else 404 (ids of other sites cannot be probed)."""
    period = await session.scalar(select(PayPeriod).where(PayPeriod.id == period_id, PayPeriod.site_id == site_id))
    if period is None:
        raise NotFound("pay period")
    return period


async def site_periods(session: AsyncSession, *, site_id: int) -> list[PayPeriod]:
    """The site's periods, newest first."""
    rows = await session.scalars(
        select(PayPeriod).where(PayPeriod.site_id == site_id).order_by(PayPeriod.starts_on.desc()).limit(500)
    )
    return list(rows)


def export_name(request: AnyRequest) -> str:
    return EXPORT_NAMES[request.url.path.rsplit("/", 1)[-1]]


async def stream_export(request: AnyRequest, db: AsyncSession, period: PayPeriod, ext: str) -> Stream:
    """Check what can refuse the export, then stream it from a session of its own."""
    exports.require_locked(period)
    await exports.reconciled_totals(db, period=period)
    database = database_of(request)
    site_id, period_id = period.site_id, period.id

    async def chunks() -> Any:
        async with database.session() as session:
            fresh = await site_period(session, site_id=site_id, period_id=period_id)
            async for chunk in exports.EXPORTERS[ext](session, period=fresh):
                yield chunk

    return Stream(
        chunks(),
        media_type=exports.MEDIA_TYPES[ext],
        headers={
            "Content-Disposition": f'attachment; filename="{exports.filename(period, ext)}"',
            "Cache-Control": "no-store",
        },
    )


class FinanceController(Controller):
    """``/finance``: the periods, a period's settlements and its actions."""

    path = "/finance"
    include_in_schema = False
    guards = [requires("finance")]

    @get("/", name="finance:home")
    async def periods_page(self, request: AnyRequest, db: Db, principal: CurrentPrincipal) -> Template:
        rows = await site_periods(db, site_id=principal.site_id)
        totals = await exports.totals_by_period(db, period_ids=[p.id for p in rows])
        context = {"periods": rows, "totals": totals}
        return page(request, LIST_PAGE, context)

    @get("/periods/{period_id:int}", name="finance:period")
    async def period_page(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        period_id: PathId,
        page_number: Annotated[int, Parameter(query="page", ge=1, le=NUMBER_MAX)] = 1,
        done: str = "",
    ) -> Template:
        period = await site_period(db, site_id=principal.site_id, period_id=period_id)
        return await render_period(request, db, principal, period, page_number=page_number, done=done)

    @post("/periods/{period_id:int}/lock", name="finance:lock", status_code=303)
    async def lock(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, current_user: CurrentUser, period_id: PathId
    ) -> Redirect | Template:
        period = await site_period(db, site_id=principal.site_id, period_id=period_id)
        try:
            async with db.begin_nested():
                await periods.lock_period(db, period_id=period.id, by=current_user, now=utcnow())
        except DomainError as error:
            await db.refresh(period)
            return await render_period(request, db, principal, period, error=error)
        return see_other(f"/finance/periods/{period.id}?done=locked")

    @post("/periods/{period_id:int}/paid", name="finance:paid", status_code=303)
    async def mark_paid(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, current_user: CurrentUser, period_id: PathId
    ) -> Redirect | Template:
        period = await site_period(db, site_id=principal.site_id, period_id=period_id)
        try:
            if period.status == PeriodStatus.open:
                raise Conflict(_("Lock the period before marking it paid."))
            async with db.begin_nested():
                await periods.mark_paid(db, period_id=period.id, by=current_user, now=utcnow())
        except DomainError as error:
            await db.refresh(period)
            return await render_period(request, db, principal, period, error=error)
        return see_other(f"/finance/periods/{period.id}?done=paid")

    @get(
        [f"/periods/{{period_id:int}}/{name}" for name in EXPORT_NAMES],
        name="finance:export",
    )
    async def export(self, request: AnyRequest, db: Db, principal: CurrentPrincipal, period_id: PathId) -> Stream:
        period = await site_period(db, site_id=principal.site_id, period_id=period_id)
        return await stream_export(request, db, period, export_name(request))


async def render_period(
    request: AnyRequest,
    db: AsyncSession,
    principal: Principal,
    period: PayPeriod,
    *,
    page_number: int = 1,
    done: str = "",
    error: DomainError | None = None,
) -> Template:
    """A period: status, totals (reconciled with the ledger once locked), one page of settlements, the late work it
    pays, actions."""
    totals = await exports.settlement_totals(db, period_id=period.id)
    ledger = await exports.ledger_totals(db, period_id=period.id)
    reconciles = {"gross": totals.gross, "net": totals.net, "withholding": totals.withholding} == ledger
    pages = max(1, math.ceil(totals.agents / ROWS_PER_PAGE))
    page_number = min(max(1, page_number), pages)
    rows = (
        await db.scalars(
            select(Settlement)
            .where(Settlement.period_id == period.id)
            .order_by(Settlement.user_id)
            .offset((page_number - 1) * ROWS_PER_PAGE)
            .limit(ROWS_PER_PAGE)
        )
    ).all()
    context = {
        "period": period,
        "totals": totals,
        "ledger": ledger,
        "reconciles": reconciles,
        "rows": rows,
        "page_number": page_number,
        "pages": pages,
        "done": done,
        "error": error,
        "formats": exports.FORMATS,
        "last_day": exports.last_day(period),
        "late": await late.late_lines(db, period=period),
        "pieces_text": pieces_text,
        "skill_names": {
            skill.code: skill_label(skill) for skill in await accounts.list_skills(db, site_id=period.site_id)
        },
    }
    return page(request, PERIOD_PAGE, context, status_code=refused_status(request, error))


class PayPeriodApi(Controller):
    """``/api/v1/pay-periods`` for finance scripts (a finance API token; admins too)."""

    path = "/api/v1/pay-periods"
    tags = ["pay"]
    guards = [requires("finance")]

    @get("/", name="api:pay-periods")
    async def list_periods(self, db: Db, principal: CurrentPrincipal) -> list[PayPeriodOut]:
        """The site's pay periods, newest first, with totals and checksum once locked."""
        rows = await site_periods(db, site_id=principal.site_id)
        totals = await exports.totals_by_period(db, period_ids=[p.id for p in rows])
        return [PayPeriodOut.of(p, totals.get(p.id, exports.Totals(*([0] * 10)))) for p in rows]

    @get("/{period_id:int}", name="api:pay-period")
    async def one_period(self, db: Db, principal: CurrentPrincipal, period_id: PathId) -> PayPeriodOut:
        period = await site_period(db, site_id=principal.site_id, period_id=period_id)
        return PayPeriodOut.of(period, await exports.settlement_totals(db, period_id=period.id))

    @post("/{period_id:int}/lock", name="api:pay-period-lock", status_code=200)
    async def lock(
        self, db: Db, principal: CurrentPrincipal, current_user: CurrentUser, period_id: PathId
    ) -> PayPeriodOut:
        """Lock the period (idempotent: a locked or paid period is answered as it is, 200 either way)."""
        period = await site_period(db, site_id=principal.site_id, period_id=period_id)
        if period.status == PeriodStatus.open:
            period = await periods.lock_period(db, period_id=period.id, by=current_user, now=utcnow())
        return PayPeriodOut.of(period, await exports.settlement_totals(db, period_id=period.id))

    @get("/{period_id:int}/settlement.csv", name="api:pay-period-export-csv", media_type=exports.MEDIA_TYPES["csv"])
    async def export_csv(self, request: AnyRequest, db: Db, principal: CurrentPrincipal, period_id: PathId) -> Stream:
        """The settlement of a locked period as CSV (409 while open), streamed."""
        return await self.export(request, db, principal, period_id)

    @get("/{period_id:int}/settlement.xlsx", name="api:pay-period-export-xlsx", media_type=exports.MEDIA_TYPES["xlsx"])
    async def export_xlsx(self, request: AnyRequest, db: Db, principal: CurrentPrincipal, period_id: PathId) -> Stream:
        """The settlement of a locked period as XLSX (409 while open), streamed."""
        return await self.export(request, db, principal, period_id)

    @get("/{period_id:int}/settlement.json", name="api:pay-period-export-json", media_type=exports.MEDIA_TYPES["json"])
    async def export_json(self, request: AnyRequest, db: Db, principal: CurrentPrincipal, period_id: PathId) -> Stream:
        """The settlement of a locked period as JSON (409 while open), streamed."""
        return await self.export(request, db, principal, period_id)

    @staticmethod
    async def export(request: AnyRequest, db: Db, principal: CurrentPrincipal, period_id: int) -> Stream:
        """One path for the three formats: each route only names its own content type for the API document."""
        period = await site_period(db, site_id=principal.site_id, period_id=period_id)
        return await stream_export(request, db, period, export_name(request))


router = Router(path="/", route_handlers=[FinanceController, PayPeriodApi])
