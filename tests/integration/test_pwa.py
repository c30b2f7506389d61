"""Weft as an installable app: fingerprinted static files, HTTP caching, the manifest in the reader's language,
icons that are what they claim, and a service worker whose bytes change when its shell does."""

from __future__ import annotations

import re
import shutil
import struct
from pathlib import Path

import httpx

from backend.accounts.models import Role
from backend.core.pwa import Shell
from backend.core.templating import STATIC, StaticFiles
from tests.conftest import Factory, login

STATIC_REFERENCE = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(body: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (it follows the 8-byte signature and 8 bytes of chunk header)."""
    assert body[:8] == PNG_SIGNATURE, "not a PNG"
    assert body[12:16] == b"IHDR"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


async def test_pages_name_static_files_by_content_and_those_are_kept_a_year(
    client: httpx.AsyncClient, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    page = (await client.get("/app")).text
    references = STATIC_REFERENCE.findall(page)
    assert any(ref.startswith("/static/app.css?v=") for ref in references)
    assert any(ref.startswith("/static/pwa.js?v=") for ref in references)
    for reference in references:
        assert re.search(r"\?v=[0-9a-f]{12}$", reference), f"{reference} is not fingerprinted"
        answer = await client.get(reference)
        assert answer.status_code == 200, reference
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable", reference


async def test_a_static_file_without_its_current_fingerprint_is_kept_only_minutes(client: httpx.AsyncClient) -> None:
    plain = await client.get("/static/app.css")
    stale = await client.get("/static/app.css?v=000000000000")
    assert plain.status_code == stale.status_code == 200
    assert plain.headers["cache-control"] == "public, max-age=300"
    assert stale.headers["cache-control"] == "public, max-age=300"


async def test_pages_for_a_signed_in_agent_are_never_stored_by_http(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    for path in ("/app", "/app/shifts", "/app/earnings"):
        answer = await client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["cache-control"] == "no-store", path
        assert answer.headers["x-weft-reader"], "the worker files a reader's pages under their own cache"
    other = await people.make(Role.agent)
    client.cookies.clear()
    await login(client, other.email)
    assert (await client.get("/app")).headers["x-weft-reader"] != answer.headers["x-weft-reader"]


async def test_signed_out_pages_carry_no_reader(client: httpx.AsyncClient) -> None:
    answer = await client.get("/login")
    assert "x-weft-reader" not in answer.headers


async def test_manifest_is_installable_in_english(client: httpx.AsyncClient) -> None:
    answer = await client.get("/manifest.webmanifest", headers={"accept-language": "en"})
    assert answer.headers["content-type"].startswith("application/manifest+json")
    manifest = answer.json()
    assert manifest["id"] == "/app"
    assert manifest["start_url"] == "/app"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["name"] == "Weft"
    assert manifest["lang"] == "en"
    assert manifest["theme_color"] == "#0f5c4d"
    assert manifest["background_color"] == "#f6f7f5"
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    shortcuts = {shortcut["name"]: shortcut["url"] for shortcut in manifest["shortcuts"]}
    assert shortcuts == {"My schedule": "/app/shifts", "Open shifts": "/app/shifts/open"}
    assert {shot["form_factor"] for shot in manifest["screenshots"]} == {"narrow", "wide"}


async def test_manifest_follows_the_signed_in_agents_language(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent, locale="zh-Hans")
    await login(client, agent.email)
    manifest = (await client.get("/manifest.webmanifest", headers={"accept-language": "en"})).json()
    assert manifest["lang"] == "zh-Hans"
    assert manifest["description"] == "兼职呼叫中心坐席的班次、可用时间与报酬"
    names = [shortcut["name"] for shortcut in manifest["shortcuts"]]
    assert names == ["我的班表", "开放班次"]


async def test_every_manifest_image_is_a_png_of_the_size_it_claims(client: httpx.AsyncClient) -> None:
    manifest = (await client.get("/manifest.webmanifest")).json()
    images = [
        *manifest["icons"],
        *(icon for shortcut in manifest["shortcuts"] for icon in shortcut["icons"]),
        *manifest["screenshots"],
    ]
    for image in images:
        answer = await client.get(image["src"])
        assert answer.status_code == 200, image["src"]
        assert answer.headers["cache-control"].endswith("immutable"), image["src"]
        if image["type"] != "image/png":
            continue
        width, height = png_size(answer.content)
        assert f"{width}x{height}" == image["sizes"], image["src"]


async def test_the_apple_touch_icon_is_180_px(client: httpx.AsyncClient) -> None:
    page = (await client.get("/login")).text
    found = re.search(r'<link rel="apple-touch-icon" sizes="180x180" href="([^"]+)"', page)
    assert found is not None
    assert '<meta name="apple-mobile-web-app-capable" content="yes">' in page
    assert png_size((await client.get(found.group(1))).content) == (180, 180)


async def test_the_worker_precaches_the_shell_and_both_offline_pages(client: httpx.AsyncClient) -> None:
    answer = await client.get("/sw.js")
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["content-type"].startswith("text/javascript")
    for name in ("app.css", "htmx.min.js", "pwa.js", "icons/icon-192.png"):
        assert f'"{STATIC.url(name)}"' in answer.text, name
    assert '"/offline?lang=en"' in answer.text
    assert '"/offline?lang=zh-Hans"' in answer.text
    for lang, words in (("en", "You are offline"), ("zh-Hans", "你已离线")):
        offline = await client.get(f"/offline?lang={lang}")
        assert offline.status_code == 200
        assert words in offline.text


def test_the_worker_changes_when_a_shell_file_changes(tmp_path: Path) -> None:
    copy = tmp_path / "static"
    shutil.copytree(STATIC.directory, copy)
    before = Shell(StaticFiles(copy))
    source_before = before.worker_source()
    with (copy / "app.css").open("a") as css:
        css.write("\n.deployed { color: red; }\n")
    after = Shell(StaticFiles(copy))
    assert after.version() != before.version()
    assert after.worker_source() != source_before
    assert Shell(StaticFiles(copy)).version() == after.version(), "the same files give the same version"
