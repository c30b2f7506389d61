"""The case library's rules: writing and publishing cases, "I used this", "I would add", ranking and search.

Coordinators write a case from the template and publish it for an ISO week; agents see only the
published cases of their own site. Whatever is not the caller's to see answers 404.

Search matches every word of the query (words are runs of letters and digits; punctuation, FTS
operators and quotes are only separators). On SQLite each word of three or more characters goes to
the FTS5 trigram index, so it matches anywhere in a word ("fund" finds "refund"); shorter words are a
substring match. On PostgreSQL a word matches the start of a word through the ``simple`` text-search
configuration and its GIN index; a word with Chinese, Japanese or Korean characters is a substring
match instead, since neither database splits those into words.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Integer, Select, TextClause, and_, column, delete, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import STAFF_ROLES, Site, Skill, User, skill_label
from backend.accounts.zones import site_zone
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.i18n import LOCALES
from backend.core.i18n import gettext as _
from backend.core.slots import IsoWeek, SlotError
from backend.learning.case_models import Case, CaseComment, CaseStatus, CaseUse, lines_of

TITLE_MAX_CHARS = 120
SECTION_MAX_CHARS = 4000
LINE_MAX_CHARS = 300
KEY_POINTS_MAX = 12
PHRASES_MAX = 20
COMMENT_MAX_CHARS = 1000
QUERY_MAX_CHARS = 200
RECENT_USE_DAYS = 28
BEST_APPLIED_LIMIT = 10
LIST_LIMIT = 50
CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f]")
WORD = re.compile(r"[^\W_]+")
TRIGRAM_MIN_CHARS = 3
PG_DOCUMENT = "title || ' ' || situation || ' ' || strategy || ' ' || key_points || ' ' || phrases"


def best_applied_rule() -> str:
    """The ranking rule in one sentence, as the page shows it."""
    return _(
        "Ranked by how many agents marked a case \u201cI used this\u201d in the last %(days)s days, then by all"
        " their marks; on a tie the newer case comes first.",
        days=RECENT_USE_DAYS,
    )


@dataclass(frozen=True)
class CaseDraft:
    """What a coordinator typed into the template, before it is checked."""

    title: str
    situation: str
    strategy: str
    key_points: str
    phrases: str
    week: str
    language: str
    skill: str = ""


@dataclass(frozen=True)
class CaseSummary:
    """A case as a list shows it: with its "I used this" counts and its comments count."""

    case: Case
    uses: int
    recent_uses: int
    comments: int
    skill_code: str
    skill_name: str


@dataclass(frozen=True)
class UseState:
    used: bool
    count: int


@dataclass(frozen=True)
class CommentView:
    comment: CaseComment
    author: str
    can_delete: bool


@dataclass(frozen=True)
class Library:
    """The agent's library: this week's cases (and any a coordinator published ahead), the best applied, and
    earlier weeks. ISO week names like ``2026-W09`` sort as text in time order."""

    week: IsoWeek
    this_week: list[CaseSummary]
    best: list[CaseSummary]
    earlier: list[CaseSummary]


# Checking what a coordinator wrote -------------------------------------------------------


def _required(value: str, field: str, max_chars: int) -> str:
    value = value.strip()
    if not value:
        raise DomainError(_("This section cannot be empty."), field=field)
    if len(value) > max_chars:
        raise DomainError(_("Keep this under %(count)s characters.", count=max_chars), field=field)
    return value


def _lines(value: str, field: str, *, max_lines: int, required: bool) -> str:
    lines = lines_of(value)
    if required and not lines:
        raise DomainError(_("Write at least one line."), field=field)
    if len(lines) > max_lines:
        raise DomainError(_("Write at most %(count)s lines.", count=max_lines), field=field)
    if any(len(line) > LINE_MAX_CHARS for line in lines):
        raise DomainError(_("Keep each line under %(count)s characters.", count=LINE_MAX_CHARS), field=field)
    return "\n".join(lines)


def _week(value: str) -> str:
    try:
        return str(IsoWeek.parse(value))
    except SlotError:
        raise DomainError(_("Choose a week, written like 2026-W49."), field="week") from None


async def _skill_id(session: AsyncSession, site_id: int, code: str) -> int | None:
    code = code.strip()
    if not code:
        return None
    skill_id = await session.scalar(select(Skill.id).where(Skill.site_id == site_id, Skill.code == code))
    if skill_id is None:
        raise DomainError(_("Unknown skill %(code)s.", code=repr(code)), field="skill")
    return skill_id


async def _checked(session: AsyncSession, site_id: int, draft: CaseDraft) -> dict[str, object]:
    """Every field checked, in the form's order, before anything is written."""
    values: dict[str, object] = {"title": _required(draft.title, "title", TITLE_MAX_CHARS)}
    values["week"] = _week(draft.week)
    if draft.language not in LOCALES:
        raise DomainError(_("Choose English or Chinese."), field="language")
    values["language"] = draft.language
    values["skill_id"] = await _skill_id(session, site_id, draft.skill)
    values["situation"] = _required(draft.situation, "situation", SECTION_MAX_CHARS)
    values["strategy"] = _required(draft.strategy, "strategy", SECTION_MAX_CHARS)
    values["key_points"] = _lines(draft.key_points, "key_points", max_lines=KEY_POINTS_MAX, required=True)
    values["phrases"] = _lines(draft.phrases, "phrases", max_lines=PHRASES_MAX, required=False)
    return values


