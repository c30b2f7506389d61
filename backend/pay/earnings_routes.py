"""The agent's Earnings tab (accrued, statements, disputes) and the staff's pay disputes page."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Router, get, post
from litestar.response import Template

from backend.accounts import service as accounts
from backend.accounts.models import User
from backend.accounts.schemas import Form
from backend.core.db import utcnow
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.core.money import parse_amount
from backend.core.security import requires
from backend.core.templating import is_htmx, page, refused_status
from backend.core.web import CurrentPrincipal, Db, FormBody, see_other
from backend.pay import disputes, earnings
from backend.pay.earnings import date_text, day_text, hours_text, kind_label

EARNINGS_PAGE = "pay/earnings/earnings.html"
STATEMENT_PAGE = "pay/earnings/statement.html"
PRINT_PAGE = "pay/earnings/statement_print.html"
DISPUTE_FORM = "pay/disputes/new.html"
STAFF_PAGE = "pay/disputes/staff.html"
Id = Annotated[str, msgspec.Meta(max_length=12)]


class DisputeForm(Form):
    period: Id
    line: Id = ""
    ref: Annotated[str, msgspec.Meta(max_length=earnings.REF_MAX_CHARS)] = ""
    # Checked in the service (with a message naming it); the bound here only refuses absurd bodies.
    comment: Annotated[str, msgspec.Meta(max_length=8 * disputes.COMMENT_MAX_CHARS)] = ""


class AdjustForm(Form):
    amount: Annotated[str, msgspec.Meta(max_length=14)] = ""
    reason: Annotated[str, msgspec.Meta(max_length=4 * disputes.REASON_MAX_CHARS)] = ""


class RejectForm(Form):
    reason: Annotated[str, msgspec.Meta(max_length=4 * disputes.REASON_MAX_CHARS)] = ""


def _id(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise DomainError(_("Choose a line from your earnings."), field=name) from None


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
    async def show(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, disputed: bool = False
    ) -> Template:
        user = await accounts.get_user(db, principal.user_id)
        context = {
            "tab": "earnings",
            "user": user,
            "accrued": await earnings.open_periods(db, user=user),
            "statements": await earnings.statements(db, user=user),
            "disputes": await disputes.my_disputes(db, agent=user),
            "disputed": disputed,
            **helpers(),
        }
        return page(request, EARNINGS_PAGE, context)

    @get("/periods/{period_id:int}", name="pay:statement")
    async def statement(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, period_id: int, print: str = ""
    ) -> Template:
        user = await accounts.get_user(db, principal.user_id)
        context = {
            "tab": "earnings",
            "user": user,
            "statement": await earnings.statement(db, user=user, period_id=period_id),
            "printing": bool(print),
            **helpers(),
        }
        return page(request, PRINT_PAGE if print else STATEMENT_PAGE, context)

    async def _form(
        self,
        request: Request[Any, Any, Any],
        db: Any,
        user: User,
        *,
        period: str,
        line: str,
        ref: str,
        comment: str = "",
        error: DomainError | None = None,
    ) -> Template:
        period_row, shown = await disputes.disputable_line(
            db,
            agent=user,
            period_id=_id(period, "period"),
            line_id=_id(line, "line") if line else None,
            line_ref=ref,
        )
        context = {
            "tab": "earnings",
            "user": user,
            "period": period_row,
            "last_day": period_row.ends_on - dt.timedelta(days=1),
            "line": shown,
            "form": {"period": period, "line": line, "ref": ref, "comment": comment},
            "error": error,
            "max_chars": disputes.COMMENT_MAX_CHARS,
            **helpers(),
        }
        return page(request, DISPUTE_FORM, context, status_code=refused_status(request, error))

    @get("/disputes/new", name="pay:dispute-form")
    async def dispute_form(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        period: str = "",
        line: str = "",
        ref: str = "",
    ) -> Template:
        user = await accounts.get_user(db, principal.user_id)
        if not period:
            raise NotFound("line")
        return await self._form(request, db, user, period=period, line=line, ref=ref)

    @post("/disputes", name="pay:dispute-file", status_code=200)
    async def file(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        data: Annotated[DisputeForm, FormBody],
    ) -> Any:
        """Question a line; a refusal re-renders the form with the comment kept (422 naming the field)."""
        user = await accounts.get_user(db, principal.user_id)
        period_id = _id(data.period, "period")
        try:
            async with db.begin_nested():
                await disputes.file_dispute(
                    db,
                    agent=user,
                    period_id=period_id,
                    line_id=_id(data.line, "line") if data.line else None,
                    line_ref=data.ref,
                    comment=data.comment,
                    now=utcnow(),
                )
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._form(
                request, db, user, period=data.period, line=data.line, ref=data.ref, comment=data.comment, error=error
            )
        return see_other("/app/earnings?disputed=1#disputes")


class DisputeStaffController(Controller):
    """The site's open pay disputes: resolve each by an adjustment or a rejection with its reason."""

    path = "/admin/pay/disputes"
    include_in_schema = False
    guards = [requires("coordinator", "finance")]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: Any,
        staff: User,
        *,
        error: DomainError | None = None,
        error_key: int | None = None,
        done: str = "",
    ) -> Template:
        open_views, resolved = await disputes.site_disputes(db, staff=staff)
        context = {
            "open_disputes": open_views,
            "resolved": resolved,
            "error": error,
            "error_key": error_key,
            "done": done,
            **helpers(),
        }
        return page(request, STAFF_PAGE, context, status_code=refused_status(request, error))

    @get("/", name="pay:disputes-admin")
    async def show(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, done: str = ""
    ) -> Template:
        staff = await accounts.get_user(db, principal.user_id)
        return await self._page(request, db, staff, done=done if done in {"adjusted", "rejected"} else "")

    async def _resolve(
        self, request: Request[Any, Any, Any], db: Any, staff_id: int, dispute_id: int, done: str, action: Any
    ) -> Any:
        staff = await accounts.get_user(db, staff_id)
        try:
            async with db.begin_nested():
                await action(staff)
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._page(request, db, staff, error=error, error_key=dispute_id)
        if is_htmx(request):
            return await self._page(request, db, staff, done=done)
        return see_other(f"{self.path}?done={done}")

    @post("/{dispute_id:int}/adjust", name="pay:dispute-adjust", status_code=200)
    async def adjust(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        dispute_id: int,
        data: Annotated[AdjustForm, FormBody],
    ) -> Any:
        async def act(staff: User) -> None:
            amount = parse_amount(data.amount, field="amount", allow_negative=True)
            await disputes.resolve_by_adjustment(
                db, dispute_id=dispute_id, staff=staff, amount_minor=amount, reason=data.reason, now=utcnow()
            )

        return await self._resolve(request, db, principal.user_id, dispute_id, "adjusted", act)

    @post("/{dispute_id:int}/reject", name="pay:dispute-reject", status_code=200)
    async def reject(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        dispute_id: int,
        data: Annotated[RejectForm, FormBody],
    ) -> Any:
        async def act(staff: User) -> None:
            await disputes.reject(db, dispute_id=dispute_id, staff=staff, reason=data.reason, now=utcnow())

        return await self._resolve(request, db, principal.user_id, dispute_id, "rejected", act)


router = Router(path="/", route_handlers=[EarningsController, DisputeStaffController])
