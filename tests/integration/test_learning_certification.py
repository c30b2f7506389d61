"""What passing grants: a certification with the site's expiry, onboarding, expiry and the reminder before it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.accounts.site_settings import update_site_settings
from backend.certifications import jobs
from backend.certifications.models import Certification
from backend.certifications.service import ADMIN_OVERRIDE, certified_skill_codes, grant_certification, skills_in_force
from backend.core.i18n import date_text, speaking
from backend.learning import courses, quiz
from backend.learning.models import Course
from backend.notify.models import Kind, Notification
from tests.factories import Factory, a_course, sample_course
from tests.integration.test_learning_quiz import NOW, PUBLISHED, right_answers, wrong_answers

DAY = dt.timedelta(days=1)


@pytest.fixture
async def staff(people: Factory) -> User:
    return await people.make(Role.coordinator)


@pytest.fixture
async def agent(people: Factory) -> User:
    return await people.make(Role.agent)


async def read_every_lesson(db: AsyncSession, agent: User, course: Course, *, now: dt.datetime) -> None:
    """What the agent's Next and Finish buttons record, lesson by lesson (required courses' quizzes ask for it)."""
    _course, version = await courses.agent_course(db, agent=agent, course_id=course.id)
    for index in range(len(courses.content_of(version).lessons)):
        await courses.record_lesson_done(db, agent=agent, course_id=course.id, lesson_index=index, now=now)


async def take(db: AsyncSession, agent: User, course: Course, *, now: dt.datetime, good: bool = True) -> bool:
    """Read the lessons, then answer the quiz right (or wrong)."""
    await read_every_lesson(db, agent, course, now=now)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=now)
    content = await quiz.attempt_content(db, attempt=attempt)
    answers = right_answers(attempt, content) if good else wrong_answers(attempt, content)
    done = await quiz.submit_attempt(db, agent=agent, attempt_id=attempt.id, answers=answers, now=now)
    await db.commit()
    return bool(done.passed)


async def certification(db: AsyncSession, agent: User) -> Certification | None:
    return await db.scalar(select(Certification).where(Certification.user_id == agent.id))


async def test_passing_grants_the_skill_with_the_sites_expiry(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    await update_site_settings(db, site, certification_valid_days=90)
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    assert await certified_skill_codes(db, user_id=agent.id, now=NOW) == []
    assert not await take(db, agent, course, now=NOW, good=False)
    assert await certification(db, agent) is None
    assert await take(db, agent, course, now=NOW + DAY)
    held = await certification(db, agent)
    assert held is not None
    assert (held.expires_at, held.source) == (NOW + DAY + 90 * DAY, quiz.COURSE_SOURCE)
    assert await certified_skill_codes(db, user_id=agent.id, now=NOW + DAY) == ["billing"]


async def test_an_expired_certification_no_longer_counts(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    await update_site_settings(db, site, certification_valid_days=30)
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    await take(db, agent, course, now=NOW)
    expiry = NOW + 30 * DAY
    assert await certified_skill_codes(db, user_id=agent.id, now=expiry - dt.timedelta(seconds=1)) == ["billing"]
    assert await certified_skill_codes(db, user_id=agent.id, now=expiry) == []
    assert await skills_in_force(db, user_ids=[agent.id], now=expiry) == {}
    [listed] = await quiz.courses_for_agent(db, agent=agent, now=expiry + DAY)
    assert (listed.status, listed.required, listed.passed) == ("expired", True, True)


async def test_onboarding_is_set_only_when_every_onboarding_course_is_passed(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    service_basics = await a_course(
        db, site, sample_course(code="service-basics", certifies="onboarding"), author=staff, now=PUBLISHED
    )
    privacy = await a_course(
        db, site, sample_course(code="privacy", certifies="onboarding"), author=staff, now=PUBLISHED
    )
    await take(db, agent, service_basics, now=NOW)
    await db.refresh(agent)
    assert agent.onboarded_at is None
    assert await quiz.onboarding_course_ids(db, site_id=site.id) == {service_basics.id, privacy.id}
    await take(db, agent, privacy, now=NOW + DAY)
    await db.refresh(agent)
    assert agent.onboarded_at is not None
    assert await certified_skill_codes(db, user_id=agent.id, now=NOW + DAY) == []  # onboarding is not a skill


async def test_the_reminder_goes_once_before_expiry_and_again_after_renewal(
    db: AsyncSession, site: Site, staff: User, people: Factory
) -> None:
    await update_site_settings(db, site, certification_valid_days=60, certification_reminder_days=14)
    agent = await people.make(Role.agent, locale="zh-Hans")
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    await take(db, agent, course, now=NOW)
    expiry = NOW + 60 * DAY
    assert await jobs.remind_expiring_certifications(db, now=expiry - 15 * DAY) == 0
    assert await jobs.remind_expiring_certifications(db, now=expiry - 14 * DAY) == 1
    assert await jobs.remind_expiring_certifications(db, now=expiry - 13 * DAY) == 0
    notes = list(await db.scalars(select(Notification).where(Notification.user_id == agent.id)))
    assert [(note.kind, note.url) for note in notes] == [(Kind.certification_expiring, "/app/learn")]
    with speaking("zh-Hans"):  # the agent reads Chinese: the date is written the Chinese way
        assert date_text(expiry.astimezone(dt.timezone(dt.timedelta(hours=8))).date()) in notes[0].title
    await take(db, agent, course, now=expiry - 10 * DAY)  # renewed: a new expiry, a new reminder later
    held = await certification(db, agent)
    assert held is not None
    assert held.reminded_at is None
    assert await jobs.remind_expiring_certifications(db, now=expiry - 9 * DAY) == 0
    assert await jobs.remind_expiring_certifications(db, now=held.expires_at - 14 * DAY) == 1  # type: ignore[operator]


async def test_an_admin_granted_certification_is_reminded_too_and_one_without_expiry_never(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await accounts.ensure_skill(db, site=site, code="tech", name="Tech support")
    lapsing, forever = await people.make(Role.agent), await people.make(Role.agent)
    await grant_certification(db, user=lapsing, skill=skill, source=ADMIN_OVERRIDE, expires_at=NOW + 3 * DAY, now=NOW)
    await grant_certification(db, user=forever, skill=skill, source=ADMIN_OVERRIDE, now=NOW)
    assert await jobs.remind_expiring_certifications(db, now=NOW) == 1
    assert await jobs.remind_expiring_certifications(db, now=NOW + 4 * DAY) == 0  # already expired: nothing to say
