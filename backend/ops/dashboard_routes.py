"""The dashboards: ``/admin/reports/week``, ``/admin/reports/quality`` and ``/admin/reports/fairness``, each with a
``.csv`` twin taking the same query (and ``table=`` where the page has several tables).

Staff and finance read them; agents get 403. A query that is not a week (``?week=2026-W50``), a number of weeks
(``?weeks=13``, 1 to 26), a page, a sort column or a table is refused with 422 naming it: the page re-renders with
the refusal beside its picker, a CSV answers the refusal alone. Every CSV cell is the text the page prints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.params import Parameter
from litestar.response import Template

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import STAFF_ROLES, Site
from backend.accounts.zones import site_zone
from backend.availability.service import parse_week
from backend.core.charts import Chart, Series
from backend.core.csv_out import cell, csv_response
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import clock_text, date_text, day_label, enum_label, week_label
from backend.core.i18n import gettext as _
from backend.core.security import requires
from backend.core.slots import IsoWeek
from backend.core.templating import page
from backend.core.web import AnyRequest, Db
from backend.ops import fairness, quality
from backend.ops.clock import site_today
from backend.ops.fairness import FairnessReport
from backend.ops.quality import Figures, QualityReport
from backend.ops.week import WeekReport, week_report

WEEK_PAGE = "ops/week.html"
QUALITY_PAGE = "ops/quality.html"
FAIRNESS_PAGE = "ops/fairness.html"
WEEK_TABLES = ("fill", "activity", "summary")
QUALITY_TABLES = ("agents", "skills", "tiers", "weeks")
FAIRNESS_TABLES = ("agents",)


def num(value: object) -> str:
    """A figure as the page prints it: exactly the CSV's text, a dash where there is none."""
    return cell(value) if value is not None else "\u2013"


def chosen_week(site: Site, text: str, now: dt.datetime) -> IsoWeek:
    """The week asked for (422 naming ``week`` if it is not one), or the site's current week."""
    return parse_week(text) if text.strip() else IsoWeek.of(site_today(site, now))


def chosen_page(text: str) -> int:
    """``page`` from the query: a whole number from 1 (422 naming ``page`` otherwise)."""
    try:
        number = int(text.strip() or "1")
    except ValueError:
        number = 0
    if not 1 <= number <= 100_000:
        raise DomainError(_("Page is a whole number from 1."), field="page")
    return number


def chosen_order(text: str) -> bool:
    """Whether ``order`` asks for descending (422 naming ``order`` unless asc or desc)."""
    if text not in ("asc", "desc"):
        raise DomainError(_("Order is asc or desc."), field="order")
    return text == "desc"


def chosen_table(text: str, tables: tuple[str, ...]) -> str:
    if text not in tables:
        raise DomainError(_("Choose one of the page's tables."), field="table")
    return text


def names_of(rows: Iterable[Any]) -> dict[int, str]:
    """How the dashboards name agents: ``accounts.person_labels`` over the rows shown (namesakes told apart)."""
    return accounts.person_labels(
        SimpleNamespace(id=row.user_id, display_name=row.name, email=row.email)
        for row in rows  # type: ignore[misc]
    )


def moment_text(moment: dt.datetime, site: Site) -> str:
    local = moment.astimezone(site_zone(site))
    return f"{date_text(local.date())} {clock_text(local)}"


def weekday_labels(days: list[dt.date], today: dt.date) -> list[str]:
    return [day_label(day, today) for day in days]


# The week ---------------------------------------------------------------------------------------------------


def week_charts(data: WeekReport, labels: list[str]) -> list[Chart]:
    return [
        Chart(
            title=_("Fill rate by day"),
            labels=labels,
            series=[Series(_("Seats filled"), [d.rate_percent for d in data.by_day], "bar", "filled")],
            unit="%",
        ),
        Chart(
            title=_("Claims and releases by day"),
            labels=labels,
            series=[
                Series(_("Claims"), [float(n) for n in data.claims], "bar", "claims"),
                Series(_("Releases"), [float(n) for n in data.releases], "bar", "releases"),
            ],
        ),
    ]


