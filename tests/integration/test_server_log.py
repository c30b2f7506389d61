"""The server's log, read as an operator reads it: no secret in it, and every error findable by its request id.

The app runs under uvicorn in a child process with the logging ``weft serve`` uses; the tests send real
requests and grep what it wrote.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from backend.accounts import service as accounts
from backend.accounts.models import Role
from backend.app import create_app
from backend.core.db import Actor, Database, act_as
from backend.core.migrate import migrate
from backend.core.settings import load_settings
from backend.core.web import SECRET_PATH_PARAMETERS
from backend.shifts import service as shifts
from tests.conftest import fresh_sqlite_database
from tests.factories import Factory
from tests.served_app import ServedWeft

SECRET_LIKE = re.compile(r"token|secret|feed|key|code|invit|reset|link|password|sig")
NOT_SECRETS = {
    "key": "a quiz question's key, chosen by the course's author",
    "skill_code": "a skill's code, the same for everyone at the site",
}
TRACEBACK = "Traceback (most recent call last)"


@dataclass
class Served:
    server: ServedWeft
    invitation_token: str
    feed_secret: str

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(f"{self.server.base_url}{path}", timeout=10, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.post(f"{self.server.base_url}{path}", timeout=10, **kwargs)  # type: ignore[arg-type]


def environ(directory: Path) -> dict[str, str]:
    return {
        "WEFT_DATABASE_URL": fresh_sqlite_database(directory),
        "WEFT_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "WEFT_DATA_DIR": str(directory),
        "WEFT_BASE_URL": "http://127.0.0.1:8000",
        "WEFT_PUSH_IN_PROCESS": "false",
    }


async def secrets_in(database_url: str) -> tuple[str, str]:
    """A live invitation link's token and a calendar feed's secret, as a coordinator and an agent make them."""
    database = Database.from_url(database_url)
    try:
        async with database.session(write=True) as db:
            act_as(db, Actor(id=None, label="test", role="system"))
            site = await accounts.ensure_site(db, name="Test Centre", timezone="Asia/Shanghai", country="CN")
            agent = await Factory(db=db, site=site).make(Role.agent)
            _invitation, token = await accounts.invite_agent(
                db, site=site, email="new@example.com", display_name="New", invited_by=None, valid_hours=72
            )
            feed = await shifts.calendar_feed_url_secret(db, agent)
        return token, feed
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("served")
    variables = environ(directory)
    migrate(variables["WEFT_DATABASE_URL"], "head")
    token, feed = asyncio.run(secrets_in(variables["WEFT_DATABASE_URL"]))
    server = ServedWeft(variables, directory / "server.log")
    server.start()
    try:
        yield Served(server=server, invitation_token=token, feed_secret=feed)
    finally:
        server.stop()


def the_app(directory: Path) -> Litestar:
    return create_app(load_settings(environ(directory)))


def secret_routes(app: Litestar) -> list[tuple[str, str]]:
    """Every route and method with a path parameter that carries a secret."""
    return [
        (route.path, method)
        for route in app.routes
        if SECRET_PATH_PARAMETERS & set(route.path_parameters)
        for method in sorted(getattr(route, "methods", ())) or ["GET"]
        if method in {"GET", "POST", "PUT", "DELETE"}
    ]


def filled(template: str, secret: str) -> str:
    """A route's path with ``secret`` in its secret parameters and a number in the rest."""

    def value(found: re.Match[str]) -> str:
        return secret if found.group(1) in SECRET_PATH_PARAMETERS else "1"

    return re.sub(r"\{(\w+):\w+\}", value, template)


def test_every_path_parameter_named_like_a_secret_is_declared_one_or_known_not_to_be(tmp_path: Path) -> None:
    app = the_app(tmp_path)
    names = {
        name
        for route in app.routes
        for name, parameter in route.path_parameters.items()
        if SECRET_LIKE.search(name) and parameter.type is str  # a number is a row's id, never a credential
    }
    undecided = names - SECRET_PATH_PARAMETERS - set(NOT_SECRETS)
    assert undecided == set(), "add each to SECRET_PATH_PARAMETERS (core/web.py) or, if it is public, to NOT_SECRETS"
    templates = {path for path, _method in secret_routes(app)}
    assert {"/invite/{token:str}", "/calendar/{feed:str}"} <= templates


def test_no_secret_from_a_path_or_a_query_reaches_the_log(served: Served, tmp_path: Path) -> None:
    secrets = [served.invitation_token, served.feed_secret]
    assert served.get(f"/invite/{served.invitation_token}").status_code == 200
    assert served.get(f"/calendar/{served.feed_secret}.ics").status_code == 200
    for template, method in [*secret_routes(the_app(tmp_path)), ("/test/crash/{token:str}", "GET")]:
        secret = f"fake{uuid.uuid4().hex}"
        secrets.append(secret)
        httpx.request(method, served.server.base_url + filled(template, secret), timeout=10)
    for query in ["/login?next=/app&token={}", "/app/shifts?key={}", "/api/v1/me?code={}&access_token={}"]:
        secret = f"fake{uuid.uuid4().hex}"
        secrets.append(secret)
        served.get(query.replace("{}", secret))
    log = served.server.log()
    assert [secret for secret in secrets if secret in log] == []
    for redacted in ["/invite/[redacted]", "/calendar/[redacted]", "/test/crash/[redacted]", "token=[redacted]"]:
        assert redacted in log
    assert "next=/app" in log  # what is not a secret stays readable


def test_a_500_is_logged_once_with_the_request_id_the_user_sees(served: Served) -> None:
    answer = served.get("/test/crash", headers={"accept": "application/json"})
    assert answer.status_code == 500
    request_id = answer.json()["request_id"]
    assert request_id == answer.headers["x-request-id"]
    log = served.server.log()
    assert log.count("RuntimeError: the test route failed on purpose") == 1
    lines = log.splitlines()
    tracebacks = [n for n, line in enumerate(lines) if line.startswith(TRACEBACK)]
    ours = [n for n in tracebacks if request_id in lines[n - 1]]
    assert len(ours) == 1
    access = [line for line in lines if '"GET /test/crash HTTP/1.1" 500' in line]
    assert len(access) == 1
    assert request_id in access[0]


def test_every_line_written_while_serving_a_request_carries_its_id(served: Served) -> None:
    answers = [served.get("/healthz"), served.get("/no/such/page"), served.get("/login")]
    lines = served.server.log().splitlines()
    for answer in answers:
        request_id = answer.headers["x-request-id"]
        path = answer.request.url.path
        assert [line for line in lines if f'"GET {path} HTTP/1.1"' in line and request_id in line], path
