"""Quiz attempts: draw, resume, submit, score, and what a pass grants.

The server keeps what it drew: ``QuizAttempt.drawn`` lists the questions and
the order their choices were shown in, and a submission may only answer those,
each once, with those choices, before the time limit (plus ``GRACE_SECONDS``
for a slow connection). Anything else is refused whole (422 naming the answer)
and the attempt stays open. So is a submission with drawn questions left blank,
unless the agent confirmed it (``confirm_blanks``): a blank earns 0, and a
failure starts the cooldown, so it must be what the agent meant. An attempt is
scored against its own version, so a version published meanwhile changes
nothing for it.

Limits, per course: after a failed attempt the agent waits ``cooldown_minutes``;
at most ``attempts_per_day`` attempts start per site-local day. An attempt
left open past its time limit has ended (unscored) and counts as a failure for
the cooldown, which runs from its deadline.

A pass grants the course's certification, expiring after the site's
``certification_valid_days`` (an onboarding course instead marks the agent
onboarded once every published onboarding course of the site is passed),
records the paid-to-learn credit the first time, and every question not fully
right becomes a drill card (``drills``), pass or fail.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import msgspec
from babel.lists import format_list
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill, User
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone, user_zone
from backend.certifications.models import Certification
from backend.certifications.service import grant_certification, mark_onboarded
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.i18n import current_locale, ngettext
from backend.core.i18n import gettext as _
from backend.core.slots import IsoWeek, local_midnight
from backend.learning import courses, drills, scoring
from backend.learning.content import CourseContent, Question, Text
from backend.learning.models import (
    Course,
    CoursePassCredit,
    CourseVersion,
    QuizAttempt,
)

GRACE_SECONDS = 30
COURSE_SOURCE = "course"


class AttemptGate(msgspec.Struct, kw_only=True):
    """Whether an agent may start an attempt now, and if not, why and when they may.

    ``reason``: "" (may start), "open_attempt" (may resume ``open_attempt_id``; can_start is True),
    "lessons_unread" (a required course: ``lessons_unread`` lists the lessons, 1-based, still to read),
    "cooldown", "daily_limit", "unpublished", "archived".
    """

    can_start: bool
    reason: str
    message: str
    next_start_at: dt.datetime | None
    attempts_today: int
    attempts_per_day: int
    open_attempt_id: int | None
    lessons_unread: list[int] = []


class BlankAnswers(DomainError):
    """Drawn questions were left unanswered and the agent did not confirm: 422 naming them, nothing stored."""

    def __init__(self, blank: list[str]) -> None:
        super().__init__(
            ngettext(
                "%(num)d question is unanswered (%(keys)s): answer it, or confirm to submit anyway.",
                "%(num)d questions are unanswered (%(keys)s): answer them, or confirm to submit anyway.",
                len(blank),
                keys=", ".join(blank),
            ),
            field=f"answers.{blank[0]}",
        )
        self.blank = blank


class AttemptRefused(Conflict):
    """Starting an attempt is refused (cooldown, daily limit, course not published): 409, with the gate."""

    def __init__(self, gate: AttemptGate) -> None:
        super().__init__(gate.message, field="course")
        self.gate = gate


class LessonsUnread(AttemptRefused):
    """A required course's quiz before every lesson was read: 422, naming the lessons still to read."""

    status_code = 422


def is_open(attempt: QuizAttempt, now: dt.datetime) -> bool:
    """Not submitted and still inside its time limit."""
    return attempt.submitted_at is None and now <= attempt.deadline_at


def accepts_answers(attempt: QuizAttempt, now: dt.datetime) -> bool:
    """Whether a submission now is in time: the time limit plus ``GRACE_SECONDS`` for a slow connection."""
    return now <= attempt.deadline_at + dt.timedelta(seconds=GRACE_SECONDS)


def ended_at(attempt: QuizAttempt) -> dt.datetime:
    return attempt.submitted_at or attempt.deadline_at


