"""The web edge: security headers, error answers with a request id, OpenAPI, our own htmx."""

from __future__ import annotations

import re
from typing import Any

import httpx
from litestar import get
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role
from backend.app import create_app
from backend.core.db import Database
from backend.core.settings import Settings, load_settings
from tests.conftest import Factory, login, post_form
from tests.factories import bearer


async def test_pages_carry_strict_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["content-type"].startswith("text/html")
    assert "strict-transport-security" not in response.headers  # plain HTTP on localhost


async def test_hsts_and_secure_cookies_outside_localhost(
    settings: Settings, database: Database, people: Factory
) -> None:
    public = load_settings(
        {
            "WEFT_DATABASE_URL": settings.database_url,
            "WEFT_SECRET_KEY": settings.secret_key,
            "WEFT_DATA_DIR": settings.data_dir,
            "WEFT_BASE_URL": "https://weft.example.com",
        }
    )
    app = create_app(public, database=database)
    agent = await people.make(Role.agent)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://weft.example.com") as client:
        response = await login(client, agent.email)
    assert "max-age=" in response.headers["strict-transport-security"]
    session_cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("weft_session="))
    assert "Secure" in session_cookie


def app_at(base_url: str, settings: Settings, database: Database) -> Any:
    return create_app(
        load_settings(
            {
                "WEFT_DATABASE_URL": settings.database_url,
                "WEFT_SECRET_KEY": settings.secret_key,
                "WEFT_DATA_DIR": settings.data_dir,
                "WEFT_BASE_URL": base_url,
            }
        ),
        database=database,
    )


async def test_plain_http_on_a_lan_address_signs_in_without_secure_cookies_or_hsts(
    settings: Settings, database: Database, people: Factory
) -> None:
    """A pilot served at http://10.0.0.5:8000: a Secure cookie would never come back and sign-in would loop."""
    base_url = "http://10.0.0.5:8000"
    agent = await people.make(Role.agent)
    transport = httpx.ASGITransport(app=app_at(base_url, settings, database))
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        signed_in = await login(client, agent.email)
        home = await client.get("/app")
    assert "strict-transport-security" not in signed_in.headers
    assert not [c for c in signed_in.headers.get_list("set-cookie") if "secure" in c.lower()]
    assert home.status_code == 200


def filled_path(route: Any) -> str:
    """A route's path with 1 for each parameter: the caller may not own row 1, but the answer is still theirs."""
    return re.sub(r"\{\w+:\w+\}", "1", route.path)


async def test_every_answer_to_a_signed_in_caller_is_not_stored(
    app: Any, client: httpx.AsyncClient, people: Factory
) -> None:
    """Pages, fragments, API answers and exports, found or not, allowed or not: none may sit in a cache."""
    admin = await people.make(Role.admin)
    await login(client, admin.email)
    paths = sorted(
        filled_path(route)
        for route in app.routes
        if "GET" in getattr(route, "methods", ()) and not route.path.startswith(("/static", "/api/schema"))
    )
    assert {"/app/earnings", "/finance/periods/1/settlement.csv", "/api/v1/me"} <= set(paths)
    stored = []
    for path in paths:
        answer = await client.get(path)
        if answer.headers.get("cache-control") != "no-store":
            stored.append((path, answer.status_code, answer.headers.get("cache-control")))
    public = {"/manifest.webmanifest"}
    assert [entry for entry in stored if entry[0] not in public] == []


async def test_a_token_callers_api_answers_are_not_stored_but_static_files_are_cacheable(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, agent)
    assert (await client.get("/api/v1/me", headers=headers)).headers["cache-control"] == "no-store"
    assert (await login(client, agent.email)).headers["cache-control"] == "no-store"
    assert (await client.get("/app")).headers["cache-control"] == "no-store"
    assert (await client.get("/static/htmx.min.js")).headers.get("cache-control") != "no-store"
    assert (await client.get("/manifest.webmanifest")).headers["cache-control"].startswith("public")


async def test_pages_use_no_inline_script_and_our_own_htmx(client: httpx.AsyncClient) -> None:
    page = (await client.get("/login")).text
    assert '<script src="/static/htmx.min.js?v=' in page
    assert "<script>" not in page
    assert " onclick=" not in page
    htmx = await client.get("/static/htmx.min.js")
    assert htmx.status_code == 200
    assert "htmx" in htmx.text[:2000]


async def test_unexpected_error_shows_a_request_id_and_no_stack_trace(app: Any, client: httpx.AsyncClient) -> None:
    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app.register(boom)
    page = await client.get("/boom")
    assert page.status_code == 500
    request_id = page.headers["x-request-id"]
    assert request_id in page.text
    assert "hunter2" not in page.text
    assert "Traceback" not in page.text
    api = await client.get("/boom", headers={"accept": "application/json"})
    assert api.status_code == 500
    assert api.json()["request_id"] == api.headers["x-request-id"]
    assert "hunter2" not in api.text


async def test_unknown_page_answers_404_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert "Not found" in response.text
    assert response.headers["x-request-id"] in response.text


async def test_api_errors_are_json_with_message_and_field(client: httpx.AsyncClient, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    response = await client.get("/api/v1/users", params={"role": "wizard"})
    assert response.status_code in (400, 422)
    body = response.json()
    assert body["field"] == "role"
    assert "role" in body["message"]
    assert body["request_id"]


async def test_openapi_schema_is_served_and_covers_the_api(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/api/schema/openapi.json")).json()
    assert "/api/v1/me" in schema["paths"]
    assert "/login" not in schema["paths"]


async def test_language_switch_is_remembered_for_visitors_and_users(client: httpx.AsyncClient, people: Factory) -> None:
    await client.get("/login")
    token = client.cookies.get("weft_csrf")
    switched = await client.post("/locale", data={"locale": "zh-Hans", "next": "/login", "_csrf_token": token})
    assert switched.status_code == 303
    page = await client.get("/login")
    assert '<html lang="zh-Hans">' in page.text
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    token = client.cookies.get("weft_csrf")
    await client.post("/locale", data={"locale": "zh-Hans", "next": "/app", "_csrf_token": token})
    assert (await client.get("/api/v1/me")).json()["user"]["locale"] == "zh-Hans"


async def test_chinese_agent_sees_pages_and_refusals_in_chinese(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent, locale="zh-Hans")
    await login(client, agent.email)
    home = await client.get("/app")
    assert '<html lang="zh-Hans">' in home.text
    assert "首页" in home.text
    refused = await post_form(client, "/app/profile", {"locale": "zh-Hans", "timezone": "Mars/Olympus"})
    assert refused.status_code == 422
    assert "不是有效的时区" in refused.text


async def test_liveness_answers_without_a_session(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
