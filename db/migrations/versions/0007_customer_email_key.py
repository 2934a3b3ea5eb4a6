"""Customers' e-mail lookups use an index under row-level security.

`lower(email)` is not a leakproof function, so PostgreSQL may not use it in an index
condition on a table with row-level security: every lookup by e-mail (createDeal reusing a
customer, the duplicate check, the e-mail filter) read all of the dealership's customers
(about 5 ms for 5,000). A stored generated column `email_key = lower(email)` compared with
plain text equality (leakproof) is indexable; it replaces the expression index.

Revision ID: 0007_customer_email_key
Revises: 0006_bind_caller
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_customer_email_key"
down_revision: str | None = "0006_bind_caller"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "customers",
        sa.Column("email_key", sa.Text(), sa.Computed("lower(email)", persisted=True)),
    )
    op.drop_index("ix_customers_dealership_id_email", table_name="customers")
    op.create_index(
        "ix_customers_dealership_id_email_key", "customers", ["dealership_id", "email_key"]
    )


def downgrade() -> None:
    op.drop_index("ix_customers_dealership_id_email_key", table_name="customers")
    op.create_index(
        "ix_customers_dealership_id_email",
        "customers",
        ["dealership_id", sa.literal_column("lower(email)")],
    )
    op.drop_column("customers", "email_key")
