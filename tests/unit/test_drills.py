"""SM-2 scheduling of drills: intervals, easiness, lapses, mastery."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from backend.learning.drills import CardState, next_review, quality_of, shuffled

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_correct_reviews_space_out_1_then_6_days_then_by_easiness_and_master_at_the_third() -> None:
    state = CardState(due_at=NOW)
    first = next_review(state, 4, NOW)
    assert (first.interval_days, first.repetitions, first.mastered_at) == (1, 1, None)
    assert first.due_at == NOW + dt.timedelta(days=1)
    second = next_review(first, 4, first.due_at)  # type: ignore[arg-type]
    assert (second.interval_days, second.repetitions, second.mastered_at) == (6, 2, None)
    third = next_review(second, 4, second.due_at)  # type: ignore[arg-type]
    assert third.repetitions == 3
    assert third.interval_days == round(6 * third.easiness)
    assert third.mastered_at == second.due_at


def test_easiness_follows_sm2_and_never_drops_below_1_3() -> None:
    assert next_review(CardState(), 5, NOW).easiness == pytest.approx(2.6)
    assert next_review(CardState(), 4, NOW).easiness == pytest.approx(2.5)
    assert next_review(CardState(), 3, NOW).easiness == pytest.approx(2.36)
    state = CardState()
    for _ in range(20):
        state = next_review(state, 0, NOW)
    assert state.easiness == pytest.approx(1.3)


def test_a_wrong_answer_is_a_lapse_back_to_one_day() -> None:
    state = next_review(next_review(CardState(), 4, NOW), 4, NOW)
    lapsed = next_review(state, 1, NOW)
    assert (lapsed.repetitions, lapsed.interval_days, lapsed.lapses) == (0, 1, 1)
    assert lapsed.due_at == NOW + dt.timedelta(days=1)


def test_grades_from_points() -> None:
    assert quality_of(1.0) == 4
    assert quality_of(0.5) == 2
    assert quality_of(0.0) == 1


def test_grade_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="0 to 5"):
        next_review(CardState(), 6, NOW)


def test_an_ordering_is_never_shown_in_its_answer_order() -> None:
    answer = ["a", "b"]
    for seed in range(50):
        assert shuffled(answer, random.Random(seed), avoid=answer) == ["b", "a"]
