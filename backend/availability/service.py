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

from backend.accounts.models import WEEK_EDITORS, Role, Site, User, UserStatus
from backend.accounts.site_settings import SiteSettings, site_settings
from backend.accounts.zones import site_zone, user_zone
from backend.availability.models import AvailabilityWeek, OfferedSlot, Preference
from backend.certifications.models import Certification
from backend.certifications.service import certification_in_force
from backend.core.db import utcnow
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.core.i18n import moment_phrase
from backend.core.slots import (
    IsoWeek,
    SlotError,
    first_unstarted_slot,
    is_on_boundary,
    ranges_of,
    slot_of,
)

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
    updated_at: dt.datetime | None = None

    @property
    def version(self) -> str:
        """What an edit says it was based on: the week's last change, or ``new`` before the first one."""
        return version_of(self.updated_at)


NEW_WEEK_VERSION = "new"


def version_of(updated_at: dt.datetime | None) -> str:
    return updated_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") if updated_at else NEW_WEEK_VERSION


class WeekChanged(Conflict):
    """An edit based on an older copy of the week (another device, the coordinator, or an offline phone
    replaying a queued tap): it is refused rather than applied over a change its author never saw."""


# Weeks and deadlines ------------------------------------------------------------


def is_staff(editor_role: str) -> bool:
    return editor_role in WEEK_EDITORS


def submission_deadline(week: IsoWeek, site: Site, settings: SiteSettings) -> dt.datetime:
    """When agents stop editing ``week``: the site's weekday and time in the week before, site time."""
    day = week.shifted(-1).monday + dt.timedelta(days=settings.availability_deadline_weekday)
    hour, minute = (int(part) for part in settings.availability_deadline_time.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=site_zone(site))


def open_weeks(user: User, site: Site, now: dt.datetime) -> list[IsoWeek]:
    """The weeks an agent can look at and (deadlines allowing) answer: this week up to the horizon."""
    current = IsoWeek.containing(now, user_zone(user))
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
    zone = user_zone(user)
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
    slots = week.slots(user_zone(user))
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
        updated_at=record.updated_at if record else None,
    )


def blocks_of(offers: Offers) -> list[tuple[int, int, Preference]]:
    """Offers as half-open runs ``[start, end)`` of one preference, in time order."""
    runs = [
        (start, end, preference)
        for preference in Preference
        for start, end in ranges_of([slot for slot, chosen in offers.items() if chosen is preference])
    ]
    return sorted(runs)


async def weekly_cap_hours(session: AsyncSession, *, user_id: int, week: IsoWeek) -> float | None:
    """The agent's own cap on hours for ``week``, if they set one (claims check it; they need no offers)."""
    query = select(AvailabilityWeek.max_hours).where(
        AvailabilityWeek.user_id == user_id, AvailabilityWeek.week == str(week)
    )
    return await session.scalar(query)


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
    return WeekAnswer(week=rules.week, offers=kept | wanted, max_hours=max_hours, updated_at=record.updated_at)


async def ensure_unchanged_since(
    session: AsyncSession, *, user: User, week: IsoWeek, version: str, editor_id: int | None, now: dt.datetime
) -> None:
    """Refuse an edit whose page showed an older copy of the week than the one stored now.

    The agent's writers are serialised first (as ``replace_week`` does), so no edit can slip in between
    this check and the write that follows it in the same transaction. An empty ``version`` (a client that
    sends none) skips the check.
    """
    if not version:
        return
    await _lock_agent(session, user.id)
    record = await _week_record(session, user_id=user.id, week=week)
    updated_at = record.updated_at if record else None
    if version == version_of(updated_at):
        return
    zone = user_zone(user)
    if updated_at is None:
        raise WeekChanged(
            _("Week %(week)s was cleared since this page was loaded; your change was not applied.", week=str(week)),
            field="version",
        )
    when = moment_phrase(updated_at, zone, now.astimezone(zone).date())
    if record is not None and record.updated_by_id not in {None, user.id, editor_id}:
        message = _(
            "Your coordinator changed week %(week)s %(when)s, after this page was loaded; your change was not"
            " applied. Here is the week as it is now.",
            week=str(week),
            when=when,
        )
    else:
        message = _(
            "Week %(week)s was changed on another device %(when)s, after this page was loaded; your change was"
            " not applied. Here is the week as it is now.",
            week=str(week),
            when=when,
        )
    raise WeekChanged(message, field="version")


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
    version: str = "",
) -> WeekAnswer:
    """Replace an agent's week with ``blocks`` (start, end, preference), all checked before anything is written.

    A ``version`` (the API's ``If-Match``) refuses the write if the week changed since that version was read.
    """
    rules = week_rules(user=user, site=site, week=parse_week(week), now=now, editor_role=editor_role)
    ensure_writable(rules)
    await ensure_unchanged_since(session, user=user, week=rules.week, version=version, editor_id=editor_id, now=now)
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
                certification_in_force(now),
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
