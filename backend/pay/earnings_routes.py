"""The agent's Earnings tab: accrued, statements, my questions (their form and the staff's disputes page are in
``backend.requests.dispute_routes``: each question is a pay request)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Router, get
from litestar.response import Template

from backend.accounts.dependencies import CurrentUser
from backend.core.bounds import PathId
from backend.core.security import requires
from backend.core.templating import page
from backend.core.web import AnyRequest, Db
from backend.pay import disputes, earnings
from backend.pay.earnings import date_text, day_text, hours_text, kind_label

EARNINGS_PAGE = "pay/earnings/earnings.html"
STATEMENT_PAGE = "pay/earnings/statement.html"
PRINT_PAGE = "pay/earnings/statement_print.html"


def helpers() -> dict[str, Any]:
    """What the earnings and dispute templates call to put lines into words."""
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
        mine = await disputes.my_disputes(db, agent=current_user)
        context = {
            "tab": "earnings",
            "user": current_user,
            "accrued": await earnings.open_periods(db, user=current_user),
            "statements": await earnings.statements(db, user=current_user),
            "disputes": mine,
            "request_ids": await disputes.request_ids(db, [view.dispute.id for view in mine]),
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


router = Router(path="/", route_handlers=[EarningsController])
