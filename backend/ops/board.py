"""The Today board: the site's current local day in parts, each read on its own, and the board's one-click actions.

Each part (``PARTS``) is a small msgspec struct of plain values, rendered by ``ops/_board_<part>.html`` and
refreshed by htmx every minute on its own. ``version`` hashes a part's values (with the reader's language and
whether they may act), so a poll that finds nothing changed is answered 204 and htmx leaves the part alone.

The actions change the day through the domains that own each effect (``shifts.attendance.mark_no_show``,
``shifts.cover.request_cover`` and ``cover_rest_of_shift``, ``shifts.market.create_open_shift``) and log what
they did at once with ``ops.log.record_system_item``, under the same source keys the log's sweep uses, so the
sweep never logs them twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, User, skill_label
from backend.accounts.service import person_labels, users_by_ids
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone
from backend.core.charts import Chart, Series
from backend.core.errors import DomainError
from backend.core.i18n import current_locale, enum_label
from backend.core.i18n import gettext as _
from backend.core.slots import local_start, slot_of, utc_start
from backend.ops.clock import day_bounds, day_slots, site_today
from backend.ops.day_need import DayNeeds, SkillDay, day_needs
from backend.ops.duty import on_duty
from backend.ops.intraday import proposals
from backend.ops.log import day_items, kind_label, record_system_item, status_label
from backend.ops.models import LogKind
from backend.shifts.attendance import WorkingSeat, mark_no_show, seats_during
from backend.shifts.attendance_board import seat_row_link
from backend.shifts.cover import cover_rest_of_shift, coverable_shifts, request_cover, site_requests
from backend.shifts.market import create_open_shift
from backend.shifts.models import CoverReason, CoverStatus, Shift
from backend.shifts.pay import PayLocked

PARTS = ("chart", "table", "now", "seats", "cover", "log", "duty", "proposals")
LOG_SHOWN = 10
BOARD_URL = "/admin/today"


# What the parts show -------------------------------------------------------------------------------------


class SeatRow(msgspec.Struct, frozen=True):
    """One agent's seat as the board lists it (times are the site's clock)."""

    shift_id: int
    user_id: int
    name: str
    skill: str
    start: str
    end: str
    started: str | None
    confirmed: bool
    late_since: str | None  # when they became late (start + late_after_minutes), for the late list
    no_show: str | None
    no_show_from: str  # when a no-show may be marked
    can_mark_no_show: bool
    under_way: bool  # the shift has begun and not ended: cover for the rest of it makes sense
    held: bool  # False once the seat was given back for cover


class NowPart(msgspec.Struct, frozen=True):
    on_shift: list[SeatRow]
    late: list[SeatRow]
    no_shows: list[SeatRow]
    late_after_minutes: int


class OpenSeatRow(msgspec.Struct, frozen=True):
    shift_id: int
    skill: str
    start: str
    end: str
    open_seats: int
    bonus_minor: int


class SeatsPart(msgspec.Struct, frozen=True):
    rows: list[OpenSeatRow]
    currency: str


class CoverRow(msgspec.Struct, frozen=True):
    request_id: int
    skill: str
    start: str
    end: str
    status: str
    status_label: str
    wave: int
    asked: int
    absent: str
    covered_by: str


class CoverPart(msgspec.Struct, frozen=True):
    rows: list[CoverRow]


class LogRow(msgspec.Struct, frozen=True):
    id: int
    kind: str
    started: str
    summary: str
    status: str
    link: str | None


class LogPart(msgspec.Struct, frozen=True):
    items: list[LogRow]  # the latest first
    total: int
    day: str


class DutyRow(msgspec.Struct, frozen=True):
    name: str
    start: str
    end: str


class DutyPart(msgspec.Struct, frozen=True):
    current: DutyRow | None
    next: DutyRow | None


class NeedRow(msgspec.Struct, frozen=True):
    slot: int
    time: str
    end: str
    required: int
    reforecast: int | None
    scheduled: int
    started: int | None
    gap: int
    surplus: int
    past: bool
    earlier: bool  # more than an hour ago: folded away under "Earlier today"
    open_from: str  # an extra shift for this gap starts here at the earliest (the next half-hour if this one began)
    open_until: str  # ... and lasts the site's shortest shift


class SkillTable(msgspec.Struct, frozen=True):
    code: str
    label: str
    rows: list[NeedRow]
    formula: str
    applied: bool
    factor: float


class TablePart(msgspec.Struct, frozen=True):
    skills: list[SkillTable]
    min_shift_slots: int
    currency: str  # what a bonus is typed in (major units)


class SkillChart(msgspec.Struct, frozen=True):
    code: str
    label: str
    chart: Chart
    formula: str


class ChartPart(msgspec.Struct, frozen=True):
    skills: list[SkillChart]


class ProposalRow(msgspec.Struct, frozen=True):
    """One VTO or VOT proposal (``ops.intraday.proposals``) with the site-clock times its buttons show."""

    kind: str
    key: str
    skill_id: int
    label: str
    start_slot: int
    end_slot: int
    start: str
    end: str
    count: int


class ProposalsPart(msgspec.Struct, frozen=True):
    proposals: list[ProposalRow]
    vto_mode: str
    vot_bonus_minor: int
    currency: str


class FirstSteps(msgspec.Struct, frozen=True):
    """What an empty centre does first; ``needed`` is False once the board has something to show."""

    has_skills: bool
    has_demand: bool
    has_shifts: bool

    @property
    def needed(self) -> bool:
        return not self.has_skills or not (self.has_demand or self.has_shifts)


def version(part: msgspec.Struct, *, can_act: bool) -> str:
    """A short hash of what a part shows to this reader: equal versions render the same bytes."""
    digest = hashlib.sha256(msgspec.json.encode(part))
    digest.update(f"|{current_locale()}|{can_act}".encode())
    return digest.hexdigest()[:16]


# Reading the day -----------------------------------------------------------------------------------------


class Today:
    """The site's day at ``now``, read lazily: each part asks only for what it shows."""

    def __init__(self, session: AsyncSession, *, site: Site, now: dt.datetime) -> None:
        self.session = session
        self.site = site
        self.now = now
        self.zone: ZoneInfo = site_zone(site)
        self.day = site_today(site, now)
        self.start, self.end = day_bounds(site, self.day)
        self._needs: DayNeeds | None = None
        self._seats: list[WorkingSeat] | None = None
        self._slot_clocks: dict[int, str] = {}

    def clock(self, moment: dt.datetime) -> str:
        return moment.astimezone(self.zone).strftime("%H:%M")

    def slot_clock(self, slot: int) -> str:
        if slot not in self._slot_clocks:
            self._slot_clocks[slot] = local_start(slot, self.zone).strftime("%H:%M")
        return self._slot_clocks[slot]

    async def needs(self) -> DayNeeds:
        if self._needs is None:
            self._needs = await day_needs(self.session, site=self.site, day=self.day, now=self.now)
        return self._needs

    async def seats(self) -> list[WorkingSeat]:
        """The day's seats; read on their own when no part has needed the whole day's needs yet."""
        if self._needs is not None:
            return self._needs.seats
        if self._seats is None:
            slots = day_slots(self.site, self.day)
            self._seats = await seats_during(self.session, site=self.site, slots=slots)
        return self._seats

    async def part(self, name: str) -> msgspec.Struct:
        readers = {
            "chart": self.chart,
            "table": self.table,
            "now": self.on_floor,
            "seats": self.open_seats,
            "cover": self.cover,
            "log": self.log,
            "duty": self.duty,
            "proposals": self.proposals,
        }
        return await readers[name]()

    async def first_steps(self) -> FirstSteps:
        needs = await self.needs()
        has_shifts = bool(needs.seats) or bool((await self.open_seats()).rows)
        return FirstSteps(
            has_skills=bool(needs.skills),
            has_demand=any(skill.has_demand for skill in needs.skills),
            has_shifts=has_shifts,
        )

    # Need -----------------------------------------------------------------------------------------------

    def _chart(self, skill: SkillDay) -> Chart:
        labels = [self.slot_clock(slot) for slot in skill.slots]
        return Chart(
            title=_("%(skill)s: agents per half-hour", skill=skill.label),
            labels=labels,
            series=[
                Series(name=_("Required"), values=[float(v or 0) for v in skill.required], style="bar", css="required"),
                Series(
                    name=_("Scheduled"), values=[float(v or 0) for v in skill.scheduled], style="bar", css="scheduled"
                ),
                Series(
                    name=_("Started"),
                    values=[
                        None if started is None or not scheduled else float(started)
                        for started, scheduled in zip(skill.started, skill.scheduled, strict=True)
                    ],
                    style="step",
                    css="started",
                ),
                Series(
                    name=_("Reforecast"),
                    values=[None if v is None else float(v) for v in skill.reforecast],
                    style="line",
                    css="reforecast",
                ),
            ],
            unit=_("agents"),
        )

    async def chart(self) -> ChartPart:
        needs = await self.needs()
        return ChartPart(
            skills=[
                SkillChart(code=s.code, label=s.label, chart=self._chart(s), formula=s.ratio.formula)
                for s in needs.skills
            ]
        )

    async def table(self) -> TablePart:
        needs = await self.needs()
        shortest = max(1, math.ceil(site_settings(self.site).min_shift_hours * 2))
        skills = []
        for skill in needs.skills:
            rows = [
                NeedRow(
                    slot=slot,
                    time=self.slot_clock(slot),
                    end=self.slot_clock(slot + 1),
                    required=skill.required[i] or 0,
                    reforecast=skill.reforecast[i],
                    scheduled=skill.scheduled[i] or 0,
                    started=skill.started[i],
                    gap=skill.gap(slot),
                    surplus=skill.surplus(slot),
                    past=slot < needs.now_slot,
                    earlier=slot < needs.now_slot - 2,
                    open_from=self.slot_clock(max(slot, needs.now_slot + 1)),
                    open_until=self.slot_clock(max(slot, needs.now_slot + 1) + shortest),
                )
                for i, slot in enumerate(skill.slots)
            ]
            skills.append(
                SkillTable(
                    code=skill.code,
                    label=skill.label,
                    rows=rows,
                    formula=skill.ratio.formula,
                    applied=skill.ratio.applied,
                    factor=skill.ratio.factor,
                )
            )
        return TablePart(skills=skills, min_shift_slots=shortest, currency=site_settings(self.site).currency)

    # Who is on the floor ----------------------------------------------------------------------------------

    def _row(self, seat: WorkingSeat, late_after: dt.timedelta) -> SeatRow:
        state = seat.state
        starts = utc_start(seat.work_start_slot)
        now_slot = slot_of(self.now)
        return SeatRow(
            shift_id=state.shift_id,
            user_id=state.user_id,
            name=state.user_name,  # as lists name people: namesakes among the day's seats told apart
            skill=state.skill_name,
            start=self.slot_clock(seat.work_start_slot),
            end=self.slot_clock(seat.work_end_slot),
            started=self.clock(state.started_at) if state.started_at else None,
            confirmed=state.confirmed_at is not None,
            late_since=self.clock(max(starts, state.taken_at) + late_after),
            no_show=self.clock(state.no_show_at) if state.no_show_at else None,
            no_show_from=self.clock(state.windows.start_closes),
            can_mark_no_show=state.can_mark_no_show(self.now),
            under_way=seat.work_start_slot <= now_slot < seat.work_end_slot,
            held=seat.held,
        )

    async def on_floor(self) -> NowPart:
        seats = await self.seats()
        settings = site_settings(self.site)
        late_after = dt.timedelta(minutes=settings.late_after_minutes)
        now_slot = slot_of(self.now)
        on_shift: list[SeatRow] = []
        late: list[SeatRow] = []
        no_shows: list[SeatRow] = []
        for seat in seats:  # a row is made only for a seat the part lists: a day has a thousand seats
            state = seat.state
            if state.no_show_at is not None:
                no_shows.append(self._row(seat, late_after))
                continue
            if not seat.held:
                continue
            late_at = max(utc_start(seat.work_start_slot), state.taken_at) + late_after
            if state.started_at is None and late_at <= self.now:
                late.append(self._row(seat, late_after))
            elif seat.work_start_slot <= now_slot < seat.work_end_slot:
                on_shift.append(self._row(seat, late_after))
        return NowPart(on_shift=on_shift, late=late, no_shows=no_shows, late_after_minutes=settings.late_after_minutes)

    async def open_seats(self) -> SeatsPart:
        hours = max(1, math.ceil((self.end - self.now).total_seconds() / 3600))
        found = await coverable_shifts(
            self.session, site_id=self.site.id, now=self.now, within_hours=hours, with_holders=False
        )
        rows = [
            OpenSeatRow(
                shift_id=c.shift.id,
                skill=skill_label(c.skill),
                start=self.slot_clock(c.shift.start_slot),
                end=self.slot_clock(c.shift.end_slot),
                open_seats=c.shift.seats - c.shift.taken,
                bonus_minor=c.shift.bonus_minor,
            )
            for c in found
            if c.shift.seats > c.shift.taken and c.shift.start_slot < slot_of(self.end)
        ]
        return SeatsPart(rows=rows, currency=site_settings(self.site).currency)

    async def cover(self) -> CoverPart:
        views = await site_requests(self.session, site_id=self.site.id, now=self.now)
        rows = [
            CoverRow(
                request_id=v.request.id,
                skill=skill_label(v.skill),
                start=self.slot_clock(v.shift.start_slot),
                end=self.slot_clock(v.shift.end_slot),
                status=v.request.status.value,
                status_label=enum_label(v.request.status),
                wave=v.request.wave,
                asked=len(v.asked),
                absent=v.absent_name or "",
                covered_by=v.covered_name or "",
            )
            for v in views
            if v.request.status is CoverStatus.open or v.request.created_at >= self.start
        ]
        return CoverPart(rows=rows)

    async def log(self) -> LogPart:
        items = await day_items(self.session, site_id=self.site.id, start=self.start, end=self.end)
        latest = sorted(items, key=lambda item: (item.started_at, item.id), reverse=True)[:LOG_SHOWN]
        return LogPart(
            items=[
                LogRow(
                    id=item.id,
                    kind=kind_label(item.kind),
                    started=self.clock(item.started_at),
                    summary=item.summary,
                    status=status_label(item.status),
                    link=item.link,
                )
                for item in latest
            ],
            total=len(items),
            day=self.day.isoformat(),
        )

    async def duty(self) -> DutyPart:
        found = await on_duty(self.session, site_id=self.site.id, now=self.now)

        def row(view: Any) -> DutyRow | None:
            if view is None:
                return None
            return DutyRow(name=view.name, start=self.clock(view.starts_at), end=self.clock(view.ends_at))

        return DutyPart(current=row(found.current), next=row(found.next))

    async def proposals(self) -> ProposalsPart:
        needs = await self.needs()
        settings = site_settings(self.site)
        rows = [
            ProposalRow(
                kind=p.kind,
                key=f"{p.kind}-{p.skill_id}-{p.start_slot}",
                skill_id=p.skill_id,
                label=p.label,
                start_slot=p.start_slot,
                end_slot=p.end_slot,
                start=self.slot_clock(p.start_slot),
                end=self.slot_clock(p.end_slot),
                count=p.count,
            )
            for p in proposals(needs, now_slot=needs.now_slot)
        ]
        return ProposalsPart(
            proposals=rows,
            vto_mode=settings.vto_mode,
            vot_bonus_minor=settings.vot_bonus_minor,
            currency=settings.currency,
        )


