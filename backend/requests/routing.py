"""Where a request goes, and the settings that say so: teams and their members, routing rules, the responsibility
matrix.

A routing rule sends a kind (optionally only for one skill: the shift's, for a schedule request) to a team and,
where set, a named owner among its members. The rule naming the request's skill wins over the rule for any skill;
no rule (or a rule whose team is archived): the site's queue (team None), which every coordinator sees.

The responsibility matrix says, per kind, who acts, who must be consulted (asked inside the request when it is
raised) and who is kept informed (notified). A cell names a team (its members) or one person.

Changes are for coordinators and admins (403 for anyone else); finance may read.
"""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Skill, User
from backend.core.errors import DomainError, Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.core.i18n import localized_name
from backend.requests.access import REQUEST_STAFF, sees_site_wide
from backend.requests.models import (
    Calendar,
    Involvement,
    Request,
    RequestKind,
    RequestTeam,
    Responsibility,
    RoutingRule,
    TeamMember,
)


class MemberView(msgspec.Struct, frozen=True, kw_only=True):
    user_id: int
    name: str
    role: str


class TeamView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    name_zh: str
    calendar: Calendar
    lead_id: int | None
    lead_name: str
    archived: bool
    members: tuple[MemberView, ...]

    def label(self, locale: str | None = None) -> str:
        return localized_name(self.name, self.name_zh, locale)


class RuleView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: RequestKind
    skill_id: int | None
    skill_name: str  # "" for any skill
    team_id: int
    team_name: str
    owner_id: int | None
    owner_name: str


class ResponsibilityView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: RequestKind
    involvement: Involvement
    team_id: int | None
    user_id: int | None
    name: str  # the team's or the person's


# Routing -------------------------------------------------------------------------------------------------


async def route(session: AsyncSession, request: Request) -> tuple[int | None, int | None]:
    """(team_id, owner_id) for ``request``: the rule for its kind and skill, else for its kind and any skill, else
    (None, None), the site's queue. A rule whose team is archived is passed over."""
    rows = (
        await session.execute(
            select(RoutingRule.skill_id, RoutingRule.team_id, RoutingRule.owner_id)
            .join(RequestTeam, RequestTeam.id == RoutingRule.team_id)
            .where(
                RoutingRule.site_id == request.site_id,
                RoutingRule.kind == request.kind,
                RequestTeam.archived_at.is_(None),
            )
        )
    ).all()
    specific = [row for row in rows if request.skill_id is not None and row.skill_id == request.skill_id]
    general = [row for row in rows if row.skill_id is None]
    for row in (*specific, *general):
        return row.team_id, row.owner_id
    return None, None


# Reading the settings ------------------------------------------------------------------------------------


async def teams_of_site(session: AsyncSession, site_id: int, *, archived: bool = False) -> list[TeamView]:
    """The site's teams by name, with their members (archived teams only when asked)."""
    query = select(RequestTeam).where(RequestTeam.site_id == site_id).order_by(RequestTeam.name)
    if not archived:
        query = query.where(RequestTeam.archived_at.is_(None))
    teams = list((await session.scalars(query)).all())
    if not teams:
        return []
    members = (
        await session.execute(
            select(TeamMember.team_id, User.id, User.display_name, User.role)
            .join(User, User.id == TeamMember.user_id)
            .where(TeamMember.team_id.in_([team.id for team in teams]))
            .order_by(User.display_name, User.id)
        )
    ).all()
    leads = await _names(session, {team.lead_id for team in teams if team.lead_id is not None})
    return [
        TeamView(
            id=team.id,
            name=team.name,
            name_zh=team.name_zh,
            calendar=Calendar(team.calendar),
            lead_id=team.lead_id,
            lead_name=leads.get(team.lead_id, "") if team.lead_id is not None else "",
            archived=team.archived_at is not None,
            members=tuple(
                MemberView(user_id=row.id, name=row.display_name, role=str(row.role))
                for row in members
                if row.team_id == team.id
            ),
        )
        for team in teams
    ]


