"""The agent's Earnings tab (accrued, statements, disputes) and the staff's pay disputes page."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Any

from litestar import Controller, Router, get, post
from litestar.response import Template

from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import PAY_ADJUSTERS, User
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError, NotFound
from backend.core.money import decimal_text, parse_amount
from backend.core.security import requires
from backend.core.templating import page, refused_status
from backend.core.web import AnyRequest, Db, FormBody, act_on_page, parse_fields, see_other
from backend.pay import disputes, earnings
from backend.pay.earnings import date_text, day_text, hours_text, is_group_key, kind_label
from backend.pay.periods import CONFIRM_ABOVE_MINOR, NeedsConfirmation
from backend.pay.schemas import AdjustForm, DisputedLine, DisputeForm, RejectForm

EARNINGS_PAGE = "pay/earnings/earnings.html"
STATEMENT_PAGE = "pay/earnings/statement.html"
PRINT_PAGE = "pay/earnings/statement_print.html"
DISPUTE_FORM = "pay/disputes/new.html"
STAFF_PAGE = "pay/disputes/staff.html"


def helpers() -> dict[str, Any]:
    return {
        "hours_text": hours_text,
        "kind_label": kind_label,
        "date_text": date_text,
        "day_text": day_text,
        "ref_text": disputes.ref_text,
    }


class EarningsController(Controller):
    """What I earned and why: the open period live, locked statements, paid amounts, my questions."""

    path = "/app/earnings"
    include_in_schema = False
    guards = [requires("agent")]

    @get("/", name="pay:earnings")
    async def show(self, request: AnyRequest, db: Db, current_user: CurrentUser, disputed: bool = False) -> Template:
        context = {
            "tab": "earnings",
            "user": current_user,
            "accrued": await earnings.open_periods(db, user=current_user),
            "statements": await earnings.statements(db, user=current_user),
            "disputes": await disputes.my_disputes(db, agent=current_user),
            "disputed": disputed,
            **helpers(),
        }
        return page(request, EARNINGS_PAGE, context)

    @get("/periods/{period_id:int}", name="pay:statement")
    async def statement(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, period_id: PathId, print: str = ""
    ) -> Template:
        context = {
            "tab": "earnings",
            "user": current_user,
            "statement": await earnings.statement(db, user=current_user, period_id=period_id),
            "printing": bool(print),
            **helpers(),
        }
        return page(request, PRINT_PAGE if print else STATEMENT_PAGE, context)

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
        try:
            async with db.begin_nested():
                await disputes.file_dispute(
                    db,
                    agent=current_user,
                    period_id=chosen.period,
                    line_id=chosen.line,
                    line_ref=data.ref,
                    comment=data.comment,
                    now=utcnow(),
                )
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
    """The site's open pay disputes: resolve each by an adjustment or a rejection with its reason."""

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
        action: Any,
        typed: AdjustForm | RejectForm,
    ) -> Any:
        """Adjust or reject: refused beside the dispute, or done (a dispute not the site's is Not found)."""
        return await act_on_page(
            request,
            db,
            action,
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

        async def act() -> None:
            amount = parse_amount(data.amount, field="amount", allow_negative=True)
            await disputes.resolve_by_adjustment(
                db,
                dispute_id=dispute_id,
                staff=current_user,
                amount_minor=amount,
                reason=data.reason,
                now=utcnow(),
                confirmed=data.confirmed == "yes",
            )

        return await self._resolve(request, db, current_user, dispute_id, "adjusted", act, data)

    @post("/{dispute_id:int}/reject", name="pay:dispute-reject", status_code=200)
    async def reject(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        dispute_id: PathId,
        data: Annotated[RejectForm, FormBody],
    ) -> Any:
        return await self._resolve(
            request,
            db,
            current_user,
            dispute_id,
            "rejected",
            lambda: disputes.reject(db, dispute_id=dispute_id, staff=current_user, reason=data.reason, now=utcnow()),
            data,
        )


router = Router(path="/", route_handlers=[EarningsController, DisputeStaffController])
