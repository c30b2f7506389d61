"""Drills: questions an agent got wrong come back on a spaced-repetition schedule until mastered.

The schedule is SM-2 (Wozniak, 1987). Each review is graded 0-5:

- a fully correct answer is 4, a partly correct one 2, a wrong one 1 (we do not time
  answers, so 5, "perfect recall", is not used);
- a grade of 3 or more is a success: the next review is after 1 day, then 6 days, then
  the previous interval x the card's easiness; a failure starts again at 1 day (a lapse);
- easiness moves by ``0.1 - (5 - q) x (0.08 + (5 - q) x 0.02)`` per review, never below 1.3.

A card is **mastered** after ``MASTERED_AFTER_REPETITIONS`` (3) successes in a row: by
then it has been answered right after 1 day and again after 6, and it stops coming
back. A wrong answer in a later quiz brings a mastered card back. Drills are scored
with ``scoring`` against the question as it is in the course's current version; a card
whose question has left the course retires.
"""

from __future__ import annotations

import datetime as dt
import random

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.learning import courses, scoring
from backend.learning.content import Question
from backend.learning.models import Course, DrillCard

MIN_EASINESS = 1.3
START_EASINESS = 2.5
PASSING_QUALITY = 3
MASTERED_AFTER_REPETITIONS = 3
FIRST_INTERVAL_DAYS = 1
SECOND_INTERVAL_DAYS = 6
DUE_DRILLS_LIMIT = 5


class CardState(msgspec.Struct, frozen=True, kw_only=True):
    """A drill card's schedule, apart from the database."""

    easiness: float = START_EASINESS
    interval_days: int = 0
    repetitions: int = 0
    lapses: int = 0
    due_at: dt.datetime | None = None
    mastered_at: dt.datetime | None = None


def quality_of(earned: float) -> int:
    """A review's SM-2 grade from the points the answer earned (see the module docstring)."""
    if earned >= 1.0:
        return 4
    return 2 if earned > 0 else 1


def next_review(state: CardState, quality: int, now: dt.datetime) -> CardState:
    """The schedule after one review graded ``quality`` (0-5) at ``now``."""
    if not 0 <= quality <= 5:
        raise ValueError("an SM-2 grade is 0 to 5")
    miss = 5 - quality
    easiness = max(MIN_EASINESS, state.easiness + 0.1 - miss * (0.08 + miss * 0.02))
    if quality >= PASSING_QUALITY:
        repetitions = state.repetitions + 1
        if repetitions == 1:
            interval = FIRST_INTERVAL_DAYS
        elif repetitions == 2:
            interval = SECOND_INTERVAL_DAYS
        else:
            interval = max(SECOND_INTERVAL_DAYS, round(state.interval_days * easiness))
        lapses = state.lapses
    else:
        repetitions, interval, lapses = 0, FIRST_INTERVAL_DAYS, state.lapses + 1
    mastered = state.mastered_at if repetitions >= MASTERED_AFTER_REPETITIONS else None
    if repetitions >= MASTERED_AFTER_REPETITIONS and mastered is None:
        mastered = now
    return CardState(
        easiness=round(easiness, 4),
        interval_days=interval,
        repetitions=repetitions,
        lapses=lapses,
        due_at=now + dt.timedelta(days=interval),
        mastered_at=mastered,
    )


def state_of(card: DrillCard) -> CardState:
    return CardState(
        easiness=card.easiness,
        interval_days=card.interval_days,
        repetitions=card.repetitions,
        lapses=card.lapses,
        due_at=card.due_at,
        mastered_at=card.mastered_at,
    )


def _apply(card: DrillCard, state: CardState, now: dt.datetime) -> None:
    assert state.due_at is not None
    card.easiness, card.interval_days, card.repetitions = state.easiness, state.interval_days, state.repetitions
    card.lapses, card.due_at, card.mastered_at = state.lapses, state.due_at, state.mastered_at
    card.last_reviewed_at = now


async def record_missed(
    session: AsyncSession, *, user_id: int, course_id: int, question_key: str, earned: float, now: dt.datetime
) -> DrillCard:
    """A question answered wrong in a quiz: a new card due tomorrow, or an existing one back to the start."""
    card = await session.scalar(
        select(DrillCard).where(
            DrillCard.user_id == user_id, DrillCard.course_id == course_id, DrillCard.question_key == question_key
        )
    )
    if card is None:
        card = DrillCard(
            user_id=user_id,
            course_id=course_id,
            question_key=question_key,
            easiness=START_EASINESS,
            interval_days=0,
            repetitions=0,
            lapses=0,
            due_at=now + dt.timedelta(days=FIRST_INTERVAL_DAYS),
        )
        session.add(card)
    else:
        _apply(card, next_review(state_of(card), quality_of(earned), now), now)
        card.retired_at = None
    await session.flush()
    return card


