"""The web edge shared by every domain: the unit of work per request, request ids and error answers.

Errors never show a stack trace: pages get a short explanation and JSON gets
``{"message", "field", "request_id"}``; the request id ties the answer to the
server log line.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from typing import Any, TypeVar, get_args
from urllib.parse import quote

import msgspec
from litestar import MediaType, Request, Response
from litestar.datastructures import MutableScopeHeaders, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.types import Message, Scope
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import Actor, Database, act_as
from backend.core.errors import DomainError, TooManyAttempts
from backend.core.i18n import gettext as _
from backend.core.security import API_PREFIX, SAFE_METHODS, Principal, current_principal
from backend.core.settings import Settings
from backend.core.templating import is_htmx

log = logging.getLogger("weft")
Gettext = Callable[..., str]
REQUEST_ID_HEADER = "x-request-id"
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


SECRET_PATHS = re.compile(r"^(/calendar/)[^/?\s]+")


def redact_path(path: str) -> str:
    """A path fit for a log: a calendar feed's address is its own secret, so it never reaches one."""
    return SECRET_PATHS.sub(r"\1[redacted]", path)


class SecretPathFilter(logging.Filter):
    """Redacts secret paths in uvicorn's access log (its record args are client, method, path, ...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def request_id_of(scope: Scope) -> str:
    """The request's id, made on first use so even routing errors (404, 405) carry one."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = uuid.uuid4().hex[:16]
        request_id_var.set(state["request_id"])
    return state["request_id"]


def response_headers_hook(headers: dict[str, str]) -> Any:
    """A before-send hook: every response, routing errors included, gets the request id and ``headers``."""

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            response_headers = MutableScopeHeaders.from_message(message)
            response_headers[REQUEST_ID_HEADER] = request_id_of(scope)
            for name, value in headers.items():
                if name not in response_headers:
                    response_headers[name] = value

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
}


def _answer(
    request: Request[Any, Any, Any], status: int, message: str, field: str | None = None, **extra: Any
) -> Response[Any]:
    if wants_json(request):
        return json_error(request, status, message, field, **extra)
    return _html_error(request, status, _(TITLES.get(status, "Error")), message)


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    response = _answer(request, exc.status_code, exc.message, exc.field)
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
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
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
