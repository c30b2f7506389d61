"""Finance's payout pages: the runs, a run with every payout, its holds, warnings and differences, and its buttons.

Only finance (and admins) see them; agents and coordinators are refused (403). A run, period or payout is looked
up within the caller's site: any other id is 404. Every button is a form that works without JavaScript (a POST
answered by a 303 back to the run); a refusal re-renders the run page with the reason. The buttons for retry,
reverse and reconcile post to the money-movement routes (``transfer_routes``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Router, get, post
from litestar.response import Redirect, Response, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import Site, User
from backend.accounts.schemas import Form
from backend.accounts.site_settings import site_settings
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.security import requires
from backend.core.templating import page, refused_status
from backend.core.web import AnyRequest, AppSettings, CurrentPrincipal, Db, FormBody, see_other
from backend.pay import periods
from backend.pay.exports import settlement_totals
from backend.pay.models import PayPeriod, PeriodStatus
from backend.payouts import bank, runs
from backend.payouts.gateway import gateway_of
from backend.payouts.models import (
    Payout,
    PayoutRun,
    PayoutStatus,
    PayoutWarning,
    Rail,
    ReconciliationDifference,
    RunStatus,
)

RUNS_PAGE = "payouts/finance/runs.html"
RUN_PAGE = "payouts/finance/run.html"


class ReturnForm(Form):
    reason: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class PayoutSettingsForm(Form):
    """Amounts stay text here: ``parse_amount`` refuses a bad one beside its field, in plain words."""

    rail: Annotated[str, msgspec.Meta(max_length=10)] = ""
    minimum: Annotated[str, msgspec.Meta(max_length=30)] = ""
    second_above: Annotated[str, msgspec.Meta(max_length=30)] = ""


async def render_runs(
    request: AnyRequest,
    db: AsyncSession,
    site_id: int,
    *,
    error: DomainError | None = None,
    form: PayoutSettingsForm | None = None,
) -> Template:
    """The site's runs, newest first, and the locked periods that have none yet (each with "prepare")."""
    run_rows = list(
        await db.execute(
            select(PayoutRun, PayPeriod)
            .join(PayPeriod, PayPeriod.id == PayoutRun.period_id)
            .where(PayoutRun.site_id == site_id)
            .order_by(PayPeriod.starts_on.desc())
            .limit(200)
        )
    )
    with_run = select(PayoutRun.period_id)
    ready = list(
        await db.scalars(
            select(PayPeriod)
            .where(PayPeriod.site_id == site_id, PayPeriod.status == PeriodStatus.locked)
            .where(PayPeriod.id.not_in(with_run))
            .order_by(PayPeriod.starts_on.desc())
            .limit(50)
        )
    )
    site = await db.get(Site, site_id)
    assert site is not None
    context = {
        "runs": run_rows,
        "ready": ready,
        "error": error if error is None or error.field is None else None,
        "settings_error": error if error is not None and error.field is not None else None,
        "payout_settings": site_settings(site),
        "form": form,
    }
    return page(request, RUNS_PAGE, context, status_code=refused_status(request, error))


