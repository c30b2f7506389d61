"""How open seats are shared out: the allocation rules, and the reads and locks every marketplace action shares.

The rules, published to agents on the Open shifts page and to coordinators
beside the form that makes a shift:

- **Priority windows.** A shift opens at ``opened_at``. Senior agents may claim
  it at once, mid agents ``mid_opens_after_minutes`` later, junior agents
  ``junior_opens_after_minutes`` later (site settings). A claim before one's
  window opens is refused with the time it opens.
- **Fair share moves you up.** An agent's share this week is hours held ÷
  hours offered in the site's week; the site's share is the same ratio over
  every agent who offered hours that week. An agent who offered hours and
  whose share is below the site's moves up one window (junior to mid's, mid
  to senior's).
- **Claims are voluntary.** An agent may claim outside the hours they offered;
  every other rule of ``eligibility.check_week`` applies to their whole week
  with the new shift in it: certified, onboarded, no overlap (back-to-back is
  not an overlap), rest, shifts a day, weekly cap. A shift's own length and
  breaks are the coordinator's choice, so those rules do not refuse a claim.
- **First come within a window, never overbooked.** A seat is taken by one
  conditional ``UPDATE ... SET taken = taken + 1 WHERE taken < seats``; one
  agent's claims are serialised (a row lock on the agent on PostgreSQL, the
  write lock on SQLite), so two claims of one agent cannot both pass the
  overlap or cap check. A second tap answers the seat already held.
- **Undo, release, waitlist.** For ``claim_grace_minutes`` after claiming an
  agent may undo for free. Until ``release_cutoff_hours`` before the start
  they may release; later, a coordinator finds cover. A seat that comes back
  is offered to the first eligible agent on the waitlist for
  ``waitlist_offer_minutes``; while the offer stands the seat is theirs alone.
- **Request window and lottery (if the site turns it on).** For
  ``request_window_minutes`` after a shift opens (``requests_close_at``), a
  claim is a request: no seat is taken yet, a second tap is the same request,
  and it can be withdrawn. Who may request follows every rule above (priority
  windows included). When the window closes the free seats are drawn among the
  requesters who are still eligible, by weighted random sampling without
  replacement (``lottery.draw``). An agent's weight is
  ``(1 + deficit) * reliability``, where ``deficit`` is how far their share
  this week is below the site's, as a part of the site's share:
  ``(site share - your share) / site share``, clipped to 0..1 (0 when they
  offered no hours this week or are at or above the site's share), and
  ``reliability`` is their attendance score, 0..1. So an agent who holds none
  of the hours they offered and always turns up is twice as likely to be drawn
  as one at their fair share; a weight of 0 gets a seat only if nobody else
  wants it. The random numbers are seeded from the shift's id and the window's
  close, so a draw can be re-run and checked. Winners take their seats as a
  claim does; every requester is told the outcome; seats left after the draw
  are first come.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from backend.accounts.models import Role, Site, Skill, Tier, User, UserStatus, skill_label
from backend.accounts.site_settings import SiteSettings
from backend.accounts.zones import site_zone, user_zone
from backend.availability import service as availability
from backend.availability.models import OfferedSlot
from backend.certifications.service import certified_skill_codes
from backend.core.bounds import LATEST_SLOT
from backend.core.errors import Conflict, Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.core.i18n import ngettext
from backend.core.slots import IsoWeek, local_day_slots, local_start, utc_start
from backend.shifts.eligibility import AgentFacts, Refusal, Rule, Work, check_week, shift_rules
from backend.shifts.models import Shift, ShiftSeat, ShiftSwap, ShiftWaitlist
from backend.shifts.service import HeldShift, my_shifts

# The eligibility rules that refuse a claim; offers, shift length and breaks do not (see the module docstring).
CLAIM_RULES = frozenset(
    {Rule.not_certified, Rule.not_onboarded, Rule.overlap, Rule.rest, Rule.daily_limit, Rule.weekly_cap}
)
ACROSS_WEEKS = frozenset({Rule.overlap, Rule.rest})  # the rules a shift in the next or previous week can break


class Why(enum.StrEnum):
    """Why an agent cannot take a shift: an eligibility rule, or one of the marketplace's own."""

    not_certified = Rule.not_certified.value
    not_onboarded = Rule.not_onboarded.value
    overlap = Rule.overlap.value
    rest = Rule.rest.value
    daily_limit = Rule.daily_limit.value
    weekly_cap = Rule.weekly_cap.value
    full = "full"
    window = "window"
    offered_to_other = "offered_to_other"


