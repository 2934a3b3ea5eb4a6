"""Bind a transaction to a token's caller and confirm the caller in one statement.

Adds `dealerdesk_bind_caller(dealership, user, app_role, session)`: sets the transaction-local
role and settings exactly as db.tenant's binding statement does, then - planned and run after
that, so under row-level security as the application role - returns the user if they and
their dealership are active: their current role, its actions in the dealership, and whether
the sign-in session the token names (if any) still has a live refresh token. No row: the
caller is not (or no longer) allowed in. It saves each authenticated request a round trip
and the building of the check statement (server.auth).

Revision ID: 0006_bind_caller
Revises: 0005_sensitive
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_bind_caller"
down_revision: str | None = "0005_sensitive"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # PL/pgSQL, not SQL: each statement of its body is planned when it runs, so the query
    # is planned for the application role that the first statement switched to.
    op.execute("""
        CREATE FUNCTION dealerdesk_bind_caller(
            p_dealership bigint, p_user bigint, p_app_role text, p_session uuid)
        RETURNS TABLE (caller_id bigint, caller_dealership_id bigint, caller_role text,
                       caller_actions text[], session_live boolean)
        LANGUAGE plpgsql VOLATILE
        AS $$
        BEGIN
          PERFORM set_config('role', 'dealerdesk_app', true),
                  set_config('app.dealership_id', p_dealership::text, true),
                  set_config('app.user_id', p_user::text, true),
                  set_config('app.role', coalesce(p_app_role, ''), true);
          RETURN QUERY
            SELECT u.id, u.dealership_id, u.role::text,
                   ARRAY(SELECT p.action::text FROM permissions p
                         WHERE p.dealership_id = u.dealership_id AND p.role = u.role
                         ORDER BY p.action),
                   p_session IS NULL OR EXISTS (
                     SELECT 1 FROM refresh_tokens r
                     WHERE r.dealership_id = u.dealership_id AND r.family_id = p_session
                       AND r.user_id = u.id AND r.revoked_at IS NULL)
            FROM users u JOIN dealerships d ON d.id = u.dealership_id
            WHERE u.dealership_id = p_dealership AND u.id = p_user
              AND u.is_active AND d.is_active;
        END
        $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS dealerdesk_bind_caller(bigint, bigint, text, uuid)")
