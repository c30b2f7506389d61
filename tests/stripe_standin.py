"""The Stripe stand-in under uvicorn on loopback, and a receiver for the webhooks it sends.

``stripe_standin`` (registered in tests/conftest.py) yields a ``StandinServer``: one server per test session,
reset before each test. ``server.client()`` is the real ``stripe.StripeClient`` pointed at it; the other
methods drive the control endpoints under ``/_standin/`` (faults, balances, payouts, events). The control
helpers are synchronous: the stand-in runs on its own loop in its own thread, so an async test may call them.

``WebhookReceiver`` is a loopback endpoint that keeps every request it gets (raw body and headers), for tests
that point the stand-in's webhook URLs at it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import stripe
import uvicorn

from backend.payouts.standin import DEFAULT_CONNECT_WEBHOOK_SECRET, DEFAULT_WEBHOOK_SECRET, Standin, create_standin

STANDIN_KEY = "sk_test_standin"
START_TIMEOUT_SECONDS = 15.0
WEBHOOK_SECRET = DEFAULT_WEBHOOK_SECRET
CONNECT_WEBHOOK_SECRET = DEFAULT_CONNECT_WEBHOOK_SECRET


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThreadedServer:
    """An ASGI app under uvicorn in a daemon thread on a free loopback port."""

    def __init__(self, app: Any, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            interface="asgi3",
            lifespan="on",
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.thread.name} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class StandinServer(ThreadedServer):
    """The stand-in, its SDK clients and its control endpoints."""

    def __init__(self, **options: Any) -> None:
        self.app: Standin = create_standin(**options)
        super().__init__(self.app, "stripe-standin")
        self.control = httpx.Client(base_url=self.url, timeout=10)
        self._http_clients: list[stripe.HTTPXClient] = []

    def client(self, *, timeout: float = 10.0, key: str = STANDIN_KEY, **options: Any) -> stripe.StripeClient:
        """The real SDK against the stand-in: async httpx (sync calls allowed too), no retries of its own."""
        http_client = stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True)
        self._http_clients.append(http_client)
        return stripe.StripeClient(
            key,
            base_addresses={"api": self.url},  # type: ignore[typeddict-item]
            http_client=http_client,
            max_network_retries=options.pop("max_network_retries", 0),
            **options,
        )

    async def close_clients(self) -> None:
        for http_client in self._http_clients:
            await http_client.close_async()
            http_client.close()
        self._http_clients.clear()

    def stop(self) -> None:
        self.control.close()
        super().stop()

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        answer = self.control.request(method, path, json=payload if method == "POST" else None)
        answer.raise_for_status()
        return answer.json()

    def reset(self) -> None:
        self._call("POST", "/_standin/reset", {})

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Webhook URLs and secrets, ``livemode`` for events, ``requests_per_second``, ``transfer_events``."""
        return self._call("POST", "/_standin/config", settings)

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/_standin/state")

    def transfers(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_standin/transfers")["data"]

    def events(self, type: str | None = None) -> list[dict[str, Any]]:
        """Every event sent: ``body`` (the exact bytes signed), ``signature``, ``deliveries`` with HTTP status."""
        data = self._call("GET", "/_standin/events")["data"]
        return [event for event in data if type is None or event["type"] == type]

    def fault(self, kind: str, **options: Any) -> dict[str, Any]:
        """``500``, ``rate_limit``, ``timeout_after_transfer``, ``balance_insufficient``: ``times``, ``path``,
        ``method``, ``seconds``, ``retry_after``; ``capability_inactive``: ``account``."""
        return self._call("POST", f"/_standin/faults/{kind}", options)

    def set_balance(self, available: dict[str, int], account: str | None = None) -> dict[str, Any]:
        return self._call("POST", "/_standin/balance", {"available": available, "account": account})

    def ready_accounts(self, count: int, **options: Any) -> list[str]:
        """``count`` connected accounts that can receive transfers now (``country``, ``currency``, ``ready``)."""
        return self._call("POST", "/_standin/accounts", {"count": count, **options})["ids"]

    def onboard(self, account: str, **options: Any) -> dict[str, Any]:
        """Finish onboarding without the hosted page (``full_name``, ``bank_account``, ``emit_events``)."""
        return self._call("POST", f"/_standin/accounts/{account}/onboard", options)

    def pay_out(self, account: str, status: str = "pending", **options: Any) -> list[dict[str, Any]]:
        """Pay out the account's whole balance; ``status`` ``paid`` or ``failed`` settles it and sends the event."""
        return self._call("POST", f"/_standin/accounts/{account}/payout", {"status": status, **options})["data"]

    def settle_payout(self, payout: str, status: str, **options: Any) -> dict[str, Any]:
        return self._call("POST", f"/_standin/payouts/{payout}", {"status": status, **options})

    def emit(self, type: str, transfer: str, **options: Any) -> dict[str, Any]:
        """Send a v1 snapshot event of a transfer (``transfer.created``/``updated``/``reversed``) to the platform."""
        return self._call("POST", "/_standin/events/emit", {"type": type, "transfer": transfer, **options})

    def complete_onboarding(
        self, link_url: str, *, full_name: str = "Test Agent", bank_account: str | None = None
    ) -> httpx.Response:
        """Do what the agent does on the hosted page: open it, fill the form, press Submit (not following the
        final redirect, which leads back to the platform)."""
        with httpx.Client(timeout=10) as browser:
            page = browser.get(link_url)
            page.raise_for_status()
            action = _form_action(page.text)
            form = {"full_name": full_name}
            form["bank_account"] = bank_account or _input_value(page.text, "bank_account")
            return browser.post(httpx.URL(link_url).join(action), data=form)

    def wait_for_deliveries(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The events once ``count`` of them have a finished delivery."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            delivered = [event for event in events if event["deliveries"]]
            if len(delivered) >= count or time.monotonic() > deadline:
                return events
            time.sleep(0.02)


def _form_action(page: str) -> str:
    start = page.index('action="') + len('action="')
    return page[start : page.index('"', start)]


def _input_value(page: str, name: str) -> str:
    start = page.index(f'name="{name}"')
    value_start = page.index('value="', start) + len('value="')
    return page[value_start : page.index('"', value_start)]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver(ThreadedServer):
    """A loopback endpoint that answers ``status`` and keeps each request (``/platform``, ``/connect``, ...)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[Received] = []
        self._arrived = threading.Condition()
        super().__init__(self._app, "webhook-receiver")

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()  # startup
            await send({"type": "lifespan.startup.complete"})
            await receive()  # shutdown
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        with self._arrived:
            self.received.append(Received(scope["path"], headers, body))
            self._arrived.notify_all()
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
            return list(self.received)


@pytest.fixture(scope="session")
def stripe_standin_server() -> Iterator[StandinServer]:
    server = StandinServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def stripe_standin(stripe_standin_server: StandinServer) -> AsyncIterator[StandinServer]:
    """The stand-in, empty: every account, transfer, key, fault, event and setting from earlier tests forgotten."""
    stripe_standin_server.reset()
    yield stripe_standin_server
    await stripe_standin_server.close_clients()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    yield receiver
    receiver.stop()
