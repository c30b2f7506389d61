"""Handover notes on the web: the agent's panel on My schedule and the start-shift answer, their own
handover page (the no-JavaScript target), the coordinator's /admin/handover, and the JSON API.

Pages answer refusals on the page: a plain form post gets the page with the refusal's status (403,
422), htmx gets 200 with the refusal in the swapped piece. Not holding the shift is 404 everywhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, Router, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import User
from backend.accounts.schemas import Form
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.security import requires
from backend.core.slots import local_start, utc_start
from backend.core.templating import is_htmx, page, refused_status
from backend.core.web import CurrentPrincipal, Db, FormBody, see_other
from backend.shifts import handover
from backend.shifts.allocation import skill_label
from backend.shifts.handover import NOTE_MAX_CHARS, NoteView
from backend.shifts.handover_models import HandoverAck, HandoverNote
from backend.shifts.views import day_label

AGENT_PAGE = "shifts/handover.html"
ADMIN_PAGE = "shifts/handover_admin.html"
AGENT_DONE = frozenset({"acknowledged", "noted", "resolved"})
ADMIN_DONE = frozenset({"noted", "resolved"})

KindName = Literal["warning", "open_issue", "follow_up"]
# Forms take a little more than a note may hold, so an overlong note comes back to its form with the rule.
FormText = Annotated[str, msgspec.Meta(max_length=2 * NOTE_MAX_CHARS)]
Clock = Annotated[str, msgspec.Meta(max_length=5)]
DayText = Annotated[str, msgspec.Meta(max_length=10)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=NOTE_MAX_CHARS)]
SkillCode = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Id = Annotated[int, msgspec.Meta(ge=1)]


def _when(zone: ZoneInfo, today: dt.date) -> Any:
    """A moment as the reader takes it in: Today 17:45, Tomorrow 06:00, or a short date."""

    def when(moment: dt.datetime) -> str:
        local = moment.astimezone(zone)
        return f"{day_label(local.date(), today)} {local.strftime('%H:%M')}"

    return when


# The agent's pages ------------------------------------------------------------------------------


class NoteForm(Form):
    kind: KindName
    body: FormText = ""


class HandoverController(Controller):
    """Read and acknowledge a shift's notes, and leave one for the next shift; one tap each with htmx."""

    path = "/app/shifts"
    include_in_schema = False
    guards = [requires("agent")]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        agent: User,
        shift_id: int,
        *,
        error: DomainError | None = None,
        done: str = "",
        draft: NoteForm | None = None,
    ) -> Template:
        now = utcnow()
        found = await handover.shift_handover(db, shift_id=shift_id, agent=agent, now=now)
        zone = ZoneInfo(agent.timezone)
        context = {
            "tab": "shifts",
            "user": agent,
            "now": now,
            "when": _when(zone, now.astimezone(zone).date()),
            "h": found,
            "starts": local_start(found.start_slot, zone),
            "ends": local_start(found.end_slot, zone),
            "handover": {shift_id: found},
            "handover_error": error,
            "handover_done": done,
            "draft": draft,
        }
        return page(request, AGENT_PAGE, context, status_code=refused_status(request, error))

    async def _after(
        self, request: Request[Any, Any, Any], db: AsyncSession, agent: User, shift_id: int, done: str
    ) -> Any:
        if is_htmx(request):
            return await self._page(request, db, agent, shift_id, done=done)
        return see_other(f"{self.path}/{shift_id}/handover?done={done}")

    @get("/{shift_id:int}/handover", name="shifts:handover")
    async def show(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, shift_id: int, done: str = ""
    ) -> Template:
        agent = await accounts.get_user(db, principal.user_id)
        return await self._page(request, db, agent, shift_id, done=done if done in AGENT_DONE else "")

    @post("/{shift_id:int}/handover/ack", name="shifts:handover-ack", status_code=200)
    async def acknowledge(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        agent = await accounts.get_user(db, principal.user_id)
        await handover.acknowledge_shift(db, shift_id=shift_id, agent=agent, now=utcnow())
        return await self._after(request, db, agent, shift_id, "acknowledged")

    @post("/{shift_id:int}/handover/notes", name="shifts:handover-write", status_code=200)
    async def write(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift_id: int,
        data: Annotated[NoteForm, FormBody],
    ) -> Any:
        agent = await accounts.get_user(db, principal.user_id)
        try:
            async with db.begin_nested():
                await handover.write_for_next_shift(
                    db, from_shift_id=shift_id, agent=agent, kind=data.kind, body=data.body, now=utcnow()
                )
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._page(request, db, agent, shift_id, error=error, draft=data)
        return await self._after(request, db, agent, shift_id, "noted")

    @post("/{shift_id:int}/handover/{note_id:int}/resolve", name="shifts:handover-resolve", status_code=200)
    async def resolve(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        shift_id: int,
        note_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        agent = await accounts.get_user(db, principal.user_id)
        await handover.shift_handover(db, shift_id=shift_id, agent=agent, now=utcnow())  # 404 unless held
        try:
            async with db.begin_nested():
                await handover.resolve_note(db, note_id=note_id, user=agent, now=utcnow())
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._page(request, db, agent, shift_id, error=error)
        return await self._after(request, db, agent, shift_id, "resolved")


# The coordinator's page -------------------------------------------------------------------------


class ShiftNoteForm(Form, kw_only=True):
    shift_id: Annotated[str, msgspec.Meta(max_length=20)] = ""
    kind: KindName
    body: FormText = ""


class BlockNoteForm(Form, kw_only=True):
    day: DayText = ""
    start: Clock = ""
    end_day: DayText = ""
    end: Clock = ""
    skill: Annotated[str, msgspec.Meta(max_length=40)] = ""
    kind: KindName
    body: FormText = ""


def _shift_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise DomainError(_("Choose a shift."), field="shift_id") from None


class HandoverAdminController(Controller):
    """Write a note on a coming shift or a time block, see who has read each note, resolve follow-ups."""

    path = "/admin/handover"
    include_in_schema = False
    guards = [requires("coordinator")]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        staff: User,
        *,
        error: DomainError | None = None,
        error_form: str = "",
        done: str = "",
        shift_form: ShiftNoteForm | None = None,
        block_form: BlockNoteForm | None = None,
    ) -> Template:
        now = utcnow()
        site = await accounts.get_site(db, staff.site_id)
        zone = ZoneInfo(site.timezone)
        today = now.astimezone(zone).date()
        context = {
            "zone": zone.key,
            "now": now,
            "when": _when(zone, today),
            "clock": lambda moment: moment.astimezone(zone).strftime("%H:%M"),
            "board": await handover.site_board(db, staff=staff, now=now),
            "shifts": await handover.shift_choices(db, site=site, now=now),
            "skills": [("", _("All skills"))]
            + [(skill.code, skill_label(skill)) for skill in await accounts.list_skills(db, site_id=site.id)],
            "kinds": handover.kind_choices(),
            "shift_form": shift_form or ShiftNoteForm(kind="warning"),
            "block_form": block_form or BlockNoteForm(kind="warning", day=today.isoformat()),
            "error": error,
            "error_form": error_form,
            "done": done,
        }
        return page(request, ADMIN_PAGE, context, status_code=refused_status(request, error))

    async def _after(self, request: Request[Any, Any, Any], db: AsyncSession, staff: User, done: str) -> Any:
        if is_htmx(request):
            return await self._page(request, db, staff, done=done)
        return see_other(f"{self.path}?done={done}")

    @get("/", name="shifts:handover-admin")
    async def show(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, done: str = ""
    ) -> Template:
        staff = await accounts.get_user(db, principal.user_id)
        return await self._page(request, db, staff, done=done if done in ADMIN_DONE else "")

    @post("/shift", name="shifts:handover-admin-shift", status_code=200)
    async def on_shift(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        data: Annotated[ShiftNoteForm, FormBody],
    ) -> Any:
        staff = await accounts.get_user(db, principal.user_id)
        try:
            async with db.begin_nested():
                await handover.write_on_shift(
                    db, shift_id=_shift_id(data.shift_id), staff=staff, kind=data.kind, body=data.body, now=utcnow()
                )
        except DomainError as error:
            return await self._page(request, db, staff, error=error, error_form="shift", shift_form=data)
        return await self._after(request, db, staff, "noted")

    @post("/block", name="shifts:handover-admin-block", status_code=200)
    async def on_block(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        data: Annotated[BlockNoteForm, FormBody],
    ) -> Any:
        staff = await accounts.get_user(db, principal.user_id)
        site = await accounts.get_site(db, staff.site_id)
        try:
            async with db.begin_nested():
                start_slot, end_slot = handover.block_of_clock(
                    data.day, data.start, data.end_day, data.end, ZoneInfo(site.timezone)
                )
                await handover.write_on_block(
                    db,
                    staff=staff,
                    start_slot=start_slot,
                    end_slot=end_slot,
                    skill=data.skill or None,
                    kind=data.kind,
                    body=data.body,
                    now=utcnow(),
                )
        except DomainError as error:
            return await self._page(request, db, staff, error=error, error_form="block", block_form=data)
        return await self._after(request, db, staff, "noted")

    @post("/{note_id:int}/resolve", name="shifts:handover-admin-resolve", status_code=200)
    async def resolve(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: CurrentPrincipal,
        note_id: int,
        data: Annotated[Form, FormBody],
    ) -> Any:
        staff = await accounts.get_user(db, principal.user_id)
        try:
            async with db.begin_nested():
                await handover.resolve_note(db, note_id=note_id, user=staff, now=utcnow())
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._page(request, db, staff, error=error)
        return await self._after(request, db, staff, "resolved")


# The JSON API -----------------------------------------------------------------------------------


class NewNoteBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Exactly one target. Agents: ``from_shift_id``, a shift they hold that is under way or ended within two
    hours (the note covers the four hours after it). Coordinators: ``shift_id``, or ``start`` and ``end``
    (ISO 8601 with an offset, on :00 or :30) with an optional ``skill`` code (none: every skill)."""

    kind: KindName
    body: Body
    from_shift_id: Id | None = None
    shift_id: Id | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    skill: SkillCode | None = None


class NoteOut(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    body: str
    author_id: int | None
    author_name: str
    skill: str | None
    shift_id: int | None
    from_shift_id: int | None
    start: dt.datetime
    end: dt.datetime
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    acknowledged_at: dt.datetime | None

    @classmethod
    def of(cls, view: NoteView) -> NoteOut:
        return cls(
            id=view.id,
            kind=view.kind.value,
            body=view.body,
            author_id=view.author_id,
            author_name=view.author_name,
            skill=view.skill_name,
            shift_id=view.shift_id,
            from_shift_id=view.from_shift_id,
            start=view.starts,
            end=view.ends,
            created_at=view.created_at,
            resolved_at=view.resolved_at,
            acknowledged_at=view.acknowledged_at,
        )


class CreatedNoteOut(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    shift_id: int | None
    from_shift_id: int | None
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(cls, note: HandoverNote) -> CreatedNoteOut:
        return cls(
            id=note.id,
            kind=note.kind.value,
            shift_id=note.shift_id,
            from_shift_id=note.from_shift_id,
            start=utc_start(note.start_slot),
            end=utc_start(note.end_slot),
        )


class AckOut(msgspec.Struct, kw_only=True):
    note_id: int
    acknowledged_at: dt.datetime

    @classmethod
    def of(cls, ack: HandoverAck) -> AckOut:
        return cls(note_id=ack.note_id, acknowledged_at=ack.acknowledged_at)


class ResolvedOut(msgspec.Struct, kw_only=True):
    id: int
    resolved_at: dt.datetime | None


class HandoverApiController(Controller):
    """Handover notes as JSON: holders and coordinators read a shift's notes; both write; agents acknowledge."""

    path = "/api/v1"
    tags = ["handover"]

    @get("/shifts/{shift_id:int}/handover", name="api:shift-handover", guards=[requires("agent", "coordinator")])
    async def notes(self, db: Db, principal: CurrentPrincipal, shift_id: int) -> list[NoteOut]:
        """The notes reaching a shift, warnings first then open issues then follow-ups, newest first; 404 unless
        I hold the shift or coordinate its site. ``acknowledged_at`` is mine."""
        reader = await accounts.get_user(db, principal.user_id)
        return [NoteOut.of(view) for view in await handover.notes_for_shift(db, shift_id=shift_id, reader=reader)]

    @post(
        "/handover-notes", name="api:handover-note-create", guards=[requires("agent", "coordinator")], status_code=201
    )
    async def create(self, db: Db, principal: CurrentPrincipal, data: NewNoteBody) -> CreatedNoteOut:
        """Leave a note; 422 naming the field, 403 for a target my role cannot use, 404 for a shift not mine."""
        author = await accounts.get_user(db, principal.user_id)
        now = utcnow()
        targets = [
            data.from_shift_id is not None,
            data.shift_id is not None,
            data.start is not None or data.end is not None,
        ]
        if sum(targets) != 1:
            raise DomainError(
                _("Give exactly one target: from_shift_id, shift_id, or start and end."), field="shift_id"
            )
        if data.from_shift_id is not None:
            note = await handover.write_for_next_shift(
                db, from_shift_id=data.from_shift_id, agent=author, kind=data.kind, body=data.body, now=now
            )
        elif data.shift_id is not None:
            note = await handover.write_on_shift(
                db, shift_id=data.shift_id, staff=author, kind=data.kind, body=data.body, now=now
            )
        else:
            if data.start is None or data.end is None:
                field = "start" if data.start is None else "end"
                raise DomainError(_("Give both the start and the end of the block."), field=field)
            handover.ensure_staff(author)
            start_slot, end_slot = handover.block_of_moments(data.start, data.end)
            note = await handover.write_on_block(
                db,
                staff=author,
                start_slot=start_slot,
                end_slot=end_slot,
                skill=data.skill,
                kind=data.kind,
                body=data.body,
                now=now,
            )
        return CreatedNoteOut.of(note)

    @post(
        "/handover-notes/{note_id:int}/ack", name="api:handover-note-ack", guards=[requires("agent")], status_code=200
    )
    async def acknowledge(self, db: Db, principal: CurrentPrincipal, note_id: int) -> AckOut:
        """Acknowledge a note reaching a shift I hold; again answers the first acknowledgement."""
        agent = await accounts.get_user(db, principal.user_id)
        return AckOut.of(await handover.acknowledge_note(db, note_id=note_id, agent=agent, now=utcnow()))

    @post(
        "/handover-notes/{note_id:int}/resolve",
        name="api:handover-note-resolve",
        guards=[requires("agent", "coordinator")],
        status_code=200,
    )
    async def resolve(self, db: Db, principal: CurrentPrincipal, note_id: int) -> ResolvedOut:
        """Mark a follow-up resolved: its author or a coordinator of the site."""
        user = await accounts.get_user(db, principal.user_id)
        note = await handover.resolve_note(db, note_id=note_id, user=user, now=utcnow())
        return ResolvedOut(id=note.id, resolved_at=note.resolved_at)


router = Router(path="/", route_handlers=[HandoverController, HandoverAdminController, HandoverApiController])
