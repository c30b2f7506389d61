"""Ids and other whole numbers that cross the edge are bounded, so an impossible one is a 404 or a 422.

A number past what a table holds (2**63 and more) used to reach the database driver and overflow: a 500
on every route with an id. These tests take the routes from the app itself, so a route added later is
held to the same rule without anyone listing it here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.params import ParameterKwarg
from litestar.routes import HTTPRoute
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role
from backend.core.bounds import ID_MAX
from backend.core.security import API_PREFIX
from tests.conftest import Factory, csrf_token, login
from tests.factories import bearer

IMPOSSIBLE_IDS = (2**63, 2**64, -1)
PROBED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PATH_PARAMETER = re.compile(r"\{([a-z_]+):([a-z]+)\}")
# A stand-in for each other kind of path parameter, so only the number under test is out of bounds.
PLAIN_VALUES = {"str": "x", "path": "x", "date": "2030-01-07"}


def number_routes(app: Litestar) -> Iterator[tuple[str, str]]:
    """(method, path template) of every route with a whole number in its path."""
    for route in app.routes:
        if isinstance(route, HTTPRoute) and any(p.type is int for p in route.path_parameters.values()):
            for method in sorted(route.methods & set(PROBED_METHODS)):
                yield method, route.path


def filled(template: str, number: int) -> str:
    def value(found: re.Match[str]) -> str:
        return str(number) if found.group(2) == "int" else PLAIN_VALUES.get(found.group(2), "x")

    return PATH_PARAMETER.sub(value, template)


def unbounded_numbers(app: Litestar) -> list[str]:
    """Every whole-number path or query parameter of a handler that does not say how large it may be."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for name, field in handler.parsed_fn_signature.parameters.items():
                if field.annotation is not int and not any(inner.annotation is int for inner in field.inner_types):
                    continue
                kwarg = field.kwarg_definition
                bounded = isinstance(kwarg, ParameterKwarg) and kwarg.ge is not None and kwarg.le is not None
                if not bounded or kwarg.le > ID_MAX:  # type: ignore[union-attr, operator]
                    found.append(f"{route.path} {handler.fn.__name__}({name})")
    return sorted(set(found))


def test_every_whole_number_in_a_path_or_query_is_bounded(app: Litestar) -> None:
    assert list(number_routes(app)), "the app has routes with ids"
    assert unbounded_numbers(app) == []


@pytest.mark.parametrize("number", IMPOSSIBLE_IDS)
async def test_an_impossible_id_is_not_found_or_refused_on_every_route(
    app: Litestar, client: httpx.AsyncClient, db: AsyncSession, people: Factory, number: int
) -> None:
    admin = await people.make(Role.admin)
    api_headers = await bearer(db, admin)
    await login(client, admin.email)
    page_headers = {"x-csrftoken": await csrf_token(client, "/")}
    answers: dict[str, Any] = {}
    for method, template in number_routes(app):
        path = filled(template, number)
        headers = api_headers if path.startswith(API_PREFIX) else page_headers
        response = await client.request(method, path, headers=headers)
        answers[f"{method} {template}"] = response.status_code
        if path.startswith(API_PREFIX) and response.status_code == 422:
            assert response.json()["request_id"], path
    wrong = {route: status for route, status in answers.items() if status not in (404, 422)}
    assert wrong == {}


@pytest.mark.parametrize("number", IMPOSSIBLE_IDS)
async def test_an_impossible_id_chosen_in_a_form_or_filter_is_refused_beside_its_field(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, number: int
) -> None:
    """Forms and filters read ids too (an agent picked from a list): one typed into the address bar or a tampered
    form is refused with a 422 that names the field on the page, never an overflow in the driver."""
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    page = await client.get("/admin/work/", params={"agent": str(number)})
    assert page.status_code == 422
    assert "Choose an agent from the list." in page.text
    assert 'name="agent"' in page.text