# The board's actions ---------------------------------------------------------------------------------------


def _span(site: Site, start_slot: int, end_slot: int) -> str:
    zone = site_zone(site)
    return f"{local_start(start_slot, zone):%H:%M}\u2013{local_start(end_slot, zone):%H:%M}"


async def no_show_from_board(
    session: AsyncSession,
    *,
    site: Site,
    shift_id: int,
    user_id: int,
    by: User,
    cover: bool,
    pay_locked: PayLocked,
    now: dt.datetime,
) -> None:
    """Mark a no-show (and, with ``cover``, ask cover for the rest of the shift) and log both at once.

    ``pay_locked`` keeps the board from changing a shift whose pay period is already locked.
    """
    attendance = await mark_no_show(
        session, shift_id=shift_id, user_id=user_id, coordinator=by, now=now, pay_locked=pay_locked
    )
    name, span = await _who_and_when(session, site=site, shift_id=shift_id, user_id=user_id)
    marked = attendance.no_show_at or now
    await record_system_item(
        session,
        site_id=site.id,
        kind=LogKind.no_show,
        source_key=f"no_show:{attendance.id}",
        started_at=marked,
        summary=f"{name} · {span}",
        link=seat_row_link(day=marked.astimezone(site_zone(site)).date(), shift_id=shift_id, user_id=user_id),
        subject_user_id=user_id,
        details={"agent": name, "shift": span},
        now=now,
    )
    if cover:
        await cover_for_no_show(session, site=site, shift_id=shift_id, user_id=user_id, by=by, now=now)


