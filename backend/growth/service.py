"""Growth: each agent's progress over recent weeks, and tier promotions the coordinator decides.

The measures, week by week in the site's time zone (a shift counts in the week it starts):

- **Shifts worked.** Seats the agent held on shifts that have ended, less no-shows (a waived no-show
  is still a shift not worked). Hours worked are those shifts' hours.
- **Reliability.** ``backend.shifts.attendance``'s score; a week's value is the score as it stood at
  the end of that week.
- **Quiz average.** The mean ``score_percent`` of submitted quiz attempts (``learning.quiz``).
- **Certifications.** Held, expiring within the site's reminder days, or expired.
- **Quality.** From the agent's work records (``backend.work``): the CSAT average of rated contacts and
  the share of contacts resolved, per week and over the weeks shown; the row says so while there are none.

Promotion rule (site settings ``mid_*`` and ``senior_*``): an active agent is suggested for the next
tier (junior → mid → senior) when, all at once, their shifts worked (ever) reach ``*_after_shifts``,
their reliability percent reaches ``*_min_reliability`` and their quiz average (over every submitted
attempt) reaches ``*_min_quiz_percent``; with no quiz taken the quiz average counts only against a
threshold of 0. ``promotion_suggestions`` (run when a coordinator opens the promotions page, and by
the worker through ``refresh_all_promotions``) adds at most one open suggestion per agent and tier.
After a decline the agent is not suggested for that tier again until ``RESUGGEST_AFTER_DAYS`` days
have passed since the decline, or sooner once they have worked ``RESUGGEST_MORE_SHIFTS`` more shifts
with neither reliability nor quiz average below the declined suggestion's snapshot. Approving sets the
agent's tier; the tier then drives the priority windows (``shifts.allocation``) and pay.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import STAFF_ROLES, Role, Site, Skill, Tier, User, UserStatus, skill_label
from backend.accounts.site_settings import SiteSettings, site_settings
from backend.accounts.zones import site_zone
from backend.certifications.models import Certification
from backend.core.errors import Conflict, DomainError, Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.core.slots import IsoWeek, hours, slot_of, utc_start
from backend.growth.models import REASON_MAX_CHARS, PromotionDecision, PromotionSuggestion
from backend.learning import quiz
from backend.shifts import attendance
from backend.shifts.models import Shift, ShiftSeat
from backend.work import service as work

WEEKS_SHOWN = 8
RESUGGEST_AFTER_DAYS = 30
RESUGGEST_MORE_SHIFTS = 5
NEXT_TIER = {Tier.junior: Tier.mid, Tier.mid: Tier.senior}


# Measures --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One threshold of the next tier and where the agent stands against it (``have`` None: no quiz yet)."""

    key: str  # "shifts", "reliability" or "quiz"
    have: float | None
    need: int

    @property
    def met(self) -> bool:
        return (self.have or 0) >= self.need if self.have is not None else self.need == 0

    @property
    def missing(self) -> int:
        """How many more shifts (only meaningful for ``shifts``)."""
        return max(self.need - int(self.have or 0), 0)


@dataclass(frozen=True)
class NextTier:
    tier: Tier
    requirements: list[Requirement]

    @property
    def ready(self) -> bool:
        return all(requirement.met for requirement in self.requirements)


@dataclass(frozen=True)
class Measures:
    """What the promotion rule reads, as stored in a suggestion's snapshot."""

    shifts_worked: int
    hours_worked: float
    reliability_percent: int
    quiz_percent: float | None

    def snapshot(self) -> dict[str, Any]:
        return {
            "shifts_worked": self.shifts_worked,
            "hours_worked": self.hours_worked,
            "reliability_percent": self.reliability_percent,
            "quiz_percent": None if self.quiz_percent is None else round(self.quiz_percent, 1),
        }


def thresholds(settings: SiteSettings, tier: Tier) -> tuple[int, int, int]:
    """(shifts, reliability percent, quiz percent) needed to reach ``tier``."""
    if tier is Tier.mid:
        return settings.mid_after_shifts, settings.mid_min_reliability, settings.mid_min_quiz_percent
    return settings.senior_after_shifts, settings.senior_min_reliability, settings.senior_min_quiz_percent


def next_tier(tier: Tier, measures: Measures, settings: SiteSettings) -> NextTier | None:
    """The tier above ``tier`` and each of its thresholds against the measures; None for a senior."""
    target = NEXT_TIER.get(tier)
    if target is None:
        return None
    shifts, reliability, quiz_percent = thresholds(settings, target)
    return NextTier(
        tier=target,
        requirements=[
            Requirement("shifts", measures.shifts_worked, shifts),
            Requirement("reliability", measures.reliability_percent, reliability),
            Requirement("quiz", measures.quiz_percent, quiz_percent),
        ],
    )


