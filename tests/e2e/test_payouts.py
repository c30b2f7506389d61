"""Payouts end to end on the demo's London site (paid through Stripe, the stand-in playing Stripe): an agent on a
360 px phone sets up payouts on Stripe's hosted page and comes back "Ready"; one finance user prepares the run
for the last locked week, a second one approves it, the worker sends it, and the agent sees the money on its
way."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest
from playwright.sync_api import expect

from backend.demo import DEMO_DOMAIN
from tests.e2e.conftest import (
    LiveServer,
    Phone,
    assert_thumb_sized,
    e2e_settings,
    free_port,
    open_phone,
    prepare_database,
)
from tests.e2e.test_sign_in import assert_fits_phone_width, sign_in
from tests.stripe_standin import CONNECT_WEBHOOK_SECRET, STANDIN_KEY, WEBHOOK_SECRET, StandinServer

pytestmark = pytest.mark.browser

AGENT = f"london-agent1@{DEMO_DOMAIN}"
AGENT_NAME = "Amelia Clarke"
PREPARER = f"london-finance@{DEMO_DOMAIN}"
APPROVER = f"london-finance2@{DEMO_DOMAIN}"
LAPTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}, "locale": "en-US"}
SENT_WITHIN_SECONDS = 30.0  # the in-process worker sends due payouts every few seconds


@pytest.fixture(scope="module")
def demo_with_stripe(tmp_path_factory: pytest.TempPathFactory, stripe_standin_server: StandinServer) -> Iterator[str]:
    """The demo (its London site pays through Stripe) served by a Weft whose Stripe is the stand-in: secret key,
    API base and both webhook secrets, as ``WEFT_STRIPE_*`` would set them."""
    directory = tmp_path_factory.mktemp("e2e-payout-run")
    port = free_port()
    settings = msgspec.structs.replace(
        e2e_settings(directory, port),
        stripe_secret_key=STANDIN_KEY,
        stripe_api_base=stripe_standin_server.url,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
    )
    prepare_database(settings)
    server = LiveServer(settings, port)
    server.start()
    try:
        yield settings.base_url
    finally:
        server.stop()


@pytest.fixture
def standin(stripe_standin_server: StandinServer, demo_with_stripe: str) -> StandinServer:
    """The stand-in, emptied, sending its events to this server's two webhook endpoints."""
    stripe_standin_server.reset()
    base = demo_with_stripe.replace("localhost", "127.0.0.1")
    stripe_standin_server.configure(
        webhook_url=f"{base}/stripe/webhook", connect_webhook_url=f"{base}/stripe/connect-webhook"
    )
    return stripe_standin_server


@pytest.fixture
def open_browser(browser: Any, demo_with_stripe: str) -> Iterator[Callable[..., Phone]]:
    """A phone (``open_browser()``) or a laptop (``open_browser(LAPTOP)``), each with its own cookies."""
    opened: list[Phone] = []

    def make(options: dict[str, Any] | None = None) -> Phone:
        if options is None:
            phone = open_phone(browser, demo_with_stripe)
        else:
            context = browser.new_context(base_url=demo_with_stripe, **options)
            context.set_default_timeout(10_000)
            phone = Phone(context=context, page=context.new_page())
            errors = phone.console_errors
            phone.page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            phone.page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
        opened.append(phone)
        return phone

    yield make
    for phone in opened:
        phone.context.close()


def ours(phone: Phone, standin: StandinServer) -> list[str]:
    """Console errors, leaving out the stand-in's own page (it has no favicon)."""
    return [error for error in phone.console_errors if standin.url not in error]


def test_agent_sets_up_payouts_and_sees_the_money_on_its_way_after_two_finance_users_run_them(
    open_browser: Callable[..., Phone], standin: StandinServer
) -> None:
    agent_phone = open_browser()
    agent = agent_phone.page
    sign_in(agent, AGENT)
    expect(agent).to_have_url(re.compile(r"/app$"))
    agent.goto("/app/payouts")
    setup = agent.get_by_role("button", name="Set up payouts")
    expect(setup).to_be_visible()
    assert_thumb_sized(agent, "#payout-account", "button")
    assert_fits_phone_width(agent)

    setup.click()
    expect(agent).to_have_url(re.compile(r"/hosted/onboarding/"))
    agent.get_by_label("Full name").fill(AGENT_NAME)
    agent.get_by_role("button", name="Submit").click()
    expect(agent).to_have_url(re.compile(r"/app/payouts/return$"))
    expect(agent.locator("#payout-account")).to_contain_text("Ready")
    assert_thumb_sized(agent, "#payout-account", "a, button")
    assert_fits_phone_width(agent)

    preparer_laptop = open_browser(LAPTOP)
    preparer = preparer_laptop.page
    sign_in(preparer, PREPARER)
    preparer.goto("/finance/payouts")
    latest = preparer.locator("#ready-periods li").first  # newest first: its run carries earlier unpaid pay
    latest.get_by_role("button", name="Prepare payouts").click()
    expect(preparer).to_have_url(re.compile(r"/finance/payout-runs/\d+$"))
    run_url = preparer.url
    row = preparer.locator("#payouts tr", has_text=AGENT_NAME)
    expect(row).to_contain_text("Ready")
    amount = row.locator("td").nth(1).inner_text().strip()
    expect(preparer.locator("#approval")).to_contain_text("Needs a second finance user")
    expect(preparer.locator("#run-status")).to_contain_text("Waiting for approval")
    preparer.get_by_role("button", name="Approve").click()  # four eyes: not the one who prepared it
    expect(preparer.get_by_role("alert")).to_contain_text("another finance user must approve it")
    expect(preparer.locator("#run-status")).to_contain_text("Waiting for approval")

    approver_laptop = open_browser(LAPTOP)
    approver = approver_laptop.page
    sign_in(approver, APPROVER)
    approver.goto(run_url)
    expect(approver.locator("#warnings")).to_have_count(0)  # London's agents worked the shifts they were paid for
    approver.get_by_role("button", name="Approve").click()
    expect(approver.get_by_role("status")).to_contain_text("Approved.")
    expect(approver.locator("#approval")).to_contain_text("Approved by")

    agent.goto("/app/payouts")
    line = agent.locator("#my-payouts li.payout").first
    expect(line).to_contain_text(amount)
    expect(line).to_contain_text("On its way")
    deadline = time.monotonic() + SENT_WITHIN_SECONDS
    while "Sent on" not in line.inner_text() and time.monotonic() < deadline:  # the worker's next round
        agent.wait_for_timeout(1000)
        agent.reload()
    expect(line).to_contain_text("On its way")
    expect(line).to_contain_text(re.compile(r"Sent on .+ It should reach your bank about \d+ business days later"))
    assert_fits_phone_width(agent)

    transfers = standin.transfers()
    assert len(transfers) == 1
    assert transfers[0]["destination"].startswith("acct_")
    approver.reload()
    expect(approver.locator("#payouts tr", has_text=AGENT_NAME)).to_contain_text("Sent")
    assert ours(agent_phone, standin) == []
    assert ours(approver_laptop, standin) == []
    refused = "the server responded with a status of 403"  # the preparer's approval, answered with a 403 page
    assert [error for error in ours(preparer_laptop, standin) if refused not in error] == []
