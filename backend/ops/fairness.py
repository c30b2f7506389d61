"""The fairness dashboard: hours given against hours offered per agent, least served first, and who is told how often.

For one site-local ISO week and the four weeks ending with it:

- **Offered**: the half-hours the agent offered (availability) in the week(s): read from the worker's roll-up
  (``ops.rollup.offered``) for weeks it has stamped, counted live for the others.
- **Given**: the half-hours of seats they hold (not given back) on the site's shifts starting in the
  week(s) that were not cancelled, rostered or claimed alike.
- **Served**: given over offered; least served first (the week's share, then the four weeks'; an agent
  who offered nothing comes last).
- **Why**: the roster's own explanation from the week's last finished solve (``roster.service._report``:
  the fair-share target and, per unused offered half-hour, the reason code), summed per reason and
  worded by the roster's catalogue (``roster.views.reason_texts``). Nothing is inferred here.
- **Notifications**: inbox rows per agent per week (every kind; each push is one of them). Anyone above
  ``FLAG_NOTIFICATIONS_PER_WEEK`` in a week is flagged.

Agents who have left are not listed; nor is anyone with nothing offered, given or sent in the four weeks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, Tier, User, UserStatus
from backend.accounts.zones import site_zone
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.slots import IsoWeek, utc_start
from backend.notify.models import Notification
from backend.ops import rollup
from backend.roster.models import Roster, SolveRun, SolveStatus
from backend.roster.views import reason_texts
from backend.shifts.models import Shift, ShiftSeat

PAGE_SIZE = 50
WEEKS = 4
FLAG_NOTIFICATIONS_PER_WEEK = 35  # five a day: above this an agent is being spammed
SHARE_BANDS = (25, 50, 75, 100)  # the chart's bands of the week's share given, in percent


@dataclass(frozen=True)
class Served:
    offered_slots: int = 0
    given_slots: int = 0

    @property
    def offered_hours(self) -> float:
        return self.offered_slots / 2

    @property
    def given_hours(self) -> float:
        return self.given_slots / 2

    @property
    def percent(self) -> float | None:
        return round(100 * self.given_slots / self.offered_slots, 1) if self.offered_slots else None


@dataclass(frozen=True)
class Reason:
    text: str
    hours: float


@dataclass(frozen=True)
class FairnessRow:
    user_id: int
    name: str
    email: str  # only to tell namesakes apart (``accounts.person_labels``)
    tier: Tier
    week: Served
    four_weeks: Served
    target_hours: float | None  # the week's fair share from the last solve (None: no solve)
    reasons: list[Reason]
    notifications: list[int]  # per week, oldest first

    @property
    def flagged(self) -> bool:
        return any(count > FLAG_NOTIFICATIONS_PER_WEEK for count in self.notifications)

    @property
    def reasons_text(self) -> str:
        return "; ".join(_("%(reason)s: %(hours)s h", reason=r.text, hours=f"{r.hours:g}") for r in self.reasons)


@dataclass(frozen=True)
class FairnessReport:
    week: IsoWeek
    weeks: list[IsoWeek]  # the four, oldest first
    rows: list[FairnessRow]  # this page of them (every one when unpaged)
    agent_count: int
    page: int
    pages: int
    solved: bool  # the week has a finished solve to explain it
    flagged: int
    bands: list[int] = field(default_factory=list)  # agents per band of the week's share (SHARE_BANDS, then 100+)

    @property
    def empty(self) -> bool:
        return not self.agent_count


def _sort_key(row: FairnessRow) -> tuple[Any, ...]:
    week, four = row.week.percent, row.four_weeks.percent
    return (week is None, week or 0.0, four is None, four or 0.0, row.name.casefold(), row.user_id)


async def _solve_report(session: AsyncSession, *, site_id: int, week: IsoWeek) -> dict[str, Any] | None:
    """The report of the week's last finished solve (the roster page explains the same one)."""
    return await session.scalar(
        select(SolveRun.report)
        .join(Roster, Roster.id == SolveRun.roster_id)
        .where(Roster.site_id == site_id, Roster.week == str(week), SolveRun.status == SolveStatus.done)
        .where(SolveRun.report.is_not(None))
        .order_by(SolveRun.id.desc())
        .limit(1)
    )


def _reasons(entry: dict[str, Any], texts: dict[str, str]) -> list[Reason]:
    slots: dict[str, int] = defaultdict(int)
    for start, end, code in entry.get("unused", []):
        slots[str(code)] += int(end) - int(start)
    return [
        Reason(texts.get(code, code), count / 2)
        for code, count in sorted(slots.items(), key=lambda item: (-item[1], item[0]))
    ]


