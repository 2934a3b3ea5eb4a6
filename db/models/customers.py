"""Customers (the dealership's CRM records) and notes on them."""

from __future__ import annotations

from sqlalchemy import Computed, Index, LargeBinary, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigId, TenantMixin, Timestamp, Timestamps, Versioned, tenant_fk

# Marks a column holding an encrypted sensitive value: the audit trail records only that it
# changed (db.storage.audit.snapshot), never its value nor its ciphertext.
SENSITIVE = {"sensitive": True}


class Customer(TenantMixin, Versioned, Timestamps, Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_dealership_id_email_key", "dealership_id", "email_key"),
        Index("ix_customers_dealership_id_phone", "dealership_id", "phone"),
        Index("ix_customers_dealership_id_last_name", "dealership_id", "last_name", "first_name"),
    )

    first_name: Mapped[str] = mapped_column(Text)
    last_name: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    # lower(email), kept by PostgreSQL: what e-mail lookups compare, because an index on the
    # expression cannot be used under row-level security (lower() is not leakproof).
    email_key: Mapped[str | None] = mapped_column(Text, Computed("lower(email)", persisted=True))
    phone: Mapped[str | None] = mapped_column(Text)  # E.164
    alternate_phone: Mapped[str | None] = mapped_column(Text)  # E.164
    address_line1: Mapped[str | None] = mapped_column(Text)
    address_line2: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)
    postal_code: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)  # lead source, e.g. "walk-in"
    archived_at: Mapped[Timestamp | None]
    # What identifies a person for credit, encrypted at rest (db/crypto.py; AES-256-GCM bound
    # to the table, column, dealership and customer id). Only the last four digits of an SSN
    # are ever stored. See db/storage/customer_sensitive.py.
    date_of_birth_enc: Mapped[bytes | None] = mapped_column(LargeBinary, info=SENSITIVE)
    drivers_license_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary, info=SENSITIVE)
    drivers_license_state_enc: Mapped[bytes | None] = mapped_column(LargeBinary, info=SENSITIVE)
    ssn_last4_enc: Mapped[bytes | None] = mapped_column(LargeBinary, info=SENSITIVE)
    monthly_income_enc: Mapped[bytes | None] = mapped_column(LargeBinary, info=SENSITIVE)


class CustomerNote(TenantMixin, Base):
    __tablename__ = "customer_notes"
    __table_args__ = (
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        tenant_fk("author_id", "users"),
        Index("ix_customer_notes_customer", "dealership_id", "customer_id", "created_at"),
    )

    customer_id: Mapped[BigId]
    author_id: Mapped[BigId]
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp] = mapped_column(server_default=func.now())
