"""The rules for offering availability: which weeks are open, to whom, and what a week may hold.

An agent answers for next week (and up to the site's horizon) in their own
time zone. Next week closes at the site's deadline (say Thursday 18:00 site
time, in the week before); after it only a coordinator or admin may change the
week, on the agent's behalf, and the audit log records it. The current week's
deadline passed last week, so it is staff-only too. Half-hours that have
begun are read-only for everyone. Every write validates everything first and
then replaces the week's future slots in the caller's unit of work, so a
refused request stores nothing.

The weekly cap (``max_hours``) limits what the roster gives an agent, not
what they may offer: offering 20 hours under a 12-hour cap is fine and lets
the solver pick the best 12.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, User, UserStatus
from backend.accounts.site_settings import SiteSettings, site_settings
from backend.availability.models import AvailabilityTemplate, AvailabilityWeek, OfferedSlot, Preference
from backend.core.db import utcnow
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.core.slots import (
    IsoWeek,
    SlotError,
    first_unstarted_slot,
    is_on_boundary,
    local_day_slots,
    local_start,
    ranges_of,
    slot_of,
    wall_clock_slot,
)
from backend.learning.models import Certification

STAFF_ROLES = frozenset({"coordinator", "admin", "system"})
# One tap per day: the windows part-timers ask for most, as local wall-clock times.
PRESETS: dict[str, tuple[str, str]] = {
    "morning": ("08:00", "12:00"),
    "school": ("09:00", "15:00"),
    "evening": ("18:00", "22:00"),
}
CLEAR_DAY = "clear"
TAP_CYCLE: dict[Preference | None, Preference | None] = {
    None: Preference.preferred,
    Preference.preferred: Preference.if_needed,
    Preference.if_needed: None,
}

Offers = dict[int, Preference]
BlockInput = tuple[dt.datetime, dt.datetime, str]


@dataclass(frozen=True)
class WeekRules:
    """What an editor may do to one agent's week at one moment."""

    week: IsoWeek
    zone: ZoneInfo
    slots: range
    first_open_slot: int
    deadline: dt.datetime
    locked_reason: str | None

    @property
    def editable(self) -> bool:
        return self.locked_reason is None and self.first_open_slot < self.slots.stop

    def is_open(self, slot: int) -> bool:
        return self.locked_reason is None and slot >= self.first_open_slot


@dataclass(frozen=True)
class WeekAnswer:
    """An agent's stored answer for a week: offered slots and the cap they want."""

    week: IsoWeek
    offers: Offers
    max_hours: float | None


# Weeks and deadlines ------------------------------------------------------------


def is_staff(editor_role: str) -> bool:
    return editor_role in STAFF_ROLES


def agent_zone(user: User) -> ZoneInfo:
    return ZoneInfo(user.timezone)


def submission_deadline(week: IsoWeek, site: Site, settings: SiteSettings) -> dt.datetime:
    """When agents stop editing ``week``: the site's weekday and time in the week before, site time."""
    day = week.shifted(-1).monday + dt.timedelta(days=settings.availability_deadline_weekday)
    hour, minute = (int(part) for part in settings.availability_deadline_time.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(site.timezone))


def open_weeks(user: User, site: Site, now: dt.datetime) -> list[IsoWeek]:
    """The weeks an agent can look at and (deadlines allowing) answer: this week up to the horizon."""
    current = IsoWeek.containing(now, agent_zone(user))
    return [current.shifted(n) for n in range(site_settings(site).availability_horizon_weeks + 1)]


def default_week(user: User, site: Site, now: dt.datetime) -> IsoWeek:
    """The week the agent most likely came to answer: next week, or the one after once it has closed."""
    settings = site_settings(site)
    for week in open_weeks(user, site, now)[1:]:
        if now < submission_deadline(week, site, settings):
            return week
    return open_weeks(user, site, now)[1]


def parse_week(text: str) -> IsoWeek:
    try:
        return IsoWeek.parse(text)
    except SlotError:
        raise DomainError(_("%(week)s is not a week like 2026-W49.", week=text), field="week") from None


