"""The agent's earnings: what is accruing in the open period, locked statements, and what was paid.

Accrued pay is computed live, the way locking will compute it (``gather.agent_work`` then
``settlement.settle_lines``), so the lines an agent sees now are the lines their statement will
show. Withholding is not estimated before the lock: it depends on the whole month's pay (China)
or on the taxpayer id on file at the lock (US), so an estimate could only mislead; the page says
so. Every line carries its "why": quantity, rate and amount in words.

An agent sees only their own pay: another agent's statement, or a period of another site, is 404.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Site, Skill, User, skill_label
from backend.accounts.zones import site_zone, user_zone
from backend.core.errors import NotFound
from backend.core.i18n import current_locale, ngettext
from backend.core.i18n import gettext as _
from backend.core.money import format_money
from backend.core.slots import local_start
from backend.pay import gather, periods
from backend.pay.models import (
    Account,
    Dispute,
    DisputeStatus,
    EntryKind,
    JournalEntry,
    LineKind,
    PayPeriod,
    PeriodStatus,
    Posting,
    Settlement,
    SettlementLine,
)
from backend.pay.rates import Rates
from backend.pay.settlement import AgentWork, Line, explain, meets_quality_bar, settle_lines, stored_note, totals
from backend.shifts.models import Shift

EARLIER_OPEN_PERIODS = 2  # besides the current one: weeks that ended but finance has not locked yet
REF_MAX_CHARS = 120
GROUP_PREFIX = "group:"  # a dispute's ``line_ref`` naming a day's lines of one kind: ``group:2026-12-01:piece``


def hours_text(minutes: int) -> str:
    """Worked minutes as hours: ``270`` → ``4.5``."""
    return f"{minutes / 60:.2f}".rstrip("0").rstrip(".")


def date_text(day: dt.date) -> str:
    """``1 Dec 2026`` / ``2026年12月1日``."""
    return format_skeleton("yMMMd", day, locale=current_locale().replace("-", "_"))


def day_text(day: dt.date) -> str:
    """``Tue, 1 Dec`` / ``12月1日周二``: a day heading within a period."""
    return format_skeleton("MMMEd", day, locale=current_locale().replace("-", "_"))


def work_kind_label(work_kind: str | None) -> str:
    labels = {"call": _("Calls"), "chat": _("Chats"), "ticket": _("Tickets"), "callback": _("Callbacks")}
    return labels.get(work_kind or "", work_kind or _("Pieces"))


def kind_label(kind: str) -> str:
    labels = {
        LineKind.base: _("Hours"),
        LineKind.piece: _("Pieces"),
        LineKind.urgent_bonus: _("Urgent cover bonus"),
        LineKind.standby: _("Paid standby (VTO)"),
        LineKind.vot_bonus: _("Overtime bonus (VOT)"),
        LineKind.quality_bonus: _("Quality bonus"),
        LineKind.course_pass: _("Course passed"),
        LineKind.adjustment: _("Adjustment"),
        LineKind.withholding: _("Tax withheld"),
    }
    return labels.get(kind, kind)  # type: ignore[call-overload]


def pieces_text(work_kind: str | None, count: int) -> str:
    """``12 calls``: each kind with its own plural (``ngettext`` fills only ``num``)."""
    if work_kind == "call":
        return ngettext("%(num)d call", "%(num)d calls", count)
    if work_kind == "chat":
        return ngettext("%(num)d chat", "%(num)d chats", count)
    if work_kind == "ticket":
        return ngettext("%(num)d ticket", "%(num)d tickets", count)
    if work_kind == "callback":
        return ngettext("%(num)d callback", "%(num)d callbacks", count)
    return ngettext("%(num)d piece", "%(num)d pieces", count)


@dataclass(frozen=True)
class QualityFacts:
    """What the quality bonus rule looked at: the period's piece pay, and (live) the CSAT average and the bar."""

    piece_minor: int
    csat_average: Fraction | None = None
    min_average: float | None = None


