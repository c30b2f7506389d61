"""The requests board and the workload per owner: how the back office is doing, from the requests' own rows.

The board covers the requests raised between two site-local days (inclusive), followed to now: volume by kind,
minutes to the first answer and to the resolution (median and p90, wall-clock minutes) beside the targets and
the share that met them (from the breach instants the clock wrote), breaches, the reopen rate, hand-overs, the
time spent at each team in each status (replayed from the events: where requests wait longest), the recurring
root causes and the askers' ratings.

Cost: one narrow query over the range's requests (one row each, by ``ix_requests_site_id_created_at``), one over
their state-changing events (by ``ix_request_events_request_id_at``), the teams and the targets; every median and
percentile is computed here (SQLite has no ``percentile_cont``, and one definition serves both databases). Plain
statements with bound values only: no plan for PostgreSQL to turn generic after five runs.

The workload reads the open requests of the site (``ix_requests_site_id_status``): per owner the open ones, those
waiting for the asker, those that breached a target, the minutes past their due instants and the oldest one's
age; and per team the ones still in the queue, held by nobody.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Site, User
from backend.accounts.zones import site_zone
from backend.core.charts import Chart, Series
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.i18n import localized_name
from backend.requests import targets as request_targets
from backend.requests.kinds import KIND_ORDER, kind_label, root_cause_label, status_label
from backend.requests.models import (
    OPEN_STATUSES,
    EventKind,
    Priority,
    Request,
    RequestEvent,
    RequestKind,
    RequestStatus,
    RequestTeam,
)
from backend.requests.stats import median, minutes_between, percentile

DEFAULT_DAYS = 30
MAX_DAYS = 366
TIMED_STATUSES = (RequestStatus.queued, RequestStatus.in_progress, RequestStatus.waiting, RequestStatus.resolved)
BOARD_TABLES = ("kinds", "teams", "causes", "ratings")
WORKLOAD_TABLES = ("owners", "queues")
SITE_QUEUE = 0  # the team key of the site's queue (``team_id`` None) in the time tables
# The events that move a request between statuses or teams; the others leave where it waits unchanged.
MOVES = (
    EventKind.raised,
    EventKind.routed,
    EventKind.taken,
    EventKind.asked_asker,
    EventKind.asker_replied,
    EventKind.handed_over,
    EventKind.resolved,
    EventKind.idea_outcome,
    EventKind.reopened,
    EventKind.confirmed,
    EventKind.auto_closed,
)


class Span(msgspec.Struct, frozen=True):
    """The site-local days the board covers, both included."""

    first: dt.date
    last: dt.date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


class Figures(msgspec.Struct):
    """One row of the kinds table (``kind`` None: every kind)."""

    kind: RequestKind | None
    label: str
    raised: int = 0
    open: int = 0
    resolved: int = 0
    first_answer_median: float | None = None
    first_answer_p90: float | None = None
    first_answer_target: int | None = None  # minutes at normal priority (the team's calendar)
    first_answer_met_percent: float | None = None
    resolution_median: float | None = None
    resolution_p90: float | None = None
    resolution_target: int | None = None
    resolution_met_percent: float | None = None
    response_breaches: int = 0
    resolution_breaches: int = 0
    reopened: int = 0
    reopen_percent: float | None = None
    handovers: int = 0
    handed_over: int = 0  # requests handed over at least once
    bounce_flagged: int = 0
    rated: int = 0
    rating_average: float | None = None


class TeamTime(msgspec.Struct):
    """Hours requests spent at a team (``team_id`` 0: the site's queue), by status; ``requests`` passed through."""

    team_id: int
    label: str
    hours: dict[str, float]
    total_hours: float
    requests: int


class CauseRow(msgspec.Struct):
    key: str
    label: str
    count: int
    percent: float


class RatingRow(msgspec.Struct):
    rating: int
    count: int
    percent: float | None


class Board(msgspec.Struct):
    span: Span
    kinds: list[Figures]
    total: Figures
    teams: list[TeamTime]
    status_hours: dict[str, float]  # every team together
    bottleneck: tuple[int, str] | None  # (team key, status) where requests waited longest
    bottleneck_team: str  # that team's name
    causes: list[CauseRow]
    ratings: list[RatingRow]
    rated: int
    rating_average: float | None

    @property
    def empty(self) -> bool:
        return self.total.raised == 0


class OwnerLoad(msgspec.Struct):
    user_id: int
    name: str
    open: int
    waiting: int
    breached: int
    over_target_minutes: int  # the minutes past due of the open requests that are past due, added up
    over_target: int  # how many are past due
    oldest_minutes: int


class QueueLoad(msgspec.Struct):
    team_id: int  # 0: the site's queue
    label: str
    open: int
    breached: int
    oldest_minutes: int


class Workload(msgspec.Struct):
    owners: list[OwnerLoad]
    queues: list[QueueLoad]


# The span ---------------------------------------------------------------------------------------------------


def parse_day(text: str, *, field: str) -> dt.date | None:
    """A day from a query (blank: None); 422 naming ``field`` when it is not one."""
    text = text.strip()
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise DomainError(_("Give a day like 2026-12-07."), field=field) from None
    if not dt.date(2000, 1, 1) <= day <= dt.date(2099, 12, 31):
        raise DomainError(_("Give a day like 2026-12-07."), field=field)
    return day


def chosen_span(site: Site, first_text: str, last_text: str, *, now: dt.datetime) -> Span:
    """The days asked for (``from``, ``to``; blank: the last 30 days to the site's today); 422 naming the field
    when a day is not one, ``to`` is before ``from`` or the span is longer than a year."""
    first = parse_day(first_text, field="from")
    last = parse_day(last_text, field="to")
    last = last or (now.astimezone(site_zone(site)).date() if first is None else first + dt.timedelta(DEFAULT_DAYS - 1))
    first = first or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise DomainError(_("The last day comes on or after the first."), field="to")
    if (last - first).days + 1 > MAX_DAYS:
        raise DomainError(_("Choose at most %(days)d days.", days=MAX_DAYS), field="from")
    return Span(first, last)


def utc_bounds(site: Site, span: Span) -> tuple[dt.datetime, dt.datetime]:
    zone = site_zone(site)
    start = dt.datetime.combine(span.first, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(span.last + dt.timedelta(days=1), dt.time(0), tzinfo=zone).astimezone(dt.UTC)
    return start, end


# Teams ------------------------------------------------------------------------------------------------------


async def team_labels(session: AsyncSession, site_id: int) -> dict[int, str]:
    """Every team of the site (archived ones too: old requests name them) by id, in the reader's language; the
    site's queue under ``SITE_QUEUE``."""
    rows = await session.execute(
        select(RequestTeam.id, RequestTeam.name, RequestTeam.name_zh).where(RequestTeam.site_id == site_id)
    )
    labels = {SITE_QUEUE: _("Site queue")}
    labels.update({team_id: localized_name(name, name_zh or "") for team_id, name, name_zh in rows})
    return labels


# The board --------------------------------------------------------------------------------------------------


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class _Tally:
    """The raw numbers of one kinds-table row, before the medians."""

    def __init__(self) -> None:
        self.raised = self.open = self.resolved = 0
        self.first_answer: list[float] = []
        self.resolution: list[float] = []
        self.answered_met = self.resolved_met = 0
        self.response_breaches = self.resolution_breaches = 0
        self.reopened = self.handovers = self.handed_over = self.bounce_flagged = 0
        self.ratings: list[int] = []

    def add(self, row: Any) -> None:
        self.raised += 1
        if row.status in OPEN_STATUSES:
            self.open += 1
        if row.first_response_at is not None:
            self.first_answer.append(max(0.0, minutes_between(row.created_at, row.first_response_at)))
            self.answered_met += row.response_breached_at is None
        if row.resolved_at is not None:
            self.resolved += 1
            self.resolution.append(max(0.0, minutes_between(row.created_at, row.resolved_at)))
            self.resolved_met += row.resolution_breached_at is None
        self.response_breaches += row.response_breached_at is not None
        self.resolution_breaches += row.resolution_breached_at is not None
        self.reopened += row.reopen_count > 0
        self.handovers += row.handover_count
        self.handed_over += row.handover_count > 0
        self.bounce_flagged += row.bounce_flagged_at is not None
        if row.rating is not None:
            self.ratings.append(row.rating)

    def figures(self, kind: RequestKind | None, label: str, target: Any) -> Figures:
        return Figures(
            kind=kind,
            label=label,
            raised=self.raised,
            open=self.open,
            resolved=self.resolved,
            first_answer_median=_minutes(median(self.first_answer)),
            first_answer_p90=_minutes(percentile(self.first_answer, 0.9)),
            first_answer_target=None if target is None else target.first_response_minutes,
            first_answer_met_percent=_percent(self.answered_met, len(self.first_answer)),
            resolution_median=_minutes(median(self.resolution)),
            resolution_p90=_minutes(percentile(self.resolution, 0.9)),
            resolution_target=None if target is None else target.resolution_minutes,
            resolution_met_percent=_percent(self.resolved_met, self.resolved),
            response_breaches=self.response_breaches,
            resolution_breaches=self.resolution_breaches,
            reopened=self.reopened,
            reopen_percent=_percent(self.reopened, self.resolved),
            handovers=self.handovers,
            handed_over=self.handed_over,
            bounce_flagged=self.bounce_flagged,
            rated=len(self.ratings),
            rating_average=round(sum(self.ratings) / len(self.ratings), 2) if self.ratings else None,
        )


def replay(
    events: Iterable[tuple[dt.datetime, EventKind, int | None, int | None]], *, until: dt.datetime
) -> list[tuple[int, RequestStatus, float]]:
    """Where one request waited: (team key, status, minutes) for each stretch between its state-changing events
    (``events`` in order: at, kind, to_team_id, to_user_id), the last stretch running to ``until`` (closed_at, or
    now while it is not closed)."""
    team, status, since = SITE_QUEUE, RequestStatus.queued, None
    stretches: list[tuple[int, RequestStatus, float]] = []
    for at, kind, to_team, to_user in events:
        if since is not None and status != RequestStatus.closed and at > since:
            stretches.append((team, status, minutes_between(since, min(at, until))))
        since = at
        if kind in (EventKind.raised, EventKind.routed, EventKind.handed_over):
            if to_team is not None or kind == EventKind.routed:
                team = to_team or SITE_QUEUE
            if to_team is not None or to_user is not None or kind == EventKind.handed_over:
                status = RequestStatus.in_progress if to_user is not None else RequestStatus.queued
        elif kind in (EventKind.taken, EventKind.asker_replied, EventKind.reopened):
            status = RequestStatus.in_progress
        elif kind == EventKind.asked_asker:
            status = RequestStatus.waiting
        elif kind in (EventKind.resolved, EventKind.idea_outcome):
            status = RequestStatus.resolved
        elif kind in (EventKind.confirmed, EventKind.auto_closed):
            status = RequestStatus.closed
    if since is not None and status != RequestStatus.closed and until > since:
        stretches.append((team, status, minutes_between(since, until)))
    return [stretch for stretch in stretches if stretch[2] > 0]


async def _team_times(
    session: AsyncSession,
    site: Site,
    start: dt.datetime,
    end: dt.datetime,
    closed: dict[int, dt.datetime | None],
    labels: dict[int, str],
    now: dt.datetime,
) -> tuple[list[TeamTime], dict[str, float], tuple[int, str] | None]:
    rows = await session.execute(
        select(
            RequestEvent.request_id,
            RequestEvent.at,
            RequestEvent.kind,
            RequestEvent.to_team_id,
            RequestEvent.to_user_id,
        )
        .join(Request, Request.id == RequestEvent.request_id)
        .where(
            Request.site_id == site.id,
            Request.created_at >= start,
            Request.created_at < end,
            RequestEvent.kind.in_(MOVES),
        )
        .order_by(RequestEvent.request_id, RequestEvent.at, RequestEvent.id)
    )
    by_request: dict[int, list[tuple[dt.datetime, EventKind, int | None, int | None]]] = defaultdict(list)
    for request_id, at, kind, to_team, to_user in rows:
        by_request[request_id].append((at, kind, to_team, to_user))
    minutes: dict[tuple[int, RequestStatus], float] = defaultdict(float)
    passed: dict[int, set[int]] = defaultdict(set)
    for request_id, events in by_request.items():
        until = closed.get(request_id) or now
        for team, status, spent in replay(events, until=min(until, now)):
            minutes[team, status] += spent
            passed[team].add(request_id)
    teams = []
    for team in sorted(passed, key=lambda key: (key != SITE_QUEUE, labels.get(key, "").lower(), key)):
        hours = {status.value: round(minutes.get((team, status), 0.0) / 60, 1) for status in TIMED_STATUSES}
        total = round(sum(minutes.get((team, status), 0.0) for status in TIMED_STATUSES) / 60, 1)
        teams.append(TeamTime(team, labels.get(team, str(team)), hours, total, len(passed[team])))
    status_hours = {
        status.value: round(sum(spent for (_team, s), spent in minutes.items() if s == status) / 60, 1)
        for status in TIMED_STATUSES
    }
    # The bottleneck: where requests waited longest on the back office (in a queue or being handled); waiting for
    # the asker and resolved (the asker to confirm) are the asker's time.
    staff_statuses = (RequestStatus.queued, RequestStatus.in_progress)
    waiting_on_staff = {key: spent for key, spent in minutes.items() if key[1] in staff_statuses}
    worst = max(waiting_on_staff, key=lambda key: waiting_on_staff[key], default=None)
    return teams, status_hours, None if worst is None else (worst[0], worst[1].value)


async def board(session: AsyncSession, *, site: Site, span: Span, now: dt.datetime) -> Board:
    """The board over the requests raised on ``span``'s days (see the module's docstring)."""
    start, end = utc_bounds(site, span)
    rows = (
        await session.execute(
            select(
                Request.id,
                Request.kind,
                Request.status,
                Request.created_at,
                Request.first_response_at,
                Request.resolved_at,
                Request.closed_at,
                Request.response_breached_at,
                Request.resolution_breached_at,
                Request.reopen_count,
                Request.handover_count,
                Request.bounce_flagged_at,
                Request.root_cause,
                Request.rating,
            ).where(Request.site_id == site.id, Request.created_at >= start, Request.created_at < end)
        )
    ).all()
    targets = await request_targets.targets_of_site(session, site.id)
    labels = await team_labels(session, site.id)
    tallies: dict[RequestKind, _Tally] = defaultdict(_Tally)
    everything = _Tally()
    causes: Counter[str] = Counter()
    for row in rows:
        tallies[row.kind].add(row)
        everything.add(row)
        if row.resolved_at is not None and row.root_cause:
            causes[row.root_cause] += 1
    kinds = [
        tallies[kind].figures(kind, kind_label(kind), targets.get((kind, Priority.normal)))
        for kind in KIND_ORDER
        if kind in tallies
    ]
    closed = {row.id: row.closed_at for row in rows}
    teams, status_hours, bottleneck = await _team_times(session, site, start, end, closed, labels, now)
    caused = sum(causes.values())
    ratings = Counter(everything.ratings)
    rated = len(everything.ratings)
    return Board(
        span=span,
        kinds=kinds,
        total=everything.figures(None, _("All kinds"), None),
        teams=teams,
        status_hours=status_hours,
        bottleneck=bottleneck,
        bottleneck_team="" if bottleneck is None else labels.get(bottleneck[0], ""),
        causes=[
            CauseRow(key, root_cause_label(key), count, _percent(count, caused) or 0.0)
            for key, count in sorted(causes.items(), key=lambda item: (-item[1], item[0]))
        ],
        ratings=[RatingRow(score, ratings[score], _percent(ratings[score], rated)) for score in range(5, 0, -1)],
        rated=rated,
        rating_average=everything.figures(None, "", None).rating_average,
    )


def board_charts(data: Board) -> list[Chart]:
    """The board's charts; each page shows the same numbers in the tables beside them."""
    kind_names = [figures.label for figures in data.kinds]
    hours = [
        Series(
            _("First answer (median)"),
            [None if f.first_answer_median is None else round(f.first_answer_median / 60, 1) for f in data.kinds],
            "bar",
            "first-answer",
        ),
        Series(
            _("Resolution (median)"),
            [None if f.resolution_median is None else round(f.resolution_median / 60, 1) for f in data.kinds],
            "bar",
            "resolution",
        ),
    ]
    return [
        Chart(
            title=_("Requests raised by kind"),
            labels=kind_names,
            series=[
                Series(_("Raised"), [float(f.raised) for f in data.kinds], "bar", "raised"),
                Series(_("Still open"), [float(f.open) for f in data.kinds], "bar", "open"),
            ],
        ),
        Chart(
            title=_("Time to the first answer and to the resolution"), labels=kind_names, series=hours, unit=_("hours")
        ),
        Chart(
            title=_("Where requests wait"),
            labels=[team.label for team in data.teams],
            series=[
                Series(status_label(status), [team.hours[status.value] for team in data.teams], "bar", status.value)
                for status in TIMED_STATUSES
            ],
            unit=_("hours"),
        ),
        Chart(
            title=_("Ratings by the askers"),
            labels=[str(row.rating) for row in data.ratings],
            series=[Series(_("Ratings"), [float(row.count) for row in data.ratings], "bar", "ratings")],
        ),
    ]


def board_csv(table: str, data: Board) -> tuple[list[str], list[list[object]]]:
    """A board table as CSV: a header of field names, then the same figures as the page."""
    span = [data.span.first, data.span.last]
    head = ["from", "to"]
    if table == "kinds":
        header = [
            *head,
            "kind",
            "raised",
            "open",
            "resolved",
            "first_answer_median_minutes",
            "first_answer_p90_minutes",
            "first_answer_target_minutes",
            "first_answer_met_percent",
            "resolution_median_minutes",
            "resolution_p90_minutes",
            "resolution_target_minutes",
            "resolution_met_percent",
            "response_breaches",
            "resolution_breaches",
            "reopened",
            "reopen_percent",
            "handovers",
            "handed_over",
            "bounce_flagged",
            "rated",
            "rating_average",
        ]
        rows: list[list[object]] = [
            [
                *span,
                "" if f.kind is None else f.kind.value,
                f.raised,
                f.open,
                f.resolved,
                f.first_answer_median,
                f.first_answer_p90,
                f.first_answer_target,
                f.first_answer_met_percent,
                f.resolution_median,
                f.resolution_p90,
                f.resolution_target,
                f.resolution_met_percent,
                f.response_breaches,
                f.resolution_breaches,
                f.reopened,
                f.reopen_percent,
                f.handovers,
                f.handed_over,
                f.bounce_flagged,
                f.rated,
                f.rating_average,
            ]
            for f in [*data.kinds, data.total]
        ]
        return header, rows
    if table == "teams":
        header = [*head, "team", *(f"{status.value}_hours" for status in TIMED_STATUSES), "total_hours", "requests"]
        rows = [
            [*span, team.label, *(team.hours[s.value] for s in TIMED_STATUSES), team.total_hours, team.requests]
            for team in data.teams
        ]
        return header, rows
    if table == "causes":
        return [*head, "root_cause", "label", "requests", "percent"], [
            [*span, row.key, row.label, row.count, row.percent] for row in data.causes
        ]
    return [*head, "rating", "requests", "percent"], [
        [*span, row.rating, row.count, row.percent] for row in data.ratings
    ]


# The workload -----------------------------------------------------------------------------------------------


def over_minutes(row: Any, now: dt.datetime) -> float:
    """How far past due an open request is: the later overshoot of its unmet due instants (none while paused)."""
    dues = [row.resolution_due_at]
    if row.first_response_at is None:
        dues.append(row.response_due_at)
    return max((minutes_between(due, now) for due in dues if due is not None and due < now), default=0.0)


async def workload(session: AsyncSession, *, site: Site, now: dt.datetime) -> Workload:
    """The open requests of the site per owner (most past due first) and, held by nobody, per team queue."""
    rows = (
        await session.execute(
            select(
                Request.owner_id,
                Request.team_id,
                Request.status,
                Request.created_at,
                Request.first_response_at,
                Request.response_due_at,
                Request.resolution_due_at,
                Request.response_breached_at,
                Request.resolution_breached_at,
            ).where(Request.site_id == site.id, Request.status.in_(OPEN_STATUSES))
        )
    ).all()
    labels = await team_labels(session, site.id)
    owners: dict[int, list[Any]] = defaultdict(list)
    queues: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        if row.owner_id is None:
            queues[row.team_id or SITE_QUEUE].append(row)
        else:
            owners[row.owner_id].append(row)
    names: dict[int, str] = {}
    if owners:
        people = await session.execute(select(User.id, User.display_name, User.email).where(User.id.in_(list(owners))))
        names = accounts.person_labels(_Named(*person) for person in people)
    loads = []
    for owner_id, held in owners.items():
        overs = [over_minutes(row, now) for row in held]
        loads.append(
            OwnerLoad(
                user_id=owner_id,
                name=names.get(owner_id, str(owner_id)),
                open=len(held),
                waiting=sum(row.status == RequestStatus.waiting for row in held),
                breached=sum(_breached(row) for row in held),
                over_target_minutes=round(sum(overs)),
                over_target=sum(over > 0 for over in overs),
                oldest_minutes=round(max(minutes_between(row.created_at, now) for row in held)),
            )
        )
    loads.sort(key=lambda load: (-load.over_target_minutes, -load.open, load.name.lower()))
    queued = [
        QueueLoad(
            team_id=team,
            label=labels.get(team, str(team)),
            open=len(held),
            breached=sum(_breached(row) for row in held),
            oldest_minutes=round(max(minutes_between(row.created_at, now) for row in held)),
        )
        for team, held in queues.items()
    ]
    queued.sort(key=lambda queue: (-queue.open, queue.label.lower()))
    return Workload(owners=loads, queues=queued)


def _breached(row: Any) -> bool:
    return row.response_breached_at is not None or row.resolution_breached_at is not None


class _Named(msgspec.Struct):
    id: int
    display_name: str
    email: str


def workload_csv(table: str, data: Workload) -> tuple[list[str], list[list[object]]]:
    if table == "owners":
        header = [
            "owner_id",
            "owner",
            "open",
            "waiting",
            "breached",
            "over_target",
            "over_target_minutes",
            "oldest_minutes",
        ]
        return header, [
            [o.user_id, o.name, o.open, o.waiting, o.breached, o.over_target, o.over_target_minutes, o.oldest_minutes]
            for o in data.owners
        ]
    return ["team", "open", "breached", "oldest_minutes"], [
        [q.label, q.open, q.breached, q.oldest_minutes] for q in data.queues
    ]


def workload_chart(data: Workload) -> Chart:
    return Chart(
        title=_("Open requests per owner"),
        labels=[owner.name for owner in data.owners],
        series=[
            Series(_("Open"), [float(owner.open) for owner in data.owners], "bar", "open"),
            Series(_("Past due"), [float(owner.over_target) for owner in data.owners], "bar", "over"),
        ],
    )
