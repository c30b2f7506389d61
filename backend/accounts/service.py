"""Users, sites, skills and invitations: the rules for who belongs to Weft and in which role."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import STAFF_ROLES, Invitation, LoginSession, Role, Site, Skill, Tier, User, UserStatus
from backend.core.db import utcnow
from backend.core.errors import Conflict, DomainError, Forbidden, Gone, NotFound
from backend.core.i18n import gettext as _
from backend.core.security import Principal, hash_secret, new_secret
from backend.core.slots import known_time_zone

LOCALES = ("en", "zh-Hans")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
_hasher = PasswordHasher()  # argon2id with parameters above OWASP's minimum


def hash_password(password: str) -> str:
    check_password_strength(password)
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(_("Use at least %(count)d characters.", count=MIN_PASSWORD_LENGTH), field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(_("Use at most %(count)d characters.", count=MAX_PASSWORD_LENGTH), field="password")


def password_matches(user: User, password: str) -> bool:
    """Check a password and upgrade its hash in place if the parameters have moved on."""
    if not user.password_hash:
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, _at, domain = email.partition("@")
    if not local or "." not in domain or " " in email or len(email) > 254:
        raise DomainError(_("Enter an email address like name@example.com."), field="email")
    return email


def check_timezone(name: str, field: str = "timezone") -> str:
    if known_time_zone(name) is None:
        raise DomainError(_("%(name)s is not a time zone (try Asia/Shanghai).", name=name), field=field)
    return name


def check_locale(locale: str) -> str:
    if locale not in LOCALES:
        raise DomainError(_("Language must be one of %(choices)s.", choices=", ".join(LOCALES)), field="locale")
    return locale


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    return user


async def users_by_ids(session: AsyncSession, ids: set[int]) -> list[User]:
    return list(await session.scalars(select(User).where(User.id.in_(ids)))) if ids else []


async def get_site(session: AsyncSession, site_id: int) -> Site:
    site = await session.get(Site, site_id)
    if site is None:
        raise NotFound("site")
    return site


async def visible_user(session: AsyncSession, principal: Principal, user_id: int) -> User:
    """A user the caller may see: themselves, or anyone on their site for staff; else 404."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    if user.id == principal.user_id:
        return user
    if principal.role == "agent" or user.site_id != principal.site_id:
        raise NotFound("user")
    return user


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def list_users(
    session: AsyncSession, *, site_id: int, role: Role | None = None, status: UserStatus | None = None
) -> list[User]:
    query = select(User).where(User.site_id == site_id).order_by(User.role, User.display_name)
    if role is not None:
        query = query.where(User.role == role)
    if status is not None:
        query = query.where(User.status == status)
    return list(await session.scalars(query))


async def _ensure_email_free(session: AsyncSession, email: str) -> None:
    if await find_user_by_email(session, email) is not None:
        raise Conflict(_("%(email)s already has an account.", email=email), field="email")


async def create_user(
    session: AsyncSession,
    *,
    site: Site,
    email: str,
    display_name: str,
    role: Role,
    password: str | None = None,
    tier: Tier = Tier.junior,
    locale: str = "en",
    timezone: str | None = None,
) -> User:
    email = normalise_email(email)
    await _ensure_email_free(session, email)
    if not display_name.strip():
        raise DomainError(_("Enter a name."), field="display_name")
    user = User(
        email=email,
        display_name=display_name.strip(),
        role=role,
        tier=tier,
        locale=check_locale(locale),
        timezone=check_timezone(timezone or site.timezone),
        site_id=site.id,
        password_hash=hash_password(password) if password else None,
        status=UserStatus.active,
    )
    session.add(user)
    await session.flush()
    return user


async def end_all_sessions(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))


async def update_user(
    session: AsyncSession,
    user: User,
    *,
    editor_role: str,
    role: Role | None = None,
    status: UserStatus | None = None,
    tier: Tier | None = None,
    display_name: str | None = None,
) -> User:
    """Change a user; a change of role or a pause ends their sessions so no old privilege lingers.

    Coordinators look after agents; only an admin edits staff accounts or changes anyone's role.
    """
    if editor_role != "admin" and (user.role is not Role.agent or (role is not None and role != user.role)):
        raise Forbidden(_("Only an admin can change roles or edit staff accounts."), field="role")
    privilege_changed = (role is not None and role != user.role) or (
        status is not None and status != user.status and status is not UserStatus.active
    )
    if display_name is not None and not display_name.strip():
        raise DomainError(_("Enter a name."), field="display_name")
    user.role = role or user.role
    user.status = status or user.status
    user.tier = tier or user.tier
    user.display_name = display_name.strip() if display_name is not None else user.display_name
    await session.flush()
    if privilege_changed:
        await end_all_sessions(session, user.id)
    return user