async def cover_for_no_show(
    session: AsyncSession, *, site: Site, shift_id: int, user_id: int, by: User, now: dt.datetime
) -> int:
    """Ask cover for the rest of a no-show's shift (``shifts.cover.cover_rest_of_shift``) and log it."""
    request = await cover_rest_of_shift(session, shift_id=shift_id, user_id=user_id, by=by, now=now)
    name, span = await _who_and_when(session, site=site, shift_id=shift_id, user_id=user_id)
    await _log_cover(session, site=site, request_id=request.id, span=span, name=name, user_id=user_id, now=now)
    return request.id


async def _who_and_when(session: AsyncSession, *, site: Site, shift_id: int, user_id: int) -> tuple[str, str]:
    """The agent's name as lists show it and the shift's site-clock span, for the log."""
    name = person_labels(await users_by_ids(session, {user_id})).get(user_id, "")
    shift = await session.get(Shift, shift_id)
    return name, _span(site, shift.start_slot, shift.end_slot) if shift is not None else ""


async def _log_cover(
    session: AsyncSession, *, site: Site, request_id: int, span: str, name: str, user_id: int | None, now: dt.datetime
) -> None:
    await record_system_item(
        session,
        site_id=site.id,
        kind=LogKind.cover_request,
        source_key=f"cover:{request_id}",
        started_at=now,
        summary=f"{name} · {span}" if name else span,
        link=f"/admin/cover#cover-{request_id}",
        subject_user_id=user_id,
        details={"agent": name, "shift": span} if name else {"shift": span},
        now=now,
    )


