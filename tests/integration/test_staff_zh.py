"""Chinese staff pages name every code in Chinese: a zh coordinator (and a zh finance user) walks every staff GET
route of the app and sees no raw code (``call``, ``chat``, ``general``, ``agent``, ``active``, ``junior``...) as a
word and no skill's English name where it has a Chinese one (issue 18, item 15)."""

from __future__ import annotations

import datetime as dt
import enum
import html
import re
from typing import Any

import httpx
import pytest
from litestar.routes import HTTPRoute
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Pool, Role, Site, Tier, UserStatus
from backend.core.db import utcnow
from backend.core.i18n import ENUM_MSGIDS, enum_label, speaking
from backend.core.slots import IsoWeek, slot_of, utc_start
from backend.notify.models import Kind
from backend.pay.models import DisputeStatus, LineKind, PeriodStatus
from backend.requests import intake
from backend.requests.models import RequestKind
from backend.requests.schemas import RequestDraft
from backend.shifts.cover import request_cover
from backend.shifts.models import CoverReason, CoverStatus, ShiftOrigin, SwapStatus
from backend.work.models import WorkKind
from backend.work.service import bulk_ingest_rows
from tests.conftest import login, post_form
from tests.factories import SKILL_NAMES, Factory, a_course, a_held_shift, a_skill, an_agent, an_open_shift

# Codes a Chinese reader must never meet as a word on a staff page (the list, and their neighbours).
RAW_CODES = [
    "call", "chat", "ticket", "callback", "general", "billing", "tech",
    "agent", "coordinator", "finance", "active", "paused", "junior", "mid", "senior", "backbone", "elastic",
    "open", "covered", "no_show", "emergency", "roster", "manual", "base", "piece", "adjustment",
]  # fmt: skip
ENGLISH_SKILL_NAMES = [name for name, name_zh in SKILL_NAMES.values() if name_zh]
NOT_STAFF_PAGES = (".csv", ".json", ".xlsx", "/export")
# Hidden from the reader, a deliberate identifier (a code in <code>, as the CSV import names skills), or text
# marked English on purpose (the site page lists each skill's English name beside its Chinese one).
TAGS = re.compile(r"<(script|style|title|code)[^>]*>.*?</\1>|<(td|span) lang=\"en\"[^>]*>.*?</\2>|<[^>]+>", re.S | re.I)


def visible_text(page: str) -> str:
    """What a reader sees: the text between tags (option labels included), entities decoded."""
    return html.unescape(TAGS.sub(" ", page))


def raw_words(text: str) -> list[str]:
    """The raw codes and English skill names that stand as words in ``text``."""
    found = [code for code in RAW_CODES if re.search(rf"(?<![\w@./-]){re.escape(code)}(?![\w@./-])", text, re.I)]
    return found + [name for name in ENGLISH_SKILL_NAMES if name in text]


def staff_paths(app: Any, values: dict[str, str]) -> list[str]:
    """Every staff GET page of the app (``/admin``, ``/finance``), its ids filled from ``values`` (else 1)."""
    paths = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(("/admin", "/finance")):
            continue
        if route.path.endswith(NOT_STAFF_PAGES) or "/parts/" in route.path:
            continue
        if any("GET" in handler.http_methods for handler in route.route_handlers):
            paths.add(re.sub(r"\{(\w+):\w+\}", lambda m: values.get(m.group(1), "1"), route.path))
    return sorted(paths)


