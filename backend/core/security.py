"""Cross-cutting security: who is asking (the principal), role guards, CSRF and response headers.

No business rules here: which role may do what is declared on each
controller with ``requires(...)``.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from backend.core.settings import Settings

RoleName = Literal["agent", "coordinator", "finance", "admin"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "weft_session"
LOCALE_COOKIE = "weft_locale"
CSRF_COOKIE = "weft_csrf"
CSRF_HEADER = "x-csrftoken"
API_PREFIX = "/api/"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller: a user acting through a browser session or an API token."""

    user_id: int
    email: str
    display_name: str
    role: RoleName
    locale: str
    timezone: str
    site_id: int
    via: Literal["session", "token"]
    credential_id: int


def new_secret(prefix: str = "") -> str:
    """A credential with 256 bits of entropy (tokens, session ids, invitation links)."""
    return prefix + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """Hash a high-entropy secret for storage; a slow hash adds nothing at 256 bits."""
    return hashlib.sha256(secret.encode()).hexdigest()


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    return connection.scope.get("user")  # type: ignore[return-value]


def requires(*roles: RoleName) -> Any:
    """A guard admitting the given roles; admins are admitted everywhere.

    Anonymous callers get 401 (pages redirect them to the login form); a
    signed-in user of another role gets 403.
    """
    allowed = frozenset(roles) | {"admin"}

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = current_principal(connection)
        if principal is None:
            raise NotAuthorizedException("Sign in to continue.")
        if principal.role not in allowed:
            raise PermissionDeniedException("Your role does not allow this.")

    guard.__name__ = f"requires_{'_'.join(sorted(allowed))}"
    return guard


REPLAY_HEADER = "x-weft-replay"


def replay_is_mine(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard for the writes a phone queues offline (web/static/outbox.js) and sends later: the queued
    request names the user who made it, and only that user's session may carry it (403 otherwise, and the
    phone keeps it), so a change queued before a sign-out never lands in the next person's account."""
    replayed_for = connection.headers.get(REPLAY_HEADER)
    principal = current_principal(connection)
    if replayed_for is not None and (principal is None or replayed_for != str(principal.user_id)):
        raise PermissionDeniedException("This change was queued by someone else on this phone.")


def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if current_principal(connection) is None:
        raise NotAuthorizedException("Sign in to continue.")


def csrf_config(settings: Settings) -> CSRFConfig:
    """Double-submit cookie CSRF on every unsafe form post; htmx sends the token as a header.

    The JSON API is excluded because it only accepts unsafe methods from
    bearer tokens, which a browser never sends on its own.
    """
    return CSRFConfig(
        secret=settings.secret_key,
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=settings.is_https,
        cookie_httponly=False,
        cookie_samesite="lax",
        exclude=[f"^{API_PREFIX}"],
    )


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Course lessons may show an image or a short video hosted elsewhere (authors are staff).
        "img-src 'self' data: https:",
        "media-src 'self' https:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Stripe's hosted pages (payout onboarding, the Express dashboard) are reached by a form whose answer redirects
# there, and ``form-action`` governs that redirect too: with payouts on, those origins (and the stand-in's, when
# ``stripe_api_base`` points at it) are allowed form targets.
STRIPE_FORM_TARGETS = ("https://connect.stripe.com", "https://accounts.stripe.com")


def content_security_policy(settings: Settings) -> str:
    if not settings.stripe_secret_key:
        return CONTENT_SECURITY_POLICY
    base = urlsplit(settings.stripe_api_base)
    targets = [*STRIPE_FORM_TARGETS, *([f"{base.scheme}://{base.netloc}"] if base.netloc else [])]
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", " ".join(["form-action 'self'", *targets]))


def security_headers(settings: Settings) -> dict[str, str]:
    """Strict CSP, no framing, nosniff, a referrer policy, and HSTS when served over HTTPS."""
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
    if settings.is_https:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return headers