@dataclass(frozen=True)
class Reason:
    """One reason, as a code for machines and a sentence in the agent's language."""

    code: Why
    message: str


class ClaimRefused(Conflict):
    """A claim (or a waitlist join) the rules refuse; 409 with every reason."""

    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__(" ".join(reason.message for reason in reasons))
        self.reasons = reasons


def opened_at(shift: Shift) -> dt.datetime:
    return shift.opened_at or shift.created_at


def on_the_minute(moment: dt.datetime) -> dt.datetime:
    """``moment`` rounded up to the whole minute: how a claim window's opening is shown to an agent.

    Times are shown to the minute ("Opens to you at 15:58"); a window opening at 15:57:45 shown as 15:57
    would send the agent to tap at a minute when the claim is still refused. Rounded up, the minute shown
    is always one at which the claim is accepted.
    """
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + dt.timedelta(minutes=1)


def window_minutes(tier: Tier, settings: SiteSettings, *, moved_up: bool) -> int:
    """Minutes after opening before ``tier`` may claim; moving up takes the next tier's window."""
    windows = [0, settings.mid_opens_after_minutes, settings.junior_opens_after_minutes]
    rank = {Tier.senior: 0, Tier.mid: 1, Tier.junior: 2}[tier]
    return windows[max(rank - 1, 0) if moved_up else rank]


@dataclass
class Week:
    """The site's local week around a shift: its slots, day starts, the agent's held work and share."""

    week: IsoWeek
    slots: range
    day_starts: list[int]
    held: list[HeldShift]
    facts: AgentFacts
    around: list[HeldShift]  # held shifts just outside the week, within rest's reach of it
    moved_up: bool | None = None  # below the site's share: read only when a window depends on it


