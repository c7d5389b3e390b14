"""the audit trail is hash-chained and append-only; published plans are kept as versions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08

Entries written before this revision are chained here, oldest first, with the same hash the
service computes (`api.services.audit.entry_hash`). Then triggers make the database refuse
UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) on `audit` and `published_versions`.

A later migration that rebuilds `audit` with `batch_alter_table` on SQLite (a table copy)
drops its triggers: it must create them again (`create_triggers` below).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.db import UtcDateTime
from api.services.audit import GENESIS, entry_hash

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit", "published_versions")


def create_triggers(dialect: str, table: str) -> None:
    """Make the database refuse every UPDATE and DELETE of `table`'s rows."""
    if dialect == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
        )


def drop_triggers(dialect: str, table: str) -> None:
    """Undo `create_triggers`."""
    if dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        return
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def _chain_existing_rows() -> None:
    audit = sa.table(
        "audit",
        sa.column("id", sa.Integer()),
        sa.column("at", UtcDateTime()),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("entity", sa.String()),
        sa.column("entity_id", sa.String()),
        sa.column("before", sa.JSON()),
        sa.column("after", sa.JSON()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    bind = op.get_bind()
    prev_hash = GENESIS
    for row in bind.execute(sa.select(audit).order_by(audit.c.id)).mappings().all():
        digest = entry_hash(
            prev_hash=prev_hash,
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            entity=row["entity"],
            entity_id=row["entity_id"],
            before=row["before"],
            after=row["after"],
            reason=None,
            request_id=None,
        )
        bind.execute(
            sa.update(audit).where(audit.c.id == row["id"]).values(prev_hash=prev_hash, hash=digest)
        )
        prev_hash = digest


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("request_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _chain_existing_rows()
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
    op.create_table(
        "published_versions",
        sa.Column("n", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("instance_json", sa.Text(), nullable=False),
        sa.Column("schedule_json", sa.Text(), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("meaning", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("n"),
    )
    # Only now, with every row chained and every table rebuilt, does the database refuse edits.
    if dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$"
        )
    for table in APPEND_ONLY:
        create_triggers(dialect, table)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        drop_triggers(dialect, table)
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS refuse_change()")
    op.drop_table("published_versions")
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("request_id")
        batch_op.drop_column("reason")