async def chinese_world(db: AsyncSession, site: Site, people: Factory) -> dict[str, str]:
    """A week with something of every kind a staff page lists: agents of every tier, pool and status in three
    skills, held, open and no-show shifts, a cover request, a course, work records of each kind."""
    now = utcnow()
    this_slot = utc_start(slot_of(now))
    skills = [await a_skill(db, site, code) for code in ("general", "billing", "tech")]
    agents = [
        await an_agent(people, skills=skills, tier=tier, display_name=name, email=f"{email}@example.com")
        for tier, name, email in [
            (Tier.junior, "李伟", "liwei"),
            (Tier.mid, "王芳", "wangfang"),
            (Tier.senior, "张敏", "zhangmin"),
        ]
    ]
    agents[1].pool = Pool.elastic
    agents[2].status = UserStatus.paused
    held = await a_held_shift(db, agents[0], this_slot + dt.timedelta(days=1), skill=skills[0])
    await a_held_shift(db, agents[1], this_slot - dt.timedelta(hours=1), skill=skills[1])
    await a_held_shift(
        db, agents[0], now - dt.timedelta(days=1), skill=skills[2], no_show_at=now - dt.timedelta(days=1)
    )
    await an_open_shift(db, site, skills[2], start=this_slot + dt.timedelta(days=2), now=now, bonus_minor=1500)
    await request_cover(
        db, site=site, shift_id=held.id, absent_user_id=agents[0].id, reason=CoverReason.emergency,
        bonus_minor=2000, by=None, now=now,
    )  # fmt: skip
    course = await a_course(db, site)
    rows = [
        {"user_id": agent.id, "source": "test", "external_id": f"{agent.id}-{kind}", "kind": kind.value,
         "occurred_at": now - dt.timedelta(hours=3), "skill_id": skills[0].id, "csat": 5, "resolved": True}
        for agent in agents for kind in WorkKind
    ]  # fmt: skip
    await bulk_ingest_rows(db, site_id=site.id, rows=rows, now=now)
    draft = RequestDraft(
        kind=RequestKind.schedule, title="班次结束时间不对", details="排班表写的是 21:00。", shift=held.id
    )
    asked = await intake.raise_request(db, asker=agents[0], draft=draft, now=now)
    await db.commit()
    return {
        "request_id": str(asked.id),
        "user_id": str(agents[0].id),
        "shift_id": str(held.id),
        "course_id": str(course.id),
        "week": str(IsoWeek.containing(now, dt.UTC)),
        "skill_code": "billing",
        "key": "q1",
    }


@pytest.mark.parametrize("role", [Role.coordinator, Role.finance])
async def test_chinese_staff_pages_show_no_raw_code(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, role: Role
) -> None:
    values = await chinese_world(db, site, people)
    reader = await people.make(role, display_name="陈协调", email=f"chen-{role.value}@example.com", locale="zh-Hans")
    assert (await login(client, reader.email)).status_code == 303
    seen: dict[str, list[str]] = {}
    broken: dict[str, int] = {}
    for path in staff_paths(app, values):
        answer = await client.get(path)
        if answer.status_code >= 500:
            broken[path] = answer.status_code
        is_page = answer.status_code == 200 and answer.headers.get("content-type", "").startswith("text/html")
        if is_page and (words := raw_words(visible_text(answer.text))):
            seen[path] = words
    assert broken == {}
    assert seen == {}


@pytest.mark.parametrize(
    "member",
    [
        *Role,
        *Tier,
        *Pool,
        *UserStatus,
        *WorkKind,
        *LineKind,
        *PeriodStatus,
        *DisputeStatus,
        *ShiftOrigin,
        *SwapStatus,
        *CoverReason,
        *CoverStatus,
        *Kind,
    ],
)
def test_every_code_shown_to_staff_has_a_chinese_label(member: enum.Enum) -> None:
    qualified = f"{type(member).__name__}.{member.value}"
    assert qualified in ENUM_MSGIDS or member.value in ENUM_MSGIDS
    with speaking("zh-Hans"):
        label = enum_label(member)
    assert re.search(r"[\u4e00-\u9fff]", label) or label == "Stripe", (member, label)


def test_labels_read_as_words_in_english() -> None:
    assert enum_label(Role.agent) == "Agent"
    assert enum_label("call") == "Call"
    assert enum_label(LineKind.urgent_bonus) == "Urgent cover bonus"
    assert enum_label(DisputeStatus.open) == "Awaiting a decision"
    assert enum_label(PeriodStatus.open) == "Open"
    with speaking("zh-Hans"):
        assert enum_label(Tier.junior) == "初级"
        assert enum_label("call") == "电话"


async def test_an_admin_names_a_skill_in_both_languages(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site, "returns")
    admin = await people.make(Role.admin, locale="zh-Hans")
    assert (await login(client, admin.email)).status_code == 303
    saved = await post_form(client, f"/admin/site/skills/{skill.id}", {"name": " Returns ", "name_zh": "退货"})
    assert saved.status_code == 200
    await db.refresh(skill)
    assert (skill.code, skill.name, skill.name_zh) == ("returns", "Returns", "退货")
    assert "退货" in (await client.get("/admin/demand")).text

    refused = await post_form(client, f"/admin/site/skills/{skill.id}", {"name": " ", "name_zh": "x"})
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text
    await db.refresh(skill)
    assert skill.name_zh == "退货"

    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    far = await a_skill(db, elsewhere, "returns")
    assert (await post_form(client, f"/admin/site/skills/{far.id}", {"name": "X"})).status_code == 404

    coordinator = await people.make(Role.coordinator)
    client.cookies.clear()
    assert (await login(client, coordinator.email)).status_code == 303
    assert (await post_form(client, f"/admin/site/skills/{skill.id}", {"name": "X"})).status_code == 403
