"""The site's set-up: admins change it, coordinators read it, bad values change nothing."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service
from backend.accounts.models import Role, Site
from backend.learning.service import ADMIN_OVERRIDE, grant_certification
from tests.conftest import Factory, login, post_form


async def test_admin_renames_the_site_and_moves_its_clock(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    admin = await people.make(Role.admin)
    await login(client, admin.email)
    saved = await post_form(
        client, "/admin/site/", {"name": "Weft Chengdu", "timezone": "Asia/Chongqing", "country": "cn"}
    )
    assert saved.status_code == 200
    await db.refresh(site)
    assert (site.name, site.timezone, site.country) == ("Weft Chengdu", "Asia/Chongqing", "CN")


async def test_bad_site_values_name_the_field_and_change_nothing(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    admin = await people.make(Role.admin)
    await login(client, admin.email)
    response = await post_form(client, "/admin/site/", {"name": "Renamed", "timezone": "Asia/Nowhere", "country": "CN"})
    assert response.status_code == 422
    assert "Asia/Nowhere" in response.text
    await db.refresh(site)
    assert site.name == "Test Centre"


async def test_admin_adds_a_skill_and_duplicates_are_refused(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    admin = await people.make(Role.admin)
    await login(client, admin.email)
    added = await post_form(client, "/admin/site/skills", {"code": "refunds", "name": "Refunds", "name_zh": "退款"})
    assert added.status_code == 200
    assert "退款" in added.text
    again = await post_form(client, "/admin/site/skills", {"code": "Refunds", "name": "Refunds again"})
    assert again.status_code == 409
    bad = await post_form(client, "/admin/site/skills", {"code": "9 lives!", "name": "Cats"})
    assert bad.status_code == 422
    assert [s.code for s in await service.list_skills(db, site_id=site.id)] == ["refunds"]


async def test_coordinator_reads_the_site_but_cannot_change_it(client: httpx.AsyncClient, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    assert (await client.get("/admin/site/")).status_code == 200
    assert (await post_form(client, "/admin/site/skills", {"code": "sneaky", "name": "Sneaky"})).status_code == 403
    assert (
        await post_form(client, "/admin/site/", {"name": "X", "timezone": "UTC", "country": "CN"})
    ).status_code == 403


async def test_agent_page_shows_certifications(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    agent = await people.make(Role.agent)
    skill = await service.ensure_skill(db, site=site, code="billing", name="Billing")
    await grant_certification(db, user=agent, skill=skill, source=ADMIN_OVERRIDE)
    await db.commit()
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    page = await client.get(f"/admin/users/{agent.id}")
    assert "billing" in page.text
