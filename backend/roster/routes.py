"""The coordinator's roster pages: solve in the background, watch it, edit the draft, publish versions.

A solve is queued in the request's transaction and started as the response's
background task, which runs after the commit: the job never looks for a row
that is not there yet. The progress panel polls itself once a second while
the solve is queued or running, and reloads the page when it ends so the new
draft shows. Every edit goes through the service, which checks eligibility on
the agent's whole week; a refused edit is shown on the page (422, or 200 to
htmx, which does not swap error answers) inside a savepoint, so nothing of it
is left behind. Lines and runs are looked up within the site's week: any other
id is 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Site, skill_label
from backend.accounts.zones import site_zone
from backend.availability.service import parse_week
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.core.security import Principal, requires
from backend.core.settings import Settings
from backend.core.slots import IsoWeek, local_start
from backend.core.templating import is_htmx, page, refused_status
from backend.core.web import AnyRequest, AppSettings, CurrentPrincipal, Db, FormBody, see_other
from backend.roster import service, views
from backend.roster.jobs import SolveJobs, launch
from backend.roster.models import Roster, RosterAssignment, RosterVersion, SolveRun
from backend.roster.problem import week_facts
from backend.roster.schemas import LineForm, LineOut, LockForm, RosterOut, RunOut, WeekForm

PAGE = "roster/week.html"
RUN_PAGE = "roster/run.html"
LINE_PAGE = "roster/line_edit.html"
ALL_WEEK = "all"
# Up to this many draft lines the schedules show the whole week; above, one day at a time (a page of a real
# centre's week, ~250 lines with their forms, weighed 1.4 MB): the day asked for, else the first of the week.
WHOLE_WEEK_LINES = 60


def week_url(week: IsoWeek | str, anchor: str = "", day: str = "") -> str:
    return f"/admin/roster?week={week}" + (f"&day={day}" if day else "") + (f"#{anchor}" if anchor else "")


def shown_skill(text: str, codes: list[str], line_count: int) -> str:
    """Whose coverage chart the page draws: every skill's while the draft is small (""), else one at a time,
    the skill asked for (422 naming ``skill`` if the site has none such) or the first."""
    if text and text not in codes:
        raise DomainError(_("Choose one of the site's skills."), field="skill")
    if line_count <= WHOLE_WEEK_LINES or not codes:
        return ""
    return text or codes[0]


def shown_day(text: str, days: list[dt.date], line_count: int) -> str:
    """Which day's schedules the page lists: ``all``, an ISO date of the week (else 422 naming ``day``), or by
    default the whole week while the draft is small and its first day once it is not."""
    if text == ALL_WEEK or (not text and line_count <= WHOLE_WEEK_LINES):
        return ALL_WEEK
    if not text:
        return days[0].isoformat()
    if text not in {day.isoformat() for day in days}:
        raise DomainError(_("Choose a day of the week shown."), field="day")
    return text


def chosen_week(text: str, zone: ZoneInfo) -> IsoWeek:
    """The week asked for (422 naming ``week`` if it is not one), or next week in the site's time."""
    return parse_week(text) if text else IsoWeek.containing(utcnow(), zone).shifted(1)


async def start_launch(jobs: SolveJobs, order: service.SolveOrder, settings: Settings) -> None:
    """``launch`` needs the event loop; a plain function would be run in a worker thread."""
    launch(jobs, order, settings)


class Place:
    """The caller's site, its zone, and the roster of the week asked for."""

    def __init__(self, site: Site, week: IsoWeek, roster: Roster) -> None:
        self.site, self.week, self.roster = site, week, roster
        self.zone = site_zone(site)

    @classmethod
    async def of(cls, db: AsyncSession, principal: Principal, week_text: str, *, changing: bool = False) -> Place:
        """Pages and the API read the week (an untouched week is empty, not stored); ``changing`` stores it."""
        site = await accounts.get_site(db, principal.site_id)
        week = chosen_week(week_text, site_zone(site))
        find = service.roster_of if changing else service.find_roster
        return cls(site, week, await find(db, site_id=site.id, week=week))

    def day_of(self, line: RosterAssignment) -> str:
        """The local day a line starts on, as the page's ``day`` names it."""
        return local_start(line.start_slot, self.zone).date().isoformat()

    async def run(self, db: AsyncSession, run_id: PathId) -> SolveRun:
        run = await service.get_run(db, run_id=run_id, site_id=self.site.id)
        if run.roster_id != self.roster.id:
            raise NotFound("solve")
        return run


