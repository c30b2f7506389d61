"""Imports every domain's models so the metadata is complete (for alembic and the test schema)."""

from __future__ import annotations


def load_all_models() -> None:
    import backend.accounts.models
    import backend.availability.models
    import backend.demand.models
    import backend.learning.models
    import backend.notify.models
    import backend.roster.models
    import backend.shifts.models  # noqa: F401
