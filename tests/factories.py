"""The one set of factories tests build their worlds with.

Each factory makes one thing in one line, with defaults a test overrides only where its assertions
depend on the value: ``await an_agent(people, skills=[billing], tier=Tier.senior)``,
``await an_open_shift(db, site, start=at(5, "18:00"), seats=1, now=NOW)``. Factories that write commit
their unit of work (inside a test's outer transaction that is a savepoint, so what they build is visible
to the app under test and is still rolled back at the end). Factories that act through the marketplace
take ``now`` (required): a test fixes it once and hands the same instant to the services it calls, so claim
windows and deadlines are where the test expects them whenever it runs.

Worlds specific to one test module stay in that module, built from these.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts import tokens
from backend.accounts.models import Role, Site, Skill, Tier, User
from backend.certifications.service import grant_certification, mark_onboarded
from backend.core.db import utcnow
from backend.core.slots import slot_of
from backend.learning import courses
from backend.learning.models import Course
from backend.ops.models import Duty, ShiftLead
from backend.pay import periods
from backend.pay.models import PayPeriod, RateCard
from backend.roster.solver import Agent, Offer, Problem, Requirement, SiteRules
from backend.shifts import market
from backend.shifts.models import Attendance, Shift, ShiftOrigin, ShiftSeat

TEST_PASSWORD = "correct horse battery"

# The names tests give the skills they use; any other code is named after itself, in English only.
SKILL_NAMES: dict[str, tuple[str, str]] = {
    "billing": ("Billing", "账单"),
    "tech": ("Technical support", "技术支持"),
    "general": ("General enquiries", "一般咨询"),
}


# People ------------------------------------------------------------------------------------------------


@dataclass
class Factory:
    """Builds the people a test needs in one line: ``await people.make(Role.agent)``."""

    db: AsyncSession
    site: Site
    count: int = 0

    async def make(self, role: Role = Role.agent, *, site: Site | None = None, **fields: Any) -> User:
        self.count += 1
        user = await accounts.create_user(
            self.db,
            site=site or self.site,
            email=fields.pop("email", f"{role.value}{self.count}-{uuid.uuid4().hex[:6]}@example.com"),
            display_name=fields.pop("display_name", f"{role.value.title()} {self.count}"),
            role=role,
            password=fields.pop("password", TEST_PASSWORD),
            tier=fields.pop("tier", Tier.junior),
            **fields,
        )
        await self.db.commit()
        return user


async def an_agent(
    people: Factory,
    *,
    skills: Sequence[Skill] = (),
    tier: Tier = Tier.junior,
    onboarded: bool = True,
    **fields: Any,
) -> User:
    """An agent of ``people``'s site, onboarded unless told otherwise and certified for ``skills``.

    ``fields`` go to ``people.make`` (``display_name``, ``email``, ``timezone``, ``site``...).
    """
    agent = await people.make(Role.agent, tier=tier, **fields)
    if onboarded:
        await mark_onboarded(people.db, user=agent)
    for skill in skills:
        await grant_certification(people.db, user=agent, skill=skill, source="test")
    await people.db.commit()
    return agent


async def bearer(db: AsyncSession, user: User, *, role: Role | None = None) -> dict[str, str]:
    """Headers carrying a new API token of ``user`` (acting as ``role`` when given)."""
    _token, secret = await tokens.create_token(db, user=user, name="test", role=role)
    await db.commit()
    return {"Authorization": f"Bearer {secret}"}


# Skills and shifts ---------------------------------------------------------------------------------------


async def a_skill(db: AsyncSession, site: Site, code: str = "billing") -> Skill:
    """The site's skill ``code``, made (named from ``SKILL_NAMES``) if the site has none yet."""
    name, name_zh = SKILL_NAMES.get(code, (code.title(), ""))
    return await accounts.ensure_skill(db, site=site, code=code, name=name, name_zh=name_zh)


async def _skill_of(db: AsyncSession, site: Site, skill: Skill | str) -> Skill:
    return skill if isinstance(skill, Skill) else await a_skill(db, site, skill)


async def an_open_shift(
    db: AsyncSession,
    site: Site,
    skill: Skill | str = "billing",
    *,
    start: dt.datetime,
    now: dt.datetime,
    hours: float = 4,
    seats: int = 5,
    bonus_minor: int = 0,
    opened_minutes_ago: int = 60,
) -> Shift:
    """A hand-made open shift put on the marketplace at ``now``, open since ``opened_minutes_ago`` before it.

    The default hour has passed every tier's claim window, so any certified agent may claim at ``now``.
    """
    found = await _skill_of(db, site, skill)
    shift = await market.create_open_shift(
        db,
        site=site,
        skill=found.code,
        start=start,
        end=start + dt.timedelta(hours=hours),
        seats=seats,
        bonus_minor=bonus_minor,
        now=now,
    )
    shift.opened_at = now - dt.timedelta(minutes=opened_minutes_ago)
    await db.commit()
    return shift


