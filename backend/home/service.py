"""The agent's Home: one screen that gathers what every domain knows about the agent right now.

Home reads every domain and none reads it (it stands just below the composition layer). It holds no rule
of its own: whether a shift can be confirmed or started, what an open shift pays and whether the agent
may take it, what counts as earned so far, what to learn next, when availability closes and what a
payout's state means are each the owning domain's answer, asked once per visit. So Home and the tab it
summarises can never disagree: the hours on Home are the Earnings tab's, the open shifts are the
marketplace's claimable ones, the courses are the Learn tab's first.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Site, User
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import user_zone
from backend.availability import service as availability
from backend.core.i18n import gettext as _
from backend.core.i18n import ngettext
from backend.core.slots import IsoWeek, hours, local_start, slot_of, utc_start
from backend.handover import service as handover
from backend.learning import learn
from backend.notify import service as notify
from backend.pay import earnings, periods
from backend.pay.models import LineKind
from backend.pay.quotes import shift_pay
from backend.payouts.agent_payouts import PayoutLine, my_payouts
from backend.payouts.models import Rail
from backend.payouts.runs import rail_of
from backend.shifts import attendance, intraday, market
from backend.shifts import service as shifts
from backend.shifts.attendance import SeatState
from backend.shifts.market import OpenShift

OPEN_SHOWN = 3
COURSES_SHOWN = 3
NOTIFICATIONS_SHOWN = 3
WEEK_DAYS = 7


@dataclass(frozen=True)
class NextShift:
    """The shift under way or the next one, with its attendance state and the handover notes awaiting the agent."""

    shift: shifts.HeldShift
    starts: dt.datetime  # in the agent's zone
    ends: dt.datetime
    is_now: bool
    seat: SeatState | None  # None beyond the days My schedule offers attendance buttons for
    notes_waiting: int


@dataclass(frozen=True)
class PaySoFar:
    """Today's and the current pay period's worked time and accrued pay, exactly as the Earnings tab adds them."""

    currency: str
    today_minutes: int
    today_minor: int
    period_minutes: int
    period_minor: int
    period_starts: dt.date
    period_last_day: dt.date
    weekly: bool

    @property
    def empty(self) -> bool:
        return self.period_minor == 0 and self.period_minutes == 0


@dataclass(frozen=True)
class OpenShiftsFit:
    """The open shifts the agent can claim now (the marketplace's own verdict), soonest first."""

    count: int
    first: list[OpenShift]


@dataclass(frozen=True)
class CourseNext:
    """A course worth taking next, and why it comes first (required, lapsing, unlocking a shift, half done)."""

    course_id: int
    title: str
    why: str
    required: bool


@dataclass(frozen=True)
class AvailabilityDue:
    """The week the agent should answer next, when it closes, and how much of it they have offered."""

    week: IsoWeek
    deadline: dt.datetime  # in the agent's zone
    closes_in: dt.timedelta
    offered_slots: int

    @property
    def offered_hours(self) -> float:
        return hours(self.offered_slots)

    @property
    def closed(self) -> bool:
        return self.closes_in <= dt.timedelta(0)


@dataclass(frozen=True)
class InboxGlance:
    unread: int
    latest: list[notify.InboxEntry]


@dataclass(frozen=True)
class Home:
    """Everything Home shows, one part per card."""

    next_shift: NextShift | None
    pay: PaySoFar | None
    open_shifts: OpenShiftsFit
    courses: list[CourseNext]
    availability: AvailabilityDue
    inbox: InboxGlance
    payouts_shown: bool
    last_payout: PayoutLine | None
    offers: int = 0  # same-day offers (VTO, a longer shift) the agent can still answer (``shifts.intraday``)


async def gather_home(session: AsyncSession, *, agent: User, now: dt.datetime, stripe_ready: bool) -> Home:
    """Ask each domain for its part of Home. ``stripe_ready``: this server can pay through Stripe (it has a key)."""
    site = await accounts.get_site(session, agent.site_id)
    last_payout, payouts_shown = await last_payout_of(session, agent=agent, site=site, stripe_ready=stripe_ready)
    open_now = await market.open_shifts_for(session, agent=agent, now=now)  # asked once: two cards read it
    return Home(
        next_shift=await next_shift(session, agent=agent, now=now),
        pay=await pay_so_far(session, agent=agent, site=site, now=now),
        open_shifts=await open_shifts_fit(session, agent=agent, now=now, open_now=open_now),
        courses=await courses_next(session, agent=agent, now=now, open_now=open_now),
        availability=await availability_due(session, agent=agent, site=site, now=now),
        inbox=await inbox_glance(session, agent=agent),
        payouts_shown=payouts_shown,
        last_payout=last_payout,
        offers=await intraday.open_offer_count(session, user_id=agent.id, now=now),
    )


async def next_shift(session: AsyncSession, *, agent: User, now: dt.datetime) -> NextShift | None:
    """The shift the agent is working, else the next they hold, as My schedule marks them."""
    held = await shifts.my_shifts(session, user_id=agent.id, since_slot=slot_of(now))
    upcoming = next((shift for shift in held if utc_start(shift.end_slot) > now), None)
    if upcoming is None:
        return None
    zone = user_zone(agent)
    seats = await attendance.my_upcoming_seats(session, agent=agent, now=now)
    notes = await handover.shift_handover(session, shift_id=upcoming.shift_id, agent=agent, now=now)
    return NextShift(
        shift=upcoming,
        starts=local_start(upcoming.start_slot, zone),
        ends=local_start(upcoming.end_slot, zone),
        is_now=utc_start(upcoming.start_slot) <= now,
        seat=seats.get(upcoming.shift_id),
        notes_waiting=len(notes.unacknowledged),
    )


async def pay_so_far(session: AsyncSession, *, agent: User, site: Site, now: dt.datetime) -> PaySoFar | None:
    """The current open period's accrued pay from the Earnings tab's own function; None before any rate card."""
    accrued = await earnings.open_periods(session, user=agent, now=now)
    current = next((view for view in accrued if view.is_current), None)
    if current is None:
        return None
    today = periods.site_today(site, now)
    today_lines = [line for day in current.days if day.day == today for line in day.lines]
    period = current.period
    return PaySoFar(
        currency=period.currency,
        today_minutes=sum(line.quantity for line in today_lines if line.kind == LineKind.base),
        today_minor=sum(line.amount_minor for line in today_lines),
        period_minutes=current.totals.get("worked_minutes", 0),
        period_minor=current.totals.get("gross_minor", 0),
        period_starts=period.starts_on,
        period_last_day=current.last_day,
        weekly=(period.ends_on - period.starts_on).days == WEEK_DAYS,
    )


async def open_shifts_fit(
    session: AsyncSession, *, agent: User, now: dt.datetime, open_now: market.Market | None = None
) -> OpenShiftsFit:
    """The marketplace's open shifts this agent can claim right now, priced as the Open shifts page prices them.

    ``open_now``: ``market.open_shifts_for`` for this agent now, if already asked. Only the shifts shown are
    priced (pricing reads each day's pay period and rate card).
    """
    view = open_now if open_now is not None else await market.open_shifts_for(session, agent=agent, now=now)
    claimable = [item for item in view.shifts if item.can_claim]
    first = claimable[:OPEN_SHOWN]
    await market.price_shifts(session, agent=agent, items=first, pay=shift_pay)
    return OpenShiftsFit(count=len(claimable), first=first)


def _why_course(card: learn.CourseCard) -> str:
    if card.is_onboarding and card.required:
        return _("Required before you can take shifts.")
    if card.lapsed:
        return _("Your %(skill)s certification has expired.", skill=card.skill_name)
    if card.expiring and card.certified_until is not None:
        return _(
            "Your %(skill)s certification expires on %(day)s.",
            skill=card.skill_name,
            day=earnings.date_text(card.certified_until.date()),
        )
    if card.required:
        return _("Required.")
    if card.unlocks:
        count = sum(unlock.count for unlock in card.unlocks)
        return ngettext(
            "Unlocks %(num)d open %(skill)s shift.",
            "Unlocks %(num)d open %(skill)s shifts.",
            count,
            skill=card.skill_name,
        )
    return _(
        "Lesson %(lesson)s of %(total)s next.",
        lesson=card.resume_lesson or card.lessons_total,
        total=card.lessons_total,
    )


async def courses_next(
    session: AsyncSession, *, agent: User, now: dt.datetime, open_now: market.Market | None = None
) -> list[CourseNext]:
    """The first courses of the Learn tab's order: required, then unlocking an open shift, then in progress."""
    overview = await learn.learn_overview(session, agent=agent, now=now, open_shifts=open_now)
    cards = [*overview.required, *overview.unlocking, *overview.in_progress][:COURSES_SHOWN]
    return [CourseNext(card.course_id, card.title, _why_course(card), card.required) for card in cards]


async def availability_due(session: AsyncSession, *, agent: User, site: Site, now: dt.datetime) -> AvailabilityDue:
    """The week the Availability tab opens on (next week, or the one after once it has closed), and its deadline."""
    week = availability.default_week(agent, site, now)
    deadline = availability.submission_deadline(week, site, site_settings(site))
    answer = await availability.read_week(session, user=agent, week=week)
    return AvailabilityDue(
        week=week,
        deadline=deadline.astimezone(user_zone(agent)),
        closes_in=deadline - now,
        offered_slots=len(answer.offers),
    )


def closes_in_text(left: dt.timedelta) -> str:
    """A count-down a reader takes in at a glance: "closes in 2 days 4 h", "closes in 3 h 20 min"."""
    if left <= dt.timedelta(0):
        return _("closed")
    minutes = math.ceil(left.total_seconds() / 60)  # the last seconds still read "1 min", never "closed"
    days, rest = divmod(minutes, 24 * 60)
    whole_hours, rest_minutes = divmod(rest, 60)
    if days:
        return ngettext(
            "closes in %(num)d day %(hours)d h", "closes in %(num)d days %(hours)d h", days, hours=whole_hours
        )
    if whole_hours:
        return _("closes in %(hours)d h %(minutes)d min", hours=whole_hours, minutes=rest_minutes)
    return _("closes in %(minutes)d min", minutes=max(rest_minutes, 1))


async def inbox_glance(session: AsyncSession, *, agent: User) -> InboxGlance:
    unread = await notify.unread_count(session, user_id=agent.id)
    return InboxGlance(unread=unread, latest=await notify.inbox(session, user_id=agent.id, limit=NOTIFICATIONS_SHOWN))


async def last_payout_of(
    session: AsyncSession, *, agent: User, site: Site, stripe_ready: bool
) -> tuple[PayoutLine | None, bool]:
    """The agent's latest payout in plain words, and whether Home shows payouts at all.

    A site paying through Stripe on a server with no Stripe key has no working payout rail: Home says
    nothing of payouts there unless the agent already has one.
    """
    lines = await my_payouts(session, user_id=agent.id, zone=user_zone(agent))
    latest = lines[0] if lines else None
    rail_works = rail_of(site) is not Rail.stripe or stripe_ready
    return latest, latest is not None or rail_works
