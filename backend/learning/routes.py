"""The learning domain's web edge: the agent's Learn tab, course authoring, and the case library."""

from __future__ import annotations

from litestar import Router

from backend.learning.api_routes import router as learning_api_router
from backend.learning.authoring_routes import router as authoring_router
from backend.learning.case_routes import router as case_router
from backend.learning.learn_routes import router as learn_router

router = Router(path="/", route_handlers=[learn_router, authoring_router, case_router, learning_api_router])
