"""What the agent's Learn tab shows: their courses in the order they need them, and where each one stands.

The order, and why:

1. **Required.** Onboarding courses not yet passed while the agent is not
   onboarded (no shift can be claimed until they are), then courses whose
   certification has lapsed, then those expiring within the site's
   ``certification_reminder_days``, soonest first.
2. **Unlocks open shifts.** Courses that would let the agent take a shift on
   the marketplace right now: the shift's only obstacles are a missing
   certification or onboarding (a shift that is full, or clashes with one the
   agent holds, is not one a course unlocks). The marketplace's own list and
   reasons are asked, so the Learn tab and the Shifts tab never disagree.
   Shifts are grouped by skill ("Billing: 5 open shifts from today 16:30"),
   naming every course the agent needs to pass for them.
3. **In progress**: lessons read or a quiz attempt made, with the lesson to resume.
4. **Done**: passed, or covered by a certification the agent already holds.
5. **Other** courses, by title.

Each course appears once, in the first group that applies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Skill, User, skill_label
from backend.certifications.models import Certification
from backend.certifications.service import certified_skill_codes
from backend.core.errors import NotFound
from backend.core.i18n import current_locale
from backend.learning import courses, quiz
from backend.learning.courses import ONBOARDING, localized
from backend.learning.models import CoursePassCredit, QuizAttempt
from backend.shifts import market
from backend.shifts.allocation import Why

# A course can only unlock a shift kept from the agent by what a course grants; the tier window passes by itself.
COURSE_FIXABLE = frozenset({Why.not_certified, Why.not_onboarded})
UNLOCK_IGNORES = frozenset({Why.window})


@dataclass(frozen=True)
class CourseLink:
    course_id: int
    title: str


@dataclass
class Unlock:
    """The open shifts of one skill a course helps the agent take, and every course to pass for them.

    ``starts``/``ends`` are the first shift's; ``alone`` when passing this one course is enough.
    """

    skill_code: str
    skill_name: str
    starts: dt.datetime
    ends: dt.datetime
    courses: list[CourseLink]
    count: int = 1

    @property
    def alone(self) -> bool:
        return len(self.courses) == 1


@dataclass
class CourseCard:
    """One course as this agent stands with it, in the current published version's words."""

    course_id: int
    code: str
    title: str
    summary: str
    minutes: int
    certifies: str
    skill_name: str
    lessons_total: int
    lessons_done: int
    passed: bool
    best_percent: float | None
    open_attempt_id: int | None
    certified_until: dt.datetime | None = None  # the certification in force, if it has an expiry
    certified: bool = False  # a certification for the skill is in force (or onboarding is done)
    lapsed: bool = False  # the certification has expired
    expiring: bool = False  # in force, but within the site's reminder days
    required: bool = False
    unlocks: list[Unlock] = field(default_factory=list)
    lessons_read: frozenset[int] = frozenset()  # 1-based lesson numbers

    @property
    def is_onboarding(self) -> bool:
        return self.certifies == ONBOARDING

    @property
    def started(self) -> bool:
        return self.lessons_done > 0 or self.open_attempt_id is not None or self.best_percent is not None

    @property
    def resume_lesson(self) -> int | None:
        """The first lesson (1-based) not read yet; None once every lesson is read (the quiz is next)."""
        return next((n for n in range(1, self.lessons_total + 1) if n not in self.lessons_read), None)


@dataclass(frozen=True)
class Overview:
    required: list[CourseCard]
    unlocking: list[CourseCard]
    in_progress: list[CourseCard]
    done: list[CourseCard]
    others: list[CourseCard]

    @property
    def empty(self) -> bool:
        return not (self.required or self.unlocking or self.in_progress or self.done or self.others)


def _skill_names(skills: list[Skill]) -> dict[str, str]:
    return {skill.code: skill_label(skill) for skill in skills}


def _card(item: quiz.AgentCourse, agent: User, held: set[str], names: dict[str, str]) -> CourseCard:
    locale = current_locale()
    content = item.content
    card = CourseCard(
        course_id=item.course.id,
        code=item.course.code,
        title=localized(content.title, locale),
        summary=localized(content.summary, locale),
        minutes=content.estimated_minutes,
        certifies=content.certifies,
        skill_name=names.get(content.certifies, content.certifies),
        lessons_total=item.lessons_total,
        lessons_done=item.lessons_done,
        lessons_read=frozenset(index + 1 for index in item.lessons_read),
        passed=item.passed,
        best_percent=item.best_score_percent,
        open_attempt_id=item.open_attempt_id,
        lapsed=item.status == "expired",
        expiring=item.status == "expiring",
        required=item.required,
    )
    if card.is_onboarding:
        card.certified = agent.onboarded_at is not None
        card.required = card.required and not card.certified  # onboarded by an admin: nothing is required
    else:
        card.certified = content.certifies in held
        card.certified_until = item.certification_expires_at if card.certified else None
    return card


async def learn_overview(
    session: AsyncSession, *, agent: User, now: dt.datetime, open_shifts: market.Market | None = None
) -> Overview:
    """The agent's courses in the Learn tab's order (see the module docstring).

    ``open_shifts``: the marketplace as ``market.open_shifts_for`` lists it for this agent now (every shift, no
    filter), when the caller has it already: Home shows both, and computing the market is most of its cost.
    """
    listed = await quiz.courses_for_agent(session, agent=agent, now=now)
    held = set(await certified_skill_codes(session, user_id=agent.id))
    names = _skill_names(list(await session.scalars(select(Skill).where(Skill.site_id == agent.site_id))))
    cards = [_card(item, agent, held, names) for item in listed]
    if open_shifts is None:
        open_shifts = await market.open_shifts_for(session, agent=agent, now=now)
    _add_unlocks(open_shifts, cards)
    return _grouped(cards)


