"""Settlement: an agent's work in a pay period turned into pay lines, each rounded once. PURE: no database.

The rules, shown to agents on their Earnings page ("why this amount"):

- **Worked time.** Every shift the agent held that started in the period
  (by the site-local day it started) and has ended pays its scheduled
  length, ``(end_slot - start_slot) x 30`` minutes, times the hourly base for
  the agent's tier: one ``base`` line per shift, ``minutes x base / 60``.
  A shift marked a no-show pays nothing, even when the no-show was later
  waived: a waiver protects the reliability score, it does not turn an
  absence into worked time. A shift not yet over does not count yet.
- **Pieces.** Work records are added up per site-local day, kind and skill;
  each group pays ``count x rate``, the rate card's most specific rate for
  the kind, the agent's tier and the skill (``rates.piece_rate``); a kind the
  card names no rate for pays 0 and is still listed.
- **Late work.** Work records that arrived after the period they are dated
  in was locked are paid with the first period open when they arrived, as
  piece lines of their own: the line keeps the day the work was done (before
  this period's first day) and its note names the period it came from
  (``late_note``). They are paid at this period's rates and count towards
  its quality bonus, like any other piece of it.
- **Urgent bonus.** A worked shift that carries an urgent bonus
  (``Shift.bonus_minor``, set when a cover request was accepted or by a
  coordinator) pays it; a shift filled from a cover request with no bonus of
  its own pays the rate card's ``urgent_bonus_minor``. One line per shift.
  A voluntary-overtime shift's bonus (``origin=vot``) is a ``vot_bonus`` line instead.
- **Intraday changes** (``shifts.intraday``). An accepted extension makes the
  shift's worked time run to its new end. An accepted VTO ends the worked time
  where the release starts; on paid standby the released time pays
  ``standby_percent`` % of the hourly base, ``minutes x base x percent / 6000``
  (one ``standby`` line; counted with base pay in the totals); a release pays
  nothing for it. A shift released whole has no base line.
- **Quality bonus.** When the card has a quality rule and the agent has at
  least ``min_rated_contacts`` rated contacts in the period with a CSAT
  average of at least ``min_csat_average``, the agent earns
  ``percent_of_piece_pay`` % of the period's piece pay: one line.
- **Courses passed.** Each course passed in the period (paid to learn) pays
  the amount fixed when it was passed.
- **Adjustments.** Corrections filed into the period, each with its reason.
- **Withholding** (added at lock by ``periods``, not here) is one negative line.

The tier is the agent's tier when the period is locked (live earnings use the
current one); the rate card is the one in force on the period's first day.
Every line's amount is computed exactly and rounded once by
``core.money.round_minor``; totals are sums of rounded lines.

Lines come in a stable order: per shift by day (its base, then its urgent
bonus), pieces by (day, kind, skill), the quality bonus, courses by day, then
adjustments in the order they were filed.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from fractions import Fraction

from backend.core.i18n import gettext as _
from backend.core.i18n import speaking
from backend.core.money import round_minor
from backend.pay.models import LineKind
from backend.pay.rates import Rates, piece_rate

MINUTES_PER_HOUR = 60
BONUS_KINDS = frozenset({LineKind.urgent_bonus, LineKind.vot_bonus, LineKind.quality_bonus, LineKind.course_pass})


@dataclass(frozen=True)
class WorkedShift:
    shift_id: int
    day: dt.date
    skill_code: str
    minutes: int
    urgent_bonus_minor: int
    standby_minutes: int = 0  # VTO on paid standby: the time released (``shifts.intraday``)
    standby_percent: int = 0
    vot: bool = False  # a voluntary-overtime shift: its bonus is a ``vot_bonus`` line


@dataclass(frozen=True)
class Pieces:
    day: dt.date
    kind: str
    skill_code: str | None
    count: int
    csat_sum: int
    csat_count: int
    late_from: tuple[dt.date, dt.date] | None = None  # late work: the first and last day of the period it is dated in


@dataclass(frozen=True)
class Credit:
    day: dt.date
    note: str
    amount_minor: int


@dataclass(frozen=True)
class AdjustmentIn:
    adjustment_id: int
    amount_minor: int
    reason: str


@dataclass(frozen=True)
class AgentWork:
    user_id: int
    tier: str
    shifts: list[WorkedShift] = field(default_factory=list)
    pieces: list[Pieces] = field(default_factory=list)
    credits: list[Credit] = field(default_factory=list)
    adjustments: list[AdjustmentIn] = field(default_factory=list)
    display_name: str = ""  # the agent's name as at gathering (a settlement keeps it: exports never change)


@dataclass(frozen=True)
class Line:
    kind: LineKind
    day: dt.date | None
    shift_id: int | None
    work_kind: str | None
    skill_code: str | None
    quantity: int  # minutes (base), pieces (piece), 1 otherwise
    rate_minor: int | None  # per hour (base), per piece (piece), the percent (quality bonus)
    amount_minor: int
    note: str


def rule_notes() -> dict[LineKind, str]:
    """Why each kind of line pays what it does, in the current language."""
    return {
        LineKind.base: _("Worked time: the hours worked times the hourly base for your tier."),
        LineKind.piece: _("Pieces times the rate for the kind, your tier and the skill."),
        LineKind.urgent_bonus: _("Urgent bonus for working a shift that needed cover."),
        LineKind.standby: _("Paid standby: time off you volunteered for (VTO), a share of your hourly base."),
        LineKind.vot_bonus: _("Overtime bonus for extra half-hours you took on the day (VOT)."),
        LineKind.quality_bonus: _("Quality bonus: a share of your piece pay for a high CSAT average."),
        LineKind.course_pass: _("Paid to learn: a course passed."),
        LineKind.withholding: _("Tax withheld under the site's withholding policy."),
    }


@functools.cache
def stored_note(kind: LineKind) -> str:
    """The note stored on a line (English, as exports carry it); ``explain`` shows it in the reader's language."""
    with speaking("en"):
        return rule_notes()[kind]


