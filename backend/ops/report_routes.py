"""The daily report (a page, a printable page and CSV per table) and the duty KPIs (a page and its CSV).

Staff and finance read them (finance read-only: there is nothing to act on here); agents get 403. A query that is
not a day (``?day=``) or a week (``?week=2026-W50``) is refused with 422 naming it; the page re-renders with the
refusal beside its picker, a CSV answers the refusal alone. Every CSV holds the same numbers as its page's table.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.response import Template

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import Site
from backend.availability.service import parse_week
from backend.core.bounds import Bounded
from backend.core.csv_out import cell, csv_response
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import clock_text, date_text, day_label, week_label
from backend.core.i18n import gettext as _
from backend.core.money import decimal_text
from backend.core.security import requires
from backend.core.slots import IsoWeek
from backend.core.templating import page
from backend.core.web import AnyRequest, Db, RefuseWith, parse_fields
from backend.ops import report
from backend.ops.clock import site_today
from backend.ops.report import DayReport, DutyKpis, KpiRow

DAY_PAGE = "ops/report.html"
PRINT_PAGE = "ops/report_print.html"
KPI_PAGE = "ops/kpis.html"

ReportDay = Annotated[dt.date, RefuseWith(lambda _: _("Give a day like 2026-12-07."))]
DAY_TABLES: tuple[str, ...] = ("coverage", "attendance", "cover", "calls", "log", "handovers")


class DayQuery(Bounded, kw_only=True):
    """The report's day; blank is the site's today."""

    day: ReportDay | None = None


def chosen_day(site: Site, text: str, now: dt.datetime) -> dt.date:
    """The day asked for (422 naming ``day`` if it is not one), or the site's today."""
    return parse_fields(DayQuery, {"day": text}).day or site_today(site, now)


def chosen_week(site: Site, text: str, now: dt.datetime) -> IsoWeek:
    """The week asked for (422 naming ``week`` if it is not one), or the site's current week."""
    return parse_week(text) if text.strip() else IsoWeek.of(site_today(site, now))


def chosen_table(text: str) -> str:
    """One of the daily report's tables (``?table=``), else 422 naming ``table``."""
    if text not in DAY_TABLES:
        raise DomainError(_("Choose one of the report's tables."), field="table")
    return text


def number(value: object) -> str:
    """A figure as the page prints it: exactly the CSV's text, a dash where there is none."""
    return cell(value) if value is not None else "\u2013"


def labels() -> dict[str, dict[str, str]]:
    """The words for the report's own codes (attendance outcomes, handover states), in the reader's language."""
    return {
        "what": {"no_show": _("No-show"), "late": _("Late start"), "not_started": _("Not started")},
        "handover": {
            "on_time": _("On time"),
            "late": _("Late"),
            "missing": _("Missing"),
            "pending": _("Not due yet"),
        },
    }


# CSV tables: a header and the rows, the same figures as the page --------------------------------------------


def day_table_csv(table: str, data: DayReport) -> tuple[list[str], list[list[object]]]:
    """A table of the daily report as its CSV: a header of field names, then the rows with the page's figures."""
    day = data.day
    if table == "coverage":
        header = ["date", "skill", "hours_needed", "hours_scheduled", "hours_started", "short_half_hours"]
        rows: list[list[object]] = [
            [day, row.skill, row.hours_needed, row.hours_scheduled, row.hours_started, row.short_half_hours]
            for row in data.coverage
        ]
    elif table == "attendance":
        header = ["date", "agent", "skill", "shift_start", "shift_end", "outcome", "minutes_late", "started_at"]
        header.append("waived")
        rows = [
            [day, row.name, row.skill, row.starts, row.ends, row.what, row.minutes_late, row.started, row.waived]
            for row in data.attendance
        ]
    elif table == "cover":
        header = ["date", "cover_request", "skill", "shift_start", "reason", "status", "absent", "created_at"]
        header += ["covered_at", "covered_by", "minutes_to_fill", "wave", "bonus", "currency"]
        rows = [
            [
                day,
                row.cover_id,
                row.skill,
                row.shift_starts,
                row.reason,
                row.status,
                row.absent,
                row.created,
                row.covered,
                row.covered_by,
                row.minutes_to_fill,
                row.wave,
                decimal_text(row.bonus_minor),
                data.currency,
            ]
            for row in data.cover
        ]
    elif table == "calls":
        header = ["date", "call", "kind", "skill", "start", "end", "wanted", "asked", "granted", "standby_percent"]
        header += ["bonus", "currency"]
        rows = [
            [
                day,
                row.call_id,
                row.kind,
                row.skill,
                row.starts,
                row.ends,
                row.wanted,
                row.asked,
                row.granted,
                row.standby_percent,
                decimal_text(row.bonus_minor),
                data.currency,
            ]
            for row in data.calls
        ]
    elif table == "log":
        header = ["date", "item", "kind", "status", "summary", "started_at", "first_action_minutes", "closed_at"]
        rows = [
            [day, row.item_id, row.kind, row.status, row.summary, row.started, row.first_action_minutes, row.closed]
            for row in data.log
        ]
    else:
        header = ["date", "duty", "lead", "duty_start", "duty_end", "handover", "submitted_at", "acknowledged_at"]
        header += ["items", "open_items"]
        rows = [
            [
                day,
                row.duty_id,
                row.lead,
                row.starts,
                row.ends,
                row.state,
                row.submitted,
                row.acknowledged,
                row.items,
                row.open_items,
            ]
            for row in data.handovers
        ]
    return header, rows


