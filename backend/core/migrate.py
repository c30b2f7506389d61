"""``weft migrate``: alembic driven from code, so no alembic.ini sits at the top level."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from backend.core.db import create_engine
from backend.core.i18n import ROOT

MIGRATIONS_DIR = ROOT / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate(database_url: str, revision: str = "head") -> None:
    """Move the schema to ``revision``: ``head``, any revision id (up or down), or ``base`` (empty)."""
    config = alembic_config(database_url)
    if revision == "base":
        command.downgrade(config, "base")
        return
    target = ScriptDirectory.from_config(config).get_revision(revision)
    current = current_revision(database_url)
    if target is not None and current is not None and _is_below(config, target.revision, current):
        command.downgrade(config, target.revision)
    else:
        command.upgrade(config, revision)


def _is_below(config: Config, revision: str, current: str) -> bool:
    """True when ``revision`` is an ancestor of ``current``: reaching it means going down."""
    history = ScriptDirectory.from_config(config).iterate_revisions(current, "base")
    return revision != current and any(step.revision == revision for step in history)


def current_revision(database_url: str) -> str | None:
    async def read() -> str | None:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
        finally:
            await engine.dispose()

    return asyncio.run(read())
