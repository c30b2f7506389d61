"""The inbox, the notification settings, the subscription API and the PWA files."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, User
from backend.core.db import Database
from backend.core.settings import Settings
from backend.notify import keys, service
from backend.notify.models import Kind, NotificationPreference, PushSubscription, VapidKey
from backend.notify.service import notify
from tests.conftest import login, post_form
from tests.factories import Factory, bearer
from tests.push_service import PUBLIC_ADDRESS, Browser, Dns

PUSH_HOST = "https://push.example.net"


@pytest.fixture(autouse=True)
def push_service_on_the_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """push.example.net resolves to a public address, as a real push service's name does."""
    Dns(monkeypatch).answers["push.example.net"] = [PUBLIC_ADDRESS]


def a_browser(name: str = "device") -> Browser:
    return Browser(endpoint=f"{PUSH_HOST}/send/{name}")


def csrf_header(client: httpx.AsyncClient) -> dict[str, str]:
    return {"x-csrftoken": client.cookies.get("weft_csrf") or ""}


async def signed_in(client: httpx.AsyncClient, user: User) -> None:
    response = await login(client, user.email)
    assert response.status_code == 303, response.text
    await client.get("/app/inbox")  # sets the CSRF cookie for later posts


async def owned_endpoints(db: AsyncSession, user: User) -> set[str]:
    return set(await db.scalars(select(PushSubscription.endpoint).where(PushSubscription.user_id == user.id)))


# The PWA files


async def test_the_service_worker_and_manifest_are_served_at_the_root(client: httpx.AsyncClient) -> None:
    worker = await client.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    assert 'addEventListener("push"' in worker.text
    assert 'addEventListener("notificationclick"' in worker.text
    manifest = await client.get("/manifest.webmanifest")
    assert manifest.status_code == 200
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["start_url"] == "/app"


# The key and the subscription API


async def test_the_vapid_key_is_made_once_at_start_up_and_kept(
    client: httpx.AsyncClient, database: Database, db: AsyncSession, settings: Settings, people: Factory
) -> None:
    assert (await client.get("/api/v1/push/key")).status_code == 401
    await signed_in(client, await people.make())
    not_yet = await client.get("/api/v1/push/key")
    assert not_yet.status_code == 503, "a read never makes the key"
    assert "Push is not set up yet" in not_yet.json()["message"]
    assert await db.scalar(select(func.count()).select_from(VapidKey)) == 0

    await keys.prepare_vapid_key(database, settings)  # what the app, the worker and `weft migrate` do at start
    await keys.prepare_vapid_key(database, settings)
    first = (await client.get("/api/v1/push/key")).json()["public_key"]
    second = (await client.get("/api/v1/push/key")).json()["public_key"]
    assert first == second
    assert await db.scalar(select(func.count()).select_from(VapidKey)) == 1
    point = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))
    assert (len(point), point[0]) == (65, 4), "an uncompressed P-256 point, as PushManager.subscribe wants"


