"""The history parser streams: a 200 MB upload is checked row by row in a few megabytes of memory.

The big file's rows are padded (fixed-width exports pad their numbers with
spaces, which the parser accepts) so 200 MB is about 140,000 rows: this test
is about the byte stream never being held whole, and stays within seconds
under tracemalloc. The cost per row is measured by the benchmark (one
million realistic rows through the real import, with its peak memory).
"""

from __future__ import annotations

import datetime as dt
import tracemalloc
from collections.abc import AsyncIterator

from backend.core.csv_text import csv_rows
from backend.core.slots import SLOT_SECONDS
from backend.demand.history import RowReader, SeenSlots, chunks_of

SKILLS = {"general": 1, "billing": 2, "tech": 3}
NOW = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
TARGET_BYTES = 200 * 1024 * 1024
CHUNK_BYTES = 256 * 1024
PADDING = " " * 1400


async def big_upload(total_bytes: int) -> AsyncIterator[bytes]:
    """A valid CSV of ``total_bytes`` made on the fly, as a client's upload arrives: nothing is on disk."""
    yield b"interval_start,skill,offered,handled,aht_seconds,abandoned\n"
    sent = 0
    slot = int(dt.datetime(2011, 1, 1, tzinfo=dt.UTC).timestamp()) // SLOT_SECONDS
    while sent < total_bytes:
        lines = []
        for _ in range(200):
            start = dt.datetime.fromtimestamp(slot * SLOT_SECONDS, dt.UTC).isoformat()
            lines.extend(
                f"{start},{code},{45 + slot % 17},{38 + slot % 3},{PADDING}{250 + slot % 90}.5,1\n" for code in SKILLS
            )
            slot += 1
        chunk = "".join(lines).encode()
        sent += len(chunk)
        for offset in range(0, len(chunk), CHUNK_BYTES):  # cut anywhere, even inside a line
            yield chunk[offset : offset + CHUNK_BYTES]


async def test_a_200_mb_file_is_validated_in_small_memory() -> None:
    tracemalloc.start()
    try:
        rows = csv_rows(big_upload(TARGET_BYTES))
        _header_row, header = await anext(rows)
        reader = RowReader(header, SKILLS, NOW)
        assert reader.header_problems() == []
        good = bad = 0
        async for _number, fields in rows:
            record, problems = reader.read(fields)
            good += record is not None
            bad += bool(problems)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert bad == 0
    assert good * (len(PADDING) + 60) > TARGET_BYTES  # every row of the 200 MB arrived
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


async def test_lines_split_across_chunks_are_joined() -> None:
    text = "interval_start,skill\r\n2026-11-02T09:00:00+08:00,general\r\n\r\n2026-11-02T09:30:00+08:00,tech"
    chunks = [text.encode()[i : i + 7] for i in range(0, len(text), 7)]

    async def stream() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    assert [row async for row in csv_rows(stream())] == [
        (0, ["interval_start", "skill"]),
        (1, ["2026-11-02T09:00:00+08:00", "general"]),
        (3, ["2026-11-02T09:30:00+08:00", "tech"]),
    ]


async def test_byte_order_mark_and_chunking_helper() -> None:
    rows = [row async for row in csv_rows(chunks_of(["\ufeffinterval_start,skill\n", "x,y\n"], chunk_bytes=4))]
    assert rows == [(0, ["interval_start", "skill"]), (1, ["x", "y"])]


def test_seen_slots_spot_a_repeat_per_skill() -> None:
    seen = SeenSlots()
    assert seen.add(1, 987_654)
    assert seen.add(2, 987_654)
    assert seen.add(1, 987_655)
    assert not seen.add(1, 987_654)
    assert seen.add(1, 987_654 + 70_000)  # another page
