"""Agents set up payouts: one Stripe account each, Stripe's hosted onboarding, the account's state in plain words.

The app talks to the Stripe stand-in through the real SDK (``stripe_standin``); a test walks what the agent
does (tap "Set up payouts", fill Stripe's page, come back) and reads what the agent would read.
"""
# ruff: noqa: RUF001 -- the Chinese page uses the full-width colon, and so does its assertion

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.accounts.site_settings import update_site_settings
from backend.app import create_app
from backend.core.db import Actor, Database, act_as, utcnow
from backend.core.migrate import migrate
from backend.core.settings import Settings, load_settings
from backend.pay.models import Cadence, PayPeriod, PeriodStatus
from backend.payouts import onboarding
from backend.payouts.gateway import gateway_of
from backend.payouts.models import (
    FailureKind,
    HoldReason,
    Payout,
    PayoutAccount,
    PayoutRun,
    PayoutStatus,
    Rail,
    RunStatus,
)
from tests.conftest import BASE_URL, fresh_sqlite_database, login, post_form
from tests.factories import TEST_PASSWORD, Factory
from tests.served_app import ServedWeft
from tests.stripe_standin import StandinServer

STRIPE_KEY = "sk_test_weft_onboarding"
RETURN_URL = f"{BASE_URL}/app/payouts/return"
REFRESH_URL = f"{BASE_URL}/app/payouts/refresh"


@pytest.fixture
def stripe_settings(settings: Settings, stripe_standin: StandinServer) -> Settings:
    return msgspec.structs.replace(settings, stripe_secret_key=STRIPE_KEY, stripe_api_base=stripe_standin.url)


