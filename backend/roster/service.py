"""The roster workflow: solve a week in the background, review and edit the draft, publish it.

Rules kept here:
- one solve at a time per roster (a second one is a 409, not a race);
- a re-solve keeps locked lines and starts from the current draft (a hint), so
  the roster changes no more than it must;
- every manual edit is checked by the eligibility function on the agent's whole
  week, and nothing is written when it fails;
- publishing freezes the draft as a numbered version, turns it into shifts and
  turns the remaining gaps into open shifts; the versions' difference is what
  each agent is told changed.
"""

from __future__ import annotations

from collections import defaultdict

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Pool, Site, Skill, User
from backend.core.db import utcnow
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.core.slots import IsoWeek, ranges_of
from backend.notify.service import Kind, notify
from backend.roster import solver
from backend.roster.models import AssignmentSource, Roster, RosterAssignment, RosterVersion, SolveRun, SolveStatus
from backend.roster.problem import WeekFacts, solver_problem, week_facts
from backend.shifts.eligibility import Work, check_week
from backend.shifts.publish import Placement, agents_time, held_time, main_skill, publish_week_shifts

ACTIVE = (SolveStatus.queued, SolveStatus.running)


class Line(msgspec.Struct, frozen=True):
    """A draft or published line in plain values: what versions store and diffs compare."""

    user_id: int
    skill_id: int
    start_slot: int
    end_slot: int


async def roster_of(session: AsyncSession, *, site_id: int, week: IsoWeek) -> Roster:
    """The site's roster for the week, stored empty the first time anyone changes it (solve, edit, publish)."""
    roster = await find_roster(session, site_id=site_id, week=week)
    if roster.id is None:
        session.add(roster)
        await session.flush()
    return roster


async def find_roster(session: AsyncSession, *, site_id: int, week: IsoWeek) -> Roster:
    """The site's roster for the week to read; a week nobody has touched is an empty one that is not stored.

    A read never writes: a GET that inserted the row took SQLite's write lock inside a read
    transaction and failed with "database is locked" beside any concurrent import.
    """
    roster = await session.scalar(select(Roster).where(Roster.site_id == site_id, Roster.week == str(week)))
    return roster if roster is not None else Roster(site_id=site_id, week=str(week), published_version=0)


async def get_run(session: AsyncSession, *, run_id: int, site_id: int) -> SolveRun:
    """A solve run of the caller's site; another site's id is simply not found."""
    run = await session.get(SolveRun, run_id)
    roster = await session.get(Roster, run.roster_id) if run is not None else None
    if run is None or roster is None or roster.site_id != site_id:
        raise NotFound("solve")
    return run


async def latest_run(session: AsyncSession, roster: Roster) -> SolveRun | None:
    return await session.scalar(
        select(SolveRun).where(SolveRun.roster_id == roster.id).order_by(SolveRun.id.desc()).limit(1)
    )


# Solving ------------------------------------------------------------------------


async def _solve_in_flight(session: AsyncSession, roster: Roster) -> bool:
    """Whether a solve of the roster is queued or running: one at a time, and none while publishing."""
    running = await session.scalar(
        select(SolveRun.id).where(SolveRun.roster_id == roster.id, SolveRun.status.in_(ACTIVE)).limit(1)
    )
    return running is not None


class SolveOrder(msgspec.Struct):
    """What the route hands to the job runner once the run's row is committed."""

    run_id: int
    problem: solver.Problem
    hint: solver.Solution | None


async def start_solve(
    session: AsyncSession, *, site: Site, week: IsoWeek, requested_by: int | None, time_limit_seconds: float
) -> SolveOrder:
    """Queue a solve of the week; refused while another solve of it is still going."""
    roster = await roster_of(session, site_id=site.id, week=week)
    if await _solve_in_flight(session, roster):
        raise Conflict(_("A solve of this week is already running."))
    facts = await week_facts(session, site=site, week=week, roster=roster)
    problem = solver_problem(facts)
    run = SolveRun(roster_id=roster.id, requested_by_id=requested_by, time_limit_seconds=time_limit_seconds)
    session.add(run)
    await session.flush()
    return SolveOrder(run_id=run.id, problem=problem, hint=await _draft_hint(session, roster, facts))


