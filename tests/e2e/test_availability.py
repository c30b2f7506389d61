"""An agent on a 360 px phone offers an evening with one tap, and it is still there after a reload."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_clean_console, assert_thumb_sized
from tests.e2e.test_sign_in import assert_fits_phone_width, english_agents, sign_in

pytestmark = pytest.mark.browser


def test_agent_offers_an_evening_with_a_preset_and_it_stays_saved(phone: Any) -> None:
    agent = english_agents()[2]
    sign_in(phone, str(agent["email"]))
    phone.get_by_role("navigation", name="Main").get_by_role("link", name="Availability").click()
    expect(phone).to_have_url(re.compile(r"/app/availability$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Availability")
    assert_fits_phone_width(phone)
    assert_thumb_sized(phone, "#availability", "a, button, input, select", at_least=49)

    phone.get_by_role("navigation", name="Days").get_by_role("link").nth(2).click()
    expect(phone).to_have_url(re.compile(r"day=2"))
    phone.get_by_role("button", name="Clear day").click()  # the demo may already offer this day
    expect(phone.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(phone.locator(".avail-grid button.preferred")).to_have_count(0)
    phone.get_by_role("button", name="Evening 18:00-22:00").click()
    expect(phone.locator(".avail-grid button.preferred")).to_have_count(8)
    evening = phone.locator(".avail-grid button", has_text="18:00")
    expect(evening).to_contain_text("preferred")

    phone.reload()
    expect(phone.locator(".avail-grid button", has_text="18:00")).to_contain_text("preferred")
    expect(phone.locator(".avail-grid button", has_text="21:30")).to_contain_text("preferred")
    expect(phone.locator(".avail-grid button", has_text="22:00")).not_to_contain_text("preferred")
    assert_fits_phone_width(phone)
    assert_thumb_sized(phone, "#availability", "a, button, input, select", at_least=49)
    assert_clean_console(phone)
