"""Growth on the web: the agent's "My progress" page, the coordinator's growth table and each agent's
matrix, and the promotion suggestions a coordinator approves or declines.

Growth is a coordinator's matter: finance and agents get 403 on the admin pages; an agent sees only
their own matrix (there is no agent URL for anyone else's).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from litestar import Controller, Router, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import User
from backend.accounts.schemas import FormPost
from backend.accounts.zones import user_zone
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.i18n import ngettext, week_label
from backend.core.security import requires
from backend.core.templating import page, refused_status
from backend.core.web import AnyRequest, Db, FormBody, act_on_page
from backend.growth import service as growth
from backend.growth.schemas import DeclineForm
from backend.growth.service import Matrix, Requirement

MINE_PAGE = "growth/mine.html"
TABLE_PAGE = "growth/admin_table.html"
AGENT_PAGE = "growth/admin_agent.html"
PROMOTIONS_PAGE = "growth/promotions.html"
NOT_YET = "\u2013"  # an en dash: no value that week


# What the pages show ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One measure of the matrix as shown: a cell per week, the value now, and its trend."""

    key: str
    label: str
    cells: list[str]
    now: str
    now_label: str  # what "now" covers: "in total", "last 60 days", ...
    points: str  # sparkline polyline ("" when there is too little to draw)
    change: str  # "▲ 2" / "▼ 5" / "" against the previous week with a value
    direction: str  # "up", "down" or ""
    summary: str  # the trend in words, for screen readers and the sparkline's title


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def _percent(value: float | None) -> str:
    return NOT_YET if value is None else f"{_number(round(value, 1))}%"


def _row(key: str, label: str, values: list[float | None], cells: list[str], now: str, now_label: str) -> Row:
    change = growth.delta(values)
    if change is None or round(change, 1) == 0:
        shown, direction = "", ""
    else:
        direction = "up" if change > 0 else "down"
        shown = f"{'▲' if change > 0 else '▼'} {_number(round(abs(change), 1))}"
    shown_at = [position for position, value in enumerate(values) if value is not None]
    if len(shown_at) >= 2:
        summary = _(
            "From %(first)s to %(last)s over the weeks shown.", first=cells[shown_at[0]], last=cells[shown_at[-1]]
        )
    else:
        summary = _("Not enough weeks with a value to show a trend.")
    return Row(key, label, cells, now, now_label, growth.sparkline(values), shown, direction, summary)


def matrix_rows(matrix: Matrix) -> list[Row]:
    """The matrix's measures in the order both pages show them."""
    m = matrix.measures
    in_total = _("in total")
    rows = [
        _row(
            "shifts",
            _("Shifts worked"),
            [float(count) for count in matrix.shifts],
            [str(count) for count in matrix.shifts],
            str(m.shifts_worked),
            in_total,
        ),
        _row(
            "hours",
            _("Hours worked"),
            list(matrix.hours),
            [_number(h) for h in matrix.hours],
            _number(m.hours_worked),
            in_total,
        ),
        _row(
            "reliability",
            _("Reliability"),
            matrix.reliability,
            [_percent(value) for value in matrix.reliability],
            f"{matrix.reliability_detail.percent}%",
            ngettext("last %(num)s day", "last %(num)s days", matrix.reliability_detail.window_days),
        ),
        _row(
            "quiz",
            _("Quiz average"),
            matrix.quiz,
            [_percent(value) for value in matrix.quiz],
            _percent(m.quiz_percent),
            _("all quizzes"),
        ),
    ]
    if matrix.quality is not None:
        quality = matrix.quality
        rows.append(
            _row(
                "csat",
                _("Customer satisfaction"),
                quality.csat,
                [NOT_YET if v is None else _number(round(v, 2)) for v in quality.csat],
                NOT_YET if quality.csat_now is None else _number(round(quality.csat_now, 2)),
                _("now"),
            )
        )
        rows.append(
            _row(
                "resolution",
                _("Resolution rate"),
                quality.resolution_percent,
                [_percent(v) for v in quality.resolution_percent],
                _percent(quality.resolution_now),
                _("now"),
            )
        )
    return rows


def requirement_text(requirement: Requirement) -> str:
    """Where the agent stands against one threshold, in words: "Shifts worked: 8 (10 needed, 2 to go)"."""
    need = requirement.need
    if requirement.key == "shifts":
        have = int(requirement.have or 0)
        if requirement.met:
            return _("Shifts worked: %(have)s (%(need)s needed)", have=have, need=need)
        return _(
            "Shifts worked: %(have)s (%(need)s needed, %(missing)s to go)",
            have=have,
            need=need,
            missing=requirement.missing,
        )
    if requirement.key == "reliability":
        return _("Reliability: %(have)s%% (%(need)s%% needed)", have=int(requirement.have or 0), need=need)
    if requirement.have is None:
        return _("Quiz average: no quiz taken yet (%(need)s%% needed)", need=need)
    return _("Quiz average: %(have)s%% (%(need)s%% needed)", have=_number(round(requirement.have, 1)), need=need)


def _matrix_context(matrix: Matrix, viewer: User) -> dict[str, Any]:
    zone = user_zone(viewer)
    return {
        "matrix": matrix,
        "agent": matrix.user,
        "rows": matrix_rows(matrix),
        "weeks": [week_label(week.monday, short=True) for week in matrix.weeks],
        "requirement_text": requirement_text,
        "day": lambda moment: moment.astimezone(zone).strftime("%Y-%m-%d"),
    }


# The agent's page -----------------------------------------------------------------------------


