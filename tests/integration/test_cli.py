"""The ``weft`` command on a real database chosen by WEFT_DATABASE_URL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from backend.accounts import service
from backend.accounts.demo import AGENT_COUNT
from backend.accounts.models import AuditEntry, Role, User
from backend.accounts.sessions import authenticate
from backend.accounts.tokens import resolve_token
from backend.certifications.service import certified_skill_codes
from backend.cli import main
from backend.core.db import Database, utcnow
from backend.core.settings import load_settings
from backend.demo import DEMO_PASSWORD, LONDON_AGENTS, LONDON_STAFF
from backend.handover import service as handover
from backend.handover.models import HandoverKind
from backend.learning import cases
from backend.learning.case_models import CaseComment, CaseUse
from backend.notify.models import VapidKey
from tests.conftest import table_names

SECRET = "cli-test-secret-" + "k" * 32


@pytest.fixture
def weft(empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("WEFT_DATABASE_URL", empty_database_url)
    monkeypatch.setenv("WEFT_SECRET_KEY", SECRET)
    monkeypatch.setenv("WEFT_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(main, ["migrate"])
    assert result.exit_code == 0, result.output
    return runner


def query(url: str, work):
    async def run():
        database = Database.from_url(url)
        try:
            async with database.session() as session:
                return await work(session)
        finally:
            await database.dispose()

    return asyncio.run(run())


def count_users(url: str) -> int:
    return query(url, lambda s: s.scalar(select(func.count()).select_from(User)))


def test_migrate_makes_the_push_key_once_so_reads_find_it(weft: CliRunner, empty_database_url: str) -> None:
    again = weft.invoke(main, ["migrate"])
    assert again.exit_code == 0, again.output
    assert query(empty_database_url, lambda s: s.scalar(select(func.count()).select_from(VapidKey))) == 1


def test_demo_loads_people_and_running_it_twice_changes_nothing(weft: CliRunner, empty_database_url: str) -> None:
    first = weft.invoke(main, ["demo"])
    assert first.exit_code == 0, first.output
    assert "coordinator@weft.demo" in first.output
    users = count_users(empty_database_url)
    # four staff and the new starter; in London, two finance users and their agents
    assert users == AGENT_COUNT + 5 + len(LONDON_STAFF) + len(LONDON_AGENTS)
    library = library_state(empty_database_url)
    pay = pay_state(empty_database_url)
    assert pay["rate_cards"] == 2  # Shanghai's and London's
    assert pay["work_records"] > 0
    statuses = [status for _start, status, _checksum in pay["periods"]]
    assert statuses[-1] == "open", "the current period is open"
    assert "locked" in statuses, "last week's period is locked"
    assert pay["settlements"] > 0
    assert all(checksum for _start, status, checksum in pay["periods"] if status == "locked")
    asked = requests_state(empty_database_url)
    assert (asked["teams"], asked["rules"]) == (4, 5)
    assert {"queued", "in_progress", "waiting", "resolved", "closed"} <= set(asked["statuses"])
    assert asked["me_too"] > 0
    assert len(asked["statuses"]) >= 12
    second = weft.invoke(main, ["demo"])
    assert second.exit_code == 0
    assert "0 new users" in second.output
    assert count_users(empty_database_url) == users
    assert library_state(empty_database_url) == library
    assert pay_state(empty_database_url) == pay, "a second run adds no records, cards or settlements"
    assert requests_state(empty_database_url) == asked, "a second run raises no request"

    async def agent_login(session):
        settings = load_settings()
        return await authenticate(
            session, email="agent01@weft.demo", password=DEMO_PASSWORD, client_ip="t", settings=settings
        )

    assert query(empty_database_url, agent_login).role is Role.agent


def pay_state(url: str) -> dict[str, object]:
    """The demo's pay: rate cards, work records, periods (start, status, checksum) and settlements."""
    from backend.pay.models import JournalEntry, PayPeriod, RateCard, Settlement
    from backend.work.models import WorkRecord

    async def read(session):
        def count(model):
            return session.scalar(select(func.count()).select_from(model))

        periods = (await session.execute(select(PayPeriod).order_by(PayPeriod.starts_on))).scalars().all()
        return {
            "rate_cards": await count(RateCard),
            "work_records": await count(WorkRecord),
            "periods": [(p.starts_on, p.status.value, p.checksum) for p in periods],
            "settlements": await count(Settlement),
            "entries": await count(JournalEntry),
        }

    return query(url, read)


def requests_state(url: str) -> dict[str, object]:
    """The demo's requests: teams, routing rules, each request's status, the "me too"s."""
    from backend.requests.models import MeToo, Request, RequestTeam, RoutingRule

    async def read(session):
        return {
            "teams": await session.scalar(select(func.count()).select_from(RequestTeam)),
            "rules": await session.scalar(select(func.count()).select_from(RoutingRule)),
            "statuses": list(await session.scalars(select(Request.status).order_by(Request.id))),
            "me_too": await session.scalar(select(func.count()).select_from(MeToo)),
        }

    return query(url, read)


