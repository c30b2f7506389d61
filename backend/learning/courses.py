"""Courses: create, draft, publish, import and export, and how far an agent has read.

A course's document is ``content.CourseContent``. msgspec checks each field;
``content_problems`` checks what msgspec cannot (ids unique, exactly one
correct choice for a single-choice question, ...). Every write here is
all-or-nothing: a document with a problem is refused whole, naming the first
problem's path (``quiz.questions[3].choices``), before anything is stored.

A course has at most one draft. Publishing it makes it the course's current
version and retires the one before; attempts keep the version they were drawn
from, so nothing an agent is doing changes under them.
"""

from __future__ import annotations

import datetime as dt
import re

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill, User
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.learning.content import CourseContent, Text
from backend.learning.models import Course, CourseProgress, CourseVersion, LessonProgress, VersionStatus

ONBOARDING = "onboarding"
DEFAULT_LOCALE = "en"
TITLE_MAX_CHARS = 200
_MSGSPEC_PATH = re.compile(r"`\$\.?([^`]*)`")


def localized(text: Text | dict[str, str] | None, locale: str) -> str:
    """The reader's language, else English, else the first language written."""
    if not text:
        return ""
    if locale in text:
        return text[locale]  # type: ignore[index]
    if DEFAULT_LOCALE in text:
        return text[DEFAULT_LOCALE]  # type: ignore[index]
    return next(iter(text.values()))


def _duplicates(keys: list[str]) -> list[int]:
    seen: set[str] = set()
    repeated = []
    for index, key in enumerate(keys):
        if key in seen:
            repeated.append(index)
        seen.add(key)
    return repeated


def content_problems(content: CourseContent) -> list[tuple[str, str]]:
    """The rules msgspec cannot express, as (path, message); empty when the course is sound.

    Whether ``certifies`` names a skill of the site needs the database: ``check_certifies``.
    """
    problems: list[tuple[str, str]] = []
    for index, lesson in enumerate(content.lessons):
        path = f"lessons[{index}]"
        if lesson.kind == "text" and not lesson.body:
            problems.append((f"{path}.body", _("A text lesson needs a body.")))
        if lesson.kind == "video" and not lesson.video_url:
            problems.append((f"{path}.video_url", _("A video lesson needs a video address.")))
        if lesson.kind == "scenario":
            if not lesson.customer_says:
                problems.append((f"{path}.customer_says", _("A scenario card needs what the customer says.")))
            if len(lesson.replies) < 2:
                problems.append((f"{path}.replies", _("A scenario card needs at least two replies to choose from.")))
            elif sum(reply.best for reply in lesson.replies) != 1:
                problems.append((f"{path}.replies", _("A scenario card needs exactly one best reply.")))
    quiz = content.quiz
    for index in _duplicates([question.id for question in quiz.questions]):
        problems.append((f"quiz.questions[{index}].id", _("Question ids must be unique in a course.")))
    if quiz.draw > len(quiz.questions):
        problems.append(
            (
                "quiz.draw",
                _("The quiz draws %(draw)s questions but has %(count)s.", draw=quiz.draw, count=len(quiz.questions)),
            )
        )
    for index, question in enumerate(quiz.questions):
        path = f"quiz.questions[{index}]"
        for choice_index in _duplicates([choice.id for choice in question.choices]):
            problems.append((f"{path}.choices[{choice_index}].id", _("Choice ids must be unique in a question.")))
        correct = sum(choice.correct for choice in question.choices)
        if question.kind == "true_false" and len(question.choices) != 2:
            problems.append((f"{path}.choices", _("A true/false question has exactly two choices.")))
        if question.kind in ("single", "true_false") and correct != 1:
            problems.append((f"{path}.choices", _("This question needs exactly one correct choice.")))
        if question.kind == "multiple" and correct < 1:
            problems.append((f"{path}.choices", _("A multiple-choice question needs at least one correct choice.")))
    return problems


def _readable_path(message: str) -> str | None:
    match = _MSGSPEC_PATH.search(message)
    return match.group(1) if match else None


def parse_course(raw: bytes | str) -> CourseContent:
    """A course document from JSON, or a DomainError (422) naming the first problem's path."""
    try:
        content = msgspec.json.decode(raw, type=CourseContent)
    except msgspec.ValidationError as error:
        message = str(error)
        path = _readable_path(message)
        readable = message.split(" - at `", 1)[0]
        raise DomainError(f"{path}: {readable}" if path else readable, field=path or "content") from None
    except msgspec.DecodeError as error:
        raise DomainError(_("The course is not valid JSON: %(error)s", error=str(error)), field="content") from None
    check_content(content)
    return content


def check_content(content: CourseContent) -> None:
    """Refuse a course document with a problem, naming the first one."""
    problems = content_problems(content)
    if problems:
        path, message = problems[0]
        raise DomainError(f"{path}: {message}", field=path)


