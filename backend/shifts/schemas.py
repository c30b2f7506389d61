"""What crosses the edge for shifts: the JSON API's bodies and answers, and the pages' forms.

A page's form is text (``...Form``), so a refused form comes back as typed; ``...Values`` is the same form
as the types the service takes, read by ``parse_fields``, each field with the words that refuse it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import msgspec

from backend.accounts.schemas import Form
from backend.accounts.site_settings import SiteSettings
from backend.core.bounds import ID_BOUNDS, ID_MAX, NUMBER_MAX, Bounded, Id
from backend.core.slots import local_start
from backend.core.web import RefuseWith
from backend.shifts import attendance, cover, swaps
from backend.shifts.attendance import SeatState
from backend.shifts.market import MAX_SEATS, Claim, OpenShift
from backend.shifts.models import Attendance, ShiftSwap

SkillCode = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
BonusMinor = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
TypedAmount = Annotated[str, msgspec.Meta(max_length=20)]
UserId = Id
WholeNumber = Annotated[int, msgspec.Meta(ge=0, le=ID_MAX), RefuseWith(lambda _: _("Enter a whole number."))]
ListedDay = Annotated[
    dt.date, RefuseWith(lambda _: _("Choose a day from the list."), missing=lambda _: _("Choose a day."))
]
ListedAgent = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose an agent from the list."))]
RaisedReason = Annotated[Literal["no_show", "emergency"], RefuseWith(lambda _: _("Choose no-show or emergency."))]
BoardAgent = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose an agent."))]
BoardDay = Annotated[dt.date, RefuseWith(lambda _: _("Choose a day."))]
Clock = Annotated[
    str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$"), RefuseWith(lambda _: _("Enter a time like 18:00."))
]


class NewShiftBody(Bounded, kw_only=True, forbid_unknown_fields=True):
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
    pay_by_tier_minor: dict[str, int]  # what working it pays a junior, mid and senior agent (the settlement's rule)
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
        assert item.pay_minor is not None, "the API prices open shifts: open_shifts_for(pay=shift_pay)"
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


class RequestedOut(msgspec.Struct):
    """A claim during the request window: recorded, and the seats are drawn at ``draw_at``."""

    shift_id: int
    status: Literal["requested"]
    draw_at: dt.datetime


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
    bonus: TypedAmount = "0"  # an amount ("12.50"), read by ``core.money.parse_amount``


class OpenShiftEditForm(Form):
    """The coordinator's edit of an open shift: its local day and times, seats, and bonus in major units."""

    day: Annotated[str, msgspec.Meta(max_length=10)]
    start: Annotated[str, msgspec.Meta(max_length=5)]
    end: Annotated[str, msgspec.Meta(max_length=5)]
    seats: Annotated[str, msgspec.Meta(max_length=4)] = "1"
    bonus: TypedAmount = "0"


class CancelShiftForm(Form):
    reason: Annotated[str, msgspec.Meta(max_length=400)] = ""


