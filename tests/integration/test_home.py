"""The agent's Home: the next shift and its buttons, pay so far, shifts to claim, what to learn, the availability
deadline, unread notifications, the last payout; each part's empty state; only the agent's own data; both languages.

The clock is set (time-machine) to noon on Wednesday 4 November 2026 in Shanghai, the test site's zone, unless a
test moves it; every shift and deadline is built from that instant, so the tests read the same on any day.
"""
# ruff: noqa: RUF001 -- the pages put an en dash between two times, and so do the assertions

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.accounts.models import Role, Site, User
from backend.accounts.site_settings import update_site_settings
from backend.availability import service as availability
from backend.core.i18n import gettext, speaking
from backend.core.money import format_money
from backend.handover import service as handover
from backend.home import service
from backend.learning.courses import ONBOARDING
from backend.notify.service import Kind, mark_read, notify
from backend.pay import earnings
from backend.pay.models import Cadence, PayPeriod, PeriodStatus
from backend.payouts.models import Payout, PayoutRun, PayoutStatus, Rail, RunStatus
from backend.shifts import market
from backend.shifts.models import ShiftSeat
from backend.work.models import WorkKind, WorkRecord
from tests.conftest import login, post_form
from tests.factories import (
    Factory,
    a_course,
    a_held_shift,
    a_rate_card,
    a_skill,
    an_agent,
    an_open_shift,
    sample_course,
)

UTC = dt.UTC
NOON = dt.datetime(2026, 11, 4, 4, 0, tzinfo=UTC)  # Wednesday 12:00 in Shanghai
AFTERNOON_SHIFT = dt.datetime(2026, 11, 4, 8, 30, tzinfo=UTC)  # 16:30-23:00 in Shanghai
HTMX = {"hx-request": "true"}
RATES = {
    "base_hourly_minor": {"junior": 3000, "mid": 3500, "senior": 4000},
    "pieces": [{"kind": "call", "rate_minor": 50}],
}