async def _draft_hint(session: AsyncSession, roster: Roster, facts: WeekFacts) -> solver.Solution | None:
    """The current draft as a starting point, so a re-solve moves as little as it must."""
    lines = await draft_lines(session, roster)
    if not lines:
        return None
    codes = {skill.id: code for code, skill in facts.skills.items()}
    shifts = [
        solver.Shift(str(line.user_id), codes[line.skill_id], line.start_slot, line.end_slot)
        for line in lines
        if line.skill_id in codes
    ]
    return solver.Solution(
        status="feasible",
        objective=None,
        best_bound=None,
        wall_seconds=0.0,
        under_coverage_slots=0,
        over_coverage_slots=0,
        lower_bound_under=0,
        gap=None,
        shifts=shifts,
        coverage=[],
        agents=[],
    )


async def record_progress(session: AsyncSession, run_id: int, progress: solver.Progress | None) -> bool:
    """Store the latest progress; answers whether a cancel was asked for."""
    run = await session.get(SolveRun, run_id)
    if run is None:
        return True
    if run.status == SolveStatus.queued:
        run.status = SolveStatus.running
    if progress is not None:
        run.elapsed_seconds = progress.elapsed_seconds
        run.stage = progress.stage
        if progress.under_coverage_slots is not None:
            run.under_coverage_slots = progress.under_coverage_slots
        if progress.stage == "bound" and progress.best_bound is not None:
            run.lower_bound_slots = progress.best_bound  # known before CP-SAT starts
    await session.flush()
    return run.cancel_requested


async def request_cancel(session: AsyncSession, run: SolveRun) -> None:
    if run.status in ACTIVE:
        run.cancel_requested = True
        await session.flush()


async def fail_run(session: AsyncSession, run_id: int, error: str) -> None:
    run = await session.get(SolveRun, run_id)
    if run is not None:
        run.status = SolveStatus.failed
        run.error = error[:2000]
        run.finished_at = utcnow()
        await session.flush()


async def apply_solution(session: AsyncSession, run_id: int, solution: solver.Solution) -> None:
    """Write the solve's result: a cancelled solve changes nothing; otherwise unlocked lines are replaced."""
    run = await session.get(SolveRun, run_id)
    if run is None:
        return
    roster = await session.get(Roster, run.roster_id)
    assert roster is not None
    run.finished_at = utcnow()
    run.elapsed_seconds = solution.wall_seconds
    run.under_coverage_slots = solution.under_coverage_slots if solution.status != "unknown" else None
    run.lower_bound_slots = solution.lower_bound_under
    run.report = _report(solution)
    if run.cancel_requested or solution.cancelled:
        run.status = SolveStatus.cancelled
        await session.flush()
        return
    run.status = SolveStatus.done if solution.status in ("optimal", "feasible") else SolveStatus.failed
    if run.status == SolveStatus.failed:
        run.error = _("No roster: the rules cannot all be kept (status %(status)s).", status=solution.status)
        await session.flush()
        return
    await _replace_unlocked(session, roster, solution)
    roster.updated_at = utcnow()
    await session.flush()


async def _replace_unlocked(session: AsyncSession, roster: Roster, solution: solver.Solution) -> None:
    skills = {s.code: s.id for s in await session.scalars(select(Skill).where(Skill.site_id == roster.site_id))}
    locked = {
        (line.user_id, line.start_slot, line.end_slot)
        for line in await session.scalars(
            select(RosterAssignment).where(RosterAssignment.roster_id == roster.id, RosterAssignment.locked)
        )
    }
    await session.execute(
        delete(RosterAssignment).where(RosterAssignment.roster_id == roster.id, RosterAssignment.locked.is_(False))
    )
    agents = {int(report.agent_id) for report in solution.agents}
    core = set(await session.scalars(select(User.id).where(User.id.in_(agents), User.pool == Pool.core)))
    for shift in solution.shifts:
        user_id = int(shift.agent_id)
        if shift.fixed and (user_id not in core or _inside_locked(locked, user_id, shift)):
            continue  # a locked line (kept) or a claimed shift (already a shift)
        session.add(
            RosterAssignment(
                roster_id=roster.id,
                user_id=user_id,
                skill_id=skills[shift.skill],
                start_slot=shift.start_slot,
                end_slot=shift.end_slot,
                locked=False,
                source=AssignmentSource.fixed if shift.fixed else AssignmentSource.solver,
            )
        )


def _inside_locked(locked: set[tuple[int, int, int]], user_id: int, shift: solver.Shift) -> bool:
    return any(u == user_id and start <= shift.start_slot and shift.end_slot <= end for u, start, end in locked)


