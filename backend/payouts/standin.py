"""A stateful Stripe stand-in for development and tests: the real ``stripe`` SDK talks to it, Stripe never does.

It is reached only when a Stripe base address points at it (``StripeClient(key, base_addresses={"api": url})``),
run by the tests (``tests/stripe_standin.py``) and by ``weft stripe-standin``. It keeps state in memory and
answers in the shape of Stripe's objects: v2 accounts and account links (JSON), a hosted onboarding page, v1
transfers, reversals, balance, payouts on connected accounts (``Stripe-Account``), login links, signed webhooks
(v1 snapshot events and v2 thin events). Idempotency keys behave as Stripe documents them: the first answer
that began executing is stored (errors included) and replayed with ``Idempotent-Replayed: true``; the same key
with other parameters is an ``idempotency_error``; a request refused before executing (rate limit, an injected
500, a bad key, invalid parameters) stores nothing.

Control endpoints under ``/_standin/`` (JSON, no key) inject faults, pay out balances, emit events and show
what happened; see ``Standin.routes`` for the list. It imports nothing from Weft's domains: it is a fake
Stripe, not part of the product.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import html
import json
import logging
import random
import re
import secrets
import string
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx

API_VERSION = "2026-10-28.endive"
DEFAULT_PORT = 12111
DEFAULT_WEBHOOK_SECRET = "whsec_standin_platform"
DEFAULT_CONNECT_WEBHOOK_SECRET = "whsec_standin_connect"
DEFAULT_TEST_BANK_ACCOUNT = "000123456789"
STARTING_BALANCE_MINOR = 100_000_000_000  # per currency: enough for any benchmark run
STARTING_CURRENCIES = ("usd", "eur", "gbp", "cad", "chf", "aud", "sek", "dkk", "pln", "cny")
ACCOUNT_LINK_TTL_SECONDS = 300
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
REQUIREMENT_DEADLINE_SECONDS = 14 * 24 * 3600
PAYOUT_ARRIVAL_SECONDS = 2 * 24 * 3600
DELIVERY_TIMEOUT_SECONDS = 10.0
DEFAULT_HOLD_SECONDS = 30.0
LIST_LIMIT_MAX = 100
TRANSFER_CAPABILITY = "stripe_balance.stripe_transfers"
# Self-serve cross-border payouts reach the US, the UK, the EEA, Canada and Switzerland.
SUPPORTED_COUNTRIES = frozenset(
    "US GB CA CH AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LI LT LU MT NL NO PL PT RO SK SI ES SE IS".split()  # noqa: SIM905
)
COUNTRY_CURRENCY = {"US": "usd", "GB": "gbp", "CA": "cad", "CH": "chf", "SE": "sek", "DK": "dkk", "PL": "pln"}
EUROZONE = frozenset("AT BE HR CY EE FI FR DE GR IE IT LV LT LU MT NL PT SK SI ES".split())  # noqa: SIM905
ID_ALPHABET = string.ascii_letters + string.digits
V2_INCLUDES = frozenset(
    {
        "configuration.customer",
        "configuration.merchant",
        "configuration.recipient",
        "defaults",
        "future_requirements",
        "identity",
        "requirements",
    }
)
TRANSFER_PARAMS = frozenset(
    {"amount", "currency", "destination", "transfer_group", "metadata", "description", "source_transaction", "expand"}
)
REVERSAL_PARAMS = frozenset({"amount", "metadata", "description", "refund_application_fee", "expand"})
PAYOUT_PARAMS = frozenset({"amount", "currency", "method", "description", "metadata", "destination", "expand"})
FAULT_KINDS = frozenset({"500", "rate_limit", "timeout_after_transfer", "balance_insufficient", "capability_inactive"})

log = logging.getLogger("weft.stripe_standin")
_ids = random.Random()

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def new_id(prefix: str) -> str:
    return f"{prefix}_1{''.join(_ids.choices(ID_ALPHABET, k=23))}"


def iso_time(unix_seconds: float) -> str:
    """RFC 3339 in UTC with milliseconds, as v2 objects carry times (``2026-01-02T03:04:05.678Z``)."""
    moment = datetime.fromtimestamp(unix_seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sign_payload(body: str, secret: str, timestamp: int) -> str:
    """``Stripe-Signature`` exactly as Stripe builds it: HMAC-SHA256 of ``"{t}.{body}"`` with the secret."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``metadata[run]=7``, ``include[0]=requirements``, ``expand[]=x``) as nested values."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        parts = [head] + (rest[:-1].split("][") if rest.endswith("]") else [])
        node = result
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    break  # "a=1&a[b]=2": the later, nested form is dropped, as a lenient parser does
                node = child
    return _lists_from_indexed(result)


def _lists_from_indexed(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {key: _lists_from_indexed(item) for key, item in value.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


class StripeError(Exception):
    """An answer in Stripe's error shape; ``executed`` says whether the endpoint began (then it is stored)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        executed: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.executed = executed
        self.headers = headers or {}

    def body(self, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        return {"error": error}


def invalid(message: str, *, param: str, code: str = "parameter_invalid") -> StripeError:
    """A parameter refused before the endpoint runs: Stripe stores no idempotent answer for it."""
    return StripeError(400, message, code=code, param=param, executed=False)


def missing(param: str) -> StripeError:
    return invalid(f"Missing required param: {param}.", param=param, code="parameter_missing")


def no_such(kind: str, object_id: str, *, param: str = "id", status: int = 404) -> StripeError:
    return StripeError(status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def integer_param(params: dict[str, Any], name: str, *, required: bool = True, minimum: int = 1) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing(name)
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", param=name, code="parameter_invalid_integer") from None
    if number < minimum:
        raise invalid(f"This value must be greater than or equal to {minimum}.", param=name)
    return number


def metadata_param(params: dict[str, Any], current: dict[str, str] | None = None) -> dict[str, str]:
    """Stripe's metadata rules: up to 50 keys of at most 40 characters, values of at most 500; "" unsets."""
    merged = dict(current or {})
    given = params.get("metadata")
    if given in (None, ""):
        return merged
    if not isinstance(given, dict):
        raise invalid("Invalid hash", param="metadata")
    for key, value in given.items():
        if len(key) > 40:
            raise invalid("Metadata keys can have up to 40 characters.", param=f"metadata[{key}]")
        if value is None or value == "":
            merged.pop(key, None)
        elif len(str(value)) > 500:
            raise invalid("Metadata values can have up to 500 characters.", param=f"metadata[{key}]")
        else:
            merged[key] = str(value)
    if len(merged) > 50:
        raise invalid("Metadata can have up to 50 keys.", param="metadata")
    return merged


def refuse_unknown(params: dict[str, Any], known: frozenset[str]) -> None:
    for name in params:
        if name not in known:
            raise invalid(f"Received unknown parameter: {name}", param=name, code="parameter_unknown")


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, Any]
    body: bytes
    base_url: str
    request_id: str
    match: dict[str, str] = field(default_factory=dict)
    api_key: str = ""
    account: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def is_v2(self) -> bool:
        return self.path.startswith("/v2/")

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            value = json.loads(self.body)
        except ValueError:
            raise invalid("The request body is not valid JSON.", param="body") from None
        if not isinstance(value, dict):
            raise invalid("The request body must be a JSON object.", param="body")
        return value


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    hold_seconds: float = 0.0

    @classmethod
    def of_json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(payload, indent=2).encode(), headers=headers or {})

    @classmethod
    def of_html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode(), content_type="text/html; charset=utf-8")

    @classmethod
    def redirect(cls, location: str, status: int = 303) -> Response:
        return cls(status, b"", content_type="text/plain", headers={"location": location})


@dataclass
class StoredAnswer:
    method: str
    path: str
    fingerprint: str
    response: Response
    request_id: str
    stored_at: float


@dataclass
class Fault:
    kind: str
    times: int
    path: str | None = None
    method: str | None = None
    seconds: float = DEFAULT_HOLD_SECONDS
    retry_after: int = 1

    def applies(self, method: str, path: str) -> bool:
        return (
            self.times > 0
            and (self.path is None or path.startswith(self.path))
            and (self.method is None or self.method == method)
        )


