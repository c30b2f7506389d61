"""What a first visit costs on a metered phone plan: bytes on the wire, measured in the browser.

A fresh context (empty HTTP cache, no service worker yet) carries only the signed-in agent's cookies
and opens the page; Chromium's DevTools protocol reports each response's encoded length until the
network is idle. A page's budget counts everything that crossed (compressed bodies and the HTTP/1.1
headers of the test server); the script budget counts the scripts' compressed bodies, what they weigh
whatever the protocol (HTTP/2 in front of Weft compresses repeated headers to a few bytes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.e2e.conftest import PHONE, Phone
from tests.e2e.test_sign_in import english_agents, sign_in

pytestmark = pytest.mark.browser

KB = 1024
HOME_BUDGET_BYTES = 60 * KB
HOME_SCRIPT_BUDGET_BYTES = 25 * KB
OPEN_SHIFTS_BUDGET_BYTES = 60 * KB


@dataclass
class Transfer:
    """The bytes a page load moved, by resource."""

    by_url: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # kind, bytes in all, body bytes

    @property
    def total(self) -> int:
        return sum(size for _, size, _ in self.by_url.values())

    def bodies_of_type(self, kind: str) -> int:
        return sum(body for resource, _, body in self.by_url.values() if resource == kind)

    def report(self) -> str:
        rows = sorted(self.by_url.items(), key=lambda item: -item[1][1])
        return "\n".join(
            f"  {size / KB:6.1f} KB (body {body / KB:5.1f} KB) {kind:10} {url}" for url, (kind, size, body) in rows
        )


def first_visit(browser: Any, base_url: str, cookies: list[dict[str, Any]], path: str) -> Transfer:
    """Open ``path`` in a new context holding only ``cookies``, and add up what crossed the network."""
    context = browser.new_context(base_url=base_url, **PHONE)
    try:
        context.add_cookies(cookies)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        kinds: dict[str, tuple[str, str, int]] = {}
        transfer = Transfer()

        def on_response(event: dict[str, Any]) -> None:
            response = event["response"]
            headers = int(response.get("encodedDataLength", 0))  # what arrived before the body: the headers
            kinds[event["requestId"]] = (response["url"], event.get("type", "Other"), headers)

        def on_finished(event: dict[str, Any]) -> None:
            url, kind, headers = kinds.get(event["requestId"], ("?", "Other", 0))
            size = int(event["encodedDataLength"])
            transfer.by_url[url] = (kind, size, size - headers)

        cdp.on("Network.responseReceived", on_response)
        cdp.on("Network.loadingFinished", on_finished)
        response = page.goto(path)
        assert response is not None
        assert response.ok, f"{path} answered {response.status}"
        assert response.url.endswith(path), f"{path} redirected to {response.url}"
        page.wait_for_load_state("networkidle")
        return transfer
    finally:
        context.close()


def signed_in_cookies(new_phone: Callable[[], Phone], live_server: str) -> list[dict[str, Any]]:
    page = new_phone().page
    sign_in(page, str(english_agents()[0]["email"]))
    page.wait_for_url("**/app")
    return list(page.context.cookies(live_server))


def test_home_is_light_on_a_first_visit(
    browser: Any, new_phone: Callable[[], Phone], live_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    transfer = first_visit(browser, live_server, signed_in_cookies(new_phone, live_server), "/app")

    with capsys.disabled():
        scripts = transfer.bodies_of_type("Script")
        print(f"\nHome, first visit: {transfer.total / KB:.1f} KB, scripts {scripts / KB:.1f} KB compressed")
        print(transfer.report())
    assert "Document" in {kind for kind, _, _ in transfer.by_url.values()}
    assert transfer.total < HOME_BUDGET_BYTES, f"Home moved {transfer.total / KB:.1f} KB:\n{transfer.report()}"
    assert scripts < HOME_SCRIPT_BUDGET_BYTES, f"Home's scripts moved {scripts / KB:.1f} KB:\n{transfer.report()}"


def test_open_shifts_are_light_on_a_first_visit(
    browser: Any, new_phone: Callable[[], Phone], live_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    transfer = first_visit(browser, live_server, signed_in_cookies(new_phone, live_server), "/app/shifts/open")

    with capsys.disabled():
        print(f"\nOpen shifts, first visit: {transfer.total / KB:.1f} KB")
        print(transfer.report())
    assert transfer.total < OPEN_SHIFTS_BUDGET_BYTES, (
        f"Open shifts moved {transfer.total / KB:.1f} KB:\n{transfer.report()}"
    )