def _report(solution: solver.Solution) -> dict[str, object]:
    """What the draft page shows about the solve: quality, stages and every agent's explanations."""
    return {
        "status": solution.status,
        "cancelled": solution.cancelled,
        "wall_seconds": round(solution.wall_seconds, 2),
        "first_feasible_seconds": solution.first_feasible_seconds,
        "under_coverage_slots": solution.under_coverage_slots,
        "over_coverage_slots": solution.over_coverage_slots,
        "lower_bound_slots": solution.lower_bound_under,
        "gap_slots": solution.gap,
        "objective": solution.objective,
        "best_bound": solution.best_bound,
        "stages": [msgspec.to_builtins(stage) for stage in solution.stages],
        "agents": {
            report.agent_id: {
                "offered": report.offered_slots,
                "given": report.given_slots,
                "target": report.share_target,
                "unused": [[u.start_slot, u.end_slot, str(u.reason)] for u in report.unused],
            }
            for report in solution.agents
        },
    }


# The draft ----------------------------------------------------------------------


async def draft_lines(session: AsyncSession, roster: Roster) -> list[RosterAssignment]:
    return list(
        await session.scalars(
            select(RosterAssignment)
            .where(RosterAssignment.roster_id == roster.id)
            .order_by(RosterAssignment.start_slot, RosterAssignment.user_id)
        )
    )


async def get_line(session: AsyncSession, *, roster: Roster, line_id: int) -> RosterAssignment:
    line = await session.get(RosterAssignment, line_id)
    if line is None or line.roster_id != roster.id:
        raise NotFound("assignment")
    return line


class Edit(msgspec.Struct, frozen=True):
    """A coordinator's add or move: who works which skill from when to when."""

    user_id: int
    skill_code: str
    start_slot: int
    end_slot: int
    locked: bool = True


async def add_line(session: AsyncSession, *, site: Site, roster: Roster, edit: Edit) -> RosterAssignment:
    facts = await week_facts(session, site=site, week=IsoWeek.parse(roster.week), roster=roster)
    skill = _check_edit(facts, edit)
    lines = [line for line in await draft_lines(session, roster) if line.user_id == edit.user_id]
    _check_agent_week(facts, edit.user_id, [*(_work(facts, line) for line in lines), _edit_work(edit)])
    line = RosterAssignment(
        roster_id=roster.id,
        user_id=edit.user_id,
        skill_id=skill,
        start_slot=edit.start_slot,
        end_slot=edit.end_slot,
        locked=edit.locked,
        source=AssignmentSource.manual,
    )
    session.add(line)
    roster.updated_at = utcnow()
    await session.flush()
    return line


async def move_line(
    session: AsyncSession, *, site: Site, roster: Roster, line: RosterAssignment, edit: Edit
) -> RosterAssignment:
    """Change a line's agent, skill or hours; the agent's week (and the old agent's) must stay eligible."""
    facts = await week_facts(session, site=site, week=IsoWeek.parse(roster.week), roster=roster)
    skill = _check_edit(facts, edit)
    others = [
        _work(facts, other)
        for other in await draft_lines(session, roster)
        if other.user_id == edit.user_id and other.id != line.id
    ]
    _check_agent_week(facts, edit.user_id, [*others, _edit_work(edit)])
    line.user_id, line.skill_id = edit.user_id, skill
    line.start_slot, line.end_slot = edit.start_slot, edit.end_slot
    line.locked, line.source = edit.locked, AssignmentSource.manual
    roster.updated_at = utcnow()
    await session.flush()
    return line


async def remove_line(session: AsyncSession, *, roster: Roster, line: RosterAssignment) -> None:
    await session.delete(line)
    roster.updated_at = utcnow()
    await session.flush()


async def set_locked(session: AsyncSession, *, roster: Roster, line: RosterAssignment, locked: bool) -> None:
    line.locked = locked
    roster.updated_at = utcnow()
    await session.flush()


def _check_edit(facts: WeekFacts, edit: Edit) -> int:
    if str(edit.user_id) not in facts.facts:
        raise DomainError(_("This agent cannot be rostered: not an active, onboarded agent here."), field="agent")
    if edit.skill_code not in facts.skills:
        raise DomainError(_("Unknown skill %(skill)s.", skill=edit.skill_code), field="skill")
    if edit.end_slot <= edit.start_slot:
        raise DomainError(_("The end must be after the start."), field="end")
    if edit.start_slot < facts.slots.start or edit.end_slot > facts.slots.stop:
        raise DomainError(_("The shift must lie inside the roster's week."), field="start")
    return facts.skills[edit.skill_code].id


