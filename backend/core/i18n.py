"""Translations: English and Simplified Chinese through gettext catalogues.

Catalogues are compiled from the ``.po`` files in ``web/locale`` when the
process starts, so no binary ``.mo`` file lives in the repository. The
locale of the current request is held in a context variable: each request
runs in its own task, so concurrent requests never see each other's. Services
translate the messages they raise with ``_`` too, so a refusal reaches the
agent in their language.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import enum
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_interval, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

ROOT = Path(__file__).resolve().parents[2]
LOCALE_DIR = ROOT / "web" / "locale"
LOCALES = ("en", "zh-Hans")
DEFAULT_LOCALE = "en"

_current_locale: contextvars.ContextVar[str] = contextvars.ContextVar("weft_locale", default=DEFAULT_LOCALE)


def _catalogue_dir(locale: str) -> str:
    return locale.replace("-", "_")


def load_translations() -> dict[str, NullTranslations]:
    """Compile each ``messages.po`` in memory."""
    catalogues: dict[str, NullTranslations] = {DEFAULT_LOCALE: NullTranslations()}
    for locale in LOCALES:
        po_path = LOCALE_DIR / _catalogue_dir(locale) / "LC_MESSAGES" / "messages.po"
        if not po_path.exists():
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=_catalogue_dir(locale))
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        catalogues[locale] = Translations(fp=buffer)
    return catalogues


TRANSLATIONS = load_translations()


def set_locale(locale: str) -> None:
    _current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def current_locale() -> str:
    return _current_locale.get()


@contextlib.contextmanager
def speaking(locale: str) -> Iterator[None]:
    """Translate in ``locale`` for a while: a message written now for someone else (a notification) is in theirs."""
    token = _current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current_locale.reset(token)


def gettext(message: str, **variables: Any) -> str:
    text = TRANSLATIONS.get(current_locale(), TRANSLATIONS[DEFAULT_LOCALE]).gettext(message)
    return text % variables if variables else text


def plural_form(singular: str, plural: str, n: float) -> str:
    """The form of a message that fits ``n`` in the current language, unformatted: Jinja's ``ngettext``
    fills it itself (with ``num`` and the template's own variables), so it must not be filled twice.

    gettext counts in whole numbers; a fraction (1.5 hours) takes the plural form, as English writes it.
    """
    count = int(n) if float(n).is_integer() else 2
    return TRANSLATIONS.get(current_locale(), TRANSLATIONS[DEFAULT_LOCALE]).ngettext(singular, plural, count)


def ngettext(singular: str, plural: str, n: float, **variables: Any) -> str:
    """``%(num)s`` is ``n``; English has "1 shift" and "2 shifts", Chinese one form for every count."""
    return plural_form(singular, plural, n) % {"num": n, **variables}


_ = gettext


# Dates read day before month in English ("Mon 7 Dec"), as Weft's sites write them.
DATE_LOCALES = {"en": "en_GB", "zh-Hans": "zh_Hans"}


def _babel_locale() -> str:
    return DATE_LOCALES.get(current_locale(), DATE_LOCALES[DEFAULT_LOCALE])


def day_label(day: dt.date, today: dt.date) -> str:
    """A day heading a reader takes in at a glance: Today, Tomorrow, or a short weekday and date."""
    relative = {0: gettext("Today"), 1: gettext("Tomorrow"), -1: gettext("Yesterday")}
    if (label := relative.get((day - today).days)) is not None:
        return label
    return format_skeleton("MMMMEd", day, locale=_babel_locale())


def clock_text(local: dt.datetime) -> str:
    """A time of day on the 24-hour clock (16:30), as both languages write it."""
    return f"{local:%H:%M}"


def date_text(day: dt.date) -> str:
    """A full date in the reader's language: "7 Dec 2026", "2026年12月7日"."""
    return format_skeleton("yMMMd", day, locale=_babel_locale())


def moment_label(moment: dt.datetime, zone: ZoneInfo, today: dt.date) -> str:
    """A moment on its own, as a caption: "Today 16:30", "Tomorrow 09:00", "Mon 7 Dec 16:30" (今天 16:30,
    12月7日周一 16:30). The one place a weekday is written, through Babel, in the reader's language."""
    local = moment.astimezone(zone)
    relative = {0: gettext("Today"), 1: gettext("Tomorrow"), -1: gettext("Yesterday")}
    day = relative.get((local.date() - today).days) or format_skeleton("MMMEd", local, locale=_babel_locale())
    return gettext("%(day)s %(time)s", day=day, time=clock_text(local))


def moment_phrase(moment: dt.datetime, zone: ZoneInfo, today: dt.date) -> str:
    """A moment inside a sentence: "Started %(when)s" reads "Started today at 16:15" / "今天 16:15 开始",
    never "Started at Today 16:15". Sentences take it through a placeholder, never a weekday of their own."""
    local = moment.astimezone(zone)
    time = clock_text(local)
    offset = (local.date() - today).days
    if offset == 0:
        return gettext("today at %(time)s", time=time)
    if offset == 1:
        return gettext("tomorrow at %(time)s", time=time)
    if offset == -1:
        return gettext("yesterday at %(time)s", time=time)
    return gettext("on %(day)s at %(time)s", day=format_skeleton("MMMEd", local, locale=_babel_locale()), time=time)


class MomentLabeller:
    """Labels moments for one page, in the reader's zone and relative to their today: ``when(moment)`` for a
    caption, ``when.phrase(moment)`` inside a sentence."""

    def __init__(self, zone: ZoneInfo, today: dt.date) -> None:
        self.zone, self.today = zone, today

    def __call__(self, moment: dt.datetime) -> str:
        return moment_label(moment, self.zone, self.today)

    def phrase(self, moment: dt.datetime) -> str:
        return moment_phrase(moment, self.zone, self.today)


def moment_labeller(zone: ZoneInfo, today: dt.date) -> MomentLabeller:
    """Labels moments as a reader takes them in (Today 17:45, Tomorrow 06:00, or a short date); pages use it per row."""
    return MomentLabeller(zone, today)


def week_label(monday: dt.date, *, short: bool = False) -> str:
    """A week named by its Monday: "Week of 30 Nov", or "11/30" where a table column is narrow."""
    if short:
        return format_skeleton("Md", monday, locale=_babel_locale())
    return gettext("Week of %(day)s", day=format_skeleton("MMMd", monday, locale=_babel_locale()))


def date_span_text(first: dt.date, last: dt.date) -> str:
    """A run of days in the reader's language, written once: "14 to 20 Dec" (with an en dash), "12月14日至20日"."""
    return format_interval(first, last, "MMMd", locale=_babel_locale())


def _enum_msgids(_: Callable[[str], str]) -> dict[str, str]:
    """Every code a page may show, with the words a reader sees: keyed by the code, or by ``Enum.code`` where one
    enum's code means something else than another's. Written as ``_()`` calls so extraction finds the msgids;
    built once with the identity, translated when asked (``enum_label``)."""
    return {
        # accounts: Role, Tier, Pool, UserStatus
        "agent": _("agent"),
        "coordinator": _("coordinator"),
        "finance": _("finance"),
        "admin": _("admin"),
        "junior": _("junior"),
        "mid": _("mid"),
        "senior": _("senior"),
        "core": _("core staff"),
        "backbone": _("backbone"),
        "elastic": _("elastic"),
        "active": _("active"),
        "paused": _("paused"),
        "left": _("left"),
        # work: WorkKind
        "call": _("call"),
        "chat": _("chat"),
        "ticket": _("ticket"),
        "callback": _("callback"),
        # pay: Cadence, PeriodStatus, Account, EntryKind, LineKind, DisputeStatus
        "weekly": _("weekly"),
        "biweekly": _("every two weeks"),
        "open": _("open"),
        "locked": _("locked"),
        "paid": _("paid"),
        "earnings_expense": _("earnings expense"),
        "agent_payable": _("owed to agents"),
        "tax_payable": _("tax owed"),
        "cash": _("cash"),
        "stripe_balance": _("Stripe balance"),
        "agent_receivable": _("owed back by agents"),
        "settlement": _("settlement"),
        "payout": _("payout"),
        "reversal": _("reversal"),
        "receivable": _("receivable"),
        "base": _("base pay"),
        "piece": _("piece pay"),
        "urgent_bonus": _("urgent cover bonus"),
        "quality_bonus": _("quality bonus"),
        "course_pass": _("course passed"),
        "adjustment": _("adjustment"),
        "withholding": _("tax withheld"),
        "standby": _("paid standby"),
        "vot_bonus": _("overtime bonus"),
        "DisputeStatus.open": _("awaiting a decision"),
        "adjusted": _("adjusted"),
        "rejected": _("rejected"),
        # shifts: ShiftOrigin, AppealStatus, SwapStatus, CoverReason, CoverStatus, CallKind, OfferStatus
        "ShiftOrigin.roster": _("rostered"),
        "gap": _("gap"),
        "ShiftOrigin.manual": _("added by hand"),
        "vot": _("voluntary overtime"),
        "AppealStatus.open": _("awaiting a decision"),
        "accepted": _("accepted"),
        "offered": _("offered"),
        "approved": _("approved"),
        "declined": _("declined"),
        "cancelled": _("cancelled"),
        "expired": _("expired"),
        "no_show": _("no-show"),
        "emergency": _("emergency"),
        "late_release": _("late release"),
        "covered": _("covered"),
        "vto": _("voluntary time off"),
        "extension": _("extension"),
        "taken": _("filled by others"),
        # roster: AssignmentSource, SolveStatus
        "solver": _("solver"),
        "manual": _("edited"),
        "fixed": _("fixed hours"),
        "queued": _("queued"),
        "running": _("running"),
        "done": _("done"),
        "failed": _("failed"),
        # notify: Kind, PushStatus
        "roster_published": _("roster published"),
        "open_shift": _("open shift"),
        "cover_request": _("cover request"),
        "shift_reminder": _("shift reminder"),
        "swap": _("swap"),
        "waitlist_offer": _("waitlist offer"),
        "certification_expiring": _("certification expiring"),
        "pay_dispute": _("pay dispute"),
        "intraday_offer": _("offer for today"),
        "shift_change": _("shift changed"),
        "attendance": _("attendance"),
        "staff_dispute": _("new pay dispute"),
        "staff_cover_unfilled": _("cover request unfilled"),
        "staff_unconfirmed": _("shifts not confirmed"),
        "staff_late": _("agent late"),
        "staff_handover": _("handover missing"),
        "request": _("request"),
        "staff_request": _("request to act on"),
        "pending": _("pending"),
        "sent": _("sent"),
        "dropped": _("dropped"),
        # payouts: Rail, RunStatus, PayoutStatus, HoldReason, FailureKind, WarningKind, DifferenceKind
        "stripe": _("Stripe"),
        "bank": _("bank transfer"),
        "prepared": _("prepared"),
        "held": _("held"),
        "sending": _("sending"),
        "reversed": _("reversed"),
        "no_account": _("no payout account"),
        "transfers_inactive": _("transfers not active"),
        "requirements_past_due": _("details overdue"),
        "below_minimum": _("below the minimum"),
        "not_positive": _("nothing owed"),
        "retryable": _("will retry"),
        "FailureKind.agent": _("the agent must act"),
        "platform": _("the platform must act"),
        "pieces_without_shift": _("pieces without a shift"),
        "missing_at_stripe": _("missing at Stripe"),
        "missing_here": _("missing here"),
        "amount_differs": _("amount differs"),
        "destination_differs": _("destination differs"),
        "unknown_transfer": _("unknown transfer"),
        # learning: VersionStatus, CaseStatus; availability: Preference
        "draft": _("draft"),
        "published": _("published"),
        "retired": _("retired"),
        "preferred": _("preferred"),
        "if_needed": _("if needed"),
        # handover: HandoverKind; ops: LogKind, LogStatus, HandoverItemKind
        "warning": _("warning"),
        "open_issue": _("open issue"),
        "follow_up": _("follow-up"),
        "system_problem": _("system problem"),
        "queue_spike": _("queue spike"),
        "staffing_gap": _("staffing gap"),
        "agent_escalation": _("escalation from an agent"),
        "customer_complaint": _("customer complaint"),
        "other": _("other"),
        "late_start": _("late start"),
        "request_breach": _("request breached"),
        "in_progress": _("in progress"),
        "LogStatus.closed": _("resolved"),
        "open_item": _("open item"),
        # shifts: eligibility Rule and allocation Why
        "not_certified": _("not certified"),
        "not_onboarded": _("not onboarded"),
        "not_offered": _("time not offered"),
        "overlap": _("overlaps another shift"),
        "too_short": _("too short"),
        "too_long": _("too long"),
        "no_break": _("no break"),
        "rest": _("too little rest"),
        "daily_limit": _("daily limit reached"),
        "weekly_cap": _("weekly cap reached"),
        "full": _("full"),
        "window": _("not yet open to the tier"),
        "offered_to_other": _("offered to someone else"),
    }


ENUM_MSGIDS = _enum_msgids(lambda message: message)


def enum_label(value: enum.Enum | str) -> str:
    """How a page names a code (a role, tier, status, kind...) in the reader's language, first letter capitalised
    as a table cell or a tag reads it: ``Role.agent`` is "Agent" / "坐席", ``"call"`` "Call" / "电话". A code
    with no label reads as itself, so a new enum member shows its code rather than nothing."""
    code = str(value.value if isinstance(value, enum.Enum) else value)
    qualified = f"{type(value).__name__}.{code}" if isinstance(value, enum.Enum) else ""
    msgid = ENUM_MSGIDS.get(qualified) or ENUM_MSGIDS.get(code)
    text = gettext(msgid) if msgid else code.replace("_", " ")
    return text[:1].upper() + text[1:]


def localized_name(name: str, name_zh: str, locale: str | None = None) -> str:
    """A name kept in both languages (a skill's) for a reader of ``locale`` (the request's by default): the
    Chinese one in zh-Hans when there is one, else the English."""
    return name_zh if (current_locale() if locale is None else locale) == "zh-Hans" and name_zh else name


def named_label(named: Any) -> str:
    """How a page names anything with a ``name`` and a ``name_zh`` (a skill): ``{{ skill_label(skill) }}``."""
    return "" if named is None else localized_name(named.name, getattr(named, "name_zh", "") or "")
