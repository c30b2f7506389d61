"""From the database to the solver's ``Problem`` for one site's week, and the facts eligibility needs.

The solver speaks strings and slot numbers; this module is the one place that
maps users and skills to them (``agent_id = str(user.id)``, skill = its code).
Who is in the problem: active, onboarded agents of the site with at least one
certified skill. Core staff bring their contracted hours as fixed work: the
slots they entered as availability, on their first certified skill with demand.
Fixed work also includes seats held on claimed (non-roster) shifts and the
draft's locked lines.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Pool, Role, Site, Skill, User, UserStatus
from backend.accounts.site_settings import SiteSettings, site_settings
from backend.accounts.zones import site_zone
from backend.availability.models import AvailabilityWeek, OfferedSlot, Preference
from backend.certifications.service import skills_in_force
from backend.core.slots import IsoWeek, local_day_slots
from backend.demand.service import plan_week
from backend.roster import solver
from backend.roster.models import Roster, RosterAssignment
from backend.shifts.eligibility import AgentFacts, ShiftRules, shift_rules, stretches
from backend.shifts.publish import claimed_seats


@dataclass
class WeekFacts:
    """Everything the roster knows about a site's week, keyed the way the solver keys it."""

    site: Site
    week: IsoWeek
    slots: range
    day_starts: list[int]
    rules: ShiftRules
    users: dict[str, User]
    skills: dict[str, Skill]
    facts: dict[str, AgentFacts]
    preferred: dict[str, dict[int, bool]]
    required: dict[str, list[int]]  # skill code -> agents needed per slot of ``slots``
    fixed: list[solver.FixedAssignment] = field(default_factory=list)
    claimed: list[tuple[int, int, int, int]] = field(default_factory=list)  # (user, skill, start, end) held seats

    def skill_code(self, skill_id: int) -> str:
        return next(code for code, skill in self.skills.items() if skill.id == skill_id)


def solver_rules(rules: ShiftRules, settings: SiteSettings) -> solver.SiteRules:
    return solver.SiteRules(
        fairness_spare_cover=settings.fairness_spare_cover,
        min_shift_slots=rules.min_shift_slots,
        max_shift_slots=rules.max_shift_slots,
        max_shifts_per_day=rules.max_shifts_per_day,
        min_rest_slots=rules.min_rest_slots,
        weekly_cap_slots=rules.weekly_cap_slots,
        break_after_slots=rules.break_after_slots,
        break_slots=rules.break_slots,
    )


async def week_facts(session: AsyncSession, *, site: Site, week: IsoWeek, roster: Roster | None) -> WeekFacts:
    zone = site_zone(site)
    slots = week.slots(zone)
    skills = {s.code: s for s in await session.scalars(select(Skill).where(Skill.site_id == site.id))}
    required = {}
    for code, skill in skills.items():
        plan = await plan_week(session, site=site, skill=skill, week=week)
        by_slot = {p.slot: p.agents for p in plan.slots}
        required[code] = [by_slot.get(t, 0) for t in slots]
    users = await _roster_agents(session, site)
    certified = await _certified(session, list(users), skills)
    offers = await _offers(session, list(users), slots)
    caps = await _caps(session, list(users), week)
    facts: dict[str, AgentFacts] = {}
    for user_id, user in users.items():
        facts[str(user_id)] = AgentFacts(
            skills=frozenset(certified.get(user_id, ())),
            onboarded=user.onboarded_at is not None,
            offered=frozenset(offers.get(user_id, {})),
            weekly_cap_slots=caps.get(user_id),
            core=user.pool == Pool.core,
        )
    result = WeekFacts(
        site=site,
        week=week,
        slots=slots,
        day_starts=[local_day_slots(day, zone).start for day in week.days()],
        rules=shift_rules(site_settings(site)),
        users={str(k): v for k, v in users.items()},
        skills=skills,
        facts=facts,
        preferred={str(k): v for k, v in offers.items()},
        required=required,
    )
    result.fixed = await _fixed_work(session, result, roster)
    return result