async def test_the_page_subscribes_with_its_session_and_the_csrf_header(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent = await people.make()
    await signed_in(client, agent)
    body = a_browser().subscription()

    without_csrf = await client.post("/app/push/subscription", json=body)
    assert without_csrf.status_code == 403
    first = await client.post("/app/push/subscription", json=body, headers=csrf_header(client))
    again = await client.post("/app/push/subscription", json=body, headers=csrf_header(client))

    assert first.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"], "an upsert by endpoint"
    assert await owned_endpoints(db, agent) == {body["endpoint"]}
    gone = await client.request(
        "DELETE", "/app/push/subscription", json={"endpoint": body["endpoint"]}, headers=csrf_header(client)
    )
    assert gone.status_code == 204
    assert await owned_endpoints(db, agent) == set()


async def test_a_browser_session_cannot_write_through_the_json_api(client: httpx.AsyncClient, people: Factory) -> None:
    await signed_in(client, await people.make())
    response = await client.post("/api/v1/push/subscriptions", json=a_browser().subscription())
    assert response.status_code == 401


async def test_api_clients_subscribe_and_unsubscribe_their_own_devices(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent, other = await people.make(), await people.make()
    mine, theirs = a_browser("mine").subscription(), a_browser("theirs").subscription()
    agent_auth, other_auth = await bearer(db, agent), await bearer(db, other)
    assert (await client.post("/api/v1/push/subscriptions", json=mine, headers=agent_auth)).status_code == 201
    assert (await client.post("/api/v1/push/subscriptions", json=theirs, headers=other_auth)).status_code == 201

    stolen = await client.request(
        "DELETE", "/api/v1/push/subscriptions", json={"endpoint": theirs["endpoint"]}, headers=agent_auth
    )
    assert stolen.status_code == 404
    assert await owned_endpoints(db, other) == {theirs["endpoint"]}
    own = await client.request(
        "DELETE", "/api/v1/push/subscriptions", json={"endpoint": mine["endpoint"]}, headers=agent_auth
    )
    assert own.status_code == 204
    assert await owned_endpoints(db, agent) == set()
    anonymous = await client.request("DELETE", "/api/v1/push/subscriptions", json={"endpoint": mine["endpoint"]})
    assert anonymous.status_code == 401


def spoiled(change: str) -> dict[str, object]:
    body = a_browser().subscription()
    keys = body["keys"]
    assert isinstance(keys, dict)
    if change == "http":
        body["endpoint"] = "http://push.example.net/send/1"
    elif change == "internal":
        body["endpoint"] = "https://10.0.0.8/send/1"
    elif change == "not-a-url":
        body["endpoint"] = "push service"
    elif change == "p256dh":
        keys["p256dh"] = base64.urlsafe_b64encode(b"\x04" + b"\x01" * 64).decode().rstrip("=")
    elif change == "auth":
        keys["auth"] = "c2hvcnQ"
    elif change == "no-auth":
        del keys["auth"]
    elif change == "unknown":
        body["extra"] = 1
    return body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("http", "endpoint"),
        ("internal", "endpoint"),
        ("not-a-url", "endpoint"),
        ("p256dh", "keys.p256dh"),
        ("auth", "keys.auth"),
        ("no-auth", "auth"),
        ("unknown", "extra"),
    ],
)
async def test_a_bad_subscription_is_refused_naming_the_field(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, change: str, field: str
) -> None:
    agent = await people.make()
    response = await client.post("/api/v1/push/subscriptions", json=spoiled(change), headers=await bearer(db, agent))
    assert response.status_code == 422, response.text
    assert field in (response.json()["field"] or "") or field in response.json()["message"]
    assert await owned_endpoints(db, agent) == set()


