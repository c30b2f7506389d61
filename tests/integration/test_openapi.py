"""The OpenAPI document matches the API: the error shape it answers, the credentials it takes, the refusals
each operation can give, what an export really is; and a JSON body is read as JSON (a string is no number).

What each operation answers in practice is checked against this document by schemathesis
(``test_api_fuzz.py``); these tests hold the document's own promises.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site
from backend.shifts.models import Shift
from backend.work.models import ExternalAgent
from tests.conftest import Factory
from tests.factories import a_course, a_skill, bearer
from tests.integration.test_market_pages import new_shift_body

SCHEMA_PATH = "/api/schema/openapi.json"
ERROR_ANSWER = "#/components/schemas/ErrorAnswer"
UNSAFE = {"post", "put", "patch", "delete"}


async def api_document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(SCHEMA_PATH)
    assert response.status_code == 200
    return response.json()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", *UNSAFE}
    ]


def error_schemas(response: dict[str, Any]) -> list[str]:
    """The ``$ref``s a documented answer's JSON body may take (one, or each of a ``oneOf``)."""
    schema = response["content"]["application/json"]["schema"]
    return [choice.get("$ref", "") for choice in schema.get("oneOf", [schema])]


async def test_errors_are_documented_in_the_shape_the_api_answers(client: httpx.AsyncClient) -> None:
    document = await api_document(client)
    answer = document["components"]["schemas"]["ErrorAnswer"]
    assert set(answer["required"]) == {"message", "field", "request_id"}
    assert "status_code" not in str(document)  # Litestar's own error shape, which the API never answers

    refused = await client.get("/api/v1/me")  # no credential
    assert refused.status_code == 401
    assert set(refused.json()) >= {"message", "field", "request_id"}


async def test_every_operation_documents_its_refusals(client: httpx.AsyncClient) -> None:
    document = await api_document(client)
    missing = []
    for method, path, operation in operations(document):
        expected = {"401", "403", "503"}
        if "{" in path or method in UNSAFE or operation.get("parameters"):
            expected |= {"404", "422"}
        if method in UNSAFE or "{" in path:  # a write, or an object whose state may not allow it
            expected.add("409")
        responses = operation["responses"]
        missing += [f"{method.upper()} {path} {status}" for status in sorted(expected - set(responses))]
        missing += [
            f"{method.upper()} {path} {status} is not an ErrorAnswer"
            for status in expected & set(responses)
            if ERROR_ANSWER not in error_schemas(responses[status])
        ]
    assert missing == []


async def test_the_credentials_the_api_takes_are_documented(client: httpx.AsyncClient) -> None:
    document = await api_document(client)
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["apiToken"]["description"],
    }
    assert schemes["browserSession"]["in"] == "cookie"
    assert schemes["browserSession"]["name"] == "weft_session"
    for method, path, operation in operations(document):
        offered = [name for requirement in operation["security"] for name in requirement]
        # A cookie alone never writes through the JSON API (it is outside CSRF protection).
        assert offered == (["apiToken"] if method in UNSAFE else ["apiToken", "browserSession"]), (method, path)


async def test_ids_are_documented_with_their_bounds(client: httpx.AsyncClient) -> None:
    document = await api_document(client)
    shift_id = next(
        parameter
        for parameter in document["paths"]["/api/v1/shifts/{shift_id}/claim"]["post"]["parameters"]
        if parameter["name"] == "shift_id"
    )
    assert shift_id["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


async def test_a_course_export_is_documented_and_answered_as_the_course_document(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    document = await api_document(client)
    answer = document["paths"]["/api/v1/courses/{course_id}/export"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CourseContent"}

    course = await a_course(db, site)
    headers = await bearer(db, await people.make(Role.coordinator))
    exported = await client.get(f"/api/v1/courses/{course.id}/export", headers=headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/json")
    assert exported.json()["code"] == course.code


@pytest.mark.parametrize(
    ("field", "value"),
    [("seats", "3"), ("seats", 3.5), ("bonus_minor", "0"), ("bonus_minor", True)],
)
async def test_a_json_body_takes_numbers_as_numbers(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, field: str, value: object
) -> None:
    await a_skill(db, site)
    headers = await bearer(db, await people.make(Role.coordinator))
    refused = await client.post("/api/v1/shifts", json=new_shift_body(**{field: value}), headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field
    assert await db.scalar(select(func.count()).select_from(Shift).where(Shift.site_id == site.id)) == 0

    made = await client.post("/api/v1/shifts", json=new_shift_body(), headers=headers)
    assert made.status_code == 201, made.text


async def test_a_string_is_no_id_in_any_json_body(client: httpx.AsyncClient, db: AsyncSession, people: Factory) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, await people.make(Role.coordinator))
    body = {"source": "genesys", "agents": [{"external_agent_id": "g-1", "agent_id": str(agent.id)}]}
    refused = await client.put("/api/v1/external-agents", json=body, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "agents[0].agent_id"
    assert await db.scalar(select(func.count()).select_from(ExternalAgent)) == 0