def why(
    *,
    kind: str,
    quantity: int,
    rate_minor: int | None,
    amount_minor: int,
    work_kind: str | None,
    note: str,
    currency: str,
    quality: QualityFacts | None = None,
) -> str:
    """The line's arithmetic in words: "4.5 h times CNY 30.00/h = CNY 135.00"."""
    amount = format_money(amount_minor, currency)
    if kind == LineKind.base and rate_minor is not None:
        rate = _("%(rate)s/h", rate=format_money(rate_minor, currency))
        return _("%(hours)s h × %(rate)s = %(amount)s", hours=hours_text(quantity), rate=rate, amount=amount)  # noqa: RUF001
    if kind == LineKind.piece and rate_minor is not None:
        return _(
            "%(pieces)s × %(rate)s = %(amount)s",  # noqa: RUF001
            pieces=pieces_text(work_kind, quantity),
            rate=format_money(rate_minor, currency),
            amount=amount,
        )
    if kind == LineKind.urgent_bonus:
        return _("Urgent cover bonus for working this shift: %(amount)s", amount=amount)
    if kind == LineKind.standby and rate_minor is not None:
        return _(
            "%(hours)s h of time off you volunteered for, on paid standby at %(percent)s%% of your base = %(amount)s",
            hours=hours_text(quantity),
            percent=rate_minor,
            amount=amount,
        )
    if kind == LineKind.vot_bonus:
        return _("Overtime bonus for the extra half-hours you took on the day: %(amount)s", amount=amount)
    if kind == LineKind.quality_bonus and quality is not None and rate_minor is not None:
        piece = format_money(quality.piece_minor, currency)
        if quality.csat_average is not None and quality.min_average is not None:
            return _(
                "Quality bonus: CSAT %(average)s ≥ %(minimum)s → %(percent)s%% of piece pay %(piece)s = %(amount)s",
                average=f"{float(quality.csat_average):.2f}",
                minimum=f"{quality.min_average:g}",
                percent=rate_minor,
                piece=piece,
                amount=amount,
            )
        return _(
            "Quality bonus: %(percent)s%% of piece pay %(piece)s = %(amount)s",
            percent=rate_minor,
            piece=piece,
            amount=amount,
        )
    if kind == LineKind.course_pass:
        if note and note != stored_note(LineKind.course_pass):
            return _("Paid to learn: %(course)s = %(amount)s", course=note, amount=amount)
        return _("Paid to learn, a course passed: %(amount)s", amount=amount)
    if kind == LineKind.adjustment:
        return _("Adjustment: %(reason)s = %(amount)s", reason=note, amount=amount)
    if kind == LineKind.withholding:
        return _("Tax withheld under the site's policy: %(amount)s", amount=amount)
    return f"{explain(kind, note)} = {amount}" if note else amount


@dataclass(frozen=True)
class ShownLine:
    """A line as the agent reads it: its numbers, where it came from, and why it is that amount."""

    kind: str
    day: dt.date | None
    shift_id: int | None
    shift_label: str  # "09:00-13:30 · Billing" for a shift's lines (an en dash between the times)
    work_kind: str | None
    skill_label: str
    quantity: int
    rate_minor: int | None
    amount_minor: int
    note: str
    why: str
    ref: str  # how a dispute names it: an open period's line reference, or "" for a locked line
    line_id: int | None  # a locked line's id
    open_dispute: bool
    late_from: gather.Days | None = None  # late work: the first and last day of the (locked) period it was done in

    @property
    def dispute_ref(self) -> str:
        """What a dispute about this line stores beside ``line_id``: an open line's reference, a locked line none."""
        return self.ref if self.line_id is None else ""

    @property
    def title(self) -> str:
        """What the line is for, in a few words: the shift, the kind of pieces, or the kind of line."""
        if self.kind == LineKind.base and self.shift_label:
            return _("Shift %(shift)s", shift=self.shift_label)
        if self.kind == LineKind.urgent_bonus and self.shift_label:
            return _("Urgent cover bonus · %(shift)s", shift=self.shift_label)
        if self.kind == LineKind.standby and self.shift_label:
            return _("Paid standby · %(shift)s", shift=self.shift_label)
        if self.kind == LineKind.vot_bonus and self.shift_label:
            return _("Overtime bonus · %(shift)s", shift=self.shift_label)
        if self.kind == LineKind.piece:
            label = work_kind_label(self.work_kind)
            return f"{label} · {self.skill_label}" if self.skill_label else label
        return kind_label(self.kind)

    @property
    def late_text(self) -> str:
        """Why a line of an earlier day is in this period: its work arrived after that period was locked."""
        if self.late_from is None or self.day is None:
            return ""
        first, last = self.late_from
        return _(
            "Late: worked on %(day)s, in the period %(first)s to %(last)s, which was locked before it arrived.",
            day=date_text(self.day),
            first=date_text(first),
            last=date_text(last),
        )