async def render_run(
    request: AnyRequest,
    db: AsyncSession,
    settings: Any,
    run: PayoutRun,
    *,
    done: str = "",
    error: DomainError | None = None,
) -> Template:
    """A run: its totals, who prepared and approved it, every payout with its state, warnings, differences."""
    period = await db.get(PayPeriod, run.period_id)
    assert period is not None
    payouts = list(
        await db.scalars(select(Payout).where(Payout.run_id == run.id).order_by(Payout.display_name, Payout.id))
    )
    names = {p.user_id: p.display_name for p in payouts}
    warnings = list(
        await db.scalars(select(PayoutWarning).where(PayoutWarning.run_id == run.id).order_by(PayoutWarning.id))
    )
    differences = list(
        await db.scalars(
            select(ReconciliationDifference)
            .where(ReconciliationDifference.run_id == run.id)
            .order_by(ReconciliationDifference.id)
        )
    )
    people_ids = {i for i in (run.prepared_by_id, run.approved_by_id, run.sent_by_id) if i}
    people = dict((await db.execute(select(User.id, User.display_name).where(User.id.in_(people_ids)))).all())
    sent_total = await db.scalar(
        select(func.coalesce(func.sum(Payout.amount_minor), 0)).where(
            Payout.run_id == run.id, Payout.status.in_([PayoutStatus.sent, PayoutStatus.paid])
        )
    )
    context = {
        "run": run,
        "period": period,
        "last_day": periods.last_day(period),
        "payouts": payouts,
        "names": names,
        "warnings": warnings,
        "open_warnings": [w for w in warnings if w.acknowledged_at is None],
        "differences": differences,
        "people": people,
        "sent_total": int(sent_total or 0),
        "net_total": (await settlement_totals(db, period_id=period.id)).net,
        "sending_on": gateway_of(settings) is not None,
        "done": done,
        "error": error,
        "hold_text": runs.hold_text,
        "warning_text": runs.warning_text,
        "failure_text": runs.failure_text,
        "is_bank": run.rail is Rail.bank,
        "RunStatus": RunStatus,
    }
    return page(request, RUN_PAGE, context, status_code=refused_status(request, error))


async def act_on_run(
    request: AnyRequest,
    db: AsyncSession,
    settings: Any,
    *,
    site_id: int,
    run_id: int,
    act: Any,
    done: str,
    raised: tuple[int, ...] = (404,),
) -> Redirect | Template:
    """Run ``act`` in a savepoint: success → 303 to the run page; a refusal (other than ``raised``) → the run
    page with it."""
    try:
        async with db.begin_nested():
            await act()
    except DomainError as error:
        if error.status_code in raised:
            raise
        run = await runs.run_of_site(db, site_id=site_id, run_id=run_id)
        return await render_run(request, db, settings, run, error=error)
    return see_other(f"/finance/payout-runs/{run_id}?done={done}")