async def rules_of_site(session: AsyncSession, site_id: int, *, locale: str | None = None) -> list[RuleView]:
    rows = (
        await session.execute(
            select(RoutingRule, RequestTeam.name, RequestTeam.name_zh)
            .join(RequestTeam, RequestTeam.id == RoutingRule.team_id)
            .where(RoutingRule.site_id == site_id)
            .order_by(RoutingRule.kind, RoutingRule.skill_id.is_not(None), RoutingRule.id)
        )
    ).all()
    owners = await _names(session, {row[0].owner_id for row in rows if row[0].owner_id is not None})
    skills = {
        skill.id: localized_name(skill.name, skill.name_zh, locale)
        for skill in (
            await session.scalars(select(Skill).where(Skill.id.in_({row[0].skill_id for row in rows} - {None})))
        ).all()
    }
    return [
        RuleView(
            id=rule.id,
            kind=RequestKind(rule.kind),
            skill_id=rule.skill_id,
            skill_name=skills.get(rule.skill_id, "") if rule.skill_id is not None else "",
            team_id=rule.team_id,
            team_name=localized_name(name, name_zh, locale),
            owner_id=rule.owner_id,
            owner_name=owners.get(rule.owner_id, "") if rule.owner_id is not None else "",
        )
        for rule, name, name_zh in rows
    ]


async def responsibilities_of_site(
    session: AsyncSession, site_id: int, *, locale: str | None = None
) -> list[ResponsibilityView]:
    """Every cell of the site's matrix, with the team's or the person's name (for the settings page's list)."""
    cells = list(
        (
            await session.scalars(
                select(Responsibility)
                .where(Responsibility.site_id == site_id)
                .order_by(Responsibility.kind, Responsibility.involvement, Responsibility.id)
            )
        ).all()
    )
    teams = {
        team.id: localized_name(team.name, team.name_zh, locale)
        for team in (
            await session.scalars(
                select(RequestTeam).where(RequestTeam.id.in_({cell.team_id for cell in cells} - {None}))
            )
        ).all()
    }
    people = await _names(session, {cell.user_id for cell in cells if cell.user_id is not None})
    return [
        ResponsibilityView(
            id=cell.id,
            kind=RequestKind(cell.kind),
            involvement=Involvement(cell.involvement),
            team_id=cell.team_id,
            user_id=cell.user_id,
            name=teams.get(cell.team_id, "") if cell.team_id is not None else people.get(cell.user_id or 0, ""),
        )
        for cell in cells
    ]


async def matrix_of_site(
    session: AsyncSession, site_id: int, *, locale: str | None = None
) -> dict[RequestKind, dict[Involvement, list[str]]]:
    """For each kind and involvement, the names (teams and people) the matrix gives; every kind and involvement is
    present, empty where nobody is named."""
    matrix: dict[RequestKind, dict[Involvement, list[str]]] = {
        kind: {involvement: [] for involvement in Involvement} for kind in RequestKind
    }
    for cell in await responsibilities_of_site(session, site_id, locale=locale):
        matrix[cell.kind][cell.involvement].append(cell.name)
    return matrix


async def team_ids_of(session: AsyncSession, user_id: int) -> set[int]:
    """The (not archived) teams ``user_id`` is a member of."""
    return set(
        (
            await session.scalars(
                select(TeamMember.team_id)
                .join(RequestTeam, RequestTeam.id == TeamMember.team_id)
                .where(TeamMember.user_id == user_id, RequestTeam.archived_at.is_(None))
            )
        ).all()
    )


async def matrix_people(session: AsyncSession, site_id: int, kind: RequestKind, involvement: Involvement) -> set[int]:
    """The user ids the matrix names for ``kind`` and ``involvement``: persons named, and members of teams named
    (archived teams left out)."""
    cells = (
        await session.execute(
            select(Responsibility.team_id, Responsibility.user_id).where(
                Responsibility.site_id == site_id,
                Responsibility.kind == kind,
                Responsibility.involvement == involvement,
            )
        )
    ).all()
    people = {cell.user_id for cell in cells if cell.user_id is not None}
    team_ids = {cell.team_id for cell in cells if cell.team_id is not None}
    if team_ids:
        people |= set(
            (
                await session.scalars(
                    select(TeamMember.user_id)
                    .join(RequestTeam, RequestTeam.id == TeamMember.team_id)
                    .where(TeamMember.team_id.in_(team_ids), RequestTeam.archived_at.is_(None))
                )
            ).all()
        )
    return people


