"""Schemathesis against the API's own OpenAPI document: every operation, as every role.

An outside probe once found 855 server errors (854 of them ids past 2**63) and a document that did not
describe the answers. This keeps such things found: schemathesis reads ``/api/schema/openapi.json`` from
the app, generates requests from it (valid ones and invalid ones: wrong types, numbers out of bounds,
missing fields), sends each as an agent, a coordinator, finance and an admin, and checks that no answer
is a 5xx, that each status is one the document lists for the operation and that each body matches the
documented schema. The world is the demo site (``weft demo``) on its own SQLite file, with an API token
per role; the requests change it as they go, as real clients would.

``make test`` runs a few examples per operation with a fixed seed (derandomized, so a run is repeatable);
``make fuzz`` runs many more (``WEFT_FUZZ_EXAMPLES``) and adds the other checks that judge one answer.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import HOST, ASGIClient
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from backend.accounts import tokens
from backend.accounts.models import User
from backend.app import create_app
from backend.core.db import Database
from backend.core.migrate import migrate
from backend.core.settings import Settings, load_settings
from backend.demo import DEMO_LOGINS, load_demo
from tests.conftest import BASE_URL, fresh_sqlite_database

ASGI_BASE_URL = f"http://{HOST}"
ROLES = ("agent", "coordinator", "finance", "admin")
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# ``make fuzz`` (WEFT_FUZZ_ALL_CHECKS=1) adds the other checks that judge one answer (content types, headers,
# whether invalid data is refused and valid data accepted): worth reading, not all of them bugs. Checks that
# send more requests of their own (ignored_auth, use_after_free...) would go over the network, not in process.
MORE_CHECKS = [
    content_type_conformance,
    response_headers_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    missing_required_header,
]
if os.environ.get("WEFT_FUZZ_ALL_CHECKS") == "1":
    CHECKS += MORE_CHECKS
EXAMPLES_PER_OPERATION = int(os.environ.get("WEFT_FUZZ_EXAMPLES", "5"))


class FuzzedSite(msgspec.Struct, frozen=True):
    settings: Settings
    headers: dict[str, dict[str, str]]
    """Authorization headers by role."""


async def _demo_with_tokens(settings: Settings) -> dict[str, dict[str, str]]:
    database = Database.from_url(settings.database_url)
    try:
        async with database.session(write=True) as session:
            await load_demo(session, settings)
            headers = {}
            for role, email, _password in DEMO_LOGINS:
                if role in ROLES:
                    user = await session.scalar(select(User).where(User.email == email))
                    assert user is not None, email
                    _token, secret = await tokens.create_token(session, user=user, name="fuzz")
                    headers[role] = {"Authorization": f"Bearer {secret}"}
        return headers
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
def fuzzed_site(tmp_path_factory: pytest.TempPathFactory) -> FuzzedSite:
    """The demo site on a fresh SQLite file of its own, and a token for each role."""
    directory: Path = tmp_path_factory.mktemp("fuzz")
    url = fresh_sqlite_database(directory)
    migrate(url, "head")
    site_settings = load_settings(
        {
            "WEFT_DATABASE_URL": url,
            "WEFT_SECRET_KEY": "fuzz-secret-key-" + "x" * 32,
            "WEFT_DATA_DIR": str(directory),
            "WEFT_BASE_URL": BASE_URL,
        }
    )
    return FuzzedSite(settings=site_settings, headers=asyncio.run(_demo_with_tokens(site_settings)))


@pytest.fixture(scope="module")
def served_app(fuzzed_site: FuzzedSite) -> Iterator[ASGIClient]:
    """The app over the fuzzed site, called in process (its lifespan runs for the module's tests)."""
    with ASGIClient(create_app(fuzzed_site.settings)) as client:
        yield client


def served_document() -> dict[str, object]:
    """The document ``/api/schema/openapi.json`` serves: the app renders this very dict. It is read at
    collection, when no database exists yet, so it comes from an app that never opens its database."""
    unused = load_settings({"WEFT_SECRET_KEY": "x" * 48, "WEFT_DATABASE_URL": "sqlite+aiosqlite:///:memory:"})
    document = create_app(unused).openapi_schema.to_schema()
    # In path order: every xdist worker must collect the same tests in the same order.
    return {**document, "paths": dict(sorted(document["paths"].items()))}


# Revoking tokens by id would revoke the run's own, and every later answer would be a 401; the revocation
# rules have their own tests (test_tokens_and_invitations.py).
schema = schemathesis.openapi.from_dict(served_document()).exclude(method="DELETE", path="/api/v1/tokens/{token_id}")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case, served_app: ASGIClient, fuzzed_site: FuzzedSite
) -> None:
    for role in ROLES:
        case.call_and_validate(
            session=served_app, base_url=ASGI_BASE_URL, headers=fuzzed_site.headers[role], checks=CHECKS
        )