@dataclass(frozen=True)
class CertificationState:
    skill_code: str
    skill_name: str
    granted_at: dt.datetime
    expires_at: dt.datetime | None
    status: str  # "valid", "expiring" or "expired"


@dataclass(frozen=True)
class Quality:
    """Quality figures per shown week and now; ``None`` where there is nothing to measure."""

    csat: list[float | None]
    csat_now: float | None
    resolution_percent: list[float | None]
    resolution_now: float | None


@dataclass
class Matrix:
    """One agent's growth matrix: a value per shown week for each measure, and the value now."""

    user: User
    weeks: list[IsoWeek]
    shifts: list[int]
    hours: list[float]
    reliability: list[float | None]  # percent at each week's end (None: no shift to count yet)
    quiz: list[float | None]
    measures: Measures
    certifications: list[CertificationState]
    quality: Quality | None
    next: NextTier | None
    reliability_detail: attendance.Reliability = field(repr=False)


def _worked_query(site_id: int, user_ids: list[int], now: dt.datetime) -> Any:
    """Seats worked on the site's shifts that have ended (attendance's rule), for these agents."""
    return attendance.worked_seats(site_id=site_id, until_slot=slot_of(now)).where(ShiftSeat.user_id.in_(user_ids))


async def worked_totals(
    session: AsyncSession, *, site_id: int, user_ids: list[int], now: dt.datetime
) -> dict[int, tuple[int, float]]:
    """(shifts worked, hours worked) ever, per agent, in one query; agents with none get (0, 0.0)."""
    if not user_ids:
        return {}
    worked = _worked_query(site_id, user_ids, now).subquery()
    rows = await session.execute(
        select(worked.c.user_id, func.count(), func.coalesce(func.sum(worked.c.end_slot - worked.c.start_slot), 0))
        .select_from(worked)
        .group_by(worked.c.user_id)
    )
    totals = {user_id: (0, 0.0) for user_id in user_ids}
    for user_id, count, slots in rows:
        totals[user_id] = (int(count), hours(int(slots)))
    return totals


def shown_weeks(now: dt.datetime, zone: ZoneInfo) -> list[IsoWeek]:
    """The last ``WEEKS_SHOWN`` site-local weeks, oldest first, ending with the current one."""
    current = IsoWeek.containing(now, zone)
    return [current.shifted(offset) for offset in range(-(WEEKS_SHOWN - 1), 1)]


async def _measures(session: AsyncSession, user: User, now: dt.datetime) -> Measures:
    totals = await worked_totals(session, site_id=user.site_id, user_ids=[user.id], now=now)
    shifts_worked, hours_worked = totals[user.id]
    score = await attendance.reliability_score(session, user_id=user.id, now=now)
    return Measures(
        shifts_worked=shifts_worked,
        hours_worked=hours_worked,
        reliability_percent=round(score * 100),
        quiz_percent=await quiz.quiz_average(session, user_id=user.id),
    )


async def certifications_of(
    session: AsyncSession, *, user_id: int, now: dt.datetime, reminder_days: int
) -> list[CertificationState]:
    """The agent's certifications, soonest to expire first: valid, expiring (within the reminder days) or expired."""
    rows = await session.execute(
        select(Certification, Skill)
        .join(Skill, Skill.id == Certification.skill_id)
        .where(Certification.user_id == user_id)
    )
    states: list[CertificationState] = []
    for certification, skill in rows:
        expires = certification.expires_at
        if expires is not None and expires <= now:
            status = "expired"
        elif expires is not None and expires <= now + dt.timedelta(days=reminder_days):
            status = "expiring"
        else:
            status = "valid"
        states.append(CertificationState(skill.code, skill_label(skill), certification.granted_at, expires, status))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(states, key=lambda state: (state.expires_at or far, state.skill_code))


async def quality_figures(
    session: AsyncSession, *, user: User, weeks: list[IsoWeek], zone: ZoneInfo, now: dt.datetime
) -> Quality | None:
    """CSAT average and resolution rate per shown week and over them all, from the agent's work records;
    None when no record in those weeks carries a rating or a resolution."""
    since = utc_start(weeks[0].slots(zone).start)
    records = await work.rated_records(session, user_id=user.id, since=since, until=now)
    if not records:
        return None
    index = {week: position for position, week in enumerate(weeks)}
    csat: list[list[int]] = [[] for _ in weeks]
    resolved: list[list[bool]] = [[] for _ in weeks]
    for occurred_at, rating, outcome in records:
        position = index.get(IsoWeek.containing(occurred_at, zone))
        if position is None:
            continue
        if rating is not None:
            csat[position].append(rating)
        if outcome is not None:
            resolved[position].append(outcome)
    every_rating = [rating for week in csat for rating in week]
    every_outcome = [outcome for week in resolved for outcome in week]
    return Quality(
        csat=[_mean(week) for week in csat],
        csat_now=_mean(every_rating),
        resolution_percent=[_share(week) for week in resolved],
        resolution_now=_share(every_outcome),
    )


