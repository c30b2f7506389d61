"""What a person checks on a 360 px phone: signing in, the agent's tab bar, language, roles and invitations."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from backend.accounts.demo import DEMO_DOMAIN, demo_agents
from backend.demo import DEMO_PASSWORD
from tests.e2e.conftest import MIN_TAP, PHONE, Phone, assert_clean_console

pytestmark = pytest.mark.browser

PHONE_WIDTH = PHONE["viewport"]["width"]
PHONE_HEIGHT = PHONE["viewport"]["height"]
TABS = ["Home", "Availability", "Shifts", "Learn", "Earnings"]
COORDINATOR = f"coordinator@{DEMO_DOMAIN}"
NEW_PASSWORD = "a new agent's password"
CATALOGUE_ZH = Path(__file__).resolve().parents[2] / "web" / "locale" / "zh_Hans" / "LC_MESSAGES" / "messages.po"


@cache
def zh(message: str) -> str:
    """The Chinese for ``message``, read from the catalogue the app serves."""
    with CATALOGUE_ZH.open("rb") as po_file:
        catalog = read_po(po_file, locale="zh_Hans")
    entry = catalog.get(message)
    assert entry is not None, f"{message!r} is not in the catalogue"
    assert entry.string, f"{message!r} is not translated"
    return str(entry.string)


def english_agents() -> list[dict[str, Any]]:
    """Demo agents whose saved language is English (most demo agents, agent01 included, chose Chinese)."""
    return [agent for agent in demo_agents() if agent["locale"] == "en"]


def sign_in(page: Any, email: str, password: str = DEMO_PASSWORD, translate: Any = str) -> None:
    page.goto("/login")
    page.get_by_label(translate("Email")).fill(email)
    page.get_by_label(translate("Password")).fill(password)
    page.get_by_role("button", name=translate("Sign in"), exact=True).click()


def assert_fits_phone_width(page: Any) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE_WIDTH, f"the page scrolls sideways: {scroll_width} px wide"


def test_agent_signs_in_and_gets_thumb_sized_tabs(phone: Any) -> None:
    agent = english_agents()[0]
    sign_in(phone, str(agent["email"]))

    expect(phone).to_have_url(re.compile(r"/app$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(f"Hello, {agent['name']}")
    tabbar = phone.get_by_role("navigation", name="Main")
    tabs = tabbar.get_by_role("link")
    expect(tabs).to_have_count(len(TABS))
    for tab, label in zip(tabs.all(), TABS, strict=True):
        expect(tab).to_contain_text(label)
        box = tab.bounding_box()
        assert box is not None
        assert box["width"] >= MIN_TAP, f"{label} tab is too narrow: {box}"
        assert box["height"] >= MIN_TAP, f"{label} tab is too short: {box}"
    expect(tabs.first).to_have_attribute("aria-current", "page")
    bar = tabbar.bounding_box()
    assert bar is not None
    assert bar["x"] >= 0, f"tab bar leaves the screen: {bar}"
    assert bar["x"] + bar["width"] <= PHONE_WIDTH, f"tab bar leaves the screen: {bar}"
    assert abs(bar["y"] + bar["height"] - PHONE_HEIGHT) <= 1, f"tab bar is not at the bottom: {bar}"
    assert_fits_phone_width(phone)

    tabs.nth(1).click()
    expect(phone).to_have_url(re.compile(r"/app/availability$"))
    expect(tabs.nth(1)).to_have_attribute("aria-current", "page")
    assert_fits_phone_width(phone)
    assert_clean_console(phone)


def test_agent_switches_to_chinese_and_it_stays_after_signing_in_again(phone: Any) -> None:
    agent = english_agents()[1]
    sign_in(phone, str(agent["email"]))
    expect(phone.get_by_role("heading", level=1)).to_have_text(f"Hello, {agent['name']}")

    phone.get_by_role("link", name="Language and time zone").click()
    expect(phone).to_have_url(re.compile(r"/app/profile$"))
    phone.get_by_label("Language").select_option("zh-Hans")
    phone.get_by_role("button", name="Save", exact=True).click()
    expect(phone.get_by_role("status")).to_have_text(zh("Saved."))  # the whole page reloads in the new language
    expect(phone.locator("html")).to_have_attribute("lang", "zh-Hans")
    assert_fits_phone_width(phone)

    phone.get_by_role("navigation").get_by_role("link").first.click()
    expect(phone).to_have_url(re.compile(r"/app$"))
    expect(phone.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(phone.get_by_role("navigation").get_by_role("link").first).to_contain_text(zh("Home"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(zh("Hello, %(name)s") % {"name": agent["name"]})
    assert_fits_phone_width(phone)

    phone.goto("/app/profile")
    phone.get_by_role("button", name=zh("Sign out")).click()
    expect(phone).to_have_url(re.compile(r"/login$"))
    expect(phone.locator("html")).to_have_attribute("lang", "zh-Hans")  # the device remembers the language
    sign_in(phone, str(agent["email"]), translate=zh)
    expect(phone.get_by_role("navigation").get_by_role("link").first).to_contain_text(zh("Home"))
    assert_clean_console(phone)


def test_visitor_reads_the_sign_in_page_in_chinese(phone: Any) -> None:
    phone.goto("/login")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Sign in to Weft")
    assert_fits_phone_width(phone)
    phone.get_by_role("button", name="中文").click()

    expect(phone).to_have_url(re.compile(r"/login$"))
    expect(phone.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(phone.get_by_role("heading", level=1)).to_have_text(zh("Sign in to Weft"))
    expect(phone.get_by_role("button", name="English")).to_be_visible()
    assert_clean_console(phone)


def test_coordinator_sees_people_but_not_the_agent_app(phone: Any) -> None:
    sign_in(phone, COORDINATOR)

    expect(phone).to_have_url(re.compile(r"/admin/today$"))
    nav = phone.get_by_role("navigation", name="Admin")
    nav.locator("summary", has_text="People").click()
    nav.get_by_role("link", name="Agents and staff").click()
    expect(phone).to_have_url(re.compile(r"/admin/users$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("People")
    expect(phone.get_by_role("cell", name=f"agent01@{DEMO_DOMAIN}")).to_be_visible()
    assert phone.get_by_role("row").count() > 60
    assert_clean_console(phone)

    response = phone.goto("/app")
    assert response is not None
    assert response.status == 403
    expect(phone.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(phone.get_by_role("navigation", name="Main")).to_have_count(0)


def test_coordinator_invites_an_agent_who_joins_on_their_phone(new_phone: Callable[[], Phone]) -> None:
    coordinator = new_phone().page
    sign_in(coordinator, COORDINATOR)
    coordinator.goto("/admin/invitations")
    email = f"new-agent-{uuid.uuid4().hex[:8]}@example.com"
    coordinator.get_by_label("Email").fill(email)
    coordinator.get_by_label("Name").fill("Nina New")
    coordinator.get_by_role("button", name="Create invitation link").click()

    link_input = coordinator.locator("#invitation-link")
    expect(link_input).to_be_visible()
    expect(link_input).to_have_attribute("readonly", "")
    link = link_input.input_value()
    assert re.fullmatch(r"http://localhost:\d+/invite/\S+", link), link
    expect(coordinator.get_by_role("listitem").filter(has_text=email)).to_be_visible()
    assert_clean_console(coordinator)

    agent = new_phone().page
    agent.goto(link)
    expect(agent.get_by_role("heading", level=1)).to_have_text("Welcome, Nina New")
    expect(agent.get_by_text(email)).to_be_visible()
    agent.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    agent.get_by_label("Password again").fill(NEW_PASSWORD)
    agent.get_by_role("button", name="Set password and start").click()

    expect(agent).to_have_url(re.compile(r"/app$"))
    expect(agent.get_by_role("heading", level=1)).to_have_text("Hello, Nina New")
    expect(agent.get_by_role("navigation", name="Main").get_by_role("link")).to_have_count(len(TABS))
    assert_fits_phone_width(agent)
    assert_clean_console(agent)

    response = new_phone().page.goto(link)
    assert response is not None
    assert response.status >= 400, "an invitation link must work only once"
