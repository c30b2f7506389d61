"""Disputes: an agent questions a line of their pay; a coordinator or finance resolves it.

A dispute names a locked line by its id, or (while the period is open) an accrued line by its
reference (``earnings.line_ref``: ``2026-12-01:piece:call:billing``). It is resolved once: by an
adjustment, filed into the current open period with the resolver as its author (a locked period
never changes), or by a rejection with its reason. Resolving a dispute someone already resolved
is a conflict (409), decided by a conditional update so two resolvers cannot both win. The agent
hears the outcome in their inbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import PAY_ADJUSTERS, Role, User
from backend.core.errors import Conflict, DomainError, Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.notify.service import Kind, notify, notify_staff
from backend.pay import earnings, periods
from backend.pay.models import Dispute, DisputeStatus, PayPeriod, PeriodStatus, SettlementLine

COMMENT_MAX_CHARS = 1000
REASON_MAX_CHARS = 300  # an adjustment's reason is kept with it (``Adjustment.reason``)
RESOLVED_SHOWN = 20
EARNINGS_URL = "/app/earnings"

# Where the conversation about a dispute goes on, found by a higher layer without pay importing it (requests: each
# dispute is a pay request). A finder takes dispute ids and answers {dispute id: request id} for those it knows.
# Registered once, at import.
RequestFinder = Callable[[AsyncSession, Collection[int]], Awaitable[dict[int, int]]]
REQUEST_FINDERS: list[RequestFinder] = []


def find_requests_with(finder: RequestFinder) -> RequestFinder:
    """Add a finder that ``request_ids`` asks (idempotent: a finder is added once)."""
    if finder not in REQUEST_FINDERS:
        REQUEST_FINDERS.append(finder)
    return finder


async def request_ids(session: AsyncSession, dispute_ids: Collection[int]) -> dict[int, int]:
    """The request that carries each dispute, where a higher layer keeps one (none registered: none)."""
    found: dict[int, int] = {}
    if not dispute_ids:
        return found
    for finder in REQUEST_FINDERS:
        found.update(await finder(session, dispute_ids))
    return found


@dataclass(frozen=True)
class DisputeView:
    """A dispute with what a reader needs beside it: whose, which period, which line in words."""

    dispute: Dispute
    agent_name: str
    period: PayPeriod
    line_text: str

    @property
    def last_day(self) -> dt.date:
        return self.period.ends_on - dt.timedelta(days=1)


def _check_comment(comment: str) -> str:
    text = comment.strip()
    if not text or len(text) > COMMENT_MAX_CHARS:
        raise DomainError(
            _("Say what looks wrong, in up to %(count)s characters.", count=COMMENT_MAX_CHARS), field="comment"
        )
    return text


def _check_reason(reason: str) -> str:
    text = reason.strip()
    if not text or len(text) > REASON_MAX_CHARS:
        raise DomainError(_("Give the reason, in up to %(count)s characters.", count=REASON_MAX_CHARS), field="reason")
    return text


async def _agent_period(session: AsyncSession, *, agent: User, period_id: int) -> PayPeriod:
    if agent.role != Role.agent:
        raise Forbidden(_("Only agents question their own pay."))
    period = await session.get(PayPeriod, period_id)
    if period is None or period.site_id != agent.site_id:
        raise NotFound("period")
    return period


async def _disputable_group(session: AsyncSession, *, agent: User, period: PayPeriod, key: str) -> earnings.LineGroup:
    """A day's lines of one kind: on the statement once the period is locked, else as accrued so far."""
    if period.status == PeriodStatus.open:
        days = (await earnings.accrued(session, period=period, user=agent, is_current=False)).days
    else:
        days = (await earnings.statement(session, user=agent, period_id=period.id)).days
    for day in days:
        for group in day.groups:
            if group.key == key:
                return group
    raise NotFound("line")


async def disputable_line(
    session: AsyncSession, *, agent: User, period_id: int, line_id: int | None, line_ref: str
) -> tuple[PayPeriod, earnings.ShownLine | earnings.LineGroup]:
    """The line (or a day's group of lines, named by its key) an agent means to question, as they see it; 404 unless
    it is theirs."""
    period = await _agent_period(session, agent=agent, period_id=period_id)
    if earnings.is_group_key(line_ref):
        return period, await _disputable_group(session, agent=agent, period=period, key=line_ref)
    if line_id is not None:
        statement = await earnings.statement(session, user=agent, period_id=period.id)
        for day in statement.days:
            for line in day.lines:
                if line.line_id == line_id:
                    return period, line
        for line in statement.withholding:
            if line.line_id == line_id:
                return period, line
        raise NotFound("line")
    if period.status != PeriodStatus.open:
        raise Conflict(_("This period is locked now: question the line on its statement."))
    view = await earnings.accrued(session, period=period, user=agent, is_current=False)
    for day in view.days:
        for line in day.lines:
            if line.ref == line_ref:
                return period, line
    raise NotFound("line")


