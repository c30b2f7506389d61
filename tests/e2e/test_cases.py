"""A coordinator publishes a case from the template; an agent on a 360 px phone finds it by live search, copies a
phrase, taps "I used this" and adds what they would add."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Phone, assert_clean_console, assert_thumb_sized
from tests.e2e.test_sign_in import COORDINATOR, assert_fits_phone_width, english_agents, sign_in

pytestmark = pytest.mark.browser

TITLE = "Customer charged twice after a plan change"
PHRASE = "I can see both charges, and I will get one back to you today."


def test_agent_finds_a_published_case_marks_it_used_and_comments(new_phone: Callable[[], Phone]) -> None:
    staff = new_phone().page
    sign_in(staff, COORDINATOR)
    staff.goto("/admin/cases/new")
    staff.get_by_label("Title").fill(TITLE)
    staff.get_by_label("1. Situation").fill("The customer moved to the annual plan and was charged twice.")
    staff.get_by_label("2. Strategy").fill("Acknowledge first, check the invoices together, then escalate.")
    staff.get_by_label("3. Key points").fill("Apologise once\nRead the invoice numbers aloud")
    staff.get_by_label("4. Phrases that worked").fill(PHRASE)
    staff.get_by_role("button", name="Publish").click()
    expect(staff.get_by_text("Published: agents of your site can read it now.")).to_be_visible()
    assert_clean_console(staff)

    agent = new_phone()
    page = agent.page
    email = str(english_agents()[0]["email"])
    sign_in(page, email)
    page.goto("/app/cases")
    expect(page.locator("#this-week")).to_contain_text(TITLE)
    assert_fits_phone_width(page)
    assert_thumb_sized(page, "#cases", "a, button, input, select")

    page.get_by_label("Search cases").fill("invoices")  # live search, no submit
    expect(page).to_have_url(re.compile(r"q=invoices"))  # pushed once the results are swapped in
    expect(page.locator("#case-results h2")).to_contain_text("invoices")
    expect(page.locator("#case-results")).to_contain_text(TITLE)
    page.get_by_label("Search cases").fill("zzzznothing")
    expect(page.locator("#case-results")).to_contain_text("No case matches")
    page.get_by_label("Search cases").fill("escalate")
    expect(page.locator("#case-results")).to_contain_text(TITLE)

    page.locator("#case-results").get_by_role("link", name="Read the case").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_label("Phrase 1")).to_have_value(PHRASE)
    assert_fits_phone_width(page)
    assert_thumb_sized(page, "#case", "a, button, input, select")

    page.get_by_role("button", name="I used this").click()
    expect(page.get_by_role("button", name="✓ I used this (tap to undo)")).to_be_visible()
    expect(page.locator("#use-count")).to_have_text("1 agent used this")
    page.get_by_role("button", name="✓ I used this (tap to undo)").click()
    expect(page.locator("#use-count")).to_have_text("0 agents used this")
    page.get_by_role("button", name="I used this").click()
    expect(page.locator("#use-count")).to_have_text("1 agent used this")

    page.get_by_label("What would you add?").fill("Send the refund reference by SMS as well.")
    page.get_by_role("button", name="Add my comment").click()
    expect(page.locator("#comments")).to_contain_text("Send the refund reference by SMS as well.")
    expect(page.get_by_text("Thanks: your comment is added.")).to_be_visible()

    page.goto("/app/cases?view=best")
    expect(page.locator("#best-applied")).to_contain_text(TITLE)
    assert_clean_console(page)
