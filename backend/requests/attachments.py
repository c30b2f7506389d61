"""Files sent with a request (a screenshot, a PDF, a log): checked on the way in, served only to those who may
see the request, and never shown inline.

What a file is comes from its first bytes, never from its name or the browser's word: a program renamed
``.png`` is refused. The stored name is made safe (no path, no control characters) and given the extension of
what the file is, and the answer that serves it says ``attachment``, ``nosniff`` and a sandboxing CSP, so a file
that is also valid HTML or script is never run by the browser on our origin.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from litestar.datastructures import UploadFile
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from backend.accounts.models import User
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.requests import history
from backend.requests.access import is_request_staff, visible_request
from backend.requests.models import Attachment, EventKind, Request, RequestEvent

MAX_BYTES = 2 * 1024 * 1024
FILENAME_MAX = 120
FIELD = "file"
TEXT = "text/plain; charset=utf-8"
TEXT_EXTENSIONS = frozenset({"txt", "log", "csv", "md", "json"})
# What a file's first bytes say it is: (content type, the extension it is stored with, others it may keep).
SIGNATURES: tuple[tuple[bytes, str, str, frozenset[str]], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png", frozenset()),
    (b"\xff\xd8\xff", "image/jpeg", "jpg", frozenset({"jpeg"})),
    (b"GIF87a", "image/gif", "gif", frozenset()),
    (b"GIF89a", "image/gif", "gif", frozenset()),
    (b"%PDF-", "application/pdf", "pdf", frozenset()),
)
UNSAFE_CHARACTERS = re.compile(r"[^\w.\- ()]+")
# Headers every served file carries: download it, never guess its type, and run nothing in it.
SERVE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
}


@dataclass(frozen=True)
class Upload:
    """A file as it came with a form: the name the browser gave it and its bytes (at most ``MAX_BYTES`` + 1 read,
    so a larger one is still seen to be too big)."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class AttachmentView:
    """An attachment as a page lists it (its bytes left in the database)."""

    id: int
    request_id: int
    filename: str
    content_type: str
    size: int
    created_at: dt.datetime

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


def _kind_of(data: bytes) -> tuple[str, str, frozenset[str]] | None:
    for magic, content_type, extension, others in SIGNATURES:
        if data.startswith(magic):
            return content_type, extension, others
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp", frozenset()
    if b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return TEXT, "txt", TEXT_EXTENSIONS
    return None


def _safe_stem(filename: str) -> tuple[str, str]:
    """The name without any folder, control or unsafe character, split at its last dot."""
    base = re.split(r"[\\/]", filename)[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    base = UNSAFE_CHARACTERS.sub("_", base).strip(" ._")
    stem, dot, extension = base.rpartition(".")
    if not dot:
        return base, ""
    return stem.strip(" ._"), extension.lower()


def check_upload(filename: str, data: bytes) -> tuple[str, str]:
    """The safe name and content type of a file an asker sends, or a refusal naming ``file``: empty, larger than
    ``MAX_BYTES``, or not a picture (PNG, JPEG, WebP, GIF), a PDF or plain UTF-8 text."""
    if not data:
        raise DomainError(_("The file is empty."), field=FIELD)
    if len(data) > MAX_BYTES:
        raise DomainError(_("The file is larger than %(size)s MB.", size=MAX_BYTES // (1024 * 1024)), field=FIELD)
    found = _kind_of(data)
    if found is None:
        raise DomainError(
            _("Send a picture (PNG, JPEG, WebP or GIF), a PDF or a plain text file; this file is none of them."),
            field=FIELD,
        )
    content_type, extension, others = found
    stem, given = _safe_stem(filename)
    if given not in others:
        given = extension
    stem = (stem or _("file"))[: FILENAME_MAX - len(given) - 1]
    return f"{stem}.{given}", content_type


async def store(
    session: AsyncSession,
    *,
    request: Request,
    uploader: User,
    filename: str,
    data: bytes,
    event: RequestEvent | None = None,
    now: dt.datetime,
) -> Attachment:
    """Keep a checked file with ``request``: beside ``event`` (the answer or reply it came with), or with an
    ``attached`` event of its own."""
    safe_name, content_type = check_upload(filename, data)
    if event is None:
        event = await history.record(
            session,
            request,
            EventKind.attached,
            at=now,
            actor_id=uploader.id,
            values={"filename": safe_name, "size": len(data)},
        )
    attachment = Attachment(
        request_id=request.id,
        event_id=event.id,
        uploaded_by_id=uploader.id,
        filename=safe_name,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        created_at=now,
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def _internal_event_ids(session: AsyncSession, request_id: int) -> set[int]:
    found = await session.scalars(
        select(RequestEvent.id).where(RequestEvent.request_id == request_id, RequestEvent.internal.is_(True))
    )
    return set(found)


async def attachment_for(session: AsyncSession, *, request_id: int, attachment_id: int, viewer: User) -> Attachment:
    """A file of a request ``viewer`` may see; one sent with a staff-only entry is staff's alone. 404 otherwise."""
    await visible_request(session, request_id=request_id, viewer=viewer)
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None or attachment.request_id != request_id:
        raise NotFound("attachment")
    hidden = set() if is_request_staff(viewer) else await _internal_event_ids(session, request_id)
    if attachment.event_id is not None and attachment.event_id in hidden:
        raise NotFound("attachment")
    return attachment


async def attachments_of(session: AsyncSession, *, request_id: int, internal: bool) -> list[AttachmentView]:
    """A request's files, oldest first, without their bytes; ``internal`` False leaves out those sent with a
    staff-only entry (the asker's view)."""
    rows = await session.scalars(
        select(Attachment)
        .options(defer(Attachment.data))
        .where(Attachment.request_id == request_id)
        .order_by(Attachment.created_at, Attachment.id)
    )
    hidden = set() if internal else await _internal_event_ids(session, request_id)
    return [
        AttachmentView(
            id=row.id,
            request_id=row.request_id,
            filename=row.filename,
            content_type=row.content_type,
            size=row.size,
            created_at=row.created_at,
        )
        for row in rows
        if row.event_id is None or row.event_id not in hidden
    ]


def content_disposition(filename: str) -> str:
    """``attachment`` with the name in ASCII for old clients and in UTF-8 (RFC 6266) for the rest."""
    fallback = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def serve_headers(attachment: Attachment) -> dict[str, str]:
    """The headers a served file carries (its content type is the response's media type)."""
    return {"Content-Disposition": content_disposition(attachment.filename), **SERVE_HEADERS}


async def upload_of(value: object) -> Upload | None:
    """The file a form field carried, if one was chosen: its name and at most one byte more than ``MAX_BYTES`` (so
    a larger file is still seen to be too big by ``check_upload``)."""
    if not isinstance(value, UploadFile) or not value.filename:
        return None
    return Upload(filename=value.filename, data=await value.read(MAX_BYTES + 1))