def current_week(site: Site, now: dt.datetime) -> IsoWeek:
    return IsoWeek.containing(now, site_zone(site))


def blank_draft(site: Site, staff: User, now: dt.datetime) -> CaseDraft:
    """The empty template, for this week in the site's time zone and in the coordinator's language."""
    language = staff.locale if staff.locale in LOCALES else LOCALES[0]
    return CaseDraft("", "", "", "", "", week=str(current_week(site, now)), language=language)


def draft_of(case: Case, skill_code: str) -> CaseDraft:
    return CaseDraft(
        title=case.title,
        situation=case.situation,
        strategy=case.strategy,
        key_points=case.key_points,
        phrases=case.phrases,
        week=case.week,
        language=case.language,
        skill=skill_code,
    )


# Coordinators ------------------------------------------------------------------------------


async def staff_case(session: AsyncSession, *, case_id: int, site_id: int) -> Case:
    """A case of the staff member's site, draft or published; 404 otherwise."""
    case = await session.get(Case, case_id)
    if case is None or case.site_id != site_id:
        raise NotFound("case")
    return case


async def create_case(
    session: AsyncSession, *, author: User, draft: CaseDraft, publish: bool, now: dt.datetime
) -> Case:
    values = await _checked(session, author.site_id, draft)
    case = Case(site_id=author.site_id, created_by_id=author.id, created_at=now, updated_at=now, **values)
    if publish:
        case.status, case.published_at = CaseStatus.published, now
    session.add(case)
    await session.flush()
    return case


async def update_case(
    session: AsyncSession, *, case_id: int, staff: User, draft: CaseDraft, publish: bool, now: dt.datetime
) -> Case:
    case = await staff_case(session, case_id=case_id, site_id=staff.site_id)
    values = await _checked(session, staff.site_id, draft)
    for key, value in values.items():
        setattr(case, key, value)
    case.updated_at = now
    if publish and case.status is CaseStatus.draft:
        case.status, case.published_at = CaseStatus.published, now
    await session.flush()
    return case


async def set_published(session: AsyncSession, *, case_id: int, staff: User, published: bool, now: dt.datetime) -> Case:
    """Publish a draft (agents see it from now on) or take a case back to draft; asking twice changes nothing."""
    case = await staff_case(session, case_id=case_id, site_id=staff.site_id)
    if published and case.status is CaseStatus.draft:
        case.status, case.published_at = CaseStatus.published, now
    elif not published and case.status is CaseStatus.published:
        case.status, case.published_at = CaseStatus.draft, None
    await session.flush()
    return case


async def delete_draft(session: AsyncSession, *, case_id: int, staff: User) -> None:
    """Only a draft can be deleted: a published case is unpublished first, so agents never lose one silently."""
    case = await staff_case(session, case_id=case_id, site_id=staff.site_id)
    if case.status is not CaseStatus.draft:
        raise Conflict(_("Unpublish the case before deleting it."))
    await session.delete(case)
    await session.flush()


async def staff_list(session: AsyncSession, *, site_id: int, now: dt.datetime) -> list[CaseSummary]:
    """Every case of the site, drafts included, newest week first."""
    query = select(Case).where(Case.site_id == site_id).order_by(Case.week.desc(), Case.created_at.desc())
    return await _summaries(session, list(await session.scalars(query)), now)


# What agents see ---------------------------------------------------------------------------


async def visible_case(session: AsyncSession, *, case_id: int, viewer: User, published_only: bool = False) -> Case:
    """A case the viewer may read: staff see their site's drafts too, agents only what is published."""
    case = await session.get(Case, case_id)
    if case is None or case.site_id != viewer.site_id:
        raise NotFound("case")
    if case.status is not CaseStatus.published and (published_only or not _is_staff(viewer)):
        raise NotFound("case")
    return case


def _published(site_id: int) -> Select[tuple[Case]]:
    return select(Case).where(Case.site_id == site_id, Case.status == CaseStatus.published)


