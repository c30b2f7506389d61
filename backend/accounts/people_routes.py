"""The people admin: coordinators invite and look after agents; admins manage staff, roles and API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from backend.accounts import service, tokens
from backend.accounts.models import Role, Tier, User, UserStatus
from backend.accounts.schemas import InvitationForm, TokenForm, UserEditForm
from backend.core.errors import DomainError, Forbidden
from backend.core.i18n import gettext as _
from backend.core.security import requires
from backend.core.templating import page
from backend.core.web import AppSettings, CurrentPrincipal, Db, FormBody, see_other
from backend.learning.service import certified_skill_codes


class PeopleController(Controller):
    """Coordinators invite and manage agents; admins manage everyone and their roles."""

    path = "/admin"
    include_in_schema = False
    guards = [requires("coordinator")]

    @get("/", name="admin:dashboard")
    async def dashboard(self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal) -> Template:
        users = await service.list_users(db, site_id=principal.site_id)
        counts = {role.value: sum(1 for u in users if u.role is role) for role in Role}
        invitations = await service.list_pending_invitations(db, site_id=principal.site_id)
        return page(request, "accounts/admin_dashboard.html", {"counts": counts, "invitations": invitations})

    @get("/users", name="admin:users")
    async def users(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, role: str = "", status: str = ""
    ) -> Template:
        users = await service.list_users(
            db,
            site_id=principal.site_id,
            role=Role(role) if role in Role.__members__ else None,
            status=UserStatus(status) if status in UserStatus.__members__ else None,
        )
        return page(request, "accounts/admin_users.html", {"users": users, "role": role, "status": status})

    @get("/users/{user_id:int}", name="admin:user")
    async def user(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, user_id: int
    ) -> Template:
        user = await service.visible_user(db, principal, user_id)
        return page(request, "accounts/admin_user.html", await user_context(db, user))

    @post("/users/{user_id:int}", name="admin:user-save", status_code=200)
    async def save_user(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        user_id: int,
        data: Annotated[UserEditForm, FormBody],
    ) -> Template:
        user = await service.visible_user(db, principal, user_id)
        try:
            await service.update_user(
                db,
                user,
                editor_role=principal.role,
                role=Role(data.role) if data.role else None,
                status=UserStatus(data.status),
                tier=Tier(data.tier),
                display_name=data.display_name,
            )
        except Forbidden:
            raise
        except DomainError as error:
            context = await user_context(db, user, error=error)
            return page(request, "accounts/admin_user.html", context, status_code=error.status_code)
        return page(request, "accounts/admin_user.html", await user_context(db, user, saved=True))

    @get("/invitations", name="admin:invitations")
    async def invitations(self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal) -> Template:
        return page(request, "accounts/admin_invitations.html", await invitation_context(db, principal))

    @post("/invitations", name="admin:invite", status_code=200)
    async def invite(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        settings: AppSettings,
        data: Annotated[InvitationForm, FormBody],
    ) -> Template:
        inviter = await service.get_user(db, principal.user_id)
        site = await service.get_site(db, principal.site_id)
        try:
            invitation, token = await service.invite_agent(
                db,
                site=site,
                email=data.email,
                display_name=data.display_name,
                invited_by=inviter,
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
    async def revoke_invitation(self, db: Db, principal: CurrentPrincipal, invitation_id: int) -> Redirect:
        await service.revoke_invitation(db, invitation_id=invitation_id, site_id=principal.site_id)
        return see_other("/admin/invitations")


class TokenAdminController(Controller):
    """Admins mint and revoke API tokens for machine clients."""

    path = "/admin/tokens"
    include_in_schema = False
    guards = [requires("admin")]

    @get("/", name="admin:tokens")
    async def tokens(self, request: Request[Any, Any, Any], db: Db) -> Template:
        return page(request, "accounts/admin_tokens.html", await token_context(db))

    @post("/", name="admin:token-create", status_code=200)
    async def create(self, request: Request[Any, Any, Any], db: Db, data: Annotated[TokenForm, FormBody]) -> Template:
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
    async def revoke(self, db: Db, token_id: int) -> Redirect:
        await tokens.revoke_token(db, token_id=token_id)
        return see_other("/admin/tokens")


async def user_context(db: Db, user: User, **extra: Any) -> dict[str, Any]:
    skills = await certified_skill_codes(db, user_id=user.id)
    return {"user": user, "skills": skills, "error": None, "saved": False, **extra}


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
