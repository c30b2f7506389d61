"""The duty log: what happened on the floor, in the template of its kind, and what was done about it.

A lead writes an item in the template of its kind (``LEAD_KINDS``); the system writes the items it
already knows (no-shows, late starts, cover requests, intraday calls) by a sweep every worker minute, and
the board's own actions write theirs at once through ``record_system_item``. Each system item has a
``source_key`` unique per site, and is inserted with ``INSERT ... ON CONFLICT DO NOTHING``, so however
often and however concurrently the sweep and the board run, an event is logged once:

- ``no_show:<attendance id>`` a no-show (started when it was marked),
- ``late:<seat id>`` a late start (started ``late_after_minutes`` after the shift's start, or after the
  seat was taken if later),
- ``cover:<cover request id>`` a cover request (started when it was raised),
- ``call:<intraday call id>`` a VTO or VOT call (started when it was made).

Nothing is deleted. Updates append (``DutyLogUpdate``); a wrong item is corrected by a new one that
names it (``corrects_id``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Site, User
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.core.slots import local_start, slot_of, utc_start
from backend.ops.models import LEAD_KINDS, Duty, DutyLogItem, DutyLogUpdate, LogKind, LogStatus
from backend.requests.models import Request
from backend.shifts import intraday
from backend.shifts.attendance_board import seat_row_link
from backend.shifts.models import Attendance, CallKind, CoverRequest, Shift, ShiftSeat

LOOKBACK = dt.timedelta(hours=36)  # how far back the sweep looks: enough for a night's gap in the worker
INSERT_CHUNK = 500
SUMMARY_MAX = 300
FIELD_MAX = 300
TEXT_MAX = 2000


class TemplateField(NamedTuple):
    """One field of a kind's template: a short text, a whole number, or a clock time (HH:MM)."""

    name: str
    label: Callable[[], str]
    kind: str = "text"  # text | number | clock


KIND_TEMPLATES: dict[LogKind, tuple[TemplateField, ...]] = {
    LogKind.system_problem: (
        TemplateField("system", lambda: _("System")),
        TemplateField("symptom", lambda: _("Symptom")),
        TemplateField("affected", lambda: _("Agents affected"), "number"),
    ),
    LogKind.queue_spike: (
        TemplateField("queue", lambda: _("Queue or skill")),
        TemplateField("size", lambda: _("Contacts waiting"), "number"),
        TemplateField("wait", lambda: _("Expected wait (minutes)"), "number"),
    ),
    LogKind.staffing_gap: (
        TemplateField("skill", lambda: _("Skill")),
        TemplateField("from_time", lambda: _("From"), "clock"),
        TemplateField("to_time", lambda: _("To"), "clock"),
        TemplateField("short_by", lambda: _("Short by (agents)"), "number"),
    ),
    LogKind.agent_escalation: (
        TemplateField("agent", lambda: _("Agent")),
        TemplateField("what", lambda: _("What happened")),
    ),
    LogKind.customer_complaint: (
        TemplateField("channel", lambda: _("Channel")),
        TemplateField("reference", lambda: _("Reference")),
        TemplateField("what", lambda: _("What happened")),
    ),
    LogKind.other: (TemplateField("what", lambda: _("What happened")),),
}


def kind_label(kind: LogKind | str) -> str:
    """A log kind in the reader's language."""
    labels = {
        LogKind.system_problem: _("System problem"),
        LogKind.queue_spike: _("Queue spike"),
        LogKind.staffing_gap: _("Staffing gap"),
        LogKind.agent_escalation: _("Escalation from an agent"),
        LogKind.customer_complaint: _("Customer complaint"),
        LogKind.other: _("Other"),
        LogKind.no_show: _("No-show"),
        LogKind.late_start: _("Late start"),
        LogKind.cover_request: _("Cover request"),
        LogKind.intraday_offer: _("Intraday offer"),
        LogKind.request_breach: _("Request past its deadline"),
    }
    return labels.get(LogKind(kind), str(kind))


def status_label(status: LogStatus | str) -> str:
    labels = {LogStatus.open: _("Still open"), LogStatus.in_progress: _("In progress"), LogStatus.closed: _("Closed")}
    return labels.get(LogStatus(status), str(status))


class LogUpdateView(msgspec.Struct, frozen=True):
    id: int
    at: dt.datetime
    author: str
    action: str
    told: str
    status: LogStatus


