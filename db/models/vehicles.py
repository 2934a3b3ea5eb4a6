"""Inventory vehicles."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, Index, Integer, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Money, TenantMixin, Timestamp, Timestamps, Versioned
from db.models.enums import VehicleCondition, VehicleStatus, text_enum


class Vehicle(TenantMixin, Versioned, Timestamps, Base):
    __tablename__ = "vehicles"
    __table_args__ = (
        UniqueConstraint("dealership_id", "vin"),
        UniqueConstraint("dealership_id", "stock_number"),
        CheckConstraint("length(vin) = 17", name="vin_length"),
        CheckConstraint("year BETWEEN 1900 AND 2100", name="year_range"),
        CheckConstraint("mileage >= 0", name="mileage_nonnegative"),
        Index("ix_vehicles_dealership_id_status", "dealership_id", "status"),
        Index("ix_vehicles_dealership_id_make_model", "dealership_id", "make", "model"),
    )

    vin: Mapped[str] = mapped_column(Text)
    stock_number: Mapped[str] = mapped_column(Text)
    condition: Mapped[VehicleCondition] = mapped_column(
        text_enum(VehicleCondition, "vehicle_condition")
    )
    year: Mapped[int] = mapped_column(Integer)
    make: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(Text)
    trim: Mapped[str | None] = mapped_column(Text)
    body_style: Mapped[str | None] = mapped_column(Text)
    exterior_color: Mapped[str | None] = mapped_column(Text)
    interior_color: Mapped[str | None] = mapped_column(Text)
    mileage: Mapped[int] = mapped_column(Integer, server_default="0")
    cost: Mapped[Money]
    list_price: Mapped[Money]
    msrp: Mapped[Money | None]
    status: Mapped[VehicleStatus] = mapped_column(
        text_enum(VehicleStatus, "vehicle_status"), server_default=VehicleStatus.AVAILABLE.value
    )
    received_on: Mapped[date] = mapped_column(Date, server_default=func.current_date())
    sold_at: Mapped[Timestamp | None]
