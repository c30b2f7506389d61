"""What crosses the edge for accounts: form bodies and JSON answers, checked before our code runs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from backend.accounts.models import ApiToken, User
from backend.core.bounds import SettingNumber
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.money import parse_amount
from backend.core.web import FormBody

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Password = Annotated[str, msgspec.Meta(max_length=256)]
RoleName = Literal["agent", "coordinator", "finance", "admin"]
TierName = Literal["junior", "mid", "senior"]
StatusName = Literal["active", "paused", "left"]
LocaleName = Literal["en", "zh-Hans"]


class Form(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A form body; the CSRF field is accepted and ignored (the middleware has checked it)."""

    csrf_token: str = msgspec.field(default="", name="_csrf_token")


# A post whose body is only the CSRF field (a button): the action is in the URL.
FormPost = Annotated[Form, FormBody]


class LoginForm(Form):
    email: Email
    password: Password
    next: str = ""


class AcceptInvitationForm(Form):
    password: Password
    password_again: Password


class LocaleForm(Form):
    locale: LocaleName
    next: str = "/"


class ProfileForm(Form):
    locale: LocaleName
    timezone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class InvitationForm(Form):
    email: Email
    display_name: Name
    tier: TierName = "junior"
    locale: LocaleName = "en"


class UserEditForm(Form):
    display_name: Name
    tier: TierName
    status: StatusName
    role: RoleName | None = None


class TokenForm(Form):
    email: Email
    name: Annotated[str, msgspec.Meta(max_length=80)] = ""
    role: RoleName | None = None


class UserOut(msgspec.Struct, kw_only=True):
    id: int
    email: str
    display_name: str
    role: RoleName
    locale: LocaleName
    timezone: str
    tier: TierName
    status: StatusName
    site_id: int

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            role=user.role.value,
            locale=user.locale,  # type: ignore[arg-type]
            timezone=user.timezone,
            tier=user.tier.value,
            status=user.status.value,
            site_id=user.site_id,
        )


class MeOut(msgspec.Struct, kw_only=True):
    user: UserOut
    acting_role: RoleName
    via: Literal["session", "token"]


class TokenOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    prefix: str
    role: RoleName
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            role=token.role.value,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class SiteForm(Form):
    name: Name
    timezone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    country: Annotated[str, msgspec.Meta(min_length=2, max_length=2)]


