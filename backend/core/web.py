"""The web edge shared by every domain: the unit of work per request, request ids and error answers.

Errors never show a stack trace: pages get a short explanation and JSON gets
``{"message", "field", "request_id"}``; the request id ties the answer to the
server log line.
"""

from __future__ import annotations

import contextvars
import copy
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping
from typing import Any, TypeVar, get_args
from urllib.parse import quote

import msgspec
import uvicorn.config
from litestar import MediaType, Request, Response
from litestar.datastructures import MutableScopeHeaders, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import Actor, Database, WriteRefusals, act_as
from backend.core.errors import DomainError, TooManyAttempts
from backend.core.i18n import gettext as _
from backend.core.security import API_PREFIX, SAFE_METHODS, SESSION_COOKIE, Principal, current_principal
from backend.core.settings import Settings
from backend.core.templating import is_htmx, refusal_headers

log = logging.getLogger("weft")
Gettext = Callable[..., str]
REQUEST_ID_HEADER = "x-request-id"
STATIC_PREFIX = "/static/"
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Puts the request's id on every log record written while serving it (``%(request_id)s``; ``-`` outside)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


SECRET_PATH_PARAMETERS = frozenset({"token", "feed", "secret"})
"""A path parameter with one of these names carries a credential (an invitation link, a calendar feed, a
password-reset link): the part of the path it fills is never written to a log. Name a new one so."""
SECRET_QUERY = re.compile(r"(?i)([?&][^=&#\s]*(?:token|key|code|secret|password|signature|sig)[^=&#\s]*=)[^&#\s]*")
REDACTED = "[redacted]"


def _secret_pattern(template: str) -> re.Pattern[str] | None:
    """A route's path template (``/invite/{token:str}``) as a pattern whose named groups are its secrets."""
    pieces: list[str] = []
    secrets = 0
    for number, piece in enumerate(re.split(r"(\{[^}]+\})", template)):
        if not piece.startswith("{"):
            pieces.append(re.escape(piece))
        elif piece[1:-1].split(":", 1)[0] in SECRET_PATH_PARAMETERS:
            pieces.append(f"(?P<secret{number}>[^/?#]+)")
            secrets += 1
        else:
            pieces.append("[^/?#]+")
    return re.compile("^" + "".join(pieces) + "(?=[/?#]|$)") if secrets else None


class SecretPaths:
    """The one registry of paths that carry a secret, learnt from the app's routes as it starts serving.

    Every log line that names a path (uvicorn's access log, our own error lines) goes through
    ``redact_path``, so a route whose secret parameter is named as ``SECRET_PATH_PARAMETERS`` says is safe
    without anyone remembering to add it here.
    """

    def __init__(self) -> None:
        self._patterns: dict[str, re.Pattern[str]] = {}

    def learn(self, templates: Iterable[str]) -> None:
        for template in templates:
            if template not in self._patterns and (pattern := _secret_pattern(template)) is not None:
                self._patterns[template] = pattern

    def redact(self, path: str) -> str:
        for pattern in self._patterns.values():
            if found := pattern.match(path):
                for name in reversed(list(found.groupdict())):  # from the end, so earlier spans stay put
                    start, end = found.span(name)
                    path = path[:start] + REDACTED + path[end:]
                return path
        return path


SECRET_PATHS = SecretPaths()


def redact_path(path: str) -> str:
    """A path fit for a log: secrets in the path (``SECRET_PATHS``) and in the query (``token=``, ``key=``,
    ``code=``...) are replaced, so whoever reads logs cannot take an invitation or a calendar feed."""
    return SECRET_QUERY.sub(rf"\1{REDACTED}", SECRET_PATHS.redact(path))


