"""Tamper-evident audit trails: append-only triggers and a hash chain per dealership.

Revision ID: 0004_audit_chain
Revises: 0003_auth
Create Date: 2026-12-02

Adds
- columns prev_hash, row_hash (bytea, 32 bytes, NOT NULL) to audit_logs and
  security_audit_logs; rows already there are chained here, in id order per dealership;
- table audit_chain_heads (dealership_id, chain, last_id, last_hash, row_count): the head of
  each chain. The application role has no privilege on it (only the chain trigger, running
  as the owner, reads and writes it); row-level security is enabled and forced like on every
  tenant table;
- functions dealerdesk_chain_field(text), dealerdesk_chain_time(timestamptz),
  dealerdesk_audit_log_hash(audit_logs), dealerdesk_security_audit_log_hash(security_audit_logs)
  (the canonical form and its SHA-256; db/audit_chain.py computes the same in Python),
  dealerdesk_audit_chain_append() (BEFORE INSERT ... FOR EACH ROW, SECURITY DEFINER) and
  dealerdesk_audit_append_only() (refuses UPDATE, DELETE and TRUNCATE);
- triggers on both tables: <table>_chain (BEFORE INSERT, row), <table>_no_update_delete
  (BEFORE UPDATE OR DELETE, row), <table>_no_truncate (BEFORE TRUNCATE, statement).

The canonical form of a row (see db/audit_chain.py):
  "<table>|" + "|".join(field(v) for v in (<the row's columns>, hex(prev_hash)))
where field(NULL) = "-" and field(v) = "<number of characters of v>:<v>". Columns, in order:
  audit_logs:          id, dealership_id, occurred_at, user_id, action, entity_type,
                       entity_id, changes::text, request_id
  security_audit_logs: id, dealership_id, occurred_at, user_id, event, outcome,
                       client_ip::text, user_agent, details::text, request_id
numbers in decimal, occurred_at in UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ, jsonb in PostgreSQL's
own text form. row_hash = sha256(UTF-8 of the canonical form); the first row of a chain has
prev_hash = 32 zero bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_audit_chain"
down_revision: str | None = "0003_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "dealerdesk_app"
GENESIS = "decode(repeat('00', 32), 'hex')"
TABLES = {
    "audit_logs": "dealerdesk_audit_log_hash",
    "security_audit_logs": "dealerdesk_security_audit_log_hash",
}

_FIELD = "dealerdesk_chain_field"


def _canonical(table: str, columns: list[str]) -> str:
    parts = [f"{_FIELD}({c})" for c in [*columns, "encode(r.prev_hash, 'hex')"]]
    return f"'{table}|' || " + " || '|' || ".join(parts)


AUDIT_LOG_COLUMNS = [
    "r.id::text",
    "r.dealership_id::text",
    "dealerdesk_chain_time(r.occurred_at)",
    "r.user_id::text",
    "r.action",
    "r.entity_type",
    "r.entity_id::text",
    "r.changes::text",
    "r.request_id",
]
SECURITY_AUDIT_LOG_COLUMNS = [
    "r.id::text",
    "r.dealership_id::text",
    "dealerdesk_chain_time(r.occurred_at)",
    "r.user_id::text",
    "r.event",
    "r.outcome",
    "r.client_ip::text",
    "r.user_agent",
    "r.details::text",
    "r.request_id",
]


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("prev_hash", sa.LargeBinary(), nullable=True))
        op.add_column(table, sa.Column("row_hash", sa.LargeBinary(), nullable=True))

    op.create_table(
        "audit_chain_heads",
        sa.Column("dealership_id", sa.BigInteger(), nullable=False),
        sa.Column("chain", sa.Text(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.LargeBinary(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "chain IN ('audit_logs', 'security_audit_logs')",
            name=op.f("ck_audit_chain_heads_chain"),
        ),
        sa.PrimaryKeyConstraint("dealership_id", "chain", name=op.f("pk_audit_chain_heads")),
    )
    # Out of the application's reach: no privilege at all (the chain trigger runs as the
    # owner). Row-level security as on every tenant table, in case that ever changes.
    op.execute(f"REVOKE ALL ON audit_chain_heads FROM PUBLIC, {APP_ROLE}")
    op.execute("ALTER TABLE audit_chain_heads ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE audit_chain_heads FORCE ROW LEVEL SECURITY")
    mine = "dealership_id = dealerdesk_current_dealership()"
    op.execute(
        f"CREATE POLICY tenant_read ON audit_chain_heads FOR SELECT TO {APP_ROLE} USING ({mine})"
    )
    op.execute(
        f"CREATE POLICY tenant_insert ON audit_chain_heads FOR INSERT TO {APP_ROLE} "
        f"WITH CHECK ({mine})"
    )
    op.execute(
        f"CREATE POLICY tenant_update ON audit_chain_heads FOR UPDATE TO {APP_ROLE} "
        f"USING ({mine}) WITH CHECK ({mine})"
    )

    # The canonical form, field by field: NULL is "-", anything else "<length>:<text>", so
    # no value can be mistaken for another whatever characters it holds.
    op.execute(f"""
        CREATE FUNCTION {_FIELD}(v text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT CASE WHEN v IS NULL THEN '-' ELSE char_length(v)::text || ':' || v END $$""")
    op.execute("""
        CREATE FUNCTION dealerdesk_chain_time(t timestamptz) RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$""")
    op.execute(f"""
        CREATE FUNCTION dealerdesk_audit_log_hash(r audit_logs) RETURNS bytea
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT sha256(convert_to({_canonical("audit_logs", AUDIT_LOG_COLUMNS)}, 'UTF8')) $$""")
    op.execute(f"""
        CREATE FUNCTION dealerdesk_security_audit_log_hash(r security_audit_logs) RETURNS bytea
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT sha256(convert_to({_canonical("security_audit_logs", SECURITY_AUDIT_LOG_COLUMNS)}, 'UTF8')) $$""")

    for table, hash_function in TABLES.items():
        _chain_existing_rows(table, hash_function)
        op.alter_column(table, "prev_hash", nullable=False)
        op.alter_column(table, "row_hash", nullable=False)

    # Appending: lock the dealership's chain head (creating it on the first row), take the
    # next id only now, so the chain's order is the id order, link the row to the head and
    # hash it, then move the head. The lock is held until the transaction ends, so
    # concurrent writers of one dealership append strictly one after another; a rolled-back
    # transaction takes its head update with it. Values a client sends for prev_hash,
    # row_hash or id are overwritten.
    op.execute(f"""
        CREATE FUNCTION dealerdesk_audit_chain_append() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
        AS $$
        DECLARE
          head bytea;
        BEGIN
          SELECT last_hash INTO head FROM audit_chain_heads
           WHERE dealership_id = NEW.dealership_id AND chain = TG_TABLE_NAME FOR UPDATE;
          IF NOT FOUND THEN
            INSERT INTO audit_chain_heads (dealership_id, chain, last_id, last_hash, row_count)
            VALUES (NEW.dealership_id, TG_TABLE_NAME, 0, {GENESIS}, 0)
            ON CONFLICT (dealership_id, chain) DO NOTHING;
            SELECT last_hash INTO STRICT head FROM audit_chain_heads
             WHERE dealership_id = NEW.dealership_id AND chain = TG_TABLE_NAME FOR UPDATE;
          END IF;
          NEW.prev_hash := head;
          IF TG_TABLE_NAME = 'audit_logs' THEN
            NEW.id := nextval(pg_get_serial_sequence('public.audit_logs', 'id'));
            NEW.row_hash := dealerdesk_audit_log_hash(NEW);
          ELSE
            NEW.id := nextval(pg_get_serial_sequence('public.security_audit_logs', 'id'));
            NEW.row_hash := dealerdesk_security_audit_log_hash(NEW);
          END IF;
          UPDATE audit_chain_heads
             SET last_id = NEW.id, last_hash = NEW.row_hash, row_count = row_count + 1
           WHERE dealership_id = NEW.dealership_id AND chain = TG_TABLE_NAME;
          RETURN NEW;
        END $$""")
    op.execute("REVOKE ALL ON FUNCTION dealerdesk_audit_chain_append() FROM PUBLIC")

    # Refuses changing or removing entries, to everyone: the owner and superusers too (the
    # application role already lacks the privileges). Only disabling the triggers (as the
    # owner) or session_replication_role = replica (as a superuser) gets past, and the hash
    # chain shows what was done then.
    op.execute("""
        CREATE FUNCTION dealerdesk_audit_append_only() RETURNS trigger
        LANGUAGE plpgsql
        AS $$
        BEGIN
          RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
            USING HINT = 'audit entries are never changed or removed';
        END $$""")
    op.execute("REVOKE ALL ON FUNCTION dealerdesk_audit_append_only() FROM PUBLIC")

    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_chain BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION dealerdesk_audit_chain_append()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION dealerdesk_audit_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION dealerdesk_audit_append_only()"
        )


def _chain_existing_rows(table: str, hash_function: str) -> None:
    """Chain the rows written before this migration, in id order per dealership, and record
    each chain's head."""
    op.execute(f"""
        DO $$
        DECLARE
          r {table};
          prev bytea;
          current_dealership bigint;
          last_row bigint;
          n bigint := 0;
        BEGIN
          FOR r IN SELECT * FROM {table} ORDER BY dealership_id, id LOOP
            IF current_dealership IS DISTINCT FROM r.dealership_id THEN
              IF current_dealership IS NOT NULL THEN
                INSERT INTO audit_chain_heads VALUES (current_dealership, '{table}', last_row, prev, n);
              END IF;
              current_dealership := r.dealership_id;
              prev := {GENESIS};
              n := 0;
            END IF;
            r.prev_hash := prev;
            r.row_hash := {hash_function}(r);
            UPDATE {table} SET prev_hash = r.prev_hash, row_hash = r.row_hash
             WHERE dealership_id = r.dealership_id AND id = r.id;
            prev := r.row_hash;
            last_row := r.id;
            n := n + 1;
          END LOOP;
          IF current_dealership IS NOT NULL THEN
            INSERT INTO audit_chain_heads VALUES (current_dealership, '{table}', last_row, prev, n);
          END IF;
        END $$""")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_chain ON {table}")
    op.execute("DROP FUNCTION IF EXISTS dealerdesk_audit_append_only()")
    op.execute("DROP FUNCTION IF EXISTS dealerdesk_audit_chain_append()")
    op.execute("DROP FUNCTION IF EXISTS dealerdesk_security_audit_log_hash(security_audit_logs)")
    op.execute("DROP FUNCTION IF EXISTS dealerdesk_audit_log_hash(audit_logs)")
    op.execute("DROP FUNCTION IF EXISTS dealerdesk_chain_time(timestamptz)")
    op.execute(f"DROP FUNCTION IF EXISTS {_FIELD}(text)")
    op.drop_table("audit_chain_heads")
    for table in TABLES:
        op.drop_column(table, "row_hash")
        op.drop_column(table, "prev_hash")
