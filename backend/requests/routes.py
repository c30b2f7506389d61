"""Every requests page and API route, collected in one router (``backend.app`` registers it)."""

from __future__ import annotations

from litestar import Router

from backend.requests.api import RequestApiController
from backend.requests.dispute_routes import DisputeFormController, DisputeStaffController
from backend.requests.routes_app import AskerController
from backend.requests.routes_board import BoardController
from backend.requests.routes_staff import RequestSettingsController, StaffRequestsController

router = Router(
    path="/",
    route_handlers=[
        # Each part adds its controllers here, one per line.
        RequestApiController,
        AskerController,
        BoardController,
        StaffRequestsController,
        RequestSettingsController,
        DisputeFormController,
        DisputeStaffController,
    ],
)