class SecretPathFilter(logging.Filter):
    """Redacts secret paths in uvicorn's access log (its record args are client, method, path, ...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging, with the request id on every line and secrets kept out of the access log."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {"request_id": {"()": RequestIdFilter}, "secrets": {"()": SecretPathFilter}}
    config["formatters"]["default"]["fmt"] = "%(levelprefix)s [%(request_id)s] %(message)s"
    access = '%(levelprefix)s [%(request_id)s] %(client_addr)s - "%(request_line)s" %(status_code)s'
    config["formatters"]["access"]["fmt"] = access
    config["handlers"]["default"]["filters"] = ["request_id"]
    config["handlers"]["access"]["filters"] = ["request_id", "secrets"]
    return config


def request_id_of(scope: Scope) -> str:
    """The request's id, made on first use so even routing errors (404, 405) carry one.

    It is also made the current one for log records (``RequestIdFilter``): an exception handler runs
    outside the middleware that set it first.
    """
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = uuid.uuid4().hex[:16]
    request_id_var.set(state["request_id"])
    return state["request_id"]


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Gives the request its id before anything else runs, so every log line written meanwhile carries it."""

    async def with_request_id(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request_id_of(scope)
        await app(scope, receive, send)

    return with_request_id


def is_public_asset(path: str, headers: MutableScopeHeaders) -> bool:
    """Static files, and answers their handler marked ``public`` (the web app manifest), may be cached."""
    return path.startswith(STATIC_PREFIX) or headers.get("cache-control", "").startswith("public")


def is_private_answer(scope: Scope, headers: MutableScopeHeaders) -> bool:
    """An answer to a signed-in caller, or one that signs the caller in (it sets the session cookie)."""
    signs_in = any(value.startswith(f"{SESSION_COOKIE}=") for value in headers.getall("set-cookie", []))
    return (scope.get("user") is not None or signs_in) and not is_public_asset(scope["path"], headers)


def response_headers_hook(headers: dict[str, str]) -> Any:
    """A before-send hook: every response, routing errors included, gets the request id and ``headers``.

    An answer to a signed-in caller (pages, API, exports) is theirs alone: ``no-store`` keeps it out of
    shared caches and off the disk of a shared phone, unless it is a public static asset.
    """

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            response_headers = MutableScopeHeaders.from_message(message)
            response_headers[REQUEST_ID_HEADER] = request_id_of(scope)
            for name, value in headers.items():
                if name not in response_headers:
                    response_headers[name] = value
            if is_private_answer(scope, response_headers):
                response_headers["Cache-Control"] = "no-store"

    return before_send


def database_of(connection: Any) -> Database:
    app = connection["litestar_app"] if isinstance(connection, dict) else connection.app
    return app.state.database


def actor_for(principal: Principal | None) -> Actor | None:
    if principal is None:
        return None
    return Actor(id=principal.user_id, label=principal.email, role=principal.role)


async def provide_db(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    """One unit of work per request, committed before the response is sent.

    Unsafe methods take the write lock up front (``BEGIN IMMEDIATE`` on SQLite).
    """
    write = request.method not in SAFE_METHODS
    async with database_of(request).session(write=write) as session:
        actor = actor_for(current_principal(request))
        if actor is not None:
            act_as(session, actor)
        yield session


def see_other(path: str) -> Redirect:
    """After a form post, send the browser on with a GET (POST/redirect/GET)."""
    return Redirect(path=path, status_code=303)


async def act_on_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    act: Callable[[], Awaitable[object]],
    *,
    render: Callable[..., Awaitable[Response[Any]]],
    then: str,
    done: str = "",
    refused_with: Mapping[str, Any] | None = None,
    refusals: type[DomainError] = DomainError,
    raised: Collection[int] = (),
) -> Response[Any]:
    """A page's form post, answered the way every page answers one.

    ``act`` runs in a savepoint, so a refusal leaves nothing half-written and the page can still be read
    back. A refusal is shown on the page, ``render(error=..., **refused_with)`` (``refused_with``: the form
    as typed, or which button refused), which answers a plain post with the refusal's status and htmx
    with 200 (htmx swaps only 2xx answers; see ``refused_status``). After success htmx gets
    ``render(done=done)`` (``render()`` without ``done``) in place, and a plain post a 303 to ``then``.
    A refusal whose status is in ``raised`` is not the page's to show (a 404 must not tell what exists): it
    gets the plain error answer.
    """
    try:
        async with db.begin_nested():
            await act()
    except refusals as error:
        if error.status_code in raised:
            raise
        return await render(error=error, **(refused_with or {}))
    if is_htmx(request):
        return await (render(done=done) if done else render())
    return see_other(then)


class RefuseWith:
    """Stands beside a form field's type, ``Annotated[int, RefuseWith(lambda _: _("Enter a whole number."))]``: the
    words that refuse the field when its text is not that type (``invalid``) or is left blank while required
    (``missing``, the same words unless given). Each is called with ``gettext`` when a refusal is made, so the
    words are in the reader's language (msgspec evaluates a struct's annotations in the class's namespace,
    where the module's own ``_`` is out of reach)."""

    def __init__(self, invalid: Callable[[Gettext], str], *, missing: Callable[[Gettext], str] | None = None) -> None:
        self.invalid = invalid
        self.missing = missing or invalid


def _refuse_with(annotation: Any) -> RefuseWith | None:
    for part in get_args(annotation):
        found = part if isinstance(part, RefuseWith) else _refuse_with(part)
        if found is not None:
            return found
    return None


S = TypeVar("S", bound=msgspec.Struct)


def parse_fields(as_type: type[S], texts: msgspec.Struct | Mapping[str, str]) -> S:
    """A form's (or a query's) text as the typed struct a service takes, each field converted by msgspec
    under its ``Meta`` constraints.

    A page keeps the text itself, so a refused form comes back as typed and the refusal is shown beside
    its field: a field that does not convert is refused with a ``DomainError`` naming it, in its
    ``RefuseWith``'s words (422, like a refused body). A blank field counts as left out, so the struct's
    default applies.
    """
    given = msgspec.structs.asdict(texts) if isinstance(texts, msgspec.Struct) else texts
    values: dict[str, Any] = {}
    for field in msgspec.structs.fields(as_type):
        refusal = _refuse_with(field.type)
        if refusal is None:
            raise TypeError(f"{as_type.__name__}.{field.name} needs a RefuseWith: what does its refusal say?")
        text = str(given.get(field.name) or "").strip()
        if not text:
            if field.required:
                raise DomainError(refusal.missing(_), field=field.name)
            continue
        try:
            values[field.name] = msgspec.convert(text, field.type, strict=False)
        except msgspec.ValidationError:
            raise DomainError(refusal.invalid(_), field=field.name) from None
    return as_type(**values)


def provide_principal(request: Request[Any, Any, Any]) -> Principal | None:
    return current_principal(request)


def wants_json(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith(API_PREFIX) or (
        "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get("accept", "")
    )


def _request_id(request: Request[Any, Any, Any]) -> str:
    return request_id_of(request.scope)


def json_error(
    request: Request[Any, Any, Any], status: int, message: str, field: str | None, **extra: Any
) -> Response[Any]:
    body = {"message": message, "field": field, "request_id": _request_id(request), **extra}
    return Response(content=body, status_code=status, media_type=MediaType.JSON)


def _html_error(request: Request[Any, Any, Any], status: int, title: str, message: str) -> Template:
    layout = "_fragment.html" if is_htmx(request) else "base.html"
    context = {
        "layout": layout,
        "principal": current_principal(request),
        "status": status,
        "title": title,
        "message": message,
        "request_id": _request_id(request),
    }
    return Template(template_name="error.html", context=context, status_code=status, media_type=MediaType.HTML)


TITLES = {
    400: "The request could not be read",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    410: "No longer available",
    422: "Please check your input",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Saving is paused",
}
RETRY_WRITES_AFTER_SECONDS = 60
_write_refusals = WriteRefusals(log, meanwhile="changes are answered 503 until it accepts them again")


def _answer(
    request: Request[Any, Any, Any], status: int, message: str, field: str | None = None, **extra: Any
) -> Response[Any]:
    if wants_json(request):
        return json_error(request, status, message, field, **extra)
    return _html_error(request, status, _(TITLES.get(status, "Error")), message)


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    response = _answer(request, exc.status_code, exc.message, exc.field)
    response.headers.update(refusal_headers(exc))
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


def handle_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    problems = exc.extra if isinstance(exc.extra, list) else []
    first = problems[0] if problems else {}
    field = first.get("key") if isinstance(first, dict) else None
    message = first.get("message", exc.detail) if isinstance(first, dict) else exc.detail
    if field:
        message = f"{field}: {message}"
    # Litestar reports unreadable bodies as 400; a body that parses but breaks a rule is 422.
    status = 422 if problems else 400
    return _answer(request, status, message, field, problems=problems)


def handle_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, NotAuthorizedException) and not wants_json(request):
        target = f"/login?next={quote(request.url.path)}"
        if is_htmx(request):
            return Response(content="", status_code=401, headers={"HX-Redirect": target})
        return see_other(target)
    message = exc.detail if exc.status_code < 500 else _("The error has been logged.")
    return _answer(request, exc.status_code, message)


def handle_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """500 with the request id, and exactly one traceback in the log that names the same id.

    A database refusing writes (read-only, full) is no bug: 503 in plain words, and one log line a minute.
    """
    if _write_refusals.noted(exc):
        message = _(
            "The database is read-only or full at the moment, so nothing was saved. Reading still works; please"
            " try again in a few minutes."
        )
        response = _answer(request, 503, message)
        response.headers["Retry-After"] = str(RETRY_WRITES_AFTER_SECONDS)
        return response
    request_id = _request_id(request)
    path = redact_path(request.url.path)
    log.error("unhandled error on %s %s (request %s)", request.method, path, request_id, exc_info=exc)
    return _answer(request, 500, _("The error has been logged. Quote the request id if you report it."))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: handle_domain_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_error,
    Exception: handle_unexpected_error,
}


Db = NamedDependency[AsyncSession]
FormBody = Body(media_type=RequestEncodingType.URL_ENCODED)
# Handlers take the request whatever its user, auth and state types: one spelling keeps their signatures short.
AnyRequest = Request[Any, Any, Any]
CurrentPrincipal = NamedDependency[Principal]
MaybePrincipal = NamedDependency[Principal | None]
AppSettings = NamedDependency[Settings]


def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    return request.app.state.settings


DEPENDENCIES = {
    "db": Provide(provide_db),
    "principal": Provide(provide_principal, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
}


UPLOAD_CHUNK_BYTES = 256 * 1024


async def uploaded_file(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    """The form's ``file`` in chunks. Litestar parses multipart as a stream into a spooled temporary file
    (memory up to 1 MB, then disk), so a large upload is never held in memory."""
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile):
        raise DomainError(_("Choose a CSV file to upload."), field="file")
    while chunk := await upload.read(UPLOAD_CHUNK_BYTES):
        yield chunk
