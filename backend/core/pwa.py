"""What makes Weft an installable, offline-capable web app: the service worker, the manifest, the offline page
and the caching headers of static files.

The worker is served from ``/sw.js`` (not ``/static``) so its scope is the whole site, and never cached by HTTP.
Its bytes carry a version made from the hashes of the shell it precaches, so a deploy that changes any shell
file changes ``sw.js`` and phones pick the new worker up at their next visit (``Shell.version``).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any
from urllib.parse import parse_qs

from litestar import Request, Response, Router, get
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import MediaType
from litestar.response import Template
from litestar.types import Message, Scope

from backend.core.i18n import LOCALES, current_locale, set_locale
from backend.core.i18n import gettext as _
from backend.core.security import Principal, hash_secret
from backend.core.templating import STATIC, WEB_TEMPLATES, StaticFiles

SERVICE_WORKER_NAME = "sw.js"
CONFIG_PLACEHOLDER = "/*WEFT_CONFIG*/{}"
OUTBOX_NAMES = ("outbox-store.js", "outbox.js")  # the store first: outbox.js builds on it
SHELL_ICONS = ("icons/icon-192.png", "icons/icon-512.png", "icons/maskable-512.png", "icons/icon-96.png")
OFFLINE_PAGE = "offline.html"
STATIC_PREFIX = "/static/"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE_SOON = "public, max-age=300"
READER_HEADER = "x-weft-reader"
READER_LANGUAGE_HEADER = "x-weft-lang"
THEME_COLOUR = "#0f5c4d"
BACKGROUND_COLOUR = "#f6f7f5"


def offline_url(locale: str) -> str:
    return f"/offline?lang={locale}"


class Shell:
    """The files a phone keeps to open Weft without the network: styles, scripts, icons and the offline page."""

    def __init__(self, static: StaticFiles) -> None:
        self.static = static
        self.version = cache(self._version)

    def static_names(self) -> list[str]:
        """Every stylesheet and script at the top of ``/static`` (not the worker itself) and the icons."""
        top = sorted(
            path.name
            for path in self.static.directory.iterdir()
            if path.suffix in {".css", ".js"} and path.name != SERVICE_WORKER_NAME
        )
        return [*top, "icon.svg", *SHELL_ICONS]

    def urls(self) -> list[str]:
        return [*(self.static.url(name) for name in self.static_names()), *(offline_url(x) for x in LOCALES)]

    def _version(self) -> str:
        """Changes when any shell file, the offline page or the worker's own code changes (once per process)."""
        digest = hashlib.sha256()
        for name in [*self.static_names(), SERVICE_WORKER_NAME]:
            digest.update(f"{name}={self.static.content_hash(name)};".encode())
        digest.update((WEB_TEMPLATES / OFFLINE_PAGE).read_bytes())
        return digest.hexdigest()[:12]

    def worker_source(self) -> str:
        """``sw.js`` with its configuration written in: the cache version and what to precache."""
        config = {
            "version": self.version(),
            "shell": self.urls(),
            "outbox": [self.static.url(name) for name in OUTBOX_NAMES if self.static.exists(name)],
            "offline": {locale: offline_url(locale) for locale in LOCALES},
            "icon": self.static.url("icons/icon-192.png"),
        }
        source = (self.static.directory / SERVICE_WORKER_NAME).read_text(encoding="utf-8")
        return source.replace(CONFIG_PLACEHOLDER, json.dumps(config, separators=(",", ":")), 1)


SHELL = Shell(STATIC)


def shell_of(request: Request[Any, Any, Any]) -> Shell:
    """The app's shell; a test may give an app a shell over another copy of the static files (a deploy)."""
    return getattr(request.app.state, "shell", None) or SHELL


