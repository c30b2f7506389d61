"""Every route declares who may use it: a role guard, or a place on the short public list."""

from __future__ import annotations

from pathlib import Path

from litestar.routes import HTTPRoute

from backend.app import create_app
from backend.core.settings import load_settings

PUBLIC_PATHS = {
    "/",
    "/login",
    "/logout",
    "/locale",
    "/invite/{token:str}",
    "/calendar/{feed:str}",  # a calendar app's subscription: the secret in the address is the credential
    "/static",
    "/api/schema",
    "/healthz",  # liveness: no data, no database
    "/sw.js",  # the service worker and the manifest: a browser fetches them without credentials
    "/manifest.webmanifest",
    "/offline",  # the offline page the service worker saves at install, in both languages, before anyone signs in
    "/stripe/webhook",  # Stripe's events: the signature over the raw body (the endpoint's secret) is the credential
    "/stripe/connect-webhook",
}


def test_every_non_public_route_has_a_guard(tmp_path: Path) -> None:
    app = create_app(load_settings({"WEFT_DATA_DIR": str(tmp_path)}))
    unguarded = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or any(route.path.startswith(p) for p in ("/static", "/api/schema")):
            continue
        for handler in route.route_handlers:
            if handler.http_methods == {"OPTIONS"}:
                continue  # CORS preflight, answered by Litestar itself
            if not handler.resolve_guards() and route.path not in PUBLIC_PATHS:
                unguarded.append(route.path)
    assert unguarded == []


def test_public_list_is_not_stale(tmp_path: Path) -> None:
    app = create_app(load_settings({"WEFT_DATA_DIR": str(tmp_path)}))
    paths = {route.path for route in app.routes}
    assert PUBLIC_PATHS - {"/static", "/api/schema"} <= paths