async def test_a_push_service_on_loopback_is_accepted_only_with_the_development_setting(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent = await people.make()
    body = Browser(endpoint="http://127.0.0.1:9/push/abc").subscription()
    response = await client.post("/api/v1/push/subscriptions", json=body, headers=await bearer(db, agent))
    assert (response.status_code, response.json()["field"]) == (422, "endpoint")
    await service.check_subscription(
        endpoint="http://127.0.0.1:9/push/abc",
        p256dh=body["keys"]["p256dh"],
        auth=body["keys"]["auth"],
        allow_private_hosts=True,
    )


# The inbox


async def test_the_inbox_shows_only_my_notifications_newest_first(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent, other = await people.make(), await people.make()
    await notify(db, user_id=agent.id, kind=Kind.roster_published, title="Your week is out", url="/app/shifts")
    await notify(db, user_id=agent.id, kind=Kind.cover_request, title="Cover Tue 18:00", subject="cover:1")
    await notify(db, user_id=other.id, kind=Kind.swap, title="Someone else's swap")
    await db.commit()
    assert (await client.get("/app/inbox")).status_code == 303, "anonymous: sent to sign in"

    await signed_in(client, agent)
    page = (await client.get("/app/inbox")).text

    assert "Someone else&#39;s swap" not in page
    assert "Someone else's swap" not in page
    assert page.index("Cover Tue 18:00") < page.index("Your week is out")
    assert "2 unread notifications" in page
    badge = await client.get("/app/inbox/badge", headers={"HX-Request": "true"})
    assert "Inbox (2)" in badge.text


async def test_opening_marks_read_and_another_users_notification_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent, other = await people.make(), await people.make()
    mine = await notify(db, user_id=agent.id, kind=Kind.waitlist_offer, title="Seat for you", url="/app/shifts/9")
    theirs = await notify(db, user_id=other.id, kind=Kind.swap, title="Not yours")
    await db.commit()
    await signed_in(client, agent)

    opened = await post_form(client, f"/app/inbox/{mine.id}/read", {})
    assert opened.status_code == 303
    assert opened.headers["location"] == "/app/shifts/9"
    assert (await post_form(client, f"/app/inbox/{theirs.id}/read", {})).status_code == 404
    assert await service.unread_count(db, user_id=agent.id) == 0
    assert await service.unread_count(db, user_id=other.id) == 1


async def test_mark_all_read_is_mine_only(client: httpx.AsyncClient, db: AsyncSession, people: Factory) -> None:
    agent, other = await people.make(), await people.make()
    for user in (agent, agent, other):
        await notify(db, user_id=user.id, kind=Kind.shift_reminder, title="Shift at 09:00")
    await db.commit()
    await signed_in(client, agent)

    response = await post_form(client, "/app/inbox/read-all", {})

    assert response.status_code == 303
    assert await service.unread_count(db, user_id=agent.id) == 0
    assert await service.unread_count(db, user_id=other.id) == 1


async def test_staff_have_an_inbox_too(client: httpx.AsyncClient, db: AsyncSession, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    await notify(db, user_id=coordinator.id, kind=Kind.swap, title="A swap needs your approval")
    await db.commit()
    await signed_in(client, coordinator)
    assert "A swap needs your approval" in (await client.get("/app/inbox")).text


# Preferences


async def test_preferences_are_saved(client: httpx.AsyncClient, db: AsyncSession, people: Factory) -> None:
    agent = await people.make()
    await signed_in(client, agent)
    page = await client.get("/app/inbox/settings")
    assert page.status_code == 200
    assert "Enable notifications on this phone" in page.text
    assert re.search(r'<script src="/static/push\.js\?v=[0-9a-f]{12}" defer></script>', page.text)
    form = {kind.value: "on" for kind in Kind} | {"open_shift": "off", "quiet_start": "22:00", "quiet_end": "07:00"}

    response = await post_form(client, "/app/inbox/settings", form)

    assert response.status_code == 303
    chosen = await service.preferences(db, user_id=agent.id)
    assert chosen.push_kinds == frozenset(Kind) - {Kind.open_shift}
    assert (chosen.quiet_start, chosen.quiet_end) == ("22:00", "07:00")


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("22:15", "07:00", "quiet_start"),
        ("22:00", "25:00", "quiet_end"),
        ("22:00", "", "quiet_end"),
        ("08:00", "08:00", "quiet_end"),
    ],
)
async def test_bad_quiet_hours_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, start: str, end: str, field: str
) -> None:
    agent = await people.make()
    await signed_in(client, agent)
    response = await post_form(client, "/app/inbox/settings", {"quiet_start": start, "quiet_end": end})
    assert response.status_code == 422
    assert 'class="error-text"' in response.text.split(f'id="f-{field}"', 1)[1].split("</div>", 1)[0]
    assert await db.get(NotificationPreference, agent.id) is None


async def test_a_database_that_cannot_take_the_key_does_not_stop_start_up(
    tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    unmigrated = Database.from_url(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        await keys.prepare_vapid_key(unmigrated, settings)
    finally:
        await unmigrated.dispose()
    assert [record.levelname for record in caplog.records if "push key" in record.getMessage()] == ["WARNING"]