async def update_preferences(
    session: AsyncSession, user: User, *, locale: str | None = None, timezone: str | None = None
) -> User:
    """Change language and time zone; both are checked before either is written."""
    locale = check_locale(locale) if locale is not None else user.locale
    timezone = check_timezone(timezone) if timezone is not None else user.timezone
    user.locale, user.timezone = locale, timezone
    await session.flush()
    return user


async def ensure_site(session: AsyncSession, *, name: str, timezone: str, country: str) -> Site:
    site = await session.scalar(select(Site).where(Site.name == name))
    if site is None:
        site = Site(name=name, timezone=check_timezone(timezone), country=country, settings={})
        session.add(site)
        await session.flush()
    return site


async def default_site(session: AsyncSession) -> Site:
    site = await session.scalar(select(Site).order_by(Site.id).limit(1))
    if site is None:
        raise DomainError(_("There is no site yet: run `weft demo` or `weft user add` first."))
    return site


async def ensure_skill(session: AsyncSession, *, site: Site, code: str, name: str, name_zh: str = "") -> Skill:
    skill = await session.scalar(select(Skill).where(Skill.site_id == site.id, Skill.code == code))
    if skill is None:
        skill = Skill(site_id=site.id, code=code, name=name, name_zh=name_zh)
        session.add(skill)
        await session.flush()
    return skill


SKILL_CODE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")


async def update_site(session: AsyncSession, site: Site, *, name: str, timezone: str, country: str) -> Site:
    """Rename a site or move its clock; everything is checked before anything is written."""
    name, country = name.strip(), country.strip().upper()
    if not name:
        raise DomainError(_("Enter a name."), field="name")
    check_timezone(timezone)
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise DomainError(_("Use a two-letter country code such as CN."), field="country")
    clash = await session.scalar(select(Site.id).where(Site.name == name, Site.id != site.id))
    if clash is not None:
        raise Conflict(_("Another site is called %(name)s.", name=name), field="name")
    site.name, site.timezone, site.country = name, timezone, country
    await session.flush()
    return site


async def add_skill(session: AsyncSession, *, site: Site, code: str, name: str, name_zh: str = "") -> Skill:
    """A new skill agents can be certified for; codes are short, lowercase and unique per site."""
    code = code.strip().lower()
    if not SKILL_CODE.match(code):
        raise DomainError(_("Use 2-40 lowercase letters, digits, - or _, starting with a letter."), field="code")
    if not name.strip():
        raise DomainError(_("Enter a name."), field="name")
    if await session.scalar(select(Skill.id).where(Skill.site_id == site.id, Skill.code == code)) is not None:
        raise Conflict(_("The skill %(code)s already exists.", code=code), field="code")
    skill = Skill(site_id=site.id, code=code, name=name.strip(), name_zh=name_zh.strip())
    session.add(skill)
    await session.flush()
    return skill


async def rename_skill(session: AsyncSession, *, site: Site, skill_id: int, name: str, name_zh: str) -> Skill:
    """A skill's name in each language (its code stays: imports and rate cards name it); another site's is 404."""
    skill = await session.get(Skill, skill_id)
    if skill is None or skill.site_id != site.id:
        raise NotFound("skill")
    if not name.strip():
        raise DomainError(_("Enter a name."), field="name")
    skill.name, skill.name_zh = name.strip(), name_zh.strip()
    await session.flush()
    return skill


async def skills_by_code(session: AsyncSession, *, site_id: int, codes: list[str]) -> list[Skill]:
    found = {
        s.code: s for s in await session.scalars(select(Skill).where(Skill.site_id == site_id, Skill.code.in_(codes)))
    }
    missing = [code for code in codes if code not in found]
    if missing:
        raise DomainError(_("Unknown skill %(code)s.", code=repr(missing[0])), field="skills")
    return [found[code] for code in codes]


async def list_skills(session: AsyncSession, *, site_id: int) -> list[Skill]:
    return list(await session.scalars(select(Skill).where(Skill.site_id == site_id).order_by(Skill.code)))


# Invitations -----------------------------------------------------------------