def week_rules(*, user: User, site: Site, week: IsoWeek, now: dt.datetime, editor_role: str) -> WeekRules:
    """Check the week is within reach and say whether (and why not) the editor may change it."""
    weeks = open_weeks(user, site, now)
    if week not in weeks:
        raise DomainError(
            _(
                "Week %(week)s is out of range: choose a week from %(first)s to %(last)s.",
                week=str(week),
                first=str(weeks[0]),
                last=str(weeks[-1]),
            ),
            field="week",
        )
    zone = agent_zone(user)
    deadline = submission_deadline(week, site, site_settings(site))
    locked_reason = None
    if now >= deadline and not is_staff(editor_role):
        locked_reason = _(
            "The deadline for %(week)s was %(deadline)s; ask your coordinator to change it.",
            week=str(week),
            deadline=deadline.strftime("%Y-%m-%d %H:%M"),
        )
    return WeekRules(
        week=week,
        zone=zone,
        slots=week.slots(zone),
        first_open_slot=first_unstarted_slot(now),
        deadline=deadline,
        locked_reason=locked_reason,
    )


def ensure_writable(rules: WeekRules) -> None:
    if rules.locked_reason is not None:
        raise DomainError(rules.locked_reason, field="week")
    if rules.first_open_slot >= rules.slots.stop:
        raise DomainError(
            _("Week %(week)s is over; past half-hours are read-only.", week=str(rules.week)), field="week"
        )


def check_max_hours(max_hours: float | None, site: Site) -> float | None:
    if max_hours is None:
        return None
    ceiling = site_settings(site).max_weekly_hours
    if not math.isfinite(max_hours) or not 0 < max_hours <= ceiling:
        raise DomainError(
            _("The weekly cap must be more than 0 and at most %(max)s hours.", max=f"{ceiling:g}"), field="max_hours"
        )
    return max_hours


# Reading ----------------------------------------------------------------------


async def agent_of_site(session: AsyncSession, *, user_id: int, site_id: int) -> User:
    """An agent a coordinator of ``site_id`` may look after; anyone else answers 404, as if absent."""
    user = await session.get(User, user_id)
    if user is None or user.site_id != site_id or user.role is not Role.agent:
        raise NotFound("agent")
    return user


async def read_week(session: AsyncSession, *, user: User, week: IsoWeek) -> WeekAnswer:
    slots = week.slots(agent_zone(user))
    rows = await session.execute(
        select(OfferedSlot.slot, OfferedSlot.preference).where(
            OfferedSlot.user_id == user.id, OfferedSlot.slot >= slots.start, OfferedSlot.slot < slots.stop
        )
    )
    record = await _week_record(session, user_id=user.id, week=week)
    return WeekAnswer(
        week=week,
        offers={slot: preference for slot, preference in rows},
        max_hours=record.max_hours if record else None,
    )


def blocks_of(offers: Offers) -> list[tuple[int, int, Preference]]:
    """Offers as half-open runs ``[start, end)`` of one preference, in time order."""
    runs = [
        (start, end, preference)
        for preference in Preference
        for start, end in ranges_of([slot for slot, chosen in offers.items() if chosen is preference])
    ]
    return sorted(runs)


async def _week_record(session: AsyncSession, *, user_id: int, week: IsoWeek) -> AvailabilityWeek | None:
    return await session.scalar(
        select(AvailabilityWeek).where(AvailabilityWeek.user_id == user_id, AvailabilityWeek.week == str(week))
    )


# Writing ----------------------------------------------------------------------


