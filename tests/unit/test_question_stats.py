"""Per-question statistics: difficulty, mean credit, upper-lower discrimination, and which questions get flagged."""

from __future__ import annotations

import pytest

from backend.learning.stats import MIN_ANSWERS, Answer, AttemptRow, QuestionStats, question_stats, rows_of


def attempt(**answers: float) -> AttemptRow:
    """An attempt from ``question=earned`` pairs; full credit (1.0) counts as fully correct."""
    return AttemptRow(
        answers=tuple(Answer(question=key, earned=earned, correct=earned == 1.0) for key, earned in answers.items())
    )


def ten_agents(target: dict[int, float]) -> list[AttemptRow]:
    """Ten agents of rising strength (0 weakest): two anchor questions rank them, ``target[i]`` is agent i's credit.

    anchor_a is right for agents 5-9, anchor_b for agents 3-9, so on the anchors agents 0-2 score 0,
    agents 3-4 score 0.5 and agents 5-9 score 1.
    """
    return [attempt(anchor_a=float(i >= 5), anchor_b=float(i >= 3), target=target[i]) for i in range(10)]


def by_key(rows: list[AttemptRow], keys: tuple[str, ...] = ()) -> dict[str, QuestionStats]:
    return {stat.question: stat for stat in question_stats(rows, keys)}


def test_a_question_strong_agents_get_right_discriminates_fully() -> None:
    stats = by_key(ten_agents({i: float(i >= 5) for i in range(10)}))
    target = stats["target"]
    assert target.drawn == 10
    assert target.p_correct == pytest.approx(0.5)
    assert target.discrimination == pytest.approx(1.0)  # top 3 all right, bottom 3 all wrong
    assert target.enough
    assert target.flags == ()


def test_a_question_weak_agents_get_right_and_strong_ones_wrong_has_negative_discrimination() -> None:
    stats = by_key(ten_agents({i: float(i < 5) for i in range(10)}))
    target = stats["target"]
    assert target.p_correct == pytest.approx(0.5)
    assert target.discrimination == pytest.approx(-1.0)  # bottom 3 all right, top 3 all wrong
    assert target.flags == ("weak_separation",)


def test_partial_credit_counts_in_mean_earned_but_not_in_share_fully_correct() -> None:
    rows = [attempt(q=1.0, r=1.0), attempt(q=0.5, r=0.0), attempt(q=0.0, r=0.0), attempt(q=0.5, r=1.0)]
    q = by_key(rows)["q"]
    assert q.drawn == 4
    assert q.p_correct == pytest.approx(0.25)
    assert q.mean_earned == pytest.approx(0.5)


def test_the_question_does_not_rank_attempts_by_itself() -> None:
    """Attempts are ranked by the rest score: a question unrelated to the others gets D = 0, although ranking by
    the total (this question included) would have pushed the attempts that got it right up, to D = 2/3."""
    right = {0, 1, 2, 7, 8, 9}
    rows = [attempt(other=float(i >= 5), q=float(i in right)) for i in range(10)]
    q = by_key(rows)["q"]
    assert q.discrimination == pytest.approx(0.0)  # bottom 3 (agents 0-2) and top 3 (7-9) all right


def test_too_easy_and_too_hard_are_flagged_once_drawn_often_enough() -> None:
    rows = [attempt(easy=1.0, hard=0.0, middle=float(i >= 6)) for i in range(12)]
    stats = by_key(rows)
    assert "too_easy" in stats["easy"].flags
    assert "too_hard" in stats["hard"].flags
    # Everyone right or everyone wrong cannot tell anyone apart either.
    assert stats["easy"].discrimination == pytest.approx(0.0)
    assert "weak_separation" in stats["easy"].flags


def test_below_the_minimum_there_are_figures_but_no_flags() -> None:
    rows = [attempt(easy=1.0, other=float(i % 2)) for i in range(MIN_ANSWERS - 1)]
    easy = by_key(rows)["easy"]
    assert easy.drawn == MIN_ANSWERS - 1
    assert easy.p_correct == pytest.approx(1.0)
    assert not easy.enough
    assert easy.flags == ()


def test_known_keys_come_first_in_order_and_never_drawn_ones_are_listed() -> None:
    rows = [attempt(b=1.0, stray=0.0)]
    stats = question_stats(rows, ("a", "b"))
    assert [stat.question for stat in stats] == ["a", "b", "stray"]
    assert stats[0].drawn == 0
    assert stats[0].p_correct is None
    assert stats[0].discrimination is None


def test_an_attempt_of_one_question_has_no_rest_score() -> None:
    only = by_key([attempt(q=1.0), attempt(q=0.0)])["q"]
    assert only.drawn == 2
    assert only.discrimination is None


def test_rows_come_from_stored_attempt_results() -> None:
    stored = [
        [{"question": "q1", "earned": 1, "correct": True}, {"question": "q2", "earned": 0.5, "correct": False}],
        [],
    ]
    rows = rows_of(stored)
    assert rows == [
        AttemptRow(
            answers=(Answer(question="q1", earned=1.0, correct=True), Answer(question="q2", earned=0.5, correct=False))
        )
    ]