def week_summary(data: WeekReport) -> list[tuple[str, str, object]]:
    """The week's single figures: (code for the CSV, words for the page, value)."""
    rows: list[tuple[str, str, object]] = [
        ("seats_offered", _("Seats offered"), data.total.offered),
        ("seats_taken", _("Seats taken"), data.total.taken),
        ("fill_percent", _("Fill rate (%)"), data.total.rate_percent),
        ("open_seats_left", _("Open seats left (shifts not started yet)"), data.total.open_left),
        ("claims", _("Claims on the marketplace"), sum(data.claims)),
        ("releases", _("Seats given back"), sum(data.releases)),
        ("fills_timed", _("Seats claimed after going on the marketplace"), data.fills),
        ("median_minutes_to_fill", _("Median minutes from the marketplace to a claim"), data.fill_median_minutes),
    ]
    rows += [
        (f"swaps_{status.value}", _("Swaps: %(status)s", status=enum_label(status)), n) for status, n in data.swaps
    ]
    rows += [
        ("cover_requests", _("Cover requests"), data.cover_requests),
        ("cover_covered", _("Cover requests covered"), data.cover_covered),
        ("median_minutes_to_cover", _("Median minutes to cover"), data.cover_median_minutes),
    ]
    return rows


def week_csv(table: str, data: WeekReport) -> tuple[list[str], list[list[object]]]:
    week_text = str(data.week)
    if table == "fill":
        header = ["week", "skill", "day", "seats_offered", "seats_taken", "fill_percent", "open_seats_left"]
        rows: list[list[object]] = [
            [week_text, skill.label, day, fill.offered, fill.taken, fill.rate_percent, fill.open_left]
            for skill in data.skills
            for day, fill in zip(data.days, skill.days, strict=True)
        ]
        rows += [
            [week_text, "", day, fill.offered, fill.taken, fill.rate_percent, fill.open_left]
            for day, fill in zip(data.days, data.by_day, strict=True)
        ]
        return header, rows
    if table == "activity":
        header = ["week", "day", "claims", "releases"]
        return header, [
            [week_text, day, claims, releases]
            for day, claims, releases in zip(data.days, data.claims, data.releases, strict=True)
        ]
    return ["week", "measure", "value"], [[week_text, code, value] for code, _words, value in week_summary(data)]


# Quality ----------------------------------------------------------------------------------------------------


def quality_charts(data: QualityReport, labels: list[str]) -> list[Chart]:
    weeks = data.by_week
    return [
        Chart(
            title=_("Contacts per hour worked"),
            labels=labels,
            series=[Series(_("Contacts per hour"), [w.per_hour for w in weeks], "bar", "per-hour")],
        ),
        Chart(
            title=_("Average handle time"),
            labels=labels,
            series=[
                Series(
                    _("Handle time"),
                    [None if w.aht_seconds is None else float(w.aht_seconds) for w in weeks],
                    "bar",
                    "aht",
                )
            ],
            unit=_("seconds"),
        ),
        Chart(
            title=_("Customer satisfaction"),
            labels=labels,
            series=[Series(_("CSAT (1-5)"), [w.csat for w in weeks], "line", "csat")],
        ),
        Chart(
            title=_("Resolution rate"),
            labels=labels,
            series=[Series(_("Resolved"), [w.resolution_percent for w in weeks], "line", "resolution")],
            unit="%",
        ),
    ]


def figure_cells(figures: Figures) -> list[object]:
    return [
        figures.contacts,
        figures.hours,
        figures.per_hour,
        figures.aht_seconds,
        figures.csat,
        figures.resolution_percent,
    ]


FIGURE_HEADER = ["contacts", "hours_worked", "contacts_per_hour", "aht_seconds", "csat", "resolution_percent"]


def quality_csv(table: str, data: QualityReport, names: dict[int, str]) -> tuple[list[str], list[list[object]]]:
    span = [str(data.weeks[0]), str(data.weeks[-1])]
    head = ["first_week", "last_week"]
    if table == "agents":
        return [*head, "agent_id", "agent", "tier", *FIGURE_HEADER], [
            [*span, row.user_id, names.get(row.user_id, row.name), row.tier, *figure_cells(row.figures)]
            for row in data.agents
        ]
    if table == "skills":
        return [*head, "skill", *FIGURE_HEADER], [[*span, g.label, *figure_cells(g.figures)] for g in data.by_skill]
    if table == "tiers":
        return [*head, "tier", *FIGURE_HEADER], [[*span, g.key, *figure_cells(g.figures)] for g in data.by_tier]
    return ["week", *FIGURE_HEADER], [[str(w), *figure_cells(f)] for w, f in zip(data.weeks, data.by_week, strict=True)]