async def library(session: AsyncSession, *, viewer: User, site: Site, now: dt.datetime) -> Library:
    week = current_week(site, now)
    this_week = list(
        await session.scalars(
            _published(site.id).where(Case.week >= str(week)).order_by(Case.week, Case.published_at.desc())
        )
    )
    earlier = list(
        await session.scalars(
            _published(site.id)
            .where(Case.week < str(week))
            .order_by(Case.week.desc(), Case.published_at.desc())
            .limit(LIST_LIMIT)
        )
    )
    return Library(
        week=week,
        this_week=await _summaries(session, this_week, now),
        best=await best_applied(session, site_id=site.id, now=now),
        earlier=await _summaries(session, earlier, now),
    )


async def best_applied(
    session: AsyncSession, *, site_id: int, now: dt.datetime, limit: int = BEST_APPLIED_LIMIT
) -> list[CaseSummary]:
    """Published cases someone used, by ``best_applied_rule``."""
    since = now - dt.timedelta(days=RECENT_USE_DAYS)
    recent = func.count(CaseUse.id).filter(CaseUse.used_at >= since)
    total = func.count(CaseUse.id)
    query = (
        select(Case.id)
        .join(CaseUse, CaseUse.case_id == Case.id)
        .where(Case.site_id == site_id, Case.status == CaseStatus.published)
        .group_by(Case.id, Case.published_at)
        .order_by(recent.desc(), total.desc(), Case.published_at.desc(), Case.id.desc())
        .limit(limit)
    )
    ids = list(await session.scalars(query))
    cases = {case.id: case for case in await session.scalars(select(Case).where(Case.id.in_(ids)))}
    return await _summaries(session, [cases[case_id] for case_id in ids], now)


async def summarise(session: AsyncSession, case: Case, now: dt.datetime) -> CaseSummary:
    return (await _summaries(session, [case], now))[0]


async def _summaries(session: AsyncSession, cases: Sequence[Case], now: dt.datetime) -> list[CaseSummary]:
    ids = [case.id for case in cases]
    if not ids:
        return []
    since = now - dt.timedelta(days=RECENT_USE_DAYS)
    uses = {
        case_id: (int(total), int(recent))
        for case_id, total, recent in await session.execute(
            select(CaseUse.case_id, func.count(), func.count().filter(CaseUse.used_at >= since))
            .where(CaseUse.case_id.in_(ids))
            .group_by(CaseUse.case_id)
        )
    }
    comments = {
        case_id: int(count)
        for case_id, count in await session.execute(
            select(CaseComment.case_id, func.count()).where(CaseComment.case_id.in_(ids)).group_by(CaseComment.case_id)
        )
    }
    skill_ids = {case.skill_id for case in cases if case.skill_id is not None}
    skills = {skill.id: skill for skill in await session.scalars(select(Skill).where(Skill.id.in_(skill_ids)))}
    return [
        CaseSummary(
            case=case,
            uses=uses.get(case.id, (0, 0))[0],
            recent_uses=uses.get(case.id, (0, 0))[1],
            comments=comments.get(case.id, 0),
            skill_code=skills[case.skill_id].code if case.skill_id in skills else "",
            skill_name=skill_label(skills.get(case.skill_id)) if case.skill_id in skills else "",
        )
        for case in cases
    ]


async def skill_of(session: AsyncSession, case: Case) -> Skill | None:
    return await session.get(Skill, case.skill_id) if case.skill_id is not None else None


# Search -------------------------------------------------------------------------------------


def search_words(query: str) -> list[str]:
    """The words of a query: letter-and-digit runs; a lone Latin letter is dropped (it would match everything)."""
    return [word for word in WORD.findall(query[:QUERY_MAX_CHARS]) if len(word) > 1 or CJK.search(word)]


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _substring(word: str, *, case_insensitive: bool) -> ColumnElement[bool]:
    """Any searchable field contains ``word`` (LIKE on SQLite is already case-blind for ASCII)."""
    pattern = _like_pattern(word)
    fields = (Case.title, Case.situation, Case.strategy, Case.key_points, Case.phrases)
    if case_insensitive:
        return or_(*(field.ilike(pattern, escape="\\") for field in fields))
    return or_(*(field.like(pattern, escape="\\") for field in fields))


def _fts5_phrase(word: str) -> str:
    """A word as an FTS5 string: quoted, inner quotes doubled, so no character is read as an operator."""
    return '"' + word.replace('"', '""') + '"'


