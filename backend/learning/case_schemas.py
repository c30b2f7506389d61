"""What crosses the edge for the case library: form bodies and JSON answers.

Form fields are bounded here only loosely (twice the service's limits), so a coordinator who wrote a
little too much gets the form back with their text and a message on the field, from the service.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from backend.accounts.schemas import Form
from backend.learning import cases
from backend.learning.cases import CaseSummary, UseState

Section = Annotated[str, msgspec.Meta(max_length=2 * cases.SECTION_MAX_CHARS)]


class CaseForm(Form):
    title: Annotated[str, msgspec.Meta(max_length=2 * cases.TITLE_MAX_CHARS)] = ""
    week: Annotated[str, msgspec.Meta(max_length=16)] = ""
    language: Annotated[str, msgspec.Meta(max_length=16)] = ""
    skill: Annotated[str, msgspec.Meta(max_length=40)] = ""
    situation: Section = ""
    strategy: Section = ""
    key_points: Section = ""
    phrases: Section = ""
    action: Literal["save", "publish"] = "save"

    def draft(self) -> cases.CaseDraft:
        return cases.CaseDraft(
            title=self.title,
            situation=self.situation,
            strategy=self.strategy,
            key_points=self.key_points,
            phrases=self.phrases,
            week=self.week,
            language=self.language,
            skill=self.skill,
        )


class UseForm(Form):
    used: Literal["0", "1"]


class CommentForm(Form):
    body: Annotated[str, msgspec.Meta(max_length=2 * cases.COMMENT_MAX_CHARS)] = ""


class CaseOut(msgspec.Struct, kw_only=True):
    id: int
    title: str
    week: str
    language: str
    skill: str | None
    situation: str
    strategy: str
    key_points: list[str]
    phrases: list[str]
    published_at: dt.datetime | None
    uses: int
    recent_uses: int
    comments: int

    @classmethod
    def of(cls, summary: CaseSummary, skill_code: str | None) -> CaseOut:
        case = summary.case
        return cls(
            id=case.id,
            title=case.title,
            week=case.week,
            language=case.language,
            skill=skill_code,
            situation=case.situation,
            strategy=case.strategy,
            key_points=case.key_point_list,
            phrases=case.phrase_list,
            published_at=case.published_at,
            uses=summary.uses,
            recent_uses=summary.recent_uses,
            comments=summary.comments,
        )


class UseOut(msgspec.Struct, kw_only=True):
    case_id: int
    used: bool
    count: int

    @classmethod
    def of(cls, case_id: int, state: UseState) -> UseOut:
        return cls(case_id=case_id, used=state.used, count=state.count)
