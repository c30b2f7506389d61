"""Handover notes on the web: the fragments My schedule and the start-shift answer load by URL, the
agent's own handover pages (the no-JavaScript targets), the coordinator's /admin/handover, and the JSON API.

Handover stands above shifts (DESIGN.md "Layout"): shifts' pages carry only an empty ``#handover-<id>``
placeholder and an ``hx-get`` to ``/app/handover/...``; the notes are rendered here.

Pages answer refusals on the page: a plain form post gets the page with the refusal's status (403,
422), htmx gets 200 with the refusal in the swapped piece. Not holding the shift is 404 everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Collection, Mapping
from functools import partial
from typing import Annotated, Any

from litestar import Controller, Router, get, post
from litestar.enums import MediaType
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import User, skill_label
from backend.accounts.schemas import FormPost
from backend.accounts.zones import site_zone, user_zone
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.i18n import moment_labeller
from backend.core.security import requires
from backend.core.slots import local_start
from backend.core.templating import is_htmx, page, refused_status
from backend.core.web import AnyRequest, Db, FormBody, act_on_page, parse_fields
from backend.handover import service as handover
from backend.handover.schemas import (
    AckOut,
    BlockNoteForm,
    ChosenShift,
    CreatedNoteOut,
    NewNoteBody,
    NoteForm,
    NoteOut,
    ResolvedOut,
    ShiftNoteForm,
)

AGENT_PAGE = "handover/mine.html"
SCHEDULE_PAGE = "handover/schedule.html"
SECTIONS = "handover/_sections.html"
ADMIN_PAGE = "handover/admin.html"
AGENT_DONE = frozenset({"acknowledged", "noted", "resolved"})
ADMIN_DONE = frozenset({"noted", "resolved"})


# The agent's pages ------------------------------------------------------------------------------


async def _agent_page(
    request: AnyRequest,
    db: AsyncSession,
    agent: User,
    shift_id: int,
    *,
    error: DomainError | None = None,
    done: str = "",
    draft: NoteForm | None = None,
) -> Template:
    """One held shift's handover page: its own URL, and the one-shift fragment's answer without htmx."""
    now = utcnow()
    found = await handover.shift_handover(db, shift_id=shift_id, agent=agent, now=now)
    zone = user_zone(agent)
    context = {
        "tab": "shifts",
        "user": agent,
        "now": now,
        "when": moment_labeller(zone, now.astimezone(zone).date()),
        "h": found,
        "starts": local_start(found.start_slot, zone),
        "ends": local_start(found.end_slot, zone),
        "handover_error": error,
        "handover_done": done,
        "draft": draft,
    }
    return page(request, AGENT_PAGE, context, status_code=refused_status(request, error))


def _moments(agent: User, now: dt.datetime) -> dict[str, Any]:
    """What the notes' sections need to say when each note was written, in the agent's own clock."""
    zone = user_zone(agent)
    return {"now": now, "when": moment_labeller(zone, now.astimezone(zone).date())}


class HandoverController(Controller):
    """Read and acknowledge a shift's notes, and leave one for the next shift; one tap each with htmx."""

    path = "/app/shifts"
    include_in_schema = False
    guards = [requires("agent")]

    async def _act(
        self,
        request: AnyRequest,
        db: AsyncSession,
        agent: User,
        shift_id: int,
        action: Callable[[], Awaitable[object]],
        done: str,
        refused_with: Mapping[str, Any] | None = None,
    ) -> Any:
        """A button or form on a shift's handover: refused there, or done (a shift not held is Not found)."""
        return await act_on_page(
            request,
            db,
            action,
            render=partial(_agent_page, request, db, agent, shift_id),
            done=done,
            then=f"{self.path}/{shift_id}/handover?done={done}",
            refused_with=refused_with,
            raised={404},
        )

    @get("/{shift_id:int}/handover", name="shifts:handover")
    async def show(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_id: PathId, done: str = ""
    ) -> Template:
        return await _agent_page(request, db, current_user, shift_id, done=done if done in AGENT_DONE else "")

    @post("/{shift_id:int}/handover/ack", name="shifts:handover-ack", status_code=200)
    async def acknowledge(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_id: PathId, data: FormPost
    ) -> Any:
        return await self._act(
            request,
            db,
            current_user,
            shift_id,
            lambda: handover.acknowledge_shift(db, shift_id=shift_id, agent=current_user, now=utcnow()),
            "acknowledged",
        )

    @post("/{shift_id:int}/handover/notes", name="shifts:handover-write", status_code=200)
    async def write(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        shift_id: PathId,
        data: Annotated[NoteForm, FormBody],
    ) -> Any:
        return await self._act(
            request,
            db,
            current_user,
            shift_id,
            lambda: handover.write_for_next_shift(
                db, from_shift_id=shift_id, agent=current_user, kind=data.kind, body=data.body, now=utcnow()
            ),
            "noted",
            {"draft": data},
        )

    @post("/{shift_id:int}/handover/{note_id:int}/resolve", name="shifts:handover-resolve", status_code=200)
    async def resolve(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_id: PathId, note_id: PathId, data: FormPost
    ) -> Any:
        await handover.shift_handover(db, shift_id=shift_id, agent=current_user, now=utcnow())  # 404 unless held
        return await self._act(
            request,
            db,
            current_user,
            shift_id,
            lambda: handover.resolve_note(db, note_id=note_id, user=current_user, now=utcnow()),
            "resolved",
        )