async def week_context(
    db: AsyncSession, place: Place, *, day: str = "", skill: str = "", **extra: Any
) -> dict[str, Any]:
    """Everything the week page shows: the solve, the draft's coverage, schedules (of ``day``: see
    ``shown_day``), fairness and versions. Each line's edit form is fetched when asked (``line_edit``)."""
    site, week, roster, zone = place.site, place.week, place.roster, place.zone
    facts = await week_facts(db, site=site, week=week, roster=roster)
    lines = await service.draft_lines(db, roster)
    days = week.days()
    showing = shown_day(day, days, len(lines))
    charted = shown_skill(skill, list(facts.skills), len(lines))
    run = await service.latest_run(db, roster)
    published = await service.versions(db, roster)
    skills = {skill.id: (code, skill_label(skill)) for code, skill in facts.skills.items()}
    wanted = {line.user_id for line in lines} | {v.published_by_id for v in published if v.published_by_id}
    latest, previous = (published[0] if published else None), (published[1] if len(published) > 1 else None)
    changes = service.changes_between(previous, latest) if latest is not None else []
    wanted |= {change.user_id for change in changes}
    known = {int(agent_id): user for agent_id, user in facts.users.items()}
    others = await accounts.users_by_ids(db, wanted - set(known))
    names = accounts.person_labels([*known.values(), *others])
    draft = [service.Line(a.user_id, a.skill_id, a.start_slot, a.end_slot) for a in lines]
    unpublished = service.changes_between(latest, draft_version(draft)) if latest is not None else []
    scheduled = service.scheduled_by_cell([*draft, *(service.Line(*seat) for seat in facts.claimed)])
    charts = [
        views.coverage_chart(
            code=code,
            name=skills[skill.id][1],
            days=days,
            zone=zone,
            slots=facts.slots,
            required=facts.required[code],
            scheduled={slot: n for (skill_id, slot), n in scheduled.items() if skill_id == skill.id},
        )
        for code, skill in facts.skills.items()
    ]
    names_of_days = views.weekday_names()
    context: dict[str, Any] = {
        "week": week,
        "previous_week": week.shifted(-1),
        "following_week": week.shifted(1),
        "zone": zone.key,
        "roster": roster,
        "run": views.run_view(run) if run is not None else None,
        "charts": [chart for chart in charts if not charted or chart.code == charted],
        "chart_tabs": charts if charted else [],
        "shown_skill": charted,
        "schedules": views.schedules_of_day(lines, names, skills, zone, None if showing == ALL_WEEK else showing),
        "week_hours": views.hours_by_agent(lines),
        "shown_day": showing,
        "day_pages": [(ALL_WEEK, _("Whole week")), *((d.isoformat(), views.day_tab(d)) for d in days)],
        "fairness": views.fairness_rows(
            names=names,
            offered={int(agent_id): len(agent.offered) for agent_id, agent in facts.facts.items()},
            given=views.given_slots(lines),
            report=run.report if run is not None else None,
            zone=zone,
        ),
        "agents": sorted(((int(i), names[int(i)]) for i in facts.users), key=lambda a: a[1].casefold()),
        "skills": [(code, skills[skill.id][1]) for code, skill in facts.skills.items()],
        "days": [(day.isoformat(), f"{names_of_days[day.weekday()]} {day.isoformat()}") for day in days],
        "versions": [
            {
                "number": version.number,
                "at": version.published_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                "by": names.get(version.published_by_id or 0, ""),
                "lines": len(version.lines),
                "open_seats": version.open_seats,
            }
            for version in published
        ],
        "changes": views.change_rows(changes, names, skills, zone),
        "unpublished": len(unpublished),
        "too_short_hours": hours_text(service.coverage_gaps(facts, draft).too_short_slots),
        "error": None,
        "error_scope": "",
        "run_error": None,
        "form": {},
    }
    context.update(extra)
    return context


async def line_form_context(db: AsyncSession, place: Place, line: RosterAssignment) -> dict[str, Any]:
    """What one line's edit form needs: the week's agents and skills to choose from, the line's own values."""
    facts = await week_facts(db, site=place.site, week=place.week, roster=place.roster)
    names = accounts.person_labels(facts.users.values())
    skills = {skill.id: (code, skill_label(skill)) for code, skill in facts.skills.items()}
    row = views.line_row(line, skills, place.zone)
    names_of_days = views.weekday_names()
    return {
        "week": place.week,
        "line": row,
        "agent_name": names.get(line.user_id) or (await accounts.get_user(db, line.user_id)).display_name,
        "agents": sorted(((int(i), names[int(i)]) for i in facts.users), key=lambda a: a[1].casefold()),
        "skills": [(code, name) for code, name in skills.values()],
        "days": [(day.isoformat(), f"{names_of_days[day.weekday()]} {day.isoformat()}") for day in place.week.days()],
        "values": {
            "agent": line.user_id,
            "skill": row.skill_code,
            "day": row.day,
            "start": row.start,
            "end": row.end,
            "locked": line.locked,
        },
        "error": None,
    }


