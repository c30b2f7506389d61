"""Intraday proposals on small hand-made days: runs of surplus become VTO (the smallest surplus), runs of gap
become VOT (the largest gap); the past, the half-hour under way and slots without a reforecast propose nothing."""

from __future__ import annotations

import datetime as dt

from backend.ops.day_need import DayNeeds, SkillDay
from backend.ops.intraday import Proposal, proposals
from backend.ops.reforecast import Reforecast

FIRST = 1000  # the day's first slot, for these tests
NONE = Reforecast(
    slots_used=0, actual_total=0, forecast_total=0, ratio=None, damped=None, factor=1.0, applied=False, formula=""
)


def a_skill(
    reforecast: list[int | None], scheduled: list[int], *, skill_id: int = 1, label: str = "Billing"
) -> SkillDay:
    slots = list(range(FIRST, FIRST + len(scheduled)))
    return SkillDay(
        skill_id=skill_id,
        code=label.lower(),
        label=label,
        slots=slots,
        required=[0] * len(slots),
        reforecast=list(reforecast),
        scheduled=list(scheduled),
        started=[None] * len(slots),
        forecast_contacts=[0.0] * len(slots),
        actual_contacts=[None] * len(slots),
        ratio=NONE,
    )


def a_day(*skills: SkillDay) -> DayNeeds:
    return DayNeeds(day=dt.date(2026, 12, 8), slots=skills[0].slots, now_slot=FIRST, skills=list(skills), seats=[])


def test_a_run_of_surplus_is_one_vto_for_its_smallest_surplus() -> None:
    #            slot: 1000  1001 1002 1003 1004 1005
    skill = a_skill([None, 3, 2, 1, 4, 4], [5, 5, 5, 4, 4, 4])  # surplus 2, 3, 3, then none
    assert proposals(a_day(skill), now_slot=FIRST) == [Proposal("vto", 1, "Billing", 1001, 1004, 2)]


def test_a_run_of_gap_is_one_vot_for_its_largest_gap() -> None:
    skill = a_skill([None, 4, 6, 5, 3], [3, 3, 3, 3, 3])  # gap 1, 3, 2, then covered
    assert proposals(a_day(skill), now_slot=FIRST) == [Proposal("vot", 1, "Billing", 1001, 1004, 3)]


def test_the_half_hour_under_way_and_slots_without_a_reforecast_propose_nothing() -> None:
    skill = a_skill([1, 1, None, 1], [3, 3, 3, 3])
    # now at 1001: 1001 is under way, 1002 has no reforecast; only 1003 is proposed
    assert proposals(a_day(skill), now_slot=FIRST + 1) == [Proposal("vto", 1, "Billing", 1003, 1004, 2)]


def test_surplus_then_gap_are_two_proposals_per_skill_by_label() -> None:
    tech = a_skill([None, 1, 1, 5, 5], [3, 3, 3, 3, 3], skill_id=2, label="Tech")
    billing = a_skill([None, 4, 4, 4, 4], [4, 4, 4, 4, 4])  # exactly covered
    assert proposals(a_day(tech, billing), now_slot=FIRST) == [
        Proposal("vto", 2, "Tech", 1001, 1003, 2),
        Proposal("vot", 2, "Tech", 1003, 1005, 2),
    ]
