"""The quality dashboard: contacts per hour worked, handle time, CSAT and resolution by agent, skill and tier.

Over the last ``weeks`` site-local weeks (the current one included, as far as it has gone), from the
cells of ``ops.rollup``. The measures, each a ratio of sums so a group's figure is never an average of
averages:

- **Contacts per hour worked**: pieces handled (the records' ``count``) over hours worked, where hours
  worked are the seats that count as worked (attendance's ``worked_seats``: held to the end, not a
  no-show) on shifts starting in those weeks. None without hours worked.
- **Average handle time**: handle seconds over the pieces of records that carry a handle time.
- **CSAT**: the mean rating of rated records; **resolution rate**: the share of records that say resolved,
  of those that say either way (growth's rules, ``growth.service.quality_figures``, summed in SQL here).

By agent the table is paged (``PAGE_SIZE``) and sorted in SQL, so the page costs the same few queries
whatever the size of the centre. By tier means the agent's tier now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill, Tier, User, skill_label
from backend.accounts.zones import site_zone
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.slots import IsoWeek
from backend.ops import rollup

PAGE_SIZE = 50
DEFAULT_WEEKS = 13
MAX_WEEKS = rollup.ROLLUP_WEEKS
SORT_KEYS = ("name", "tier", "contacts", "hours", "per_hour", "aht", "csat", "resolution")
TIER_ORDER = (Tier.junior, Tier.mid, Tier.senior)


@dataclass(frozen=True)
class Figures:
    """Summed cells, and the measures read from them (rounded once, here, for the page and the CSV alike)."""

    contacts: int = 0
    timed_contacts: int = 0
    handled_seconds: int = 0
    csat_sum: int = 0
    csat_count: int = 0
    resolved_count: int = 0
    outcome_count: int = 0
    worked_slots: int = 0

    @classmethod
    def of(cls, row: Any) -> Figures:
        return cls(*(int(getattr(row, name) or 0) for name in rollup.SUMS))

    @property
    def hours(self) -> float:
        return self.worked_slots / 2

    @property
    def per_hour(self) -> float | None:
        return round(self.contacts / self.hours, 2) if self.worked_slots else None

    @property
    def aht_seconds(self) -> int | None:
        return round(self.handled_seconds / self.timed_contacts) if self.timed_contacts else None

    @property
    def csat(self) -> float | None:
        return round(self.csat_sum / self.csat_count, 2) if self.csat_count else None

    @property
    def resolution_percent(self) -> float | None:
        return round(100 * self.resolved_count / self.outcome_count, 1) if self.outcome_count else None

    @property
    def empty(self) -> bool:
        return not (self.contacts or self.worked_slots or self.csat_count or self.outcome_count)


@dataclass(frozen=True)
class AgentRow:
    user_id: int
    name: str
    email: str  # only to tell namesakes apart (``accounts.person_labels``)
    tier: Tier
    figures: Figures


@dataclass(frozen=True)
class GroupRow:
    key: str
    label: str
    figures: Figures


@dataclass(frozen=True)
class QualityReport:
    weeks: list[IsoWeek]
    agents: list[AgentRow]  # this page of them (every agent when unpaged)
    agent_count: int
    page: int
    pages: int
    sort: str
    descending: bool
    by_skill: list[GroupRow]
    by_tier: list[GroupRow]
    by_week: list[Figures]  # one per week, oldest first
    total: Figures
    rolled_at: dt.datetime | None  # the oldest roll-up read (None: every week summed live)
    live_weeks: int

    @property
    def empty(self) -> bool:
        return self.total.empty


def parse_weeks(text: str) -> int:
    """``weeks`` from the query: a whole number from 1 to ``MAX_WEEKS`` (422 naming ``weeks`` otherwise)."""
    try:
        weeks = int(text.strip())
    except ValueError:
        weeks = 0
    if not 1 <= weeks <= MAX_WEEKS:
        raise DomainError(_("Weeks is a whole number from 1 to %(max)s.", max=MAX_WEEKS), field="weeks")
    return weeks


def _ratio(numerator: Any, denominator: Any) -> Any:
    return cast(numerator, Float) / func.nullif(denominator, 0)


def _sums(cells: Any) -> list[Any]:
    return [func.coalesce(func.sum(cells.c[name]), 0).label(name) for name in rollup.SUMS]


def _sort_column(key: str, cells: Any) -> Any:
    tier_rank = case({tier: rank for rank, tier in enumerate(TIER_ORDER)}, value=User.tier)
    columns = {
        "name": func.lower(User.display_name),
        "tier": tier_rank,
        "contacts": func.sum(cells.c.contacts),
        "hours": func.sum(cells.c.worked_slots),
        "per_hour": _ratio(func.sum(cells.c.contacts), func.sum(cells.c.worked_slots)),
        "aht": _ratio(func.sum(cells.c.handled_seconds), func.sum(cells.c.timed_contacts)),
        "csat": _ratio(func.sum(cells.c.csat_sum), func.sum(cells.c.csat_count)),
        "resolution": _ratio(func.sum(cells.c.resolved_count), func.sum(cells.c.outcome_count)),
    }
    return columns[key]


def _summed(groups: list[tuple[Any, ...]], key: Callable[[tuple[Any, ...]], Any]) -> dict[Any, Figures]:
    """The groups' figures summed by ``key`` (figures are the last item of each group)."""
    sums: dict[Any, list[int]] = {}
    for group in groups:
        into = sums.setdefault(key(group), [0] * len(rollup.SUMS))
        for index, name in enumerate(rollup.SUMS):
            into[index] += getattr(group[-1], name)
    return {k: Figures(*values) for k, values in sums.items()}