@get("/sw.js", name="pwa:service-worker", include_in_schema=False, sync_to_thread=False)
def service_worker(request: Request[Any, Any, Any]) -> Response[str]:
    return Response(
        shell_of(request).worker_source(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


def manifest_of(static: StaticFiles, locale: str) -> dict[str, Any]:
    """The web app manifest in the reader's language: what Android and desktop Chromium need to install Weft."""

    def icon(name: str, size: int, purpose: str = "any") -> dict[str, str]:
        return {"src": static.url(name), "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}

    shortcut_icons = [icon("icons/icon-96.png", 96)]
    return {
        "id": "/app",
        "name": _("Weft"),
        "short_name": _("Weft"),
        "description": _("Shifts, availability and pay for part-time contact-centre agents"),
        "lang": locale,
        "dir": "ltr",
        "start_url": "/app",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": BACKGROUND_COLOUR,
        "theme_color": THEME_COLOUR,
        "icons": [
            {"src": static.url("icon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
            icon("icons/icon-192.png", 192),
            icon("icons/icon-512.png", 512),
            icon("icons/maskable-512.png", 512, "maskable"),
        ],
        "shortcuts": [
            {"name": _("My schedule"), "url": "/app/shifts", "icons": shortcut_icons},
            {"name": _("Open shifts"), "url": "/app/shifts/open", "icons": shortcut_icons},
        ],
        "screenshots": [
            {
                "src": static.url("screenshots/home-narrow.png"),
                "sizes": "360x800",
                "type": "image/png",
                "form_factor": "narrow",
                "label": _("Home: your next shift, hours and open shifts"),
            },
            {
                "src": static.url("screenshots/home-wide.png"),
                "sizes": "1280x800",
                "type": "image/png",
                "form_factor": "wide",
                "label": _("Home: your next shift, hours and open shifts"),
            },
        ],
    }


@get("/manifest.webmanifest", name="pwa:manifest", include_in_schema=False, sync_to_thread=False)
def manifest() -> Response[bytes]:
    """Rendered per language (the page links it with credentials, so it is the signed-in user's language)."""
    body = manifest_of(STATIC, current_locale())
    return Response(
        json.dumps(body, ensure_ascii=False).encode(),
        media_type="application/manifest+json",
        headers={"Cache-Control": "public, max-age=3600", "Vary": "Cookie, Accept-Language"},
    )


@get("/offline", name="pwa:offline", include_in_schema=False, sync_to_thread=False)
def offline(lang: str = "") -> Template:
    """The page the worker shows for a page it has not kept, in both languages (it precaches both)."""
    set_locale(lang if lang in LOCALES else "en")
    return Template(template_name=OFFLINE_PAGE, context={}, media_type=MediaType.HTML)


def reader_key(principal: Principal) -> str:
    """Names the signed-in reader's page cache in the worker, without putting their id on show."""
    return hash_secret(f"weft-reader:{principal.user_id}")[:16]


def static_cache_control(path: str, query_string: bytes, static: StaticFiles = STATIC) -> str:
    """A year and ``immutable`` for a fingerprinted address whose hash is the file's; a few minutes otherwise."""
    name = path.removeprefix(STATIC_PREFIX)
    version = parse_qs(query_string.decode("latin-1")).get("v", [""])[0]
    try:
        current = static.content_hash(name)
    except FileNotFoundError:
        return REVALIDATE_SOON
    return IMMUTABLE if version == current else REVALIDATE_SOON


async def pwa_headers(message: Message, scope: Scope) -> None:
    """A before-send hook: caching headers for static files, and for a signed-in reader's answers the
    headers the worker files their pages under (whose cache, which language)."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    if scope["path"].startswith(STATIC_PREFIX) and message["status"] < 400:
        headers["Cache-Control"] = static_cache_control(scope["path"], scope.get("query_string", b""))
    principal = scope.get("user")
    if isinstance(principal, Principal):
        headers[READER_HEADER] = reader_key(principal)
        headers[READER_LANGUAGE_HEADER] = principal.locale


router = Router(path="/", route_handlers=[service_worker, manifest, offline])
