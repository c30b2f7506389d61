"""The two files a progressive web app needs at the site's root: the service worker and the manifest.

The worker is served from ``/sw.js`` (not ``/static``) so its scope is the whole
site, and never cached by HTTP so a new version reaches phones at the next visit.
"""

from __future__ import annotations

from litestar import Response, Router, get

from backend.core.i18n import ROOT

STATIC_DIR = ROOT / "web" / "static"
SERVICE_WORKER = STATIC_DIR / "sw.js"
MANIFEST = STATIC_DIR / "manifest.webmanifest"


@get("/sw.js", name="pwa:service-worker", include_in_schema=False, sync_to_thread=False)
def service_worker() -> Response[bytes]:
    return Response(
        SERVICE_WORKER.read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


@get("/manifest.webmanifest", name="pwa:manifest", include_in_schema=False, sync_to_thread=False)
def manifest() -> Response[bytes]:
    return Response(
        MANIFEST.read_bytes(),
        media_type="application/manifest+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )


router = Router(path="/", route_handlers=[service_worker, manifest])
