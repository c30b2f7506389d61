"""Finance's actions on money already moving: retry a failed payout, reverse a sent one, reconcile a run.

Each is a form post (CSRF) answered 303 back to the run page; a refusal is shown on the run page with its
status (422, 409), and a payout or run of another site is 404, as everywhere.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Router, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.dependencies import CurrentUser
from backend.accounts.schemas import Form
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.security import requires
from backend.core.settings import Settings
from backend.core.web import AnyRequest, AppSettings, CurrentPrincipal, Db, FormBody
from backend.payouts import reconcile, reversals, runs, sender
from backend.payouts.finance_routes import act_on_run
from backend.payouts.gateway import require_gateway
from backend.payouts.models import Payout


class ReverseForm(Form):
    # Checked in the service (with a message naming it); the bound here only refuses absurd bodies.
    reason: Annotated[str, msgspec.Meta(max_length=4 * reversals.REASON_MAX_CHARS)] = ""


async def _on_run_page(
    request: AnyRequest, db: AsyncSession, settings: Settings, *, site_id: int, run_id: int, act: Any, done: str
) -> Redirect | Template:
    """The run page's one way of acting; a 403 or 404 is raised as it is."""
    return await act_on_run(
        request, db, settings, site_id=site_id, run_id=run_id, act=act, done=done, raised=(403, 404)
    )


async def _payout(db: AsyncSession, *, site_id: int, payout_id: int) -> Payout:
    return await runs.payout_of_site(db, site_id=site_id, payout_id=payout_id)


class TransferActions(Controller):
    path = "/finance"
    include_in_schema = False
    guards = [requires("finance")]

    @post("/payouts/{payout_id:int}/retry", name="payouts:retry", status_code=303)
    async def retry(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        settings: AppSettings,
        payout_id: PathId,
    ) -> Redirect | Template:
        payout = await _payout(db, site_id=principal.site_id, payout_id=payout_id)

        async def act() -> None:
            require_gateway(settings)
            await sender.retry_payout(db, payout_id=payout.id, by=current_user, now=utcnow())

        return await _on_run_page(
            request, db, settings, site_id=principal.site_id, run_id=payout.run_id, act=act, done="retried"
        )

    @post("/payouts/{payout_id:int}/reverse", name="payouts:reverse", status_code=303)
    async def reverse(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        settings: AppSettings,
        payout_id: PathId,
        data: Annotated[ReverseForm, FormBody],
    ) -> Redirect | Template:
        payout = await _payout(db, site_id=principal.site_id, payout_id=payout_id)

        async def act() -> None:
            gateway = require_gateway(settings)
            await reversals.reverse_payout(
                db, gateway, payout_id=payout.id, by=current_user, reason=data.reason, now=utcnow()
            )

        return await _on_run_page(
            request, db, settings, site_id=principal.site_id, run_id=payout.run_id, act=act, done="reversed"
        )

    @post("/payout-runs/{run_id:int}/reconcile", name="payouts:reconcile", status_code=303)
    async def reconcile(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, settings: AppSettings, run_id: PathId
    ) -> Redirect | Template:
        run = await runs.run_of_site(db, site_id=principal.site_id, run_id=run_id)

        async def act() -> None:
            gateway = require_gateway(settings)
            await reconcile.reconcile_run(db, gateway, run_id=run.id, now=utcnow())

        return await _on_run_page(
            request, db, settings, site_id=principal.site_id, run_id=run.id, act=act, done="reconciled"
        )


router = Router(path="/", route_handlers=[TransferActions])
