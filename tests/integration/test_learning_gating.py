"""Gating: courses passed are what opens claims and the roster to an agent, through the one eligibility check."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, Tier, User
from backend.accounts.zones import site_zone
from backend.certifications.models import Certification
from backend.core.slots import IsoWeek, utc_start
from backend.roster.problem import week_facts
from backend.shifts import market
from backend.shifts.models import Shift
from tests.factories import Factory, a_course, a_skill, an_agent, an_open_shift, sample_course
from tests.integration.test_learning_certification import take
from tests.integration.test_learning_quiz import PUBLISHED
from tests.integration.test_market_claims import NOW, at, refusal_codes


async def solver_sees(db: AsyncSession, site: Site, agent: User, shift: Shift) -> frozenset[str] | None:
    """The skills the roster solver's input gives ``agent`` in the shift's week; None when the agent is left out."""
    zone = site_zone(site)
    week = IsoWeek.containing(utc_start(shift.start_slot), zone)
    facts = await week_facts(db, site=site, week=week, roster=None)
    agent_facts = facts.facts.get(str(agent.id))
    return None if agent_facts is None else agent_facts.skills


async def test_passing_onboarding_then_the_skill_course_opens_the_claim_and_the_roster(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    staff = await people.make(Role.coordinator)
    billing = await a_skill(db, site)
    onboarding = await a_course(
        db, site, sample_course(code="service-basics", certifies="onboarding"), author=staff, now=PUBLISHED
    )
    billing_course = await a_course(db, site, author=staff, now=PUBLISHED)
    agent = await an_agent(people, tier=Tier.senior, onboarded=False)
    shift = await an_open_shift(db, site, billing, start=at(3, "18:00"), now=NOW)

    assert set(await refusal_codes(db, shift, agent)) == {"not_onboarded", "not_certified"}
    assert await solver_sees(db, site, agent, shift) is None

    assert await take(db, agent, onboarding, now=NOW)
    await db.refresh(agent)
    assert await refusal_codes(db, shift, agent) == ["not_certified"]
    assert await solver_sees(db, site, agent, shift) == frozenset()

    assert await take(db, agent, billing_course, now=NOW)
    assert await solver_sees(db, site, agent, shift) == frozenset({"billing"})
    claim = await market.claim_shift(db, shift_id=shift.id, agent=agent, now=NOW)
    assert claim.created


async def test_an_expired_certification_closes_the_claim_and_the_roster_again(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    staff = await people.make(Role.coordinator)
    billing = await a_skill(db, site)
    billing_course = await a_course(db, site, author=staff, now=PUBLISHED)
    agent = await an_agent(people, tier=Tier.senior)
    shift = await an_open_shift(db, site, billing, start=at(4, "09:00"), now=NOW)
    assert await take(db, agent, billing_course, now=NOW)
    held = await db.scalar(select(Certification).where(Certification.user_id == agent.id))
    assert held is not None
    held.expires_at = NOW - dt.timedelta(minutes=1)
    await db.flush()

    assert await refusal_codes(db, shift, agent) == ["not_certified"]
    assert await solver_sees(db, site, agent, shift) == frozenset()
