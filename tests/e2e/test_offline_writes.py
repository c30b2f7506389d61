"""Writing offline on a 360 px phone: availability taps made without a connection are kept on the phone and
reach the server when it comes back; a change made meanwhile on another device wins, and the agent is told;
buttons that need the network say so while offline.

The service worker (web/static/sw.js, importing web/static/outbox.js) must control the page first: these
tests wait for it, as a phone that opened Weft once would have it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from backend.accounts.demo import demo_agents
from tests.e2e.conftest import Phone, assert_clean_console, assert_thumb_sized
from tests.e2e.test_sign_in import CATALOGUE_ZH, assert_fits_phone_width, english_agents, sign_in

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots" / "offline"


@cache
def catalogue() -> dict[str, Any]:
    with CATALOGUE_ZH.open("rb") as po_file:
        return {
            message.id if isinstance(message.id, str) else message.id[0]: message.string
            for message in read_po(po_file, locale="zh_Hans")
            if message.id
        }


def words(locale: str) -> Callable[..., str]:
    """The page's words in ``locale``, as the catalogue has them (``count`` picks a plural form)."""

    def translate(message: str, plural: str = "", count: int = 1) -> str:
        if locale == "en":
            return (plural if count != 1 and plural else message).replace("%(num)s", str(count))
        found = catalogue()[message]
        text = found[0] if isinstance(found, tuple) else found
        assert text, f"{message!r} is not translated"
        return str(text).replace("%(num)s", str(count))

    return translate


PENDING = (
    "Saved on this phone: %(num)s change will be sent when you are back online.",
    "Saved on this phone: %(num)s changes will be sent when you are back online.",
)


def agent_for(locale: str, index: int) -> str:
    if locale == "en":
        return str(english_agents()[index]["email"])
    chinese = [agent for agent in demo_agents() if agent["locale"] == "zh-Hans"]
    return str(chinese[-1 - index]["email"])