class Context:
    """Per-request memo of one agent's weeks, so a list of shifts costs a few queries per week, not per shift."""

    def __init__(self, session: AsyncSession, agent: User, site: Site, settings: SiteSettings) -> None:
        self.session, self.agent, self.site, self.settings = session, agent, site, settings
        self.zone = site_zone(site)
        self.rules = shift_rules(settings)
        self._weeks: dict[IsoWeek, Week] = {}
        self._skills: frozenset[str] | None = None

    async def week_of(self, slot: int) -> Week:
        """The site week of ``slot``; one past ``bounds.LATEST`` (a direct insert) counts in the last week the
        bounds hold, as its own week's arithmetic would overflow ``datetime``."""
        week = IsoWeek.containing(utc_start(min(slot, LATEST_SLOT - 1)), self.zone)
        if week not in self._weeks:
            self._weeks[week] = await self._load(week)
        return self._weeks[week]

    async def _load(self, week: IsoWeek) -> Week:
        slots = week.slots(self.zone)
        if self._skills is None:
            self._skills = frozenset(await certified_skill_codes(self.session, user_id=self.agent.id))
        max_hours = await availability.weekly_cap_hours(self.session, user_id=self.agent.id, week=week)
        cap = None if max_hours is None else int(max_hours * 2)
        facts = AgentFacts(
            skills=self._skills,
            onboarded=self.agent.onboarded_at is not None,
            offered=frozenset(),
            weekly_cap_slots=cap,
            core=self.agent.pool.value == "core",
        )
        reach = self.rules.min_rest_slots + self.rules.max_shift_slots
        near = await my_shifts(
            self.session, user_id=self.agent.id, since_slot=slots.start - reach, until_slot=slots.stop + reach
        )
        held = [h for h in near if h.end_slot > slots.start and h.start_slot < slots.stop]
        inside = {h.shift_id for h in held}
        around = [h for h in near if h.shift_id not in inside]
        day_starts = [local_day_slots(day, self.zone).start for day in week.days()]
        return Week(week, slots, day_starts, held, facts, around)

    async def moved_up(self, slot: int) -> bool:
        """Below the site's share in the week of ``slot`` (two site-wide sums, so asked only when it matters)."""
        week = await self.week_of(slot)
        if week.moved_up is None:
            week.moved_up = await below_fair_share(self.session, agent=self.agent, slots=week.slots)
        return week.moved_up

    async def opens_at(self, shift: Shift) -> dt.datetime:
        """When the agent's window opens; a senior's never waits, so their claims skip the share sums."""
        moved_up = self.agent.tier is not Tier.senior and await self.moved_up(shift.start_slot)
        minutes = window_minutes(self.agent.tier, self.settings, moved_up=moved_up)
        return opened_at(shift) + dt.timedelta(minutes=minutes)

    async def refusals(self, shift: Shift, skill: Skill, *, without: int | None = None) -> list[Reason]:
        """The eligibility rules the agent's week breaks with ``shift`` added that it did not break without.

        ``without``: as if the agent no longer held that shift, to tell what giving it back would mend.
        """
        week = await self.week_of(shift.start_slot)
        held = [h for h in week.held if h.shift_id not in (shift.id, without)]
        work = [Work(h.skill_code, h.start_slot, h.end_slot) for h in held]
        before = Counter(r.rule for r in check_week(week.facts, work, self.rules, week.day_starts))
        added = [*work, Work(skill.code, shift.start_slot, shift.end_slot)]
        reasons: list[Reason] = []
        for refusal in check_week(week.facts, added, self.rules, week.day_starts):
            if refusal.rule not in CLAIM_RULES:
                continue
            if before[refusal.rule] > 0:
                before[refusal.rule] -= 1
                continue
            reasons.append(Reason(Why(refusal.rule.value), self._explain(refusal, held, skill)))
        return reasons + self._across_the_week(week, shift, skill, held, {r.code for r in reasons}, without)

    def _across_the_week(
        self, week: Week, shift: Shift, skill: Skill, held: list[HeldShift], found: set[Why], without: int | None
    ) -> list[Reason]:
        """Rest and overlap against shifts just outside the week (Sunday night, Monday morning).

        The week's own check cannot see them; shifts a day and the weekly cap belong to each week alone.
        """
        near = [h for h in week.around if h.shift_id not in (shift.id, without)]
        if not near:
            return []
        both = [*held, *near]
        work = [Work(h.skill_code, h.start_slot, h.end_slot) for h in both]
        before = Counter(r.rule for r in check_week(week.facts, work, self.rules, []) if r.rule in ACROSS_WEEKS)
        added = [*work, Work(skill.code, shift.start_slot, shift.end_slot)]
        reasons: list[Reason] = []
        for refusal in check_week(week.facts, added, self.rules, []):
            if refusal.rule not in ACROSS_WEEKS or Why(refusal.rule.value) in found:
                continue
            if before[refusal.rule] > 0:
                before[refusal.rule] -= 1
                continue
            found.add(Why(refusal.rule.value))
            reasons.append(Reason(Why(refusal.rule.value), self._explain(refusal, both, skill)))
        return reasons

    def _explain(self, refusal: Refusal, held: list[HeldShift], skill: Skill) -> str:
        zone = user_zone(self.agent)
        if refusal.rule is Rule.not_certified:
            return _("Needs the %(skill)s certification.", skill=skill_label(skill))
        if refusal.rule is Rule.overlap:
            clash = next((h for h in held if h.start_slot <= (refusal.slot or 0) < h.end_slot), None)
            if clash is not None:
                return _("Overlaps your %(time)s shift.", time=local_start(clash.start_slot, zone).strftime("%H:%M"))
        if refusal.rule is Rule.weekly_cap:
            hours = (refusal.value or 0) / 2
            return ngettext(
                "Weekly cap reached (%(hours)s hour).",
                "Weekly cap reached (%(hours)s hours).",
                hours,
                hours=f"{hours:g}",
            )
        return refusal.message()


