"""The duty routine on the web: the duty roster and its shift leads, the duty log, and the hand-over.

Staff run all of it; finance reads (its posts are 403); agents get 403 except named shift leads, who keep the
log and hand over while their duty is in reach (``duty.ensure_log_access``). Forms answer the way every page
does: a refusal re-renders the page with the refusal beside its field (a plain post with the refusal's
status, htmx with 200), success sends a plain post on with a 303 and gives htmx the page in place.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import Site, User
from backend.accounts.schemas import Form, FormPost
from backend.accounts.zones import site_zone
from backend.availability.service import parse_week
from backend.core.bounds import Bounded, PathId, QueryId
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import date_text, day_label
from backend.core.i18n import gettext as _
from backend.core.security import requires
from backend.core.slots import IsoWeek
from backend.core.templating import page, refused_status
from backend.core.web import AnyRequest, Db, FormBody, RefuseWith, act_on_page, parse_fields
from backend.ops import duty, handover, log
from backend.ops.access import is_lead, is_ops_staff
from backend.ops.clock import day_bounds, site_today
from backend.ops.models import LEAD_KINDS, Duty, HandoverItemKind, LogKind, LogStatus

ROSTER_PAGE = "ops/duty.html"
LEADS_PAGE = "ops/leads.html"
LOG_PAGE = "ops/log.html"
ITEM_PAGE = "ops/log_item.html"
HANDOVER_PAGE = "ops/handover.html"
BADGE = "ops/_duty_badge.html"
BLANK_LINES = 3  # empty lines for new open items and follow-ups on the hand-over form
FORM_LINES_MAX = handover.MAX_ITEMS

Text = Annotated[str, msgspec.Meta(max_length=log.FIELD_MAX)]
LongText = Annotated[str, msgspec.Meta(max_length=handover.NOTE_MAX)]
Short = Annotated[str, msgspec.Meta(max_length=40)]
ChosenDay = Annotated[dt.date, RefuseWith(lambda _: _("Give a day like 2026-12-07."))]
ChosenTime = Annotated[
    str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d(:00)?$"), RefuseWith(lambda _: _("Enter a time like 09:30."))
]
ChosenId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1), RefuseWith(lambda _: _("Choose from the list."))]


class DayQuery(Bounded, kw_only=True):
    day: ChosenDay | None = None


class DutyForm(Form):
    user_id: Short = ""
    day: Short = ""
    start: Short = ""
    end: Short = ""
    week: Short = ""


class DutyValues(Bounded, kw_only=True):
    user_id: ChosenId
    day: ChosenDay
    start: ChosenTime
    end: ChosenTime


class LeadForm(Form):
    user_id: Short = ""
    action: Short = "name"


class LeadValues(msgspec.Struct, kw_only=True):
    user_id: ChosenId


class LogForm(Form):
    """A new item: its kind, when it started (local time on ``day``), the kind's template, what was done."""

    kind: Short = ""
    day: Short = ""
    started: Short = ""
    summary: Annotated[str, msgspec.Meta(max_length=log.SUMMARY_MAX)] = ""
    action: Annotated[str, msgspec.Meta(max_length=log.TEXT_MAX)] = ""
    told: Text = ""
    status: Short = "open"
    corrects: Short = ""
    system: Text = ""
    symptom: Text = ""
    affected: Text = ""
    queue: Text = ""
    size: Text = ""
    wait: Text = ""
    skill: Text = ""
    from_time: Text = ""
    to_time: Text = ""
    short_by: Text = ""
    agent: Text = ""
    what: Text = ""
    channel: Text = ""
    reference: Text = ""


class LogValues(Bounded, kw_only=True):
    day: ChosenDay
    started: ChosenTime


class UpdateForm(Form):
    action: Annotated[str, msgspec.Meta(max_length=log.TEXT_MAX)] = ""
    told: Text = ""
    status: Short = "in_progress"


def _status(text: str, field: str = "status") -> LogStatus:
    try:
        return LogStatus(text)
    except ValueError:
        raise DomainError(_("Choose a status."), field=field) from None