class LogItemView(msgspec.Struct, frozen=True):
    """One log item as pages, the board and the reports read it."""

    id: int
    site_id: int
    kind: LogKind
    system: bool  # written by the system, not a lead
    started_at: dt.datetime
    created_at: dt.datetime
    summary: str
    details: dict[str, str]
    link: str | None
    status: LogStatus
    first_action_at: dt.datetime | None
    closed_at: dt.datetime | None
    duty_id: int | None
    lead_id: int | None  # who was on duty when it started
    lead: str
    author_id: int | None
    author: str
    subject_user_id: int | None
    subject: str
    corrects_id: int | None
    corrected_by: list[int]
    updates: list[LogUpdateView] = []


# Views -------------------------------------------------------------------------------------


async def _views(session: AsyncSession, items: list[DutyLogItem], *, with_updates: bool) -> list[LogItemView]:
    """Items with the names they show and who corrected them, in a handful of reads."""
    ids = [item.id for item in items]
    duty_ids = {item.duty_id for item in items if item.duty_id is not None}
    leads = dict((await session.execute(select(Duty.id, Duty.user_id).where(Duty.id.in_(duty_ids)))).all())
    corrected: dict[int, list[int]] = {}
    if ids:
        rows = await session.execute(
            select(DutyLogItem.corrects_id, DutyLogItem.id)
            .where(DutyLogItem.corrects_id.in_(ids))
            .order_by(DutyLogItem.id)
        )
        for corrects_id, item_id in rows:
            corrected.setdefault(corrects_id, []).append(item_id)
    updates: dict[int, list[DutyLogUpdate]] = {}
    if with_updates and ids:
        for update in await session.scalars(
            select(DutyLogUpdate).where(DutyLogUpdate.item_id.in_(ids)).order_by(DutyLogUpdate.at, DutyLogUpdate.id)
        ):
            updates.setdefault(update.item_id, []).append(update)
    people = {item.author_id for item in items} | {item.subject_user_id for item in items} | set(leads.values())
    people |= {update.author_id for chain in updates.values() for update in chain}
    users = await accounts.users_by_ids(session, {user_id for user_id in people if user_id is not None})
    labels = accounts.person_labels(users)
    system = _("Weft")

    def name(user_id: int | None, default: str = "") -> str:
        return labels.get(user_id, default) if user_id is not None else default

    return [
        LogItemView(
            id=item.id,
            site_id=item.site_id,
            kind=LogKind(item.kind),
            system=item.author_id is None and item.source_key is not None,
            started_at=item.started_at,
            created_at=item.created_at,
            summary=item.summary,
            details=dict(item.details or {}),
            link=item.link,
            status=LogStatus(item.status),
            first_action_at=item.first_action_at,
            closed_at=item.closed_at,
            duty_id=item.duty_id,
            lead_id=leads.get(item.duty_id) if item.duty_id is not None else None,
            lead=name(leads.get(item.duty_id) if item.duty_id is not None else None),
            author_id=item.author_id,
            author=name(item.author_id, system if item.source_key is not None else ""),
            subject_user_id=item.subject_user_id,
            subject=name(item.subject_user_id),
            corrects_id=item.corrects_id,
            corrected_by=corrected.get(item.id, []),
            updates=[
                LogUpdateView(
                    id=update.id,
                    at=update.at,
                    author=name(update.author_id, system),
                    action=update.action,
                    told=update.told,
                    status=LogStatus(update.status),
                )
                for update in updates.get(item.id, [])
            ],
        )
        for item in items
    ]


async def day_items(session: AsyncSession, *, site_id: int, start: dt.datetime, end: dt.datetime) -> list[LogItemView]:
    """The site's items that started in ``[start, end)``, earliest first (without their updates)."""
    items = await session.scalars(
        select(DutyLogItem)
        .where(DutyLogItem.site_id == site_id, DutyLogItem.started_at >= start, DutyLogItem.started_at < end)
        .order_by(DutyLogItem.started_at, DutyLogItem.id)
    )
    return await _views(session, list(items), with_updates=False)


async def open_items(
    session: AsyncSession, *, site_id: int, since: dt.datetime, until: dt.datetime, limit: int
) -> list[LogItemView]:
    """Items not closed that started in ``[since, until)`` (what a hand-over offers), the latest ``limit``, earliest
    first."""
    items = await session.scalars(
        select(DutyLogItem)
        .where(
            DutyLogItem.site_id == site_id,
            DutyLogItem.status != LogStatus.closed,
            DutyLogItem.started_at >= since,
            DutyLogItem.started_at < until,
        )
        .order_by(DutyLogItem.started_at.desc(), DutyLogItem.id.desc())
        .limit(limit)
    )
    items = reversed(list(items))
    return await _views(session, list(items), with_updates=False)


