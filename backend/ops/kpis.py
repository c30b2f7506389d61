"""Duty KPIs: how a shift lead's duties went, computed from plain rows (no database, no clock).

Per lead (and for all leads together) over the duties that start in a week:

- **Time to first action**: minutes from an item's start to its first update, over the items of the lead's duties
  that have one (median and mean; an update dated before the start counts as 0). Items nobody has acted on yet
  are counted apart (``unanswered``), not averaged in.
- **Closed within the duty**: the share of the items of the lead's *ended* duties that were closed before the
  duty they started in ended. An item of a duty still running has not failed yet, so it is not counted.
- **Complete record**: the share of the lead's duties whose handover is due (``handover_due_minutes`` after the
  duty's end has passed) where every item has at least one update (each update sets a status) and the handover
  was submitted.
- **Handover on time**: of the same duties, the share whose handover was submitted at most
  ``handover_due_minutes`` after the duty ended and has been acknowledged by the incoming lead.

Minutes are rounded to one decimal and shares are percentages rounded to one decimal, once, here: the page and
its CSV show the same numbers.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class DutyRow:
    """One duty that was not cancelled, with its handover (``None`` when none was submitted)."""

    duty_id: int
    lead_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    handover_submitted_at: dt.datetime | None
    handover_acknowledged_at: dt.datetime | None


@dataclass(frozen=True)
class ItemRow:
    """One duty log item: when it started, its first action and close, and how many updates it has."""

    duty_id: int
    started_at: dt.datetime
    first_action_at: dt.datetime | None
    closed_at: dt.datetime | None
    updates: int


@dataclass(frozen=True)
class LeadKpis:
    """One lead's figures for the week (``lead_id`` None: every lead together)."""

    lead_id: int | None
    duties: int
    items: int
    actioned: int
    median_first_action_minutes: float | None
    mean_first_action_minutes: float | None
    items_of_ended_duties: int
    closed_in_duty: int
    duties_due: int
    complete_records: int
    handovers_on_time: int

    @property
    def unanswered(self) -> int:
        return self.items - self.actioned

    @property
    def closed_in_duty_percent(self) -> float | None:
        return percent(self.closed_in_duty, self.items_of_ended_duties)

    @property
    def complete_percent(self) -> float | None:
        return percent(self.complete_records, self.duties_due)

    @property
    def on_time_percent(self) -> float | None:
        return percent(self.handovers_on_time, self.duties_due)


def percent(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` as a percentage to one decimal; None when there is nothing to count."""
    return round(100 * part / whole, 1) if whole else None


def minutes_between(start: dt.datetime, end: dt.datetime) -> float:
    """Minutes from ``start`` to ``end``, never negative (an action dated before the start took no time)."""
    return max(0.0, (end - start).total_seconds() / 60)


def handover_on_time(duty: DutyRow, *, due_minutes: int) -> bool:
    """Submitted at most ``due_minutes`` after the duty ended, and acknowledged."""
    submitted = duty.handover_submitted_at
    due = duty.ends_at + dt.timedelta(minutes=due_minutes)
    return submitted is not None and submitted <= due and duty.handover_acknowledged_at is not None


def lead_kpis(
    lead_id: int | None,
    duties: Sequence[DutyRow],
    items: Iterable[ItemRow],
    *,
    due_minutes: int,
    now: dt.datetime,
) -> LeadKpis:
    """The figures for ``duties`` (one lead's, or everyone's) and the items of those duties among ``items``."""
    by_id = {duty.duty_id: duty for duty in duties}
    mine = [item for item in items if item.duty_id in by_id]
    waits = [
        minutes_between(item.started_at, item.first_action_at) for item in mine if item.first_action_at is not None
    ]
    ended = [item for item in mine if by_id[item.duty_id].ends_at <= now]
    closed_in_duty = [
        item for item in ended if item.closed_at is not None and item.closed_at <= by_id[item.duty_id].ends_at
    ]
    due = [duty for duty in duties if duty.ends_at + dt.timedelta(minutes=due_minutes) <= now]
    unrecorded = {item.duty_id for item in mine if item.updates == 0}
    complete = [duty for duty in due if duty.handover_submitted_at is not None and duty.duty_id not in unrecorded]
    return LeadKpis(
        lead_id=lead_id,
        duties=len(duties),
        items=len(mine),
        actioned=len(waits),
        median_first_action_minutes=round(statistics.median(waits), 1) if waits else None,
        mean_first_action_minutes=round(statistics.fmean(waits), 1) if waits else None,
        items_of_ended_duties=len(ended),
        closed_in_duty=len(closed_in_duty),
        duties_due=len(due),
        complete_records=len(complete),
        handovers_on_time=sum(handover_on_time(duty, due_minutes=due_minutes) for duty in due),
    )


def week_kpis(
    duties: Sequence[DutyRow], items: Sequence[ItemRow], *, due_minutes: int, now: dt.datetime
) -> tuple[list[LeadKpis], LeadKpis]:
    """Each lead's figures (in the order their first duty appears) and everyone's together."""
    by_lead: dict[int, list[DutyRow]] = {}
    for duty in sorted(duties, key=lambda duty: (duty.starts_at, duty.duty_id)):
        by_lead.setdefault(duty.lead_id, []).append(duty)
    leads = [
        lead_kpis(lead_id, lead_duties, items, due_minutes=due_minutes, now=now)
        for lead_id, lead_duties in by_lead.items()
    ]
    return leads, lead_kpis(None, duties, items, due_minutes=due_minutes, now=now)