def _kind(text: str) -> LogKind:
    try:
        kind = LogKind(text)
    except ValueError:
        kind = None
    if kind not in LEAD_KINDS:
        raise DomainError(_("Choose what kind of item this is."), field="kind")
    return kind


def _corrects(text: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit() or not 1 <= int(text) < 2**63:
        raise DomainError(_("Choose the item this corrects."), field="corrects")
    return int(text)


def lead_entry(form: LogForm, site: Site) -> log.LeadEntry:
    """The form as the service takes it: the start as a UTC instant, the kind's fields as its details."""
    kind = _kind(form.kind)
    values = parse_fields(LogValues, {"day": form.day, "started": form.started})
    started = dt.datetime.combine(values.day, dt.time.fromisoformat(values.started), tzinfo=site_zone(site))
    given = msgspec.structs.asdict(form)
    return log.LeadEntry(
        kind=kind,
        started_at=started.astimezone(dt.UTC),
        summary=form.summary,
        details={field.name: given.get(field.name, "") for field in log.KIND_TEMPLATES[kind]},
        action=form.action,
        told=form.told,
        status=_status(form.status),
        corrects_id=_corrects(form.corrects),
    )


def form_fields(kind: LogKind | None) -> list[tuple[str, str, str]]:
    """The new-item form's fields for ``kind`` (name, label, input type): when and what, then its template."""
    if kind is None:
        return []
    fields = [("started", _("When it started"), "time"), ("summary", _("In one line"), "text")]
    return fields + [
        (field.name, field.label(), "time" if field.kind == "clock" else "text") for field in log.KIND_TEMPLATES[kind]
    ]


def _clocks(site: Site) -> dict[str, Any]:
    zone = site_zone(site)
    return {
        "zone": zone.key,
        "clock": lambda moment: moment.astimezone(zone).strftime("%H:%M"),
        "local_day": lambda moment: moment.astimezone(zone).date(),
        "date_text": date_text,
        "kind_label": log.kind_label,
        "status_label": log.status_label,
    }


async def _site(db: AsyncSession, user: User) -> Site:
    return await accounts.get_site(db, user.site_id)


# The roster and the shift leads --------------------------------------------------------------------------


class DutyRosterController(Controller):
    """The week's duties, who is on duty now and next, and the form that puts someone on duty."""

    path = "/admin/duty"
    include_in_schema = False
    guards = [requires("coordinator", "finance")]

    async def _page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        user: User,
        *,
        week: str = "",
        error: DomainError | None = None,
        form: dict[str, str] | None = None,
        done: str = "",
    ) -> Template:
        now = utcnow()
        site = await _site(db, user)
        today = site_today(site, now)
        chosen = parse_week(week) if week.strip() else IsoWeek.of(today)
        context = {
            **_clocks(site),
            "week": chosen,
            "previous_week": chosen.shifted(-1),
            "following_week": chosen.shifted(1),
            "today": today,
            "now": now,
            "days": await duty.week_roster(db, site=site, week=chosen),
            "on_duty": await duty.on_duty(db, site_id=site.id, now=now),
            "people": accounts.person_labels(await duty.duty_people(db, site_id=site.id)),
            "can_act": is_ops_staff(user),
            "day_label": lambda day: day_label(day, today),
            "form": form or {"user_id": "", "day": today.isoformat(), "start": "09:00", "end": "13:00"},
            "error": error,
            "done": done,
        }
        return page(request, ROSTER_PAGE, context, status_code=refused_status(request, error))

    @get("/", name="ops:duty")
    async def show(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, week: str = "", done: str = ""
    ) -> Template:
        shown = done if done in {"added", "cancelled"} else ""
        try:
            return await self._page(request, db, current_user, week=week, done=shown)
        except DomainError as error:
            return await self._page(request, db, current_user, error=error)

    @post("/", name="ops:duty-add", status_code=200, guards=[requires("coordinator")])
    async def add(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, data: Annotated[DutyForm, FormBody]
    ) -> Any:
        site = await _site(db, current_user)

        async def act() -> None:
            values = parse_fields(DutyValues, data)
            await duty.add_duty(
                db,
                site=site,
                user_id=values.user_id,
                day=values.day,
                start=dt.time.fromisoformat(values.start),
                end=dt.time.fromisoformat(values.end),
                by=current_user,
                now=utcnow(),
            )

        form = {"user_id": data.user_id, "day": data.day, "start": data.start, "end": data.end}
        week = data.week if data.week.strip() else ""
        return await act_on_page(
            request,
            db,
            act,
            render=partial(self._page, request, db, current_user, week=week),
            refused_with={"form": form},
            done="added",
            then=f"{self.path}?week={week}&done=added" if week else f"{self.path}?done=added",
            raised={404},
        )

    @post("/{duty_id:int}/cancel", name="ops:duty-cancel", status_code=200, guards=[requires("coordinator")])
    async def cancel(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, duty_id: PathId, data: FormPost
    ) -> Any:
        site = await _site(db, current_user)
        found = await duty.get_duty(db, site_id=site.id, duty_id=duty_id)
        week = str(IsoWeek.of(found.starts_at.astimezone(site_zone(site)).date()))
        return await act_on_page(
            request,
            db,
            lambda: duty.cancel_duty(db, site_id=site.id, duty_id=duty_id, now=utcnow()),
            render=partial(self._page, request, db, current_user, week=week),
            done="cancelled",
            then=f"{self.path}?week={week}&done=cancelled",
            raised={404},
        )

    @get("/leads", name="ops:duty-leads")
    async def leads(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, done: str = "", everyone: bool = False
    ) -> Template:
        shown = done if done in {"named", "unnamed"} else ""
        return await self._leads(request, db, current_user, done=shown, everyone=everyone)

    async def _leads(
        self,
        request: AnyRequest,
        db: AsyncSession,
        user: User,
        *,
        error: DomainError | None = None,
        done: str = "",
        everyone: bool = False,
    ) -> Template:
        site = await _site(db, user)
        context = {
            "leads": await duty.leads_page(db, site_id=site.id, everyone=everyone),
            "everyone": everyone,
            "can_act": is_ops_staff(user),
            "error": error,
            "done": done,
        }
        return page(request, LEADS_PAGE, context, status_code=refused_status(request, error))

    @post("/leads", name="ops:duty-leads-change", status_code=200, guards=[requires("coordinator")])
    async def change_lead(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, data: Annotated[LeadForm, FormBody]
    ) -> Any:
        site = await _site(db, current_user)
        naming = data.action != "remove"

        async def act() -> None:
            user_id = parse_fields(LeadValues, {"user_id": data.user_id}).user_id
            if naming:
                await duty.name_lead(db, site_id=site.id, user_id=user_id, by=current_user, now=utcnow())
            else:
                await duty.unname_lead(db, site_id=site.id, user_id=user_id, now=utcnow())

        done = "named" if naming else "unnamed"
        return await act_on_page(
            request,
            db,
            act,
            render=partial(self._leads, request, db, current_user),
            done=done,
            then=f"{self.path}/leads?done={done}",
            raised={404},
        )


