"""The pay domain's web edge: finance's periods and exports, agents' earnings, rate cards."""

from __future__ import annotations

from litestar import Router

from backend.pay.earnings_routes import router as earnings_router
from backend.pay.finance_routes import router as finance_router
from backend.pay.rate_routes import router as rate_router

router = Router(path="/", route_handlers=[finance_router, earnings_router, rate_router])