async def _names(session: AsyncSession, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = (await session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))).all()
    return {row.id: row.display_name for row in rows}


# Changing the settings -----------------------------------------------------------------------------------


def _ensure_settings(staff: User) -> None:
    if not sees_site_wide(staff):
        raise Forbidden(_("Only coordinators change how requests are routed."))


async def _team(session: AsyncSession, staff: User, team_id: int, *, field: str | None = None) -> RequestTeam:
    """A team of ``staff``'s site: chosen on a form (``field``: a refusal naming it), else named by the address."""
    team = await session.get(RequestTeam, team_id)
    if team is None or team.site_id != staff.site_id:
        if field is None:
            raise NotFound("team")
        raise DomainError(_("Choose a team of your site."), field=field)
    return team


async def _staff_person(session: AsyncSession, staff: User, user_id: int, *, field: str) -> User:
    """A coordinator, finance person or admin of ``staff``'s site (who may be a team's member or lead)."""
    person = await session.get(User, user_id)
    if person is None or person.site_id != staff.site_id or person.role not in REQUEST_STAFF:
        raise DomainError(_("Choose a coordinator, finance person or admin of your site."), field=field)
    return person


async def _site_person(session: AsyncSession, staff: User, user_id: int, *, field: str) -> User:
    person = await session.get(User, user_id)
    if person is None or person.site_id != staff.site_id:
        raise DomainError(_("Choose a person of your site."), field=field)
    return person


async def _check_name(session: AsyncSession, staff: User, name: str, *, team_id: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise DomainError(_("Give the team a name."), field="name")
    if len(name) > 80:
        raise DomainError(_("Keep the name to at most %(count)d characters.", count=80), field="name")
    taken = await session.scalar(
        select(RequestTeam.id).where(RequestTeam.site_id == staff.site_id, RequestTeam.name == name)
    )
    if taken is not None and taken != team_id:
        raise DomainError(_("Another team has this name."), field="name")
    return name


async def create_team(
    session: AsyncSession,
    *,
    staff: User,
    name: str,
    name_zh: str = "",
    calendar: Calendar = Calendar.business,
    lead_id: int | None = None,
    now: dt.datetime,
) -> RequestTeam:
    _ensure_settings(staff)
    name = await _check_name(session, staff, name)
    if lead_id is not None:
        await _staff_person(session, staff, lead_id, field="lead")
    team = RequestTeam(
        site_id=staff.site_id,
        name=name,
        name_zh=name_zh.strip()[:80],
        calendar=Calendar(calendar),
        lead_id=lead_id,
        created_at=now,
    )
    session.add(team)
    await session.flush()
    return team


async def update_team(
    session: AsyncSession,
    *,
    staff: User,
    team_id: int,
    name: str,
    name_zh: str = "",
    calendar: Calendar = Calendar.business,
    lead_id: int | None = None,
) -> RequestTeam:
    _ensure_settings(staff)
    team = await _team(session, staff, team_id)
    team.name = await _check_name(session, staff, name, team_id=team.id)
    if lead_id is not None:
        await _staff_person(session, staff, lead_id, field="lead")
    team.name_zh = name_zh.strip()[:80]
    team.calendar = Calendar(calendar)
    team.lead_id = lead_id
    await session.flush()
    return team


async def archive_team(session: AsyncSession, *, staff: User, team_id: int, now: dt.datetime) -> RequestTeam:
    """Archive a team: its rules and matrix cells go (new requests of those kinds reach the site's queue); the
    requests it holds stay with it until handed over."""
    _ensure_settings(staff)
    team = await _team(session, staff, team_id)
    if team.archived_at is None:
        team.archived_at = now
        await session.execute(delete(RoutingRule).where(RoutingRule.team_id == team.id))
        await session.execute(delete(Responsibility).where(Responsibility.team_id == team.id))
        await session.flush()
    return team


async def add_member(session: AsyncSession, *, staff: User, team_id: int, user_id: int) -> TeamMember:
    _ensure_settings(staff)
    team = await _team(session, staff, team_id)
    await _staff_person(session, staff, user_id, field="user")
    member = await session.scalar(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user_id)
    )
    if member is None:
        member = TeamMember(team_id=team.id, user_id=user_id)
        session.add(member)
        await session.flush()
    return member


