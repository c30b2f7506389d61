"""End-to-end harness: the real app under uvicorn on a throwaway SQLite database, driven by Chromium.

One server serves the whole session and one browser this package; each test gets a fresh
browser context sized like a phone (360 x 800). The server is reached as
``http://localhost:<port>`` so the page is a secure context, as in production.
Without ``/usr/bin/chromium`` the browser tests skip, unless
``WEFT_REQUIRE_BROWSER=1``, when they fail.

Tests here are plain sync functions: Playwright's sync API refuses to run
inside a running asyncio loop, and pytest-asyncio only runs its loop for
async tests and fixtures.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from backend.app import create_app
from backend.core.db import Actor, Database, act_as
from backend.core.migrate import migrate
from backend.core.settings import Settings, load_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 800},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-US",
}
E2E_ACTOR = Actor(id=None, label="e2e", role="system", reason="end-to-end test demo data")
SERVER_START_TIMEOUT = 15.0
_CONSOLE_ERRORS: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


def browser_required() -> bool:
    return os.environ.get("WEFT_REQUIRE_BROWSER") == "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e drives a browser."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def e2e_settings(directory: Path, port: int) -> Settings:
    url = f"sqlite+aiosqlite:///{(directory / 'e2e.db').as_posix()}"
    return load_settings(
        {
            "WEFT_DATABASE_URL": url,
            "WEFT_SECRET_KEY": "e2e-secret-" + "x" * 40,
            "WEFT_DATA_DIR": str(directory),
            "WEFT_BASE_URL": f"http://localhost:{port}",
        }
    )


def prepare_database(settings: Settings) -> None:
    """Migrate to head and load the demo world, in one audited unit of work like ``weft demo``.

    It runs in a thread of its own: ``asyncio.run`` refuses a thread where
    Playwright's sync API has marked its loop as running, which it does
    between calls once a browser is up.
    """
    from backend.demo import load_demo

    async def load() -> None:
        database = Database.from_url(settings.database_url)
        try:
            async with database.session(write=True) as session:
                act_as(session, E2E_ACTOR)
                await load_demo(session, settings)
        finally:
            await database.dispose()

    def work() -> None:
        migrate(settings.database_url, "head")
        asyncio.run(load())

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="weft-e2e-setup") as pool:
        pool.submit(work).result()


class LiveServer:
    """The app under uvicorn in a daemon thread (signal handlers stay with the main thread)."""

    def __init__(self, settings: Settings, port: int) -> None:
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="weft-e2e-server", daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the e2e server stopped while starting")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the e2e server did not start within {SERVER_START_TIMEOUT:.0f} s")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running Weft with the demo data loaded."""
    directory = tmp_path_factory.mktemp("e2e")
    port = free_port()
    settings = e2e_settings(directory, port)
    prepare_database(settings)
    server = LiveServer(settings, port)
    server.start()
    try:
        yield settings.base_url
    finally:
        server.stop()


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Chromium, for this package's tests only.

    Between sync calls Playwright leaves its event loop marked as running in
    the main thread, until it stops. Kept for the whole session it would make
    every later ``asyncio.run`` and async test in the session fail, so it
    stops when the last test of ``tests/e2e`` is done.
    """
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM}"
        if browser_required():
            pytest.fail(f"{message} (WEFT_REQUIRE_BROWSER=1)")
        pytest.skip(f"{message} (set WEFT_REQUIRE_BROWSER=1 to fail instead)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@dataclass
class Phone:
    """A phone-sized browser context and its page, with the console errors seen so far."""

    context: Any
    page: Any
    console_errors: list[str] = field(default_factory=list)


def open_phone(browser: Any, base_url: str) -> Phone:
    context = browser.new_context(base_url=base_url, **PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    phone = Phone(context=context, page=page)

    def on_console(message: Any) -> None:
        if message.type == "error":
            phone.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def on_page_error(error: Any) -> None:
        phone.console_errors.append(f"uncaught: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    _CONSOLE_ERRORS[page] = phone.console_errors
    return phone


@pytest.fixture
def new_phone(browser: Any, live_server: str) -> Iterator[Callable[[], Phone]]:
    """Open as many separate phones (browser contexts: own cookies) as a test needs."""
    opened: list[Phone] = []

    def make() -> Phone:
        phone = open_phone(browser, live_server)
        opened.append(phone)
        return phone

    yield make
    for phone in opened:
        phone.context.close()


def console_errors(page: Any) -> list[str]:
    """The console errors (and uncaught exceptions) a phone's page has logged so far."""
    return _CONSOLE_ERRORS[page]


def assert_clean_console(page: Any) -> None:
    """No console errors: Chromium reports CSP violations and failed loads there too."""
    errors = console_errors(page)
    assert errors == [], "console errors:\n" + "\n".join(errors)


MIN_TAP = 44  # px: a thumb-sized target (WCAG 2.5.5)


def assert_thumb_sized(page: Any, scope: str, targets: str = "a, button, input, select", *, at_least: int = 1) -> None:
    """Every visible control ``targets`` matches inside ``scope`` is at least ``MIN_TAP`` px each way."""
    found = page.locator(scope).locator(targets)
    assert found.count() >= at_least
    for index in range(found.count()):
        target = found.nth(index)
        if not target.is_visible() or target.get_attribute("type") == "hidden":
            continue
        box = target.bounding_box()
        assert box is not None
        label = target.inner_text() or target.get_attribute("name") or target.evaluate("e => e.outerHTML")[:80]
        assert box["width"] >= MIN_TAP, f"{label!r} is too narrow: {box}"
        assert box["height"] >= MIN_TAP, f"{label!r} is too short: {box}"


@pytest.fixture
def phone(new_phone: Callable[[], Phone]) -> Any:
    """A page in a fresh 360 x 800 phone context (``new_phone`` closes it afterwards)."""
    return new_phone().page


LAPTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}, "locale": "en-US"}


@pytest.fixture
def laptop_page(browser: Any, live_server: str) -> Iterator[Any]:
    """A page in a fresh 1280 x 900 laptop context (staff pages), with console errors recorded like a phone's."""
    context = browser.new_context(base_url=live_server, **LAPTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    _CONSOLE_ERRORS[page] = errors
    yield page
    context.close()