@pytest.fixture
async def stripe_client(stripe_settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app with payouts on (the stand-in as Stripe), as a browser reaches it."""
    app = create_app(stripe_settings, database=database)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, follow_redirects=False) as client:
        yield client


@pytest.fixture
async def london(db: AsyncSession) -> Site:
    """A site Stripe serves: paid through Stripe Connect, in pounds."""
    site = await accounts.ensure_site(db, name="London Centre", timezone="Europe/London", country="GB")
    await update_site_settings(db, site, currency="GBP")
    await db.commit()
    return site


@pytest.fixture
def londoners(db: AsyncSession, london: Site) -> Factory:
    return Factory(db=db, site=london)


async def signed_in_agent(client: httpx.AsyncClient, people: Factory, **fields: Any) -> User:
    agent = await people.make(Role.agent, **fields)
    assert (await login(client, agent.email)).status_code == 303
    return agent


async def set_up(client: httpx.AsyncClient) -> str:
    """Tap "Set up payouts": the answer sends the browser to Stripe."""
    answer = await post_form(client, "/app/payouts/setup", {})
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def stored_accounts(db: AsyncSession, user_id: int) -> list[PayoutAccount]:
    rows = await db.scalars(
        select(PayoutAccount).where(PayoutAccount.user_id == user_id).execution_options(populate_existing=True)
    )
    return list(rows)


# Setting up -------------------------------------------------------------------------------------------------


async def test_setting_up_twice_makes_one_stripe_account_and_a_fresh_link_each_time(
    stripe_client: httpx.AsyncClient, stripe_standin: StandinServer, londoners: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(stripe_client, londoners, display_name="Ada Lovelace")
    first = await set_up(stripe_client)
    second = await set_up(stripe_client)
    assert first.startswith(f"{stripe_standin.url}/hosted/onboarding/")
    assert second.startswith(f"{stripe_standin.url}/hosted/onboarding/")
    assert first != second
    assert stripe_standin.state()["accounts"] == 1
    [row] = await stored_accounts(db, agent.id)
    assert row.stripe_account_id is not None
    assert row.stripe_account_id.startswith("acct_")
    account = stripe_standin.client().v2.core.accounts.retrieve(
        row.stripe_account_id, {"include": ["configuration.recipient", "defaults"]}
    )
    assert account.display_name == "Ada Lovelace"
    assert account.contact_email == agent.email
    assert account.dashboard == "express"
    assert account.metadata["weft_user"] == str(agent.id)
    assert account.defaults.currency == "gbp"
    assert account.defaults.responsibilities.fees_collector == "application"
    assert account.defaults.responsibilities.losses_collector == "application"
    shown = await stripe_client.get("/app/payouts")
    page = shown.text
    assert "Stripe needs: your first name, your surname, the bank account to pay into by" in page
    # the setup form's answer redirects to Stripe, which the page's form-action must allow (and nothing else)
    targets = f"form-action 'self' https://connect.stripe.com https://accounts.stripe.com {stripe_standin.url};"
    assert targets in shown.headers["content-security-policy"]
    assert "Continue with Stripe" in page
    assert first not in page
    assert second not in page


async def test_an_agent_who_finishes_stripes_page_comes_back_to_ready(
    stripe_client: httpx.AsyncClient, stripe_standin: StandinServer, londoners: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(stripe_client, londoners)
    assert "Payouts are not set up yet." in (await stripe_client.get("/app/payouts")).text
    link = await set_up(stripe_client)
    submitted = stripe_standin.complete_onboarding(link, full_name="Ada Lovelace")
    assert submitted.status_code == 303
    assert submitted.headers["location"] == RETURN_URL
    back = await stripe_client.get("/app/payouts/return")
    assert back.status_code == 200
    assert "Ready: payouts arrive in your bank about 3 business days after they are sent." in back.text
    assert "Instant payouts are not available to accounts like yours." in back.text
    assert "Open my Stripe dashboard" in back.text
    assert "Stripe needs" not in back.text
    [row] = await stored_accounts(db, agent.id)
    assert (row.details_submitted, row.transfers_status, row.requirements_due) == (True, "active", [])
    assert row.destination is not None
    assert row.destination.startswith("ba_")
    assert row.instant_available is False
    dashboard = await post_form(stripe_client, "/app/payouts/dashboard", {})
    assert dashboard.status_code == 303
    assert dashboard.headers["location"].startswith(f"{stripe_standin.url}/hosted/express/")


async def test_the_return_page_speaks_chinese_to_a_chinese_speaking_agent(
    stripe_client: httpx.AsyncClient, stripe_standin: StandinServer, londoners: Factory
) -> None:
    await signed_in_agent(stripe_client, londoners, locale="zh-Hans")
    stripe_standin.complete_onboarding(await set_up(stripe_client))
    back = await stripe_client.get("/app/payouts/return")
    assert back.status_code == 200
    assert "已就绪：款项发出后约 3 个工作日到达你的银行账户。" in back.text
    assert "Ready:" not in back.text


async def test_a_spent_link_leads_back_through_refresh_to_a_new_link_not_a_new_account(
    stripe_client: httpx.AsyncClient, stripe_standin: StandinServer, londoners: Factory
) -> None:
    await signed_in_agent(stripe_client, londoners)
    link = await set_up(stripe_client)
    async with httpx.AsyncClient(timeout=10) as browser:
        assert (await browser.get(link)).status_code == 200  # opened once: the link is spent
        again = await browser.get(link)
    assert again.status_code == 302
    assert again.headers["location"] == REFRESH_URL
    fresh = await stripe_client.get("/app/payouts/refresh")
    assert fresh.status_code == 303
    assert fresh.headers["location"].startswith(f"{stripe_standin.url}/hosted/onboarding/")
    assert fresh.headers["location"] != link
    assert stripe_standin.state()["accounts"] == 1


async def test_refresh_without_an_account_makes_none(
    stripe_client: httpx.AsyncClient, stripe_standin: StandinServer, londoners: Factory
) -> None:
    await signed_in_agent(stripe_client, londoners)
    answer = await stripe_client.get("/app/payouts/refresh")
    assert (answer.status_code, answer.headers["location"]) == (303, "/app/payouts")
    assert stripe_standin.state()["accounts"] == 0


# What the agent reads about their account -------------------------------------------------------------------


async def test_past_due_requirements_and_restricted_transfers_are_said_in_plain_words(
    stripe_client: httpx.AsyncClient, stripe_standin: StandinServer, londoners: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(stripe_client, londoners)
    await set_up(stripe_client)
    [row] = await stored_accounts(db, agent.id)
    stripe_standin.onboard(row.stripe_account_id, emit_events=False)
    stripe_standin.fault("capability_inactive", account=row.stripe_account_id)
    page = (await stripe_client.get("/app/payouts/return")).text
    assert "Stripe needs: your ID number by" in page
    assert "The deadline has passed: payouts are held until you give these details." in page
    assert "Transfers are not active yet." in page
    assert "Continue with Stripe" in page
    [row] = await stored_accounts(db, agent.id)
    assert (row.transfers_status, row.requirements_status, row.disabled_reason) == (
        "restricted",
        "past_due",
        "requirements_past_due",
    )


async def test_transfers_waiting_on_stripe_are_explained(
    stripe_client: httpx.AsyncClient, stripe_standin: StandinServer, londoners: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(stripe_client, londoners)
    await set_up(stripe_client)
    await db.execute(
        update(PayoutAccount)
        .where(PayoutAccount.user_id == agent.id)
        .values(
            requirements_due=[],
            requirements_status=None,
            requirements_deadline=None,
            transfers_status="pending",
            disabled_reason="requirements_pending_verification",
            details_submitted=True,
        )
    )
    await db.commit()
    page = (await stripe_client.get("/app/payouts")).text
    assert "Transfers are not active yet." in page
    assert "Stripe is checking the details you gave." in page


# Sites that do not pay through Stripe ----------------------------------------------------------------------


async def test_with_payouts_off_the_page_says_so_and_how_the_centre_pays(
    client: httpx.AsyncClient, londoners: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(client, londoners)
    page = await client.get("/app/payouts")
    assert page.status_code == 200
    assert "Payouts through Stripe are off on this server." in page.text
    assert "form-action 'self';" in page.headers["content-security-policy"]
    assert "you are paid by bank transfer by your centre" in page.text
    assert "Set up payouts" not in page.text
    answer = await post_form(client, "/app/payouts/setup", {})
    assert (answer.status_code, answer.headers["location"]) == (303, "/app/payouts")
    assert await stored_accounts(db, agent.id) == []


async def test_a_bank_rail_site_shows_no_stripe_set_up(
    stripe_client: httpx.AsyncClient, stripe_standin: StandinServer, people: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(stripe_client, people)  # the Shanghai test centre: paid through its bank
    page = await stripe_client.get("/app/payouts")
    assert page.status_code == 200
    assert "You are paid by bank transfer by your centre." in page.text
    assert "Stripe" not in page.text
    answer = await post_form(stripe_client, "/app/payouts/setup", {})
    assert (answer.status_code, answer.headers["location"]) == (303, "/app/payouts")
    assert stripe_standin.state()["accounts"] == 0
    assert await stored_accounts(db, agent.id) == []


async def test_the_earnings_tab_leads_to_payouts(client: httpx.AsyncClient, people: Factory) -> None:
    await signed_in_agent(client, people)
    assert 'href="/app/payouts"' in (await client.get("/app/earnings")).text


# Who sees what ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.coordinator, Role.finance, Role.admin])
async def test_staff_have_no_payouts_page(
    stripe_client: httpx.AsyncClient, stripe_standin: StandinServer, londoners: Factory, role: Role
) -> None:
    staff = await londoners.make(role)
    assert (await login(stripe_client, staff.email)).status_code == 303
    assert (await stripe_client.get("/app/payouts")).status_code == 403
    assert (await stripe_client.get("/app/payouts/return")).status_code == 403
    assert (await stripe_client.get("/app/payouts/refresh")).status_code == 403
    assert (await post_form(stripe_client, "/app/payouts/setup", {})).status_code == 403
    assert (await post_form(stripe_client, "/app/payouts/dashboard", {})).status_code == 403
    assert stripe_standin.state()["accounts"] == 0


async def test_setup_without_the_form_token_is_refused(
    stripe_client: httpx.AsyncClient, stripe_standin: StandinServer, londoners: Factory
) -> None:
    await signed_in_agent(stripe_client, londoners)
    assert (await stripe_client.post("/app/payouts/setup", data={})).status_code == 403
    assert stripe_standin.state()["accounts"] == 0


async def a_period(db: AsyncSession, site: Site, weeks_ago: int) -> PayPeriod:
    monday = utcnow().date() - dt.timedelta(days=utcnow().weekday() + 7 * weeks_ago)
    period = PayPeriod(
        site_id=site.id,
        starts_on=monday,
        ends_on=monday + dt.timedelta(days=7),
        cadence=Cadence.weekly,
        currency="GBP",
        status=PeriodStatus.locked,
        locked_at=utcnow(),
    )
    db.add(period)
    await db.flush()
    return period


async def a_run(db: AsyncSession, period: PayPeriod, finance: User) -> PayoutRun:
    run = PayoutRun(
        site_id=period.site_id,
        period_id=period.id,
        rail=Rail.stripe,
        status=RunStatus.approved,
        currency="GBP",
        total_minor=0,
        held_minor=0,
        payout_count=0,
        held_count=0,
        transfer_group=f"weft-run-test-{period.id}",
        prepared_at=utcnow(),
        prepared_by_id=finance.id,
        needs_second_approver=False,
    )
    db.add(run)
    await db.flush()
    return run


def a_payout(run: PayoutRun, agent: User, amount_minor: int, status: PayoutStatus, **fields: Any) -> Payout:
    return Payout(
        run_id=run.id,
        site_id=run.site_id,
        period_id=run.period_id,
        user_id=agent.id,
        display_name=agent.display_name,
        amount_minor=amount_minor,
        owed_minor=amount_minor,
        currency="GBP",
        status=status,
        **fields,
    )


async def test_an_agent_sees_their_own_payouts_with_what_each_state_means_and_nobody_elses(
    stripe_client: httpx.AsyncClient, stripe_standin: StandinServer, londoners: Factory, db: AsyncSession
) -> None:
    me = await signed_in_agent(stripe_client, londoners)
    other = await londoners.make(Role.agent)
    finance = await londoners.make(Role.finance)
    site = await db.get(Site, me.site_id)
    assert site is not None
    last, before, earlier = [await a_period(db, site, weeks) for weeks in (1, 2, 3)]
    runs = [await a_run(db, period, finance) for period in (last, before, earlier)]
    db.add_all(
        [
            a_payout(runs[0], me, 12345, PayoutStatus.sent, sent_at=utcnow(), transfer_id="tr_mine"),
            a_payout(runs[0], other, 77777, PayoutStatus.paid, paid_at=utcnow()),
            a_payout(runs[1], me, 500, PayoutStatus.held, hold_reason=HoldReason.below_minimum),
            a_payout(
                runs[2],
                me,
                4000,
                PayoutStatus.failed,
                failure_kind=FailureKind.agent,
                failure_code="insufficient_capabilities_for_transfer",
            ),
        ]
    )
    await db.commit()
    page = (await stripe_client.get("/app/payouts")).text
    assert "GBP 123.45" in page
    assert "On its way" in page
    assert "It should reach your bank about 3 business days later." in page
    assert "GBP 5.00" in page
    assert "Held" in page
    assert "Not sent: it is below your centre&#39;s smallest payout." in page
    assert "GBP 40.00" in page
    assert "Failed" in page
    assert "Stripe could not send it: your account needs attention" in page
    assert "GBP 777.77" not in page
    assert "Arrived" not in page
    assert page.index("GBP 123.45") < page.index("GBP 5.00") < page.index("GBP 40.00")  # newest period first


async def test_a_refused_reversal_shows_what_the_agent_owes_back_and_why(
    stripe_client: httpx.AsyncClient, stripe_standin: StandinServer, londoners: Factory, db: AsyncSession
) -> None:
    me = await signed_in_agent(stripe_client, londoners)
    finance = await londoners.make(Role.finance)
    site = await db.get(Site, me.site_id)
    assert site is not None
    run = await a_run(db, await a_period(db, site, 1), finance)
    db.add(
        a_payout(
            run,
            me,
            2500,
            PayoutStatus.reversed,
            reversal_reason="paid twice for the same shift",
            reversal_refused="your Stripe balance was already paid out",
        )
    )
    await db.commit()
    page = (await stripe_client.get("/app/payouts")).text
    assert "Reversed" in page
    assert "Taken back by finance: paid twice for the same shift." in page
    assert (
        "You owe GBP 25.00 back (your Stripe balance was already paid out). It is taken from your next payout." in page
    )


# One account, whatever happens ------------------------------------------------------------------------------


@pytest.fixture
async def arena(empty_database_url: str, stripe_standin: StandinServer, tmp_path: Path) -> AsyncIterator[Any]:
    """A fresh database of each kind where every request has its own connection, as concurrent requests do."""
    await asyncio.to_thread(migrate, empty_database_url, "head")
    database = Database.from_url(empty_database_url)
    settings = load_settings(
        {
            "WEFT_DATABASE_URL": empty_database_url,
            "WEFT_SECRET_KEY": "test-secret-key-" + "x" * 32,
            "WEFT_DATA_DIR": str(tmp_path),
            "WEFT_STRIPE_SECRET_KEY": STRIPE_KEY,
            "WEFT_STRIPE_API_BASE": stripe_standin.url,
        }
    )
    async with database.session(write=True) as session:
        act_as(session, Actor(id=None, label="test", role="system"))
        site = await accounts.ensure_site(session, name="Race Centre", timezone="Europe/London", country="GB")
        agent = await Factory(db=session, site=site).make(Role.agent)
    try:
        yield database, settings, agent.id
    finally:
        await database.dispose()


async def _tap(database: Database, settings: Settings, agent_id: int) -> str:
    gateway = gateway_of(settings)
    assert gateway is not None
    async with database.session(write=True) as session:
        agent = await session.get(User, agent_id)
        assert agent is not None
        return await onboarding.start_onboarding(
            session, gateway, user=agent, return_url=RETURN_URL, refresh_url=REFRESH_URL, now=utcnow()
        )


async def test_a_double_tap_at_once_makes_one_account(arena: Any, stripe_standin: StandinServer) -> None:
    database, settings, agent_id = arena
    links = await asyncio.gather(*(_tap(database, settings, agent_id) for _ in range(4)))
    assert len(set(links)) == 4
    assert stripe_standin.state()["accounts"] == 1
    async with database.session() as session:
        rows = list(await session.scalars(select(PayoutAccount)))
    assert len(rows) == 1
    assert rows[0].stripe_account_id is not None


async def test_a_retry_after_a_crash_before_our_commit_makes_no_second_account(
    arena: Any, stripe_standin: StandinServer
) -> None:
    """The claim was committed and Stripe made the account, but the process died before storing its id."""
    database, settings, agent_id = arena
    async with database.session(write=True) as session:
        agent = await session.get(User, agent_id)
        assert agent is not None
        site = await session.get(Site, agent.site_id)
        assert site is not None
        row = PayoutAccount(site_id=site.id, user_id=agent.id)
        session.add(row)
        await session.flush()
        params = onboarding.account_params(agent, site)
        key = f"weft-account-{row.id}"
    made = stripe_standin.client(key=STRIPE_KEY).v2.core.accounts.create(params, {"idempotency_key": key})
    await _tap(database, settings, agent_id)
    assert stripe_standin.state()["accounts"] == 1
    async with database.session() as session:
        stored = await session.scalar(select(PayoutAccount.stripe_account_id))
        assert await session.scalar(select(func.count()).select_from(PayoutAccount)) == 1
    assert stored == made.id


# Links never reach the log ---------------------------------------------------------------------------------


@pytest.fixture
def served_with_stripe(tmp_path: Path, stripe_standin: StandinServer) -> Iterator[tuple[ServedWeft, str]]:
    variables = {
        "WEFT_DATABASE_URL": fresh_sqlite_database(tmp_path),
        "WEFT_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "WEFT_DATA_DIR": str(tmp_path),
        "WEFT_BASE_URL": BASE_URL,
        "WEFT_PUSH_IN_PROCESS": "false",
        "WEFT_STRIPE_SECRET_KEY": STRIPE_KEY,
        "WEFT_STRIPE_API_BASE": stripe_standin.url,
    }
    migrate(variables["WEFT_DATABASE_URL"], "head")
    email = asyncio.run(_an_agent_in_london(variables["WEFT_DATABASE_URL"]))
    server = ServedWeft(variables, tmp_path / "server.log")
    server.start()
    try:
        yield server, email
    finally:
        server.stop()


async def _an_agent_in_london(database_url: str) -> str:
    database = Database.from_url(database_url)
    try:
        async with database.session(write=True) as session:
            act_as(session, Actor(id=None, label="test", role="system"))
            site = await accounts.ensure_site(session, name="London Centre", timezone="Europe/London", country="GB")
            return (await Factory(db=session, site=site).make(Role.agent)).email
    finally:
        await database.dispose()


def test_no_stripe_link_reaches_the_server_log(
    served_with_stripe: tuple[ServedWeft, str], stripe_standin: StandinServer
) -> None:
    server, email = served_with_stripe
    with httpx.Client(base_url=server.base_url, timeout=15) as browser:
        browser.get("/login")
        token = browser.cookies["weft_csrf"]
        signed = browser.post("/login", data={"email": email, "password": TEST_PASSWORD, "_csrf_token": token})
        assert signed.status_code == 303
        links = [browser.post("/app/payouts/setup", data={"_csrf_token": token}).headers["location"]]
        links.append(browser.get("/app/payouts/refresh").headers["location"])
        links.append(browser.post("/app/payouts/dashboard", data={"_csrf_token": token}).headers["location"])
        assert browser.get("/app/payouts/return").status_code == 200
    assert all(link.startswith(stripe_standin.url) for link in links)
    log = server.log()
    assert "/app/payouts/setup" in log  # the requests were logged...
    secrets = [link.rsplit("/", 1)[-1] for link in links]
    assert [secret for secret in secrets if secret in log] == []  # ...and none of the links they answered