def hours_text(slots: int) -> str:
    """Half-hours as hours for people: 3 -> "1.5", 4 -> "2"."""
    return f"{slots / 2:g}" if slots else ""


def draft_version(lines: list[service.Line]) -> RosterVersion:
    """The draft in a version's shape (never stored), to compare it with the last published one."""
    return RosterVersion(lines=[msgspec.to_builtins(line) for line in lines])


def form_values(data: LineForm) -> dict[str, Any]:
    return {
        "agent": data.agent,
        "skill": data.skill,
        "day": data.day,
        "start": data.start,
        "end": data.end,
        "locked": bool(data.locked),
    }


def edit_of(place: Place, data: LineForm) -> service.Edit:
    start, end = views.local_range(place.week.days(), place.zone, day=data.day, start=data.start, end=data.end)
    return service.Edit(
        user_id=data.agent, skill_code=data.skill, start_slot=start, end_slot=end, locked=bool(data.locked)
    )


class RosterPagesController(Controller):
    path = "/admin/roster"
    include_in_schema = False
    guards = [requires("coordinator")]

    async def _show(
        self, request: AnyRequest, db: AsyncSession, place: Place, error: DomainError, scope: str, **extra: Any
    ) -> Template:
        if scope == "solve":
            extra["run_error"] = error
        context = await week_context(db, place, error=error, error_scope=scope, **extra)
        return page(request, PAGE, context, status_code=refused_status(request, error))

    async def _done(self, request: AnyRequest, db: AsyncSession, place: Place, anchor: str, day: str = "") -> Any:
        """The page again, showing the day of the line just changed (the whole week while it fits)."""
        lines = len(await service.draft_lines(db, place.roster))
        day = day if day and lines > WHOLE_WEEK_LINES else ""
        if is_htmx(request):
            return page(request, PAGE, await week_context(db, place, day=day))
        return see_other(week_url(place.week, anchor, day))

    @get("/", name="roster:week")
    async def week(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        week: str = "",
        day: str = "",
        skill: str = "",
    ) -> Template:
        """The week; a long draft is shown a day of schedules and a skill's coverage at a time (``day``, ``skill``)."""
        place = await Place.of(db, principal, week)
        return page(request, PAGE, await week_context(db, place, day=day, skill=skill))

    @get("/lines/{line_id:int}/edit", name="roster:line-edit")
    async def line_edit(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, line_id: PathId, week: str = ""
    ) -> Template:
        """One line's move-or-change form: the week page fetches it when asked rather than carrying every line's."""
        place = await Place.of(db, principal, week)
        line = await service.get_line(db, roster=place.roster, line_id=line_id)
        context = await line_form_context(db, place, line)
        return page(request, LINE_PAGE, context)

    @post("/solve", name="roster:solve", status_code=303)
    async def solve(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        settings: AppSettings,
        data: Annotated[WeekForm, FormBody],
    ) -> Any:
        """Queue a solve; the job starts once this request's transaction has committed."""
        place = await Place.of(db, principal, data.week, changing=True)
        try:
            async with db.begin_nested():
                order = await service.start_solve(
                    db,
                    site=place.site,
                    week=place.week,
                    requested_by=principal.user_id,
                    time_limit_seconds=settings.solver_time_limit_seconds,
                )
        except DomainError as error:
            if is_htmx(request):
                run = await service.latest_run(db, place.roster)
                context = {"week": place.week, "run": views.run_view(run) if run else None, "run_error": error}
                return page(request, RUN_PAGE, context)
            return await self._show(request, db, place, error, "solve")
        background = BackgroundTask(start_launch, request.app.state.solves, order, settings)
        if is_htmx(request):
            run = await place.run(db, order.run_id)
            response = page(request, RUN_PAGE, {"week": place.week, "run": views.run_view(run), "run_error": None})
            response.background = background
            return response
        return Redirect(path=week_url(place.week, "roster-run"), status_code=303, background=background)

    @get("/runs/{run_id:int}", name="roster:run")
    async def run(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, run_id: PathId, week: str = ""
    ) -> Template:
        """The progress panel; it polls itself while the solve goes on, and reloads the page when it ends."""
        place = await Place.of(db, principal, week)
        view = views.run_view(await place.run(db, run_id))
        response = page(request, RUN_PAGE, {"week": place.week, "run": view, "run_error": None})
        if is_htmx(request) and not view.active:
            response.headers["HX-Refresh"] = "true"
        return response

    @post("/runs/{run_id:int}/cancel", name="roster:cancel", status_code=303)
    async def cancel(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        run_id: PathId,
        data: Annotated[WeekForm, FormBody],
    ) -> Any:
        place = await Place.of(db, principal, data.week, changing=True)
        run = await place.run(db, run_id)
        await service.request_cancel(db, run)
        if is_htmx(request):
            return page(request, RUN_PAGE, {"week": place.week, "run": views.run_view(run), "run_error": None})
        return see_other(week_url(place.week, "roster-run"))

    @post("/lines", name="roster:add", status_code=303)
    async def add(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, data: Annotated[LineForm, FormBody]
    ) -> Any:
        place = await Place.of(db, principal, data.week, changing=True)
        try:
            async with db.begin_nested():
                line = await service.add_line(db, site=place.site, roster=place.roster, edit=edit_of(place, data))
        except DomainError as error:
            return await self._show(request, db, place, error, "add", form=form_values(data))
        return await self._done(request, db, place, f"line-{line.id}", place.day_of(line))

    @post("/lines/{line_id:int}", name="roster:move", status_code=303)
    async def move(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        line_id: PathId,
        data: Annotated[LineForm, FormBody],
    ) -> Any:
        place = await Place.of(db, principal, data.week, changing=True)
        line = await service.get_line(db, roster=place.roster, line_id=line_id)
        try:
            async with db.begin_nested():
                edit = edit_of(place, data)
                await service.move_line(db, site=place.site, roster=place.roster, line=line, edit=edit)
        except DomainError as error:
            scope, day = f"line-{line_id}", place.day_of(line)
            return await self._show(request, db, place, error, scope, form=form_values(data), day=day)
        return await self._done(request, db, place, f"line-{line_id}", place.day_of(line))

    @post("/lines/{line_id:int}/remove", name="roster:remove", status_code=303)
    async def remove(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        line_id: PathId,
        data: Annotated[WeekForm, FormBody],
    ) -> Any:
        place = await Place.of(db, principal, data.week, changing=True)
        line = await service.get_line(db, roster=place.roster, line_id=line_id)
        day = place.day_of(line)
        await service.remove_line(db, roster=place.roster, line=line)
        return await self._done(request, db, place, "schedules", day)

    @post("/lines/{line_id:int}/lock", name="roster:lock", status_code=303)
    async def lock(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        line_id: PathId,
        data: Annotated[LockForm, FormBody],
    ) -> Any:
        place = await Place.of(db, principal, data.week, changing=True)
        line = await service.get_line(db, roster=place.roster, line_id=line_id)
        await service.set_locked(db, roster=place.roster, line=line, locked=data.locked == "1")
        return await self._done(request, db, place, f"line-{line_id}", place.day_of(line))

    @post("/publish", name="roster:publish", status_code=303)
    async def publish(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, data: Annotated[WeekForm, FormBody]
    ) -> Any:
        place = await Place.of(db, principal, data.week, changing=True)
        try:
            async with db.begin_nested():
                await service.publish(db, site=place.site, roster=place.roster, published_by=principal.user_id)
        except DomainError as error:
            return await self._show(request, db, place, error, "publish")
        return await self._done(request, db, place, "versions")


