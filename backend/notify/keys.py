"""The server's VAPID key pair: made at start-up, kept in the database, or given by WEFT_VAPID_PRIVATE_KEY.

Browsers bind each subscription to the public key they subscribed with, so the
key must never change behind their back and must be the same in every
process: the first process to need it inserts it, the others read that row.
The app, the worker and ``weft migrate`` make it when they start (best effort,
so a read-only database still starts); a read (``GET /api/v1/push/key``) only
reads it and answers 503 until it exists, as a GET never writes.
"""

from __future__ import annotations

import base64
import logging

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import Database
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.settings import Settings
from backend.notify.models import VapidKey

KEY_ROW_ID = 1
log = logging.getLogger(__name__)


class PushNotSetUp(DomainError):
    """The key pair is not made yet (no start-up has managed to write it): push cannot be offered."""

    status_code = 503


class VapidPair(msgspec.Struct, frozen=True):
    """Both halves as base64url without padding: the raw 32-byte private scalar, the 65-byte public point."""

    private_key: str
    public_key: str


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pair_of(private: ec.EllipticCurvePrivateKey) -> VapidPair:
    scalar = private.private_numbers().private_value.to_bytes(32, "big")
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return VapidPair(private_key=b64url(scalar), public_key=b64url(point))


def pair_from_private(private_key: str) -> VapidPair:
    scalar = int.from_bytes(b64url_decode(private_key), "big")
    return pair_of(ec.derive_private_key(scalar, ec.SECP256R1()))


def generate_pair() -> VapidPair:
    return pair_of(ec.generate_private_key(ec.SECP256R1()))


async def stored_vapid_pair(session: AsyncSession, settings: Settings) -> VapidPair:
    """The key pair as it stands, for reads: the configured one, else the stored one; 503 when neither is."""
    if settings.vapid_private_key:
        return pair_from_private(settings.vapid_private_key)
    row = await session.get(VapidKey, KEY_ROW_ID)
    if row is None:
        raise PushNotSetUp(_("Push is not set up yet: try again once the server has finished starting."))
    return VapidPair(private_key=row.private_key, public_key=row.public_key)


async def prepare_vapid_key(database: Database, settings: Settings) -> None:
    """Make the key pair at start-up, so reads find it. Best effort: a database that is read-only or not
    migrated yet must not stop the app or the worker from starting, so it is said in one line instead."""
    try:
        async with database.session(write=True) as session:
            await vapid_pair(session, settings)
    except Exception as error:  # noqa: BLE001 - start-up goes on without the key; the warning says why
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        log.warning("push key not made at start-up (%s); push answers 503 until a start-up can write it", reason)


async def vapid_pair(session: AsyncSession, settings: Settings) -> VapidPair:
    """The key pair to sign with, on write paths: the configured one, else the stored one, made now if there
    is none."""
    if settings.vapid_private_key:
        return pair_from_private(settings.vapid_private_key)
    row = await session.get(VapidKey, KEY_ROW_ID)
    if row is None:
        fresh = generate_pair()
        insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            insert(VapidKey)
            .values(id=KEY_ROW_ID, private_key=fresh.private_key, public_key=fresh.public_key)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        row = await session.scalar(select(VapidKey).where(VapidKey.id == KEY_ROW_ID))
    assert row is not None
    return VapidPair(private_key=row.private_key, public_key=row.public_key)
