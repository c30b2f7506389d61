"""The accounts JSON API under ``/api/v1``: who am I, the people I may see, my tokens."""

from __future__ import annotations

from litestar import Controller, delete, get

from backend.accounts import service, tokens
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import Role
from backend.accounts.schemas import MeOut, TokenOut, UserOut
from backend.core.bounds import PathId
from backend.core.security import requires, signed_in
from backend.core.web import CurrentPrincipal, Db


class ApiController(Controller):
    path = "/api/v1"
    tags = ["accounts"]

    @get("/me", name="api:me", guards=[signed_in])
    async def me(self, principal: CurrentPrincipal, current_user: CurrentUser) -> MeOut:
        """The caller, and the role they are acting in (a token's scope may be narrower than its owner's)."""
        return MeOut(user=UserOut.of(current_user), acting_role=principal.role, via=principal.via)

    @get("/users", name="api:users", guards=[requires("coordinator", "finance")])
    async def users(self, db: Db, principal: CurrentPrincipal, role: Role | None = None) -> list[UserOut]:
        return [UserOut.of(u) for u in await service.list_users(db, site_id=principal.site_id, role=role)]

    @get("/users/{user_id:int}", name="api:user", guards=[signed_in])
    async def user(self, db: Db, principal: CurrentPrincipal, user_id: PathId) -> UserOut:
        """An agent sees only themselves: anyone else answers 404, as if absent."""
        return UserOut.of(await service.visible_user(db, principal, user_id))

    @get("/tokens", name="api:tokens", guards=[signed_in])
    async def my_tokens(self, db: Db, principal: CurrentPrincipal) -> list[TokenOut]:
        return [TokenOut.of(t) for t in await tokens.list_tokens(db, user_id=principal.user_id)]

    @delete("/tokens/{token_id:int}", name="api:token-revoke", guards=[signed_in])
    async def revoke_token(self, db: Db, principal: CurrentPrincipal, token_id: PathId) -> None:
        """Revoke one of my tokens (a script can retire its own credential)."""
        await tokens.revoke_token(db, token_id=token_id, owner_id=principal.user_id)
