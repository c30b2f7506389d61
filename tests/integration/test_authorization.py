"""Each role is kept out of the others' pages and API; other people's objects answer 404."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from litestar.routes import HTTPRoute

from backend.accounts import service
from backend.accounts.models import Role
from tests.conftest import Factory, login, post_form

AGENT_PAGES = ["/app", "/app/profile", "/app/availability"]
COORDINATOR_PAGES = ["/admin/site/", "/admin/users", "/admin/invitations"]
FINANCE_PAGES = ["/finance/"]
ADMIN_PAGES = ["/admin/tokens/", "/admin/audit/"]


async def signed_in(client: httpx.AsyncClient, people: Factory, role: Role) -> None:
    user = await people.make(role)
    assert (await login(client, user.email)).status_code == 303


@pytest.mark.parametrize(
    ("role", "allowed", "forbidden"),
    [
        (Role.agent, AGENT_PAGES, COORDINATOR_PAGES + FINANCE_PAGES + ADMIN_PAGES),
        (Role.coordinator, COORDINATOR_PAGES, AGENT_PAGES + FINANCE_PAGES + ADMIN_PAGES),
        (Role.finance, FINANCE_PAGES, AGENT_PAGES + COORDINATOR_PAGES + ADMIN_PAGES),
        (Role.admin, COORDINATOR_PAGES + FINANCE_PAGES + ADMIN_PAGES, []),
    ],
)
async def test_each_role_sees_its_pages_and_is_kept_out_of_the_others(
    client: httpx.AsyncClient, people: Factory, role: Role, allowed: list[str], forbidden: list[str]
) -> None:
    await signed_in(client, people, role)
    for path in allowed:
        assert (await client.get(path)).status_code == 200, path
    for path in forbidden:
        response = await client.get(path)
        assert response.status_code == 403, path
        assert "Not allowed" in response.text


async def test_anonymous_visitor_is_sent_to_sign_in_with_a_way_back(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/users")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/users"
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_htmx_request_without_session_is_told_to_redirect(client: httpx.AsyncClient) -> None:
    response = await client.get("/app/profile", headers={"hx-request": "true"})
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login?next=/app/profile"


async def test_agent_sees_only_themselves_in_the_api(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    other = await people.make(Role.agent)
    await login(client, agent.email)
    mine = await client.get(f"/api/v1/users/{agent.id}")
    assert mine.status_code == 200
    assert mine.json()["email"] == agent.email
    foreign = await client.get(f"/api/v1/users/{other.id}")
    assert foreign.status_code == 404
    missing = await client.get("/api/v1/users/99999999")
    assert missing.status_code == 404
    assert foreign.json()["message"] == missing.json()["message"]
    assert (await client.get("/api/v1/users")).status_code == 403


async def test_coordinator_cannot_see_people_of_another_site(client: httpx.AsyncClient, people: Factory, db) -> None:
    other_site = await service.ensure_site(db, name="Other Centre", timezone="Europe/Berlin", country="DE")
    stranger = await people.make(Role.agent, site=other_site)
    await signed_in(client, people, Role.coordinator)
    assert (await client.get(f"/api/v1/users/{stranger.id}")).status_code == 404
    assert (await client.get(f"/admin/users/{stranger.id}")).status_code == 404
    listed = await client.get("/api/v1/users")
    assert stranger.email not in {u["email"] for u in listed.json()}


async def test_coordinator_edits_an_agent_but_not_staff_or_roles(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    finance = await people.make(Role.finance)
    await signed_in(client, people, Role.coordinator)
    form = {"display_name": "Renamed Agent", "tier": "mid", "status": "active"}
    saved = await post_form(client, f"/admin/users/{agent.id}", form)
    assert saved.status_code == 200
    assert "Renamed Agent" in saved.text
    promote = await post_form(client, f"/admin/users/{agent.id}", {**form, "role": "coordinator"})
    assert promote.status_code == 403
    staff = await post_form(client, f"/admin/users/{finance.id}", {**form, "display_name": "Hacked"})
    assert staff.status_code == 403
    user = (await client.get(f"/api/v1/users/{agent.id}")).json()
    assert (user["display_name"], user["tier"], user["role"]) == ("Renamed Agent", "mid", "agent")


async def test_bad_form_values_name_the_field_and_change_nothing(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    await signed_in(client, people, Role.coordinator)
    response = await post_form(
        client, f"/admin/users/{agent.id}", {"display_name": "X", "tier": "wizard", "status": "active"}
    )
    assert response.status_code == 422
    assert "tier" in response.text
    assert (await client.get(f"/api/v1/users/{agent.id}")).json()["tier"] == "junior"


async def test_finance_cannot_edit_people(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    await signed_in(client, people, Role.finance)
    response = await post_form(
        client, f"/admin/users/{agent.id}", {"display_name": "X", "tier": "mid", "status": "left"}
    )
    assert response.status_code == 403


async def test_agent_profile_rejects_an_unknown_time_zone(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    bad = await post_form(client, "/app/profile", {"locale": "zh-Hans", "timezone": "Mars/Olympus"})
    assert bad.status_code == 422
    assert "Mars/Olympus" in bad.text
    me = (await client.get("/api/v1/me")).json()["user"]
    assert (me["locale"], me["timezone"]) == ("en", "Asia/Shanghai")
    good = await post_form(client, "/app/profile", {"locale": "zh-Hans", "timezone": "Europe/London"})
    assert good.status_code == 200
    me = (await client.get("/api/v1/me")).json()["user"]
    assert (me["locale"], me["timezone"]) == ("zh-Hans", "Europe/London")


# Staff pages: who may use each, in the business's words. The most specific rule that matches a route wins;
# a new route under /admin or /finance falls under its area's rule unless a line here says otherwise.
COORDINATORS = frozenset({Role.coordinator})
FINANCE = frozenset({Role.finance})
PAY_READERS = frozenset({Role.coordinator, Role.finance})
ADMINS_ONLY: frozenset[Role] = frozenset()
STAFF_RULES: list[tuple[str, str, frozenset[Role]]] = [  # (methods, path prefix, who besides admins)
    ("GET POST", "/admin", COORDINATORS),  # the site's day: rosters, shifts, people, courses, cases
    ("GET POST", "/admin/tokens", ADMINS_ONLY),
    ("GET POST", "/admin/audit", ADMINS_ONLY),
    ("POST", "/admin/site", ADMINS_ONLY),  # a site's name, zone and skills; coordinators set its rules
    ("POST", "/admin/site/settings", COORDINATORS),
    ("GET POST", "/admin/pay/disputes", PAY_READERS),  # pay disputes are corrected by either
    ("GET POST", "/admin/requests", PAY_READERS),  # requests are worked by coordinators and finance (teams)
    ("POST", "/admin/requests/settings", COORDINATORS),  # teams, rules, targets: finance reads them
    ("GET", "/admin/staffing", PAY_READERS),  # the Erlang calculator costs a plan
    ("GET", "/admin/reports", PAY_READERS),  # the daily report, duty KPIs and dashboards: finance reads them
    ("GET", "/admin/today", PAY_READERS),  # the Today board: finance reads it, without its buttons
    ("GET", "/admin/duty", PAY_READERS),  # the duty roster, log and hand-overs: finance reads them
    ("GET POST", "/finance", FINANCE),  # locking and paying periods, exports, tax profiles
    ("GET", "/finance/rates", PAY_READERS),  # coordinators read the rate card a roster costs; finance edits it
]


def admitted(method: str, path: str) -> frozenset[Role]:
    """Who besides admins may use ``method path``, by the most specific rule of STAFF_RULES."""
    matching = [
        (len(prefix), roles)
        for methods, prefix, roles in STAFF_RULES
        if method in methods.split() and (path == prefix or path.startswith(prefix + "/"))
    ]
    return max(matching, key=lambda rule: rule[0])[1]


def staff_routes(app: Any) -> list[tuple[str, str]]:
    """(method, concrete path) of every staff page, ids filled in: the guard answers before any lookup."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(("/admin", "/finance")):
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for handler in route.route_handlers:
            found += [(method, path) for method in sorted(handler.http_methods) if method in {"GET", "POST"}]
    return sorted(found)


async def test_each_staff_page_refuses_the_roles_it_does_not_serve(
    client: httpx.AsyncClient, app: Any, people: Factory
) -> None:
    """Finance cannot edit rosters or people, coordinators cannot lock or pay a period: 403 on every page."""
    routes = staff_routes(app)
    assert ("POST", "/finance/periods/1/lock") in routes
    assert ("POST", "/admin/roster/publish") in routes
    allowed_through = []
    for role in (Role.agent, Role.coordinator, Role.finance):
        client.cookies.clear()
        await signed_in(client, people, role)
        for method, path in routes:
            if role in admitted(method, path):
                continue
            response = await (client.get(path) if method == "GET" else post_form(client, path, {}))
            if response.status_code != 403:
                allowed_through.append((role.value, method, path, response.status_code))
    assert allowed_through == []