async def a_claimed_shift(
    db: AsyncSession,
    site: Site,
    agent: User,
    skill: Skill | str = "billing",
    *,
    start: dt.datetime,
    now: dt.datetime,
) -> Shift:
    """A 4-hour, one-seat open shift (see ``an_open_shift``) that ``agent`` claimed on the marketplace at ``now``."""
    shift = await an_open_shift(db, site, skill, start=start, now=now, seats=1)
    await market.claim_shift(db, shift_id=shift.id, agent=agent, now=now)
    await db.commit()
    return shift


async def a_held_shift(
    db: AsyncSession,
    agent: User,
    start: dt.datetime,
    *,
    slots: int = 4,
    skill: Skill | str = "billing",
    taken_at: dt.datetime | None = None,
    released_at: dt.datetime | None = None,
    cancelled_at: dt.datetime | None = None,
    bonus_minor: int = 0,
    no_show_at: dt.datetime | None = None,
    waived_at: dt.datetime | None = None,
) -> Shift:
    """A one-seat manual shift of ``slots`` half-hours from ``start``, its seat written straight in for ``agent``.

    The seat was taken three days before the start unless ``taken_at`` says otherwise; a ``released_at``
    gives it back (the shift is then empty). ``no_show_at`` (and ``waived_at``) record the attendance.
    """
    site = await accounts.get_site(db, agent.site_id)
    found = await _skill_of(db, site, skill)
    shift = Shift(
        site_id=agent.site_id,
        skill_id=found.id,
        start_slot=slot_of(start),
        end_slot=slot_of(start) + slots,
        seats=1,
        taken=0 if released_at else 1,
        origin=ShiftOrigin.manual,
        bonus_minor=bonus_minor,
        cancelled_at=cancelled_at,
    )
    db.add(shift)
    await db.flush()
    seat = ShiftSeat(
        shift_id=shift.id,
        user_id=agent.id,
        taken_at=start - dt.timedelta(days=3) if taken_at is None else taken_at,
        released_at=released_at,
    )
    db.add(seat)
    await db.flush()
    if no_show_at is not None:
        db.add(Attendance(seat_id=seat.id, no_show_at=no_show_at, waived_at=waived_at))
    await db.commit()
    return shift


# Learning ------------------------------------------------------------------------------------------------


def text(en: str, zh: str | None = None) -> dict[str, str]:
    """A course document's localized text: English, and Chinese when given."""
    return {"en": en, "zh-Hans": zh} if zh else {"en": en}


def choice(cid: str, correct: bool = False) -> dict[str, Any]:
    """A choice of a ``sample_course`` question, named after its id."""
    return {"id": cid, "text": text(f"Choice {cid}", f"选项 {cid}"), "correct": correct}


def sample_course(code: str = "billing-basics", certifies: str = "billing", **quiz: Any) -> dict[str, Any]:
    """The course document the learning tests share, as builtins: six questions of every kind, four drawn.

    ``quiz`` overrides the quiz's settings (``draw``, ``cooldown_minutes``...); tests change a copy to break
    one rule.
    """
    questions = [
        {"id": "q1", "kind": "single", "prompt": text("Refund window?"), "explanation": text("30 days."),
         "choices": [choice("a", True), choice("b"), choice("c")]},
        {"id": "q2", "kind": "multiple", "prompt": text("Which are needed?"), "explanation": text("Order and email."),
         "choices": [choice("a", True), choice("b", True), choice("c"), choice("d")]},
        {"id": "q3", "kind": "true_false", "prompt": text("Card numbers may be read aloud."),
         "explanation": text("Never."), "choices": [choice("t"), choice("f", True)]},
        {"id": "q4", "kind": "ordering", "prompt": text("Put the steps in order."),
         "explanation": text("Greet, verify, solve, close."),
         "choices": [choice("greet"), choice("verify"), choice("solve"), choice("close")]},
        {"id": "q5", "kind": "single", "prompt": text("Escalate when?"), "explanation": text("Over 500."),
         "choices": [choice("a"), choice("b", True)]},
        {"id": "q6", "kind": "multiple", "prompt": text("Disputes need?"), "explanation": text("All three."),
         "choices": [choice("a", True), choice("b", True), choice("c", True), choice("d")]},
    ]  # fmt: skip
    return {
        "format": "weft-course/1",
        "code": code,
        "title": text("Billing basics", "账单基础"),
        "summary": text("Refunds and disputes.", "退款与争议。"),
        "estimated_minutes": 6,
        "certifies": certifies,
        "lessons": [
            {"kind": "text", "title": text("Refunds"), "body": text("Refunds take **30 days**.")},
            {"kind": "video", "title": text("Watch"), "video_url": "https://example.com/v.mp4"},
            {
                "kind": "scenario",
                "title": text("An angry caller"),
                "customer_says": text("I was charged twice!"),
                "replies": [
                    {"text": text("Calm down."), "feedback": text("Dismissive.")},
                    {"text": text("Let me check both charges."), "feedback": text("Good."), "best": True},
                ],
            },
        ],
        "quiz": {"draw": 4, "pass_percent": 80, "questions": questions, **quiz},
    }