async def _roster_agents(session: AsyncSession, site: Site) -> dict[int, User]:
    query = (
        select(User)
        .where(User.site_id == site.id, User.role == Role.agent, User.status == UserStatus.active)
        .where(User.onboarded_at.is_not(None))
        .order_by(User.id)
    )
    return {user.id: user for user in await session.scalars(query)}


async def _certified(session: AsyncSession, user_ids: list[int], skills: dict[str, Skill]) -> dict[int, list[str]]:
    codes = {skill.id: code for code, skill in skills.items()}
    held = await skills_in_force(session, user_ids=user_ids)
    return {user_id: sorted(codes[k] for k in skill_ids if k in codes) for user_id, skill_ids in held.items()}


async def _offers(session: AsyncSession, user_ids: list[int], slots: range) -> dict[int, dict[int, bool]]:
    rows = await session.execute(
        select(OfferedSlot.user_id, OfferedSlot.slot, OfferedSlot.preference).where(
            OfferedSlot.user_id.in_(user_ids), OfferedSlot.slot >= slots.start, OfferedSlot.slot < slots.stop
        )
    )
    offers: dict[int, dict[int, bool]] = defaultdict(dict)
    for user_id, slot, preference in rows:
        offers[user_id][int(slot)] = preference == Preference.preferred
    return offers


async def _caps(session: AsyncSession, user_ids: list[int], week: IsoWeek) -> dict[int, int]:
    rows = await session.execute(
        select(AvailabilityWeek.user_id, AvailabilityWeek.max_hours).where(
            AvailabilityWeek.user_id.in_(user_ids), AvailabilityWeek.week == str(week)
        )
    )
    return {user_id: math.floor(hours * 2) for user_id, hours in rows if hours is not None}


async def _fixed_work(session: AsyncSession, facts: WeekFacts, roster: Roster | None) -> list[solver.FixedAssignment]:
    fixed: list[solver.FixedAssignment] = []
    codes = {skill.id: code for code, skill in facts.skills.items()}
    for agent_id, agent in facts.facts.items():
        if not agent.core:
            continue
        demand = [code for code in sorted(agent.skills) if any(facts.required.get(code, []))]
        if demand and agent.offered:
            for start, end in stretches(sorted(agent.offered)):
                fixed.append(solver.FixedAssignment(agent_id, demand[0], start, end))
    facts.claimed = await claimed_seats(session, site_id=facts.site.id, slots=facts.slots)
    for user_id, skill_id, start, end in facts.claimed:
        if str(user_id) in facts.facts and skill_id in codes:
            fixed.append(solver.FixedAssignment(str(user_id), codes[skill_id], start, end))
    if roster is not None:
        locked = await session.scalars(
            select(RosterAssignment).where(RosterAssignment.roster_id == roster.id, RosterAssignment.locked)
        )
        for line in locked:
            if str(line.user_id) in facts.facts and line.skill_id in codes:
                fixed.append(
                    solver.FixedAssignment(str(line.user_id), codes[line.skill_id], line.start_slot, line.end_slot)
                )
    return fixed


def solver_problem(facts: WeekFacts) -> solver.Problem:
    """The pure problem: agents with offers, skills and caps; requirements; rules; fixed work."""
    agents = []
    for agent_id, agent in facts.facts.items():
        user = facts.users[agent_id]
        preferred = facts.preferred.get(agent_id, {})
        agents.append(
            solver.Agent(
                agent_id=agent_id,
                skills=sorted(agent.skills),
                offers=[solver.Offer(slot, preferred[slot]) for slot in sorted(agent.offered)],
                pool=user.pool.value,
                tier=["junior", "mid", "senior"].index(user.tier.value),
                weekly_cap_slots=agent.weekly_cap_slots,
            )
        )
    requirements = [
        solver.Requirement(skill=code, slot=facts.slots.start + index, agents=need)
        for code, needs in facts.required.items()
        for index, need in enumerate(needs)
        if need > 0
    ]
    return solver.Problem(
        first_slot=facts.slots.start,
        slot_count=len(facts.slots),
        agents=agents,
        requirements=requirements,
        rules=solver_rules(facts.rules, site_settings(facts.site)),
        fixed=facts.fixed,
        day_start_slots=facts.day_starts,
    )
