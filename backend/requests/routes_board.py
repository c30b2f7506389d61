"""The requests board (``/admin/requests/board``) and the workload per owner (``/admin/requests/workload``), each
with a ``.csv`` twin (or ``?format=csv``) taking the same query and ``table=`` to choose one of the page's tables.

Coordinators, finance and admins read them (agents get 403); they never write. A day that is not one
(``?from=2026-13-01``), ``to`` before ``from``, a span over a year, an unknown table or format is refused with 422
naming it: the page re-renders with the refusal beside its picker, a CSV answers the refusal alone.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.params import Parameter

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.core.csv_out import cell, csv_response
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import date_text
from backend.core.i18n import gettext as _
from backend.core.security import requires
from backend.core.templating import page
from backend.core.web import AnyRequest, Db
from backend.requests import board as boards
from backend.requests.kinds import status_label
from backend.requests.queues import duration_text

BOARD_PAGE = "requests/board/board.html"
WORKLOAD_PAGE = "requests/board/workload.html"

FromDay = Annotated[str, Parameter(query="from", required=False, default="")]
ToDay = Annotated[str, Parameter(query="to", required=False, default="")]


def num(value: object) -> str:
    """A figure as the page prints it: exactly the CSV's text, a dash where there is none."""
    return cell(value) if value is not None else "\u2013"


def chosen_table(text: str, tables: tuple[str, ...]) -> str:
    if text not in tables:
        raise DomainError(_("Choose one of the page's tables."), field="table")
    return text


def chosen_format(text: str) -> bool:
    """Whether ``format`` asks for CSV (blank or ``html``: the page)."""
    if text not in ("", "html", "csv"):
        raise DomainError(_("Choose the page or CSV."), field="format")
    return text == "csv"


def words() -> dict[str, Any]:
    return {
        "num": num,
        "duration": lambda minutes: "\u2013" if minutes is None else duration_text(round(minutes)),
        "status_label": status_label,
        "timed_statuses": boards.TIMED_STATUSES,
    }


class BoardController(Controller):
    """The read-only board and workload pages for request staff."""

    path = "/admin/requests"
    include_in_schema = False
    guards = [requires("coordinator", "finance")]

    async def _board_csv(self, db: Db, current_user: CurrentUser, first: str, last: str, table: str) -> Response[Any]:
        site = await accounts.get_site(db, current_user.site_id)
        now = utcnow()
        shown = chosen_table(table, boards.BOARD_TABLES)
        span = boards.chosen_span(site, first, last, now=now)
        data = await boards.board(db, site=site, span=span, now=now)
        header, rows = boards.board_csv(shown, data)
        return csv_response(f"requests-board-{span.first}-{span.last}-{shown}.csv", header, rows)

    @get("/board", name="requests:board")
    async def board_page(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        first: FromDay = "",
        last: ToDay = "",
        table: str = "kinds",
        format_name: Annotated[str, Parameter(query="format", required=False, default="")] = "",
    ) -> Response[Any]:
        if chosen_format(format_name):
            return await self._board_csv(db, current_user, first, last, table)
        site = await accounts.get_site(db, current_user.site_id)
        now = utcnow()
        query = {"from": first, "to": last}
        try:
            span = boards.chosen_span(site, first, last, now=now)
        except DomainError as error:
            return page(
                request,
                BOARD_PAGE,
                {**words(), "report": None, "query": query, "error": error},
                status_code=error.status_code,
            )
        data = await boards.board(db, site=site, span=span, now=now)
        context = {
            **words(),
            "report": data,
            "query": {"from": span.first.isoformat(), "to": span.last.isoformat()},
            "span_text": f"{date_text(span.first)} \u2013 {date_text(span.last)}",
            "charts": boards.board_charts(data),
            "error": None,
        }
        return page(request, BOARD_PAGE, context)

    @get("/board.csv", name="requests:board-csv")
    async def board_csv(
        self, db: Db, current_user: CurrentUser, first: FromDay = "", last: ToDay = "", table: str = "kinds"
    ) -> Response[Any]:
        return await self._board_csv(db, current_user, first, last, table)

    async def _workload_csv(self, db: Db, current_user: CurrentUser, table: str) -> Response[Any]:
        site = await accounts.get_site(db, current_user.site_id)
        now = utcnow()
        shown = chosen_table(table, boards.WORKLOAD_TABLES)
        data = await boards.workload(db, site=site, now=now)
        header, rows = boards.workload_csv(shown, data)
        stamp = now.strftime("%Y%m%dT%H%MZ")
        return csv_response(f"requests-workload-{stamp}-{shown}.csv", header, rows)

    @get("/workload", name="requests:workload")
    async def workload_page(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        table: str = "owners",
        format_name: Annotated[str, Parameter(query="format", required=False, default="")] = "",
    ) -> Response[Any]:
        if chosen_format(format_name):
            return await self._workload_csv(db, current_user, table)
        site = await accounts.get_site(db, current_user.site_id)
        data = await boards.workload(db, site=site, now=utcnow())
        context = {**words(), "report": data, "chart": boards.workload_chart(data), "error": None}
        return page(request, WORKLOAD_PAGE, context)

    @get("/workload.csv", name="requests:workload-csv")
    async def workload_csv(self, db: Db, current_user: CurrentUser, table: str = "owners") -> Response[Any]:
        return await self._workload_csv(db, current_user, table)
