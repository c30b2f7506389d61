"""Settlement lines worked out by hand: hours x base, pieces x the most specific rate, bonuses, adjustments."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.core.i18n import speaking
from backend.pay.models import LineKind
from backend.pay.rates import PieceRate, QualityBonus, Rates
from backend.pay.settlement import (
    AdjustmentIn,
    AgentWork,
    Credit,
    Pieces,
    WorkedShift,
    explain,
    settle_lines,
    totals,
    withholding_line,
)

MON = dt.date(2026, 3, 2)
TUE = dt.date(2026, 3, 3)

RATES = Rates(
    base_hourly_minor={"junior": 3000, "mid": 3500, "senior": 4001},
    pieces=[
        PieceRate(kind="call", rate_minor=50),
        PieceRate(kind="call", rate_minor=60, tier="senior"),
        PieceRate(kind="call", rate_minor=70, skill="billing"),
        PieceRate(kind="call", rate_minor=80, tier="senior", skill="billing"),
        PieceRate(kind="chat", rate_minor=30),
    ],
    urgent_bonus_minor=2000,
    quality_bonus=QualityBonus(min_csat_average=4.5, percent_of_piece_pay=10, min_rated_contacts=4),
)


def pieces(day: dt.date, kind: str, skill: str | None, count: int, csat_sum: int = 0, csat_count: int = 0) -> Pieces:
    return Pieces(day=day, kind=kind, skill_code=skill, count=count, csat_sum=csat_sum, csat_count=csat_count)


def test_a_worked_week_by_hand() -> None:
    work = AgentWork(
        user_id=7,
        tier="senior",
        shifts=[
            WorkedShift(shift_id=12, day=TUE, skill_code="billing", minutes=150, urgent_bonus_minor=0),
            WorkedShift(shift_id=11, day=MON, skill_code="billing", minutes=270, urgent_bonus_minor=1500),
        ],
        pieces=[
            pieces(TUE, "chat", None, 10),
            pieces(MON, "call", "billing", 20, csat_sum=19, csat_count=4),  # senior + billing: 80
            pieces(MON, "call", "tech", 5),  # senior, any skill: 60
        ],
        credits=[Credit(day=TUE, note="", amount_minor=1000)],
        adjustments=[AdjustmentIn(adjustment_id=3, amount_minor=-250, reason="Duplicate ticket last week")],
    )

    lines = settle_lines(work, RATES)

    # 4.5 h x 40.01 = 180.045 -> 180.05 (half away from zero); 2.5 h x 40.01 = 100.025 -> 100.03
    assert [
        (line.kind, line.day, line.shift_id, line.quantity, line.rate_minor, line.amount_minor) for line in lines
    ] == [
        (LineKind.base, MON, 11, 270, 4001, 18005),
        (LineKind.urgent_bonus, MON, 11, 1, 1500, 1500),
        (LineKind.base, TUE, 12, 150, 4001, 10003),
        (LineKind.piece, MON, None, 20, 80, 1600),
        (LineKind.piece, MON, None, 5, 60, 300),
        (LineKind.piece, TUE, None, 10, 30, 300),
        (LineKind.quality_bonus, None, None, 1, 10, 220),  # CSAT 19/4 = 4.75 >= 4.5: 10 % of 22.00
        (LineKind.course_pass, TUE, None, 1, None, 1000),
        (LineKind.adjustment, None, None, 1, None, -250),
    ]
    assert lines[-1].note == "Duplicate ticket last week"
    assert [line.work_kind for line in lines if line.kind is LineKind.piece] == ["call", "call", "chat"]
    assert [line.skill_code for line in lines if line.kind is LineKind.piece] == ["billing", "tech", None]
    assert totals(lines) == {
        "base_minor": 28008,
        "piece_minor": 2200,
        "bonus_minor": 1500 + 220 + 1000,
        "adjustment_minor": -250,
        "gross_minor": 28008 + 2200 + 2720 - 250,
        "withholding_minor": 0,
        "net_minor": 28008 + 2200 + 2720 - 250,
        "worked_minutes": 420,
        "pieces": 35,
    }


@pytest.mark.parametrize(
    ("tier", "skill", "rate"),
    [("senior", "billing", 80), ("senior", "tech", 60), ("junior", "billing", 70), ("junior", None, 50)],
)
def test_a_piece_pays_the_most_specific_rate(tier: str, skill: str | None, rate: int) -> None:
    lines = settle_lines(AgentWork(user_id=1, tier=tier, pieces=[pieces(MON, "call", skill, 3)]), RATES)
    assert [(line.rate_minor, line.amount_minor) for line in lines] == [(rate, 3 * rate)]


def test_a_kind_without_a_rate_is_listed_at_zero() -> None:
    lines = settle_lines(AgentWork(user_id=1, tier="mid", pieces=[pieces(MON, "ticket", None, 4)]), RATES)
    assert [(line.kind, line.quantity, line.rate_minor, line.amount_minor) for line in lines] == [
        (LineKind.piece, 4, 0, 0)
    ]


@pytest.mark.parametrize(
    ("csat_sum", "csat_count", "earned"),
    [
        (18, 4, True),  # exactly 4.5: at the bar counts
        (17, 4, False),  # 4.25
        (14, 3, False),  # 4.67 but only 3 ratings (minimum 4)
        (45, 10, True),
        (44, 10, False),  # 4.4
    ],
)
def test_the_quality_bonus_at_its_threshold(csat_sum: int, csat_count: int, earned: bool) -> None:
    work = AgentWork(user_id=1, tier="junior", pieces=[pieces(MON, "chat", None, 11, csat_sum, csat_count)])
    lines = settle_lines(work, RATES)
    bonus = [line.amount_minor for line in lines if line.kind is LineKind.quality_bonus]
    assert bonus == ([33] if earned else [])  # 10 % of 11 x 0.30 = 0.33


def test_no_quality_rule_no_bonus() -> None:
    rates = Rates(base_hourly_minor=RATES.base_hourly_minor, pieces=RATES.pieces)
    work = AgentWork(user_id=1, tier="junior", pieces=[pieces(MON, "chat", None, 10, 50, 10)])
    assert [line.kind for line in settle_lines(work, rates)] == [LineKind.piece]


def test_an_urgent_bonus_line_follows_its_shift_and_none_without_a_bonus() -> None:
    work = AgentWork(
        user_id=1,
        tier="junior",
        shifts=[
            WorkedShift(shift_id=5, day=MON, skill_code="billing", minutes=60, urgent_bonus_minor=2000),
            WorkedShift(shift_id=6, day=MON, skill_code="billing", minutes=60, urgent_bonus_minor=0),
        ],
    )
    lines = settle_lines(work, RATES)
    assert [(line.kind, line.shift_id, line.amount_minor) for line in lines] == [
        (LineKind.base, 5, 3000),
        (LineKind.urgent_bonus, 5, 2000),
        (LineKind.base, 6, 3000),
    ]
    assert totals(lines)["bonus_minor"] == 2000


@pytest.mark.parametrize(
    ("minutes", "hourly", "amount"),
    [
        (30, 1, 1),  # 0.5 -> 1
        (30, 3, 2),  # 1.5 -> 2
        (30, 5, 3),  # 2.5 -> 3 (away from zero, not to even)
        (90, 1, 2),  # 1.5 -> 2
        (30, 2, 1),  # exact
        (60, 4001, 4001),
    ],
)
def test_base_rounds_once_halves_away_from_zero(minutes: int, hourly: int, amount: int) -> None:
    rates = Rates(base_hourly_minor={"junior": hourly, "mid": hourly, "senior": hourly})
    work = AgentWork(user_id=1, tier="junior", shifts=[WorkedShift(1, MON, "billing", minutes, 0)])
    assert [line.amount_minor for line in settle_lines(work, rates)] == [amount]


def test_a_quality_share_of_exactly_half_a_minor_unit_rounds_up() -> None:
    work = AgentWork(user_id=1, tier="junior", pieces=[pieces(MON, "chat", None, 5, 25, 5)])
    rates = Rates(
        base_hourly_minor=RATES.base_hourly_minor,
        pieces=[PieceRate(kind="chat", rate_minor=1)],
        quality_bonus=QualityBonus(min_csat_average=4.5, percent_of_piece_pay=10, min_rated_contacts=1),
    )
    lines = settle_lines(work, rates)
    # 10 % of 0.05 = 0.005 -> 0.01 (half away from zero)
    assert [(line.kind, line.amount_minor) for line in lines] == [(LineKind.piece, 5), (LineKind.quality_bonus, 1)]


def test_withholding_is_a_negative_line_that_totals_keep_apart_from_gross() -> None:
    work = AgentWork(user_id=1, tier="junior", shifts=[WorkedShift(1, MON, "billing", 120, 0)])
    lines = [*settle_lines(work, RATES), withholding_line(1440)]
    assert lines[-1].amount_minor == -1440
    sums = totals(lines)
    assert (sums["gross_minor"], sums["withholding_minor"], sums["net_minor"]) == (6000, 1440, 4560)


def test_nothing_worked_nothing_listed() -> None:
    assert settle_lines(AgentWork(user_id=1, tier="junior"), RATES) == []
    assert totals([])["gross_minor"] == 0


def test_notes_explain_the_rule_in_the_readers_language_and_adjustments_keep_their_reason() -> None:
    work = AgentWork(
        user_id=1,
        tier="junior",
        shifts=[WorkedShift(1, MON, "billing", 60, 0)],
        adjustments=[AdjustmentIn(1, 500, "Missed call bonus")],
    )
    base, adjustment = settle_lines(work, RATES)
    assert base.note == "Worked time: the hours worked times the hourly base for your tier."
    assert explain(base.kind, base.note) == base.note
    assert explain(adjustment.kind, adjustment.note) == "Missed call bonus"
    with speaking("zh-Hans"):
        assert explain(adjustment.kind, adjustment.note) == "Missed call bonus"


def test_late_work_is_its_own_piece_line_keeping_the_day_worked_and_naming_its_period() -> None:
    """Late pieces (done in a locked period, arrived after its lock) are paid like any piece, first (they are the
    oldest days), and their note says where they came from: exports carry it."""
    earlier_week = (dt.date(2026, 2, 23), dt.date(2026, 3, 1))
    late_day = dt.date(2026, 2, 24)
    late = Pieces(day=late_day, kind="call", skill_code=None, count=3, csat_sum=0, csat_count=0, late_from=earlier_week)
    work = AgentWork(user_id=7, tier="junior", pieces=[pieces(MON, "call", None, 2), late])

    lines = settle_lines(work, RATES)

    assert [(line.kind, line.day, line.quantity, line.amount_minor) for line in lines] == [
        (LineKind.piece, late_day, 3, 150),
        (LineKind.piece, MON, 2, 100),
    ]
    assert lines[0].note.startswith("Late: worked on 2026-02-24, from period 2026-02-23..2026-03-01. ")
    assert not lines[1].note.startswith("Late")
    assert totals(lines)["piece_minor"] == 250
