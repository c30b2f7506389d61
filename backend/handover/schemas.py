"""What crosses the edge for handover notes: the pages' forms and the JSON API's bodies and answers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from backend.accounts.schemas import Form
from backend.core.bounds import ID_BOUNDS, Bounded, Id
from backend.core.slots import utc_start
from backend.core.web import RefuseWith
from backend.handover.models import HandoverAck, HandoverNote
from backend.handover.service import NOTE_MAX_CHARS, NoteView

KindName = Literal["warning", "open_issue", "follow_up"]
# Forms take a little more than a note may hold, so an overlong note comes back to its form with the rule.
FormText = Annotated[str, msgspec.Meta(max_length=2 * NOTE_MAX_CHARS)]
Clock = Annotated[str, msgspec.Meta(max_length=5)]
DayText = Annotated[str, msgspec.Meta(max_length=10)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=NOTE_MAX_CHARS)]
SkillCode = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


# The pages' forms -------------------------------------------------------------------------------


class NoteForm(Form):
    kind: KindName
    body: FormText = ""


class ShiftNoteForm(Form, kw_only=True):
    shift_id: Annotated[str, msgspec.Meta(max_length=20)] = ""
    kind: KindName
    body: FormText = ""


class ChosenShift(msgspec.Struct, kw_only=True):
    """The coming shift ``ShiftNoteForm`` writes on, chosen from the list."""

    shift_id: Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose a shift."))]


class BlockNoteForm(Form, kw_only=True):
    day: DayText = ""
    start: Clock = ""
    end_day: DayText = ""
    end: Clock = ""
    skill: Annotated[str, msgspec.Meta(max_length=40)] = ""
    kind: KindName
    body: FormText = ""


# The JSON API -----------------------------------------------------------------------------------


class NewNoteBody(Bounded, kw_only=True, forbid_unknown_fields=True):
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