async def replace_week(
    session: AsyncSession,
    *,
    user: User,
    rules: WeekRules,
    offers: Offers,
    max_hours: float | None,
    editor_id: int | None,
) -> WeekAnswer:
    """Make the week's future slots exactly ``offers`` (past ones stay as they were) and record the answer.

    Only the difference is written, as ORM changes, so a coordinator's edit
    shows in the audit log slot by slot.
    """
    await _lock_agent(session, user.id)
    future = range(max(rules.first_open_slot, rules.slots.start), rules.slots.stop)
    stored = {
        row.slot: row
        for row in await session.scalars(
            select(OfferedSlot).where(
                OfferedSlot.user_id == user.id,
                OfferedSlot.slot >= rules.slots.start,
                OfferedSlot.slot < rules.slots.stop,
            )
        )
    }
    kept = {slot: row.preference for slot, row in stored.items() if slot not in future}
    wanted = {slot: preference for slot, preference in offers.items() if slot in future}
    for slot, row in stored.items():
        if slot not in future:
            continue
        if slot not in wanted:
            await session.delete(row)
        elif row.preference is not wanted[slot]:
            row.preference = wanted[slot]
    session.add_all(
        OfferedSlot(user_id=user.id, slot=slot, preference=preference)
        for slot, preference in wanted.items()
        if slot not in stored
    )
    record = await _week_record(session, user_id=user.id, week=rules.week)
    if record is None:
        record = AvailabilityWeek(user_id=user.id, week=str(rules.week))
        session.add(record)
    record.max_hours, record.updated_at, record.updated_by_id = max_hours, utcnow(), editor_id
    await session.flush()
    return WeekAnswer(week=rules.week, offers=kept | wanted, max_hours=max_hours)


async def _lock_agent(session: AsyncSession, user_id: int) -> None:
    """Serialise writers of one agent's availability on PostgreSQL; on SQLite the write transaction already does."""
    if session.get_bind().dialect.name != "sqlite":
        await session.execute(select(User.id).where(User.id == user_id).with_for_update())


async def offer_week(
    session: AsyncSession,
    *,
    user: User,
    site: Site,
    week: str,
    max_hours: float | None,
    blocks: Sequence[BlockInput],
    now: dt.datetime,
    editor_id: int | None,
    editor_role: str,
) -> WeekAnswer:
    """Replace an agent's week with ``blocks`` (start, end, preference), all checked before anything is written."""
    rules = week_rules(user=user, site=site, week=parse_week(week), now=now, editor_role=editor_role)
    ensure_writable(rules)
    cap = check_max_hours(max_hours, site)
    offers = offers_from_blocks(blocks, rules)
    return await replace_week(session, user=user, rules=rules, offers=offers, max_hours=cap, editor_id=editor_id)


def offers_from_blocks(blocks: Sequence[BlockInput], rules: WeekRules) -> Offers:
    """Turn blocks into slots, refusing the first block that is misaligned, empty, outside, past or overlapping."""
    spans = [_block_span(index, block, rules) for index, block in enumerate(blocks)]
    offers: Offers = {}
    owner: dict[int, int] = {}
    for index, (start, end, preference) in sorted(enumerate(spans), key=lambda item: (item[1][0], item[0])):
        clash = next((owner[slot] for slot in range(start, end) if slot in owner), None)
        if clash is not None:
            raise DomainError(
                _("Block %(number)d overlaps block %(other)d.", number=index + 1, other=clash + 1),
                field=f"blocks[{index}].start",
            )
        for slot in range(start, end):
            owner[slot], offers[slot] = index, preference
    return offers


def _block_span(index: int, block: BlockInput, rules: WeekRules) -> tuple[int, int, Preference]:
    start, end, preference = block
    number, field = index + 1, f"blocks[{index}]"
    if start.tzinfo is None:
        raise DomainError(
            _("Block %(number)d: the start time needs a UTC offset.", number=number), field=f"{field}.start"
        )
    if end.tzinfo is None:
        raise DomainError(_("Block %(number)d: the end time needs a UTC offset.", number=number), field=f"{field}.end")
    if not is_on_boundary(start):
        raise DomainError(
            _("Block %(number)d starts at %(time)s, not on :00 or :30.", number=number, time=_clock(start)),
            field=f"{field}.start",
        )
    if not is_on_boundary(end):
        raise DomainError(
            _("Block %(number)d ends at %(time)s, not on :00 or :30.", number=number, time=_clock(end)),
            field=f"{field}.end",
        )
    if end <= start:
        raise DomainError(
            _(
                "Block %(number)d ends at %(end)s, not after its start at %(start)s.",
                number=number,
                end=_clock(end),
                start=_clock(start),
            ),
            field=f"{field}.end",
        )
    first, stop = slot_of(start), slot_of(end)
    if first < rules.slots.start or stop > rules.slots.stop:
        raise DomainError(
            _("Block %(number)d is not inside week %(week)s.", number=number, week=str(rules.week)),
            field=f"{field}.start" if first < rules.slots.start else f"{field}.end",
        )
    if first < rules.first_open_slot:
        raise DomainError(
            _(
                "Block %(number)d starts at %(time)s, which has already begun; past half-hours are read-only.",
                number=number,
                time=start.strftime("%Y-%m-%d %H:%M"),
            ),
            field=f"{field}.start",
        )
    if preference not in Preference.__members__:
        raise DomainError(
            _("Block %(number)d: preference must be preferred or if_needed.", number=number),
            field=f"{field}.preference",
        )
    return first, stop, Preference(preference)