KPI_HEADER = [
    "week",
    "lead",
    "duties",
    "items",
    "actioned",
    "unanswered",
    "median_first_action_minutes",
    "mean_first_action_minutes",
    "items_of_ended_duties",
    "closed_in_duty",
    "closed_in_duty_percent",
    "duties_due",
    "complete_records",
    "complete_percent",
    "handovers_on_time",
    "on_time_percent",
]


def kpi_csv_row(week: IsoWeek, row: KpiRow) -> list[object]:
    k = row.figures
    return [
        str(week),
        row.lead or _("All leads"),
        k.duties,
        k.items,
        k.actioned,
        k.unanswered,
        k.median_first_action_minutes,
        k.mean_first_action_minutes,
        k.items_of_ended_duties,
        k.closed_in_duty,
        k.closed_in_duty_percent,
        k.duties_due,
        k.complete_records,
        k.complete_percent,
        k.handovers_on_time,
        k.on_time_percent,
    ]


# The controller -----------------------------------------------------------------------------------------------


class ReportController(Controller):
    """``/admin/reports/day`` and ``/admin/reports/duty``: read-only, for staff and finance."""

    path = "/admin/reports"
    include_in_schema = False
    guards = [requires("coordinator", "finance")]

    async def _day(self, request: AnyRequest, db: Db, site: Site, day_text: str, template: str) -> Template:
        now = utcnow()
        today = site_today(site, now)
        try:
            day = chosen_day(site, day_text, now)
        except DomainError as error:
            context = {"report": None, "day": today, "today": today, "day_text": day_text, "error": error}
            return page(request, template, self._day_words(context), status_code=error.status_code)
        data = await report.day_report(db, site=site, day=day, now=now)
        context = {"report": data, "day": day, "today": today, "day_text": day.isoformat(), "error": None}
        return page(request, template, self._day_words(context))

    def _day_words(self, context: dict[str, Any]) -> dict[str, Any]:
        day, today = context["day"], context["today"]
        return {
            **context,
            "day_heading": f"{day_label(day, today)} · {date_text(day)}",
            "previous_day": (day - dt.timedelta(days=1)).isoformat(),
            "next_day": (day + dt.timedelta(days=1)).isoformat(),
            "clock": clock_text,
            "num": number,
            "words": labels(),
        }

    @get("/day", name="ops:report-day")
    async def day_page(self, request: AnyRequest, db: Db, current_user: CurrentUser, day: str = "") -> Template:
        site = await accounts.get_site(db, current_user.site_id)
        return await self._day(request, db, site, day, DAY_PAGE)

    @get("/day/print", name="ops:report-day-print")
    async def day_print(self, request: AnyRequest, db: Db, current_user: CurrentUser, day: str = "") -> Template:
        site = await accounts.get_site(db, current_user.site_id)
        return await self._day(request, db, site, day, PRINT_PAGE)

    @get("/day.csv", name="ops:report-day-csv")
    async def day_csv(
        self, db: Db, current_user: CurrentUser, day: str = "", table: str = "coverage"
    ) -> Response[bytes]:
        site = await accounts.get_site(db, current_user.site_id)
        now = utcnow()
        chosen, shown = chosen_day(site, day, now), chosen_table(table)
        data = await report.day_report(db, site=site, day=chosen, now=now, coverage=shown == "coverage")
        header, rows = day_table_csv(shown, data)
        return csv_response(f"daily-report-{chosen.isoformat()}-{shown}.csv", header, rows)

    @get("/duty", name="ops:report-duty")
    async def duty_page(self, request: AnyRequest, db: Db, current_user: CurrentUser, week: str = "") -> Template:
        site = await accounts.get_site(db, current_user.site_id)
        now = utcnow()
        current = IsoWeek.of(site_today(site, now))
        try:
            chosen = chosen_week(site, week, now)
        except DomainError as error:
            context = {"kpis": None, "week": current, "week_text": week, "error": error}
            return page(request, KPI_PAGE, self._kpi_words(context), status_code=error.status_code)
        kpis = await report.duty_kpis(db, site=site, week=chosen, now=now)
        context = {"kpis": kpis, "week": chosen, "week_text": str(chosen), "error": None}
        return page(request, KPI_PAGE, self._kpi_words(context))

    def _kpi_words(self, context: dict[str, Any]) -> dict[str, Any]:
        week: IsoWeek = context["week"]
        return {
            **context,
            "week_heading": f"{week} · {week_label(week.monday)}",
            "previous_week": str(week.shifted(-1)),
            "next_week": str(week.shifted(1)),
            "num": number,
        }

    @get("/duty.csv", name="ops:report-duty-csv")
    async def duty_csv(self, db: Db, current_user: CurrentUser, week: str = "") -> Response[bytes]:
        site = await accounts.get_site(db, current_user.site_id)
        now = utcnow()
        chosen = chosen_week(site, week, now)
        kpis: DutyKpis = await report.duty_kpis(db, site=site, week=chosen, now=now)
        rows = [kpi_csv_row(chosen, row) for row in [*kpis.leads, kpis.everyone]]
        return csv_response(f"duty-kpis-{chosen}.csv", KPI_HEADER, rows)
