"""Migrations run up and down on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from backend.core.db import Base, create_engine
from backend.core.migrate import alembic_config, current_revision, migrate
from backend.models import in_schema_comparison
from tests.conftest import table_names

COMPARE = {"compare_type": True, "include_name": in_schema_comparison}


def schema_drift(url: str) -> list[object]:
    async def read() -> list[object]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda c: compare_metadata(MigrationContext.configure(c, opts=COMPARE), Base.metadata)
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


def all_revisions() -> list[str]:
    """Revision ids from the first to head."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [step.revision for step in reversed(list(script.walk_revisions()))]


def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    model_tables = set(Base.metadata.tables)
    revisions = all_revisions()
    migrate(empty_database_url, "head")
    assert model_tables <= table_names(empty_database_url)
    assert current_revision(empty_database_url) == revisions[-1]
    for revision in reversed(revisions[:-1]):  # step down one revision at a time
        migrate(empty_database_url, revision)
        assert current_revision(empty_database_url) == revision
    migrate(empty_database_url, "base")
    assert table_names(empty_database_url) - {"alembic_version"} == set()
    assert current_revision(empty_database_url) is None
    for revision in revisions:  # and back up, one at a time
        migrate(empty_database_url, revision)
        assert current_revision(empty_database_url) == revision
    assert model_tables <= table_names(empty_database_url)


def test_migrations_match_the_models(empty_database_url: str) -> None:
    migrate(empty_database_url, "head")
    assert schema_drift(empty_database_url) == []
