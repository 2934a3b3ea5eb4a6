"""Fee templates: the fee lines a dealership adds to each deal type."""

from __future__ import annotations

from sqlalchemy import Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Money, TenantMixin, Timestamps
from db.models.enums import DealType, FeeKind, text_enum


class FeeTemplate(TenantMixin, Timestamps, Base):
    __tablename__ = "fee_templates"
    __table_args__ = (Index("ix_fee_templates_deal_type", "dealership_id", "deal_type"),)

    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[FeeKind] = mapped_column(text_enum(FeeKind, "fee_kind"))
    deal_type: Mapped[DealType] = mapped_column(text_enum(DealType, "deal_type"))
    amount: Mapped[Money]
    taxable: Mapped[bool] = mapped_column(server_default=text("false"))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    sort_order: Mapped[int] = mapped_column(Integer, server_default="0")
