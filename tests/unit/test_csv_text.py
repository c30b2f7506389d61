"""The one CSV reading path and the one spreadsheet guard (issue 15, items 7, 14 and 5c).

Reading: strict UTF-8 (a BOM allowed), any line ending wherever the chunks are
cut, bounded lines, one row per line; what cannot be read is refused at its row,
never replaced and never a crash. Writing: every text cell a spreadsheet could
run as a formula is prefixed with ``'``. The last two tests hold the class: no
other module parses CSV, and every module writing CSV or XLSX uses the guard.
"""

from __future__ import annotations

import csv
import tracemalloc
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from backend.core.csv_text import MAX_LINE_BYTES, UnreadableCsv, csv_rows, spreadsheet_text

BACKEND = Path(__file__).resolve().parents[2] / "backend"


async def stream(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def cut(data: bytes, size: int) -> list[bytes]:
    return [data[offset : offset + size] for offset in range(0, len(data), size)]


async def read_all(chunks: Iterable[bytes]) -> list[tuple[int, list[str]]]:
    return [row async for row in csv_rows(stream(chunks))]


async def refusal(chunks: Iterable[bytes]) -> tuple[list[tuple[int, list[str]]], UnreadableCsv]:
    """The rows read before the refusal, and the refusal."""
    rows: list[tuple[int, list[str]]] = []
    reading = csv_rows(stream(chunks))
    while True:
        try:
            rows.append(await anext(reading))
        except UnreadableCsv as refused:
            return rows, refused
        except StopAsyncIteration:
            raise AssertionError(f"the file was read whole: {rows}") from None


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
async def test_every_line_ending_gives_the_same_rows_wherever_the_chunks_are_cut(line_end: bytes) -> None:
    lines = [b"\xef\xbb\xbfa,b", b'"x, with a comma",y', b"", "张三,李四".encode(), b"last,one"]
    data = line_end.join(lines)
    expected = [(0, ["a", "b"]), (1, ["x, with a comma", "y"]), (3, ["张三", "李四"]), (4, ["last", "one"])]
    for size in range(1, len(data) + 1):
        assert await read_all(cut(data, size)) == expected, size
        assert await read_all(cut(data + line_end, size)) == expected, size


async def test_gbk_bytes_are_refused_at_their_row_and_never_replaced() -> None:
    data = b"source,external_id\ngenesys,c-1\n" + "genesys,张三\ngenesys,李四\n".encode("gbk")
    for size in (1, 5, 64 * 1024):
        rows, refused = await refusal(cut(data, size))
        assert rows == [(0, ["source", "external_id"]), (1, ["genesys", "c-1"])]
        assert refused.row == 2
        assert "not UTF-8" in refused.message
        assert "CSV UTF-8" in refused.message  # how to save it from Excel


async def test_a_field_over_the_csv_modules_limit_is_refused_at_its_row() -> None:
    field = "x" * (csv.field_size_limit() + 1)
    rows, refused = await refusal([f'a,b\n1,2\n"{field}",3\n4,5\n'.encode()])
    assert rows == [(0, ["a", "b"]), (1, ["1", "2"])]
    assert refused.row == 2
    assert f"longer than {MAX_LINE_BYTES} bytes" in refused.message


async def test_a_20_mb_line_is_refused_after_its_first_chunk_in_little_memory() -> None:
    taken = 0

    async def endless_line() -> AsyncIterator[bytes]:
        nonlocal taken
        yield b"a,b\n"
        for _ in range(20):
            taken += 1
            yield b"x" * (1024 * 1024)

    tracemalloc.start()
    try:
        with pytest.raises(UnreadableCsv) as refused:
            async for _row in csv_rows(endless_line()):
                pass
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.row == 1
    assert taken == 1
    assert peak < 4 * 1024 * 1024


@pytest.mark.parametrize(
    "bad_line",
    [b'"genesys,c-9', b'genesys,"c-9', b'"genesys"x,c-9'],
    ids=["open at the start", "open in a field", "text after the closing quote"],
)
async def test_unmatched_quotes_are_refused_at_their_row_wherever_the_chunks_are_cut(bad_line: bytes) -> None:
    data = b"a,b\n1,2\n" + bad_line + b"\n3,4\n5,6\n"
    for size in range(1, len(data) + 1):
        rows, refused = await refusal(cut(data, size))
        assert rows == [(0, ["a", "b"]), (1, ["1", "2"])], size
        assert refused.row == 2, size
        assert "quotes" in refused.message


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20"])
def test_text_a_spreadsheet_could_run_is_prefixed(start: str) -> None:
    for text in (f'{start}HYPERLINK("http://x")', f"  {start}1+1", f"\u3000{start}cmd"):
        assert spreadsheet_text(text) == "'" + text


@pytest.mark.parametrize("text", ["", "   ", "Ann Lee", "王小明", "12.50", "CSAT ≥ 4.5: +10%", "a=b", "'quoted"])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert spreadsheet_text(text) == text


def _modules_containing(*needles: str) -> list[Path]:
    return sorted(path for path in BACKEND.rglob("*.py") if any(needle in path.read_text() for needle in needles))


def test_only_the_one_reading_path_parses_csv() -> None:
    readers = _modules_containing("csv.reader(", "csv.DictReader(", "getincrementaldecoder(")
    assert [path.relative_to(BACKEND).as_posix() for path in readers] == ["core/csv_text.py"]


def test_every_module_writing_csv_or_xlsx_guards_its_text_cells() -> None:
    writers = _modules_containing("csv.writer(", "csv.DictWriter(", "xlsxwriter", "openpyxl")
    assert writers, "the settlement exports write CSV and XLSX"
    for path in writers:
        assert "spreadsheet_text(" in path.read_text(), path.relative_to(BACKEND).as_posix()
