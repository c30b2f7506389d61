"""The case library as coordinators and agents meet it: writing from the template, publishing, search on
both databases, "I used this" and its ranking, "I would add" comments, and who may see or touch what."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.core.db import utcnow
from backend.core.i18n import gettext, speaking
from backend.learning import cases
from backend.learning.case_models import Case, CaseComment, CaseStatus, CaseUse
from tests.conftest import login, post_form
from tests.factories import Factory, a_skill, bearer

HTMX = {"hx-request": "true"}


def this_week(site: Site) -> str:
    return str(cases.current_week(site, utcnow()))


def template_form(**changes: str) -> dict[str, str]:
    form = {
        "title": "Double charge after a plan change",
        "week": "",
        "language": "en",
        "skill": "",
        "situation": "A customer was charged twice after moving to the annual plan and wants the money back now.",
        "strategy": "Acknowledge first, then check the invoice history together, and escalate the duplicate.",
        "key_points": "Apologise once, then act\n\n  Read the invoice numbers aloud  \nGive a date for the refund",
        "phrases": "I can see both charges here, and I will get one of them back to you.\nYou will see it by Friday.",
        "action": "publish",
    }
    return {**form, **changes}


async def signed_in(client: httpx.AsyncClient, user: User) -> None:
    client.cookies.clear()
    assert (await login(client, user.email)).status_code == 303


async def a_case(
    db: AsyncSession,
    author: User,
    *,
    title: str = "Angry caller about a late parcel",
    situation: str = "The parcel is a week late and the caller is upset.",
    strategy: str = "Let them finish, then give the tracking facts.",
    key_points: str = "Listen first\nGive facts",
    phrases: str = "I understand why you are upset.",
    language: str = "en",
    week: str = "",
    publish: bool = True,
    skill: str = "",
) -> Case:
    site = await accounts.get_site(db, author.site_id)
    draft = cases.CaseDraft(
        title=title,
        situation=situation,
        strategy=strategy,
        key_points=key_points,
        phrases=phrases,
        week=week or this_week(site),
        language=language,
        skill=skill,
    )
    case = await cases.create_case(db, author=author, draft=draft, publish=publish, now=utcnow())
    await db.commit()
    return case


async def case_count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Case)) or 0)


# Writing and publishing ------------------------------------------------------------------------


async def test_a_coordinator_publishes_a_case_from_the_template_and_agents_read_it(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    coordinator = await people.make(Role.coordinator)
    agent = await people.make(Role.agent)
    await signed_in(client, coordinator)

    blank = await client.get("/admin/cases/new")
    assert blank.status_code == 200
    for section in ("1. Situation", "2. Strategy", "3. Key points", "4. Phrases that worked"):
        assert section in blank.text
    assert f'value="{this_week(site)}"' in blank.text, "the template starts on this week"

    made = await post_form(client, "/admin/cases/", template_form(week=this_week(site), skill="billing"))
    assert made.status_code == 303, made.text
    case = await db.scalar(select(Case).where(Case.title == "Double charge after a plan change"))
    assert case is not None
    assert made.headers["location"] == f"/admin/cases/{case.id}?done=published"
    assert case.status is CaseStatus.published
    assert case.published_at is not None
    assert case.created_by_id == coordinator.id
    assert case.key_point_list == [
        "Apologise once, then act",
        "Read the invoice numbers aloud",
        "Give a date for the refund",
    ]
    assert len(case.phrase_list) == 2
    shown = await client.get(made.headers["location"])
    assert "Published: agents of your site can read it now." in shown.text

    await signed_in(client, agent)
    library = await client.get("/app/cases")
    assert library.status_code == 200
    this_week_section = library.text.split('id="this-week"')[1].split("</ul>")[0]
    assert "Double charge after a plan change" in this_week_section
    assert "Billing" in this_week_section

    page = await client.get(f"/app/cases/{case.id}")
    assert page.status_code == 200
    for section in ("Situation", "Strategy", "Key points"):
        assert section in page.text
    assert "<li>Read the invoice numbers aloud</li>" in page.text
    phrase = html.escape("I can see both charges here, and I will get one of them back to you.", quote=True)
    assert f'value="{phrase}"' in page.text, "each phrase is a copyable field"
    assert 'data-copy="#phrase-1"' in page.text
    assert 'data-copy="#phrase-2"' in page.text


async def test_a_draft_is_saved_edited_then_published_and_only_drafts_can_be_deleted(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    await signed_in(client, coordinator)
    saved = await post_form(client, "/admin/cases/", template_form(week="2026-W10", action="save"))
    assert saved.status_code == 303
    case = await db.scalar(select(Case).where(Case.site_id == site.id))
    assert case is not None
    assert case.status is CaseStatus.draft
    assert case.published_at is None

    edited = await post_form(client, f"/admin/cases/{case.id}", template_form(week="2026-W11", title="Renamed"))
    assert edited.status_code == 303
    await db.refresh(case)
    assert (case.title, case.week, case.status) == ("Renamed", "2026-W11", CaseStatus.published)

    refused = await post_form(client, f"/admin/cases/{case.id}/delete", {})
    assert refused.status_code == 409
    assert "Unpublish the case before deleting it." in refused.text
    assert (await post_form(client, f"/admin/cases/{case.id}/unpublish", {})).status_code == 303
    await db.refresh(case)
    assert case.status is CaseStatus.draft
    assert case.published_at is None
    deleted = await post_form(client, f"/admin/cases/{case.id}/delete", {})
    assert deleted.status_code == 303
    assert await case_count(db) == 0
    listing = await client.get(deleted.headers["location"])
    assert "The draft is deleted." in listing.text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"situation": "   "}, "situation", "This section cannot be empty."),
        ({"title": "x" * 121}, "title", "Keep this under 120 characters."),
        ({"strategy": "y" * 4001}, "strategy", "Keep this under 4000 characters."),
        ({"key_points": ""}, "key_points", "Write at least one line."),
        ({"phrases": "z" * 301}, "phrases", "Keep each line under 300 characters."),
        ({"skill": "juggling"}, "skill", "Unknown skill"),
        ({"week": "next week"}, "week", "Choose a week, written like 2026-W49."),
        ({"language": "fr"}, "language", "Choose English or Chinese."),
    ],
)
async def test_bad_input_is_422_naming_the_field_and_nothing_is_saved(
    client: httpx.AsyncClient,
    db: AsyncSession,
    site: Site,
    people: Factory,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    coordinator = await people.make(Role.coordinator)
    await signed_in(client, coordinator)
    refused = await post_form(client, "/admin/cases/", template_form(**{"week": this_week(site), **changes}))
    assert refused.status_code == 422
    assert message in refused.text
    assert f'id="e-{field}"' in refused.text, "the message sits on the field"
    assert "Double charge" in refused.text or field == "title", "what was typed comes back"
    assert await case_count(db) == 0

    case = await a_case(db, coordinator, title="Kept")
    refused_edit = await post_form(
        client, f"/admin/cases/{case.id}", template_form(**{"week": this_week(site), **changes})
    )
    assert refused_edit.status_code == 422
    await db.refresh(case)
    assert case.title == "Kept", "a refused edit changes nothing"


async def test_a_form_field_far_too_long_is_refused_at_the_edge(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    await signed_in(client, coordinator)
    refused = await post_form(client, "/admin/cases/", template_form(situation="s" * 9000))
    assert refused.status_code == 422
    assert "situation" in refused.text
    assert await case_count(db) == 0


# Who may see and touch what -------------------------------------------------------------------


async def test_agents_and_finance_cannot_write_cases_and_agents_never_see_drafts(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    draft = await a_case(db, coordinator, title="Secret draft", publish=False)
    for role in (Role.agent, Role.finance):
        user = await people.make(role)
        await signed_in(client, user)
        assert (await client.get("/admin/cases/")).status_code == 403
        assert (await client.get("/admin/cases/new")).status_code == 403
        assert (await post_form(client, "/admin/cases/", template_form(week=this_week(site)))).status_code == 403
        assert (await post_form(client, f"/admin/cases/{draft.id}/publish", {})).status_code == 403
    assert await case_count(db) == 1

    agent = await people.make(Role.agent)
    await signed_in(client, agent)
    assert (await client.get(f"/app/cases/{draft.id}")).status_code == 404
    assert (await post_form(client, f"/app/cases/{draft.id}/use", {"used": "1"})).status_code == 404
    assert (await post_form(client, f"/app/cases/{draft.id}/comments", {"body": "Hi"})).status_code == 404
    assert "Secret draft" not in (await client.get("/app/cases")).text
    assert "Secret draft" not in (await client.get("/app/cases?q=secret")).text
    assert (await client.get(f"/api/v1/cases/{draft.id}")).status_code == 404
    await db.refresh(draft)
    assert draft.status is CaseStatus.draft


async def test_another_sites_case_is_404_for_its_agents_and_coordinators(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    elsewhere = await accounts.ensure_site(db, name="Other Centre", timezone="Europe/Berlin", country="DE")
    their_coordinator = await people.make(Role.coordinator, site=elsewhere)
    theirs = await a_case(db, their_coordinator, title="Their case about refunds")

    agent = await people.make(Role.agent)
    await signed_in(client, agent)
    assert (await client.get(f"/app/cases/{theirs.id}")).status_code == 404
    assert (await post_form(client, f"/app/cases/{theirs.id}/use", {"used": "1"})).status_code == 404
    assert "Their case" not in (await client.get("/app/cases?q=refunds")).text
    assert "Their case" not in (await client.get("/app/cases")).text

    coordinator = await people.make(Role.coordinator)
    await signed_in(client, coordinator)
    assert (await client.get(f"/admin/cases/{theirs.id}")).status_code == 404
    assert (await post_form(client, f"/admin/cases/{theirs.id}", template_form())).status_code == 404
    assert (await post_form(client, f"/admin/cases/{theirs.id}/unpublish", {})).status_code == 404
    assert (await post_form(client, f"/admin/cases/{theirs.id}/delete", {})).status_code == 404
    assert (await client.get("/admin/cases/999999")).status_code == 404, "a stale id"
    assert (await client.get("/app/cases")).status_code == 403, "the library pages are the agents'"
    await db.refresh(theirs)
    assert theirs.title == "Their case about refunds"
    assert theirs.status is CaseStatus.published


# Search ---------------------------------------------------------------------------------------


async def search_titles(client: httpx.AsyncClient, query: str) -> list[str]:
    answer = await client.get("/api/v1/cases", params={"q": query})
    assert answer.status_code == 200, answer.text
    return sorted(item["title"] for item in answer.json())


async def test_search_finds_a_word_in_the_strategy_and_in_the_phrases(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    await a_case(db, coordinator, title="Parcel", strategy="Offer to escalate the claim to the carrier.")
    await a_case(
        db,
        coordinator,
        title="Password",
        situation="Locked out after three tries.",
        strategy="Verify who they are first.",
        phrases="Let us reset it together, step by step.",
    )
    await a_case(db, coordinator, title="Draft", strategy="Escalate everything.", publish=False)
    agent = await people.make(Role.agent)
    await signed_in(client, agent)

    assert await search_titles(client, "escalate") == ["Parcel"], "a word of the strategy, drafts left out"
    assert await search_titles(client, "Escalate") == ["Parcel"], "case does not matter"
    assert await search_titles(client, "escal") == ["Parcel"], "the start of a word is enough"
    assert await search_titles(client, "reset together") == ["Password"], "every word, in the phrases"
    assert await search_titles(client, "reset parcel") == [], "every word must be there"

    page = await client.get("/app/cases", params={"q": "carrier"})
    assert page.status_code == 200
    results = page.text.split('id="case-results"')[1]
    assert "Parcel" in results
    assert "Password" not in results
    live = await client.get("/app/cases", params={"q": "step"}, headers=HTMX)
    assert live.status_code == 200
    assert "<html" not in live.text
    assert 'id="case-results"' in live.text
    assert "Password" in live.text
    assert "Parcel" not in live.text.split('id="case-results"')[1]


async def test_search_keeps_up_with_edits_and_unpublishing(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    case = await a_case(db, coordinator, title="Router", strategy="Power cycle the modem.")
    agent = await people.make(Role.agent)
    await signed_in(client, agent)
    assert await search_titles(client, "modem") == ["Router"]

    await cases.update_case(
        db,
        case_id=case.id,
        staff=coordinator,
        draft=dataclasses.replace(cases.draft_of(case, ""), strategy="Check the fibre light first."),
        publish=False,
        now=utcnow(),
    )
    await db.commit()
    assert await search_titles(client, "modem") == []
    assert await search_titles(client, "fibre") == ["Router"]
    await cases.set_published(db, case_id=case.id, staff=coordinator, published=False, now=utcnow())
    await db.commit()
    assert await search_titles(client, "fibre") == []


async def test_chinese_search_finds_a_chinese_case(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator, locale="zh-Hans")
    await a_case(
        db,
        coordinator,
        title="重复扣款",
        situation="客户升级套餐后被扣了两次钱。要求马上退款。",
        strategy="先道歉。再一起核对账单。最后提交退款申请。",
        key_points="先道歉\n核对账单号",
        phrases="我看到了两笔扣款。我会帮您退回其中一笔。",
        language="zh-Hans",
    )
    await a_case(db, coordinator, title="Parcel", strategy="Offer to escalate the claim.")
    agent = await people.make(Role.agent, locale="zh-Hans")
    await signed_in(client, agent)

    assert await search_titles(client, "退款") == ["重复扣款"], "two characters inside a sentence"
    assert await search_titles(client, "核对账单") == ["重复扣款"], "a longer Chinese word"
    assert await search_titles(client, "退款 escalate") == []
    assert await search_titles(client, "两笔扣款") == ["重复扣款"], "in the phrases"
    page = await client.get("/app/cases", params={"q": "退款"})
    assert page.status_code == 200
    assert 'lang="zh-Hans"' in page.text, "the case carries its language tag"
    assert "中文" in page.text, "the case carries its language tag"


SYNTAX = ['"foo OR', "*", "foo*", "NEAR(a b", "a:b", "title:x", "'", '"', "\\", "%", "_", "-x", "^", "AND", "()", "退'"]


async def test_search_syntax_characters_never_break_the_search(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    await a_case(db, coordinator, title="Parcel", strategy="Offer 100% of the refund: foo_bar.")
    agent = await people.make(Role.agent)
    await signed_in(client, agent)
    for query in SYNTAX:
        page = await client.get("/app/cases", params={"q": query})
        assert page.status_code == 200, query
        live = await client.get("/app/cases", params={"q": query}, headers=HTMX)
        assert live.status_code == 200, query
        api = await client.get("/api/v1/cases", params={"q": query})
        assert api.status_code == 200, query
    for wildcard in ("%", "_", "*"):
        answer = await client.get("/api/v1/cases", params={"q": wildcard})
        assert answer.json() == [], "a wildcard on its own is not a search for everything"
    assert await search_titles(client, '"foo OR') == [], "OR is a word to find, not an operator"
    assert await search_titles(client, '"foo" refund*') == ["Parcel"], "quotes and stars only separate words"


# "I used this" and the ranking -----------------------------------------------------------------


async def test_i_used_this_counts_each_agent_once_and_undoes_on_a_second_tap(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    case = await a_case(db, coordinator)
    agent = await people.make(Role.agent)
    await signed_in(client, agent)

    first = await client.post(
        f"/app/cases/{case.id}/use", data={"used": "1"}, headers={**HTMX, "x-csrftoken": client.cookies["weft_csrf"]}
    )
    assert first.status_code == 200
    assert "<html" not in first.text
    assert 'id="use"' in first.text
    assert 'aria-pressed="true"' in first.text
    assert "1 agent used this" in first.text
    assert 'name="used" value="0"' in first.text, "the next tap undoes"

    double = await post_form(client, f"/app/cases/{case.id}/use", {"used": "1"})
    assert double.status_code == 303, "a double tap is harmless"
    assert await db.scalar(select(func.count()).where(CaseUse.case_id == case.id)) == 1

    other = await people.make(Role.agent)
    client.cookies.clear()
    client.headers.update(await bearer(db, other))
    shown = await client.put(f"/api/v1/cases/{case.id}/use")
    assert shown.status_code == 200
    assert shown.json() == {"case_id": case.id, "used": True, "count": 2}

    undone = await client.delete(f"/api/v1/cases/{case.id}/use")
    assert undone.json() == {"case_id": case.id, "used": False, "count": 1}
    again = await client.delete(f"/api/v1/cases/{case.id}/use")
    assert again.json() == {"case_id": case.id, "used": False, "count": 1}
    del client.headers["Authorization"]

    await signed_in(client, agent)
    page = await client.get(f"/app/cases/{case.id}")
    assert 'aria-pressed="true"' in page.text
    assert "1 agent used this" in page.text
    undo = await post_form(client, f"/app/cases/{case.id}/use", {"used": "0"})
    assert undo.status_code == 303
    page = await client.get(f"/app/cases/{case.id}")
    assert 'aria-pressed="false"' in page.text
    assert "0 agents used this" in page.text


async def test_best_applied_ranks_recent_uses_then_all_uses_then_newer(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    older = await a_case(db, coordinator, title="Older case")
    newer = await a_case(db, coordinator, title="Newer case")
    veteran = await a_case(db, coordinator, title="Veteran case")
    await a_case(db, coordinator, title="Unused case")
    agents = [await people.make(Role.agent) for _ in range(3)]
    now = utcnow()
    for agent in agents[:2]:
        await cases.set_used(db, case_id=older.id, agent=agent, used=True, now=now)
    await cases.set_used(db, case_id=newer.id, agent=agents[0], used=True, now=now)
    for agent in agents:
        await cases.set_used(db, case_id=veteran.id, agent=agent, used=True, now=now - dt.timedelta(days=40))
    await cases.set_used(db, case_id=veteran.id, agent=agents[2], used=False, now=now)
    await cases.set_used(db, case_id=veteran.id, agent=agents[2], used=True, now=now)  # now 1 recent, 3 in all
    await db.commit()

    async def ranking() -> list[str]:
        page = await client.get("/app/cases", params={"view": "best"})
        assert page.status_code == 200
        board = page.text.split('id="best-applied"')[1].split("</ol>")[0]
        titles = ["Older case", "Newer case", "Veteran case", "Unused case"]
        return sorted((t for t in titles if t in board), key=board.index)

    await signed_in(client, agents[0])
    assert await ranking() == ["Older case", "Veteran case", "Newer case"]
    page = await client.get("/app/cases", params={"view": "best"})
    assert html.escape(cases.best_applied_rule(), quote=True) in page.text, "the rule is on the page"

    await post_form(client, f"/app/cases/{older.id}/use", {"used": "0"})
    assert await ranking() == ["Veteran case", "Newer case", "Older case"], "on a tie, all-time uses, then newer"
    await signed_in(client, agents[1])
    await post_form(client, f"/app/cases/{older.id}/use", {"used": "0"})
    await post_form(client, f"/app/cases/{newer.id}/use", {"used": "1"})
    assert await ranking() == ["Newer case", "Veteran case"]


# "I would add" ---------------------------------------------------------------------------------


async def test_comments_are_added_by_agents_and_deleted_by_their_writer_or_a_coordinator(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    case = await a_case(db, coordinator)
    writer = await people.make(Role.agent, display_name="Mei")
    other = await people.make(Role.agent)
    await signed_in(client, writer)

    empty = await post_form(client, f"/app/cases/{case.id}/comments", {"body": "   "})
    assert empty.status_code == 422
    assert "Write what you would add." in empty.text
    too_long = await post_form(client, f"/app/cases/{case.id}/comments", {"body": "x" * 1001})
    assert too_long.status_code == 422
    assert await db.scalar(select(func.count()).select_from(CaseComment)) == 0

    added = await client.post(
        f"/app/cases/{case.id}/comments",
        data={"body": "Offer the tracking link by SMS too."},
        headers={**HTMX, "x-csrftoken": client.cookies["weft_csrf"]},
    )
    assert added.status_code == 200
    assert "<html" not in added.text
    assert 'id="comments"' in added.text
    assert "Offer the tracking link by SMS too." in added.text
    assert "Mei" in added.text
    first = await db.scalar(select(CaseComment).where(CaseComment.user_id == writer.id))
    assert first is not None
    plain = await post_form(client, f"/app/cases/{case.id}/comments", {"body": "And note the parcel number."})
    assert plain.status_code == 303
    second = await db.scalar(select(CaseComment).where(CaseComment.body == "And note the parcel number."))
    assert second is not None

    await signed_in(client, other)
    page = await client.get(f"/app/cases/{case.id}")
    assert "Offer the tracking link by SMS too." in page.text
    assert f"/comments/{first.id}/delete" not in page.text, "no delete button on someone else's comment"
    refused = await post_form(client, f"/app/cases/{case.id}/comments/{first.id}/delete", {})
    assert refused.status_code == 404

    await signed_in(client, writer)
    assert (await post_form(client, f"/app/cases/{case.id}/comments/{first.id}/delete", {})).status_code == 303
    await signed_in(client, coordinator)
    board = await client.get(f"/admin/cases/{case.id}")
    assert "And note the parcel number." in board.text
    assert (await post_form(client, f"/admin/cases/{case.id}/comments/{second.id}/delete", {})).status_code == 303
    assert await db.scalar(select(func.count()).select_from(CaseComment)) == 0

    noted = await post_form(client, f"/admin/cases/{case.id}/comments", {"body": "Good addition, thanks."})
    assert noted.status_code == 303
    assert await db.scalar(select(func.count()).select_from(CaseComment)) == 1


async def test_an_unpublished_case_keeps_its_marks_and_comments_but_leaves_the_library(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    case = await a_case(db, coordinator, title="Withdrawn case")
    agent = await people.make(Role.agent)
    await cases.set_used(db, case_id=case.id, agent=agent, used=True, now=utcnow())
    await cases.set_published(db, case_id=case.id, staff=coordinator, published=False, now=utcnow())
    await db.commit()
    await signed_in(client, agent)
    assert "Withdrawn case" not in (await client.get("/app/cases?view=best")).text
    assert (await client.get(f"/app/cases/{case.id}")).status_code == 404
    assert await db.scalar(select(func.count()).where(CaseUse.case_id == case.id)) == 1


# Pages in both languages -----------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
async def test_the_library_and_a_case_render_in_the_agents_language(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, locale: str
) -> None:
    coordinator = await people.make(Role.coordinator)
    case = await a_case(db, coordinator, title="Parcel")
    earlier = await a_case(db, coordinator, title="Earlier parcel", week="2025-W01")
    await db.execute(update(Case).where(Case.id == earlier.id).values(published_at=utcnow() - dt.timedelta(days=300)))
    await db.commit()
    agent = await people.make(Role.agent, locale=locale)
    await signed_in(client, agent)

    library = await client.get("/app/cases")
    assert library.status_code == 200
    assert f'<html lang="{locale}">' in library.text
    assert 'hx-trigger="input changed delay:300ms, search"' in library.text
    assert 'action="/app/cases"' in library.text, "the search works without JavaScript too"
    with speaking(locale):
        for text in (gettext("Case library"), gettext("This week"), gettext("Best applied"), gettext("Earlier weeks")):
            assert html.escape(text) in library.text
    assert "Earlier parcel" in library.text.split('id="earlier"')[1]

    page = await client.get(f"/app/cases/{case.id}")
    assert page.status_code == 200
    with speaking(locale):
        for text in (gettext("Situation"), gettext("Phrases that worked"), gettext("I used this")):
            assert html.escape(text) in page.text

    coordinator_page = await people.make(Role.coordinator, locale=locale)
    await signed_in(client, coordinator_page)
    desk = await client.get("/admin/cases/")
    assert desk.status_code == 200
    assert "Earlier parcel" in desk.text
    assert "2025-W01" in desk.text


async def test_the_api_lists_published_cases_for_agents_and_coordinators_only(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    await a_case(db, coordinator, title="Listed", skill="")
    await a_case(db, coordinator, title="Hidden draft", publish=False)
    await signed_in(client, coordinator)
    listed = await client.get("/api/v1/cases")
    assert listed.status_code == 200
    assert [item["title"] for item in listed.json()] == ["Listed"]
    assert listed.json()[0]["key_points"] == ["Listen first", "Give facts"]
    finance = await people.make(Role.finance)
    await signed_in(client, finance)
    assert (await client.get("/api/v1/cases")).status_code == 403
