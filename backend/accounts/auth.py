"""Who is asking: resolves the session cookie or bearer token into a ``Principal`` for every request.

Browser sessions are honoured on pages and on safe API calls; unsafe API
calls need a bearer token (the JSON API is outside CSRF protection, so a
cookie alone must never be able to write through it). An unknown session
secret is refused and its cookie cleared.
"""

from __future__ import annotations

import datetime as dt
from http.cookies import SimpleCookie
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.accounts.models import User
from backend.accounts.sessions import resolve_session
from backend.accounts.tokens import resolve_token, touch_token
from backend.core.db import Database, utcnow
from backend.core.security import API_PREFIX, SAFE_METHODS, SESSION_COOKIE, Principal

TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=10)


def principal_for(user: User, *, role: str, via: str, credential_id: int) -> Principal:
    return Principal(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=role,  # type: ignore[arg-type]
        locale=user.locale,
        timezone=user.timezone,
        site_id=user.site_id,
        via=via,  # type: ignore[arg-type]
        credential_id=credential_id,
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def session_secret_from(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(raw)
    except Exception:  # noqa: BLE001 - a malformed cookie header is the client's problem, not ours
        return None
    morsel = cookie.get(SESSION_COOKIE)
    return morsel.value if morsel else None


def bearer_secret_from(scope: Scope) -> str | None:
    raw = _header(scope, b"authorization")
    if raw and raw[:7].lower() == "bearer ":
        return raw[7:].strip()
    return None


async def _from_token(database: Database, secret: str) -> Principal | None:
    async with database.lookup() as session:
        found = await resolve_token(session, secret)
        if found is None:
            return None
        token, user = found
        principal = principal_for(user, role=token.role.value, via="token", credential_id=token.id)
        stale = token.last_used_at is None or utcnow() - token.last_used_at > TOKEN_TOUCH_INTERVAL
    if stale:
        await touch_token(database, token_id=token.id, now=utcnow())
    return principal


async def _from_session(database: Database, secret: str) -> Principal | None:
    async with database.lookup() as session:
        found = await resolve_session(session, secret)
    if found is None:
        return None
    login_session, user = found
    return principal_for(user, role=login_session.role.value, via="session", credential_id=login_session.id)


def _clear_cookie_header(secure: bool) -> bytes:
    flags = "; Secure" if secure else ""
    return f"{SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax{flags}".encode()


def authentication_middleware(database_of: Any, secure_cookies: bool) -> Any:
    """ASGI middleware factory; ``database_of(scope)`` gives the app's ``Database``."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            database: Database = database_of(scope)
            principal: Principal | None = None
            planted = False
            is_api = scope["path"].startswith(API_PREFIX)
            if is_api and (bearer := bearer_secret_from(scope)):
                principal = await _from_token(database, bearer)
            elif (secret := session_secret_from(scope)) is not None:
                principal = await _from_session(database, secret)
                planted = principal is None
                if principal and is_api and scope["method"] not in SAFE_METHODS:
                    principal = None
            scope["user"] = principal
            scope["auth"] = principal

            async def send_clearing_cookie(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = MutableScopeHeaders.from_message(message)
                    if not any(v.startswith(f"{SESSION_COOKIE}=") for v in headers.getall("set-cookie", [])):
                        headers.add("set-cookie", _clear_cookie_header(secure_cookies).decode())
                await send(message)

            await app(scope, receive, send_clearing_cookie if planted else send)

        return wrapped

    return middleware