def _mean(ratings: list[int]) -> float | None:
    return sum(ratings) / len(ratings) if ratings else None


def _share(outcomes: list[bool]) -> float | None:
    return 100 * sum(outcomes) / len(outcomes) if outcomes else None


async def growth_matrix(session: AsyncSession, *, user: User, now: dt.datetime) -> Matrix:
    """The agent's matrix over ``shown_weeks`` in the site's time zone, with the next tier's thresholds."""
    site = await session.get(Site, user.site_id)
    assert site is not None
    settings = site_settings(site)
    zone = site_zone(site)
    weeks = shown_weeks(now, zone)
    index = {week: position for position, week in enumerate(weeks)}
    shifts = [0] * len(weeks)
    slots = [0] * len(weeks)
    since = weeks[0].slots(zone).start
    query = _worked_query(site.id, [user.id], now).where(Shift.start_slot >= since)
    for seat in await session.execute(query):
        position = index.get(IsoWeek.containing(utc_start(seat.start_slot), zone))
        if position is not None:
            shifts[position] += 1
            slots[position] += seat.end_slot - seat.start_slot

    reliability: list[float | None] = []
    for week in weeks:
        week_end = min(utc_start(week.slots(zone).stop), now)
        standing = await attendance.reliability(session, user_id=user.id, now=week_end)
        reliability.append(standing.percent if standing.counted else None)

    by_week = await quiz.quiz_averages_by_week(session, user_id=user.id, weeks=len(weeks), now=now)
    quiz_by_week = dict(by_week)  # ISO weeks in the agent's own zone: the site's, for nearly every agent
    detail = await attendance.reliability(session, user_id=user.id, now=now)
    measures = await _measures(session, user, now)
    return Matrix(
        user=user,
        weeks=weeks,
        shifts=shifts,
        hours=[hours(count) for count in slots],
        reliability=reliability,
        quiz=[quiz_by_week.get(week) for week in weeks],
        measures=measures,
        certifications=await certifications_of(
            session, user_id=user.id, now=now, reminder_days=settings.certification_reminder_days
        ),
        quality=await quality_figures(session, user=user, weeks=weeks, zone=zone, now=now),
        next=next_tier(user.tier, measures, settings),
        reliability_detail=detail,
    )


async def agent_of_site(session: AsyncSession, *, user_id: int, staff: User) -> User:
    """An agent of the coordinator's site; anyone else is 404 so ids cannot be probed."""
    _ensure_staff(staff)
    user = await session.get(User, user_id)
    if user is None or user.site_id != staff.site_id or user.role is not Role.agent:
        raise NotFound("agent")
    return user


# The coordinator's table -----------------------------------------------------------------------


@dataclass(frozen=True)
class AgentSummary:
    user: User
    measures: Measures
    certifications: int  # in force now
    expired: int
    next: NextTier | None


SORT_KEYS = ("name", "tier", "shifts", "hours", "reliability", "quiz", "certifications")
TIER_RANK = {Tier.junior: 0, Tier.mid: 1, Tier.senior: 2}


async def _site_agents(session: AsyncSession, site_id: int) -> list[User]:
    query = (
        select(User)
        .where(User.site_id == site_id, User.role == Role.agent, User.status != UserStatus.left)
        .order_by(User.display_name, User.id)
    )
    return list(await session.scalars(query))


async def _site_measures(
    session: AsyncSession, *, site_id: int, agents: list[User], now: dt.datetime
) -> dict[int, Measures]:
    ids = [agent.id for agent in agents]
    totals = await worked_totals(session, site_id=site_id, user_ids=ids, now=now)
    scores = await attendance.reliability_scores(session, user_ids=ids, now=now)
    measures: dict[int, Measures] = {}
    for agent in agents:
        shifts_worked, hours_worked = totals[agent.id]
        measures[agent.id] = Measures(
            shifts_worked=shifts_worked,
            hours_worked=hours_worked,
            reliability_percent=round(scores[agent.id] * 100),
            quiz_percent=await quiz.quiz_average(session, user_id=agent.id),
        )
    return measures