# The duty log ---------------------------------------------------------------------------------------------


class DutyLogController(Controller):
    """The day's log, a new item in its kind's template, one item with its updates, and its corrections."""

    path = "/admin/duty/log"
    include_in_schema = False
    guards = [requires("coordinator", "finance", "agent")]

    async def _page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        user: User,
        *,
        day: str = "",
        kind: str = "",
        corrects: int | None = None,
        error: DomainError | None = None,
        form: dict[str, str] | None = None,
        done: str = "",
    ) -> Template:
        now = utcnow()
        site = await _site(db, user)
        await duty.ensure_log_access(db, user=user, site=site, now=now, write=False)
        today = site_today(site, now)
        try:
            chosen = parse_fields(DayQuery, {"day": day}).day or today
        except DomainError as refused:
            chosen, error = today, error or refused
        start, end = day_bounds(site, chosen)
        corrected = await log.item_view(db, site_id=site.id, item_id=corrects) if corrects else None
        chosen_kind = corrected.kind if corrected is not None else LogKind(kind) if kind in LEAD_KINDS else None
        can_write = user.role != "finance"
        typed = form or {}
        if corrected is not None and not form:
            typed = {
                **corrected.details,
                "summary": corrected.summary,
                "started": corrected.started_at.astimezone(site_zone(site)).strftime("%H:%M"),
                "corrects": str(corrected.id),
            }
        context = {
            **_clocks(site),
            "day": chosen,
            "today": today,
            "day_label": day_label(chosen, today),
            "previous_day": chosen - dt.timedelta(days=1),
            "next_day": chosen + dt.timedelta(days=1),
            "items": await log.day_items(db, site_id=site.id, start=start, end=end),
            "on_duty": await duty.on_duty(db, site_id=site.id, now=now),
            "lead_kinds": LEAD_KINDS,
            "fields": form_fields(chosen_kind),
            "kind": chosen_kind,
            "corrected": corrected,
            "can_write": can_write,
            "statuses": list(LogStatus),
            "form": typed,
            "now_clock": now.astimezone(site_zone(site)).strftime("%H:%M"),
            "error": error,
            "done": done,
        }
        return page(request, LOG_PAGE, context, status_code=refused_status(request, error))

    @get("/", name="ops:duty-log")
    async def show(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        day: str = "",
        kind: str = "",
        corrects: QueryId = None,
        done: str = "",
    ) -> Template:
        shown = done if done in {"recorded"} else ""
        return await self._page(request, db, current_user, day=day, kind=kind, corrects=corrects, done=shown)

    @post("/", name="ops:duty-log-add", status_code=200)
    async def add(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, data: Annotated[LogForm, FormBody]
    ) -> Any:
        now = utcnow()
        site = await _site(db, current_user)
        await duty.ensure_log_access(db, user=current_user, site=site, now=now, write=True)

        async def act() -> None:
            await log.record_item(db, site=site, entry=lead_entry(data, site), author=current_user, now=now)

        form = {key: str(value) for key, value in msgspec.structs.asdict(data).items() if key != "csrf_token"}
        day = data.day if data.day.strip() else ""
        return await act_on_page(
            request,
            db,
            act,
            render=partial(self._page, request, db, current_user, day=day, kind=data.kind),
            refused_with={"form": form},
            done="recorded",
            then=f"{self.path}?day={day}&done=recorded" if day else f"{self.path}?done=recorded",
            raised={404},
        )

    async def _item(
        self,
        request: AnyRequest,
        db: AsyncSession,
        user: User,
        item_id: int,
        *,
        error: DomainError | None = None,
        form: dict[str, str] | None = None,
        done: str = "",
    ) -> Template:
        now = utcnow()
        site = await _site(db, user)
        await duty.ensure_log_access(db, user=user, site=site, now=now, write=False)
        view = await log.item_view(db, site_id=site.id, item_id=item_id)
        context = {
            **_clocks(site),
            "item": view,
            "fields": log.KIND_TEMPLATES.get(view.kind, ()),
            "lead_kinds": LEAD_KINDS,
            "statuses": list(LogStatus),
            "can_write": user.role != "finance",
            "form": form or {"status": "in_progress"},
            "error": error,
            "done": done,
        }
        return page(request, ITEM_PAGE, context, status_code=refused_status(request, error))

    @get("/{item_id:int}", name="ops:duty-log-item")
    async def item(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, item_id: PathId, done: str = ""
    ) -> Template:
        return await self._item(request, db, current_user, item_id, done=done if done == "updated" else "")

    @post("/{item_id:int}/updates", name="ops:duty-log-update", status_code=200)
    async def update(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        item_id: PathId,
        data: Annotated[UpdateForm, FormBody],
    ) -> Any:
        now = utcnow()
        site = await _site(db, current_user)
        await duty.ensure_log_access(db, user=current_user, site=site, now=now, write=True)
        await log.get_item(db, site_id=site.id, item_id=item_id)

        async def act() -> None:
            await log.add_update(
                db,
                site_id=site.id,
                item_id=item_id,
                author=current_user,
                action=data.action,
                told=data.told,
                status=_status(data.status),
                now=now,
            )

        form = {"action": data.action, "told": data.told, "status": data.status}
        return await act_on_page(
            request,
            db,
            act,
            render=partial(self._item, request, db, current_user, item_id),
            refused_with={"form": form},
            done="updated",
            then=f"{self.path}/{item_id}?done=updated",
            raised={404},
        )