def _clock(moment: dt.datetime) -> str:
    return moment.strftime("%H:%M") if moment.second == 0 else moment.strftime("%H:%M:%S")


# The grid's one-tap edits -------------------------------------------------------


@dataclass(frozen=True)
class Editor:
    """Who is editing, for the deadline rule and the week's ``updated_by``."""

    id: int | None
    role: str


async def _edit(
    session: AsyncSession,
    *,
    user: User,
    site: Site,
    week: IsoWeek,
    now: dt.datetime,
    editor: Editor,
) -> tuple[WeekRules, WeekAnswer]:
    rules = week_rules(user=user, site=site, week=week, now=now, editor_role=editor.role)
    ensure_writable(rules)
    return rules, await read_week(session, user=user, week=week)


def _check_open(rules: WeekRules, slot: int) -> None:
    if slot not in rules.slots:
        raise DomainError(_("That half-hour is not in week %(week)s.", week=str(rules.week)), field="slot")
    if not rules.is_open(slot):
        raise DomainError(_("That half-hour has already begun; past half-hours are read-only."), field="slot")


async def tap_slot(
    session: AsyncSession, *, user: User, site: Site, week: IsoWeek, slot: int, now: dt.datetime, editor: Editor
) -> WeekAnswer:
    """One tap cycles a half-hour: off, preferred, if needed, off."""
    rules, answer = await _edit(session, user=user, site=site, week=week, now=now, editor=editor)
    _check_open(rules, slot)
    offers = dict(answer.offers)
    following = TAP_CYCLE[offers.get(slot)]
    if following is None:
        offers.pop(slot, None)
    else:
        offers[slot] = following
    return await replace_week(
        session, user=user, rules=rules, offers=offers, max_hours=answer.max_hours, editor_id=editor.id
    )


async def paint_range(
    session: AsyncSession,
    *,
    user: User,
    site: Site,
    week: IsoWeek,
    first: int,
    last: int,
    brush: Preference | None,
    now: dt.datetime,
    editor: Editor,
) -> WeekAnswer:
    """Set every half-hour from ``first`` to ``last`` (either order, both included) to ``brush`` (None erases)."""
    rules, answer = await _edit(session, user=user, site=site, week=week, now=now, editor=editor)
    low, high = sorted((first, last))
    _check_open(rules, low)
    _check_open(rules, high)
    offers = _painted(answer.offers, range(low, high + 1), brush)
    return await replace_week(
        session, user=user, rules=rules, offers=offers, max_hours=answer.max_hours, editor_id=editor.id
    )


def _painted(offers: Offers, slots: range, brush: Preference | None) -> Offers:
    painted = dict(offers)
    for slot in slots:
        if brush is None:
            painted.pop(slot, None)
        else:
            painted[slot] = brush
    return painted


