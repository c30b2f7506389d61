"""What crosses the edge for growth: the promotion pages' forms."""

from __future__ import annotations

from typing import Annotated

import msgspec

from backend.accounts.schemas import Form
from backend.growth.models import REASON_MAX_CHARS


class DeclineForm(Form):
    reason: Annotated[str, msgspec.Meta(max_length=REASON_MAX_CHARS)] = ""
