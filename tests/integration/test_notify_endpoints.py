"""Push endpoints the server may contact: https to a host whose every address is public, at subscribe and at send.

The resolver is the operating system's (``socket.getaddrinfo``, stood in for by ``Dns``): a name
that points inside the network, or an IP address in a form only the resolver understands
(``127.1``, ``2130706433``), is refused as what it resolves to.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.core.db import Database
from backend.core.settings import Settings
from backend.notify import endpoints, keys, service
from backend.notify.models import Kind, PushMessage, PushStatus, PushSubscription
from backend.notify.sender import send_due
from tests.factories import Factory, bearer
from tests.push_service import PUBLIC_ADDRESS, Browser, Dns, Listener, PushService

API = "/api/v1/push/subscriptions"


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Dns:
    return Dns(monkeypatch)


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    knock = Listener()
    await knock.start()
    yield knock
    await knock.stop()


@pytest.fixture
async def agent(people: Factory) -> User:
    return await people.make()


async def devices(db: AsyncSession, user: User) -> list[str]:
    return list(await db.scalars(select(PushSubscription.endpoint).where(PushSubscription.user_id == user.id)))


async def a_push_for(db: AsyncSession, user: User) -> None:
    await service.notify(db, user_id=user.id, kind=Kind.swap, title="Ana offers you Tue 18:00", subject="swap:5")
    await db.commit()


@pytest.mark.parametrize(
    ("endpoint", "answers"),
    [
        ("https://127.1/push/x", None),
        ("https://2130706433/push/x", None),
        ("https://0x7f.1/push/x", None),
        ("https://0177.0.0.1/push/x", None),
        ("https://localhost/push/x", None),
        ("https://[::ffff:127.0.0.1]/push/x", None),
        (f"https://{socket.gethostname()}:9555/push/x", None),
        ("https://db:5432/push/x", ["172.18.0.3"]),
        ("https://push.example.net/push/x", ["169.254.169.254"]),
        ("https://push.example.net/push/x", [PUBLIC_ADDRESS, "10.0.0.8"]),
        ("https://push.example.net/push/x", ["::ffff:10.0.0.8"]),
        ("https://push.example.net/push/x", ["2002:7f00:1::1"]),
        ("https://push.example.net/push/x", ["fd00::8"]),
        ("https://push.example.net/push/x", ["224.0.0.251"]),
        ("http://push.example.net/push/x", [PUBLIC_ADDRESS]),
        ("https://push.invalid/push/x", None),
    ],
    ids=[
        "127.1",
        "decimal",
        "hex",
        "octal",
        "localhost",
        "mapped-literal",
        "this-machine",
        "compose-service",
        "metadata",
        "one-of-two-inside",
        "mapped-answer",
        "6to4",
        "unique-local",
        "multicast",
        "plain-http",
        "unresolvable",
    ],
)
async def test_an_endpoint_that_is_not_a_public_https_host_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, agent: User, dns: Dns, endpoint: str, answers: list[str] | None
) -> None:
    if answers is not None:
        dns.answers[endpoint.split("//")[1].split("/")[0].split(":")[0]] = answers
    response = await client.post(API, json=Browser(endpoint=endpoint).subscription(), headers=await bearer(db, agent))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "endpoint"
    assert await devices(db, agent) == []


async def test_a_push_service_on_the_internet_is_accepted(
    client: httpx.AsyncClient, db: AsyncSession, agent: User, dns: Dns
) -> None:
    dns.answers["fcm.googleapis.com"] = [PUBLIC_ADDRESS, "2607:f8b0:4005:80c::200a"]
    endpoint = "https://fcm.googleapis.com/fcm/send/abc"
    response = await client.post(API, json=Browser(endpoint=endpoint).subscription(), headers=await bearer(db, agent))
    assert response.status_code == 201, response.text
    assert await devices(db, agent) == [endpoint]


async def test_a_name_that_points_inside_after_subscribing_is_never_contacted(
    client: httpx.AsyncClient,
    db: AsyncSession,
    database: Database,
    settings: Settings,
    agent: User,
    dns: Dns,
    listener: Listener,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dns.answers["push.example.net"] = [PUBLIC_ADDRESS]
    endpoint = f"https://push.example.net:{listener.port}/push/x"
    subscribed = await client.post(API, json=Browser(endpoint=endpoint).subscription(), headers=await bearer(db, agent))
    assert subscribed.status_code == 201, subscribed.text
    await a_push_for(db, agent)
    dns.answers["push.example.net"] = ["127.0.0.1"]  # the DNS answer changed: the name now leads to this machine

    with caplog.at_level(logging.WARNING, logger="weft.push"):
        report = await send_due(database, settings=settings)

    assert listener.connections == 0, "the server never connected inside"
    assert report.dropped == 1
    assert await devices(db, agent) == []
    [row] = list(await db.scalars(select(PushMessage)))
    assert row.status == PushStatus.dropped
    assert "127.0.0.1" in row.last_error
    [line] = [record.getMessage() for record in caplog.records if record.name == "weft.push"]
    assert "push.example.net" in line
    assert "127.0.0.1" in line


async def test_with_the_default_settings_the_loopback_push_service_is_refused_at_subscribe_and_at_send(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings, agent: User
) -> None:
    assert settings.push_allow_private_hosts is False
    stand_in = PushService()
    await stand_in.start()
    try:
        stand_in.server_key = (await keys.vapid_pair(db, settings)).public_key
        browser = stand_in.browser()
        refused = await client.post(API, json=browser.subscription(), headers=await bearer(db, agent))
        assert (refused.status_code, refused.json()["field"]) == (422, "endpoint")
        # A subscription kept from before the rule, or written around it, is refused again just before sending.
        keys_ = browser.subscription()["keys"]
        await service.subscribe(
            db, user_id=agent.id, endpoint=browser.endpoint, p256dh=keys_["p256dh"], auth=keys_["auth"]
        )
        await a_push_for(db, agent)

        report = await send_due(database, settings=settings)

        assert stand_in.deliveries == []
        assert report.dropped == 1
        assert await devices(db, agent) == []
        # WEFT_PUSH_ALLOW_PRIVATE_HOSTS (development and tests only) lets the stand-in in.
        await service.check_subscription(
            endpoint=browser.endpoint, p256dh=keys_["p256dh"], auth=keys_["auth"], allow_private_hosts=True
        )
    finally:
        await stand_in.stop()


async def test_a_dns_answer_that_changes_between_the_check_and_the_connection_is_refused_at_connect(
    db: AsyncSession,
    database: Database,
    settings: Settings,
    agent: User,
    listener: Listener,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []
    real = socket.getaddrinfo

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        """The first answer is public, every later one is this machine (a DNS rebinding attack)."""
        if host != "push.example.net":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        address = PUBLIC_ADDRESS if len(asked) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    browser = Browser(endpoint=f"https://push.example.net:{listener.port}/push/x")
    keys_ = browser.subscription()["keys"]
    await service.subscribe(db, user_id=agent.id, endpoint=browser.endpoint, p256dh=keys_["p256dh"], auth=keys_["auth"])
    await a_push_for(db, agent)

    report = await send_due(database, settings=settings)

    assert len(asked) >= 2, "checked, then resolved again to connect"
    assert listener.connections == 0
    assert report.retried == 1, "refused at connect like a network error: the next round checks the name again"


async def test_the_senders_connections_refuse_an_address_inside_the_network(
    settings: Settings, listener: Listener
) -> None:
    """Whatever the URL (an IP literal, a redirect): the connection itself is checked, not only the name."""
    async with endpoints.push_http(settings) as http:
        with pytest.raises(aiohttp.ClientConnectorError):
            await http.post(f"http://127.0.0.1:{listener.port}/push/x", data=b"")
    assert listener.connections == 0