# The JSON API -------------------------------------------------------------------


class RosterApiController(Controller):
    path = "/api/v1/rosters"
    tags = ["roster"]
    guards = [requires("coordinator")]

    @get("/{week:str}", name="api:roster")
    async def draft(self, db: Db, principal: CurrentPrincipal, week: str) -> RosterOut:
        """The week's draft (times in the site's offset) and the latest solve's state."""
        place = await Place.of(db, principal, week)
        lines: list[RosterAssignment] = await service.draft_lines(db, place.roster)
        codes = {skill.id: skill.code for skill in await accounts.list_skills(db, site_id=place.site.id)}
        run = await service.latest_run(db, place.roster)
        return RosterOut(
            week=str(place.week),
            published_version=place.roster.published_version,
            lines=[
                LineOut(
                    id=line.id,
                    agent_id=line.user_id,
                    skill=codes.get(line.skill_id, ""),
                    start=local_start(line.start_slot, place.zone),
                    end=local_start(line.end_slot, place.zone),
                    locked=line.locked,
                    source=line.source.value,
                )
                for line in lines
            ],
            run=None
            if run is None
            else RunOut(
                id=run.id,
                status=run.status.value,
                elapsed_seconds=run.elapsed_seconds,
                time_limit_seconds=run.time_limit_seconds,
                stage=run.stage,
                under_coverage_slots=run.under_coverage_slots,
                lower_bound_slots=run.lower_bound_slots,
                cancel_requested=run.cancel_requested,
                error=run.error,
            ),
        )


router = Router(path="/", route_handlers=[RosterPagesController, RosterApiController])