def _match_condition(dialect: str, words: list[str]) -> ColumnElement[bool]:
    """Every word must match. Words hold only letters and digits (``WORD``), so quoting them in an FTS5 string
    or a tsquery lexeme cannot be broken out of; the text itself is still a bound parameter."""
    conditions: list[ColumnElement[bool] | TextClause] = []
    if dialect == "sqlite":
        indexed = [word for word in words if len(word) >= TRIGRAM_MIN_CHARS]
        if indexed:
            fts = text("SELECT rowid FROM case_search WHERE case_search MATCH :fts").bindparams(
                fts=" ".join(_fts5_phrase(word) for word in indexed)
            )
            conditions.append(Case.id.in_(fts.columns(column("rowid", Integer))))
        conditions += [_substring(word, case_insensitive=False) for word in words if len(word) < TRIGRAM_MIN_CHARS]
    else:
        latin = [word for word in words if not CJK.search(word)]
        if latin:
            tsquery = " & ".join(f"'{word.lower()}':*" for word in latin)
            conditions.append(
                text(
                    f"(to_tsvector('simple'::regconfig, {PG_DOCUMENT}) @@ to_tsquery('simple'::regconfig, :tsq))"
                ).bindparams(tsq=tsquery)
            )
        conditions += [_substring(word, case_insensitive=True) for word in words if CJK.search(word)]
    return and_(*conditions)


async def search(
    session: AsyncSession, *, site_id: int, query: str, now: dt.datetime, limit: int = LIST_LIMIT
) -> list[CaseSummary]:
    """Published cases of the site containing every word of ``query``, newest first; no words, no results."""
    words = search_words(query)
    if not words:
        return []
    dialect = session.get_bind().dialect.name
    found = await session.scalars(
        _published(site_id)
        .where(_match_condition(dialect, words))
        .order_by(Case.week.desc(), Case.published_at.desc(), Case.id.desc())
        .limit(limit)
    )
    return await _summaries(session, list(found), now)


# "I used this" -----------------------------------------------------------------------------


async def use_state(session: AsyncSession, *, case_id: int, user_id: int) -> UseState:
    count = await session.scalar(select(func.count()).where(CaseUse.case_id == case_id))
    mine = await session.scalar(select(CaseUse.id).where(CaseUse.case_id == case_id, CaseUse.user_id == user_id))
    return UseState(used=mine is not None, count=int(count or 0))


async def set_used(session: AsyncSession, *, case_id: int, agent: User, used: bool, now: dt.datetime) -> UseState:
    """Mark or unmark "I used this". The button sends the state it wants, so a double tap counts once."""
    case = await visible_case(session, case_id=case_id, viewer=agent, published_only=True)
    if used:
        try:
            async with session.begin_nested():
                session.add(CaseUse(case_id=case.id, user_id=agent.id, used_at=now))
        except IntegrityError:
            pass  # already marked, perhaps by a second tap racing the first
    else:
        await session.execute(delete(CaseUse).where(CaseUse.case_id == case.id, CaseUse.user_id == agent.id))
    return await use_state(session, case_id=case.id, user_id=agent.id)


# "I would add" ------------------------------------------------------------------------------


async def comments(session: AsyncSession, *, case_id: int, viewer: User) -> list[CommentView]:
    rows = await session.execute(
        select(CaseComment, User.display_name)
        .join(User, User.id == CaseComment.user_id)
        .where(CaseComment.case_id == case_id)
        .order_by(CaseComment.created_at, CaseComment.id)
    )
    return [
        CommentView(comment=comment, author=name, can_delete=comment.user_id == viewer.id or _is_staff(viewer))
        for comment, name in rows
    ]


def _is_staff(user: User) -> bool:
    return user.role in STAFF_ROLES


async def add_comment(session: AsyncSession, *, case_id: int, author: User, body: str, now: dt.datetime) -> CaseComment:
    case = await visible_case(session, case_id=case_id, viewer=author)
    body = body.strip()
    if not body:
        raise DomainError(_("Write what you would add."), field="body")
    if len(body) > COMMENT_MAX_CHARS:
        raise DomainError(_("Keep this under %(count)s characters.", count=COMMENT_MAX_CHARS), field="body")
    comment = CaseComment(case_id=case.id, user_id=author.id, body=body, created_at=now)
    session.add(comment)
    await session.flush()
    return comment


async def delete_comment(session: AsyncSession, *, case_id: int, comment_id: int, user: User) -> None:
    """Writers delete their own comments, coordinators any on their site; anyone else gets 404."""
    case = await visible_case(session, case_id=case_id, viewer=user)
    comment = await session.get(CaseComment, comment_id)
    if comment is None or comment.case_id != case.id:
        raise NotFound("comment")
    if comment.user_id != user.id and not _is_staff(user):
        raise NotFound("comment")
    await session.delete(comment)
    await session.flush()