def group_key(day: dt.date | None, kind: str) -> str:
    """How a dispute names a day's lines of one kind: ``group:2026-12-01:piece``, ``group:period:adjustment``."""
    return f"{GROUP_PREFIX}{day.isoformat() if day else 'period'}:{kind}"


def is_group_key(ref: str) -> bool:
    return ref.startswith(GROUP_PREFIX)


def group_text(key: str) -> str:
    """A group's key in words, for a dispute about it: "Tue, 1 Dec · Pieces: every line"."""
    day, _sep, kind = key.removeprefix(GROUP_PREFIX).partition(":")
    try:
        day_words = day_text(dt.date.fromisoformat(day))
    except ValueError:
        day_words = _("Whole period")
    return _("%(day)s · %(kind)s: every line", day=day_words, kind=kind_label(kind))


@dataclass(frozen=True)
class LineGroup:
    """A day's lines of one kind (a day's calls, chats and tickets are one "Pieces" group): one summary row with
    the count and the total, the lines on tap. An agent may question the whole group or any one line of it.

    Read like a ``ShownLine`` by the dispute form (title, amount, day, line id, reference): a dispute about a
    group stores the group's key in ``line_ref`` and, on a locked statement, the group's first line in ``line_id``.
    """

    day: dt.date | None
    kind: str
    lines: list[ShownLine]
    open_dispute: bool

    @property
    def key(self) -> str:
        return group_key(self.day, self.kind)

    @property
    def ref(self) -> str:
        return self.key

    @property
    def dispute_ref(self) -> str:
        return self.key

    @property
    def line_id(self) -> int | None:
        return self.lines[0].line_id

    @property
    def count(self) -> int:
        return len(self.lines)

    @property
    def amount_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)

    @property
    def title(self) -> str:
        return kind_label(self.kind)


@dataclass(frozen=True)
class DayLines:
    day: dt.date | None  # None: the period as a whole (quality bonus, adjustments)
    lines: list[ShownLine]
    disputed_groups: frozenset[str] = frozenset()  # keys of this day's groups with an open question

    @property
    def total_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)

    @property
    def groups(self) -> list[LineGroup]:
        """The day's lines by kind, in the order the kinds first appear (hours, pieces, bonuses)."""
        by_kind: dict[str, list[ShownLine]] = {}
        for line in self.lines:
            by_kind.setdefault(line.kind, []).append(line)
        return [
            LineGroup(
                day=self.day,
                kind=kind,
                lines=lines,
                open_dispute=group_key(self.day, kind) in self.disputed_groups,
            )
            for kind, lines in by_kind.items()
        ]

    @property
    def late(self) -> bool:
        """A day of an earlier period, shown because its work arrived after that period was locked."""
        return any(line.late_from is not None for line in self.lines)


@dataclass(frozen=True)
class Accrued:
    """An open period's pay so far, before tax."""

    period: PayPeriod
    is_current: bool
    days: list[DayLines]
    totals: dict[str, int]

    @property
    def last_day(self) -> dt.date:
        return self.period.ends_on - dt.timedelta(days=1)


@dataclass(frozen=True)
class StatementSummary:
    period: PayPeriod
    settlement: Settlement
    paid_minor: int
    paid_on: dt.date | None

    @property
    def last_day(self) -> dt.date:
        return self.period.ends_on - dt.timedelta(days=1)


