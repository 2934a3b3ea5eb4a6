"""Tell "another dealership's id" from "no such id" for refused writes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "dealerdesk_app"

TABLES = [
    "users",
    "customers",
    "customer_notes",
    "vehicles",
    "deals",
    "deal_scenarios",
    "trade_vehicles",
    "appointments",
    "quick_quotes",
    "quick_quote_contacts",
    "tax_jurisdictions",
    "fee_templates",
    "lenders",
    "lender_programs",
    "rate_requests",
    "lender_decisions",
    "audit_logs",
]


def upgrade() -> None:
    # Returns only whether (and under which dealership) the id exists: the minimum needed to
    # answer MultiTenantViolationError. Runs as the owner, past row-level security, and only
    # on the listed tables.
    allowed = ", ".join(f"'{t}'" for t in TABLES)
    op.execute(f"""
        CREATE FUNCTION dealerdesk_row_owner(p_table text, p_id bigint) RETURNS bigint
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
        AS $$
        DECLARE owner bigint;
        BEGIN
          IF p_table NOT IN ({allowed}) THEN
            RAISE EXCEPTION 'not a tenant table: %', p_table;
          END IF;
          EXECUTE format('SELECT dealership_id FROM %I WHERE id = $1', p_table)
            INTO owner USING p_id;
          RETURN owner;
        END $$""")
    op.execute("REVOKE ALL ON FUNCTION dealerdesk_row_owner(text, bigint) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION dealerdesk_row_owner(text, bigint) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS dealerdesk_row_owner(text, bigint)")
