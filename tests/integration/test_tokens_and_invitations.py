"""API tokens (scope, revocation, storage) and invitations (one-time, expiring)."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service, tokens
from backend.accounts.models import ApiToken, Invitation, Role, Site
from tests.conftest import Factory, login, post_form


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_token_acts_in_its_role_and_stops_working_when_revoked(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    finance = await people.make(Role.finance)
    token, secret = await tokens.create_token(db, user=finance, name="exporter")
    await db.commit()
    me = await client.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200
    assert me.json()["acting_role"] == "finance"
    assert me.json()["via"] == "token"
    assert (await client.get("/api/v1/users", headers=bearer(secret))).status_code == 200
    revoked = await client.delete(f"/api/v1/tokens/{token.id}", headers=bearer(secret))
    assert revoked.status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer(secret))).status_code == 401


async def test_token_is_stored_hashed_and_shown_only_by_prefix(people: Factory, db: AsyncSession) -> None:
    agent = await people.make(Role.agent)
    token, secret = await tokens.create_token(db, user=agent, name="phone")
    stored = await db.scalar(select(ApiToken).where(ApiToken.id == token.id))
    assert stored is not None
    assert secret not in (stored.secret_hash, stored.prefix, stored.name)
    assert secret.startswith(stored.prefix)
    assert len(stored.prefix) < len(secret) // 2


async def test_admin_can_mint_a_narrower_token_and_its_scope_holds(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    admin = await people.make(Role.admin)
    _token, secret = await tokens.create_token(db, user=admin, name="agent-sim", role=Role.agent)
    await db.commit()
    assert (await client.get("/api/v1/me", headers=bearer(secret))).json()["acting_role"] == "agent"
    assert (await client.get("/api/v1/users", headers=bearer(secret))).status_code == 403


async def test_agent_token_is_refused_on_staff_api(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    _token, secret = await tokens.create_token(db, user=agent, name="x")
    await db.commit()
    assert (await client.get("/api/v1/users", headers=bearer(secret))).status_code == 403


async def test_agent_cannot_revoke_someone_elses_token(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    victim = await people.make(Role.agent)
    _mine, secret = await tokens.create_token(db, user=agent, name="mine")
    theirs, their_secret = await tokens.create_token(db, user=victim, name="theirs")
    await db.commit()
    assert (await client.delete(f"/api/v1/tokens/{theirs.id}", headers=bearer(secret))).status_code == 404
    assert (await client.get("/api/v1/me", headers=bearer(their_secret))).status_code == 200


async def test_unknown_bearer_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/me", headers=bearer("weft_not-a-real-token"))
    assert response.status_code == 401
    assert response.json()["request_id"]


async def test_token_of_a_demoted_user_stops_working(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    coordinator = await people.make(Role.coordinator)
    _token, secret = await tokens.create_token(db, user=coordinator, name="roster-bot")
    await service.update_user(db, coordinator, editor_role="admin", role=Role.agent)
    await db.commit()
    assert (await client.get("/api/v1/me", headers=bearer(secret))).status_code == 401


async def test_session_cookie_cannot_write_through_the_api(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    token, _secret = await tokens.create_token(db, user=agent, name="x")
    await db.commit()
    await login(client, agent.email)
    assert (await client.get("/api/v1/me")).status_code == 200
    assert (await client.delete(f"/api/v1/tokens/{token.id}")).status_code == 401


async def test_admin_creates_a_token_in_the_admin_and_sees_it_once(client: httpx.AsyncClient, people: Factory) -> None:
    admin = await people.make(Role.admin)
    finance = await people.make(Role.finance)
    await login(client, admin.email)
    created = await post_form(client, "/admin/tokens/", {"email": finance.email, "name": "ledger export"})
    assert created.status_code == 200
    found = re.findall(r'id="token-secret"[^>]*value="(weft_[^"]+)"', created.text)
    assert len(found) == 1
    assert (await client.get("/api/v1/me", headers=bearer(found[0]))).json()["user"]["email"] == finance.email
    listing = await client.get("/admin/tokens/")
    assert found[0] not in listing.text
    assert "ledger export" in listing.text


async def test_token_for_unknown_email_names_the_field(client: httpx.AsyncClient, people: Factory) -> None:
    admin = await people.make(Role.admin)
    await login(client, admin.email)
    response = await post_form(client, "/admin/tokens/", {"email": "ghost@example.com", "name": "x"})
    assert response.status_code == 422
    assert "No user has that email" in response.text


def invitation_link(html: str) -> str:
    match = re.search(r'value="http://[^"]*/invite/([^"]+)"', html)
    assert match, "no invitation link on the page"
    return match.group(1)


async def test_coordinator_invites_and_agent_joins_once(
    client: httpx.AsyncClient, people: Factory, app: object
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    created = await post_form(
        client, "/admin/invitations", {"email": "New.Agent@Example.com", "display_name": "Nina New"}
    )
    assert created.status_code == 200
    token = invitation_link(created.text)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as invitee:
        form = await invitee.get(f"/invite/{token}")
        assert form.status_code == 200
        assert "Nina New" in form.text
        mismatch = await post_form(
            invitee, f"/invite/{token}", {"password": "long enough pw", "password_again": "different pw!"}
        )
        assert mismatch.status_code == 422
        short = await post_form(invitee, f"/invite/{token}", {"password": "short", "password_again": "short"})
        assert short.status_code == 422
        assert "10 characters" in short.text
        joined = await post_form(
            invitee, f"/invite/{token}", {"password": "long enough pw", "password_again": "long enough pw"}
        )
        assert joined.status_code == 303
        assert joined.headers["location"] == "/app"
        me = (await invitee.get("/api/v1/me")).json()["user"]
        assert (me["email"], me["role"]) == ("new.agent@example.com", "agent")
        again = await post_form(
            invitee, f"/invite/{token}", {"password": "another pw 123", "password_again": "another pw 123"}
        )
        assert again.status_code == 410
        assert "already been used" in again.text


async def test_expired_invitation_is_refused(client: httpx.AsyncClient, db: AsyncSession, site: Site) -> None:
    invitation, token = await service.invite_agent(
        db, site=site, email="late@example.com", display_name="Late", invited_by=None, valid_hours=1
    )
    invitation.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    await db.commit()
    response = await client.get(f"/invite/{token}")
    assert response.status_code == 410
    assert "expired" in response.text
    joined = await post_form(
        client, f"/invite/{token}", {"password": "long enough pw", "password_again": "long enough pw"}
    )
    assert joined.status_code == 410
    assert await service.find_user_by_email(db, "late@example.com") is None


async def test_unknown_or_revoked_invitation_answers_404(
    client: httpx.AsyncClient, db: AsyncSession, site: Site
) -> None:
    invitation, token = await service.invite_agent(
        db, site=site, email="revoked@example.com", display_name="R", invited_by=None, valid_hours=1
    )
    await service.revoke_invitation(db, invitation_id=invitation.id, site_id=site.id)
    await db.commit()
    assert (await client.get(f"/invite/{token}")).status_code == 404
    assert (await client.get("/invite/made-up-token")).status_code == 404


async def test_inviting_an_existing_email_or_bad_address_names_the_field(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    coordinator = await people.make(Role.coordinator)
    agent = await people.make(Role.agent)
    await login(client, coordinator.email)
    taken = await post_form(client, "/admin/invitations", {"email": agent.email, "display_name": "Dup"})
    assert taken.status_code == 409
    assert "already has an account" in taken.text
    bad = await post_form(client, "/admin/invitations", {"email": "not-an-email", "display_name": "Bad"})
    assert bad.status_code == 422
    pending = await db.scalars(select(Invitation).where(Invitation.display_name.in_(["Dup", "Bad"])))
    assert list(pending) == []


async def test_agent_cannot_invite(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    response = await post_form(client, "/admin/invitations", {"email": "friend@example.com", "display_name": "Friend"})
    assert response.status_code == 403