async def invite_agent(
    session: AsyncSession,
    *,
    site: Site,
    email: str,
    display_name: str,
    invited_by: User | None,
    valid_hours: int,
    tier: Tier = Tier.junior,
    locale: str = "en",
) -> tuple[Invitation, str]:
    """Create an invitation and return it with its one-time token (only its hash is stored)."""
    email = normalise_email(email)
    await _ensure_email_free(session, email)
    if not display_name.strip():
        raise DomainError(_("Enter a name."), field="display_name")
    now = utcnow()
    pending = await session.scalar(
        select(func.count())
        .select_from(Invitation)
        .where(
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    )
    if pending:
        raise Conflict(
            _("%(email)s already has a pending invitation: revoke it to send a new one.", email=email), field="email"
        )
    token = new_secret()
    invitation = Invitation(
        site_id=site.id,
        email=email,
        display_name=display_name.strip(),
        tier=tier,
        locale=check_locale(locale),
        secret_hash=hash_secret(token),
        invited_by_id=invited_by.id if invited_by else None,
        created_at=now,
        expires_at=now + dt.timedelta(hours=valid_hours),
    )
    session.add(invitation)
    await session.flush()
    return invitation, token


async def open_invitation(session: AsyncSession, token: str) -> Invitation:
    """The invitation a link's token names, if it can still be used."""
    invitation = await session.scalar(select(Invitation).where(Invitation.secret_hash == hash_secret(token)))
    if invitation is None or invitation.revoked_at is not None:
        raise NotFound("invitation")
    if invitation.accepted_at is not None:
        raise Gone(_("This invitation has already been used. Sign in instead."), field="token")
    if invitation.expires_at <= utcnow():
        raise Gone(_("This invitation has expired. Ask your coordinator for a new one."), field="token")
    return invitation


async def accept_invitation(session: AsyncSession, *, token: str, password: str) -> User:
    """Turn an invitation into an agent account with the password they chose; the token dies here."""
    invitation = await open_invitation(session, token)
    site = await session.get_one(Site, invitation.site_id)
    user = await create_user(
        session,
        site=site,
        email=invitation.email,
        display_name=invitation.display_name,
        role=Role.agent,
        password=password,
        tier=invitation.tier,
        locale=invitation.locale,
    )
    invitation.accepted_at = utcnow()
    invitation.user_id = user.id
    await session.flush()
    return user


async def revoke_invitation(session: AsyncSession, *, invitation_id: int, site_id: int) -> Invitation:
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None or invitation.site_id != site_id or invitation.accepted_at is not None:
        raise NotFound("invitation")
    invitation.revoked_at = invitation.revoked_at or utcnow()
    await session.flush()
    return invitation


async def list_pending_invitations(session: AsyncSession, *, site_id: int) -> list[Invitation]:
    query = (
        select(Invitation)
        .where(Invitation.site_id == site_id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .order_by(Invitation.created_at.desc())
    )
    return list(await session.scalars(query))


async def staff_of_site(session: AsyncSession, *, site_id: int, roles: frozenset[Role] = STAFF_ROLES) -> list[User]:
    """The site's active staff in ``roles`` (coordinators and admins by default), by name: who staff alerts reach."""
    query = (
        select(User)
        .where(User.site_id == site_id, User.role.in_(sorted(roles)), User.status == UserStatus.active)
        .order_by(User.display_name, User.id)
    )
    return list(await session.scalars(query))


class Named(Protocol):
    """What ``person_labels`` reads of a person: a ``User``, or a row of those columns."""

    @property
    def id(self) -> int: ...
    @property
    def display_name(self) -> str: ...
    @property
    def email(self) -> str: ...


def person_labels(users: Iterable[Named]) -> dict[int, str]:
    """How lists and pickers name people, by user id: the display name, and where two of ``users`` share it (as
    they read: case and spaces aside) the email's local part too, "Li Wei (liwei2)", so a coordinator can tell
    them apart; the whole email where even those match."""
    people = list({user.id: user for user in users}.values())
    by_name: dict[str, list[Named]] = {}
    for user in people:
        by_name.setdefault(_name_key(user.display_name), []).append(user)
    labels: dict[int, str] = {}
    for namesakes in by_name.values():
        if len(namesakes) == 1:
            labels[namesakes[0].id] = namesakes[0].display_name
            continue
        locals_ = [user.email.partition("@")[0] for user in namesakes]
        for user, local in zip(namesakes, locals_, strict=True):
            tag = local if locals_.count(local) == 1 else user.email
            labels[user.id] = f"{user.display_name} ({tag})"
    return labels


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()
