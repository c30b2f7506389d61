"""The agent's "My schedule" page, its calendar-feed controls, and the public calendar feed itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Response, Router, get, post
from litestar.response import Template

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import User
from backend.accounts.schemas import FormPost
from backend.accounts.site_settings import site_settings
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import day_label, set_locale
from backend.core.security import requires
from backend.core.settings import Settings
from backend.core.templating import is_htmx, page, refused_status
from backend.core.web import AnyRequest, AppSettings, Db, see_other
from backend.shifts import calendar, market, service
from backend.shifts.attendance_routes import (
    AttendanceAdminController,
    AttendanceApiController,
    AttendanceController,
    ReliabilityController,
    schedule_context,
)
from backend.shifts.cover_routes import CoverAgentController, CoverApiController, CoverStaffController
from backend.shifts.intraday_routes import OffersController
from backend.shifts.market_routes import MarketApiController, OpenShiftsController, StaffShiftsController
from backend.shifts.people_routes import PersonWorkController
from backend.shifts.swap_routes import SwapAdminController, SwapApiController, SwapPagesController

PAGE = "shifts/mine.html"
FEED_PATH = "/calendar"
FEED_SUFFIX = ".ics"
FEED_CACHE_CONTROL = "private, max-age=300"


@dataclass(frozen=True)
class FeedAddress:
    """A freshly made feed address, in the two forms calendar apps take; shown once."""

    https: str
    webcal: str

    @classmethod
    def of(cls, settings: Settings, secret: str) -> FeedAddress:
        https = f"{settings.base_url.rstrip('/')}{FEED_PATH}/{secret}{FEED_SUFFIX}"
        return cls(https=https, webcal="webcal://" + https.split("://", 1)[1])


async def schedule_page(
    request: AnyRequest,
    db: Db,
    user: User,
    *,
    new_feed: FeedAddress | None = None,
    revoked: bool = False,
    released: bool = False,
    error: DomainError | None = None,
) -> Template:
    now = utcnow()
    schedule = await service.upcoming_and_past(db, user=user, now=now)
    cutoff = dt.timedelta(hours=site_settings(await accounts.get_site(db, user.site_id)).release_cutoff_hours)
    context = {
        "tab": "shifts",
        "user": user,
        "schedule": schedule,
        "day_label": lambda day: day_label(day, schedule.today),
        "feed": await service.calendar_feed_of(db, user_id=user.id),
        "new_feed": new_feed,
        "revoked": revoked,
        "released": released,
        "error": error,
        "can_release": lambda item: item.starts - cutoff > now,
        "cutoff_hours": int(cutoff.total_seconds() // 3600),
        **await schedule_context(db, user),
    }
    return page(request, PAGE, context, status_code=refused_status(request, error))


class ScheduleController(Controller):
    """The agent's Shifts tab: what they work next, what they worked, and their calendar feed."""

    path = "/app/shifts"
    include_in_schema = False
    guards = [requires("agent")]

    @get("/", name="shifts:mine")
    async def show(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, revoked: bool = False, released: bool = False
    ) -> Template:
        return await schedule_page(request, db, current_user, revoked=revoked, released=released)

    @post("/{shift_id:int}/release", name="shifts:release", status_code=200)
    async def release(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_id: PathId, data: FormPost
    ) -> Any:
        """Give a shift back before the cutoff; the schedule shows the refusal after it (409 without htmx)."""
        try:
            async with db.begin_nested():
                await market.release_shift(db, shift_id=shift_id, agent=current_user, now=utcnow())
        except DomainError as error:
            return await schedule_page(request, db, current_user, error=error)
        if is_htmx(request):
            response = await schedule_page(request, db, current_user, released=True)
            response.headers["HX-Trigger"] = "shift-released"  # open-shift lists on the page re-read themselves
            return response
        return see_other("/app/shifts?released=1")

    @post("/calendar", name="shifts:calendar-subscribe", status_code=200)
    async def subscribe(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, settings: AppSettings, data: FormPost
    ) -> Template:
        """Make (or replace) the feed address and show it this once.

        The page is the answer, not a redirect: only the hash is kept, so a redirect would have to
        carry the secret in its URL (and into the browser's history).
        """
        secret = await service.calendar_feed_url_secret(db, current_user)
        response = await schedule_page(request, db, current_user, new_feed=FeedAddress.of(settings, secret))
        response.headers["Cache-Control"] = "no-store"
        return response

    @post("/calendar/revoke", name="shifts:calendar-revoke", status_code=200)
    async def revoke(self, request: AnyRequest, db: Db, current_user: CurrentUser, data: FormPost) -> Any:
        await service.revoke_calendar_feed(db, current_user)
        if is_htmx(request):
            return await schedule_page(request, db, current_user, revoked=True)
        return see_other("/app/shifts?revoked=1")


class CalendarFeedController(Controller):
    """Public on purpose: calendar apps cannot sign in, so the secret in the address is the credential."""

    path = FEED_PATH
    include_in_schema = False

    @get("/{feed:str}", name="shifts:calendar-feed")
    async def feed(self, db: Db, feed: str) -> Response[bytes]:
        secret = feed.removesuffix(FEED_SUFFIX)
        if secret == feed:
            raise NotFound("calendar feed")
        user = await service.user_for_feed(db, secret)
        set_locale(user.locale)  # the caller is an app with no session: speak the agent's language
        now = utcnow()
        body = calendar.shifts_calendar(
            await service.feed_shifts(db, user_id=user.id, now=now),
            user_id=user.id,
            display_name=user.display_name,
            locale=user.locale,
            now=now,
        )
        return Response(
            content=body,
            media_type="text/calendar",  # Litestar adds "; charset=utf-8" to text types
            headers={"Cache-Control": FEED_CACHE_CONTROL},
        )


router = Router(
    path="/",
    route_handlers=[
        ScheduleController,
        OpenShiftsController,
        StaffShiftsController,
        MarketApiController,
        SwapPagesController,
        SwapAdminController,
        SwapApiController,
        AttendanceController,
        ReliabilityController,
        AttendanceAdminController,
        AttendanceApiController,
        CoverAgentController,
        CoverStaffController,
        CoverApiController,
        OffersController,
        CalendarFeedController,
        PersonWorkController,
    ],
)
