"""The documented scoring rule, question type by question type."""

from __future__ import annotations

import pytest

from backend.learning.content import Choice, Question
from backend.learning.scoring import correct_answer, is_pass, rule_summary, score_percent, score_question


def question(kind: str, correct: list[str], ids: list[str] | None = None) -> Question:
    ids = ids or ["a", "b", "c", "d"]
    return Question(
        id="q",
        kind=kind,  # type: ignore[arg-type]
        prompt={"en": "?"},
        explanation={"en": "because"},
        choices=[Choice(id=cid, text={"en": cid}, correct=cid in correct) for cid in ids],
    )


SINGLE = question("single", ["b"])
TRUE_FALSE = question("true_false", ["f"], ["t", "f"])
MULTIPLE = question("multiple", ["a", "b", "c"])
ORDERING = question("ordering", [], ["a", "b", "c", "d"])


@pytest.mark.parametrize("partial", [True, False])
def test_single_and_true_false_are_all_or_nothing(partial: bool) -> None:
    assert score_question(SINGLE, ["b"], partial_credit=partial) == 1.0
    assert score_question(SINGLE, ["a"], partial_credit=partial) == 0.0
    assert score_question(TRUE_FALSE, ["f"], partial_credit=partial) == 1.0
    assert score_question(TRUE_FALSE, ["t"], partial_credit=partial) == 0.0


def test_unanswered_scores_zero() -> None:
    for item in (SINGLE, MULTIPLE, ORDERING):
        assert score_question(item, [], partial_credit=True) == 0.0


def test_multiple_with_partial_credit_subtracts_wrong_picks() -> None:
    assert score_question(MULTIPLE, ["a", "b", "c"], partial_credit=True) == 1.0
    assert score_question(MULTIPLE, ["c", "a"], partial_credit=True) == pytest.approx(2 / 3)
    assert score_question(MULTIPLE, ["a", "b", "d"], partial_credit=True) == pytest.approx(1 / 3)
    assert score_question(MULTIPLE, ["a", "d"], partial_credit=True) == 0.0
    assert score_question(MULTIPLE, ["d"], partial_credit=True) == 0.0  # never below zero
    assert score_question(MULTIPLE, ["a", "b", "c", "d"], partial_credit=True) == pytest.approx(2 / 3)


def test_multiple_without_partial_credit_needs_the_exact_set() -> None:
    assert score_question(MULTIPLE, ["c", "b", "a"], partial_credit=False) == 1.0
    assert score_question(MULTIPLE, ["a", "b"], partial_credit=False) == 0.0
    assert score_question(MULTIPLE, ["a", "b", "c", "d"], partial_credit=False) == 0.0


def test_ordering_with_partial_credit_counts_neighbouring_pairs_kept() -> None:
    assert score_question(ORDERING, ["a", "b", "c", "d"], partial_credit=True) == 1.0
    assert score_question(ORDERING, ["b", "c", "d", "a"], partial_credit=True) == pytest.approx(2 / 3)
    assert score_question(ORDERING, ["a", "b", "d", "c"], partial_credit=True) == pytest.approx(1 / 3)
    assert score_question(ORDERING, ["d", "c", "b", "a"], partial_credit=True) == 0.0


def test_ordering_without_partial_credit_needs_the_exact_order() -> None:
    assert score_question(ORDERING, ["a", "b", "c", "d"], partial_credit=False) == 1.0
    assert score_question(ORDERING, ["b", "c", "d", "a"], partial_credit=False) == 0.0


def test_correct_answer_is_the_correct_choices_or_the_order() -> None:
    assert correct_answer(MULTIPLE) == ["a", "b", "c"]
    assert correct_answer(ORDERING) == ["a", "b", "c", "d"]


def test_score_is_points_over_drawn_and_pass_is_at_the_mark() -> None:
    assert score_percent([1.0, 1.0, 1.0, 0.0], 4) == 75.0
    assert score_percent([1.0, 2 / 3, 1.0], 3) == pytest.approx(88.9)
    assert score_percent([1.0, 1.0], 4) == 50.0  # two drawn questions left unanswered
    assert is_pass(80.0, 80)
    assert not is_pass(79.9, 80)


def test_the_rule_is_stated_for_agents() -> None:
    with_partial = " ".join(rule_summary(partial_credit=True, pass_percent=80))
    assert "never below 0" in with_partial
    assert "80%" in with_partial
    assert "exact order" in " ".join(rule_summary(partial_credit=False, pass_percent=70))