async def check_certifies(session: AsyncSession, *, site_id: int, content: CourseContent) -> Skill | None:
    """The skill a course certifies (None for onboarding); a code the site does not have is refused."""
    if content.certifies == ONBOARDING:
        return None
    skill = await session.scalar(select(Skill).where(Skill.site_id == site_id, Skill.code == content.certifies))
    if skill is None:
        raise DomainError(
            _('certifies: %(code)s is not a skill of this site (or "onboarding").', code=repr(content.certifies)),
            field="certifies",
        )
    return skill


def _title_of(content: CourseContent) -> str:
    return localized(content.title, DEFAULT_LOCALE)[:TITLE_MAX_CHARS]


def _new_version(course: Course, number: int, content: CourseContent, author: User, now: dt.datetime) -> CourseVersion:
    return CourseVersion(
        course_id=course.id,
        number=number,
        content=msgspec.to_builtins(content),
        title=_title_of(content),
        certifies=content.certifies,
        status=VersionStatus.draft,
        created_at=now,
        created_by_id=author.id,
    )


async def create_course(
    session: AsyncSession, *, site: Site, content: CourseContent, author: User, now: dt.datetime | None = None
) -> Course:
    """A new course of ``site`` with ``content`` as its draft version 1; a code already used is refused."""
    check_content(content)
    await check_certifies(session, site_id=site.id, content=content)
    taken = await session.scalar(select(Course.id).where(Course.site_id == site.id, Course.code == content.code))
    if taken is not None:
        raise DomainError(_("A course with code %(code)s already exists.", code=repr(content.code)), field="code")
    now = now or dt.datetime.now(dt.UTC)
    course = Course(site_id=site.id, code=content.code, created_at=now)
    session.add(course)
    await session.flush()
    session.add(_new_version(course, 1, content, author, now))
    await session.flush()
    return course


async def save_draft(
    session: AsyncSession, *, course: Course, content: CourseContent, author: User, now: dt.datetime | None = None
) -> CourseVersion:
    """Replace the course's draft with ``content``, starting a new draft version when there is none.

    The code is the course's identity and cannot change.
    """
    if content.code != course.code:
        raise DomainError(
            _("The code of a course cannot change (it is %(code)s).", code=repr(course.code)), field="code"
        )
    check_content(content)
    await check_certifies(session, site_id=course.site_id, content=content)
    now = now or dt.datetime.now(dt.UTC)
    draft = await draft_version(session, course_id=course.id)
    if draft is None:
        number = await session.scalar(
            select(func.max(CourseVersion.number)).where(CourseVersion.course_id == course.id)
        )
        draft = _new_version(course, (number or 0) + 1, content, author, now)
        session.add(draft)
    else:
        draft.content = msgspec.to_builtins(content)
        draft.title = _title_of(content)
        draft.certifies = content.certifies
        draft.created_at, draft.created_by_id = now, author.id
    await session.flush()
    return draft


async def publish_course(
    session: AsyncSession, *, course: Course, by: User, now: dt.datetime | None = None
) -> CourseVersion:
    """Make the draft the current version; the previous one retires, attempts on it are untouched."""
    draft = await draft_version(session, course_id=course.id)
    if draft is None:
        raise Conflict(_("There is no draft to publish: edit the course first."), field="course")
    content = content_of(draft)
    check_content(content)
    await check_certifies(session, site_id=course.site_id, content=content)
    now = now or dt.datetime.now(dt.UTC)
    previous = await current_version(session, course_id=course.id)
    if previous is not None:
        previous.status = VersionStatus.retired
        await session.flush()
    draft.status = VersionStatus.published
    draft.published_at, draft.published_by_id = now, by.id
    course.archived_at = None
    await session.flush()
    return draft


async def archive_course(session: AsyncSession, *, course: Course, now: dt.datetime) -> Course:
    """Hide a course from agents and stop new attempts; certifications it granted stand."""
    course.archived_at = course.archived_at or now
    await session.flush()
    return course


async def import_course(
    session: AsyncSession,
    *,
    site: Site,
    raw: bytes | str,
    author: User,
    publish: bool = False,
    now: dt.datetime | None = None,
) -> Course:
    """A course from its JSON: new, or a new draft of the site's course with that code. All or nothing."""
    content = parse_course(raw)
    course = await session.scalar(select(Course).where(Course.site_id == site.id, Course.code == content.code))
    if course is None:
        course = await create_course(session, site=site, content=content, author=author, now=now)
    else:
        await save_draft(session, course=course, content=content, author=author, now=now)
    if publish:
        await publish_course(session, course=course, by=author, now=now)
    return course


def export_course(version: CourseVersion) -> bytes:
    """The version's document as stable, indented JSON (fields in format order); ``import_course`` reads it back."""
    return msgspec.json.format(msgspec.json.encode(content_of(version)), indent=2) + b"\n"


async def course_of_site(session: AsyncSession, *, site_id: int, course_id: int) -> Course:
    course = await session.get(Course, course_id)
    if course is None or course.site_id != site_id:
        raise NotFound("course")
    return course


