"""The grid's one-tap edits: a tap, a painted range, a preset, last week copied, the repeating week, the cap.

Each edit reads the week's offers, changes them and stores the result through
``service.offer_week``, so every rule (deadline, past half-hours, week range)
is checked in one place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, User
from backend.accounts.zones import user_zone
from backend.availability.models import AvailabilityTemplate, Preference
from backend.availability.service import (
    Offers,
    WeekAnswer,
    WeekRules,
    blocks_of,
    check_max_hours,
    ensure_writable,
    read_week,
    replace_week,
    week_rules,
)
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.slots import (
    IsoWeek,
    local_day_slots,
    local_start,
    wall_clock_slot,
)

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
    template.blocks = template_blocks(answer.offers, week, user_zone(user))
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
