"""The audit log records privileged writes with before and after, and only admins browse it."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import AuditEntry, Role
from tests.conftest import Factory, login, post_form


async def entries_for(db: AsyncSession, object_type: str, object_id: int) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
    return list(await db.scalars(query.order_by(AuditEntry.id)))


async def test_coordinator_edit_is_audited_with_before_and_after(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    coordinator = await people.make(Role.coordinator)
    agent = await people.make(Role.agent, display_name="Before Name")
    await login(client, coordinator.email)
    response = await post_form(
        client, f"/admin/users/{agent.id}", {"display_name": "After Name", "tier": "senior", "status": "active"}
    )
    assert response.status_code == 200
    [entry] = await entries_for(db, "users", agent.id)
    assert entry.actor_id == coordinator.id
    assert entry.actor_label == coordinator.email
    assert entry.action == "update"
    assert entry.before == {"display_name": "Before Name", "tier": "junior"}
    assert entry.after == {"display_name": "After Name", "tier": "senior"}


async def test_invitation_is_audited_without_its_secret(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    await post_form(client, "/admin/invitations", {"email": "audited@example.com", "display_name": "Audited"})
    rows = list(await db.scalars(select(AuditEntry).where(AuditEntry.object_type == "invitations")))
    assert len(rows) == 1
    assert rows[0].action == "create"
    assert rows[0].after is not None
    assert rows[0].after["email"] == "audited@example.com"
    assert rows[0].after["secret_hash"] == "***"


async def test_agent_writes_are_not_audited(client: httpx.AsyncClient, people: Factory, db: AsyncSession) -> None:
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    await post_form(client, "/app/profile", {"locale": "zh-Hans", "timezone": "Asia/Shanghai"})
    assert await entries_for(db, "users", agent.id) == []


async def test_admin_browses_and_filters_the_audit_log(client: httpx.AsyncClient, people: Factory) -> None:
    admin = await people.make(Role.admin)
    agent = await people.make(Role.agent)
    await login(client, admin.email)
    await post_form(client, f"/admin/users/{agent.id}", {"display_name": "Audit Me", "tier": "mid", "status": "paused"})
    page = await client.get("/admin/audit/", params={"object_type": "users", "actor": admin.email})
    assert page.status_code == 200
    assert "Audit Me" in page.text
    assert f"users #{agent.id}" in page.text
    empty = await client.get("/admin/audit/", params={"object_type": "sites"})
    assert "Audit Me" not in empty.text


async def test_coordinator_cannot_browse_the_audit_log(client: httpx.AsyncClient, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    assert (await client.get("/admin/audit/")).status_code == 403
