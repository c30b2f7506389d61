"""The agent's "My schedule" page, its calendar-feed controls, and the public calendar feed itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from babel.dates import format_skeleton
from litestar import Controller, Request, Response, Router, get, post
from litestar.response import Template

from backend.accounts import service as accounts
from backend.accounts.models import User
from backend.accounts.schemas import Form
from backend.core.db import utcnow
from backend.core.errors import NotFound
from backend.core.i18n import current_locale, set_locale
from backend.core.i18n import gettext as _
from backend.core.security import requires
from backend.core.settings import Settings
from backend.core.templating import is_htmx, page
from backend.core.web import AppSettings, CurrentPrincipal, Db, FormBody, see_other
from backend.shifts import calendar, service

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


def day_label(day: dt.date, today: dt.date) -> str:
    """A day heading a reader takes in at a glance: Today, Tomorrow, or a short weekday and date."""
    relative = {0: _("Today"), 1: _("Tomorrow"), -1: _("Yesterday")}
    if (label := relative.get((day - today).days)) is not None:
        return label
    return format_skeleton("MMMMEd", day, locale=current_locale().replace("-", "_"))


async def schedule_page(
    request: Request[Any, Any, Any],
    db: Db,
    user: User,
    *,
    new_feed: FeedAddress | None = None,
    revoked: bool = False,
) -> Template:
    schedule = await service.upcoming_and_past(db, user=user, now=utcnow())
    context = {
        "tab": "shifts",
        "user": user,
        "schedule": schedule,
        "day_label": lambda day: day_label(day, schedule.today),
        "feed": await service.calendar_feed_of(db, user_id=user.id),
        "new_feed": new_feed,
        "revoked": revoked,
    }
    return page(request, PAGE, context)


class ScheduleController(Controller):
    """The agent's Shifts tab: what they work next, what they worked, and their calendar feed."""

    path = "/app/shifts"
    include_in_schema = False
    guards = [requires("agent")]

    @get("/", name="shifts:mine")
    async def show(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, revoked: bool = False
    ) -> Template:
        user = await accounts.get_user(db, principal.user_id)
        return await schedule_page(request, db, user, revoked=revoked)

    @post("/calendar", name="shifts:calendar-subscribe", status_code=200)
    async def subscribe(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        settings: AppSettings,
        data: Annotated[Form, FormBody],
    ) -> Template:
        """Make (or replace) the feed address and show it this once.

        The page is the answer, not a redirect: only the hash is kept, so a redirect would have to
        carry the secret in its URL (and into the browser's history).
        """
        user = await accounts.get_user(db, principal.user_id)
        secret = await service.calendar_feed_url_secret(db, user)
        response = await schedule_page(request, db, user, new_feed=FeedAddress.of(settings, secret))
        response.headers["Cache-Control"] = "no-store"
        return response

    @post("/calendar/revoke", name="shifts:calendar-revoke", status_code=200)
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        data: Annotated[Form, FormBody],
    ) -> Any:
        user = await accounts.get_user(db, principal.user_id)
        await service.revoke_calendar_feed(db, user)
        if is_htmx(request):
            return await schedule_page(request, db, user, revoked=True)
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


router = Router(path="/", route_handlers=[ScheduleController, CalendarFeedController])