@dataclass(frozen=True)
class Statement:
    summary: StatementSummary
    days: list[DayLines]
    withholding: list[ShownLine] = field(default_factory=list)

    @property
    def period(self) -> PayPeriod:
        return self.summary.period

    @property
    def settlement(self) -> Settlement:
        return self.summary.settlement


def line_ref(line: Line) -> str:
    """An open period's line named by what it is: ``2026-12-01:piece:call:billing``, ``2026-12-01:base:shift-42``."""
    day = line.day.isoformat() if line.day else "period"
    if line.kind == LineKind.piece:
        detail = f"{line.work_kind or '-'}:{line.skill_code or '-'}"
    elif line.shift_id is not None:
        detail = f"shift-{line.shift_id}"
    else:
        detail = ""
    return f"{day}:{line.kind}:{detail}".rstrip(":")[:REF_MAX_CHARS]


def unique_refs(lines: list[Line]) -> list[str]:
    """Each line's reference; the n-th repeat of a reference (two adjustments, two courses) gets ``#n``."""
    seen: Counter[str] = Counter()
    refs = []
    for line in lines:
        ref = line_ref(line)
        seen[ref] += 1
        refs.append(ref if seen[ref] == 1 else f"{ref}#{seen[ref]}")
    return refs


async def _skill_labels(session: AsyncSession, *, site_id: int, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = await session.scalars(select(Skill).where(Skill.site_id == site_id, Skill.code.in_(codes)))
    return {skill.code: skill_label(skill) for skill in rows}


async def _shift_labels(session: AsyncSession, *, shift_ids: set[int], zone: ZoneInfo) -> dict[int, str]:
    if not shift_ids:
        return {}
    rows = await session.execute(select(Shift.id, Shift.start_slot, Shift.end_slot).where(Shift.id.in_(shift_ids)))
    return {
        shift_id: f"{local_start(start, zone).strftime('%H:%M')}\u2013{local_start(end, zone).strftime('%H:%M')}"
        for shift_id, start, end in rows
    }


def _by_day(lines: list[ShownLine], disputed: set[str | int]) -> list[DayLines]:
    """Dated lines day by day (oldest first), then the period's own lines."""
    days: dict[dt.date | None, list[ShownLine]] = {}
    for line in sorted(lines, key=lambda line: (line.day is None, line.day or dt.date.min)):
        days.setdefault(line.day, []).append(line)
    groups = frozenset(ref for ref in disputed if isinstance(ref, str) and is_group_key(ref))
    return [DayLines(day=day, lines=day_lines, disputed_groups=groups) for day, day_lines in days.items()]


def _quality_facts(
    lines: list[Line] | list[SettlementLine], work: AgentWork | None, rates: Rates | None
) -> QualityFacts:
    """The facts behind a quality bonus line: piece pay from the lines; live, the CSAT average against the bar."""
    piece_minor = sum(line.amount_minor for line in lines if line.kind == LineKind.piece)
    rated = sum(p.csat_count for p in work.pieces) if work is not None else 0
    if work is None or rates is None or rates.quality_bonus is None or not rated:
        return QualityFacts(piece_minor=piece_minor)
    csat_sum = sum(p.csat_sum for p in work.pieces)
    if not meets_quality_bar(rates, csat_sum=csat_sum, csat_count=rated):
        return QualityFacts(piece_minor=piece_minor)
    return QualityFacts(
        piece_minor=piece_minor,
        csat_average=Fraction(csat_sum, rated),
        min_average=rates.quality_bonus.min_csat_average,
    )


async def _shown(
    session: AsyncSession,
    *,
    user: User,
    period: PayPeriod,
    rows: list[tuple[Line | SettlementLine, str, int | None]],
    disputed: set[str | int],
    quality: QualityFacts,
) -> list[ShownLine]:
    """Each line as the agent reads it; a line dated before the period is late work, shown with its own period."""
    zone = user_zone(user)
    currency = period.currency
    skills = await _skill_labels(
        session, site_id=user.site_id, codes={line.skill_code for line, _r, _i in rows if line.skill_code}
    )
    shifts = await _shift_labels(
        session, shift_ids={line.shift_id for line, _r, _i in rows if line.shift_id is not None}, zone=zone
    )
    late_days = {line.day for line, _r, _i in rows if line.day is not None and line.day < period.starts_on}
    origins = await gather.periods_containing(session, site_id=period.site_id, days=late_days)
    shown = []
    for line, ref, line_id in rows:
        skill = skills.get(line.skill_code or "", line.skill_code or "")
        shift = shifts.get(line.shift_id) if line.shift_id is not None else None
        shown.append(
            ShownLine(
                kind=str(line.kind),
                day=line.day,
                shift_id=line.shift_id,
                shift_label=" · ".join(part for part in (shift, skill) if part) if shift else "",
                work_kind=line.work_kind,
                skill_label=skill,
                quantity=line.quantity,
                rate_minor=line.rate_minor,
                amount_minor=line.amount_minor,
                note=line.note,
                why=why(
                    kind=str(line.kind),
                    quantity=line.quantity,
                    rate_minor=line.rate_minor,
                    amount_minor=line.amount_minor,
                    work_kind=line.work_kind,
                    note=line.note,
                    currency=currency,
                    quality=quality if line.kind == LineKind.quality_bonus else None,
                ),
                ref=ref,
                line_id=line_id,
                open_dispute=(line_id if line_id is not None else ref) in disputed,
                late_from=origins.get(line.day) if line.day is not None else None,
            )
        )
    return shown


async def open_period_lines(
    session: AsyncSession, *, period: PayPeriod, user: User, now: dt.datetime | None = None
) -> tuple[list[Line], list[str], AgentWork, Rates]:
    """An open period's lines for one agent as locking would compute them now, with their references."""
    rates = await gather.period_rates(session, period=period)
    work = await gather.agent_work(session, period=period, user_id=user.id, now=now)
    lines = settle_lines(work, rates)
    return lines, unique_refs(lines), work, rates


async def _open_disputed(session: AsyncSession, *, user_id: int, period_id: int) -> set[str | int]:
    rows = await session.execute(
        select(Dispute.line_ref, Dispute.line_id).where(
            Dispute.user_id == user_id, Dispute.period_id == period_id, Dispute.status == DisputeStatus.open
        )
    )
    # A question about a group names it by its key (and its first line by id): the group is asked about, not that line.
    return {ref if ref else line_id for ref, line_id in rows}


async def accrued(
    session: AsyncSession, *, period: PayPeriod, user: User, is_current: bool, now: dt.datetime | None = None
) -> Accrued:
    """An open period's pay so far for one agent, line by line, day by day."""
    lines, refs, work, rates = await open_period_lines(session, period=period, user=user, now=now)
    quality = _quality_facts(lines, work, rates)
    disputed = await _open_disputed(session, user_id=user.id, period_id=period.id)
    shown = await _shown(
        session,
        user=user,
        period=period,
        rows=[(line, ref, None) for line, ref in zip(lines, refs, strict=True)],
        disputed=disputed,
        quality=quality,
    )
    return Accrued(
        period=period,
        is_current=is_current,
        days=_by_day(shown, disputed),
        totals=totals(lines) if lines else {},
    )


async def _unsaved_recent_periods(session: AsyncSession, *, site: Site, today: dt.date) -> list[PayPeriod]:
    """Today's period and the one before, when nobody has made them yet (the worker's ``keep_periods_ready``
    does): reckoned, not stored, as a read never writes. The one before matters: a shift worked late on the
    last day of a week nobody opened must stay on the tab the next morning."""
    current = await periods.period_on(session, site=site, day=today)
    previous = await periods.period_on(session, site=site, day=current.starts_on - dt.timedelta(days=1))
    return [period for period in (current, previous) if period.id is None]


async def open_periods(session: AsyncSession, *, user: User, now: dt.datetime | None = None) -> list[Accrued]:
    """The current open period's accrued pay, then up to two earlier periods still waiting for their lock."""
    site = await accounts.get_site(session, user.site_id)
    today = periods.site_today(site, now)
    stored = await session.scalars(
        select(PayPeriod)
        .where(PayPeriod.site_id == site.id, PayPeriod.status == PeriodStatus.open, PayPeriod.starts_on <= today)
        .order_by(PayPeriod.starts_on.desc())
        .limit(1 + EARLIER_OPEN_PERIODS)
    )
    unsaved = await _unsaved_recent_periods(session, site=site, today=today)
    rows = sorted([*unsaved, *stored], key=lambda period: period.starts_on, reverse=True)[: 1 + EARLIER_OPEN_PERIODS]
    shown = []
    for period in rows:
        is_current = period.starts_on <= today < period.ends_on
        view = await accrued(session, period=period, user=user, is_current=is_current, now=now)
        if is_current or view.days:
            shown.append(view)
    return shown


async def _paid(session: AsyncSession, *, user_id: int, period_ids: list[int]) -> dict[int, tuple[int, dt.datetime]]:
    """Per period: what the payout entries paid this agent (their payable debited), and when."""
    if not period_ids:
        return {}
    rows = await session.execute(
        select(JournalEntry.period_id, func.sum(Posting.amount_minor), func.max(JournalEntry.posted_at))
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .where(
            JournalEntry.period_id.in_(period_ids),
            JournalEntry.kind == EntryKind.payout,
            Posting.account == Account.agent_payable,
            Posting.user_id == user_id,
        )
        .group_by(JournalEntry.period_id)
    )
    return {period_id: (abs(int(total or 0)), posted_at) for period_id, total, posted_at in rows}


async def _summaries(
    session: AsyncSession, *, user: User, site: Site, period_id: int | None = None
) -> list[StatementSummary]:
    query = (
        select(PayPeriod, Settlement)
        .join(Settlement, Settlement.period_id == PayPeriod.id)
        .where(
            Settlement.user_id == user.id,
            PayPeriod.site_id == site.id,
            PayPeriod.status.in_([PeriodStatus.locked, PeriodStatus.paid]),
        )
        .order_by(PayPeriod.starts_on.desc())
    )
    if period_id is not None:
        query = query.where(PayPeriod.id == period_id)
    rows = [(period, settlement) for period, settlement in await session.execute(query)]
    paid = await _paid(session, user_id=user.id, period_ids=[period.id for period, _s in rows])
    zone = site_zone(site)
    summaries = []
    for period, settlement in rows:
        amount, posted_at = paid.get(period.id, (0, None))
        moment = posted_at or period.paid_at
        paid_on = moment.astimezone(zone).date() if moment is not None and period.status == PeriodStatus.paid else None
        summaries.append(StatementSummary(period=period, settlement=settlement, paid_minor=amount, paid_on=paid_on))
    return summaries


async def statements(session: AsyncSession, *, user: User) -> list[StatementSummary]:
    """The agent's locked and paid periods, newest first."""
    site = await accounts.get_site(session, user.site_id)
    return await _summaries(session, user=user, site=site)


async def statement(session: AsyncSession, *, user: User, period_id: int) -> Statement:
    """One locked period's statement: every line of the agent's settlement (404 if it is not theirs)."""
    site = await accounts.get_site(session, user.site_id)
    found = await _summaries(session, user=user, site=site, period_id=period_id)
    if not found:
        raise NotFound("statement")
    summary = found[0]
    rows = list(
        await session.scalars(
            select(SettlementLine)
            .where(SettlementLine.settlement_id == summary.settlement.id)
            .order_by(SettlementLine.position)
        )
    )
    disputed = await _open_disputed(session, user_id=user.id, period_id=period_id)
    shown = await _shown(
        session,
        user=user,
        period=summary.period,
        rows=[(row, "", row.id) for row in rows],
        disputed=disputed,
        quality=_quality_facts(rows, None, None),
    )
    pay = [line for line in shown if line.kind != LineKind.withholding]
    withheld = [line for line in shown if line.kind == LineKind.withholding]
    return Statement(summary=summary, days=_by_day(pay, disputed), withholding=withheld)