def library_state(url: str) -> dict[str, object]:
    """What the demo agent and coordinator see of the case library and the handover notes."""

    async def read(session):
        now = utcnow()
        agent = await service.find_user_by_email(session, "agent01@weft.demo")
        coordinator = await service.find_user_by_email(session, "coordinator@weft.demo")
        site = await service.get_site(session, agent.site_id)
        shelf = await cases.library(session, viewer=agent, site=site, now=now)
        shown = shelf.this_week + shelf.earlier
        board = await handover.site_board(session, staff=coordinator, now=now)
        found = {}
        for words in ("payment retry", "\u5bc6\u7801"):  # the second is "password" in Chinese
            found[words] = [s.case.title for s in await cases.search(session, site_id=site.id, query=words, now=now)]
        return {
            "this_week": sorted((s.case.language, s.skill_code) for s in shelf.this_week),
            "earlier": sorted((s.case.language, s.skill_code) for s in shelf.earlier),
            "weeks": sorted({s.case.week for s in shown}) == [str(shelf.week.shifted(-1)), str(shelf.week)],
            "by_coordinator": {s.case.created_by_id for s in shown} == {coordinator.id},
            "best": [(s.case.language, s.skill_code, s.uses) for s in shelf.best],
            "uses": await session.scalar(select(func.count()).select_from(CaseUse)),
            "comments": await session.scalar(select(func.count()).select_from(CaseComment)),
            "agent_marked": [(await cases.use_state(session, case_id=s.case.id, user_id=agent.id)).used for s in shown],
            "found": found,
            "notes": sorted((n.note.kind, n.note.skill_name, n.note.shift_id is None) for n in board),
            "warning": [n.note.body for n in board if n.note.kind is HandoverKind.warning],
        }

    return query(url, read)


def test_demo_publishes_a_ranked_case_library_and_handover_notes(weft: CliRunner, empty_database_url: str) -> None:
    assert weft.invoke(main, ["demo"]).exit_code == 0
    state = library_state(empty_database_url)
    # two cases this week and two last week, two in each language, across the three demo skills
    assert state["this_week"] == [("en", "billing"), ("zh-Hans", "tech")]
    assert state["earlier"] == [("en", "general"), ("zh-Hans", "general")]
    assert state["weeks"]
    assert state["by_coordinator"]
    # "I used this" marks give the best-applied ranking an order; the demo agent's own buttons are untapped
    assert state["best"] == [
        ("en", "billing", 6),
        ("en", "general", 5),
        ("zh-Hans", "general", 3),
        ("zh-Hans", "tech", 2),
    ]
    assert state["uses"] == 16
    assert state["comments"] == 2
    assert state["agent_marked"] == [False] * 4
    # full-text search finds them, in English and in Chinese
    assert state["found"]["payment retry"] == ["Customer charged twice after a failed payment retry"]
    assert len(state["found"]["\u5bc6\u7801"]) == 1
    # a coordinator's warning on this evening's billing block and a follow-up on the next open general shift
    assert state["notes"] == [
        (HandoverKind.follow_up, "General enquiries", False),
        (HandoverKind.warning, "Billing disputes", True),
    ]
    assert "promise a callback within 2 hours" in state["warning"][0]


def test_user_add_with_skills_certifies_onboards_and_audits(weft: CliRunner, empty_database_url: str) -> None:
    assert weft.invoke(main, ["demo"]).exit_code == 0
    result = weft.invoke(
        main,
        [
            "user",
            "add",
            "--email",
            "li@example.com",
            "--name",
            "Li Lei",
            "--role",
            "agent",
            "--tier",
            "mid",
            "--skills",
            "billing,tech",
        ],
    )
    assert result.exit_code == 0, result.output

    async def check(session):
        user = await session.scalar(select(User).where(User.email == "li@example.com"))
        audited = list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.object_type.in_(["users", "certifications"]))
                .order_by(AuditEntry.id)
            )
        )
        return user, await certified_skill_codes(session, user_id=user.id), audited

    user, skills, audited = query(empty_database_url, check)
    assert user.tier.value == "mid"
    assert user.onboarded_at is not None
    assert skills == ["billing", "tech"]
    mine = [e for e in audited if e.object_id == str(user.id) or (e.after or {}).get("user_id") == user.id]
    assert {(e.object_type, e.action) for e in mine} >= {("users", "create"), ("certifications", "create")}
    assert {e.actor_label for e in mine} == {"cli"}


def test_user_add_refuses_unknown_skill_and_leaves_nothing(weft: CliRunner, empty_database_url: str) -> None:
    assert weft.invoke(main, ["demo"]).exit_code == 0
    before = count_users(empty_database_url)
    result = weft.invoke(
        main, ["user", "add", "--email", "x@example.com", "--name", "X", "--role", "agent", "--skills", "juggling"]
    )
    assert result.exit_code != 0
    assert "juggling" in result.output
    assert count_users(empty_database_url) == before


def test_token_create_prints_the_token_alone_on_the_last_line(weft: CliRunner, empty_database_url: str) -> None:
    assert weft.invoke(main, ["demo"]).exit_code == 0
    result = weft.invoke(main, ["token", "create", "--email", "finance@weft.demo"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("weft_")
    token, owner = query(empty_database_url, lambda s: resolve_token(s, secret))
    assert owner.email == "finance@weft.demo"
    assert token.role is Role.finance
    missing = weft.invoke(main, ["token", "create", "--email", "nobody@weft.demo"])
    assert missing.exit_code != 0
    assert "nobody@weft.demo" in missing.output


def test_user_invite_prints_a_working_link(weft: CliRunner) -> None:
    assert weft.invoke(main, ["demo"]).exit_code == 0
    result = weft.invoke(main, ["user", "invite", "--email", "new@example.com", "--name", "New"])
    assert result.exit_code == 0, result.output
    assert "/invite/" in result.output.strip().splitlines()[-1]


def test_migrate_to_base_empties_the_schema(weft: CliRunner, empty_database_url: str) -> None:
    result = weft.invoke(main, ["migrate", "--to", "base"])
    assert result.exit_code == 0, result.output
    assert table_names(empty_database_url) - {"alembic_version"} == set()


def test_bad_setting_stops_the_command_naming_the_variable(weft: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEFT_SITE_TIMEZONE", "Nowhere/Land")
    result = weft.invoke(main, ["demo"])
    assert result.exit_code != 0
    assert "WEFT_SITE_TIMEZONE" in result.output