async def get_item(session: AsyncSession, *, site_id: int, item_id: int) -> DutyLogItem:
    item = await session.get(DutyLogItem, item_id)
    if item is None or item.site_id != site_id:
        raise NotFound("log item")
    return item


async def item_view(session: AsyncSession, *, site_id: int, item_id: int) -> LogItemView:
    """One item with its chain of updates (404 for another site's)."""
    item = await get_item(session, site_id=site_id, item_id=item_id)
    return (await _views(session, [item], with_updates=True))[0]


# Writing -----------------------------------------------------------------------------------


async def _duty_in_force(session: AsyncSession, *, site_id: int, at: dt.datetime) -> int | None:
    return await session.scalar(
        select(Duty.id)
        .where(Duty.site_id == site_id, Duty.cancelled_at.is_(None), Duty.starts_at <= at, Duty.ends_at > at)
        .order_by(Duty.starts_at.desc())
        .limit(1)
    )


def _insert(session: AsyncSession) -> Any:
    """``INSERT INTO duty_log_items ... ON CONFLICT (site_id, source_key) DO NOTHING RETURNING id``."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return (
        insert(DutyLogItem).on_conflict_do_nothing(index_elements=["site_id", "source_key"]).returning(DutyLogItem.id)
    )


def _system_row(
    *,
    site_id: int,
    duty_id: int | None,
    kind: LogKind,
    source_key: str,
    started_at: dt.datetime,
    summary: str,
    link: str | None,
    subject_user_id: int | None,
    details: dict[str, str] | None,
    now: dt.datetime,
) -> dict[str, Any]:
    return {
        "site_id": site_id,
        "duty_id": duty_id,
        "kind": kind,
        "source_key": source_key,
        "started_at": started_at,
        "summary": summary[:SUMMARY_MAX],
        "details": details or {},
        "link": link,
        "subject_user_id": subject_user_id,
        "author_id": None,
        "corrects_id": None,
        "created_at": now,
        "status": LogStatus.open,
        "first_action_at": None,
        "closed_at": None,
    }


async def record_system_item(
    session: AsyncSession,
    *,
    site_id: int,
    kind: LogKind,
    source_key: str,
    started_at: dt.datetime,
    summary: str,
    link: str | None = None,
    subject_user_id: int | None = None,
    details: dict[str, str] | None = None,
    now: dt.datetime,
) -> DutyLogItem | None:
    """Log what the system knows, once: the new item, or None when ``source_key`` is already logged.

    The duty in force at ``started_at`` is attached, so the item counts for that lead.
    """
    duty_id = await _duty_in_force(session, site_id=site_id, at=started_at)
    row = _system_row(
        site_id=site_id,
        duty_id=duty_id,
        kind=kind,
        source_key=source_key,
        started_at=started_at,
        summary=summary,
        link=link,
        subject_user_id=subject_user_id,
        details=details,
        now=now,
    )
    item_id = await session.scalar(_insert(session).values(row))
    return None if item_id is None else await session.get(DutyLogItem, item_id)


class LeadEntry(msgspec.Struct, frozen=True):
    """What a lead typed for a new item: its kind's template, when it started, what was done, who was told."""

    kind: LogKind
    started_at: dt.datetime
    summary: str
    details: dict[str, str]
    action: str = ""
    told: str = ""
    status: LogStatus = LogStatus.open
    corrects_id: int | None = None


def checked_details(kind: LogKind, given: dict[str, str]) -> dict[str, str]:
    """The kind's template filled in: every field present and of its kind (422 naming the first that is not)."""
    if kind not in KIND_TEMPLATES:
        raise DomainError(_("Choose what kind of item this is."), field="kind")
    details: dict[str, str] = {}
    for field in KIND_TEMPLATES[kind]:
        text = str(given.get(field.name) or "").strip()
        if not text:
            raise DomainError(_("Fill in “%(field)s”.", field=field.label()), field=field.name)
        if len(text) > FIELD_MAX:
            raise DomainError(_("Keep it under %(count)s characters.", count=FIELD_MAX), field=field.name)
        if field.kind == "number" and not (text.isdigit() and int(text) <= 1_000_000):
            raise DomainError(_("Enter a whole number."), field=field.name)
        if field.kind == "clock":
            try:
                clock = dt.time.fromisoformat(text)
            except ValueError:
                raise DomainError(_("Enter a time like 09:30."), field=field.name) from None
            text = clock.strftime("%H:%M")
        details[field.name] = text
    return details


