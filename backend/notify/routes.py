"""The inbox page, notification preferences and the Web Push subscription API.

The browser subscribes through ``/app/push/subscription`` (a session and the CSRF
header, like every page); ``/api/v1/push/subscriptions`` is the same for API
token clients, since the JSON API never takes writes on a browser session.
"""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Router, delete, get, post
from litestar.params import Body
from litestar.response import Template

from backend.core.bounds import PathId
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.security import Principal, signed_in
from backend.core.settings import Settings
from backend.core.slots import known_time_zone
from backend.core.templating import is_htmx, page
from backend.core.web import AnyRequest, AppSettings, CurrentPrincipal, Db, FormBody, see_other
from backend.notify import keys, service
from backend.notify.models import Kind
from backend.notify.schemas import (
    EndpointBody,
    PreferencesForm,
    PushKey,
    SubscriptionAnswer,
    SubscriptionBody,
)

INBOX = "notify/inbox.html"
SETTINGS = "notify/settings.html"
JsonBody = Body(media_type="application/json")
CLOCKS = [f"{hour:02d}:{minute:02d}" for hour in range(24) for minute in (0, 30)]


def kind_labels(role: str = "agent") -> list[tuple[Kind, str]]:
    """The kinds a person of ``role`` receives, to choose which reach their phone: staff alerts for staff."""
    if role != "agent":
        return [
            (Kind.staff_dispute, _("New pay disputes")),
            (Kind.staff_cover_unfilled, _("Cover requests that found nobody")),
            (Kind.staff_unconfirmed, _("Unconfirmed shifts for tomorrow (one summary)")),
            (Kind.staff_late, _("Agents late for their shift")),
            (Kind.staff_handover, _("Missing duty handovers")),
            (Kind.staff_request, _("Requests: new in my teams' queues, questions to me, warnings before a breach")),
            (Kind.request, _("Answers to my own requests")),
        ]
    return [
        (Kind.roster_published, _("Roster published")),
        (Kind.open_shift, _("New open shifts (one digest)")),
        (Kind.cover_request, _("Urgent cover requests")),
        (Kind.shift_reminder, _("Reminders before my shift")),
        (Kind.swap, _("Swap offers and answers")),
        (Kind.waitlist_offer, _("Waitlist offers")),
        (Kind.certification_expiring, _("Certification expiry reminders")),
        (Kind.pay_dispute, _("Answers to my pay questions")),
        (Kind.request, _("Answers to my requests and ideas")),
        (Kind.payout, _("My payouts: money sent, or something to fix")),
        (Kind.shift_change, _("Shifts of mine that were cancelled")),
        (Kind.attendance, _("No-shows marked on my shifts")),
        (Kind.intraday_offer, _("Time off or extra time offered today")),
    ]


def zone_of(principal: Principal) -> ZoneInfo:
    return known_time_zone(principal.timezone) or ZoneInfo("UTC")


async def save_subscription(
    request: AnyRequest, db: Any, principal: Principal, settings: Settings, data: SubscriptionBody
) -> SubscriptionAnswer:
    await service.check_subscription(
        endpoint=data.endpoint,
        p256dh=data.keys.p256dh,
        auth=data.keys.auth,
        allow_private_hosts=settings.push_allow_private_hosts,
    )
    row = await service.subscribe(
        db,
        user_id=principal.user_id,
        endpoint=data.endpoint,
        p256dh=data.keys.p256dh,
        auth=data.keys.auth,
        user_agent=request.headers.get("user-agent", ""),
    )
    return SubscriptionAnswer(id=row.id, endpoint=row.endpoint, created_at=row.created_at)