def controlled_by_the_worker(page: Any) -> None:
    """Wait until Weft's service worker controls the page (first visit: it installs, then claims the page)."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("navigator.serviceWorker.controller !== null"):
        page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def go_offline(phone: Phone) -> None:
    """Cut the phone's network, and wait until its service worker sees it too (Chromium applies the emulation
    to the worker a moment after the page)."""
    phone.context.set_offline(True)
    phone.page.wait_for_function("!navigator.onLine")
    deadline = time.monotonic() + 5
    for worker in phone.context.service_workers:
        while worker.evaluate("navigator.onLine") and time.monotonic() < deadline:
            time.sleep(0.05)


def open_day(page: Any, day: int) -> None:
    page.goto(f"/app/availability?day={day}")
    expect(page.locator("form.avail-grid")).to_be_visible()


def slot(page: Any, time: str) -> Any:
    return page.locator(".avail-grid button.slot", has_text=time)


def clear_the_day(page: Any, translate: Callable[..., str]) -> None:
    """Start from an empty day, saved on the server (a request still in flight when the network goes would be
    queued, rightly, and counted with the test's own taps)."""
    with page.expect_response(lambda answer: answer.request.method == "POST" and "/app/availability" in answer.url):
        page.get_by_role("button", name=translate("Clear day")).click()
    expect(page.locator(".avail-grid button.preferred")).to_have_count(0)


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled", caret="hide")


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_taps_made_offline_are_kept_on_the_phone_and_sent_when_back_online(
    new_phone: Callable[[], Phone], locale: str
) -> None:
    translate = words(locale)
    email = agent_for(locale, 6)
    phone = new_phone()
    page = phone.page
    sign_in(page, email)
    open_day(page, 3)
    controlled_by_the_worker(page)
    clear_the_day(page, translate)

    go_offline(phone)
    slot(page, "18:00").click()
    expect(slot(page, "18:00")).to_have_class(re.compile(r"\bpreferred\b"))
    report = page.locator("#outbox-report")
    expect(report).to_contain_text(translate(*PENDING, count=1))
    slot(page, "18:30").click()
    expect(report).to_contain_text(translate(*PENDING, count=2))
    expect(slot(page, "18:30")).to_contain_text(translate("preferred"))
    assert_fits_phone_width(page)
    shot(page, f"queued-{locale}")

    # Another device signed in as the same agent: the server has none of it yet.
    other = new_phone().page
    sign_in(other, email)
    open_day(other, 3)
    expect(other.locator(".avail-grid button.preferred")).to_have_count(0)

    phone.context.set_offline(False)
    expect(report).to_contain_text(translate("Back online: the changes you made offline were sent."))
    expect(report).not_to_contain_text(translate(*PENDING, count=1))
    other.reload()
    expect(slot(other, "18:00")).to_have_class(re.compile(r"\bpreferred\b"))
    expect(slot(other, "18:30")).to_have_class(re.compile(r"\bpreferred\b"))
    expect(other.locator(".avail-grid button.preferred")).to_have_count(2)
    shot(page, f"sent-{locale}")
    assert_clean_console(page)
    assert_clean_console(other)


def test_a_change_made_meanwhile_on_another_device_wins_and_the_agent_is_told(
    new_phone: Callable[[], Phone],
) -> None:
    translate = words("en")
    email = agent_for("en", 7)
    phone = new_phone()
    page = phone.page
    sign_in(page, email)
    open_day(page, 4)
    controlled_by_the_worker(page)
    clear_the_day(page, translate)

    go_offline(phone)
    slot(page, "19:00").click()
    expect(page.locator("#outbox-report")).to_contain_text(translate(*PENDING, count=1))

    other = new_phone().page
    sign_in(other, email)
    open_day(other, 4)
    slot(other, "20:00").click()
    expect(slot(other, "20:00")).to_have_class(re.compile(r"\bpreferred\b"))

    phone.context.set_offline(False)
    refused = page.locator("#outbox-report [role=alert]")
    expect(refused).to_contain_text("A change you made offline was not applied.")
    expect(refused).to_contain_text(re.compile(r"Week \d{4}-W\d{2} was changed on another device today at \d\d:\d\d"))
    # The page shows the week as the server has it: the other device's tap, not the refused one.
    expect(slot(page, "20:00")).to_have_class(re.compile(r"\bpreferred\b"))
    expect(slot(page, "19:00")).not_to_have_class(re.compile(r"\bpreferred\b"))
    shot(page, "refused-en")
    other.reload()
    expect(slot(other, "19:00")).not_to_have_class(re.compile(r"\bpreferred\b"))
    expect(slot(other, "20:00")).to_have_class(re.compile(r"\bpreferred\b"))

    page.get_by_role("button", name="OK").click()
    expect(refused).to_have_count(0)
    page.reload()
    expect(page.locator("#outbox-report [role=alert]")).to_have_count(0)  # read once, then gone for good
    assert_clean_console(page)
    assert_clean_console(other)


def test_a_range_painted_offline_is_sent_whole(new_phone: Callable[[], Phone]) -> None:
    translate = words("en")
    email = agent_for("en", 9)
    phone = new_phone()
    page = phone.page
    sign_in(page, email)
    open_day(page, 5)
    controlled_by_the_worker(page)
    clear_the_day(page, translate)
    page.get_by_role("link", name="Paint a range").click()
    expect(page.locator(".avail-grid input[name=action]")).to_have_value("paint")

    go_offline(phone)
    slot(page, "09:00").click()
    expect(slot(page, "09:00")).to_have_class(re.compile(r"\banchor\b"))
    slot(page, "10:00").click()
    expect(page.locator(".avail-grid button.preferred")).to_have_count(3)
    expect(page.locator("#outbox-report")).to_contain_text(translate(*PENDING, count=1))

    phone.context.set_offline(False)
    expect(page.locator("#outbox-report")).to_contain_text(
        translate("Back online: the changes you made offline were sent.")
    )
    other = new_phone().page
    sign_in(other, email)
    open_day(other, 5)
    expect(other.locator(".avail-grid button.preferred")).to_have_count(3)
    expect(slot(other, "10:00")).to_have_class(re.compile(r"\bpreferred\b"))
    assert_clean_console(page)


def test_the_confirm_tap_made_offline_is_sent_when_back_online(new_phone: Callable[[], Phone]) -> None:
    """agent01 (who reads Chinese) holds the demo's next shift, within its confirm window."""
    translate = words("zh-Hans")
    email = str(demo_agents()[0]["email"])
    phone = new_phone()
    page = phone.page
    sign_in(page, email)
    page.goto("/app/shifts")
    controlled_by_the_worker(page)
    form = page.locator('form[action$="/confirm"]').first
    expect(form).to_be_visible()
    shift_page = str(form.get_attribute("action")).removesuffix("/confirm") + "/attendance"

    go_offline(phone)
    form.locator("button").click()
    queued = page.get_by_role("status").filter(
        has_text=translate("Saved on this phone: your confirmation will be sent when you are back online.")
    )
    expect(queued).to_be_visible()
    expect(page.locator("#outbox-report")).to_contain_text(translate(*PENDING, count=1))
    assert_fits_phone_width(page)
    shot(page, "confirm-queued-zh-Hans")

    other = new_phone().page
    sign_in(other, email)
    other.goto(shift_page)
    expect(other.locator('form[action$="/confirm"]')).to_be_visible()  # not confirmed on the server yet

    phone.context.set_offline(False)
    expect(page.locator("#outbox-report")).to_contain_text(
        translate("Back online: the changes you made offline were sent.")
    )
    other.reload()
    expect(other.get_by_text(translate("Confirmed. See you then."))).to_be_visible()
    expect(other.locator('form[action$="/confirm"]')).to_have_count(0)
    assert_clean_console(page)
    assert_clean_console(other)


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_offline_the_claim_button_says_it_needs_a_connection(new_phone: Callable[[], Phone], locale: str) -> None:
    translate = words(locale)
    phone = new_phone()
    page = phone.page
    sign_in(page, agent_for(locale, 8))
    page.goto("/app/shifts/open")
    button = page.locator("button[data-needs-network]").first
    expect(button).to_be_visible()
    label = button.inner_text()

    go_offline(phone)
    expect(button).to_have_text(translate("Needs a connection"))
    expect(button).to_be_disabled()
    assert_fits_phone_width(page)
    phone.context.set_offline(False)
    expect(button).to_have_text(label)
    expect(button).to_be_enabled()
    assert_clean_console(page)


SIGN_OUT_WAITING = (
    "%(num)s change made offline has not been sent yet. Signing out now keeps it on this phone until you sign in "
    "again.",
    "%(num)s changes made offline have not been sent yet. Signing out now keeps them on this phone until you sign "
    "in again.",
)


def a_change_waits_on_the_phone(phone: Phone, email: str, day: int, translate: Callable[..., str]) -> Any:
    """Queue one availability tap offline in a second tab, leave the first tab on Profile (where "Sign out" is),
    and bring the network back while the change has not gone yet: the Profile tab holds the outbox's lock (the
    one every replay takes), as a slow connection would keep the worker busy. Returns the second tab."""
    page = phone.page
    sign_in(page, email)
    grid = phone.context.new_page()
    open_day(grid, day)
    controlled_by_the_worker(grid)
    clear_the_day(grid, translate)
    page.goto("/app/profile")
    controlled_by_the_worker(page)

    go_offline(phone)
    slot(grid, "18:00").click()
    expect(grid.locator("#outbox-report")).to_contain_text(translate(*PENDING, count=1))
    page.evaluate(
        """() => new Promise((held) => navigator.locks.request("weft-outbox", () => {
             held();
             return new Promise((release) => { window.releaseOutbox = release; });
           }))"""
    )
    phone.context.set_offline(False)
    page.wait_for_function("navigator.onLine")
    return grid


def server_has_the_change(new_phone: Callable[[], Phone], email: str, day: int) -> None:
    other = new_phone().page
    sign_in(other, email)
    open_day(other, day)
    expect(slot(other, "18:00")).to_have_class(re.compile(r"\bpreferred\b"))
    expect(other.locator(".avail-grid button.preferred")).to_have_count(1)


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_signing_out_with_a_change_waiting_warns_and_sign_out_anyway_keeps_it_on_the_phone(
    new_phone: Callable[[], Phone], locale: str
) -> None:
    translate = words(locale)
    email = agent_for(locale, 5)
    phone = new_phone()
    page = phone.page
    a_change_waits_on_the_phone(phone, email, 1, translate)

    page.get_by_role("button", name=translate("Sign out"), exact=True).click()
    warning = page.locator("#outbox-signout")
    expect(warning).to_have_attribute("role", "alert")
    expect(warning).to_contain_text(translate(*SIGN_OUT_WAITING, count=1))
    expect(page).to_have_url(re.compile(r"/app/profile$"))  # not signed out yet
    expect(warning.get_by_role("button", name=translate("Send it first", "Send them first", 1))).to_be_visible()
    assert_thumb_sized(page, "#outbox-signout", "button", at_least=2)
    assert_fits_phone_width(page)
    shot(page, f"sign-out-warning-{locale}")

    warning.get_by_role("button", name=translate("Sign out anyway")).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    # Kept on this phone, not sent for someone else's session: it goes when this agent signs in again (the sign-in
    # page now speaks the agent's language).
    sign_in(page, email, translate=translate)
    expect(page.locator("#outbox-report")).to_contain_text(
        translate("Back online: the changes you made offline were sent.")
    )
    server_has_the_change(new_phone, email, 1)
    assert_clean_console(page)


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_send_them_first_sends_the_waiting_change_and_then_signs_out(
    new_phone: Callable[[], Phone], locale: str
) -> None:
    translate = words(locale)
    email = agent_for(locale, 5)
    phone = new_phone()
    page = phone.page
    a_change_waits_on_the_phone(phone, email, 2, translate)

    page.get_by_role("button", name=translate("Sign out"), exact=True).click()
    warning = page.locator("#outbox-signout")
    expect(warning).to_contain_text(translate(*SIGN_OUT_WAITING, count=1))
    send = warning.get_by_role("button", name=translate("Send it first", "Send them first", 1))
    send.click()
    expect(send).to_be_disabled()  # asked: the worker sends as soon as it can
    page.evaluate("window.releaseOutbox()")

    expect(page).to_have_url(re.compile(r"/login$"))
    server_has_the_change(new_phone, email, 2)
    assert_clean_console(page)


def test_signing_out_with_nothing_waiting_is_unchanged(new_phone: Callable[[], Phone]) -> None:
    page = new_phone().page
    sign_in(page, agent_for("en", 5))
    page.goto("/app/profile")
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("#outbox-signout")).to_have_count(0)
    assert_clean_console(page)
