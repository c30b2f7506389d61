"""The staff's request pages: the queues, raising a request, the work page with every action, and the settings.

Coordinators and admins see every request of their site; finance the requests of their teams and every pay
request (``access``). Each action is a form on the work page: a refusal comes back beside its form (422 naming
the field, or 409 when someone else was first), a success goes back to the page (303, or the page itself for
htmx). The settings (teams, routing, the matrix, targets, working hours) are the coordinators'; finance reads them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import Parameter
from litestar.response import Template
from sqlalchemy import select

from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import PAY_ADJUSTERS, Skill, User
from backend.accounts.service import get_site, list_skills, person_labels, staff_of_site
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone, user_zone
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import current_locale, moment_labeller
from backend.core.i18n import gettext as _
from backend.core.money import decimal_text, parse_amount
from backend.core.security import requires
from backend.core.slots import local_start, utc_start
from backend.core.templating import page, refused_status
from backend.core.web import AnyRequest, Db, act_on_page, parse_fields, see_other
from backend.pay import disputes
from backend.pay.models import Dispute, DisputeStatus, PayPeriod
from backend.pay.periods import CONFIRM_ABOVE_MINOR, NeedsConfirmation
from backend.requests import actions, attachments, clock, intake, kinds, queues, routing, targets
from backend.requests.access import may_act, sees_site_wide, visible_request
from backend.requests.models import (
    OPEN_STATUSES,
    Calendar,
    Consultation,
    IdeaOutcome,
    Involvement,
    Priority,
    Request,
    RequestKind,
)
from backend.requests.routes_app import UPLOAD_BODY_MAX_BYTES, form_choices
from backend.requests.schemas import (
    AnswerForm,
    AskAskerForm,
    ConsultAnswerForm,
    ConsultForm,
    HandOverForm,
    HoursForm,
    MemberForm,
    NoteForm,
    OutcomeForm,
    PriorityForm,
    RequestDraft,
    ResolveForm,
    ResponsibilityForm,
    RuleForm,
    TargetForm,
    TeamForm,
)
from backend.shifts.models import Shift

QUEUE_PAGE = "requests/staff/queue.html"
WORK_PAGE = "requests/staff/work.html"
NEW_PAGE = "requests/staff/new.html"
SETTINGS_PAGE = "requests/staff/settings.html"
WORK_SECTION = "#request-work"
PAGE_MAX = 10_000
WEEKDAYS = range(7)

PageNumber = Annotated[int, Parameter(ge=0, le=PAGE_MAX, schema_extra={"minimum": 0, "maximum": PAGE_MAX})]


async def posted(request: AnyRequest) -> dict[str, str]:
    """The posted form's fields as text (the last value of a repeated one), for ``parse_fields``."""
    return {key: str(value) for key, value in (await request.form()).items() if not isinstance(value, UploadFile)}


def helpers() -> dict[str, Any]:
    return {
        "kind_label": kinds.kind_label,
        "status_label": kinds.status_label,
        "priority_label": kinds.priority_label,
        "outcome_label": kinds.outcome_label,
        "event_label": kinds.event_label,
        "root_cause_label": kinds.root_cause_label,
        "involvement_label": kinds.involvement_label,
        "calendar_label": kinds.calendar_label,
        "pause_reason_label": clock.pause_reason_label,
        "duration_text": queues.duration_text,
    }


def parse_view(view: str) -> tuple[str, int | None]:
    """The queue a tab names: mine, site, flagged, pay, team:<id> or owner:<id>; anything else is refused naming
    ``view``."""
    if view in {"mine", "site", "flagged", "pay"}:
        return view, None
    name, _colon, number = view.partition(":")
    if name in {"team", "owner"} and number.isdigit() and 1 <= int(number) < 2**63:
        return name, int(number)
    raise DomainError(_("Choose one of the queues."), field="view")


WORK_FORMS = ("answer", "ask", "note", "hand-over", "consult", "priority")


def shown_forms(request: Request, *, acts: bool, dispute: Dispute | None, consulted: bool) -> frozenset[str]:
    """The action forms the work page shows ``request``'s viewer: a refusal of any other is shown at the top."""
    shown: set[str] = {"consult-answer"} if consulted else set()
    if not acts:
        return frozenset(shown)
    shown.add("note")
    if request.status not in OPEN_STATUSES:
        return frozenset(shown)
    shown.update(WORK_FORMS)
    if request.owner_id is None:
        shown.add("take")
    if request.kind == RequestKind.idea:
        shown.add("outcome")
    elif dispute is not None and dispute.status == DisputeStatus.open:
        shown.update({"dispute-adjust", "dispute-reject"})
    else:
        shown.add("resolve")
    return frozenset(shown)


