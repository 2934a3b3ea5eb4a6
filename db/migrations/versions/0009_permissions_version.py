"""A version of each dealership's role permissions, for the known-caller check.

`dealerships.permissions_version` goes up with every statement that changes the dealership's
`permissions` (a trigger, statement-level, run as the schema owner so that row-level
security does not hide the dealership row from it). `dealerdesk_bind_caller` now also
returns it, and `dealerdesk_bind_known_caller` compares it instead of a digest of the role's
actions: scanning and hashing the role's permissions under row-level security on every
request cost a one-deal query a seventh of its throughput.

Revision ID: 0009_permissions_version
Revises: 0008_bind_known_caller
Create Date: 2026-11-26
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0009_permissions_version"
down_revision: str | None = "0008_bind_known_caller"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SET_BINDING = """
          PERFORM set_config('role', 'dealerdesk_app', true),
                  set_config('app.dealership_id', p_dealership::text, true),
                  set_config('app.user_id', p_user::text, true),
                  set_config('app.role', coalesce(p_app_role, ''), true);"""


def upgrade() -> None:
    op.execute("ALTER TABLE dealerships ADD COLUMN permissions_version bigint NOT NULL DEFAULT 0")
    op.execute("""
        CREATE FUNCTION dealerdesk_permissions_changed() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
        AS $$
        BEGIN
          UPDATE dealerships SET permissions_version = permissions_version + 1
          WHERE id IN (SELECT dealership_id FROM changed);
          RETURN NULL;
        END
        $$""")
    # A trigger's function needs no EXECUTE grant to fire; nobody is to call it otherwise.
    op.execute("REVOKE ALL ON FUNCTION dealerdesk_permissions_changed() FROM PUBLIC")
    for event in ("INSERT", "UPDATE", "DELETE"):
        table = "OLD" if event == "DELETE" else "NEW"
        op.execute(f"""
            CREATE TRIGGER permissions_changed_{event.lower()} AFTER {event} ON permissions
            REFERENCING {table} TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION dealerdesk_permissions_changed()""")

    op.execute("DROP FUNCTION dealerdesk_bind_caller(bigint, bigint, text, uuid)")
    op.execute(f"""
        CREATE FUNCTION dealerdesk_bind_caller(
            p_dealership bigint, p_user bigint, p_app_role text, p_session uuid)
        RETURNS TABLE (caller_id bigint, caller_dealership_id bigint, caller_role text,
                       caller_actions text[], session_live boolean,
                       permissions_version bigint)
        LANGUAGE plpgsql VOLATILE
        AS $$
        BEGIN{_SET_BINDING}
          RETURN QUERY
            SELECT u.id, u.dealership_id, u.role::text,
                   ARRAY(SELECT p.action::text FROM permissions p
                         WHERE p.dealership_id = u.dealership_id AND p.role = u.role
                         ORDER BY p.action),
                   p_session IS NULL OR EXISTS (
                     SELECT 1 FROM refresh_tokens r
                     WHERE r.dealership_id = u.dealership_id AND r.family_id = p_session
                       AND r.user_id = u.id AND r.revoked_at IS NULL),
                   d.permissions_version
            FROM users u JOIN dealerships d ON d.id = u.dealership_id
            WHERE u.dealership_id = p_dealership AND u.id = p_user
              AND u.is_active AND d.is_active;
        END
        $$""")

    op.execute("DROP FUNCTION dealerdesk_bind_known_caller(bigint, bigint, text, uuid, text)")
    op.execute(f"""
        CREATE FUNCTION dealerdesk_bind_known_caller(
            p_dealership bigint, p_user bigint, p_app_role text, p_session uuid,
            p_permissions_version bigint)
        RETURNS void
        LANGUAGE plpgsql VOLATILE
        AS $$
        BEGIN{_SET_BINDING}
          IF NOT EXISTS (
            SELECT 1
            FROM users u JOIN dealerships d ON d.id = u.dealership_id
            WHERE u.dealership_id = p_dealership AND u.id = p_user
              AND u.is_active AND d.is_active
              AND u.role::text = p_app_role
              AND d.permissions_version = p_permissions_version
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
    op.execute("DROP FUNCTION dealerdesk_bind_known_caller(bigint, bigint, text, uuid, bigint)")
    op.execute("DROP FUNCTION dealerdesk_bind_caller(bigint, bigint, text, uuid)")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER permissions_changed_{event} ON permissions")
    op.execute("DROP FUNCTION dealerdesk_permissions_changed()")
    op.execute("ALTER TABLE dealerships DROP COLUMN permissions_version")
    # The functions as migrations 0006 and 0008 made them.
    _sibling("0006_bind_caller").upgrade()
    _sibling("0008_bind_known_caller").upgrade()


def _sibling(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