def explain(kind: LineKind | str, note: str) -> str:
    """A line's note in the current language: the rule for rule lines, the reason as written for adjustments."""
    kind = LineKind(kind)
    if kind is not LineKind.adjustment and kind in rule_notes() and note == stored_note(kind):
        return rule_notes()[kind]
    return note


def late_note(day: dt.date, late_from: tuple[dt.date, dt.date]) -> str:
    """A late line's stored note (English, as exports carry it; pages say it in the reader's language)."""
    first, last = late_from
    return f"Late: worked on {day.isoformat()}, from period {first.isoformat()}..{last.isoformat()}. " + stored_note(
        LineKind.piece
    )


def meets_quality_bar(rates: Rates, *, csat_sum: int, csat_count: int) -> bool:
    """The quality rule: enough rated contacts, and an average at or above the bar (compared exactly)."""
    rule = rates.quality_bonus
    if rule is None or csat_count < rule.min_rated_contacts:
        return False
    return Fraction(csat_sum, csat_count) >= Fraction(str(rule.min_csat_average))


def settle_lines(work: AgentWork, rates: Rates) -> list[Line]:
    """The agent's pay lines for the period, every one rounded once, in the module's stable order."""
    lines: list[Line] = []
    base_rate = rates.base_hourly_minor.get(work.tier, 0)  # type: ignore[call-overload]
    for shift in sorted(work.shifts, key=lambda s: (s.day, s.shift_id)):
        if shift.minutes:
            lines.append(
                Line(
                    kind=LineKind.base,
                    day=shift.day,
                    shift_id=shift.shift_id,
                    work_kind=None,
                    skill_code=shift.skill_code,
                    quantity=shift.minutes,
                    rate_minor=base_rate,
                    amount_minor=round_minor(Fraction(shift.minutes * base_rate, MINUTES_PER_HOUR)),
                    note=stored_note(LineKind.base),
                )
            )
        if shift.standby_minutes and shift.standby_percent:
            lines.append(
                Line(
                    kind=LineKind.standby,
                    day=shift.day,
                    shift_id=shift.shift_id,
                    work_kind=None,
                    skill_code=shift.skill_code,
                    quantity=shift.standby_minutes,
                    rate_minor=shift.standby_percent,
                    amount_minor=round_minor(
                        Fraction(shift.standby_minutes * base_rate * shift.standby_percent, MINUTES_PER_HOUR * 100)
                    ),
                    note=stored_note(LineKind.standby),
                )
            )
        if shift.urgent_bonus_minor:
            lines.append(
                Line(
                    kind=LineKind.vot_bonus if shift.vot else LineKind.urgent_bonus,
                    day=shift.day,
                    shift_id=shift.shift_id,
                    work_kind=None,
                    skill_code=shift.skill_code,
                    quantity=1,
                    rate_minor=shift.urgent_bonus_minor,
                    amount_minor=shift.urgent_bonus_minor,
                    note=stored_note(LineKind.vot_bonus if shift.vot else LineKind.urgent_bonus),
                )
            )
    piece_total = 0
    csat_sum = csat_count = 0
    for group in sorted(work.pieces, key=lambda p: (p.day, p.kind, p.skill_code or "")):
        rate = piece_rate(rates, kind=group.kind, tier=work.tier, skill=group.skill_code)
        amount = round_minor(Fraction(group.count * rate))
        piece_total += amount
        csat_sum += group.csat_sum
        csat_count += group.csat_count
        lines.append(
            Line(
                kind=LineKind.piece,
                day=group.day,
                shift_id=None,
                work_kind=group.kind,
                skill_code=group.skill_code,
                quantity=group.count,
                rate_minor=rate,
                amount_minor=amount,
                note=late_note(group.day, group.late_from) if group.late_from else stored_note(LineKind.piece),
            )
        )
    rule = rates.quality_bonus
    if rule is not None and piece_total and meets_quality_bar(rates, csat_sum=csat_sum, csat_count=csat_count):
        amount = round_minor(Fraction(piece_total * rule.percent_of_piece_pay, 100))
        if amount:
            lines.append(
                Line(
                    kind=LineKind.quality_bonus,
                    day=None,
                    shift_id=None,
                    work_kind=None,
                    skill_code=None,
                    quantity=1,
                    rate_minor=rule.percent_of_piece_pay,
                    amount_minor=amount,
                    note=stored_note(LineKind.quality_bonus),
                )
            )
    for credit in sorted(work.credits, key=lambda c: c.day):
        lines.append(
            Line(
                kind=LineKind.course_pass,
                day=credit.day,
                shift_id=None,
                work_kind=None,
                skill_code=None,
                quantity=1,
                rate_minor=None,
                amount_minor=credit.amount_minor,
                note=credit.note or stored_note(LineKind.course_pass),
            )
        )
    for adjustment in sorted(work.adjustments, key=lambda a: a.adjustment_id):
        lines.append(
            Line(
                kind=LineKind.adjustment,
                day=None,
                shift_id=None,
                work_kind=None,
                skill_code=None,
                quantity=1,
                rate_minor=None,
                amount_minor=adjustment.amount_minor,
                note=adjustment.reason,
            )
        )
    return lines


