"""What crosses the edge of the requests JSON API: the bodies a script sends and the answers it gets.

Bodies are read strictly (``forbid_unknown_fields``; a string is no id), so a refusal is a 422 naming the
field before any rule of ours runs. Answers carry codes (kind, status, priority) as they are stored, times in
UTC with their offset.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from backend.core.bounds import Bounded, Id
from backend.requests.models import EventKind, Request, RequestEvent, RequestKind

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=160)]
Details = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Note = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
QuestionNumber = Annotated[int, msgspec.Meta(ge=1, le=200)]


class NewRequestBody(Bounded, kw_only=True, forbid_unknown_fields=True):
    """A request as the page's template takes it: the link that fits the kind (``shift`` for schedule, ``line``
    or ``period`` for pay, ``course`` and perhaps ``question`` for learning), the rest left out."""

    kind: RequestKind
    title: Title
    details: Details
    happened_on: dt.date | None = None
    expected: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    shift: Id | None = None
    period: Id | None = None
    line: Id | None = None
    line_ref: Annotated[str, msgspec.Meta(max_length=200)] = ""
    course: Id | None = None
    question: QuestionNumber | None = None


class AnswerBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An answer the asker sees."""

    body: Body


class HandOverBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """To another team (and perhaps one of its members), with the reason and what has been done."""

    team: Id
    user: Id | None = None
    note: Note


class PauseBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A question to the asker: the clock stops until they reply (``reason``: one of the pause reasons)."""

    body: Body
    reason: Code


class ResumeBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The asker's reply to a question: the clock runs again."""

    body: Body


class ResolveBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The root cause (a key of the site's list) and what was done."""

    root_cause: Code
    resolution: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class ReopenBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class RequestOut(msgspec.Struct, kw_only=True):
    """A request's template, who holds it now and where its clock stands (due instants null while paused or
    once met)."""

    id: int
    kind: str
    title: str
    details: str
    happened_on: dt.date | None
    expected: str
    asker_id: int
    status: str
    priority: str
    team_id: int | None
    owner_id: int | None
    shift_id: int | None
    period_id: int | None
    course_id: int | None
    question_number: int | None
    dispute_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    first_response_at: dt.datetime | None
    response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    paused: bool
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    root_cause: str
    resolution: str
    rating: int | None
    handover_count: int
    reopen_count: int
    me_too_count: int
    idea_outcome: str | None

    @classmethod
    def of(cls, request: Request) -> RequestOut:
        return cls(
            id=request.id,
            kind=request.kind.value,
            title=request.title,
            details=request.details,
            happened_on=request.happened_on,
            expected=request.expected,
            asker_id=request.asker_id,
            status=request.status.value,
            priority=request.priority.value,
            team_id=request.team_id,
            owner_id=request.owner_id,
            shift_id=request.shift_id,
            period_id=request.period_id,
            course_id=request.course_id,
            question_number=request.question_number,
            dispute_id=request.dispute_id,
            created_at=request.created_at,
            updated_at=request.updated_at,
            first_response_at=request.first_response_at,
            response_due_at=request.response_due_at,
            resolution_due_at=request.resolution_due_at,
            paused=request.paused_at is not None,
            resolved_at=request.resolved_at,
            closed_at=request.closed_at,
            root_cause=request.root_cause,
            resolution=request.resolution,
            rating=request.rating,
            handover_count=request.handover_count,
            reopen_count=request.reopen_count,
            me_too_count=request.me_too_count,
            idea_outcome=request.idea_outcome.value if request.idea_outcome else None,
        )


class EventOut(msgspec.Struct, kw_only=True):
    """One entry of the history (``internal``: a staff-only note, never shown to the asker)."""

    at: dt.datetime
    kind: EventKind
    actor_id: int | None
    body: str
    internal: bool
    from_team_id: int | None
    to_team_id: int | None
    to_user_id: int | None

    @classmethod
    def of(cls, event: RequestEvent) -> EventOut:
        return cls(
            at=event.at,
            kind=event.kind,
            actor_id=event.actor_id,
            body=event.body,
            internal=event.internal,
            from_team_id=event.from_team_id,
            to_team_id=event.to_team_id,
            to_user_id=event.to_user_id,
        )


class RequestDetailOut(msgspec.Struct, kw_only=True):
    request: RequestOut
    history: list[EventOut]
