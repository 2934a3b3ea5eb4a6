"""Append-only audit trails: business changes, and security events.

Both are hash chains per dealership (migration 0004_audit_chain): a BEFORE INSERT trigger
sets each row's id, prev_hash (the previous row's row_hash) and row_hash (SHA-256 of the
row's canonical form, see db/audit_chain.py), whatever the client sent; `dealerdesk audit
verify` checks them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    FetchedValue,
    Identity,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigId, TenantMixin, Timestamp
from db.types import JSONObject


class AuditLog(TenantMixin, Base):
    __tablename__ = "audit_logs"
    __table_args__ = (
        Index("ix_audit_logs_entity", "dealership_id", "entity_type", "entity_id"),
        Index("ix_audit_logs_occurred_at", "dealership_id", "occurred_at"),
        Index("ix_audit_logs_user", "dealership_id", "user_id"),
    )

    occurred_at: Mapped[Timestamp] = mapped_column(server_default=func.now())
    # No foreign key to users: the trail must outlive what it describes.
    user_id: Mapped[BigId | None]
    action: Mapped[str] = mapped_column(Text)  # e.g. "deal.create"
    entity_type: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[BigId]
    changes: Mapped[JSONObject] = mapped_column(JSONB)  # {"field": {"before": .., "after": ..}}
    request_id: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary, server_default=FetchedValue())
    row_hash: Mapped[bytes] = mapped_column(LargeBinary, server_default=FetchedValue())


class SecurityAuditLog(Base):
    """Sign-ins, refusals and other security events. dealership_id is 0 when the event
    cannot be tied to a dealership (for example a sign-in with an unknown e-mail)."""

    __tablename__ = "security_audit_logs"
    __table_args__ = (
        PrimaryKeyConstraint("dealership_id", "id"),
        Index("ix_security_audit_logs_occurred_at", "dealership_id", "occurred_at"),
    )

    dealership_id: Mapped[BigId]
    id: Mapped[int] = mapped_column(BigInteger, Identity())
    occurred_at: Mapped[Timestamp] = mapped_column(server_default=func.now())
    user_id: Mapped[BigId | None]
    event: Mapped[str] = mapped_column(Text)  # e.g. "auth.login_failed"
    outcome: Mapped[str] = mapped_column(Text)  # "success" | "failure" | "denied"
    client_ip: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(Text)
    details: Mapped[JSONObject] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary, server_default=FetchedValue())
    row_hash: Mapped[bytes] = mapped_column(LargeBinary, server_default=FetchedValue())


class AuditChainHead(Base):
    """The newest row of each chain (`chain` names the table) of a dealership (0 for
    security events tied to none). Written only by the chain trigger, as the owner: the
    application role has no privilege on it."""

    __tablename__ = "audit_chain_heads"
    __table_args__ = (
        PrimaryKeyConstraint("dealership_id", "chain"),
        CheckConstraint("chain IN ('audit_logs', 'security_audit_logs')", name="chain"),
    )

    dealership_id: Mapped[BigId]
    chain: Mapped[str] = mapped_column(Text)
    last_id: Mapped[BigId]  # 0 before the first row
    last_hash: Mapped[bytes] = mapped_column(LargeBinary)
    row_count: Mapped[BigId]
