"""Sales-tax jurisdictions a dealership applies to deals."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Money, Rate, TenantMixin, Timestamps


class TaxJurisdiction(TenantMixin, Timestamps, Base):
    __tablename__ = "tax_jurisdictions"
    __table_args__ = (
        CheckConstraint("rate >= 0 AND rate < 100", name="rate_range"),
        Index("ix_tax_jurisdictions_lookup", "dealership_id", "state", "county", "city"),
        Index("ix_tax_jurisdictions_postal_code", "dealership_id", "postal_code"),
    )

    name: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text)  # two-letter code
    county: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    postal_code: Mapped[str | None] = mapped_column(Text)
    rate: Mapped[Rate]  # combined percent, e.g. 7.2500
    # Most states tax the price net of the trade-in; some tax the full price.
    trade_in_credit: Mapped[bool] = mapped_column(server_default=text("true"))
    max_taxable_amount: Mapped[Money | None]
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