async def a_course(
    db: AsyncSession,
    site: Site,
    document: dict[str, Any] | None = None,
    *,
    author: User | None = None,
    now: dt.datetime | None = None,
) -> Course:
    """A published course from ``document`` (``sample_course()`` by default), imported at ``now``.

    ``now`` defaults to the current time. The skill the course certifies is made if missing; the author
    defaults to a coordinator of the site (made if there is none).
    """
    document = sample_course() if document is None else document
    if document["certifies"] != courses.ONBOARDING:
        await a_skill(db, site, document["certifies"])
    if author is None:
        author = await db.scalar(select(User).where(User.site_id == site.id, User.role == Role.coordinator))
    if author is None:
        author = await accounts.create_user(
            db, site=site, email=f"author-{site.id}@example.com", display_name="Author", role=Role.coordinator
        )
    course = await courses.import_course(db, site=site, raw=json.dumps(document), author=author, publish=True, now=now)
    await db.commit()
    return course


# Pay ------------------------------------------------------------------------------------------------------


async def a_rate_card(db: AsyncSession, site: Site, rates: dict[str, Any], *, effective_from: dt.date) -> RateCard:
    """The site's rate card in CNY, ``rates`` as the JSON document stores them, from ``effective_from`` on."""
    card = RateCard(site_id=site.id, effective_from=effective_from, currency="CNY", rates=rates)
    db.add(card)
    await db.commit()
    return card


# The roster solver's inputs (no database) -------------------------------------------------------------


def a_solver_agent(agent_id: str, slots: Iterable[int], skills: Sequence[str] = ("support",), **extra: Any) -> Agent:
    """A solver agent offering every slot of ``slots`` (preferred) for ``skills``; ``extra`` sets the rest."""
    return Agent(agent_id=agent_id, skills=list(skills), offers=[Offer(t) for t in slots], **extra)


def solver_demand(
    slots: Iterable[int], agents: int = 1, skill: str = "support", priority: int = 1
) -> list[Requirement]:
    """``agents`` agents of ``skill`` needed in each slot of ``slots``."""
    return [Requirement(skill=skill, slot=t, agents=agents, priority=priority) for t in slots]


def a_solver_week(agents: list[Agent], requirements: list[Requirement], rules: SiteRules, **extra: Any) -> Problem:
    """A two-day problem (96 half-hour slots from slot 0) under ``rules``; ``extra`` sets fixed work and more."""
    return Problem(first_slot=0, slot_count=96, agents=agents, requirements=requirements, rules=rules, **extra)


async def a_pay_period_before_all(session: AsyncSession, site: Site) -> tuple[PayPeriod, dt.datetime]:
    """A new open pay period just before the site's earliest, and a moment inside it (its second day at noon).

    A browser test that needs a locked statement seeds its work there and locks it: being the site's oldest, it
    can be locked whatever other tests sharing the server locked before (a period further back would make
    ``period_for`` fill the gap with open periods, which a later lock of a newer period refuses to pass).
    """
    earliest = await session.scalar(
        select(PayPeriod).where(PayPeriod.site_id == site.id).order_by(PayPeriod.starts_on).limit(1)
    )
    day = (earliest.starts_on if earliest is not None else periods.site_today(site, utcnow())) - dt.timedelta(days=1)
    period = await periods.period_for(session, site=site, day=day)
    noon = dt.datetime.combine(period.starts_on + dt.timedelta(days=1), dt.time(12), ZoneInfo(site.timezone))
    return period, noon.astimezone(dt.UTC)


# The duty routine (ops) ----------------------------------------------------------------------------------


async def a_lead(db: AsyncSession, site: Site, agent: User, *, now: dt.datetime | None = None) -> ShiftLead:
    """``agent`` named a shift lead of ``site`` (since ``now``, by default an hour ago)."""
    lead = ShiftLead(site_id=site.id, user_id=agent.id, named_at=now or utcnow() - dt.timedelta(hours=1))
    db.add(lead)
    await db.commit()
    return lead


async def a_duty(db: AsyncSession, site: Site, user: User, *, start: dt.datetime, hours: float = 4) -> Duty:
    """``user`` on duty at ``site`` for ``hours`` from ``start`` (written straight in, no overlap check)."""
    duty = Duty(site_id=site.id, user_id=user.id, starts_at=start, ends_at=start + dt.timedelta(hours=hours))
    db.add(duty)
    await db.commit()
    return duty