async def quality_report(
    session: AsyncSession,
    *,
    site: Site,
    weeks: int,
    now: dt.datetime,
    sort: str = "name",
    descending: bool = False,
    page: int | None = 1,
) -> QualityReport:
    """The dashboard over the last ``weeks`` weeks; ``page`` None lists every agent (the CSV)."""
    if sort not in SORT_KEYS:
        raise DomainError(_("Sort by one of the table's columns."), field="sort")
    zone = site_zone(site)
    shown = rollup.window(now, zone, weeks)
    stamped = await rollup.stamps(session, site_id=site.id, weeks=shown)
    cells = rollup.cells(site_id=site.id, weeks=shown, rolled=set(stamped), zone=zone, now=now)

    order = _sort_column(sort, cells)
    ordering = [order.desc().nulls_last() if descending else order.asc().nulls_last()]
    agents_query = (
        select(
            User.id,
            User.display_name,
            User.email,
            User.tier,
            *_sums(cells),
            func.count().over().label("agent_count"),
        )
        .join(User, User.id == cells.c.user_id)
        .group_by(User.id, User.display_name, User.email, User.tier)
        .order_by(*ordering, func.lower(User.display_name), User.id)
    )
    page_number = max(page or 1, 1)
    if page is not None:
        agents_query = agents_query.limit(PAGE_SIZE).offset((page_number - 1) * PAGE_SIZE)
    rows = list(await session.execute(agents_query))
    if page is not None and not rows and page_number > 1:
        raise DomainError(_("There is no page %(page)s.", page=page_number), field="page")
    agent_count = int(rows[0].agent_count) if rows else 0
    agents = [AgentRow(row.id, row.display_name, row.email, Tier(row.tier), Figures.of(row)) for row in rows]

    # Every group at once: cells summed by week, skill and tier are a few hundred rows at most, whatever the
    # size of the centre; the skill, tier and week tables and the total are sums of these.
    groups = [
        (row.week, row.skill_id, Tier(row.tier), Figures.of(row))
        for row in await session.execute(
            select(cells.c.week, cells.c.skill_id, User.tier, *_sums(cells))
            .join(User, User.id == cells.c.user_id)
            .group_by(cells.c.week, cells.c.skill_id, User.tier)
        )
    ]
    skills = {skill.id: skill for skill in await session.scalars(select(Skill).where(Skill.site_id == site.id))}
    by_skill = [
        GroupRow(str(skill_id or ""), skill_label(skills.get(skill_id)) or _("No skill named"), figures)
        for skill_id, figures in _summed(groups, lambda g: g[1]).items()
    ]
    by_skill.sort(key=lambda group: (group.key == "", group.label.casefold()))
    tiers = _summed(groups, lambda g: g[2])
    by_tier = [GroupRow(tier.value, tier.value, tiers[tier]) for tier in TIER_ORDER if tier in tiers]
    weekly = _summed(groups, lambda g: g[0])
    by_week = [weekly.get(str(week), Figures()) for week in shown]
    total = _summed(groups, lambda g: "").get("", Figures())
    pages = max(1, -(-agent_count // PAGE_SIZE)) if page is not None else 1
    return QualityReport(
        weeks=shown,
        agents=agents,
        agent_count=agent_count,
        page=page_number if page is not None else 1,
        pages=pages,
        sort=sort,
        descending=descending,
        by_skill=by_skill,
        by_tier=by_tier,
        by_week=by_week,
        total=total,
        rolled_at=min(stamped.values()) if stamped else None,
        live_weeks=sum(1 for week in shown if str(week) not in stamped),
    )
