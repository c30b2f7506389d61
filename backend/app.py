"""create_app(settings) -> Litestar: the one place that knows every domain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.static_files import create_static_files_router

import backend.accounts.audit  # noqa: F401 - registers the audit flush hook
from backend.accounts.auth import authentication_middleware
from backend.accounts.dependencies import DEPENDENCIES as ACCOUNT_DEPENDENCIES
from backend.accounts.routes import router as accounts_router
from backend.availability.routes import router as availability_router
from backend.certifications.routes import router as certifications_router
from backend.core.db import Database
from backend.core.health import healthz
from backend.core.i18n import ROOT, set_locale
from backend.core.json_body import StrictJsonRequest
from backend.core.openapi import document_api, openapi_config
from backend.core.pwa import pwa_headers
from backend.core.pwa import router as pwa_router
from backend.core.security import csrf_config, security_headers
from backend.core.settings import Settings, load_settings
from backend.core.templating import negotiate_locale, template_config
from backend.core.web import (
    DEPENDENCIES,
    EXCEPTION_HANDLERS,
    SECRET_PATHS,
    AnyRequest,
    RequestIdFilter,
    SecretPathFilter,
    database_of,
    request_id_middleware,
    response_headers_hook,
)
from backend.demand.routes import router as demand_router
from backend.growth.routes import router as growth_router
from backend.handover.routes import router as handover_router
from backend.home.routes import router as home_router
from backend.learning.routes import router as learning_router
from backend.notify import keys
from backend.notify.routes import router as notify_router
from backend.ops.routes import router as ops_router
from backend.pay.quotes import DEPENDENCIES as PAY_DEPENDENCIES
from backend.pay.routes import router as pay_router
from backend.payouts.agent_routes import router as payouts_agent_router
from backend.payouts.finance_routes import router as payouts_finance_router
from backend.payouts.gateway import close_gateways
from backend.payouts.transfer_routes import router as payouts_transfer_router
from backend.payouts.webhooks import router as payouts_webhook_router
from backend.requests.routes import router as requests_router
from backend.roster.jobs import SolveJobs
from backend.roster.routes import router as roster_router
from backend.shifts.routes import router as shifts_router
from backend.work.routes import router as work_router
from backend.worker import PushWorker

STATIC_DIR = ROOT / "web" / "static"
COMPRESS_FROM_BYTES = 512  # the smallest hand-written script (copy.js, ~600 bytes) still travels gzipped
ROUTERS = [
    healthz,
    accounts_router,
    home_router,
    certifications_router,
    availability_router,
    demand_router,
    roster_router,
    shifts_router,
    handover_router,
    notify_router,
    learning_router,
    growth_router,
    work_router,
    pay_router,
    payouts_agent_router,
    payouts_finance_router,
    payouts_transfer_router,
    payouts_webhook_router,
    ops_router,
    requests_router,
]


def configure_logging() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    logger = logging.getLogger("weft")
    if not logger.handlers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, SecretPathFilter) for f in access.filters):
        access.addFilter(SecretPathFilter())


async def _choose_locale(request: AnyRequest) -> None:
    set_locale(negotiate_locale(request))


def create_app(settings: Settings | None = None, database: Database | None = None) -> Litestar:
    """Build the web app; tests pass a ``database`` bound to their own transaction."""
    settings = settings or load_settings()
    owns_database = database is None
    database = database or Database.from_url(settings.database_url)
    configure_logging()
    solves = SolveJobs(database, processes=settings.solver_processes)

    @asynccontextmanager
    async def lifespan(served: Litestar) -> AsyncIterator[None]:
        SECRET_PATHS.learn(route.path for route in served.routes)  # before the first access-log line
        await keys.prepare_vapid_key(database, settings)  # so GET /api/v1/push/key only reads (best effort)
        pushes = None
        if settings.runs_push_in_process:
            worker = PushWorker(database, settings)
            pushes = asyncio.create_task(worker.run(), name="weft-push-sender")
        try:
            yield
        finally:
            if pushes is not None:
                worker.stop()
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(pushes, timeout=15)
            await solves.close()
            await close_gateways()
            if owns_database:
                await database.dispose()

    static = create_static_files_router(
        path="/static", directories=[STATIC_DIR], name="static", cache_control=None, include_in_schema=False
    )
    app = Litestar(
        route_handlers=[*ROUTERS, pwa_router, static],
        dependencies={**DEPENDENCIES, **ACCOUNT_DEPENDENCIES, **PAY_DEPENDENCIES},
        middleware=[request_id_middleware, authentication_middleware(database_of, secure_cookies=settings.is_https)],
        before_send=[pwa_headers, response_headers_hook(security_headers(settings))],
        csrf_config=csrf_config(settings),
        template_config=template_config(),
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=_choose_locale,
        compression_config=CompressionConfig(backend="gzip", minimum_size=COMPRESS_FROM_BYTES),
        openapi_config=openapi_config(),
        request_class=StrictJsonRequest,
        lifespan=[lifespan],
        logging_config=None,  # configure_logging's handlers only: Litestar's own would print each traceback again
        debug=False,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.solves = solves
    document_api(app)
    return app


def create_app_from_env() -> Litestar:
    """Factory for ASGI servers (``uvicorn --factory backend.app:create_app_from_env``)."""
    return create_app()