async def site_summaries(
    session: AsyncSession, *, site: Site, now: dt.datetime, sort: str = "name", descending: bool = False
) -> list[AgentSummary]:
    """Every agent of the site who has not left, with their measures, sorted by ``sort`` (one of ``SORT_KEYS``)."""
    if sort not in SORT_KEYS:
        raise DomainError(_("Sort by one of the table's columns."), field="sort")
    settings = site_settings(site)
    agents = await _site_agents(session, site.id)
    measures = await _site_measures(session, site_id=site.id, agents=agents, now=now)
    held: dict[int, tuple[int, int]] = {agent.id: (0, 0) for agent in agents}
    if agents:
        rows = await session.execute(
            select(Certification.user_id, Certification.expires_at).where(
                Certification.user_id.in_([agent.id for agent in agents])
            )
        )
        for user_id, expires_at in rows:
            valid, expired = held[user_id]
            held[user_id] = (
                (valid, expired + 1) if expires_at is not None and expires_at <= now else (valid + 1, expired)
            )
    summaries = [
        AgentSummary(
            user=agent,
            measures=measures[agent.id],
            certifications=held[agent.id][0],
            expired=held[agent.id][1],
            next=next_tier(agent.tier, measures[agent.id], settings),
        )
        for agent in agents
    ]

    def key(summary: AgentSummary) -> Any:
        m = summary.measures
        return {
            "name": summary.user.display_name.casefold(),
            "tier": TIER_RANK[summary.user.tier],
            "shifts": m.shifts_worked,
            "hours": m.hours_worked,
            "reliability": m.reliability_percent,
            "quiz": -1.0 if m.quiz_percent is None else m.quiz_percent,
            "certifications": summary.certifications,
        }[sort]

    return sorted(summaries, key=lambda s: (key(s), s.user.display_name.casefold(), s.user.id), reverse=descending)


# Promotions -----------------------------------------------------------------------------------


def _ensure_staff(user: User) -> None:
    if user.role not in STAFF_ROLES:
        raise Forbidden(_("Only coordinators decide promotions."))


def _declined_stands(declined: PromotionSuggestion, measures: Measures, now: dt.datetime) -> bool:
    """Whether a decline still holds the agent back (the rule in the module docstring)."""
    assert declined.decided_at is not None
    if now - declined.decided_at >= dt.timedelta(days=RESUGGEST_AFTER_DAYS):
        return False
    before = declined.measures
    more_shifts = measures.shifts_worked >= int(before.get("shifts_worked") or 0) + RESUGGEST_MORE_SHIFTS
    steady = measures.reliability_percent >= int(before.get("reliability_percent") or 0)
    quiz_before = before.get("quiz_percent")
    quiz_steady = quiz_before is None or (measures.quiz_percent is not None and measures.quiz_percent >= quiz_before)
    return not (more_shifts and steady and quiz_steady)


