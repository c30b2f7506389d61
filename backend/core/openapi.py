"""The API's OpenAPI document says what the API really answers: its error shape, its credentials, and
which refusals each operation can give.

Litestar documents errors as ``{status_code, detail}`` (its own default) and only the 400 it raises
itself; Weft answers every error as ``ErrorAnswer`` and refuses for many reasons. Rather than each
handler listing its refusals by hand, ``document_api`` derives them in one place from what each
operation is: guarded (401, 403), taking parameters or a body (400, 404, 422), naming an object or
writing (409: an export of a period not yet locked), and any (503: writes paused, even a token's
last use). A handler that declares its own body for one of these statuses keeps it, beside ``ErrorAnswer``.
"""

from __future__ import annotations

from typing import Any, Union

import msgspec
from litestar import Litestar
from litestar.constants import RESERVED_KWARGS
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import HTTPRoute
from litestar.utils.signature import ParsedSignature

from backend.core.security import API_PREFIX, SAFE_METHODS, SESSION_COOKIE

BEARER = "apiToken"
SESSION = "browserSession"


class FieldProblem(msgspec.Struct, kw_only=True):
    """One refused value: where it was (``key``: ``seats``, ``records[3].csat``; ``data`` is the whole body;
    ``source``: body, query, path) and why."""

    message: str
    key: str
    source: str | None = None


class ErrorAnswer(msgspec.Struct, kw_only=True):
    """Every error the API answers, whatever its status: ``message`` in words for a person (in the caller's
    language), ``field`` the request field it concerns (null: the request as a whole), ``request_id`` the id
    the server's log line carries. A refused body or parameter also lists ``problems``."""

    message: str
    field: str | None
    request_id: str
    problems: list[FieldProblem] = []


WHY = {
    400: "The request could not be read (a body that is not JSON, a missing body).",
    401: "No credential, or one that is unknown, revoked or expired.",
    403: "The credential's role may not do this.",
    404: "It does not exist, or it is not the caller's to see (both answer 404, so ids cannot be probed).",
    409: "It conflicts with the object's state (already taken, locked, changed meanwhile).",
    422: "A field or parameter was refused; ``field`` names it and nothing was written.",
    503: "Saving is paused: the database refuses writes for now. Retry after the ``Retry-After`` seconds.",
}


def _reads_input(
    signature: ParsedSignature, dependencies: dict[str, Provide], seen: frozenset[str] = frozenset()
) -> bool:
    """Whether a function takes a value from the request (a query parameter, a header, the body), itself or
    through a dependency it asks for (Erlang's ``load`` reads the query)."""
    for name in signature.parameters:
        if name in RESERVED_KWARGS - {"data", "body"} or name in seen:
            continue
        provider = dependencies.get(name)
        if provider is None or _reads_input(provider.parsed_fn_signature, dependencies, seen | {name}):
            return True
    return False


def refusals(handler: HTTPRouteHandler, route: HTTPRoute) -> list[int]:
    """The error statuses an operation can answer, from what it is."""
    writes = bool(set(handler.http_methods) - SAFE_METHODS)
    dependencies = handler.resolve_dependencies()
    reads_input = writes or bool(route.path_parameters) or _reads_input(handler.parsed_fn_signature, dependencies)
    statuses = [503]
    if handler.resolve_guards():
        statuses += [401, 403]
    if reads_input:
        statuses += [400, 404, 422]
    if writes or route.path_parameters:
        statuses.append(409)
    return sorted(statuses)


def _documented(status: int, declared: ResponseSpec | None) -> ResponseSpec:
    """``ErrorAnswer`` for ``status``, or beside the body the handler declared for it."""
    if declared is None or declared.data_container in (None, ErrorAnswer):
        return ResponseSpec(ErrorAnswer, description=WHY[status], generate_examples=False)
    body: Any = Union[declared.data_container, ErrorAnswer]  # noqa: UP007 - a union made at run time
    return ResponseSpec(body, description=declared.description, generate_examples=False)


def security_of(handler: HTTPRouteHandler) -> list[dict[str, list[str]]]:
    """A bearer token opens every guarded operation; a browser's session only the ones that read (a cookie
    alone must never write through the JSON API, which is outside CSRF protection)."""
    if not handler.resolve_guards():
        return []
    if set(handler.http_methods) <= SAFE_METHODS:
        return [{BEARER: []}, {SESSION: []}]
    return [{BEARER: []}]


def document_api(app: Litestar) -> None:
    """Give every API operation its refusals and credentials (called once the app's routes exist)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(API_PREFIX):
            continue
        for handler in route.route_handlers:
            declared = dict(handler.responses or {})
            errors = {status: _documented(status, declared.get(status)) for status in refusals(handler, route)}
            handler.responses = {**declared, **errors}
            handler.security = security_of(handler)


def openapi_config() -> OpenAPIConfig:
    """The document at ``/api/schema/openapi.json``, with the two credentials the API accepts."""
    schemes = {
        BEARER: SecurityScheme(
            type="http",
            scheme="bearer",
            description="An API token (made on the Profile page, or with `weft token add`), acting in its role.",
        ),
        SESSION: SecurityScheme(
            type="apiKey",
            security_scheme_in="cookie",
            name=SESSION_COOKIE,
            description="A signed-in browser's session: honoured on operations that only read.",
        ),
    }
    return OpenAPIConfig(
        title="Weft API",
        version="1",
        path="/api/schema",
        render_plugins=[JsonRenderPlugin()],
        components=Components(security_schemes=schemes),  # type: ignore[arg-type]
    )
