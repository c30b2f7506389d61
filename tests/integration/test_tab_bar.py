"""The agent's tab bar marks the tab a page belongs to, and none on pages reached from the top bar."""

from __future__ import annotations

import re

import httpx
import pytest

from backend.accounts.models import Role
from tests.conftest import Factory, login

TABBAR = re.compile(r'<nav class="tabbar".*?</nav>', re.DOTALL)


def marked_tabs(page: str) -> list[str]:
    """The hrefs of the tabs shown as current."""
    found = TABBAR.search(page)
    assert found is not None, "no tab bar"
    return re.findall(r'<a href="([^"]+)" class="tab active" aria-current="page"', found.group(0))


@pytest.mark.parametrize(
    ("path", "tab"),
    [
        ("/app/availability", "/app/availability"),
        ("/app/earnings", "/app/earnings"),
        ("/app/inbox", None),
        ("/app/inbox/settings", None),
        ("/app/profile", None),
    ],
)
async def test_a_page_marks_its_own_tab_or_none(
    client: httpx.AsyncClient, people: Factory, path: str, tab: str | None
) -> None:
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    page = await client.get(path)
    assert page.status_code == 200
    assert marked_tabs(page.text) == ([tab] if tab else [])