def _check_texts(summary: str, action: str, told: str) -> None:
    if not summary.strip():
        raise DomainError(_("Say in a line what happened."), field="summary")
    if len(summary) > SUMMARY_MAX:
        raise DomainError(_("Keep it under %(count)s characters.", count=SUMMARY_MAX), field="summary")
    if len(action) > TEXT_MAX:
        raise DomainError(_("Keep it under %(count)s characters.", count=TEXT_MAX), field="action")
    if len(told) > FIELD_MAX:
        raise DomainError(_("Keep it under %(count)s characters.", count=FIELD_MAX), field="told")


def _apply_status(item: DutyLogItem, status: LogStatus, now: dt.datetime) -> None:
    """Keep the item's latest status, first action and close time beside its chain of updates."""
    item.status = status
    if item.first_action_at is None:
        item.first_action_at = now
    item.closed_at = now if status is LogStatus.closed else None


async def record_item(
    session: AsyncSession, *, site: Site, entry: LeadEntry, author: User, now: dt.datetime
) -> DutyLogItem:
    """A lead's item in its kind's template; what was done at once is its first update.

    A correction names the item it corrects (of the same site); the original stays as it was.
    """
    if entry.kind not in LEAD_KINDS:
        raise DomainError(_("Choose what kind of item this is."), field="kind")
    details = checked_details(entry.kind, entry.details)
    _check_texts(entry.summary, entry.action, entry.told)
    if entry.started_at > now:
        raise DomainError(_("It cannot have started in the future."), field="started_at")
    if entry.corrects_id is not None:
        await get_item(session, site_id=site.id, item_id=entry.corrects_id)
    if entry.status is not LogStatus.open and not entry.action.strip():
        raise DomainError(_("Say what was done."), field="action")
    item = DutyLogItem(
        site_id=site.id,
        duty_id=await _duty_in_force(session, site_id=site.id, at=entry.started_at),
        kind=entry.kind,
        source_key=None,
        started_at=entry.started_at,
        summary=entry.summary.strip(),
        details=details,
        link=None,
        subject_user_id=None,
        author_id=author.id,
        corrects_id=entry.corrects_id,
        created_at=now,
        status=LogStatus.open,
    )
    session.add(item)
    await session.flush()
    if entry.action.strip():
        await _append(session, item, author=author, action=entry.action, told=entry.told, status=entry.status, now=now)
    return item


async def _append(
    session: AsyncSession,
    item: DutyLogItem,
    *,
    author: User,
    action: str,
    told: str,
    status: LogStatus,
    now: dt.datetime,
) -> DutyLogUpdate:
    update = DutyLogUpdate(
        item_id=item.id, author_id=author.id, at=now, action=action.strip(), told=told.strip(), status=status
    )
    session.add(update)
    _apply_status(item, status, now)
    await session.flush()
    return update


async def add_update(
    session: AsyncSession,
    *,
    site_id: int,
    item_id: int,
    author: User,
    action: str,
    told: str,
    status: LogStatus,
    now: dt.datetime,
) -> DutyLogUpdate:
    """What was done about an item, who was told, and its status after: appended, never changed.

    A closed item can be reopened by an update (a fix that did not hold); the close time then clears.
    """
    item = await get_item(session, site_id=site_id, item_id=item_id)
    if not action.strip():
        raise DomainError(_("Say what was done."), field="action")
    _check_texts(item.summary, action, told)
    return await _append(session, item, author=author, action=action, told=told, status=status, now=now)


# The sweep ---------------------------------------------------------------------------------


class SystemEvent(NamedTuple):
    """Something the system knows, before it is logged: ``text`` is the summary after the subject's name."""

    site_id: int
    kind: LogKind
    source_key: str
    started_at: dt.datetime
    text: str
    link: str | None
    subject_user_id: int | None
    details: dict[str, str]


def _span(start_slot: int, end_slot: int, site: Site) -> str:
    """A shift's local times, ``09:00-13:00`` (with an en dash)."""
    zone = site_zone(site)
    return f"{local_start(start_slot, zone):%H:%M}\u2013{local_start(end_slot, zone):%H:%M}"


