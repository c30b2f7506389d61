"""Pure availability rules: deadlines, the weeks in reach, blocks to slots, and wall-clock templates."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from backend.accounts.models import Site, User
from backend.accounts.site_settings import site_settings
from backend.availability import edits, service
from backend.availability.models import AvailabilityTemplate, Preference
from backend.core.errors import DomainError
from backend.core.slots import IsoWeek, local_slot

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def a_site(**settings: object) -> Site:
    return Site(name="Unit", timezone="Asia/Shanghai", country="CN", settings=settings)


def an_agent(timezone: str = "Asia/Shanghai") -> User:
    return User(email="a@example.com", display_name="A", timezone=timezone)


def rules_at(now: dt.datetime, week: str = "2026-W49", role: str = "agent") -> service.WeekRules:
    return service.week_rules(user=an_agent(), site=a_site(), week=IsoWeek.parse(week), now=now, editor_role=role)


def test_next_weeks_deadline_is_thursday_18_00_site_time_in_the_week_before() -> None:
    site = a_site()
    deadline = service.submission_deadline(IsoWeek.parse("2026-W49"), site, site_settings(site))
    assert deadline == dt.datetime(2026, 11, 26, 18, 0, tzinfo=SHANGHAI)
    moved = a_site(availability_deadline_weekday=4, availability_deadline_time="12:30")
    assert service.submission_deadline(IsoWeek.parse("2026-W49"), moved, site_settings(moved)) == dt.datetime(
        2026, 11, 27, 12, 30, tzinfo=SHANGHAI
    )


def test_the_weeks_in_reach_run_from_this_week_to_the_horizon() -> None:
    now = dt.datetime(2026, 11, 22, 9, tzinfo=SHANGHAI)
    assert [str(w) for w in service.open_weeks(an_agent(), a_site(), now)] == [
        "2026-W47",
        "2026-W48",
        "2026-W49",
        "2026-W50",
        "2026-W51",
    ]
    assert str(service.default_week(an_agent(), a_site(), now)) == "2026-W49"  # W48 closed on Thursday
    assert str(service.default_week(an_agent(), a_site(), now - dt.timedelta(days=4))) == "2026-W48"
    with pytest.raises(DomainError, match="out of range"):
        rules_at(now, "2026-W52")


def test_a_closed_week_is_locked_for_agents_only() -> None:
    after = dt.datetime(2026, 11, 26, 18, 0, tzinfo=SHANGHAI)
    assert rules_at(after).locked_reason is not None
    assert rules_at(after - dt.timedelta(minutes=1)).locked_reason is None
    assert rules_at(after, role="coordinator").locked_reason is None


def test_blocks_become_slots_and_refusals_name_the_block() -> None:
    rules = rules_at(dt.datetime(2026, 11, 23, 9, tzinfo=SHANGHAI))
    start = dt.datetime(2026, 12, 1, 18, 0, tzinfo=SHANGHAI)
    offers = service.offers_from_blocks([(start, start + dt.timedelta(hours=2), "if_needed")], rules)
    assert offers == dict.fromkeys(
        range(local_slot(start.date(), 18, 0, SHANGHAI), local_slot(start.date(), 20, 0, SHANGHAI)),
        Preference.if_needed,
    )

    with pytest.raises(DomainError) as bad:
        service.offers_from_blocks(
            [(start, start + dt.timedelta(hours=1), "preferred"), (start, start + dt.timedelta(hours=1), "maybe")],
            rules,
        )
    assert bad.value.field == "blocks[1].preference"
    assert "Block 2" in bad.value.message


def test_a_template_keeps_wall_clock_times_across_a_clock_change() -> None:
    week, later = IsoWeek.parse("2027-W11"), IsoWeek.parse("2027-W12")  # Berlin springs forward on 28 March
    sunday_evening = range(
        local_slot(dt.date(2027, 3, 21), 20, 0, BERLIN), local_slot(dt.date(2027, 3, 22), 0, 0, BERLIN)
    )
    blocks = edits.template_blocks(dict.fromkeys(sunday_evening, Preference.preferred), week, BERLIN)
    assert blocks == [{"weekday": 6, "start": "20:00", "end": "24:00", "preference": "preferred"}]
    applied = edits.offers_from_template(AvailabilityTemplate(blocks=blocks), later, BERLIN)
    assert min(applied) == local_slot(dt.date(2027, 3, 28), 20, 0, BERLIN)
    assert len(applied) == 8
    assert edits.moved_to(dict.fromkeys(sunday_evening, Preference.preferred), later, BERLIN) == applied