def _site_day(now: dt.datetime, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    day = now.astimezone(zone).date()
    return local_midnight(day, zone), local_midnight(day + dt.timedelta(days=1), zone)


def _time_label(moment: dt.datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


async def attempt_gate(session: AsyncSession, *, agent: User, course_id: int, now: dt.datetime) -> AttemptGate:
    """The one answer to "may I start this quiz now?", used by the pages, the API and ``start_attempt``."""
    course = await courses.course_of_site(session, site_id=agent.site_id, course_id=course_id)
    version = await courses.current_version(session, course_id=course.id)
    if course.archived_at is not None or version is None:
        reason = "archived" if course.archived_at is not None else "unpublished"
        return AttemptGate(
            can_start=False,
            reason=reason,
            message=_("This course is not open for quizzes."),
            next_start_at=None,
            attempts_today=0,
            attempts_per_day=0,
            open_attempt_id=None,
        )
    content = courses.content_of(version)
    quiz = content.quiz
    site = await session.get(Site, agent.site_id)
    assert site is not None
    zone = site_zone(site)
    attempts = await attempts_of(session, agent=agent, course_id=course.id)
    day_start, day_end = _site_day(now, zone)
    today = sum(1 for attempt in attempts if day_start <= attempt.started_at < day_end)
    gate = {"attempts_today": today, "attempts_per_day": quiz.attempts_per_day}
    for attempt in attempts:
        if is_open(attempt, now):
            return AttemptGate(
                can_start=True,
                reason="open_attempt",
                message="",
                next_start_at=None,
                open_attempt_id=attempt.id,
                **gate,
            )
    if await lessons_required(session, agent=agent, content=content, attempts=attempts, now=now):
        read = await courses.lessons_read(session, user_id=agent.id, course_id=course.id)
        unread = [index + 1 for index in range(len(content.lessons)) if index not in read]
        if unread:
            return AttemptGate(
                can_start=False,
                reason="lessons_unread",
                message=unread_message(content, unread),
                next_start_at=None,
                open_attempt_id=None,
                lessons_unread=unread,
                **gate,
            )
    waits: list[tuple[dt.datetime, str, str]] = []
    last = attempts[0] if attempts else None
    if last is not None and not last.passed:
        cooldown_ends = ended_at(last) + dt.timedelta(minutes=quiz.cooldown_minutes)
        if cooldown_ends > now:
            message = _(
                "Take a short break after a failed attempt: you can try again at %(time)s.",
                time=_time_label(cooldown_ends, zone),
            )
            waits.append((cooldown_ends, "cooldown", message))
    if today >= quiz.attempts_per_day:
        message = ngettext(
            "You have used today's %(num)s attempt: you can try again at %(time)s.",
            "You have used today's %(num)s attempts: you can try again at %(time)s.",
            quiz.attempts_per_day,
            time=_time_label(day_end, zone),
        )
        waits.append((day_end, "daily_limit", message))
    if waits:
        next_start_at, reason, message = max(waits)
        return AttemptGate(
            can_start=False, reason=reason, message=message, next_start_at=next_start_at, open_attempt_id=None, **gate
        )
    return AttemptGate(can_start=True, reason="", message="", next_start_at=None, open_attempt_id=None, **gate)


def standing(
    certifies: str,
    *,
    passed: bool,
    expires_at: dt.datetime | None,
    has_cert: bool,
    now: dt.datetime,
    remind: dt.timedelta,
) -> tuple[str, bool]:
    """A course's status for an agent and whether it is required of them (see ``AgentCourse``); "" = not decided."""
    if certifies == courses.ONBOARDING:
        return ("passed" if passed else ""), not passed
    if has_cert and expires_at is not None and expires_at <= now:
        return "expired", True
    if has_cert and expires_at is not None and expires_at - now <= remind:
        return "expiring", True
    return ("passed" if passed else ""), False


async def lessons_required(
    session: AsyncSession, *, agent: User, content: CourseContent, attempts: list[QuizAttempt], now: dt.datetime
) -> bool:
    """Whether the quiz waits for every lesson: only for a course required of the agent (onboarding while not
    onboarded, a lapsed or expiring certification). A skill course the agent chose may be tested out of."""
    if content.certifies == courses.ONBOARDING and agent.onboarded_at is not None:
        return False
    site = await session.get(Site, agent.site_id)
    assert site is not None
    expiry = await session.execute(
        select(Certification.expires_at)
        .join(Skill, Skill.id == Certification.skill_id)
        .where(Certification.user_id == agent.id, Skill.code == content.certifies, Skill.site_id == agent.site_id)
    )
    held = expiry.first()
    _status, required = standing(
        content.certifies,
        passed=any(attempt.passed for attempt in attempts),
        expires_at=held[0] if held else None,
        has_cert=held is not None,
        now=now,
        remind=dt.timedelta(days=site_settings(site).certification_reminder_days),
    )
    return required


def unread_message(content: CourseContent, unread: list[int]) -> str:
    """The refusal that names the lessons still to read, in the reader's language."""
    locale = current_locale()
    names = format_list(
        [f"{number}. {courses.localized(content.lessons[number - 1].title, locale)}" for number in unread],
        locale=locale.replace("-", "_"),
    )
    return ngettext(
        "Read every lesson before the quiz. Still to read: %(lessons)s.",
        "Read every lesson before the quiz. Still to read (%(num)d): %(lessons)s.",
        len(unread),
        lessons=names,
    )


def draw_questions(content: CourseContent, rng: random.Random) -> list[dict[str, object]]:
    """``quiz.draw`` questions at random, each with its choices shuffled (true/false keeps its order;
    an ordering question is never shown in its correct order)."""
    drawn = []
    for question in rng.sample(content.quiz.questions, content.quiz.draw):
        ids = [choice.id for choice in question.choices]
        if question.kind == "true_false":
            order = ids
        else:
            order = drills.shuffled(ids, rng, avoid=ids if question.kind == "ordering" else None)
        drawn.append({"question": question.id, "choices": order})
    return drawn


async def start_attempt(
    session: AsyncSession, *, agent: User, course_id: int, now: dt.datetime, rng: random.Random | None = None
) -> QuizAttempt:
    """Draw a new attempt from the course's current version, or resume the one in progress.

    Refused with ``AttemptRefused`` (409) during the cooldown, past the daily limit, or when
    the course is archived or unpublished; another site's course is 404.
    """
    gate = await attempt_gate(session, agent=agent, course_id=course_id, now=now)
    if gate.open_attempt_id is not None:
        return await attempt_of(session, agent=agent, attempt_id=gate.open_attempt_id)
    if gate.reason == "lessons_unread":
        raise LessonsUnread(gate)
    if not gate.can_start:
        raise AttemptRefused(gate)
    version = await courses.current_version(session, course_id=course_id)
    assert version is not None
    content = courses.content_of(version)
    attempt = QuizAttempt(
        user_id=agent.id,
        course_id=course_id,
        version_id=version.id,
        started_at=now,
        deadline_at=now + dt.timedelta(minutes=content.quiz.time_limit_minutes),
        drawn=draw_questions(content, rng or random.Random()),
    )
    session.add(attempt)
    await session.flush()
    return attempt


def _answer_pairs(answers: dict[str, list[str]] | Sequence[tuple[str, Sequence[str]]]) -> list[tuple[str, list[str]]]:
    items = answers.items() if isinstance(answers, dict) else answers
    return [(str(key), [str(choice) for choice in chosen]) for key, chosen in items]


def check_answers(
    attempt: QuizAttempt, content: CourseContent, answers: dict[str, list[str]] | Sequence[tuple[str, Sequence[str]]]
) -> dict[str, list[str]]:
    """The answers as {question: choices}, or a DomainError (422) naming the first tampered answer."""
    drawn = {item["question"]: list(item["choices"]) for item in attempt.drawn}
    questions = {question.id: question for question in content.quiz.questions}
    checked: dict[str, list[str]] = {}
    for key, chosen in _answer_pairs(answers):
        field = f"answers.{key}"
        if key not in drawn:
            raise DomainError(_("Question %(key)s is not part of this attempt.", key=repr(key)), field=field)
        if key in checked:
            raise DomainError(_("Question %(key)s is answered twice.", key=repr(key)), field=field)
        shown = drawn[key]
        if len(set(chosen)) != len(chosen):
            raise DomainError(_("A choice is given twice."), field=f"{field}.choices")
        unknown = [choice for choice in chosen if choice not in shown]
        if unknown:
            raise DomainError(
                _("%(choice)s is not a choice of this question.", choice=repr(unknown[0])), field=f"{field}.choices"
            )
        kind = questions[key].kind
        if kind in ("single", "true_false") and len(chosen) > 1:
            raise DomainError(_("Choose one answer."), field=f"{field}.choices")
        if kind == "ordering" and chosen and sorted(chosen) != sorted(shown):
            raise DomainError(_("Put every choice in order, each once."), field=f"{field}.choices")
        checked[key] = chosen
    return checked


async def submit_attempt(
    session: AsyncSession,
    *,
    agent: User,
    attempt_id: int,
    answers: dict[str, list[str]] | Sequence[tuple[str, Sequence[str]]],
    now: dt.datetime,
    confirm_blanks: bool = False,
) -> QuizAttempt:
    """Score an attempt once. Tampered or late answers are 422 and leave it open; a second submit is 409.

    ``answers`` maps a drawn question's key to the chosen choice ids (ordering: every id in the
    agent's order); pairs are accepted too, so a question answered twice is caught. A drawn
    question left out (or with no choice) scores 0, but only when the agent confirmed it
    (``confirm_blanks``); otherwise ``BlankAnswers`` (422) and the attempt stays open.
    """
    attempt = await attempt_of(session, agent=agent, attempt_id=attempt_id)
    if attempt.submitted_at is not None:
        raise Conflict(_("This attempt was already submitted."), field="attempt")
    if not accepts_answers(attempt, now):
        raise DomainError(_("The time limit for this attempt has passed."), field="deadline_at")
    version = await courses.version_of(session, version_id=attempt.version_id)
    content = courses.content_of(version)
    checked = check_answers(attempt, content, answers)
    blank = [item["question"] for item in attempt.drawn if not checked.get(item["question"])]
    if blank and not confirm_blanks:
        raise BlankAnswers(blank)
    claimed = await session.execute(
        update(QuizAttempt)
        .where(QuizAttempt.id == attempt.id, QuizAttempt.submitted_at.is_(None))
        .values(submitted_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(_("This attempt was already submitted."), field="attempt")
    questions = {question.id: question for question in content.quiz.questions}
    results = []
    for item in attempt.drawn:
        key = item["question"]
        earned = scoring.score_question(
            questions[key], checked.get(key, []), partial_credit=content.quiz.partial_credit
        )
        results.append({"question": key, "earned": round(earned, 4), "correct": earned >= 1.0})
    attempt.submitted_at = now
    attempt.answers = checked
    attempt.results = results
    attempt.score_percent = scoring.score_percent([result["earned"] for result in results], len(results))
    attempt.passed = scoring.is_pass(attempt.score_percent, content.quiz.pass_percent)
    await session.flush()
    for result in results:
        if not result["correct"]:
            await drills.record_missed(
                session,
                user_id=agent.id,
                course_id=attempt.course_id,
                question_key=result["question"],
                earned=result["earned"],
                now=now,
            )
    if attempt.passed:
        await _grant_pass(session, agent=agent, attempt=attempt, content=content, now=now)
    return attempt


async def _grant_pass(
    session: AsyncSession, *, agent: User, attempt: QuizAttempt, content: CourseContent, now: dt.datetime
) -> None:
    site = await session.get(Site, agent.site_id)
    assert site is not None
    settings = site_settings(site)
    if content.certifies == courses.ONBOARDING:
        if await onboarding_complete(session, user=agent):
            await mark_onboarded(session, user=agent)
    else:
        skill = await session.scalar(select(Skill).where(Skill.site_id == site.id, Skill.code == content.certifies))
        if skill is not None:
            await grant_certification(
                session,
                user=agent,
                skill=skill,
                source=COURSE_SOURCE,
                expires_at=now + dt.timedelta(days=settings.certification_valid_days),
                now=now,
            )
    if settings.course_pass_pay_minor > 0:
        credited = await session.scalar(
            select(CoursePassCredit.id).where(
                CoursePassCredit.user_id == agent.id, CoursePassCredit.course_id == attempt.course_id
            )
        )
        if credited is None:
            session.add(
                CoursePassCredit(
                    user_id=agent.id,
                    course_id=attempt.course_id,
                    attempt_id=attempt.id,
                    amount_minor=settings.course_pass_pay_minor,
                    currency=settings.currency,
                    earned_at=now,
                )
            )
            await session.flush()


async def passed_course_ids(session: AsyncSession, *, user_id: int) -> set[int]:
    """Courses the user has passed at least once (any version)."""
    rows = await session.scalars(
        select(QuizAttempt.course_id).where(QuizAttempt.user_id == user_id, QuizAttempt.passed.is_(True)).distinct()
    )
    return set(rows)


async def onboarding_course_ids(session: AsyncSession, *, site_id: int) -> set[int]:
    """The site's onboarding courses an agent must pass: published, not archived, certifying "onboarding"."""
    return {
        course.id
        for course, version in await courses.published_courses(session, site_id=site_id)
        if version.certifies == courses.ONBOARDING
    }


async def onboarding_complete(session: AsyncSession, *, user: User) -> bool:
    required = await onboarding_course_ids(session, site_id=user.site_id)
    return bool(required) and required <= await passed_course_ids(session, user_id=user.id)


async def attempt_of(session: AsyncSession, *, agent: User, attempt_id: int) -> QuizAttempt:
    """The agent's own attempt; anyone else's is 404."""
    attempt = await session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != agent.id:
        raise NotFound("attempt")
    return attempt


async def attempts_of(session: AsyncSession, *, agent: User, course_id: int) -> list[QuizAttempt]:
    """The agent's attempts at a course, newest first."""
    return list(
        await session.scalars(
            select(QuizAttempt)
            .where(QuizAttempt.user_id == agent.id, QuizAttempt.course_id == course_id)
            .order_by(QuizAttempt.started_at.desc(), QuizAttempt.id.desc())
        )
    )


async def pass_credits_of(session: AsyncSession, *, user_id: int) -> list[CoursePassCredit]:
    return list(
        await session.scalars(
            select(CoursePassCredit).where(CoursePassCredit.user_id == user_id).order_by(CoursePassCredit.earned_at)
        )
    )


async def quiz_average(session: AsyncSession, *, user_id: int, since: dt.datetime | None = None) -> float | None:
    """The mean score (percent) of the user's submitted attempts, since ``since``; None without any."""
    query = select(func.avg(QuizAttempt.score_percent)).where(
        QuizAttempt.user_id == user_id, QuizAttempt.submitted_at.is_not(None)
    )
    if since is not None:
        query = query.where(QuizAttempt.submitted_at >= since)
    average = await session.scalar(query)
    return None if average is None else round(float(average), 1)


async def quiz_averages_by_week(
    session: AsyncSession, *, user_id: int, weeks: int, now: dt.datetime
) -> list[tuple[IsoWeek, float | None]]:
    """The mean quiz score of each of the last ``weeks`` ISO weeks (the user's time zone), oldest first."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    zone = user_zone(user)
    this_week = IsoWeek.containing(now, zone)
    first = this_week.shifted(-(weeks - 1))
    since = local_midnight(first.monday, zone)
    rows = await session.execute(
        select(QuizAttempt.submitted_at, QuizAttempt.score_percent).where(
            QuizAttempt.user_id == user_id,
            QuizAttempt.submitted_at >= since,
            QuizAttempt.submitted_at <= now,
        )
    )
    scores: dict[IsoWeek, list[float]] = {}
    for submitted_at, percent in rows:
        if percent is not None:
            scores.setdefault(IsoWeek.containing(submitted_at, zone), []).append(percent)
    averages = []
    for offset in range(weeks):
        week = first.shifted(offset)
        values = scores.get(week)
        averages.append((week, round(sum(values) / len(values), 1) if values else None))
    return averages


# What an attempt shows -------------------------------------------------------


class ShownChoice(msgspec.Struct, kw_only=True):
    id: str
    text: Text


class ShownQuestion(msgspec.Struct, kw_only=True):
    """A drawn question as the agent sees it while answering: no correct flags, no explanation."""

    key: str
    kind: str
    prompt: Text
    choices: list[ShownChoice]


class ReviewedChoice(msgspec.Struct, kw_only=True):
    id: str
    text: Text
    correct: bool  # ordering: whether the agent put it in its right place
    chosen: bool


class ReviewedQuestion(msgspec.Struct, kw_only=True):
    """A drawn question after submission: the agent's answer, the right one, the points, the explanation."""

    key: str
    kind: str
    prompt: Text
    choices: list[ReviewedChoice]  # in the order shown
    chosen: list[str]
    correct_choices: list[str]  # ordering: the correct order
    earned: float
    correct: bool
    explanation: Text


def _questions_of(content: CourseContent) -> dict[str, Question]:
    return {question.id: question for question in content.quiz.questions}


def shown_questions(attempt: QuizAttempt, content: CourseContent) -> list[ShownQuestion]:
    """The attempt's questions in the drawn order with choices in the shown order (``content`` = its version's)."""
    questions = _questions_of(content)
    shown = []
    for item in attempt.drawn:
        question = questions[item["question"]]
        texts = {choice.id: choice.text for choice in question.choices}
        shown.append(
            ShownQuestion(
                key=question.id,
                kind=question.kind,
                prompt=question.prompt,
                choices=[ShownChoice(id=choice_id, text=texts[choice_id]) for choice_id in item["choices"]],
            )
        )
    return shown


def reviewed_questions(attempt: QuizAttempt, content: CourseContent) -> list[ReviewedQuestion]:
    """The submitted attempt, question by question, with explanations; empty before submission."""
    if attempt.submitted_at is None or attempt.results is None:
        return []
    questions = _questions_of(content)
    answers = attempt.answers or {}
    earned = {result["question"]: result for result in attempt.results}
    reviewed = []
    for item in attempt.drawn:
        question = questions[item["question"]]
        chosen = answers.get(question.id, [])
        right = scoring.correct_answer(question)
        texts = {choice.id: choice.text for choice in question.choices}
        if question.kind == "ordering":
            flags = {cid: index < len(chosen) and chosen[index] == cid for index, cid in enumerate(right)}
        else:
            flags = {cid: cid in right for cid in texts}
        reviewed.append(
            ReviewedQuestion(
                key=question.id,
                kind=question.kind,
                prompt=question.prompt,
                choices=[
                    ReviewedChoice(id=cid, text=texts[cid], correct=flags[cid], chosen=cid in chosen)
                    for cid in item["choices"]
                ],
                chosen=chosen,
                correct_choices=right,
                earned=earned[question.id]["earned"],
                correct=earned[question.id]["correct"],
                explanation=question.explanation,
            )
        )
    return reviewed


async def attempt_content(session: AsyncSession, *, attempt: QuizAttempt) -> CourseContent:
    """The course document of the version the attempt was drawn from."""
    return courses.content_of(await courses.version_of(session, version_id=attempt.version_id))


# The agent's view of their courses -------------------------------------------


class AgentCourse(msgspec.Struct, kw_only=True):
    """A published course as one agent stands with it, for the Learn tab and the API.

    ``status``: "passed", "expiring" (certification within the reminder window), "expired"
    (certification lapsed: retake), "in_progress" (lessons read or an attempt made), "not_started".
    ``required``: an onboarding course not passed yet, or a skill whose certification lapsed or is expiring.
    """

    course: Course
    version: CourseVersion
    content: CourseContent
    status: str
    required: bool
    lessons_done: int
    lessons_total: int
    lessons_read: frozenset[int]  # 0-based
    best_score_percent: float | None
    passed: bool
    certification_expires_at: dt.datetime | None
    open_attempt_id: int | None


async def courses_for_agent(session: AsyncSession, *, agent: User, now: dt.datetime) -> list[AgentCourse]:
    """Every course the agent can take, with where they stand; required ones first, then by code."""
    site = await session.get(Site, agent.site_id)
    assert site is not None
    settings = site_settings(site)
    remind_within = dt.timedelta(days=settings.certification_reminder_days)
    published = await courses.published_courses(session, site_id=agent.site_id)
    read = await courses.lessons_read_by_course(session, user_id=agent.id)
    attempts: dict[int, list[QuizAttempt]] = {}
    for attempt in await session.scalars(
        select(QuizAttempt).where(QuizAttempt.user_id == agent.id).order_by(QuizAttempt.started_at.desc())
    ):
        attempts.setdefault(attempt.course_id, []).append(attempt)
    certified: dict[str, dt.datetime | None] = {
        code: expires_at
        for code, expires_at in await session.execute(
            select(Skill.code, Certification.expires_at)
            .join(Certification, Certification.skill_id == Skill.id)
            .where(Certification.user_id == agent.id)
        )
    }
    listed = []
    for course, version in published:
        content = courses.content_of(version)
        mine = attempts.get(course.id, [])
        scores = [attempt.score_percent for attempt in mine if attempt.score_percent is not None]
        passed = any(attempt.passed for attempt in mine)
        expires_at = certified.get(content.certifies)
        has_cert = content.certifies in certified
        status, required = standing(
            content.certifies, passed=passed, expires_at=expires_at, has_cert=has_cert, now=now, remind=remind_within
        )
        if not status:
            status = "in_progress" if (read.get(course.id) or mine) else "not_started"
        open_attempt = next((attempt.id for attempt in mine if is_open(attempt, now)), None)
        lessons_read = frozenset(index for index in read.get(course.id, ()) if index < len(content.lessons))
        listed.append(
            AgentCourse(
                course=course,
                version=version,
                content=content,
                status=status,
                required=required,
                lessons_done=len(lessons_read),
                lessons_read=lessons_read,
                lessons_total=len(content.lessons),
                best_score_percent=max(scores) if scores else None,
                passed=passed,
                certification_expires_at=expires_at,
                open_attempt_id=open_attempt,
            )
        )
    listed.sort(key=lambda item: (not item.required, item.course.code))
    return listed
