"""The audit trail: every change appended in the transaction that makes it, hash-chained, read oldest first.

Each entry stores the SHA-256 of its canonical content (`entry_hash`) together with the
previous entry's hash, so an edited, removed or reordered entry breaks the chain from there
on; `verify_chain` finds the first break. The database itself refuses UPDATE and DELETE on
the table (triggers of migration 0004). `record` is the only way entries are written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from api.context import current_request_id
from api.db import AuditEntry, session_factory, utc_now
from api.schemas import AuditOut
from api.store import Store

GENESIS = "0" * 64  # the link of the first entry
# The key of the PostgreSQL advisory lock that serialises appends (any constant bigint).
APPEND_LOCK = 0x0A0D17C4A1
CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "entity",
    "entity_id",
    "before",
    "after",
    "reason",
    "request_id",
    "prev_hash",
    "hash",
)


def plain_json(value: Any) -> Any:
    """A value as it comes back from a JSON column (tuples become lists, keys strings)."""
    return None if value is None else json.loads(json.dumps(value))


def entry_hash(
    *,
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: Any,
    after: Any,
    reason: str | None,
    request_id: str | None,
) -> str:
    """SHA-256 of an entry's canonical content: sorted-key compact JSON, `at` as ISO UTC."""
    content = {
        "prev_hash": prev_hash,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "before": before,
        "after": after,
        "reason": reason,
        "request_id": request_id,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def hash_of(entry: AuditEntry) -> str:
    """The hash a stored entry should carry, from its content and its stored link."""
    return entry_hash(
        prev_hash=entry.prev_hash,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        entity=entry.entity,
        entity_id=entry.entity_id,
        before=entry.before,
        after=entry.after,
        reason=entry.reason,
        request_id=entry.request_id,
    )


def _take_append_lock(session: Session) -> None:
    """Serialise appenders until this transaction ends, so each chains onto the true last entry."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK})
    else:
        # SQLite: a write statement (here one that matches no row, so no trigger fires) takes
        # the database's write lock; every later read in this transaction sees the last commit.
        session.execute(text("UPDATE audit SET id = id WHERE 0 = 1"))


def record(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: Any = None,
    after: Any = None,
    *,
    reason: str | None = None,
    request_id: str | None = None,
) -> AuditEntry:
    """Append one change to the audit trail, in the caller's transaction, chained onto the last entry.

    The append lock is held until the caller's transaction ends, so record as the last step
    that takes a lock. `request_id` defaults to the id of the request being served.
    """
    if request_id is None:
        request_id = current_request_id()
    session.flush()  # this transaction's own earlier entries come first in the chain
    _take_append_lock(session)
    last = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    prev_hash = last or GENESIS
    at = utc_now()
    before, after = plain_json(before), plain_json(after)
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
        reason=reason,
        request_id=request_id,
        prev_hash=prev_hash,
        hash=entry_hash(
            prev_hash=prev_hash,
            at=at,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
            reason=reason,
            request_id=request_id,
        ),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainCheck:
    """What `verify_chain` found: how many entries, the last hash, and the first break if any."""

    count: int
    last_hash: str
    broken_id: int | None = None
    broken_at: datetime | None = None
    broken_action: str | None = None
    problem: str | None = None

    @property
    def whole(self) -> bool:
        """Whether every entry's hash and link hold."""
        return self.broken_id is None


def verify_chain(engine: Engine) -> ChainCheck:
    """Walk the trail oldest first; the first entry whose link or hash does not hold, if any."""
    expected = GENESIS
    count = 0
    with session_factory(engine)() as session:
        for entry in session.scalars(
            select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=500)
        ):
            problem = None
            if entry.prev_hash != expected:
                problem = (
                    f"its link {entry.prev_hash!r} is not the previous entry's hash {expected!r}"
                )
            elif entry.hash != hash_of(entry):
                problem = f"its hash {entry.hash!r} does not match its content"
            if problem is not None:
                return ChainCheck(count, expected, entry.id, entry.at, entry.action, problem)
            expected = entry.hash
            count += 1
    return ChainCheck(count, expected)


def _out(r: AuditEntry) -> AuditOut:
    return AuditOut(
        id=r.id,
        at=r.at.isoformat(),
        actor=r.actor,
        action=r.action,
        entity=r.entity,
        entity_id=r.entity_id,
        before=r.before,
        after=r.after,
        reason=r.reason,
        request_id=r.request_id,
        prev_hash=r.prev_hash,
        hash=r.hash,
    )


def as_csv(entries: list[AuditOut]) -> str:
    """Entries as CSV, one row each; before and after as JSON (empty when there is none)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        row = entry.model_dump()
        for column in ("before", "after"):
            row[column] = "" if row[column] is None else json.dumps(row[column], sort_keys=True)
        writer.writerow("" if row[c] is None else row[c] for c in CSV_COLUMNS)
    return buffer.getvalue()


class AuditService:
    """Reads the audit trail (the API only ever appends to it)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def entries(self, since: datetime | None, limit: int) -> list[AuditOut]:
        """The audit trail from `since` on, oldest first."""
        with self.store.sessions() as session:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if since is not None:
                query = query.where(AuditEntry.at >= since)
            return [_out(r) for r in session.scalars(query.limit(limit)).all()]

    def csv(self, since: datetime | None, limit: int) -> str:
        """The same entries as CSV, for an inspector."""
        return as_csv(self.entries(since, limit))
