"""The tenants themselves and each one's settings."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Identity, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigId, Money, Rate, Timestamps, Versioned
from db.models.enums import DealType, text_enum


class Dealership(Timestamps, Base):
    __tablename__ = "dealerships"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)  # short slug, e.g. "demo-motors"
    name: Mapped[str] = mapped_column(Text)
    legal_name: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    address_line1: Mapped[str | None] = mapped_column(Text)
    address_line2: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)
    postal_code: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    # Goes up with each change to the dealership's role permissions (a trigger, migration
    # 0009): what the known-caller check compares.
    permissions_version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class DealershipSettings(Versioned, Timestamps, Base):
    __tablename__ = "dealership_settings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["dealership_id", "default_tax_jurisdiction_id"],
            ["tax_jurisdictions.dealership_id", "tax_jurisdictions.id"],
            ondelete="SET NULL (default_tax_jurisdiction_id)",
        ),
    )

    dealership_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("dealerships.id"), primary_key=True
    )
    time_zone: Mapped[str] = mapped_column(Text, server_default="America/New_York")
    default_tax_jurisdiction_id: Mapped[BigId | None]
    default_deal_type: Mapped[DealType] = mapped_column(
        text_enum(DealType, "deal_type"), server_default=DealType.FINANCE.value
    )
    default_term_months: Mapped[int] = mapped_column(Integer, server_default="72")
    default_apr: Mapped[Rate] = mapped_column(server_default="6.9900")
    doc_fee: Mapped[Money] = mapped_column(server_default="499.00")
    # Python format string; {seq} is the dealership's next stock sequence, {yy} the year.
    stock_number_format: Mapped[str] = mapped_column(Text, server_default="S{yy}{seq:05d}")
    next_stock_sequence: Mapped[int] = mapped_column(BigInteger, server_default="1")
