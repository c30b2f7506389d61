"""What the accounts domain injects into every handler: the signed-in user."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide

from backend.accounts.models import User
from backend.accounts.service import get_user
from backend.core.web import CurrentPrincipal, Db


async def provide_user(db: Db, principal: CurrentPrincipal) -> User:
    """The signed-in user, loaded once per request into the handler's own session.

    Only handlers behind a guard ask for it, so an anonymous request has already been refused.
    """
    return await get_user(db, principal.user_id)


CurrentUser = NamedDependency[User]
"""Taken as ``current_user: CurrentUser``. Not ``user``: forms and bodies have a ``user`` field (the agent acted
on), and Litestar reports a field that shares a dependency's name as a server error instead of a 422."""

DEPENDENCIES = {"current_user": Provide(provide_user)}
