"""Every domain's models, so the metadata is complete (for alembic and the test schema).

Importing this module is what loads them: ``metadata`` is ``Base.metadata`` with every table in it.
"""

from __future__ import annotations

import backend.accounts.models
import backend.availability.models
import backend.certifications.models
import backend.demand.models
import backend.growth.models
import backend.handover.models
import backend.learning.case_models
import backend.learning.models
import backend.notify.models
import backend.ops.models
import backend.pay.ledger  # the guard that refuses changes to anything posted
import backend.pay.models
import backend.payouts.models
import backend.requests.models
import backend.roster.models
import backend.shifts.models
import backend.work.models  # noqa: F401
from backend.core.db import Base
from backend.learning.case_models import is_search_object

metadata = Base.metadata


def in_schema_comparison(name: str | None, type_: str, parent_names: dict[str, str | None]) -> bool:
    """Alembic's ``include_name`` hook: comparing the models with the database skips what only migrations make,
    the case library's full-text search index (an FTS5 table and its shadows, a GIN expression index)."""
    return not (type_ in {"table", "index"} and is_search_object(name))
