"""Staff navigation: grouped by what people do, each role sees only what it may open, Today is the front door."""

from __future__ import annotations

import re

import httpx
import pytest

from backend.accounts.models import Role
from tests.conftest import Factory, login

EVERY_GROUP = ["today", "requests", "plan", "shifts", "people", "learning", "pay", "duty", "reports", "site"]


def groups(html: str) -> list[str]:
    nav = html.split('<nav class="staffnav"', 1)[1].split("</nav>", 1)[0]
    single = ["today"] if 'href="/admin/today"' in nav else []
    return single + re.findall(r'data-group="([a-z]+)"', nav)


def nav_links(html: str) -> list[str]:
    nav = html.split('<nav class="staffnav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="([^"]+)"', nav)


def current_links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" aria-current="page">', html)


@pytest.mark.parametrize(
    ("role", "page", "expected"),
    [
        (Role.admin, "/admin/users", EVERY_GROUP),
        (Role.coordinator, "/admin/users", EVERY_GROUP),
        (Role.finance, "/finance/", ["requests", "plan", "pay", "reports"]),
    ],
)
async def test_each_role_sees_only_the_groups_it_may_open(
    client: httpx.AsyncClient, people: Factory, role: Role, page: str, expected: list[str]
) -> None:
    user = await people.make(role)
    await login(client, user.email)
    response = await client.get(page)
    assert response.status_code == 200
    assert groups(response.text) == expected


async def test_coordinator_links_stay_where_they_were_and_leave_out_admin_and_money(
    client: httpx.AsyncClient, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    links = nav_links((await client.get("/admin/users")).text)
    for kept in [
        "/admin/demand/",
        "/admin/roster",
        "/admin/cover",
        "/admin/attendance/",
        "/admin/growth",
        "/admin/cases/",
        "/admin/pay/disputes/",
        "/finance/rates",
        "/admin/duty/log",
        "/admin/reports/day",
    ]:
        assert kept in links, kept
    for hidden in ["/finance", "/finance/payouts", "/finance/tax-profiles", "/admin/tokens", "/admin/audit"]:
        assert hidden not in links, hidden


async def test_finance_sees_pay_and_reports_but_not_the_days_work(client: httpx.AsyncClient, people: Factory) -> None:
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    links = nav_links((await client.get("/finance/")).text)
    assert {"/finance", "/finance/payouts", "/admin/pay/disputes/", "/admin/reports/week"} <= set(links)
    assert not {"/admin/today", "/admin/roster", "/admin/users", "/admin/duty"} & set(links)
    for href in links:  # every link finance is shown opens for finance
        assert (await client.get(href)).status_code in {200, 404}, href


async def test_the_current_page_is_marked_once(client: httpx.AsyncClient, people: Factory) -> None:
    admin = await people.make(Role.admin)
    await login(client, admin.email)
    assert current_links((await client.get("/finance/payouts")).text) == ["/finance/payouts"]
    assert current_links((await client.get("/finance/")).text) == ["/finance"]
    assert current_links((await client.get("/admin/users")).text) == ["/admin/users"]
    assert current_links((await client.get("/admin/site/")).text) == ["/admin/site/"]
    page = (await client.get("/admin/users")).text
    assert 'class="staffnav-group current" name="staffnav" data-group="people"' in page


async def test_staff_land_on_today(client: httpx.AsyncClient, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    signed_in = await login(client, coordinator.email)
    assert signed_in.headers["location"] == "/admin/today"
    front_door = await client.get("/admin/")
    assert (front_door.status_code, front_door.headers["location"]) == (303, "/admin/today")
    assert (await client.get("/")).headers["location"] == "/admin/today"


async def test_finance_lands_on_finance(client: httpx.AsyncClient, people: Factory) -> None:
    finance = await people.make(Role.finance)
    assert (await login(client, finance.email)).headers["location"] == "/finance"


async def test_agents_never_see_the_staff_nav(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    home = await client.get("/app")
    assert home.status_code == 200
    assert "staffnav" not in home.text
    assert "/admin/" not in home.text
    assert (await client.get("/admin/")).status_code == 403
