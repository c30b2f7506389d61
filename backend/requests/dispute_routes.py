"""Pay disputes as pay requests: the earnings page's "Question this line" form and the staff's pay disputes page.

The URLs, route names, templates and behaviour are the ones pay had; what changed is that a question filed here is
also a pay request (routed, on a clock, with its conversation) and that a dispute resolved on the old page resolves
its request. The dispute keeps its pay rules (``backend.pay.disputes``): one open question per line, an adjustment
booked into the open period, a resolution decided once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Collection
from functools import partial
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import PAY_ADJUSTERS, User
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError, NotFound
from backend.core.money import decimal_text, parse_amount
from backend.core.security import requires
from backend.core.templating import page, refused_status
from backend.core.web import AnyRequest, Db, FormBody, act_on_page, parse_fields, see_other
from backend.pay import disputes
from backend.pay.earnings import is_group_key
from backend.pay.earnings_routes import helpers
from backend.pay.models import Dispute
from backend.pay.periods import CONFIRM_ABOVE_MINOR, NeedsConfirmation
from backend.pay.schemas import AdjustForm, DisputedLine, DisputeForm, RejectForm
from backend.requests import actions, intake
from backend.requests.models import Request

DISPUTE_FORM = "pay/disputes/new.html"
STAFF_PAGE = "pay/disputes/staff.html"


@disputes.find_requests_with
async def requests_of_disputes(session: AsyncSession, dispute_ids: Collection[int]) -> dict[int, int]:
    """The pay request that carries each of these disputes (every dispute has one once filed or carried over)."""
    rows = await session.execute(
        select(Request.dispute_id, Request.id).where(Request.dispute_id.in_(list(dispute_ids)))
    )
    return {dispute_id: request_id for dispute_id, request_id in rows if dispute_id is not None}


class DisputeFormController(Controller):
    """An agent questions a line of their pay: the dispute and its pay request, filed together."""

    path = "/app/earnings"
    include_in_schema = False
    guards = [requires("agent")]

    async def _form(
        self,
        request: AnyRequest,
        db: Any,
        user: User,
        *,
        period: str,
        line: str,
        ref: str,
        comment: str = "",
        error: DomainError | None = None,
    ) -> Template:
        chosen = parse_fields(DisputedLine, {"period": period, "line": line})
        period_row, shown = await disputes.disputable_line(
            db, agent=user, period_id=chosen.period, line_id=chosen.line, line_ref=ref
        )
        context = {
            "tab": "earnings",
            "user": user,
            "period": period_row,
            "last_day": period_row.ends_on - dt.timedelta(days=1),
            "line": shown,
            "is_group": is_group_key(ref),
            "form": {"period": period, "line": line, "ref": ref, "comment": comment},
            "error": error,
            "max_chars": disputes.COMMENT_MAX_CHARS,
            **helpers(),
        }
        return page(request, DISPUTE_FORM, context, status_code=refused_status(request, error))

    @get("/disputes/new", name="pay:dispute-form")
    async def dispute_form(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, period: str = "", line: str = "", ref: str = ""
    ) -> Template:
        if not period:
            raise NotFound("line")
        return await self._form(request, db, current_user, period=period, line=line, ref=ref)

    @post("/disputes", name="pay:dispute-file", status_code=200)
    async def file(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, data: Annotated[DisputeForm, FormBody]
    ) -> Any:
        """Question a line; a refusal re-renders the form with the comment kept (422 naming the field)."""
        chosen = parse_fields(DisputedLine, data)
        now = utcnow()
        try:
            async with db.begin_nested():
                dispute = await disputes.file_dispute(
                    db,
                    agent=current_user,
                    period_id=chosen.period,
                    line_id=chosen.line,
                    line_ref=data.ref,
                    comment=data.comment,
                    now=now,
                )
                await intake.raise_for_dispute(db, dispute=dispute, asker=current_user, now=now)
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._form(
                request,
                db,
                current_user,
                period=data.period,
                line=data.line,
                ref=data.ref,
                comment=data.comment,
                error=error,
            )
        return see_other("/app/earnings?disputed=1#disputes")


class DisputeStaffController(Controller):
    """The site's open pay disputes: resolve each by an adjustment or a rejection with its reason (its pay request
    is resolved with it)."""

    path = "/admin/pay/disputes"
    include_in_schema = False
    guards = [requires(*PAY_ADJUSTERS)]

    async def _page(
        self,
        request: AnyRequest,
        db: Any,
        staff: User,
        *,
        error: DomainError | None = None,
        error_key: int | None = None,
        typed: AdjustForm | RejectForm | None = None,
        done: str = "",
    ) -> Template:
        """The board; a refusal is shown beside its dispute with what was typed, a large amount as a read-back."""
        open_views, resolved = await disputes.site_disputes(db, staff=staff)
        confirming = error if isinstance(error, NeedsConfirmation) else None
        context = {
            "open_disputes": open_views,
            "resolved": resolved,
            "request_ids": await disputes.request_ids(db, [view.dispute.id for view in open_views]),
            "error": None if confirming else error,
            "error_key": error_key,
            "typed": typed,
            "confirming": confirming,
            "confirm_amount": decimal_text(confirming.amount_minor) if confirming else "",
            "confirm_above_minor": CONFIRM_ABOVE_MINOR,
            "done": done,
            **helpers(),
        }
        status = 200 if confirming else refused_status(request, error)
        return page(request, STAFF_PAGE, context, status_code=status)

    @get("/", name="pay:disputes-admin")
    async def show(self, request: AnyRequest, db: Db, current_user: CurrentUser, done: str = "") -> Template:
        return await self._page(request, db, current_user, done=done if done in {"adjusted", "rejected"} else "")

    async def _resolve(
        self,
        request: AnyRequest,
        db: Any,
        staff: User,
        dispute_id: int,
        done: str,
        settle: Callable[[dt.datetime], Awaitable[Dispute]],
        typed: AdjustForm | RejectForm,
    ) -> Any:
        """Adjust or reject, then resolve the dispute's request: refused beside the dispute, or done (a dispute not
        the site's is Not found)."""

        async def act() -> None:
            now = utcnow()
            dispute = await settle(now)
            await actions.settle_from_dispute(db, dispute=dispute, actor=staff, now=now)

        return await act_on_page(
            request,
            db,
            act,
            render=partial(self._page, request, db, staff),
            done=done,
            refused_with={"error_key": dispute_id, "typed": typed},
            then=f"{self.path}?done={done}",
            raised={404},
        )

    @post("/{dispute_id:int}/adjust", name="pay:dispute-adjust", status_code=200)
    async def adjust(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        dispute_id: PathId,
        data: Annotated[AdjustForm, FormBody],
    ) -> Any:
        """Book an adjustment: an amount above the read-back limit comes back as a question and is booked only when
        the answer (``confirmed=yes``) is posted."""

        async def settle(now: dt.datetime) -> Dispute:
            amount = parse_amount(data.amount, field="amount", allow_negative=True)
            return await disputes.resolve_by_adjustment(
                db,
                dispute_id=dispute_id,
                staff=current_user,
                amount_minor=amount,
                reason=data.reason,
                now=now,
                confirmed=data.confirmed == "yes",
            )

        return await self._resolve(request, db, current_user, dispute_id, "adjusted", settle, data)

    @post("/{dispute_id:int}/reject", name="pay:dispute-reject", status_code=200)
    async def reject(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        dispute_id: PathId,
        data: Annotated[RejectForm, FormBody],
    ) -> Any:
        async def settle(now: dt.datetime) -> Dispute:
            return await disputes.reject(db, dispute_id=dispute_id, staff=current_user, reason=data.reason, now=now)

        return await self._resolve(request, db, current_user, dispute_id, "rejected", settle, data)