class MyGrowthController(Controller):
    """My progress: my measures week by week, my certifications, my tier and what the next one needs."""

    path = "/app/growth"
    include_in_schema = False
    guards = [requires("agent")]

    @get("/", name="growth:mine")
    async def show(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Template:
        matrix = await growth.growth_matrix(db, user=current_user, now=utcnow())
        context = {"tab": "learn", "user": current_user, **_matrix_context(matrix, current_user)}
        return page(request, MINE_PAGE, context)


# The coordinator's pages ----------------------------------------------------------------------


SORT_LABELS = {
    "name": "Name",
    "tier": "Tier",
    "shifts": "Shifts worked",
    "hours": "Hours worked",
    "reliability": "Reliability",
    "quiz": "Quiz average",
    "certifications": "Certifications",
}


class GrowthAdminController(Controller):
    """Every agent's measures in one sortable table; each agent's matrix; promotions to decide."""

    path = "/admin/growth"
    include_in_schema = False
    guards = [requires("coordinator")]

    @get("/", name="growth:admin")
    async def table(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, sort: str = "name", order: str = "asc"
    ) -> Template:
        if order not in {"asc", "desc"}:
            raise DomainError(_("Order is asc or desc."), field="order")
        site = await accounts.get_site(db, current_user.site_id)
        now = utcnow()
        summaries = await growth.site_summaries(db, site=site, now=now, sort=sort, descending=order == "desc")
        context = {
            "summaries": summaries,
            "names": accounts.person_labels(summary.user for summary in summaries),
            "sort": sort,
            "order": order,
            "columns": [(key, _(label)) for key, label in SORT_LABELS.items()],
            "open_count": len(await growth.open_suggestions(db, site=site)),
            "percent": _percent,
            "number": _number,
        }
        return page(request, TABLE_PAGE, context)

    async def _promotions(
        self,
        request: AnyRequest,
        db: AsyncSession,
        staff: User,
        *,
        error: DomainError | None = None,
        failed: int | None = None,
        done: str = "",
    ) -> Template:
        site = await accounts.get_site(db, staff.site_id)
        now = utcnow()
        suggestions = await growth.promotion_suggestions(db, site=site, now=now)
        decided = await growth.recent_decisions(db, site=site)
        people = {
            user.id: user
            for user in await accounts.users_by_ids(
                db,
                {s.user_id for s in [*suggestions, *decided]} | {s.decided_by_id for s in decided if s.decided_by_id},
            )
        }
        zone = user_zone(staff)
        context = {
            "suggestions": suggestions,
            "decided": decided,
            "people": people,
            "error": error,
            "failed": failed,
            "done": done,
            "percent": _percent,
            "number": _number,
            "day": lambda moment: moment.astimezone(zone).strftime("%Y-%m-%d"),
            "rule": promotion_rule_text(),
        }
        return page(request, PROMOTIONS_PAGE, context, status_code=refused_status(request, error))

    @get("/promotions", name="growth:promotions")
    async def promotions(self, request: AnyRequest, db: Db, current_user: CurrentUser, done: str = "") -> Template:
        return await self._promotions(request, db, current_user, done=done if done in {"approved", "declined"} else "")

    async def _decide(
        self,
        request: AnyRequest,
        db: AsyncSession,
        staff: User,
        suggestion_id: int,
        action: Callable[[], Awaitable[object]],
        done: str,
    ) -> Any:
        """Approve or decline: refused beside the suggestion, or done (another site's is Not found)."""
        return await act_on_page(
            request,
            db,
            action,
            render=partial(self._promotions, request, db, staff),
            done=done,
            then=f"{self.path}/promotions?done={done}",
            refused_with={"failed": suggestion_id},
            raised={403, 404},
        )

    @post("/promotions/{suggestion_id:int}/approve", name="growth:approve", status_code=200)
    async def approve(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, suggestion_id: PathId, data: FormPost
    ) -> Any:
        return await self._decide(
            request,
            db,
            current_user,
            suggestion_id,
            lambda: growth.approve_promotion(db, suggestion_id=suggestion_id, coordinator=current_user, now=utcnow()),
            "approved",
        )

    @post("/promotions/{suggestion_id:int}/decline", name="growth:decline", status_code=200)
    async def decline(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        suggestion_id: PathId,
        data: Annotated[DeclineForm, FormBody],
    ) -> Any:
        return await self._decide(
            request,
            db,
            current_user,
            suggestion_id,
            lambda: growth.decline_promotion(
                db, suggestion_id=suggestion_id, coordinator=current_user, reason=data.reason, now=utcnow()
            ),
            "declined",
        )

    @get("/{user_id:int}", name="growth:agent")
    async def agent(self, request: AnyRequest, db: Db, current_user: CurrentUser, user_id: PathId) -> Template:
        agent = await growth.agent_of_site(db, user_id=user_id, staff=current_user)
        matrix = await growth.growth_matrix(db, user=agent, now=utcnow())
        return page(request, AGENT_PAGE, _matrix_context(matrix, current_user))


def promotion_rule_text() -> str:
    return _(
        "An agent is suggested for the next tier once they meet all of its thresholds (Site and skills): shifts"
        " worked, reliability and quiz average. Approving changes their tier, which sets when they may claim open"
        " shifts. After a decline they are suggested again after %(days)s days, or sooner once they have worked"
        " %(shifts)s more shifts without their reliability or quiz average going down.",
        days=growth.RESUGGEST_AFTER_DAYS,
        shifts=growth.RESUGGEST_MORE_SHIFTS,
    )


router = Router(path="/", route_handlers=[MyGrowthController, GrowthAdminController])
