"""The requests board and the workload per owner: how the back office is doing, from the requests' own rows.

The board covers the requests raised between two site-local days (inclusive), followed to now: volume by kind,
minutes to the first answer and to the resolution (median and p90, wall-clock minutes) beside the targets and
the share that met them (from the breach instants the clock wrote), breaches, the reopen rate, hand-overs, the
time spent at each team in each status (replayed from the events: where requests wait longest), the recurring
root causes and the askers' ratings.

Cost: a handful of aggregate statements over the range's requests (found by ``ix_requests_site_id_created_at``):
counts per kind, the quantiles (PostgreSQL's ``percentile_cont``/``percentile_disc``, the kinds and the total in
one sort with ``ROLLUP``; on SQLite two numbers per request, sorted here), root causes, ratings, and the time per
team and status summed over the state-changing events in one ordered pass (``ix_request_events_request_id_at``:
one window gives each event the next one's instant and the latest team move so far, no second sort). A span longer
than a month has its instants written into the statements, for a plan made for it (see ``_in_span``). No row per
request crosses to Python on PostgreSQL. On the bench (50,000 requests over a year) the year's board reads about
270,000 events: about 0.6 s, of which the events' pass is three quarters; 30 days, under 0.1 s.

The workload reads the open requests of the site (``ix_requests_site_id_status``): per owner the open ones, those
waiting for the asker, those that breached a target, the minutes past their due instants and the oldest one's
age; and per team the ones still in the queue, held by nobody.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import msgspec
from sqlalchemy import (
    BigInteger,
    Float,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from backend.accounts import service as accounts
from backend.accounts.models import Site, User
from backend.accounts.zones import site_zone
from backend.core.charts import Chart, Series
from backend.core.db import UTCDateTime
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
    return None if value is None else round(float(value), 1)


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def minutes_from(session: AsyncSession, start: Any, end: Any) -> ColumnElement[float]:
    """Minutes from ``start`` to ``end`` (two instants) as a number, on either database."""
    if _is_postgres(session):
        return cast(func.extract("epoch", end - start), Float) / 60
    return (func.julianday(end) - func.julianday(start)) * 1440.0


def _earlier(session: AsyncSession, first: Any, second: Any) -> ColumnElement[Any]:
    return func.least(first, second) if _is_postgres(session) else func.min(first, second)


def _in_span(site: Site, start: dt.datetime, end: dt.datetime) -> tuple[ColumnElement[bool], ...]:
    """The span's requests. A prepared statement run more than five times gets PostgreSQL's generic plan, made for
    no span in particular: good for the default month and shorter (a nested loop over the span's requests' events,
    which a plan made for a week's values passes over for a scan of every event), 40% slower for a year. So the
    instants of a span longer than the default are written into the statement (``literal_execute``): each such span
    gets a plan made for it; shorter ones stay bound."""
    written = end - start > dt.timedelta(days=DEFAULT_DAYS + 1)
    return (
        Request.site_id == site.id,
        Request.created_at >= bindparam(None, start, type_=UTCDateTime(), literal_execute=written),
        Request.created_at < bindparam(None, end, type_=UTCDateTime(), literal_execute=written),
    )


def _yes(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


async def _counts(session: AsyncSession, span_filter: tuple[ColumnElement[bool], ...]) -> dict[RequestKind, Any]:
    """Per kind: raised, open, resolved, answered and met, breaches, reopened, hand-overs, ratings."""
    rows = await session.execute(
        select(
            Request.kind,
            func.count().label("raised"),
            _yes(Request.status.in_(OPEN_STATUSES)).label("open"),
            _yes(Request.resolved_at.is_not(None)).label("resolved"),
            _yes(Request.first_response_at.is_not(None)).label("answered"),
            _yes(and_(Request.first_response_at.is_not(None), Request.response_breached_at.is_(None))).label(
                "answered_met"
            ),
            _yes(and_(Request.resolved_at.is_not(None), Request.resolution_breached_at.is_(None))).label(
                "resolved_met"
            ),
            _yes(Request.response_breached_at.is_not(None)).label("response_breaches"),
            _yes(Request.resolution_breached_at.is_not(None)).label("resolution_breaches"),
            _yes(Request.reopen_count > 0).label("reopened"),
            func.coalesce(func.sum(Request.handover_count), 0).label("handovers"),
            _yes(Request.handover_count > 0).label("handed_over"),
            _yes(Request.bounce_flagged_at.is_not(None)).label("bounce_flagged"),
            func.count(Request.rating).label("rated"),
            func.coalesce(func.sum(Request.rating), 0).label("rating_sum"),
        )
        .where(*span_filter)
        .group_by(Request.kind)
    )
    return {RequestKind(row.kind): row for row in rows}


Quantiles = dict[RequestKind | None, tuple[float | None, float | None, float | None, float | None]]


async def _quantiles(session: AsyncSession, span_filter: tuple[ColumnElement[bool], ...]) -> Quantiles:
    """Per kind and for every kind (``None``): the median and p90 minutes to the first answer and to the
    resolution. PostgreSQL sorts them itself (``percentile_cont(0.5)`` is the median, ``percentile_disc(0.9)``
    the nearest rank, as ``stats``); SQLite sends the two numbers of each request, sorted here."""
    first = minutes_from(session, Request.created_at, Request.first_response_at)
    resolution = minutes_from(session, Request.created_at, Request.resolved_at)
    if _is_postgres(session):
        measures = (
            func.percentile_cont(0.5).within_group(first),
            func.percentile_disc(0.9).within_group(first),
            func.percentile_cont(0.5).within_group(resolution),
            func.percentile_disc(0.9).within_group(resolution),
        )
        # One sort for the kinds and the total: ROLLUP(kind) adds the every-kind row (kind NULL) to the kinds'.
        found: Quantiles = {}
        rows = await session.execute(
            select(Request.kind, *measures).where(*span_filter).group_by(func.rollup(Request.kind))
        )
        for kind, *values in rows:
            key = None if kind is None else RequestKind(kind)
            found[key] = tuple(_minutes(value) for value in values)  # type: ignore[assignment]
        return found
    answered: dict[RequestKind | None, list[float]] = defaultdict(list)
    resolved: dict[RequestKind | None, list[float]] = defaultdict(list)
    for kind, first_minutes, resolution_minutes in await session.execute(
        select(Request.kind, first, resolution).where(*span_filter)
    ):
        for key in (RequestKind(kind), None):
            if first_minutes is not None:
                answered[key].append(first_minutes)
            if resolution_minutes is not None:
                resolved[key].append(resolution_minutes)
    return {
        key: (
            _minutes(median(answered[key])),
            _minutes(percentile(answered[key], 0.9)),
            _minutes(median(resolved[key])),
            _minutes(percentile(resolved[key], 0.9)),
        )
        for key in {*answered, *resolved}
    }


def _figures(kind: RequestKind | None, label: str, counts: Any, quantiles: tuple[Any, ...], target: Any) -> Figures:
    first_median, first_p90, resolution_median, resolution_p90 = quantiles
    return Figures(
        kind=kind,
        label=label,
        raised=counts.raised,
        open=counts.open,
        resolved=counts.resolved,
        first_answer_median=first_median,
        first_answer_p90=first_p90,
        first_answer_target=None if target is None else target.first_response_minutes,
        first_answer_met_percent=_percent(counts.answered_met, counts.answered),
        resolution_median=resolution_median,
        resolution_p90=resolution_p90,
        resolution_target=None if target is None else target.resolution_minutes,
        resolution_met_percent=_percent(counts.resolved_met, counts.resolved),
        response_breaches=counts.response_breaches,
        resolution_breaches=counts.resolution_breaches,
        reopened=counts.reopened,
        reopen_percent=_percent(counts.reopened, counts.resolved),
        handovers=counts.handovers,
        handed_over=counts.handed_over,
        bounce_flagged=counts.bounce_flagged,
        rated=counts.rated,
        rating_average=round(counts.rating_sum / counts.rated, 2) if counts.rated else None,
    )


class _Sums(msgspec.Struct):
    """The kinds' counts added up (every count adds; the medians do not, they come from their own query)."""

    raised: int = 0
    open: int = 0
    resolved: int = 0
    answered: int = 0
    answered_met: int = 0
    resolved_met: int = 0
    response_breaches: int = 0
    resolution_breaches: int = 0
    reopened: int = 0
    handovers: int = 0
    handed_over: int = 0
    bounce_flagged: int = 0
    rated: int = 0
    rating_sum: int = 0


def _summed(rows: Iterable[Any]) -> _Sums:
    total = _Sums()
    for row in rows:
        for name in total.__struct_fields__:
            setattr(total, name, getattr(total, name) + int(getattr(row, name) or 0))
    return total


# Where requests wait: each state-changing event starts a stretch that ends at the next one (or at the request's
# closing, or now). Its team is the one the last raised/routed/handed_over event named (None: the site's queue);
# its status follows from the event.
TEAM_MOVES = (EventKind.raised, EventKind.routed, EventKind.handed_over)
TO_HANDLING = (EventKind.taken, EventKind.asker_replied, EventKind.reopened)
TO_RESOLVED = (EventKind.resolved, EventKind.idea_outcome)
TIMED_KINDS = (*TEAM_MOVES, *TO_HANDLING, EventKind.asked_asker, *TO_RESOLVED)  # the rest start "closed"


def _status_of(kind: EventKind, owned: bool) -> RequestStatus:
    """The status a stretch is in, from the event that started it (``owned``: it named an owner)."""
    if kind in TEAM_MOVES:
        return RequestStatus.in_progress if owned else RequestStatus.queued
    if kind in TO_HANDLING:
        return RequestStatus.in_progress
    return RequestStatus.waiting if kind == EventKind.asked_asker else RequestStatus.resolved


def _last_team_move(session: AsyncSession, window: dict[str, Any]) -> tuple[ColumnElement[Any], Any]:
    """The running "latest team move so far" of each event in ``window`` (its instant, id and team key, the
    largest of the moves up to the event) and how to read the team key out of it: one pass, no second window."""
    moved = RequestEvent.kind.in_(TEAM_MOVES)
    team = func.coalesce(RequestEvent.to_team_id, SITE_QUEUE)
    if _is_postgres(session):
        instant = cast(func.extract("epoch", RequestEvent.at) * 1_000_000, BigInteger)
        mark = func.max(case((moved, postgresql.array([instant, RequestEvent.id, team])))).over(**window)
        return mark, lambda column: column[3]
    mark = func.max(case((moved, func.printf("%s %020d %020d", RequestEvent.at, RequestEvent.id, team)))).over(**window)
    return mark, lambda column: cast(func.substr(column, -20), BigInteger)


async def _team_times(
    session: AsyncSession, span_filter: tuple[ColumnElement[bool], ...], labels: dict[int, str], now: dt.datetime
) -> tuple[list[TeamTime], dict[str, float], tuple[int, str] | None]:
    """Minutes per (team, status) and requests per team, summed in SQL in one ordered pass over the events.

    One window over each request's state-changing events in (at, id) order (``ix_request_events_request_id_at``,
    ties by id) gives each event the next one's instant (its stretch's end) and the latest team move so far (its
    stretch's team); the stretches then add up per (team, event kind, owner or not), which gives the status, and
    each request counts once per team it spent time at.
    """
    window = {"partition_by": RequestEvent.request_id, "order_by": (RequestEvent.at, RequestEvent.id)}
    mark, team_of = _last_team_move(session, window)
    instant = bindparam("now", now, type_=UTCDateTime())
    until = _earlier(session, func.coalesce(Request.closed_at, instant), instant)
    moves = (
        select(
            RequestEvent.request_id.label("rid"),
            RequestEvent.at.label("at"),
            RequestEvent.kind.label("kind"),
            RequestEvent.to_user_id.is_not(None).label("owned"),
            mark.label("mark"),
            _earlier(session, func.coalesce(func.lead(RequestEvent.at).over(**window), until), until).label("ends"),
        )
        .join(Request, Request.id == RequestEvent.request_id)
        .where(*span_filter, RequestEvent.kind.in_(MOVES))
        .subquery("moves")
    )
    spent = minutes_from(session, moves.c.at, moves.c.ends)
    timed = (
        select(
            moves.c.rid.label("rid"),
            func.coalesce(team_of(moves.c.mark), SITE_QUEUE).label("team"),
            type_coerce(moves.c.kind, String).label("kind"),
            moves.c.owned.label("owned"),
            spent.label("spent"),
        )
        .where(moves.c.kind.in_(TIMED_KINDS), spent > 0)
        .cte("timed")
    )
    pairs = select(timed.c.team, timed.c.rid).distinct().subquery("pairs")
    per_kind = select(timed.c.team, timed.c.kind, timed.c.owned, func.sum(timed.c.spent), literal(0)).group_by(
        timed.c.team, timed.c.kind, timed.c.owned
    )
    per_team = select(pairs.c.team, literal(""), literal(False), literal(0.0), func.count()).group_by(pairs.c.team)
    minutes: dict[tuple[int, str], float] = defaultdict(float)
    passed: dict[int, int] = {}
    for team_key, kind, owned, spent_minutes, requests in await session.execute(union_all(per_kind, per_team)):
        if kind:
            minutes[int(team_key), _status_of(EventKind(kind), bool(owned)).value] += float(spent_minutes)
        else:
            passed[int(team_key)] = int(requests)
    teams = []
    for key in sorted(passed, key=lambda key: (key != SITE_QUEUE, labels.get(key, "").lower(), key)):
        hours = {s.value: round(minutes.get((key, s.value), 0.0) / 60, 1) for s in TIMED_STATUSES}
        total = round(sum(minutes.get((key, s.value), 0.0) for s in TIMED_STATUSES) / 60, 1)
        teams.append(TeamTime(key, labels.get(key, str(key)), hours, total, passed[key]))
    status_hours = {
        s.value: round(sum(spent for (_key, code), spent in minutes.items() if code == s.value) / 60, 1)
        for s in TIMED_STATUSES
    }
    # The bottleneck: where requests waited longest on the back office (in a queue or being handled); waiting for
    # the asker and resolved (the asker to confirm) are the asker's time.
    staff_time = {key: spent for key, spent in minutes.items() if key[1] in ("queued", "in_progress")}
    worst = max(staff_time, key=lambda key: staff_time[key], default=None)
    return teams, status_hours, worst


async def board(session: AsyncSession, *, site: Site, span: Span, now: dt.datetime) -> Board:
    """The board over the requests raised on ``span``'s days (see the module's docstring)."""
    start, end = utc_bounds(site, span)
    span_filter = _in_span(site, start, end)
    counts = await _counts(session, span_filter)
    quantiles = await _quantiles(session, span_filter) if counts else {}
    targets = await request_targets.targets_of_site(session, site.id)
    labels = await team_labels(session, site.id)
    nothing = (None, None, None, None)
    kinds = [
        _figures(
            kind, kind_label(kind), counts[kind], quantiles.get(kind, nothing), targets.get((kind, Priority.normal))
        )
        for kind in KIND_ORDER
        if kind in counts
    ]
    total_counts = _summed(counts.values())
    total = _figures(None, _("All kinds"), total_counts, quantiles.get(None, nothing), None)
    causes = (
        await session.execute(
            select(Request.root_cause, func.count())
            .where(*span_filter, Request.resolved_at.is_not(None), Request.root_cause != "")
            .group_by(Request.root_cause)
        )
    ).all()
    caused = sum(count for _key, count in causes)
    ratings = dict(
        (
            await session.execute(
                select(Request.rating, func.count())
                .where(*span_filter, Request.rating.is_not(None))
                .group_by(Request.rating)
            )
        ).all()
    )
    rated = sum(ratings.values())
    teams, status_hours, bottleneck = await _team_times(session, span_filter, labels, now) if counts else ([], {}, None)
    return Board(
        span=span,
        kinds=kinds,
        total=total,
        teams=teams,
        status_hours=status_hours or {s.value: 0.0 for s in TIMED_STATUSES},
        bottleneck=bottleneck,
        bottleneck_team="" if bottleneck is None else labels.get(bottleneck[0], ""),
        causes=[
            CauseRow(key, root_cause_label(key), count, _percent(count, caused) or 0.0)
            for key, count in sorted(causes, key=lambda item: (-item[1], item[0]))
        ],
        ratings=[
            RatingRow(score, ratings.get(score, 0), _percent(ratings.get(score, 0), rated)) for score in range(5, 0, -1)
        ],
        rated=rated,
        rating_average=total.rating_average,
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