class PayoutRunsController(Controller):
    """``/finance/payouts`` and ``/finance/payout-runs/...``: prepare, check, approve, send."""

    path = "/finance"
    include_in_schema = False
    guards = [requires("finance")]

    @get("/payouts", name="payouts:runs")
    async def runs_page(self, request: AnyRequest, db: Db, principal: CurrentPrincipal) -> Template:
        return await render_runs(request, db, principal.site_id)

    @post("/payouts/settings", name="payouts:settings", status_code=303)
    async def save_settings(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        data: Annotated[PayoutSettingsForm, FormBody],
    ) -> Redirect | Template:
        try:
            async with db.begin_nested():
                await runs.save_payout_settings(
                    db, by=current_user, rail=data.rail, minimum=data.minimum, second_above=data.second_above
                )
        except DomainError as error:
            return await render_runs(request, db, principal.site_id, error=error, form=data)
        return see_other("/finance/payouts?done=settings")

    @post("/periods/{period_id:int}/payout-run", name="payouts:prepare", status_code=303)
    async def prepare(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, current_user: CurrentUser, period_id: PathId
    ) -> Redirect | Template:
        await periods.period_of_site(db, site_id=principal.site_id, period_id=period_id)  # 404 before anything
        try:
            async with db.begin_nested():
                run = await runs.prepare_run(db, period_id=period_id, by=current_user, now=utcnow())
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await render_runs(request, db, principal.site_id, error=error)
        return see_other(f"/finance/payout-runs/{run.id}")

    @get("/payout-runs/{run_id:int}", name="payouts:run")
    async def run_page(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        settings: AppSettings,
        run_id: PathId,
        done: str = "",
    ) -> Template:
        run = await runs.run_of_site(db, site_id=principal.site_id, run_id=run_id)
        return await render_run(request, db, settings, run, done=done[:20])

    async def _act(
        self, request: AnyRequest, db: AsyncSession, settings: Any, site_id: int, run_id: int, act: Any, done: str
    ) -> Redirect | Template:
        await runs.run_of_site(db, site_id=site_id, run_id=run_id)  # 404 before anything
        return await act_on_run(request, db, settings, site_id=site_id, run_id=run_id, act=act, done=done)

    @post("/payout-runs/{run_id:int}/approve", name="payouts:approve", status_code=303)
    async def approve(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        settings: AppSettings,
        run_id: PathId,
    ) -> Redirect | Template:
        sending_on = gateway_of(settings) is not None

        async def act() -> None:
            await runs.approve_run(db, run_id=run_id, by=current_user, now=utcnow(), sending_on=sending_on)

        return await self._act(request, db, settings, principal.site_id, run_id, act, "approved")

    @post("/payout-runs/{run_id:int}/cancel", name="payouts:cancel", status_code=303)
    async def cancel(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        settings: AppSettings,
        run_id: PathId,
    ) -> Redirect | Template:
        async def act() -> None:
            await runs.cancel_run(db, run_id=run_id, by=current_user, now=utcnow())

        return await self._act(request, db, settings, principal.site_id, run_id, act, "cancelled")

    @post("/payout-runs/{run_id:int}/warnings/acknowledge", name="payouts:acknowledge", status_code=303)
    async def acknowledge(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        settings: AppSettings,
        run_id: PathId,
    ) -> Redirect | Template:
        async def act() -> None:
            await runs.acknowledge_warnings(db, run_id=run_id, by=current_user, now=utcnow())

        return await self._act(request, db, settings, principal.site_id, run_id, act, "acknowledged")

    @get("/payout-runs/{run_id:int}/bank-file.csv", name="payouts:bank-file")
    async def bank_file(
        self, db: Db, principal: CurrentPrincipal, current_user: CurrentUser, run_id: PathId
    ) -> Response[bytes]:
        run = await runs.run_of_site(db, site_id=principal.site_id, run_id=run_id)
        body = await bank.bank_file(db, run_id=run.id, by=current_user)
        return Response(
            body,
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="{bank.file_name(run)}"',
                "Cache-Control": "no-store",
            },
        )

    @post("/payout-runs/{run_id:int}/bank-sent", name="payouts:bank-sent", status_code=303)
    async def bank_sent(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        settings: AppSettings,
        run_id: PathId,
    ) -> Redirect | Template:
        async def act() -> None:
            await bank.mark_bank_sent(db, run_id=run_id, by=current_user, now=utcnow())

        return await self._act(request, db, settings, principal.site_id, run_id, act, "sent")

    @post("/payout-runs/{run_id:int}/bank-paid", name="payouts:bank-paid-run", status_code=303)
    async def bank_paid_run(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        settings: AppSettings,
        run_id: PathId,
    ) -> Redirect | Template:
        async def act() -> None:
            await bank.mark_bank_paid(db, run_id=run_id, by=current_user, now=utcnow())

        return await self._act(request, db, settings, principal.site_id, run_id, act, "paid")

    @post("/payouts/{payout_id:int}/bank-paid", name="payouts:bank-paid", status_code=303)
    async def bank_paid(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        settings: AppSettings,
        payout_id: PathId,
    ) -> Redirect | Template:
        payout = await runs.payout_of_site(db, site_id=principal.site_id, payout_id=payout_id)

        async def act() -> None:
            await bank.mark_bank_paid(db, payout_id=payout.id, by=current_user, now=utcnow())

        return await self._act(request, db, settings, principal.site_id, payout.run_id, act, "paid")

    @post("/payouts/{payout_id:int}/bank-returned", name="payouts:bank-returned", status_code=303)
    async def bank_returned(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        settings: AppSettings,
        payout_id: PathId,
        data: Annotated[ReturnForm, FormBody],
    ) -> Redirect | Template:
        payout = await runs.payout_of_site(db, site_id=principal.site_id, payout_id=payout_id)

        async def act() -> None:
            await bank.bank_returned(db, payout_id=payout.id, reason=data.reason, by=current_user, now=utcnow())

        return await self._act(request, db, settings, principal.site_id, payout.run_id, act, "returned")


router = Router(path="/", route_handlers=[PayoutRunsController])
