"""Per-question statistics: which questions are too easy, too hard, or fail to tell strong agents from weak ones.

A question is known by its key, which stays the same across a course's
versions, so its figures gather every submitted attempt that drew it (or the
attempts of one version, when asked). For each question:

- **drawn**: how many submitted attempts drew it;
- **p** (difficulty): the share of those attempts that answered it fully correct;
- **mean earned**: the average credit earned on it, partial credit included (0..1);
- **D** (discrimination, upper-lower groups): the attempts that drew the question are ranked by their
  score on the *other* questions they drew (so the question does not vote for itself); D is the share fully
  correct in the top 27 % minus the share fully correct in the bottom 27 %. Near 1: strong agents get it
  right and weak ones do not. Near 0 or negative: it does not separate them, or strong agents are misled.

A question is flagged only once it has been drawn ``MIN_ANSWERS`` times: below that the figures move too much
with each answer. Flags: p above ``TOO_EASY_P``, p below ``TOO_HARD_P``, D below ``WEAK_D``.

Pure: rows in, figures out; the routes read the rows from the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import msgspec

MIN_ANSWERS = 10
TOO_EASY_P = 0.95
TOO_HARD_P = 0.2
WEAK_D = 0.1
GROUP_SHARE = 0.27

Flag = Literal["too_easy", "too_hard", "weak_separation"]


class Answer(msgspec.Struct, frozen=True):
    """One question of one attempt: the credit earned (0..1) and whether it was fully correct."""

    question: str
    earned: float
    correct: bool


class AttemptRow(msgspec.Struct, frozen=True):
    """One submitted attempt: its answers, one per question drawn. Its score is their mean earned credit."""

    answers: tuple[Answer, ...]


class QuestionStats(msgspec.Struct, kw_only=True, frozen=True):
    question: str
    drawn: int
    p_correct: float | None  # share fully correct; None if never drawn
    mean_earned: float | None
    discrimination: float | None  # None when fewer than two attempts could be ranked
    enough: bool  # drawn at least MIN_ANSWERS times: figures and flags are meaningful
    flags: tuple[Flag, ...]


def rows_of(results: Iterable[Sequence[dict[str, object]]]) -> list[AttemptRow]:
    """Attempt rows from stored ``QuizAttempt.results`` lists (``[{"question", "earned", "correct"}]``)."""
    rows = []
    for result in results:
        answers = tuple(
            Answer(
                question=str(item["question"]),
                earned=float(item["earned"]),  # type: ignore[arg-type]
                correct=bool(item["correct"]),
            )
            for item in result
        )
        if answers:
            rows.append(AttemptRow(answers=answers))
    return rows


def _share(values: Sequence[bool]) -> float:
    return sum(values) / len(values)


def _discrimination(pairs: list[tuple[float, bool]]) -> float | None:
    """Upper minus lower 27 % share fully correct, attempts ranked by their rest score.

    Groups hold at least one attempt each and never overlap; ties in the rest score keep the attempts'
    order (the order they were submitted in), so the figure is deterministic.
    """
    if len(pairs) < 2:
        return None
    ranked = sorted(pairs, key=lambda pair: pair[0])
    size = max(1, min(len(ranked) // 2, round(GROUP_SHARE * len(ranked))))
    lower = [correct for _rest, correct in ranked[:size]]
    upper = [correct for _rest, correct in ranked[-size:]]
    return _share(upper) - _share(lower)


def question_stats(rows: Sequence[AttemptRow], keys: Sequence[str] = ()) -> list[QuestionStats]:
    """Figures for each question in ``keys`` (in that order; never-drawn ones included), then any other key drawn.

    A question's rest score in an attempt is the mean earned on the attempt's other questions; an attempt that
    drew only this question has no rest score and is left out of D (but counts for p).
    """
    seen: dict[str, list[tuple[float | None, Answer]]] = {key: [] for key in keys}
    for row in rows:
        total = sum(answer.earned for answer in row.answers)
        others = len(row.answers) - 1
        for answer in row.answers:
            rest = (total - answer.earned) / others if others else None
            seen.setdefault(answer.question, []).append((rest, answer))
    stats = []
    for key, answered in seen.items():
        drawn = len(answered)
        if not drawn:
            stats.append(
                QuestionStats(
                    question=key,
                    drawn=0,
                    p_correct=None,
                    mean_earned=None,
                    discrimination=None,
                    enough=False,
                    flags=(),
                )
            )
            continue
        p = _share([answer.correct for _rest, answer in answered])
        mean = sum(answer.earned for _rest, answer in answered) / drawn
        d = _discrimination([(rest, answer.correct) for rest, answer in answered if rest is not None])
        enough = drawn >= MIN_ANSWERS
        flags: list[Flag] = []
        if enough:
            if p > TOO_EASY_P:
                flags.append("too_easy")
            if p < TOO_HARD_P:
                flags.append("too_hard")
            if d is not None and d < WEAK_D:
                flags.append("weak_separation")
        stats.append(
            QuestionStats(
                question=key,
                drawn=drawn,
                p_correct=p,
                mean_earned=mean,
                discrimination=d,
                enough=enough,
                flags=tuple(flags),
            )
        )
    return stats
