"""API keys: created for a client once (only the hash is stored) and looked up on every request."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select

from api.db import ApiKey, session_factory, utc_now
from api.services.audit import record
from api.store import Store

ROLES = ("coordinator", "order-system")
COORDINATOR, ORDER_SYSTEM = ROLES
MAX_KEY = 200  # ours are 46 characters


def hash_key(key: str) -> str:
    """Keys are random 256-bit tokens, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(key.encode()).hexdigest()


MAX_NAME = 100  # the length of `api_keys.name` and of every column that names a caller
MAX_REASON = 500  # the longest reason a change that undoes something may give


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the key's name (for the audit trail), its role and its hospitals."""

    name: str
    role: str
    hospitals: frozenset[str] | None = None  # None: every hospital

    def serves(self, hospital: str) -> bool:
        """Whether this key may ask, book, read and cancel for `hospital`."""
        return self.hospitals is None or hospital in self.hospitals


def create_key(
    engine: Engine,
    name: str,
    role: str,
    hospitals: Sequence[str] | None = None,
    actor: str = "cli",
) -> str:
    """Create a key for a client; the key is returned once and only its hash is stored.

    `hospitals` binds an order-system key to those hospitals; without them it serves all.
    The creation is audited as done by `actor` (who ran the command).
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not 1 <= len(name) <= MAX_NAME:
        raise ValueError(f"a key's name has 1 to {MAX_NAME} characters, not {len(name)}")
    if hospitals and role != ORDER_SYSTEM:
        raise ValueError("only order-system keys belong to hospitals")
    if hospitals and any(not 1 <= len(h) <= MAX_NAME for h in hospitals):
        raise ValueError(f"a hospital id has 1 to {MAX_NAME} characters")
    key = "cs_" + secrets.token_urlsafe(32)
    with session_factory(engine)() as session, session.begin():
        if session.scalar(select(ApiKey).where(ApiKey.name == name)) is not None:
            raise ValueError(f"a key named {name!r} already exists")
        row = ApiKey(
            name=name,
            role=role,
            key_hash=hash_key(key),
            created_at=utc_now(),
            hospitals=sorted(set(hospitals)) if hospitals else None,
        )
        session.add(row)
        record(session, actor, "key.created", "api_key", name, None, _described(row))
    return key


def revoke_key(engine: Engine, name: str, reason: str, actor: str = "cli") -> None:
    """Revoke an active key (refused from then on), with the reason in the audit trail.

    ValueError when there is no active key of that name, or no reason.
    """
    if not 1 <= len(reason.strip()) <= MAX_REASON:
        raise ValueError(f"a reason has 1 to {MAX_REASON} characters")
    with session_factory(engine)() as session, session.begin():
        row = session.scalar(
            select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)).with_for_update()
        )
        if row is None:
            raise ValueError(f"no active key named {name!r}")
        before = _described(row)
        row.revoked_at = utc_now()
        session.flush()
        record(
            session, actor, "key.revoked", "api_key", name, before, _described(row), reason=reason
        )


def _described(row: ApiKey) -> dict[str, object]:
    """A key as the audit trail shows it: never the key, nor its hash."""
    return {
        "name": row.name,
        "role": row.role,
        "hospitals": row.hospitals,
        "created_at": row.created_at.isoformat(),
        "revoked_at": None if row.revoked_at is None else row.revoked_at.isoformat(),
    }


class KeyService:
    """Who holds a key."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def owner(self, key: str) -> Caller | None:
        """Who holds a valid (not revoked) key."""
        if len(key) > MAX_KEY:  # not one of ours: no need to hash megabytes
            return None
        with self.store.sessions() as session:
            row = session.scalar(
                select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
            )
            if row is None:
                return None
            hospitals = None if row.hospitals is None else frozenset(row.hospitals)
            return Caller(row.name, row.role, hospitals)