# The hand-over --------------------------------------------------------------------------------------------


def form_lines(form: dict[str, str]) -> list[handover.Line]:
    """The hand-over form's lines (``item-<n>-kind|text|owner|log|carried|keep``): a pre-filled line is kept only
    when ticked, a typed one when it has text; a carried one always (the service carries it anyway)."""
    lines = []
    for index in range(FORM_LINES_MAX + 2 * BLANK_LINES):
        prefix = f"item-{index}-"
        if f"{prefix}kind" not in form:
            continue
        text = form.get(f"{prefix}text", "").strip()
        carried = _form_id(form, f"{prefix}carried")
        prefilled = carried is not None or _form_id(form, f"{prefix}log") is not None
        if carried is None and (not text or (prefilled and form.get(f"{prefix}keep") != "on")):
            continue
        kind = form.get(f"{prefix}kind", "")
        if kind not in {item.value for item in HandoverItemKind}:
            raise DomainError(_("Choose what kind of item this is."), field=f"{prefix}kind")
        lines.append(
            handover.Line(
                kind=HandoverItemKind(kind),
                text=text,
                owner_id=_form_id(form, f"{prefix}owner"),
                log_item_id=_form_id(form, f"{prefix}log"),
                carried_from_id=carried,
            )
        )
    return lines


