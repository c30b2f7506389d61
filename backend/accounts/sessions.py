"""Signing in and out: budgeted password checks, known devices and server-issued sessions.

The cookie carries a random secret; only its hash is stored. A secret the
server never issued matches no row and is refused, which closes session
fixation, and every sign-in issues a brand-new secret.

Sign-in limits (OWASP's advice): every try takes a place in its budgets
*before* its password is checked, in one conditional statement per budget
(``_reserve``), so at most the limit of checks run in a window however many
workers race. An account has one budget for unknown clients and one per
browser its owner signed in on (a signed device cookie): someone who knows
an email can use up the first, and the owner still signs in from their own
phone. Unknown clients are also limited per address, against guessing many
accounts; a known device is not, so a shared address cannot lock the owner out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import LoginAttempt, LoginBudget, LoginSession, User
from backend.accounts.service import find_user_by_email, password_matches
from backend.core.db import utcnow
from backend.core.errors import DomainError, TooManyAttempts
from backend.core.i18n import gettext as _
from backend.core.i18n import ngettext
from backend.core.security import hash_secret, new_secret
from backend.core.settings import Settings

DEVICE_COOKIE = "weft_device"
DEVICE_COOKIE_MAX_AGE_SECONDS = 365 * 24 * 3600


@dataclass(frozen=True)
class Budget:
    """Tries allowed to one name (an account from unknown clients, a known device, a client) per window."""

    name: str
    limit: int

    @property
    def key(self) -> str:
        return hash_secret(self.name)


# Known devices -------------------------------------------------------------------------------------


def _device_signature(user_id: int, nonce: str, settings: Settings) -> str:
    message = f"weft-device:{user_id}.{nonce}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def device_token(user: User, settings: Settings) -> str:
    """The device cookie of a browser ``user`` just signed in on: it names this browser as theirs, signed."""
    nonce = secrets.token_urlsafe(16)
    return f"{user.id}.{nonce}.{_device_signature(user.id, nonce, settings)}"


def known_device(token: str, user: User | None, settings: Settings) -> str | None:
    """The device's nonce when ``token`` is this server's cookie for a browser ``user`` signed in on, else None.

    A cookie another account earned, or one altered, makes the browser an unknown client.
    """
    user_id, _dot, rest = token.partition(".")
    nonce, _dot, signature = rest.partition(".")
    if user is None or user_id != str(user.id) or not nonce:
        return None
    return nonce if hmac.compare_digest(signature, _device_signature(user.id, nonce, settings)) else None


# Budgets -------------------------------------------------------------------------------------------


def _budgets(email: str, client_ip: str, device: str | None, settings: Settings) -> list[Budget]:
    """The budgets a try spends, always in this order (client, then account) so two tries never deadlock."""
    if device is not None:
        return [Budget(f"account:{email}:device:{device}", settings.login_failures_per_account)]
    return [
        Budget(f"client:{client_ip}", settings.login_failures_per_client),
        Budget(f"account:{email}:unknown", settings.login_failures_per_account),
    ]


async def _reserve(session: AsyncSession, budget: Budget, *, now: dt.datetime, window: dt.timedelta) -> bool:
    """Take a place in ``budget`` if it has one left in its window (a spent window starts again), atomically.

    One INSERT ... ON CONFLICT DO UPDATE ... WHERE: the database locks the row and tests the limit against
    the latest count, so concurrent tries queue on the row instead of all reading a count below the limit.
    """
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = LoginBudget.__table__
    lapsed = table.c.window_started_at <= now - window
    statement = (
        insert(table)
        .values(key=budget.key, window_started_at=now, tries=1)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "tries": case((lapsed, 1), else_=table.c.tries + 1),
                "window_started_at": case((lapsed, now), else_=table.c.window_started_at),
            },
            where=or_(lapsed, table.c.tries < budget.limit),
        )
        .returning(table.c.tries)
    )
    return (await session.execute(statement)).first() is not None


async def _give_back(session: AsyncSession, budget: Budget) -> None:
    """Return a place that was not spent on a failure (the password was right, or another budget refused)."""
    await session.execute(
        update(LoginBudget)
        .where(LoginBudget.key == budget.key, LoginBudget.tries > 0)
        .values(tries=LoginBudget.tries - 1)
        .execution_options(synchronize_session=False)
    )


async def _refusal(session: AsyncSession, budget: Budget, *, now: dt.datetime, window: dt.timedelta) -> TooManyAttempts:
    """The 429 for a spent budget, with the time until its window ends."""
    started = await session.scalar(select(LoginBudget.window_started_at).where(LoginBudget.key == budget.key))
    seconds = max(1, math.ceil(((started or now) + window - now).total_seconds()))
    minutes = math.ceil(seconds / 60)
    return TooManyAttempts(
        ngettext(
            "Too many failed sign-ins. Try again in %(num)d minute.",
            "Too many failed sign-ins. Try again in %(num)d minutes.",
            minutes,
        ),
        retry_after_seconds=seconds,
    )


async def _spend(session: AsyncSession, budgets: list[Budget], *, now: dt.datetime, settings: Settings) -> None:
    """Take a place in every budget, or in none and refuse with 429."""
    window = dt.timedelta(minutes=settings.login_window_minutes)
    taken: list[Budget] = []
    for budget in budgets:
        if not await _reserve(session, budget, now=now, window=window):
            for reserved in taken:
                await _give_back(session, reserved)
            raise await _refusal(session, budget, now=now, window=window)
        taken.append(budget)


async def authenticate(
    session: AsyncSession, *, email: str, password: str, client_ip: str, settings: Settings, device: str = ""
) -> User:
    """The active user with this email and password; ``device`` is the browser's device cookie, if any.

    The try is taken from its budgets before the password is checked (429 when one is spent); a wrong
    password keeps it spent, a right one gives it back. The caller commits a refusal too, so it counts.
    """
    email = email.strip().lower()
    user = await find_user_by_email(session, email)
    budgets = _budgets(email, client_ip, known_device(device, user, settings), settings)
    await _spend(session, budgets, now=utcnow(), settings=settings)
    if user is None or not user.is_active or not password_matches(user, password):
        session.add(LoginAttempt(email=email, client_ip=client_ip))
        await session.flush()
        raise DomainError(_("That email and password do not match an active account."), field="password")
    for budget in budgets:
        await _give_back(session, budget)
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
    """Housekeeping: drop expired sessions, old failed attempts and budgets whose window ended long ago."""
    now = utcnow()
    day_ago = now - dt.timedelta(days=1)
    await session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    await session.execute(delete(LoginAttempt).where(LoginAttempt.at <= day_ago))
    await session.execute(delete(LoginBudget).where(LoginBudget.window_started_at <= day_ago))
