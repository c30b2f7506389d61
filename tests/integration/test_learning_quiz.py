"""Quiz attempts against the database: drawing, tampered submissions, limits, versions, drills, pay credits."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.accounts.site_settings import update_site_settings
from backend.core.errors import Conflict, DomainError, NotFound
from backend.learning import courses, drills, quiz, scoring
from backend.learning.content import CourseContent
from backend.learning.models import CoursePassCredit, DrillCard, QuizAttempt, VersionStatus
from tests.factories import Factory, a_course, sample_course

# 2026-12-01 10:00 UTC is 18:00 in Asia/Shanghai (the test site): the site's day ends at 16:00 UTC.
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
PUBLISHED = NOW - 60 * MINUTE  # when the tests' courses went live


def right_answers(attempt: QuizAttempt, content: CourseContent) -> dict[str, list[str]]:
    questions = {question.id: question for question in content.quiz.questions}
    return {item["question"]: scoring.correct_answer(questions[item["question"]]) for item in attempt.drawn}


def wrong_answers(attempt: QuizAttempt, content: CourseContent) -> dict[str, list[str]]:
    """Every drawn question answered 0-point wrong."""
    questions = {question.id: question for question in content.quiz.questions}
    answers = {}
    for item in attempt.drawn:
        question = questions[item["question"]]
        right = scoring.correct_answer(question)
        if question.kind == "ordering":
            answers[question.id] = list(reversed(right))
        else:
            answers[question.id] = [next(c.id for c in question.choices if c.id not in right)]
    return answers


@pytest.fixture
async def staff(people: Factory) -> User:
    return await people.make(Role.coordinator)


@pytest.fixture
async def agent(people: Factory) -> User:
    return await people.make(Role.agent)


async def test_an_attempt_draws_n_of_the_bank_with_choices_shuffled(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW, rng=random.Random(7))
    keys = [item["question"] for item in attempt.drawn]
    assert len(keys) == 4
    assert len(set(keys)) == 4
    assert set(keys) <= {"q1", "q2", "q3", "q4", "q5", "q6"}
    assert attempt.deadline_at == NOW + 15 * MINUTE
    content = await quiz.attempt_content(db, attempt=attempt)
    authored = {q.id: [c.id for c in q.choices] for q in content.quiz.questions}
    for item in attempt.drawn:
        assert sorted(item["choices"]) == sorted(authored[item["question"]])
        if authored[item["question"]] == ["greet", "verify", "solve", "close"]:
            assert item["choices"] != authored[item["question"]]  # an ordering never starts solved
    draws = set()
    for seed in range(12):
        other = quiz.draw_questions(content, random.Random(seed))
        draws.add(tuple((item["question"], tuple(item["choices"])) for item in other))
    assert len(draws) > 6  # draws and orders really vary


async def test_an_open_attempt_is_resumed_not_redrawn(db: AsyncSession, site: Site, staff: User, agent: User) -> None:
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    first = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW)
    again = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW + 5 * MINUTE)
    assert again.id == first.id
    gate = await quiz.attempt_gate(db, agent=agent, course_id=course.id, now=NOW + 5 * MINUTE)
    assert (gate.reason, gate.open_attempt_id, gate.attempts_today) == ("open_attempt", first.id, 1)


@pytest.mark.parametrize(
    ("tamper", "field"),
    [
        (lambda answers, drawn, bank: [*answers, (next(iter(bank - drawn)), ["a"])], "answers.{undrawn}"),
        (lambda answers, drawn, bank: [*answers, answers[0]], "answers.{first}"),
        (lambda answers, drawn, bank: [(answers[0][0], ["zzz"]), *answers[1:]], "answers.{first}.choices"),
    ],
    ids=["not drawn", "duplicate", "unknown choice"],
)
async def test_tampered_submissions_are_refused_and_the_attempt_stays_open(
    db: AsyncSession, site: Site, staff: User, agent: User, tamper: Any, field: str
) -> None:
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW, rng=random.Random(1))
    content = await quiz.attempt_content(db, attempt=attempt)
    answers = list(right_answers(attempt, content).items())
    drawn = {item["question"] for item in attempt.drawn}
    bank = {q.id for q in content.quiz.questions}
    with pytest.raises(DomainError) as refused:
        await quiz.submit_attempt(
            db, agent=agent, attempt_id=attempt.id, answers=tamper(answers, drawn, bank), now=NOW + MINUTE
        )
    assert refused.value.status_code == 422
    assert refused.value.field == field.format(undrawn=next(iter(bank - drawn)), first=answers[0][0])
    await db.refresh(attempt)
    assert attempt.submitted_at is None
    assert attempt.score_percent is None
    done = await quiz.submit_attempt(db, agent=agent, attempt_id=attempt.id, answers=answers, now=NOW + MINUTE)
    assert done.passed is True


async def test_an_ordering_that_is_not_a_permutation_is_refused(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    course = await a_course(db, site, sample_course(draw=6), author=staff, now=PUBLISHED)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW)
    for broken in (["greet", "verify", "solve"], ["greet", "greet", "solve", "close"]):
        with pytest.raises(DomainError) as refused:
            await quiz.submit_attempt(db, agent=agent, attempt_id=attempt.id, answers={"q4": broken}, now=NOW)
        assert refused.value.field == "answers.q4.choices"
    with pytest.raises(DomainError) as refused:
        await quiz.submit_attempt(db, agent=agent, attempt_id=attempt.id, answers={"q1": ["a", "b"]}, now=NOW)
    assert refused.value.field == "answers.q1.choices"
    await db.refresh(attempt)
    assert attempt.submitted_at is None


async def test_after_the_time_limit_is_refused_with_422(db: AsyncSession, site: Site, staff: User, agent: User) -> None:
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW)
    content = await quiz.attempt_content(db, attempt=attempt)
    late = attempt.deadline_at + dt.timedelta(seconds=quiz.GRACE_SECONDS + 1)
    with pytest.raises(DomainError) as refused:
        await quiz.submit_attempt(
            db, agent=agent, attempt_id=attempt.id, answers=right_answers(attempt, content), now=late
        )
    assert (refused.value.status_code, refused.value.field) == (422, "deadline_at")
    await db.refresh(attempt)
    assert attempt.submitted_at is None
    within_grace = attempt.deadline_at + dt.timedelta(seconds=quiz.GRACE_SECONDS - 1)
    done = await quiz.submit_attempt(
        db, agent=agent, attempt_id=attempt.id, answers=right_answers(attempt, content), now=within_grace
    )
    assert done.score_percent == 100.0


async def test_a_second_submit_is_a_409(db: AsyncSession, site: Site, staff: User, agent: User) -> None:
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW)
    content = await quiz.attempt_content(db, attempt=attempt)
    await quiz.submit_attempt(db, agent=agent, attempt_id=attempt.id, answers=right_answers(attempt, content), now=NOW)
    with pytest.raises(Conflict):
        await quiz.submit_attempt(db, agent=agent, attempt_id=attempt.id, answers={}, now=NOW + MINUTE)
    await db.refresh(attempt)
    assert attempt.score_percent == 100.0


async def test_unanswered_questions_score_zero_and_results_explain(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW)
    content = await quiz.attempt_content(db, attempt=attempt)
    first, *_rest = attempt.drawn
    answers = {first["question"]: right_answers(attempt, content)[first["question"]]}
    done = await quiz.submit_attempt(
        db, agent=agent, attempt_id=attempt.id, answers=answers, now=NOW, confirm_blanks=True
    )
    assert (done.score_percent, done.passed) == (25.0, False)
    reviewed = quiz.reviewed_questions(done, content)
    assert [item.key for item in reviewed] == [item["question"] for item in attempt.drawn]
    assert reviewed[0].correct
    assert reviewed[0].explanation
    assert all(not item.correct and item.chosen == [] for item in reviewed[1:])


async def test_blank_questions_are_not_scored_until_confirmed_and_start_no_cooldown(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    course = await a_course(db, site, sample_course(cooldown_minutes=30), author=staff, now=PUBLISHED)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW)
    content = await quiz.attempt_content(db, attempt=attempt)
    first, *blank = [item["question"] for item in attempt.drawn]
    answers = {first: right_answers(attempt, content)[first], blank[0]: []}  # no choice is no answer

    with pytest.raises(quiz.BlankAnswers) as refused:
        await quiz.submit_attempt(db, agent=agent, attempt_id=attempt.id, answers=answers, now=NOW)

    assert (refused.value.status_code, refused.value.field, refused.value.blank) == (422, f"answers.{blank[0]}", blank)
    await db.refresh(attempt)
    assert (attempt.submitted_at, attempt.score_percent) == (None, None)
    assert await db.scalar(select(func.count()).select_from(DrillCard)) == 0
    gate = await quiz.attempt_gate(db, agent=agent, course_id=course.id, now=NOW + MINUTE)
    assert (gate.reason, gate.open_attempt_id) == ("open_attempt", attempt.id)

    done = await quiz.submit_attempt(
        db, agent=agent, attempt_id=attempt.id, answers=answers, now=NOW + MINUTE, confirm_blanks=True
    )

    assert (done.score_percent, done.passed) == (25.0, False)
    gate = await quiz.attempt_gate(db, agent=agent, course_id=course.id, now=NOW + 2 * MINUTE)
    assert (gate.reason, gate.next_start_at) == ("cooldown", NOW + 31 * MINUTE)


async def test_cooldown_after_a_failure_then_the_daily_limit(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    course = await a_course(
        db, site, sample_course(cooldown_minutes=30, attempts_per_day=2), author=staff, now=PUBLISHED
    )
    first = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW)
    content = await quiz.attempt_content(db, attempt=first)
    await quiz.submit_attempt(db, agent=agent, attempt_id=first.id, answers=wrong_answers(first, content), now=NOW)
    with pytest.raises(quiz.AttemptRefused) as refused:
        await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW + 10 * MINUTE)
    assert refused.value.status_code == 409
    assert refused.value.gate.reason == "cooldown"
    assert refused.value.gate.next_start_at == NOW + 30 * MINUTE
    second = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW + 30 * MINUTE)
    await quiz.submit_attempt(
        db, agent=agent, attempt_id=second.id, answers=wrong_answers(second, content), now=NOW + 31 * MINUTE
    )
    gate = await quiz.attempt_gate(db, agent=agent, course_id=course.id, now=NOW + 2 * 60 * MINUTE)
    site_midnight = dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.UTC)  # 00:00 on Dec 2 in Shanghai
    assert (gate.can_start, gate.reason, gate.attempts_today) == (False, "daily_limit", 2)
    assert gate.next_start_at == site_midnight
    assert "00:00" in gate.message
    with pytest.raises(quiz.AttemptRefused):
        await quiz.start_attempt(db, agent=agent, course_id=course.id, now=site_midnight - MINUTE)
    third = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=site_midnight)
    assert third.id not in (first.id, second.id)


async def test_an_abandoned_attempt_counts_as_a_failure_from_its_deadline(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    course = await a_course(db, site, sample_course(cooldown_minutes=30), author=staff, now=PUBLISHED)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW)
    gate = await quiz.attempt_gate(db, agent=agent, course_id=course.id, now=attempt.deadline_at + MINUTE)
    assert (gate.reason, gate.next_start_at) == ("cooldown", attempt.deadline_at + 30 * MINUTE)


async def test_an_unpublished_or_archived_course_takes_no_attempts(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    draft_only = await courses.create_course(
        db, site=site, content=courses.parse_course(json.dumps(sample_course(code="draft", certifies="onboarding"))),
        author=staff,
    )  # fmt: skip
    with pytest.raises(quiz.AttemptRefused) as refused:
        await quiz.start_attempt(db, agent=agent, course_id=draft_only.id, now=NOW)
    assert refused.value.gate.reason == "unpublished"
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    await courses.archive_course(db, course=course, now=NOW)
    with pytest.raises(quiz.AttemptRefused) as refused:
        await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW)
    assert refused.value.gate.reason == "archived"


async def test_a_version_published_mid_attempt_does_not_disturb_it(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    course = await a_course(db, site, sample_course(draw=6), author=staff, now=PUBLISHED)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW)
    old = await quiz.attempt_content(db, attempt=attempt)
    changed = sample_course(draw=2)
    changed["quiz"]["questions"][0]["choices"][0]["correct"] = False  # q1's answer is now b
    changed["quiz"]["questions"][0]["choices"][1]["correct"] = True
    changed["quiz"]["questions"].pop()  # q6 leaves the bank
    await courses.import_course(db, site=site, raw=json.dumps(changed), author=staff, publish=True, now=NOW + MINUTE)
    current = await courses.current_version(db, course_id=course.id)
    assert current is not None
    assert current.number == 2
    assert current.id != attempt.version_id
    done = await quiz.submit_attempt(
        db, agent=agent, attempt_id=attempt.id, answers=right_answers(attempt, old), now=NOW + 2 * MINUTE
    )
    assert (done.score_percent, done.passed, len(done.results or [])) == (100.0, True, 6)
    versions = await courses.versions_of(db, course_id=course.id)
    assert [(v.number, v.status) for v in versions] == [(2, VersionStatus.published), (1, VersionStatus.retired)]
    nxt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW + 3 * MINUTE)
    assert nxt.version_id == current.id
    assert len(nxt.drawn) == 2


async def test_wrong_answers_become_drills_and_come_back_until_mastered(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    course = await a_course(db, site, sample_course(draw=6), author=staff, now=PUBLISHED)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW)
    content = await quiz.attempt_content(db, attempt=attempt)
    answers = right_answers(attempt, content)
    answers["q1"] = ["c"]
    await quiz.submit_attempt(db, agent=agent, attempt_id=attempt.id, answers=answers, now=NOW)
    cards = list(await db.scalars(select(DrillCard).where(DrillCard.user_id == agent.id)))
    assert [card.question_key for card in cards] == ["q1"]
    assert await drills.due_drills(db, agent=agent, now=NOW + MINUTE) == []
    when = NOW + dt.timedelta(days=1)
    [due] = await drills.due_drills(db, agent=agent, now=when)
    assert due.question.id == "q1"
    assert sorted(due.choice_order) == ["a", "b", "c"]
    with pytest.raises(DomainError) as refused:
        await drills.answer_drill(db, agent=agent, card_id=due.card_id, chosen=["x"], now=when)
    assert refused.value.field == "chosen"
    outcome = None
    for _review in range(3):
        outcome = await drills.answer_drill(db, agent=agent, card_id=due.card_id, chosen=["a"], now=when)
        assert outcome.correct
        if outcome.next_due_at is not None:
            when = outcome.next_due_at
            with pytest.raises(Conflict):  # not due again yet
                await drills.answer_drill(db, agent=agent, card_id=due.card_id, chosen=["a"], now=when - MINUTE)
    assert outcome is not None
    assert outcome.mastered
    assert outcome.next_due_at is None
    assert await drills.due_drills(db, agent=agent, now=when + dt.timedelta(days=365)) == []


async def test_a_drill_whose_question_left_the_course_retires(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    course = await a_course(db, site, sample_course(draw=6), author=staff, now=PUBLISHED)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW)
    content = await quiz.attempt_content(db, attempt=attempt)
    await quiz.submit_attempt(db, agent=agent, attempt_id=attempt.id, answers=wrong_answers(attempt, content), now=NOW)
    changed = sample_course()
    changed["quiz"]["questions"] = [q for q in changed["quiz"]["questions"] if q["id"] != "q5"]
    await courses.import_course(db, site=site, raw=json.dumps(changed), author=staff, publish=True, now=NOW)
    due = await drills.due_drills(db, agent=agent, now=NOW + dt.timedelta(days=1), limit=10)
    assert sorted(d.question.id for d in due) == ["q1", "q2", "q3", "q4", "q6"]
    retired = await db.scalar(select(DrillCard).where(DrillCard.user_id == agent.id, DrillCard.question_key == "q5"))
    assert retired is not None
    assert retired.retired_at is not None


async def test_another_agents_attempt_and_drill_are_not_found(
    db: AsyncSession, site: Site, staff: User, agent: User, people: Factory
) -> None:
    other = await people.make(Role.agent)
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW)
    content = await quiz.attempt_content(db, attempt=attempt)
    with pytest.raises(NotFound):
        await quiz.attempt_of(db, agent=other, attempt_id=attempt.id)
    with pytest.raises(NotFound):
        await quiz.submit_attempt(db, agent=other, attempt_id=attempt.id, answers={}, now=NOW)
    await quiz.submit_attempt(db, agent=agent, attempt_id=attempt.id, answers=wrong_answers(attempt, content), now=NOW)
    card = await db.scalar(select(DrillCard).where(DrillCard.user_id == agent.id))
    assert card is not None
    with pytest.raises(NotFound):
        await drills.answer_drill(db, agent=other, card_id=card.id, chosen=[], now=NOW + dt.timedelta(days=2))


async def test_a_course_of_another_site_is_not_found(
    db: AsyncSession, site: Site, staff: User, people: Factory
) -> None:
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Europe/London", country="GB")
    stranger = await people.make(Role.agent, site=elsewhere)
    with pytest.raises(NotFound):
        await quiz.start_attempt(db, agent=stranger, course_id=course.id, now=NOW)


async def test_pay_credit_is_recorded_once_the_first_time_a_course_is_passed(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    await update_site_settings(db, site, course_pass_pay_minor=500, currency="CNY")
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    when = NOW
    for _round in range(2):
        attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=when)
        content = await quiz.attempt_content(db, attempt=attempt)
        done = await quiz.submit_attempt(
            db, agent=agent, attempt_id=attempt.id, answers=right_answers(attempt, content), now=when
        )
        assert done.passed
        when += 10 * MINUTE
    credits = await quiz.pass_credits_of(db, user_id=agent.id)
    assert [(c.course_id, c.amount_minor, c.currency, c.earned_at) for c in credits] == [(course.id, 500, "CNY", NOW)]


async def test_no_pay_credit_when_the_site_pays_nothing(db: AsyncSession, site: Site, staff: User, agent: User) -> None:
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=NOW)
    content = await quiz.attempt_content(db, attempt=attempt)
    await quiz.submit_attempt(db, agent=agent, attempt_id=attempt.id, answers=right_answers(attempt, content), now=NOW)
    count = await db.scalar(select(func.count()).select_from(CoursePassCredit))
    assert count == 0


async def test_quiz_averages_overall_and_by_week(db: AsyncSession, site: Site, staff: User, agent: User) -> None:
    course = await a_course(
        db, site, sample_course(cooldown_minutes=0, attempts_per_day=5), author=staff, now=PUBLISHED
    )
    week_ago = NOW - dt.timedelta(days=7)
    for when, good in ((week_ago, True), (NOW, False)):
        attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=when)
        content = await quiz.attempt_content(db, attempt=attempt)
        answers = right_answers(attempt, content) if good else {}
        await quiz.submit_attempt(
            db, agent=agent, attempt_id=attempt.id, answers=answers, now=when, confirm_blanks=True
        )
    assert await quiz.quiz_average(db, user_id=agent.id) == 50.0
    assert await quiz.quiz_average(db, user_id=agent.id, since=NOW - MINUTE) == 0.0
    weeks = await quiz.quiz_averages_by_week(db, user_id=agent.id, weeks=3, now=NOW)
    assert [average for _week, average in weeks] == [None, 100.0, 0.0]


async def test_course_codes_are_unique_and_fixed_and_publishing_needs_a_draft(
    db: AsyncSession, site: Site, staff: User
) -> None:
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    content = courses.parse_course(json.dumps(sample_course()))
    with pytest.raises(DomainError) as refused:
        await courses.create_course(db, site=site, content=content, author=staff)
    assert refused.value.field == "code"
    renamed = courses.parse_course(json.dumps(sample_course(code="renamed")))
    with pytest.raises(DomainError) as refused:
        await courses.save_draft(db, course=course, content=renamed, author=staff)
    assert refused.value.field == "code"
    with pytest.raises(Conflict):
        await courses.publish_course(db, course=course, by=staff)
    draft = await courses.save_draft(db, course=course, content=content, author=staff)
    again = await courses.save_draft(db, course=course, content=content, author=staff)
    assert draft.id == again.id
    assert draft.number == 2
    assert draft.status is VersionStatus.draft


async def test_lesson_progress_moves_forward_and_shows_on_the_course_list(
    db: AsyncSession, site: Site, staff: User, agent: User
) -> None:
    course = await a_course(db, site, author=staff, now=PUBLISHED)
    [before] = await quiz.courses_for_agent(db, agent=agent, now=NOW)
    assert (before.status, before.lessons_done, before.lessons_total) == ("not_started", 0, 3)
    await courses.record_lesson_done(db, agent=agent, course_id=course.id, lesson_index=1, now=NOW)
    progress = await courses.record_lesson_done(db, agent=agent, course_id=course.id, lesson_index=0, now=NOW)
    assert progress.lessons_done == 2
    with pytest.raises(DomainError) as refused:
        await courses.record_lesson_done(db, agent=agent, course_id=course.id, lesson_index=3, now=NOW)
    assert refused.value.field == "lesson"
    [after] = await quiz.courses_for_agent(db, agent=agent, now=NOW)
    assert (after.status, after.lessons_done) == ("in_progress", 2)
