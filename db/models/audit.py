"""Append-only audit trails: business changes, and security events."""

from __future__ import annotations

from sqlalchemy import BigInteger, Identity, Index, PrimaryKeyConstraint, Text, func
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
