"""Reading work-record CSV rows: the header, each column's problems, and the sample file offered for download."""

from __future__ import annotations

import csv
import datetime as dt

from backend.work.csv_import import COLUMNS, SAMPLE_CSV, WorkRowReader
from backend.work.models import WorkKind

HEADER = list(COLUMNS)


def row(**values: str) -> list[str]:
    base = {
        "source": "genesys",
        "external_id": "c-1",
        "agent_id": "17",
        "external_agent_id": "",
        "occurred_at": "2026-12-01T18:05:00+08:00",
        "kind": "call",
        "count": "",
        "handled_seconds": "240",
        "csat": "5",
        "resolved": "yes",
        "skill": "billing",
    }
    return [{**base, **values}[name] for name in HEADER]


def test_the_documented_header_is_accepted_in_any_order_and_case() -> None:
    assert WorkRowReader(HEADER).header_problems() == []
    assert WorkRowReader([name.upper() for name in reversed(HEADER)]).header_problems() == []
    minimal = ["source", "external_id", "external_agent_id", "occurred_at", "kind"]
    assert WorkRowReader(minimal).header_problems() == []


def test_a_header_missing_columns_or_naming_unknown_ones_is_explained() -> None:
    problems = WorkRowReader(["source", "external_id", "when", "kind", "kind"]).header_problems()
    assert "missing column occurred_at" in problems
    assert "missing column agent_id / external_agent_id" in problems
    assert "unknown column when" in problems
    assert "a column is named twice" in problems
    assert problems[-1].startswith("expected the columns source,external_id,agent_id")


def test_a_good_row_becomes_a_record_with_defaults_filled() -> None:
    incoming, problems = WorkRowReader(HEADER).read(3, row())
    assert problems == []
    assert incoming is not None
    assert (incoming.row, incoming.source) == (3, "genesys")
    record = incoming.record
    assert record.agent_id == 17
    assert record.external_agent_id is None
    assert record.occurred_at == dt.datetime(2026, 12, 1, 10, 5, tzinfo=dt.UTC)
    assert record.kind is WorkKind.call
    assert (record.count, record.handled_seconds, record.csat, record.resolved) == (1, 240, 5, True)
    assert record.skill == "billing"


def test_every_bad_column_of_a_row_is_named() -> None:
    bad = row(source="", agent_id="x7", occurred_at="1 Dec", kind="fax", count="two", csat="high", resolved="maybe")
    incoming, problems = WorkRowReader(HEADER).read(2, bad)
    assert incoming is None
    assert [column for column, _message in problems] == [
        "source",
        "agent_id",
        "occurred_at",
        "kind",
        "count",
        "csat",
        "resolved",
    ]
    assert "kind must be one of call, chat, ticket, callback" in dict(problems)["kind"]


def test_a_row_with_the_wrong_number_of_fields_is_one_problem() -> None:
    incoming, problems = WorkRowReader(HEADER).read(5, ["genesys", "c-1"])
    assert incoming is None
    assert problems == [(None, "expected 11 fields, found 2")]


def test_resolved_reads_yes_no_true_false_and_blank() -> None:
    reader = WorkRowReader(HEADER)
    for text, expected in [("yes", True), ("TRUE", True), ("1", True), ("no", False), ("false", False), ("", None)]:
        incoming, _problems = reader.read(1, row(resolved=text))
        assert incoming is not None
        assert incoming.record.resolved is expected, text


def test_the_sample_file_reads_without_problems() -> None:
    lines = list(csv.reader(SAMPLE_CSV.splitlines()))
    reader = WorkRowReader(lines[0])
    assert reader.header_problems() == []
    for number, fields in enumerate(lines[1:], start=1):
        incoming, problems = reader.read(number, fields)
        assert problems == []
        assert incoming is not None
