"""Finance's pay-period pages and API: who may look, lock, mark paid and download, and what they get."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

import httpx
import msgspec
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service
from backend.accounts.models import Role, Site, User
from backend.pay import exports, periods
from backend.pay.models import (
    Account,
    EntryKind,
    JournalEntry,
    PayPeriod,
    PeriodStatus,
    Posting,
    RateCard,
    Settlement,
)
from backend.pay.rates import PieceRate, Rates
from backend.work.models import WorkKind, WorkRecord
from tests.conftest import login, post_form
from tests.factories import Factory, bearer
from tests.integration.test_pay_exports import locked_period

PAST_DAY = dt.date(2026, 10, 6)


@pytest.fixture
async def finance(people: Factory) -> User:
    return await people.make(Role.finance)


async def worked_period(db: AsyncSession, site: Site, people: Factory) -> tuple[PayPeriod, list[User]]:
    """A past open period, with a rate card, in which two agents handled calls and chats."""
    period = await periods.period_for(db, site=site, day=PAST_DAY)
    rates = Rates(
        base_hourly_minor={"junior": 2000, "mid": 2500, "senior": 3000},
        pieces=[PieceRate(kind="call", rate_minor=55), PieceRate(kind="chat", rate_minor=45)],
    )
    db.add(RateCard(site_id=site.id, effective_from=period.starts_on, currency="CNY", rates=msgspec.to_builtins(rates)))
    agents = [await people.make(Role.agent), await people.make(Role.agent)]
    for index, (agent, kind, count) in enumerate([(agents[0], WorkKind.call, 30), (agents[1], WorkKind.chat, 12)]):
        db.add(
            WorkRecord(
                site_id=site.id,
                user_id=agent.id,
                source="acd",
                external_id=f"r{index}",
                occurred_at=dt.datetime.combine(period.starts_on, dt.time(3), tzinfo=dt.UTC),
                kind=kind,
                count=count,
            )
        )
    await db.commit()
    return period, agents


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def test_finance_locks_a_period_on_its_page_and_the_download_matches_the_ledger(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, finance: User
) -> None:
    period, agents = await worked_period(db, site, people)
    await login(client, finance.email)

    page = await client.get(f"/finance/periods/{period.id}")
    assert page.status_code == 200
    assert "Totals appear when the period is locked." in page.text
    assert 'hx-confirm="Lock this period?' in page.text
    assert f"/finance/periods/{period.id}/settlement.csv" not in page.text  # no downloads while open
    assert (await client.get(f"/finance/periods/{period.id}/settlement.csv")).status_code == 409

    locked = await post_form(client, f"/finance/periods/{period.id}/lock", {})
    assert locked.status_code == 303
    page = await client.get(locked.headers["location"])
    assert "Locked: the settlements are final" in page.text
    assert "The totals equal the ledger" in page.text
    for agent in agents:
        assert f'id="settlement-{agent.id}"' in page.text

    await db.refresh(period)
    assert period.status is PeriodStatus.locked
    assert period.checksum == await exports.settlement_checksum(db, period=period)

    download = await client.get(f"/finance/periods/{period.id}/settlement.csv")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == f'attachment; filename="settlement-{period.id}.csv"'
    assert download.headers["content-type"].startswith("text/csv")
    body = download.content
    cut = body.rindex(b"checksum,")
    assert body[cut:] == f"checksum,{period.checksum}\r\n".encode()
    assert hashlib.sha256(body[:cut]).hexdigest() == period.checksum
    rows = csv_rows(body)
    totals = next(row for row in rows if row[:1] == ["TOTALS"])
    gross = sum(
        (
            await db.scalars(
                select(Posting.amount_minor)
                .join(JournalEntry)
                .where(
                    JournalEntry.period_id == period.id,
                    JournalEntry.kind == EntryKind.settlement,
                    Posting.account == Account.earnings_expense,
                )
            )
        ).all()
    )
    assert gross == 30 * 55 + 12 * 45
    assert totals[exports.SETTLEMENT_COLUMNS.index("gross")] == f"{gross / 100:.2f}"

    again = await post_form(client, f"/finance/periods/{period.id}/lock", {})  # idempotent
    assert again.status_code == 303
    assert (await client.get(f"/finance/periods/{period.id}/settlement.csv")).content == body

    for ext in ("xlsx", "json"):
        first = await client.get(f"/finance/periods/{period.id}/settlement.{ext}")
        assert first.status_code == 200
        assert (await client.get(f"/finance/periods/{period.id}/settlement.{ext}")).content == first.content

    paid = await post_form(client, f"/finance/periods/{period.id}/paid", {})
    assert paid.status_code == 303
    await db.refresh(period)
    assert period.status is PeriodStatus.paid
    assert (await client.get(f"/finance/periods/{period.id}/settlement.csv")).content == body  # paid: same bytes


async def test_the_periods_page_lists_the_sites_periods_newest_first_with_totals(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, finance: User
) -> None:
    locked = await locked_period(db, site)
    newer = await periods.period_for(db, site=site, day=locked.ends_on + dt.timedelta(days=8))
    await db.commit()
    await login(client, finance.email)
    page = await client.get("/finance")
    assert page.status_code == 200
    assert page.text.index(f'id="period-{newer.id}"') < page.text.index(f'id="period-{locked.id}"')
    row = page.text[page.text.index(f'id="period-{locked.id}"') :]
    row = row[: row.index("</tr>")]
    assert "CNY 340.73" in row  # gross
    assert "2026-11-02 \u2013 2026-11-08" in row


async def test_a_coordinator_is_refused_the_pages_lock_pay_and_exports(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    period = await locked_period(db, site)
    open_period, _agents = await worked_period(db, site, people)
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    assert (await client.get("/finance")).status_code == 403
    assert (await client.get(f"/finance/periods/{period.id}")).status_code == 403
    assert (await post_form(client, f"/finance/periods/{open_period.id}/lock", {})).status_code == 403
    assert (await post_form(client, f"/finance/periods/{period.id}/paid", {})).status_code == 403
    for ext in exports.FORMATS:
        assert (await client.get(f"/finance/periods/{period.id}/settlement.{ext}")).status_code == 403
    await db.refresh(open_period)
    assert open_period.status is PeriodStatus.open
    await db.refresh(period)
    assert period.status is PeriodStatus.locked


async def test_an_agent_is_refused_everything(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    period = await locked_period(db, site)
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    assert (await client.get("/finance")).status_code == 403
    assert (await client.get(f"/finance/periods/{period.id}")).status_code == 403
    assert (await client.get(f"/finance/periods/{period.id}/settlement.csv")).status_code == 403
    assert (await post_form(client, f"/finance/periods/{period.id}/paid", {})).status_code == 403


async def test_another_sites_period_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, finance: User
) -> None:
    other = await service.ensure_site(db, name="Other Centre", timezone="Asia/Shanghai", country="CN")
    period = await locked_period(db, other)
    await login(client, finance.email)
    assert (await client.get(f"/finance/periods/{period.id}")).status_code == 404
    assert (await client.get(f"/finance/periods/{period.id}/settlement.json")).status_code == 404
    assert (await post_form(client, f"/finance/periods/{period.id}/paid", {})).status_code == 404
    headers = await bearer(db, finance)
    assert (await client.get(f"/api/v1/pay-periods/{period.id}/settlement.csv", headers=headers)).status_code == 404
    assert (await client.post(f"/api/v1/pay-periods/{period.id}/lock", headers=headers)).status_code == 404
    listed = (await client.get("/api/v1/pay-periods", headers=headers)).json()
    assert period.id not in [p["id"] for p in listed]


async def test_marking_an_open_period_paid_is_a_conflict_named_on_the_page(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, finance: User
) -> None:
    period, _agents = await worked_period(db, site, people)
    await login(client, finance.email)
    answer = await post_form(client, f"/finance/periods/{period.id}/paid", {})
    assert answer.status_code == 409
    assert "Lock the period before marking it paid." in answer.text


async def test_an_export_that_would_disagree_with_the_ledger_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, finance: User
) -> None:
    period = await locked_period(db, site, ledger_gross_offset=100)
    headers = await bearer(db, finance)
    answer = await client.get(f"/api/v1/pay-periods/{period.id}/settlement.csv", headers=headers)
    assert answer.status_code == 500
    assert "checksum" not in answer.text
    await login(client, finance.email)
    page = await client.get(f"/finance/periods/{period.id}")
    assert "The totals differ from the ledger" in page.text


async def test_the_api_lists_exports_and_locks_for_a_finance_token(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, finance: User
) -> None:
    period = await locked_period(db, site)
    open_period, _agents = await worked_period(db, site, people)
    headers = await bearer(db, finance)

    listed = await client.get("/api/v1/pay-periods", headers=headers)
    assert listed.status_code == 200
    by_id = {p["id"]: p for p in listed.json()}
    assert by_id[period.id]["status"] == "locked"
    assert by_id[period.id]["checksum"] == period.checksum
    assert by_id[period.id]["totals"] == {"agents": 3, "gross": "340.73", "withholding": "59.54", "net": "281.19"}
    assert by_id[open_period.id]["totals"] is None
    assert [p["starts_on"] for p in listed.json()] == sorted((p["starts_on"] for p in listed.json()), reverse=True)

    csv_answer = await client.get(f"/api/v1/pay-periods/{period.id}/settlement.csv", headers=headers)
    assert csv_answer.status_code == 200
    assert csv_answer.content.endswith(f"checksum,{period.checksum}\r\n".encode())
    json_answer = await client.get(f"/api/v1/pay-periods/{period.id}/settlement.json", headers=headers)
    assert json_answer.json()["checksum"] == period.checksum
    xlsx_answer = await client.get(f"/api/v1/pay-periods/{period.id}/settlement.xlsx", headers=headers)
    assert xlsx_answer.content.startswith(b"PK")
    assert xlsx_answer.headers["content-disposition"] == f'attachment; filename="settlement-{period.id}.xlsx"'

    document = (await client.get("/api/schema/openapi.json")).json()
    for ext, answer in {"csv": csv_answer, "json": json_answer, "xlsx": xlsx_answer}.items():
        documented = document["paths"][f"/api/v1/pay-periods/{{period_id}}/settlement.{ext}"]["get"]["responses"]
        assert list(documented["200"]["content"]) == [answer.headers["content-type"].split(";")[0]]
    assert csv_answer.headers["content-type"] == "text/csv; charset=utf-8"

    refused = await client.get(f"/api/v1/pay-periods/{open_period.id}/settlement.json", headers=headers)
    assert refused.status_code == 409
    assert "lock it first" in refused.json()["message"]

    first = await client.post(f"/api/v1/pay-periods/{open_period.id}/lock", headers=headers)
    assert first.status_code == 200
    assert first.json()["status"] == "locked"
    assert first.json()["checksum"]
    second = await client.post(f"/api/v1/pay-periods/{open_period.id}/lock", headers=headers)
    assert second.status_code == 200
    assert second.json() == first.json()
    count = await db.scalar(select(Settlement.id).where(Settlement.period_id == open_period.id).limit(1))
    assert count is not None


@pytest.mark.parametrize(("role", "status"), [(Role.admin, 200), (Role.coordinator, 403), (Role.agent, 403)])
async def test_api_roles(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, role: Role, status: int
) -> None:
    period = await locked_period(db, site)
    headers = await bearer(db, await people.make(role))
    assert (await client.get("/api/v1/pay-periods", headers=headers)).status_code == status
    answer = await client.get(f"/api/v1/pay-periods/{period.id}/settlement.csv", headers=headers)
    assert answer.status_code == status
    locked = await client.post(f"/api/v1/pay-periods/{period.id}/lock", headers=headers)
    assert locked.status_code == status


async def test_a_finance_token_held_by_an_admin_works_and_anonymous_is_401(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    admin = await people.make(Role.admin)
    headers = await bearer(db, admin, role=Role.finance)
    assert (await client.get("/api/v1/pay-periods", headers=headers)).status_code == 200
    assert (await client.get("/api/v1/pay-periods")).status_code == 401
