"""A phone-sized screenshot of the agent's home for the README.

    .venv/bin/python -m tests.e2e.screenshot [OUTPUT.png] [--locale en|zh-Hans]

It starts Weft on a throwaway SQLite database with the demo data (as the e2e
tests do), signs in as agent01 in a 360 x 800 phone viewport at device scale
factor 2, and saves the visible screen of ``/app`` (the tab bar included).
agent01's saved language is Chinese; ``--locale en`` (the default, for the
English README) switches it on the profile page first. Chinese text needs a
CJK font installed (Debian: ``fonts-noto-cjk``), or it shows as boxes.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from backend.accounts.demo import DEMO_DOMAIN
from backend.demo import DEMO_PASSWORD
from tests.e2e.conftest import CHROMIUM, PHONE, LiveServer, e2e_settings, free_port, launch_chromium, prepare_database

SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "web" / "static" / "screenshots"
DEFAULT_OUTPUT = SCREENSHOT_DIR / "home-en.png"
AGENT = f"agent01@{DEMO_DOMAIN}"
SAVE_VARIABLE = "WEFT_SAVE_SCREENSHOTS"


def save_screen(page: Any, name: str) -> Path | None:
    """Save a test's visible screen as ``web/static/screenshots/<name>.png`` for the README, only when
    ``WEFT_SAVE_SCREENSHOTS=1`` (an ordinary test run leaves the committed pictures alone)."""
    if os.environ.get(SAVE_VARIABLE) != "1":
        return None
    output = SCREENSHOT_DIR / f"{name}.png"
    page.evaluate("document.fonts.ready")
    output.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(output), animations="disabled", caret="hide")
    return output


def take(output: Path, locale: str) -> None:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise SystemExit(f"Chromium is not installed at {CHROMIUM}")
    with tempfile.TemporaryDirectory(prefix="weft-screenshot-") as directory:
        port = free_port()
        settings = e2e_settings(Path(directory), port)
        prepare_database(settings)
        server = LiveServer(settings, port)
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                context = browser.new_context(base_url=settings.base_url, **PHONE)
                page = context.new_page()
                page.goto("/login")
                page.locator("#f-email").fill(AGENT)
                page.locator("#f-password").fill(DEMO_PASSWORD)
                page.locator("form[action='/login'] button[type=submit]").click()
                page.wait_for_url("**/app")
                if page.locator("html").get_attribute("lang") != locale:
                    page.goto("/app/profile")
                    page.locator("#f-locale").select_option(locale)
                    page.locator("#profile button[type=submit]").first.click()
                    page.locator("#profile [role=status]").wait_for()
                    page.goto("/app")
                page.evaluate("document.fonts.ready")
                output.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(output), animations="disabled", caret="hide")
                browser.close()
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--locale", choices=["en", "zh-Hans"], default="en")
    arguments = parser.parse_args()
    take(arguments.output, arguments.locale)
    print(arguments.output)


if __name__ == "__main__":
    main()
