"""Wrong passwords for one account arriving at once, each in its own unit of work: only the limit is checked.

Like ``test_claim_race``, this migrates an empty database of each kind and runs every sign-in in its own
transaction on its own connection, as requests on several workers do. A limit that counts past failures
and then checks lets every try that started before the first failure was written through; a try must
reserve its place in the account's budget before its password is checked.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.accounts import service as accounts
from backend.accounts import sessions
from backend.accounts.models import Role
from backend.core.db import Database, create_engine
from backend.core.errors import DomainError, TooManyAttempts
from backend.core.migrate import migrate
from backend.core.settings import Settings, load_settings
from tests.factories import TEST_PASSWORD

TRIES = 40
EMAIL = "owner@example.com"


@dataclass
class Door:
    database: Database
    settings: Settings
    owner_device: str  # the device cookie of the phone the owner signed in on before

    async def sign_in(self, password: str, *, client_ip: str, device: str = "") -> str:
        """One sign-in request: "in", "checked" (the password was checked and was wrong) or "refused" (429).

        As the sign-in page does, a refusal is answered and its unit of work still commits.
        """
        async with self.database.session(write=True) as session:
            try:
                await sessions.authenticate(
                    session, email=EMAIL, password=password, client_ip=client_ip, settings=self.settings, device=device
                )
            except TooManyAttempts:
                return "refused"
            except DomainError:
                return "checked"
            return "in"


@pytest.fixture
async def door(empty_database_url: str, tmp_path: Path) -> AsyncIterator[Door]:
    await asyncio.to_thread(migrate, empty_database_url, "head")
    postgres = empty_database_url.startswith("postgresql")
    engine = create_engine(empty_database_url, pool_size=TRIES + 2 if postgres else 10, pool_timeout=120)
    database = Database(engine)
    settings = load_settings({"WEFT_DATA_DIR": str(tmp_path), "WEFT_SECRET_KEY": "race-secret-key-" + "x" * 32})
    async with database.session(write=True) as session:
        site = await accounts.ensure_site(session, name="Race Centre", timezone="Asia/Shanghai", country="CN")
        owner = await accounts.create_user(
            session, site=site, email=EMAIL, display_name="Owner", role=Role.agent, password=TEST_PASSWORD
        )
        device = sessions.device_token(owner, settings)
    try:
        yield Door(database, settings, device)
    finally:
        await database.dispose()


async def test_forty_wrong_passwords_at_once_get_only_the_accounts_limit_checked(door: Door) -> None:
    limit = door.settings.login_failures_per_account
    outcomes = await asyncio.gather(
        *(door.sign_in("wrong-password", client_ip=f"10.0.0.{n % 4}") for n in range(TRIES))
    )

    assert Counter(outcomes) == {"checked": limit, "refused": TRIES - limit}
    assert await door.sign_in(TEST_PASSWORD, client_ip="10.0.0.9") == "refused", "unknown clients wait the window out"


async def test_the_owner_signs_in_from_their_own_phone_during_the_storm(door: Door) -> None:
    limit = door.settings.login_failures_per_account
    storm = [door.sign_in("wrong-password", client_ip=f"10.0.1.{n % 4}") for n in range(TRIES)]
    owner = door.sign_in(TEST_PASSWORD, client_ip="10.0.2.1", device=door.owner_device)
    *outcomes, owners = await asyncio.gather(*storm, owner)

    assert owners == "in"
    assert Counter(outcomes) == {"checked": limit, "refused": TRIES - limit}
