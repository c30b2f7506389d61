"""What Weft's own scripts cost a phone: each hand-written one travels gzipped, the smallest too, and a script
used by a few pages (the copy buttons') is loaded only there, not on every page."""

from __future__ import annotations

import re

import httpx

from backend.accounts.models import Role
from backend.app import STATIC_DIR
from tests.conftest import Factory, login

SCRIPT = re.compile(r"""<script src="/static/([^"?]+)""")


def scripts_of(page: str) -> set[str]:
    return set(SCRIPT.findall(page))


async def test_every_hand_written_script_travels_compressed(client: httpx.AsyncClient) -> None:
    names = sorted(path.name for path in STATIC_DIR.glob("*.js") if path.name not in {"htmx.min.js", "sw.js"})
    assert "copy.js" in names
    for name in names:
        answer = await client.get(f"/static/{name}", headers={"accept-encoding": "gzip"})
        assert answer.status_code == 200, name
        assert answer.headers.get("content-encoding") == "gzip", f"{name} is sent uncompressed"
        assert answer.content == (STATIC_DIR / name).read_bytes(), name
    worker = await client.get("/sw.js", headers={"accept-encoding": "gzip"})
    assert worker.headers.get("content-encoding") == "gzip"


async def test_the_copy_script_loads_only_on_pages_with_copy_buttons(
    client: httpx.AsyncClient, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    home = (await client.get("/app")).text
    assert "pwa.js" in scripts_of(home)
    assert "copy.js" not in scripts_of(home)
    assert "copy.js" not in scripts_of((await client.get("/app/earnings")).text)
    # My schedule receives its calendar addresses' copy buttons in an htmx swap, where scripts do not run
    assert "copy.js" in scripts_of((await client.get("/app/shifts")).text)
    subscribed = await client.post(
        "/app/shifts/calendar", data={"_csrf_token": client.cookies["weft_csrf"]}, headers={"hx-request": "true"}
    )
    assert 'data-copy="#feed-webcal"' in subscribed.text
    assert "<script" not in subscribed.text

    admin = await people.make(Role.admin)
    client.cookies.clear()
    await login(client, admin.email)
    assert "copy.js" in scripts_of((await client.get("/admin/tokens")).text)
