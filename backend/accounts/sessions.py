"""Signing in and out: rate-limited password checks and server-issued sessions.

The cookie carries a random secret; only its hash is stored. A secret the
server never issued matches no row and is refused, which closes session
fixation, and every sign-in issues a brand-new secret.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import LoginAttempt, LoginSession, User
from backend.accounts.service import find_user_by_email, password_matches
from backend.core.db import utcnow
from backend.core.errors import DomainError, TooManyAttempts
from backend.core.i18n import gettext as _
from backend.core.security import hash_secret, new_secret
from backend.core.settings import Settings


async def _recent_failures(session: AsyncSession, column: object, value: str, since: dt.datetime) -> int:
    query = select(func.count()).select_from(LoginAttempt).where(column == value, LoginAttempt.at > since)
    return int(await session.scalar(query) or 0)


async def check_login_allowed(session: AsyncSession, *, email: str, client_ip: str, settings: Settings) -> None:
    """Refuse further tries once an account or a client has failed too often in the window."""
    window = dt.timedelta(minutes=settings.login_window_minutes)
    since = utcnow() - window
    by_account = await _recent_failures(session, LoginAttempt.email, email, since)
    by_client = await _recent_failures(session, LoginAttempt.client_ip, client_ip, since)
    if by_account >= settings.login_failures_per_account or by_client >= settings.login_failures_per_client:
        raise TooManyAttempts(
            _("Too many failed sign-ins. Try again in %(minutes)d minutes.", minutes=settings.login_window_minutes),
            retry_after_seconds=int(window.total_seconds()),
        )


async def authenticate(session: AsyncSession, *, email: str, password: str, client_ip: str, settings: Settings) -> User:
    """The active user with this email and password; each failure is counted against account and client."""
    email = email.strip().lower()
    await check_login_allowed(session, email=email, client_ip=client_ip, settings=settings)
    user = await find_user_by_email(session, email)
    if user is None or not user.is_active or not password_matches(user, password):
        session.add(LoginAttempt(email=email, client_ip=client_ip))
        await session.flush()
        raise DomainError(_("That email and password do not match an active account."), field="password")
    return user


async def start_session(
    session: AsyncSession,
    user: User,
    *,
    settings: Settings,
    replaces: str | None = None,
    client_ip: str = "",
    user_agent: str = "",
) -> str:
    """Issue a fresh session secret for ``user``, ending the session it replaces, if any.

    Signing in is also when stale rows are swept, so the tables stay small without a scheduler.
    """
    await forget_expired(session)
    if replaces:
        await end_session(session, replaces)
    secret = new_secret()
    now = utcnow()
    session.add(
        LoginSession(
            user_id=user.id,
            secret_hash=hash_secret(secret),
            role=user.role,
            created_at=now,
            expires_at=now + dt.timedelta(hours=settings.session_max_age_hours),
            client_ip=client_ip[:64],
            user_agent=user_agent[:255],
        )
    )
    await session.flush()
    return secret


async def resolve_session(session: AsyncSession, secret: str) -> tuple[LoginSession, User] | None:
    """The live session and its user; a session whose user's role changed or who is inactive is dead."""
    row = await session.execute(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.secret_hash == hash_secret(secret), LoginSession.expires_at > utcnow())
    )
    found = row.first()
    if found is None:
        return None
    login_session, user = found
    if not user.is_active or login_session.role != user.role:
        return None
    return login_session, user


async def end_session(session: AsyncSession, secret: str) -> None:
    await session.execute(delete(LoginSession).where(LoginSession.secret_hash == hash_secret(secret)))


async def forget_expired(session: AsyncSession) -> None:
    """Housekeeping: drop expired sessions and old failed attempts."""
    now = utcnow()
    await session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    await session.execute(delete(LoginAttempt).where(LoginAttempt.at <= now - dt.timedelta(days=1)))