def _work(facts: WeekFacts, line: RosterAssignment) -> Work:
    return Work(facts.skill_code(line.skill_id), line.start_slot, line.end_slot)


def _edit_work(edit: Edit) -> Work:
    return Work(edit.skill_code, edit.start_slot, edit.end_slot)


def _check_agent_week(facts: WeekFacts, user_id: int, work: list[Work]) -> None:
    """The same eligibility the marketplace asks, on the agent's whole draft week; 422 with every reason.

    Shifts the agent already holds outside the roster (claimed open shifts) are part of that week.
    """
    agent_id = str(user_id)
    fixed = [t for f in facts.fixed if f.agent_id == agent_id for t in range(f.start_slot, f.end_slot)]
    codes = {skill.id: code for code, skill in facts.skills.items()}
    held = [Work(codes[k], start, end) for u, k, start, end in facts.claimed if u == user_id and k in codes]
    refusals = check_week(facts.facts[agent_id], [*work, *held], facts.rules, facts.day_starts, fixed=fixed)
    if refusals:
        raise DomainError(" ".join(dict.fromkeys(r.message() for r in refusals)), field="agent")


# Publishing ---------------------------------------------------------------------


class Change(msgspec.Struct, frozen=True):
    """An agent's shifts added and removed between two versions (each a whole shift, shown by its main skill)."""

    user_id: int
    added: list[Line]
    removed: list[Line]


class TimeChange(msgspec.Struct, frozen=True):
    """What an agent is told after a publish: their shifts new, moved or lengthened, and gone."""

    added: int
    changed: int
    removed: int
    shifts: int


class Gaps(msgspec.Struct, frozen=True):
    """Uncovered demand: the open shifts to offer, and the agent-slots too short to offer (left uncovered)."""

    open_shifts: list[tuple[int, int, int, int]]
    too_short_slots: int


async def publish(session: AsyncSession, *, site: Site, roster: Roster, published_by: int | None) -> RosterVersion:
    """Freeze the draft as the next version, make its shifts, and open shifts for what is still uncovered."""
    lines = [Line(a.user_id, a.skill_id, a.start_slot, a.end_slot) for a in await draft_lines(session, roster)]
    if await _solve_in_flight(session, roster):
        raise Conflict(_("Wait for the running solve to finish, or cancel it, before publishing."))
    facts = await week_facts(session, site=site, week=IsoWeek.parse(roster.week), roster=roster)
    gaps = coverage_gaps(facts, lines)
    version = RosterVersion(
        roster_id=roster.id,
        number=roster.published_version + 1,
        published_by_id=published_by,
        lines=[msgspec.to_builtins(line) for line in lines],
        open_seats=sum(seats for _, _, _, seats in gaps.open_shifts),
    )
    session.add(version)
    await session.flush()
    roster.published_version = version.number
    held_before = await held_time(session, site_id=site.id, slots=facts.slots)
    await publish_week_shifts(
        session,
        site_id=site.id,
        slots=facts.slots,
        version_id=version.id,
        lines=[(line.user_id, line.skill_id, line.start_slot, line.end_slot) for line in lines],
        gaps=gaps.open_shifts,
        now=utcnow(),
    )
    held_after = await held_time(session, site_id=site.id, slots=facts.slots)
    changes = {
        user_id: time_change(held_before.get(user_id, set()), held_after.get(user_id, set()))
        for user_id in sorted(set(held_before) | set(held_after))
        if held_before.get(user_id, set()) != held_after.get(user_id, set())
    }
    await _tell_agents(session, roster=roster, changes=changes, first=version.number == 1)
    return version


def time_change(before: set[int], after: set[int]) -> TimeChange:
    """An agent's held time before and after a publish, as whole shifts: new, changed (overlapping one
    they held, with other hours) and gone; the skills inside a shift play no part."""
    was, now = ranges_of(before), ranges_of(after)

    def meets(run: tuple[int, int], others: list[tuple[int, int]]) -> bool:
        return any(start < run[1] and run[0] < end for start, end in others)

    return TimeChange(
        added=sum(1 for run in now if not meets(run, was)),
        changed=sum(1 for run in now if run not in was and meets(run, was)),
        removed=sum(1 for run in was if not meets(run, now)),
        shifts=len(now),
    )