@dataclass(frozen=True)
class Shares:
    """Slots offered and held per agent in one site's week: the numbers behind fair share and the lottery's deficit."""

    offered: dict[int, int]
    held: dict[int, int]

    @property
    def site_share(self) -> float:
        total = sum(self.offered.values())
        return sum(self.held.values()) / total if total else 0.0

    def deficit(self, user_id: int) -> float:
        """``(site share - the agent's share) / site share`` clipped to 0..1; 0 for an agent who offered nothing."""
        mine, site = self.offered.get(user_id, 0), self.site_share
        if not mine or site <= 0:
            return 0.0
        return min(max((site - self.held.get(user_id, 0) / mine) / site, 0.0), 1.0)


async def _offered_slots(session: AsyncSession, *, site_id: int, slots: range) -> dict[int, int]:
    rows = await session.execute(
        select(OfferedSlot.user_id, func.count())
        .join(User, User.id == OfferedSlot.user_id)
        .where(User.site_id == site_id, User.role == Role.agent, User.status == UserStatus.active)
        .where(OfferedSlot.slot >= slots.start, OfferedSlot.slot < slots.stop)
        .group_by(OfferedSlot.user_id)
    )
    return {int(user_id): int(count) for user_id, count in rows}


async def _held_slots(session: AsyncSession, *, user_ids: list[int], slots: range) -> dict[int, int]:
    rows = await session.execute(
        select(ShiftSeat.user_id, func.sum(Shift.end_slot - Shift.start_slot))
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .where(ShiftSeat.user_id.in_(user_ids), ShiftSeat.released_at.is_(None))
        .where(Shift.cancelled_at.is_(None), Shift.start_slot >= slots.start, Shift.start_slot < slots.stop)
        .group_by(ShiftSeat.user_id)
    )
    return {int(user_id): int(total) for user_id, total in rows}


async def week_shares(session: AsyncSession, *, site_id: int, slots: range) -> Shares:
    offered = await _offered_slots(session, site_id=site_id, slots=slots)
    return Shares(offered, await _held_slots(session, user_ids=list(offered), slots=slots))


async def below_fair_share(session: AsyncSession, *, agent: User, slots: range) -> bool:
    """True when the agent offered hours this week and holds a smaller share of them than the site does."""
    offered = await _offered_slots(session, site_id=agent.site_id, slots=slots)
    if not offered.get(agent.id):
        return False
    held = await _held_slots(session, user_ids=list(offered), slots=slots)
    return Shares(offered, held).deficit(agent.id) > 0


def lottery_weight(deficit: float, reliability: float) -> float:
    """A requester's weight in a draw: ``(1 + deficit) * reliability``, so between 0 and 2 (see the rules)."""
    return (1 + deficit) * reliability


async def live_offers(
    session: AsyncSession, shift_ids: list[int], now: dt.datetime, *, excluding: int
) -> dict[int, int]:
    """Seats held for waiting agents by an offer that still stands, per shift, other than ``excluding``'s own."""
    rows = await session.execute(
        select(ShiftWaitlist.shift_id, func.count())
        .where(ShiftWaitlist.shift_id.in_(shift_ids), ShiftWaitlist.user_id != excluding)
        .where(ShiftWaitlist.offer_expires_at > now)
        .group_by(ShiftWaitlist.shift_id)
    )
    return {int(k): int(v) for k, v in rows}


