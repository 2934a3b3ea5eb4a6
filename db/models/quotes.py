"""Quick quotes: a payment quote on a vehicle before a deal exists, and who it was sent to."""

from __future__ import annotations

from sqlalchemy import Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import (
    Base,
    BigId,
    Factor,
    Money,
    Rate,
    TenantMixin,
    Timestamp,
    Timestamps,
    Versioned,
    tenant_fk,
)
from db.models.enums import DealType, DeliveryStatus, QuickQuoteStatus, text_enum


class QuickQuote(TenantMixin, Versioned, Timestamps, Base):
    __tablename__ = "quick_quotes"
    __table_args__ = (
        tenant_fk("vehicle_id", "vehicles"),
        tenant_fk("customer_id", "customers", ondelete="SET NULL"),
        tenant_fk("created_by_id", "users"),
        tenant_fk("converted_deal_id", "deals", ondelete="SET NULL"),
        Index("ix_quick_quotes_dealership_id_status", "dealership_id", "status"),
        Index("ix_quick_quotes_dealership_id_customer_id", "dealership_id", "customer_id"),
    )

    vehicle_id: Mapped[BigId]
    customer_id: Mapped[BigId | None]
    created_by_id: Mapped[BigId]
    status: Mapped[QuickQuoteStatus] = mapped_column(
        text_enum(QuickQuoteStatus, "quick_quote_status"),
        server_default=QuickQuoteStatus.DRAFT.value,
    )
    deal_type: Mapped[DealType] = mapped_column(text_enum(DealType, "deal_type"))
    customer_first_name: Mapped[str | None] = mapped_column(Text)
    customer_last_name: Mapped[str | None] = mapped_column(Text)
    vehicle_price: Mapped[Money]
    down_payment: Mapped[Money] = mapped_column(server_default="0")
    trade_allowance: Mapped[Money] = mapped_column(server_default="0")
    trade_payoff: Mapped[Money] = mapped_column(server_default="0")
    apr: Mapped[Rate | None]
    money_factor: Mapped[Factor | None]
    term_months: Mapped[int | None] = mapped_column(Integer)
    residual_percent: Mapped[Rate | None]
    tax_rate: Mapped[Rate] = mapped_column(server_default="0")
    fees_total: Mapped[Money] = mapped_column(server_default="0")
    monthly_payment: Mapped[Money] = mapped_column(server_default="0")
    converted_deal_id: Mapped[BigId | None]
    sent_at: Mapped[Timestamp | None]
    converted_at: Mapped[Timestamp | None]
    expires_at: Mapped[Timestamp | None]


class QuickQuoteContact(TenantMixin, Timestamps, Base):
    __tablename__ = "quick_quote_contacts"
    __table_args__ = (
        tenant_fk("quick_quote_id", "quick_quotes", ondelete="CASCADE"),
        Index("ix_quick_quote_contacts_quote", "dealership_id", "quick_quote_id"),
    )

    quick_quote_id: Mapped[BigId]
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str] = mapped_column(Text)  # E.164
    delivery_status: Mapped[DeliveryStatus] = mapped_column(
        text_enum(DeliveryStatus, "delivery_status"), server_default=DeliveryStatus.PENDING.value
    )
    sent_at: Mapped[Timestamp | None]
    delivered_at: Mapped[Timestamp | None]
