"""Sign-in sessions (refresh tokens), the caller's user and role in the tenant binding, and
salespeople limited to their own deals by row-level security.

- `refresh_tokens`: a tenant table with row-level security like every other one.
- `dealerdesk_current_user()` / `dealerdesk_current_app_role()`: the transaction-local
  settings `app.user_id` and `app.role` that db.tenant sets with `app.dealership_id`.
- RESTRICTIVE policies `salesperson_own_deals` on deals, deal_scenarios, trade_vehicles,
  rate_requests and lender_decisions: when `app.role` is 'salesperson', only rows of deals
  whose salesperson is `app.user_id` can be read or written. The permissive tenant policies
  stay as they are; a restrictive policy can only narrow them.
- `dealerdesk_find_login` also returns the dealership's code (sign-in with dealershipCode).
- Sales managers may edit permissions (`permission.manage`), as the new defaults say.

Revision ID: 0003_auth
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_auth"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "dealerdesk_app"

ME = "dealerdesk_current_user()"
# Restricted callers: the salesperson role sees and changes only its own deals.
OWN_ONLY = "dealerdesk_current_app_role() IS NOT DISTINCT FROM 'salesperson'"


def _own_deal(table: str, column: str = "deal_id") -> str:
    return (
        f"EXISTS (SELECT 1 FROM deals d WHERE d.dealership_id = {table}.dealership_id "
        f"AND d.id = {table}.{column} AND d.salesperson_id = {ME})"
    )


# table -> the rows a restricted caller may read and write
OWN_DEAL_RULES = {
    "deals": f"salesperson_id = {ME}",
    "deal_scenarios": _own_deal("deal_scenarios"),
    "trade_vehicles": f"(deal_id IS NULL OR {_own_deal('trade_vehicles')})",
    "rate_requests": _own_deal("rate_requests"),
    "lender_decisions": (
        "EXISTS (SELECT 1 FROM rate_requests r JOIN deals d "
        "ON d.dealership_id = r.dealership_id AND d.id = r.deal_id "
        "WHERE r.dealership_id = lender_decisions.dealership_id "
        f"AND r.id = lender_decisions.rate_request_id AND d.salesperson_id = {ME})"
    ),
}

FIND_LOGIN_COLUMNS = """user_id bigint, dealership_id bigint, role text, is_active boolean,
                       dealership_active boolean, password_hash text,
                       failed_login_count integer, locked_until timestamptz"""
FIND_LOGIN_SELECT = """u.id, u.dealership_id, u.role, u.is_active, d.is_active, u.password_hash,
                 u.failed_login_count, u.locked_until"""


def _find_login(columns: str, select: str) -> str:
    return f"""
        CREATE FUNCTION dealerdesk_find_login(p_email text)
        RETURNS TABLE ({columns})
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
        AS $$
          SELECT {select}
          FROM users u JOIN dealerships d ON d.id = u.dealership_id
          WHERE lower(u.email) = lower(p_email)
          ORDER BY u.dealership_id
        $$"""


def _grant_find_login() -> None:
    op.execute("REVOKE ALL ON FUNCTION dealerdesk_find_login(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION dealerdesk_find_login(text) TO {APP_ROLE}")


def upgrade() -> None:
    op.create_table(
        "refresh_tokens",
        sa.Column("dealership_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column(
            "issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.Column("replaced_by_id", sa.BigInteger(), nullable=True),
        sa.Column("client_ip", postgresql.INET(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dealership_id", "replaced_by_id"],
            ["refresh_tokens.dealership_id", "refresh_tokens.id"],
            name=op.f("fk_refresh_tokens_replaced_by_id"),
            ondelete="SET NULL (replaced_by_id)",
        ),
        sa.ForeignKeyConstraint(
            ["dealership_id", "user_id"],
            ["users.dealership_id", "users.id"],
            name=op.f("fk_refresh_tokens_user_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dealership_id"], ["dealerships.id"], name=op.f("fk_refresh_tokens_dealership_id")
        ),
        sa.PrimaryKeyConstraint("dealership_id", "id", name=op.f("pk_refresh_tokens")),
    )
    op.create_index(
        "ix_refresh_tokens_family", "refresh_tokens", ["dealership_id", "family_id"], unique=False
    )
    op.create_index(
        "ix_refresh_tokens_user", "refresh_tokens", ["dealership_id", "user_id"], unique=False
    )
    op.create_index(
        "uq_refresh_tokens_token_hash",
        "refresh_tokens",
        ["dealership_id", "token_hash"],
        unique=True,
    )

    # The same row-level security as every tenant table (0001's loop).
    mine = "dealership_id = dealerdesk_current_dealership()"
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON refresh_tokens TO {APP_ROLE}")
    op.execute("ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_read ON refresh_tokens FOR SELECT TO {APP_ROLE} USING ({mine})"
    )
    op.execute(
        f"CREATE POLICY tenant_insert ON refresh_tokens FOR INSERT TO {APP_ROLE} "
        f"WITH CHECK ({mine})"
    )
    op.execute(
        f"CREATE POLICY tenant_update ON refresh_tokens FOR UPDATE TO {APP_ROLE} "
        f"USING ({mine}) WITH CHECK ({mine})"
    )
    op.execute(
        f"CREATE POLICY tenant_delete ON refresh_tokens FOR DELETE TO {APP_ROLE} USING ({mine})"
    )
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")

    # Who is calling, beside where: set per transaction by db.tenant with app.dealership_id.
    op.execute("""
        CREATE FUNCTION dealerdesk_current_user() RETURNS bigint
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::bigint $$""")
    op.execute("""
        CREATE FUNCTION dealerdesk_current_app_role() RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT NULLIF(current_setting('app.role', true), '') $$""")
    op.execute(f"GRANT EXECUTE ON FUNCTION dealerdesk_current_user() TO {APP_ROLE}")
    op.execute(f"GRANT EXECUTE ON FUNCTION dealerdesk_current_app_role() TO {APP_ROLE}")

    for table, rule in OWN_DEAL_RULES.items():
        allowed = f"NOT ({OWN_ONLY}) OR {rule}"
        op.execute(
            f"CREATE POLICY salesperson_own_deals ON {table} AS RESTRICTIVE FOR ALL "
            f"TO {APP_ROLE} USING ({allowed}) WITH CHECK ({allowed})"
        )

    op.execute("DROP FUNCTION dealerdesk_find_login(text)")
    op.execute(
        _find_login(FIND_LOGIN_COLUMNS + ", dealership_code text", FIND_LOGIN_SELECT + ", d.code")
    )
    _grant_find_login()

    op.execute("""
        INSERT INTO permissions (dealership_id, role, action)
        SELECT id, 'sales_manager', 'permission.manage' FROM dealerships
        ON CONFLICT DO NOTHING""")


def downgrade() -> None:
    op.execute("""
        DELETE FROM permissions WHERE role = 'sales_manager' AND action = 'permission.manage'""")
    op.execute("DROP FUNCTION dealerdesk_find_login(text)")
    op.execute(_find_login(FIND_LOGIN_COLUMNS, FIND_LOGIN_SELECT))
    _grant_find_login()
    for table in OWN_DEAL_RULES:
        op.execute(f"DROP POLICY IF EXISTS salesperson_own_deals ON {table}")
    op.execute("DROP FUNCTION IF EXISTS dealerdesk_current_app_role()")
    op.execute("DROP FUNCTION IF EXISTS dealerdesk_current_user()")
    op.drop_index("uq_refresh_tokens_token_hash", table_name="refresh_tokens")
    op.drop_index("ix_refresh_tokens_user", table_name="refresh_tokens")
    op.drop_index("ix_refresh_tokens_family", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
