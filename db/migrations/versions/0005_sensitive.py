"""Sensitive customer data, encrypted at rest, and the permissions to see and change it.

Revision ID: 0005_sensitive
Revises: 0004_audit_chain
Create Date: 2026-12-02

Adds
- columns date_of_birth_enc, drivers_license_number_enc, drivers_license_state_enc,
  ssn_last4_enc, monthly_income_enc (bytea, NULL) to customers: AES-256-GCM ciphertexts
  written by the application (db/crypto.py); the database never sees a clear value. The
  existing row-level security policies of customers cover them;
- the actions customer.sensitive.read and customer.sensitive.write for the admin, sales
  manager and finance manager roles of every existing dealership (new dealerships get them
  from db.storage.permissions.DEFAULT_ROLE_PERMISSIONS).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_sensitive"
down_revision: str | None = "0004_audit_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    "date_of_birth_enc",
    "drivers_license_number_enc",
    "drivers_license_state_enc",
    "ssn_last4_enc",
    "monthly_income_enc",
]
ACTIONS = ["customer.sensitive.read", "customer.sensitive.write"]
ROLES = ["admin", "sales_manager", "finance_manager"]


def _pairs() -> str:
    return ", ".join(f"('{role}', '{action}')" for role in ROLES for action in ACTIONS)


def upgrade() -> None:
    for column in COLUMNS:
        op.add_column("customers", sa.Column(column, sa.LargeBinary(), nullable=True))
    op.execute(f"""
        INSERT INTO permissions (dealership_id, role, action)
        SELECT d.id, p.role, p.action
        FROM dealerships d CROSS JOIN (VALUES {_pairs()}) AS p(role, action)
        ON CONFLICT DO NOTHING""")


def downgrade() -> None:
    actions = ", ".join(f"'{a}'" for a in ACTIONS)
    op.execute(f"DELETE FROM permissions WHERE action IN ({actions})")
    for column in reversed(COLUMNS):
        op.drop_column("customers", column)