async def fairness_report(session: AsyncSession, *, site: Site, week: IsoWeek, page: int | None = 1) -> FairnessReport:
    """The dashboard for ``week`` as its seats and offers stand; ``page`` None lists every agent (the CSV)."""
    zone = site_zone(site)
    weeks = [week.shifted(offset) for offset in range(1 - WEEKS, 1)]
    slot_bounds = [(w.slots(zone).start, w.slots(zone).stop) for w in weeks]
    time_bounds = [(utc_start(start), utc_start(stop)) for start, stop in slot_bounds]
    first_slot, last_slot = slot_bounds[0][0], slot_bounds[-1][1]
    agents = and_(User.site_id == site.id, User.role == Role.agent, User.status != UserStatus.left)

    site_agents = select(User.id).where(agents).scalar_subquery()
    week_start = slot_bounds[-1][0]
    rolled = set(await rollup.stamps(session, site_id=site.id, weeks=weeks))
    per_week = rollup.offered(site_id=site.id, weeks=weeks, rolled=rolled, zone=zone)
    offered = select(
        per_week.c.user_id,
        func.sum(case((per_week.c.week == str(week), per_week.c.offered_slots), else_=0)).label("week"),
        func.sum(per_week.c.offered_slots).label("four"),
    ).group_by(per_week.c.user_id)
    length = Shift.end_slot - Shift.start_slot
    given = (
        select(
            ShiftSeat.user_id,
            func.sum(case((Shift.start_slot >= week_start, length), else_=0)).label("week"),
            func.sum(length).label("four"),
        )
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .where(Shift.site_id == site.id, Shift.cancelled_at.is_(None), ShiftSeat.released_at.is_(None))
        .where(Shift.start_slot >= first_slot, Shift.start_slot < last_slot)
        .group_by(ShiftSeat.user_id)
    )
    sent = (
        select(
            Notification.user_id,
            *[
                func.sum(
                    case((and_(Notification.created_at >= start, Notification.created_at < end), 1), else_=0)
                ).label(f"w{index}")
                for index, (start, end) in enumerate(time_bounds)
            ],
        )
        .where(Notification.user_id.in_(site_agents))
        .where(Notification.created_at >= time_bounds[0][0], Notification.created_at < time_bounds[-1][1])
        .group_by(Notification.user_id)
    )
    # Four plain statements merged here rather than one join of three aggregates: the driver's cached statements
    # get PostgreSQL's generic plans after a few runs, and that plan nested-looped the join (seconds, not ms).
    offers = {user_id: (int(w or 0), int(f or 0)) for user_id, w, f in await session.execute(offered)}
    seats = {user_id: (int(w or 0), int(f or 0)) for user_id, w, f in await session.execute(given)}
    sends = {user_id: [int(count or 0) for count in counts] for user_id, *counts in await session.execute(sent)}
    people = await session.execute(select(User.id, User.display_name, User.email, User.tier).where(agents))
    users = [
        (user_id, name, email, tier, *offers.get(user_id, (0, 0)), *seats.get(user_id, (0, 0)),
         *sends.get(user_id, [0] * WEEKS))
        for user_id, name, email, tier in people
        if user_id in offers or user_id in seats or user_id in sends
    ]  # fmt: skip
    report = await _solve_report(session, site_id=site.id, week=week)
    explained: dict[str, Any] = (report or {}).get("agents", {}) or {}
    texts = reason_texts()
    rows = []
    for user_id, name, email, tier, offered_week, offered_four, given_week, given_four, *notified in users:
        entry = explained.get(str(user_id)) or {}
        target = entry.get("target")
        rows.append(
            FairnessRow(
                user_id=user_id,
                name=name,
                email=email,
                tier=Tier(tier),
                week=Served(int(offered_week or 0), int(given_week or 0)),
                four_weeks=Served(int(offered_four or 0), int(given_four or 0)),
                target_hours=None if target is None else int(target) / 2,
                reasons=_reasons(entry, texts),
                notifications=[int(count or 0) for count in notified],
            )
        )
    rows.sort(key=_sort_key)
    bands = [0] * (len(SHARE_BANDS) + 1)
    for row in rows:
        share = row.week.percent
        if share is not None:
            bands[next((i for i, top in enumerate(SHARE_BANDS) if share < top), len(SHARE_BANDS))] += 1
    count = len(rows)
    pages = max(1, -(-count // PAGE_SIZE))
    page_number = max(page or 1, 1)
    if page is not None and page_number > pages:
        raise DomainError(_("There is no page %(page)s.", page=page_number), field="page")
    shown = rows if page is None else rows[(page_number - 1) * PAGE_SIZE : page_number * PAGE_SIZE]
    return FairnessReport(
        week=week,
        weeks=weeks,
        rows=shown,
        agent_count=count,
        page=page_number if page is not None else 1,
        pages=pages if page is not None else 1,
        solved=report is not None,
        flagged=sum(1 for row in rows if row.flagged),
        bands=bands,
    )