class ShiftValues(Bounded, kw_only=True):
    """``ShiftForm`` as the service takes it; a blank number is 0, which the service refuses in its own words."""

    day: ListedDay
    start: Clock
    end: Clock
    seats: WholeNumber = 0

    def span(self, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """The local day and clock times as aware datetimes; an end before the start is on the next day."""
        start = dt.datetime.combine(self.day, dt.time.fromisoformat(self.start), tzinfo=zone)
        end = dt.datetime.combine(self.day, dt.time.fromisoformat(self.end), tzinfo=zone)
        if end <= start:
            end += dt.timedelta(days=1)
        return start, end


class OpenShiftsQuery(Bounded, kw_only=True):
    """The Open shifts filter: a day from the list, or blank for every day; ``since``: the day a page starts."""

    day: ListedDay | None = None
    since: ListedDay | None = None


# Swaps --------------------------------------------------------------------------------------------


class SwapBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``to``: the agent to offer the shift to, or null for everyone eligible."""

    to: UserId | None = None


class SwapForm(Form):
    to: Annotated[str, msgspec.Meta(max_length=20)] = ""


class SwapValues(msgspec.Struct, kw_only=True):
    """``SwapForm`` as the service takes it: a colleague's id, or blank for everyone eligible."""

    to: ListedAgent | None = None


class SwapOut(msgspec.Struct):
    """A swap as its parties see it; ``status`` is ``expired`` once the shift started or left the giver."""

    id: int
    shift_id: int
    skill_name: str
    start: dt.datetime
    end: dt.datetime
    from_user_id: int
    from_name: str
    to_user_id: int | None
    to_name: str | None
    accepted_by_id: int | None
    status: str
    needs_approval: bool
    waiting_approval: bool
    can_accept: bool
    reasons: list[ReasonOut]

    @classmethod
    def of(cls, view: swaps.SwapView) -> SwapOut:
        return cls(
            id=view.id,
            shift_id=view.shift_id,
            skill_name=view.skill_name,
            start=view.starts,
            end=view.ends,
            from_user_id=view.from_user_id,
            from_name=view.from_name,
            to_user_id=view.to_user_id,
            to_name=view.to_name,
            accepted_by_id=view.accepted_by_id,
            status=view.status.value,
            needs_approval=view.needs_approval,
            waiting_approval=view.waiting_approval,
            can_accept=view.can_accept,
            reasons=[ReasonOut(r.code.value, r.message) for r in view.reasons],
        )


class SwapsOut(msgspec.Struct):
    """Mine: offered to me by name, offered by me, and open offers I could take."""

    to_me: list[SwapOut]
    mine: list[SwapOut]
    open: list[SwapOut]


class SwapChangeOut(msgspec.Struct):
    id: int
    shift_id: int
    status: str
    waiting_approval: bool

    @classmethod
    def of(cls, swap: ShiftSwap) -> SwapChangeOut:
        return cls(swap.id, swap.shift_id, swap.status.value, swaps.waiting_approval(swap))


# Cover --------------------------------------------------------------------------------------------


class CoverBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A coordinator's cover request: who did not come (null: one more seat is needed), why, and the bonus."""

    reason: Literal["no_show", "emergency"]
    absent_user: UserId | None = None
    bonus_minor: BonusMinor = 0


class AskedOut(msgspec.Struct):
    user_id: int
    name: str
    wave: int
    rank: int
    why: list[str]


class CoverOut(msgspec.Struct):
    """A cover request; ``asked`` (who each wave asked, and why there) is shown to coordinators only."""

    id: int
    shift_id: int
    skill: str
    start: dt.datetime
    end: dt.datetime
    reason: str
    status: str
    absent_user: int | None
    bonus_minor: int
    pay_minor: int | None  # what covering pays the calling agent, as the settlement will; null for staff
    currency: str
    wave: int
    next_wave_at: dt.datetime | None
    covered_by: int | None
    covered_at: dt.datetime | None
    created_at: dt.datetime
    asked: list[AskedOut]

    @classmethod
    def of(
        cls, view: cover.CoverView, settings: SiteSettings, zone: ZoneInfo, *, staff: bool, pay_minor: int | None = None
    ) -> CoverOut:
        request = view.request
        return cls(
            id=request.id,
            shift_id=view.shift.id,
            skill=view.skill.code,
            start=local_start(view.shift.start_slot, zone),
            end=local_start(view.shift.end_slot, zone),
            reason=request.reason.value,
            status=request.status.value,
            absent_user=request.absent_user_id if staff else None,
            bonus_minor=request.bonus_minor,
            pay_minor=pay_minor,
            currency=settings.currency,
            wave=request.wave,
            next_wave_at=request.next_wave_at,
            covered_by=request.covered_by_id,
            covered_at=request.covered_at,
            created_at=request.created_at,
            asked=[AskedOut(a.user_id, a.name, a.wave, a.rank, a.why) for a in view.asked] if staff else [],
        )


class CoverForm(Form):
    """The coordinator's form: the shift, who did not come ("" for one more seat), why, and the bonus."""

    shift_id: Annotated[str, msgspec.Meta(max_length=20)]
    reason: Annotated[str, msgspec.Meta(max_length=20)]
    absent_user: Annotated[str, msgspec.Meta(max_length=20)] = ""
    bonus: TypedAmount = "0"  # an amount ("12.50"), read by ``core.money.parse_amount``


class CoverShiftValues(msgspec.Struct, kw_only=True):
    """The shift ``CoverForm`` raises cover on; read first, as the page shows it again with any refusal."""

    shift_id: WholeNumber = 0


class CoverValues(msgspec.Struct, kw_only=True):
    """The rest of ``CoverForm`` as the service takes it. A coordinator raises cover for a no-show or an
    emergency; a late release is the agent's own doing."""

    absent_user: WholeNumber | None = None
    reason: RaisedReason


# Attendance ---------------------------------------------------------------------------------------

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=attendance.WAIVER_REASON_MAX_CHARS)]
AppealText = Annotated[str, msgspec.Meta(min_length=1, max_length=attendance.APPEAL_MAX_CHARS)]


class NoShowBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    user: UserId


class WaiverBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    user: UserId
    reason: Reason


class AppealBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    text: AppealText


class DecisionBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    decision: Literal["accept", "reject"]


class AttendanceOut(msgspec.Struct, kw_only=True):
    shift_id: int
    user_id: int
    confirmed_at: dt.datetime | None
    started_at: dt.datetime | None
    no_show_at: dt.datetime | None
    waived_at: dt.datetime | None

    @classmethod
    def of(cls, shift_id: int, user_id: int, row: Attendance) -> AttendanceOut:
        return cls(
            shift_id=shift_id,
            user_id=user_id,
            confirmed_at=row.confirmed_at,
            started_at=row.started_at,
            no_show_at=row.no_show_at,
            waived_at=row.waived_at,
        )


class AppealOut(msgspec.Struct, kw_only=True):
    id: int
    status: str


class RecordOut(msgspec.Struct, kw_only=True):
    shift_id: int
    start: dt.datetime
    end: dt.datetime
    no_show: bool
    confirmed: bool
    waived: bool
    appeal_status: str | None

    @classmethod
    def of(cls, state: SeatState, zone: ZoneInfo) -> RecordOut:
        return cls(
            shift_id=state.shift_id,
            start=local_start(state.start_slot, zone),
            end=local_start(state.end_slot, zone),
            no_show=state.no_show_at is not None,
            confirmed=state.confirmed_at is not None,
            waived=state.waived_at is not None,
            appeal_status=state.appeal_status.value if state.appeal_status else None,
        )


class ReliabilityOut(msgspec.Struct, kw_only=True):
    score: float
    rule: str
    window_days: int
    counted: int
    no_shows: int
    unconfirmed: int
    waived: int
    records: list[RecordOut]


class UserForm(Form):
    user: Annotated[str, msgspec.Meta(max_length=20)]
    day: Annotated[str, msgspec.Meta(max_length=10)] = ""


class NoShowForm(UserForm):
    """A no-show, and (``cover`` "on") cover asked for the rest of the shift if it is still under way."""

    cover: Annotated[str, msgspec.Meta(max_length=3)] = ""


class WaiverForm(UserForm):
    reason: Annotated[str, msgspec.Meta(max_length=attendance.WAIVER_REASON_MAX_CHARS)] = ""


class AppealForm(Form):
    text: Annotated[str, msgspec.Meta(max_length=attendance.APPEAL_MAX_CHARS)] = ""


class DecisionForm(Form):
    decision: Literal["accept", "reject"]
    day: Annotated[str, msgspec.Meta(max_length=10)] = ""


class AgentValues(msgspec.Struct, kw_only=True):
    """The agent a coordinator's attendance button is about (``UserForm.user``)."""

    user: BoardAgent


class BoardQuery(Bounded, kw_only=True):
    """The attendance board's day (blank is today) and which of its seats to show: one start (a slot), the
    problems (``start=problems``), or one shift's seats; of one skill; a page of them."""

    day: BoardDay | None = None
    start: (
        Annotated[
            Literal["problems"] | Annotated[int, msgspec.Meta(ge=0, le=NUMBER_MAX)],
            RefuseWith(lambda _: _("Choose a start time.")),
        ]
        | None
    ) = None
    shift: Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose a shift."))] | None = None
    skill: Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose a skill."))] | None = None
    page: Annotated[int, msgspec.Meta(ge=1, le=NUMBER_MAX), RefuseWith(lambda _: _("Choose a page."))] | None = None
