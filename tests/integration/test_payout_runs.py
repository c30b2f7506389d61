"""Payout runs: one per locked period, everyone owed through it ready or held with the reason, carried amounts
and receivables netted, four eyes, warnings, and the finance pages."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.accounts.site_settings import site_settings, update_site_settings
from backend.core.db import Database, create_engine
from backend.core.errors import Conflict, Forbidden, NotFound
from backend.core.migrate import migrate
from backend.core.slots import local_slot, utc_start
from backend.pay import ledger, periods
from backend.pay.models import Account, EntryKind, PayPeriod, PeriodStatus, Posting, Settlement
from backend.payouts import runs
from backend.payouts.models import (
    HoldReason,
    Payout,
    PayoutAccount,
    PayoutRun,
    PayoutStatus,
    PayoutWarning,
    Rail,
    RunStatus,
    WarningKind,
)
from backend.work.models import WorkKind, WorkRecord
from tests.conftest import drop_postgres_database, fresh_postgres_database, login, post_form
from tests.factories import Factory, a_held_shift

ZONE = ZoneInfo("Asia/Shanghai")
MONDAY = dt.date(2026, 3, 2)  # the first period under test: Mon 2 March .. Sun 8 March 2026
AFTER = dt.datetime(2026, 3, 10, 12, 0, tzinfo=ZONE)  # two days after it ended
WEEK = dt.timedelta(days=7)
FOUR_HOURS_MINOR = 12_000  # the site's fallback base pay (30.00 an hour) for a four-hour shift


# Building a world -------------------------------------------------------------------------------------------


async def worked(
    db: AsyncSession, agent: User, day: dt.date, *, slots: int = 8, clock: tuple[int, int] = (9, 0)
) -> None:
    """A shift ``agent`` worked on ``day`` (``slots`` half-hours from ``clock``, site time)."""
    start = utc_start(local_slot(day, clock[0], clock[1], ZONE))
    await a_held_shift(db, agent, start, slots=slots, taken_at=start - dt.timedelta(days=3))


async def pieces(db: AsyncSession, agent: User, day: dt.date, *, clock: tuple[int, int], count: int = 1) -> None:
    moment = dt.datetime.combine(day, dt.time(*clock), tzinfo=ZONE)
    db.add(
        WorkRecord(
            site_id=agent.site_id,
            user_id=agent.id,
            source="pbx",
            external_id=f"{agent.id}-{day}-{clock}",
            occurred_at=moment,
            kind=WorkKind.call,
            count=count,
        )
    )
    await db.commit()


async def locked(db: AsyncSession, site: Site, finance: User, monday: dt.date = MONDAY) -> PayPeriod:
    """The week from ``monday``, locked two days after it ended."""
    period = await periods.period_for(db, site=site, day=monday)
    now = AFTER + (monday - MONDAY)
    await periods.lock_period(db, period_id=period.id, by=finance, now=now)
    await db.commit()
    return await periods.period_of_site(db, site_id=site.id, period_id=period.id)


async def ready_account(db: AsyncSession, agent: User, *, destination: str = "ba_1", **fields: object) -> PayoutAccount:
    """A connected account Stripe can send to (unless ``fields`` say otherwise)."""
    values: dict[str, object] = {
        "stripe_account_id": f"acct_{agent.id}",
        "transfers_status": "active",
        "details_submitted": True,
        "destination": destination,
        **fields,
    }
    account = PayoutAccount(site_id=agent.site_id, user_id=agent.id, **values)
    db.add(account)
    await db.commit()
    return account


async def payouts_of(db: AsyncSession, run: PayoutRun) -> dict[int, Payout]:
    return {p.user_id: p for p in await db.scalars(select(Payout).where(Payout.run_id == run.id))}


async def ledger_sums(db: AsyncSession) -> dict[str, int]:
    """Every posting summed per currency: zero in a sound ledger."""
    rows = await db.execute(select(Posting.currency, func.sum(Posting.amount_minor)).group_by(Posting.currency))
    return {currency: int(total) for currency, total in rows}


async def settled_net(db: AsyncSession, period: PayPeriod) -> int:
    return int(await db.scalar(select(func.sum(Settlement.net_minor)).where(Settlement.period_id == period.id)) or 0)


@dataclass
class World:
    site: Site
    preparer: User
    approver: User
    agents: list[User]


@pytest.fixture
async def world(db: AsyncSession, site: Site, people: Factory) -> World:
    preparer = await people.make(Role.finance, display_name="Fay Finance")
    approver = await people.make(Role.finance, display_name="Fei Finance", locale="zh-Hans")  # reads Chinese
    agents = [await people.make(Role.agent, display_name=f"Agent {n}") for n in range(3)]
    return World(site, preparer, approver, agents)


async def owes_back(db: AsyncSession, world: World, period: PayPeriod, agent: User, amount_minor: int) -> None:
    """An earlier payout of ``amount_minor`` that Stripe would not take back: paid, then owed back (a receivable)."""
    for kind, postings in (
        (
            EntryKind.payout,
            [(Account.agent_payable, agent.id, amount_minor), (Account.stripe_balance, None, -amount_minor)],
        ),
        (
            EntryKind.receivable,
            [(Account.agent_receivable, agent.id, amount_minor), (Account.agent_payable, agent.id, -amount_minor)],
        ),
    ):
        await ledger.post_entry(
            db,
            site_id=world.site.id,
            period_id=period.id,
            kind=kind,
            key=f"test:{agent.id}:{kind}",
            memo="paid, then owed back",
            postings=postings,
            currency="CNY",
            by=world.preparer,
        )


# Owed, held, totals ----------------------------------------------------------------------------------------


async def test_run_sends_the_periods_net_total_minus_what_is_held_to_the_cent(db: AsyncSession, world: World) -> None:
    await update_site_settings(db, world.site, payout_minimum_minor=10_000)
    ann, bo, cy = world.agents
    await worked(db, ann, MONDAY, slots=8)  # 120.00
    await worked(db, bo, MONDAY, slots=5)  # 75.00: below the minimum of 100.00
    await worked(db, cy, MONDAY, slots=7)  # 105.00
    period = await locked(db, world.site, world.preparer)

    run = await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER)

    assert run.rail is Rail.bank  # a Chinese site pays through its bank
    found = await payouts_of(db, run)
    assert {u: (p.status, p.hold_reason, p.amount_minor) for u, p in found.items()} == {
        ann.id: (PayoutStatus.pending, None, FOUR_HOURS_MINOR),
        bo.id: (PayoutStatus.held, HoldReason.below_minimum, 7_500),
        cy.id: (PayoutStatus.pending, None, 10_500),
    }
    assert (run.total_minor, run.held_minor, run.payout_count, run.held_count) == (22_500, 7_500, 2, 1)
    assert run.total_minor == await settled_net(db, period) - run.held_minor
    assert await ledger_sums(db) == {"CNY": 0}
    # preparing again (or a second finance user) gets the same run
    again = await runs.prepare_run(db, period_id=period.id, by=world.approver, now=AFTER)
    assert again.id == run.id


async def test_stripe_rail_holds_each_agent_whose_account_is_not_ready(
    db: AsyncSession, world: World, people: Factory
) -> None:
    await update_site_settings(db, world.site, payout_rail="stripe")
    ready, unset, pending, past_due = [*world.agents, await people.make(Role.agent)]
    for agent in (ready, unset, pending, past_due):
        await worked(db, agent, MONDAY)
    await ready_account(db, ready)
    await ready_account(db, pending, transfers_status="pending")
    await ready_account(db, past_due, requirements_due=["Provide a bank account"], requirements_status="past_due")
    period = await locked(db, world.site, world.preparer)

    run = await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER)

    found = await payouts_of(db, run)
    assert {u: (p.status, p.hold_reason) for u, p in found.items()} == {
        ready.id: (PayoutStatus.pending, None),
        unset.id: (PayoutStatus.held, HoldReason.no_account),
        pending.id: (PayoutStatus.held, HoldReason.transfers_inactive),
        past_due.id: (PayoutStatus.held, HoldReason.requirements_past_due),
    }
    assert found[ready.id].destination == f"acct_{ready.id}"
    assert (run.total_minor, run.held_minor) == (FOUR_HOURS_MINOR, 3 * FOUR_HOURS_MINOR)


async def test_held_and_receivable_amounts_are_carried_and_netted_in_the_next_run(
    db: AsyncSession, world: World
) -> None:
    await update_site_settings(db, world.site, payout_minimum_minor=10_000)
    ann, bo, _cy = world.agents
    await worked(db, ann, MONDAY, slots=5)  # 75.00: held below the minimum, carried
    await worked(db, bo, MONDAY)
    first = await locked(db, world.site, world.preparer)
    first_run = await runs.prepare_run(db, period_id=first.id, by=world.preparer, now=AFTER)
    assert (await payouts_of(db, first_run))[ann.id].hold_reason is HoldReason.below_minimum
    await owes_back(db, world, first, bo, 2_000)  # a payout Stripe would not take back: Bo owes 20.00
    await worked(db, ann, MONDAY + WEEK, slots=2)  # 30.00
    await worked(db, bo, MONDAY + WEEK)
    second = await locked(db, world.site, world.preparer, MONDAY + WEEK)
    owed = await runs.owed_through(db, period=first, user_ids=[ann.id, bo.id])
    assert owed == {ann.id: 7_500, bo.id: FOUR_HOURS_MINOR - 2_000}

    run = await runs.prepare_run(db, period_id=second.id, by=world.preparer, now=AFTER + WEEK)

    found = await payouts_of(db, run)
    assert (found[ann.id].status, found[ann.id].amount_minor) == (PayoutStatus.pending, 7_500 + 3_000)
    # Bo's first-period pay is still in the first (prepared) run: only this week's pay, minus what he owes back
    bo_now = found[bo.id]
    assert (bo_now.owed_minor, bo_now.receivable_minor, bo_now.amount_minor) == (
        FOUR_HOURS_MINOR,
        2_000,
        FOUR_HOURS_MINOR - 2_000,
    )


async def test_an_agent_owing_more_than_earned_is_held_not_positive_with_a_warning(
    db: AsyncSession, world: World
) -> None:
    ann = world.agents[0]
    await worked(db, ann, MONDAY, slots=2)  # 30.00
    period = await locked(db, world.site, world.preparer)
    await owes_back(db, world, period, ann, 5_000)

    run = await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER)

    payout = (await payouts_of(db, run))[ann.id]
    assert (payout.status, payout.hold_reason, payout.amount_minor) == (
        PayoutStatus.held,
        HoldReason.not_positive,
        -2_000,
    )
    kinds = set(await db.scalars(select(PayoutWarning.kind).where(PayoutWarning.run_id == run.id)))
    assert kinds == {WarningKind.negative_net}


async def test_open_and_hand_paid_periods_are_refused_and_nothing_is_written(db: AsyncSession, world: World) -> None:
    await worked(db, world.agents[0], MONDAY)
    period = await periods.period_for(db, site=world.site, day=MONDAY)
    with pytest.raises(Conflict):
        await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER)
    await periods.lock_period(db, period_id=period.id, by=world.preparer, now=AFTER)
    await periods.mark_paid(db, period_id=period.id, by=world.preparer, now=AFTER)
    with pytest.raises(Conflict, match="marked paid"):
        await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER)
    assert await db.scalar(select(func.count()).select_from(PayoutRun)) == 0
    with pytest.raises(Forbidden):
        await runs.prepare_run(db, period_id=period.id, by=world.agents[0], now=AFTER)


async def test_a_period_with_a_run_cannot_be_marked_paid_by_hand(db: AsyncSession, world: World) -> None:
    await worked(db, world.agents[0], MONDAY)
    period = await locked(db, world.site, world.preparer)
    await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER)

    with pytest.raises(Conflict, match="payout run"):
        await periods.mark_paid(db, period_id=period.id, by=world.preparer, now=AFTER)
    assert (await periods.period_of_site(db, site_id=world.site.id, period_id=period.id)).status == "locked"


async def test_a_period_whose_pay_a_later_run_carried_cannot_be_marked_paid_by_hand(
    db: AsyncSession, world: World
) -> None:
    await worked(db, world.agents[0], MONDAY)
    first = await locked(db, world.site, world.preparer)
    second = await locked(db, world.site, world.preparer, MONDAY + WEEK)
    await runs.prepare_run(db, period_id=second.id, by=world.preparer, now=AFTER + WEEK)

    with pytest.raises(Conflict, match="later period's run"):
        await periods.mark_paid(db, period_id=first.id, by=world.preparer, now=AFTER + WEEK)


# Four eyes, warnings ----------------------------------------------------------------------------------------


async def test_the_preparer_cannot_approve_but_a_second_finance_user_can(db: AsyncSession, world: World) -> None:
    await update_site_settings(db, world.site, payout_rail="stripe")
    ann = world.agents[0]
    await worked(db, ann, MONDAY)
    await ready_account(db, ann)
    period = await locked(db, world.site, world.preparer)
    run = await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER)
    assert run.needs_second_approver  # every run needs two people by default

    with pytest.raises(Forbidden, match="another finance user"):
        await runs.approve_run(db, run_id=run.id, by=world.preparer, now=AFTER)
    approved = await runs.approve_run(db, run_id=run.id, by=world.approver, now=AFTER)

    assert (approved.status, approved.approved_by_id) == (RunStatus.approved, world.approver.id)
    payout = (await payouts_of(db, run))[ann.id]
    assert (payout.status, payout.next_try_at) == (PayoutStatus.queued, AFTER)
    with pytest.raises(Conflict):
        await runs.cancel_run(db, run_id=run.id, by=world.approver, now=AFTER)


async def test_under_the_four_eyes_limit_the_preparer_may_approve(db: AsyncSession, world: World) -> None:
    await update_site_settings(db, world.site, payout_second_approval_above_minor=50_000)
    await worked(db, world.agents[0], MONDAY)
    period = await locked(db, world.site, world.preparer)
    run = await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER)

    approved = await runs.approve_run(db, run_id=run.id, by=world.preparer, now=AFTER)

    assert approved.status is RunStatus.approved
    # the bank rail's payouts wait for the file to be sent
    assert {p.status for p in (await payouts_of(db, run)).values()} == {PayoutStatus.pending}


async def test_warnings_must_be_acknowledged_before_approval(db: AsyncSession, world: World) -> None:
    await update_site_settings(db, world.site, payout_rail="stripe")
    ann, bo, cy = world.agents
    # Ann: usually 30.00 a week for three weeks, then 120.00 (far above her usual), and pieces at 20:00 off shift
    for week in range(3):
        await worked(db, ann, MONDAY + week * WEEK, slots=2)
        await worked(db, bo, MONDAY + week * WEEK, slots=2)
        await locked(db, world.site, world.preparer, MONDAY + week * WEEK)
    last = MONDAY + 3 * WEEK
    await worked(db, ann, last, slots=8)
    await pieces(db, ann, last, clock=(10, 0), count=3)  # in her shift (9:00-13:00)
    await pieces(db, ann, last, clock=(20, 0), count=4)  # no shift then
    await worked(db, bo, last, slots=2)
    await worked(db, cy, last, slots=2)
    await ready_account(db, ann)
    await ready_account(db, cy)
    # Bo's account: last paid to ba_old, now to ba_new
    account = await ready_account(db, bo, destination="ba_old")
    earlier_run = await runs.prepare_run(
        db,
        period_id=(await periods.period_for(db, site=world.site, day=MONDAY + 2 * WEEK)).id,
        by=world.preparer,
        now=AFTER,
    )
    await runs.acknowledge_warnings(db, run_id=earlier_run.id, by=world.preparer, now=AFTER)
    await runs.approve_run(db, run_id=earlier_run.id, by=world.approver, now=AFTER)
    account.destination = "ba_new"
    await db.commit()
    period = await locked(db, world.site, world.preparer, last)
    # the earlier run's payouts are queued, not yet sent: this run leaves that money to it
    run = await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER + 3 * WEEK)

    warnings = {
        (w.user_id, w.kind): w.detail
        for w in await db.scalars(select(PayoutWarning).where(PayoutWarning.run_id == run.id))
    }
    assert warnings[(ann.id, WarningKind.pieces_without_shift)]["pieces"] == 4
    assert warnings[(ann.id, WarningKind.far_above_usual)]["usual_minor"] == 3_000
    assert warnings[(bo.id, WarningKind.destination_changed)] == {"before": "ba_old", "now": "ba_new"}
    assert (cy.id, WarningKind.destination_changed) not in warnings  # never paid before: nothing to compare

    with pytest.raises(Conflict, match="Acknowledge") as refused:
        await runs.approve_run(db, run_id=run.id, by=world.approver, now=AFTER + 3 * WEEK)
    assert "Agent 0" in refused.value.message
    assert "Agent 1" in refused.value.message
    assert await runs.acknowledge_warnings(db, run_id=run.id, by=world.approver, now=AFTER + 3 * WEEK) == 3
    approved = await runs.approve_run(db, run_id=run.id, by=world.approver, now=AFTER + 3 * WEEK)
    assert approved.status is RunStatus.approved


async def test_a_run_of_an_earlier_period_than_an_existing_run_is_refused(db: AsyncSession, world: World) -> None:
    await worked(db, world.agents[0], MONDAY)
    first = await locked(db, world.site, world.preparer)
    second = await locked(db, world.site, world.preparer, MONDAY + WEEK)
    await runs.prepare_run(db, period_id=second.id, by=world.preparer, now=AFTER + WEEK)

    with pytest.raises(Conflict, match="later period"):
        await runs.prepare_run(db, period_id=first.id, by=world.preparer, now=AFTER + WEEK)


async def test_another_sites_periods_and_runs_are_not_found(db: AsyncSession, world: World, people: Factory) -> None:
    await worked(db, world.agents[0], MONDAY)
    period = await locked(db, world.site, world.preparer)
    run = await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER)
    london = await accounts.ensure_site(db, name="London Centre", timezone="Europe/London", country="GB")
    outsider = await people.make(Role.finance, site=london)

    with pytest.raises(NotFound):
        await runs.prepare_run(db, period_id=period.id, by=outsider, now=AFTER)
    with pytest.raises(NotFound):
        await runs.approve_run(db, run_id=run.id, by=outsider, now=AFTER)
    assert runs.rail_of(london) is Rail.stripe


# Pages ------------------------------------------------------------------------------------------------------


async def test_finance_prepares_and_approves_through_the_pages(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    await worked(db, world.agents[0], MONDAY)
    period = await locked(db, world.site, world.preparer)
    await login(client, world.preparer.email)

    listing = await client.get("/finance/payouts")
    assert listing.status_code == 200
    assert f"/finance/periods/{period.id}/payout-run" in listing.text
    prepared = await post_form(client, f"/finance/periods/{period.id}/payout-run", {})
    assert prepared.status_code == 303
    run_url = prepared.headers["location"]
    page = await client.get(run_url)
    assert page.status_code == 200
    assert "Agent 0" in page.text
    assert "CNY 120.00" in page.text
    assert "Needs a second finance user" in page.text

    refused = await post_form(client, f"{run_url}/approve", {})
    assert refused.status_code == 403
    assert "another finance user" in refused.text

    client.cookies.clear()
    await login(client, world.approver.email)
    approved = await post_form(client, f"{run_url}/approve", {})
    assert approved.status_code == 303
    page = await client.get(run_url)  # the approver reads Chinese
    assert page.status_code == 200
    assert "Fei Finance" in page.text
    assert "已批准" in page.text  # "Approved", in Chinese
    assert 'lang="zh' in page.text


async def test_open_period_and_unknown_ids_answer_clearly(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    period = await periods.period_for(db, site=world.site, day=MONDAY)
    await db.commit()
    await login(client, world.preparer.email)

    assert (await post_form(client, f"/finance/periods/{period.id}/payout-run", {})).status_code == 409
    assert (await post_form(client, "/finance/periods/999999/payout-run", {})).status_code == 404
    assert (await client.get("/finance/payout-runs/999999")).status_code == 404
    assert await db.scalar(select(func.count()).select_from(PayoutRun)) == 0


async def test_agents_and_coordinators_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, world: World, people: Factory
) -> None:
    await worked(db, world.agents[0], MONDAY)
    period = await locked(db, world.site, world.preparer)
    run = await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER)
    await db.commit()
    coordinator = await people.make(Role.coordinator)
    for user in (world.agents[0], coordinator):
        client.cookies.clear()
        await login(client, user.email)
        assert (await client.get("/finance/payouts")).status_code == 403
        assert (await client.get(f"/finance/payout-runs/{run.id}")).status_code == 403
        assert (await post_form(client, f"/finance/payout-runs/{run.id}/approve", {})).status_code == 403


async def test_a_foreign_run_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, world: World, people: Factory
) -> None:
    await worked(db, world.agents[0], MONDAY)
    period = await locked(db, world.site, world.preparer)
    run = await runs.prepare_run(db, period_id=period.id, by=world.preparer, now=AFTER)
    await db.commit()
    london = await accounts.ensure_site(db, name="London Centre", timezone="Europe/London", country="GB")
    outsider = await people.make(Role.finance, site=london)
    await login(client, outsider.email)

    assert (await client.get(f"/finance/payout-runs/{run.id}")).status_code == 404
    assert (await post_form(client, f"/finance/payout-runs/{run.id}/approve", {})).status_code == 404


async def test_finance_sets_the_rail_minimum_and_four_eyes_limit_and_bad_amounts_are_named(
    client: httpx.AsyncClient, db: AsyncSession, world: World, people: Factory
) -> None:
    await login(client, world.preparer.email)
    saved = await post_form(
        client, "/finance/payouts/settings", {"rail": "bank", "minimum": "50", "second_above": "1,000.50"}
    )
    assert saved.status_code == 303
    await db.refresh(world.site)
    chosen = site_settings(world.site)
    assert (chosen.payout_rail, chosen.payout_minimum_minor, chosen.payout_second_approval_above_minor) == (
        "bank",
        5_000,
        100_050,
    )
    assert 'value="1000.50"' in (await client.get("/finance/payouts")).text

    for form, field in (
        ({"rail": "bank", "minimum": "1,20", "second_above": "0"}, "minimum"),
        ({"rail": "bank", "minimum": "1", "second_above": "-5"}, "second_above"),
        ({"rail": "paypal", "minimum": "1", "second_above": "0"}, "rail"),
    ):
        refused = await post_form(client, "/finance/payouts/settings", form)
        assert refused.status_code == 422, form
        assert f'id="e-{field}"' in refused.text
    await db.refresh(world.site)
    assert site_settings(world.site).payout_minimum_minor == 5_000  # nothing half-written

    coordinator = await people.make(Role.coordinator)
    await db.commit()
    for user in (world.agents[0], coordinator):
        client.cookies.clear()
        await login(client, user.email)
        answer = await post_form(client, "/finance/payouts/settings", {"rail": "stripe", "minimum": "0"})
        assert answer.status_code == 403
    await db.refresh(world.site)
    assert site_settings(world.site).payout_rail == "bank"


# Two finance users at once on PostgreSQL ---------------------------------------------------------------------


@dataclass
class Race:
    database: Database
    period_id: int
    finance_ids: list[int]
    agent_ids: list[int]


@pytest.fixture
async def race() -> AsyncIterator[Race]:
    url = await asyncio.to_thread(fresh_postgres_database)
    if url is None:
        pytest.skip("PostgreSQL is not reachable")
    try:
        await asyncio.to_thread(migrate, url, "head")
        database = Database(create_engine(url, pool_size=10))
        async with database.session(write=True) as session:
            site = await accounts.ensure_site(session, name="Race Centre", timezone="Asia/Shanghai", country="CN")
            await update_site_settings(session, site, payout_second_approval_above_minor=10_000_000)
            people = [
                User(
                    email=f"racer{n}@example.com",
                    display_name=f"Racer {n}",
                    role=Role.finance if n < 4 else Role.agent,
                    timezone=site.timezone,
                    site_id=site.id,
                )
                for n in range(12)
            ]
            session.add_all(people)
            await session.flush()
            period = await periods.period_for(session, site=site, day=MONDAY)
            for agent in people[4:]:
                await worked(session, agent, MONDAY)
            await periods.lock_period(session, period_id=period.id, by=people[0], now=AFTER)
            ids = Race(database, period.id, [p.id for p in people[:4]], [p.id for p in people[4:]])
        yield ids
        await database.dispose()
    finally:
        await asyncio.to_thread(drop_postgres_database, url)


async def prepare_as(race: Race, finance_id: int) -> int:
    async with race.database.session(write=True) as session:
        finance = await session.get(User, finance_id)
        assert finance is not None
        return (await runs.prepare_run(session, period_id=race.period_id, by=finance, now=AFTER)).id


async def approve_as(race: Race, finance_id: int, run_id: int) -> tuple[RunStatus, int | None]:
    async with race.database.session(write=True) as session:
        finance = await session.get(User, finance_id)
        assert finance is not None
        run = await runs.approve_run(session, run_id=run_id, by=finance, now=AFTER)
        return run.status, run.approved_by_id


@pytest.mark.postgres
async def test_finance_users_preparing_and_approving_at_once_make_one_run_and_one_approval(race: Race) -> None:
    run_ids = await asyncio.gather(*(prepare_as(race, finance_id) for finance_id in race.finance_ids))

    assert len(set(run_ids)) == 1
    async with race.database.session() as session:
        assert await session.scalar(select(func.count()).select_from(PayoutRun)) == 1
        per_agent = dict((await session.execute(select(Payout.user_id, func.count()).group_by(Payout.user_id))).all())
        assert per_agent == dict.fromkeys(race.agent_ids, 1)

    approvals = await asyncio.gather(*(approve_as(race, finance_id, run_ids[0]) for finance_id in race.finance_ids))

    assert {status for status, _by in approvals} == {RunStatus.approved}
    assert len({by for _status, by in approvals}) == 1  # one approver, whoever came first
    async with race.database.session() as session:
        period = await session.get(PayPeriod, race.period_id)
        assert period is not None
        assert period.status is PeriodStatus.locked
