"""What crosses the edge for the marketplace: the JSON API's bodies and answers, and the pages' forms."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from backend.accounts.schemas import Form
from backend.shifts.market import MAX_SEATS, Claim, OpenShift

SkillCode = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
BonusMinor = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]


class NewShiftBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A hand-made open shift: times in ISO 8601 with an offset, on :00 or :30."""

    skill: SkillCode
    start: dt.datetime
    end: dt.datetime
    seats: Annotated[int, msgspec.Meta(ge=1, le=MAX_SEATS)]
    bonus_minor: BonusMinor = 0


class ShiftOut(msgspec.Struct):
    id: int
    skill: str
    start: dt.datetime
    end: dt.datetime
    seats: int
    taken: int
    bonus_minor: int
    pay_minor: int
    currency: str


class ReasonOut(msgspec.Struct):
    code: str
    message: str


class OpenShiftOut(msgspec.Struct):
    """An open shift as the calling agent sees it; ``reasons`` is empty exactly when ``can_claim`` (or held)."""

    id: int
    skill: str
    skill_name: str
    start: dt.datetime
    end: dt.datetime
    seats: int
    seats_left: int
    pay_minor: int
    bonus_minor: int
    currency: str
    opens_at: dt.datetime
    can_claim: bool
    reasons: list[ReasonOut]
    held: bool
    undo_until: dt.datetime | None
    waitlisted: bool
    offer_until: dt.datetime | None

    @classmethod
    def of(cls, item: OpenShift) -> OpenShiftOut:
        return cls(
            id=item.shift_id,
            skill=item.skill_code,
            skill_name=item.skill_name,
            start=item.starts,
            end=item.ends,
            seats=item.seats,
            seats_left=item.seats_left,
            pay_minor=item.pay_minor,
            bonus_minor=item.bonus_minor,
            currency=item.currency,
            opens_at=item.opens_at,
            can_claim=item.can_claim,
            reasons=[ReasonOut(reason.code.value, reason.message) for reason in item.reasons],
            held=item.held,
            undo_until=item.undo_until,
            waitlisted=item.waitlisted,
            offer_until=item.offer_until,
        )


class ClaimOut(msgspec.Struct):
    """A held seat; ``created`` is false when the agent already held it (a second tap)."""

    shift_id: int
    seat_id: int
    taken_at: dt.datetime
    undo_until: dt.datetime
    created: bool

    @classmethod
    def of(cls, claim: Claim) -> ClaimOut:
        return cls(claim.shift_id, claim.seat_id, claim.taken_at, claim.undo_until, claim.created)


class SeatChangeOut(msgspec.Struct):
    shift_id: int
    status: Literal["undone", "released"]


class WaitlistOut(msgspec.Struct):
    shift_id: int
    position: int


class ShiftForm(Form):
    """The coordinator's form: a local day of the site and wall-clock times (an end before the start is next day)."""

    skill: SkillCode
    day: Annotated[str, msgspec.Meta(max_length=10)]
    start: Annotated[str, msgspec.Meta(max_length=5)]
    end: Annotated[str, msgspec.Meta(max_length=5)]
    seats: Annotated[str, msgspec.Meta(max_length=4)] = "1"
    bonus_minor: Annotated[str, msgspec.Meta(max_length=9)] = "0"
