"""Pages for signing in, invitations, the agent's profile, finance's home; and the accounts router."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from backend.accounts import service, sessions
from backend.accounts.api import ApiController
from backend.accounts.audit_routes import AuditController
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import Invitation, User
from backend.accounts.people_routes import PeopleController, TokenAdminController
from backend.accounts.schemas import (
    AcceptInvitationForm,
    LocaleForm,
    LoginForm,
    ProfileForm,
)
from backend.accounts.site_routes import SiteController
from backend.core.errors import DomainError, NotFound, TooManyAttempts
from backend.core.i18n import gettext as _
from backend.core.i18n import set_locale
from backend.core.security import LOCALE_COOKIE, SESSION_COOKIE, requires
from backend.core.templating import page
from backend.core.web import AnyRequest, AppSettings, Db, FormBody, MaybePrincipal, see_other

ROLE_HOME = {"agent": "/app", "coordinator": "/admin/today", "finance": "/finance", "admin": "/admin/today"}
LOCALE_COOKIE_MAX_AGE = 365 * 24 * 3600


def safe_next(target: str, fallback: str) -> str:
    """Only same-site paths: an open redirect after sign-in is a phishing aid."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


def session_cookie(secret: str, settings: AppSettings) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=secret,
        max_age=settings.session_max_age_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.is_https,
    )


def device_cookie(token: str, settings: AppSettings) -> Cookie:
    """The cookie naming this browser as one its user signed in on: the key to their own sign-in budget."""
    return Cookie(
        key=sessions.DEVICE_COOKIE,
        value=token,
        max_age=sessions.DEVICE_COOKIE_MAX_AGE_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.is_https,
    )


def client_ip(request: AnyRequest) -> str:
    return request.client.host if request.client else "unknown"


