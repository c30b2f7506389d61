"""Every ops page in one router (``backend.app.ROUTERS`` takes it): the Today board, intraday actions, the duty
roster, log and hand-over, the daily report, the duty KPIs and the dashboards. Each routes module adds its
controllers here."""

from __future__ import annotations

from litestar import Router

from backend.ops.dashboard_routes import DashboardController
from backend.ops.duty_routes import CONTROLLERS as DUTY_CONTROLLERS
from backend.ops.intraday_routes import IntradayController
from backend.ops.report_routes import ReportController
from backend.ops.today_routes import TodayController

router = Router(
    path="/",
    route_handlers=[TodayController, IntradayController, ReportController, DashboardController, *DUTY_CONTROLLERS],
)