async def promotion_suggestions(session: AsyncSession, *, site: Site, now: dt.datetime) -> list[PromotionSuggestion]:
    """Suggest every agent of the site who meets the next tier's thresholds; the site's open suggestions, oldest first.

    Idempotent: an agent with an open suggestion for the tier, or a decline that still stands, gets none.
    """
    settings = site_settings(site)
    agents = [agent for agent in await _site_agents(session, site.id) if agent.status is UserStatus.active]
    agent_ids = [agent.id for agent in agents]
    existing = (
        list(await session.scalars(select(PromotionSuggestion).where(PromotionSuggestion.user_id.in_(agent_ids))))
        if agent_ids
        else []
    )
    measures = await _site_measures(session, site_id=site.id, agents=agents, now=now)
    for agent in agents:
        target = next_tier(agent.tier, measures[agent.id], settings)
        if target is None or not target.ready:
            continue
        mine = [s for s in existing if s.user_id == agent.id and s.to_tier is target.tier]
        if any(s.decided_at is None for s in mine):
            continue
        declined = [s for s in mine if s.decision is PromotionDecision.declined]
        latest = max(declined, key=lambda s: s.decided_at or now, default=None)
        if latest is not None and _declined_stands(latest, measures[agent.id], now):
            continue
        suggestion = PromotionSuggestion(
            user_id=agent.id,
            from_tier=agent.tier,
            to_tier=target.tier,
            measures=measures[agent.id].snapshot(),
            created_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(suggestion)
                await session.flush()
        except IntegrityError:
            continue  # another coordinator's page made the same suggestion a moment ago
    return await open_suggestions(session, site=site)


async def open_suggestions(session: AsyncSession, *, site: Site) -> list[PromotionSuggestion]:
    query = (
        select(PromotionSuggestion)
        .join(User, User.id == PromotionSuggestion.user_id)
        .where(User.site_id == site.id, PromotionSuggestion.decided_at.is_(None))
        .order_by(PromotionSuggestion.created_at, PromotionSuggestion.id)
    )
    return list(await session.scalars(query))


async def recent_decisions(session: AsyncSession, *, site: Site, limit: int = 20) -> list[PromotionSuggestion]:
    query = (
        select(PromotionSuggestion)
        .join(User, User.id == PromotionSuggestion.user_id)
        .where(User.site_id == site.id, PromotionSuggestion.decided_at.is_not(None))
        .order_by(PromotionSuggestion.decided_at.desc(), PromotionSuggestion.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))


async def refresh_all_promotions(session: AsyncSession, *, now: dt.datetime) -> int:
    """Run ``promotion_suggestions`` for every site (the worker's periodic job); the number of open suggestions."""
    count = 0
    for site in list(await session.scalars(select(Site).order_by(Site.id))):
        count += len(await promotion_suggestions(session, site=site, now=now))
    return count


async def _suggestion_of_site(
    session: AsyncSession, *, suggestion_id: int, staff: User
) -> tuple[PromotionSuggestion, User]:
    row = (
        await session.execute(
            select(PromotionSuggestion, User)
            .join(User, User.id == PromotionSuggestion.user_id)
            .where(PromotionSuggestion.id == suggestion_id, User.site_id == staff.site_id)
            .with_for_update(of=PromotionSuggestion)
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise NotFound("promotion suggestion")
    return row[0], row[1]


def _ensure_open(suggestion: PromotionSuggestion, agent: User) -> None:
    if suggestion.decision is PromotionDecision.approved:
        raise Conflict(_("This promotion was already approved."))
    if suggestion.decision is PromotionDecision.declined:
        raise Conflict(_("This promotion was already declined."))
    if agent.tier is not suggestion.from_tier:
        raise Conflict(
            _(
                "%(name)s is %(tier)s now, not %(from_tier)s: this suggestion is out of date.",
                name=agent.display_name,
                tier=_(agent.tier.value),
                from_tier=_(suggestion.from_tier.value),
            )
        )


async def approve_promotion(
    session: AsyncSession, *, suggestion_id: int, coordinator: User, now: dt.datetime
) -> PromotionSuggestion:
    """Move the agent up to the suggested tier (the audit log records the change of tier)."""
    _ensure_staff(coordinator)
    suggestion, agent = await _suggestion_of_site(session, suggestion_id=suggestion_id, staff=coordinator)
    _ensure_open(suggestion, agent)
    if not agent.is_active:
        raise Conflict(_("%(name)s is not active: promote them once they are back.", name=agent.display_name))
    agent.tier = suggestion.to_tier
    suggestion.decision, suggestion.decided_at, suggestion.decided_by_id = (
        PromotionDecision.approved,
        now,
        coordinator.id,
    )
    await session.flush()
    return suggestion


async def decline_promotion(
    session: AsyncSession, *, suggestion_id: int, coordinator: User, reason: str, now: dt.datetime
) -> PromotionSuggestion:
    """Keep the agent at their tier, saying why. A decided suggestion is refused (409); an open one that is out
    of date (the agent's tier changed since) may be declined, which clears it from the page."""
    _ensure_staff(coordinator)
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX_CHARS:
        message = _("Say why, in up to %(count)s characters.", count=REASON_MAX_CHARS)
        raise DomainError(message, field="reason")
    suggestion, agent = await _suggestion_of_site(session, suggestion_id=suggestion_id, staff=coordinator)
    if suggestion.decision is not None:
        _ensure_open(suggestion, agent)
    suggestion.decision, suggestion.decided_at, suggestion.decided_by_id = (
        PromotionDecision.declined,
        now,
        coordinator.id,
    )
    suggestion.reason = reason
    await session.flush()
    return suggestion


def sparkline(values: list[float | None], *, width: int = 120, height: int = 28, pad: int = 3) -> str:
    """SVG polyline points for a trend (gaps skipped); "" with fewer than two values to draw."""
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(present) < 2:
        return ""
    low = min(v for _, v in present)
    high = max(v for _, v in present)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    points = []
    for i, v in present:
        y = height - pad - (v - low) / span * (height - 2 * pad) if high != low else height / 2
        points.append(f"{pad + i * step:.1f},{y:.1f}")
    return " ".join(points)


def delta(values: list[float | None]) -> float | None:
    """The change from the previous week that has a value to the latest one; None without two values."""
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return None
    return present[-1] - present[-2]