def _local_day(moment: dt.datetime, site: Site) -> dt.date:
    return moment.astimezone(site_zone(site)).date()


async def _seat_events(session: AsyncSession, sites: dict[int, Site], *, now: dt.datetime) -> list[SystemEvent]:
    """No-shows marked and late starts within the look-back, for every site: one read of the seats of shifts
    that started in it (started and given-back seats left out by the database)."""
    cutoff = now - LOOKBACK
    rows = await session.execute(
        select(
            Shift.site_id,
            Shift.id,
            Shift.start_slot,
            Shift.end_slot,
            ShiftSeat.id,
            ShiftSeat.user_id,
            ShiftSeat.taken_at,
            Attendance.id,
            Attendance.no_show_at,
        )
        .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
        .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
        .where(
            Shift.cancelled_at.is_(None),
            Shift.start_slot >= slot_of(cutoff - dt.timedelta(days=1)),
            Shift.start_slot <= slot_of(now),
            Shift.site_id.in_(list(sites)),
            or_(
                Attendance.no_show_at.is_not(None),
                and_(Attendance.started_at.is_(None), ShiftSeat.released_at.is_(None)),
            ),
        )
    )
    events: list[SystemEvent] = []
    for site_id, shift_id, start_slot, end_slot, seat_id, user_id, taken_at, att_id, no_show in rows:
        site = sites[site_id]
        span = _span(start_slot, end_slot, site)
        if no_show is not None:
            if cutoff <= no_show <= now:
                link = seat_row_link(day=_local_day(no_show, site), shift_id=shift_id, user_id=user_id)
                events.append(
                    SystemEvent(
                        site_id, LogKind.no_show, f"no_show:{att_id}", no_show, span, link, user_id, {"shift": span}
                    )
                )
            continue
        late_after = dt.timedelta(minutes=site_settings(site).late_after_minutes)
        late_at = max(utc_start(start_slot), taken_at) + late_after
        if cutoff <= late_at <= now and late_at < utc_start(end_slot):
            link = seat_row_link(day=_local_day(late_at, site), shift_id=shift_id, user_id=user_id)
            events.append(
                SystemEvent(
                    site_id, LogKind.late_start, f"late:{seat_id}", late_at, span, link, user_id, {"shift": span}
                )
            )
    return events


async def _cover_events(session: AsyncSession, sites: dict[int, Site], *, now: dt.datetime) -> list[SystemEvent]:
    """Cover requests raised within the look-back, for every site (one read)."""
    rows = await session.execute(
        select(
            CoverRequest.id,
            CoverRequest.site_id,
            CoverRequest.created_at,
            CoverRequest.absent_user_id,
            Shift.start_slot,
            Shift.end_slot,
        )
        .join(Shift, Shift.id == CoverRequest.shift_id)
        .where(
            CoverRequest.created_at >= now - LOOKBACK,
            CoverRequest.created_at <= now,
            CoverRequest.site_id.in_(list(sites)),
        )
    )
    events: list[SystemEvent] = []
    for request_id, site_id, created_at, absent_id, start_slot, end_slot in rows:
        span = _span(start_slot, end_slot, sites[site_id])
        link = f"/admin/cover#cover-{request_id}"
        events.append(
            SystemEvent(
                site_id,
                LogKind.cover_request,
                f"cover:{request_id}",
                created_at,
                span,
                link,
                absent_id,
                {"shift": span},
            )
        )
    return events


async def _call_events(session: AsyncSession, sites: dict[int, Site], *, now: dt.datetime) -> list[SystemEvent]:
    """Intraday calls (VTO, VOT, extensions) made within the look-back: one read per site (``site_calls``)."""
    cutoff = now - LOOKBACK
    slots = range(slot_of(cutoff), slot_of(now + dt.timedelta(days=1)))
    events: list[SystemEvent] = []
    for site in sites.values():
        for call in await intraday.site_calls(session, site_id=site.id, day_slots=slots):
            if not cutoff <= call.created_at <= now:
                continue
            span = _span(call.start_slot, call.end_slot, site)
            extension = call.kind is CallKind.extension
            text = f"{call.kind.value.upper()} · {call.skill_name} · {span}"
            details = {"call": call.kind.value, "skill": call.skill_name, "shift": span, "wanted": str(call.wanted)}
            events.append(
                SystemEvent(
                    site.id,
                    LogKind.intraday_offer,
                    f"call:{call.call_id}",
                    call.created_at,
                    text if extension else f"{text} · \u00d7{call.wanted}",
                    "/admin/today",
                    call.user_id if extension else None,
                    details,
                )
            )
    return events


