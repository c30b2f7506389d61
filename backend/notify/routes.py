"""The inbox page, notification preferences and the Web Push subscription API."""

from __future__ import annotations

from litestar import Router

router = Router(path="/", route_handlers=[])
