"""Migrations run up and down on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from backend.core.db import Base, create_engine
from backend.core.migrate import current_revision, migrate
from backend.models import load_all_models
from tests.conftest import table_names

load_all_models()


def schema_drift(url: str) -> list[object]:
    async def read() -> list[object]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda c: compare_metadata(
                        MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                    )
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    model_tables = set(Base.metadata.tables)
    migrate(empty_database_url, "head")
    assert model_tables <= table_names(empty_database_url)
    assert current_revision(empty_database_url) == "0001"
    migrate(empty_database_url, "base")
    assert table_names(empty_database_url) - {"alembic_version"} == set()
    assert current_revision(empty_database_url) is None
    migrate(empty_database_url, "0001")
    assert model_tables <= table_names(empty_database_url)


def test_migrations_match_the_models(empty_database_url: str) -> None:
    migrate(empty_database_url, "head")
    assert schema_drift(empty_database_url) == []