async def apply_preset(
    session: AsyncSession,
    *,
    user: User,
    site: Site,
    week: IsoWeek,
    day: dt.date,
    preset: str,
    now: dt.datetime,
    editor: Editor,
) -> WeekAnswer:
    """Offer a preset window on one day as preferred (keeping the day's other offers), or clear the day."""
    rules, answer = await _edit(session, user=user, site=site, week=week, now=now, editor=editor)
    if day not in week.days():
        raise DomainError(_("That day is not in week %(week)s.", week=str(week)), field="day")
    if preset == CLEAR_DAY:
        slots, brush = local_day_slots(day, rules.zone), None
    elif preset in PRESETS:
        start, end = PRESETS[preset]
        slots, brush = (
            range(wall_clock_slot(day, start, rules.zone), wall_clock_slot(day, end, rules.zone)),
            (Preference.preferred),
        )
    else:
        raise DomainError(_("Choose a preset from the list."), field="preset")
    open_slots = range(max(slots.start, rules.first_open_slot), slots.stop)
    if not open_slots:
        raise DomainError(_("That day has already passed; past half-hours are read-only."), field="day")
    offers = _painted(answer.offers, open_slots, brush)
    return await replace_week(
        session, user=user, rules=rules, offers=offers, max_hours=answer.max_hours, editor_id=editor.id
    )


def moved_to(offers: Offers, week: IsoWeek, zone: ZoneInfo) -> Offers:
    """The same wall-clock half-hours in ``week`` (so a daylight-saving change keeps 18:00 at 18:00)."""
    target = week.slots(zone)
    moved: Offers = {}
    for slot, preference in offers.items():
        start = local_start(slot, zone)
        day = week.days()[start.weekday()]
        new_slot = wall_clock_slot(day, start.strftime("%H:%M"), zone)
        if new_slot in target:
            moved[new_slot] = preference
    return moved


async def copy_last_week(
    session: AsyncSession, *, user: User, site: Site, week: IsoWeek, now: dt.datetime, editor: Editor
) -> WeekAnswer:
    """Offer what the agent offered the week before (and the same cap), replacing the week's future slots."""
    rules, _answer = await _edit(session, user=user, site=site, week=week, now=now, editor=editor)
    previous = await read_week(session, user=user, week=week.shifted(-1))
    if not previous.offers:
        raise DomainError(_("You offered nothing in %(week)s to copy.", week=str(previous.week)), field="week")
    return await replace_week(
        session,
        user=user,
        rules=rules,
        offers=moved_to(previous.offers, week, rules.zone),
        max_hours=previous.max_hours,
        editor_id=editor.id,
    )


async def set_weekly_cap(
    session: AsyncSession,
    *,
    user: User,
    site: Site,
    week: IsoWeek,
    max_hours: float | None,
    now: dt.datetime,
    editor: Editor,
) -> WeekAnswer:
    """The most hours the agent wants rostered that week (None: no cap of their own)."""
    rules, answer = await _edit(session, user=user, site=site, week=week, now=now, editor=editor)
    cap = check_max_hours(max_hours, site)
    return await replace_week(session, user=user, rules=rules, offers=answer.offers, max_hours=cap, editor_id=editor.id)


# The repeating template ---------------------------------------------------------


async def get_template(session: AsyncSession, *, user_id: int) -> AvailabilityTemplate | None:
    return await session.get(AvailabilityTemplate, user_id)


def template_blocks(offers: Offers, week: IsoWeek, zone: ZoneInfo) -> list[dict[str, object]]:
    """A week's offers as wall-clock blocks per weekday, ``end`` up to "24:00"."""
    blocks: list[dict[str, object]] = []
    for weekday, day in enumerate(week.days()):
        day_slots = local_day_slots(day, zone)
        on_day = {slot: preference for slot, preference in offers.items() if slot in day_slots}
        for start, end, preference in blocks_of(on_day):
            blocks.append(
                {
                    "weekday": weekday,
                    "start": local_start(start, zone).strftime("%H:%M"),
                    "end": "24:00" if end == day_slots.stop else local_start(end, zone).strftime("%H:%M"),
                    "preference": preference.value,
                }
            )
    return blocks


