"""How a quiz is scored. This rule is shown to agents on the Learn pages, so it is kept short and exact.

Each drawn question earns between 0 and 1 point:

- **Single choice and true/false**: 1 point for the one correct choice, else 0.
- **Multiple choice** (choose all that apply), with partial credit:
  (correct choices picked - wrong choices picked) / (number of correct choices), never below 0.
  Without partial credit: 1 point only for exactly the correct set, else 0.
- **Ordering**: with partial credit, the share of neighbouring pairs in your order that are
  also neighbours, in the same order, in the correct order (for A-B-C-D, answering B-C-D-A
  keeps B-C and C-D of the three pairs: 2/3 point). Without partial credit: 1 point only for
  the exact order, else 0.
- A question left unanswered earns 0.

The score is the points earned / the questions drawn x 100, and the quiz is passed when the
score is at least the course's pass mark. Partial credit is a setting of each course.

Pure functions: no database, no web.
"""

from __future__ import annotations

from collections.abc import Sequence

from backend.core.i18n import gettext as _
from backend.learning.content import Question

SCORE_DECIMALS = 1


def correct_answer(question: Question) -> list[str]:
    """The right answer as choice ids: the correct choices, or for ordering the whole list in order."""
    if question.kind == "ordering":
        return [choice.id for choice in question.choices]
    return [choice.id for choice in question.choices if choice.correct]


def score_question(question: Question, chosen: Sequence[str], *, partial_credit: bool) -> float:
    """Points (0..1) earned by ``chosen`` (choice ids; for ordering, all ids in the agent's order)."""
    if not chosen:
        return 0.0
    right = correct_answer(question)
    if question.kind in ("single", "true_false"):
        return 1.0 if list(chosen) == right else 0.0
    if question.kind == "multiple":
        picked, wanted = set(chosen), set(right)
        if picked == wanted:
            return 1.0
        if not partial_credit:
            return 0.0
        return max(0.0, (len(picked & wanted) - len(picked - wanted)) / len(wanted))
    return _ordering_points(right, list(chosen), partial_credit=partial_credit)


def _ordering_points(right: list[str], chosen: list[str], *, partial_credit: bool) -> float:
    if chosen == right:
        return 1.0
    if not partial_credit or len(right) < 2:
        return 0.0
    following = {right[index]: right[index + 1] for index in range(len(right) - 1)}
    kept = sum(1 for index in range(len(chosen) - 1) if following.get(chosen[index]) == chosen[index + 1])
    return kept / (len(right) - 1)


def score_percent(earned: Sequence[float], drawn: int) -> float:
    """Points earned / questions drawn x 100, rounded to one decimal."""
    if drawn <= 0:
        return 0.0
    return round(sum(earned) / drawn * 100, SCORE_DECIMALS)


def is_pass(percent: float, pass_percent: int) -> bool:
    return percent >= pass_percent


def rule_summary(*, partial_credit: bool, pass_percent: int) -> list[str]:
    """The scoring rule above in the reader's language, one sentence a line, for the Learn pages."""
    lines = [_("Single choice and true/false: 1 point for the correct choice, else 0.")]
    if partial_credit:
        lines += [
            _(
                "Multiple choice: (correct choices picked - wrong choices picked) / number of correct choices, "
                "never below 0."
            ),
            _("Ordering: the share of neighbouring pairs in your order that are also neighbours in the right order."),
        ]
    else:
        lines += [
            _("Multiple choice: 1 point only for exactly the correct choices, else 0."),
            _("Ordering: 1 point only for the exact order, else 0."),
        ]
    lines += [
        _("A question left unanswered earns 0."),
        _(
            "Your score is the points earned out of the questions drawn; you pass with %(percent)s%% or more.",
            percent=pass_percent,
        ),
    ]
    return lines