@dataclass
class Config:
    webhook_url: str | None = None
    connect_webhook_url: str | None = None
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    connect_webhook_secret: str = DEFAULT_CONNECT_WEBHOOK_SECRET
    requests_per_second: float | None = None
    livemode: bool = False
    transfer_events: bool = False
    public_url: str | None = None

    def update(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown setting: {name}")
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


Handler = Callable[[Request], Response | Awaitable[Response]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    kind: str  # "api" (a key, idempotency, faults), "hosted" (pages), "control" (the tests' levers)


class Standin:
    """The ASGI app and its whole state; ``create_standin`` builds one."""

    def __init__(self, config: Config) -> None:
        self._initial_config = Config(**config.as_dict())
        self.config = config
        self.routes = self._routes()
        self._http: httpx.AsyncClient | None = None
        self._deliveries: asyncio.Queue[tuple[dict[str, Any], str, str]] | None = None
        self._courier: asyncio.Task[None] | None = None
        self.reset()

    # ----------------------------------------------------------------- state

    def reset(self) -> None:
        """Forget every object, key, fault and event, and start again from the configuration it was built with."""
        self.config = Config(**self._initial_config.as_dict())
        self.accounts: dict[str, dict[str, Any]] = {}
        self.account_links: dict[str, dict[str, Any]] = {}
        self.onboarding_sessions: dict[str, str] = {}
        self.login_links: dict[str, str] = {}
        self.transfers: dict[str, dict[str, Any]] = {}
        self.transfer_order: list[str] = []
        self.transfer_position: dict[str, int] = {}
        self.groups: dict[str, list[str]] = {}
        self.group_position: dict[str, int] = {}
        self.reversals: dict[str, list[dict[str, Any]]] = {}
        self.payouts: dict[str, dict[str, Any]] = {}
        self.payout_order: dict[str | None, list[str]] = {}
        self.payout_account: dict[str, str | None] = {}
        self.platform_available: dict[str, int] = dict.fromkeys(STARTING_CURRENCIES, STARTING_BALANCE_MINOR)
        self.platform_pending: dict[str, int] = dict.fromkeys(STARTING_CURRENCIES, 0)
        self.idempotency: dict[tuple[str, str, str], StoredAnswer] = {}
        self.faults: dict[str, Fault] = {}
        self.events: list[dict[str, Any]] = []
        self.events_by_id: dict[str, dict[str, Any]] = {}
        self.v2_events: dict[str, dict[str, Any]] = {}
        self.v1_events: dict[str, dict[str, Any]] = {}
        self.requests: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()
        self._window: deque[float] = deque()

    def _routes(self) -> list[Route]:
        table: list[tuple[str, str, Handler, str]] = [
            ("POST", "/v2/core/accounts", self.create_account, "api"),
            ("GET", "/v2/core/accounts/{id}", self.retrieve_account, "api"),
            ("POST", "/v2/core/accounts/{id}", self.update_account, "api"),
            ("POST", "/v2/core/account_links", self.create_account_link, "api"),
            ("GET", "/v2/core/events/{id}", self.retrieve_v2_event, "api"),
            ("GET", "/v1/accounts/{id}", self.retrieve_v1_account, "api"),
            ("GET", "/v1/accounts/{id}/external_accounts", self.list_external_accounts, "api"),
            ("POST", "/v1/accounts/{id}/login_links", self.create_login_link, "api"),
            ("GET", "/v1/balance", self.retrieve_balance, "api"),
            ("POST", "/v1/transfers", self.create_transfer, "api"),
            ("GET", "/v1/transfers", self.list_transfers, "api"),
            ("GET", "/v1/transfers/{id}", self.retrieve_transfer, "api"),
            ("POST", "/v1/transfers/{id}", self.update_transfer, "api"),
            ("POST", "/v1/transfers/{id}/reversals", self.create_reversal, "api"),
            ("GET", "/v1/transfers/{id}/reversals", self.list_reversals, "api"),
            ("GET", "/v1/transfers/{transfer}/reversals/{id}", self.retrieve_reversal, "api"),
            ("POST", "/v1/payouts", self.create_payout, "api"),
            ("GET", "/v1/payouts", self.list_payouts, "api"),
            ("GET", "/v1/payouts/{id}", self.retrieve_payout, "api"),
            ("GET", "/v1/events/{id}", self.retrieve_v1_event, "api"),
            ("GET", "/hosted/onboarding/{token}", self.onboarding_page, "hosted"),
            ("POST", "/hosted/onboarding/session/{token}", self.onboarding_submit, "hosted"),
            ("GET", "/hosted/express/{token}", self.express_dashboard, "hosted"),
            ("GET", "/_standin/state", self.control_state, "control"),
            ("GET", "/_standin/transfers", self.control_transfers, "control"),
            ("POST", "/_standin/reset", self.control_reset, "control"),
            ("GET", "/_standin/config", self.control_config, "control"),
            ("POST", "/_standin/config", self.control_config, "control"),
            ("GET", "/_standin/events", self.control_events, "control"),
            ("POST", "/_standin/events/emit", self.control_emit, "control"),
            ("POST", "/_standin/events/{id}/redeliver", self.control_redeliver, "control"),
            ("GET", "/_standin/faults", self.control_faults, "control"),
            ("POST", "/_standin/faults/{kind}", self.control_fault, "control"),
            ("POST", "/_standin/balance", self.control_balance, "control"),
            ("POST", "/_standin/accounts", self.control_accounts, "control"),
            ("POST", "/_standin/accounts/{id}/onboard", self.control_onboard, "control"),
            ("POST", "/_standin/accounts/{id}/payout", self.control_payout_balance, "control"),
            ("POST", "/_standin/payouts/{id}", self.control_settle_payout, "control"),
        ]
        routes = []
        for method, template, handler, kind in table:
            regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
            routes.append(Route(method, template, re.compile(f"^{regex}$"), handler, kind))
        return routes

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = self._request(scope, body)
        response = await self.dispatch(request)
        if response.hold_seconds > 0:
            await self._hold(receive, response.hold_seconds)
        headers = [(b"content-type", response.content_type.encode()), (b"request-id", request.request_id.encode())]
        headers += [(name.lower().encode(), value.encode()) for name, value in response.headers.items()]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def close(self) -> None:
        if self._courier is not None:
            self._courier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._courier
            self._courier = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @staticmethod
    async def _hold(receive: Receive, seconds: float) -> None:
        """Keep the answer back (the client times out), but stop as soon as the client hangs up."""

        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(disconnected(), timeout=seconds)

    def _request(self, scope: Scope, body: bytes) -> Request:
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        query = decode_form(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True))
        host = headers.get("host") or "{}:{}".format(*scope.get("server", ("127.0.0.1", DEFAULT_PORT)))
        base_url = (self.config.public_url or f"http://{host}").rstrip("/")
        return Request(scope["method"], scope["path"], headers, query, body, base_url, new_id("req"))

    async def dispatch(self, request: Request) -> Response:
        route = self._route(request)
        if route is None:
            self.requests[f"{request.method} {request.path}"] += 1
            error = StripeError(404, f"Unrecognized request URL ({request.method}: {request.path}).")
            return self._error(request, error)
        self.requests[f"{route.method} {route.template}"] += 1
        if route.kind != "api":
            try:
                return await _maybe_await(route.handler(request))
            except StripeError as error:
                return self._error(request, error)
            except ValueError as error:
                return Response.of_json({"error": {"message": str(error)}}, status=400)
        try:
            self._before_execution(request)
            request.params = self._params(request)
        except StripeError as error:
            return self._error(request, error)
        key = request.headers.get("idempotency-key") if request.method == "POST" else None
        if not key:
            return await self._execute(route, request)
        return await self._idempotent(route, request, key)

    @staticmethod
    def _params(request: Request) -> dict[str, Any]:
        """v2 bodies are JSON, v1 bodies form-encoded; a GET's parameters are its query (``include[0]=...``)."""
        if request.method != "POST":
            return request.query
        if request.is_v2:
            return request.json()
        return decode_form(parse_qsl(request.body.decode(), keep_blank_values=True))

    def _route(self, request: Request) -> Route | None:
        for route in self.routes:
            if route.method == request.method and (found := route.pattern.match(request.path)):
                request.match = found.groupdict()
                return route
        return None

    def _before_execution(self, request: Request) -> None:
        """Refusals that happen before any endpoint runs: rate limit, key, injected 429 and 500."""
        limit = self.config.requests_per_second
        if limit:
            now = time.monotonic()
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if len(self._window) >= limit:
                self.counters["rate_limited"] += 1
                raise self._rate_limit_error(1)
            self._window.append(now)
        authorization = request.headers.get("authorization", "")
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "basic":
            try:
                credential = base64.b64decode(credential.encode()).decode(errors="replace").partition(":")[0]
            except binascii.Error:
                credential = ""
        elif scheme.lower() != "bearer":
            credential = ""
        if not credential:
            raise StripeError(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
                executed=False,
            )
        if not credential.startswith("sk_test_"):
            raise StripeError(
                401, f"Invalid API Key provided: {credential[:8]}{'*' * max(0, len(credential) - 12)}", executed=False
            )
        request.api_key = credential
        request.account = request.headers.get("stripe-account") or None
        if fault := self._fire("rate_limit", request):
            self.counters["rate_limited"] += 1
            raise self._rate_limit_error(fault.retry_after)
        if self._fire("500", request):
            raise StripeError(
                500,
                "An unknown error occurred (injected by the stand-in before the request ran).",
                type="api_error",
                executed=False,
            )

    @staticmethod
    def _rate_limit_error(retry_after: int) -> StripeError:
        return StripeError(
            429,
            "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
            code="rate_limit",
            executed=False,
            headers={"retry-after": str(retry_after)},
        )

    def _fire(self, kind: str, request: Request) -> Fault | None:
        fault = self.faults.get(kind)
        if fault is None or not fault.applies(request.method, request.path):
            return None
        fault.times -= 1
        self.counters[f"fault_{kind}"] += 1
        return fault

    async def _execute(self, route: Route, request: Request) -> Response:
        try:
            return await _maybe_await(route.handler(request))
        except StripeError as error:
            return self._error(request, error)

    async def _idempotent(self, route: Route, request: Request, key: str) -> Response:
        scope = (request.api_key, request.account or "", key)
        fingerprint = (
            json.dumps(request.params, sort_keys=True)
            if request.is_v2
            else json.dumps(sorted(parse_qsl(request.body.decode(), keep_blank_values=True)))
        )
        stored = self.idempotency.get(scope)
        if stored is not None and time.time() - stored.stored_at > IDEMPOTENCY_TTL_SECONDS:
            stored = None
        if stored is not None:
            if (stored.method, stored.path, stored.fingerprint) != (request.method, request.path, fingerprint):
                self.counters["idempotency_errors"] += 1
                error = StripeError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters they were first used "
                    f"with. Try using a key other than '{key}' if you meant to execute a different request.",
                    type="idempotency_error",
                    executed=False,
                )
                return self._error(request, error)
            self.counters["duplicates_avoided"] += 1
            replay = stored.response
            headers = {**replay.headers, "idempotent-replayed": "true", "original-request": stored.request_id}
            return Response(replay.status, replay.body, replay.content_type, headers)
        try:
            response = await _maybe_await(route.handler(request))
        except StripeError as error:
            response = self._error(request, error)
            if not error.executed:
                return response
        response.headers["idempotency-key"] = key
        self.idempotency[scope] = StoredAnswer(
            request.method, request.path, fingerprint, response, request.request_id, time.time()
        )
        return response

    def _error(self, request: Request, error: StripeError) -> Response:
        headers = dict(error.headers)
        return Response.of_json(error.body(request.request_id), status=error.status, headers=headers)

    # --------------------------------------------------------------- accounts

    def _account(self, account_id: str, *, param: str = "id") -> dict[str, Any]:
        account = self.accounts.get(account_id)
        if account is None:
            raise no_such("account", account_id, param=param)
        return account

    def new_account(self, values: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        identity = values.get("identity") or {}
        defaults = values.get("defaults") or {}
        country = str(identity.get("country") or "US").upper()
        currency = str(defaults.get("currency") or self._currency_of(country)).lower()
        recipient = ((values.get("configuration") or {}).get("recipient")) or None
        responsibilities = defaults.get("responsibilities") or {}
        account = {
            "id": new_id("acct"),
            "created": now,
            "display_name": values.get("display_name"),
            "contact_email": values.get("contact_email"),
            "dashboard": values.get("dashboard") or "express",
            "metadata": metadata_param(values),
            "country": country,
            "currency": currency,
            "locales": defaults.get("locales") or [],
            "fees_collector": responsibilities.get("fees_collector") or "application",
            "losses_collector": responsibilities.get("losses_collector") or "application",
            "recipient": recipient is not None,
            "transfers_requested": bool(
                (((recipient or {}).get("capabilities") or {}).get("stripe_balance") or {})
                .get("stripe_transfers", {})
                .get("requested")
            ),
            "individual": None,
            "details_submitted": False,
            "bank": None,
            "balance": {},
            "past_due": False,
        }
        self._set_requirements(account, onboarding=True)
        self.accounts[account["id"]] = account
        return account

    @staticmethod
    def _currency_of(country: str) -> str:
        return "eur" if country in EUROZONE else COUNTRY_CURRENCY.get(country, "usd")

    @staticmethod
    def _set_requirements(account: dict[str, Any], *, onboarding: bool = False, past_due: bool = False) -> None:
        """Requirements and the transfers capability follow from what the account has given Stripe."""
        now = time.time()
        entries: list[dict[str, Any]] = []

        def entry(description: str, status: str, reason: str) -> dict[str, Any]:
            return {
                "awaiting_action_from": "user",
                "description": description,
                "errors": [],
                "impact": {
                    "restricts_capabilities": [
                        {
                            "capability": TRANSFER_CAPABILITY,
                            "configuration": "recipient",
                            "deadline": {"status": status},
                        }
                    ]
                },
                "minimum_deadline": {"status": status},
                "reference": None,
                "requested_reasons": [{"code": reason}],
            }

        if onboarding:
            for description in (
                "identity.individual.given_name",
                "identity.individual.surname",
                "configuration.recipient.default_outbound_destination",
            ):
                entries.append(entry(description, "currently_due", "routine_onboarding"))
            account["deadline"] = {"status": "currently_due", "time": iso_time(now + REQUIREMENT_DEADLINE_SECONDS)}
        elif past_due:
            entries.append(entry("identity.individual.id_number", "past_due", "routine_verification"))
            account["deadline"] = {"status": "past_due", "time": iso_time(now - 1)}
        else:
            account["deadline"] = None
        account["requirements"] = entries
        account["past_due"] = past_due
        if not account["transfers_requested"]:
            account["transfers_status"], account["status_details"] = None, []
        elif account["country"] not in SUPPORTED_COUNTRIES:
            details = [{"code": "unsupported_country", "resolution": "no_resolution"}]
            account["transfers_status"], account["status_details"] = "unsupported", details
        elif entries:
            details = [{"code": "requirements_past_due", "resolution": "provide_info"}]
            account["transfers_status"], account["status_details"] = "restricted", details
        else:
            account["transfers_status"], account["status_details"] = "active", []

    def render_account(self, account: dict[str, Any], include: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        """The v2 account; like Stripe, the large parts are null unless named in ``include``."""
        wanted = set(include)
        configuration = None
        if wanted & {"configuration.recipient", "configuration.customer", "configuration.merchant"}:
            configuration = {"customer": None, "merchant": None, "recipient": None}
            if "configuration.recipient" in wanted and account["recipient"]:
                configuration["recipient"] = self._render_recipient(account)
        requirements = None
        if "requirements" in wanted:
            requirements = {
                "alternatives": [],
                "entries": account["requirements"],
                "summary": {"minimum_deadline": account["deadline"]},
            }
        identity = None
        if "identity" in wanted:
            identity = {
                "attestations": None,
                "business_details": None,
                "country": account["country"],
                "entity_type": "individual",
                "individual": account["individual"],
            }
        defaults = None
        if "defaults" in wanted:
            bank = account["bank"]
            defaults = {
                "currency": account["currency"],
                "locales": account["locales"],
                "payout_methods": {account["currency"]: bank["id"]} if bank else None,
                "profile": None,
                "responsibilities": {
                    "fees_collector": account["fees_collector"],
                    "losses_collector": account["losses_collector"],
                },
            }
        future_requirements = {"alternatives": [], "entries": [], "summary": None}
        return {
            "id": account["id"],
            "object": "v2.core.account",
            "applied_configurations": ["recipient"] if account["recipient"] else [],
            "closed": False,
            "configuration": configuration,
            "contact_email": account["contact_email"],
            "contact_phone": None,
            "created": iso_time(account["created"]),
            "dashboard": account["dashboard"],
            "defaults": defaults,
            "display_name": account["display_name"],
            "future_requirements": future_requirements if "future_requirements" in wanted else None,
            "identity": identity,
            "livemode": False,
            "metadata": account["metadata"],
            "requirements": requirements,
        }

    @staticmethod
    def _render_recipient(account: dict[str, Any]) -> dict[str, Any]:
        capabilities: dict[str, Any] = {"bank_accounts": None, "cards": None, "stripe_balance": None}
        if account["transfers_status"] is not None:
            capabilities["stripe_balance"] = {
                "payouts": None,
                "stripe_transfers": {
                    "status": account["transfers_status"],
                    "status_details": account["status_details"],
                },
            }
        bank = account["bank"]
        return {
            "applied": True,
            "capabilities": capabilities,
            # Recipient accounts receive standard payouts only: instant payouts need the full agreement.
            "default_outbound_destination": (
                {"id": bank["id"], "type": "bank_account", "available_payout_methods": ["standard"]} if bank else None
            ),
        }

    def create_account(self, request: Request) -> Response:
        values = request.params
        dashboard = values.get("dashboard")
        if dashboard is not None and dashboard not in {"express", "full", "none"}:
            raise invalid(f"Invalid dashboard: {dashboard}", param="dashboard")
        include = self._include(values.get("include"))
        account = self.new_account(values)
        return Response.of_json(self.render_account(account, include))

    def retrieve_account(self, request: Request) -> Response:
        account = self._account(request.match["id"])
        return Response.of_json(self.render_account(account, self._include(request.query.get("include"))))

    def update_account(self, request: Request) -> Response:
        account = self._account(request.match["id"])
        values = request.params
        for name in ("display_name", "contact_email", "dashboard"):
            if name in values:
                account[name] = values[name]
        if "metadata" in values:
            account["metadata"] = metadata_param(values, account["metadata"])
        defaults = values.get("defaults") or {}
        if defaults.get("currency"):
            account["currency"] = str(defaults["currency"]).lower()
        recipient = (values.get("configuration") or {}).get("recipient")
        if recipient is not None:
            account["recipient"] = True
            transfers = ((recipient.get("capabilities") or {}).get("stripe_balance") or {}).get("stripe_transfers")
            if transfers is not None:
                account["transfers_requested"] = bool(transfers.get("requested"))
                self._set_requirements(
                    account, onboarding=not account["details_submitted"], past_due=account["past_due"]
                )
        return Response.of_json(self.render_account(account, self._include(values.get("include"))))

    @staticmethod
    def _include(value: Any) -> list[str]:
        if value in (None, ""):
            return []
        names = [value] if isinstance(value, str) else list(value)
        for name in names:
            if name not in V2_INCLUDES:
                raise invalid(f"Invalid include: {name}", param="include")
        return names

    def create_account_link(self, request: Request) -> Response:
        values = request.params
        account_id = values.get("account")
        if not account_id:
            raise missing("account")
        use_case = values.get("use_case") or {}
        kind = use_case.get("type")
        if kind not in {"account_onboarding", "account_update"}:
            raise invalid("use_case.type must be account_onboarding or account_update.", param="use_case.type")
        options = use_case.get(kind) or {}
        if not options.get("refresh_url"):
            raise missing(f"use_case.{kind}.refresh_url")
        configurations = options.get("configurations") or ["recipient"]
        if not set(configurations) <= {"recipient", "merchant", "customer"}:
            raise invalid("Invalid configurations.", param=f"use_case.{kind}.configurations")
        account = self._account(account_id, param="account")
        now = time.time()
        token = secrets.token_urlsafe(24)
        link = {
            "account": account["id"],
            "created": iso_time(now),
            "expires_at": iso_time(now + ACCOUNT_LINK_TTL_SECONDS),
            "livemode": False,
            "object": "v2.core.account_link",
            "url": f"{request.base_url}/hosted/onboarding/{token}",
            "use_case": {
                "type": kind,
                "account_onboarding": None,
                "account_update": None,
                kind: {
                    "collection_options": options.get("collection_options"),
                    "configurations": configurations,
                    "refresh_url": options["refresh_url"],
                    "return_url": options.get("return_url"),
                },
            },
        }
        self.account_links[token] = {"link": link, "expires": now + ACCOUNT_LINK_TTL_SECONDS, "used": False}
        return Response.of_json(link)

    # ------------------------------------------------------ hosted onboarding

    def onboarding_page(self, request: Request) -> Response:
        entry = self.account_links.get(request.match["token"])
        if entry is None:
            return Response.of_html(_page("Link not found", "<p>This link is not valid.</p>"), status=404)
        options = entry["link"]["use_case"][entry["link"]["use_case"]["type"]]
        if entry["used"] or time.time() > entry["expires"]:
            return Response.redirect(options["refresh_url"], status=302)
        entry["used"] = True
        session = secrets.token_urlsafe(24)
        self.onboarding_sessions[session] = request.match["token"]
        account = self.accounts[entry["link"]["account"]]
        bank = account["bank"]
        name = " ".join(filter(None, ((account["individual"] or {}).get(k) for k in ("given_name", "surname"))))
        form = f"""
<p>Stripe stand-in: onboarding <code>{html.escape(account["id"])}</code> to receive payouts.</p>
<form method="post" action="/hosted/onboarding/session/{session}">
  <label for="full_name">Full name</label>
  <input id="full_name" name="full_name" autocomplete="name" required
         value="{html.escape(name or account["display_name"] or "")}">
  <label for="bank_account">Bank account</label>
  <input id="bank_account" name="bank_account" inputmode="numeric" required
         value="{html.escape(bank["number"] if bank else DEFAULT_TEST_BANK_ACCOUNT)}">
  <button id="Submit" type="submit">Submit</button>
</form>"""
        return Response.of_html(_page("Set up payouts", form))

    async def onboarding_submit(self, request: Request) -> Response:
        token = self.onboarding_sessions.pop(request.match["token"], None)
        if token is None:
            return Response.of_html(_page("Session ended", "<p>This form was already sent.</p>"), status=404)
        link = self.account_links[token]["link"]
        form = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
        full_name = form.get("full_name", "").strip()
        bank_number = re.sub(r"\s+", "", form.get("bank_account", ""))
        if not full_name or not bank_number:
            return Response.of_html(_page("Missing details", "<p>Full name and bank account are needed.</p>"), 400)
        self.complete_onboarding(self.accounts[link["account"]], full_name=full_name, bank_number=bank_number)
        options = link["use_case"][link["use_case"]["type"]]
        if options.get("return_url"):
            return Response.redirect(options["return_url"])
        return Response.of_html(_page("Done", "<p>Your details were sent.</p>"))

    def complete_onboarding(
        self, account: dict[str, Any], *, full_name: str, bank_number: str, emit_events: bool = True
    ) -> None:
        """Details submitted, requirements cleared, transfers active, a bank account as the payout destination."""
        before = account["transfers_status"]
        given, _, surname = full_name.partition(" ")
        account["individual"] = {"given_name": given, "surname": surname or None}
        account["details_submitted"] = True
        if account["bank"] is None or account["bank"]["number"] != bank_number:
            fingerprint = hashlib.sha256(f"standin-bank:{bank_number}".encode()).hexdigest()[:16]
            account["bank"] = {"id": new_id("ba"), "number": bank_number, "fingerprint": fingerprint}
        self._set_requirements(account)
        if emit_events:
            self.emit_thin("v2.core.account.updated", account["id"])
            if account["transfers_status"] != before:
                self.emit_thin(
                    "v2.core.account[configuration.recipient].capability_status_updated",
                    account["id"],
                    data={"updated_capability": TRANSFER_CAPABILITY},
                )

    def restrict_transfers(self, account: dict[str, Any]) -> None:
        """Stripe needs something more and the deadline passed: transfers are restricted until the agent acts."""
        self._set_requirements(account, past_due=True)
        self.emit_thin("v2.core.account.updated", account["id"])
        self.emit_thin(
            "v2.core.account[configuration.recipient].capability_status_updated",
            account["id"],
            data={"updated_capability": TRANSFER_CAPABILITY},
        )

    def create_login_link(self, request: Request) -> Response:
        refuse_unknown(request.params, frozenset({"expand"}))
        account = self._account(request.match["id"], param="account")
        if account["dashboard"] != "express":
            raise StripeError(
                400,
                "Cannot create a login link for an account that does not use the Express Dashboard.",
                param="account",
            )
        token = secrets.token_urlsafe(24)
        self.login_links[token] = account["id"]
        url = f"{request.base_url}/hosted/express/{token}"
        return Response.of_json({"object": "login_link", "created": int(time.time()), "url": url})

    def express_dashboard(self, request: Request) -> Response:
        account_id = self.login_links.get(request.match["token"])
        if account_id is None:
            return Response.of_html(_page("Link not found", "<p>This link is not valid.</p>"), status=404)
        account = self.accounts[account_id]
        balance = ", ".join(f"{amount} {currency}" for currency, amount in account["balance"].items()) or "0"
        bank = account["bank"]
        body = f"""
<p>Stripe stand-in dashboard for <strong>{html.escape(account["display_name"] or account_id)}</strong>.</p>
<p>Balance (minor units): {html.escape(balance)}</p>
<p>Bank account: {html.escape("ending " + bank["number"][-4:] if bank else "none")}</p>
<p>Payouts: standard only (Instant Payouts are not available to recipient accounts).</p>"""
        return Response.of_html(_page("Dashboard", body))

    def retrieve_v1_account(self, request: Request) -> Response:
        account = self._account(request.match["id"], param="account")
        return Response.of_json(self.render_v1_account(account))

    def render_v1_account(self, account: dict[str, Any]) -> dict[str, Any]:
        """The same account through v1 (Stripe serves v2 accounts on v1 too): capability ``transfers``."""
        status = account["transfers_status"]
        v1_status = None if status is None else ("active" if status == "active" else "inactive")
        due = [entry["description"] for entry in account["requirements"]]
        return {
            "id": account["id"],
            "object": "account",
            "business_type": "individual",
            "capabilities": {"transfers": v1_status} if v1_status else {},
            "charges_enabled": False,
            "controller": {"type": "application", "requirement_collection": "stripe"},
            "country": account["country"],
            "created": int(account["created"]),
            "default_currency": account["currency"],
            "details_submitted": account["details_submitted"],
            "email": account["contact_email"],
            "external_accounts": self._external_accounts(account),
            "metadata": account["metadata"],
            "payouts_enabled": status == "active",
            "requirements": {
                "alternatives": [],
                "current_deadline": None,
                "currently_due": due,
                "disabled_reason": "requirements.past_due" if due else None,
                "errors": [],
                "eventually_due": due,
                "past_due": due if account["past_due"] or not account["details_submitted"] else [],
                "pending_verification": [],
            },
            "settings": {"payouts": {"schedule": {"delay_days": 2, "interval": "daily"}}},
            "type": "express" if account["dashboard"] == "express" else "custom",
        }

    def _external_accounts(self, account: dict[str, Any]) -> dict[str, Any]:
        bank = account["bank"]
        data = []
        if bank:
            data.append(
                {
                    "id": bank["id"],
                    "object": "bank_account",
                    "account": account["id"],
                    "account_holder_name": " ".join(filter(None, (account["individual"] or {}).values())) or None,
                    "account_holder_type": "individual",
                    "account_type": None,
                    "available_payout_methods": ["standard"],
                    "bank_name": "STRIPE TEST BANK",
                    "country": account["country"],
                    "currency": account["currency"],
                    "customer": None,
                    "default_for_currency": True,
                    "fingerprint": bank["fingerprint"],
                    "last4": bank["number"][-4:],
                    "metadata": {},
                    "routing_number": "110000000",
                    "status": "new",
                }
            )
        url = f"/v1/accounts/{account['id']}/external_accounts"
        return {"object": "list", "data": data, "has_more": False, "total_count": len(data), "url": url}

    def list_external_accounts(self, request: Request) -> Response:
        return Response.of_json(self._external_accounts(self._account(request.match["id"], param="account")))

    # --------------------------------------------------------------- balance

    def retrieve_balance(self, request: Request) -> Response:
        if request.account:
            account = self._connected(request)
            available, pending = account["balance"] or {account["currency"]: 0}, {}
        else:
            available, pending = self.platform_available, self.platform_pending
        return Response.of_json(
            {
                "object": "balance",
                "available": [
                    {"amount": amount, "currency": currency, "source_types": {"card": amount}}
                    for currency, amount in available.items()
                ],
                "connect_reserved": [{"amount": 0, "currency": currency} for currency in available],
                "livemode": False,
                "pending": [
                    {"amount": pending.get(currency, 0), "currency": currency, "source_types": {"card": 0}}
                    for currency in available
                ],
            }
        )

    def _connected(self, request: Request) -> dict[str, Any]:
        account = self.accounts.get(request.account or "")
        if account is None:
            raise StripeError(
                403,
                f"The provided key '{request.api_key[:12]}...' does not have access to account "
                f"'{request.account}' (or that account does not exist). Application access may have been revoked.",
                code="account_invalid",
                type="invalid_request_error",
            )
        return account

    # ------------------------------------------------------------- transfers

    def create_transfer(self, request: Request) -> Response:
        params = request.params
        refuse_unknown(params, TRANSFER_PARAMS)
        amount = integer_param(params, "amount")
        assert amount is not None
        currency = str(params.get("currency") or "").lower()
        if not currency:
            raise missing("currency")
        destination_id = params.get("destination")
        if not destination_id:
            raise missing("destination")
        metadata = metadata_param(params)
        destination = self.accounts.get(destination_id)
        if destination is None:
            raise no_such("destination", destination_id, param="destination", status=400)
        if destination["transfers_status"] != "active":
            raise StripeError(
                400,
                "Your destination account needs to have at least one of the following capabilities enabled: "
                "transfers, crypto_transfers, legacy_payments",
                code="insufficient_capabilities_for_transfer",
                param="destination",
            )
        forced = self._fire("balance_insufficient", request)
        if forced or self.platform_available.get(currency, 0) < amount:
            raise StripeError(
                400,
                "You have insufficient available funds in your Stripe account. Try adding funds directly to your "
                "available balance by creating Top-ups: https://stripe.com/docs/api#create_topup",
                code="balance_insufficient",
            )
        transfer_id = new_id("tr")
        transfer = {
            "id": transfer_id,
            "object": "transfer",
            "amount": amount,
            "amount_reversed": 0,
            "balance_transaction": new_id("txn"),
            "created": int(time.time()),
            "currency": currency,
            "description": params.get("description") or None,
            "destination": destination_id,
            "destination_payment": new_id("py"),
            "livemode": False,
            "metadata": metadata,
            "reversed": False,
            "source_transaction": None,
            "source_type": "card",
            "transfer_group": params.get("transfer_group") or None,
        }
        self.platform_available[currency] = self.platform_available.get(currency, 0) - amount
        destination["balance"][currency] = destination["balance"].get(currency, 0) + amount
        self.transfers[transfer_id] = transfer
        self.reversals[transfer_id] = []
        self.transfer_position[transfer_id] = len(self.transfer_order)
        self.transfer_order.append(transfer_id)
        if transfer["transfer_group"]:
            group = self.groups.setdefault(transfer["transfer_group"], [])
            self.group_position[transfer_id] = len(group)
            group.append(transfer_id)
        self.counters["transfers_made"] += 1
        rendered = self.render_transfer(transfer)
        if self.config.transfer_events:
            self.emit_snapshot("transfer.created", rendered, request=request)
        response = Response.of_json(rendered)
        if fault := self._fire("timeout_after_transfer", request):
            response.hold_seconds = fault.seconds
        return response

    def render_transfer(self, transfer: dict[str, Any]) -> dict[str, Any]:
        reversals = self.reversals[transfer["id"]]
        newest = reversals[::-1][:10]
        return {
            **transfer,
            "metadata": dict(transfer["metadata"]),
            "reversals": {
                "object": "list",
                "data": newest,
                "has_more": len(reversals) > len(newest),
                "total_count": len(reversals),
                "url": f"/v1/transfers/{transfer['id']}/reversals",
            },
        }

    def _transfer(self, transfer_id: str) -> dict[str, Any]:
        transfer = self.transfers.get(transfer_id)
        if transfer is None:
            raise no_such("transfer", transfer_id)
        return transfer

    def retrieve_transfer(self, request: Request) -> Response:
        return Response.of_json(self.render_transfer(self._transfer(request.match["id"])))

    def update_transfer(self, request: Request) -> Response:
        refuse_unknown(request.params, frozenset({"description", "metadata", "expand"}))
        transfer = self._transfer(request.match["id"])
        previous = {"metadata": dict(transfer["metadata"])}
        transfer["metadata"] = metadata_param(request.params, transfer["metadata"])
        if "description" in request.params:
            transfer["description"] = request.params["description"] or None
        rendered = self.render_transfer(transfer)
        if self.config.transfer_events:
            self.emit_snapshot("transfer.updated", rendered, request=request, previous=previous)
        return Response.of_json(rendered)

    def list_transfers(self, request: Request) -> Response:
        query = request.query
        group = query.get("transfer_group")
        if group:
            ids = self.groups.get(group, [])
            position = self.group_position
        else:
            ids, position = self.transfer_order, self.transfer_position
        destination = query.get("destination")
        if destination:
            ids = [tid for tid in ids if self.transfers[tid]["destination"] == destination]
            position = {tid: index for index, tid in enumerate(ids)}
        page, has_more = self._page(ids, position, query)
        data = [self.render_transfer(self.transfers[tid]) for tid in page]
        return Response.of_json({"object": "list", "data": data, "has_more": has_more, "url": "/v1/transfers"})

    @staticmethod
    def _page(ids: list[str], position: dict[str, int], query: dict[str, Any]) -> tuple[list[str], bool]:
        """A newest-first page of ``ids`` (oldest first in storage), cut by ``starting_after`` / ``ending_before``."""
        limit = integer_param(query, "limit", required=False) or 10
        if limit > LIST_LIMIT_MAX:
            raise invalid("This value must be less than or equal to 100.", param="limit")
        after, before = query.get("starting_after"), query.get("ending_before")
        if after:
            if after not in position or position[after] >= len(ids) or ids[position[after]] != after:
                raise no_such("object", after, param="starting_after", status=400)
            end = position[after]  # items older than ``after``: ids[:end], newest first
            start = max(0, end - limit)
            return ids[start:end][::-1], start > 0
        if before:
            if before not in position or position[before] >= len(ids) or ids[position[before]] != before:
                raise no_such("object", before, param="ending_before", status=400)
            start = position[before] + 1
            end = min(len(ids), start + limit)
            return ids[start:end][::-1], end < len(ids)
        start = max(0, len(ids) - limit)
        return ids[start:][::-1], start > 0

    def create_reversal(self, request: Request) -> Response:
        params = request.params
        refuse_unknown(params, REVERSAL_PARAMS)
        transfer = self._transfer(request.match["id"])
        remaining = transfer["amount"] - transfer["amount_reversed"]
        amount = integer_param(params, "amount", required=False)
        metadata = metadata_param(params)
        if amount is None:
            amount = remaining
        if amount <= 0 or amount > remaining:
            self.counters["reversals_refused"] += 1
            raise StripeError(
                400,
                f"Refund amount ({amount}) is greater than the transfer's unreversed amount ({remaining}).",
                code="amount_too_large",
                param="amount",
            )
        destination = self.accounts[transfer["destination"]]
        currency = transfer["currency"]
        if destination["balance"].get(currency, 0) < amount:
            self.counters["reversals_refused"] += 1
            raise StripeError(
                400,
                f"Insufficient funds in the connected account {destination['id']} to reverse this transfer: its "
                f"{currency.upper()} balance was already paid out.",
                code="balance_insufficient",
                param="amount",
            )
        reversal = {
            "id": new_id("trr"),
            "object": "transfer_reversal",
            "amount": amount,
            "balance_transaction": new_id("txn"),
            "created": int(time.time()),
            "currency": currency,
            "destination_payment_refund": new_id("pyr"),
            "metadata": metadata,
            "source_refund": None,
            "transfer": transfer["id"],
        }
        destination["balance"][currency] -= amount
        self.platform_available[currency] = self.platform_available.get(currency, 0) + amount
        previous = {"amount_reversed": transfer["amount_reversed"], "reversed": transfer["reversed"]}
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        self.reversals[transfer["id"]].append(reversal)
        self.counters["reversals_made"] += 1
        if self.config.transfer_events:
            self.emit_snapshot("transfer.reversed", self.render_transfer(transfer), request=request, previous=previous)
        return Response.of_json(reversal)

    def list_reversals(self, request: Request) -> Response:
        transfer = self._transfer(request.match["id"])
        items = self.reversals[transfer["id"]]
        ids = [item["id"] for item in items]
        page, has_more = self._page(ids, {rid: index for index, rid in enumerate(ids)}, request.query)
        by_id = {item["id"]: item for item in items}
        url = f"/v1/transfers/{transfer['id']}/reversals"
        data = [by_id[rid] for rid in page]
        return Response.of_json({"object": "list", "data": data, "has_more": has_more, "url": url})

    def retrieve_reversal(self, request: Request) -> Response:
        transfer = self._transfer(request.match["transfer"])
        for reversal in self.reversals[transfer["id"]]:
            if reversal["id"] == request.match["id"]:
                return Response.of_json(reversal)
        raise no_such("transfer_reversal", request.match["id"])

    # --------------------------------------------------------------- payouts

    def create_payout(self, request: Request) -> Response:
        params = request.params
        refuse_unknown(params, PAYOUT_PARAMS)
        amount = integer_param(params, "amount")
        assert amount is not None
        currency = str(params.get("currency") or "").lower()
        if not currency:
            raise missing("currency")
        method = params.get("method") or "standard"
        if method not in {"standard", "instant"}:
            raise invalid(f"Invalid method: {method}", param="method")
        metadata = metadata_param(params)
        if request.account is None:
            balance, destination = self.platform_available, "ba_standin_platform"
        else:
            account = self._connected(request)
            if method == "instant":
                raise StripeError(
                    400,
                    "This account is not eligible for Instant Payouts: recipient accounts receive standard payouts.",
                    code="instant_payouts_unsupported",
                    param="method",
                )
            if account["bank"] is None:
                raise StripeError(400, "This account has no bank account to pay out to.", code="no_external_account")
            balance, destination = account["balance"], account["bank"]["id"]
        if balance.get(currency, 0) < amount:
            raise StripeError(
                400,
                "You have insufficient funds in your Stripe account for this transfer.",
                code="balance_insufficient",
            )
        payout = self.make_payout(request.account, currency, amount, destination, method=method, metadata=metadata)
        payout["description"] = params.get("description") or None
        return Response.of_json(payout)

    def make_payout(
        self,
        account_id: str | None,
        currency: str,
        amount: int,
        destination: str,
        *,
        method: str = "standard",
        metadata: dict[str, str] | None = None,
        automatic: bool = False,
    ) -> dict[str, Any]:
        balance = self.platform_available if account_id is None else self.accounts[account_id]["balance"]
        balance[currency] = balance.get(currency, 0) - amount
        now = int(time.time())
        payout = {
            "id": new_id("po"),
            "object": "payout",
            "amount": amount,
            "application_fee": None,
            "application_fee_amount": None,
            "arrival_date": now + PAYOUT_ARRIVAL_SECONDS,
            "automatic": automatic,
            "balance_transaction": new_id("txn"),
            "created": now,
            "currency": currency,
            "description": "STRIPE PAYOUT" if automatic else None,
            "destination": destination,
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": metadata or {},
            "method": method,
            "original_payout": None,
            "payout_method": None,
            "reconciliation_status": "not_applicable",
            "reversed_by": None,
            "source_type": "card",
            "statement_descriptor": None,
            "status": "pending",
            "trace_id": {"status": "pending", "value": None},
            "type": "bank_account",
        }
        self.payouts[payout["id"]] = payout
        self.payout_order.setdefault(account_id, []).append(payout["id"])
        self.payout_account[payout["id"]] = account_id
        self.counters["payouts_made"] += 1
        return payout

    def _payout(self, request: Request) -> dict[str, Any]:
        payout = self.payouts.get(request.match["id"])
        if payout is None or self.payout_account.get(payout["id"]) != request.account:
            raise no_such("payout", request.match["id"])
        return payout

    def retrieve_payout(self, request: Request) -> Response:
        return Response.of_json(self._payout(request))

    def list_payouts(self, request: Request) -> Response:
        if request.account:
            self._connected(request)
        ids = self.payout_order.get(request.account, [])
        page, has_more = self._page(ids, {pid: index for index, pid in enumerate(ids)}, request.query)
        data = [self.payouts[pid] for pid in page]
        return Response.of_json({"object": "list", "data": data, "has_more": has_more, "url": "/v1/payouts"})

    def settle_payout(self, payout: dict[str, Any], status: str, failure_code: str | None = None) -> None:
        """A payout arrives (``paid``) or bounces (``failed``: the money returns to the account's balance)."""
        if payout["status"] in {"paid", "failed", "canceled"}:
            raise ValueError(f"payout {payout['id']} is already {payout['status']}")
        account_id = self.payout_account.get(payout["id"])
        payout["status"] = status
        if status == "paid":
            payout["trace_id"] = {"status": "supported", "value": new_id("trace")}
            payout["reconciliation_status"] = "completed"
        elif status == "failed":
            payout["failure_code"] = failure_code or "account_closed"
            payout["failure_message"] = "The bank account has been closed."
            payout["failure_balance_transaction"] = new_id("txn")
            balance = self.platform_available if account_id is None else self.accounts[account_id]["balance"]
            balance[payout["currency"]] = balance.get(payout["currency"], 0) + payout["amount"]
        elif status != "in_transit":
            raise ValueError("status must be paid, failed or in_transit")
        if status in {"paid", "failed"}:
            self.emit_snapshot(f"payout.{status}", dict(payout), account=account_id)

    # ---------------------------------------------------------------- events

    def emit_thin(self, event_type: str, account_id: str, *, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """A v2 thin event about an account, to the Connect endpoint; its full form is served at /v2/core/events."""
        now = time.time()
        event_id = new_id("evt_test")
        thin = {
            "id": event_id,
            "object": "v2.core.event",
            "type": event_type,
            "livemode": self.config.livemode,
            "created": iso_time(now),
            "related_object": {
                "id": account_id,
                "type": "v2.core.account",
                "url": f"/v2/core/accounts/{account_id}",
            },
            "context": None,
        }
        self.v2_events[event_id] = {**thin, "changes": None, "data": data, "reason": None, "snapshot_event": None}
        return self._send_event(thin, api="v2", endpoint="connect", account=account_id)

    def emit_snapshot(
        self,
        event_type: str,
        obj: dict[str, Any],
        *,
        account: str | None = None,
        request: Request | None = None,
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A v1 snapshot event: to the Connect endpoint with ``account`` when about a connected account."""
        event: dict[str, Any] = {"id": new_id("evt"), "object": "event"}
        if account:
            event["account"] = account
        event["api_version"] = API_VERSION
        event["created"] = int(time.time())
        event["data"] = {"object": obj, **({"previous_attributes": previous} if previous is not None else {})}
        event["livemode"] = self.config.livemode
        event["pending_webhooks"] = 1
        event["request"] = {
            "id": request.request_id if request else None,
            "idempotency_key": request.headers.get("idempotency-key") if request else None,
        }
        event["type"] = event_type
        self.v1_events[event["id"]] = event
        return self._send_event(event, api="v1", endpoint="connect" if account else "platform", account=account)

    def _send_event(self, payload: dict[str, Any], *, api: str, endpoint: str, account: str | None) -> dict[str, Any]:
        body = json.dumps(payload, indent=2)
        url, secret = self._endpoint(endpoint)
        record = {
            "id": payload["id"],
            "type": payload["type"],
            "api": api,
            "endpoint": endpoint,
            "account": account,
            "url": url,
            "body": body,
            "signature": sign_payload(body, secret, int(time.time())),
            "deliveries": [],
        }
        self.events.append(record)
        self.events_by_id[record["id"]] = record
        self.counters["events_emitted"] += 1
        if url:
            self._queue_delivery(record, url, record["signature"])
        return record

    def _endpoint(self, endpoint: str) -> tuple[str | None, str]:
        if endpoint == "connect":
            return self.config.connect_webhook_url, self.config.connect_webhook_secret
        return self.config.webhook_url, self.config.webhook_secret

    def _queue_delivery(self, record: dict[str, Any], url: str, signature: str) -> None:
        if self._deliveries is None:
            self._deliveries = asyncio.Queue()
        if self._courier is None or self._courier.done():
            self._courier = asyncio.get_running_loop().create_task(self._deliver_forever())
        self._deliveries.put_nowait((record, url, signature))

    async def _deliver_forever(self) -> None:
        """One courier delivers events in the order they happened, never holding up an API answer."""
        assert self._deliveries is not None
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_SECONDS)
        while True:
            record, url, signature = await self._deliveries.get()
            delivery: dict[str, Any] = {"url": url, "signature": signature, "at": iso_time(time.time())}
            try:
                answer = await self._http.post(
                    url,
                    content=record["body"].encode(),
                    headers={
                        "content-type": "application/json; charset=utf-8",
                        "stripe-signature": signature,
                        "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                    },
                )
                delivery["status"] = answer.status_code
                self.counters["deliveries_ok" if answer.status_code < 300 else "deliveries_failed"] += 1
            except httpx.HTTPError as error:
                delivery["status"] = None
                delivery["error"] = f"{type(error).__name__}: {error}"
                self.counters["deliveries_failed"] += 1
            record["deliveries"].append(delivery)

    def retrieve_v2_event(self, request: Request) -> Response:
        event = self.v2_events.get(request.match["id"])
        if event is None:
            raise no_such("event", request.match["id"])
        return Response.of_json(event)

    def retrieve_v1_event(self, request: Request) -> Response:
        event = self.v1_events.get(request.match["id"])
        if event is None:
            raise no_such("event", request.match["id"])
        return Response.of_json(event)

    # --------------------------------------------------------------- control

    def control_state(self, request: Request) -> Response:
        return Response.of_json(
            {
                "accounts": len(self.accounts),
                "transfers": len(self.transfers),
                "transfers_made": self.counters["transfers_made"],
                "reversals": sum(len(items) for items in self.reversals.values()),
                "reversals_refused": self.counters["reversals_refused"],
                "payouts": len(self.payouts),
                "duplicates_avoided": self.counters["duplicates_avoided"],
                "idempotency_errors": self.counters["idempotency_errors"],
                "rate_limited": self.counters["rate_limited"],
                "events": len(self.events),
                "counters": dict(self.counters),
                "requests": dict(self.requests),
                "platform_balance": {"available": self.platform_available, "pending": self.platform_pending},
                "faults": {kind: fault.times for kind, fault in self.faults.items()},
            }
        )

    def control_transfers(self, request: Request) -> Response:
        data = [self.render_transfer(self.transfers[tid]) for tid in self.transfer_order]
        return Response.of_json({"data": data})

    def control_reset(self, request: Request) -> Response:
        self.reset()
        return Response.of_json({"reset": True})

    def control_config(self, request: Request) -> Response:
        if request.method == "POST":
            self.config.update(request.json())
        return Response.of_json(self.config.as_dict())

    def control_events(self, request: Request) -> Response:
        wanted_type, endpoint = request.query.get("type"), request.query.get("endpoint")
        data = [
            event
            for event in self.events
            if (not wanted_type or event["type"] == wanted_type) and (not endpoint or event["endpoint"] == endpoint)
        ]
        return Response.of_json({"data": data})

    def control_emit(self, request: Request) -> Response:
        values = request.json()
        event_type = values.get("type")
        if event_type not in {"transfer.created", "transfer.updated", "transfer.reversed"}:
            raise ValueError("type must be transfer.created, transfer.updated or transfer.reversed")
        transfer = self.transfers.get(values.get("transfer", ""))
        if transfer is None:
            raise ValueError(f"no such transfer: {values.get('transfer')!r}")
        record = self.emit_snapshot(
            event_type, self.render_transfer(transfer), previous=values.get("previous_attributes")
        )
        return Response.of_json(record)

    def control_redeliver(self, request: Request) -> Response:
        record = self.events_by_id.get(request.match["id"])
        if record is None:
            raise ValueError(f"no such event: {request.match['id']!r}")
        url, secret = self._endpoint(record["endpoint"])
        if not url:
            raise ValueError(f"no {record['endpoint']} webhook URL is configured")
        signature = sign_payload(record["body"], secret, int(time.time()))
        self._queue_delivery(record, url, signature)
        return Response.of_json({"id": record["id"], "signature": signature})

    def control_faults(self, request: Request) -> Response:
        return Response.of_json({kind: vars(fault) for kind, fault in self.faults.items()})

    def control_fault(self, request: Request) -> Response:
        kind = request.match["kind"]
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {sorted(FAULT_KINDS)}")
        values = request.json()
        if kind == "capability_inactive":
            account = self.accounts.get(values.get("account", ""))
            if account is None:
                raise ValueError(f"no such account: {values.get('account')!r}")
            self.restrict_transfers(account)
            self.counters["fault_capability_inactive"] += 1
            return Response.of_json(self.render_account(account, ["configuration.recipient", "requirements"]))
        if kind == "balance_insufficient" and "amount" in values:
            self.platform_available[str(values.get("currency", "usd")).lower()] = int(values["amount"])
            return Response.of_json({"available": self.platform_available})
        fault = Fault(
            kind,
            times=int(values.get("times", 1)),
            path=values.get("path", "/v1/transfers" if kind == "timeout_after_transfer" else None),
            method=values.get("method"),
            seconds=float(values.get("seconds", DEFAULT_HOLD_SECONDS)),
            retry_after=int(values.get("retry_after", 1)),
        )
        self.faults[kind] = fault
        return Response.of_json(vars(fault))

    def control_balance(self, request: Request) -> Response:
        values = request.json()
        if values.get("account"):
            account = self.accounts.get(values["account"])
            if account is None:
                raise ValueError(f"no such account: {values['account']!r}")
            account["balance"].update({c.lower(): int(a) for c, a in (values.get("available") or {}).items()})
            return Response.of_json({"available": account["balance"]})
        self.platform_available.update({c.lower(): int(a) for c, a in (values.get("available") or {}).items()})
        self.platform_pending.update({c.lower(): int(a) for c, a in (values.get("pending") or {}).items()})
        return Response.of_json({"available": self.platform_available, "pending": self.platform_pending})

    def control_accounts(self, request: Request) -> Response:
        """Many accounts at once (a benchmark's 10,000 agents), ready to receive transfers unless ``ready`` is false."""
        values = request.json()
        count = int(values.get("count", 1))
        country = str(values.get("country", "US")).upper()
        ids = []
        for number in range(count):
            account = self.new_account(
                {
                    "display_name": f"{values.get('display_name', 'Standin agent')} {number + 1}",
                    "identity": {"country": country},
                    "defaults": {"currency": values.get("currency") or self._currency_of(country)},
                    "dashboard": "express",
                    "configuration": {
                        "recipient": {"capabilities": {"stripe_balance": {"stripe_transfers": {"requested": True}}}}
                    },
                }
            )
            if values.get("ready", True):
                bank = f"{DEFAULT_TEST_BANK_ACCOUNT[:-6]}{number:06d}"
                self.complete_onboarding(account, full_name=f"Agent {number + 1}", bank_number=bank, emit_events=False)
            ids.append(account["id"])
        return Response.of_json({"ids": ids})

    def control_onboard(self, request: Request) -> Response:
        account = self.accounts.get(request.match["id"])
        if account is None:
            raise ValueError(f"no such account: {request.match['id']!r}")
        values = request.json()
        self.complete_onboarding(
            account,
            full_name=values.get("full_name", "Test Agent"),
            bank_number=values.get("bank_account", DEFAULT_TEST_BANK_ACCOUNT),
            emit_events=values.get("emit_events", True),
        )
        return Response.of_json(self.render_account(account, ["configuration.recipient", "requirements"]))

    def control_payout_balance(self, request: Request) -> Response:
        """Pay out a connected account's whole balance (so a later reversal finds nothing), optionally settled."""
        account = self.accounts.get(request.match["id"])
        if account is None:
            raise ValueError(f"no such account: {request.match['id']!r}")
        values = request.json()
        status = values.get("status", "pending")
        payouts = []
        for currency, amount in list(account["balance"].items()):
            if amount <= 0 or (values.get("currency") and values["currency"].lower() != currency):
                continue
            destination = account["bank"]["id"] if account["bank"] else new_id("ba")
            payout = self.make_payout(account["id"], currency, amount, destination, automatic=True)
            if status != "pending":
                self.settle_payout(payout, status, values.get("failure_code"))
            payouts.append(payout)
        return Response.of_json({"data": payouts})

    def control_settle_payout(self, request: Request) -> Response:
        payout = self.payouts.get(request.match["id"])
        if payout is None:
            raise ValueError(f"no such payout: {request.match['id']!r}")
        values = request.json()
        self.settle_payout(payout, values.get("status", "paid"), values.get("failure_code"))
        return Response.of_json(payout)


async def _maybe_await(value: Response | Awaitable[Response]) -> Response:
    if isinstance(value, Response):
        return value
    return await value


def _page(title: str, body: str) -> str:
    """A phone-sized hosted page (360 px wide, 44 px targets), plainly marked as the stand-in."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · Stripe stand-in</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 28rem; padding: 1rem; }}
label, input, button {{ display: block; width: 100%; box-sizing: border-box; }}
input, button {{ min-height: 44px; font-size: 1rem; margin: 0.25rem 0 1rem; }}
button {{ background: #635bff; color: #fff; border: 0; border-radius: 6px; }}
</style></head>
<body><h1>{html.escape(title)}</h1>{body}</body></html>"""


def create_standin(
    *,
    webhook_url: str | None = None,
    connect_webhook_url: str | None = None,
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
    connect_webhook_secret: str = DEFAULT_CONNECT_WEBHOOK_SECRET,
    requests_per_second: float | None = None,
    livemode: bool = False,
    transfer_events: bool = False,
    public_url: str | None = None,
) -> Standin:
    """The stand-in as an ASGI app (serve it with uvicorn on loopback); ``POST /_standin/reset`` starts it over."""
    return Standin(
        Config(
            webhook_url=webhook_url,
            connect_webhook_url=connect_webhook_url,
            webhook_secret=webhook_secret,
            connect_webhook_secret=connect_webhook_secret,
            requests_per_second=requests_per_second,
            livemode=livemode,
            transfer_events=transfer_events,
            public_url=public_url,
        )
    )