class InboxController(Controller):
    """Everything sent to the signed-in user, newest first, and what reaches their phone."""

    path = "/app/inbox"
    include_in_schema = False
    guards = [signed_in]

    async def _inbox(self, request: AnyRequest, db: Db, principal: Principal) -> Template:
        notes = await service.inbox(db, user_id=principal.user_id)
        unread = await service.unread_count(db, user_id=principal.user_id)
        context = {"notes": notes, "unread": unread, "zone": zone_of(principal)}
        return page(request, INBOX, context)

    @get("/", name="notify:inbox")
    async def show(self, request: AnyRequest, db: Db, principal: CurrentPrincipal) -> Template:
        return await self._inbox(request, db, principal)

    @get("/badge", name="notify:badge")
    async def badge(self, request: AnyRequest, db: Db, principal: CurrentPrincipal) -> Template:
        """The header link's unread count, loaded by htmx after the page."""
        unread = await service.unread_count(db, user_id=principal.user_id)
        return Template(template_name="notify/_badge.html", context={"unread": unread})

    @post("/read-all", name="notify:read-all", status_code=200)
    async def read_all(self, request: AnyRequest, db: Db, principal: CurrentPrincipal) -> Any:
        await service.mark_all_read(db, user_id=principal.user_id)
        if is_htmx(request):
            return await self._inbox(request, db, principal)
        return see_other(self.path)

    @post("/{notification_id:int}/read", name="notify:open", status_code=303)
    async def open_one(self, db: Db, principal: CurrentPrincipal, notification_id: PathId) -> Any:
        """Mark it read and go where it leads."""
        note = await service.mark_read(db, user_id=principal.user_id, notification_id=notification_id)
        return see_other(note.url)

    @get("/settings", name="notify:settings")
    async def settings_page(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, saved: bool = False
    ) -> Template:
        chosen = await service.preferences(db, user_id=principal.user_id)
        return await self._settings(request, db, principal, chosen, saved=saved)

    async def _settings(
        self,
        request: AnyRequest,
        db: Db,
        principal: Principal,
        chosen: service.Preferences,
        *,
        saved: bool = False,
        error: DomainError | None = None,
    ) -> Template:
        context = {
            "kinds": kind_labels(principal.role),
            "chosen": chosen,
            "devices": await service.subscriptions_of(db, user_id=principal.user_id),
            "clock_options": [(clock, clock) for clock in CLOCKS],
            "saved": saved,
            "error": error,
        }
        status = error.status_code if error is not None else 200
        return page(request, SETTINGS, context, status_code=status)

    @post("/settings", name="notify:settings-save", status_code=200)
    async def save_settings(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, data: Annotated[PreferencesForm, FormBody]
    ) -> Any:
        # Only the kinds on the page change; the rest (another role's kinds) keep their setting.
        shown = {kind for kind, _label in kind_labels(principal.role)}
        before = await service.preferences(db, user_id=principal.user_id)
        push_kinds = {kind for kind in shown if getattr(data, kind.value, "on") == "on"}
        push_kinds |= {kind for kind in before.push_kinds if kind not in shown}
        try:
            await service.save_preferences(
                db,
                user_id=principal.user_id,
                push_kinds=push_kinds,
                quiet_start=data.quiet_start or None,
                quiet_end=data.quiet_end or None,
            )
        except DomainError as error:
            typed = service.Preferences(
                push_kinds=frozenset(push_kinds), quiet_start=data.quiet_start, quiet_end=data.quiet_end
            )
            return await self._settings(request, db, principal, typed, error=error)
        if is_htmx(request):
            chosen = await service.preferences(db, user_id=principal.user_id)
            return await self._settings(request, db, principal, chosen, saved=True)
        return see_other(f"{self.path}/settings?saved=1")


class PagePushController(Controller):
    """The page's own subscribe and unsubscribe calls: a browser session with the CSRF header."""

    path = "/app/push/subscription"
    include_in_schema = False
    guards = [signed_in]

    @post("/", name="notify:page-subscribe", status_code=201)
    async def subscribe(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        settings: AppSettings,
        data: Annotated[SubscriptionBody, JsonBody],
    ) -> SubscriptionAnswer:
        return await save_subscription(request, db, principal, settings, data)

    @delete("/", name="notify:page-unsubscribe", status_code=204)
    async def unsubscribe(self, db: Db, principal: CurrentPrincipal, data: Annotated[EndpointBody, JsonBody]) -> None:
        await service.unsubscribe(db, user_id=principal.user_id, endpoint=data.endpoint)


class PushApiController(Controller):
    """Web Push for API clients: the server's key, and the caller's own subscriptions."""

    path = "/api/v1/push"
    tags = ["notifications"]
    guards = [signed_in]

    @get("/key", name="notify:api-key")
    async def key(self, db: Db, settings: AppSettings) -> PushKey:
        """The public key browsers subscribe with; 503 until a start-up has made it (a read never makes it)."""
        pair = await keys.stored_vapid_pair(db, settings)
        return PushKey(public_key=pair.public_key)

    @post("/subscriptions", name="notify:api-subscribe", status_code=201)
    async def subscribe(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, settings: AppSettings, data: SubscriptionBody
    ) -> SubscriptionAnswer:
        """Keep a PushSubscription (``PushSubscription.toJSON()``) for the caller; upsert by endpoint."""
        return await save_subscription(request, db, principal, settings, data)

    @delete("/subscriptions", name="notify:api-unsubscribe", status_code=204)
    async def unsubscribe(self, db: Db, principal: CurrentPrincipal, data: EndpointBody) -> None:
        """Forget one of the caller's subscriptions by endpoint; anyone else's answers 404."""
        await service.unsubscribe(db, user_id=principal.user_id, endpoint=data.endpoint)


router = Router(path="/", route_handlers=[InboxController, PagePushController, PushApiController])
