"""A JSON body is read as JSON: a string is not a number, and ``"true"`` is not a boolean.

Litestar decodes a JSON body to plain values first and then converts them to the handler's struct in
msgspec's lax mode, the mode query strings and forms need (all their values arrive as text). For a JSON
body that let ``"seats": "3"`` through as 3: a client with a bug in its types was never told. The app's
request class decodes a JSON body straight into the handler's ``data`` type in strict mode instead, so
every JSON route refuses such a value with a 422 naming the field, and forms keep their lax reading.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

# msgspec ends a refusal with where it happened: "Expected `int`, got `str` - at `$.records[3].count`".
WHERE = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
WHOLE_BODY = "data"
"""The key Litestar gives the body as a whole (a body that is not an object, a missing body)."""


def refusal(error: msgspec.ValidationError, *, method: str, path: str) -> ValidationException:
    """msgspec's refusal as Litestar reports one (``key``: the field's path in the body), so the app's one
    validation answer names the field whichever of the two refused it."""
    found = WHERE.match(str(error))
    message = found.group("message") if found else str(error)
    at = (found.group("path") if found else "") or ""
    problem = {"message": message, "key": at.removeprefix(".") or WHOLE_BODY, "source": "body"}
    return ValidationException(detail=f"Validation failed for {method} {path}", extra=[problem])


class StrictJsonRequest(Request[Any, Any, Any]):
    """The app's request: ``json()`` is the body decoded strictly into the handler's ``data`` type."""

    async def json(self) -> Any:
        data = self.route_handler.parsed_fn_signature.parameters.get("data")
        if data is None:
            return await super().json()
        body = await self.body()
        try:
            return msgspec.json.decode(body or b"null", type=data.annotation, strict=True)
        except msgspec.ValidationError as error:
            raise refusal(error, method=self.method, path=self.url.path) from None
        except msgspec.DecodeError:
            return await super().json()  # not JSON at all: Litestar's own answer (400)