class HandoverFragmentController(Controller):
    """The notes shifts' pages load by URL: shifts stands below handover and cannot render them itself.

    My schedule makes one request for all its shifts (each section swapped out of band into its
    ``#handover-<id>`` placeholder); the start-shift answer asks for its one shift. Both show what
    ``schedule_handover`` shows: shifts whose start window has opened or that ended in the last two hours.
    Without htmx each URL is a page of its own, the target of the pages' ``<noscript>`` links.
    """

    path = "/app/handover"
    include_in_schema = False
    guards = [requires("agent")]

    @get("/schedule", name="handover:schedule")
    async def schedule(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Template:
        now = utcnow()
        found = await handover.schedule_handover(db, agent=current_user, now=now)
        zone = user_zone(current_user)
        context = {
            **_moments(current_user, now),
            "tab": "shifts",
            "user": current_user,
            "clock": lambda moment: moment.astimezone(zone).strftime("%H:%M"),
            "handovers": sorted(found.values(), key=lambda h: (h.start_slot, h.shift_id)),
        }
        if is_htmx(request):  # nothing but the out-of-band sections: empty when there is nothing to show
            return Template(template_name=SECTIONS, context={**context, "oob": True}, media_type=MediaType.HTML)
        return page(request, SCHEDULE_PAGE, {**context, "oob": False})

    @get("/shifts/{shift_id:int}", name="handover:shift")
    async def shift(self, request: AnyRequest, db: Db, current_user: CurrentUser, shift_id: PathId) -> Template:
        if not is_htmx(request):
            return await _agent_page(request, db, current_user, shift_id)
        now = utcnow()
        found = await handover.current_handover(db, shift_id=shift_id, agent=current_user, now=now)  # 404 unless held
        context = {
            **_moments(current_user, now),
            "handovers": [] if found is None else [found],  # none: not (or no longer) time for its notes
            "oob": False,
        }
        return Template(template_name=SECTIONS, context=context, media_type=MediaType.HTML)


# The coordinator's page -------------------------------------------------------------------------


class HandoverAdminController(Controller):
    """Write a note on a coming shift or a time block, see who has read each note, resolve follow-ups."""

    path = "/admin/handover"
    include_in_schema = False
    guards = [requires("coordinator")]

    async def _page(
        self,
        request: AnyRequest,
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
        zone = site_zone(site)
        today = now.astimezone(zone).date()
        context = {
            "zone": zone.key,
            "now": now,
            "when": moment_labeller(zone, today),
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

    async def _act(
        self,
        request: AnyRequest,
        db: AsyncSession,
        staff: User,
        action: Callable[[], Awaitable[object]],
        done: str,
        refused_with: Mapping[str, Any] | None = None,
        *,
        raised: Collection[int] = (),
    ) -> Any:
        """A form or button on the board: refused beside it (``refused_with`` names which), or done."""
        return await act_on_page(
            request,
            db,
            action,
            render=partial(self._page, request, db, staff),
            done=done,
            then=f"{self.path}?done={done}",
            refused_with=refused_with,
            raised=raised,
        )

    @get("/", name="shifts:handover-admin")
    async def show(self, request: AnyRequest, db: Db, current_user: CurrentUser, done: str = "") -> Template:
        return await self._page(request, db, current_user, done=done if done in ADMIN_DONE else "")

    @post("/shift", name="shifts:handover-admin-shift", status_code=200)
    async def on_shift(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, data: Annotated[ShiftNoteForm, FormBody]
    ) -> Any:

        async def write() -> None:
            shift_id = parse_fields(ChosenShift, data).shift_id
            await handover.write_on_shift(
                db, shift_id=shift_id, staff=current_user, kind=data.kind, body=data.body, now=utcnow()
            )

        return await self._act(request, db, current_user, write, "noted", {"error_form": "shift", "shift_form": data})

    @post("/block", name="shifts:handover-admin-block", status_code=200)
    async def on_block(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, data: Annotated[BlockNoteForm, FormBody]
    ) -> Any:
        site = await accounts.get_site(db, current_user.site_id)

        async def write() -> None:
            start_slot, end_slot = handover.block_of_clock(
                data.day, data.start, data.end_day, data.end, site_zone(site)
            )
            await handover.write_on_block(
                db,
                staff=current_user,
                start_slot=start_slot,
                end_slot=end_slot,
                skill=data.skill or None,
                kind=data.kind,
                body=data.body,
                now=utcnow(),
            )

        return await self._act(request, db, current_user, write, "noted", {"error_form": "block", "block_form": data})

    @post("/{note_id:int}/resolve", name="shifts:handover-admin-resolve", status_code=200)
    async def resolve(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, note_id: PathId, data: FormPost
    ) -> Any:
        return await self._act(
            request,
            db,
            current_user,
            lambda: handover.resolve_note(db, note_id=note_id, user=current_user, now=utcnow()),
            "resolved",
            raised={404},
        )


# The JSON API -----------------------------------------------------------------------------------


class HandoverApiController(Controller):
    """Handover notes as JSON: holders and coordinators read a shift's notes; both write; agents acknowledge."""

    path = "/api/v1"
    tags = ["handover"]

    @get("/shifts/{shift_id:int}/handover", name="api:shift-handover", guards=[requires("agent", "coordinator")])
    async def notes(self, db: Db, current_user: CurrentUser, shift_id: PathId) -> list[NoteOut]:
        """The notes reaching a shift, warnings first then open issues then follow-ups, newest first; 404 unless
        I hold the shift or coordinate its site. ``acknowledged_at`` is mine."""
        return [NoteOut.of(view) for view in await handover.notes_for_shift(db, shift_id=shift_id, reader=current_user)]

    @post(
        "/handover-notes", name="api:handover-note-create", guards=[requires("agent", "coordinator")], status_code=201
    )
    async def create(self, db: Db, current_user: CurrentUser, data: NewNoteBody) -> CreatedNoteOut:
        """Leave a note; 422 naming the field, 403 for a target my role cannot use, 404 for a shift not mine."""
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
                db, from_shift_id=data.from_shift_id, agent=current_user, kind=data.kind, body=data.body, now=now
            )
        elif data.shift_id is not None:
            note = await handover.write_on_shift(
                db, shift_id=data.shift_id, staff=current_user, kind=data.kind, body=data.body, now=now
            )
        else:
            if data.start is None or data.end is None:
                field = "start" if data.start is None else "end"
                raise DomainError(_("Give both the start and the end of the block."), field=field)
            handover.ensure_staff(current_user)
            start_slot, end_slot = handover.block_of_moments(data.start, data.end)
            note = await handover.write_on_block(
                db,
                staff=current_user,
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
    async def acknowledge(self, db: Db, current_user: CurrentUser, note_id: PathId) -> AckOut:
        """Acknowledge a note reaching a shift I hold; again answers the first acknowledgement."""
        return AckOut.of(await handover.acknowledge_note(db, note_id=note_id, agent=current_user, now=utcnow()))

    @post(
        "/handover-notes/{note_id:int}/resolve",
        name="api:handover-note-resolve",
        guards=[requires("agent", "coordinator")],
        status_code=200,
    )
    async def resolve(self, db: Db, current_user: CurrentUser, note_id: PathId) -> ResolvedOut:
        """Mark a follow-up resolved: its author or a coordinator of the site."""
        note = await handover.resolve_note(db, note_id=note_id, user=current_user, now=utcnow())
        return ResolvedOut(id=note.id, resolved_at=note.resolved_at)


router = Router(
    path="/",
    route_handlers=[HandoverController, HandoverFragmentController, HandoverAdminController, HandoverApiController],
)
