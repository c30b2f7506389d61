"""The inbox and notification settings on a 360 px phone: the service worker registers under the strict CSP."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import MIN_TAP, assert_clean_console
from tests.e2e.test_sign_in import assert_fits_phone_width, english_agents, sign_in

pytestmark = pytest.mark.browser


def test_the_agent_reaches_the_inbox_from_the_header_and_sets_quiet_hours(phone: Any) -> None:
    agent = english_agents()[1]
    sign_in(phone, str(agent["email"]))
    phone.wait_for_url("**/app")
    header_link = phone.locator("header.topbar a[href='/app/inbox']")
    expect(header_link).to_contain_text("Inbox")
    assert_fits_phone_width(phone)
    header_link.click()
    phone.wait_for_url("**/app/inbox")
    expect(phone.get_by_role("heading", name="Inbox")).to_be_visible()
    assert_fits_phone_width(phone)

    phone.get_by_role("link", name="Notification settings").click()
    phone.wait_for_url("**/app/inbox/settings")
    toggle = phone.locator("#push-toggle")
    expect(toggle).to_be_enabled()  # push.js ran, registered /sw.js and found no subscription yet
    expect(toggle).to_have_text("Enable notifications on this phone")
    assert toggle.bounding_box()["height"] >= MIN_TAP
    scope = phone.evaluate("navigator.serviceWorker.ready.then((registration) => registration.scope)")
    assert scope.endswith("/")

    phone.get_by_label("Quiet from").select_option("22:00")
    phone.get_by_label("Quiet until").select_option("07:00")
    phone.get_by_role("button", name="Save", exact=True).click()
    expect(phone.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(phone.locator("#push-toggle")).to_be_enabled()  # the htmx swap left the phone's button wired
    assert_fits_phone_width(phone)
    assert_clean_console(phone)