async def courses_of_site(session: AsyncSession, *, site_id: int) -> list[Course]:
    return list(await session.scalars(select(Course).where(Course.site_id == site_id).order_by(Course.code)))


async def current_version(session: AsyncSession, *, course_id: int) -> CourseVersion | None:
    """The version agents take: the newest published one."""
    return await session.scalar(
        select(CourseVersion)
        .where(CourseVersion.course_id == course_id, CourseVersion.status == VersionStatus.published)
        .order_by(CourseVersion.number.desc())
        .limit(1)
    )


async def draft_version(session: AsyncSession, *, course_id: int) -> CourseVersion | None:
    return await session.scalar(
        select(CourseVersion).where(CourseVersion.course_id == course_id, CourseVersion.status == VersionStatus.draft)
    )


async def versions_of(session: AsyncSession, *, course_id: int) -> list[CourseVersion]:
    """Every version of a course, newest first."""
    return list(
        await session.scalars(
            select(CourseVersion).where(CourseVersion.course_id == course_id).order_by(CourseVersion.number.desc())
        )
    )


async def version_of(session: AsyncSession, *, version_id: int) -> CourseVersion:
    version = await session.get(CourseVersion, version_id)
    if version is None:
        raise NotFound("course version")
    return version


def content_of(version: CourseVersion) -> CourseContent:
    return msgspec.convert(version.content, CourseContent)


async def published_courses(session: AsyncSession, *, site_id: int) -> list[tuple[Course, CourseVersion]]:
    """The site's courses agents can take (not archived, with a published version), by code."""
    rows = await session.execute(
        select(Course, CourseVersion)
        .join(CourseVersion, CourseVersion.course_id == Course.id)
        .where(Course.site_id == site_id, Course.archived_at.is_(None))
        .where(CourseVersion.status == VersionStatus.published)
        .order_by(Course.code, CourseVersion.number.desc())
    )
    seen: dict[int, tuple[Course, CourseVersion]] = {}
    for course, version in rows:
        seen.setdefault(course.id, (course, version))
    return list(seen.values())


async def agent_course(session: AsyncSession, *, agent: User, course_id: int) -> tuple[Course, CourseVersion]:
    """A course an agent may read: of their site, not archived, published; else 404."""
    course = await course_of_site(session, site_id=agent.site_id, course_id=course_id)
    version = await current_version(session, course_id=course.id)
    if course.archived_at is not None or version is None:
        raise NotFound("course")
    return course, version


async def progress_of(session: AsyncSession, *, user_id: int, course_id: int) -> CourseProgress | None:
    return await session.scalar(
        select(CourseProgress).where(CourseProgress.user_id == user_id, CourseProgress.course_id == course_id)
    )


async def record_lesson_done(
    session: AsyncSession, *, agent: User, course_id: int, lesson_index: int, now: dt.datetime
) -> CourseProgress:
    """Remember that the agent went through lesson ``lesson_index`` (0-based) of the current version.

    The lesson itself is recorded (a required course's quiz asks for every one: ``lessons_read``), and the
    furthest lesson reached, which only moves forward; a newer version keeps the count, capped at its lessons.
    """
    _course, version = await agent_course(session, agent=agent, course_id=course_id)
    lessons = len(content_of(version).lessons)
    if not 0 <= lesson_index < lessons:
        raise DomainError(_("There is no lesson %(number)s in this course.", number=lesson_index + 1), field="lesson")
    progress = await progress_of(session, user_id=agent.id, course_id=course_id)
    if progress is None:
        progress = CourseProgress(user_id=agent.id, course_id=course_id, version_id=version.id, lessons_done=0)
        session.add(progress)
    progress.lessons_done = min(max(progress.lessons_done, lesson_index + 1), lessons)
    progress.version_id, progress.updated_at = version.id, now
    await session.flush()
    if lesson_index not in await lessons_read(session, user_id=agent.id, course_id=course_id):
        try:
            async with session.begin_nested():  # a double tap may record it at the same moment
                session.add(
                    LessonProgress(user_id=agent.id, course_id=course_id, lesson_index=lesson_index, done_at=now)
                )
        except IntegrityError:
            pass
    return progress


async def lessons_read(session: AsyncSession, *, user_id: int, course_id: int) -> set[int]:
    """The lessons (0-based) of a course the agent went through."""
    return set(
        await session.scalars(
            select(LessonProgress.lesson_index).where(
                LessonProgress.user_id == user_id, LessonProgress.course_id == course_id
            )
        )
    )


async def lessons_read_by_course(session: AsyncSession, *, user_id: int) -> dict[int, set[int]]:
    """Every course's lessons (0-based) the agent went through, by course id."""
    read: dict[int, set[int]] = {}
    rows = await session.execute(
        select(LessonProgress.course_id, LessonProgress.lesson_index).where(LessonProgress.user_id == user_id)
    )
    for course_id, index in rows:
        read.setdefault(course_id, set()).add(index)
    return read
