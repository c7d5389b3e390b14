"""API keys: created for a client once (only the hash is stored) and looked up on every request."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import Engine, select

from api.db import ApiKey, session_factory, utc_now
from api.store import Store

ROLES = ("coordinator", "order-system")
COORDINATOR, ORDER_SYSTEM = ROLES


def hash_key(key: str) -> str:
    """Keys are random 256-bit tokens, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(engine: Engine, name: str, role: str) -> str:
    """Create a key for a client; the key is returned once and only its hash is stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    key = "cs_" + secrets.token_urlsafe(32)
    with session_factory(engine)() as session, session.begin():
        if session.scalar(select(ApiKey).where(ApiKey.name == name)) is not None:
            raise ValueError(f"a key named {name!r} already exists")
        session.add(ApiKey(name=name, role=role, key_hash=hash_key(key), created_at=utc_now()))
    return key


class KeyService:
    """Who holds a key."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def owner(self, key: str) -> tuple[str, str] | None:
        """(name, role) of a valid key."""
        with self.store.sessions() as session:
            row = session.scalar(
                select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
            )
            return None if row is None else (row.name, row.role)