class StaffRequestsController(Controller):
    """The queues and the work page: coordinators, finance (admins everywhere)."""

    path = "/admin/requests"
    include_in_schema = False
    guards = [requires("coordinator", "finance")]

    @get("/", name="requests:staff-queue")
    async def show(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, view: str = "mine", page_number: PageNumber = 0
    ) -> Template:
        """One queue at a time, with a tab for each the viewer may open and their counts."""
        name, number = parse_view(view)
        now = utcnow()
        tabs = await queues.tabs_for(db, staff=current_user)
        if name == "flagged":
            rows, has_more = await queues.bounce_flagged(db, staff=current_user, now=now), False
        else:
            found = await queues.queue(
                db,
                staff=current_user,
                team_id=number if name == "team" else None,
                owner_id=number if name == "owner" else None,
                mine=name == "mine",
                kind=RequestKind.pay if name == "pay" else None,
                page=page_number,
                now=now,
            )
            rows, has_more = found.rows, found.has_more
        site = await get_site(db, current_user.site_id)
        context = {
            "tabs": tabs,
            "view": view,
            "rows": rows,
            "page_number": page_number,
            "has_more": has_more,
            "when": moment_labeller(site_zone(site), now.astimezone(site_zone(site)).date()),
            **helpers(),
        }
        return page(request, QUEUE_PAGE, context)

    async def _new_page(
        self,
        request: AnyRequest,
        db: Any,
        staff: User,
        *,
        form: dict[str, str] | None = None,
        error: DomainError | None = None,
    ) -> Template:
        typed = form or {key: str(value)[:200] for key, value in request.query_params.items()}
        chosen = typed.get("kind", "")
        kind = RequestKind(chosen) if chosen in set(RequestKind) else None
        now = utcnow()
        context = {
            "kinds": kinds.KIND_ORDER,
            "kind": kind,
            "draft_kind": chosen,
            "typed": typed,
            "error": error,
            "form_action": "/admin/requests",
            "template": kinds.TEMPLATE[kind] if kind else None,
            "choices": await form_choices(db, asker=staff, kind=kind, texts=typed, now=now) if kind else None,
            "today": now.astimezone(user_zone(staff)).date(),
            "expected": "",
            "suggest_url": "",
            "kind_hint": kinds.kind_hint,
            **helpers(),
        }
        return page(request, NEW_PAGE, context, status_code=refused_status(request, error))

    @get("/new", name="requests:staff-new")
    async def new(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Template:
        """Staff raise a request too (to another team, or for themselves), with the agents' template form."""
        return await self._new_page(request, db, current_user)

    @post("/", name="requests:staff-raise", status_code=200, request_max_body_size=UPLOAD_BODY_MAX_BYTES)
    async def raise_request(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Any:
        """The template form, a file with it when one comes; refused beside its field with nothing written."""
        form = await posted(request)
        try:
            draft = parse_fields(RequestDraft, form)
            upload = await attachments.upload_of((await request.form()).get(attachments.FIELD))
            async with db.begin_nested():
                raised = await intake.raise_request(db, asker=current_user, draft=draft, now=utcnow(), upload=upload)
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._new_page(request, db, current_user, form=form, error=error)
        return see_other(f"/admin/requests/{raised.id}")

    async def _work(
        self,
        request: AnyRequest,
        db: Any,
        staff: User,
        request_id: int,
        *,
        error: DomainError | None = None,
        failed: str = "",
        typed: dict[str, str] | None = None,
        done: str = "",
    ) -> Response[Any]:
        """The work page; a refusal is shown beside the form that failed (``failed``), with what was typed."""
        try:
            context = await self._work_context(db, staff, request_id)
        except NotFound:
            if not done:
                raise
            # Handed to a team the actor may not see: the work is done, back to the queue.
            return Response(content="", status_code=200, headers={"HX-Redirect": "/admin/requests"})
        confirming = error if isinstance(error, NeedsConfirmation) else None
        context.update(
            {
                "error": None if confirming else error,
                "failed": failed,
                "typed": typed or {},
                "done": done,
                "confirming": confirming,
                "confirm_amount": decimal_text(confirming.amount_minor) if confirming else "",
                "confirm_above_minor": CONFIRM_ABOVE_MINOR,
            }
        )
        status = 200 if confirming else refused_status(request, error)
        return page(request, WORK_PAGE, context, status_code=status)

    async def _work_context(self, db: Any, staff: User, request_id: int) -> dict[str, Any]:
        now = utcnow()
        req = await visible_request(db, request_id=request_id, viewer=staff)
        site = await get_site(db, staff.site_id)
        zone = site_zone(site)
        acts = await may_act(db, req, staff)
        teams = await routing.teams_of_site(db, staff.site_id)
        people = await staff_of_site(db, site_id=staff.site_id, roles=PAY_ADJUSTERS)
        labels = person_labels(people)
        consultations = list(
            await db.scalars(
                select(Consultation)
                .where(Consultation.request_id == req.id)
                .order_by(Consultation.asked_at, Consultation.id)
            )
        )
        asker = await db.get(User, req.asker_id)
        shift = await db.get(Shift, req.shift_id) if req.shift_id else None
        skill = await db.get(Skill, shift.skill_id) if shift else None
        dispute = await db.get(Dispute, req.dispute_id) if req.dispute_id else None
        period = (
            await db.get(PayPeriod, dispute.period_id if dispute else req.period_id)
            if (dispute or req.period_id)
            else None
        )
        return {
            "shown_forms": shown_forms(
                req, acts=acts, dispute=dispute, consulted=any(c.user_id == staff.id for c in consultations)
            ),
            "req": req,
            "asker": asker,
            "acts": acts,
            "mine": req.owner_id == staff.id,
            "team": next((team for team in teams if team.id == req.team_id), None),
            "owner_name": labels.get(req.owner_id, "") if req.owner_id else "",
            "teams": teams,
            "people": [(person.id, labels[person.id]) for person in people],
            "labels": labels,
            "entries": await queues.history_entries(db, req, internal=True),
            "files": await attachments.attachments_of(db, request_id=req.id, internal=True),
            "clock_view": await clock.clock_view(db, req, now=now),
            "consultations": consultations,
            "root_causes": site_settings(site).request_root_causes,
            "pause_reasons": clock.PAUSE_REASONS,
            "priorities": list(Priority),
            "outcomes": list(IdeaOutcome),
            "dispute": dispute,
            "shift": shift,
            "shift_start": utc_start(shift.start_slot) if shift else None,
            "shift_end": local_start(shift.end_slot, zone) if shift else None,
            "shift_skill": skill,
            "period": period,
            "when": moment_labeller(zone, now.astimezone(zone).date()),
            "is_open": req.status in OPEN_STATUSES,
            "staff": staff,
            "ref_text": disputes.ref_text,
            **helpers(),
        }

    @get("/{request_id:int}", name="requests:staff-work")
    async def work(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Response[Any]:
        return await self._work(request, db, current_user, request_id)

    @get("/{request_id:int}/files/{attachment_id:int}", name="requests:staff-file")
    async def file(
        self, db: Db, current_user: CurrentUser, request_id: PathId, attachment_id: PathId
    ) -> Response[bytes]:
        """A file sent with a request, downloaded (never shown inline), to those who may see the request."""
        found = await attachments.attachment_for(
            db, request_id=request_id, attachment_id=attachment_id, viewer=current_user
        )
        return Response(content=found.data, media_type=found.content_type, headers=attachments.serve_headers(found))

    async def _act(
        self,
        request: AnyRequest,
        db: Any,
        staff: User,
        request_id: int,
        name: str,
        act: Callable[[dict[str, str]], Awaitable[object]],
    ) -> Response[Any]:
        """Run one action from its form; refused beside that form, or done (another's request is Not found)."""
        form = await posted(request)
        return await act_on_page(
            request,
            db,
            lambda: act(form),
            render=partial(self._work, request, db, staff, request_id),
            then=f"{self.path}/{request_id}",
            done=name,
            refused_with={"failed": name, "typed": form},
            raised={404},
        )

    @post("/{request_id:int}/take", name="requests:staff-take", status_code=200)
    async def take(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        async def act(_form: dict[str, str]) -> None:
            await actions.take(db, request_id=request_id, actor=current_user, now=utcnow())

        return await self._act(request, db, current_user, request_id, "take", act)

    @post(
        "/{request_id:int}/answer",
        name="requests:staff-answer",
        status_code=200,
        request_max_body_size=UPLOAD_BODY_MAX_BYTES,
    )
    async def answer(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        async def act(form: dict[str, str]) -> None:
            values = parse_fields(AnswerForm, form)
            await actions.answer(
                db,
                request_id=request_id,
                actor=current_user,
                now=utcnow(),
                body=values.body,
                upload=await attachments.upload_of((await request.form()).get(attachments.FIELD)),
            )

        return await self._act(request, db, current_user, request_id, "answer", act)

    @post("/{request_id:int}/note", name="requests:staff-note", status_code=200)
    async def note(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        async def act(form: dict[str, str]) -> None:
            values = parse_fields(NoteForm, form)
            await actions.note(db, request_id=request_id, actor=current_user, now=utcnow(), body=values.body)

        return await self._act(request, db, current_user, request_id, "note", act)

    @post("/{request_id:int}/ask", name="requests:staff-ask", status_code=200)
    async def ask(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        async def act(form: dict[str, str]) -> None:
            values = parse_fields(AskAskerForm, form)
            await actions.ask_asker(
                db, request_id=request_id, actor=current_user, now=utcnow(), body=values.body, reason=values.reason
            )

        return await self._act(request, db, current_user, request_id, "ask", act)

    @post("/{request_id:int}/hand-over", name="requests:staff-hand-over", status_code=200)
    async def hand_over(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        async def act(form: dict[str, str]) -> None:
            values = parse_fields(HandOverForm, form)
            await actions.hand_over(
                db,
                request_id=request_id,
                actor=current_user,
                now=utcnow(),
                to_team_id=values.team,
                to_user_id=values.user,
                note=values.note,
            )

        return await self._act(request, db, current_user, request_id, "hand-over", act)

    @post("/{request_id:int}/consult", name="requests:staff-consult", status_code=200)
    async def consult(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        async def act(form: dict[str, str]) -> None:
            values = parse_fields(ConsultForm, form)
            await actions.consult(
                db,
                request_id=request_id,
                actor=current_user,
                now=utcnow(),
                user_id=values.user,
                question=values.question,
            )

        return await self._act(request, db, current_user, request_id, "consult", act)

    @post("/{request_id:int}/consult-answer", name="requests:staff-consult-answer", status_code=200)
    async def consult_answer(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        async def act(form: dict[str, str]) -> None:
            values = parse_fields(ConsultAnswerForm, form)
            if values.consultation is None:
                raise DomainError(_("Choose a consultation."), field="consultation")
            await actions.answer_consult(
                db,
                request_id=request_id,
                actor=current_user,
                now=utcnow(),
                consultation_id=values.consultation,
                answer=values.answer,
            )

        return await self._act(request, db, current_user, request_id, "consult-answer", act)

    @post("/{request_id:int}/priority", name="requests:staff-priority", status_code=200)
    async def priority(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        async def act(form: dict[str, str]) -> None:
            values = parse_fields(PriorityForm, form)
            await actions.set_priority(
                db,
                request_id=request_id,
                actor=current_user,
                now=utcnow(),
                priority=values.priority,
                reason=values.reason,
            )

        return await self._act(request, db, current_user, request_id, "priority", act)

    @post("/{request_id:int}/resolve", name="requests:staff-resolve", status_code=200)
    async def resolve(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        async def act(form: dict[str, str]) -> None:
            values = parse_fields(ResolveForm, form)
            await actions.resolve(
                db,
                request_id=request_id,
                actor=current_user,
                now=utcnow(),
                root_cause=values.root_cause,
                resolution=values.resolution,
            )

        return await self._act(request, db, current_user, request_id, "resolve", act)

    @post("/{request_id:int}/outcome", name="requests:staff-outcome", status_code=200)
    async def outcome(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        async def act(form: dict[str, str]) -> None:
            values = parse_fields(OutcomeForm, form)
            await actions.set_idea_outcome(
                db, request_id=request_id, actor=current_user, now=utcnow(), outcome=values.outcome, note=values.note
            )

        return await self._act(request, db, current_user, request_id, "outcome", act)

    @post("/{request_id:int}/dispute-adjust", name="requests:staff-dispute-adjust", status_code=200)
    async def dispute_adjust(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        """An adjustment settles the pay dispute and resolves the request; a large amount is read back first and
        booked only when the answer (``confirmed=yes``) is posted."""

        async def act(form: dict[str, str]) -> None:
            await actions.resolve_dispute(
                db,
                request_id=request_id,
                actor=current_user,
                action="adjust",
                amount_minor=parse_amount(form.get("amount", ""), field="amount", allow_negative=True),
                reason=form.get("reason", ""),
                now=utcnow(),
                confirmed=form.get("confirmed") == "yes",
            )

        return await self._act(request, db, current_user, request_id, "dispute-adjust", act)

    @post("/{request_id:int}/dispute-reject", name="requests:staff-dispute-reject", status_code=200)
    async def dispute_reject(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        async def act(form: dict[str, str]) -> None:
            await actions.resolve_dispute(
                db,
                request_id=request_id,
                actor=current_user,
                action="reject",
                amount_minor=0,
                reason=form.get("reason", ""),
                now=utcnow(),
            )

        return await self._act(request, db, current_user, request_id, "dispute-reject", act)


class RequestSettingsController(Controller):
    """Teams, routing, the responsibility matrix, targets and working hours: coordinators change them, finance
    reads them."""

    path = "/admin/requests/settings"
    include_in_schema = False
    guards = [requires("coordinator", "finance")]

    async def _page(
        self,
        request: AnyRequest,
        db: Any,
        staff: User,
        *,
        error: DomainError | None = None,
        failed: str = "",
        typed: dict[str, str] | None = None,
        done: str = "",
    ) -> Template:
        site = await get_site(db, staff.site_id)
        locale = current_locale()
        people = await staff_of_site(db, site_id=staff.site_id, roles=PAY_ADJUSTERS)
        labels = person_labels(people)
        settings = site_settings(site)
        context = {
            "teams": await routing.teams_of_site(db, staff.site_id),
            "rules": await routing.rules_of_site(db, staff.site_id, locale=locale),
            "cells": await routing.responsibilities_of_site(db, staff.site_id, locale=locale),
            "targets": await targets.targets_of_site(db, staff.site_id),
            "settings": settings,
            "skills": await list_skills(db, site_id=staff.site_id),
            "people": [(person.id, labels[person.id]) for person in people],
            "kinds": kinds.KIND_ORDER,
            "priorities": list(Priority),
            "involvements": list(Involvement),
            "calendars": list(Calendar),
            "weekdays": WEEKDAYS,
            "may_set": sees_site_wide(staff),
            "error": error,
            "failed": failed,
            "typed": typed or {},
            "done": done,
            **helpers(),
        }
        return page(request, SETTINGS_PAGE, context, status_code=refused_status(request, error))

    @get("/", name="requests:settings")
    async def show(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Template:
        return await self._page(request, db, current_user)

    async def _act(
        self,
        request: AnyRequest,
        db: Any,
        staff: User,
        name: str,
        act: Callable[[dict[str, str], Any], Awaitable[object]],
    ) -> Response[Any]:
        form = await posted(request)
        many = await request.form()
        return await act_on_page(
            request,
            db,
            lambda: act(form, many),
            render=partial(self._page, request, db, staff),
            then=f"{self.path}#{name}",
            done=name,
            refused_with={"failed": name, "typed": form},
            raised={404},
        )

    @post("/teams", name="requests:settings-team-add", status_code=200, guards=[requires("coordinator")])
    async def add_team(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Any:
        async def act(form: dict[str, str], _many: Any) -> None:
            values = parse_fields(TeamForm, form)
            await routing.create_team(
                db,
                staff=current_user,
                name=values.name,
                name_zh=values.name_zh,
                calendar=values.calendar,
                lead_id=values.lead,
                now=utcnow(),
            )

        return await self._act(request, db, current_user, "teams", act)

    @post("/teams/{team_id:int}", name="requests:settings-team-edit", status_code=200, guards=[requires("coordinator")])
    async def edit_team(self, request: AnyRequest, db: Db, current_user: CurrentUser, team_id: PathId) -> Any:
        async def act(form: dict[str, str], _many: Any) -> None:
            values = parse_fields(TeamForm, form)
            await routing.update_team(
                db,
                staff=current_user,
                team_id=team_id,
                name=values.name,
                name_zh=values.name_zh,
                calendar=values.calendar,
                lead_id=values.lead,
            )

        return await self._act(request, db, current_user, f"team-{team_id}", act)

    @post(
        "/teams/{team_id:int}/archive",
        name="requests:settings-team-archive",
        status_code=200,
        guards=[requires("coordinator")],
    )
    async def archive_team(self, request: AnyRequest, db: Db, current_user: CurrentUser, team_id: PathId) -> Any:
        async def act(_form: dict[str, str], _many: Any) -> None:
            await routing.archive_team(db, staff=current_user, team_id=team_id, now=utcnow())

        return await self._act(request, db, current_user, "teams", act)

    @post(
        "/teams/{team_id:int}/members",
        name="requests:settings-member-add",
        status_code=200,
        guards=[requires("coordinator")],
    )
    async def add_member(self, request: AnyRequest, db: Db, current_user: CurrentUser, team_id: PathId) -> Any:
        async def act(form: dict[str, str], _many: Any) -> None:
            values = parse_fields(MemberForm, form)
            await routing.add_member(db, staff=current_user, team_id=team_id, user_id=values.user)

        return await self._act(request, db, current_user, f"team-{team_id}", act)

    @post(
        "/teams/{team_id:int}/members/{user_id:int}/remove",
        name="requests:settings-member-remove",
        status_code=200,
        guards=[requires("coordinator")],
    )
    async def remove_member(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, team_id: PathId, user_id: PathId
    ) -> Any:
        async def act(_form: dict[str, str], _many: Any) -> None:
            await routing.remove_member(db, staff=current_user, team_id=team_id, user_id=user_id)

        return await self._act(request, db, current_user, f"team-{team_id}", act)

    @post("/rules", name="requests:settings-rule-set", status_code=200, guards=[requires("coordinator")])
    async def set_rule(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Any:
        async def act(form: dict[str, str], _many: Any) -> None:
            values = parse_fields(RuleForm, form)
            await routing.set_rule(
                db,
                staff=current_user,
                kind=values.kind,
                skill_id=values.skill,
                team_id=values.team,
                owner_id=values.owner,
            )

        return await self._act(request, db, current_user, "rules", act)

    @post(
        "/rules/{rule_id:int}/delete",
        name="requests:settings-rule-delete",
        status_code=200,
        guards=[requires("coordinator")],
    )
    async def delete_rule(self, request: AnyRequest, db: Db, current_user: CurrentUser, rule_id: PathId) -> Any:
        async def act(_form: dict[str, str], _many: Any) -> None:
            await routing.delete_rule(db, staff=current_user, rule_id=rule_id)

        return await self._act(request, db, current_user, "rules", act)

    @post("/matrix", name="requests:settings-matrix-set", status_code=200, guards=[requires("coordinator")])
    async def set_cell(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Any:
        async def act(form: dict[str, str], _many: Any) -> None:
            values = parse_fields(ResponsibilityForm, form)
            await routing.set_responsibility(
                db,
                staff=current_user,
                kind=values.kind,
                involvement=values.involvement,
                team_id=values.team,
                user_id=values.user,
            )

        return await self._act(request, db, current_user, "matrix", act)

    @post(
        "/matrix/{cell_id:int}/remove",
        name="requests:settings-matrix-remove",
        status_code=200,
        guards=[requires("coordinator")],
    )
    async def remove_cell(self, request: AnyRequest, db: Db, current_user: CurrentUser, cell_id: PathId) -> Any:
        async def act(_form: dict[str, str], _many: Any) -> None:
            await routing.remove_responsibility(db, staff=current_user, responsibility_id=cell_id)

        return await self._act(request, db, current_user, "matrix", act)

    @post("/targets", name="requests:settings-target", status_code=200, guards=[requires("coordinator")])
    async def set_target(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Any:
        async def act(form: dict[str, str], _many: Any) -> None:
            values = parse_fields(TargetForm, form)
            await clock.change_target(
                db,
                staff=current_user,
                kind=values.kind,
                priority=values.priority,
                first_response_minutes=values.first_response_minutes,
                resolution_minutes=values.resolution_minutes,
                now=utcnow(),
            )

        return await self._act(request, db, current_user, "targets", act)

    @post("/hours", name="requests:settings-hours", status_code=200, guards=[requires("coordinator")])
    async def set_hours(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Any:
        """The working hours and days business-hours clocks count, the warning share, the bounce limit, the days
        an asker has to confirm, and the root causes (one a line)."""

        async def act(form: dict[str, str], many: Any) -> None:
            values = parse_fields(HoursForm, form)
            await clock.change_working_rules(
                db,
                staff=current_user,
                hours_open=values.hours_open,
                hours_close=values.hours_close,
                days=[int(day) for day in many.getall("days", []) if str(day).isdigit()],
                warn_share=values.warn_percent / 100,
                bounce_limit=values.bounce_limit,
                confirm_days=values.confirm_days,
                root_causes=values.root_causes.splitlines(),
                now=utcnow(),
            )

        return await self._act(request, db, current_user, "hours", act)