async def _breach_events(session: AsyncSession, sites: dict[int, Site], *, now: dt.datetime) -> list[SystemEvent]:
    """Requests that passed a deadline (first answer or resolution) within the look-back, one item per deadline:
    the lead on duty sees them in the log beside the day's other trouble, linked to the request."""
    cutoff = now - LOOKBACK
    rows = await session.execute(
        select(Request.id, Request.site_id, Request.title, Request.response_breached_at, Request.resolution_breached_at)
        .where(
            Request.site_id.in_(list(sites)),
            or_(
                Request.response_breached_at.between(cutoff, now),
                Request.resolution_breached_at.between(cutoff, now),
            ),
        )
        .order_by(Request.id)
    )
    events: list[SystemEvent] = []
    for request_id, site_id, title, response_at, resolution_at in rows:
        for target, at in (("response", response_at), ("resolution", resolution_at)):
            if at is not None and cutoff <= at <= now:
                key, link = f"request:{request_id}:{target}", f"/admin/requests/{request_id}"
                events.append(
                    SystemEvent(site_id, LogKind.request_breach, key, at, title, link, None, {"request": title})
                )
    return events


def _duty_finder(duties: Iterable[Duty]) -> Callable[[int, dt.datetime], int | None]:
    by_site: dict[int, list[Duty]] = {}
    for duty in duties:
        by_site.setdefault(duty.site_id, []).append(duty)

    def find(site_id: int, at: dt.datetime) -> int | None:
        return next((duty.id for duty in by_site.get(site_id, []) if duty.starts_at <= at < duty.ends_at), None)

    return find


async def sweep_system_items(session: AsyncSession, *, now: dt.datetime) -> int:
    """Log every no-show, late start, cover request, intraday call and request breach of the last ``LOOKBACK`` not
    yet logged,
    for every site; answer how many items were written.

    Run every worker minute. Keys already logged are skipped before anything else is read (names, duties),
    and the insert ignores the remaining conflicts, so two sweeps at once (or a sweep and the board) write each
    item once.
    """
    sites = {site.id: site for site in await session.scalars(select(Site))}
    if not sites:
        return 0
    events = await _seat_events(session, sites, now=now)
    events += await _cover_events(session, sites, now=now)
    events += await _call_events(session, sites, now=now)
    events += await _breach_events(session, sites, now=now)
    if not events:
        return 0
    rows = await session.execute(
        select(DutyLogItem.site_id, DutyLogItem.source_key).where(
            DutyLogItem.site_id.in_(list(sites)),
            DutyLogItem.source_key.is_not(None),
            DutyLogItem.started_at >= now - LOOKBACK,
        )
    )
    known = {(site_id, key) for site_id, key in rows}
    fresh = {(event.site_id, event.source_key): event for event in events}
    missing = sorted(
        (event for key, event in fresh.items() if key not in known), key=lambda e: (e.started_at, e.source_key)
    )
    if not missing:
        return 0
    duties = await session.scalars(
        select(Duty).where(
            Duty.site_id.in_({event.site_id for event in missing}),
            Duty.cancelled_at.is_(None),
            Duty.ends_at > missing[0].started_at,
            Duty.starts_at <= now,
        )
    )
    duty_of = _duty_finder(duties)
    subjects = {event.subject_user_id for event in missing if event.subject_user_id is not None}
    labels = accounts.person_labels(await accounts.users_by_ids(session, subjects))
    values = []
    for event in missing:
        name = labels.get(event.subject_user_id, "") if event.subject_user_id is not None else ""
        values.append(
            _system_row(
                site_id=event.site_id,
                duty_id=duty_of(event.site_id, event.started_at),
                kind=event.kind,
                source_key=event.source_key,
                started_at=event.started_at,
                summary=f"{name} · {event.text}" if name else event.text,
                link=event.link,
                subject_user_id=event.subject_user_id,
                details={"agent": name, **event.details} if name else event.details,
                now=now,
            )
        )
    written = 0
    for start in range(0, len(values), INSERT_CHUNK):
        written += len((await session.scalars(_insert(session).values(values[start : start + INSERT_CHUNK]))).all())
    return written