@pytest.fixture(autouse=True)
def wednesday_noon(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(NOON, tick=True)


def zh(message: str, **variables: Any) -> str:
    with speaking("zh-Hans"):
        return gettext(message, **variables)


def text_of(html: str) -> str:
    """The page's words as a reader sees them: tags dropped, white space folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def card(html: str, part: str) -> str:
    """One Home card's words (``part``: next, pay, open, learn, availability, inbox, payout)."""
    found = re.search(rf'<section class="card home-card" id="home-{part}".*?</section>', html, re.S)
    assert found, f"Home has no {part} card"
    return text_of(found.group(0))


async def signed_in(client: httpx.AsyncClient, people: Factory, *, skills: list[Any] = (), **fields: Any) -> User:
    agent = await an_agent(people, skills=skills, **fields)
    assert (await login(client, agent.email)).status_code == 303
    return agent


async def home(client: httpx.AsyncClient) -> str:
    response = await client.get("/app")
    assert response.status_code == 200
    return response.text


# The next shift -------------------------------------------------------------------------------------


async def test_a_shift_this_afternoon_is_on_home_with_its_confirm_button(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await signed_in(client, people)
    shift = await a_held_shift(db, agent, AFTERNOON_SHIFT, slots=13)

    page = await home(client)
    next_card = card(page, "next")
    assert "No shifts coming up" not in page
    assert "Next shift Today 16:30 – 23:00 Billing · 6.5 h" in next_card
    assert "Confirm shift" in next_card
    assert "Start shift opens" in next_card  # 16:15, not yet
    assert f'action="/app/shifts/{shift.id}/confirm"' in page

    confirmed = await post_form(client, f"/app/shifts/{shift.id}/confirm", {})
    assert confirmed.status_code == 303
    assert "Confirmed. See you then." in card(await home(client), "next")


async def test_the_day_before_home_offers_confirm_for_tomorrow(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(NOON - dt.timedelta(days=1), tick=True)
    agent = await signed_in(client, people)
    await a_held_shift(db, agent, AFTERNOON_SHIFT, slots=13)
    next_card = card(await home(client), "next")
    assert "Tomorrow 16:30 – 23:00" in next_card
    assert "Confirm shift" in next_card


async def test_inside_its_start_window_home_offers_start_shift_and_it_starts(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(AFTERNOON_SHIFT - dt.timedelta(minutes=10), tick=True)  # 16:20
    agent = await signed_in(client, people)
    shift = await a_held_shift(db, agent, AFTERNOON_SHIFT, slots=13)
    next_card = card(await home(client), "next")
    assert "Start shift" in next_card
    assert "Start shift opens" not in next_card

    started = await post_form(client, f"/app/shifts/{shift.id}/start", {})
    assert started.status_code == 303
    after = card(await home(client), "next")
    assert re.search(r"Started .*16:2\d", after)  # the wording is the attendance partial's
    assert "Start shift" not in after


async def test_handover_notes_waiting_for_the_next_shift_are_counted_with_a_link(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await signed_in(client, people)
    coordinator = await people.make(Role.coordinator)
    shift = await a_held_shift(db, agent, AFTERNOON_SHIFT, slots=13)
    for body in ("The refund tool is slow tonight.", "Call Ms Zhou back first."):
        await handover.write_on_shift(db, shift_id=shift.id, staff=coordinator, kind="warning", body=body, now=NOON)
    await db.commit()
    page = await home(client)
    assert "2 handover notes waiting" in card(page, "next")
    assert f'href="/app/shifts/{shift.id}/handover"' in page


# Pay so far ------------------------------------------------------------------------------------------


async def test_hours_and_earnings_are_the_earnings_tabs_numbers(
    client: httpx.AsyncClient,
    db: AsyncSession,
    site: Site,
    people: Factory,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 4, 7, 0, tzinfo=UTC), tick=True)  # 15:00 in Shanghai
    agent = await signed_in(client, people)
    await a_rate_card(db, site, RATES, effective_from=dt.date(2026, 1, 1))
    await a_held_shift(db, agent, dt.datetime(2026, 11, 2, 1, 0, tzinfo=UTC), slots=8)  # Monday 09:00-13:00
    await a_held_shift(db, agent, dt.datetime(2026, 11, 4, 1, 0, tzinfo=UTC), slots=9)  # today 09:00-13:30
    for n in range(6):
        db.add(
            WorkRecord(site_id=site.id, user_id=agent.id, source="pbx", external_id=f"call-{n}", count=1,
                       occurred_at=dt.datetime(2026, 11, 4, 2, n, tzinfo=UTC), kind=WorkKind.call)
        )  # fmt: skip
    await db.commit()

    [current] = [view for view in await earnings.open_periods(db, user=agent) if view.is_current]
    [today] = [day for day in current.days if day.day == dt.date(2026, 11, 4)]
    assert today.total_minor == 13500 + 300  # 4.5 h x 30.00 and 6 calls x 0.50
    assert current.totals["gross_minor"] == 12000 + 13500 + 300
    pay_card = card(await home(client), "pay")
    assert f"Today 4.5 h · {format_money(today.total_minor, 'CNY')}" in pay_card
    assert f"This week 8.5 h · {format_money(current.totals['gross_minor'], 'CNY')}" in pay_card
    tab = text_of((await client.get("/app/earnings")).text)
    assert format_money(current.totals["gross_minor"], "CNY") in tab
    assert format_money(today.total_minor, "CNY") in tab


# Open shifts ----------------------------------------------------------------------------------------


async def test_open_shifts_count_is_the_marketplaces_claimable_ones_and_claim_works_from_home(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site, "billing")
    agent = await signed_in(client, people, skills=[billing])
    starts = [dt.datetime(2026, 11, 5 + n, 2, 0, tzinfo=UTC) for n in range(4)]
    shifts = [await an_open_shift(db, site, "billing", start=start, now=NOON) for start in starts]
    await an_open_shift(db, site, "tech", start=starts[0], now=NOON)  # not certified: not claimable

    view = await market.open_shifts_for(db, agent=agent, now=NOON)
    assert sum(item.can_claim for item in view.shifts) == 4
    page = await home(client)
    open_card = card(page, "open")
    assert "4 open shifts you can claim now." in open_card
    assert open_card.count("Claim") == 3  # the first three, soonest first
    assert "Tomorrow 10:00 – 14:00 Billing · 4 h" in open_card

    answer = await client.post(
        f"/app/home/open/{shifts[0].id}/claim", data={"_csrf_token": client.cookies["weft_csrf"]}, headers=HTMX
    )
    assert answer.status_code == 200
    assert answer.headers["hx-trigger"] == "shift-claimed"
    assert "Claimed: it is on your schedule." in text_of(answer.text)
    assert "3 open shifts you can claim now." in text_of(answer.text)
    seat = await db.scalar(select(ShiftSeat).where(ShiftSeat.shift_id == shifts[0].id, ShiftSeat.user_id == agent.id))
    assert seat is not None
    assert "Tomorrow 10:00 – 14:00" in card(await home(client), "next")

    plain = await post_form(client, f"/app/home/open/{shifts[1].id}/claim", {})
    assert (plain.status_code, plain.headers["location"]) == (303, "/app/shifts")


async def test_a_refused_claim_says_why_on_the_card(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site, "billing")
    await signed_in(client, people, skills=[billing])
    shift = await an_open_shift(
        db, site, "billing", start=dt.datetime(2026, 11, 5, 2, 0, tzinfo=UTC), now=NOON, seats=1
    )
    other = await an_agent(people, skills=[billing])
    await market.claim_shift(db, shift_id=shift.id, agent=other, now=NOON)
    await db.commit()
    answer = await client.post(
        f"/app/home/open/{shift.id}/claim", data={"_csrf_token": client.cookies["weft_csrf"]}, headers=HTMX
    )
    assert answer.status_code == 200
    assert "hx-trigger" not in answer.headers
    assert 'role="alert"' in answer.text
    assert "No open shift fits you right now." in text_of(answer.text)


# Learning, availability, notifications, payouts ----------------------------------------------------------


async def test_learning_next_lists_the_required_onboarding_course(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await signed_in(client, people, onboarded=False)
    course = await a_course(db, site, sample_course(code="welcome", certifies=ONBOARDING))
    page = await home(client)
    learn_card = card(page, "learn")
    assert "Billing basics Required before you can take shifts." in learn_card
    assert f'href="/app/learn/courses/{course.id}"' in page


async def test_the_availability_deadline_counts_down_and_says_whether_i_offered(
    client: httpx.AsyncClient,
    db: AsyncSession,
    site: Site,
    people: Factory,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    time_machine.move_to(NOON, tick=False)  # the count-down is to the minute
    agent = await signed_in(client, people)
    # Next week is 9-15 November; its deadline is Thursday 5 November 18:00 (the site's default), 30 h from now.
    first = card(await home(client), "availability")
    assert "Deadline Tomorrow 18:00 · closes in 1 day 6 h" in first
    assert "You have not offered any half-hours for this week yet." in first
    assert "Offer my availability" in first
    monday = dt.datetime(2026, 11, 9, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    await availability.offer_week(
        db,
        user=agent,
        site=site,
        week="2026-W46",
        max_hours=None,
        blocks=[(monday, monday + dt.timedelta(hours=3), "preferred")],
        now=NOON,
        editor_id=agent.id,
        editor_role="agent",
    )
    await db.commit()
    offered = card(await home(client), "availability")
    assert "You have offered 3 h." in offered
    assert "Change my availability" in offered


def test_the_count_down_reads_in_days_hours_and_minutes() -> None:
    assert service.closes_in_text(dt.timedelta(days=2, hours=4, minutes=59)) == "closes in 2 days 4 h"
    assert service.closes_in_text(dt.timedelta(days=1)) == "closes in 1 day 0 h"
    assert service.closes_in_text(dt.timedelta(hours=3, minutes=20)) == "closes in 3 h 20 min"
    assert service.closes_in_text(dt.timedelta(seconds=30)) == "closes in 1 min"
    assert service.closes_in_text(dt.timedelta(0)) == "closed"


async def test_unread_notifications_are_counted_with_the_latest_three(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent = await signed_in(client, people)
    notes = []
    for n in range(4):
        notes.append(await notify(db, user_id=agent.id, kind=Kind.open_shift, title=f"Open shift number {n}",
                                  now=NOON - dt.timedelta(minutes=10 - n)))  # fmt: skip
    await mark_read(db, user_id=agent.id, notification_id=notes[3].id)
    await db.commit()
    page = await home(client)
    inbox_card = card(page, "inbox")
    assert "3 unread notifications" in inbox_card
    assert "Open shift number 0" not in inbox_card  # the oldest of four
    assert "New: Open shift number 1" in inbox_card
    assert "New: Open shift number 2" in inbox_card
    assert "Open shift number 3" in inbox_card
    assert "New: Open shift number 3" not in inbox_card
    assert 'href="/app/inbox"' in page


async def a_paid_payout(db: AsyncSession, site: Site, agent: User, people: Factory) -> Payout:
    """A bank payout of CNY 456.78 for the week of 26 October, arrived on 3 November."""
    finance = await people.make(Role.finance)
    period = PayPeriod(site_id=site.id, starts_on=dt.date(2026, 10, 26), ends_on=dt.date(2026, 11, 2),
                       cadence=Cadence.weekly, currency="CNY", status=PeriodStatus.paid)  # fmt: skip
    db.add(period)
    await db.flush()
    run = PayoutRun(site_id=site.id, period_id=period.id, rail=Rail.bank, status=RunStatus.sent, currency="CNY",
                    total_minor=45678, held_minor=0, payout_count=1, held_count=0, transfer_group=f"home-{agent.id}",
                    prepared_at=NOON, prepared_by_id=finance.id, needs_second_approver=False)  # fmt: skip
    db.add(run)
    await db.flush()
    payout = Payout(run_id=run.id, site_id=site.id, period_id=period.id, user_id=agent.id,
                    display_name=agent.display_name, amount_minor=45678, owed_minor=45678, currency="CNY",
                    status=PayoutStatus.paid, paid_at=dt.datetime(2026, 11, 3, 2, 0, tzinfo=UTC))  # fmt: skip
    db.add(payout)
    await db.commit()
    return payout


async def test_the_last_payout_is_in_plain_words(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await signed_in(client, people)
    await a_paid_payout(db, site, agent, people)
    payout_card = card(await home(client), "payout")
    assert "CNY 456.78 · Arrived" in payout_card
    with speaking("en"):
        period = f"{earnings.date_text(dt.date(2026, 10, 26))} to {earnings.date_text(dt.date(2026, 11, 1))}"
    assert period in payout_card
    assert "Arrived in your bank on" in payout_card


async def test_no_payout_card_where_the_site_pays_through_stripe_and_this_server_cannot(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, payout_rail="stripe")
    await db.commit()
    await signed_in(client, people)
    assert 'id="home-payout"' not in await home(client)


# Empty states, privacy, roles, languages ------------------------------------------------------------------


async def test_each_empty_part_offers_the_one_action_that_fills_it(client: httpx.AsyncClient, people: Factory) -> None:
    await signed_in(client, people)
    page = await home(client)
    actions = {
        "next": ("No shifts coming up.", "/app/shifts/open"),
        "pay": ("Nothing earned yet this week.", "/app/shifts/open"),
        "open": ("No open shift fits you right now.", "/app/shifts/open"),
        "learn": ("you are up to date.", "/app/learn"),
        "availability": ("You have not offered any half-hours for this week yet.", "/app/availability?week=2026-W46"),
        "inbox": ("Nothing yet.", "/app/inbox/settings"),
        "payout": ("No payouts yet.", "/app/payouts"),
    }
    for part, (words, href) in actions.items():
        section = re.search(rf'<section class="card home-card" id="home-{part}".*?</section>', page, re.S)
        assert section, part
        assert words in text_of(section.group(0)), part
        assert re.search(rf'<a class="button [a-z ]+" href="{re.escape(href)}">', section.group(0)), part


async def test_another_agents_shifts_and_notifications_never_show(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    await signed_in(client, people)
    other = await an_agent(people)
    await a_held_shift(db, other, AFTERNOON_SHIFT, slots=13)
    await notify(db, user_id=other.id, kind=Kind.roster_published, title="Your roster for someone else", now=NOON)
    await db.commit()
    page = await home(client)
    assert "16:30" not in page
    assert "someone else" not in page
    assert "No shifts coming up." in card(page, "next")
    assert "Nothing yet." in card(page, "inbox")


@pytest.mark.parametrize("role", [Role.coordinator, Role.finance])
async def test_staff_get_403_on_the_agents_home(client: httpx.AsyncClient, people: Factory, role: Role) -> None:
    staff = await people.make(role)
    assert (await login(client, staff.email)).status_code == 303
    assert (await client.get("/app")).status_code == 403
    claim = await post_form(client, "/app/home/open/1/claim", {})
    assert claim.status_code == 403


async def test_home_speaks_chinese_to_a_chinese_reader(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent = await signed_in(client, people, locale="zh-Hans", display_name="王芳")
    await a_held_shift(db, agent, AFTERNOON_SHIFT, slots=13)
    page = text_of(await home(client))
    assert zh("Hello, %(name)s", name="王芳") in page
    for words in ("Next shift", "Earned so far", "Open shifts for you", "What to learn next", "Notifications",
                  "Confirm shift", "See all open shifts"):  # fmt: skip
        assert zh(words) != words, f"{words!r} is not translated"
        assert zh(words) in page
    with speaking("zh-Hans"):
        countdown = service.closes_in_text(dt.timedelta(days=1, hours=6))
    assert countdown != "closes in 1 day 6 h"
    assert countdown in page
    assert "账单 · 6.5" in page  # the skill's Chinese name


async def test_english_home_for_an_english_reader(client: httpx.AsyncClient, people: Factory) -> None:
    await signed_in(client, people, locale="en", display_name="Nina New")
    page = text_of(await home(client))
    assert "Hello, Nina New" in page
    assert "Next shift" in page


# Weight and queries ----------------------------------------------------------------------------------------


@pytest.fixture
def statements(connection: AsyncConnection) -> Iterator[list[str]]:
    """The SQL statements run on the test's connection while the fixture is in use."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(connection.sync_connection, "before_cursor_execute", count)
    yield seen
    event.remove(connection.sync_connection, "before_cursor_execute", count)


async def test_a_full_home_takes_a_bounded_number_of_queries(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, statements: list[str]
) -> None:
    billing = await a_skill(db, site, "billing")
    agent = await signed_in(client, people, skills=[billing])
    await a_held_shift(db, agent, AFTERNOON_SHIFT, slots=13)
    for n in range(10):
        await an_open_shift(db, site, "billing", start=dt.datetime(2026, 11, 5, 2 + n, 0, tzinfo=UTC), now=NOON)
    statements.clear()
    await home(client)
    few = len(statements)
    for n in range(10):
        await an_open_shift(db, site, "billing", start=dt.datetime(2026, 11, 6, 2 + n, 0, tzinfo=UTC), now=NOON)
    statements.clear()
    await home(client)
    assert len(statements) <= few + 5, "Home's queries grow with the number of open shifts"


async def test_a_demo_like_home_asks_the_marketplace_once_and_stays_under_its_query_budget(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, statements: list[str]
) -> None:
    """Every card has something to show, as for the demo agent: the market is computed once (Learn's unlocks
    read Home's copy) and only the three shifts shown are priced, so the page stays at a fixed few dozen queries
    (97 before, with the market computed twice and all of it priced)."""
    billing = await a_skill(db, site, "billing")
    await a_skill(db, site, "tech")
    agent = await signed_in(client, people, skills=[billing])
    await a_rate_card(db, site, RATES, effective_from=dt.date(2026, 1, 1))
    await a_held_shift(db, agent, AFTERNOON_SHIFT, slots=13)
    await a_course(db, site, sample_course(code="tech-basics", certifies="tech"))
    for day in range(5, 12):
        for hour in (1, 6):
            for skill in ("billing", "tech"):
                start = dt.datetime(2026, 11, day, hour, 0, tzinfo=UTC)
                await an_open_shift(db, site, skill, start=start, now=NOON)
    for n in range(4):
        await notify(db, user_id=agent.id, kind=Kind.open_shift, title=f"Open shift number {n}", now=NOON)
    await a_paid_payout(db, site, agent, people)
    statements.clear()
    page = await home(client)
    assert "14 open shifts you can claim now." in card(page, "open")
    assert "Unlocks 14 open Technical support shifts." in card(page, "learn")
    market_lists = [sql for sql in statements if "shifts.opened_at IS NOT NULL OR shifts.taken < shifts.seats" in sql]
    assert len(market_lists) == 1, "Home lists the marketplace more than once"
    assert len(statements) <= 65, f"Home ran {len(statements)} queries"  # 59 here, sign-in and savepoints included
