"""A Web Push service stand-in on loopback, and browsers that subscribe to it.

It does what a real push service and a real browser do between them: checks
the VAPID JWT (ES256 signature with the server's public key, ``aud`` = this
origin, ``exp`` in the future and at most 24 h away) and decrypts the
aes128gcm body with the private key and auth secret the "browser" generated.
A test can script its answers (201, 404, 410, 429 with Retry-After, 500).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_JWT_LIFETIME_SECONDS = 24 * 3600
TOPIC_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """One browser's push subscription: a P-256 key pair and a 16-byte auth secret, as PushManager makes them."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def subscription(self) -> dict[str, Any]:
        """``PushSubscription.toJSON()``."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth_secret)},
        }

    def decrypt(self, body: bytes) -> bytes:
        return http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm")


@dataclass
class Delivery:
    """One message the service accepted for checking: its headers (lower-cased), verified claims, plaintext."""

    browser: Browser
    headers: dict[str, str]
    claims: dict[str, Any]
    payload: dict[str, Any]
    status: int


class Refused(Exception):
    """The request would be refused by a real push service (bad JWT, bad body)."""


class PushService:
    """``POST /push/{token}`` as a push service answers it; start with ``await service.start()``."""

    def __init__(self) -> None:
        self.origin = ""
        self.server_key = ""  # the application server's VAPID public key, base64url
        self.browsers: dict[str, Browser] = {}
        self.deliveries: list[Delivery] = []
        self.refusals: list[str] = []
        self.script: deque[tuple[int, dict[str, str]]] = deque()
        self.delivered = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/push/{token}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.origin = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def browser(self) -> Browser:
        token = secrets.token_urlsafe(16)
        browser = Browser(endpoint=f"{self.origin}/push/{token}")
        self.browsers[token] = browser
        return browser

    def answer(self, status: int, times: int = 1, **headers: str) -> None:
        """The next ``times`` messages get ``status`` (and headers such as ``Retry_After``)."""
        for _ in range(times):
            self.script.append((status, {name.replace("_", "-"): value for name, value in headers.items()}))

    async def _receive(self, request: web.Request) -> web.Response:
        browser = self.browsers.get(request.match_info["token"])
        if browser is None:
            return web.Response(status=404, text="no such subscription")
        body = await request.read()
        try:
            claims = self._verify_jwt(request.headers.get("Authorization", ""))
            self._check_headers(request.headers)
            payload = json.loads(browser.decrypt(body))
        except (Refused, ValueError, KeyError) as error:
            self.refusals.append(f"{type(error).__name__}: {error}")
            return web.Response(status=400, text=str(error))
        status, headers = self.script.popleft() if self.script else (201, {})
        self.deliveries.append(
            Delivery(browser, {k.lower(): v for k, v in request.headers.items()}, claims, payload, status)
        )
        self.delivered.set()
        return web.Response(status=status, headers=headers)

    def _check_headers(self, headers: Any) -> None:
        if headers.get("Content-Encoding") != "aes128gcm":
            raise Refused(f"Content-Encoding {headers.get('Content-Encoding')!r}")
        if not headers.get("TTL", "").isdigit():
            raise Refused("TTL missing")
        if headers.get("Urgency", "normal") not in {"very-low", "low", "normal", "high"}:
            raise Refused(f"Urgency {headers.get('Urgency')!r}")
        topic = headers.get("Topic")
        if topic is not None and (len(topic) > 32 or not set(topic) <= TOPIC_ALPHABET):
            raise Refused(f"Topic {topic!r}")

    def _verify_jwt(self, authorization: str) -> dict[str, Any]:
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise Refused(f"authorization scheme {scheme!r}")
        parts = dict(part.strip().split("=", 1) for part in rest.split(","))
        if parts.get("k") != self.server_key:
            raise Refused("k is not the application server key the browser subscribed with")
        header_b64, claims_b64, signature_b64 = parts["t"].split(".")
        header = json.loads(unb64url(header_b64))
        if header.get("alg") != "ES256":
            raise Refused(f"alg {header.get('alg')!r}")
        signature = unb64url(signature_b64)
        if len(signature) != 64:
            raise Refused("signature is not 64 bytes")
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
        try:
            public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise Refused("bad signature") from None
        claims = json.loads(unb64url(claims_b64))
        if claims.get("aud") != self.origin:
            raise Refused(f"aud {claims.get('aud')!r} is not {self.origin}")
        now = time.time()
        if not now < int(claims.get("exp", 0)) <= now + MAX_JWT_LIFETIME_SECONDS:
            raise Refused(f"exp {claims.get('exp')} not within 24 h")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
            raise Refused(f"sub {claims.get('sub')!r}")
        return claims


class PushServiceThread:
    """The stand-in on its own event loop in a thread, for code that runs ``asyncio.run`` itself (the CLI)."""

    def __init__(self) -> None:
        self.service = PushService()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> PushService:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.service.start(), self._loop).result(timeout=10)
        return self.service

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self.service.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