def withholding_line(amount_minor: int) -> Line:
    """The tax withheld, as a negative line after the others."""
    return Line(
        kind=LineKind.withholding,
        day=None,
        shift_id=None,
        work_kind=None,
        skill_code=None,
        quantity=1,
        rate_minor=None,
        amount_minor=-amount_minor,
        note=stored_note(LineKind.withholding),
    )


def totals(lines: list[Line]) -> dict[str, int]:
    """Sums of rounded lines: base, piece, bonus (urgent + quality + courses), adjustment, gross; withholding and
    net when a withholding line is present (withholding is positive: what was kept back)."""
    sums = dict.fromkeys(("base_minor", "piece_minor", "bonus_minor", "adjustment_minor"), 0)
    withheld = 0
    for line in lines:
        if line.kind in (LineKind.base, LineKind.standby):  # standby is paid time, at a share of the base
            sums["base_minor"] += line.amount_minor
        elif line.kind is LineKind.piece:
            sums["piece_minor"] += line.amount_minor
        elif line.kind in BONUS_KINDS:
            sums["bonus_minor"] += line.amount_minor
        elif line.kind is LineKind.adjustment:
            sums["adjustment_minor"] += line.amount_minor
        elif line.kind is LineKind.withholding:
            withheld -= line.amount_minor
    gross = sum(sums.values())
    return {
        **sums,
        "gross_minor": gross,
        "withholding_minor": withheld,
        "net_minor": gross - withheld,
        "worked_minutes": sum(line.quantity for line in lines if line.kind is LineKind.base),
        "pieces": sum(line.quantity for line in lines if line.kind is LineKind.piece),
    }
