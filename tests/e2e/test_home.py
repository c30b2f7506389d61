"""Home on a 360 px phone, in Chinese and in English: the demo agent's next shift, nothing wider than the screen,
thumb-sized buttons, a clean console; the README's screenshots (``WEFT_SAVE_SCREENSHOTS=1``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from backend.accounts.demo import DEMO_DOMAIN, demo_agents
from tests.e2e.conftest import assert_clean_console, assert_thumb_sized
from tests.e2e.screenshot import save_screen
from tests.e2e.test_sign_in import assert_fits_phone_width, sign_in, zh

pytestmark = pytest.mark.browser

AGENT = f"agent01@{DEMO_DOMAIN}"  # the demo gives them a shift today (tomorrow, late in the day): demo.py
AGENT_NAME = str(next(agent["name"] for agent in demo_agents() if agent["email"] == AGENT))
TIME_RANGE = re.compile(r"\d\d:\d\d\s*–\s*\d\d:\d\d")  # noqa: RUF001 -- the page's en dash


def check_home(page: Any, translate: Callable[[str], str], skill: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(translate("Hello, %(name)s") % {"name": AGENT_NAME})
    next_shift = page.locator("#home-next")
    expect(next_shift.get_by_role("heading", level=2)).to_have_text(
        re.compile(f"{re.escape(translate('Next shift'))}|{re.escape(translate('Shift under way'))}")
    )
    expect(next_shift).to_contain_text(TIME_RANGE)
    expect(next_shift).to_contain_text(skill)  # the skill's name in the reader's language
    for part in ("pay", "open", "learn", "availability", "inbox"):
        expect(page.locator(f"#home-{part}").get_by_role("heading", level=2)).to_be_visible()
    expect(page.locator("#home-availability")).to_contain_text(re.compile(r"\d"))  # the count-down
    assert page.locator("h1").count() == 1
    assert_fits_phone_width(page)
    assert_thumb_sized(page, "#home .home-card", "a, button", at_least=6)


def test_home_shows_the_next_shift_on_a_phone_in_chinese_and_english(phone: Any) -> None:
    sign_in(phone, AGENT)  # the sign-in page is in the browser's English; agent01 reads Chinese
    expect(phone).to_have_url(re.compile(r"/app$"))
    expect(phone.locator("html")).to_have_attribute("lang", "zh-Hans")
    check_home(phone, zh, "综合咨询")
    save_screen(phone, "home-zh")
    assert_clean_console(phone)

    phone.goto("/app/profile")
    try:
        phone.locator("#f-locale").select_option("en")
        phone.locator("#profile button[type=submit]").first.click()
        expect(phone.locator("html")).to_have_attribute("lang", "en")
        phone.goto("/app")
        check_home(phone, str, "General enquiries")
        save_screen(phone, "home-en")
        assert_clean_console(phone)
    finally:  # the demo agent's saved language is Chinese for every other test
        phone.goto("/app/profile")
        phone.locator("#f-locale").select_option("zh-Hans")
        phone.locator("#profile button[type=submit]").first.click()
        expect(phone.locator("html")).to_have_attribute("lang", "zh-Hans")