def _form_id(form: dict[str, str], name: str) -> int | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) < 2**63:
        raise DomainError(_("Choose from the list."), field=name)
    return int(text)


async def form_rows(
    db: AsyncSession, site: Site, due: Duty | None, now: dt.datetime
) -> list[tuple[str, handover.Line | None]]:
    """The hand-over form's lines, (kind, pre-filled line or None for a blank one): carried and log items first,
    then ``BLANK_LINES`` blank open items and as many blank follow-ups."""
    if due is None:
        return []
    lines = await handover.prefilled(db, site=site, duty=due, now=now)
    rows: list[tuple[str, handover.Line | None]] = [(line.kind.value, line) for line in lines]
    rows += [(HandoverItemKind.open_item.value, None)] * BLANK_LINES
    return rows + [(HandoverItemKind.follow_up.value, None)] * BLANK_LINES


class HandoverController(Controller):
    """The lead's hand-over form, the hand-overs waiting for the incoming lead, and each hand-over's page."""

    path = "/admin/duty/handover"
    include_in_schema = False
    guards = [requires("coordinator", "finance", "agent")]

    async def _page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        user: User,
        *,
        shown_id: int | None = None,
        error: DomainError | None = None,
        form: dict[str, str] | None = None,
        done: str = "",
    ) -> Template:
        now = utcnow()
        site = await _site(db, user)
        await duty.ensure_log_access(db, user=user, site=site, now=now, write=False)
        today = site_today(site, now)
        shown = await handover.handover_view(db, site=site, handover_id=shown_id) if shown_id else None
        due = await handover.due_duty(db, site=site, user=user, now=now) if shown is None else None
        start, _end = day_bounds(site, today - dt.timedelta(days=1))
        _start, end = day_bounds(site, today)
        context = {
            **_clocks(site),
            "shown": shown,
            "due": (await duty.duty_views(db, [due]))[0] if due is not None else None,
            "rows": await form_rows(db, site, due, now),
            "owners": accounts.person_labels(await duty.duty_people(db, site_id=site.id)),
            "awaiting": await handover.awaiting(db, site=site, user=user, since=start) if shown is None else [],
            "statuses": await handover.handover_status(db, site_id=site.id, start=start, end=end, now=now)
            if shown is None
            else [],
            "may_ack": shown is not None and await self._may_ack(db, shown, user),
            "may_close": user.role != "finance",
            "user": user,
            "now": now,
            "form": form or {},
            "error": error,
            "done": done,
        }
        return page(request, HANDOVER_PAGE, context, status_code=refused_status(request, error))

    async def _may_ack(self, db: AsyncSession, shown: handover.HandoverView, user: User) -> bool:
        return is_ops_staff(user) or (shown.to_user_id is not None and shown.to_user_id == user.id)

    @get("/", name="ops:handover")
    async def show(self, request: AnyRequest, db: Db, current_user: CurrentUser, done: str = "") -> Template:
        return await self._page(request, db, current_user, done=done if done == "submitted" else "")

    @post("/", name="ops:handover-submit", status_code=200)
    async def submit(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Any:
        now = utcnow()
        site = await _site(db, current_user)
        await duty.ensure_log_access(db, user=current_user, site=site, now=now, write=True)
        form = {key: str(value) for key, value in (await request.form()).items() if key != "_csrf_token"}

        async def act() -> None:
            duty_id = _form_id(form, "duty_id")
            if duty_id is None:
                raise DomainError(_("There is no duty of yours to hand over."), field="duty_id")
            await handover.submit_handover(
                db,
                site=site,
                duty_id=duty_id,
                by=current_user,
                focus=form.get("focus", ""),
                warnings=form.get("warnings", ""),
                lines=form_lines(form),
                now=now,
            )

        return await act_on_page(
            request,
            db,
            act,
            render=partial(self._page, request, db, current_user),
            refused_with={"form": form},
            done="submitted",
            then=f"{self.path}?done=submitted",
            raised={403, 404},
        )

    @get("/{handover_id:int}", name="ops:handover-show")
    async def handover_page(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, handover_id: PathId, done: str = ""
    ) -> Template:
        shown = done if done in {"acknowledged", "closed"} else ""
        return await self._page(request, db, current_user, shown_id=handover_id, done=shown)

    async def _act_on_item(
        self, request: AnyRequest, db: AsyncSession, user: User, item_id: int, act: Any, done: str
    ) -> Any:
        now = utcnow()
        site = await _site(db, user)
        await duty.ensure_log_access(db, user=user, site=site, now=now, write=True)
        item = await handover.get_item(db, site_id=site.id, item_id=item_id)
        return await act_on_page(
            request,
            db,
            lambda: act(db, site_id=site.id, item_id=item_id, by=user, now=now),
            render=partial(self._page, request, db, user, shown_id=item.handover_id),
            done=done,
            then=f"{self.path}/{item.handover_id}?done={done}#handover-item-{item_id}",
            raised={403, 404},
        )

    @post("/items/{item_id:int}/ack", name="ops:handover-ack", status_code=200)
    async def acknowledge(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, item_id: PathId, data: FormPost
    ) -> Any:
        return await self._act_on_item(request, db, current_user, item_id, handover.acknowledge_item, "acknowledged")

    @post("/items/{item_id:int}/close", name="ops:handover-close", status_code=200)
    async def close(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, item_id: PathId, data: FormPost
    ) -> Any:
        return await self._act_on_item(request, db, current_user, item_id, handover.close_item, "closed")

    @post("/{handover_id:int}/ack", name="ops:handover-ack-all", status_code=200)
    async def acknowledge_all(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, handover_id: PathId, data: FormPost
    ) -> Any:
        now = utcnow()
        site = await _site(db, current_user)
        await duty.ensure_log_access(db, user=current_user, site=site, now=now, write=True)
        await handover.get_handover(db, site_id=site.id, handover_id=handover_id)
        return await act_on_page(
            request,
            db,
            lambda: handover.acknowledge_all(db, site_id=site.id, handover_id=handover_id, by=current_user, now=now),
            render=partial(self._page, request, db, current_user, shown_id=handover_id),
            done="acknowledged",
            then=f"{self.path}/{handover_id}?done=acknowledged",
            raised={403, 404},
        )


class DutyBadgeController(Controller):
    """A named shift lead's badge in their app while their duty is in reach (nothing for anyone else)."""

    path = "/app/duty-badge"
    include_in_schema = False
    guards = [requires("agent")]

    @get("/", name="ops:duty-badge")
    async def badge(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Template:
        now = utcnow()
        site = await _site(db, current_user)
        found = None
        if await is_lead(db, current_user, site.id):
            found = await duty.lead_duty_in_reach(db, site=site, user_id=current_user.id, now=now)
        context = {**_clocks(site), "duty": found, "now": now}
        return Template(template_name=BADGE, context=context)


CONTROLLERS = [DutyRosterController, DutyLogController, HandoverController, DutyBadgeController]
