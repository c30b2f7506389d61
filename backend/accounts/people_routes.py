"""The people admin: coordinators invite and look after agents; admins manage staff, roles and API tokens.

The person page shows certifications, so it sits above accounts: ``backend.certifications.routes``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.response import Redirect, Template

from backend.accounts import service, tokens
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import Role, Tier, UserStatus
from backend.accounts.schemas import InvitationForm, TokenForm
from backend.core.bounds import PathId
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.security import requires
from backend.core.templating import page
from backend.core.web import AnyRequest, AppSettings, CurrentPrincipal, Db, FormBody, see_other


class PeopleController(Controller):
    """Coordinators invite and manage agents; admins manage everyone and their roles."""

    path = "/admin"
    include_in_schema = False
    guards = [requires("coordinator")]

    @get("/", name="admin:dashboard", status_code=303)
    async def dashboard(self) -> Redirect:
        """The staff's front door is the Today board (``backend.ops``)."""
        return see_other("/admin/today")

    @get("/users", name="admin:users")
    async def users(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, role: str = "", status: str = ""
    ) -> Template:
        users = await service.list_users(
            db,
            site_id=principal.site_id,
            role=Role(role) if role in Role.__members__ else None,
            status=UserStatus(status) if status in UserStatus.__members__ else None,
        )
        return page(request, "accounts/admin_users.html", {"users": users, "role": role, "status": status})

    @get("/invitations", name="admin:invitations")
    async def invitations(self, request: AnyRequest, db: Db, principal: CurrentPrincipal) -> Template:
        return page(request, "accounts/admin_invitations.html", await invitation_context(db, principal))

    @post("/invitations", name="admin:invite", status_code=200)
    async def invite(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        settings: AppSettings,
        data: Annotated[InvitationForm, FormBody],
    ) -> Template:
        site = await service.get_site(db, principal.site_id)
        try:
            invitation, token = await service.invite_agent(
                db,
                site=site,
                email=data.email,
                display_name=data.display_name,
                invited_by=current_user,
                valid_hours=settings.invitation_valid_hours,
                tier=Tier(data.tier),
                locale=data.locale,
            )
        except DomainError as error:
            context = await invitation_context(db, principal, error=error, form=data)
            return page(request, "accounts/admin_invitations.html", context, status_code=error.status_code)
        link = f"{settings.base_url.rstrip('/')}/invite/{token}"
        context = await invitation_context(db, principal, created=invitation, link=link)
        return page(request, "accounts/admin_invitations.html", context)

    @post("/invitations/{invitation_id:int}/revoke", name="admin:invitation-revoke", status_code=303)
    async def revoke_invitation(self, db: Db, principal: CurrentPrincipal, invitation_id: PathId) -> Redirect:
        await service.revoke_invitation(db, invitation_id=invitation_id, site_id=principal.site_id)
        return see_other("/admin/invitations")


class TokenAdminController(Controller):
    """Admins mint and revoke API tokens for machine clients."""

    path = "/admin/tokens"
    include_in_schema = False
    guards = [requires("admin")]

    @get("/", name="admin:tokens")
    async def tokens(self, request: AnyRequest, db: Db) -> Template:
        return page(request, "accounts/admin_tokens.html", await token_context(db))

    @post("/", name="admin:token-create", status_code=200)
    async def create(self, request: AnyRequest, db: Db, data: Annotated[TokenForm, FormBody]) -> Template:
        try:
            owner = await service.find_user_by_email(db, data.email)
            if owner is None:
                raise DomainError(_("No user has that email."), field="email")
            token, secret = await tokens.create_token(
                db, user=owner, name=data.name, role=Role(data.role) if data.role else None
            )
        except DomainError as error:
            return page(request, "accounts/admin_tokens.html", await token_context(db, error=error), status_code=422)
        return page(request, "accounts/admin_tokens.html", await token_context(db, created=token, secret=secret))

    @post("/{token_id:int}/revoke", name="admin:token-revoke", status_code=303)
    async def revoke(self, db: Db, token_id: PathId) -> Redirect:
        await tokens.revoke_token(db, token_id=token_id)
        return see_other("/admin/tokens")


async def invitation_context(db: Db, principal: CurrentPrincipal, **extra: Any) -> dict[str, Any]:
    pending = await service.list_pending_invitations(db, site_id=principal.site_id)
    return {"invitations": pending, "error": None, "form": None, "created": None, "link": None, **extra}


async def token_context(db: Db, **extra: Any) -> dict[str, Any]:
    listed = await tokens.list_tokens(db)
    owners = {u.id: u for u in await service.users_by_ids(db, {t.user_id for t in listed})}
    return {
        "tokens": listed,
        "owners": owners,
        "roles": [(r.value, _(r.value)) for r in Role],
        "error": None,
        "created": None,
        "secret": None,
        **extra,
    }