async def save_template(session: AsyncSession, *, user: User, week: IsoWeek) -> AvailabilityTemplate:
    """Keep this week's pattern (past half-hours included) as the agent's repeating week."""
    answer = await read_week(session, user=user, week=week)
    if not answer.offers:
        raise DomainError(_("Offer some half-hours in %(week)s first.", week=str(week)), field="template")
    template = await get_template(session, user_id=user.id)
    if template is None:
        template = AvailabilityTemplate(user_id=user.id)
        session.add(template)
    template.blocks = template_blocks(answer.offers, week, agent_zone(user))
    template.max_hours, template.updated_at = answer.max_hours, utcnow()
    await session.flush()
    return template


def offers_from_template(template: AvailabilityTemplate, week: IsoWeek, zone: ZoneInfo) -> Offers:
    offers: Offers = {}
    for block in template.blocks:
        day = week.days()[int(block["weekday"])]
        day_slots = local_day_slots(day, zone)
        start, end = wall_clock_slot(day, str(block["start"]), zone), wall_clock_slot(day, str(block["end"]), zone)
        for slot in range(max(start, day_slots.start), min(end, day_slots.stop)):
            offers[slot] = Preference(str(block["preference"]))
    return offers


async def apply_template(
    session: AsyncSession, *, user: User, site: Site, week: IsoWeek, now: dt.datetime, editor: Editor
) -> WeekAnswer:
    """Replace the week's future slots (and cap) with the agent's repeating week."""
    rules, _answer = await _edit(session, user=user, site=site, week=week, now=now, editor=editor)
    template = await get_template(session, user_id=user.id)
    if template is None or not template.blocks:
        raise DomainError(_("Save a week as your template first."), field="template")
    return await replace_week(
        session,
        user=user,
        rules=rules,
        offers=offers_from_template(template, week, rules.zone),
        max_hours=check_max_hours(template.max_hours, site),
        editor_id=editor.id,
    )


# For other domains (demand, roster) ----------------------------------------------


def _offering_agents(site_id: int, skill_id: int | None) -> list[ColumnElement[bool]]:
    """Filters shared by the counts and the lists: active agents of the site, certified if a skill is asked."""
    conditions: list[ColumnElement[bool]] = [
        User.site_id == site_id,
        User.role == Role.agent,
        User.status == UserStatus.active,
    ]
    if skill_id is not None:
        now = utcnow()
        certified = (
            select(Certification.id)
            .where(
                Certification.user_id == User.id,
                Certification.skill_id == skill_id,
                (Certification.expires_at.is_(None)) | (Certification.expires_at > now),
            )
            .exists()
        )
        conditions.append(certified)
    return conditions


async def offered_by_slot(
    session: AsyncSession, *, site_id: int, skill_id: int | None, slots: range
) -> dict[int, tuple[int, int]]:
    """For each offered slot in ``slots``: (agents offering it as preferred, agents offering it if needed).

    One grouped query, whatever the range's length.
    """
    preferred = func.sum(case((OfferedSlot.preference == Preference.preferred, 1), else_=0))
    if_needed = func.sum(case((OfferedSlot.preference == Preference.if_needed, 1), else_=0))
    rows = await session.execute(
        select(OfferedSlot.slot, preferred, if_needed)
        .join(User, User.id == OfferedSlot.user_id)
        .where(OfferedSlot.slot >= slots.start, OfferedSlot.slot < slots.stop, *_offering_agents(site_id, skill_id))
        .group_by(OfferedSlot.slot)
    )
    return {int(slot): (int(p), int(n)) for slot, p, n in rows}


async def agents_available_at(
    session: AsyncSession, *, site_id: int, skill_id: int | None, slot: int
) -> list[tuple[User, str]]:
    """The agents offering ``slot`` and how (``"preferred"`` or ``"if_needed"``), preferred first, then by name."""
    rank = case((OfferedSlot.preference == Preference.preferred, 0), else_=1)
    rows = await session.execute(
        select(User, OfferedSlot.preference)
        .join(OfferedSlot, OfferedSlot.user_id == User.id)
        .where(OfferedSlot.slot == slot, *_offering_agents(site_id, skill_id))
        .order_by(rank, User.display_name, User.id)
    )
    return [(user, preference.value) for user, preference in rows]
