"""Signing in and out: passwords, rate limits, CSRF, fixation and session lifetime."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import LoginSession, Role, UserStatus
from backend.accounts.service import update_user
from tests.conftest import TEST_PASSWORD, Factory, csrf_token, login, post_form


async def test_login_with_right_password_lands_on_role_home(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    response = await login(client, agent.email)
    assert response.status_code == 303
    assert response.headers["location"] == "/app"
    home = await client.get("/app")
    assert home.status_code == 200
    assert agent.display_name in home.text


async def test_session_cookie_is_httponly_and_samesite_lax(client: httpx.AsyncClient, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    response = await login(client, coordinator.email)
    cookie = next(v for v in response.headers.get_list("set-cookie") if v.startswith("weft_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert response.headers["location"] == "/admin/today"


async def test_wrong_password_is_refused_without_a_session(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    response = await login(client, agent.email, "not the password")
    assert response.status_code == 422
    assert "do not match" in response.text
    assert "weft_session" not in client.cookies
    assert (await client.get("/app")).status_code == 303


async def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client: httpx.AsyncClient) -> None:
    response = await login(client, "nobody@example.com", "whatever-password")
    assert response.status_code == 422
    assert "do not match" in response.text


async def test_paused_user_cannot_sign_in(client: httpx.AsyncClient, people: Factory, db: AsyncSession) -> None:
    agent = await people.make(Role.agent)
    await update_user(db, agent, editor_role="admin", status=UserStatus.paused)
    await db.commit()
    assert (await login(client, agent.email)).status_code == 422


async def test_repeated_failures_lock_the_account_for_a_while(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    for _ in range(5):
        assert (await login(client, agent.email, "wrong-password-1")).status_code == 422
    locked = await login(client, agent.email)  # even the right password waits out the window
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    other = await people.make(Role.agent)
    assert (await login(client, other.email)).status_code == 303


async def test_one_client_guessing_many_accounts_is_limited(client: httpx.AsyncClient, people: Factory) -> None:
    for attempt in range(20):
        response = await login(client, f"guess{attempt}@example.com", "wrong-password-1")
        assert response.status_code == 422
    agent = await people.make(Role.agent)
    assert (await login(client, agent.email)).status_code == 429


async def test_form_post_without_csrf_token_is_refused(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    await client.get("/login")
    response = await client.post("/login", data={"email": agent.email, "password": TEST_PASSWORD})
    assert response.status_code == 403
    assert "weft_session" not in client.cookies


async def test_csrf_token_from_another_browser_is_refused(
    client: httpx.AsyncClient, app: object, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as attacker:
        foreign_token = await csrf_token(attacker)
    await client.get("/login")
    response = await client.post(
        "/login", data={"email": agent.email, "password": TEST_PASSWORD, "_csrf_token": foreign_token}
    )
    assert response.status_code == 403


async def test_htmx_sends_csrf_token_in_a_header(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    token = await csrf_token(client)
    response = await client.post(
        "/login",
        data={"email": agent.email, "password": TEST_PASSWORD},
        headers={"x-csrftoken": token, "hx-request": "true"},
    )
    assert response.status_code == 303


async def test_planted_session_id_is_not_honoured_and_login_issues_a_new_one(
    client: httpx.AsyncClient, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    planted = "attacker-chosen-session-id-0123456789abcdef"
    client.cookies.set("weft_session", planted, domain="127.0.0.1")
    refused = await client.get("/app")
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/login")
    client.cookies.set("weft_session", planted, domain="127.0.0.1")
    response = await login(client, agent.email)
    issued = client.cookies.get("weft_session")
    assert response.status_code == 303
    assert issued
    assert issued != planted
    attacker = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    attacker.cookies.set("weft_session", planted, domain="127.0.0.1")
    assert (await attacker.get("/app")).status_code == 303


async def test_each_login_issues_a_fresh_session_and_ends_the_old(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    first = client.cookies.get("weft_session")
    await login(client, agent.email)
    second = client.cookies.get("weft_session")
    assert first != second
    count = await db.scalar(select(func.count()).select_from(LoginSession).where(LoginSession.user_id == agent.id))
    assert count == 1


async def test_logout_ends_the_session_on_the_server(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    stolen = client.cookies.get("weft_session")
    assert (await post_form(client, "/logout", {})).status_code == 303
    client.cookies.set("weft_session", stolen or "", domain="127.0.0.1")
    assert (await client.get("/app")).status_code == 303


async def test_disabling_a_user_ends_their_sessions(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    assert (await client.get("/app")).status_code == 200
    await db.refresh(agent)
    await update_user(db, agent, editor_role="admin", status=UserStatus.left)
    await db.commit()
    assert (await client.get("/app")).status_code == 303


async def test_role_change_ends_sessions_so_old_privilege_cannot_linger(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    assert (await client.get("/admin/users")).status_code == 200
    await db.refresh(coordinator)
    await update_user(db, coordinator, editor_role="admin", role=Role.agent)
    await db.commit()
    assert (await client.get("/admin/users")).status_code == 303
    await login(client, coordinator.email)
    assert (await client.get("/admin/users")).status_code == 403


async def test_next_parameter_cannot_send_the_user_off_site(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    token = await csrf_token(client)
    response = await client.post(
        "/login",
        data={"email": agent.email, "password": TEST_PASSWORD, "next": "//evil.example/", "_csrf_token": token},
    )
    assert response.headers["location"] == "/app"


async def test_expired_session_is_refused_and_swept_at_the_next_sign_in(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    stale = await db.scalar(select(LoginSession).where(LoginSession.user_id == agent.id))
    assert stale is not None
    stale.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await db.commit()
    assert (await client.get("/app")).status_code == 303
    other = await people.make(Role.agent)
    await login(client, other.email)
    left = await db.scalar(select(func.count()).select_from(LoginSession).where(LoginSession.user_id == agent.id))
    assert left == 0


async def test_someone_who_knows_the_email_does_not_lock_the_owner_out_of_their_own_phone(
    client: httpx.AsyncClient, app: object, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    assert (await login(client, agent.email)).status_code == 303  # the owner's phone becomes a known device
    assert (await post_form(client, "/logout", {})).status_code == 303
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as attacker:
        for _ in range(5):
            assert (await login(attacker, agent.email, "wrong-password-1")).status_code == 422
        refused = await login(attacker, agent.email)  # the right password waits too, from an unknown client
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 15 * 60

    assert (await login(client, agent.email)).status_code == 303
    assert (await client.get("/app")).status_code == 200


async def test_a_known_device_has_its_own_limit_and_a_forged_or_borrowed_cookie_is_no_key(
    client: httpx.AsyncClient, app: object, people: Factory
) -> None:
    owner = await people.make(Role.agent)
    intruder = await people.make(Role.agent)
    await login(client, owner.email)
    device = client.cookies.get("weft_device")
    assert device
    for _ in range(5):
        assert (await login(client, owner.email, "wrong-password-1")).status_code == 422
    assert (await login(client, owner.email)).status_code == 429, "a stolen phone gets five guesses, no more"

    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as other:
        await login(other, intruder.email)
        borrowed = other.cookies.get("weft_device")  # a real cookie, but earned by another account
        other.cookies.clear()
        forged = device[:-4] + ("0000" if not device.endswith("0000") else "1111")
        for cookie in (borrowed or "", forged):
            other.cookies.set("weft_device", cookie, domain="127.0.0.1")
            for _ in range(3):  # six tries in all: the unknown clients' five, then a refusal
                assert (await login(other, owner.email, "wrong-password-1")).status_code in (422, 429)
        other.cookies.clear()
        assert (await login(other, owner.email)).status_code == 429, "both counted as unknown clients"