class SiteSettingsForm(Form):
    """The operational settings coordinators tune: the availability deadline, staffing targets, roster rules."""

    availability_deadline_weekday: Annotated[int, msgspec.Meta(ge=0, le=6)]
    availability_deadline_time: Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    availability_horizon_weeks: Annotated[int, msgspec.Meta(ge=1, le=8)]
    max_weekly_hours: Annotated[float, msgspec.Meta(gt=0, le=80)]
    service_level_percent: Annotated[float, msgspec.Meta(gt=0, le=100)]
    answer_within_seconds: Annotated[int, msgspec.Meta(gt=0, le=3600)]
    max_occupancy_percent: Annotated[float, msgspec.Meta(gt=0, le=100)]
    shrinkage_percent: Annotated[float, msgspec.Meta(ge=0, lt=100)]
    staffing_model: Literal["erlang_c", "erlang_a"]
    average_patience_seconds: Annotated[int, msgspec.Meta(gt=0, le=3600)]
    min_shift_hours: Annotated[float, msgspec.Meta(ge=0.5, le=12, multiple_of=0.5)]
    max_shift_hours: Annotated[float, msgspec.Meta(ge=0.5, le=16, multiple_of=0.5)]
    max_shifts_per_day: Annotated[int, msgspec.Meta(ge=1, le=4)]
    min_rest_hours: Annotated[float, msgspec.Meta(ge=0, le=24, multiple_of=0.5)]
    break_after_hours: Annotated[float, msgspec.Meta(ge=0, le=12, multiple_of=0.5)]  # 0: no break rule
    spare_cover_percent: Annotated[float, msgspec.Meta(ge=0, le=20)]
    # Marketplace and attendance: validated by ``SiteSettings`` itself (same names); left out = unchanged.
    claim_grace_minutes: SettingNumber | None = None
    release_cutoff_hours: SettingNumber | None = None
    waitlist_offer_minutes: SettingNumber | None = None
    mid_opens_after_minutes: SettingNumber | None = None
    junior_opens_after_minutes: SettingNumber | None = None
    request_window_minutes: SettingNumber | None = None
    cover_wave_size: SettingNumber | None = None
    cover_wave_minutes: SettingNumber | None = None
    open_shift_digest_minutes: SettingNumber | None = None
    confirm_opens_hours_before: SettingNumber | None = None
    start_window_minutes: SettingNumber | None = None
    base_hourly_pay: Annotated[str, msgspec.Meta(max_length=20)] | None = None  # an amount: "30.00" = 3000 minor
    swap_needs_approval: Literal["yes", "no"] | None = None
    # Learning and tier promotion: validated by ``SiteSettings`` too; left out = unchanged.
    certification_valid_days: SettingNumber | None = None
    certification_reminder_days: SettingNumber | None = None
    course_pass_pay: Annotated[str, msgspec.Meta(max_length=20)] | None = None  # an amount: "20.00" = 2000 minor
    mid_after_shifts: SettingNumber | None = None
    mid_min_reliability: SettingNumber | None = None
    mid_min_quiz_percent: SettingNumber | None = None
    senior_after_shifts: SettingNumber | None = None
    senior_min_reliability: SettingNumber | None = None
    senior_min_quiz_percent: SettingNumber | None = None
    # Pay periods and withholding: validated by ``SiteSettings`` too (a bad value is refused naming it).
    pay_cadence: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    pay_week_starts_on: SettingNumber | None = None
    withholding_policy: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    # The day's operations (Today board, reforecast, VTO/VOT, duty): validated by ``SiteSettings``; left out =
    # unchanged. The reforecast's ratios are typed as percentages (50 = 0.5).
    late_after_minutes: SettingNumber | None = None
    reforecast_damping_percent: SettingNumber | None = None
    reforecast_low_percent: SettingNumber | None = None
    reforecast_high_percent: SettingNumber | None = None
    reforecast_min_slots: SettingNumber | None = None
    vto_mode: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    vto_standby_percent: SettingNumber | None = None
    vto_max_per_week: SettingNumber | None = None
    vot_bonus: Annotated[str, msgspec.Meta(max_length=20)] | None = None  # an amount: "10.00" = 1000 minor
    intraday_offer_minutes: SettingNumber | None = None
    handover_due_minutes: SettingNumber | None = None

    def marketplace_changes(self) -> dict[str, object]:
        """The optional settings the form carried (marketplace, attendance, learning, promotion, pay), as
        ``SiteSettings`` takes them; a malformed pay amount is refused naming its field (``base_hourly_pay``)."""
        changes: dict[str, object] = {
            name: value
            for name in (*MARKETPLACE_FIELDS, *LEARNING_FIELDS, *PAY_FIELDS, *OPS_FIELDS)
            if (value := getattr(self, name)) is not None
        }
        if self.swap_needs_approval is not None:
            changes["swap_needs_approval"] = self.swap_needs_approval == "yes"
        for ratio, (low, high) in RATIO_PERCENT_BOUNDS.items():
            if (percent := getattr(self, f"{ratio}_percent")) is not None:
                if not low <= percent <= high:
                    message = _("Enter a percentage from %(low)d to %(high)d.") % {"low": low, "high": high}
                    raise DomainError(message, field=f"{ratio}_percent")
                changes[ratio] = percent / 100
        for amount in ("base_hourly_pay", "course_pass_pay", "vot_bonus"):
            if (typed := getattr(self, amount)) is not None:
                changes[f"{amount}_minor"] = parse_amount(typed, field=amount)
        return changes


MARKETPLACE_FIELDS = (
    "claim_grace_minutes",
    "release_cutoff_hours",
    "waitlist_offer_minutes",
    "mid_opens_after_minutes",
    "junior_opens_after_minutes",
    "request_window_minutes",
    "cover_wave_size",
    "cover_wave_minutes",
    "open_shift_digest_minutes",
    "confirm_opens_hours_before",
    "start_window_minutes",
)
LEARNING_FIELDS = (
    "certification_valid_days",
    "certification_reminder_days",
    "mid_after_shifts",
    "mid_min_reliability",
    "mid_min_quiz_percent",
    "senior_after_shifts",
    "senior_min_reliability",
    "senior_min_quiz_percent",
)
PAY_FIELDS = ("pay_cadence", "pay_week_starts_on", "withholding_policy")
RATIO_PERCENT_BOUNDS = {"reforecast_damping": (0, 100), "reforecast_low": (1, 100), "reforecast_high": (100, 1000)}
OPS_FIELDS = (
    "late_after_minutes",
    "reforecast_min_slots",
    "vto_mode",
    "vto_standby_percent",
    "vto_max_per_week",
    "intraday_offer_minutes",
    "handover_due_minutes",
)


class SkillForm(Form):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    name: Name
    name_zh: Annotated[str, msgspec.Meta(max_length=120)] = ""


class SkillNamesForm(Form):
    name: Name
    name_zh: Annotated[str, msgspec.Meta(max_length=120)] = ""
