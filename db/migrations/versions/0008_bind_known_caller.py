"""Bind a transaction to a caller known from an earlier request, in the round trip of BEGIN.

Adds `dealerdesk_bind_known_caller(dealership, user, app_role, session, actions_digest)`: sets
the transaction-local role and settings as `dealerdesk_bind_caller` does, then raises
(SQLSTATE DDC01) unless the caller is still exactly what an earlier confirmation found: the
user and their dealership active, the user's role still `app_role`, the md5 digest of the
role's actions (sorted bytewise, comma-joined) unchanged, and the sign-in session (if any)
live. It returns nothing, so it can follow BEGIN in one simple-protocol message: each request
of a known caller is confirmed in the database as before, for one round trip fewer
(db.tenant TenantDB.bind_known_caller).

Revision ID: 0008_bind_known_caller
Revises: 0007_customer_email_key
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_bind_known_caller"
down_revision: str | None = "0007_customer_email_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # PL/pgSQL for the same reason as dealerdesk_bind_caller: the check is planned when it
    # runs, after the first statement switched to the application role.
    op.execute("""
        CREATE FUNCTION dealerdesk_bind_known_caller(
            p_dealership bigint, p_user bigint, p_app_role text, p_session uuid,
            p_actions text)
        RETURNS void
        LANGUAGE plpgsql VOLATILE
        AS $$
        BEGIN
          PERFORM set_config('role', 'dealerdesk_app', true),
                  set_config('app.dealership_id', p_dealership::text, true),
                  set_config('app.user_id', p_user::text, true),
                  set_config('app.role', coalesce(p_app_role, ''), true);
          IF NOT EXISTS (
            SELECT 1
            FROM users u JOIN dealerships d ON d.id = u.dealership_id
            WHERE u.dealership_id = p_dealership AND u.id = p_user
              AND u.is_active AND d.is_active
              AND u.role::text = p_app_role
              AND md5(coalesce((SELECT string_agg(p.action::text, ','
                                                  ORDER BY p.action::text COLLATE "C")
                                FROM permissions p
                                WHERE p.dealership_id = u.dealership_id AND p.role = u.role),
                               '')) = p_actions
              AND (p_session IS NULL OR EXISTS (
                     SELECT 1 FROM refresh_tokens r
                     WHERE r.dealership_id = u.dealership_id AND r.family_id = p_session
                       AND r.user_id = u.id AND r.revoked_at IS NULL)))
          THEN
            RAISE EXCEPTION 'the caller is not as last confirmed' USING ERRCODE = 'DDC01';
          END IF;
        END
        $$""")


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION IF EXISTS dealerdesk_bind_known_caller(bigint, bigint, text, uuid, text)"
    )