async def file_dispute(
    session: AsyncSession,
    *,
    agent: User,
    period_id: int,
    line_id: int | None = None,
    line_ref: str = "",
    comment: str,
    now: dt.datetime,
) -> Dispute:
    """Question one of my lines, or a day's group of them; one open question per line and per group."""
    text = _check_comment(comment)
    period, line = await disputable_line(session, agent=agent, period_id=period_id, line_id=line_id, line_ref=line_ref)
    if line.open_dispute and isinstance(line, earnings.LineGroup):
        raise Conflict(_("You already asked about these lines; the answer will come to your inbox."))
    if line.open_dispute:
        raise Conflict(_("You already asked about this line; the answer will come to your inbox."))
    dispute = Dispute(
        site_id=agent.site_id,
        user_id=agent.id,
        period_id=period.id,
        line_id=line.line_id,
        line_ref=line.dispute_ref,
        comment=text,
        status=DisputeStatus.open,
        created_at=now,
        resolution="",
    )
    session.add(dispute)
    await session.flush()
    await notify_staff(
        session,
        site_id=agent.site_id,
        kind=Kind.staff_dispute,
        values={
            "name": agent.display_name,
            "first": period.starts_on.isoformat(),
            "last": (period.ends_on - dt.timedelta(days=1)).isoformat(),
            "text": text,
        },
        link="/admin/pay/disputes",
        now=now,
        roles=PAY_ADJUSTERS,
        subject=f"dispute:{dispute.id}",
    )
    return dispute


async def _line_texts(session: AsyncSession, disputes: list[Dispute]) -> dict[int, str]:
    """What each dispute is about, in words: a locked line's arithmetic, or an open line's day and kind."""
    line_ids = {d.line_id for d in disputes if d.line_id is not None}
    lines = {}
    if line_ids:
        lines = {
            row.id: row for row in await session.scalars(select(SettlementLine).where(SettlementLine.id.in_(line_ids)))
        }
    period_ids = {d.period_id for d in disputes}
    currencies: dict[int, str] = {}
    if period_ids:
        rows = await session.execute(select(PayPeriod.id, PayPeriod.currency).where(PayPeriod.id.in_(period_ids)))
        currencies = {period_id: currency for period_id, currency in rows}
    texts = {}
    for dispute in disputes:
        if earnings.is_group_key(dispute.line_ref):
            texts[dispute.id] = earnings.group_text(dispute.line_ref)
            continue
        line = lines.get(dispute.line_id) if dispute.line_id is not None else None
        if line is not None:
            day = f"{line.day.isoformat()} · " if line.day else ""
            texts[dispute.id] = day + earnings.why(
                kind=str(line.kind),
                quantity=line.quantity,
                rate_minor=line.rate_minor,
                amount_minor=line.amount_minor,
                work_kind=line.work_kind,
                note=line.note,
                currency=currencies.get(dispute.period_id, ""),
            )
        else:
            texts[dispute.id] = ref_text(dispute.line_ref)
    return texts


def ref_text(ref: str) -> str:
    """An open line's reference in words: ``2026-12-01:piece:call:billing`` → ``2026-12-01 · Pieces · call``..."""
    day, _sep, rest = ref.partition(":")
    kind, _sep, detail = rest.partition(":")
    parts = [day if day != "period" else _("Whole period"), earnings.kind_label(kind)]
    parts += [part for part in detail.replace("#", ":").split(":") if part and part != "-"]
    return " · ".join(parts)


async def _views(session: AsyncSession, disputes: list[Dispute]) -> list[DisputeView]:
    if not disputes:
        return []
    people = {u.id: u for u in await accounts.users_by_ids(session, {d.user_id for d in disputes})}
    period_rows = await session.scalars(select(PayPeriod).where(PayPeriod.id.in_({d.period_id for d in disputes})))
    found = {p.id: p for p in period_rows}
    texts = await _line_texts(session, disputes)
    return [
        DisputeView(
            dispute=d,
            agent_name=people[d.user_id].display_name if d.user_id in people else "",
            period=found[d.period_id],
            line_text=texts[d.id],
        )
        for d in disputes
    ]


