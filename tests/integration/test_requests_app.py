"""The asker's pages: asking for help, following a request, replying, confirming, rating, ideas, files, suggestions."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, User
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import gettext, speaking
from backend.learning import cases
from backend.requests import actions, attachments, intake, suggest
from backend.requests.models import Attachment, Request, RequestEvent, RequestKind, RequestStatus
from backend.requests.schemas import RequestDraft
from backend.shifts.models import Shift
from tests.conftest import csrf_token, login, post_form
from tests.factories import Factory, a_course, a_held_shift

HTMX = {"hx-request": "true"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(64)


def in_days(days: int) -> dt.datetime:
    """A half-hour boundary ``days`` from now: shifts start on one."""
    moment = utcnow() + dt.timedelta(days=days)
    return moment.replace(minute=0, second=0, microsecond=0)


async def signed_in(client: httpx.AsyncClient, user: User) -> None:
    client.cookies.clear()
    assert (await login(client, user.email)).status_code == 303


async def a_request(
    db: AsyncSession,
    asker: User,
    *,
    kind: RequestKind = RequestKind.other,
    title: str = "Headset crackles",
    **link: int,
) -> Request:
    draft = RequestDraft(kind=kind, title=title, details=f"{title}: what happened, in detail.", **link)
    raised = await intake.raise_request(db, asker=asker, draft=draft, now=utcnow())
    await db.commit()
    return raised


async def resolved(db: AsyncSession, request: Request, staff: User, resolution: str = "Replaced the cable.") -> None:
    await actions.resolve(
        db, request_id=request.id, actor=staff, root_cause="system_fault", resolution=resolution, now=utcnow()
    )
    await db.commit()


async def request_count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Request)) or 0)


async def multipart(
    client: httpx.AsyncClient, path: str, data: dict[str, str], files: dict[str, tuple[str, bytes, str]]
) -> httpx.Response:
    token = client.cookies.get("weft_csrf") or await csrf_token(client)
    return await client.post(path, data={**data, "_csrf_token": token}, files=files)


# Pages --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
async def test_the_asker_raises_a_schedule_problem_for_their_shift_and_follows_it(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, locale: str
) -> None:
    agent = await people.make(Role.agent, locale=locale)
    coordinator = await people.make(Role.coordinator)
    shift = await a_held_shift(db, agent, in_days(2))
    await signed_in(client, agent)

    listing = await client.get("/app/requests")
    assert listing.status_code == 200
    assert f'lang="{locale}"' in listing.text
    picker = await client.get("/app/requests/new")
    assert picker.status_code == 200
    assert 'href="/app/requests/new?kind=schedule"' in picker.text
    form = await client.get(f"/app/requests/new?kind=schedule&shift={shift.id}")
    assert form.status_code == 200
    assert f'<option value="{shift.id}" selected>' in form.text
    assert 'hx-get="/app/requests/suggest"' in form.text
    with speaking(locale):
        assert gettext("Which shift?") in form.text

    sent = await post_form(
        client,
        "/app/requests",
        {"kind": "schedule", "shift": str(shift.id), "title": "Wrong skill on my shift", "details": "It says tech."},
    )
    assert sent.status_code == 303
    raised = await db.scalar(select(Request).where(Request.asker_id == agent.id))
    assert raised is not None
    assert (raised.kind, raised.shift_id) == (RequestKind.schedule, shift.id)
    assert sent.headers["location"] == f"/app/requests/{raised.id}?done=raised"

    await actions.answer(db, request_id=raised.id, actor=coordinator, body="Fixed: it is billing again.", now=utcnow())
    await db.commit()
    page = await client.get(f"/app/requests/{raised.id}?done=raised")
    assert page.status_code == 200
    assert "Wrong skill on my shift" in page.text
    assert "Fixed: it is billing again." in page.text
    assert f'action="/app/requests/{raised.id}/reply"' in page.text
    with speaking(locale):
        assert gettext("Sent. The team answers here, and you are told in your inbox.") in page.text
        assert gettext("Answered") in page.text
    assert "Wrong skill on my shift" in (await client.get("/app/requests")).text
    assert (await client.get("/app/requests/ideas")).status_code == 200


async def test_a_bad_form_is_refused_naming_the_field_and_nothing_is_written(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    await signed_in(client, agent)
    blank_title = await post_form(client, "/app/requests", {"kind": "other", "title": "", "details": "Something"})
    assert blank_title.status_code == 422
    assert 'id="e-title"' in blank_title.text
    assert "Give your request a title." in blank_title.text
    assert "Something" in blank_title.text  # what was typed comes back

    tomorrow = (utcnow() + dt.timedelta(days=2)).date().isoformat()
    future = await post_form(
        client, "/app/requests", {"kind": "other", "title": "T", "details": "D", "happened_on": tomorrow}
    )
    assert future.status_code == 422
    assert 'id="e-happened_on"' in future.text

    no_shift = await post_form(client, "/app/requests", {"kind": "schedule", "title": "T", "details": "D"})
    assert no_shift.status_code == 422
    assert 'id="e-shift"' in no_shift.text
    htmx = await post_form(client, "/app/requests", {"kind": "other", "title": "T", "details": ""})
    assert htmx.status_code == 422
    assert await request_count(db) == 0


async def test_another_agents_request_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    owner, other = await people.make(Role.agent), await people.make(Role.agent)
    private = await a_request(db, owner, title="My pay is late")
    await signed_in(client, other)
    assert (await client.get(f"/app/requests/{private.id}")).status_code == 404
    replied = await post_form(client, f"/app/requests/{private.id}/reply", {"body": "Me as well"})
    assert replied.status_code == 404
    assert (await post_form(client, f"/app/requests/{private.id}/confirm", {})).status_code == 404
    assert "My pay is late" not in (await client.get("/app/requests")).text
    events = await db.scalar(
        select(func.count()).select_from(RequestEvent).where(RequestEvent.request_id == private.id)
    )
    assert events == 1  # raised, nothing else


async def test_the_asker_replies_confirms_and_rates_and_a_colleague_says_me_too_on_an_idea(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent, colleague = await people.make(Role.agent), await people.make(Role.agent)
    coordinator = await people.make(Role.coordinator)
    problem = await a_request(db, agent)
    await signed_in(client, agent)

    replied = await post_form(
        client,
        f"/app/requests/{problem.id}/reply",
        {"body": "It started on Monday."},
    )
    assert replied.status_code == 303
    empty = await post_form(client, f"/app/requests/{problem.id}/reply", {"body": ""})
    assert empty.status_code == 422
    assert 'id="e-body"' in empty.text
    await resolved(db, problem, coordinator)
    page = await client.get(f"/app/requests/{problem.id}")
    assert "Replaced the cable." in page.text
    assert f'action="/app/requests/{problem.id}/confirm"' in page.text
    bad_rating = await post_form(client, f"/app/requests/{problem.id}/rate", {"rating": "9"})
    assert bad_rating.status_code == 422
    assert 'id="e-rating"' in bad_rating.text
    confirmed = await post_form(
        client,
        f"/app/requests/{problem.id}/confirm",
        {},
    )
    assert confirmed.status_code == 303
    rated = await client.post(
        f"/app/requests/{problem.id}/rate",
        data={"rating": "4", "comment": "Quick", "_csrf_token": client.cookies["weft_csrf"]},
        headers=HTMX,
    )
    assert rated.status_code == 200
    assert "<html" not in rated.text
    await db.refresh(problem)
    assert (problem.status, problem.rating, problem.rating_comment) == (RequestStatus.closed, 4, "Quick")

    idea = await a_request(db, agent, kind=RequestKind.idea, title="A quieter break room")
    await signed_in(client, colleague)
    ideas = await client.get("/app/requests/ideas")
    assert "A quieter break room" in ideas.text
    said = await post_form(client, f"/app/requests/{idea.id}/me-too", {"on": "true", "back": "ideas"})
    assert said.status_code == 303
    assert said.headers["location"] == "/app/requests/ideas?done=me_too"
    await db.refresh(idea)
    assert idea.me_too_count == 1
    assert (await client.get(f"/app/requests/{idea.id}")).status_code == 200  # ideas are public within the site
    assert (await client.get(f"/app/requests/{problem.id}")).status_code == 404


# Files ---------------------------------------------------------------------------------------------------------


def test_check_upload_knows_a_file_by_its_bytes_not_its_name() -> None:
    assert attachments.check_upload("shot.png", PNG) == ("shot.png", "image/png")
    assert attachments.check_upload("../../etc/shot", PNG) == ("shot.png", "image/png")
    assert attachments.check_upload("photo.jpeg", b"\xff\xd8\xff\xe0rest") == ("photo.jpeg", "image/jpeg")
    assert attachments.check_upload("page.html", b"<html>hi</html>")[1] == "text/plain; charset=utf-8"
    assert attachments.check_upload("page.html", b"<html>hi</html>")[0] == "page.txt"
    assert attachments.check_upload("x.pdf", b"%PDF-1.7\n")[1] == "application/pdf"
    assert attachments.check_upload("w", b"RIFF\x00\x00\x00\x00WEBPVP8 ")[1] == "image/webp"
    for name, data in (("tool.png", EXE), ("empty.txt", b""), ("big.png", PNG + bytes(attachments.MAX_BYTES))):
        with pytest.raises(DomainError) as refused:
            attachments.check_upload(name, data)
        assert refused.value.field == "file"


async def test_a_screenshot_is_stored_and_served_only_to_those_who_may_see_the_request(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent, other = await people.make(Role.agent), await people.make(Role.agent)
    coordinator = await people.make(Role.coordinator)
    await signed_in(client, agent)
    fields = {"kind": "system", "title": "The app freezes", "details": "On the schedule page."}

    too_big = await multipart(
        client, "/app/requests", fields, {"file": ("shot.png", PNG + bytes(attachments.MAX_BYTES), "image/png")}
    )
    assert too_big.status_code == 422
    assert 'id="e-file"' in too_big.text
    renamed = await multipart(client, "/app/requests", fields, {"file": ("shot.png", EXE, "image/png")})
    assert renamed.status_code == 422
    assert 'id="e-file"' in renamed.text
    assert await request_count(db) == 0
    assert int(await db.scalar(select(func.count()).select_from(Attachment)) or 0) == 0

    sent = await multipart(client, "/app/requests", fields, {"file": ("shot.png", PNG, "image/png")})
    assert sent.status_code == 303
    raised = await db.scalar(select(Request).where(Request.asker_id == agent.id))
    assert raised is not None
    stored = await db.scalar(select(Attachment).where(Attachment.request_id == raised.id))
    assert stored is not None
    assert (stored.filename, stored.content_type, stored.size) == ("shot.png", "image/png", len(PNG))
    path = f"/app/requests/{raised.id}/files/{stored.id}"
    assert f'href="{path}"' in (await client.get(f"/app/requests/{raised.id}")).text

    served = await client.get(path)
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"].startswith("image/png")
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]

    await signed_in(client, other)
    assert (await client.get(path)).status_code == 404
    await signed_in(client, coordinator)
    seen = await attachments.attachment_for(db, request_id=raised.id, attachment_id=stored.id, viewer=coordinator)
    assert seen.id == stored.id
    assert (await client.get(path)).status_code == 403  # the asker's pages are the agents'


# Suggestions ---------------------------------------------------------------------------------------------------


async def test_suggestions_bring_a_published_case_and_my_resolved_request_never_another_agents(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, other = await people.make(Role.agent), await people.make(Role.agent)
    coordinator = await people.make(Role.coordinator)
    draft = cases.CaseDraft(
        title="Headset crackles during calls",
        situation="The caller hears noise.",
        strategy="Swap the headset.",
        key_points="Check the cable",
        phrases="One moment please.",
        week=str(cases.current_week(site, utcnow())),
        language="en",
    )
    await cases.create_case(db, author=coordinator, draft=draft, publish=True, now=utcnow())
    mine = await a_request(db, agent, title="Headset crackles again")
    theirs = await a_request(db, other, title="Headset crackles on my desk")
    still_open = await a_request(db, agent, title="Headset crackles, open")
    await resolved(db, mine, coordinator)
    await resolved(db, theirs, coordinator, resolution="A private answer")

    found = await suggest.suggestions(db, viewer=agent, text="headset crackles", now=utcnow())
    assert [summary.case.title for summary in found.cases] == ["Headset crackles during calls"]
    assert [item.id for item in found.requests] == [mine.id]
    assert still_open.id not in [item.id for item in found.requests]
    staff_view = await suggest.suggestions(db, viewer=coordinator, text="headset crackles", now=utcnow())
    assert {item.id for item in staff_view.requests} == {mine.id, theirs.id}

    await signed_in(client, agent)
    fragment = await client.get("/app/requests/suggest", params={"title": "headset crackles"}, headers=HTMX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "Headset crackles during calls" in fragment.text
    assert f'href="/app/requests/{mine.id}"' in fragment.text
    assert "A private answer" not in fragment.text
    assert f"/app/requests/{theirs.id}" not in fragment.text
    assert (await client.get("/app/requests/suggest", params={"text": "headset"})).status_code == 200


async def test_my_schedule_and_a_course_link_to_asking_with_their_context(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    shift = await a_held_shift(db, agent, in_days(1))
    await signed_in(client, agent)
    schedule = await client.get("/app/shifts")
    assert f'href="/app/requests/new?kind=schedule&amp;shift={shift.id}"' in schedule.text
    assert 'href="/app/requests"' in schedule.text  # the top bar's "Ask for help"
    assert await db.get(Shift, shift.id) is not None


async def test_the_asker_reopens_a_resolved_request_with_a_reason(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    problem = await a_request(db, agent)
    await resolved(db, problem, coordinator)
    await signed_in(client, agent)
    page = await client.get(f"/app/requests/{problem.id}")
    assert f'action="/app/requests/{problem.id}/reopen"' in page.text
    no_reason = await post_form(client, f"/app/requests/{problem.id}/reopen", {"reason": ""})
    assert no_reason.status_code == 422
    assert 'id="e-reason"' in no_reason.text
    reopened = await client.post(
        f"/app/requests/{problem.id}/reopen",
        data={"reason": "It crackles again.", "_csrf_token": client.cookies["weft_csrf"]},
        headers=HTMX,
    )
    assert reopened.status_code == 200
    assert "It crackles again." in reopened.text
    await db.refresh(problem)
    assert problem.status in (RequestStatus.queued, RequestStatus.in_progress)
    assert problem.reopen_count == 1


async def test_an_open_request_shows_how_long_such_requests_usually_take(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    for number in range(5):
        await resolved(db, await a_request(db, agent, title=f"Old problem {number}"), coordinator)
    await a_request(db, agent, title="New problem")
    await signed_in(client, agent)
    listing = await client.get("/app/requests")
    assert listing.text.index("New problem") < listing.text.index("Old problem")  # open ones first
    assert "Requests like this usually take about 1 minute." in listing.text
    picker = await client.get("/app/requests/new")
    assert "Requests like this usually take about 1 minute." in picker.text


async def test_every_kind_has_its_template_form(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    course = await a_course(db, site)
    await signed_in(client, agent)
    for kind in RequestKind:
        form = await client.get(f"/app/requests/new?kind={kind}&course={course.id}")
        assert form.status_code == 200, kind
        assert f'<input type="hidden" name="kind" value="{kind}">' in form.text
        assert ('enctype="multipart/form-data"' in form.text) == (kind == RequestKind.system)
    learning = await client.get(f"/app/requests/new?kind=learning&course={course.id}&question=3")
    assert f'<option value="{course.id}" selected>Billing basics</option>' in learning.text
    assert 'name="question" type="number"' in learning.text
    assert 'value="3"' in learning.text
    pay = await client.get("/app/requests/new?kind=pay&period=7&line_ref=2030-01-02:piece:call:billing")
    assert 'name="line_ref" value="2030-01-02:piece:call:billing"' in pay.text
