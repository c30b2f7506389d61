"""Errors a service raises; the web layer turns them into 4xx answers that name the problem."""

from __future__ import annotations

from backend.core.i18n import gettext as _


class DomainError(Exception):
    """A rule of the business refused the request (422 unless said otherwise)."""

    status_code = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The object does not exist, or is not the caller's to see: both answer 404 so ids cannot be probed."""

    status_code = 404

    def __init__(self, what: str = "object") -> None:
        super().__init__(_("Not found: it does not exist, or it is not yours to see."))
        self.what = what


class Forbidden(DomainError):
    """The caller's role may not do this to an object they can see."""

    status_code = 403


class Gone(DomainError):
    """The object existed but can no longer be used (a spent or expired link)."""

    status_code = 410


class Conflict(DomainError):
    status_code = 409


class TooManyAttempts(DomainError):
    status_code = 429

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
