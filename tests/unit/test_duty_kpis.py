"""Duty KPIs for a fixed week of duty, checked against values worked out by hand.

Two leads, three four-hour duties (UTC), five items, handovers due 30 minutes after a duty ends:

    duty 10 (lead 1) 7 Dec 01:00-05:00  handover 05:20, acknowledged 05:40   -> on time
        item 1: 01:10, first action +4 min, closed 02:00 (in duty), 2 updates
        item 2: 02:00, first action +10 min, closed 06:00 (after the duty), 1 update
    duty 11 (lead 2) 8 Dec 01:00-05:00  handover 05:45 (15 min late), acknowledged 06:00
        item 3: 03:00, first action +30 min, closed 04:00 (in duty), 1 update
    duty 12 (lead 1) 9 Dec 01:00-05:00  handover 05:10, never acknowledged
        item 4: 04:00, nobody acted, open, no update                  -> duty 12's record is incomplete
        item 5: 04:30, first action dated 04:25 (counts as 0 min), closed 04:40, 1 update
"""

from __future__ import annotations

import datetime as dt

from backend.ops.kpis import DutyRow, ItemRow, handover_on_time, percent, week_kpis


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=dt.UTC)


DUTIES = [
    DutyRow(10, 1, at(7, 1), at(7, 5), at(7, 5, 20), at(7, 5, 40)),
    DutyRow(11, 2, at(8, 1), at(8, 5), at(8, 5, 45), at(8, 6)),
    DutyRow(12, 1, at(9, 1), at(9, 5), at(9, 5, 10), None),
]
ITEMS = [
    ItemRow(10, at(7, 1, 10), at(7, 1, 14), at(7, 2), 2),
    ItemRow(10, at(7, 2), at(7, 2, 10), at(7, 6), 1),
    ItemRow(11, at(8, 3), at(8, 3, 30), at(8, 4), 1),
    ItemRow(12, at(9, 4), None, None, 0),
    ItemRow(12, at(9, 4, 30), at(9, 4, 25), at(9, 4, 40), 1),
]
AFTER_THE_WEEK = at(14, 12)


def test_each_lead_and_everyone_after_the_week() -> None:
    leads, everyone = week_kpis(DUTIES, ITEMS, due_minutes=30, now=AFTER_THE_WEEK)
    first, second = leads
    assert first.lead_id == 1
    assert second.lead_id == 2
    assert everyone.lead_id is None

    # Lead 1: first actions after 4, 10 and 0 minutes; one item never answered.
    assert (first.duties, first.items, first.actioned, first.unanswered) == (2, 4, 3, 1)
    assert first.median_first_action_minutes == 4.0
    assert first.mean_first_action_minutes == 4.7  # 14 / 3
    assert (first.closed_in_duty, first.items_of_ended_duties, first.closed_in_duty_percent) == (2, 4, 50.0)
    assert (first.complete_records, first.duties_due, first.complete_percent) == (1, 2, 50.0)
    assert (first.handovers_on_time, first.on_time_percent) == (1, 50.0)

    # Lead 2: one item answered after 30 minutes and closed in the duty; the handover was late.
    assert (second.median_first_action_minutes, second.mean_first_action_minutes) == (30.0, 30.0)
    assert second.closed_in_duty_percent == 100.0
    assert second.complete_percent == 100.0
    assert second.on_time_percent == 0.0

    # Everyone: waits 4, 10, 30, 0 -> median (4 + 10) / 2, mean 44 / 4.
    assert (everyone.duties, everyone.items, everyone.actioned) == (3, 5, 4)
    assert (everyone.median_first_action_minutes, everyone.mean_first_action_minutes) == (7.0, 11.0)
    assert everyone.closed_in_duty_percent == 60.0  # 3 of 5
    assert everyone.complete_percent == 66.7  # 2 of 3
    assert everyone.on_time_percent == 33.3  # 1 of 3


def test_a_running_duty_and_a_handover_not_yet_due_are_not_counted_against_the_lead() -> None:
    """At 04:50 on 9 Dec duty 12 is still running: its items and its handover are not judged yet."""
    leads, _everyone = week_kpis(DUTIES, ITEMS, due_minutes=30, now=at(9, 4, 50))
    first = leads[0]
    assert first.items == 4  # its items still count for time to first action
    assert (first.closed_in_duty, first.items_of_ended_duties) == (1, 2)
    assert (first.duties_due, first.complete_percent, first.on_time_percent) == (1, 100.0, 100.0)


def test_handover_on_time_needs_both_the_deadline_and_an_acknowledgement() -> None:
    on_time, late, unacknowledged = DUTIES
    assert handover_on_time(on_time, due_minutes=30)
    assert not handover_on_time(late, due_minutes=30)
    assert handover_on_time(late, due_minutes=45)  # 05:45 is exactly the deadline: still on time
    assert not handover_on_time(unacknowledged, due_minutes=30)
    missing = DutyRow(13, 1, at(10, 1), at(10, 5), None, None)
    assert not handover_on_time(missing, due_minutes=30)


def test_an_empty_week_has_no_figures_rather_than_zeros() -> None:
    leads, everyone = week_kpis([], [], due_minutes=30, now=AFTER_THE_WEEK)
    assert leads == []
    assert everyone.median_first_action_minutes is None
    assert everyone.closed_in_duty_percent is None
    assert everyone.complete_percent is None
    assert percent(0, 0) is None
    assert percent(1, 3) == 33.3
