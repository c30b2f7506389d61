"""An agent on a 360 px phone sets up payouts: Earnings → Payouts → Stripe's hosted page (the stand-in) → back,
and reads "Ready"."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec
import pytest
from playwright.sync_api import expect

from backend.accounts import service as accounts
from backend.accounts.models import Role
from backend.accounts.site_settings import update_site_settings
from backend.core.db import Database, act_as
from backend.core.migrate import migrate
from backend.core.settings import Settings
from tests.e2e.conftest import (
    E2E_ACTOR,
    LiveServer,
    Phone,
    assert_thumb_sized,
    console_errors,
    e2e_settings,
    free_port,
    open_phone,
)
from tests.e2e.test_sign_in import assert_fits_phone_width, sign_in
from tests.factories import TEST_PASSWORD, Factory
from tests.stripe_standin import STANDIN_KEY, StandinServer

pytestmark = pytest.mark.browser

EMAIL = "ada.payouts@example.com"


def _seed(settings: Settings) -> None:
    """A London site (paid through Stripe) and one agent, in a database of this module's own."""

    async def load() -> None:
        database = Database.from_url(settings.database_url)
        try:
            async with database.session(write=True) as session:
                act_as(session, E2E_ACTOR)
                site = await accounts.ensure_site(session, name="London Centre", timezone="Europe/London", country="GB")
                await update_site_settings(session, site, currency="GBP")
                await Factory(db=session, site=site).make(Role.agent, email=EMAIL, display_name="Ada Lovelace")
        finally:
            await database.dispose()

    def work() -> None:
        migrate(settings.database_url, "head")
        asyncio.run(load())

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="weft-e2e-payouts") as pool:
        pool.submit(work).result()


@pytest.fixture(scope="module")
def stripe_server(tmp_path_factory: pytest.TempPathFactory, stripe_standin_server: StandinServer) -> Iterator[str]:
    """Weft with payouts on, its Stripe being the stand-in."""
    directory = tmp_path_factory.mktemp("e2e-payouts")
    port = free_port()
    settings = msgspec.structs.replace(
        e2e_settings(directory, port), stripe_secret_key=STANDIN_KEY, stripe_api_base=stripe_standin_server.url
    )
    _seed(settings)
    server = LiveServer(settings, port)
    server.start()
    try:
        yield settings.base_url
    finally:
        server.stop()


@pytest.fixture
def payouts_phone(browser: Any, stripe_server: str) -> Iterator[Callable[[], Phone]]:
    opened: list[Phone] = []

    def make() -> Phone:
        phone = open_phone(browser, stripe_server)
        opened.append(phone)
        return phone

    yield make
    for phone in opened:
        phone.context.close()


def test_an_agent_sets_up_payouts_on_stripes_page_and_comes_back_ready(
    payouts_phone: Callable[[], Phone], stripe_standin_server: StandinServer
) -> None:
    stripe_standin_server.reset()
    page = payouts_phone().page
    sign_in(page, EMAIL, TEST_PASSWORD)
    expect(page).to_have_url(re.compile(r"/app$"))
    page.goto("/app/earnings")
    page.get_by_role("link", name="Payouts", exact=True).click()
    expect(page).to_have_url(re.compile(r"/app/payouts$"))
    expect(page.get_by_text("Payouts are not set up yet.")).to_be_visible()
    assert_thumb_sized(page, "#payout-account", "button")
    assert_fits_phone_width(page)

    page.get_by_role("button", name="Set up payouts").click()
    expect(page).to_have_url(re.compile(r"/hosted/onboarding/"))
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_role("button", name="Submit").click()

    expect(page).to_have_url(re.compile(r"/app/payouts/return$"))
    expect(
        page.get_by_text("Ready: payouts arrive in your bank about 3 business days after they are sent.")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Open my Stripe dashboard")).to_be_visible()
    assert_thumb_sized(page, "#payout-account", "a, button")
    assert_fits_phone_width(page)
    ours = [error for error in console_errors(page) if stripe_standin_server.url not in error]
    assert ours == []  # the stand-in's own page has no favicon: that 404 is not ours
    assert stripe_standin_server.state()["accounts"] == 1
