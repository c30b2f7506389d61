"""CSV at the edge: the one way an uploaded file is read, and the one way a cell is made safe for a spreadsheet.

Reading (``csv_rows``)
    Every importer reads its upload through here, so a bad file is refused the
    same way everywhere: as a problem at a row (the caller answers 422 and
    writes nothing), never a 500 and never quietly changed data.

    - Bytes must be UTF-8, with or without a byte-order mark. Nothing is
      replaced: a GBK file read with replacement characters turned distinct
      ids into one, and the "duplicates" were skipped (issue 15). The
      refusal names the row and says how to save UTF-8 from Excel.
    - A line ends at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (old Mac and some
      exports), wherever the chunks are cut; row numbers count lines, blank
      ones included (the header is row 0 when it is the first line).
    - A line is at most ``MAX_LINE_BYTES``, checked as the bytes arrive, so a
      20 MB "line" without a newline is refused after 64 KiB, not read whole.
      The bound sits below ``csv.field_size_limit`` (131,072 characters), so
      the csv module never hits its own limit.
    - Each line is one row, parsed strictly: a quote left open (which would
      swallow the lines after it) or text after a closing quote is refused.
    Reading stops at the first unreadable row: what follows cannot be trusted
    to be cut into the same rows. The total size is bounded by each route's
    ``request_max_body_size`` (a 413).

Writing (``spreadsheet_text``)
    Excel, LibreOffice and Sheets run a cell that starts with ``= + - @`` (or a
    tab or carriage return, or their full-width forms U+FF1D, U+FF0B, U+FF0D,
    U+FF20 that a Chinese input method types) as a formula, even after leading spaces. Every text cell of
    every CSV or XLSX export goes through this one function; numbers are
    written as numbers (or in number columns), so ``-12.50`` stays a number.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import AsyncIterable, AsyncIterator, Iterator

from backend.core.errors import DomainError
from backend.core.i18n import gettext as _

MAX_LINE_BYTES = 64 * 1024
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")  # and full-width = + - @
LEADING_SPACES = " \u3000"  # an ASCII or an ideographic (full-width) space before a formula still runs it


class UnreadableCsv(DomainError):
    """The file cannot be read from ``row`` on; the importer reports it as that row's problem."""

    def __init__(self, message: str, *, row: int) -> None:
        super().__init__(message)
        self.row = row


def spreadsheet_text(text: str) -> str:
    """Text a spreadsheet shows as written and never runs as a formula: prefixed with ``'`` when it could be one."""
    return "'" + text if text.lstrip(LEADING_SPACES)[:1] in FORMULA_STARTS else text


async def csv_rows(
    chunks: AsyncIterable[bytes], *, max_line_bytes: int = MAX_LINE_BYTES
) -> AsyncIterator[tuple[int, list[str]]]:
    """(row number, fields) for each non-blank line as the bytes arrive; raises ``UnreadableCsv`` at a bad row."""
    lines = _Lines(max_line_bytes)
    async for chunk in chunks:
        for row in lines.feed(chunk):
            yield row
    for row in lines.close():
        yield row


class _Lines:
    """Cuts a byte stream into lines and parses each, keeping only an unfinished line between chunks."""

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self.pending = b""
        self.row = 0  # the number of the next line

    def feed(self, chunk: bytes) -> Iterator[tuple[int, list[str]]]:
        data = self.pending + chunk
        end = len(data) - 1 if data.endswith(b"\r") else len(data)  # a final \r may be half of \r\n
        cut = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end)) + 1
        self.pending = data[cut:]
        yield from self._parse(_split_lines(data[:cut])[:-1])
        if len(self.pending) > self.max_line_bytes:
            raise self._too_long()

    def close(self) -> Iterator[tuple[int, list[str]]]:
        lines = _split_lines(self.pending)
        self.pending = b""
        yield from self._parse(lines[:-1] if not lines[-1] else lines)

    def _too_long(self) -> UnreadableCsv:
        message = _(
            "this line is longer than %(limit)d bytes (is the file CSV, with a line break after each row?); "
            "the rest of the file was not read.",
            limit=self.max_line_bytes,
        )
        return UnreadableCsv(message, row=self.row)

    def _parse(self, lines: list[bytes]) -> Iterator[tuple[int, list[str]]]:
        if not lines:
            return
        if self.row == 0 and lines[0].startswith(codecs.BOM_UTF8):
            lines[0] = lines[0][len(codecs.BOM_UTF8) :]
        if max(map(len, lines)) > self.max_line_bytes:
            good = next(index for index, line in enumerate(lines) if len(line) > self.max_line_bytes)
            yield from self._parse(lines[:good])
            raise self._too_long()
        joined = b"\n".join(lines)
        try:
            text = joined.decode("utf-8")
        except UnicodeDecodeError as error:
            good = joined.count(b"\n", 0, error.start)
            yield from self._parse(lines[:good])
            raise UnreadableCsv(_not_utf8(), row=self.row) from None
        yield from self._fields(text.split("\n"))

    def _fields(self, texts: list[str]) -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(texts, strict=True)
        read = 0
        while True:
            try:
                fields = next(reader, None)
            except csv.Error:
                raise UnreadableCsv(_quotes_do_not_match(), row=self.row + read) from None
            if fields is None:
                break
            if reader.line_num != read + 1:  # an open quote ran on into the next line
                raise UnreadableCsv(_quotes_do_not_match(), row=self.row + read)
            read = reader.line_num
            if fields and (len(fields) > 1 or fields[0].strip()):
                yield self.row + read - 1, fields
        self.row += len(texts)


def _split_lines(data: bytes) -> list[bytes]:
    """Split at LF, CRLF or a lone CR (plain ``bytes`` methods: a regular expression costs twice the parse)."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data.split(b"\n")


def _not_utf8() -> str:
    return _(
        "this line is not UTF-8 text, so the file was not read past it. Save the file as UTF-8 "
        '(with or without a byte-order mark): in Excel, File > Save As > "CSV UTF-8 (Comma delimited)".'
    )


def _quotes_do_not_match() -> str:
    return _(
        'the quotes on this line do not match: a field that starts with " must end with " just before '
        "the next comma or the end of the line; the rest of the file was not read."
    )
