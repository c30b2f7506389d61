"""API tokens for machine clients: shown once, stored hashed, scoped to a role, revocable."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import ApiToken, Role, User
from backend.core.db import Database, WriteRefusals, utcnow
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.core.security import hash_secret, new_secret

TOKEN_PREFIX = "weft_"
VISIBLE_PREFIX_CHARS = 12

log = logging.getLogger("weft.tokens")
_touch_refusals = WriteRefusals(log, meanwhile='tokens work but their "last used" time is not updated')


def allowed_token_roles(user: User) -> list[Role]:
    """A token acts in its owner's role; an admin may mint a narrower one for a script."""
    return list(Role) if user.role is Role.admin else [user.role]


async def create_token(
    session: AsyncSession, *, user: User, name: str, role: Role | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never shown again."""
    role = role or user.role
    if role not in allowed_token_roles(user):
        raise DomainError(
            _("A %(owner)s cannot hold a %(role)s token.", owner=_(user.role.value), role=_(role.value)), field="role"
        )
    if not user.is_active:
        raise DomainError(_("Tokens can only be issued to active users."), field="email")
    name = name.strip() or "token"
    secret = new_secret(TOKEN_PREFIX)
    token = ApiToken(
        user_id=user.id,
        name=name[:80],
        prefix=secret[:VISIBLE_PREFIX_CHARS],
        secret_hash=hash_secret(secret),
        role=role,
    )
    session.add(token)
    await session.flush()
    return token, secret


async def resolve_token(session: AsyncSession, secret: str) -> tuple[ApiToken, User] | None:
    """The live token and its owner; revoked tokens, inactive owners and lost roles are refused."""
    found = (
        await session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.secret_hash == hash_secret(secret), ApiToken.revoked_at.is_(None))
        )
    ).first()
    if found is None:
        return None
    token, user = found
    if not user.is_active or token.role not in allowed_token_roles(user):
        return None
    return token, user


async def touch_token(database: Database, *, token_id: int, now: dt.datetime) -> None:
    """Stamp the token's "last used" time in a unit of work of its own, on a best-effort basis.

    The stamp is bookkeeping for the admin's token list: a database that refuses writes (or is busy)
    must not turn the read the token came with into an error, so a failed stamp is logged and skipped.
    """
    try:
        async with database.session(write=True) as session:
            live = await session.get(ApiToken, token_id)
            if live is not None:
                live.last_used_at = now
    except DBAPIError as error:
        if not _touch_refusals.noted(error, now=now):
            log.warning("token %s: its last-used time was not saved: %s", token_id, str(error.orig).splitlines()[0])


async def list_tokens(session: AsyncSession, *, user_id: int | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.created_at.desc())
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list(await session.scalars(query))


async def revoke_token(session: AsyncSession, *, token_id: int, owner_id: int | None = None) -> ApiToken:
    """Revoke a token; with ``owner_id`` only that user's own tokens are found (others answer 404)."""
    token = await session.get(ApiToken, token_id)
    if token is None or (owner_id is not None and token.user_id != owner_id):
        raise NotFound("token")
    token.revoked_at = token.revoked_at or utcnow()
    await session.flush()
    return token