async def _tell_agents(session: AsyncSession, *, roster: Roster, changes: dict[int, TimeChange], first: bool) -> None:
    """Each agent whose time changed hears it once, in their language; one push per week replaces the last."""
    users = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(list(changes))))}
    for user_id, change in changes.items():
        user = users.get(user_id)
        if user is None:
            continue
        if first:
            message, values = "roster_out", {"week": roster.week, "shifts": change.shifts}
        else:
            message = "roster_changed"
            values = {"week": roster.week, "added": change.added, "changed": change.changed, "removed": change.removed}
        await notify(
            session,
            user_id=user.id,
            kind=Kind.roster_published,
            message=message,
            values=values,
            url="/app/shifts",
            subject=f"roster:{roster.site_id}:{roster.week}",
        )


def coverage_gaps(facts: WeekFacts, lines: list[Line]) -> Gaps:
    """Uncovered demand as open shifts ``(skill_id, start, end, seats)``, each at least the site's shortest shift.

    Per skill, the shortfall per slot is peeled into layers (one seat at a
    time); each layer's contiguous runs are blocks, cut into near-equal pieces
    within the shift length bounds. A block shorter than the minimum shift is
    not offered (nobody may work it on its own, and next to a shift it would
    make two back-to-back shifts): it stays uncovered on the coverage chart
    and is counted in ``too_short_slots``.
    """
    scheduled = scheduled_by_cell([*lines, *(Line(*seat) for seat in facts.claimed)])
    low, high = facts.rules.min_shift_slots, facts.rules.max_shift_slots
    gaps: list[tuple[int, int, int, int]] = []
    too_short = 0
    for code, needs in facts.required.items():
        skill = facts.skills[code]
        short = [max(0, need - scheduled.get((skill.id, facts.slots.start + i), 0)) for i, need in enumerate(needs)]
        runs: dict[tuple[int, int], int] = defaultdict(int)
        for layer in range(1, max(short, default=0) + 1):
            for start, end in ranges_of({index for index, value in enumerate(short) if value >= layer}):
                lengths = shift_pieces(end - start, low, high)
                too_short += end - start - sum(lengths)
                offset = facts.slots.start + start
                for length in lengths:
                    runs[offset, offset + length] += 1
                    offset += length
        gaps.extend((skill.id, start, end, seats) for (start, end), seats in sorted(runs.items()))
    return Gaps(open_shifts=gaps, too_short_slots=too_short)


def shift_pieces(length: int, low: int, high: int) -> list[int]:
    """A block of ``length`` slots cut into as few near-equal shifts in ``[low, high]`` as fit, from its start.

    When no such cut covers it all, whole shifts of ``high`` are offered and the remnant
    (shorter than ``low``) is left over.
    """
    if length < max(1, low):
        return []
    count = -(-length // high)
    if count * low > length:
        return [high] * (count - 1)
    base, extra = divmod(length, count)
    return [base + 1] * extra + [base] * (count - extra)


def scheduled_by_cell(lines: list[Line]) -> dict[tuple[int, int], int]:
    scheduled: dict[tuple[int, int], int] = defaultdict(int)
    for line in lines:
        for slot in range(line.start_slot, line.end_slot):
            scheduled[line.skill_id, slot] += 1
    return scheduled


async def versions(session: AsyncSession, roster: Roster) -> list[RosterVersion]:
    return list(
        await session.scalars(
            select(RosterVersion).where(RosterVersion.roster_id == roster.id).order_by(RosterVersion.number.desc())
        )
    )


def changes_between(before: RosterVersion | None, after: RosterVersion) -> list[Change]:
    """Per agent, the shifts added and removed from one version to the next, by time held.

    A shift is an agent's contiguous time: a new skill split inside the same hours is no change.
    """
    old, new = _placements(before), _placements(after)
    old_runs, new_runs = agents_time(old), agents_time(new)
    changes = []
    for agent in sorted(set(old_runs) | set(new_runs)):
        was, now = set(old_runs.get(agent, [])), set(new_runs.get(agent, []))
        if was != now:
            added = [_whole_shift(new, agent, run) for run in sorted(now - was)]
            changes.append(Change(agent, added, [_whole_shift(old, agent, run) for run in sorted(was - now)]))
    return changes


def _placements(version: RosterVersion | None) -> list[Placement]:
    lines = [msgspec.convert(line, Line) for line in (version.lines if version else [])]
    return [(line.user_id, line.skill_id, line.start_slot, line.end_slot) for line in lines]


def _whole_shift(lines: list[Placement], user_id: int, run: tuple[int, int]) -> Line:
    skill_id = main_skill(lines, user_id, *run)
    return Line(user_id, skill_id if skill_id is not None else 0, *run)
