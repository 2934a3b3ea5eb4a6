"""Appointments between a customer and a staff member."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigId, TenantMixin, Timestamp, Timestamps, tenant_fk
from db.models.enums import AppointmentStatus, AppointmentType, text_enum


class Appointment(TenantMixin, Timestamps, Base):
    __tablename__ = "appointments"
    __table_args__ = (
        tenant_fk("customer_id", "customers"),
        tenant_fk("user_id", "users"),
        tenant_fk("deal_id", "deals", ondelete="SET NULL"),
        tenant_fk("vehicle_id", "vehicles", ondelete="SET NULL"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_appointments_dealership_id_starts_at", "dealership_id", "starts_at"),
        Index("ix_appointments_dealership_id_user_id", "dealership_id", "user_id", "starts_at"),
        Index("ix_appointments_dealership_id_customer_id", "dealership_id", "customer_id"),
    )

    customer_id: Mapped[BigId]
    user_id: Mapped[BigId]  # the staff member the customer meets
    deal_id: Mapped[BigId | None]
    vehicle_id: Mapped[BigId | None]
    type: Mapped[AppointmentType] = mapped_column(text_enum(AppointmentType, "appointment_type"))
    status: Mapped[AppointmentStatus] = mapped_column(
        text_enum(AppointmentStatus, "appointment_status"),
        server_default=AppointmentStatus.SCHEDULED.value,
    )
    starts_at: Mapped[Timestamp]
    ends_at: Mapped[Timestamp]
    location: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[Timestamp | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
