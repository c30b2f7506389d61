"""A Web Push service stand-in on loopback, and browsers that subscribe to it.

It does what a real push service and a real browser do between them: checks
the VAPID JWT (ES256 signature with the server's public key, ``aud`` = this
origin, ``exp`` in the future and at most 24 h away) and decrypts the
aes128gcm body with the private key and auth secret the "browser" generated.
A test can script its answers (201, 404, 410, 429 with Retry-After, 500).

``Dns`` stands in for the operating system's resolver, so a test can give a push
service's name the answer it needs (a public address, or one inside the network).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import http_ece
import pytest
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_JWT_LIFETIME_SECONDS = 24 * 3600
TOPIC_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
PUBLIC_ADDRESS = "142.250.1.1"  # any address on the public internet: nothing connects to it in a test


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


class Dns:
    """``socket.getaddrinfo`` (what the event loop and every library ask) answering ``answers`` for chosen names.

    Other names go to the real resolver, so ``127.1`` or ``localhost`` resolve as the machine resolves them.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[str]] = {}
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if name not in self.answers:
                return real(host, port, family, type, proto, flags)
            number = int(port or 0)
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, number, 0, 0))
                if ":" in address
                else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, number))
                for address in self.answers[name]
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class Listener:
    """A TCP port on loopback that counts the connections made to it (and closes them): did anyone knock?"""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()