def _add_unlocks(view: market.Market, cards: list[CourseCard]) -> None:
    """Attach to each course the open shifts it would help the agent take, from the marketplace's own reasons."""
    onboarding_left = [c for c in cards if c.is_onboarding and not c.passed]
    for shift in sorted(view.shifts, key=lambda s: s.starts):
        blocking = {reason.code for reason in shift.reasons} - UNLOCK_IGNORES
        if not blocking or not blocking <= COURSE_FIXABLE:
            continue
        onboarding = onboarding_left if Why.not_onboarded in blocking else []
        teaching: list[CourseCard] = []
        if Why.not_certified in blocking:
            teaching = sorted((c for c in cards if c.certifies == shift.skill_code), key=lambda c: c.minutes)
            if not teaching:
                continue  # no course teaches the skill: no course unlocks the shift
        for card in onboarding:
            _count_shift(card, shift, [*onboarding, *teaching[:1]])
        for card in teaching:
            _count_shift(card, shift, [*onboarding, card])


def _count_shift(card: CourseCard, shift: market.OpenShift, needed: list[CourseCard]) -> None:
    """Count one open shift in the card's group for its skill and courses; a new group starts at this shift."""
    links = [CourseLink(c.course_id, c.title) for c in needed]
    for unlock in card.unlocks:
        if unlock.skill_code == shift.skill_code and unlock.courses == links:
            unlock.count += 1
            return
    card.unlocks.append(Unlock(shift.skill_code, shift.skill_name, shift.starts, shift.ends, links))


def _grouped(cards: list[CourseCard]) -> Overview:
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    required = sorted(
        (c for c in cards if c.required),
        key=lambda c: (not c.is_onboarding, not c.lapsed, c.certified_until or far, c.title),
    )
    rest = [c for c in cards if not c.required]
    unlocking = sorted((c for c in rest if c.unlocks and not c.certified), key=lambda c: (c.unlocks[0].starts, c.title))
    rest = [c for c in rest if c not in unlocking]
    in_progress = [c for c in rest if c.started and not c.passed and not c.certified]
    rest = [c for c in rest if c not in in_progress]
    done = sorted((c for c in rest if c.passed or c.certified), key=lambda c: c.title)
    others = sorted((c for c in rest if c not in done), key=lambda c: c.title)
    return Overview(required, unlocking, in_progress, done, others)


async def course_card(session: AsyncSession, *, agent: User, course_id: int, now: dt.datetime) -> CourseCard:
    """One course as the overview shows it; another site's course, an archived or unpublished one, is 404."""
    course, _version = await courses.agent_course(session, agent=agent, course_id=course_id)
    overview = await learn_overview(session, agent=agent, now=now)
    groups = (overview.required, overview.unlocking, overview.in_progress, overview.done, overview.others)
    card = next((c for group in groups for c in group if c.course_id == course.id), None)
    if card is None:
        raise NotFound("course")
    return card


async def finish_goes_to_quiz(session: AsyncSession, *, agent: User, course_id: int, now: dt.datetime) -> bool:
    """Whether the last lesson's button leads on to the quiz: not for a course already passed and not due again."""
    item = next(c for c in await quiz.courses_for_agent(session, agent=agent, now=now) if c.course.id == course_id)
    return item.required or not item.passed


async def quiz_after_lessons(
    session: AsyncSession, *, agent: User, course_id: int, now: dt.datetime
) -> QuizAttempt | None:
    """Where "Finish and go to the quiz" lands: the attempt in progress, or a new one when the gate allows it.

    None when the quiz is not next (passed and not due again) or cannot start now (a cooldown, the daily limit,
    lessons still unread): the course page then says why.
    """
    if not await finish_goes_to_quiz(session, agent=agent, course_id=course_id, now=now):
        return None
    try:
        async with session.begin_nested():
            return await quiz.start_attempt(session, agent=agent, course_id=course_id, now=now)
    except quiz.AttemptRefused:
        return None


async def course_for_skill(session: AsyncSession, *, agent: User, skill_code: str) -> int | None:
    """The course to send an agent to for a skill they lack: the shortest published one, oldest first."""
    matching = [
        (courses.content_of(version).estimated_minutes, course.id)
        for course, version in await courses.published_courses(session, site_id=agent.site_id)
        if version.certifies == skill_code
    ]
    return min(matching)[1] if matching else None


async def pass_credit(session: AsyncSession, *, attempt_id: int) -> CoursePassCredit | None:
    """The pay earned by passing with this attempt: only the first pass earns it, and only if the site pays."""
    return await session.scalar(select(CoursePassCredit).where(CoursePassCredit.attempt_id == attempt_id))


async def certification_for(session: AsyncSession, *, agent: User, skill_code: str) -> Certification | None:
    return await session.scalar(
        select(Certification)
        .join(Skill, Skill.id == Certification.skill_id)
        .where(Certification.user_id == agent.id, Skill.code == skill_code, Skill.site_id == agent.site_id)
    )