class DueDrill(msgspec.Struct, kw_only=True):
    """A card to review now, with its question as in the course's current version and the choices in display order."""

    card_id: int
    course_id: int
    course_title: dict[str, str]
    question: Question
    choice_order: list[str]
    due_at: dt.datetime


class DrillOutcome(msgspec.Struct, kw_only=True):
    card_id: int
    question: Question
    chosen: list[str]
    earned: float
    correct: bool
    correct_choices: list[str]
    mastered: bool
    next_due_at: dt.datetime | None


def display_order(card: DrillCard, question: Question) -> list[str]:
    """The choices' order for this review: shuffled, stable across reloads, never the answer for ordering."""
    ids = [choice.id for choice in question.choices]
    if question.kind == "true_false":
        return ids
    rng = random.Random(f"{card.id}:{card.repetitions}:{card.lapses}:{card.due_at.isoformat()}")
    return shuffled(ids, rng, avoid=ids if question.kind == "ordering" else None)


def shuffled(ids: list[str], rng: random.Random, *, avoid: list[str] | None = None) -> list[str]:
    """``ids`` in a random order; with ``avoid`` (an ordering's answer) never that exact order."""
    order = rng.sample(ids, len(ids))
    if avoid is not None and order == avoid and len(ids) > 1:
        order = order[1:] + order[:1]
    return order


async def _question_now(session: AsyncSession, card: DrillCard) -> tuple[Question, dict[str, str], bool] | None:
    """The card's question in its course's current version, the course title, and its partial-credit setting."""
    course = await session.get(Course, card.course_id)
    if course is None or course.archived_at is not None:
        return None
    version = await courses.current_version(session, course_id=card.course_id)
    if version is None:
        return None
    content = courses.content_of(version)
    question = next((q for q in content.quiz.questions if q.id == card.question_key), None)
    return (question, dict(content.title), content.quiz.partial_credit) if question is not None else None


async def due_drills(
    session: AsyncSession, *, agent: User, now: dt.datetime, limit: int = DUE_DRILLS_LIMIT
) -> list[DueDrill]:
    """The agent's cards due now, most overdue first; a card whose question left its course retires here."""
    due: list[DueDrill] = []
    cards = await session.scalars(
        select(DrillCard)
        .where(DrillCard.user_id == agent.id, DrillCard.due_at <= now)
        .where(DrillCard.mastered_at.is_(None), DrillCard.retired_at.is_(None))
        .order_by(DrillCard.due_at, DrillCard.id)
    )
    for card in list(cards):
        if len(due) >= limit:
            break
        found = await _question_now(session, card)
        if found is None:
            course = await session.get(Course, card.course_id)
            if course is None or course.archived_at is None:
                card.retired_at = now
            continue
        question, title, _partial = found
        due.append(
            DueDrill(
                card_id=card.id,
                course_id=card.course_id,
                course_title=title,
                question=question,
                choice_order=display_order(card, question),
                due_at=card.due_at,
            )
        )
    await session.flush()
    return due


async def count_due(session: AsyncSession, *, agent: User, now: dt.datetime) -> int:
    return len(await due_drills(session, agent=agent, now=now, limit=1_000))


async def card_of(session: AsyncSession, *, agent: User, card_id: int) -> DrillCard:
    card = await session.get(DrillCard, card_id)
    if card is None or card.user_id != agent.id:
        raise NotFound("drill")
    return card


async def answer_drill(
    session: AsyncSession, *, agent: User, card_id: int, chosen: list[str], now: dt.datetime
) -> DrillOutcome:
    """Score one review and schedule the next; another agent's card is 404, a card not due 409."""
    card = await card_of(session, agent=agent, card_id=card_id)
    if card.mastered_at is not None or card.retired_at is not None:
        raise Conflict(_("This drill is finished."), field="card")
    if card.due_at > now:
        raise Conflict(_("This drill is not due yet."), field="card")
    found = await _question_now(session, card)
    if found is None:
        card.retired_at = now
        await session.flush()
        raise Conflict(_("This question is no longer in the course."), field="card")
    question, _title, partial_credit = found
    ids = {choice.id for choice in question.choices}
    if len(set(chosen)) != len(chosen) or any(choice not in ids for choice in chosen):
        raise DomainError(_("Choose among this question's choices, each once."), field="chosen")
    if question.kind == "ordering" and chosen and set(chosen) != ids:
        raise DomainError(_("Put every choice in order."), field="chosen")
    if question.kind in ("single", "true_false") and len(chosen) > 1:
        raise DomainError(_("Choose one answer."), field="chosen")
    earned = scoring.score_question(question, chosen, partial_credit=partial_credit)
    state = next_review(state_of(card), quality_of(earned), now)
    _apply(card, state, now)
    await session.flush()
    return DrillOutcome(
        card_id=card.id,
        question=question,
        chosen=list(chosen),
        earned=earned,
        correct=earned >= 1.0,
        correct_choices=scoring.correct_answer(question),
        mastered=card.mastered_at is not None,
        next_due_at=None if card.mastered_at is not None else card.due_at,
    )