# Fairness ---------------------------------------------------------------------------------------------------


def fairness_chart(data: FairnessReport) -> Chart:
    tops = fairness.SHARE_BANDS
    labels = [f"{low}\u2013{top - 1}%" for low, top in zip((0, *tops[:-1]), tops, strict=True)]
    labels.append(f"{tops[-1]}%+")
    return Chart(
        title=_("Agents by share of offered hours given this week"),
        labels=labels,
        series=[Series(_("Agents"), [float(n) for n in data.bands], "bar", "agents")],
    )


def fairness_csv(data: FairnessReport, names: dict[int, str]) -> tuple[list[str], list[list[object]]]:
    header = ["week", "agent_id", "agent", "tier", "offered_hours", "given_hours", "served_percent"]
    header += ["offered_hours_4_weeks", "given_hours_4_weeks", "served_percent_4_weeks", "fair_share_hours", "why"]
    header += [f"notifications_{w}" for w in data.weeks]
    header.append("flagged")
    rows = [
        [
            str(data.week),
            row.user_id,
            names.get(row.user_id, row.name),
            row.tier,
            row.week.offered_hours,
            row.week.given_hours,
            row.week.percent,
            row.four_weeks.offered_hours,
            row.four_weeks.given_hours,
            row.four_weeks.percent,
            row.target_hours,
            row.reasons_text,
            *row.notifications,
            row.flagged,
        ]
        for row in data.rows
    ]
    return header, rows


# The controller ---------------------------------------------------------------------------------------------