async def my_disputes(session: AsyncSession, *, agent: User) -> list[DisputeView]:
    """The agent's own questions, open ones first, newest first."""
    rows = list(
        await session.scalars(
            select(Dispute)
            .where(Dispute.user_id == agent.id, Dispute.site_id == agent.site_id)
            .order_by((Dispute.status == DisputeStatus.open).desc(), Dispute.created_at.desc(), Dispute.id.desc())
        )
    )
    return await _views(session, rows)


def _ensure_staff(user: User) -> None:
    if user.role not in PAY_ADJUSTERS:
        raise Forbidden(_("Only a coordinator or finance resolves pay disputes."))


async def site_disputes(session: AsyncSession, *, staff: User) -> tuple[list[DisputeView], list[DisputeView]]:
    """The site's open disputes (oldest first: first asked, first answered) and the latest resolved ones."""
    _ensure_staff(staff)
    open_rows = list(
        await session.scalars(
            select(Dispute)
            .where(Dispute.site_id == staff.site_id, Dispute.status == DisputeStatus.open)
            .order_by(Dispute.created_at, Dispute.id)
        )
    )
    resolved_rows = list(
        await session.scalars(
            select(Dispute)
            .where(Dispute.site_id == staff.site_id, Dispute.status != DisputeStatus.open)
            .order_by(Dispute.resolved_at.desc(), Dispute.id.desc())
            .limit(RESOLVED_SHOWN)
        )
    )
    return await _views(session, open_rows), await _views(session, resolved_rows)


async def _claim(
    session: AsyncSession, *, dispute_id: int, staff: User, status: DisputeStatus, resolution: str, now: dt.datetime
) -> Dispute:
    """Mark an open dispute resolved, once: whoever comes second gets 409."""
    _ensure_staff(staff)
    dispute = await session.get(Dispute, dispute_id)
    if dispute is None or dispute.site_id != staff.site_id:
        raise NotFound("dispute")
    claimed = await session.execute(
        update(Dispute)
        .where(Dispute.id == dispute_id, Dispute.status == DisputeStatus.open)
        .values(status=status, resolved_at=now, resolved_by_id=staff.id, resolution=resolution)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(_("Someone already resolved this dispute."))
    await session.refresh(dispute)
    return dispute


async def _tell_agent(session: AsyncSession, dispute: Dispute, *, now: dt.datetime) -> None:
    agent = await accounts.get_user(session, dispute.user_id)
    await notify(
        session,
        user_id=agent.id,
        kind=Kind.pay_dispute,
        message="dispute_adjusted" if dispute.status == DisputeStatus.adjusted else "dispute_no_change",
        values={"resolution": dispute.resolution},
        url=f"{EARNINGS_URL}#disputes",
        subject=f"dispute:{dispute.id}",
        now=now,
    )


async def resolve_by_adjustment(
    session: AsyncSession,
    *,
    dispute_id: int,
    staff: User,
    amount_minor: int,
    reason: str,
    now: dt.datetime,
    confirmed: bool = False,
) -> Dispute:
    """Settle a dispute with an adjustment in the current open period (the resolver is its author).

    A large amount not yet ``confirmed`` raises ``periods.NeedsConfirmation`` and leaves the dispute open.
    """
    text = _check_reason(reason)
    if amount_minor == 0:
        raise DomainError(_("An adjustment needs an amount other than zero."), field="amount")
    async with session.begin_nested():  # a refused adjustment also gives the claim back
        dispute = await _claim(
            session, dispute_id=dispute_id, staff=staff, status=DisputeStatus.adjusted, resolution=text, now=now
        )
        site = await accounts.get_site(session, staff.site_id)
        adjustment = await periods.add_adjustment(
            session,
            site=site,
            user_id=dispute.user_id,
            amount_minor=amount_minor,
            reason=text,
            author=staff,
            now=now,
            confirmed=confirmed,
        )
    dispute.adjustment_id = adjustment.id
    await session.flush()
    await _tell_agent(session, dispute, now=now)
    return dispute


async def reject(session: AsyncSession, *, dispute_id: int, staff: User, reason: str, now: dt.datetime) -> Dispute:
    """Close a dispute without a change; the reason goes to the agent."""
    text = _check_reason(reason)
    dispute = await _claim(
        session, dispute_id=dispute_id, staff=staff, status=DisputeStatus.rejected, resolution=text, now=now
    )
    await _tell_agent(session, dispute, now=now)
    return dispute
