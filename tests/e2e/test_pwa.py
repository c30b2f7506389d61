"""Weft as an app on a 360 px phone: the service worker takes over, pages read offline with a dated banner, a
sign-out leaves nothing for the next person, a deploy is offered as a Refresh, and the install coach behaves."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from backend.accounts.demo import demo_agents
from backend.core.pwa import Shell
from backend.core.templating import STATIC, StaticFiles
from tests.e2e.conftest import (
    LiveServer,
    Phone,
    assert_clean_console,
    assert_thumb_sized,
    e2e_settings,
    free_port,
    open_phone,
    prepare_database,
)
from tests.e2e.test_sign_in import assert_fits_phone_width, english_agents, sign_in, zh

pytestmark = pytest.mark.browser

KEPT = """async (path) => {
  for (const name of await caches.keys()) {
    if (name.startsWith("weft-reader-") && await (await caches.open(name)).match(location.origin + path)) return true;
  }
  return false;
}"""
READER_CACHES = "async () => (await caches.keys()).filter((name) => name.startsWith('weft-reader-'))"
SHELL_CACHES = "async () => (await caches.keys()).filter((name) => name.startsWith('weft-shell-'))"


def chinese_agent() -> dict[str, Any]:
    return next(agent for agent in demo_agents() if agent["locale"] == "zh-Hans")


def until(page: Any, script: str, arg: Any = None, timeout_seconds: float = 10.0) -> Any:
    """Poll ``script`` until it gives a true value (``wait_for_function`` evaluates strings, which our CSP forbids)."""
    deadline = time.monotonic() + timeout_seconds
    while not (result := page.evaluate(script, arg)):
        assert time.monotonic() < deadline, f"still false after {timeout_seconds} s: {script}"
        page.wait_for_timeout(100)
    return result


def wait_for_worker(page: Any) -> None:
    """The worker has installed (the shell is precached), activated and controls this page."""
    until(page, "() => navigator.serviceWorker.controller !== null")
    state = page.evaluate("navigator.serviceWorker.ready.then((r) => [r.active.state, r.scope])")
    assert state[0] == "activated"
    assert state[1].endswith("/")


def assert_from_worker(answer: Any) -> None:
    """The page came from the service worker, not the (unreachable) server."""
    assert answer is not None
    assert answer.from_service_worker


def visit_and_keep(page: Any, path: str) -> None:
    """Open a page online and wait until the worker has kept it for reading offline."""
    page.goto(path)
    until(page, KEPT, path)


LANGUAGES = {
    "en": (english_agents()[0], str),
    "zh-Hans": (chinese_agent(), zh),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_home_and_my_schedule_read_offline_with_a_dated_banner(new_phone: Any, language: str) -> None:
    agent, tr = LANGUAGES[language]
    phone: Phone = new_phone()
    page = phone.page
    sign_in(page, str(agent["email"]))  # a fresh phone shows the sign-in form in its own language
    page.wait_for_url("**/app")
    wait_for_worker(page)
    visit_and_keep(page, "/app")
    visit_and_keep(page, "/app/shifts")
    expect(page.locator("#offline-banner")).to_be_hidden()

    phone.context.set_offline(True)
    assert_from_worker(page.reload())
    banner = page.locator("#offline-banner")
    before, _, after = tr("Offline — as of %(time)s").partition("%(time)s")
    expect(banner).to_be_visible()
    expect(banner).to_have_text(re.compile("^" + re.escape(before) + r"\d{2}:\d{2}" + re.escape(after) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(tr("My schedule"))
    assert_fits_phone_width(page)

    page.goto("/app")
    expect(page.get_by_role("heading", level=1)).to_have_text(tr("Hello, %(name)s") % {"name": agent["name"]})
    expect(page.locator("#offline-banner")).to_be_visible()
    assert_clean_console(page)


HTMX_BUSY = ".htmx-request, .htmx-settling, .htmx-swapping, .htmx-added"  # htmx's classes while a swap is in flight


def without_htmx_classes(html: str) -> str:
    """The page's markup without the classes htmx adds and removes around any request (a load-triggered one may
    still be in flight): what the agent sees is the rest."""
    return re.sub(r" htmx-(?:request|settling|swapping|added)", "", html)


def test_offline_an_unkept_page_says_so_and_an_htmx_request_leaves_the_page_intact(new_phone: Any) -> None:
    agent = english_agents()[1]
    phone: Phone = new_phone()
    page = phone.page
    sign_in(page, str(agent["email"]))
    page.wait_for_url("**/app")
    wait_for_worker(page)
    visit_and_keep(page, "/app/shifts")

    phone.context.set_offline(True)
    page.reload()
    expect(page.locator(HTMX_BUSY)).to_have_count(0)  # the handover panel loads itself: let that swap settle first
    main = page.locator("#main")
    schedule = without_htmx_classes(main.inner_html())
    page.evaluate("htmx.ajax('GET', '/app/learn', {target: '#main', swap: 'innerHTML'})")
    expect(page.locator("#offline-toast")).to_be_visible()
    expect(page.locator("#offline-toast")).to_have_text(
        "You are offline: this needs the network. Try again when you are back online."
    )
    expect(page.locator(HTMX_BUSY)).to_have_count(0)
    assert without_htmx_classes(main.inner_html()) == schedule, "the offline answer must not be swapped into the page"

    assert_from_worker(page.goto("/app/learn"))
    expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
    expect(page.get_by_role("link", name="My schedule")).to_be_visible()
    assert_fits_phone_width(page)
    assert_clean_console(page)


def test_after_sign_out_the_next_person_finds_none_of_the_last_agents_pages(new_phone: Any) -> None:
    agent = english_agents()[2]
    phone: Phone = new_phone()
    page = phone.page
    sign_in(page, str(agent["email"]))
    page.wait_for_url("**/app")
    wait_for_worker(page)
    visit_and_keep(page, "/app")
    assert len(page.evaluate(READER_CACHES)) == 1

    page.goto("/app/profile")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    until(page, f"async () => (await ({READER_CACHES})()).length === 0")

    phone.context.set_offline(True)
    assert_from_worker(page.goto("/app"))
    expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
    expect(page.get_by_text(f"Hello, {agent['name']}")).to_have_count(0)
    assert_clean_console(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_install_coach_appears_when_the_browser_offers_and_stays_dismissed(new_phone: Any, language: str) -> None:
    agent, tr = LANGUAGES[language]
    phone: Phone = new_phone()
    page = phone.page
    sign_in(page, str(agent["email"]))  # a fresh phone shows the sign-in form in its own language
    page.wait_for_url("**/app")
    coach = page.locator("#install-coach")
    expect(coach).to_be_hidden()  # headless Chromium offers no install: nothing to coach

    offer = """() => {
      const event = new Event("beforeinstallprompt", { cancelable: true });
      event.prompt = () => { window.promptedToInstall = true; };
      event.userChoice = Promise.resolve({ outcome: "dismissed" });
      window.dispatchEvent(event);
      return event.defaultPrevented;
    }"""
    assert page.evaluate(offer), "the coach takes over from the browser's own install bar"
    expect(coach).to_be_visible()
    expect(coach.get_by_role("heading")).to_have_text(tr("Put Weft on your home screen"))
    assert_thumb_sized(page, "#install-coach", "button", at_least=2)
    assert_fits_phone_width(page)
    coach.get_by_role("button", name=tr("Install Weft")).click()
    until(page, "() => window.promptedToInstall === true")
    expect(coach).to_be_visible()  # the agent said no to the browser: the coach may still help later

    coach.get_by_role("button", name=tr("Not now")).click()
    expect(coach).to_be_hidden()
    page.reload()
    page.evaluate(offer)
    expect(page.locator("#install-coach")).to_be_hidden()
    assert_clean_console(page)


@dataclass
class Deployable:
    """A Weft whose shell comes from a copy of the static files, so a test can deploy a change to it."""

    base_url: str
    app: Any
    static: Path

    def deploy(self, file_name: str, extra: str) -> str:
        """Change a shell file as a deploy would, restart the shell (hashes are per process); the new version."""
        with (self.static / file_name).open("a", encoding="utf-8") as changed:
            changed.write(extra)
        self.app.state.shell = Shell(StaticFiles(self.static))
        return str(self.app.state.shell.version())


@pytest.fixture(scope="module")
def deployable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployable]:
    directory = tmp_path_factory.mktemp("deploy")
    static = directory / "static"
    shutil.copytree(STATIC.directory, static)
    port = free_port()
    settings = e2e_settings(directory, port)
    prepare_database(settings)
    server = LiveServer(settings, port)
    app = server.server.config.app
    app.state.shell = Shell(StaticFiles(static))
    server.start()
    try:
        yield Deployable(base_url=settings.base_url, app=app, static=static)
    finally:
        server.stop()


def test_a_deploy_is_offered_as_refresh_and_refreshing_activates_it(browser: Any, deployable: Deployable) -> None:
    phone = open_phone(browser, deployable.base_url)
    page = phone.page
    try:
        sign_in(page, str(english_agents()[3]["email"]))
        page.wait_for_url("**/app")
        wait_for_worker(page)
        old_version = deployable.app.state.shell.version()
        assert page.evaluate(SHELL_CACHES) == [f"weft-shell-{old_version}"]
        prompt = page.locator("#update-prompt")
        expect(prompt).to_be_hidden()

        new_version = deployable.deploy("app.css", "\n.deployed-in-a-test { color: inherit; }\n")
        assert new_version != old_version
        page.reload()  # a navigation makes the browser look for a new worker; it installs and waits
        expect(prompt).to_be_visible()
        expect(prompt).to_contain_text("A new version of Weft is ready")
        assert page.evaluate("navigator.serviceWorker.ready.then((r) => Boolean(r.waiting))")
        assert_thumb_sized(page, "#update-prompt", "button")

        with page.expect_event("load"):  # Refresh: the new worker takes over and the page reloads once
            prompt.get_by_role("button", name="Refresh").click()
        expect(page.locator("#update-prompt")).to_be_hidden()
        until(page, f"async () => (await ({SHELL_CACHES})()).length === 1")
        assert page.evaluate(SHELL_CACHES) == [f"weft-shell-{new_version}"], "the old shell is gone"
        assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.waiting === null)")
        assert_clean_console(page)
    finally:
        phone.context.close()


def test_push_card_on_home_asks_only_after_a_tap_and_offers_the_inbox_when_refused(new_phone: Any) -> None:
    phone: Phone = new_phone()
    page = phone.page
    sign_in(page, str(english_agents()[4]["email"]))
    page.wait_for_url("**/app")
    toggle = page.locator("#push-toggle")
    expect(toggle).to_be_enabled()  # push.js found the worker and no subscription
    assert page.evaluate("Notification.permission") == "default", "nothing is asked before the tap"
    expect(page.locator("#push-fallback")).to_be_hidden()
    assert_thumb_sized(page, "#push-card", "button")

    toggle.click()  # headless Chromium answers the permission prompt with "denied", as a refusing agent would
    expect(page.locator("#push-status")).to_have_text(
        "This browser blocks notifications from Weft. Allow them in the browser settings, then try again."
    )
    inbox = page.get_by_role("link", name="Read your notifications in the inbox")
    expect(inbox).to_be_visible()
    inbox.click()
    page.wait_for_url("**/app/inbox")
    assert_clean_console(page)