async def remove_member(session: AsyncSession, *, staff: User, team_id: int, user_id: int) -> None:
    """Take ``user_id`` off the team; a rule naming them as the team's owner now leaves requests in its queue."""
    _ensure_settings(staff)
    team = await _team(session, staff, team_id)
    await session.execute(delete(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user_id))
    await session.execute(
        update(RoutingRule).where(RoutingRule.team_id == team.id, RoutingRule.owner_id == user_id).values(owner_id=None)
    )
    await session.flush()


async def set_rule(
    session: AsyncSession,
    *,
    staff: User,
    kind: RequestKind,
    skill_id: int | None = None,
    team_id: int,
    owner_id: int | None = None,
) -> RoutingRule:
    """The rule for ``kind`` (and ``skill_id``, or any skill), replacing the one there was; an owner must be a
    member of the team."""
    _ensure_settings(staff)
    team = await _team(session, staff, team_id, field="team")
    if team.archived_at is not None:
        raise DomainError(_("Choose a team that is not archived."), field="team")
    if skill_id is not None:
        skill = await session.get(Skill, skill_id)
        if skill is None or skill.site_id != staff.site_id:
            raise DomainError(_("Choose a skill of your site."), field="skill")
    if owner_id is not None:
        member = await session.scalar(
            select(TeamMember.id).where(TeamMember.team_id == team.id, TeamMember.user_id == owner_id)
        )
        if member is None:
            raise DomainError(_("The owner must be a member of the team."), field="owner")
    skill_match = RoutingRule.skill_id.is_(None) if skill_id is None else RoutingRule.skill_id == skill_id
    rule = await session.scalar(
        select(RoutingRule).where(
            RoutingRule.site_id == staff.site_id, RoutingRule.kind == RequestKind(kind), skill_match
        )
    )
    if rule is None:
        rule = RoutingRule(site_id=staff.site_id, kind=RequestKind(kind), skill_id=skill_id)
        session.add(rule)
    rule.team_id = team.id
    rule.owner_id = owner_id
    await session.flush()
    return rule


async def delete_rule(session: AsyncSession, *, staff: User, rule_id: int) -> None:
    _ensure_settings(staff)
    rule = await session.get(RoutingRule, rule_id)
    if rule is None or rule.site_id != staff.site_id:
        raise NotFound("routing rule")
    await session.delete(rule)
    await session.flush()


async def set_responsibility(
    session: AsyncSession,
    *,
    staff: User,
    kind: RequestKind,
    involvement: Involvement,
    team_id: int | None = None,
    user_id: int | None = None,
) -> Responsibility:
    """Name a team or a person (exactly one) as acting, consulted or informed for ``kind``; naming it again keeps
    the one cell."""
    _ensure_settings(staff)
    if (team_id is None) == (user_id is None):
        raise DomainError(_("Choose a team or a person, not both."), field="team")
    if team_id is not None:
        team = await _team(session, staff, team_id, field="team")
        if team.archived_at is not None:
            raise DomainError(_("Choose a team that is not archived."), field="team")
        match = (Responsibility.team_id == team_id, Responsibility.user_id.is_(None))
    else:
        assert user_id is not None
        await _site_person(session, staff, user_id, field="user")
        match = (Responsibility.user_id == user_id, Responsibility.team_id.is_(None))
    cell = await session.scalar(
        select(Responsibility).where(
            Responsibility.site_id == staff.site_id,
            Responsibility.kind == RequestKind(kind),
            Responsibility.involvement == Involvement(involvement),
            *match,
        )
    )
    if cell is None:
        cell = Responsibility(
            site_id=staff.site_id,
            kind=RequestKind(kind),
            involvement=Involvement(involvement),
            team_id=team_id,
            user_id=user_id,
        )
        session.add(cell)
        await session.flush()
    return cell


async def remove_responsibility(session: AsyncSession, *, staff: User, responsibility_id: int) -> None:
    _ensure_settings(staff)
    cell = await session.get(Responsibility, responsibility_id)
    if cell is None or cell.site_id != staff.site_id:
        raise NotFound("responsibility")
    await session.delete(cell)
    await session.flush()