async def cover_gap(
    session: AsyncSession, *, site: Site, skill: str, slot: int, bonus_minor: int, by: User, now: dt.datetime
) -> int:
    """Ask for one more agent on the skill's shift that covers ``slot`` (the one starting latest, so the new
    seat covers as much of what is left as it can); answers the cover request's id. No such shift: 422 on
    ``slot`` (open an extra shift instead)."""
    found = [
        c
        for c in await coverable_shifts(session, site_id=site.id, now=now)
        if c.skill.code == skill and c.shift.start_slot <= slot < c.shift.end_slot
    ]
    if not found:
        raise DomainError(_("No shift of this skill covers that half-hour: open an extra shift instead."), field="slot")
    shift = max(found, key=lambda c: (c.shift.start_slot, c.shift.id)).shift
    request = await request_cover(
        session,
        site=site,
        shift_id=shift.id,
        absent_user_id=None,
        reason=CoverReason.emergency,
        bonus_minor=bonus_minor,
        by=by.id,
        now=now,
    )
    await _log_cover(
        session,
        site=site,
        request_id=request.id,
        span=_span(site, shift.start_slot, shift.end_slot),
        name="",
        user_id=None,
        now=now,
    )
    return request.id


async def extra_shift(
    session: AsyncSession,
    *,
    site: Site,
    skill: str,
    start_clock: str,
    end_clock: str,
    seats: int,
    bonus_minor: int,
    by: User,
    now: dt.datetime,
) -> int:
    """Open an extra shift today (site clock times "HH:MM"; an end not after the start is tomorrow) to the
    marketplace now: the marketplace's rules and eligibility apply, and it is logged at once."""
    zone = site_zone(site)
    day = site_today(site, now)
    start = dt.datetime.combine(day, dt.time.fromisoformat(start_clock), tzinfo=zone)
    end = dt.datetime.combine(day, dt.time.fromisoformat(end_clock), tzinfo=zone)
    if end <= start:
        end += dt.timedelta(days=1)
    shift = await create_open_shift(
        session,
        site=site,
        skill=skill,
        start=start,
        end=end,
        seats=seats,
        bonus_minor=bonus_minor,
        created_by=by.id,
        now=now,
    )
    span = _span(site, shift.start_slot, shift.end_slot)
    await record_system_item(
        session,
        site_id=site.id,
        kind=LogKind.staffing_gap,
        source_key=f"extra_shift:{shift.id}",
        started_at=now,
        summary=_("Extra shift opened: %(skill)s %(span)s, %(seats)d seats", skill=skill, span=span, seats=seats),
        link=f"/admin/shifts#shift-{shift.id}",
        details={"skill": skill, "from": span[:5], "to": span[-5:], "short_by": str(seats)},
        now=now,
    )
    return shift.id