class DashboardController(Controller):
    """Read-only dashboards for staff and finance."""

    path = "/admin/reports"
    include_in_schema = False
    guards = [requires("coordinator", "finance")]

    def _words(self, **context: Any) -> dict[str, Any]:
        return {"num": num, "clock": clock_text, "enum_label": enum_label, **context}

    # The week

    @get("/week", name="ops:dashboard-week")
    async def week_page(self, request: AnyRequest, db: Db, current_user: CurrentUser, week: str = "") -> Template:
        site = await accounts.get_site(db, current_user.site_id)
        now = utcnow()
        today = site_today(site, now)
        try:
            chosen = chosen_week(site, week, now)
        except DomainError as error:
            context = self._words(report=None, week_text=week, error=error, today=today)
            return page(request, WEEK_PAGE, context, status_code=error.status_code)
        data = await week_report(db, site=site, week=chosen, now=now)
        labels = weekday_labels(data.days, today)
        context = self._words(
            report=data,
            week_text=str(chosen),
            week_heading=f"{week_label(chosen.monday)} ({chosen})",
            previous_week=str(chosen.shifted(-1)),
            next_week=str(chosen.shifted(1)),
            day_labels=labels,
            charts=week_charts(data, labels),
            summary=week_summary(data),
            tables=WEEK_TABLES,
            error=None,
            today=today,
        )
        return page(request, WEEK_PAGE, context)

    @get("/week.csv", name="ops:dashboard-week-csv")
    async def week_csv(self, db: Db, current_user: CurrentUser, week: str = "", table: str = "fill") -> Response[bytes]:
        site = await accounts.get_site(db, current_user.site_id)
        now = utcnow()
        chosen, shown = chosen_week(site, week, now), chosen_table(table, WEEK_TABLES)
        data = await week_report(db, site=site, week=chosen, now=now)
        header, rows = week_csv(shown, data)
        return csv_response(f"week-{chosen}-{shown}.csv", header, rows)

    # Quality

    async def _quality(
        self, db: Db, site: Site, *, weeks: str, sort: str, order: str, page_text: str | None
    ) -> tuple[QualityReport, dict[int, str]]:
        count = quality.parse_weeks(weeks)
        descending = chosen_order(order)
        number = None if page_text is None else chosen_page(page_text)
        data = await quality.quality_report(
            db, site=site, weeks=count, now=utcnow(), sort=sort, descending=descending, page=number
        )
        return data, names_of(data.agents)

    @get("/quality", name="ops:dashboard-quality")
    async def quality_page(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        weeks: str = str(quality.DEFAULT_WEEKS),
        sort: str = "name",
        order: str = "asc",
        page_number: Annotated[str, Parameter(query="page")] = "1",
    ) -> Template:
        site = await accounts.get_site(db, current_user.site_id)
        query = {"weeks": weeks, "sort": sort, "order": order}
        try:
            data, names = await self._quality(db, site, weeks=weeks, sort=sort, order=order, page_text=page_number)
        except DomainError as error:
            context = self._words(report=None, query=query, error=error, max_weeks=quality.MAX_WEEKS)
            return page(request, QUALITY_PAGE, context, status_code=error.status_code)
        labels = [week_label(w.monday, short=True) for w in data.weeks]
        context = self._words(
            report=data,
            query=query,
            names=names,
            week_labels=labels,
            charts=quality_charts(data, labels),
            columns=quality_columns(),
            drill_down=current_user.role in STAFF_ROLES,
            rolled_at=None if data.rolled_at is None else moment_text(data.rolled_at, site),
            span=(date_text(data.weeks[0].monday), date_text(data.weeks[-1].days()[-1])),
            max_weeks=quality.MAX_WEEKS,
            tables=QUALITY_TABLES,
            error=None,
        )
        return page(request, QUALITY_PAGE, context)

    @get("/quality.csv", name="ops:dashboard-quality-csv")
    async def quality_csv(
        self,
        db: Db,
        current_user: CurrentUser,
        weeks: str = str(quality.DEFAULT_WEEKS),
        sort: str = "name",
        order: str = "asc",
        table: str = "agents",
    ) -> Response[bytes]:
        site = await accounts.get_site(db, current_user.site_id)
        shown = chosen_table(table, QUALITY_TABLES)
        data, names = await self._quality(db, site, weeks=weeks, sort=sort, order=order, page_text=None)
        header, rows = quality_csv(shown, data, names)
        return csv_response(f"quality-{data.weeks[0]}-{data.weeks[-1]}-{shown}.csv", header, rows)

    # Fairness

    @get("/fairness", name="ops:dashboard-fairness")
    async def fairness_page(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        week: str = "",
        page_number: Annotated[str, Parameter(query="page")] = "1",
    ) -> Template:
        site = await accounts.get_site(db, current_user.site_id)
        now = utcnow()
        try:
            chosen = chosen_week(site, week, now)
            data = await fairness.fairness_report(db, site=site, week=chosen, page=chosen_page(page_number))
        except DomainError as error:
            context = self._words(report=None, week_text=week, error=error)
            return page(request, FAIRNESS_PAGE, context, status_code=error.status_code)
        context = self._words(
            report=data,
            week_text=str(chosen),
            week_heading=f"{week_label(chosen.monday)} ({chosen})",
            previous_week=str(chosen.shifted(-1)),
            next_week=str(chosen.shifted(1)),
            names=names_of(data.rows),
            week_labels=[week_label(w.monday, short=True) for w in data.weeks],
            chart=fairness_chart(data),
            flag_limit=fairness.FLAG_NOTIFICATIONS_PER_WEEK,
            people_links=current_user.role in STAFF_ROLES,
            tables=FAIRNESS_TABLES,
            error=None,
        )
        return page(request, FAIRNESS_PAGE, context)

    @get("/fairness.csv", name="ops:dashboard-fairness-csv")
    async def fairness_csv(
        self, db: Db, current_user: CurrentUser, week: str = "", table: str = "agents"
    ) -> Response[bytes]:
        site = await accounts.get_site(db, current_user.site_id)
        chosen_table(table, FAIRNESS_TABLES)
        chosen = chosen_week(site, week, utcnow())
        data = await fairness.fairness_report(db, site=site, week=chosen, page=None)
        header, rows = fairness_csv(data, names_of(data.rows))
        return csv_response(f"fairness-{chosen}.csv", header, rows)


def quality_columns() -> list[tuple[str, str]]:
    """The by-agent table's sortable columns, in order: (sort key, heading)."""
    return [
        ("name", _("Agent")),
        ("tier", _("Tier")),
        ("contacts", _("Contacts")),
        ("hours", _("Hours worked")),
        ("per_hour", _("Contacts per hour")),
        ("aht", _("Average handle time (s)")),
        ("csat", _("CSAT")),
        ("resolution", _("Resolution rate (%)")),
    ]