async def sign_in(request: AnyRequest, db: Db, settings: AppSettings, user: User, target: str) -> Response[Any]:
    """Issue a fresh session (ending any the browser brought), mark the browser as the user's, and send them on."""
    secret = await sessions.start_session(
        db,
        user,
        settings=settings,
        replaces=request.cookies.get(SESSION_COOKIE),
        client_ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    response = see_other(safe_next(target, ROLE_HOME[user.role.value]))
    response.set_cookie(session_cookie(secret, settings))
    if sessions.known_device(request.cookies.get(sessions.DEVICE_COOKIE, ""), user, settings) is None:
        response.set_cookie(device_cookie(sessions.device_token(user, settings), settings))
    remember_locale(response, user.locale)
    return response


def remember_locale(response: Response[Any], locale: str) -> None:
    """Keep the language in a cookie too, so the sign-in page after signing out speaks it."""
    response.set_cookie(key=LOCALE_COOKIE, value=locale, max_age=LOCALE_COOKIE_MAX_AGE, samesite="lax")


class SignInController(Controller):
    """Public pages: sign in and out, accept an invitation, choose a language."""

    path = "/"
    include_in_schema = False

    @get("/", name="home")
    async def home(self, principal: MaybePrincipal) -> Redirect:
        return see_other(ROLE_HOME[principal.role] if principal else "/login")

    @get("/login", name="accounts:login")
    async def login_form(self, request: AnyRequest, principal: MaybePrincipal, next: str = "") -> Any:
        if principal is not None:
            return see_other(ROLE_HOME[principal.role])
        return page(request, "accounts/login.html", {"next": safe_next(next, ""), "email": "", "error": None})

    @post("/login", name="accounts:login-submit", status_code=303)
    async def login(
        self, request: AnyRequest, db: Db, settings: AppSettings, data: Annotated[LoginForm, FormBody]
    ) -> Any:
        try:
            user = await sessions.authenticate(
                db,
                email=data.email,
                password=data.password,
                client_ip=client_ip(request),
                settings=settings,
                device=request.cookies.get(sessions.DEVICE_COOKIE, ""),
            )
        except DomainError as error:
            context = {"next": safe_next(data.next, ""), "email": data.email, "error": error}
            response = page(request, "accounts/login.html", context, status_code=error.status_code)
            if isinstance(error, TooManyAttempts):
                response.headers["Retry-After"] = str(error.retry_after_seconds)
            return response
        return await sign_in(request, db, settings, user, data.next)

    @post("/logout", name="accounts:logout", status_code=303)
    async def logout(self, request: AnyRequest, db: Db) -> Redirect:
        if secret := request.cookies.get(SESSION_COOKIE):
            await sessions.end_session(db, secret)
        response = see_other("/login")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get("/invite/{token:str}", name="accounts:invitation")
    async def invitation_form(self, request: AnyRequest, db: Db, token: str) -> Template:
        invitation = await service.open_invitation(db, token)
        return invitation_page(request, invitation, token)

    @post("/invite/{token:str}", name="accounts:invitation-accept", status_code=303)
    async def accept_invitation(
        self,
        request: AnyRequest,
        db: Db,
        settings: AppSettings,
        token: str,
        data: Annotated[AcceptInvitationForm, FormBody],
    ) -> Any:
        invitation = await service.open_invitation(db, token)
        try:
            if data.password != data.password_again:
                raise DomainError(_("The two passwords differ."), field="password_again")
            user = await service.accept_invitation(db, token=token, password=data.password)
        except DomainError as error:
            return invitation_page(request, invitation, token, error)
        return await sign_in(request, db, settings, user, "/app")

    @post("/locale", name="accounts:locale", status_code=303)
    async def choose_locale(self, db: Db, principal: MaybePrincipal, data: Annotated[LocaleForm, FormBody]) -> Redirect:
        if principal is not None:
            user = await service.get_user(db, principal.user_id)
            await service.update_preferences(db, user, locale=data.locale)
        response = see_other(safe_next(data.next, "/"))
        remember_locale(response, data.locale)
        return response


class AgentController(Controller):
    """The agent's profile (Home itself is ``backend.home``), under the app's bottom tab bar."""

    path = "/app"
    include_in_schema = False
    guards = [requires("agent")]

    @get("/profile", name="agent:profile")
    async def profile(self, request: AnyRequest, current_user: CurrentUser, saved: bool = False) -> Template:
        return page(request, "accounts/profile.html", {"user": current_user, "error": None, "saved": saved})

    @post("/profile", name="agent:profile-save", status_code=200)
    async def save_profile(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, data: Annotated[ProfileForm, FormBody]
    ) -> Template:
        language_changed = data.locale != current_user.locale
        try:
            await service.update_preferences(db, current_user, locale=data.locale, timezone=data.timezone)
        except DomainError as error:
            context = {"user": current_user, "error": error, "saved": False}
            return page(request, "accounts/profile.html", context, status_code=error.status_code)
        set_locale(current_user.locale)
        response = page(request, "accounts/profile.html", {"user": current_user, "error": None, "saved": True})
        remember_locale(response, current_user.locale)
        if language_changed:  # the whole page, tab bar included, must change language: reload it
            response.headers["HX-Redirect"] = "/app/profile?saved=1"
        return response

    @get("/{tab:str}", name="agent:tab")
    async def coming_tab(self, request: AnyRequest, tab: str) -> Template:
        if tab not in {"learn"}:
            raise NotFound("page")
        return page(request, "accounts/agent_tab_empty.html", {"tab": tab})


def invitation_page(
    request: AnyRequest, invitation: Invitation, token: str, error: DomainError | None = None
) -> Template:
    """The set-password form, in the language the coordinator chose unless the visitor picked one."""
    if LOCALE_COOKIE not in request.cookies:
        set_locale(invitation.locale)
    context = {
        "invitation": invitation,
        "token": token,
        "error": error,
        "min_password_length": service.MIN_PASSWORD_LENGTH,
    }
    return page(request, "accounts/invitation.html", context, status_code=error.status_code if error else 200)


router = Router(
    path="/",
    route_handlers=[
        SignInController,
        AgentController,
        PeopleController,
        TokenAdminController,
        AuditController,
        SiteController,
        ApiController,
    ],
)