async def market_shift(session: AsyncSession, *, shift_id: int, site_id: int) -> tuple[Shift, Skill]:
    """A shift of the caller's site; another site's or an unknown id is 404 alike, and so is one stored past
    ``bounds.LATEST`` (only a direct insert makes one; the marketplace never lists it)."""
    row = (
        await session.execute(select(Shift, Skill).join(Skill, Skill.id == Shift.skill_id).where(Shift.id == shift_id))
    ).first()
    if row is None or row[0].site_id != site_id or row[0].start_slot >= LATEST_SLOT:
        raise NotFound("shift")
    return row[0], row[1]


async def lock_agent(session: AsyncSession, agent_id: int) -> None:
    """Serialise one agent's claims on PostgreSQL; SQLite's write transactions already run one at a time."""
    if session.get_bind().dialect.name != "sqlite":
        await session.execute(select(User.id).where(User.id == agent_id).with_for_update())


def ensure_agent(agent: User) -> None:
    if agent.role is not Role.agent:
        raise Forbidden(_("Only agents claim shifts."))
    if not agent.is_active:
        raise Forbidden(_("Your account is not active."))


def ensure_not_started(shift: Shift, now: dt.datetime) -> None:
    if shift.cancelled_at is not None:
        raise Conflict(_("This shift was cancelled."))
    if utc_start(shift.start_slot) <= now:
        raise Conflict(_("This shift has already started."))


def full_reason() -> Reason:
    return Reason(Why.full, _("Full: every seat is taken."))


async def take_seat(
    session: AsyncSession, shift: Shift, *, user_id: int, seat: ShiftSeat | None, now: dt.datetime
) -> ShiftSeat:
    """The one way a seat is taken, by a claim or a lottery win: a conditional UPDATE that never overbooks.

    ``seat`` is the agent's earlier (released) seat row, if any. A seat a live waitlist offer holds for someone
    else stays theirs. Run it in a savepoint: a refusal after the count moved must leave nothing behind.
    """
    taken = await session.scalar(
        update(Shift)
        .where(Shift.id == shift.id, Shift.taken < Shift.seats)
        .values(taken=Shift.taken + 1)
        .returning(Shift.taken)
        .execution_options(synchronize_session=False)
    )
    if taken is None:
        raise ClaimRefused([full_reason()])
    # Read after the row lock: a release that committed meanwhile has its waitlist offer visible now.
    reserved = (await live_offers(session, [shift.id], now, excluding=user_id)).get(shift.id, 0)
    if taken + reserved > shift.seats:
        raise ClaimRefused([Reason(Why.offered_to_other, _("The free seat is offered to someone on the waitlist."))])
    set_committed_value(shift, "taken", taken)
    if seat is None:
        seat = ShiftSeat(shift_id=shift.id, user_id=user_id, taken_at=now)
        session.add(seat)
    else:
        seat.released_at, seat.taken_at = None, now
    await session.flush()
    return seat


async def seat_of(session: AsyncSession, shift_id: int, user_id: int) -> ShiftSeat | None:
    return await session.scalar(select(ShiftSeat).where(ShiftSeat.shift_id == shift_id, ShiftSeat.user_id == user_id))


async def held_seat(session: AsyncSession, shift: Shift, agent: User) -> ShiftSeat:
    """The agent's live seat on ``shift``, to give back or offer.

    A shift that was never theirs answers 404 like an unknown id: a colleague's shift is not theirs to
    see. One they gave back or swapped away (the seat moved to the taker) is 409, told plainly.
    """
    seat = await seat_of(session, shift.id, agent.id)
    if seat is not None and seat.released_at is None:
        return seat
    if seat is None:
        offered = select(ShiftSwap.id).where(ShiftSwap.shift_id == shift.id, ShiftSwap.from_user_id == agent.id)
        if await session.scalar(offered.limit(1)) is None:
            raise NotFound("shift")
    raise Conflict(_("You do not hold this shift."))


async def waiting_entry(session: AsyncSession, shift_id: int, user_id: int) -> ShiftWaitlist | None:
    return await session.scalar(
        select(ShiftWaitlist).where(ShiftWaitlist.shift_id == shift_id, ShiftWaitlist.user_id == user_id)
    )
