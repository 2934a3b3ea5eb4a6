"""Staff accounts, their single-use password-reset tokens, and role permissions."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, Integer, PrimaryKeyConstraint, Text, Uuid, func, text
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigId, TenantMixin, Timestamp, Timestamps, tenant_fk
from db.models.enums import Role, text_enum
from db.types import JSONObject


class User(TenantMixin, Timestamps, Base):
    __tablename__ = "users"
    __table_args__ = (
        Index(
            "uq_users_dealership_id_email", "dealership_id", func.lower(text("email")), unique=True
        ),
    )

    email: Mapped[str] = mapped_column(Text)
    first_name: Mapped[str] = mapped_column(Text)
    last_name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    role: Mapped[Role] = mapped_column(text_enum(Role, "role"))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    password_hash: Mapped[str | None] = mapped_column(Text)
    preferences: Mapped[JSONObject] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    failed_login_count: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[Timestamp | None]
    last_login_at: Mapped[Timestamp | None]
    deactivated_at: Mapped[Timestamp | None]


class PasswordResetToken(TenantMixin, Base):
    __tablename__ = "password_reset_tokens"
    __table_args__ = (tenant_fk("user_id", "users", ondelete="CASCADE"),)

    user_id: Mapped[BigId]
    # Only a hash is stored: a database leak must not hand out working reset links.
    token_hash: Mapped[str] = mapped_column(Text, index=True)
    created_at: Mapped[Timestamp] = mapped_column(server_default=func.now())
    expires_at: Mapped[Timestamp]
    used_at: Mapped[Timestamp | None]


class RefreshToken(TenantMixin, Base):
    """One refresh token of a sign-in. Each use replaces it with a new one of the same
    family; presenting a replaced one again revokes the family (see db.storage.auth)."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        tenant_fk("user_id", "users", ondelete="CASCADE"),
        tenant_fk("replaced_by_id", "refresh_tokens", ondelete="SET NULL"),
        Index("uq_refresh_tokens_token_hash", "dealership_id", "token_hash", unique=True),
        Index("ix_refresh_tokens_family", "dealership_id", "family_id"),
        Index("ix_refresh_tokens_user", "dealership_id", "user_id"),
    )

    user_id: Mapped[BigId]
    # SHA-256 of the token: a database leak must not hand out working sessions.
    token_hash: Mapped[str] = mapped_column(Text)
    # Every token descended from one sign-in shares its family.
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    issued_at: Mapped[Timestamp] = mapped_column(server_default=func.now())
    expires_at: Mapped[Timestamp]
    revoked_at: Mapped[Timestamp | None]
    # rotated | reuse | logout | user_deactivated | password_reset | user_inactive
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    replaced_by_id: Mapped[BigId | None]
    client_ip: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(Text)


class Permission(Base):
    """One row per (dealership, role, action) that the role is allowed to take."""

    __tablename__ = "permissions"
    __table_args__ = (PrimaryKeyConstraint("dealership_id", "role", "action"),)

    dealership_id: Mapped[BigId] = mapped_column(ForeignKey("dealerships.id"))
    role: Mapped[Role] = mapped_column(text_enum(Role, "role"))
    action: Mapped[str] = mapped_column(Text)
