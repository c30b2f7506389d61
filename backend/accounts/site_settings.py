"""A site's settings: one msgspec struct stored as JSON on the site, with defaults for every field.

Adding a field needs no migration: a site saved before it simply gets the default.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site
from backend.accounts.site_defaults import FAIRNESS_SPARE_COVER, REQUEST_ROOT_CAUSES
from backend.core.errors import DomainError

Weekday = Annotated[int, msgspec.Meta(ge=0, le=6)]  # 0 = Monday
Fraction = Annotated[float, msgspec.Meta(gt=0, le=1)]


class SiteSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Availability: next week's blocks are due by this local weekday and time; later edits need a coordinator.
    availability_deadline_weekday: Weekday = 3
    availability_deadline_time: Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "18:00"
    availability_horizon_weeks: Annotated[int, msgspec.Meta(ge=1, le=8)] = 4
    max_weekly_hours: Annotated[float, msgspec.Meta(gt=0, le=80)] = 40.0
    # Staffing targets used by Erlang C / Erlang A.
    service_level_target: Fraction = 0.8
    answer_within_seconds: Annotated[int, msgspec.Meta(gt=0, le=3600)] = 20
    max_occupancy: Fraction = 0.85
    shrinkage: Annotated[float, msgspec.Meta(ge=0, lt=1)] = 0.3
    staffing_model: Literal["erlang_c", "erlang_a"] = "erlang_c"
    average_patience_seconds: Annotated[int, msgspec.Meta(gt=0, le=3600)] = 120
    # Roster rules: shift length, shifts a day, rest between shifts, a break in long shifts.
    min_shift_hours: Annotated[float, msgspec.Meta(ge=0.5, le=12, multiple_of=0.5)] = 4.0
    max_shift_hours: Annotated[float, msgspec.Meta(ge=0.5, le=16, multiple_of=0.5)] = 8.0
    max_shifts_per_day: Annotated[int, msgspec.Meta(ge=1, le=4)] = 1
    min_rest_hours: Annotated[float, msgspec.Meta(ge=0, le=24, multiple_of=0.5)] = 10.0
    break_after_hours: Annotated[float, msgspec.Meta(ge=1, le=12, multiple_of=0.5)] | None = 5.0
    # Share of the needed hours the roster may schedule beyond demand to give willing agents their fair share.
    fairness_spare_cover: Annotated[float, msgspec.Meta(ge=0, le=0.2)] = FAIRNESS_SPARE_COVER
    # Marketplace: a free undo after claiming, releases up to a cutoff before the start, waitlist offers.
    claim_grace_minutes: Annotated[int, msgspec.Meta(ge=0, le=60)] = 5
    release_cutoff_hours: Annotated[int, msgspec.Meta(ge=0, le=168)] = 24
    waitlist_offer_minutes: Annotated[int, msgspec.Meta(ge=5, le=1440)] = 30
    # At most one "new open shifts for you" digest per agent in this many minutes.
    open_shift_digest_minutes: Annotated[int, msgspec.Meta(ge=5, le=1440)] = 30
    # Tier priority windows: minutes after a shift opens before mid and junior agents may claim (senior at once).
    mid_opens_after_minutes: Annotated[int, msgspec.Meta(ge=0, le=1440)] = 10
    junior_opens_after_minutes: Annotated[int, msgspec.Meta(ge=0, le=1440)] = 20
    # Request window: for this many minutes after a shift opens, claims are requests and the seats are then drawn
    # by a weighted lottery (``backend.shifts.lottery``); 0 = first come, first served.
    request_window_minutes: Annotated[int, msgspec.Meta(ge=0, le=120)] = 0
    # Cover requests: how many ranked agents each wave asks, and the minutes before the next wave.
    cover_wave_size: Annotated[int, msgspec.Meta(ge=1, le=50)] = 5
    cover_wave_minutes: Annotated[int, msgspec.Meta(ge=1, le=240)] = 10
    # The pay shown on open shifts until rate cards exist: an hourly base in minor units of ``currency``.
    base_hourly_pay_minor: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] = 3000
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")] = "CNY"
    # Swaps: an accepted swap waits for a coordinator's approval before the shift changes hands.
    swap_needs_approval: bool = False
    # Attendance: confirming opens this long before the start; "start shift" is open this long either side of it.
    confirm_opens_hours_before: Annotated[int, msgspec.Meta(ge=1, le=168)] = 36
    start_window_minutes: Annotated[int, msgspec.Meta(ge=5, le=120)] = 15
    # Learning: a certification earned by passing a course lasts this long; agents are reminded before it lapses.
    certification_valid_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 180
    certification_reminder_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 14
    # Paid to learn: minor units of ``currency`` recorded for pay the first time an agent passes a course.
    course_pass_pay_minor: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] = 0
    # Tier promotion: a coordinator is offered a promotion once an agent meets all of a tier's thresholds.
    mid_after_shifts: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 10
    mid_min_reliability: Annotated[int, msgspec.Meta(ge=0, le=100)] = 80
    mid_min_quiz_percent: Annotated[int, msgspec.Meta(ge=0, le=100)] = 80
    senior_after_shifts: Annotated[int, msgspec.Meta(ge=0, le=5000)] = 40
    senior_min_reliability: Annotated[int, msgspec.Meta(ge=0, le=100)] = 90
    senior_min_quiz_percent: Annotated[int, msgspec.Meta(ge=0, le=100)] = 90
    # Pay: periods of one or two weeks starting on this local weekday, and the withholding policy for agents' pay.
    pay_cadence: Literal["weekly", "biweekly"] = "weekly"
    pay_week_starts_on: Weekday = 0
    withholding_policy: Literal["none", "cn_labour", "us_backup"] = "none"
    # Payouts: how money leaves (Stripe Connect where Stripe serves the site's country, else a bank file; empty:
    # decided by the country), the smallest payout (smaller amounts are carried to the next run), and the run
    # total above which a second finance user must approve (0: every run needs a second person).
    payout_rail: Literal["", "stripe", "bank"] = ""
    payout_minimum_minor: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)] = 0
    payout_second_approval_above_minor: Annotated[int, msgspec.Meta(ge=0, le=10_000_000_000)] = 0
    # Today board: an agent is late when their shift has not been started this many minutes after its start.
    late_after_minutes: Annotated[int, msgspec.Meta(ge=1, le=120)] = 10
    # Intraday reforecast: how far the ratio of actual to forecast moves from 1 (0 = not at all, 1 = fully).
    reforecast_damping: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5
    # The damped ratio is kept between these bounds.
    reforecast_low: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.5
    reforecast_high: Annotated[float, msgspec.Meta(ge=1, le=10)] = 2.0
    # Half-hours of actual volumes needed before the rest of the day is reforecast.
    reforecast_min_slots: Annotated[int, msgspec.Meta(ge=1, le=48)] = 2
    # Voluntary time off: paid standby or a release without penalty.
    vto_mode: Literal["standby", "release"] = "release"
    # Standby pay as a percentage of the base pay for the hours stood by.
    vto_standby_percent: Annotated[int, msgspec.Meta(ge=0, le=100)] = 50
    # At most this many VTO grants per agent per week.
    vto_max_per_week: Annotated[int, msgspec.Meta(ge=0, le=14)] = 2
    # Voluntary overtime: a bonus per extra shift in minor units of ``currency``.
    vot_bonus_minor: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] = 1000
    # Intraday offers (VTO, VOT, extensions) expire this many minutes after they are made.
    intraday_offer_minutes: Annotated[int, msgspec.Meta(ge=5, le=240)] = 20
    # Duty: the outgoing lead's hand-over is due this many minutes after the duty ends (later: late; none: missing).
    handover_due_minutes: Annotated[int, msgspec.Meta(ge=0, le=720)] = 30
    # Requests: the working hours their business-hours clocks count (site-local, on these weekdays, less the
    # country's public holidays); the owner is warned at this share of a target; a request handed over more than
    # this many times is flagged to the coordinators; the asker confirms or reopens within this many days (then
    # it closes by itself); the root causes an owner names on closing.
    request_hours_open: Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "09:00"
    request_hours_close: Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "18:00"
    request_working_days: Annotated[list[Weekday], msgspec.Meta(min_length=1, max_length=7)] = msgspec.field(
        default_factory=lambda: [0, 1, 2, 3, 4]
    )
    request_warn_share: Fraction = 0.75
    request_bounce_limit: Annotated[int, msgspec.Meta(ge=1, le=20)] = 3
    request_confirm_days: Annotated[int, msgspec.Meta(ge=1, le=30)] = 5
    request_root_causes: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=80)]], msgspec.Meta(min_length=1, max_length=30)
    ] = msgspec.field(default_factory=lambda: list(REQUEST_ROOT_CAUSES))

    def __post_init__(self) -> None:
        if self.min_shift_hours > self.max_shift_hours:
            raise ValueError("min_shift_hours: the shortest shift cannot be longer than the longest")
        if self.mid_opens_after_minutes > self.junior_opens_after_minutes:
            raise ValueError("mid_opens_after_minutes: mid agents cannot wait longer than junior agents")
        if self.request_hours_open >= self.request_hours_close:
            raise ValueError("request_hours_close: the working day must end after it begins")

    def requests_close_at(self, opened_at: dt.datetime) -> dt.datetime | None:
        """The end of the request window of a shift opened at ``opened_at``; None when seats are first come."""
        if not self.request_window_minutes:
            return None
        return opened_at + dt.timedelta(minutes=self.request_window_minutes)


def site_settings(site: Site) -> SiteSettings:
    return msgspec.convert(site.settings or {}, SiteSettings)


async def update_site_settings(session: AsyncSession, site: Site, **changes: Any) -> SiteSettings:
    """Change some settings; the whole result is validated before it is stored."""
    merged = {**msgspec.to_builtins(site_settings(site)), **changes}
    try:
        settings = msgspec.convert(merged, SiteSettings)
    except msgspec.ValidationError as error:
        raise DomainError(str(error), field=_field_of(str(error))) from None
    site.settings = msgspec.to_builtins(settings)
    await session.flush()
    return settings


def _field_of(message: str) -> str | None:
    """The setting an error names: msgspec's ``$.name`` path, or the ``name:`` that ``__post_init__`` puts first."""
    if "`$." in message:
        return message.split("`$.", 1)[-1].split("`", 1)[0]
    name = message.split(":", 1)[0]
    return name if name in SiteSettings.__struct_fields__ else None
